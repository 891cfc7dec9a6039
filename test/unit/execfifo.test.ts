// start's end of exec.fifo (releaseInit) against a stand-in init, a shell
// that opens the fifo for writing as the real one does: start returns only
// once the init's end is closed (the program's execve closes it), not at the
// init's "0", and is never held longer than its bound by an init that stops.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeExecFifo, releaseInit } from '../../src/linux/execfifo.js';
import { close, open, pollOne } from '../../src/sys/calls.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDONLY, POLLIN } from '../../src/sys/constants.js';

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocirun-execfifo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A stand-in init: opens the fifo for writing and runs `then` with it on fd 3.
 * As with the real init, its end is open before start comes: a reader of
 * our own lets that open through, waits (unread) for the first byte, so that
 * releaseInit's unlink cannot come first, and stays open until the test
 * ends, so that what the stand-in wrote outlives its exit (a pipe with
 * neither end open drops its contents).
 */
function standIn(t: { teardown(fn: () => void): void }, fifo: string, then: string): ChildProcess {
  const early = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  const child = spawn('sh', ['-c', `exec 3>"$0"; ${then}`, fifo], { stdio: 'ignore' });
  t.teardown(() => { child.kill('SIGKILL'); });
  const until = Date.now() + 5000;
  t.teardown(() => close(early));
  while (pollOne(early, POLLIN, 50) === 0 && Date.now() < until) { /* the init's first byte, or its end closing */ }
  return child;
}

/** A new exec.fifo, in dir (a scratch directory of the test's by default). */
function newFifo(t: { teardown(fn: () => void): void }, name = 'exec.fifo', dir = scratch(t)): string {
  const fifo = join(dir, name);
  makeExecFifo(fifo, null);
  return fifo;
}

/** start (releaseInit) against a stand-in init running `then`: how long it took, in ms, and whether the fifo is gone. */
function timedStart(t: { teardown(fn: () => void): void }, then: string): { took: number; removed: boolean } {
  const fifo = newFifo(t);
  const init = standIn(t, fifo, then);
  const t0 = Date.now();
  releaseInit(fifo, alive(init));
  return { took: Date.now() - t0, removed: !existsSync(fifo) };
}

/** Whether it runs, from /proc (the event loop that would note its exit is blocked meanwhile). */
const alive = (child: ChildProcess) => () => {
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${child.pid}/stat`, 'utf8')); } catch { return false; }
};

t.test('start returns once the init\'s end closes, not at its answer', async (t) => {
  // "0", then 400 ms before the end closes (a slow execve).
  const { took, removed } = timedStart(t, 'printf 0 >&3; sleep 0.4; exec 3>&-; sleep 5');
  t.ok(took >= 350, `returned after the end closed (${took} ms), not at the "0"`);
  t.ok(took < 1800, `and not after the bound (${took} ms)`);
  t.ok(removed, 'the fifo is removed');
});

t.test('an init that never closes its end holds start at most ~2 s', async (t) => {
  const { took } = timedStart(t, 'printf 0 >&3; sleep 30');
  t.ok(took >= 1900 && took < 4000, `returned after the bound (${took} ms)`);
});

t.test('an init that answers and is gone before closing lets start return', async (t) => {
  const fifo = newFifo(t);
  const init = standIn(t, fifo, 'printf 0 >&3; exit 127');
  releaseInit(fifo, alive(init));
  t.pass('returned (the program\'s execve failing is the container\'s exit, not start\'s error)');
});

t.test('the init\'s error, and an init gone before answering, are start\'s errors', async (t) => {
  const dir = scratch(t);
  const failing = newFifo(t, 'failing.fifo', dir);
  const hook = standIn(t, failing, 'printf "EstartContainer hook #0 (/bin/false): exit status 1" >&3; exit 127');
  // Gone before start looks: start's own end then sees the answer but never its writer close.
  const until = Date.now() + 5000;
  while (alive(hook)() && Date.now() < until) pollOne(-1, 0, 10);
  t.throws(() => releaseInit(failing, alive(hook)), { message: 'startContainer hook #0 (/bin/false): exit status 1' });
  const gone = newFifo(t, 'gone.fifo', dir);
  const quitter = standIn(t, gone, 'exit 1');
  t.throws(() => releaseInit(gone, alive(quitter)), /container init exited before it could start/);
});
