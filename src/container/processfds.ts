// The runtime-side fds of a new process (create's init, exec's process):
// the engine's console socket, which gets the pty master, and the seccomp
// notify listener. The runtime connects both (a user-namespace init may not
// be allowed to), hands them over with the plan or the spawn, and closes its
// own copies when the operation ends.
import { closeQuietly, connectConsoleSocket, connectSeccompListener, moveFdAbove } from '../linux/runtimefds.js';
import type { CleanupStack } from './cleanup.js';

export interface ProcessFds {
  /** connected to --console-socket, or -1 */
  console: number;
  /** connected to linux.seccomp.listenerPath, or -1 */
  listener: number;
}

export interface WantedFds {
  consoleSocket?: string | undefined;
  listenerPath?: string | undefined;
  /** move them to this fd number or above (exec: above the fds --preserve-fds passes on) */
  above?: number;
}

export function openProcessFds(cleanup: CleanupStack, want: WantedFds): ProcessFds {
  const open = (what: string, connect: () => number): number => {
    const fd = want.above === undefined ? connect() : moveFdAbove(connect(), want.above);
    cleanup.always(`closing the ${what}`, () => closeQuietly(fd));
    return fd;
  };
  return {
    console: want.consoleSocket === undefined ? -1 : open('console socket', () => connectConsoleSocket(want.consoleSocket as string)),
    listener: want.listenerPath === undefined ? -1 : open('seccomp listener', () => connectSeccompListener(want.listenerPath as string)),
  };
}
