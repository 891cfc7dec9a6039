// Turning a validated config into the plans the native step carries out.
// planContainer is pure: what it needs from the host comes in as HostFacts
// (linux/hostfacts.ts); readInitFacts reads what the init's operations
// depend on once the init exists.
import type { Spec } from '../config/types.js';
import { existsSync } from 'node:fs';
import type { EncodedPlan } from '../linux/initcode.js';
import type { InitPlan } from '../linux/initplan.js';
import type { CgroupPaths } from '../linux/cgroups/paths.js';
import { formatOperations, type InitFacts } from '../linux/initops.js';
import { type CgroupLine, lastCapability, ownMountinfoOnce, readCgroupLines } from '../linux/procfs.js';
import { planNamespaces, type NamespacePlan } from '../linux/namespaces.js';
import { planRootfs } from '../linux/rootfs.js';
import { withMountLabel } from '../linux/lsm.js';
import { checkConsoleSocket } from '../linux/terminal.js';
import { type HostFacts, readHostFacts } from '../linux/hostfacts.js';
import { planProcess } from '../linux/process.js';
import { ownNamespace, planSysctl } from '../linux/sysctl.js';
import { checkIntelRdt } from '../linux/intelrdt.js';
import { chooseMapWriter, setgroupsAllowed } from '../linux/idmap.js';
import { homeFor, withHome } from '../linux/home.js';
import { OCI_VERSION } from './state.js';
import { validateId } from './store.js';
import { allDigits } from '../config/chars.js';

export interface CreateOptions {
  id: string;
  bundle: string;
  rootfs: string;
  fifoPath: string;
  noPivot: boolean;
  preserveFds: number;
  noNewKeyring: boolean;
}

export interface ContainerPlan {
  namespaces: NamespacePlan;
  init: InitPlan;
}

/** bin/ocirun records "soft:hard" RLIMIT_NOFILE before Node raises its own soft limit. */
function parseNofile(text: string | undefined): { soft: string; hard: string } | null {
  const [soft, hard, ...rest] = (text ?? '').split(':');
  const limit = (s: string | undefined): s is string => s !== undefined && (s === 'unlimited' || allDigits(s));
  if (rest.length || !limit(soft) || !limit(hard)) return null;
  const value = (s: string): string => (s === 'unlimited' ? '18446744073709551615' : s);
  return { soft: value(soft), hard: value(hard) };
}

/** What the init's plan needs from the host at the moment it is built. */
export function readInitFacts(cgroupLines: readonly CgroupLine[], hookState: Record<string, unknown>): InitFacts {
  return {
    mountinfo: ownMountinfoOnce(),
    cgroupLines,
    hasKcore: existsSync('/proc/kcore'),
    hookState,
    lastCap: lastCapability(),
    // For tests of the component walk on kernels that have openat2.
    forceWalk: process.env._OCIRUN_RESOLVE === 'walk',
  };
}

/**
 * The whole plan of create, pure: everything it needs from the host comes
 * in as `host` (the real one by default).
 */
export function planContainer(spec: Spec, opts: CreateOptions, host: HostFacts = readHostFacts()): ContainerPlan {
  const proc = spec.process;
  if (!proc) throw new Error('process: a container needs a process to run');
  const linux = spec.linux;
  const namespaces = planNamespaces(linux);
  // Without one, the container inherits ours (runtime.md): the rootfs is set up in it (README).
  const ownMountNamespace = namespaces.create.includes('mount') || namespaces.join.some((j) => j.kind === 'mount');
  // An unprivileged runtime mapping only its own ids must deny setgroups in the new user namespace.
  const setGroups = !namespaces.newUserns || setgroupsAllowed(chooseMapWriter(host.euid, host.egid, linux?.uidMappings ?? [], linux?.gidMappings ?? []));
  if (linux?.intelRdt) checkIntelRdt(host.resctrlMounted);
  const sysctl = planSysctl(linux?.sysctl, (kind) => ownNamespace(namespaces, kind, (path) => host.namespaceOf(path)));
  const seccomp = linux?.seccomp ? host.compileSeccomp(linux.seccomp, proc.noNewPrivileges ?? false) : null;
  const processPlan = planProcess({ process: proc, linux, preserveFds: opts.preserveFds, setGroups, seccomp }, host);
  const init: InitPlan = {
    id: opts.id,
    rootfs: planRootfs({
      rootfs: opts.rootfs,
      bundle: opts.bundle,
      readonly: spec.root?.readonly ?? false,
      rootfsPropagation: linux?.rootfsPropagation,
      mounts: spec.mounts ?? [],
      devices: linux?.devices,
      maskedPaths: linux?.maskedPaths,
      readonlyPaths: linux?.readonlyPaths,
      noPivot: opts.noPivot,
      // Rootless podman calls us as root of its own user namespace: mknod is refused there too.
      inUserns: namespaces.inUserns || host.inUserNamespace,
      cgroupns: namespaces.newCgroupns,
      ownMountNamespace,
      userns: namespaces.newUserns ? { uidMappings: linux?.uidMappings ?? [], gidMappings: linux?.gidMappings ?? [] } : null,
    }),
    hostname: spec.hostname ?? null,
    domainname: spec.domainname ?? null,
    newCgroupns: namespaces.newCgroupns,
    newKeyring: !opts.noNewKeyring,
    fifoPath: opts.fifoPath,
    sysctl,
    nofile: parseNofile(host.nofile),
    runtimeHooks: Boolean(spec.hooks?.prestart?.length || spec.hooks?.createRuntime?.length),
    hooks: { createContainer: spec.hooks?.createContainer ?? [], startContainer: spec.hooks?.startContainer ?? [] },
    hookState: {},
    process: processPlan,
  };
  // runc's HOME: from the passwd file the process will see, when the config sets none.
  init.process.env = withHome(init.process.env, () => homeFor(host.passwdAt(opts.rootfs, init.rootfs.mounts), processPlan.uid));
  // linux.mountLabel: the SELinux context of the filesystems we create for the container.
  const { mountLabel } = processPlan.lsm;
  if (mountLabel) init.rootfs.mounts = init.rootfs.mounts.map((m) => ({ ...m, data: withMountLabel(m.type, m.data, mountLabel) }));
  return { namespaces, init };
}

export interface PlanRequest {
  id: string;
  bundle: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** a console socket would be given (only checked against process.terminal, as create does) */
  consoleSocket: boolean;
}

export interface PlanReport {
  namespaces: NamespacePlan;
  /** the cgroup directories create would place the container in */
  cgroups: CgroupPaths | null;
  /** the init's operations, exactly as create sends them (pid 0 and this process's cgroups stand in for the init's) */
  init: EncodedPlan;
}

/**
 * `ocirun plan`: what create would do, validated with create's checks and
 * errors, without a side effect (no state, fifo, cgroup, process or mount).
 */
export async function planBundle(store: { fifoPath(id: string): string }, req: PlanRequest): Promise<PlanReport> {
  validateId(req.id);
  const [{ loadBundleConfig }, { initOperations }, { cgroupRecordFor }] = await Promise.all([
    import('../config/load.js'),
    import('../linux/initops.js'),
    import('../linux/cgroups/lifecycle.js'),
  ]);
  const loaded = loadBundleConfig(req.bundle);
  const plan = planContainer(loaded.spec, { ...req, bundle: loaded.bundle, rootfs: loaded.rootfs, fifoPath: store.fifoPath(req.id) });
  checkConsoleSocket(plan.init.process.terminal !== null, req.consoleSocket, true);
  const cgroup = cgroupRecordFor(loaded.spec, req.id);
  const hookState: Record<string, unknown> = { ociVersion: OCI_VERSION, id: req.id, pid: 0, bundle: loaded.bundle };
  if (Object.keys(loaded.spec.annotations ?? {}).length) hookState.annotations = loaded.spec.annotations;
  return {
    namespaces: plan.namespaces,
    cgroups: cgroup?.paths ?? null,
    init: initOperations(plan.init, readInitFacts(readCgroupLines('self'), hookState)),
  };
}

/** `ocirun plan`'s text: namespaces, cgroups, then the init's operations one a line. */
export function planText(r: PlanReport): string {
  const ns = r.namespaces;
  const lines = [
    `namespaces: new ${ns.create.join(', ') || 'none'}${ns.join.length ? `; join ${ns.join.map((j) => `${j.kind} ${j.path}`).join(', ')}` : ''}`,
  ];
  if (r.cgroups) {
    for (const p of r.cgroups.v1) lines.push(`cgroup ${p.controllers.join(',')}: ${p.dir}`);
    if (r.cgroups.unified) lines.push(`cgroup unified: ${r.cgroups.unified.dir}`);
  }
  lines.push('init operations (in order; # names what each is for):');
  return `${lines.join('\n')}\n${formatOperations(r.init)}`;
}
