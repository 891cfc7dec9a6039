// Turning a validated config into the plans the native step carries out.
// Pure apart from reading the host's capability bounding set and LSMs and,
// when process.env has no HOME, the container's /etc/passwd; readInitFacts
// reads what the init's operations depend on.
import type { Spec } from '../config/types.js';
import { planHostCapabilities } from '../linux/capabilities.js';
import { existsSync, readFileSync } from 'node:fs';
import type { EncodedPlan } from '../linux/initcode.js';
import type { InitPlan } from '../linux/initplan.js';
import type { CgroupPaths } from '../linux/cgroups/paths.js';
import { formatOperations, type InitFacts } from '../linux/initops.js';
import { lastCapability, readMountinfo } from '../linux/procfs.js';
import { planNamespaces, type NamespacePlan } from '../linux/namespaces.js';
import { planRlimits } from '../linux/rlimits.js';
import { planRootfs } from '../linux/rootfs.js';
import { planTerminal } from '../linux/terminal.js';
import { detectLsm, planLsm, withMountLabel } from '../linux/lsm.js';
import { planCpuAffinity, planIoPriority, planMemoryPolicy, planPersonality, planScheduler } from '../linux/sched.js';
import { planSeccomp } from '../linux/seccomp.js';
import { ownNamespace, planSysctl } from '../linux/sysctl.js';
import { checkIntelRdt } from '../linux/intelrdt.js';
import { chooseMapWriter, setgroupsAllowed } from '../linux/idmap.js';
import { inUserNamespace } from '../linux/rootless.js';
import { homeFor, passwdAtCreate, withHome } from '../linux/home.js';
import { OCI_VERSION } from './state.js';
import { validateId } from './store.js';

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
  const m = /^(\d+|unlimited):(\d+|unlimited)$/.exec(text ?? '');
  if (!m) return null;
  const value = (s: string): string => (s === 'unlimited' ? '18446744073709551615' : s);
  return { soft: value(m[1] as string), hard: value(m[2] as string) };
}

/** What the init's plan needs from the host at the moment it is built. */
export function readInitFacts(cgroupFile: string, hookState: Record<string, unknown>): InitFacts {
  return {
    mountinfo: readMountinfo(),
    cgroupLines: readFileSync(cgroupFile, 'utf8'),
    hasKcore: existsSync('/proc/kcore'),
    hookState,
    lastCap: lastCapability(),
    // For tests of the component walk on kernels that have openat2.
    forceWalk: process.env._OCIRUN_RESOLVE === 'walk',
  };
}

export function planContainer(spec: Spec, opts: CreateOptions): ContainerPlan {
  const proc = spec.process;
  if (!proc) throw new Error('process: a container needs a process to run');
  const linux = spec.linux;
  const namespaces = planNamespaces(linux);
  // Without one, the container inherits ours (runtime.md): the rootfs is set up in it (README).
  const ownMountNamespace = namespaces.create.includes('mount') || namespaces.join.some((j) => j.kind === 'mount');
  const caps = planHostCapabilities(proc.capabilities);
  // An unprivileged runtime mapping only its own ids must deny setgroups in the new user namespace.
  const setGroups = !namespaces.newUserns || setgroupsAllowed(chooseMapWriter(process.geteuid?.() ?? 0, process.getegid?.() ?? 0, linux?.uidMappings ?? [], linux?.gidMappings ?? []));
  if (!setGroups && (proc.user?.additionalGids?.length ?? 0) > 0) {
    throw new Error('process.user.additionalGids: cannot be set when an unprivileged user maps only its own ids (setgroups is denied); map ranges through /etc/subgid instead');
  }
  const lsm = planLsm(spec, detectLsm());
  if (linux?.intelRdt) checkIntelRdt();
  const sysctl = planSysctl(linux?.sysctl, (kind) => ownNamespace(namespaces, kind));
  const noNewPrivileges = proc.noNewPrivileges ?? false;
  const seccomp = linux?.seccomp ? planSeccomp(linux.seccomp, noNewPrivileges) : null;
  const user = proc.user ?? { uid: 0, gid: 0 };
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
      inUserns: namespaces.inUserns || inUserNamespace(),
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
    nofile: parseNofile(process.env._OCIRUN_NOFILE),
    runtimeHooks: Boolean(spec.hooks?.prestart?.length || spec.hooks?.createRuntime?.length),
    hooks: { createContainer: spec.hooks?.createContainer ?? [], startContainer: spec.hooks?.startContainer ?? [] },
    hookState: {},
    process: {
      terminal: planTerminal(proc.terminal, proc.consoleSize),
      args: proc.args ?? [],
      env: proc.env ?? [],
      cwd: proc.cwd,
      uid: user.uid,
      gid: user.gid,
      additionalGids: user.additionalGids ?? [],
      // runc's default when the config has none, whatever umask we were started with.
      umask: user.umask ?? 0o022,
      rlimits: planRlimits(proc.rlimits),
      oomScoreAdj: proc.oomScoreAdj ?? null,
      capabilities: {
        bounding: caps.bounding.toString(),
        effective: caps.effective.toString(),
        permitted: caps.permitted.toString(),
        inheritable: caps.inheritable.toString(),
        ambient: caps.ambient.toString(),
      },
      noNewPrivileges,
      preserveFds: opts.preserveFds,
      seccomp: seccomp?.filter ?? null,
      setGroups,
      seccompFlags: seccomp?.flags ?? 0,
      seccompListener: seccomp?.listenerPath ? { path: seccomp.listenerPath, metadata: seccomp.listenerMetadata } : null,
      scheduler: planScheduler(proc.scheduler),
      ioPriority: planIoPriority(proc.ioPriority),
      cpuAffinity: planCpuAffinity(proc.execCPUAffinity),
      personality: planPersonality(linux?.personality),
      memoryPolicy: planMemoryPolicy(linux?.memoryPolicy),
      lsm,
    },
  };
  // runc's HOME: from the passwd file the process will see, when the config sets none.
  init.process.env = withHome(init.process.env, () => homeFor(passwdAtCreate(opts.rootfs, init.rootfs.mounts), user.uid));
  // linux.mountLabel: the SELinux context of the filesystems we create for the container.
  if (lsm.mountLabel) init.rootfs.mounts = init.rootfs.mounts.map((m) => ({ ...m, data: withMountLabel(m.type, m.data, lsm.mountLabel) }));
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
  const terminal = plan.init.process.terminal !== null;
  if (terminal && !req.consoleSocket) throw new Error('cannot allocate tty if runc will detach without setting console socket');
  if (!terminal && req.consoleSocket) throw new Error('cannot use console socket if runc will not detach or allocate tty');
  const cgroup = cgroupRecordFor(loaded.spec, req.id);
  const hookState: Record<string, unknown> = { ociVersion: OCI_VERSION, id: req.id, pid: 0, bundle: loaded.bundle };
  if (Object.keys(loaded.spec.annotations ?? {}).length) hookState.annotations = loaded.spec.annotations;
  return {
    namespaces: plan.namespaces,
    cgroups: cgroup?.paths ?? null,
    init: initOperations(plan.init, readInitFacts('/proc/self/cgroup', hookState)),
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
