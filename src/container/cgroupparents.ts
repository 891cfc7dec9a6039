// Parent cgroups that ocirun made for a nested linux.cgroupsPath (say
// /pods/a and /pods/b both under /pods): whichever container is deleted
// last must remove /pods, whichever made it. The runtime root keeps a list
// of the parents creates made (`cgroup-parents`, under its own flock); a
// create that finds one of them already there takes it as its own too, so
// its delete tries to remove it (an rmdir that fails while a sibling still
// lives there, and succeeds for the last). Delete drops the parents that are
// gone, and the list itself once it is empty.
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { lockExclusive } from '../linux/filelock.js';
import type { CgroupRecord } from '../linux/cgroups/record.js';
import { leafDirs } from '../linux/cgroups/paths.js';

function registry(root: string): string {
  return join(root, 'cgroup-parents');
}

/** Run fn on the list's lines, holding its lock; fn's result replaces them (null: unchanged). */
function withRegistry(root: string, create: boolean, fn: (lines: string[]) => string[] | null): void {
  const path = registry(root);
  if (!create && !existsSync(path)) return;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(path, create ? 'a+' : 'r+', 0o600);
    } catch {
      return; // gone (and not to be made)
    }
    try {
      lockExclusive(fd, path);
      // A delete may have removed the list while we waited for its lock: open it again.
      let same = false;
      try { same = statSync(path).ino === fstatSync(fd).ino; } catch { /* removed */ }
      if (!same) { if (!create) return; continue; }
      const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
      const next = fn(lines);
      if (next === null) return;
      if (next.length === 0) { unlinkSync(path); return; }
      const added = next.filter((l) => !lines.includes(l));
      // Only ever appended to while locked; pruning happens when it empties.
      if (added.length) writeSync(fd, added.map((l) => `${l}\n`).join(''), null);
      return;
    } finally {
      closeSync(fd);
    }
  }
}

/** Every directory above the container's own ones, up to /. */
function ancestorsOf(leaves: Iterable<string>): string[] {
  const out: string[] = [];
  for (const leaf of leaves) for (let d = dirname(leaf); d !== dirname(d); d = dirname(d)) out.push(d);
  return out;
}

/** Outermost first, as delete removes them in reverse. */
const byDepth = (a: string, b: string): number => a.split('/').length - b.split('/').length;

/**
 * What the record's `created` will hold once create has made the cgroup
 * directories and called shareCreatedParents, known before: the directories
 * from each mount point down to the container's that do not exist yet, and
 * the existing parents the list names. create's first record carries it, so
 * that a delete after a crash while they are made removes them (rmdir
 * leaves alone what is not there yet, or not empty). Under systemd the
 * directories are made later, when the init is placed, and recorded then.
 * The prediction is made before the mkdirs: a concurrent create or delete
 * that makes or removes a shared parent in between can, if we then crash,
 * leave that parent behind or have our delete rmdir an empty one it made.
 * Before, the same window existed only inside the mkdirs themselves.
 */
export function expectedCreated(root: string, rec: CgroupRecord): string[] {
  if (rec.systemd) return [];
  const out = new Set<string>();
  for (const p of [...rec.paths.v1, ...(rec.paths.unified ? [rec.paths.unified] : [])]) {
    for (let d = p.dir; d !== p.mountPoint && d.startsWith(`${p.mountPoint}/`); d = dirname(d)) if (!existsSync(d)) out.add(d);
  }
  let listed: string[] = [];
  try { listed = readFileSync(registry(root), 'utf8').split('\n'); } catch { /* no list */ }
  if (listed.length) {
    const known = new Set(listed);
    for (const d of ancestorsOf(leafDirs(rec.paths))) if (known.has(d)) out.add(d);
  }
  return [...out].sort(byDepth);
}

/**
 * After the cgroup directories are made: list the parents this create made,
 * and add to the record the existing parents another create made.
 */
export function shareCreatedParents(root: string, rec: CgroupRecord): void {
  const leaves = new Set(leafDirs(rec.paths));
  const made = rec.created.filter((d) => !leaves.has(d));
  if (!made.length && !existsSync(registry(root))) return;
  withRegistry(root, made.length > 0, (lines) => {
    const known = new Set(lines);
    const mine = new Set(rec.created);
    for (const d of ancestorsOf(leaves)) if (known.has(d) && !mine.has(d)) { rec.created.push(d); mine.add(d); }
    return made.some((d) => !known.has(d)) ? [...lines, ...made.filter((d) => !known.has(d))] : null;
  });
  rec.created.sort(byDepth);
}

/** After a delete removed its cgroups: forget the parents that are gone. */
export function forgetRemovedParents(root: string): void {
  withRegistry(root, false, (lines) => {
    const left = lines.filter((d) => existsSync(d));
    if (left.length === lines.length) return null;
    if (!left.length) return [];
    // Truncate in place: the inode (and so the lock) stays the same.
    const fd = openSync(registry(root), 'r+');
    try {
      ftruncateSync(fd, 0);
      writeSync(fd, left.map((l) => `${l}\n`).join(''), 0);
    } finally {
      closeSync(fd);
    }
    return null;
  });
}
