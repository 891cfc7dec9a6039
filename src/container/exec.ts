// `exec`: a new process in a running container. Node cannot start inside the
// container's root filesystem (it may not even have a libc), so the native
// step joins the container's namespaces (user first) and, once we have put
// it in the container's cgroups and set its rlimits, becomes the process.
import type { Process } from '../config/types.js';
import { capabilityNumber } from '../config/names.js';
import { closeQuietly, moveFdAbove } from '../linux/runtimefds.js';
import { checkConsoleSocket, openOwnConsole, type OwnConsole, ownTerminalSize, proxyTerminal, receiveMaster } from '../linux/terminal.js';
import { exitCodeOf, forwardSignalsUntilExit, HeldSignals } from '../linux/children.js';
import { faultPoint } from './faultpoint.js';
import { programError } from '../linux/lookpath.js';
import { type NamespaceKind, type NamespacePlan, PROC_NS_NAME } from '../linux/namespaces.js';
import { namespaceId } from '../linux/procfs.js';
import { applyRlimits, type RlimitStep } from '../linux/rlimits.js';
import { setgroupsDenied } from '../linux/idmap.js';
import { homeFor, readInRoot, withHome } from '../linux/home.js';
import { type HostFacts, readHostFacts } from '../linux/hostfacts.js';
import type { ProcessPlan } from '../linux/initplan.js';
import { execFilterFlags, execFinalizeRequest, planProcess } from '../linux/process.js';
import { execOperations } from '../linux/initops.js';
import type { EncodedPlan } from '../linux/initcode.js';
import { setCpuAffinityOf } from '../linux/procattrs.js';
import { abortLaunch, completeExecLaunch, type FinalizeRequest, launchInit } from '../linux/spawn.js';
import { requireStatus } from './status.js';
import { currentStatus, type StoredState } from './state.js';
import { type Store, writePidFile } from './store.js';
import { CleanupStack } from './cleanup.js';
import { openProcessFds } from './processfds.js';
import { trace } from '../trace.js';
import { openCgroups } from '../linux/cgroups/lifecycle.js';
import type { CgroupManager } from '../linux/cgroups/manager.js';
import { enterSubCgroups } from '../linux/cgroups/subcgroup.js';
import { warmCgroupMigration } from '../linux/cgroups/warmup.js';
import { openPlacement } from '../linux/cgroups/selfplace.js';

export interface ExecRequest {
  id: string;
  processFile?: string | undefined;
  args: string[];
  detach: boolean;
  pidFile?: string | undefined;
  tty: boolean;
  consoleSocket?: string | undefined;
  cwd?: string | undefined;
  env: string[];
  user?: string | undefined;
  additionalGids: number[];
  caps: string[];
  noNewPrivs: boolean;
  preserveFds: number;
  ignorePaused: boolean;
  apparmor?: string | undefined;
  processLabel?: string | undefined;
  /** --cgroup: [<controller>:]<sub-cgroup> (repeatable) */
  cgroups: string[];
}

/** "uid" or "uid:gid", numbers only (runc's --user). */
export function parseUser(text: string): { uid: number; gid?: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw new Error(`--user: expected uid[:gid] as numbers, got "${text}"`);
  return m[2] === undefined ? { uid: Number(m[1]) } : { uid: Number(m[1]), gid: Number(m[2]) };
}

/** The process to run: the --process file, or the container's own process with the flags applied. */
export async function execProcessSpec(s: StoredState, req: ExecRequest): Promise<Process> {
  const { loadBundleProcess, parseProcessFile } = await import('../config/load.js');
  if (req.processFile) return parseProcessFile(req.processFile);
  const base = loadBundleProcess(s.bundle);
  if (!base) throw new Error('the container\'s config has no process to start from');
  if (!req.args.length) throw new Error('exec: a command to run is required');
  const user = { ...(base.user ?? { uid: 0, gid: 0 }) };
  if (req.user) Object.assign(user, parseUser(req.user));
  if (req.additionalGids.length) user.additionalGids = req.additionalGids;
  const caps = base.capabilities ? { ...base.capabilities } : {};
  if (req.caps.length) {
    // Names are checked where they come in (config/checks.ts for config and process files, here for --cap).
    const unknown = req.caps.find((name) => capabilityNumber(name) === undefined);
    if (unknown !== undefined) throw new Error(`--cap: unknown capability ${JSON.stringify(unknown)}`);
    for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) {
      caps[set] = [...new Set([...(caps[set] ?? []), ...req.caps])];
    }
  }
  return {
    ...base,
    terminal: req.tty,
    args: req.args,
    env: [...(base.env ?? []), ...req.env],
    cwd: req.cwd ?? base.cwd,
    user,
    capabilities: caps,
    noNewPrivileges: req.noNewPrivs || (base.noNewPrivileges ?? false),
  };
}

/** Every namespace the container is in that differs from ours, the user namespace first. */
function namespacesToJoin(s: StoredState): NamespacePlan {
  const join: { kind: NamespaceKind; path: string }[] = [];
  for (const kind of (s.namespaces ?? []) as NamespaceKind[]) {
    const path = `/proc/${s.pid}/ns/${PROC_NS_NAME[kind]}`;
    // setns into our own user namespace is EINVAL, and any same one is a no-op.
    if (namespaceId(s.pid, PROC_NS_NAME[kind]) === namespaceId('self', PROC_NS_NAME[kind])) continue;
    join.push({ kind, path });
  }
  join.sort((a, b) => Number(b.kind === 'user') - Number(a.kind === 'user'));
  const inUserns = join.some((j) => j.kind === 'user');
  return { create: [], join, unshareFlags: 0, newUserns: false, inUserns, newCgroupns: false, timensOffsets: null };
}

/**
 * exec's process, by the one process planner (linux/process.ts): the
 * running container fixes its seccomp filter and whether setgroups works.
 */
export function planExecProcess(proc: Process, s: StoredState, preserveFds: number, host: HostFacts): ProcessPlan {
  const inherits = s.execInherits ?? {};
  return planProcess({
    // runc sets the container's oom_score_adj on a process file that names none.
    process: proc.oomScoreAdj === undefined && inherits.oomScoreAdj !== undefined ? { ...proc, oomScoreAdj: inherits.oomScoreAdj } : proc,
    preserveFds,
    // A user namespace whose maps an unprivileged runtime wrote itself denies setgroups.
    setGroups: !setgroupsDenied(s.pid),
    // linux.personality and linux.memoryPolicy are the container's, as its seccomp filter (with its flags).
    linux: { personality: inherits.personality, memoryPolicy: inherits.memoryPolicy },
    seccomp: s.seccomp ? { filter: s.seccomp, flags: execFilterFlags(s.seccompFlags ?? 0) } : null,
  }, host);
}

/** What exec will start: the process, the native step's request, and what is set on it before it runs. */
interface ExecPlan {
  proc: Process;
  finalize: FinalizeRequest;
  /** set by the runtime once the process exists: the initial CPU affinity (before the cgroup move), then rlimits */
  placement: Placement;
  /** set by the process itself after the cgroup move (initops.ts execOperations) */
  settings: EncodedPlan;
}

interface Placement {
  initialCpus: number[] | null;
  rlimits: RlimitStep[];
}

/**
 * Start the process; returns its host pid once it has exec'd. In named
 * steps: plan; open the runtime-side fds (the terminal); start (the native
 * step joins the namespaces; we place it in the cgroups and set its limits,
 * then it execs); record (the pid file). Each step pushes its undo on a
 * cleanup stack (cleanup.ts).
 */
export async function execInContainer(store: Store, req: ExecRequest): Promise<{ pid: number; state: StoredState; master: number | null }> {
  const s = store.read(req.id);
  requireStatus(req.ignorePaused ? 'exec --ignore-paused' : 'exec', currentStatus(store, s), req.id);
  // A placement by cgroup.procs writes (systemd's unit, --cgroup) will wait less for the kernel's lock (warmup.ts);
  // otherwise stage 1 places the process itself, without that lock (selfplace.ts).
  if (s.cgroup && (s.cgroup.systemd || req.cgroups.length)) warmCgroupMigration();
  const plan = await planExec(s, req);
  const cleanup = new CleanupStack();
  try {
    const terminal = openTerminal(cleanup, plan.proc, req);
    const launch = launchInit(namespacesToJoin(s), req.preserveFds, plan.finalize, terminal.console);
    // Once it has exec'd, the process is the user's: a later failure (the pid file) leaves it running.
    let started = false;
    cleanup.onFailure('stopping the process', () => { if (!started) abortLaunch(launch); });
    // Stage 1 puts it in the container's cgroups itself where it can (selfplace.ts); not with --cgroup, which goes
    // further down, nor with an initial CPU affinity, which must be set before the move.
    const cg = s.cgroup ? openCgroups(s.cgroup) : null;
    const selfPlaced = cg && !req.cgroups.length && !plan.placement.initialCpus ? cg.selfPlacement() : null;
    const pid = completeExecLaunch(launch, plan.settings, openPlacement(selfPlaced), (pid, placed) => placeProcess(cg, req, pid, plan.placement, placed));
    started = true;
    if (req.pidFile) writePidFile(req.pidFile, pid);
    cleanup.succeed();
    return { pid, state: s, master: terminal.own ? receiveMaster(terminal.own) : null };
  } catch (err) {
    cleanup.fail(err);
    throw friendlierExecError(err, plan.proc.args?.[0] ?? '');
  }
}

/** Step 1, plan: the process (the flags, LSM labels, HOME) by the one process planner, the native request and the rlimits; nothing is made. */
async function planExec(s: StoredState, req: ExecRequest): Promise<ExecPlan> {
  const proc = await execProcessSpec(s, req);
  if (req.apparmor !== undefined) proc.apparmorProfile = req.apparmor;
  if (req.processLabel !== undefined) proc.selinuxLabel = req.processLabel;
  checkConsoleSocket(proc.terminal === true, req.consoleSocket !== undefined, req.detach);
  const host = readHostFacts();
  const plan = planExecProcess(proc, s, req.preserveFds, host);
  // runc's HOME when the process has none: from the container's own view of /etc/passwd.
  plan.env = withHome(plan.env, () => homeFor(readInRoot(`/proc/${s.pid}/root`, '/etc/passwd'), plan.uid));
  // No mount namespace to join: the container's root is the init's chroot.
  const finalize = execFinalizeRequest(plan, host.lastCap, (s.namespaces ?? []).includes('mount') ? null : `/proc/${s.pid}/root`);
  return { proc, finalize, placement: { initialCpus: plan.cpuAffinity?.initial ?? null, rlimits: plan.rlimits }, settings: execOperations(plan) };
}

/**
 * Step 2, the runtime-side fds: the terminal, through the engine's console
 * socket or (foreground, none given) our own, joined to the user's terminal.
 * Either sits above the fds --preserve-fds passes on: the native step closes
 * it after use.
 */
function openTerminal(cleanup: CleanupStack, proc: Process, req: ExecRequest): { console?: { fd: number; rows: number; cols: number }; own: OwnConsole | null } {
  if (!proc.terminal) return { own: null };
  let fd: number;
  let own: OwnConsole | null = null;
  if (req.consoleSocket !== undefined) {
    fd = openProcessFds(cleanup, { consoleSocket: req.consoleSocket, above: 3 + req.preserveFds }).console;
  } else {
    const ours = openOwnConsole();
    own = ours;
    cleanup.onFailure('closing our terminal', () => { closeQuietly(ours.theirs); closeQuietly(ours.ours); });
    fd = ours.theirs = moveFdAbove(ours.theirs, 3 + req.preserveFds);
  }
  const size = proc.consoleSize ? { rows: proc.consoleSize.height, cols: proc.consoleSize.width } : (own ? ownTerminalSize() : null);
  return { console: { fd, rows: size?.rows ?? 0, cols: size?.cols ?? 0 }, own };
}

/**
 * Step 3, start: before it runs anything, the process goes into the
 * container's cgroups (ps, kill --all and limits see it) and gets its
 * rlimits; process.execCPUAffinity.initial is set before the move
 * (config.md), the final one by the process after it.
 */
function placeProcess(cg: CgroupManager | null, req: ExecRequest, pid: number, placement: Placement, placed: ReadonlySet<string>): void {
  trace(`exec process ${pid}, in ${placed.size} of the cgroup directories already`);
  if (placement.initialCpus) setCpuAffinityOf(pid, placement.initialCpus, 'process.execCPUAffinity.initial');
  if (cg) {
    cg.apply(pid, placed);
    // --cgroup: further down, into sub-cgroups that already exist.
    enterSubCgroups(cg.paths, req.cgroups, pid);
  } else if (req.cgroups.length) {
    throw new Error('--cgroup: this container has no cgroups');
  }
  applyRlimits(pid, placement.rlimits);
}

/** runc's wording for a program that cannot be found or run (the init's words too), which engines match (podman maps it to 127). */
function friendlierExecError(err: unknown, name: string): unknown {
  const code = /^execve: (ENOENT|ENOTDIR|EACCES)\b/.exec(err instanceof Error ? err.message : '')?.[1];
  return code ? new Error(programError(name, code)) : err;
}

/** exec, then (without --detach) wait for the process, joined to our terminal if it has one: its exit code. */
export async function execAndWait(store: Store, req: ExecRequest): Promise<number> {
  // SIGUSR1 and SIGUSR2 before the forwarding starts are the process's too (--detach: dropped).
  const held = new HeldSignals();
  try {
    const { pid, master } = await execInContainer(store, req);
    faultPoint('exec:started');
    if (req.detach) return 0;
    const exited = forwardSignalsUntilExit(pid, undefined, held);
    if (master !== null) await proxyTerminal(master, exited);
    return exitCodeOf(await exited);
  } finally {
    held.stop();
  }
}
