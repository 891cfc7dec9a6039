// Reading what the kernel says about a process from /proc.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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

/** The inode that identifies a process's namespace of this kind, e.g. "pid:[4026531836]". */
export function namespaceId(pid: number | 'self', kind: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return null;
  }
}


/** Every pid on the host whose namespace of this kind is `nsId`. */
export function pidsInNamespace(kind: string, nsId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
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

/** The capability bounding set of this process, from /proc/self/status. */
export function readBoundingSet(): bigint {
  const status = readFileSync('/proc/self/status', 'latin1');
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/** /proc/sys/kernel/cap_last_cap: the highest capability this kernel knows. */
export function lastCapability(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'latin1').trim());
  } catch {
    return 40;
  }
}

export interface MountEntry {
  mountPoint: string;
  fstype: string;
  superOptions: string[];
}

/** This process's mount table, from /proc/self/mountinfo (octal escapes in paths decoded). */
export function readMountinfo(): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype = '', , superOpts = ''] = line.slice(sep + 3).split(' ');
    const mountPoint = (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    entries.push({ mountPoint, fstype, superOptions: superOpts.split(',') });
  }
  return entries;
}
