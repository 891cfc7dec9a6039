// The runtime ↔ container sync socket. One framing and one message table,
// shared with native/sync.h (keep them in step): an 8-byte header (u32
// type, u32 payload length, little-endian), then the payload; fds travel as
// SCM_RIGHTS on the message that names them. Blocking reads: both sides
// are sequential programs.
//
//   type  message         from → to               payload
//   1     idmap-request   stage 1 → runtime       i32 pid (new user namespace only)
//   2     idmap-done      runtime → stage 1       –
//   3     init-pid        stage 1 → runtime       i32 pid, u32 mask of the `tasks` fds written, u32 1: cloned into the cgroup2 dir
//   4     plan            runtime → init          the plan (native/plan.h) + exec.fifo, listener, console fds
//   5     run-hooks       init → runtime          – (mounts done: prestart, createRuntime)
//   6     hooks-done      runtime → init          –
//   7     ready           init → runtime          – (from finalize: process prepared, next it waits on exec.fifo)
//   8     exec            runtime → exec process  its settings plan, or nothing (placed in cgroups: go on)
//   9     error           native → runtime        i32 op index, i32 errno, i32 detail, step name + NUL
//  10     cgroups         runtime → stage 1       u32 number of v1 `tasks` fds, u32 1: a cgroup2 dir fd follows; the fds
import { writeAll } from '../sys/calls.js';
import { recvWithFds, sendWithFds } from '../sys/socket.js';
import { errnoName } from '../sys/errors.js';

/** A failure the native step reported: which plan op (-1: none), errno, detail and step. */
export interface NativeFailure { op: number; errno: number; detail: number; step: string }

export type SyncMessage =
  | { type: 'idmap-request'; pid: number }
  | { type: 'idmap-done' }
  /** tasksDone: bit i set when the i-th `tasks` fd of `cgroups` was written; clonedInto: born in the cgroup2 dir */
  | { type: 'init-pid'; pid: number; tasksDone: number; clonedInto: boolean }
  | { type: 'plan'; plan: Buffer }
  | { type: 'run-hooks' }
  | { type: 'hooks-done' }
  | { type: 'ready' }
  /** the process settings the exec'd process applies itself (a plan of ops, native/plan.h; empty: none) */
  | { type: 'exec'; plan: Buffer }
  | { type: 'error'; failure: NativeFailure }
  /** where stage 1 puts the process itself (its fds: `tasks` files, then the cgroup2 dir) */
  | { type: 'cgroups'; tasks: number; v2: boolean };

type MessageType = SyncMessage['type'];

const TYPE_CODE: Record<MessageType, number> = {
  'idmap-request': 1, 'idmap-done': 2, 'init-pid': 3, plan: 4, 'run-hooks': 5, 'hooks-done': 6, ready: 7, exec: 8, error: 9, cgroups: 10,
};
const CODE_TYPE = new Map(Object.entries(TYPE_CODE).map(([k, v]) => [v, k as MessageType]));
const HEADER = 8;

/** The error the other side sent, in its own words. */
export class PeerError extends Error {
  /** hook: a createContainer hook failed (the lifecycle then goes on to poststop) */
  constructor(message: string, readonly failure?: NativeFailure, readonly hook = false) {
    super(message);
    this.name = 'PeerError';
  }
}

function encodePayload(msg: SyncMessage): Buffer {
  switch (msg.type) {
    case 'idmap-request': { const b = Buffer.alloc(4); b.writeInt32LE(msg.pid); return b; }
    case 'init-pid': {
      const b = Buffer.alloc(12);
      b.writeInt32LE(msg.pid, 0);
      b.writeUInt32LE(msg.tasksDone >>> 0, 4);
      b.writeInt32LE(msg.clonedInto ? 1 : 0, 8);
      return b;
    }
    case 'cgroups': {
      const b = Buffer.alloc(8);
      b.writeUInt32LE(msg.tasks, 0);
      b.writeUInt32LE(msg.v2 ? 1 : 0, 4);
      return b;
    }
    case 'plan': case 'exec': return msg.plan;
    case 'error': {
      const step = Buffer.from(`${msg.failure.step}\0`);
      const b = Buffer.alloc(12);
      b.writeInt32LE(msg.failure.op, 0);
      b.writeInt32LE(msg.failure.errno, 4);
      b.writeInt32LE(msg.failure.detail, 8);
      return Buffer.concat([b, step]);
    }
    default: return Buffer.alloc(0);
  }
}

function decode(type: MessageType, p: Buffer): SyncMessage {
  const int = (off: number): number => (p.length >= off + 4 ? p.readInt32LE(off) : 0);
  switch (type) {
    case 'idmap-request': return { type, pid: int(0) };
    case 'init-pid': return { type, pid: int(0), tasksDone: int(4) >>> 0, clonedInto: int(8) === 1 };
    case 'cgroups': return { type, tasks: int(0), v2: int(4) === 1 };
    case 'plan': case 'exec': return { type, plan: p };
    case 'error': {
      const end = p.indexOf(0, 12);
      return { type, failure: { op: int(0), errno: int(4), detail: int(8), step: p.subarray(12, end < 0 ? p.length : end).toString() } };
    }
    default: return { type } as SyncMessage;
  }
}

/** The default wording of a native failure (outside any plan op). */
export function failureText(f: NativeFailure): string {
  return `${f.step}: ${errnoName(f.errno)}`;
}

export class SyncChannel {
  private buffered: Buffer = Buffer.alloc(0);
  /** stream offset of buffered[0] */
  private offset = 0;
  /**
   * fds received and not yet handed out, with the stream offset where the
   * read that brought them ended. A stream socket may join several messages
   * in one read, but the kernel ends a read right after the first part of the
   * message that carries fds (af_unix.c), so its last byte is that message's.
   */
  private pendingFds: { end: number; fds: number[] }[] = [];
  /** turns an `error` message into the error's text, and whether a hook failed (create maps plan ops to config fields) */
  describe: (f: NativeFailure) => { message: string; hook: boolean } = (f) => ({ message: failureText(f), hook: false });

  constructor(readonly fd: number) {}

  /** Send a message, with fds attached to its header when given. */
  send(msg: SyncMessage, fds: readonly number[] = []): void {
    const body = encodePayload(msg);
    const head = Buffer.alloc(HEADER);
    head.writeUInt32LE(TYPE_CODE[msg.type], 0);
    head.writeUInt32LE(body.length, 4);
    const bytes = Buffer.concat([head, body]);
    if (fds.length) sendWithFds(this.fd, bytes, fds);
    else writeAll(this.fd, bytes);
  }

  private parse(): { msg: SyncMessage; fds: number[] } | null {
    if (this.buffered.length < HEADER) return null;
    const code = this.buffered.readUInt32LE(0);
    const len = this.buffered.readUInt32LE(4);
    if (this.buffered.length < HEADER + len) return null;
    const type = CODE_TYPE.get(code);
    if (!type) throw new PeerError(`sync: unknown message type ${code}`);
    const msg = decode(type, Buffer.from(this.buffered.subarray(HEADER, HEADER + len)));
    this.buffered = this.buffered.subarray(HEADER + len);
    this.offset += HEADER + len;
    const fds = this.pendingFds.filter((p) => p.end <= this.offset).flatMap((p) => p.fds);
    this.pendingFds = this.pendingFds.filter((p) => p.end > this.offset);
    return { msg, fds };
  }

  /** The next message and the fds that came with it; throws when the peer closed the socket first. */
  receiveWithFds(): { msg: SyncMessage; fds: number[] } {
    return this.next(false);
  }

  /**
   * The next whole message: waited for, or (`now`) only what is here already,
   * else null. Throws when the peer closed the socket first.
   */
  private next(now: false): { msg: SyncMessage; fds: number[] };
  private next(now: true): { msg: SyncMessage; fds: number[] } | null;
  private next(now: boolean): { msg: SyncMessage; fds: number[] } | null {
    for (;;) {
      const got = this.parse();
      if (got) return got;
      const { data, fds, again } = recvWithFds(this.fd, 65536, now);
      if (again) return null;
      if (fds.length) this.pendingFds.push({ end: this.offset + this.buffered.length + data.length, fds });
      if (data.length === 0) throw new PeerError('the container init exited before it was ready');
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, data]) : data;
    }
  }

  /** The next message (fds that came with it are not expected from the native side). */
  receive(): SyncMessage {
    return this.receiveWithFds().msg;
  }

  /** The next message, or null when the peer closed the socket (for exec: execve succeeded). */
  receiveOrEnd(): SyncMessage | null {
    try {
      return this.receive();
    } catch (err) {
      if (err instanceof PeerError && this.buffered.length === 0) return null;
      throw err;
    }
  }

  /**
   * A message that is already here whole, or null; never blocks. (Part of
   * one may be all there is: a stage 1 killed while it wrote, before the
   * native step wrote each message in one call. Waiting for the rest would
   * wait forever, since the init holds the other end open.)
   */
  receiveIfReady(): SyncMessage | null {
    try {
      return this.next(true)?.msg ?? null;
    } catch {
      return null;
    }
  }

  /** The error a message stands for, when it is an `error`. */
  errorOf(msg: SyncMessage): PeerError | null {
    if (msg.type !== 'error') return null;
    const { message, hook } = this.describe(msg.failure);
    return new PeerError(message, msg.failure, hook);
  }

  /** Wait for one message type; an `error` message from the peer becomes a thrown PeerError. */
  expect<T extends MessageType>(type: T): Extract<SyncMessage, { type: T }> {
    const msg = this.receive();
    if (msg.type === type) return msg as Extract<SyncMessage, { type: T }>;
    throw this.errorOf(msg) ?? new PeerError(`sync: expected ${type}, got ${msg.type}`);
  }
}
