// The runtime ↔ init sync socket: newline-delimited JSON, one message type
// per lifecycle point. Blocking reads: both sides are sequential programs.
//
//   native stage 1 → runtime   idmap-request {pid}   (new user namespace only)
//   runtime → native stage 1   idmap-done
//   native stage 1 → runtime   init-pid {pid}
//   runtime → init             config {plan} + exec.fifo (O_PATH fd, SCM_RIGHTS)
//   init → runtime             run-hooks              (mounts done: prestart, createRuntime)
//   runtime → init             hooks-done
//   init → runtime             ready                  (from the native finalize: process prepared, next it waits on exec.fifo)
//   either way                 error {message, hook?} (the other side reports it and cleans up; hook: a createContainer hook failed)
import { pollOne, writeAll } from '../sys/calls.js';
import { recvWithFds, sendWithFds } from '../sys/socket.js';
import { POLLIN } from '../sys/constants.js';
import { errnoName } from '../sys/errors.js';
import type { InitPlan } from './initplan.js';

export type SyncMessage =
  | { type: 'idmap-request'; pid: number }
  | { type: 'idmap-done' }
  | { type: 'init-pid'; pid: number }
  | { type: 'config'; plan: InitPlan }
  | { type: 'ready' }
  | { type: 'run-hooks' }
  | { type: 'exec' }
  | { type: 'hooks-done' }
  | { type: 'error'; message: string; stage?: string; errno?: number; hook?: boolean };

/** The error the other side sent, carrying its own words. */
export class PeerError extends Error {
  /** hook: the peer failed because a hook failed (the lifecycle then goes on to poststop) */
  constructor(message: string, readonly hook = false) {
    super(message);
    this.name = 'PeerError';
  }
}

export class SyncChannel {
  private buffered = '';
  /** fds that arrived with messages (SCM_RIGHTS), oldest first */
  private readonly fds: number[] = [];

  constructor(readonly fd: number) {}

  /** Send a message, with fds attached to its bytes when given. */
  send(msg: SyncMessage, fds: readonly number[] = []): void {
    const line = Buffer.from(`${JSON.stringify(msg)}\n`);
    if (fds.length) sendWithFds(this.fd, line, fds);
    else writeAll(this.fd, line);
  }

  /** The oldest fd received and not yet taken. */
  takeFd(what: string): number {
    const fd = this.fds.shift();
    if (fd === undefined) throw new PeerError(`sync: expected an fd for ${what}`);
    return fd;
  }

  /** The next message, or null when the peer closed the socket (for exec: execve succeeded). */
  receiveOrEnd(): SyncMessage | null {
    try {
      return this.receive();
    } catch (err) {
      if (err instanceof PeerError && !this.buffered) return null;
      throw err;
    }
  }

  /** The next message; throws when the peer closed the socket first. */
  receive(): SyncMessage {
    let nl = this.buffered.indexOf('\n');
    // A large message comes in many chunks: they are joined once, and only
    // each new chunk is searched for the end of line (not the whole message
    // again each time, which made a 50 MB plan take many seconds).
    const chunks: Buffer[] = [];
    while (nl < 0) {
      const { data: chunk, fds } = recvWithFds(this.fd, chunks.length ? 1 << 20 : 65536);
      this.fds.push(...fds);
      if (chunk.length === 0) {
        this.buffered += Buffer.concat(chunks).toString('utf8');
        throw new PeerError('the container init exited before it was ready');
      }
      chunks.push(chunk);
      if (chunk.includes(0x0a)) {
        this.buffered += Buffer.concat(chunks).toString('utf8');
        nl = this.buffered.indexOf('\n');
      }
    }
    const line = this.buffered.slice(0, nl);
    this.buffered = this.buffered.slice(nl + 1);
    return JSON.parse(line) as SyncMessage;
  }

  /** A message that is already waiting, or null; never blocks. */
  receiveIfReady(): SyncMessage | null {
    if (!this.buffered.includes('\n') && (pollOne(this.fd, POLLIN, 0) & POLLIN) === 0) return null;
    try {
      return this.receive();
    } catch {
      return null;
    }
  }

  /** Wait for one message type; an `error` message from the peer becomes a thrown PeerError. */
  expect<T extends SyncMessage['type']>(type: T): Extract<SyncMessage, { type: T }> {
    const msg = this.receive();
    if (msg.type === type) return msg as Extract<SyncMessage, { type: T }>;
    if (msg.type === 'error') throw new PeerError(msg.errno ? `${msg.message}: ${errnoName(msg.errno)}` : msg.message, msg.hook === true);
    throw new PeerError(`sync: expected ${type}, got ${msg.type}`);
  }
}
