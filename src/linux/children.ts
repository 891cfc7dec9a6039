// Being a process's parent: becoming the subreaper of a container's orphans,
// waiting for a child while passing on the signals a user sends us, reaping
// what is left, and the shell's reading of a wait status.
import { signalNumber } from './signals.js';
import { PR_SET_CHILD_SUBREAPER, WNOHANG } from '../sys/constants.js';
import { kill, prctl, waitpid, waitpidAsync } from '../sys/calls.js';

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
 * Wait for our child `pid` to exit, passing on the signals a user sends us
 * (by default with kill(2); a container's init is better reached through
 * its pidfd, which the caller passes as `send`). Returns the raw wait status.
 */
export async function forwardSignalsUntilExit(pid: number, send: (sig: number) => void = (sig) => { try { kill(pid, sig); } catch { /* exited */ } }): Promise<number> {
  const handlers = FORWARDED.map((name) => [name, () => send(signalNumber(name))] as const);
  for (const [name, fn] of handlers) process.on(name, fn);
  try {
    return await waitpidAsync(pid);
  } finally {
    // Only ours: run holds some of these signals itself until it has deleted the container.
    for (const [name, fn] of handlers) process.removeListener(name, fn);
  }
}
