// Bindings to native/libocirun.so: the steps between fork and execve that
// JavaScript cannot run (see native/ocirun.c). Plain data in, no decisions.
import { existsSync } from 'node:fs';
import { SysError } from './errors.js';
import { libc } from './libc.js';
import { nativeLibraryPath } from '../install/paths.js';

export const MAX_JOIN = 8;

export interface SpawnRequest {
  syncFd: number;
  preserveFds: number;
  /** namespace fds to setns(), in order, with their CLONE_NEW* type */
  join: { fd: number; type: number }[];
  newUserns: boolean;
  becomeRoot: boolean;
  unshareFlags: number;
  timensOffsets: string | null;
  /** bring "lo" up in the network namespace stage 1 creates */
  loopbackUp: boolean;
  /** exec: stage 2 becomes this process (after the runtime says "exec") instead of starting the init */
  exec?: FinalizeRequest;
  /** exec with a terminal: the connected console socket and the pty size (0 × 0: leave it) */
  console?: { fd: number; rows: number; cols: number };
}

export interface FinalizeRequest {
  /** where the program may be, tried in order like execvp's PATH walk */
  paths: string[];
  argv: string[];
  env: string[];
  cwd: string;
  /** null leaves the umask alone */
  umask: number | null;
  setGroups: boolean;
  groups: number[];
  uid: number;
  gid: number;
  capBounding: bigint;
  capEffective: bigint;
  capPermitted: bigint;
  capInheritable: bigint;
  capAmbient: bigint;
  lastCap: number;
  noNewPrivs: boolean;
  /** the filter's BPF instructions (struct sock_filter[], 8 bytes each), or null */
  seccomp: Buffer | null;
  preserveFds: number;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(2) (0 when absent) */
  seccompFlags?: number;
  /** SCMP_ACT_NOTIFY: a socket connected to listenerPath, and the state JSON to send with the notify fd */
  listener?: { fd: number; state: string } | null;
  /** LSM exec labels as [file under /proc/thread-self/attr, text] */
  execAttrs?: [string, string][];
  /** chroot here first: exec into a container that has no mount namespace of its own */
  root?: string | null;
}

interface NativeLib {
  spawn: (req: object) => number;
  resolveInRoot: (rootFd: number, path: string, create: number, how: number) => number;
}

let lib: NativeLib | undefined;

function libraryPath(): string {
  const path = nativeLibraryPath();
  if (!existsSync(path)) throw new Error(`no native library for linux-${process.arch} (looked for ${path}; packages ship linux-x64 and linux-arm64, glibc; in a checkout run "npm run build")`);
  return path;
}

type Koffi = ReturnType<typeof libc>['koffi'];
type Library = ReturnType<Koffi['load']>;

let so: Library | undefined;

/** ocirun_spawn's fields; `exec` is a pointer either way (null unless exec). */
/** A struct's fields as koffi.struct takes them. */
type StructFields = Record<string, string | ReturnType<Koffi['array']>>;

function spawnFields(koffi: Koffi, exec: string): StructFields {
  return {
    sync_fd: 'int',
    preserve_fds: 'int',
    join_count: 'int',
    join_fds: koffi.array('int', MAX_JOIN),
    join_types: koffi.array('int', MAX_JOIN),
    new_userns: 'int',
    become_root: 'int',
    unshare_flags: 'int',
    timens_offsets: 'const char *',
    loopback_up: 'int',
    exec,
    console_fd: 'int',
    console_rows: 'uint16_t',
    console_cols: 'uint16_t',
  };
}

/**
 * Load the native library. The struct create and run pass has `exec` as a
 * plain pointer, always null: declaring ocirun_finalize's 26 fields with
 * koffi costs ~0.3 ms, so only exec declares it (execSpawn below).
 */
export function loadNative(): NativeLib {
  if (lib) return lib;
  const { koffi } = libc();
  const loaded = koffi.load(libraryPath());
  so = loaded;
  koffi.struct('ocirun_spawn', spawnFields(koffi, 'const void *'));
  lib = {
    spawn: loaded.func('int ocirun_spawn(const ocirun_spawn *s)') as unknown as NativeLib['spawn'],
    resolveInRoot: loaded.func('int resolve_in_root(int root_fd, const char *path, int create, int how)') as unknown as NativeLib['resolveInRoot'],
  };
  return lib;
}

let spawnWithExec: ((req: object) => number) | undefined;

/** ocirun_spawn for exec: the same function, its `exec` a finalize request koffi lays out. */
function execSpawn(): (req: object) => number {
  if (spawnWithExec) return spawnWithExec;
  loadNative();
  const { koffi } = libc();
  koffi.struct('ocirun_finalize', {
    paths: 'const char **',
    argv: 'const char **',
    envp: 'const char **',
    cwd: 'const char *',
    umask: 'int',
    set_groups: 'int',
    ngroups: 'int',
    groups: 'const uint32_t *',
    uid: 'uint32_t',
    gid: 'uint32_t',
    cap_bounding: 'uint64_t',
    cap_effective: 'uint64_t',
    cap_permitted: 'uint64_t',
    cap_inheritable: 'uint64_t',
    cap_ambient: 'uint64_t',
    last_cap: 'int',
    no_new_privs: 'int',
    seccomp: 'const void *',
    seccomp_len: 'int',
    preserve_fds: 'int',
    seccomp_flags: 'uint32_t',
    listener_fd: 'int',
    listener_state: 'const char *',
    exec_attrs: 'const char **',
    root: 'const char *',
    start: 'const void *', // the init's wait for start: only the plan's FINALIZE sets it
  });
  koffi.struct('ocirun_spawn_exec', spawnFields(koffi, 'const ocirun_finalize *'));
  spawnWithExec = (so as Library).func('int ocirun_spawn(const ocirun_spawn_exec *s)') as unknown as (req: object) => number;
  return spawnWithExec;
}

/** Fork stage 1 (see ocirun.c); returns its pid, which the caller must reap. */
export function nativeSpawn(req: SpawnRequest): number {
  if (req.join.length > MAX_JOIN) throw new Error(`cannot join more than ${MAX_JOIN} namespaces`);
  const fds = req.join.map((j) => j.fd);
  const types = req.join.map((j) => j.type);
  while (fds.length < MAX_JOIN) { fds.push(-1); types.push(0); }
  const spawn = req.exec ? execSpawn() : loadNative().spawn;
  const pid = spawn({
    sync_fd: req.syncFd,
    preserve_fds: req.preserveFds,
    join_count: req.join.length,
    join_fds: fds,
    join_types: types,
    new_userns: req.newUserns ? 1 : 0,
    become_root: req.becomeRoot ? 1 : 0,
    unshare_flags: req.unshareFlags,
    timens_offsets: req.timensOffsets,
    loopback_up: req.loopbackUp ? 1 : 0,
    exec: req.exec ? finalizeStruct(req.exec) : null,
    console_fd: req.console?.fd ?? -1,
    console_rows: req.console?.rows ?? 0,
    console_cols: req.console?.cols ?? 0,
  });
  if (pid < 0) throw new SysError('fork', -pid);
  return pid;
}

function finalizeStruct(req: FinalizeRequest): object {
  return {
    paths: [...req.paths, null],
    argv: [...req.argv, null],
    envp: [...req.env, null],
    cwd: req.cwd,
    umask: req.umask ?? -1,
    set_groups: req.setGroups ? 1 : 0,
    ngroups: req.groups.length,
    groups: req.groups.length ? req.groups : null,
    uid: req.uid,
    gid: req.gid,
    cap_bounding: req.capBounding,
    cap_effective: req.capEffective,
    cap_permitted: req.capPermitted,
    cap_inheritable: req.capInheritable,
    cap_ambient: req.capAmbient,
    last_cap: req.lastCap,
    no_new_privs: req.noNewPrivs ? 1 : 0,
    seccomp: req.seccomp,
    seccomp_len: req.seccomp ? req.seccomp.length / 8 : 0,
    preserve_fds: req.preserveFds,
    seccomp_flags: req.seccompFlags ?? 0,
    listener_fd: req.listener?.fd ?? -1,
    listener_state: req.listener?.state ?? null,
    exec_attrs: req.execAttrs?.length ? [...req.execAttrs.flat(), null] : null,
    root: req.root ?? null,
    start: null,
  };
}


/** What openInRoot makes where the path is missing: nothing, directories, or directories and an empty file last. */
export type InRootCreate = 'none' | 'dir' | 'file';
const IN_ROOT_CREATE: Record<InRootCreate, number> = { none: 0, dir: 1, file: 2 }; // native/resolve.h

/**
 * An O_PATH fd on `path` inside the root `rootFd` holds, resolved as the
 * init resolves its mount targets (native/resolve.c): symlinks and ".."
 * never lead out of the root. One openat2 with RESOLVE_IN_ROOT where the
 * kernel has it, else (and to make what is missing) the component walk;
 * `walk` forces the walk, for tests. The caller closes the fd.
 */
export function openInRoot(rootFd: number, path: string, create: InRootCreate = 'none', walk = false): number {
  const fd = loadNative().resolveInRoot(rootFd, path, IN_ROOT_CREATE[create], walk ? 1 /* RESOLVE_WALK */ : 0 /* RESOLVE_AUTO */);
  if (fd < 0) throw new SysError('resolve', -fd, path);
  return fd;
}
