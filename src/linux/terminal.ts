// The container's terminal: a pty from the container's own devpts instance,
// made by the native init after pivot_root (the plan's TERMINAL op). The
// master goes to the engine over the console socket (one sendmsg: the pty
// name and exactly one fd); the slave becomes /dev/console, fds 0-2, and the
// controlling terminal.
import type { WinSize } from '../sys/tty.js';

export interface TerminalPlan {
  /** process.consoleSize: applied to the pty before anyone reads it */
  size: WinSize | null;
}

export function planTerminal(terminal: boolean | undefined, consoleSize: { height: number; width: number } | undefined): TerminalPlan | null {
  if (!terminal) return null;
  return { size: consoleSize ? { rows: consoleSize.height, cols: consoleSize.width } : null };
}
