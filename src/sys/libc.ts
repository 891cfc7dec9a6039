// The only module that talks to koffi. koffi is loaded on first use, so
// commands that never make a raw system call (state, list) never pay for it.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SYS } from './constants.js';
import { SysError } from './errors.js';

type Koffi = typeof import('koffi');
type Fn = (...args: unknown[]) => number;

export interface Bindings {
  koffi: Koffi;
  mount: Fn; umount2: Fn; unshare: Fn; setns: Fn; sethostname: Fn; setdomainname: Fn;
  mknod: Fn; mkfifo: Fn; chroot: Fn; socketpair: Fn; fcntl: Fn; read: Fn; write: Fn; close: Fn;
  open: Fn; openat: Fn; mkdirat: Fn; flock: Fn; waitpid: Fn; prctl: Fn; prlimit: Fn; poll: Fn;
  kill: Fn; setrlimit: Fn; syscall3: Fn; syscall5: Fn; syscallPaths: Fn; syscallSignal: Fn;
  fchown: Fn; fchmod: Fn; symlinkat: Fn; statfs: Fn; _exit: Fn; fchdir: Fn;
  socket: Fn; connect: Fn; schedSetaffinity: Fn; personality: Fn; syscallPtr: Fn;
}

let bound: Bindings | undefined;
let libcHandle: ReturnType<Koffi['load']> | undefined;

/**
 * koffi's own entry point spends ~7 ms finding its prebuilt binary (it parses
 * Node's ELF headers to tell glibc from musl). We know the answer: load the
 * glibc build of the platform package directly, and fall back to the entry
 * point if the layout is not the one we know.
 */
function loadKoffi(): Koffi {
  const require = createRequire(import.meta.url);
  const arch = process.arch;
  try {
    const pkgDir = dirname(require.resolve(`@koromix/koffi-linux-${arch}/package.json`));
    const mod = { exports: {} as Koffi };
    process.dlopen(mod, join(pkgDir, `linux_${arch}`, 'koffi.node'));
    if (typeof mod.exports.load === 'function') return mod.exports;
  } catch {
    // fall through to the slow, general path
  }
  return require('koffi') as Koffi;
}

/** Load koffi and declare the libc prototypes (once). */
export function libc(): Bindings {
  if (bound) return bound;
  const koffi = loadKoffi();
  const c = koffi.load('libc.so.6');
  libcHandle = c;
  const f = (decl: string): Fn => c.func(decl) as unknown as Fn;
  // syscall(2) is variadic; koffi needs one fixed prototype per argument shape.
  const sys = (args: string[]): Fn => c.func('syscall', 'long', ['long', ...args]) as unknown as Fn;
  koffi.struct('ocirun_rlimit', { cur: 'uint64', max: 'uint64' });
  koffi.struct('ocirun_pollfd', { fd: 'int', events: 'short', revents: 'short' });
  bound = {
    koffi,
    mount: f('int mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)'),
    umount2: f('int umount2(const char *target, int flags)'),
    unshare: f('int unshare(int flags)'),
    setns: f('int setns(int fd, int nstype)'),
    sethostname: f('int sethostname(const char *name, size_t len)'),
    setdomainname: f('int setdomainname(const char *name, size_t len)'),
    mknod: f('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    mkfifo: f('int mkfifo(const char *path, uint32_t mode)'),
    chroot: f('int chroot(const char *path)'),
    socketpair: f('int socketpair(int domain, int type, int protocol, _Out_ int *sv)'),
    fcntl: f('int fcntl(int fd, int cmd, int arg)'),
    read: f('long read(int fd, _Out_ uint8_t *buf, size_t len)'),
    write: f('long write(int fd, const uint8_t *buf, size_t len)'),
    close: f('int close(int fd)'),
    open: f('int open(const char *path, int flags, uint32_t mode)'),
    openat: f('int openat(int dirfd, const char *path, int flags, uint32_t mode)'),
    mkdirat: f('int mkdirat(int dirfd, const char *path, uint32_t mode)'),
    symlinkat: f('int symlinkat(const char *target, int dirfd, const char *path)'),
    fchown: f('int fchown(int fd, uint32_t uid, uint32_t gid)'),
    fchmod: f('int fchmod(int fd, uint32_t mode)'),
    flock: f('int flock(int fd, int op)'),
    statfs: f('int statfs(const char *path, _Out_ uint8_t *buf)'),
    waitpid: f('int waitpid(int pid, _Out_ int *status, int options)'),
    prctl: f('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
    prlimit: f('int prlimit(int pid, int resource, const ocirun_rlimit *newlim, _Out_ ocirun_rlimit *oldlim)'),
    setrlimit: f('int setrlimit(int resource, const ocirun_rlimit *lim)'),
    poll: f('int poll(_Inout_ ocirun_pollfd *fds, unsigned long n, int timeout)'),
    kill: f('int kill(int pid, int sig)'),
    _exit: f('void _exit(int status)'),
    fchdir: f('int fchdir(int fd)'),
    socket: f('int socket(int domain, int type, int protocol)'),
    connect: f('int connect(int fd, const uint8_t *addr, uint32_t len)'),
    schedSetaffinity: f('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)'),
    personality: f('int personality(unsigned long persona)'),
    syscallPtr: sys(['int', 'void *', 'unsigned long']),
    syscall3: sys(['int', 'int', 'uint']),
    syscall5: sys(['int', 'const char *', 'uint', 'void *', 'size_t']),
    syscallPaths: sys(['const char *', 'const char *']),
    syscallSignal: sys(['int', 'int', 'void *', 'uint']),
  };
  return bound;
}

type Prototype = [decl: string] | [name: string, result: string, args: string[]];

/**
 * A libc function the core table above does not declare, declared on its
 * first call (so importing a module costs nothing). syscall(2) is variadic:
 * each argument shape is its own prototype, e.g.
 * libcFunction('syscall', 'long', ['long', 'int', 'const char *']).
 */
export function libcFunction(...proto: Prototype): Fn {
  let fn: Fn | undefined;
  return (...args: unknown[]) => {
    if (!fn) {
      libc();
      const lib = libcHandle as ReturnType<Koffi['load']>;
      fn = (proto.length === 1 ? lib.func(proto[0]) : lib.func(proto[0], proto[1], proto[2])) as unknown as Fn;
    }
    return fn(...args);
  };
}

/** errno of the last call made through koffi on this thread. */
export function lastErrno(): number {
  return libc().koffi.errno();
}

/** Throw a SysError when a libc call returned -1. */
export function check(result: number | bigint, syscall: string, path?: string): number {
  const value = Number(result);
  if (value === -1) throw new SysError(syscall, lastErrno(), path);
  return value;
}

export { SYS };
