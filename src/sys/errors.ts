let errnoNames: Map<number, string> | undefined;

/** The symbolic name of an errno value, e.g. 1 → "EPERM". */
export function errnoName(errno: number): string {
  // node:os (~0.3 ms to load) only once a call has failed.
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, code] of Object.entries(process.getBuiltinModule('node:os').constants.errno)) {
      if (!errnoNames.has(code)) errnoNames.set(code, name);
    }
  }
  return errnoNames.get(errno) ?? `errno ${errno}`;
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
