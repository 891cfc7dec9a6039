// The host-side setup a CRIU restore needs around the rootfs: CRIU wants its
// root to be a mount point whose parent is not overmounted (a bind of the
// rootfs in a directory of its own, not under the state directory: a delete
// after a crash removes that recursively, and would walk through a bind left
// mounted), mount points made for the bind mounts it restores, namespaces
// joined by path as open fds, and the pty master handed to the engine.
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MNT_DETACH, MS_BIND, MS_REC, O_CLOEXEC, O_RDONLY } from '../sys/constants.js';
import { close, connectUnix, mount, open, umount } from '../sys/calls.js';
import { sendWithFds } from '../sys/socket.js';
import { openInRoot } from '../sys/native.js';

/** CRIU's root: a fresh directory; bindRoot mounts the rootfs on it. */
export function makeCriuRootDir(): string {
  return mkdtempSync(join(tmpdir(), 'ocirun-criu-root-'));
}

export function bindRoot(rootfs: string, criuRoot: string): void {
  mount(rootfs, criuRoot, null, MS_BIND | MS_REC, null);
}

/** Undo bindRoot (if `mounted`) and makeCriuRootDir; never throws. */
export function removeCriuRoot(criuRoot: string, mounted: boolean): void {
  if (mounted) { try { umount(criuRoot, MNT_DETACH); } catch { /* gone */ } }
  if (criuRoot) { try { rmdirSync(criuRoot); } catch { /* not made */ } }
}

/** Mount points for the bind mounts, made in the rootfs where missing (CRIU mounts onto them). */
export function makeMountpoints(rootfs: string, points: { path: string; dir: boolean }[]): void {
  if (!points.length) return;
  const rootFd = open(rootfs, O_RDONLY | O_CLOEXEC);
  try {
    for (const p of points) close(openInRoot(rootFd, p.path, p.dir ? 'dir' : 'file'));
  } finally {
    close(rootFd);
  }
}

/** Open a namespace joined by path, for CRIU to inherit; the error names the field. */
export function openNamespaceFd(path: string): number {
  try {
    return open(path, O_RDONLY | O_CLOEXEC);
  } catch (err) {
    throw new Error(`linux.namespaces: cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Hand the restored terminal's pty master to the engine's console socket. */
export function sendPtyMaster(consoleSocket: string, master: number): void {
  const sock = connectUnix(consoleSocket);
  try { sendWithFds(sock, Buffer.from('/dev/ptmx'), [master]); } finally { close(sock); }
}
