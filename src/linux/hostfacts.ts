// What the planners need to know about the host, gathered in one value so
// that every planner is a pure function of (config, HostFacts) and unit
// tests can hand in any host they like. readHostFacts reads each fact only
// when a planner first asks for it (most creates need few of them).
import type { Seccomp } from '../config/types.js';
import { passwdAtCreate } from './home.js';
import { resctrlMounted } from './intelrdt.js';
import { detectLsm, type LsmHost } from './lsm.js';
import { lastCapability, namespaceAt, readBoundingSet } from './procfs.js';
import { inUserNamespace } from './rootless.js';
import type { MountStep } from './rootfs.js';
import { planSeccomp, type SeccompPlan } from './seccomp.js';

export interface HostFacts {
  /** our capability bounding set (CapBnd): what a container can be granted */
  readonly boundingSet: bigint;
  /** /proc/sys/kernel/cap_last_cap */
  readonly lastCap: number;
  /** the LSMs enabled here */
  readonly lsm: LsmHost;
  /** who the runtime runs as: decides how user namespace maps are written */
  readonly euid: number;
  readonly egid: number;
  /** the runtime itself runs in a user namespace that is not the initial one (rootless podman) */
  readonly inUserNamespace: boolean;
  /** resctrl is mounted (Intel RDT) */
  readonly resctrlMounted: boolean;
  /** bin/ocirun's "soft:hard" RLIMIT_NOFILE from before Node raised its own (_OCIRUN_NOFILE) */
  readonly nofile: string | undefined;
  /** the namespace a /proc/<pid>/ns/<kind> path names ("net:[4026531840]"), null when unreadable */
  namespaceOf(path: string): string | null;
  /** linux.seccomp compiled for this host (libseccomp) */
  compileSeccomp(config: Seccomp, noNewPrivileges: boolean): SeccompPlan;
  /** the passwd text a container on rootfs with these mounts will see, or null */
  passwdAt(rootfs: string, mounts: readonly MountStep[]): string | null;
}

/** Define a property that reads its value on first use and keeps it. */
function lazy<K extends keyof HostFacts>(facts: Partial<HostFacts>, key: K, read: () => HostFacts[K]): void {
  Object.defineProperty(facts, key, {
    configurable: true,
    enumerable: true,
    get: () => {
      const value = read();
      Object.defineProperty(facts, key, { value, enumerable: true });
      return value;
    },
  });
}

/** This host, read as the planners ask. */
export function readHostFacts(): HostFacts {
  const facts: Partial<HostFacts> = {
    euid: process.geteuid?.() ?? 0,
    egid: process.getegid?.() ?? 0,
    nofile: process.env._OCIRUN_NOFILE,
    namespaceOf: namespaceAt,
    compileSeccomp: planSeccomp,
    passwdAt: passwdAtCreate,
  };
  lazy(facts, 'boundingSet', readBoundingSet);
  lazy(facts, 'lastCap', lastCapability);
  lazy(facts, 'lsm', detectLsm);
  lazy(facts, 'inUserNamespace', inUserNamespace);
  lazy(facts, 'resctrlMounted', resctrlMounted);
  return facts as HostFacts;
}
