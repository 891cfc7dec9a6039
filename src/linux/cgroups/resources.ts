// linux.resources → the cgroup file writes that apply it, one planner per
// controller and cgroup version, with runc's unit conversions. Pure: each
// planner gets a reader for the container's cgroup (some writes depend on
// current values or on which files this kernel has) and returns the writes
// in the order the kernel needs them.
import type { BlockIO, CPU, HugepageLimit, Memory, Network, Pids, Rdma, Resources, ThrottleDevice } from '../../config/types.js';

export interface CgroupWrite {
  file: string;
  value: string;
  /** the config field it comes from, for error messages */
  field: string;
  /** on EINVAL, try again after the other writes (a shorter cfs period may only fit once the quota is set) */
  retryLast?: boolean;
}

/** Reads a file of the container's cgroup, trimmed; null when this kernel has no such file. */
export type ReadCgroupFile = (file: string) => string | null;

const R = 'linux.resources';

/** v1 accepts -1 for unlimited; v2 spells it "max". */
function v2Limit(n: number): string {
  return n < 0 ? 'max' : String(n);
}

// ------------------------------------------------------------------ memory

export function memoryV1(m: Memory, read: ReadCgroupFile): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  let swap = m.swap ?? 0;
  const limit = m.limit ?? 0;
  // runc: an unlimited memory with swap left unset means both unlimited.
  if (limit === -1 && swap === 0) swap = -1;
  // Without swap accounting there is no memsw file: unlimited swap is then nothing to do.
  if (swap === -1 && read('memory.memsw.limit_in_bytes') === null) swap = 0;
  const limitW = { file: 'memory.limit_in_bytes', value: String(limit), field: `${R}.memory.limit` };
  const swapW = { file: 'memory.memsw.limit_in_bytes', value: String(swap), field: `${R}.memory.swap` };
  if (limit !== 0 && swap !== 0) {
    // The kernel keeps memory <= memory+swap at every step: when the total
    // grows past the current memory limit, raise it first.
    const current = Number(read('memory.limit_in_bytes') ?? '0');
    if (swap === -1 || current < swap) out.push(swapW, limitW);
    else out.push(limitW, swapW);
  } else if (limit !== 0) {
    out.push(limitW);
  } else if (swap !== 0) {
    out.push(swapW);
  }
  if (m.reservation !== undefined && m.reservation !== 0) out.push({ file: 'memory.soft_limit_in_bytes', value: String(m.reservation), field: `${R}.memory.reservation` });
  if (m.kernel !== undefined && m.kernel !== 0) out.push({ file: 'memory.kmem.limit_in_bytes', value: String(m.kernel), field: `${R}.memory.kernel` });
  if (m.kernelTCP !== undefined && m.kernelTCP !== 0) out.push({ file: 'memory.kmem.tcp.limit_in_bytes', value: String(m.kernelTCP), field: `${R}.memory.kernelTCP` });
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    if (m.swappiness < 0 || m.swappiness > 100) throw new Error(`${R}.memory.swappiness: ${m.swappiness} is out of range (0-100)`);
    out.push({ file: 'memory.swappiness', value: String(m.swappiness), field: `${R}.memory.swappiness` });
  }
  if (m.disableOOMKiller === true) out.push({ file: 'memory.oom_control', value: '1', field: `${R}.memory.disableOOMKiller` });
  if (m.useHierarchy !== undefined) out.push({ file: 'memory.use_hierarchy', value: m.useHierarchy ? '1' : '0', field: `${R}.memory.useHierarchy` });
  return out;
}

/**
 * OCI's swap is memory+swap (the v1 meaning); v2's memory.swap.max is swap
 * alone, so it is the difference (runc's ConvertMemorySwapToCgroupV2Value).
 */
export function swapForV2(swap: number, limit: number): number {
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (limit === 0 || limit === -1) throw new Error(`${R}.memory.swap: a swap limit needs a memory limit`);
  if (swap < limit) throw new Error(`${R}.memory.swap: memory+swap (${swap}) must be at least the memory limit (${limit})`);
  return swap - limit;
}

export function memoryV2(m: Memory, read: ReadCgroupFile): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const limit = m.limit ?? 0;
  const swap = swapForV2(m.swap ?? 0, limit);
  // cgroup v2 has no per-cgroup swappiness: runc ignores the field there, and so do we.
  if (m.kernel !== undefined && m.kernel !== 0) throw new Error(`${R}.memory.kernel: cgroup v2 has no separate kernel memory limit`);
  if (m.kernelTCP !== undefined && m.kernelTCP !== 0) throw new Error(`${R}.memory.kernelTCP: cgroup v2 has no separate kernel TCP memory limit`);
  if (m.disableOOMKiller === true) throw new Error(`${R}.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer`);
  if (limit !== 0 && m.checkBeforeUpdate === true && limit > 0) {
    const usage = Number(read('memory.current') ?? '0');
    if (usage > limit) throw new Error(`${R}.memory.limit: rejecting ${limit}, below the current usage ${usage}`);
  }
  // v2 limits are independent of each other (unlike v1's memory+swap): runc's order.
  if (swap !== 0) out.push({ file: 'memory.swap.max', value: v2Limit(swap), field: `${R}.memory.swap` });
  if (limit !== 0) out.push({ file: 'memory.max', value: v2Limit(limit), field: `${R}.memory.limit` });
  if (m.reservation !== undefined && m.reservation !== 0) out.push({ file: 'memory.low', value: v2Limit(m.reservation), field: `${R}.memory.reservation` });
  return out;
}

export function hasMemory(m: Memory | undefined): boolean {
  if (!m) return false;
  return [m.limit, m.swap, m.reservation, m.kernel, m.kernelTCP].some((v) => v !== undefined && v !== 0)
    || m.swappiness !== undefined || m.disableOOMKiller === true || m.useHierarchy !== undefined;
}

// --------------------------------------------------------------------- cpu

/** cpu.shares (2..262144) → cpu.weight (1..10000), runc's linear mapping. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

export function cpuV1(c: CPU): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (c.shares !== undefined && c.shares !== 0) out.push({ file: 'cpu.shares', value: String(c.shares), field: `${R}.cpu.shares` });
  // The realtime period before the runtime: the runtime must fit the period.
  if (c.realtimePeriod !== undefined && c.realtimePeriod !== 0) out.push({ file: 'cpu.rt_period_us', value: String(c.realtimePeriod), field: `${R}.cpu.realtimePeriod` });
  if (c.realtimeRuntime !== undefined && c.realtimeRuntime !== 0) out.push({ file: 'cpu.rt_runtime_us', value: String(c.realtimeRuntime), field: `${R}.cpu.realtimeRuntime` });
  const quota = c.quota ?? 0;
  if (c.period !== undefined && c.period !== 0) out.push({ file: 'cpu.cfs_period_us', value: String(c.period), field: `${R}.cpu.period`, retryLast: quota !== 0 });
  if (quota !== 0) out.push({ file: 'cpu.cfs_quota_us', value: String(quota), field: `${R}.cpu.quota` });
  if (c.burst !== undefined) out.push({ file: 'cpu.cfs_burst_us', value: String(c.burst), field: `${R}.cpu.burst` });
  if (c.idle !== undefined) out.push({ file: 'cpu.idle', value: String(c.idle), field: `${R}.cpu.idle` });
  return out;
}

export function cpuV2(c: CPU): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if ((c.realtimePeriod ?? 0) !== 0 || (c.realtimeRuntime ?? 0) !== 0) {
    throw new Error(`${R}.cpu.${(c.realtimePeriod ?? 0) !== 0 ? 'realtimePeriod' : 'realtimeRuntime'}: cgroup v2 has no realtime cpu limits`);
  }
  if (c.idle !== undefined && c.idle !== 0) out.push({ file: 'cpu.idle', value: String(c.idle), field: `${R}.cpu.idle` });
  else if (c.shares !== undefined && c.shares !== 0) out.push({ file: 'cpu.weight', value: String(sharesToWeight(c.shares)), field: `${R}.cpu.shares` });
  const quota = c.quota ?? 0;
  const period = c.period ?? 0;
  if (quota !== 0 || period !== 0) {
    // "$quota $period"; no quota (or a negative one) is "max".
    let value = quota > 0 ? String(quota) : 'max';
    if (period !== 0) value += ` ${period}`;
    out.push({ file: 'cpu.max', value, field: `${R}.cpu.${quota !== 0 ? 'quota' : 'period'}` });
  }
  if (c.burst !== undefined) out.push({ file: 'cpu.max.burst', value: String(c.burst), field: `${R}.cpu.burst` });
  return out;
}

/** cpuset: the same files in both versions. */
export function cpuset(c: CPU): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (c.cpus) out.push({ file: 'cpuset.cpus', value: c.cpus, field: `${R}.cpu.cpus` });
  if (c.mems) out.push({ file: 'cpuset.mems', value: c.mems, field: `${R}.cpu.mems` });
  return out;
}

export function hasCpuset(c: CPU | undefined): boolean {
  return Boolean(c?.cpus || c?.mems);
}

export function hasCpu(c: CPU | undefined): boolean {
  if (!c) return false;
  return [c.shares, c.quota, c.period, c.realtimeRuntime, c.realtimePeriod].some((v) => v !== undefined && v !== 0)
    || c.burst !== undefined || c.idle !== undefined;
}

// -------------------------------------------------------------------- pids

export function pids(p: Pids): CgroupWrite[] {
  // 0 leaves pids.max alone; a negative limit is unlimited.
  if (p.limit === undefined || p.limit === 0) return [];
  return [{ file: 'pids.max', value: p.limit > 0 ? String(p.limit) : 'max', field: `${R}.pids.limit` }];
}

// ----------------------------------------------------------------- blockIO

function throttles(b: BlockIO, files: Record<'rbps' | 'wbps' | 'riops' | 'wiops', string>, line: (d: ThrottleDevice, key: string) => string): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const lists: [keyof typeof files, ThrottleDevice[] | undefined, string][] = [
    ['rbps', b.throttleReadBpsDevice, 'throttleReadBpsDevice'],
    ['wbps', b.throttleWriteBpsDevice, 'throttleWriteBpsDevice'],
    ['riops', b.throttleReadIOPSDevice, 'throttleReadIOPSDevice'],
    ['wiops', b.throttleWriteIOPSDevice, 'throttleWriteIOPSDevice'],
  ];
  for (const [key, list, name] of lists) {
    (list ?? []).forEach((d, i) => out.push({ file: files[key], value: line(d, key), field: `${R}.blockIO.${name}[${i}]` }));
  }
  return out;
}

export function blockIOV1(b: BlockIO, read: ReadCgroupFile): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  // CFQ had blkio.weight; with BFQ (the only proportional scheduler left) it is blkio.bfq.weight.
  const cfq = read('blkio.weight') !== null;
  const weightFile = cfq ? 'blkio.weight' : 'blkio.bfq.weight';
  if (b.weight !== undefined && b.weight !== 0) out.push({ file: weightFile, value: String(b.weight), field: `${R}.blockIO.weight` });
  if (b.leafWeight !== undefined && b.leafWeight !== 0) out.push({ file: 'blkio.leaf_weight', value: String(b.leafWeight), field: `${R}.blockIO.leafWeight` });
  (b.weightDevice ?? []).forEach((d, i) => {
    if (d.weight !== undefined && d.weight !== 0) out.push({ file: `${weightFile}_device`, value: `${d.major}:${d.minor} ${d.weight}`, field: `${R}.blockIO.weightDevice[${i}].weight` });
    if (d.leafWeight !== undefined && d.leafWeight !== 0) out.push({ file: 'blkio.leaf_weight_device', value: `${d.major}:${d.minor} ${d.leafWeight}`, field: `${R}.blockIO.weightDevice[${i}].leafWeight` });
  });
  out.push(...throttles(b, {
    rbps: 'blkio.throttle.read_bps_device', wbps: 'blkio.throttle.write_bps_device',
    riops: 'blkio.throttle.read_iops_device', wiops: 'blkio.throttle.write_iops_device',
  }, (d) => `${d.major}:${d.minor} ${d.rate}`));
  return out;
}

/** blkio weight (10..1000) → io.weight (1..10000), runc's linear mapping. */
export function blkioWeightToIOWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

export function blockIOV2(b: BlockIO, read: ReadCgroupFile): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  // BFQ keeps the blkio scale in io.bfq.weight; io.weight (iocost) has its own.
  const bfq = read('io.bfq.weight') !== null;
  const weightOf = (w: number): string => String(bfq ? w : blkioWeightToIOWeight(w));
  const weightFile = bfq ? 'io.bfq.weight' : 'io.weight';
  if (b.leafWeight !== undefined && b.leafWeight !== 0) throw new Error(`${R}.blockIO.leafWeight: cgroup v2 has no leaf weights`);
  if (b.weight !== undefined && b.weight !== 0) out.push({ file: weightFile, value: weightOf(b.weight), field: `${R}.blockIO.weight` });
  (b.weightDevice ?? []).forEach((d, i) => {
    if (d.leafWeight !== undefined && d.leafWeight !== 0) throw new Error(`${R}.blockIO.weightDevice[${i}].leafWeight: cgroup v2 has no leaf weights`);
    if (d.weight !== undefined && d.weight !== 0) out.push({ file: weightFile, value: `${d.major}:${d.minor} ${weightOf(d.weight)}`, field: `${R}.blockIO.weightDevice[${i}].weight` });
  });
  // io.max takes "MAJ:MIN key=value"; 0 (no limit in v1) is "max".
  out.push(...throttles(b, { rbps: 'io.max', wbps: 'io.max', riops: 'io.max', wiops: 'io.max' },
    (d, key) => `${d.major}:${d.minor} ${key}=${d.rate === 0 ? 'max' : String(d.rate)}`));
  return out;
}

export function hasBlockIO(b: BlockIO | undefined): boolean {
  if (!b) return false;
  return (b.weight ?? 0) !== 0 || (b.leafWeight ?? 0) !== 0 || [b.weightDevice, b.throttleReadBpsDevice, b.throttleWriteBpsDevice, b.throttleReadIOPSDevice, b.throttleWriteIOPSDevice].some((l) => (l?.length ?? 0) > 0);
}

// ----------------------------------------------------------------- hugetlb

const PAGE_SIZE = /^\d+[KMGT]B$/;

export function hugetlb(limits: HugepageLimit[], version: 1 | 2, read: ReadCgroupFile): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  limits.forEach((l, i) => {
    const field = `${R}.hugepageLimits[${i}]`;
    if (!PAGE_SIZE.test(l.pageSize)) throw new Error(`${field}.pageSize: "${l.pageSize}" is not a page size like "2MB" or "1GB"`);
    const file = version === 1 ? `hugetlb.${l.pageSize}.limit_in_bytes` : `hugetlb.${l.pageSize}.max`;
    if (read(file) === null) throw new Error(`${field}.pageSize: this host has no ${l.pageSize} huge pages (no ${file})`);
    out.push({ file, value: String(l.limit), field: `${field}.limit` });
    // Reservations are charged separately where the kernel counts them: limit them alike.
    const rsvd = version === 1 ? `hugetlb.${l.pageSize}.rsvd.limit_in_bytes` : `hugetlb.${l.pageSize}.rsvd.max`;
    if (read(rsvd) !== null) out.push({ file: rsvd, value: String(l.limit), field: `${field}.limit` });
  });
  return out;
}

// ----------------------------------------------------------- network, rdma

export function netCls(n: Network): CgroupWrite[] {
  return n.classID === undefined ? [] : [{ file: 'net_cls.classid', value: String(n.classID), field: `${R}.network.classID` }];
}

export function netPrio(n: Network): CgroupWrite[] {
  // One interface a write: the kernel parses a single "ifname prio" per write.
  return (n.priorities ?? []).map((p, i) => ({ file: 'net_prio.ifpriomap', value: `${p.name} ${p.priority}`, field: `${R}.network.priorities[${i}]` }));
}

export function rdma(r: Record<string, Rdma>): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  for (const [device, limits] of Object.entries(r)) {
    const parts = [device];
    if (limits.hcaHandles !== undefined) parts.push(`hca_handle=${limits.hcaHandles}`);
    if (limits.hcaObjects !== undefined) parts.push(`hca_object=${limits.hcaObjects}`);
    if (parts.length > 1) out.push({ file: 'rdma.max', value: parts.join(' '), field: `${R}.rdma.${device}` });
  }
  return out;
}

// ----------------------------------------------------------------- unified

/**
 * linux.resources.unified: file name → content, written as given. A key must
 * name a file of the cgroup directory itself, of an enabled controller.
 */
export function unified(u: Record<string, string>, read: ReadCgroupFile): CgroupWrite[] {
  const enabled = new Set((read('cgroup.controllers') ?? '').split(/\s+/).filter(Boolean));
  const out: CgroupWrite[] = [];
  for (const [key, value] of Object.entries(u)) {
    const field = `${R}.unified["${key}"]`;
    if (key.includes('/') || key.startsWith('.') || !key.includes('.')) throw new Error(`${field}: not a cgroup file name`);
    const controller = key.slice(0, key.indexOf('.'));
    if (controller !== 'cgroup' && !enabled.has(controller)) throw new Error(`${field}: the ${controller} controller is not enabled for this cgroup`);
    out.push({ file: key, value, field });
  }
  return out;
}

/** The resource groups of a config, each handled by one controller. */
export interface ResourceGroup {
  /** config field, for errors */
  field: string;
  /** the v1 controller that holds it, or null when v1 has none */
  v1: string | null;
  /** the v2 controller, '' for files every cgroup2 directory has, null when v2 has none */
  v2: string | null;
  present(r: Resources): boolean;
  /** where v2 takes fewer fields than v1 (swappiness): whether v2 has anything to write */
  presentV2?(r: Resources): boolean;
  planV1?(r: Resources, read: ReadCgroupFile): CgroupWrite[];
  planV2?(r: Resources, read: ReadCgroupFile): CgroupWrite[];
}

/** Whether a group has something for cgroup v2 to do. */
export function presentOnV2(g: ResourceGroup, r: Resources): boolean {
  return g.presentV2 ? g.presentV2(r) : g.present(r);
}

export const RESOURCE_GROUPS: ResourceGroup[] = [
  // cpuset first: the cpus and mems a task may use before anything is charged.
  { field: `${R}.cpu.cpus`, v1: 'cpuset', v2: 'cpuset', present: (r) => hasCpuset(r.cpu), planV1: (r) => cpuset(r.cpu ?? {}), planV2: (r) => cpuset(r.cpu ?? {}) },
  { field: `${R}.memory`, v1: 'memory', v2: 'memory', present: (r) => hasMemory(r.memory), presentV2: (r) => hasMemory({ ...r.memory, swappiness: undefined }), planV1: (r, read) => memoryV1(r.memory ?? {}, read), planV2: (r, read) => memoryV2(r.memory ?? {}, read) },
  { field: `${R}.cpu`, v1: 'cpu', v2: 'cpu', present: (r) => hasCpu(r.cpu), planV1: (r) => cpuV1(r.cpu ?? {}), planV2: (r) => cpuV2(r.cpu ?? {}) },
  { field: `${R}.pids`, v1: 'pids', v2: 'pids', present: (r) => pids(r.pids ?? {}).length > 0, planV1: (r) => pids(r.pids ?? {}), planV2: (r) => pids(r.pids ?? {}) },
  { field: `${R}.blockIO`, v1: 'blkio', v2: 'io', present: (r) => hasBlockIO(r.blockIO), planV1: (r, read) => blockIOV1(r.blockIO ?? {}, read), planV2: (r, read) => blockIOV2(r.blockIO ?? {}, read) },
  { field: `${R}.hugepageLimits`, v1: 'hugetlb', v2: 'hugetlb', present: (r) => (r.hugepageLimits?.length ?? 0) > 0, planV1: (r, read) => hugetlb(r.hugepageLimits ?? [], 1, read), planV2: (r, read) => hugetlb(r.hugepageLimits ?? [], 2, read) },
  { field: `${R}.network.classID`, v1: 'net_cls', v2: null, present: (r) => r.network?.classID !== undefined, planV1: (r) => netCls(r.network ?? {}) },
  { field: `${R}.network.priorities`, v1: 'net_prio', v2: null, present: (r) => (r.network?.priorities?.length ?? 0) > 0, planV1: (r) => netPrio(r.network ?? {}) },
  { field: `${R}.rdma`, v1: 'rdma', v2: 'rdma', present: (r) => rdma(r.rdma ?? {}).length > 0, planV1: (r) => rdma(r.rdma ?? {}), planV2: (r) => rdma(r.rdma ?? {}) },
  { field: `${R}.unified`, v1: null, v2: '', present: (r) => Object.keys(r.unified ?? {}).length > 0, planV2: (r, read) => unified(r.unified ?? {}, read) },
];
