// One conversation with CRIU's RPC service: `criu swrk 3` runs as our child
// with one end of a SOCK_SEQPACKET pair as its fd 3; we send criu_req
// messages and read criu_resp ones, answering the notifications CRIU sends
// at each step of a dump or restore (notify_scripts) until the final answer.
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { close, writeAll } from '../sys/calls.js';
import { seqpacketPair } from '../sys/seqpacket.js';
import { recvWithFds } from '../sys/socket.js';
import { type Codec, criuCodec, type CriuReq, type CriuResp } from './schema.js';

/** A notification from CRIU; fds are any it attached (the orphan pty master). Throw to make CRIU fail. */
export type NotifyHandler = (script: string, pid: number, fds: number[]) => void;

export interface SwrkSpawn {
  criu: string;
  /** criu's fds 0-2: our fds to hand over, or 'ignore' for /dev/null */
  stdio: [number | 'ignore', number | 'ignore', number | 'ignore'];
  /** fds CRIU gets as its 4, 5, …: what inherit_fd and join_ns name */
  extraFds?: readonly number[];
}

/** The fd number in CRIU of extraFds[i]. */
export const extraFdNumber = (i: number): number => 4 + i;

export class CriuSession {
  private open = true;
  private readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess, private readonly sock: number, private readonly codec: Codec) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      child.once('exit', (code, signal) => resolve(signal ? null : code));
      child.once('error', () => resolve(null));
      // Should anyone else reap it (waitpid(-1) elsewhere), Node never hears of the exit: watch /proc too.
      const timer = setInterval(() => {
        if (child.pid !== undefined && !existsSync(`/proc/${child.pid}`)) resolve(null);
      }, 200);
      timer.unref();
    });
  }

  static start(s: SwrkSpawn): CriuSession {
    const codec = criuCodec();
    const [ours, theirs] = seqpacketPair();
    let child: ChildProcess;
    try {
      const stdio: StdioOptions = [...s.stdio, theirs, ...(s.extraFds ?? [])];
      child = spawn(s.criu, ['swrk', '3'], { stdio, detached: false });
    } catch (err) {
      close(ours);
      throw err;
    } finally {
      close(theirs);
    }
    // Without a pid the exec failed; the socket then reads end of file.
    return new CriuSession(child, ours, codec);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  private send(req: CriuReq): void {
    writeAll(this.sock, Buffer.from(this.codec.encodeRequest(req)));
  }

  private receive(): { resp: CriuResp; fds: number[] } | null {
    const { data, fds } = recvWithFds(this.sock, 1 << 16);
    if (data.length === 0) return null;
    return { resp: this.codec.decodeResponse(data), fds };
  }

  /**
   * Send one request and answer notifications until its response arrives.
   * A notification handler that throws makes CRIU abort; its error wins over
   * CRIU's own, which would only say that a notification failed.
   */
  request(req: CriuReq, onNotify: NotifyHandler = () => {}): CriuResp {
    if (!this.open) throw new Error('criu: the session is closed');
    this.send(req);
    let handlerError: Error | null = null;
    for (;;) {
      const got = this.receive();
      if (!got) {
        if (handlerError) throw handlerError;
        throw new Error(`criu swrk ended without answering the ${req.type} request`);
      }
      const { resp, fds } = got;
      if (resp.type !== 'NOTIFY') {
        for (const fd of fds) close(fd);
        if (handlerError) throw handlerError;
        return resp;
      }
      let ok = true;
      try {
        if (!handlerError) onNotify(resp.notify?.script ?? '', resp.notify?.pid ?? 0, fds);
      } catch (err) {
        handlerError = err as Error;
        ok = false;
      } finally {
        for (const fd of fds) { try { close(fd); } catch { /* the handler took it */ } }
      }
      this.send({ type: 'NOTIFY', notify_success: ok });
    }
  }

  /** Close our end (CRIU exits on end of file) and wait for it to go. */
  async finish(): Promise<number | null> {
    if (this.open) {
      this.open = false;
      close(this.sock);
    }
    return this.exited;
  }
}
