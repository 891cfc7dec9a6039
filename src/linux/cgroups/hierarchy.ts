// Which cgroup hierarchies this host has, from /proc/self/mountinfo and the
// filesystem magic of /sys/fs/cgroup, and where this process sits in each
// (from /proc/self/cgroup). Pure parsers plus one reader, so unit tests can
// feed any host's files.
import { statfsSync } from 'node:fs';
import { type CgroupLine, type MountInfo, ownCgroupLinesOnce, ownMountinfoOnce, parseCgroupLines, parseMountinfo } from '../procfs.js';

/**
 * v1: one hierarchy per controller (or co-mounted group); v2: the unified
 * hierarchy alone; hybrid: v1 controllers plus a cgroup2 mount holding the
 * controllers v1 does not (systemd's "hybrid" layout, e.g. /sys/fs/cgroup/unified).
 */
export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export interface V1Hierarchy {
  /** controller names as /proc/self/cgroup lists them: "cpu", "cpuacct", "name=systemd" */
  controllers: string[];
  mountPoint: string;
  /** the cgroup mounted there ("/" unless the mount is itself a sub-tree, as inside a container) */
  root: string;
}

export interface UnifiedHierarchy {
  mountPoint: string;
  root: string;
}

export interface Hierarchies {
  mode: CgroupMode;
  v1: V1Hierarchy[];
  unified: UnifiedHierarchy | null;
}

/** statfs(2) f_type of a cgroup2 filesystem (linux/magic.h). */
export const CGROUP2_SUPER_MAGIC = 0x63677270;

/** The v1 controllers the kernel has; anything else in a cgroup mount's options is an option. */
export const V1_CONTROLLERS = new Set([
  'cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc',
]);

/** The cgroup and cgroup2 mounts of a mountinfo text (proc(5)), or of its entries; the first mount of each hierarchy wins. */
export function parseCgroupMounts(mountinfo: string | readonly MountInfo[]): { v1: V1Hierarchy[]; unified: UnifiedHierarchy | null } {
  const v1: V1Hierarchy[] = [];
  let unified: UnifiedHierarchy | null = null;
  const seen = new Set<string>();
  for (const { fstype, superOptions, root, mountPoint } of typeof mountinfo === 'string' ? parseMountinfo(mountinfo) : mountinfo) {
    if (fstype === 'cgroup2') {
      unified ??= { mountPoint, root };
    } else if (fstype === 'cgroup') {
      const controllers = superOptions.filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='));
      const key = [...controllers].sort().join(',');
      if (!controllers.length || seen.has(key)) continue;
      seen.add(key);
      v1.push({ controllers, mountPoint, root });
    }
  }
  return { v1, unified };
}

/**
 * Decide the mode: a cgroup2 filesystem on /sys/fs/cgroup is a unified host
 * (any v1 mounts left over are ignored, as runc does); v1 mounts with a
 * cgroup2 mount elsewhere are hybrid.
 */
export function classifyHierarchies(mounts: { v1: V1Hierarchy[]; unified: UnifiedHierarchy | null }, cgroupFsMagic: number | null, force?: CgroupMode): Hierarchies {
  const { v1, unified } = mounts;
  if (force === 'v2') {
    if (!unified) throw new Error('cgroups: no cgroup2 filesystem is mounted');
    return { mode: 'v2', v1: [], unified };
  }
  if (force === 'v1') {
    if (!v1.length) throw new Error('cgroups: no cgroup v1 hierarchy is mounted');
    return { mode: 'v1', v1, unified: null };
  }
  if (cgroupFsMagic === CGROUP2_SUPER_MAGIC || (unified && !v1.length)) {
    if (!unified) throw new Error('cgroups: /sys/fs/cgroup is cgroup2 but not in the mount table');
    return { mode: 'v2', v1: [], unified };
  }
  if (!v1.length) throw new Error('cgroups: no cgroup filesystem is mounted');
  return { mode: unified ? 'hybrid' : 'v1', v1, unified };
}

/** Where a process sits: v1 controller name → path, and its cgroup2 path. */
export interface OwnCgroups {
  v1: Map<string, string>;
  unified: string | null;
}

/** /proc/<pid>/cgroup: v1 paths by controller, and the cgroup2 path ("0::path"). */
export function parseProcCgroup(text: string): OwnCgroups {
  return cgroupsOf(parseCgroupLines(text));
}

function cgroupsOf(lines: readonly CgroupLine[]): OwnCgroups {
  const v1 = new Map<string, string>();
  let unified: string | null = null;
  for (const { hierarchy, controllers, path } of lines) {
    if (hierarchy === 0 && controllers === '') unified = path;
    else for (const c of controllers.split(',')) if (c) v1.set(c, path);
  }
  return { v1, unified };
}

/** The host's hierarchies, read now. `force` narrows a hybrid host to one side (tests use it). */
/** The host's cgroup mounts and /sys/fs/cgroup's filesystem, read once a process: create asks early (warmup.ts) and again to place the init. */
let hostCgroupMounts: { mounts: ReturnType<typeof parseCgroupMounts>; magic: number | null } | null = null;

export function detectHierarchies(force?: CgroupMode): Hierarchies {
  if (!hostCgroupMounts) {
    const mounts = parseCgroupMounts(ownMountinfoOnce());
    let magic: number | null = null;
    try { magic = statfsSync('/sys/fs/cgroup').type; } catch { /* not mounted: decide from the mounts */ }
    hostCgroupMounts = { mounts, magic };
  }
  return classifyHierarchies(hostCgroupMounts.mounts, hostCgroupMounts.magic, force);
}

export function readOwnCgroups(): OwnCgroups {
  return cgroupsOf(ownCgroupLinesOnce());
}
