// Idmapped mounts, the runtime's half: each mount with an idmap step gets a
// detached, mapped clone of its source (made with host privileges, which
// MOUNT_ATTR_IDMAP needs), sent to the init, which attaches it in order
// (the plan's "attach" op). The kernel refuses filesystems that do not
// support idmapping: the error names the mount.
import { close } from '../sys/calls.js';
import { openIdmappedTree } from '../sys/idmaptree.js';
import type { MountStep } from './rootfs.js';

/** One fd per idmapped mount, in the config's order (the plan's slots follow it). */
export function openIdmappedMounts(mounts: readonly MountStep[]): number[] {
  const fds: number[] = [];
  try {
    mounts.forEach((m, i) => {
      if (!m.idmap) return;
      try {
        fds.push(openIdmappedTree(m.source, m.idmap.uidMap, m.idmap.gidMap, m.recursive, m.idmap.recursive));
      } catch (err) {
        throw new Error(`mounts[${i}]: idmapped mount of ${m.source} on ${m.destination}: ${(err as Error).message}`, { cause: err });
      }
    });
  } catch (err) {
    for (const fd of fds) close(fd);
    throw err;
  }
  return fds;
}
