// A container's resource usage in the JSON shape of `runc events --stats`
// (runc's types.Stats), read from whichever hierarchy holds each controller.
// Go's `omitempty` drops zero numbers and empty lists: so do we, field by field.
import { readdirSync } from 'node:fs';
import { readCgroupFile, readKeyValues } from './fsutil.js';
import { parseCpuList } from '../sched.js';
import type { CgroupManager } from './manager.js';

type Obj = Record<string, unknown>;

/** Keys listed in `omit` are dropped when zero, empty or undefined (Go's omitempty). */
function shape(o: Obj, omit: string[]): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (omit.includes(k) && (v === undefined || v === 0 || v === '' || (Array.isArray(v) && v.length === 0))) continue;
    out[k] = v;
  }
  return out;
}

/**
 * A uint64 counter: a number while a double holds it exactly, a bigint past
 * that (v1's "unlimited" is 2^63-4096, v2's "max" is reported as 2^64-1), so
 * the JSON carries every digit (statsJson) and Go clients decoding into
 * uint64 get the value the kernel gave.
 */
export type Uint64 = number | bigint;

const num = (s: string | null): Uint64 => {
  if (!s || !/^\d+$/.test(s)) return 0;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : BigInt(s);
};

/** A counter scaled to nanoseconds (µs ×1000, ticks ×10⁷), exact past 2^53 (104 days of CPU time). */
const scaled = (v: number, factor: number): Uint64 => (Number.isSafeInteger(v * factor) ? v * factor : BigInt(v) * BigInt(factor));

/** Exact sum of two counters. */
const add = (a: Uint64, b: Uint64): Uint64 => (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a + b) ? a + b : BigInt(a) + BigInt(b));

/** "key value" lines as exact counters (memory.stat). */
function readCounters(dir: string, file: string): Record<string, Uint64> {
  const out: Record<string, Uint64> = {};
  for (const line of (readCgroupFile(dir, file) ?? '').split('\n')) {
    const [key, value] = line.split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out[key] = num(value);
  }
  return out;
}

const BIG = '\u0000u64:';

/** JSON text of stats, with bigints written as the exact integers they are. */
export function statsJson(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${BIG}${v}` : v));
  // JSON.stringify writes the NUL as \u0000 inside the quoted marker.
  return text.replace(/"\\u0000u64:(\d+)"/g, '$1');
}

/** v2 "max" (no limit) reads as the largest uint64, as runc reports it. */
const MAX_UINT64 = 2n ** 64n - 1n;
const limitOf = (s: string | null): Uint64 => (s === 'max' ? MAX_UINT64 : num(s));

function memoryEntry(limit: Uint64, usage: Uint64, max: Uint64, failcnt: Uint64): Obj {
  return shape({ limit, usage, max, failcnt }, ['usage', 'max']);
}

function cpuStats(m: CgroupManager): Obj {
  const usage: Obj = { kernel: 0, user: 0 };
  const throttling: Obj = {};
  const acct = m.locate('cpuacct');
  const cpu = m.locate('cpu');
  if (acct?.version === 1) {
    usage.total = num(readCgroupFile(acct.dir, 'cpuacct.usage'));
    usage.percpu = (readCgroupFile(acct.dir, 'cpuacct.usage_percpu') ?? '').split(/\s+/).filter(Boolean).map(Number);
    const all = (readCgroupFile(acct.dir, 'cpuacct.usage_all') ?? '').split('\n').slice(1).map((l) => l.split(/\s+/).map(Number));
    usage.percpu_kernel = all.map((f) => f[2] ?? 0);
    usage.percpu_user = all.map((f) => f[1] ?? 0);
    // cpuacct.stat counts USER_HZ (100 a second) ticks.
    const ticks = readKeyValues(acct.dir, 'cpuacct.stat');
    usage.kernel = scaled(ticks.get('system') ?? 0, 10_000_000);
    usage.user = scaled(ticks.get('user') ?? 0, 10_000_000);
  }
  const statDir = cpu?.dir ?? m.paths.unified?.dir;
  if (statDir) {
    const st = readKeyValues(statDir, 'cpu.stat');
    if (st.has('usage_usec')) {
      usage.total = scaled(st.get('usage_usec') ?? 0, 1000);
      usage.kernel = scaled(st.get('system_usec') ?? 0, 1000);
      usage.user = scaled(st.get('user_usec') ?? 0, 1000);
    }
    throttling.periods = st.get('nr_periods') ?? 0;
    throttling.throttledPeriods = st.get('nr_throttled') ?? 0;
    throttling.throttledTime = st.get('throttled_time') ?? scaled(st.get('throttled_usec') ?? 0, 1000);
  }
  return {
    usage: shape({ total: usage.total, percpu: usage.percpu, percpu_kernel: usage.percpu_kernel, percpu_user: usage.percpu_user, kernel: usage.kernel, user: usage.user }, ['total', 'percpu', 'percpu_kernel', 'percpu_user']),
    throttling: shape(throttling, ['periods', 'throttledPeriods', 'throttledTime']),
  };
}

function cpusetStats(m: CgroupManager): Obj {
  const at = m.locate('cpuset');
  if (!at) return { cpu_exclusive: 0, mem_hardwall: 0, mem_exclusive: 0, memory_migrate: 0, memory_spread_page: 0, memory_spread_slab: 0, memory_pressure: 0, sched_load_balance: 0, sched_relax_domain_level: 0 };
  const f = (name: string): number => Number(readCgroupFile(at.dir, `cpuset.${name}`) ?? 0) || 0;
  const v1 = at.version === 1;
  return shape({
    cpus: parseCpuList(readCgroupFile(at.dir, v1 ? 'cpuset.cpus' : 'cpuset.cpus.effective') ?? '', 'cpuset.cpus'),
    cpu_exclusive: v1 ? f('cpu_exclusive') : 0,
    mems: parseCpuList(readCgroupFile(at.dir, v1 ? 'cpuset.mems' : 'cpuset.mems.effective') ?? '', 'cpuset.mems'),
    mem_hardwall: v1 ? f('mem_hardwall') : 0,
    mem_exclusive: v1 ? f('mem_exclusive') : 0,
    memory_migrate: v1 ? f('memory_migrate') : 0,
    memory_spread_page: v1 ? f('memory_spread_page') : 0,
    memory_spread_slab: v1 ? f('memory_spread_slab') : 0,
    memory_pressure: v1 ? f('memory_pressure') : 0,
    sched_load_balance: v1 ? f('sched_load_balance') : 0,
    sched_relax_domain_level: v1 ? f('sched_relax_domain_level') : 0,
  }, ['cpus', 'mems']);
}

function memoryStats(m: CgroupManager): Obj {
  const at = m.locate('memory');
  const empty = { usage: { limit: 0, failcnt: 0 }, swap: { limit: 0, failcnt: 0 }, kernel: { limit: 0, failcnt: 0 }, kernelTCP: { limit: 0, failcnt: 0 } };
  if (!at) return empty;
  const r = (file: string): string | null => readCgroupFile(at.dir, file);
  const raw = readCounters(at.dir, 'memory.stat');
  if (at.version === 1) {
    const entry = (prefix: string): Obj => memoryEntry(num(r(`${prefix}.limit_in_bytes`)), num(r(`${prefix}.usage_in_bytes`)), num(r(`${prefix}.max_usage_in_bytes`)), num(r(`${prefix}.failcnt`)));
    return shape({
      cache: raw.cache ?? 0,
      usage: entry('memory'),
      swap: entry('memory.memsw'),
      kernel: entry('memory.kmem'),
      kernelTCP: entry('memory.kmem.tcp'),
      raw,
    }, ['cache']);
  }
  const events = readKeyValues(at.dir, 'memory.events');
  const usage = num(r('memory.current'));
  const swapUsage = num(r('memory.swap.current'));
  return shape({
    cache: raw.file ?? 0,
    usage: memoryEntry(limitOf(r('memory.max')), usage, num(r('memory.peak')), events.get('max') ?? 0),
    // As runc: v2's swap entry counts memory+swap, the v1 meaning.
    swap: memoryEntry(r('memory.swap.max') === null ? 0 : limitOf(r('memory.swap.max')), add(usage, swapUsage), 0, events.get('max') ?? 0),
    kernel: { limit: 0, failcnt: 0 },
    kernelTCP: { limit: 0, failcnt: 0 },
    raw,
  }, ['cache']);
}

function pidsStats(m: CgroupManager): Obj {
  const at = m.locate('pids');
  if (!at) return {};
  return shape({ current: num(readCgroupFile(at.dir, 'pids.current')), limit: num(readCgroupFile(at.dir, 'pids.max')) }, ['current', 'limit']);
}

function blkioEntries(text: string | null): Obj[] {
  const out: Obj[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(/\s+/);
    if (f.length !== 3 || !f[0]?.includes(':')) continue;
    const [major, minor] = (f[0] as string).split(':').map(Number);
    out.push(shape({ major, minor, op: f[1], value: Number(f[2]) }, ['major', 'minor', 'op', 'value']));
  }
  return out;
}

function blkioStats(m: CgroupManager): Obj {
  const at = m.locate('blkio') ?? m.locate('io');
  if (!at) return {};
  if (at.version === 1) {
    // BFQ's counters where that scheduler is in use somewhere, else the throttling layer's.
    const bfq = readCgroupFile(at.dir, 'blkio.bfq.io_service_bytes_recursive');
    const prefix = bfq !== null && blkioEntries(bfq).length ? 'blkio.bfq' : 'blkio.throttle';
    return shape({
      ioServiceBytesRecursive: blkioEntries(readCgroupFile(at.dir, `${prefix}.io_service_bytes_recursive`)),
      ioServicedRecursive: blkioEntries(readCgroupFile(at.dir, `${prefix}.io_serviced_recursive`)),
    }, ['ioServiceBytesRecursive', 'ioServicedRecursive']);
  }
  const bytes: Obj[] = [];
  const ios: Obj[] = [];
  for (const line of (readCgroupFile(at.dir, 'io.stat') ?? '').split('\n')) {
    const [dev, ...kv] = line.split(/\s+/);
    if (!dev?.includes(':')) continue;
    const [major, minor] = dev.split(':').map(Number);
    const v = Object.fromEntries(kv.map((p) => p.split('=')).map(([k, n]) => [k, Number(n)]));
    bytes.push(shape({ major, minor, op: 'Read', value: v.rbytes ?? 0 }, ['major', 'minor', 'value']), shape({ major, minor, op: 'Write', value: v.wbytes ?? 0 }, ['major', 'minor', 'value']));
    ios.push(shape({ major, minor, op: 'Read', value: v.rios ?? 0 }, ['major', 'minor', 'value']), shape({ major, minor, op: 'Write', value: v.wios ?? 0 }, ['major', 'minor', 'value']));
  }
  return shape({ ioServiceBytesRecursive: bytes, ioServicedRecursive: ios }, ['ioServiceBytesRecursive', 'ioServicedRecursive']);
}

function hugetlbStats(m: CgroupManager): Obj {
  const at = m.locate('hugetlb');
  if (!at) return {};
  const out: Obj = {};
  let files: string[];
  try { files = readdirSync(at.dir); } catch { return {}; }
  for (const f of files) {
    const match = /^hugetlb\.(\w+)\.(usage_in_bytes|current)$/.exec(f);
    if (!match) continue;
    const size = match[1] as string;
    const r = (name: string): string | null => readCgroupFile(at.dir, `hugetlb.${size}.${name}`);
    out[size] = at.version === 1
      ? shape({ usage: num(r('usage_in_bytes')), max: num(r('max_usage_in_bytes')), failcnt: num(r('failcnt')) }, ['usage', 'max'])
      : shape({ usage: num(r('current')), failcnt: readKeyValues(at.dir, `hugetlb.${size}.events`).get('max') ?? 0 }, ['usage', 'max']);
  }
  return out;
}

/** types.Stats of runc, as `runc events` prints it in its "data" field. */
export function collectStats(m: CgroupManager): Obj {
  return {
    cpu: cpuStats(m),
    cpuset: cpusetStats(m),
    memory: memoryStats(m),
    pids: pidsStats(m),
    blkio: blkioStats(m),
    hugetlb: hugetlbStats(m),
    intel_rdt: {},
    network_interfaces: null,
  };
}
