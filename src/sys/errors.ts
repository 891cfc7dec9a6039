/**
 * Linux's errno names as Node's os.constants.errno gives them (the first
 * name of each number), the same on x86-64 and arm64 (asm-generic): a
 * table here, because node:os costs ~0.3 ms to load and a delete meets an
 * ESRCH or ENOENT on its normal path. A unit test holds it equal to Node's.
 */
const ERRNO_NAMES = 'EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT - EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ELOOP';
const MORE_ERRNO_NAMES: Readonly<Record<number, string>> = {
  42: 'ENOMSG', 43: 'EIDRM', 60: 'ENOSTR', 61: 'ENODATA', 62: 'ETIME', 63: 'ENOSR', 67: 'ENOLINK', 71: 'EPROTO',
  72: 'EMULTIHOP', 74: 'EBADMSG', 75: 'EOVERFLOW', 84: 'EILSEQ', 88: 'ENOTSOCK', 89: 'EDESTADDRREQ', 90: 'EMSGSIZE',
  91: 'EPROTOTYPE', 92: 'ENOPROTOOPT', 93: 'EPROTONOSUPPORT', 95: 'ENOTSUP', 97: 'EAFNOSUPPORT', 98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL', 100: 'ENETDOWN', 101: 'ENETUNREACH', 102: 'ENETRESET', 103: 'ECONNABORTED', 104: 'ECONNRESET',
  105: 'ENOBUFS', 106: 'EISCONN', 107: 'ENOTCONN', 110: 'ETIMEDOUT', 111: 'ECONNREFUSED', 113: 'EHOSTUNREACH',
  114: 'EALREADY', 115: 'EINPROGRESS', 116: 'ESTALE', 122: 'EDQUOT', 125: 'ECANCELED',
};

/** The symbolic name of an errno value, e.g. 1 → "EPERM". */
export function errnoName(errno: number): string {
  const base = errno >= 1 ? ERRNO_NAMES.split(' ')[errno - 1] : undefined;
  const name = base !== undefined && base !== '-' ? base : MORE_ERRNO_NAMES[errno];
  return name ?? `errno ${errno}`;
}

/** A failed system call: which call, the errno and its name, and the path involved if any. */
export class SysError extends Error {
  readonly syscall: string;
  readonly errno: number;
  readonly code: string;
  readonly path: string | undefined;

  constructor(syscall: string, errno: number, path?: string) {
    const code = errnoName(errno);
    super(path === undefined ? `${syscall}: ${code}` : `${syscall} ${path}: ${code}`);
    this.name = 'SysError';
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
    this.path = path;
  }
}
