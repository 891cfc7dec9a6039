// The container's root filesystem: the plan (pure), and the operations the
// native init carries out for it, in its new mount namespace, before and
// after pivot_root (native/plan.c resolves each path inside the root).
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as C from '../sys/constants.js';
import { deviceTypeBits, devSymlinks, planDevices, type DeviceNode, type DeviceSpec } from './devices.js';
import { type InitOp, MOUNT_IN_ROOT, MOUNT_KEEP_LOCKED, MOUNT_MKDIR, MOUNT_MKFILE, MOUNT_SELF, MOUNT_SKIP_MISSING, MOUNT_SYSFS_BIND } from './initcode.js';
import { isBindMount, type MountOptions, parseMountOptions, PROPAGATION } from './mountopts.js';
import { formatIdMap, type IdMapping } from './idmap.js';
import { isDirectory } from './pathsafe.js';
import type { CgroupLine, MountInfo } from './procfs.js';


export interface MountStep {
  destination: string;
  source: string;
  type: string;
  bind: boolean;
  recursive: boolean;
  /** mount(2) flags other than MS_BIND/MS_REC */
  flags: number;
  data: string;
  propagation: number[];
  recAttrSet: number;
  recAttrClr: number;
  /** an idmapped mount: the runtime opens the tree (native/idmap.c), the init attaches it */
  idmap: IdmapStep | null;
}

/** uid_map/gid_map text of the mount's user namespace; recursive: "ridmap" (submounts mapped too) */
export interface IdmapStep { uidMap: string; gidMap: string; recursive: boolean }

export interface RootfsPlan {
  rootfs: string;
  readonly: boolean;
  /** applied to "/" recursively first, so nothing we mount reaches the host */
  rootPropagation: number;
  /** rootfsPropagation was set in the config: apply it to "/" again after pivot_root */
  rootPropagationGiven: boolean;
  noPivot: boolean;
  mounts: MountStep[];
  /** null when /dev is bind mounted from the host: then the host's nodes are used */
  devices: DeviceNode[] | null;
  /** inside a user namespace mknod is refused: bind the host's nodes instead */
  bindDevices: boolean;
  /**
   * inside a user namespace a new sysfs is refused unless that namespace owns
   * the network namespace: the init then binds the host's /sys (runc, crun)
   */
  sysfsMayBind: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** new cgroup namespace: cgroup mounts show the container's own tree */
  cgroupns: boolean;
  /**
   * false: no mount namespace of its own, the setup happens in the runtime's
   * (the host's): no propagation change, the rootfs bind made private, and
   * chroot, as pivot_root or a move onto "/" would change the host's root.
   */
  ownMountNamespace: boolean;
}

export interface MountSpec {
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
  uidMappings?: readonly IdMapping[];
  gidMappings?: readonly IdMapping[];
}

export interface RootfsInput {
  rootfs: string;
  bundle: string;
  readonly: boolean;
  rootfsPropagation: string | undefined;
  mounts: readonly MountSpec[];
  devices: readonly DeviceSpec[] | undefined;
  maskedPaths: readonly string[] | undefined;
  readonlyPaths: readonly string[] | undefined;
  noPivot: boolean;
  inUserns: boolean;
  cgroupns: boolean;
  ownMountNamespace: boolean;
  /** the container's own user namespace maps, for "idmap" without maps of its own */
  userns?: { uidMappings: readonly IdMapping[]; gidMappings: readonly IdMapping[] } | null;
}

/**
 * runtime-spec: uidMappings/gidMappings, or the "idmap"/"ridmap" option, make
 * an idmapped mount. Without maps of its own it takes the container's user
 * namespace maps; bind mounts only (mount_setattr maps a tree, not a new
 * filesystem).
 */
function planIdmap(m: MountSpec, opts: MountOptions, bind: boolean, index: number, userns: RootfsInput['userns'] = null): IdmapStep | null {
  const recursive = opts.extensions.includes('ridmap');
  const asked = recursive || opts.extensions.includes('idmap');
  const own = (m.uidMappings?.length ?? 0) > 0 || (m.gidMappings?.length ?? 0) > 0;
  if (!asked && !own) return null;
  if (!bind) throw new Error(`mounts[${index}]: an idmapped mount must be a bind mount (options "bind" or "rbind")`);
  const maps = own ? { uid: m.uidMappings ?? [], gid: m.gidMappings ?? [] } : userns ? { uid: userns.uidMappings, gid: userns.gidMappings } : null;
  if (!maps) throw new Error(`mounts[${index}].options: "${recursive ? 'ridmap' : 'idmap'}" needs uidMappings and gidMappings, or a user namespace whose maps it can take`);
  return { uidMap: formatIdMap(maps.uid), gidMap: formatIdMap(maps.gid), recursive };
}

export function planMount(m: MountSpec, bundle: string, index = 0, userns: RootfsInput['userns'] = null): MountStep {
  const opts = parseMountOptions(m.options);
  const bind = isBindMount(m.type, opts);
  let source = m.source ?? '';
  // runc resolves a relative bind source against the bundle.
  if (bind && source !== '' && !isAbsolute(source)) source = join(bundle, source);
  return {
    destination: m.destination,
    source,
    type: bind ? '' : (m.type ?? ''),
    bind,
    recursive: (opts.flags & C.MS_REC) !== 0,
    flags: opts.flags & ~(C.MS_BIND | C.MS_REC),
    data: opts.data,
    propagation: opts.propagation,
    recAttrSet: opts.recAttrSet,
    recAttrClr: opts.recAttrClr,
    idmap: planIdmap(m, opts, bind, index, userns),
  };
}

export function planRootfs(input: RootfsInput): RootfsPlan {
  const mounts = input.mounts.map((m, i) => planMount(m, input.bundle, i, input.userns));
  const devFromHost = mounts.some((m) => m.bind && m.destination.replace(/\/+$/, '') === '/dev');
  const prop = input.rootfsPropagation ? PROPAGATION[input.rootfsPropagation] : undefined;
  return {
    rootfs: input.rootfs,
    readonly: input.readonly,
    rootPropagation: prop ?? (C.MS_SLAVE | C.MS_REC),
    rootPropagationGiven: prop !== undefined,
    noPivot: input.noPivot,
    mounts,
    devices: devFromHost ? null : planDevices(input.devices),
    bindDevices: input.inUserns,
    sysfsMayBind: input.inUserns,
    maskedPaths: [...(input.maskedPaths ?? [])],
    readonlyPaths: [...(input.readonlyPaths ?? [])],
    cgroupns: input.cgroupns,
    ownMountNamespace: input.ownMountNamespace,
  };
}

// ---------------------------------------------------------------- operations

/** What the planner needs from the host, read once by the caller. */
export interface RootfsFacts {
  /** the mount table the container's mount namespace starts from */
  mountinfo: readonly MountInfo[];
  /** /proc/<init>/cgroup: the hierarchies and paths the init was placed in */
  cgroupLines: readonly CgroupLine[];
  /** /proc/kcore exists (it gets a /dev/core link) */
  hasKcore: boolean;
}

type Op = InitOp;
const REMOUNT_BIND = C.MS_BIND | C.MS_REMOUNT;

function mountOp(what: string, how: number, source: string, target: string, fstype: string, flags: number, data: string): Op {
  return { what, op: 'mount', how, source, target, fstype, flags, data };
}

/** The mount point holding rootfs: pivot_root refuses a new root whose parent mount is shared. */
function parentMount(rootfs: string, mountinfo: readonly MountInfo[]): string {
  let best = '';
  for (const { mountPoint: point } of mountinfo) {
    if ((rootfs === point || rootfs.startsWith(point === '/' ? '/' : `${point}/`)) && point.length > best.length) best = point;
  }
  return best;
}

/** The v1 hierarchies among the init's cgroups ("0::/…" is the cgroup2 entry). */
function v1Hierarchies(cgroupLines: readonly CgroupLine[]): readonly CgroupLine[] {
  return cgroupLines.filter((l) => l.controllers !== '');
}

/** A cgroup's directory: its absolute path from /proc/<pid>/cgroup below a mount point. Both are the kernel's, clean: no path.join (its normalizing loop) needed. */
const underMount = (mountPoint: string, path: string): string => (path === '/' ? mountPoint : mountPoint === '/' ? path : `${mountPoint}${path}`);

const v1Subdir = (destination: string, controllers: string): string => `${destination}/${controllers.startsWith('name=') ? controllers.slice(5) : controllers}`;

/**
 * The bind mounts a cgroup mount at `destination` becomes on a v1 host when
 * the container has no cgroup namespace: one per hierarchy the process is
 * in (its /proc/<pid>/cgroup lines) that the host has mounted, its source
 * the process's own directory there. CRIU is told about the same binds as
 * external mounts (src/criu/plan.ts).
 */
export function cgroupV1Binds(destination: string, cgroupLines: readonly CgroupLine[], mountinfo: readonly MountInfo[]): { source: string; destination: string }[] {
  const binds: { source: string; destination: string }[] = [];
  for (const { controllers, path } of v1Hierarchies(cgroupLines)) {
    const wanted = controllers.split(',');
    const host = mountinfo.find((e) => e.fstype === 'cgroup' && wanted.every((c) => e.superOptions.includes(c)));
    if (host) binds.push({ source: underMount(host.mountPoint, path), destination: v1Subdir(destination, controllers) });
  }
  return binds;
}

/** A tmpfs with one cgroup mount per v1 hierarchy the init is in, as runc lays it out. */
function cgroupV1Ops(what: string, step: MountStep, plan: RootfsPlan, facts: RootfsFacts): Op[] {
  const ops: Op[] = [mountOp(what, MOUNT_IN_ROOT | MOUNT_MKDIR, 'tmpfs', step.destination, 'tmpfs', step.flags & ~C.MS_RDONLY, 'mode=755')];
  if (plan.cgroupns) {
    for (const { controllers } of v1Hierarchies(facts.cgroupLines)) {
      ops.push(mountOp(what, MOUNT_IN_ROOT | MOUNT_MKDIR, 'cgroup', v1Subdir(step.destination, controllers), 'cgroup', step.flags, controllers));
    }
  } else {
    for (const { source, destination: sub } of cgroupV1Binds(step.destination, facts.cgroupLines, facts.mountinfo)) {
      ops.push(mountOp(what, MOUNT_IN_ROOT | MOUNT_MKDIR, source, sub, '', C.MS_BIND | C.MS_REC, ''));
      if (step.flags) ops.push(mountOp(what, MOUNT_IN_ROOT | MOUNT_KEEP_LOCKED, '', sub, '', REMOUNT_BIND | step.flags, ''));
    }
  }
  if (step.flags & C.MS_RDONLY) ops.push(mountOp(what, MOUNT_IN_ROOT, '', step.destination, '', C.MS_REMOUNT | step.flags, 'mode=755'));
  return ops;
}

function configMountOps(step: MountStep, index: number, plan: RootfsPlan, facts: RootfsFacts, idmapSlot: number): Op[] {
  const what = `mounts[${index}]: mount ${step.source || step.type} on ${step.destination}`;
  if (step.type === 'cgroup' && v1Hierarchies(facts.cgroupLines).length) return cgroupV1Ops(what, step, plan, facts);
  // A missing bind source fails create before its mount point is made: no empty directories left in the rootfs.
  if (step.bind && !existsSync(step.source)) throw new Error(`${what}: source ${step.source} does not exist`);
  const create = step.bind && !isDirectory(step.source) ? MOUNT_MKFILE : MOUNT_MKDIR;
  const ops: Op[] = [];
  if (step.idmap) {
    // The runtime cloned the source with its ids mapped; attaching it is the bind.
    ops.push({ what, op: 'attach', how: MOUNT_IN_ROOT | create, slot: idmapSlot, target: step.destination });
  } else if (step.bind) {
    ops.push(mountOp(what, MOUNT_IN_ROOT | create, step.source, step.destination, '', C.MS_BIND | (step.recursive ? C.MS_REC : 0), ''));
  } else {
    const type = step.type === 'cgroup' ? 'cgroup2' : step.type;
    const fallback = type === 'sysfs' && plan.sysfsMayBind ? MOUNT_SYSFS_BIND : 0;
    ops.push(mountOp(what, MOUNT_IN_ROOT | create | fallback, step.source || type, step.destination, type, step.flags, step.data));
  }
  // Each op below resolves the path again, so it reaches the new mount itself, not the dentry under it.
  const remountFlags = step.flags & ~C.MS_REMOUNT;
  // Bind mounts ignore every other flag on the first call: a remount sets them.
  if (step.bind && remountFlags) ops.push(mountOp(what, MOUNT_IN_ROOT | MOUNT_KEEP_LOCKED, '', step.destination, '', REMOUNT_BIND | remountFlags, ''));
  for (const p of step.propagation) ops.push(mountOp(what, MOUNT_IN_ROOT, '', step.destination, '', p, ''));
  if (step.recAttrSet || step.recAttrClr) ops.push({ what, op: 'setattr', target: step.destination, set: step.recAttrSet, clear: step.recAttrClr });
  return ops;
}

/**
 * Everything before pivot_root: propagation, the rootfs bind, the config's
 * mounts in order, and /dev. Carried out in the init's new mount namespace.
 */
/** firstIdmapSlot: the fd slot of the first idmapped mount's tree; the others follow in order. */
export function prepareRootfsOps(plan: RootfsPlan, facts: RootfsFacts, firstIdmapSlot = 0): Op[] {
  const ops: Op[] = [];
  if (plan.ownMountNamespace) {
    ops.push(mountOp('set propagation of /', 0, '', '/', '', plan.rootPropagation, ''));
    const parent = parentMount(plan.rootfs, facts.mountinfo);
    if (parent) ops.push(mountOp(`make ${parent} private (it holds root.path)`, 0, '', parent, '', C.MS_PRIVATE, ''));
  }
  // A bind of the rootfs onto itself makes it a mount point, which pivot_root
  // needs (and a read-only root too: its remount must not reach the host's).
  ops.push(mountOp(`root.path ${plan.rootfs}`, 0, plan.rootfs, plan.rootfs, '', C.MS_BIND | C.MS_REC, ''));
  // In the host's namespace: nothing mounted under the container's root propagates to other namespaces.
  if (!plan.ownMountNamespace) ops.push(mountOp(`root.path ${plan.rootfs}`, 0, '', plan.rootfs, '', C.MS_PRIVATE | C.MS_REC, ''));
  ops.push({ what: `root.path ${plan.rootfs}`, op: 'open-root', path: plan.rootfs });
  let idmapSlot = firstIdmapSlot;
  plan.mounts.forEach((m, i) => ops.push(...configMountOps(m, i, plan, facts, m.idmap ? idmapSlot++ : -1)));
  if (plan.devices) {
    for (const dev of plan.devices) {
      ops.push({
        what: `create device ${dev.path}`, op: 'mknod', path: dev.path, mode: deviceTypeBits(dev.type) | dev.fileMode,
        major: dev.major, minor: dev.minor, uid: dev.uid, gid: dev.gid, bind: plan.bindDevices,
      });
    }
    for (const [name, target] of devSymlinks(facts.hasKcore)) ops.push({ what: `create /dev/${name}`, op: 'symlink', dir: '/dev', name, target, replace: false });
    // /dev/ptmx must be the container's own devpts instance.
    ops.push({ what: 'create /dev/ptmx', op: 'symlink', dir: '/dev', name: 'ptmx', target: 'pts/ptmx', replace: true });
  }
  return ops;
}

/** Make rootfs "/", leaving no way back to the host's tree. */
export function enterRootfsOps(plan: RootfsPlan): Op[] {
  // The host's mount namespace: only our own root may change.
  if (!plan.ownMountNamespace) {
    return [{ what: 'enter the root filesystem (no mount namespace)', op: 'chroot', rootfs: plan.rootfs }, { what: 'open /', op: 'open-root', path: '/' }];
  }
  const ops: Op[] = [plan.noPivot
    ? { what: 'enter the root filesystem (--no-pivot)', op: 'move-root', rootfs: plan.rootfs }
    : { what: 'pivot root', op: 'pivot-root', rootfs: plan.rootfs }];
  ops.push({ what: 'open /', op: 'open-root', path: '/' });
  // Only now is the container's root "/": setting it before would have
  // changed the propagation of a host mount (runc does the same).
  if (plan.rootPropagationGiven) ops.push(mountOp('linux.rootfsPropagation', 0, '', '/', '', plan.rootPropagation, ''));
  return ops;
}

/** After pivot_root: read-only and masked paths, then a read-only root. */
export function finishRootfsOps(plan: RootfsPlan): Op[] {
  const ops: Op[] = [];
  plan.readonlyPaths.forEach((path, i) => {
    const what = `linux.readonlyPaths[${i}] ${path}`;
    ops.push(mountOp(what, MOUNT_IN_ROOT | MOUNT_SELF | MOUNT_SKIP_MISSING, '', path, '', C.MS_BIND | C.MS_REC, ''));
    ops.push(mountOp(what, MOUNT_IN_ROOT | MOUNT_SKIP_MISSING | MOUNT_KEEP_LOCKED, '', path, '',
      REMOUNT_BIND | C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC, ''));
  });
  plan.maskedPaths.forEach((path, i) => ops.push({ what: `linux.maskedPaths[${i}] ${path}`, op: 'mask', path }));
  if (plan.readonly) ops.push(mountOp('root.readonly', MOUNT_KEEP_LOCKED, '', '/', '', REMOUNT_BIND | C.MS_RDONLY, ''));
  return ops;
}
