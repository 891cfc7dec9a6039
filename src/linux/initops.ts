// The init plan as the list of operations the native executor carries out,
// in order (native/plan.h): everything between the clone and the program's
// execve. Pure apart from what the caller reads into `InitFacts`; the same
// list is what `ocirun plan` prints and what `create` sends.
import { CLONE_NEWCGROUP } from '../sys/constants.js';
import { rlimitNumber } from '../config/names.js';
import { signalName } from './signals.js';
import { errnoName } from '../sys/errors.js';
import { jsonPathJoin } from '../config/jsonpath.js';
import type { Hook } from '../config/types.js';
import {
  type EncodedPlan, type HookRun, type InitOp, MOUNT_IN_ROOT, MOUNT_KEEP_LOCKED, MOUNT_MKDIR, MOUNT_MKFILE, MOUNT_SELF,
  MOUNT_SKIP_MISSING, MOUNT_SYSFS_BIND, PLAN_FLAG_WALK,
} from './initcode.js';
import type { InitPlan, ProcessPlan } from './initplan.js';
import { finalizeOf, programCandidates } from './process.js';
import type { NativeFailure } from './sync.js';
import { programError } from './lookpath.js';
import { containerProcessState } from './seccomp.js';
import { enterRootfsOps, finishRootfsOps, prepareRootfsOps, type RootfsFacts } from './rootfs.js';


/** The fds sent with the plan, in this order; ops name them by slot. */
export interface PlanSlots { fifo: number; listener: number | null; console: number | null; firstIdmap: number }

export interface InitFacts extends RootfsFacts {
  /** the state document (without status) hooks and the seccomp agent get */
  hookState: Record<string, unknown>;
  /** /proc/sys/kernel/cap_last_cap */
  lastCap: number;
  /** resolve in-root paths by the component walk even where openat2 exists */
  forceWalk: boolean;
}

/** Which fd slot each fd the runtime sends takes. */
export function planSlots(plan: InitPlan): PlanSlots {
  let next = 1;
  const listener = plan.process.seccompListener ? next++ : null;
  const console = plan.process.terminal ? next++ : null;
  // Then one tree per idmapped mount, in the config's order.
  return { fifo: 0, listener, console, firstIdmap: next };
}

function hookRun(h: Hook): HookRun {
  return { path: h.path, args: h.args?.length ? h.args : [h.path], env: h.env ?? [], timeout: h.timeout ?? 0 };
}

function hookLabel(kind: string, index: number, h: Hook): string {
  return `${kind} hook #${index} (${h.path})`;
}

/**
 * The process's own attributes that execve keeps (oom_score_adj, and the
 * per-thread scheduling, I/O priority, memory policy and personality), set
 * by the process itself, so that create, or exec, reports a failure: the
 * init's and exec's alike. From inside, as the process, a rootless runtime
 * can set them too (a non-dumpable process's /proc files are root's).
 */
export function processSettingsOps(proc: ProcessPlan): InitOp[] {
  const ops: InitOp[] = [];
  if (proc.oomScoreAdj !== null) ops.push({ what: 'process.oomScoreAdj', op: 'write', path: '/proc/self/oom_score_adj', data: String(proc.oomScoreAdj) });
  if (proc.scheduler) ops.push({ what: 'process.scheduler', op: 'sched', attr: proc.scheduler });
  if (proc.ioPriority !== null) ops.push({ what: 'process.ioPriority', op: 'ioprio', value: proc.ioPriority });
  if (proc.memoryPolicy) ops.push({ what: 'linux.memoryPolicy', op: 'mempolicy', mode: proc.memoryPolicy.mode, nodes: proc.memoryPolicy.nodes });
  if (proc.personality !== null) ops.push({ what: 'linux.personality', op: 'personality', persona: proc.personality });
  return ops;
}

/**
 * exec's settings plan, carried out by the exec'd process once the runtime
 * has placed it in the container's cgroups: the settings above, then
 * execCPUAffinity.final (after the cgroup move, config.md). The initial
 * affinity is the runtime's to set, before the move (container/exec.ts).
 */
export function execOperations(proc: ProcessPlan): EncodedPlan {
  const ops = processSettingsOps(proc);
  if (proc.cpuAffinity?.final) ops.push({ what: 'process.execCPUAffinity.final', op: 'affinity', cpus: proc.cpuAffinity.final });
  return { ops, flags: 0 };
}

/**
 * Whether the operations hold the init's pid: only in the state document
 * that createContainer and startContainer hooks and the seccomp agent get.
 * Without them, the plan can be built before the init exists.
 */
export function opsNeedPid(plan: InitPlan): boolean {
  return plan.hooks.createContainer.length > 0 || plan.hooks.startContainer.length > 0 || plan.process.seccompListener !== null;
}

export function initOperations(plan: InitPlan, facts: InitFacts): EncodedPlan {
  const proc = plan.process;
  const slots = planSlots(plan);
  const state = (status: string): string => JSON.stringify({ ...facts.hookState, status });
  const ops: InitOp[] = [];
  // "initial" applies as soon as the process is in the container's cgroups (runc's order).
  if (proc.cpuAffinity?.initial) ops.push({ what: 'process.execCPUAffinity.initial', op: 'affinity', cpus: proc.cpuAffinity.initial });
  // The runtime has placed us in our cgroups by now, so the new cgroup namespace is rooted there.
  if (plan.newCgroupns) ops.push({ what: 'unshare cgroup namespace', op: 'unshare', flags: CLONE_NEWCGROUP });
  ops.push(...prepareRootfsOps(plan.rootfs, facts, slots.firstIdmap));
  // The runtime runs prestart/createRuntime hooks in its own namespaces now;
  // createContainer hooks run here, in ours, still before pivot_root.
  if (plan.runtimeHooks) ops.push({ what: 'prestart and createRuntime hooks', op: 'runtime-hooks' });
  // "created": runtime.md's state for everything after lifecycle step 2 (README, Hooks).
  plan.hooks.createContainer.forEach((h, i) => ops.push({
    what: hookLabel('createContainer', i, h), op: 'hook', kind: 'createContainer', index: i, hook: hookRun(h), state: state('created'),
  }));
  ops.push(...enterRootfsOps(plan.rootfs));
  // In the container's /proc (its namespaces' values), before /proc/sys turns read-only.
  for (const s of plan.sysctl) ops.push({ what: jsonPathJoin('linux.sysctl', s.key), op: 'write', path: `/proc/sys/${s.file}`, data: s.value });
  // cwd is made as root (runc does too) before the root may turn read-only, then entered as the user.
  ops.push({ what: `create cwd ${proc.cwd}`, op: 'mkdirs', path: proc.cwd });
  ops.push(...finishRootfsOps(plan.rootfs));
  if (proc.terminal && slots.console !== null) {
    ops.push({ what: 'process.terminal', op: 'terminal', slot: slots.console, rows: proc.terminal.size?.rows ?? 0, cols: proc.terminal.size?.cols ?? 0 });
  }
  if (plan.newKeyring) ops.push({ what: 'join session keyring', op: 'keyring', name: `_ses.${plan.id}` });
  if (plan.hostname !== null) ops.push({ what: 'hostname', op: 'sethostname', name: plan.hostname });
  if (plan.domainname !== null) ops.push({ what: 'domainname', op: 'setdomainname', name: plan.domainname });
  // Node raised its own RLIMIT_NOFILE soft limit; the container gets the one ocirun was started with.
  if (plan.nofile) ops.push({ what: 'restore RLIMIT_NOFILE', op: 'rlimit', resource: rlimitNumber('RLIMIT_NOFILE') as number, ...plan.nofile });
  proc.rlimits.forEach((r, i) => ops.push({ what: `process.rlimits[${i}] ${r.name}`, op: 'rlimit', resource: r.resource, soft: r.soft, hard: r.hard }));
  ops.push(...processSettingsOps(proc));
  ops.push({ what: `process.cwd ${proc.cwd}`, op: 'chdir', path: proc.cwd });
  const name = proc.args[0] ?? '';
  ops.push({ what: 'process.args[0]', op: 'lookpath', name, explicit: name.includes('/'), candidates: programCandidates(proc) });
  if (proc.cpuAffinity?.final) ops.push({ what: 'process.execCPUAffinity.final', op: 'affinity', cpus: proc.cpuAffinity.final });
  ops.push({
    what: 'process',
    op: 'finalize',
    finalize: {
      ...finalizeOf(proc, facts.lastCap, {
        slot: slots.listener ?? -1,
        state: proc.seccompListener ? containerProcessState(facts.hookState, proc.seccompListener.metadata) : '',
      }),
      start: {
        fifoSlot: slots.fifo,
        hooks: plan.hooks.startContainer.map(hookRun),
        // Only the startContainer hooks read it.
        state: plan.hooks.startContainer.length ? state('created') : '',
      },
    },
  });
  return { ops, flags: facts.forceWalk ? PLAN_FLAG_WALK : 0 };
}


// ERROR's detail for a HOOK op: the kind in the low byte, the status or signal above it (native/plan.h).
const DETAIL_HOOK_CANNOT_RUN = 1;
const DETAIL_HOOK_EXIT = 2;
const DETAIL_HOOK_SIGNAL = 3;
const DETAIL_HOOK_TIMEOUT = 4;

/** The failure is a createContainer hook's (create then runs the poststop hooks, lifecycle step 13). */
export function failedHook(ops: readonly InitOp[], f: NativeFailure): boolean {
  return f.op >= 0 && ops[f.op]?.op === 'hook' && f.step !== 'malformed plan';
}

/** The one-line error for a failure, naming the config field of the op that failed. */
export function describeFailure(ops: readonly InitOp[] | null, f: NativeFailure): string {
  const code = errnoName(f.errno);
  const op = f.op >= 0 ? ops?.[f.op] : undefined;
  if (!op) return `${f.step}: ${code}`;
  if (f.step === 'malformed plan') return `internal error: the native step refused the plan at op ${f.op} (${op.op})`;
  switch (op.op) {
    case 'hook': {
      const value = f.detail >> 8;
      switch (f.detail & 0xff) {
        case DETAIL_HOOK_EXIT: return `${op.what}: exited with status ${value}`;
        case DETAIL_HOOK_SIGNAL: return `${op.what}: killed by ${signalName(value)}`;
        case DETAIL_HOOK_TIMEOUT: return `${op.what}: timed out after ${op.hook.timeout}s`;
        case DETAIL_HOOK_CANNOT_RUN: return `${op.what}: cannot run: ${code}`;
        default: return `${op.what}: ${f.step}: ${code}`;
      }
    }
    case 'chdir':
      // CVE-2024-21626: a cwd that getcwd cannot reach from our root is outside it.
      if (f.step === 'getcwd') return `${op.what}: is outside the container's root filesystem`;
      return `${op.what}: chdir: ${code}`;
    case 'lookpath': return programError(op.name, code);
    case 'write': return `${op.what}: write ${op.path}: ${code}`;
    default: return `${op.what}: ${f.step}: ${code}`;
  }
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const HOW_NAMES: [number, string][] = [
  [MOUNT_IN_ROOT, 'in-root'], [MOUNT_MKDIR, 'mkdir'], [MOUNT_MKFILE, 'mkfile'], [MOUNT_SELF, 'self'], [MOUNT_SKIP_MISSING, 'skip-missing'], [MOUNT_KEEP_LOCKED, 'keep-locked'],
  [MOUNT_SYSFS_BIND, 'sysfs-or-bind'],
];

/** One line per op, for `ocirun plan`. */
export function formatOperations(plan: EncodedPlan): string {
  const lines = plan.ops.map((op, i) => {
    const { what, op: name, ...fields } = op;
    const shown = Object.entries(fields).map(([k, v]) => {
      if (name === 'mount' && k === 'flags') return `${k}=${hex(v as number)}`;
      if (name === 'mount' && k === 'how') return `how=${HOW_NAMES.filter(([bit]) => (v as number) & bit).map(([, n]) => n).join(',') || 'host'}`;
      if (name === 'finalize') return '';
      return `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`;
    }).filter(Boolean).join(' ');
    return `${String(i).padStart(3)}  ${name.padEnd(13)} ${shown}${shown ? '  ' : ''}# ${what}`;
  });
  const fin = plan.ops.find((o) => o.op === 'finalize');
  if (fin?.op === 'finalize') {
    const f = fin.finalize;
    lines.push(`     finalize: uid=${f.uid} gid=${f.gid} groups=${JSON.stringify(f.groups)} umask=${f.umask < 0 ? '-' : `0${f.umask.toString(8)}`}`,
      `               caps: bounding=${hex(Number(f.capBounding))} effective=${hex(Number(f.capEffective))} permitted=${hex(Number(f.capPermitted))} inheritable=${hex(Number(f.capInheritable))} ambient=${hex(Number(f.capAmbient))}`,
      `               no_new_privs=${f.noNewPrivs} seccomp=${f.seccomp ? `${Buffer.from(f.seccomp, 'base64').length / 8} instructions` : 'none'} preserve_fds=${f.preserveFds}`,
      `               then: ready, wait on exec.fifo, ${f.start.hooks.length} startContainer hook(s), execve ${JSON.stringify(f.argv)} in ${f.cwd}`);
  }
  return `${lines.join('\n')}\n`;
}
