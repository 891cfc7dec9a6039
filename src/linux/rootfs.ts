// The container's root filesystem: plan (pure, in the runtime) and apply
// (in the init, inside the new mount namespace, before and after pivot_root).
import { chmodSync, chownSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as C from '../sys/constants.js';
import { chroot, close, fchdir, makedev, mknod, mount, mountSetattr, open, pivotRoot, symlinkat, umount } from '../sys/calls.js';
import { SysError } from '../sys/errors.js';
import { statfsFlags } from '../sys/statfs.js';
import { deviceTypeBits, devSymlinks, planDevices, type DeviceNode, type DeviceSpec } from './devices.js';
import { isBindMount, parseMountOptions, ROOTFS_PROPAGATION } from './mountopts.js';
import { fdPath, isDirectory, resolveInRoot } from './pathsafe.js';
import { readMountinfo } from './procfs.js';

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
}

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

export interface MountSpec { destination: string; source?: string; type?: string; options?: string[] }

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
}

export function planMount(m: MountSpec, bundle: string): MountStep {
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
  };
}

export function planRootfs(input: RootfsInput): RootfsPlan {
  const mounts = input.mounts.map((m) => planMount(m, input.bundle));
  const devFromHost = mounts.some((m) => m.bind && m.destination.replace(/\/+$/, '') === '/dev');
  const prop = input.rootfsPropagation ? ROOTFS_PROPAGATION[input.rootfsPropagation] : undefined;
  return {
    rootfs: input.rootfs,
    readonly: input.readonly,
    rootPropagation: prop ?? (C.MS_SLAVE | C.MS_REC),
    rootPropagationGiven: prop !== undefined,
    noPivot: input.noPivot,
    mounts,
    devices: devFromHost ? null : planDevices(input.devices),
    bindDevices: input.inUserns,
    maskedPaths: [...(input.maskedPaths ?? [])],
    readonlyPaths: [...(input.readonlyPaths ?? [])],
    cgroupns: input.cgroupns,
    ownMountNamespace: input.ownMountNamespace,
  };
}

// ---------------------------------------------------------------- apply

function wrap(err: unknown, what: string): Error {
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(`${what}: ${msg}`, { cause: err });
}

/** pivot_root refuses a new root whose parent mount is shared: make the mount holding rootfs private. */
function makeParentMountPrivate(rootfs: string): void {
  let best = '';
  for (const { mountPoint: point } of readMountinfo()) {
    if ((rootfs === point || rootfs.startsWith(point === '/' ? '/' : `${point}/`)) && point.length > best.length) best = point;
  }
  if (best) mount(null, best, null, C.MS_PRIVATE, null);
}

/** A bind remount keeps the flags the kernel locked on the source (e.g. in a user namespace). */
function remountBind(target: string, flags: number): void {
  const wanted = C.MS_BIND | C.MS_REMOUNT | flags;
  try {
    mount(null, target, null, wanted, null);
  } catch (err) {
    if (!(err instanceof SysError) || err.code !== 'EPERM') throw err;
    mount(null, target, null, wanted | statfsFlags(target), null);
  }
}

function mountCgroupV1(step: MountStep, rootFd: number, cgroupns: boolean): void {
  // A tmpfs with one cgroup mount per v1 hierarchy this process is in, as runc lays it out.
  const targetFd = resolveInRoot(rootFd, step.destination, 'dir');
  try {
    mount('tmpfs', fdPath(targetFd), 'tmpfs', step.flags & ~C.MS_RDONLY, 'mode=755');
  } finally {
    close(targetFd);
  }
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (!controllers || path === undefined) continue; // "0::/…" is the v2 entry
    const dir = controllers.startsWith('name=') ? controllers.slice(5) : controllers;
    const subFd = resolveInRoot(rootFd, `${step.destination}/${dir}`, 'dir');
    try {
      if (cgroupns) {
        mount('cgroup', fdPath(subFd), 'cgroup', step.flags, controllers);
      } else {
        const host = findCgroupMount(controllers);
        if (!host) continue;
        mount(join(host, path), fdPath(subFd), null, C.MS_BIND | C.MS_REC, null);
        if (step.flags) withNewMount(rootFd, `${step.destination}/${dir}`, (target) => remountBind(target, step.flags));
      }
    } finally {
      close(subFd);
    }
  }
  if (step.flags & C.MS_RDONLY) {
    withNewMount(rootFd, step.destination, (target) => mount(null, target, null, C.MS_REMOUNT | step.flags, 'mode=755'));
  }
}

function findCgroupMount(controllers: string): string | null {
  const wanted = controllers.split(',');
  const m = readMountinfo().find((e) => e.fstype === 'cgroup' && wanted.every((c) => e.superOptions.includes(c)));
  return m ? m.mountPoint : null;
}

function hostHasCgroupV1(): boolean {
  return readFileSync('/proc/self/cgroup', 'utf8').split('\n').some((l) => /^\d+:[^:]+:/.test(l));
}

function applyMount(step: MountStep, rootFd: number, plan: RootfsPlan): void {
  if (step.type === 'cgroup' && hostHasCgroupV1()) {
    mountCgroupV1(step, rootFd, plan.cgroupns);
    return;
  }
  // A missing bind source fails before its mount point is made: a failed create leaves no empty
  // directories in the rootfs.
  if (step.bind && !existsSync(step.source)) throw new Error(`source ${step.source} does not exist`);
  const create = step.bind && !isDirectory(step.source) ? 'file' : 'dir';
  const targetFd = resolveInRoot(rootFd, step.destination, create);
  try {
    if (step.bind) {
      mount(step.source, fdPath(targetFd), null, C.MS_BIND | (step.recursive ? C.MS_REC : 0), null);
    } else {
      const type = step.type === 'cgroup' ? 'cgroup2' : step.type;
      mount(step.source || type, fdPath(targetFd), type || null, step.flags, step.data || null);
    }
  } catch (err) {
    // The target is our /proc/self/fd/N: the caller names the source and destination instead.
    if (err instanceof SysError) throw new Error(err.code, { cause: err });
    throw err;
  } finally {
    close(targetFd);
  }
  const remountFlags = step.flags & ~C.MS_REMOUNT;
  if (!(step.bind && remountFlags) && !step.propagation.length && !step.recAttrSet && !step.recAttrClr) return;
  // Our fd names the dentry under the new mount: look the path up again to reach the mount itself.
  withNewMount(rootFd, step.destination, (target) => {
    // Bind mounts ignore every other flag on the first call: a remount sets them.
    if (step.bind && remountFlags) remountBind(target, remountFlags);
    for (const p of step.propagation) mount(null, target, null, p, null);
    if (step.recAttrSet || step.recAttrClr) mountSetattr(C.AT_FDCWD, target, C.AT_RECURSIVE, step.recAttrSet, step.recAttrClr, 0);
  });
}

/** Run fn on the top mount at path (inside the root), by a freshly resolved fd. */
function withNewMount(rootFd: number, path: string, fn: (target: string) => void): void {
  const fd = resolveInRoot(rootFd, path, 'none');
  try {
    fn(fdPath(fd));
  } finally {
    close(fd);
  }
}

function createDevice(dev: DeviceNode, rootFd: number, bind: boolean): void {
  const slash = dev.path.lastIndexOf('/');
  const dirFd = resolveInRoot(rootFd, dev.path.slice(0, slash) || '/', 'dir');
  const name = dev.path.slice(slash + 1);
  const at = `${fdPath(dirFd)}/${name}`;
  try {
    if (bind) {
      const fileFd = resolveInRoot(rootFd, dev.path, 'file');
      try { mount(dev.path, fdPath(fileFd), null, C.MS_BIND, null); } finally { close(fileFd); }
      return;
    }
    rmSync(at, { force: true });
    mknod(at, deviceTypeBits(dev.type) | dev.fileMode, makedev(dev.major, dev.minor));
    chownSync(at, dev.uid, dev.gid);
    chmodSync(at, dev.fileMode); // mknod's mode passed through our umask
  } finally {
    close(dirFd);
  }
}

function createDevSymlinks(rootFd: number): void {
  const devFd = resolveInRoot(rootFd, '/dev', 'dir');
  try {
    for (const [name, target] of devSymlinks()) {
      try { symlinkat(target, devFd, name); } catch (err) { if (!(err instanceof SysError) || err.code !== 'EEXIST') throw err; }
    }
    // /dev/ptmx must be the container's own devpts instance.
    rmSync(`${fdPath(devFd)}/ptmx`, { force: true });
    symlinkat('pts/ptmx', devFd, 'ptmx');
  } finally {
    close(devFd);
  }
}

/**
 * Everything before pivot_root: propagation, the rootfs bind, the config's
 * mounts in order, and /dev. Runs in the init, in its new mount namespace.
 */
export function prepareRootfs(plan: RootfsPlan): void {
  if (plan.ownMountNamespace) {
    try {
      mount(null, '/', null, plan.rootPropagation, null);
    } catch (err) { throw wrap(err, 'set propagation of /'); }
    makeParentMountPrivate(plan.rootfs);
  }
  // A bind of the rootfs onto itself makes it a mount point, which pivot_root
  // needs (and a read-only root too: its remount must not reach the host's).
  mount(plan.rootfs, plan.rootfs, null, C.MS_BIND | C.MS_REC, null);
  // In the host's namespace: nothing mounted under the container's root propagates to other namespaces.
  if (!plan.ownMountNamespace) mount(null, plan.rootfs, null, C.MS_PRIVATE | C.MS_REC, null);
  const rootFd = open(plan.rootfs, C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC);
  try {
    for (const step of plan.mounts) {
      try {
        applyMount(step, rootFd, plan);
      } catch (err) {
        throw wrap(err, `mount ${step.source || step.type} on ${step.destination}`);
      }
    }
    if (plan.devices) {
      for (const dev of plan.devices) {
        try { createDevice(dev, rootFd, plan.bindDevices); } catch (err) { throw wrap(err, `create device ${dev.path}`); }
      }
      createDevSymlinks(rootFd);
    }
  } finally {
    close(rootFd);
  }
}

/** Make rootfs "/", leaving no way back to the host's tree. */
export function enterRootfs(plan: RootfsPlan): void {
  if (!plan.ownMountNamespace) {
    // The host's mount namespace: only our own root may change.
    process.chdir(plan.rootfs);
    chroot('.');
    process.chdir('/');
    return;
  }
  if (plan.noPivot) {
    process.chdir(plan.rootfs);
    mount(plan.rootfs, '/', null, C.MS_MOVE, null);
    chroot('.');
  } else {
    const oldRoot = open('/', C.O_DIRECTORY | C.O_RDONLY | C.O_CLOEXEC);
    try {
      process.chdir(plan.rootfs);
      // pivot_root(".", ".") stacks the old root on top of the new one.
      pivotRoot('.', '.');
      // Our cwd is still the new root's own dentry: step onto the old root
      // itself, or the next two calls would act on the container's mounts.
      fchdir(oldRoot, 'old root');
      // rslave first, so that detaching it cannot propagate to the host.
      mount(null, '.', null, C.MS_SLAVE | C.MS_REC, null);
      umount('.', C.MNT_DETACH);
    } finally {
      close(oldRoot);
    }
  }
  process.chdir('/');
  // Only now is the container's root "/": setting it before would have
  // changed the propagation of a host mount (runc does the same).
  if (plan.rootPropagationGiven) mount(null, '/', null, plan.rootPropagation, null);
}

/** After pivot_root: masked and read-only paths, then a read-only root. */
export function finishRootfs(plan: RootfsPlan): void {
  const rootFd = open('/', C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC);
  try {
    for (const path of plan.readonlyPaths) {
      let fd: number;
      try { fd = resolveInRoot(rootFd, path, 'none'); } catch (err) { if (err instanceof SysError && err.code === 'ENOENT') continue; throw wrap(err, `readonly path ${path}`); }
      try {
        mount(fdPath(fd), fdPath(fd), null, C.MS_BIND | C.MS_REC, null);
        withNewMount(rootFd, path, (target) => remountBind(target, C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC));
      } catch (err) { throw wrap(err, `readonly path ${path}`); } finally { close(fd); }
    }
    for (const path of plan.maskedPaths) {
      let fd: number;
      try { fd = resolveInRoot(rootFd, path, 'none'); } catch (err) { if (err instanceof SysError && err.code === 'ENOENT') continue; throw wrap(err, `masked path ${path}`); }
      try {
        if (isDirectory(fdPath(fd))) mount('tmpfs', fdPath(fd), 'tmpfs', C.MS_RDONLY, null);
        else mount('/dev/null', fdPath(fd), null, C.MS_BIND, null);
      } catch (err) { throw wrap(err, `masked path ${path}`); } finally { close(fd); }
    }
  } finally {
    close(rootFd);
  }
  if (plan.readonly) {
    try { remountBind('/', C.MS_RDONLY); } catch (err) { throw wrap(err, 'remount / read-only'); }
  }
}

