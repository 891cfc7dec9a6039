// Per-thread process attributes that the container process inherits from
// the init across execve: scheduler (sched_setattr(2)), I/O priority
// (ioprio_set(2)), CPU affinity (sched_setaffinity(2)), execution domain
// (personality(2)) and NUMA memory policy (set_mempolicy(2)). Each is planned
// from the config (pure, unit-tested) and applied by the native init on the
// thread that later calls execve.
import type { ExecCPUAffinity, IoPriority, MemoryPolicy, Personality, Scheduler } from '../config/types.js';

const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04, SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

export interface SchedulerPlan {
  policy: number;
  flags: number;
  nice: number;
  priority: number;
  /** nanoseconds, decimal strings (uint64) */
  runtime: string;
  deadline: string;
  period: string;
}

export function planScheduler(s: Scheduler | undefined): SchedulerPlan | null {
  if (!s) return null;
  const policy = SCHED_POLICY[s.policy];
  if (policy === undefined) {
    throw new Error(`process.scheduler.policy: ${JSON.stringify(s.policy)} is not supported by Linux (one of ${Object.keys(SCHED_POLICY).join(', ')})`);
  }
  let flags = 0;
  (s.flags ?? []).forEach((f, i) => {
    const bit = SCHED_FLAG[f];
    if (bit === undefined) throw new Error(`process.scheduler.flags[${i}]: unknown flag ${JSON.stringify(f)}`);
    flags |= bit;
  });
  return {
    policy, flags, nice: s.nice ?? 0, priority: s.priority ?? 0,
    runtime: String(BigInt(Math.trunc(s.runtime ?? 0))),
    deadline: String(BigInt(Math.trunc(s.deadline ?? 0))),
    period: String(BigInt(Math.trunc(s.period ?? 0))),
  };
}

/** struct sched_attr (SCHED_ATTR_SIZE_VER1, 56 bytes). */
export function schedAttr(p: SchedulerPlan): Buffer {
  const b = Buffer.alloc(56);
  b.writeUInt32LE(56, 0);
  b.writeUInt32LE(p.policy, 4);
  b.writeBigUInt64LE(BigInt(p.flags), 8);
  b.writeInt32LE(p.nice, 16);
  b.writeUInt32LE(p.priority, 20);
  b.writeBigUInt64LE(BigInt(p.runtime), 24);
  b.writeBigUInt64LE(BigInt(p.deadline), 32);
  b.writeBigUInt64LE(BigInt(p.period), 40);
  return b;
}

const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

/** IOPRIO_PRIO_VALUE(class, level), or null. */
export function planIoPriority(io: IoPriority | undefined): number | null {
  if (!io) return null;
  const cls = IOPRIO_CLASS[io.class];
  if (cls === undefined) throw new Error(`process.ioPriority.class: unknown class ${JSON.stringify(io.class)}`);
  const level = io.priority ?? 0;
  if (!Number.isInteger(level) || level < 0 || level > 7) throw new Error('process.ioPriority.priority: must be 0 to 7');
  return (cls << 13) | level;
}

/**
 * The kernel's list format (cpuset.cpus, execCPUAffinity, memory nodes):
 * "0-3,7" → [0, 1, 2, 3, 7], sorted, once each; "" → []. `path` names the
 * field or file in errors.
 */
export function parseCpuList(list: string, path: string): number[] {
  const out = new Set<number>();
  if (list.trim() === '') return [];
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`${path}: ${JSON.stringify(list)} is not a list like "0-3,7"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 8191) throw new Error(`${path}: bad range ${JSON.stringify(part.trim())}`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

export interface AffinityPlan {
  /** applied when the init starts */
  initial: number[] | null;
  /** applied right before execve */
  final: number[] | null;
}

export function planCpuAffinity(a: ExecCPUAffinity | undefined): AffinityPlan | null {
  if (!a || (a.initial === undefined && a.final === undefined)) return null;
  return {
    initial: a.initial === undefined ? null : parseCpuList(a.initial, 'process.execCPUAffinity.initial'),
    final: a.final === undefined ? null : parseCpuList(a.final, 'process.execCPUAffinity.final'),
  };
}

/** A cpu_set_t-style bit mask of whole unsigned longs, at least glibc's 1024 bits. */
export function bitMask(bits: number[], minBytes = 128): Buffer {
  const max = bits.length ? Math.max(...bits) : 0;
  const b = Buffer.alloc(Math.max(minBytes, Math.ceil((max + 1) / 64) * 8));
  for (const n of bits) b[n >> 3] = (b[n >> 3] as number) | (1 << (n & 7));
  return b;
}

const PER_LINUX = 0x0000;
const PER_LINUX32 = 0x0008;

export function planPersonality(p: Personality | undefined): number | null {
  if (!p) return null;
  if (p.domain !== 'LINUX' && p.domain !== 'LINUX32') throw new Error(`linux.personality.domain: unknown domain ${JSON.stringify(p.domain)} (LINUX or LINUX32)`);
  if (p.flags?.length) throw new Error('linux.personality.flags: no flags are supported (the runtime spec defines none)');
  return p.domain === 'LINUX' ? PER_LINUX : PER_LINUX32;
}

const MPOL_MODE: Record<string, number> = {
  MPOL_DEFAULT: 0, MPOL_PREFERRED: 1, MPOL_BIND: 2, MPOL_INTERLEAVE: 3, MPOL_LOCAL: 4, MPOL_PREFERRED_MANY: 5, MPOL_WEIGHTED_INTERLEAVE: 6,
};
const MPOL_FLAG: Record<string, number> = { MPOL_F_NUMA_BALANCING: 1 << 13, MPOL_F_RELATIVE_NODES: 1 << 14, MPOL_F_STATIC_NODES: 1 << 15 };

export interface MemoryPolicyPlan {
  /** mode | flags, as set_mempolicy(2) takes it */
  mode: number;
  nodes: number[];
}

export function planMemoryPolicy(mp: MemoryPolicy | undefined): MemoryPolicyPlan | null {
  if (!mp) return null;
  const mode = MPOL_MODE[mp.mode];
  if (mode === undefined) throw new Error(`linux.memoryPolicy.mode: unknown mode ${JSON.stringify(mp.mode)}`);
  let flags = 0;
  (mp.flags ?? []).forEach((f, i) => {
    const bit = MPOL_FLAG[f];
    if (bit === undefined) throw new Error(`linux.memoryPolicy.flags[${i}]: unknown flag ${JSON.stringify(f)}`);
    flags |= bit;
  });
  const nodes = mp.nodes ? parseCpuList(mp.nodes, 'linux.memoryPolicy.nodes') : [];
  return { mode: mode | flags, nodes };
}
