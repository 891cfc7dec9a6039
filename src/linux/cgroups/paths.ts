// Where a container's cgroups go: linux.cgroupsPath, absolute (from each
// hierarchy's root) or relative, and `<id>` relative when absent (runc's
// default for cgroupfs). A relative path starts from the runtime's own cgroup
// on v1 and hybrid hosts, and from its parent on a pure cgroup2 host, as runc
// does: there our own cgroup (a login session, a service) holds processes, and
// the no-internal-process rule forbids a child with controllers under it.
// Pure: the result is stored in the container's state.
import { join, posix, relative } from 'node:path';
import type { CgroupMode, Hierarchies, OwnCgroups } from './hierarchy.js';
import type { CgroupLine, MountInfo } from '../procfs.js';

export interface V1Place {
  controllers: string[];
  mountPoint: string;
  /** the container's directory in this hierarchy */
  dir: string;
}

export interface UnifiedPlace {
  mountPoint: string;
  dir: string;
}

/** A controller we enabled in the cgroup.subtree_control of a cgroup we did not make. */
export interface EnabledController {
  dir: string;
  controller: string;
}

/** Everything later commands need to find a container's cgroups again. Serialisable. */
export interface CgroupPaths {
  mode: CgroupMode;
  v1: V1Place[];
  unified: UnifiedPlace | null;
}

/** The directory of a cgroup path inside a mount whose root is `root`. */
function dirIn(mountPoint: string, root: string, cgroupPath: string): string {
  const rel = relative(root, cgroupPath);
  // A path outside the mounted sub-tree (e.g. our own cgroup from the host's
  // view inside a container) cannot be reached through this mount: fall back
  // to the mount's top, as runc does.
  if (rel.startsWith('..')) return mountPoint;
  return join(mountPoint, rel);
}

export function resolveCgroupPaths(h: Hierarchies, own: OwnCgroups, cgroupsPath: string | undefined, id: string): CgroupPaths {
  const wanted = posix.normalize(cgroupsPath && cgroupsPath !== '' ? cgroupsPath : id);
  const absolute = wanted.startsWith('/');
  if (wanted === '/' || wanted === '.') throw new Error(`linux.cgroupsPath: "${cgroupsPath ?? ''}" names the parent cgroup itself; a container needs its own`);
  const place = (mountPoint: string, root: string, ownPath: string | undefined): string => {
    if (absolute) return join(mountPoint, wanted);
    return join(dirIn(mountPoint, root, ownPath ?? root), wanted);
  };
  const v1 = h.v1.map((m) => ({
    controllers: m.controllers,
    mountPoint: m.mountPoint,
    dir: place(m.mountPoint, m.root, m.controllers.map((c) => own.v1.get(c)).find((p) => p !== undefined)),
  }));
  const ownUnified = own.unified === null ? undefined : h.mode === 'v2' ? posix.dirname(own.unified) : own.unified;
  const unified = h.unified ? { mountPoint: h.unified.mountPoint, dir: place(h.unified.mountPoint, h.unified.root, ownUnified) } : null;
  return { mode: h.mode, v1, unified };
}

/** The v1 directory holding a controller, if that controller is mounted. */
export function v1Dir(paths: CgroupPaths, controller: string): string | undefined {
  return paths.v1.find((p) => p.controllers.includes(controller))?.dir;
}

/** Every distinct leaf directory, v1 first, then cgroup2. */
export function leafDirs(paths: CgroupPaths): string[] {
  const dirs = paths.v1.map((p) => p.dir);
  if (paths.unified) dirs.push(paths.unified.dir);
  return [...new Set(dirs)];
}

/** The cgroup a directory under a mount is, as /proc/<pid>/cgroup names it: from the hierarchy's root. */
function cgroupOf(dir: string, mountPoint: string, root: string): string | null {
  if (dir !== mountPoint && !dir.startsWith(`${mountPoint}/`)) return null;
  const below = dir.slice(mountPoint.length);
  return root === '/' ? below || '/' : `${root}${below}`;
}

/**
 * The /proc/<pid>/cgroup lines of a child of ours once it is placed in
 * `paths` (or not placed: `paths` null): ours, with the container's
 * directory in each hierarchy `paths` names. A prediction, for building what
 * depends on them before the child exists; the caller compares it with what
 * the kernel then says. null when a directory is not below a cgroup mount of
 * `mountinfo`.
 */
export function placedCgroupLines(own: readonly CgroupLine[], paths: CgroupPaths | null, mountinfo: readonly MountInfo[]): CgroupLine[] | null {
  if (!paths) return [...own];
  const rootOf = (mountPoint: string, fstype: string): string | undefined =>
    mountinfo.find((m) => m.mountPoint === mountPoint && m.fstype === fstype)?.root;
  const out: CgroupLine[] = [];
  for (const line of own) {
    let path: string | null = line.path;
    if (line.controllers === '') {
      if (paths.unified) {
        const root = rootOf(paths.unified.mountPoint, 'cgroup2');
        path = root === undefined ? null : cgroupOf(paths.unified.dir, paths.unified.mountPoint, root);
      }
    } else {
      const listed = line.controllers.split(',');
      const place = paths.v1.find((p) => p.controllers.length === listed.length && listed.every((c) => p.controllers.includes(c)));
      if (place) {
        const root = rootOf(place.mountPoint, 'cgroup');
        path = root === undefined ? null : cgroupOf(place.dir, place.mountPoint, root);
      }
    }
    if (path === null) return null;
    out.push({ ...line, path });
  }
  return out;
}

/** The same hierarchies, in the same order, with the same paths. */
export function sameCgroupLines(a: readonly CgroupLine[], b: readonly CgroupLine[]): boolean {
  return a.length === b.length && a.every((l, i) => {
    const m = b[i];
    return m !== undefined && l.hierarchy === m.hierarchy && l.controllers === m.controllers && l.path === m.path;
  });
}
