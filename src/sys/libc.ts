// The only module that talks to koffi. koffi is loaded on first use, so
// commands that never make a raw system call (state, list) never pay for it,
// and each libc function is declared on its first call.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { installDir } from '../install/paths.js';
import { SYS } from './constants.js';
import { SysError } from './errors.js';

type Koffi = typeof import('koffi');
type Fn = (...args: unknown[]) => number;

export interface Bindings {
  koffi: Koffi;
  mount: Fn; umount2: Fn; unshare: Fn; setns: Fn; sethostname: Fn; setdomainname: Fn;
  mknod: Fn; mkfifo: Fn; chroot: Fn; socketpair: Fn; fcntl: Fn;
  openat: Fn; mkdirat: Fn; flock: Fn; waitpid: Fn; prctl: Fn; prlimit: Fn; poll: Fn;
  kill: Fn; setrlimit: Fn; syscall3: Fn; syscall5: Fn; syscallPaths: Fn; syscallSignal: Fn;
  fchown: Fn; fchmod: Fn; symlinkat: Fn; statfs: Fn; _exit: Fn; fchdir: Fn;
  socket: Fn; connect: Fn; schedSetaffinity: Fn; personality: Fn; syscallPtr: Fn; sigprocmask: Fn;
}

type Prototype = [decl: string] | [name: string, result: string, args: string[]];
/** A prototype of the core table: a C declaration alone is a string (an array each cost ~0.2 us at load). */
type CoreEntry = string | [name: string, result: string, args: string[]];

type CoreName = Exclude<keyof Bindings, 'koffi'>;

/**
 * The core table, declared one function at a time on first use: declaring
 * costs ~15 µs a prototype, and most commands call three or four of these.
 * syscall(2) is variadic; koffi needs one fixed prototype per argument shape.
 * Its null prototype makes V8 build it as a dictionary: as an ordinary object
 * literal it cost every command ~25 us at load (a hidden class per key).
 */
const CORE_TABLE = {
  __proto__: null,
  mount: 'int mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)',
  umount2: 'int umount2(const char *target, int flags)',
  unshare: 'int unshare(int flags)',
  setns: 'int setns(int fd, int nstype)',
  sethostname: 'int sethostname(const char *name, size_t len)',
  setdomainname: 'int setdomainname(const char *name, size_t len)',
  mknod: 'int mknod(const char *path, uint32_t mode, uint64_t dev)',
  mkfifo: 'int mkfifo(const char *path, uint32_t mode)',
  chroot: 'int chroot(const char *path)',
  socketpair: 'int socketpair(int domain, int type, int protocol, _Out_ int *sv)',
  fcntl: 'int fcntl(int fd, int cmd, int arg)',
  openat: 'int openat(int dirfd, const char *path, int flags, uint32_t mode)',
  mkdirat: 'int mkdirat(int dirfd, const char *path, uint32_t mode)',
  symlinkat: 'int symlinkat(const char *target, int dirfd, const char *path)',
  fchown: 'int fchown(int fd, uint32_t uid, uint32_t gid)',
  fchmod: 'int fchmod(int fd, uint32_t mode)',
  flock: 'int flock(int fd, int op)',
  statfs: 'int statfs(const char *path, _Out_ uint8_t *buf)',
  waitpid: 'int waitpid(int pid, _Out_ int *status, int options)',
  prctl: 'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)',
  prlimit: 'int prlimit(int pid, int resource, const ocirun_rlimit *newlim, _Out_ ocirun_rlimit *oldlim)',
  setrlimit: 'int setrlimit(int resource, const ocirun_rlimit *lim)',
  poll: 'int poll(_Inout_ ocirun_pollfd *fds, unsigned long n, int timeout)',
  kill: 'int kill(int pid, int sig)',
  _exit: 'void _exit(int status)',
  fchdir: 'int fchdir(int fd)',
  socket: 'int socket(int domain, int type, int protocol)',
  connect: 'int connect(int fd, const uint8_t *addr, uint32_t len)',
  schedSetaffinity: 'int sched_setaffinity(int pid, size_t size, const uint8_t *mask)',
  personality: 'int personality(unsigned long persona)',
  sigprocmask: 'int sigprocmask(int how, const uint8_t *set, uint8_t *old)',
  syscallPtr: ['syscall', 'long', ['long', 'int', 'void *', 'unsigned long']],
  syscall3: ['syscall', 'long', ['long', 'int', 'int', 'uint']],
  syscall5: ['syscall', 'long', ['long', 'int', 'const char *', 'uint', 'void *', 'size_t']],
  syscallPaths: ['syscall', 'long', ['long', 'const char *', 'const char *']],
  syscallSignal: ['syscall', 'long', ['long', 'int', 'int', 'void *', 'uint']],
} satisfies { __proto__: null } & Record<CoreName, CoreEntry>;
const CORE: Readonly<Record<CoreName, CoreEntry>> = CORE_TABLE;

let bound: Bindings | undefined;
let libcHandle: ReturnType<Koffi['load']> | undefined;

/**
 * koffi's own entry point spends ~7 ms finding its prebuilt binary (it parses
 * Node's ELF headers to tell glibc from musl), and resolving the platform
 * package through require.resolve costs node:module and a realpath walk. We
 * know the answer: the glibc build of the platform package, which npm puts
 * beside koffi in our node_modules. Elsewhere (ocirun itself installed as a
 * dependency, hoisted) resolve it, and fall back to the entry point if the
 * layout is not the one we know.
 */
function loadKoffi(): Koffi {
  const arch = process.arch;
  const binary = join('@koromix', `koffi-linux-${arch}`, `linux_${arch}`, 'koffi.node');
  try {
    const known = join(installDir(), 'node_modules', binary);
    const koffi = existsSync(known) ? dlopenKoffi(known) : null;
    if (koffi) return koffi;
  } catch {
    // no installation directory: resolve as below
  }
  // node:module only on this path: it costs ~0.4 ms to load.
  const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);
  try {
    const pkgDir = dirname(require.resolve(`@koromix/koffi-linux-${arch}/package.json`));
    const koffi = dlopenKoffi(join(pkgDir, `linux_${arch}`, 'koffi.node'));
    if (koffi) return koffi;
  } catch {
    // fall through to the slow, general path
  }
  return require('koffi') as Koffi;
}

function dlopenKoffi(path: string): Koffi | null {
  try {
    const mod = { exports: {} as Koffi };
    process.dlopen(mod, path);
    return typeof mod.exports.load === 'function' ? mod.exports : null;
  } catch {
    return null;
  }
}

function declare(lib: ReturnType<Koffi['load']>, proto: Prototype): Fn {
  return (proto.length === 1 ? lib.func(proto[0]) : lib.func(proto[0], proto[1], proto[2])) as unknown as Fn;
}

const declaredStructs = new Set<string>();

/** Declare (once) the structs a prototype of the core table names, before it is declared. */
function declareStructsOf(koffi: Koffi, decl: string): void {
  // Every struct here is named ocirun_*; most prototypes name none and skip making the table (~4 us).
  if (!decl.includes('ocirun_')) return;
  const structs: Record<string, Record<string, string>> = {
    ocirun_rlimit: { cur: 'uint64', max: 'uint64' },
    ocirun_pollfd: { fd: 'int', events: 'short', revents: 'short' },
  };
  for (const [name, fields] of Object.entries(structs)) {
    if (declaredStructs.has(name) || !decl.includes(name)) continue;
    koffi.struct(name, fields);
    declaredStructs.add(name);
  }
}

/** Load koffi and libc (once); each prototype of the core table is declared when first read. */
export function libc(): Bindings {
  if (bound) return bound;
  const koffi = loadKoffi();
  const lib = koffi.load('libc.so.6');
  libcHandle = lib;
  bound = coreBindings(koffi, lib);
  return bound;
}

/**
 * The core table's functions, each declared when first read and kept on
 * the object from then on: a proxy over the table, made on the first
 * libc(). (Defining 39 lazy getters on the object one by one cost that
 * first call ~0.1 ms.)
 */
function coreBindings(koffi: Koffi, lib: ReturnType<Koffi['load']>): Bindings {
  const declared = { koffi } as Record<string, unknown>;
  return new Proxy(declared, {
    get(target, name) {
      const known = target[name as string];
      if (known !== undefined || typeof name !== 'string' || !(name in CORE)) return known;
      const proto = CORE[name as CoreName];
      declareStructsOf(koffi, typeof proto === 'string' ? proto : proto[0]);
      return (target[name] = declare(lib, typeof proto === 'string' ? [proto] : proto));
    },
  }) as unknown as Bindings;
}

/** Whether koffi (and libc through it) has been loaded by this process. */
export function libcLoaded(): boolean {
  return bound !== undefined;
}

/**
 * _exit(2) when koffi is loaded already, without Node's exit; nothing (it
 * returns) when it is not: loading it only for this would cost more than it
 * saves. See linux/selfexit.ts.
 */
export function exitIfLoaded(code: number): void {
  bound?._exit(code);
}

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
      fn = declare(libcHandle as ReturnType<Koffi['load']>, proto);
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

const optionalLibraries = new Map<string, ReturnType<Koffi['load']> | Error>();

/**
 * A shared library ocirun can do without (libseccomp, libsystemd): loaded
 * once; when it is missing, the same error every time, naming the package.
 */
export function loadOptionalLibrary(soname: string, debianPackage: string): ReturnType<Koffi['load']> {
  let got = optionalLibraries.get(soname);
  if (!got) {
    try {
      got = libc().koffi.load(soname);
    } catch (err) {
      got = new Error(`${soname} cannot be loaded (install ${debianPackage}): ${(err as Error).message}`, { cause: err });
    }
    optionalLibraries.set(soname, got);
  }
  if (got instanceof Error) throw got;
  return got;
}
