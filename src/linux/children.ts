// Being a process's parent: becoming the subreaper of a container's orphans,
// waiting for a child while passing on the signals a user sends us, reaping
// what is left, and the shell's reading of a wait status.
import { signalNumber } from './signals.js';
import { PR_SET_CHILD_SUBREAPER, WNOHANG } from '../sys/constants.js';
import { kill, prctl, unblockSignal, waitpid } from '../sys/calls.js';

/** The signals a foreground run or exec passes on to the process it waits for. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'] as const;

/** Orphans of our descendants come to us, not to the host's init. */
export function becomeSubreaper(): void {
  prctl(PR_SET_CHILD_SUBREAPER, 1, 'PR_SET_CHILD_SUBREAPER');
}

/** Reap every child that has already exited, without waiting. */
export function reapExitedChildren(): void {
  try { while (waitpid(-1, WNOHANG).pid > 0) { /* reaped */ } } catch { /* ECHILD */ }
}

/**
 * SIGKILL our own child, or an orphan that came to us as subreaper; never
 * throws. Until we reap it its pid cannot be reused, so plain kill(2) is safe.
 */
export function killChild(pid: number): void {
  try { kill(pid, signalNumber('SIGKILL')); } catch { /* gone already */ }
}

/** Signals meant for the program we start, not for us: their default action would end us half way. */
const PROGRAM_SIGNALS = ['SIGUSR1', 'SIGUSR2'] as const;

/**
 * SIGUSR1 and SIGUSR2 held, from construction, until forwardSignalsUntilExit
 * passes them on (runc queues every signal from its start). SIGUSR1 Node
 * itself keeps blocked under bin/ocirun's --disable-sigusr1; listening to it
 * here too replaces the inspector's handler of a Node without that flag.
 * Caught until stop(), kept until passed on: one that comes after the program
 * ended must not end us before its container is deleted.
 */
export class HeldSignals {
  private pending: NodeJS.Signals[] | null = [];
  private readonly hold = (sig: NodeJS.Signals): void => { this.pending?.push(sig); };

  constructor() {
    for (const sig of PROGRAM_SIGNALS) process.on(sig, this.hold);
  }

  /** The held signals in order; none are kept after (forwarding has taken over). */
  take(): NodeJS.Signals[] {
    const pending = this.pending ?? [];
    this.pending = null;
    return pending;
  }

  /** Stop catching them; what is still held is dropped (create: runc's create ignores them). */
  stop(): void {
    for (const sig of PROGRAM_SIGNALS) process.removeListener(sig, this.hold);
    this.pending = null;
  }
}

/** Reap one child that has been killed (or is about to exit); never throws. */
export function reapChild(pid: number): void {
  try { waitpid(pid, 0); } catch { /* not ours, or reaped */ }
}

/** The shell's convention: the exit code, or 128 + the signal that killed it. */
export function exitCodeOf(status: number): number {
  const signal = status & 0x7f;
  return signal === 0 ? (status >> 8) & 0xff : 128 + signal;
}

/**
 * The raw wait status of our child `pid` once it exits. Asked on every
 * SIGCHLD (and once at the start, for a child already gone), with WNOHANG:
 * a wait4 blocked on koffi's worker thread would start libuv's pool of four
 * threads for it (~1 ms of run and exec, their stacks mapped and unmapped).
 * Other children's SIGCHLD (orphans we reap as subreaper) only cause a look.
 */
function exitOf(pid: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      process.removeListener('SIGCHLD', look);
      clearInterval(keep);
    };
    const look = (): void => {
      let r: { pid: number; status: number };
      try {
        r = waitpid(pid, WNOHANG);
      } catch (err) {
        stop();
        reject(err);
        return;
      }
      if (r.pid !== pid) return;
      stop();
      resolve(r.status);
    };
    // A signal listener does not keep Node's event loop alive: this timer does
    // (without it Node would end, status 0, while the child runs), and it looks too.
    const keep = setInterval(look, 1000);
    process.on('SIGCHLD', look);
    look();
  });
}

/**
 * Wait for our child `pid` to exit, passing on the signals a user sends us
 * (by default with kill(2); a container's init is better reached through
 * its pidfd, which the caller passes as `send`), after those `held` for it
 * meanwhile. Returns the raw wait status.
 */
export async function forwardSignalsUntilExit(pid: number, send: (sig: number) => void = (sig) => { try { kill(pid, sig); } catch { /* exited */ } }, held?: HeldSignals): Promise<number> {
  const handlers = FORWARDED.map((name) => [name, () => send(signalNumber(name))] as const);
  for (const [name, fn] of handlers) process.on(name, fn);
  for (const sig of held?.take() ?? []) send(signalNumber(sig));
  // bin/ocirun's --disable-sigusr1 leaves SIGUSR1 blocked (so that, until
  // now, it could neither open Node's inspector nor end us): one sent
  // meanwhile is passed on now, with those sent from here on.
  try { unblockSignal(signalNumber('SIGUSR1')); } catch { /* left blocked: not passed on */ }
  try {
    return await exitOf(pid);
  } finally {
    // Only ours: run holds some of these signals itself until it has deleted the container.
    for (const [name, fn] of handlers) process.removeListener(name, fn);
  }
}
