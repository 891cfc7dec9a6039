// The init's operations and their encoding: the fixed binary format that the
// native executor carries out in the cloned child (native/plan.h documents
// it; the op codes and field orders here must match it). No JavaScript runs
// in the container: a failing op comes back as its index, and `what` names
// the config field in the error of `create`.
import { bitMask, type SchedulerPlan, schedAttr } from './sched.js';

/** mount's `how` bits (MOUNT_* in native/plan.h). */
export const MOUNT_IN_ROOT = 1;
export const MOUNT_MKDIR = 2;
export const MOUNT_MKFILE = 4;
export const MOUNT_SELF = 8;
export const MOUNT_SKIP_MISSING = 16;
export const MOUNT_KEEP_LOCKED = 32;
export const MOUNT_SYSFS_BIND = 64;

export interface HookRun { path: string; args: string[]; env: string[]; timeout: number }

/** The startContainer part of finalize: what happens between READY and execve. */
export interface StartPlan {
  /** slot of exec.fifo among the fds sent with the plan */
  fifoSlot: number;
  hooks: HookRun[];
  state: string;
}

export interface FinalizeOp {
  umask: number;
  setGroups: boolean;
  groups: number[];
  uid: number;
  gid: number;
  /** decimal strings: uint64 masks */
  capBounding: string;
  capEffective: string;
  capPermitted: string;
  capInheritable: string;
  capAmbient: string;
  lastCap: number;
  noNewPrivs: boolean;
  /** struct sock_filter[] in base64, or "" */
  seccomp: string;
  seccompFlags: number;
  listenerSlot: number;
  listenerState: string;
  preserveFds: number;
  cwd: string;
  argv: string[];
  env: string[];
  /** LSM exec labels as [file, text] */
  execAttrs: [string, string][];
  start: StartPlan;
}

/** One operation; `what` names what it does for the config, for errors and `ocirun plan`. */
export type InitOp = { what: string } & (
  | { op: 'open-root'; path: string }
  | { op: 'mount'; how: number; source: string; target: string; fstype: string; flags: number; data: string }
  | { op: 'setattr'; target: string; set: number; clear: number }
  | { op: 'attach'; how: number; slot: number; target: string }
  | { op: 'mknod'; path: string; mode: number; major: number; minor: number; uid: number; gid: number; bind: boolean }
  | { op: 'symlink'; dir: string; name: string; target: string; replace: boolean }
  | { op: 'pivot-root'; rootfs: string }
  | { op: 'move-root'; rootfs: string }
  | { op: 'chroot'; rootfs: string }
  | { op: 'mask'; path: string }
  | { op: 'write'; path: string; data: string }
  | { op: 'mkdirs'; path: string }
  | { op: 'sethostname'; name: string }
  | { op: 'setdomainname'; name: string }
  | { op: 'rlimit'; resource: number; soft: string; hard: string }
  | { op: 'sched'; attr: SchedulerPlan }
  | { op: 'ioprio'; value: number }
  | { op: 'mempolicy'; mode: number; nodes: number[] }
  | { op: 'personality'; persona: number }
  | { op: 'affinity'; cpus: number[] }
  | { op: 'unshare'; flags: number }
  | { op: 'keyring'; name: string }
  | { op: 'terminal'; slot: number; rows: number; cols: number }
  | { op: 'runtime-hooks' }
  | { op: 'hook'; kind: string; index: number; hook: HookRun; state: string }
  | { op: 'chdir'; path: string }
  | { op: 'lookpath'; name: string; explicit: boolean; candidates: string[] }
  | { op: 'finalize'; finalize: FinalizeOp }
);

export type OpName = InitOp['op'];

/** Op codes (enum plan_op in native/plan.h). */
export const OP_CODE: Record<OpName, number> = {
  'open-root': 1, mount: 2, setattr: 3, mknod: 4, symlink: 5, 'pivot-root': 6, 'move-root': 7, mask: 8,
  write: 9, mkdirs: 10, sethostname: 11, setdomainname: 12, rlimit: 13, sched: 14, ioprio: 15, mempolicy: 16,
  personality: 17, affinity: 18, unshare: 19, keyring: 20, terminal: 21, 'runtime-hooks': 22, hook: 23,
  chdir: 24, lookpath: 25, finalize: 26, chroot: 27, attach: 28,
};

export const PLAN_MAGIC = 'OCIPLAN1';
/** Header flag: resolve paths by the component walk even where openat2 exists. */
export const PLAN_FLAG_WALK = 1;

/** The plan ready to send: its ops and the flags of its header. */
export interface EncodedPlan { ops: InitOp[]; flags: number }

/**
 * Little-endian fields into one growing buffer (many small Buffers cost more
 * than the plan). Written through a DataView, and strings with Buffer's
 * utf8Write: Node's documented write methods are JavaScript that this
 * process compiles on first use (--no-rehash-snapshot refuses Node's code
 * cache for them), ~0.3 ms of every create; a byte-by-byte copy runs in the
 * interpreter (--no-turbofan, --no-sparkplug) at ~2.5 us a 30-character
 * string, twice utf8Write's cost for the few hundred strings of a plan.
 */
class Writer {
  private buf = Buffer.allocUnsafe(4096);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  private at = 0;
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.length);
  }
  u32(v: number): this { this.room(4); this.view.setUint32(this.at, v >>> 0, true); this.at += 4; return this; }
  i32(v: number): this { this.room(4); this.view.setInt32(this.at, v, true); this.at += 4; return this; }
  u64(v: bigint | number | string): this {
    this.room(8);
    // Most are small numbers (mount flags): two u32s, no BigInt made.
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
      this.view.setUint32(this.at, v % 0x1_0000_0000, true);
      this.view.setUint32(this.at + 4, Math.floor(v / 0x1_0000_0000), true);
    } else {
      this.view.setBigUint64(this.at, BigInt(v), true);
    }
    this.at += 8;
    return this;
  }
  bytes(data: Uint8Array): this { this.room(data.length); this.buf.set(data, this.at); this.at += data.length; return this; }
  blob(data: Uint8Array): this { return this.u32(data.length).bytes(data); }
  /** Length, UTF-8 bytes and a NUL. */
  str(s: string): this {
    if (s.includes('\0')) throw new Error(`a string holds a NUL byte: ${JSON.stringify(s)}`);
    // A UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair, 2 units, is 4).
    this.room(4 + 3 * s.length + 1);
    const n = utf8Write(this.buf, s, this.at + 4);
    this.view.setUint32(this.at, n, true);
    this.buf[this.at + 4 + n] = 0;
    this.at += 4 + n + 1;
    return this;
  }
  strv(list: readonly string[]): this { this.u32(list.length); for (const s of list) this.str(s); return this; }
  /** Reserve a u32 to fill in later (an op's length); returns its offset. */
  hole(): number { this.room(4); this.at += 4; return this.at - 4; }
  fill(offset: number, v: number): void { this.view.setUint32(offset, v >>> 0, true); }
  get length(): number { return this.at; }
  done(): Buffer { return this.buf.subarray(0, this.at); }
}

/** Buffer's own utf8Write (in every Node this project runs on); its documented write() where it is missing. */
type Utf8Writer = Buffer & { utf8Write?: (s: string, offset: number) => number };
function utf8Write(buf: Buffer, s: string, offset: number): number {
  const b = buf as Utf8Writer;
  return typeof b.utf8Write === 'function' ? b.utf8Write(s, offset) : buf.write(s, offset, 'utf8');
}

function payload(w: Writer, op: InitOp): Writer {
  switch (op.op) {
    case 'open-root': return w.str(op.path);
    case 'mount': return w.u32(op.how).str(op.source).str(op.target).str(op.fstype).u64(op.flags).str(op.data);
    case 'setattr': return w.str(op.target).u64(op.set).u64(op.clear);
    case 'attach': return w.u32(op.how).u32(op.slot).str(op.target);
    case 'mknod': return w.str(op.path).u32(op.mode).u32(op.major).u32(op.minor).u32(op.uid).u32(op.gid).u32(op.bind ? 1 : 0);
    case 'symlink': return w.str(op.dir).str(op.name).str(op.target).u32(op.replace ? 1 : 0);
    case 'pivot-root': case 'move-root': case 'chroot': return w.str(op.rootfs);
    case 'mask': case 'mkdirs': case 'chdir': return w.str(op.path);
    case 'write': return w.str(op.path).blob(Buffer.from(op.data));
    case 'sethostname': case 'setdomainname': case 'keyring': return w.str(op.name);
    case 'rlimit': return w.u32(op.resource).u64(op.soft).u64(op.hard);
    case 'sched': return w.blob(schedAttr(op.attr));
    case 'ioprio': return w.u32(op.value);
    // The kernel reads maxnode - 1 bits: whole unsigned longs, no minimum.
    case 'mempolicy': return w.u32(op.mode).blob(op.nodes.length ? bitMask(op.nodes, 8) : Buffer.alloc(0));
    case 'personality': return w.u32(op.persona);
    case 'affinity': return w.blob(bitMask(op.cpus));
    case 'unshare': return w.u32(op.flags);
    case 'terminal': return w.u32(op.slot).u32(op.rows).u32(op.cols);
    case 'runtime-hooks': return w;
    case 'hook': return w.str(op.hook.path).strv(op.hook.args).strv(op.hook.env).i32(op.hook.timeout).str(op.state);
    case 'lookpath': return w.u32(op.explicit ? 1 : 0).strv(op.candidates);
    case 'finalize': {
      const f = op.finalize;
      const groups = Buffer.alloc(4 * f.groups.length);
      f.groups.forEach((g, i) => groups.writeUInt32LE(g, 4 * i));
      w.i32(f.umask).u32(f.setGroups ? 1 : 0).blob(groups).u32(f.uid).u32(f.gid)
        .u64(f.capBounding).u64(f.capEffective).u64(f.capPermitted).u64(f.capInheritable).u64(f.capAmbient)
        .u32(f.lastCap).u32(f.noNewPrivs ? 1 : 0).blob(Buffer.from(f.seccomp, 'base64')).u32(f.seccompFlags)
        .i32(f.listenerSlot).str(f.listenerState).u32(f.preserveFds).str(f.cwd).strv(f.argv).strv(f.env)
        .strv(f.execAttrs.flat()).u32(f.start.fifoSlot).u32(f.start.hooks.length);
      for (const h of f.start.hooks) w.str(h.path).strv(h.args).strv(h.env).i32(h.timeout);
      return w.str(f.start.state);
    }
  }
}

/** The plan in the executor's format (native/plan.h). */
export function encodePlan(plan: EncodedPlan): Buffer {
  const w = new Writer();
  w.bytes(Buffer.from(PLAN_MAGIC, 'latin1')).u32(plan.flags).u32(plan.ops.length);
  for (const op of plan.ops) {
    w.u32(OP_CODE[op.op]);
    const len = w.hole();
    const start = w.length;
    payload(w, op);
    w.fill(len, w.length - start);
  }
  return Buffer.from(w.done());
}
