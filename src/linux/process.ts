// The container's final process, planned once for both ways it is started:
// create's init (as the plan's FINALIZE op) and exec (as the native spawn's
// finalize request). Who it runs as, its capabilities, rlimits, seccomp
// filter, LSM labels, scheduling and the program to look up: one pure
// planner, and one conversion to what the native step takes.
import type { Linux, Process } from '../config/types.js';
import type { FinalizeRequest } from '../sys/native.js';
import { planHostCapabilities } from './capabilities.js';
import type { FinalizeOp } from './initcode.js';
import type { ProcessPlan } from './initplan.js';
import { candidatePaths } from './lookpath.js';
import { type LsmHost, planLsm } from './lsm.js';
import { planRlimits } from './rlimits.js';
import { planCpuAffinity, planIoPriority, planMemoryPolicy, planPersonality, planScheduler } from './sched.js';
import type { SeccompPlan } from './seccomp.js';
import { planTerminal } from './terminal.js';

/** What the process planner needs from the host (a part of HostFacts). */
export interface ProcessHost {
  /** our capability bounding set: what the process can be granted */
  readonly boundingSet: bigint;
  readonly lsm: LsmHost;
}

export interface ProcessInput {
  process: Process;
  /** linux.personality, linux.memoryPolicy and linux.mountLabel (exec has none: those stay the container's) */
  linux?: Linux | undefined;
  preserveFds: number;
  /** setgroups(2) is allowed in the container's user namespace */
  setGroups: boolean;
  /** the filter to load: compiled from the config at create, the container's own at exec */
  seccomp: Pick<SeccompPlan, 'filter' | 'flags'> & { listenerPath?: string | null; listenerMetadata?: string } | null;
}

/** runc's umask when the config has none, whatever umask the runtime was started with. */
const DEFAULT_UMASK = 0o022;

export function planProcess(input: ProcessInput, host: ProcessHost): ProcessPlan {
  const proc = input.process;
  const user = proc.user ?? { uid: 0, gid: 0 };
  const caps = planHostCapabilities(proc.capabilities, host.boundingSet);
  // Where setgroups is denied (an unprivileged runtime mapped only its own ids) the groups cannot be set: say so, never drop them.
  if (!input.setGroups && (user.additionalGids?.length ?? 0) > 0) {
    throw new Error('process.user.additionalGids: cannot be set when an unprivileged user maps only its own ids (setgroups is denied); map ranges through /etc/subgid instead');
  }
  // On a host without the LSM this names the field that cannot be honoured.
  const lsm = planLsm({ process: proc, linux: input.linux }, host.lsm);
  const seccomp = input.seccomp;
  return {
    terminal: planTerminal(proc.terminal, proc.consoleSize),
    args: proc.args ?? [],
    env: proc.env ?? [],
    cwd: proc.cwd,
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.additionalGids ?? [],
    umask: user.umask ?? DEFAULT_UMASK,
    rlimits: planRlimits(proc.rlimits),
    oomScoreAdj: proc.oomScoreAdj ?? null,
    capabilities: {
      bounding: caps.bounding.toString(),
      effective: caps.effective.toString(),
      permitted: caps.permitted.toString(),
      inheritable: caps.inheritable.toString(),
      ambient: caps.ambient.toString(),
    },
    noNewPrivileges: proc.noNewPrivileges ?? false,
    preserveFds: input.preserveFds,
    seccomp: seccomp?.filter ?? null,
    setGroups: input.setGroups,
    seccompFlags: seccomp?.flags ?? 0,
    seccompListener: seccomp?.listenerPath ? { path: seccomp.listenerPath, metadata: seccomp.listenerMetadata ?? '' } : null,
    scheduler: planScheduler(proc.scheduler),
    ioPriority: planIoPriority(proc.ioPriority),
    cpuAffinity: planCpuAffinity(proc.execCPUAffinity),
    personality: planPersonality(input.linux?.personality),
    memoryPolicy: planMemoryPolicy(input.linux?.memoryPolicy),
    lsm,
  };
}

/** The finalize step's fields, in the plan format's order (the init's FINALIZE adds what follows start). */
export type ProcessFinalize = Omit<FinalizeOp, 'start'>;

/** The seccomp listener as the init's FINALIZE names it: its fd slot and the state sent with the notify fd. */
export interface ListenerRef { slot: number; state: string }

/** The one conversion of a planned process into what the native finalize step applies. */
export function finalizeOf(proc: ProcessPlan, lastCap: number, listener: ListenerRef = { slot: -1, state: '' }): ProcessFinalize {
  const caps = proc.capabilities;
  return {
    umask: proc.umask ?? -1,
    setGroups: proc.setGroups,
    groups: proc.additionalGids,
    uid: proc.uid,
    gid: proc.gid,
    capBounding: caps.bounding,
    capEffective: caps.effective,
    capPermitted: caps.permitted,
    capInheritable: caps.inheritable,
    capAmbient: caps.ambient,
    lastCap,
    noNewPrivs: proc.noNewPrivileges,
    seccomp: proc.seccomp ?? '',
    seccompFlags: proc.seccompFlags,
    listenerSlot: listener.slot,
    listenerState: listener.state,
    preserveFds: proc.preserveFds,
    cwd: proc.cwd,
    argv: proc.args,
    env: proc.env,
    execAttrs: proc.lsm.execAttrs,
  };
}

/** Where the program may be, tried in order like execvp's PATH walk (the init's LOOKPATH op, exec's paths). */
export function programCandidates(proc: ProcessPlan): string[] {
  return candidatePaths(proc.args[0] ?? '', proc.env);
}

/**
 * exec's finalize request: the same fields in the native struct's types.
 * root: chroot there first (a container without a mount namespace of its own).
 */
export function execFinalizeRequest(proc: ProcessPlan, lastCap: number, root: string | null): FinalizeRequest {
  const f = finalizeOf(proc, lastCap);
  return {
    paths: programCandidates(proc),
    argv: f.argv,
    env: f.env,
    cwd: f.cwd,
    umask: f.umask < 0 ? null : f.umask,
    setGroups: f.setGroups,
    groups: f.groups,
    uid: f.uid,
    gid: f.gid,
    capBounding: BigInt(f.capBounding),
    capEffective: BigInt(f.capEffective),
    capPermitted: BigInt(f.capPermitted),
    capInheritable: BigInt(f.capInheritable),
    capAmbient: BigInt(f.capAmbient),
    lastCap: f.lastCap,
    noNewPrivs: f.noNewPrivs,
    seccomp: f.seccomp ? Buffer.from(f.seccomp, 'base64') : null,
    seccompFlags: f.seccompFlags,
    preserveFds: f.preserveFds,
    execAttrs: f.execAttrs,
    root,
  };
}
