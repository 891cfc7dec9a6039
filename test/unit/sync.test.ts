// linux/sync.ts: the sync protocol's framing on a real socketpair (no root):
// every message round-trips, fds travel with the message that names them,
// and an `error` message becomes a PeerError in the describer's words.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerError, SyncChannel, type SyncMessage } from '../../src/linux/sync.js';
import { close, socketpair, writeAll } from '../../src/sys/calls.js';

function pair(t: { teardown(fn: () => void): void }): [SyncChannel, SyncChannel] {
  const [a, b] = socketpair();
  t.teardown(() => { for (const fd of [a, b]) { try { close(fd); } catch { /* closed by the test */ } } });
  return [new SyncChannel(a), new SyncChannel(b)];
}

t.test('every message type round-trips', async (t) => {
  const [a, b] = pair(t);
  const messages: SyncMessage[] = [
    { type: 'idmap-request', pid: 1234 }, { type: 'idmap-done' }, { type: 'init-pid', pid: 99, tasksDone: 5, clonedInto: true }, { type: 'cgroups', tasks: 3, v2: false },
    { type: 'plan', plan: Buffer.from('OCIPLAN1 payload') }, { type: 'run-hooks' }, { type: 'hooks-done' },
    { type: 'ready' }, { type: 'exec', plan: Buffer.alloc(0) }, { type: 'exec', plan: Buffer.from('OCIPLAN1 settings') }, { type: 'error', failure: { op: 3, errno: 2, detail: 0x201, step: 'mount' } },
  ];
  for (const m of messages) a.send(m);
  for (const m of messages) t.same(b.receive(), m, m.type);
});

t.test('fds come with the message that carries them, not with a later one', async (t) => {
  const [a, b] = pair(t);
  const dir = mkdtempSync(join(tmpdir(), 'ocirun-sync-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), 'carried');
  const fd = openSync(join(dir, 'f'), 'r');
  a.send({ type: 'init-pid', pid: 7, tasksDone: 0, clonedInto: false });
  a.send({ type: 'plan', plan: Buffer.from('p') }, [fd]);
  close(fd);
  a.send({ type: 'ready' });
  t.same(b.receiveWithFds(), { msg: { type: 'init-pid', pid: 7, tasksDone: 0, clonedInto: false }, fds: [] });
  const got = b.receiveWithFds();
  t.same(got.msg, { type: 'plan', plan: Buffer.from('p') });
  t.equal(got.fds.length, 1);
  t.equal(readFileSync(got.fds[0] as number, 'utf8'), 'carried', 'the fd names the file sent');
  close(got.fds[0] as number);
  t.same(b.receiveWithFds(), { msg: { type: 'ready' }, fds: [] });
});

t.test('a message split across writes, and two in one write, are framed right', async (t) => {
  const [a, b] = pair(t);
  const frame = (code: number, payload: Buffer): Buffer => {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(code, 0);
    h.writeUInt32LE(payload.length, 4);
    return Buffer.concat([h, payload]);
  };
  const pid = Buffer.alloc(12);
  pid.writeInt32LE(42);
  pid.writeUInt32LE(3, 4);
  const bytes = Buffer.concat([frame(3, pid), frame(7, Buffer.alloc(0))]);
  writeAll(a.fd, bytes.subarray(0, 5));
  // The rest comes later from another process, while receive() is blocked on the first five bytes.
  const rest = [...bytes.subarray(5)].map((x) => `\\${x.toString(8).padStart(3, '0')}`).join('');
  const writer = spawn('sh', ['-c', `sleep 0.1; printf '${rest}'`], { stdio: ['ignore', a.fd, 'inherit'] });
  t.same(b.receive(), { type: 'init-pid', pid: 42, tasksDone: 3, clonedInto: false });
  t.same(b.receive(), { type: 'ready' });
  await new Promise((r) => writer.on('exit', r));
});

t.test('expect: the wanted type, a PeerError in the describer\'s words, or a protocol error', async (t) => {
  const [a, b] = pair(t);
  a.send({ type: 'ready' });
  t.same(b.expect('ready'), { type: 'ready' });
  a.send({ type: 'error', failure: { op: -1, errno: 1, detail: 0, step: 'setns' } });
  t.throws(() => b.expect('ready'), { name: 'PeerError', message: 'setns: EPERM' }, 'default wording: step and errno name');
  b.describe = (f) => ({ message: `op ${f.op} failed`, hook: f.detail === 2 });
  a.send({ type: 'error', failure: { op: 5, errno: 1, detail: 2, step: 'hook' } });
  try {
    b.expect('ready');
    t.fail('expect returned');
  } catch (err) {
    t.ok(err instanceof PeerError);
    t.equal((err as PeerError).message, 'op 5 failed');
    t.equal((err as PeerError).hook, true);
    t.same((err as PeerError).failure, { op: 5, errno: 1, detail: 2, step: 'hook' });
  }
  a.send({ type: 'exec', plan: Buffer.alloc(0) });
  t.throws(() => b.expect('ready'), { message: 'sync: expected ready, got exec' });
  writeAll(a.fd, Buffer.from([99, 0, 0, 0, 0, 0, 0, 0]));
  t.throws(() => b.receive(), { message: 'sync: unknown message type 99' });
});

t.test('the end of the peer: receive throws, receiveOrEnd says null, receiveIfReady never blocks', async (t) => {
  const [a, b] = pair(t);
  t.equal(b.receiveIfReady(), null, 'nothing waiting');
  a.send({ type: 'hooks-done' });
  t.same(b.receiveIfReady(), { type: 'hooks-done' });
  close(a.fd);
  t.equal(b.receiveOrEnd(), null);
  t.throws(() => b.receive(), { name: 'PeerError', message: 'the container init exited before it was ready' });
  t.ok(fstatSync(b.fd).isSocket());
});

t.test('receiveIfReady does not wait for the rest of a message whose writer died part way (the other end still open)', async (t) => {
  const [a, b] = pair(t);
  // An init-pid header announcing 12 bytes, and only 4 of them: what a stage 1 killed between writes left.
  const head = Buffer.alloc(8);
  head.writeUInt32LE(3, 0);
  head.writeUInt32LE(12, 4);
  writeAll(a.fd, Buffer.concat([head, Buffer.alloc(4)]));
  t.equal(b.receiveIfReady(), null, 'a header alone: null, at once');
  t.equal(b.receiveIfReady(), null, 'and again');
  // Should the rest come after all, the message is whole and read.
  const rest = Buffer.alloc(8);
  rest.writeInt32LE(5, 0);
  writeAll(a.fd, rest);
  t.same(b.receiveIfReady(), { type: 'init-pid', pid: 0, tasksDone: 5, clonedInto: false }, 'the completed message');
});
