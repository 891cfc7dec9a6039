// HOME for a container process whose env has none, by runc's rule: the home
// directory of the process's uid in the /etc/passwd that the process itself
// will see, or "/" when there is no such entry (or no such file).
//
// Which file that is: for `exec`, the running container's own view, through
// /proc/<pid>/root. For `create` nothing is mounted yet, so the config's
// mounts decide: engines bind-mount their own /etc/passwd (podman does), and
// the last mount covering /etc/passwd (itself, /etc or /) wins, as it will in
// the container; a bind's source is read, any other filesystem type is
// taken to have no passwd; without such a mount, the rootfs's own file.
// Paths inside a root are resolved as the init resolves its own (openat2
// RESOLVE_IN_ROOT, or the component walk: native/resolve.c), so symlinks in
// the image cannot lead the runtime to a host file.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { O_CLOEXEC, O_DIRECTORY, O_PATH } from '../sys/constants.js';
import { close, open } from '../sys/calls.js';
import { fdPath } from './pathsafe.js';
import { openInRoot } from '../sys/native.js';
import type { MountStep } from './rootfs.js';

/** Bigger than any real passwd file; a larger one is not read (HOME falls back to "/"). */
const PASSWD_LIMIT = 4 << 20;
const PASSWD = '/etc/passwd';

/**
 * The home field of uid's line in passwd(5) text, or null. The image's lines
 * are compared, never made keys of a Map, Set or object: a passwd built to
 * collide cannot grow a hash table (cli/seedguard.ts, config/hashlimit.ts).
 */
export function homeInPasswd(text: string, uid: number): string | null {
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7 || fields[2] !== String(uid)) continue;
    return fields[5] || null;
  }
  return null;
}

/** env with HOME added when it has none; home() is only called then. */
export function withHome(env: readonly string[], home: () => string): string[] {
  if (env.some((e) => e.startsWith('HOME='))) return [...env];
  return [...env, `HOME=${home()}`];
}

/** A regular file's text, at most PASSWD_LIMIT bytes, or null. O_NONBLOCK: a FIFO planted there cannot hang us. */
function readRegular(path: string): string | null {
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | O_CLOEXEC); } catch { return null; }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > PASSWD_LIMIT) return null;
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString('utf8');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The text of path inside the directory tree at root (symlinks kept inside it), or null. */
export function readInRoot(root: string, path: string): string | null {
  let rootFd = -1;
  let fileFd = -1;
  try {
    rootFd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    // One call where the kernel has openat2 (the TypeScript walk took ~10 system calls here).
    fileFd = openInRoot(rootFd, path, 'none', process.env._OCIRUN_RESOLVE === 'walk');
    return readRegular(fdPath(fileFd));
  } catch {
    return null;
  } finally {
    if (fileFd >= 0) close(fileFd);
    if (rootFd >= 0) close(rootFd);
  }
}

function normal(path: string): string {
  return `/${path.split('/').filter((c) => c !== '' && c !== '.').join('/')}`;
}

/** The passwd text the container will see once its mounts are made, or null. */
export function passwdAtCreate(rootfs: string, mounts: readonly MountStep[]): string | null {
  let cover: MountStep | null = null;
  for (const m of mounts) {
    const dest = normal(m.destination);
    if (dest === PASSWD || dest === '/' || PASSWD.startsWith(`${dest}/`)) cover = m;
  }
  if (!cover) return readInRoot(rootfs, PASSWD);
  if (!cover.bind) return null;
  const dest = normal(cover.destination);
  if (dest === PASSWD) return readRegular(cover.source);
  return readInRoot(cover.source, PASSWD.slice(dest === '/' ? 0 : dest.length));
}

/** HOME for uid in the passwd text ("/" when absent): runc's fallback. */
export function homeFor(passwd: string | null, uid: number): string {
  return (passwd === null ? null : homeInPasswd(passwd, uid)) ?? '/';
}
