// Starting the init: the native spawn, then the sync protocol up to the
// point where the init waits on exec.fifo. Split in two so that create can
// fork the init before it has validated the config, and send the plan
// (built once the init's pid and cgroups are known) afterwards.
import { F_DUPFD_CLOEXEC, O_CLOEXEC, O_RDONLY, SIGKILL } from '../sys/constants.js';
import { close, fcntl, kill, open, socketpair, waitpid } from '../sys/calls.js';
import { type FinalizeRequest, nativeSpawn } from '../sys/native.js';

/** What the native step does before it execs a process (exec's request, built by the planner). */
export type { FinalizeRequest };
import { chooseMapWriter, type IdMapping, writeIdMaps } from './idmap.js';
import { encodePlan, type EncodedPlan } from './initcode.js';
import { describeFailure, failedHook } from './initops.js';
import { openExecFifoForInit } from './execfifo.js';
import { CLONE_FLAG, type NamespacePlan, PROC_NS_NAME } from './namespaces.js';
import { readlinkSync } from 'node:fs';
import { SyncChannel } from './sync.js';
import { closePlacement, type OpenPlacement, placedDirs } from './cgroups/selfplace.js';
import { trace } from '../trace.js';

export interface Launch {
  stage1: number;
  channel: SyncChannel;
  /** the init's host pid, once stage 1 has told us */
  initPid: number;
  /** the namespace plan it was started with, to check against the validated one */
  namespaces: NamespacePlan;
  preserveFds: number;
  channelOpen: boolean;
}

function closeChannel(l: Launch): void {
  if (!l.channelOpen) return;
  l.channelOpen = false;
  close(l.channel.fd);
}

/** Fork stage 1 (which forks the init). Nothing is sent to it yet. */
export function launchInit(ns: NamespacePlan, preserveFds: number, exec?: FinalizeRequest, console?: { fd: number; rows: number; cols: number }): Launch {
  const [parentEnd, childEnd] = socketpair();
  // The child's end must sit above the fds that --preserve-fds passes on.
  let childFd = -1;
  const joinFds: { fd: number; type: number }[] = [];
  try {
    childFd = fcntl(childEnd, F_DUPFD_CLOEXEC, 3 + preserveFds);
    for (const j of ns.join) {
      let fd: number;
      try {
        fd = open(j.path, O_RDONLY | O_CLOEXEC);
      } catch (err) {
        throw new Error(`linux.namespaces: cannot open ${j.kind} namespace ${j.path}: ${(err as Error).message}`, { cause: err });
      }
      joinFds.push({ fd, type: CLONE_FLAG[j.kind] });
      // setns would only say EINVAL: name the path and what it really is.
      const what = readlinkSync(`/proc/self/fd/${fd}`);
      if (!what.startsWith(`${PROC_NS_NAME[j.kind]}:[`)) {
        throw new Error(`linux.namespaces: ${j.path} is not a ${j.kind} namespace (it is ${what})`);
      }
    }
    const stage1 = nativeSpawn({
      syncFd: childFd,
      preserveFds,
      join: joinFds,
      newUserns: ns.newUserns,
      becomeRoot: ns.inUserns,
      unshareFlags: ns.unshareFlags,
      timensOffsets: ns.timensOffsets,
      // A network namespace of our own gets a working 127.0.0.1, as with runc.
      loopbackUp: ns.create.includes('network'),
      ...(exec ? { exec } : {}),
      ...(console ? { console } : {}),
    });
    trace(`stage 1 forked: pid ${stage1}`);
    return { stage1, channel: new SyncChannel(parentEnd), initPid: 0, namespaces: ns, preserveFds, channelOpen: true };
  } catch (err) {
    close(parentEnd);
    throw err;
  } finally {
    close(childEnd);
    if (childFd >= 0) close(childFd);
    for (const j of joinFds) close(j.fd);
  }
}

/**
 * Write the id maps if asked, tell stage 1 where the process goes (it places
 * it itself where it can, selfplace.ts), and learn its pid and which of
 * those directories it entered.
 */
function receivePid(
  l: Launch, uidMap: readonly IdMapping[], gidMap: readonly IdMapping[], placement: OpenPlacement, meanwhile: () => void = () => {},
): { pid: number; placed: Set<string> } {
  try {
    if (l.namespaces.newUserns) {
      const msg = l.channel.receive();
      if (msg.type !== 'idmap-request') throw l.channel.errorOf(msg) ?? new Error(`sync: unexpected ${msg.type} from the native step`);
      writeIdMaps(msg.pid, uidMap, gidMap, chooseMapWriter(process.geteuid?.() ?? 0, process.getegid?.() ?? 0, uidMap, gidMap));
      l.channel.send({ type: 'idmap-done' });
    }
    try {
      l.channel.send({ type: 'cgroups', tasks: placement.tasksDirs.length, v2: placement.v2Dir !== null }, placement.fds);
    } catch (err) {
      // Stage 1 failed before it read this: its error is what to report.
      const said = l.channel.receiveIfReady();
      throw (said && l.channel.errorOf(said)) ?? err;
    }
    meanwhile();
    const msg = l.channel.receive();
    const err = l.channel.errorOf(msg);
    if (err) throw err;
    if (msg.type !== 'init-pid') throw new Error(`sync: unexpected ${msg.type} from the native step`);
    l.initPid = msg.pid;
    return { pid: msg.pid, placed: placedDirs(placement, msg.tasksDone, msg.clonedInto) };
  } catch (err) {
    // Stage 1 may be waiting for a word that will never come (id maps refused): end it, or reaping it would hang.
    if (l.stage1 > 0) try { kill(l.stage1, SIGKILL); } catch { /* gone */ }
    throw err;
  } finally {
    closePlacement(placement);
    reapStage1(l);
  }
}

/** The init's plan, and its bytes when they were encoded ahead (see LaunchSteps.whileInitForks). */
export type ReadyPlan = EncodedPlan & { bytes?: Buffer };

/** What the runtime does at each step of completeLaunch. */
export interface LaunchSteps {
  /** the pid is known: place the init in the rest of its cgroups (`placed` it entered itself) and give its plan */
  planFor: (pid: number, placed: ReadonlySet<string>) => ReadyPlan;
  /** the init asks for the prestart and createRuntime hooks */
  runRuntimeHooks: () => void;
  /** while stage 1 forks the init: what needs no pid, off the critical path */
  whileInitForks?: () => void;
  /** while the init carries out its plan: what the runtime can do meanwhile, off the critical path */
  whileInitWorks?: () => void;
}

/**
 * Write the id maps if asked, learn the init's pid and where it placed
 * itself (`steps.planFor` places it in the rest and gives the plan), send the plan with its fds (exec.fifo first, as an
 * O_PATH fd: a user-namespace init may not reach its path), run the
 * runtime's hooks when the init asks, and wait until it is ready.
 */
export function completeLaunch(
  l: Launch,
  uidMap: readonly IdMapping[],
  gidMap: readonly IdMapping[],
  fifoPath: string,
  /** sent after exec.fifo, in the plan's slot order: the seccomp listener, the console socket */
  extraFds: readonly number[],
  /** the cgroups the init can enter by itself (closed here) */
  placement: OpenPlacement,
  steps: LaunchSteps,
): void {
  const { pid, placed } = receivePid(l, uidMap, gidMap, placement, steps.whileInitForks);
  const plan = steps.planFor(pid, placed);
  // From here a failure names the op, and through it the config field.
  l.channel.describe = (f) => ({ message: describeFailure(plan.ops, f), hook: failedHook(plan.ops, f) });
  const fifoFd = openExecFifoForInit(fifoPath);
  try {
    l.channel.send({ type: 'plan', plan: plan.bytes ?? encodePlan(plan) }, [fifoFd, ...extraFds]);
  } finally {
    close(fifoFd);
  }
  trace(`plan sent: ${plan.ops.length} operations`);
  steps.whileInitWorks?.();
  for (;;) {
    const msg = l.channel.receive();
    if (msg.type === 'ready') break;
    if (msg.type === 'run-hooks') {
      steps.runRuntimeHooks();
      l.channel.send({ type: 'hooks-done' });
      continue;
    }
    throw l.channel.errorOf(msg) ?? new Error(`sync: unexpected ${msg.type} from the init`);
  }
  trace('init ready');
  closeChannel(l);
}

/** exec: learn the process's pid and where it placed itself, let the caller place it (the other cgroups, rlimits), then let it exec. */
export function completeExecLaunch(l: Launch, settings: EncodedPlan, placement: OpenPlacement, place: (pid: number, placed: ReadonlySet<string>) => void): number {
  const { pid, placed } = receivePid(l, [], [], placement);
  place(pid, placed);
  // A failing settings op names its field, as the init's plan does.
  l.channel.describe = (f) => ({ message: describeFailure(settings.ops, f), hook: false });
  l.channel.send({ type: 'exec', plan: settings.ops.length ? encodePlan(settings) : Buffer.alloc(0) });
  // The sync fd is close-on-exec in the process: end of file means execve succeeded.
  const answer = l.channel.receiveOrEnd();
  const err = answer ? l.channel.errorOf(answer) : null;
  if (err) {
    try { waitpid(l.initPid, 0); } catch { /* reaped */ }
    l.initPid = 0;
    throw err;
  }
  closeChannel(l);
  return l.initPid;
}

function reapStage1(l: Launch): void {
  if (l.stage1 > 0) {
    waitpid(l.stage1, 0);
    l.stage1 = 0;
  }
}

/** Undo a launch: kill whatever it started and reap it. */
export function abortLaunch(l: Launch): void {
  if (l.stage1 > 0) {
    try { kill(l.stage1, SIGKILL); } catch { /* gone */ }
    try { reapStage1(l); } catch { /* reaped */ }
  }
  // Stage 1 may have forked the init and said so before it died.
  for (let msg = l.channel.receiveIfReady(); msg && !l.initPid; msg = l.channel.receiveIfReady()) {
    if (msg.type === 'init-pid') l.initPid = msg.pid;
  }
  // Closing our end also stops an init we never heard of: it reads EOF and exits.
  closeChannel(l);
  if (l.initPid > 0) {
    try { kill(l.initPid, SIGKILL); } catch { /* gone */ }
    try { waitpid(l.initPid, 0); } catch { /* not ours to reap */ }
  }
}

/** Two namespace plans start the same process. */
export function sameNamespaces(a: NamespacePlan, b: NamespacePlan): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
