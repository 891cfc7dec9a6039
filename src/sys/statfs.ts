// statfs(2) mount flags, for keeping the flags the kernel locked on a mount.
import * as C from './constants.js';
import { check, libc } from './libc.js';

const ST_RELATIME = 0x1000;
// struct statfs on 64-bit Linux: eleven 8-byte words precede f_flags.
const F_FLAGS_OFFSET = 80;

/** The MS_* flags a mount point currently has (nosuid, nodev, noexec, ro, atime modes). */
export function statfsFlags(path: string): number {
  const buf = Buffer.alloc(128);
  check(libc().statfs(path, buf), 'statfs', path);
  const st = Number(buf.readBigUInt64LE(F_FLAGS_OFFSET));
  let flags = st & (C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC | C.MS_NOATIME | C.MS_NODIRATIME);
  if (st & ST_RELATIME) flags |= C.MS_RELATIME;
  return flags;
}
