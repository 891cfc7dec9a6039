// Reading and writing cgroup files and directories. The kernel parses each
// write(2) to a cgroup file as one command, whichever open it comes through.
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errnoCode } from '../../config/errors.js';

/** Sleep without an event loop turn (commands are synchronous here). */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * dir/file. dir is a cgroup directory as the managers resolve it (absolute,
 * normalized), file a name: no path.join, whose normalizing loop is
 * interpreted JavaScript (a v1 create writes ~40 files, ~0.5 ms of joins).
 */
function fileIn(dir: string, file: string): string {
  return `${dir}/${file}`;
}

/** A cgroup file's content, trimmed; null when it does not exist. */
export function readCgroupFile(dir: string, file: string): string | null {
  try {
    return readFileSync(fileIn(dir, file), 'utf8').trim();
  } catch (err) {
    // ENODEV: a cgroup being removed no longer has its files.
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR' || errnoCode(err) === 'ENODEV') return null;
    throw err;
  }
}

export function writeCgroupFile(dir: string, file: string, value: string): void {
  // No O_CREAT: a missing file must fail as ENOENT, not try to create one.
  // (Node opens every file close-on-exec; O_TRUNC is a no-op on cgroupfs.)
  const fd = openSync(fileIn(dir, file), constants.O_WRONLY | constants.O_TRUNC);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes to the files of one cgroup directory, each file opened once for
 * all its writes (a v1 devices.allow takes one rule a write: ~12 for the
 * default devices, each an open, a write and a close before). close() ends it.
 */
export class CgroupFileWriter {
  private readonly fds = new Map<string, number>();
  constructor(private readonly dir: string) {}

  write(file: string, value: string): void {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      fd = openSync(fileIn(this.dir, file), constants.O_WRONLY | constants.O_TRUNC);
      this.fds.set(file, fd);
    }
    writeSync(fd, value);
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** "key value" lines (memory.stat, cpu.stat, memory.events …) as numbers. */
export function readKeyValues(dir: string, file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (readCgroupFile(dir, file) ?? '').split('\n')) {
    const [key, value] = line.split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/**
 * mkdir -p from below a mount point down to dir; the directories this call
 * made are appended to `created` (outermost first). A parent removed by a
 * concurrent delete between two steps is made again.
 */
export function makeCgroupDirs(mountPoint: string, dir: string, created: string[]): void {
  const chain: string[] = [];
  for (let d = dir; d !== mountPoint && d.startsWith(`${mountPoint}/`); d = dirname(d)) chain.unshift(d);
  for (let attempt = 0; ; attempt++) {
    try {
      for (const d of chain) {
        try {
          mkdirSync(d, { mode: 0o755 });
          created.push(d);
        } catch (err) {
          if (errnoCode(err) !== 'EEXIST') throw err;
        }
      }
      return;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt >= 3) throw new Error(`cgroups: cannot create ${dir}: ${errnoCode(err) ?? String(err)}`, { cause: err });
    }
  }
}

/**
 * Whether a directory may hold others. Its link count is 2 plus the
 * directories in it (cgroupfs keeps it so, as ext4 and tmpfs do): at 2 a
 * cgroup has no child, and the ~50 control files need not be listed to
 * know it. Any other count (1 on btrfs, say) means: list it.
 */
function mayHoldDirs(dir: string): boolean {
  try {
    return statSync(dir, { throwIfNoEntry: false })?.nlink !== 2;
  } catch {
    return true;
  }
}

/** Every cgroup directory from dir down (dir first). */
export function cgroupTree(dir: string): string[] {
  const out = [dir];
  for (let i = 0; i < out.length; i++) {
    const d = out[i] as string;
    if (!mayHoldDirs(d)) continue;
    let entries;
    try { entries = readdirSync(d, { withFileTypes: true }); } catch { continue; }
    for (const e of entries) if (e.isDirectory()) out.push(join(d, e.name));
  }
  return out;
}

/** Host pids in a cgroup and every cgroup below it. */
export function pidsInTree(dir: string): number[] {
  const pids: number[] = [];
  for (const d of cgroupTree(dir)) {
    for (const line of (readCgroupFile(d, 'cgroup.procs') ?? '').split('\n')) if (line) pids.push(Number(line));
  }
  return pids;
}

/**
 * rmdir a cgroup and the ones the container made below it, deepest first.
 * A cgroup whose last task is still exiting is busy for a moment: retry.
 */
export function removeCgroupTree(dir: string, timeoutMs = 5000): void {
  // Mostly an empty leaf: one rmdir, without a walk. A child cgroup or a task
  // still exiting (EBUSY), or any other error, takes the walk below.
  try {
    rmdirSync(dir);
    return;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
  }
  const tree = cgroupTree(dir).reverse();
  const deadline = Date.now() + timeoutMs;
  for (const d of tree) {
    for (;;) {
      try {
        rmdirSync(d);
        break;
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT') break;
        if (code === 'EBUSY' && Date.now() < deadline) { sleepMs(10); continue; }
        throw new Error(`cgroups: cannot remove ${d}: ${code ?? String(err)}`, { cause: err });
      }
    }
  }
}

/** Remove directories we made, innermost first, leaving any still in use by someone else. */
export function removeCreatedParents(created: string[]): void {
  for (const d of [...created].reverse()) {
    try { rmdirSync(d); } catch { /* in use, or gone */ }
  }
}
