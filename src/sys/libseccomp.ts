// libseccomp through koffi: compiles a seccomp rule set into the BPF program
// the kernel loads. Only the runtime (parent) loads it, and only when a config
// has linux.seccomp; the init receives finished bytes and never needs it.
//
// libseccomp.so.2 is found by the dynamic loader like any system library
// (ld.so.cache, LD_LIBRARY_PATH); no headers are needed at build time, the
// few prototypes and constants below are those of libseccomp's stable ABI
// (seccomp.h, 2.5).
import { fstatSync, readFileSync, readSync } from 'node:fs';
import { SysError } from './errors.js';
import { libc, libcFunction, loadOptionalLibrary } from './libc.js';

type Fn = (...args: unknown[]) => unknown;

interface Lib {
  init: Fn; release: Fn; archAdd: Fn; archResolve: Fn; archNative: Fn; resolveName: Fn;
  ruleAdd: Fn; exportBpf: Fn; version: Fn; memfdCreate: Fn; close: Fn;
}

let lib: Lib | undefined;

export const LIBSECCOMP_SONAME = 'libseccomp.so.2';

function load(): Lib {
  if (lib) return lib;
  const so = loadOptionalLibrary(LIBSECCOMP_SONAME, 'libseccomp2');
  const { koffi } = libc();
  const f = (l: typeof so, decl: string): Fn => l.func(decl) as unknown as Fn;
  koffi.struct('ocirun_scmp_version', { major: 'uint', minor: 'uint', micro: 'uint' });
  lib = {
    init: f(so, 'void *seccomp_init(uint32_t def_action)'),
    release: f(so, 'void seccomp_release(void *ctx)'),
    archAdd: f(so, 'int seccomp_arch_add(void *ctx, uint32_t arch)'),
    archResolve: f(so, 'uint32_t seccomp_arch_resolve_name(const char *name)'),
    archNative: f(so, 'uint32_t seccomp_arch_native()'),
    resolveName: f(so, 'int seccomp_syscall_resolve_name(const char *name)'),
    ruleAdd: f(so, 'int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int count, const void *args)'),
    exportBpf: f(so, 'int seccomp_export_bpf(void *ctx, int fd)'),
    version: f(so, 'const ocirun_scmp_version *seccomp_version()'),
    memfdCreate: libcFunction('int memfd_create(const char *name, unsigned int flags)'),
    close: libcFunction('int close(int fd)'),
  };
  return lib;
}

/** True when libseccomp can be loaded here. */
export function libseccompAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/** "2.5.4" */
export function libseccompVersion(): string {
  // seccomp_version() returns a pointer to a static struct: koffi hands back the pointer, decode it.
  const v = libc().koffi.decode(load().version(), 'ocirun_scmp_version') as { major: number; minor: number; micro: number };
  return `${v.major}.${v.minor}.${v.micro}`;
}

/**
 * Which libseccomp this process loaded: its version, and the device, inode
 * and path of the file the loader mapped (/proc/self/maps), so that an
 * upgraded or rebuilt library is a different one even under the same
 * version. null when the mapping cannot be found.
 */
export function libseccompIdentity(): string | null {
  const version = libseccompVersion();
  for (const line of readFileSync('/proc/self/maps', 'latin1').split('\n')) {
    if (!line.includes('/libseccomp.so')) continue;
    // start-end perms offset major:minor inode path (only the path has a slash)
    const fields = line.split(' ').filter((f) => f !== '');
    return `${version} ${fields[3]} ${fields[4]} ${line.slice(line.indexOf('/'))}`;
  }
  return null;
}

// Action values (seccomp.h): the kernel's SECCOMP_RET_* with the data bits.
export const SCMP_ACT_KILL_PROCESS = 0x80000000;
export const SCMP_ACT_KILL_THREAD = 0x00000000;
export const SCMP_ACT_TRAP = 0x00030000;
export const SCMP_ACT_NOTIFY = 0x7fc00000;
export const SCMP_ACT_LOG = 0x7ffc0000;
export const SCMP_ACT_ALLOW = 0x7fff0000;
export const scmpActErrno = (errno: number): number => (0x00050000 | (errno & 0xffff)) >>> 0;
export const scmpActTrace = (msg: number): number => (0x7ff00000 | (msg & 0xffff)) >>> 0;

/** enum scmp_compare */
export const SCMP_CMP = {
  SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7,
} as const;

/** The libseccomp token of an architecture name ("x86_64"), or 0 when it does not know it. */
export function resolveArch(name: string): number {
  return (load().archResolve(name) as number) >>> 0;
}

export function nativeArch(): number {
  return (load().archNative() as number) >>> 0;
}

/** The native syscall number of a name; null when this libseccomp does not know it. */
export function resolveSyscall(name: string): number | null {
  const nr = load().resolveName(name) as number;
  return nr === -1 /* __NR_SCMP_ERROR */ ? null : nr;
}

export interface ArgCompare {
  index: number;
  op: number;
  a: bigint;
  b: bigint;
}

export interface CompileRequest {
  defaultAction: number;
  /** libseccomp arch tokens added beside the native one */
  arches: number[];
  rules: { syscall: number; name: string; action: number; args: ArgCompare[] }[];
}

/** struct scmp_arg_cmp[]: { unsigned int arg; enum scmp_compare op; uint64 datum_a, datum_b } */
function packArgs(args: ArgCompare[]): Buffer | null {
  if (args.length === 0) return null;
  const buf = Buffer.alloc(24 * args.length);
  args.forEach((a, i) => {
    buf.writeUInt32LE(a.index, i * 24);
    buf.writeUInt32LE(a.op, i * 24 + 4);
    buf.writeBigUInt64LE(a.a, i * 24 + 8);
    buf.writeBigUInt64LE(a.b, i * 24 + 16);
  });
  return buf;
}

/** Build the filter and return its BPF program (struct sock_filter[]). */
export function compileFilter(req: CompileRequest): Buffer {
  const l = load();
  const ctx = l.init(req.defaultAction);
  if (!ctx) throw new Error('seccomp_init failed (bad default action?)');
  try {
    let rc: number;
    for (const arch of req.arches) {
      rc = l.archAdd(ctx, arch) as number;
      // -EEXIST: the native architecture is already in a new filter.
      if (rc < 0 && rc !== -17) throw new SysError('seccomp_arch_add', -rc, String(arch));
    }
    for (const r of req.rules) {
      rc = l.ruleAdd(ctx, r.action, r.syscall, r.args.length, packArgs(r.args)) as number;
      if (rc < 0) throw new SysError('seccomp_rule_add', -rc, r.name);
    }
    // libseccomp writes the program to an fd: a memfd, read back whole.
    const fd = l.memfdCreate('ocirun-seccomp', 1 /* MFD_CLOEXEC */) as number;
    if (fd < 0) throw new SysError('memfd_create', libc().koffi.errno());
    try {
      rc = l.exportBpf(ctx, fd) as number;
      if (rc < 0) throw new SysError('seccomp_export_bpf', -rc);
      const size = fstatSync(fd).size;
      const out = Buffer.alloc(size);
      let off = 0;
      while (off < size) off += readSync(fd, out, off, size - off, off);
      return out;
    } finally {
      l.close(fd);
    }
  } finally {
    l.release(ctx);
  }
}
