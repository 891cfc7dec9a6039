// Device nodes in the container's /dev: the default set every container
// gets, the config's linux.devices, and the standard symlinks.
import { S_IFBLK, S_IFCHR, S_IFIFO } from '../sys/constants.js';

export interface DeviceNode {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** The nodes runc creates in every container whose /dev is not the host's. */
export const DEFAULT_DEVICES: readonly DeviceNode[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

export interface DeviceSpec {
  path: string; type: string; major?: number; minor?: number; fileMode?: number; uid?: number; gid?: number;
}

/** Defaults first, then the config's devices; a config entry replaces a default at the same path. */
export function planDevices(configured: readonly DeviceSpec[] | undefined): DeviceNode[] {
  const nodes = new Map<string, DeviceNode>();
  for (const d of DEFAULT_DEVICES) nodes.set(d.path, d);
  for (const d of configured ?? []) {
    nodes.set(d.path, {
      path: d.path,
      type: d.type as DeviceNode['type'],
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      fileMode: (d.fileMode ?? 0o666) & 0o7777,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
    });
  }
  return [...nodes.values()];
}

/** The file type bits for mknod. */
export function deviceTypeBits(type: DeviceNode['type']): number {
  switch (type) {
    case 'b': return S_IFBLK;
    case 'p': return S_IFIFO;
    default: return S_IFCHR;
  }
}

/** Symlinks every /dev gets (name inside /dev → target); /dev/core only where /proc/kcore exists. */
export function devSymlinks(hasKcore: boolean): [string, string][] {
  const links: [string, string][] = [
    ['fd', '/proc/self/fd'],
    ['stdin', '/proc/self/fd/0'],
    ['stdout', '/proc/self/fd/1'],
    ['stderr', '/proc/self/fd/2'],
  ];
  if (hasKcore) links.push(['core', '/proc/kcore']);
  return links;
}
