// A container without a mount namespace of its own has its root filesystem
// set up in the runtime's: its mounts are stacked on the rootfs path in the
// host's tree and stay there until delete. Counting the mounts on that path
// before create tells delete (or a failed create) how many to take off
// again, without touching one that was there before (an engine's overlay).
import { MNT_DETACH } from '../sys/constants.js';
import { umount } from '../sys/calls.js';
import { readMountinfo } from './procfs.js';

/** How many mounts are stacked on path in our mount namespace. */
export function mountsAt(path: string): number {
  return readMountinfo().filter((e) => e.mountPoint === path).length;
}

/** Detach what create stacked on rootfs (each detach takes everything under it too). */
export function undoHostRootfs(rootfs: string, before: number): void {
  for (let n = mountsAt(rootfs); n > before; n--) umount(rootfs, MNT_DETACH);
}
