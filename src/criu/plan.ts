// The CRIU options that describe a container, from its config: which mounts
// come from outside the container (so CRIU records a name instead of
// dumping them, and binds the host's source back on restore), which
// namespaces were joined by path, and which namespaces CRIU leaves empty.
// Pure: the commands add the file descriptors and the paths of this run.
import { posix } from 'node:path';
import { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, CLONE_NEWUSER } from '../sys/constants.js';
import { planDevices } from '../linux/devices.js';
import { isBindMount, parseMountOptions } from '../linux/mountopts.js';
import type { CgroupLine, MountInfo } from '../linux/procfs.js';
import { cgroupV1Binds } from '../linux/rootfs.js';
import type { Spec } from '../config/types.js';
import type { CgMode, CriuOpts } from './schema.js';

/** --empty-ns takes the runtime-spec names of namespace types. */
export const EMPTY_NS_FLAG: Record<string, number> = {
  network: CLONE_NEWNET, pid: CLONE_NEWPID, mount: CLONE_NEWNS, ipc: CLONE_NEWIPC, uts: CLONE_NEWUTS, user: CLONE_NEWUSER, cgroup: CLONE_NEWCGROUP,
};

/**
 * runc's mask: the network namespace is never dumped (the runtime does not
 * configure network devices, so it could not restore them), plus what
 * --empty-ns names.
 */
export function emptyNsMask(names: readonly string[]): number {
  let mask = CLONE_NEWNET;
  for (const name of names) {
    const flag = EMPTY_NS_FLAG[name];
    if (flag === undefined) throw new Error(`--empty-ns: namespace "${name}" is not supported (one of: ${Object.keys(EMPTY_NS_FLAG).join(', ')})`);
    mask |= flag;
  }
  return mask >>> 0;
}

const CG_MODES: Record<string, CgMode> = { soft: 'SOFT', full: 'FULL', strict: 'STRICT', ignore: 'IGNORE' };

/** --manage-cgroups-mode; undefined leaves CRIU's default (soft). */
export function cgroupsMode(value: string | undefined): CgMode | undefined {
  if (value === undefined || value === '') return undefined;
  const mode = CG_MODES[value];
  if (!mode) throw new Error(`--manage-cgroups-mode: invalid value "${value}" (one of: soft, full, strict, ignore)`);
  return mode;
}

/** --page-server ADDRESS:PORT. */
export function pageServer(value: string | undefined): { address: string; port: number } | undefined {
  if (value === undefined || value === '') return undefined;
  const at = value.lastIndexOf(':');
  const address = value.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(value.slice(at + 1));
  if (at <= 0 || address === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`--page-server: "${value}" is not ADDRESS:PORT`);
  }
  return { address, port };
}

/** A mount destination as CRIU sees it: absolute inside the container, clean. */
function inContainer(dest: string): string {
  return posix.normalize(`/${dest}`).replace(/(.)\/$/, '$1');
}

export interface BindMount { destination: string; source: string }

/** The config's bind mounts, sources resolved as create resolves them (relative to the bundle). */
function bindMounts(spec: Spec, bundle: string): BindMount[] {
  const out: BindMount[] = [];
  for (const m of spec.mounts ?? []) {
    if (!isBindMount(m.type, parseMountOptions(m.options))) continue;
    const source = m.source ?? '';
    out.push({ destination: inContainer(m.destination), source: source.startsWith('/') ? source : posix.join(bundle, source) });
  }
  return out;
}

/** Masked paths that are files: create binds /dev/null over them (directories get a tmpfs, which CRIU dumps). */
function maskedFiles(spec: Spec, isDirectory: (pathInRootfs: string) => boolean | null): string[] {
  return (spec.linux?.maskedPaths ?? []).map(inContainer).filter((p) => isDirectory(p) === false);
}

/**
 * The binds a config's cgroup mounts became on a cgroup v1 host (create lays
 * one out per hierarchy, from the host's cgroup mounts: see
 * linux/rootfs.ts). Their sources are host directories CRIU cannot recreate,
 * so they are external mounts, as runc makes them. None on cgroup v2 or with
 * a new cgroup namespace: those are real cgroup mounts, which CRIU dumps.
 * cgroupLines: /proc/<pid>/cgroup of a process in the container's cgroups.
 */
export function cgroupV1Mounts(spec: Spec, cgroupLines: readonly CgroupLine[], mountinfo: readonly MountInfo[]): BindMount[] {
  if ((spec.linux?.namespaces ?? []).some((ns) => ns.type === 'cgroup' && !ns.path)) return [];
  const out: BindMount[] = [];
  for (const m of spec.mounts ?? []) {
    if (m.type !== 'cgroup') continue;
    for (const b of cgroupV1Binds(inContainer(m.destination), cgroupLines, mountinfo)) out.push({ destination: inContainer(b.destination), source: b.source });
  }
  return out;
}

function devicePaths(spec: Spec): string[] {
  return planDevices(spec.linux?.devices).map((d) => inContainer(d.path));
}

export interface DumpContext {
  /** whether a path in the container's root is a directory (null: it does not exist) */
  isDirectory: (pathInContainer: string) => boolean | null;
  /** the inode of a namespace file, for the ones joined by path */
  nsInode: (path: string) => number;
  /** /proc/<init>/cgroup of the container, and the host's mount table: where its cgroup v1 binds come from */
  cgroupLines: readonly CgroupLine[];
  mountinfo: readonly MountInfo[];
}

/**
 * External mounts at dump: each bind mount (cgroup v1 binds included), masked file and device is
 * recorded under a name (its path in the container; /dev/null for masked
 * files) that restore maps back to a host path. Namespaces joined by path
 * (network, pid) are external too: CRIU expects them to exist at restore.
 */
export function dumpOptions(spec: Spec, bundle: string, ctx: DumpContext): Pick<CriuOpts, 'ext_mnt' | 'external'> {
  const ext: { key: string; val: string }[] = [];
  for (const m of bindMounts(spec, bundle)) ext.push({ key: m.destination, val: m.destination });
  for (const m of cgroupV1Mounts(spec, ctx.cgroupLines, ctx.mountinfo)) ext.push({ key: m.destination, val: m.destination });
  for (const p of maskedFiles(spec, ctx.isDirectory)) ext.push({ key: p, val: '/dev/null' });
  for (const p of devicePaths(spec)) ext.push({ key: p, val: p });
  const external: string[] = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!ns.path) continue;
    if (ns.type === 'network') external.push(`net[${ctx.nsInode(ns.path)}]:${EXTERNAL_NS_KEY.network}`);
    if (ns.type === 'pid') external.push(`pid[${ctx.nsInode(ns.path)}]:${EXTERNAL_NS_KEY.pid}`);
  }
  return { ext_mnt: dedupe(ext), external };
}

/** The keys under which dump records an external namespace and restore hands it back. */
export const EXTERNAL_NS_KEY = { network: 'extRootNetNS', pid: 'extRootPidNS' } as const;

/** CRIU's names for the namespaces it can join at restore (--join-ns). */
const JOIN_NS_NAME: Record<string, string> = { ipc: 'ipc', uts: 'uts', time: 'time' };

export interface RestorePlan {
  ext_mnt: { key: string; val: string }[];
  /** namespaces CRIU joins by file */
  join_ns: { ns: string; ns_file: string }[];
  /** namespaces handed over as open fds (network, pid joined by path) */
  inheritNs: { key: string; path: string }[];
  /** mount points to create in the rootfs before CRIU mounts on them */
  mountpoints: { path: string; dir: boolean }[];
}

/**
 * The restore side of dumpOptions: every recorded name back to its host
 * source. The cgroup v1 binds are added by restore once CRIU is in the new
 * container's cgroups (cgroupV1Mounts with its /proc/<pid>/cgroup).
 */
export function restorePlan(spec: Spec, bundle: string, isDirectory: (hostPath: string) => boolean): RestorePlan {
  const ext: { key: string; val: string }[] = [];
  const mountpoints: { path: string; dir: boolean }[] = [];
  for (const m of bindMounts(spec, bundle)) {
    ext.push({ key: m.destination, val: m.source });
    mountpoints.push({ path: m.destination, dir: isDirectory(m.source) });
  }
  if ((spec.linux?.maskedPaths ?? []).length) ext.push({ key: '/dev/null', val: '/dev/null' });
  for (const p of devicePaths(spec)) ext.push({ key: p, val: p });
  const join: { ns: string; ns_file: string }[] = [];
  const inheritNs: { key: string; path: string }[] = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!ns.path) continue;
    if (ns.type === 'network' || ns.type === 'pid') { inheritNs.push({ key: EXTERNAL_NS_KEY[ns.type], path: ns.path }); continue; }
    const name = JOIN_NS_NAME[ns.type];
    if (!name) throw new Error(`linux.namespaces: restore cannot join a ${ns.type} namespace by path (${ns.path}); CRIU joins only ipc, uts, time, network and pid namespaces`);
    join.push({ ns: name, ns_file: ns.path });
  }
  return { ext_mnt: dedupe(ext), join_ns: join, inheritNs, mountpoints };
}

function dedupe(list: { key: string; val: string }[]): { key: string; val: string }[] {
  const seen = new Map<string, { key: string; val: string }>();
  for (const e of list) seen.set(e.key, e); // a later entry (a config device over a default) wins
  return [...seen.values()];
}
