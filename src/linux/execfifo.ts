// exec.fifo: how `start` releases a created container, both ends in one
// place. create makes the fifo and hands the init an O_PATH fd on it (with
// the plan: a user-namespace init may not reach the state directory). The
// init (native/ocirun.c, wait_for_start) opens that fd for writing, which
// blocks until `start` opens the fifo for reading; it then runs the
// startContainer hooks and answers "0", or "E" and the error, and execs,
// which closes its end: `start` returns once it has (or after
// AFTER_ANSWER_MS): until then a signal sent to the container would meet the
// init's own handlers (ending it for SIGUSR1 too), not the program.
import { chmodSync, chownSync } from 'node:fs';
import { unlinkIfPresent } from './files.js';
import { O_CLOEXEC, O_NONBLOCK, O_PATH, O_RDONLY, POLLIN } from '../sys/constants.js';
import { close, mkfifo, open, pollOne, readSome } from '../sys/calls.js';

/**
 * Make the fifo. owner: the host ids of the init's root when it lives in a
 * new user namespace (only root can give it away; otherwise the mode lets
 * the init write).
 */
export function makeExecFifo(path: string, owner: { uid: number; gid: number } | null): void {
  mkfifo(path, 0o622);
  chmodSync(path, 0o622); // mkfifo's mode went through our umask
  if (owner && process.geteuid?.() === 0) chownSync(path, owner.uid, owner.gid);
}

/** The fd the init gets with its plan (the caller closes it once sent). */
export function openExecFifoForInit(path: string): number {
  return open(path, O_PATH | O_CLOEXEC);
}

/** How long `start` waits, after the init's "0", for its execve: a stopped init must not hold `start` for ever. */
const AFTER_ANSWER_MS = 2000;

/**
 * `start`'s end: open for reading (which releases the init), remove the
 * fifo (the container is running from here, whatever happens to us; then
 * onReleased), wait for the init's answer and then for its end of the fifo
 * to close (the program's execve). Throws the init's error ("E…"), or when
 * the init dies first (initAlive polled, so a dead init cannot hang us).
 */
export function releaseInit(path: string, initAlive: () => boolean, onReleased: () => void = () => {}): void {
  // Non-blocking, so a dead init (no writer ever) cannot hang us: we poll and check it.
  const fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  let answer = '';
  let answeredAt = 0;
  try {
    unlinkIfPresent(path);
    onReleased();
    for (;;) {
      if (pollOne(fd, POLLIN, 100) !== 0) {
        const got = readSome(fd, 65536);
        if (got.length === 0 && answer !== '') break; // the init closed its end: exec'd, or gone
        answer += got.toString('utf8');
        if (got.length === 0) throw new Error('container init exited before it could start');
        if (answer === '0') answeredAt = Date.now();
        continue;
      }
      if (answer === '0' && Date.now() - answeredAt >= AFTER_ANSWER_MS) break;
      if (!initAlive()) {
        // It answered and then exited (a startContainer hook failed, or the program's execve).
        if (answer !== '') break;
        throw new Error('container init exited before it could start');
      }
    }
  } finally {
    close(fd);
  }
  // "E<error>": a startContainer hook failed, and the init has stopped the container.
  if (answer !== '0') throw new Error(answer.startsWith('E') ? answer.slice(1) : `unexpected answer from the init: ${answer}`);
}
