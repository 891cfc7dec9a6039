// The container's terminal: a pty from the container's own devpts instance,
// made by the native init after pivot_root (the plan's TERMINAL op). The
// master goes to the engine over the console socket (one sendmsg: the pty
// name and exactly one fd); the slave becomes /dev/console, fds 0-2, and the
// controlling terminal.
//
// The host half (`run` and `exec` with a terminal and no --console-socket):
// like runc, we are the console socket's other end ourselves, and join the
// user's terminal to the container's pty (fully raw, both directions, window
// size).
import { createReadStream, createWriteStream } from 'node:fs';
import { close, fcntl, socketpair, writeAll } from '../sys/calls.js';
import { F_DUPFD_CLOEXEC } from '../sys/constants.js';
import { recvWithFds } from '../sys/socket.js';
import { getWinSize, makeRaw, makeRawKeepingInput, setWinSize, type WinSize } from '../sys/tty.js';
import { nodeExitNeeded } from './selfexit.js';

export interface TerminalPlan {
  /** process.consoleSize: applied to the pty before anyone reads it */
  size: WinSize | null;
}

/**
 * runc's rules for --console-socket against process.terminal, in its words
 * (engines match them): a terminal needs the socket unless the command stays
 * attached to ours (detach false: run and exec in the foreground), and the
 * socket needs a terminal. create, run, exec, restore and plan all ask here.
 */
export function checkConsoleSocket(terminal: boolean, hasSocket: boolean, detach: boolean): void {
  if (terminal && !hasSocket && detach) throw new Error('cannot allocate tty if runc will detach without setting console socket');
  if (!terminal && hasSocket) throw new Error('cannot use console socket if runc will not detach or allocate tty');
}

export function planTerminal(terminal: boolean | undefined, consoleSize: { height: number; width: number } | undefined): TerminalPlan | null {
  if (!terminal) return null;
  return { size: consoleSize ? { rows: consoleSize.height, cols: consoleSize.width } : null };
}

export interface OwnConsole {
  /** the end the init gets, as if it had connected to a console socket */
  theirs: number;
  ours: number;
}

export function openOwnConsole(): OwnConsole {
  const [ours, theirs] = socketpair();
  return { ours, theirs };
}

/** After create: the pty master the init sent us. */
export function receiveMaster(c: OwnConsole): number {
  close(c.theirs);
  try {
    const { fds } = recvWithFds(c.ours, 4096);
    if (fds.length !== 1) throw new Error(`console: expected one pty master, got ${fds.length} fds`);
    return fds[0] as number;
  } finally {
    close(c.ours);
  }
}

/** The size of our own terminal (stdin), null when stdin is not one. */
export function ownTerminalSize(): WinSize | null {
  return getWinSize(0);
}

/**
 * Copy stdin to the pty and the pty to stdout until `done` settles, with our
 * terminal in raw mode (the container's pty does the line editing).
 * Resolves once the pty's output has drained.
 */
export async function proxyTerminal(master: number, done: Promise<unknown>): Promise<void> {
  // Node's stdio streams take over fds 0 and 1: its exit puts their flags back.
  nodeExitNeeded();
  // runc's console: the first of stdin, stdout, stderr that is a terminal is made raw.
  // node:tty (with net and stream behind it) costs several ms to load: only a run with a terminal pays.
  const { isatty } = process.getBuiltinModule('node:tty');
  const ttyFd = [0, 1, 2].find((fd) => isatty(fd));
  const resize = (): void => {
    const size = getWinSize(1) ?? getWinSize(0);
    if (size) try { setWinSize(master, size); } catch { /* pty gone */ }
  };
  resize();
  process.on('SIGWINCH', resize);
  // When stdin is that terminal, what was typed before it went raw is passed on first.
  const raw = ttyFd === 0 ? makeRawKeepingInput(0) : null;
  const restore = raw ? raw.restore : ttyFd === undefined ? null : makeRaw(ttyFd);
  if (raw?.pending.length) try { writeAll(master, raw.pending); } catch { /* pty gone */ }
  // Each stream owns its fd and Node closes it once, after any read or write
  // still in flight on the thread pool. Closing the master ourselves as well
  // raced that close: the number, reused meanwhile (the store's lock file),
  // was closed under its new owner ("close: EBADF" at the end of run -t).
  const fromPty = createReadStream('', { fd: master });
  const toPty = createWriteStream('', { fd: fcntl(master, F_DUPFD_CLOEXEC, 3) });
  process.stdin.pipe(toPty);
  const drained = new Promise<void>((resolve) => {
    // EIO from the master means every slave is closed: the container is gone.
    fromPty.on('error', () => resolve());
    fromPty.on('end', () => resolve());
  });
  fromPty.pipe(process.stdout, { end: false });
  try {
    await done;
    await Promise.race([drained, new Promise((r) => setTimeout(r, 500))]);
  } finally {
    process.off('SIGWINCH', resize);
    process.stdin.unpipe(toPty);
    restore?.();
    process.stdin.pause();
    fromPty.destroy();
    toPty.destroy();
  }
}
