// /proc/<pid>/exe: what program a process runs. create records the init's
// (the runtime's own binary, until the init execs the user's program), and
// the status machine compares against it to tell "created" from "running".
import { readlinkSync, statSync } from 'node:fs';

/** The link's text, or undefined when we may not read it. */
export function processExe(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/**
 * The process still runs the program recorded as `recorded`; true when we
 * cannot tell (no ptrace access to its exe link).
 */
export function stillRuns(pid: number, recorded: string): boolean {
  try {
    if (readlinkSync(`/proc/${pid}/exe`) === recorded) return true;
    // Once the init has pivoted into the container, the link's text is the
    // path inside the mount that holds the binary (a separate /usr, a 9p
    // share: "/node_modules/…/node"), not the path we recorded: compare the
    // files themselves.
    const now = statSync(`/proc/${pid}/exe`);
    const then = statSync(recorded);
    return now.dev === then.dev && now.ino === then.ino;
  } catch {
    return true;
  }
}
