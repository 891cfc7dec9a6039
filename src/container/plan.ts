// Turning a validated config into the plans the native step and the init
// carry out. Pure apart from reading the host's capability bounding set
// and, when process.env has no HOME, the container's /etc/passwd.
import type { Spec } from '../spec/types.js';
import { planHostCapabilities } from '../linux/capabilities.js';
import type { InitPlan } from '../linux/initplan.js';
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
    }),
    hostname: spec.hostname ?? null,
    domainname: spec.domainname ?? null,
    newCgroupns: namespaces.newCgroupns,
    newKeyring: !opts.noNewKeyring,
    fifoPath: opts.fifoPath,
    sysctl,
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
