// The init's setup, in order. Each step says why it sits where it does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { CLONE_NEWCGROUP } from '../sys/constants.js';
import { setdomainname, sethostname, setrlimit, unshare } from '../sys/calls.js';
import { libc } from '../sys/libc.js';
import { loadNative, nativeFinalize } from '../sys/native.js';
import { lastCapability } from '../linux/procfs.js';
import { joinSessionKeyring } from '../linux/keyring.js';
import { lookPath } from '../linux/lookpath.js';
import { enterRootfs, finishRootfs, prepareRootfs } from '../linux/rootfs.js';
import type { InitPlan } from '../linux/initplan.js';
import { applyExecLabels } from '../linux/lsm.js';
import { applyCpuAffinity, applyIoPriority, applyMemoryPolicy, applyPersonality, applyScheduler } from '../linux/sched.js';
import { containerProcessState } from '../linux/seccomp.js';
import { applySysctl } from '../linux/sysctl.js';

/** The socket to linux.seccomp.listenerPath, connected before pivot_root, used by finalize. */
let seccompListenerFd = -1;
import { runHooks } from '../linux/hooks.js';
import { setUpTerminal, type TerminalPlan } from '../linux/terminal.js';
import type { SyncChannel } from '../linux/sync.js';

const RLIMIT_NOFILE = 7;

function step<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${what}: ${msg}`, { cause: err });
  }
}

/**
 * mkdir -p, one component at a time. Node's recursive mkdir never returns
 * for a path like /proc/self/fd/99 (ENOENT although the parent exists, so
 * it retries forever); here any error but EEXIST ends it.
 */
function makeDirs(path: string): void {
  let prefix = '';
  for (const part of path.split('/').filter(Boolean)) {
    prefix += `/${part}`;
    try {
      mkdirSync(prefix, { mode: 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Everything up to "ready": returns the exec.fifo O_PATH fd and the resolved program path. */
export function setUp(plan: InitPlan, channel: SyncChannel, originalNofile: { soft: bigint; hard: bigint } | null): { fifoFd: number; path: string } {
  // Load every native piece now: after pivot_root nothing outside the container is reachable.
  step('load native library', () => loadNative());
  // (The init made itself non-dumpable first thing, in main.ts: CVE-2019-5736.)
  // "initial" applies as soon as the process is in the container's cgroups (runc's order).
  const affinity = plan.process.cpuAffinity;
  if (affinity?.initial) step('sched_setaffinity (execCPUAffinity.initial)', () => applyCpuAffinity(affinity.initial as number[]));

  // The runtime has placed us in our cgroups by now, so the new cgroup namespace is rooted there.
  if (plan.newCgroupns) step('unshare cgroup namespace', () => unshare(CLONE_NEWCGROUP));

  step('prepare rootfs', () => prepareRootfs(plan.rootfs));

  // The runtime runs prestart/createRuntime hooks in its own namespaces now;
  // createContainer hooks run here, in ours, still before pivot_root.
  if (plan.runtimeHooks) {
    channel.send({ type: 'run-hooks' });
    channel.expect('hooks-done');
  }
  // "created": runtime.md's state for everything after lifecycle step 2 (see README, Hooks).
  runHooks('createContainer', plan.hooks.createContainer, hookState(plan, 'created'));

  // The runtime sent exec.fifo as an O_PATH fd: it survives pivot_root, and a
  // user-namespace init need not be able to reach the state directory.
  const fifoFd = channel.takeFd('exec.fifo');

  // The runtime connected linux.seccomp.listenerPath for us and sent the socket; finalize sends the notify fd.
  if (plan.process.seccompListener) seccompListenerFd = channel.takeFd('seccomp listener');

  step('pivot root', () => enterRootfs(plan.rootfs));
  // In the container's /proc (its namespaces' values), before finishRootfs makes /proc/sys read-only.
  if (plan.sysctl.length) step('sysctl', () => applySysctl(plan.sysctl));
  const proc = plan.process;
  // cwd is created as root (runc does too) before the root may turn read-only,
  // then entered again as the user in finalize.
  step(`create cwd ${proc.cwd}`, () => makeDirs(proc.cwd));
  step('finish rootfs', () => finishRootfs(plan.rootfs));
  if (proc.terminal) {
    const consoleSocket = channel.takeFd('console socket');
    step('set up terminal', () => setUpTerminal(proc.terminal as TerminalPlan, consoleSocket));
  }

  if (plan.newKeyring) step('join session keyring', () => joinSessionKeyring(plan.id));
  if (plan.hostname !== null) step('sethostname', () => sethostname(plan.hostname as string));
  if (plan.domainname !== null) step('setdomainname', () => setdomainname(plan.domainname as string));

  // Node raised its own RLIMIT_NOFILE soft limit at startup; the container gets the one we were started with.
  if (originalNofile) step('restore RLIMIT_NOFILE', () => setrlimit(RLIMIT_NOFILE, originalNofile, 'RLIMIT_NOFILE'));
  for (const r of proc.rlimits) {
    step(`setrlimit ${r.name}`, () => setrlimit(r.resource, { soft: BigInt(r.soft), hard: BigInt(r.hard) }, r.name));
  }
  if (proc.oomScoreAdj !== null) {
    step('set oom_score_adj', () => writeFileSync('/proc/self/oom_score_adj', String(proc.oomScoreAdj)));
  }
  // Per-thread attributes of this (the main) thread, which execve keeps: set now so create reports failures.
  if (proc.scheduler) step('process.scheduler', () => applyScheduler(proc.scheduler!));
  if (proc.ioPriority !== null) step('process.ioPriority', () => applyIoPriority(proc.ioPriority!));
  if (proc.memoryPolicy) step('linux.memoryPolicy', () => applyMemoryPolicy(proc.memoryPolicy!));
  if (proc.personality !== null) step('linux.personality', () => applyPersonality(proc.personality!));
  step(`chdir ${proc.cwd}`, () => process.chdir(proc.cwd));
  // CVE-2024-21626: a cwd like /proc/self/fd/N could lead out of the root through an fd we hold;
  // getcwd(3) fails with ENOENT when the cwd is not reachable from our root.
  step(`process.cwd ${proc.cwd}`, () => {
    try { process.cwd(); } catch { throw new Error('is outside the container\'s root filesystem'); }
  });
  const path = lookPath(proc.args[0] as string, proc.env, proc.cwd);
  return { fifoFd, path };
}

function hookState(plan: InitPlan, status: string): string {
  return JSON.stringify({ ...plan.hookState, status });
}

/**
 * The last step, in native code: ids, capabilities, seccomp, fds; then
 * "ready", the wait for `start` on exec.fifo and the startContainer hooks;
 * then no_new_privs and execve. Returns (by throwing) only a failure from
 * before "ready", which the caller reports to `create`.
 */
export function becomeContainerProcess(plan: InitPlan, path: string, syncFd: number, fifoFd: number): never {
  const proc = plan.process;
  if (proc.cpuAffinity?.final) step('sched_setaffinity (execCPUAffinity.final)', () => applyCpuAffinity(proc.cpuAffinity!.final!));
  // The labels take effect at execve.
  step('set LSM exec labels', () => applyExecLabels(proc.lsm));
  return nativeFinalize({
    paths: [path],
    umask: proc.umask,
    argv: proc.args,
    env: proc.env,
    cwd: proc.cwd,
    setGroups: proc.setGroups,
    groups: proc.additionalGids,
    uid: proc.uid,
    gid: proc.gid,
    capBounding: BigInt(proc.capabilities.bounding),
    capEffective: BigInt(proc.capabilities.effective),
    capPermitted: BigInt(proc.capabilities.permitted),
    capInheritable: BigInt(proc.capabilities.inheritable),
    capAmbient: BigInt(proc.capabilities.ambient),
    lastCap: lastCapability(),
    noNewPrivs: proc.noNewPrivileges,
    seccomp: proc.seccomp === null ? null : Buffer.from(proc.seccomp, 'base64'),
    preserveFds: proc.preserveFds,
    seccompFlags: proc.seccompFlags,
    listener: proc.seccompListener && seccompListenerFd >= 0
      ? { fd: seccompListenerFd, state: containerProcessState(plan.hookState, proc.seccompListener.metadata) }
      : null,
    start: {
      syncFd,
      fifoFd,
      hooks: plan.hooks.startContainer.map((h) => ({ path: h.path, argv: h.args?.length ? h.args : [h.path], env: h.env ?? [], timeout: h.timeout ?? 0 })),
      hookState: hookState(plan, 'created'),
    },
  });
}

/** Leave at once, whatever threads are blocked: exit_group, not Node's orderly shutdown. */
export function exitNow(code: number): never {
  libc()._exit(code);
  throw new Error('unreachable');
}

