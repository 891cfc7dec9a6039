// Terminals: the pty master reaches the engine over --console-socket (one
// message, the pty name and one fd), the slave is the process's stdio,
// controlling terminal and /dev/console, and consoleSize is applied.
import t from 'tap';
import { closeSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { acceptUnix, listenUnix, recvWithFds } from '../../src/sys/socket.js';
import { getWinSize } from '../../src/sys/tty.js';
import { baseConfig, run, runningContainer, Sandbox, sharedRootfs, SKIP_NOT_ROOT, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

/** Read from the master until `want` shows up (or time runs out). */
async function readUntil(master: number, want: RegExp, ms = 5000): Promise<string> {
  let got = '';
  const end = Date.now() + ms;
  const buf = Buffer.alloc(4096);
  while (Date.now() < end && !want.test(got)) {
    try {
      const n = readSync(master, buf, 0, buf.length, null);
      if (n === 0) break;
      got += buf.subarray(0, n).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') { await new Promise((r) => setTimeout(r, 20)); continue; }
      break; // EIO: the slave side is gone
    }
  }
  return got;
}

t.test('create with a terminal sends the pty master over the console socket', { skip }, async (t) => {
  const config = baseConfig(['sh'], sharedRootfs());
  config.process.terminal = true;
  config.process.consoleSize = { height: 40, width: 132 };
  const box = new Sandbox(t, config);
  const sock = join(box.dir, 'console.sock');
  const listener = listenUnix(sock);
  t.teardown(() => closeSync(listener));
  const id = box.id();
  const c = box.detached(['create', '--bundle', box.bundle, '--console-socket', sock, '--pid-file', join(box.dir, 'pid'), id], id);
  t.equal(c.code, 0, c.stderr);
  // Like the shim: accept only after create has exited.
  const conn = acceptUnix(listener);
  const msg = recvWithFds(conn, 4096);
  closeSync(conn);
  t.equal(msg.fds.length, 1, 'exactly one fd');
  t.match(msg.data.toString(), /^\/dev\/pts\/\d+$/, 'the payload is the pty name');
  const master = msg.fds[0] as number;
  t.teardown(() => { try { closeSync(master); } catch { /* closed */ } });
  t.same(getWinSize(master), { rows: 40, cols: 132 }, 'consoleSize applied');

  t.equal(box.ocirun(['start', id]).code, 0);
  writeSync(master, 'tty; ls -l /proc/self/fd/0 /dev/console; echo "done $((6*7))"; exit 9\n');
  const out = await readUntil(master, /done 42/);
  t.match(out, /\/dev\/pts\/\d+/, 'stdin is the pty');
  t.match(out, /\/dev\/console/, '/dev/console exists');
  t.match(out, /done 42/, 'the shell ran our line');
  t.ok(await until(() => box.state(id)?.status === 'stopped'), 'the shell exited');
});

t.test('terminal and console socket must go together (runc\'s errors)', { skip }, async (t) => {
  const config = baseConfig(['sh'], sharedRootfs());
  config.process.terminal = true;
  const box = new Sandbox(t, config);
  const r = box.detached(['create', '--bundle', box.bundle, box.id()], 'a');
  t.equal(r.code, 1);
  t.match(r.stderr, /cannot allocate tty if runc will detach without setting console socket/);
  const plain = new Sandbox(t, baseConfig(['true'], sharedRootfs()));
  const r2 = plain.detached(['create', '--bundle', plain.bundle, '--console-socket', join(plain.dir, 'x.sock'), plain.id()], 'b');
  t.equal(r2.code, 1);
  t.match(r2.stderr, /cannot use console socket if runc will not detach or allocate tty/);
});

t.test('run with a terminal and no socket joins the caller\'s terminal', { skip }, async (t) => {
  const config = baseConfig(['sh', '-c', 'tty; exit 7'], sharedRootfs());
  config.process.terminal = true;
  const box = new Sandbox(t, config);
  // script(1) gives ocirun a terminal of its own to join.
  const r = run('script', ['-qec', `${join(process.cwd(), 'bin/ocirun')} --root ${box.root} run --bundle ${box.bundle} ${box.id()}`, '/dev/null'], { env: { ...process.env, NODE_OPTIONS: '' } });
  t.match(r.stdout, /\/dev\/pts\/\d+/, 'the container\'s stdin is a pty');
  t.equal(r.code, 7, 'exit status through the terminal');
});

t.test('exec --tty sends its own pty master over the console socket', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const sock = join(box.dir, 'exec-console.sock');
  const listener = listenUnix(sock);
  t.teardown(() => closeSync(listener));
  const pidFile = join(box.dir, 'exec.pid');
  const r = box.detached(['exec', '--tty', '--detach', '--console-socket', sock, '--pid-file', pidFile, id, 'sh'], 'exec');
  t.equal(r.code, 0, r.stderr);
  const conn = acceptUnix(listener);
  const msg = recvWithFds(conn, 4096);
  closeSync(conn);
  t.equal(msg.fds.length, 1, 'exactly one fd');
  t.match(msg.data.toString(), /^\/dev\/pts\/\d+$/);
  const master = msg.fds[0] as number;
  t.teardown(() => { try { closeSync(master); } catch { /* closed */ } });
  writeSync(master, 'tty; echo "exec $((6*7))"; exit\n');
  const out = await readUntil(master, /exec 42/);
  t.match(out, /\/dev\/pts\/\d+/, 'the exec\'d shell has the pty as stdin');
  t.match(out, /exec 42/);
});

t.test('exec -t without a socket joins the caller\'s terminal', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const r = run('script', ['-qec', `${join(process.cwd(), 'bin/ocirun')} --root ${box.root} exec -t ${id} sh -c 'tty; exit 6'`, '/dev/null'], { env: { ...process.env, NODE_OPTIONS: '' } });
  t.match(r.stdout, /\/dev\/pts\/\d+/);
  t.equal(r.code, 6);
});

t.test('exec -t and run -t put the caller\'s terminal fully raw (no "\\r\\r\\n") and restore it', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const ocirun = `${join(process.cwd(), 'bin/ocirun')} --root ${box.root}`;
  const before = join(box.dir, 'stty.before');
  const after = join(box.dir, 'stty.after');
  // Inside script(1)'s terminal: its settings before and after, and the bytes the container's lines arrive as.
  const script = `stty -g > ${before}; ${ocirun} exec -t ${id} sh -c 'echo one; echo two'; stty -g > ${after}`;
  const r = run('script', ['-qec', script, '/dev/null'], { env: { ...process.env, NODE_OPTIONS: '' } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /one\r\ntwo\r\n/, 'lines end in \\r\\n, as the container\'s pty writes them');
  t.notMatch(r.stdout, /\r\r\n/, 'no second \\r from our own terminal');
  t.equal(readFileSync(after, 'utf8'), readFileSync(before, 'utf8'), 'the terminal settings are back as they were');

  const config = baseConfig(['sh', '-c', 'echo one; echo two'], sharedRootfs());
  config.process.terminal = true;
  box.writeConfig(config);
  const runScript = `stty -g > ${before}; ${ocirun} run --bundle ${box.bundle} ${box.id()}; stty -g > ${after}`;
  const r2 = run('script', ['-qec', runScript, '/dev/null'], { env: { ...process.env, NODE_OPTIONS: '' } });
  t.equal(r2.code, 0, r2.stderr);
  t.match(r2.stdout, /one\r\ntwo\r\n/);
  t.notMatch(r2.stdout, /\r\r\n/, 'run -t too');
  t.equal(readFileSync(after, 'utf8'), readFileSync(before, 'utf8'), 'restored after run');
});

// script(1) types an end-of-file (VEOF, ^D) into its terminal as soon as its
// own stdin ends, here at once, while ocirun's terminal is still canonical.
// Linux keeps that as a NUL in the input queue, and going raw used to turn it
// into a data byte, forwarded to the container's pty and echoed as "^@"
// (before the output, after it, or lost as the process exited: a race).
t.test('an end-of-file typed before the terminal goes raw reaches the container as one, not as a "^@"', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const ocirun = `${join(process.cwd(), 'bin/ocirun')} --root ${box.root}`;
  const underScript = (cmd: string, timeout = 20_000) => run('script', ['-qec', cmd, '/dev/null'], { timeout, env: { ...process.env, NODE_OPTIONS: '' } });
  // Byte for byte: before the fix about 4 in 10 of these had a "^@" (runc: nearly all).
  const bad: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = underScript(`${ocirun} exec -t ${id} sh -c 'echo one; echo two'`);
    if (r.stdout !== 'one\r\ntwo\r\n') bad.push(JSON.stringify(r.stdout));
  }
  t.same(bad, [], 'exec -t: exactly the container\'s bytes, ten times');
  const config = baseConfig(['sh', '-c', 'echo one; echo two'], sharedRootfs());
  config.process.terminal = true;
  box.writeConfig(config);
  const badRun: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = underScript(`${ocirun} run --bundle ${box.bundle} ${box.id()}`);
    if (r.stdout !== 'one\r\ntwo\r\n') badRun.push(JSON.stringify(r.stdout));
  }
  t.same(badRun, [], 'run -t: exactly the container\'s bytes, four times');
  // The end-of-file means one: cat in the container sees it and ends (it used to read "\0" and wait).
  const cat = underScript(`${ocirun} exec -t ${id} sh -c 'cat; echo after'`, 10_000);
  t.equal(cat.stdout, 'after\r\n', 'cat got end-of-file');
  t.equal(cat.code, 0);
});
