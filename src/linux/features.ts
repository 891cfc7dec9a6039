// The runtime-spec `features` document: what this build supports on this
// host, found out now (namespaces in /proc/self/ns, the kernel's last
// capability, the cgroup mounts, libseccomp and its architectures, the LSMs),
// not written down once.
import { existsSync, readFileSync } from 'node:fs';
import { CAPABILITY_NAMES, NAMESPACE_TYPES, SECCOMP_ACTIONS, SECCOMP_OPERATORS } from '../config/names.js';
import type { Features } from '../config/types.js';
import { libseccompAvailable, libseccompVersion, resolveArch } from '../sys/libseccomp.js';
import { libsystemdAvailable } from '../sys/sdbus.js';
import { HOOK_KINDS } from './hooks.js';
import { detectLsm } from './lsm.js';
import { knownMountOptions } from './mountopts.js';
import { PROC_NS_NAME } from './namespaces.js';
import { lastCapability, readMountinfo, readStatusField } from './procfs.js';
import { resctrlMounted } from './intelrdt.js';
import { SECCOMP_FILTER_FLAGS, archName } from './seccomp.js';
import { idmapSupported } from '../sys/idmaptree.js';

// The architecture names config-linux.md lists; which of them work is libseccomp's answer.
const SPEC_ARCHES = [
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
];

function kernelHasSeccomp(): boolean {
  return readStatusField('self', 'Seccomp') !== null;
}

/**
 * The host's answer. `checkpointEnabled` is CRIU's (criu/ sits above this
 * layer: container/features.ts asks it).
 */
export function hostFeatures(ociVersionMax: string, checkpointEnabled: boolean): Features {
  const types = new Set(readMountinfo().map((m) => m.fstype));
  const lsm = detectLsm();
  const seccompOn = kernelHasSeccomp() && libseccompAvailable();
  const annotations: Record<string, string> = {};
  if (seccompOn) annotations['io.github.seccomp.libseccomp.version'] = libseccompVersion();
  // runc's key; runc says "true" when built with CRIU support, we say whether CRIU works here.
  annotations['org.opencontainers.runc.checkpoint.enabled'] = String(checkpointEnabled);
  const systemdHere = existsSync('/run/systemd/system') && libsystemdAvailable();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax,
    hooks: [...HOOK_KINDS],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: NAMESPACE_TYPES.filter((kind) => existsSync(`/proc/self/ns/${PROC_NS_NAME[kind]}`)),
      capabilities: CAPABILITY_NAMES.slice(0, lastCapability() + 1),
      cgroup: {
        v1: types.has('cgroup'),
        v2: types.has('cgroup2'),
        // --systemd-cgroup works where systemd runs the host and libsystemd (its D-Bus client) loads;
        // rootless, it talks to the user's own manager over the user bus.
        systemd: systemdHere,
        systemdUser: systemdHere,
        rdma: existsSync('/sys/fs/cgroup/rdma') || /\brdma\b/.test(safeRead('/sys/fs/cgroup/unified/cgroup.controllers') + safeRead('/sys/fs/cgroup/cgroup.controllers')),
      },
      seccomp: {
        enabled: seccompOn,
        actions: seccompOn ? [...SECCOMP_ACTIONS] : [],
        operators: seccompOn ? [...SECCOMP_OPERATORS] : [],
        archs: seccompOn ? SPEC_ARCHES.filter((a) => resolveArch(archName(a)) !== 0) : [],
        knownFlags: Object.keys(SECCOMP_FILTER_FLAGS),
        supportedFlags: seccompOn ? Object.keys(SECCOMP_FILTER_FLAGS) : [],
      },
      apparmor: { enabled: lsm.apparmor },
      selinux: { enabled: lsm.selinux },
      intelRdt: { enabled: resctrlMounted() },
      // containerd decides on user namespaces for pods from this: ask the kernel.
      mountExtensions: { idmap: { enabled: idmapSupported() } },
    },
    annotations,
  };
}

function safeRead(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

/** libseccomp's version, or null when it cannot be loaded here. */
export function libseccompVersionIfPresent(): string | null {
  try {
    return libseccompVersion();
  } catch {
    return null;
  }
}
