// bpf(2): load a cgroup device program and attach it to a cgroup directory
// (cgroup v2's device controller). glibc has no wrapper; union bpf_attr is
// laid out by hand from include/uapi/linux/bpf.h.
import { SYS } from './constants.js';
import { SysError } from './errors.js';
import { lastErrno, libc, libcFunction } from './libc.js';

const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_PROG_QUERY = 16;

export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
/** several programs may sit on one cgroup; all must allow */
export const BPF_F_ALLOW_MULTI = 2;

type Fn = (...args: unknown[]) => number | bigint;
const bpfCall = libcFunction('syscall', 'long', ['long', 'int', '_Inout_ uint8_t *', 'uint']) as Fn;

function bpf(cmd: number, attr: Buffer, what: string): number {
  const r = Number(bpfCall(SYS.bpf, cmd, attr, attr.length));
  if (r < 0) throw new SysError(`bpf ${what}`, lastErrno());
  return r;
}

/** Native memory holding `data`, for the pointers inside bpf_attr; freed by the caller. */
function native(data: Buffer): { ptr: unknown; address: bigint } {
  const { koffi } = libc();
  const ptr = koffi.alloc('uint8_t', Math.max(1, data.length));
  new Uint8Array(koffi.view(ptr, data.length)).set(data);
  return { ptr, address: koffi.address(ptr) };
}

/**
 * Load a program. Without a log first (the verifier is faster without one);
 * a refusal is loaded again with the log, so the error carries the
 * verifier's last words. EAGAIN (the verifier saw a signal pending) is retried
 * a few times, as libbpf does.
 */
export function bpfProgLoad(type: number, insns: Buffer, license: string): number {
  try {
    return loadOnce(type, insns, license, false);
  } catch {
    return loadOnce(type, insns, license, true);
  }
}

function loadOnce(type: number, insns: Buffer, license: string, withLog: boolean): number {
  const { koffi } = libc();
  const code = native(insns);
  const lic = native(Buffer.from(`${license}\0`));
  const logSize = withLog ? 65536 : 0;
  const log = withLog ? native(Buffer.alloc(logSize)) : null;
  try {
    const attr = Buffer.alloc(128);
    attr.writeUInt32LE(type, 0); // prog_type
    attr.writeUInt32LE(insns.length / 8, 4); // insn_cnt
    attr.writeBigUInt64LE(code.address, 8); // insns
    attr.writeBigUInt64LE(lic.address, 16); // license
    if (log) {
      attr.writeUInt32LE(1, 24); // log_level
      attr.writeUInt32LE(logSize, 28); // log_size
      attr.writeBigUInt64LE(log.address, 32); // log_buf
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return bpf(BPF_PROG_LOAD, attr, 'BPF_PROG_LOAD');
      } catch (err) {
        if (err instanceof SysError && err.code === 'EAGAIN' && attempt < 5) continue;
        if (log && err instanceof SysError) {
          const text = Buffer.from(koffi.view(log.ptr, logSize)).toString('utf8').replace(/\0[\s\S]*$/, '').trim();
          if (text) err.message += ` (verifier: ${text.split('\n').slice(-3).join(' | ')})`;
        }
        throw err;
      }
    }
  } finally {
    koffi.free(code.ptr);
    koffi.free(lic.ptr);
    if (log) koffi.free(log.ptr);
  }
}

function attachAttr(targetFd: number, progFd: number, attachType: number, flags: number): Buffer {
  const attr = Buffer.alloc(32);
  attr.writeUInt32LE(targetFd, 0); // target_fd
  attr.writeUInt32LE(progFd, 4); // attach_bpf_fd
  attr.writeUInt32LE(attachType, 8); // attach_type
  attr.writeUInt32LE(flags, 12); // attach_flags
  return attr;
}

export function bpfProgAttach(cgroupFd: number, progFd: number, attachType: number, flags: number): void {
  bpf(BPF_PROG_ATTACH, attachAttr(cgroupFd, progFd, attachType, flags), 'BPF_PROG_ATTACH');
}

export function bpfProgDetach(cgroupFd: number, progFd: number, attachType: number): void {
  bpf(BPF_PROG_DETACH, attachAttr(cgroupFd, progFd, attachType, 0), 'BPF_PROG_DETACH');
}

/** The ids of the programs attached to a cgroup for one attach type. */
export function bpfProgQuery(cgroupFd: number, attachType: number): number[] {
  const { koffi } = libc();
  const max = 64;
  const ids = native(Buffer.alloc(max * 4));
  try {
    const attr = Buffer.alloc(40);
    attr.writeUInt32LE(cgroupFd, 0); // target_fd
    attr.writeUInt32LE(attachType, 4); // attach_type
    attr.writeBigUInt64LE(ids.address, 16); // prog_ids
    attr.writeUInt32LE(max, 24); // prog_cnt (in: room, out: count)
    bpf(BPF_PROG_QUERY, attr, 'BPF_PROG_QUERY');
    const count = attr.readUInt32LE(24);
    const view = Buffer.from(koffi.view(ids.ptr, max * 4));
    return Array.from({ length: Math.min(count, max) }, (_, i) => view.readUInt32LE(i * 4));
  } finally {
    koffi.free(ids.ptr);
  }
}

/** An fd for an attached program, by id (to detach it). */
export function bpfProgGetFdById(id: number): number {
  const attr = Buffer.alloc(16);
  attr.writeUInt32LE(id, 0);
  return bpf(BPF_PROG_GET_FD_BY_ID, attr, 'BPF_PROG_GET_FD_BY_ID');
}
