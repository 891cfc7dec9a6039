// The container's terminal: a pty from the container's own devpts instance,
// made in the init after pivot_root. The master goes to the engine over the
// console socket (one sendmsg: the pty name and exactly one fd); the slave
// becomes /dev/console, fds 0-2, and the controlling terminal.
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:fs';
import * as C from '../sys/constants.js';
import { close, mount } from '../sys/calls.js';
import { sendWithFds } from '../sys/socket.js';
import { dup2, setControllingTerminal, setWinSize, unlockPty, type WinSize } from '../sys/tty.js';
import { fdPath, resolveInRoot } from './pathsafe.js';

export interface TerminalPlan {
  /** process.consoleSize: applied to the pty before anyone reads it */
  size: WinSize | null;
}

export function planTerminal(terminal: boolean | undefined, consoleSize: { height: number; width: number } | undefined): TerminalPlan | null {
  if (!terminal) return null;
  return { size: consoleSize ? { rows: consoleSize.height, cols: consoleSize.width } : null };
}

/**
 * In the init, after pivot_root: allocate the pty, hand the master over
 * consoleSocket, and make the slave this process's terminal and stdio.
 */
export function setUpTerminal(plan: TerminalPlan, consoleSocket: number): void {
  const master = openSync('/dev/pts/ptmx', constants.O_RDWR | constants.O_NOCTTY | C.O_CLOEXEC);
  let slave = -1;
  try {
    const n = unlockPty(master);
    if (plan.size) setWinSize(master, plan.size);
    const name = `/dev/pts/${n}`;
    slave = openSync(name, constants.O_RDWR | constants.O_NOCTTY | C.O_CLOEXEC);
    // /dev/console is the container's terminal too (runc binds it the same way).
    const rootFd = openSync('/', C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC);
    try {
      const consoleFd = resolveInRoot(rootFd, '/dev/console', 'file', 0o755);
      try { mount(name, fdPath(consoleFd), null, C.MS_BIND, null); } finally { close(consoleFd); }
    } finally {
      closeSync(rootFd);
    }
    sendWithFds(consoleSocket, Buffer.from(name), [master]);
    setControllingTerminal(slave);
    for (const fd of [0, 1, 2]) dup2(slave, fd);
  } finally {
    closeSync(master);
    if (slave > 2) closeSync(slave);
    closeSync(consoleSocket);
  }
}
