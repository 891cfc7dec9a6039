// Mount option strings (config.json "options") → mount(2) flags, propagation,
// mount_setattr(2) recursive attributes, and the data string for the filesystem.
import * as C from '../sys/constants.js';

export interface MountOptions {
  /** flags to set in mount(2) */
  flags: number;
  /** flags an option explicitly clears (rw, suid, dev, exec, …) */
  cleared: number;
  /** propagation changes applied after the mount, in order */
  propagation: number[];
  /** recursive attributes for mount_setattr(AT_RECURSIVE): rro, rnosuid, … */
  recAttrSet: number;
  recAttrClr: number;
  /** comma-joined options the filesystem itself interprets (mode=755, size=…) */
  data: string;
  /** options that change how ocirun performs the mount, not the kernel: tmpcopyup, idmap, … */
  extensions: string[];
}

const SET: Record<string, number> = {
  ro: C.MS_RDONLY, nosuid: C.MS_NOSUID, nodev: C.MS_NODEV, noexec: C.MS_NOEXEC,
  sync: C.MS_SYNCHRONOUS, remount: C.MS_REMOUNT, mand: C.MS_MANDLOCK, dirsync: C.MS_DIRSYNC,
  noatime: C.MS_NOATIME, nodiratime: C.MS_NODIRATIME, bind: C.MS_BIND, rbind: C.MS_BIND | C.MS_REC,
  relatime: C.MS_RELATIME, strictatime: C.MS_STRICTATIME, lazytime: C.MS_LAZYTIME, silent: C.MS_SILENT,
  nosymfollow: C.MS_NOSYMFOLLOW,
};

const CLEAR: Record<string, number> = {
  rw: C.MS_RDONLY, suid: C.MS_NOSUID, dev: C.MS_NODEV, exec: C.MS_NOEXEC, async: C.MS_SYNCHRONOUS,
  nomand: C.MS_MANDLOCK, atime: C.MS_NOATIME, diratime: C.MS_NODIRATIME, norelatime: C.MS_RELATIME,
  nostrictatime: C.MS_STRICTATIME, nolazytime: C.MS_LAZYTIME, loud: C.MS_SILENT, symfollow: C.MS_NOSYMFOLLOW,
  defaults: 0,
};

/** Propagation words: a mount's options, and linux.rootfsPropagation (which the checks narrow to the four plain ones). */
export const PROPAGATION: Readonly<Record<string, number>> = {
  private: C.MS_PRIVATE, rprivate: C.MS_PRIVATE | C.MS_REC,
  shared: C.MS_SHARED, rshared: C.MS_SHARED | C.MS_REC,
  slave: C.MS_SLAVE, rslave: C.MS_SLAVE | C.MS_REC,
  unbindable: C.MS_UNBINDABLE, runbindable: C.MS_UNBINDABLE | C.MS_REC,
};

// Recursive variants (runc ≥ 1.1): applied to every mount below with mount_setattr.
const REC_SET: Record<string, number> = {
  rro: C.MOUNT_ATTR_RDONLY, rnosuid: C.MOUNT_ATTR_NOSUID, rnodev: C.MOUNT_ATTR_NODEV, rnoexec: C.MOUNT_ATTR_NOEXEC,
  rnodiratime: C.MOUNT_ATTR_NODIRATIME, rnosymfollow: C.MOUNT_ATTR_NOSYMFOLLOW,
  rrelatime: C.MOUNT_ATTR_RELATIME, rnoatime: C.MOUNT_ATTR_NOATIME, rstrictatime: C.MOUNT_ATTR_STRICTATIME,
};
const REC_CLEAR: Record<string, number> = {
  rrw: C.MOUNT_ATTR_RDONLY, rsuid: C.MOUNT_ATTR_NOSUID, rdev: C.MOUNT_ATTR_NODEV, rexec: C.MOUNT_ATTR_NOEXEC,
  rdiratime: C.MOUNT_ATTR_NODIRATIME, rsymfollow: C.MOUNT_ATTR_NOSYMFOLLOW, ratime: C.MOUNT_ATTR__ATIME,
};
const REC_ATIME = new Set(['rrelatime', 'rnoatime', 'rstrictatime']);

const EXTENSIONS = new Set(['tmpcopyup', 'idmap', 'ridmap', 'copy-symlink']);

/** Parse an option list. Unknown words go to the filesystem's data string, as mount(8) does. */
export function parseMountOptions(options: readonly string[] | undefined): MountOptions {
  const out: MountOptions = { flags: 0, cleared: 0, propagation: [], recAttrSet: 0, recAttrClr: 0, data: '', extensions: [] };
  const data: string[] = [];
  for (const opt of options ?? []) {
    const set = SET[opt];
    const clear = CLEAR[opt];
    const prop = PROPAGATION[opt];
    const recSet = REC_SET[opt];
    const recClr = REC_CLEAR[opt];
    if (set !== undefined) {
      out.flags |= set;
      out.cleared &= ~set;
    } else if (clear !== undefined) {
      out.flags &= ~clear;
      out.cleared |= clear;
    } else if (prop !== undefined) {
      out.propagation.push(prop);
    } else if (recSet !== undefined) {
      // The atime modes are one field: choosing one clears the others.
      if (REC_ATIME.has(opt)) out.recAttrClr |= C.MOUNT_ATTR__ATIME;
      out.recAttrSet |= recSet;
      out.recAttrClr &= REC_ATIME.has(opt) ? out.recAttrClr : ~recSet;
    } else if (recClr !== undefined) {
      out.recAttrClr |= recClr;
      out.recAttrSet &= ~recClr;
    } else if (EXTENSIONS.has(opt)) {
      out.extensions.push(opt);
    } else {
      data.push(opt);
    }
  }
  out.data = data.join(',');
  return out;
}

/** A mount is a bind mount when its type says so or its options ask for one. */
export function isBindMount(type: string | undefined, opts: MountOptions): boolean {
  return type === 'bind' || (opts.flags & C.MS_BIND) !== 0;
}

/** Every option word this parser gives a meaning to (for `features`). */
export function knownMountOptions(): string[] {
  return [...new Set([SET, CLEAR, PROPAGATION, REC_SET, REC_CLEAR].flatMap((t) => Object.keys(t)).concat([...EXTENSIONS].filter((e) => e === 'tmpcopyup')))].sort();
}
