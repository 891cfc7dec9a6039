// Ending the runtime's own process. Node's exit tears down what no later
// process sees: OpenSSL's and ICU's state, the V8 platform's threads, and
// koffi's exit-time fsync of fds 1 and 2 (a real disk flush when stdout is
// a file). Measured: ~1 ms of every command that loaded koffi. What it does
// that others can see is done before: the 'exit' listeners run, our output
// is written synchronously (writeSync, appendFileSync), and fds 0-2 keep the
// flags and terminal modes they had, unless Node's own streams took them
// over (the terminal proxy): then Node's exit restores them (ResetStdio),
// and nodeExitNeeded() keeps it.
import { exitIfLoaded, libcLoaded } from '../sys/libc.js';

let keepNodeExit = false;

/** Node's own exit must end this process (its stdio streams were used). */
export function nodeExitNeeded(): void {
  keepNodeExit = true;
}

/** The Node flags whose profilers and reports write their files in Node's exit. */
const WRITES_AT_EXIT = ['--cpu-prof', '--heap-prof', '--prof', '--diagnostic-dir', '--report-on'];

/**
 * Profilers and coverage write their files in Node's exit. Prefixes, not a
 * regular expression: V8 compiles one on its first use (~0.15 ms), and
 * this runs once, at the end of every command.
 */
function nodeWritesAtExit(): boolean {
  return Boolean(process.env.NODE_V8_COVERAGE) ||
    process.execArgv.some((a) => WRITES_AT_EXIT.some((flag) => a.startsWith(flag)));
}

/**
 * Whether exitNow would end the process: nothing needs Node's exit (no
 * 'exit' listener left, no stdio stream of Node's, no profiler) and koffi
 * is loaded. dist/cli.cjs asks before it makes its code cache, so that the
 * cache holds the functions this calls too (they were compiled at every exit).
 */
export function canExitNow(): boolean {
  return !keepNodeExit && process.listenerCount('exit') === 0 && !nodeWritesAtExit() && libcLoaded();
}

/** End the process with `code` now when canExitNow(); returns otherwise, and the caller calls process.exit. */
export function exitNow(code: number): void {
  if (canExitNow()) exitIfLoaded(code);
}
