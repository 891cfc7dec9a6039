// Reading what the kernel says about a process from /proc.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { allDigits, allLowerHex } from '../config/chars.js';

export interface ProcStat {
  /** one-letter state: R, S, D, Z, T, … */
  state: string;
  ppid: number;
  /** field 22, clock ticks since boot: with the pid, identifies one process for its lifetime */
  startTime: number;
}

/** /proc/<pid>/stat, or null when there is no such process. */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

/** True when pid is the process that started at startTime and has not exited (a zombie has). */
export function isProcessAlive(pid: number, startTime: number): boolean {
  if (pid <= 0) return false;
  const stat = readProcStat(pid);
  return stat !== null && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}

/** The namespace a /proc/<pid>/ns/<name> path names, e.g. "pid:[4026531836]"; null when unreadable. */
export function namespaceAt(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** The inode that identifies a process's namespace of this kind (its /proc/<pid>/ns/ name: "net", "mnt", …). */
export function namespaceId(pid: number | 'self', kind: string): string | null {
  return namespaceAt(`/proc/${pid}/ns/${kind}`);
}


/** Every pid on the host whose namespace of this kind is `nsId`. */
export function pidsInNamespace(kind: string, nsId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!allDigits(entry)) continue;
    if (namespaceId(Number(entry), kind) === nsId) pids.push(Number(entry));
  }
  return pids;
}

/** pid and all of its descendants, found through /proc/<pid>/task/<tid>/children. */
export function processTree(pid: number): number[] {
  const seen: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift() as number;
    seen.push(p);
    let tasks: string[] = [];
    try { tasks = readdirSync(`/proc/${p}/task`); } catch { continue; }
    for (const tid of tasks) {
      try {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'latin1').trim();
        if (kids) for (const k of kids.split(' ')) queue.push(Number(k));
      } catch { /* gone */ }
    }
  }
  return seen;
}

/** A field of /proc/<pid>/status ("Uid", "CapBnd", …), whitespace-trimmed; null when absent. */
export function readStatusField(pid: number | 'self', name: string): string | null {
  const line = readFileSync(`/proc/${pid}/status`, 'latin1').split('\n').find((l) => l.startsWith(`${name}:`));
  return line === undefined ? null : line.slice(name.length + 1).trim();
}

/** The capability bounding set of this process, from /proc/self/status. */
export function readBoundingSet(): bigint {
  const hex = readStatusField('self', 'CapBnd');
  return hex && allLowerHex(hex) ? BigInt(`0x${hex}`) : 0n;
}

/** /proc/sys/kernel/cap_last_cap: the highest capability this kernel knows. */
export function lastCapability(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'latin1').trim());
  } catch {
    return 40;
  }
}

/** One line of /proc/<pid>/mountinfo (proc(5)), with octal escapes undone. */
export interface MountInfo {
  id: number;
  parent: number;
  majorMinor: string;
  /** the path of the mounted filesystem that forms this mount's root */
  root: string;
  mountPoint: string;
  /** per-mount options: ro/rw, nosuid, nodev, noexec, relatime, … */
  options: string[];
  /** shared:N, master:N, propagate_from:N, unbindable */
  optional: string[];
  fstype: string;
  source: string;
  /** per-superblock options: size=, mode=, and a cgroup v1 mount's controllers */
  superOptions: string[];
}

/** mountinfo writes space, tab, newline and backslash in paths as \ooo. */
function unescapeMountinfo(s: string): string {
  // Most fields have no escape: no regular expression compiled and run for them (a create parses the table twice).
  if (!s.includes('\\')) return s;
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** A mountinfo text, one entry a line; lines without the " - " separator are skipped. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const head = line.slice(0, sep).split(' ');
    const tail = line.slice(sep + 3).split(' ');
    out.push({
      id: Number(head[0]),
      parent: Number(head[1]),
      majorMinor: head[2] ?? '',
      root: unescapeMountinfo(head[3] ?? ''),
      mountPoint: unescapeMountinfo(head[4] ?? ''),
      options: (head[5] ?? '').split(','),
      optional: head.slice(6),
      fstype: tail[0] ?? '',
      source: unescapeMountinfo(tail[1] ?? ''),
      superOptions: (tail[2] ?? '').split(','),
    });
  }
  return out;
}

/** A process's mount table as the kernel shows it to that process (paths inside its root). */
export function readMountinfo(pid: number | 'self' = 'self'): MountInfo[] {
  return parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

let ownMounts: readonly MountInfo[] | null = null;

/**
 * Our mount table as this process first read it. create's planners share it
 * (the cgroup hierarchies, then the rootfs's parent mount and the v1 cgroup
 * binds, a few milliseconds apart): one read and parse instead of two, which
 * grows with the host's mounts. What must see a mount come or go (the
 * rootfs mounts of a container without a mount namespace) reads afresh.
 */
export function ownMountinfoOnce(): readonly MountInfo[] {
  ownMounts ??= readMountinfo();
  return ownMounts;
}

/** One line of /proc/<pid>/cgroup: "hierarchy-id:controller,list:path"; cgroup2's is "0::path". */
export interface CgroupLine {
  hierarchy: number;
  /** as listed: "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
  controllers: string;
  path: string;
}

/** A /proc/<pid>/cgroup text. The path is everything after the second colon (it may hold colons). */
export function parseCgroupLines(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    out.push({ hierarchy: Number(line.slice(0, first)), controllers: line.slice(first + 1, second), path: line.slice(second + 1) });
  }
  return out;
}

/** Where a process sits in each cgroup hierarchy. */
export function readCgroupLines(pid: number | 'self' = 'self'): CgroupLine[] {
  return parseCgroupLines(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
}

let ownCgroups: CgroupLine[] | null = null;

/**
 * This process's own cgroup lines, read once: a command never moves itself
 * (cgroups/warmup.ts writes our pid into the cgroup we are already in), and
 * create asks three times (the warm-up, the container's paths, its plan).
 */
export function ownCgroupLinesOnce(): readonly CgroupLine[] {
  ownCgroups ??= readCgroupLines('self');
  return ownCgroups;
}
