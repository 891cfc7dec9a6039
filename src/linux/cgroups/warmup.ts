// Taking the first cgroup migration of a create (or exec) off its critical path.
//
// Every write to a cgroup.procs file takes one system-wide lock
// (cgroup_threadgroup_rwsem, a percpu rwsem). Its first writer after a quiet
// spell waits for an RCU grace period before it may go on (rcu_sync_enter);
// for about one more grace period after that writer leaves, the next writer
// finds the lock ready and does not wait. Measured here (kernel 6.18, cgroup
// v1 and v2 alike): the placement of a container's init costs 10–15 ms when
// it is the first migration in a while, 0.03 ms when another one ended less
// than ~15 ms before. runc pays the same wait.
//
// So, as soon as stage 1 is forked, a migration that changes nothing (our own
// pid written into the cgroup.procs of the cgroup we are in) is started on a
// libuv worker thread; the grace period passes there while the main thread
// validates and plans, and the real placement, some milliseconds later, finds
// the lock ready. It moves no process anywhere; if it fails (no permission, a
// cgroup we cannot see) or comes too late, the placement just waits as before.
import { writeFile } from 'node:fs';
import { join, relative } from 'node:path';
import { detectHierarchies, readOwnCgroups } from './hierarchy.js';

/** Our own cgroup.procs in one hierarchy, or null when we cannot name it. */
export function ownProcsFile(): string | null {
  const h = detectHierarchies();
  const own = readOwnCgroups();
  for (const m of h.v1) {
    const path = m.controllers.map((c) => own.v1.get(c)).find((p) => p !== undefined);
    if (path === undefined) continue;
    const rel = relative(m.root, path);
    if (!rel.startsWith('..')) return join(m.mountPoint, rel, 'cgroup.procs');
  }
  if (h.unified && own.unified !== null) {
    const rel = relative(h.unified.root, own.unified);
    if (!rel.startsWith('..')) return join(h.unified.mountPoint, rel, 'cgroup.procs');
  }
  return null;
}

/**
 * Start the no-op migration in the background (root only: only root places
 * containers in cgroups). `done` (tests) hears how it ended.
 */
export function warmCgroupMigration(done?: (err: Error | null) => void): void {
  if (process.geteuid?.() !== 0) return;
  let file: string | null = null;
  try {
    file = ownProcsFile();
  } catch {
    return;
  }
  if (file === null) return;
  writeFile(file, String(process.pid), (err) => done?.(err)); // best effort: see above
}
