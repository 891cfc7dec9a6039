// The VM tier's checkpoint/restore checks (CRIU cannot run on the host
// kernels of our machines: its vDSO check fails). Run inside the cgroup2 VM
// by `test/vm/run criu` (node runs this file directly: erasable TypeScript
// only, no imports from src/). The same counting containers go through
// ocirun and runc, and what each runtime did is compared at the end.
// Prints TAP lines; the exit status is the number of failures (capped).
import { type ChildProcess, spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, constants, copyFileSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOP = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUNTIMES: Record<string, string> = { ocirun: join(TOP, 'bin/ocirun'), runc: '/usr/sbin/runc' };
const WORK = '/tmp/ocicriu';
const CG = '/sys/fs/cgroup';
const ROOTFS_SRC = process.env.OCIVM_ROOTFS ?? join(TOP, '.vm/rootfs-busybox');
const ROOTFS = join(WORK, 'rootfs');

let count = 0;
let failures = 0;
const started = Date.now();

function ok(cond: boolean, what: string, detail = ''): boolean {
  count += 1;
  if (!cond) failures += 1;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${cond ? 'ok' : 'not ok'} ${count} - ${what}${!cond && detail ? ` # ${detail.trim().replace(/\n/g, ' | ')}` : ''} [${secs}s]`);
  return cond;
}

function eq(got: unknown, want: unknown, what: string): boolean {
  return ok(JSON.stringify(got) === JSON.stringify(want), what, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

interface Result { code: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  return { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

const rootOf = (rt: string): string => join(WORK, `state-${rt}`);
const rtc = (rt: string, args: string[]): Result => run(RUNTIMES[rt] as string, ['--root', rootOf(rt), ...args]);

/**
 * A command that leaves container processes behind with pipes as their stdio,
 * as an engine gives them (CRIU dumps a pipe, and restore reconnects it; a
 * host file or Node's socketpair "pipes" would be outside what CRIU can
 * dump). A shell pipeline makes them: `cat` feeds stdin, and a second `cat`
 * drains stdout and stderr into a file, where the runtime's own messages
 * land too. Both stay as long as the container holds the pipes; the
 * runtime's exit status comes through a file.
 */
const keptPipes: ChildProcess[] = [];
let serialNo = 0;
function detached(rt: string, args: string[]): Promise<Result> {
  serialNo += 1;
  const out = join(WORK, `detached-${serialNo}.out`);
  const rc = join(WORK, `detached-${serialNo}.rc`);
  const argv = [RUNTIMES[rt] as string, '--root', rootOf(rt), ...args];
  const script = 'rc="$1" out="$2"; shift 2; cat | { "$@"; echo $? > "$rc"; } 2>&1 | cat > "$out"';
  const child = spawn('sh', ['-c', script, 'sh', rc, out, ...argv], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  keptPipes.push(child);
  return until(() => existsSync(rc), 120_000).then(async () => {
    await sleep(100);
    const text = (f: string): string => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };
    const code = text(rc).trim();
    return { code: code === '' ? null : Number(code), stdout: '', stderr: text(out) };
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs = 20_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(100);
  }
  return true;
}

function status(rt: string, id: string): string {
  const r = rtc(rt, ['state', id]);
  if (r.code !== 0) return /does not exist/.test(r.stderr) ? 'gone' : `error: ${r.stderr.trim()}`;
  return String((JSON.parse(r.stdout) as { status: string }).status);
}

function pidOf(rt: string, id: string): number {
  const r = rtc(rt, ['state', id]);
  return r.code === 0 ? Number((JSON.parse(r.stdout) as { pid: number }).pid) : 0;
}

function cgroupOf(pid: number): string {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
    return line ? line.slice(3) : '<none>';
  } catch {
    return '<gone>';
  }
}

// ------------------------------------------------------------- the bundles

type Config = Record<string, unknown>;

function config(rt: string, id: string, args: string[], terminal = false): Config {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal, user: { uid: 0, gid: 0 }, args, cwd: '/',
      env: ['PATH=/bin', 'HOME=/'],
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
      noNewPrivileges: true,
    },
    root: { path: ROOTFS, readonly: false },
    hostname: 'criuvm',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      // A bind mount from the host: CRIU must be told it is external, and restore must bind it back.
      { destination: '/out', type: 'bind', source: outDir(rt, id), options: ['rbind', 'rw'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      cgroupsPath: `/criuvm/${rt}-${id}`,
      maskedPaths: ['/proc/kcore', '/proc/timer_list', '/proc/acpi', '/sys/firmware'],
      readonlyPaths: ['/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

const bundleOf = (rt: string, id: string): string => join(WORK, `bundle-${rt}-${id}`);
const outDir = (rt: string, id: string): string => join(WORK, `out-${rt}-${id}`);

function makeBundle(rt: string, id: string, args: string[], terminal = false): string {
  const dir = bundleOf(rt, id);
  mkdirSync(dir, { recursive: true });
  mkdirSync(outDir(rt, id), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config(rt, id, args, terminal)));
  return dir;
}

/** Counts in /out/count, 10 a second. */
const COUNTER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /out/count; usleep 100000; done'];

function counted(rt: string, id: string): number {
  try { return Number(readFileSync(join(outDir(rt, id), 'count'), 'utf8').trim() || 0); } catch { return 0; }
}

function setup(): void {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  // A small root on the VM's tmpfs: busybox and the few names the checks run.
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'out']) mkdirSync(join(ROOTFS, d), { recursive: true });
  writeFileSync(join(ROOTFS, 'bin/busybox'), readFileSync(join(ROOTFS_SRC, 'bin/busybox')), { mode: 0o755 });
  for (const name of ['sh', 'usleep', 'sleep', 'cat', 'echo']) run('ln', ['-sf', 'busybox', join(ROOTFS, 'bin', name)]);
}

// ----------------------------------------------------------------- checks

/** What a runtime did, step by step; ocirun's must equal runc's. */
type Trace = Record<string, string>;

async function dumpAndRestore(rt: string, t: Trace): Promise<void> {
  const id = 'count';
  const bundle = makeBundle(rt, id, COUNTER);
  const r = await detached(rt, ['run', '-d', '--bundle', bundle, id]);
  if (!ok(r.code === 0, `${rt}: run -d a counting container`, r.stderr)) return;
  await until(() => counted(rt, id) >= 5);
  const img = join(WORK, `img-${rt}`);
  const c = rtc(rt, ['checkpoint', '--image-path', img, id]);
  t.checkpoint = c.code === 0 ? 'ok' : `failed: ${c.stderr.trim()}`;
  ok(c.code === 0, `${rt}: checkpoint`, `${c.stderr} ${tail(join(img, 'dump.log'))}`);
  t.afterCheckpoint = status(rt, id);
  const atDump = counted(rt, id);
  await sleep(800);
  t.countStopped = String(counted(rt, id) === atDump);
  ok(existsSync(join(img, 'inventory.img')) && existsSync(join(img, 'dump.log')), `${rt}: the image and dump.log are in --image-path`);

  const rs = await detached(rt, ['restore', '-d', '--image-path', img, '--bundle', bundle, id]);
  t.restore = rs.code === 0 ? 'ok' : `failed: ${rs.stderr.trim()}`;
  ok(rs.code === 0, `${rt}: restore -d`, `${rs.stderr} ${tail(join(img, 'restore.log'))}`);
  t.afterRestore = status(rt, id);
  const pid = pidOf(rt, id);
  t.restoredCgroup = cgroupOf(pid);
  eq(t.restoredCgroup, `/criuvm/${rt}-${id}`, `${rt}: the restored process is in the container's cgroup`);
  await until(() => counted(rt, id) > atDump + 5, 10_000);
  const after = counted(rt, id);
  t.countContinues = String(after > atDump && after < atDump + 200);
  ok(after > atDump, `${rt}: the count carries on from ${atDump} (now ${after}), not from 1`);

  const img2 = join(WORK, `img2-${rt}`);
  const lr = rtc(rt, ['checkpoint', '--leave-running', '--image-path', img2, id]);
  t.leaveRunning = lr.code === 0 ? 'ok' : `failed: ${lr.stderr.trim()}`;
  ok(lr.code === 0, `${rt}: checkpoint --leave-running`, lr.stderr);
  t.afterLeaveRunning = status(rt, id);
  const atLeave = counted(rt, id);
  t.countAfterLeaveRunning = String(await until(() => counted(rt, id) > atLeave + 3, 10_000));
  ok(t.countAfterLeaveRunning === 'true', `${rt}: the container keeps counting after --leave-running`);

  // Iterative: a pre-dump copies memory and leaves it running, the final dump only what changed.
  const pd = join(WORK, `pd-${rt}`);
  const full = join(WORK, `full-${rt}`);
  const p = rtc(rt, ['checkpoint', '--pre-dump', '--image-path', pd, id]);
  t.preDump = p.code === 0 ? 'ok' : `failed: ${p.stderr.trim()}`;
  ok(p.code === 0, `${rt}: checkpoint --pre-dump`, p.stderr);
  t.afterPreDump = status(rt, id);
  const f = rtc(rt, ['checkpoint', '--image-path', full, '--parent-path', '../' + `pd-${rt}`, id]);
  t.incremental = f.code === 0 ? 'ok' : `failed: ${f.stderr.trim()}`;
  ok(f.code === 0, `${rt}: checkpoint --parent-path ../pd (incremental)`, f.stderr);
  t.afterIncremental = status(rt, id);
  const atFull = counted(rt, id);
  ok(existsSync(join(full, 'parent')), `${rt}: the incremental image links to its parent`);
  const r2 = await detached(rt, ['restore', '-d', '--image-path', full, '--bundle', bundle, id]);
  t.restoreIncremental = r2.code === 0 ? 'ok' : `failed: ${r2.stderr.trim()}`;
  ok(r2.code === 0, `${rt}: restore from the incremental image`, `${r2.stderr} ${tail(join(full, 'restore.log'))}`);
  t.countAfterIncremental = String(await until(() => counted(rt, id) > atFull + 3, 10_000));
  ok(t.countAfterIncremental === 'true', `${rt}: the count carries on after the incremental restore`);
  const d = rtc(rt, ['delete', '--force', id]);
  ok(d.code === 0, `${rt}: delete --force`, d.stderr);
  t.afterDelete = status(rt, id);
  ok(!existsSync(join(CG, 'criuvm', `${rt}-${id}`)), `${rt}: its cgroup is gone`);
}

async function consoleSocket(rt: string, t: Trace): Promise<void> {
  const id = 'tty';
  const bundle = makeBundle(rt, id, ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "n=$i"; usleep 100000; done'], true);
  const helpers: ChildProcess[] = [];
  const listen = (n: number): { sock: string; out: string } => {
    const sock = join(WORK, `console-${rt}-${n}.sock`);
    const out = join(WORK, `console-${rt}-${n}.out`);
    helpers.push(spawn('python3', [join(TOP, 'test/vm/consock.py'), sock, out], { stdio: 'ignore' }));
    return { sock, out };
  };
  const lastN = (file: string): number => {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { return 0; }
    const all = [...text.matchAll(/n=(\d+)/g)].map((m) => Number(m[1]));
    return all.length ? all[all.length - 1] as number : 0;
  };
  try {
    const first = listen(1);
    await until(() => existsSync(first.sock), 10_000);
    const r = await detached(rt, ['run', '-d', '--console-socket', first.sock, '--bundle', bundle, id]);
    if (!ok(r.code === 0, `${rt}: run -d a terminal container with a console socket`, r.stderr)) return;
    await until(() => lastN(first.out) >= 5);
    const img = join(WORK, `tty-${rt}`);
    const c = rtc(rt, ['checkpoint', '--image-path', img, id]);
    t.ttyCheckpoint = c.code === 0 ? 'ok' : `failed: ${c.stderr.trim()}`;
    ok(c.code === 0, `${rt}: checkpoint a container with a terminal`, `${c.stderr} ${tail(join(img, 'dump.log'))}`);
    const atDump = lastN(first.out);
    const second = listen(2);
    await until(() => existsSync(second.sock), 10_000);
    const rs = await detached(rt, ['restore', '-d', '--console-socket', second.sock, '--image-path', img, '--bundle', bundle, id]);
    t.ttyRestore = rs.code === 0 ? 'ok' : `failed: ${rs.stderr.trim()}`;
    ok(rs.code === 0, `${rt}: restore -d --console-socket`, `${rs.stderr} ${tail(join(img, 'restore.log'))}`);
    t.ttyMaster = String(await until(() => { try { return readFileSync(second.out, 'utf8').startsWith('master 1'); } catch { return false; } }, 10_000));
    ok(t.ttyMaster === 'true', `${rt}: the console socket got the restored terminal's new pty master`);
    t.ttyContinues = String(await until(() => lastN(second.out) > atDump, 10_000));
    ok(t.ttyContinues === 'true', `${rt}: the terminal output carries on from n=${atDump} (now n=${lastN(second.out)})`);
  } finally {
    rtc(rt, ['delete', '--force', id]);
    for (const h of helpers) h.kill('SIGKILL');
  }
}

/** Waits for a child's exit (null: still running at the deadline). */
function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((res) => {
    if (child.exitCode !== null) { res(child.exitCode); return; }
    const timer = setTimeout(() => res(null), timeoutMs);
    child.once('exit', (code) => { clearTimeout(timer); res(code); });
  });
}

/**
 * A pipe for --status-fd: a FIFO's write end (O_WRONLY, as a shell's `3>`
 * would give; runc 1.1 takes a read-write socket for not writable) and its
 * read end, non-blocking, to poll.
 */
function statusPipe(path: string): { writer: number; read: () => number[]; close: () => void } {
  run('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY);
  const got: number[] = [];
  const buf = Buffer.alloc(16);
  return {
    writer,
    read: () => {
      try { const n = readSync(reader, buf, 0, buf.length, null); got.push(...buf.subarray(0, n)); } catch { /* EAGAIN: nothing yet */ }
      return got;
    },
    close: () => { for (const fd of [reader, writer]) { try { closeSync(fd); } catch { /* closed */ } } },
  };
}

/** Bytes in an image's pages-*.img files: the memory it holds. */
function pageBytes(dir: string): number {
  try { return readdirSync(dir).filter((f) => /^pages-\d+\.img$/.test(f)).reduce((n, f) => n + statSync(join(dir, f)).size, 0); } catch { return -1; }
}

/**
 * Lazy migration as runc offers it: checkpoint --lazy-pages dumps all but
 * the anonymous memory, serves that from a page server and says so with a
 * zero byte on --status-fd; `criu lazy-pages` connects to it, and restore
 * --lazy-pages starts the process with its memory still remote
 * (userfaultfd). The restored copy is a second container (a new id and
 * bundle, its own /out): it counts on from where the first stopped. The
 * checkpoint returns once every page has moved, and the first container is
 * then gone. The copy is left running for pageServerDump.
 */
async function lazyPages(rt: string, t: Trace, port: number): Promise<void> {
  const id = 'lazy';
  const bundle = makeBundle(rt, id, COUNTER);
  const r = await detached(rt, ['run', '-d', '--bundle', bundle, id]);
  if (!ok(r.code === 0, `${rt}: run -d a counting container for a lazy dump`, r.stderr)) return;
  await until(() => counted(rt, id) >= 5);
  const img = join(WORK, `lazy-${rt}`);
  const pipe = statusPipe(join(WORK, `status-${rt}`));
  // fd 3 of the checkpoint: where the status byte arrives.
  const cp = spawn(RUNTIMES[rt] as string, ['--root', rootOf(rt), 'checkpoint', '--lazy-pages', '--page-server', `127.0.0.1:${port}`, '--status-fd', '3', '--image-path', img, id],
    { stdio: ['ignore', 'ignore', 'pipe', pipe.writer] });
  closeSync(pipe.writer);
  let cpErr = '';
  cp.stderr?.on('data', (d: Buffer) => { cpErr += d.toString(); });
  const lp: ChildProcess[] = [];
  try {
    const ready = await until(() => pipe.read().length > 0 || cp.exitCode !== null, 60_000);
    const bytes = pipe.read();
    t.lazyStatusByte = JSON.stringify(bytes);
    ok(ready && bytes.length === 1 && bytes[0] === 0, `${rt}: checkpoint --lazy-pages writes one zero byte to --status-fd when the page server is ready`, `${JSON.stringify(bytes)} ${cpErr} ${tail(join(img, 'dump.log'))}`);
    if (!ready || cp.exitCode !== null) return;
    const atDump = counted(rt, id);
    // The full dump of the same program (dumpAndRestore) holds its heap; this one leaves it with the page server.
    const lazyBytes = pageBytes(img);
    const fullBytes = pageBytes(join(WORK, `img-${rt}`));
    t.lazyFewerPages = String(lazyBytes >= 0 && lazyBytes < fullBytes);
    ok(t.lazyFewerPages === 'true', `${rt}: the image holds less memory than a full dump (${lazyBytes} vs ${fullBytes} bytes of pages)`);
    // The daemon on the restoring side: it fetches the pages the restored process faults on, then the rest.
    lp.push(spawn('criu', ['lazy-pages', '--page-server', '--address', '127.0.0.1', '--port', String(port), '-D', img, '-o', 'lazy-pages.log', '-v4'], { stdio: 'ignore' }));
    const daemon = lp[0] as ChildProcess;
    await until(() => existsSync(join(img, 'lazy-pages.socket')) || daemon.exitCode !== null, 30_000);
    const id2 = 'lazy2';
    const bundle2 = makeBundle(rt, id2, COUNTER);
    // The files the dumped process holds open must exist where it is restored, as
    // on a real migration's target: a dump that caught the shell inside its
    // `echo > /out/count` has that file open, and the copy's own /out starts empty.
    copyFileSync(join(outDir(rt, id), 'count'), join(outDir(rt, id2), 'count'));
    const rs = await detached(rt, ['restore', '-d', '--lazy-pages', '--image-path', img, '--bundle', bundle2, id2]);
    t.lazyRestore = rs.code === 0 ? 'ok' : `failed: ${rs.stderr.trim()}`;
    ok(rs.code === 0, `${rt}: restore -d --lazy-pages`, `${rs.stderr} ${tail(join(img, 'restore.log'))} ${tail(join(img, 'lazy-pages.log'))}`);
    t.lazyCounts = String(await until(() => counted(rt, id2) > atDump + 3, 15_000));
    ok(t.lazyCounts === 'true', `${rt}: the lazily restored container counts on from ${atDump} (now ${counted(rt, id2)})`);
    t.lazyCheckpointExit = String(await exitOf(cp, 60_000));
    eq(t.lazyCheckpointExit, '0', `${rt}: the lazy checkpoint returns 0 once every page has moved`);
    t.lazyDaemonExit = String(await exitOf(daemon, 30_000));
    eq(t.lazyDaemonExit, '0', `${rt}: criu lazy-pages is done too`);
    t.afterLazy = status(rt, id);
    eq(t.afterLazy, 'gone', `${rt}: the lazily dumped container is gone`);
    t.lazy2 = status(rt, id2);
    eq(t.lazy2, 'running', `${rt}: its restored copy runs on with all its memory local`);
  } finally {
    pipe.close();
    for (const c of [cp, ...lp]) if (c.exitCode === null) c.kill('SIGKILL');
  }
}

/**
 * --page-server without lazy pages, on the lazily restored copy: the dump
 * sends the memory to a `criu page-server`, the rest goes to --image-path,
 * and the two together restore it.
 */
async function pageServerDump(rt: string, port: number): Promise<void> {
  const id = 'lazy2';
  if (!ok(status(rt, id) === 'running', `${rt}: a running container for a page-server dump`)) return;
  const pages = join(WORK, `ps-pages-${rt}`);
  const img = join(WORK, `ps-img-${rt}`);
  mkdirSync(pages, { recursive: true });
  // --daemon: it returns once it listens.
  const srv = run('criu', ['page-server', '--daemon', '--address', '127.0.0.1', '--port', String(port), '-D', pages, '-o', 'page-server.log', '-v4']);
  if (!ok(srv.code === 0, `${rt}: criu page-server listens`, srv.stderr)) return;
  const c = rtc(rt, ['checkpoint', '--page-server', `127.0.0.1:${port}`, '--image-path', img, id]);
  ok(c.code === 0, `${rt}: checkpoint --page-server`, `${c.stderr} ${tail(join(img, 'dump.log'))}`);
  const atDump = counted(rt, id);
  ok(pageBytes(pages) > 0 && pageBytes(img) === 0, `${rt}: the pages went to the page server (${pageBytes(pages)} bytes), none to --image-path`, `server: ${readdirSync(pages).join(' ')}; image: ${readdirSync(img).join(' ')}`);
  for (const f of readdirSync(pages)) if (f.endsWith('.img')) cpSync(join(pages, f), join(img, f));
  const rs = await detached(rt, ['restore', '-d', '--image-path', img, '--bundle', bundleOf(rt, id), id]);
  ok(rs.code === 0, `${rt}: restore -d from the image and the page server's pages`, `${rs.stderr} ${tail(join(img, 'restore.log'))}`);
  ok(await until(() => counted(rt, id) > atDump + 3, 10_000), `${rt}: the count carries on from ${atDump}`);
}

async function failureLeavesNothing(): Promise<void> {
  const rt = 'ocirun';
  const id = 'broken';
  const bundle = makeBundle(rt, id, COUNTER);
  const empty = join(WORK, 'empty-image');
  mkdirSync(empty, { recursive: true });
  const r = rtc(rt, ['restore', '-d', '--image-path', empty, '--bundle', bundle, id]);
  ok(r.code !== 0 && /criu restore failed.*log: \/tmp\/ocicriu\/empty-image\/restore\.log/.test(r.stderr), 'a restore from an empty image fails in one line naming the log', r.stderr);
  ok(r.stderr.trim().split('\n').length === 1, 'the error is one line', r.stderr);
  eq(status(rt, id), 'gone', 'no container is left after the failed restore');
  ok(!existsSync(join(rootOf(rt), id)), 'no state directory is left');
  ok(!existsSync(join(CG, 'criuvm', `${rt}-${id}`)), 'no cgroup is left');
  ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes('ocirun-criu-root-'), 'no bind of the rootfs for CRIU is left');
  // A created container is not checkpointed (runc's message), and nothing is made.
  const cr = await detached(rt, ['create', '--bundle', bundle, id]);
  if (ok(cr.code === 0, 'create a container to try checkpointing it', cr.stderr)) {
    const img = join(WORK, 'never');
    const c = rtc(rt, ['checkpoint', '--image-path', img, id]);
    ok(c.code !== 0 && /Container cannot be checkpointed in created state/.test(c.stderr), 'checkpoint refuses a created container', c.stderr);
    ok(!existsSync(img), 'and makes no image directory');
    rtc(rt, ['delete', '--force', id]);
  }
}

/**
 * restore without --detach stays the container's parent (pid file written,
 * its exit status, then deleted), with --work-path holding CRIU's log; a
 * dump that CRIU refuses (a unix socket on stdio that leads outside, without
 * --ext-unix-sk) leaves the container running as it was.
 */
async function foregroundAndFailedDump(): Promise<void> {
  const rt = 'ocirun';
  const id = 'fg';
  const bundle = makeBundle(rt, id, COUNTER);
  const r = await detached(rt, ['run', '-d', '--bundle', bundle, id]);
  if (!ok(r.code === 0, 'run -d a counting container for a foreground restore', r.stderr)) return;
  await until(() => counted(rt, id) >= 3);
  const img = join(WORK, 'img-fg');
  const work = join(WORK, 'work-fg');
  const c = rtc(rt, ['checkpoint', '--image-path', img, '--work-path', work, id]);
  ok(c.code === 0 && existsSync(join(work, 'dump.log')) && !existsSync(join(img, 'dump.log')), 'checkpoint --work-path: CRIU\'s log goes there', c.stderr);
  const atDump = counted(rt, id);
  const pidFile = join(WORK, 'fg.pid');
  const fg = detached(rt, ['restore', '--image-path', img, '--work-path', work, '--pid-file', pidFile, '--bundle', bundle, id]);
  ok(await until(() => existsSync(pidFile), 30_000), 'restore in the foreground writes --pid-file');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  eq(pid, pidOf(rt, id), 'the pid file holds the restored init\'s pid');
  ok(await until(() => counted(rt, id) > atDump + 3, 10_000), `the count carries on from ${atDump} while restore waits`);
  ok(existsSync(join(work, 'restore.log')), 'restore --work-path: its log goes there');
  rtc(rt, ['kill', id, 'KILL']);
  const done = await fg;
  eq(done.code, 137, 'restore exits with the container\'s status (SIGKILL: 137)');
  eq(status(rt, id), 'gone', 'and deletes the container, as run does');

  // Node's "pipes" are socketpairs: a unix socket whose peer is outside the container.
  const id2 = 'sock';
  const b2 = makeBundle(rt, id2, COUNTER);
  const child = spawn(RUNTIMES[rt] as string, ['--root', rootOf(rt), 'run', '-d', '--bundle', b2, id2], { stdio: ['pipe', 'pipe', 'pipe'] });
  keptPipes.push(child);
  const started = await until(() => counted(rt, id2) >= 3, 60_000);
  if (!ok(started, 'a container with unix sockets as stdio counts')) return;
  const bad = rtc(rt, ['checkpoint', '--image-path', join(WORK, 'img-sock'), id2]);
  ok(bad.code === 1 && /criu dump failed: .*[Uu]nix.*; log: \S+dump\.log$/m.test(bad.stderr) && bad.stderr.trim().split('\n').length === 1,
    'CRIU refuses the external unix socket: one line with its error and the log', bad.stderr);
  eq(status(rt, id2), 'running', 'the container is still running after the failed dump');
  const at = counted(rt, id2);
  ok(await until(() => counted(rt, id2) > at + 3, 10_000), 'and still counting');
  rtc(rt, ['delete', '--force', id2]);
}

/** The lines of a CRIU log around its first error: what a failure report needs. */
function tail(file: string): string {
  let lines: string[];
  try { lines = readFileSync(file, 'utf8').split('\n'); } catch { return ''; }
  const at = lines.findIndex((l) => /Error/.test(l));
  return at < 0 ? '' : lines.slice(Math.max(0, at - 6), at + 3).join(' | ');
}

// ------------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(`# ocirun checkpoint/restore VM checks, kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`);
  setup();
  const check = run('criu', ['check']);
  ok(check.code === 0, 'criu check passes on this kernel', check.stderr + check.stdout);
  const feat = rtc('ocirun', ['features']);
  const ann = feat.code === 0 ? (JSON.parse(feat.stdout) as { annotations?: Record<string, string> }).annotations ?? {} : {};
  eq(ann['org.opencontainers.runc.checkpoint.enabled'], 'true', 'features reports checkpoint support');
  const traces: Record<string, Trace> = {};
  try {
    for (const rt of ['ocirun', 'runc']) {
      const t: Trace = {};
      traces[rt] = t;
      console.log(`# ${rt}: dump, restore, --leave-running, pre-dump + incremental`);
      await dumpAndRestore(rt, t);
      console.log(`# ${rt}: a terminal through a console socket`);
      await consoleSocket(rt, t);
      console.log(`# ${rt}: --lazy-pages with --page-server and --status-fd${rt === 'ocirun' ? ', then a page-server dump' : ''}`);
      await lazyPages(rt, t, rt === 'ocirun' ? 27101 : 27102);
      // What --page-server does alone is CRIU's: once, with ocirun.
      if (rt === 'ocirun') await pageServerDump(rt, 27103);
      rtc(rt, ['delete', '--force', 'lazy2']);
    }
    console.log('# failure');
    await failureLeavesNothing();
    await foregroundAndFailedDump();
    const norm = (t: Trace | undefined): Trace => JSON.parse(JSON.stringify(t ?? {}).replace(/ocirun|runc/g, 'RT')) as Trace;
    eq(norm(traces.ocirun), norm(traces.runc), 'ocirun did what runc did, step by step');
  } catch (err) {
    ok(false, 'the checks ran to the end', (err as Error).stack ?? String(err));
  } finally {
    for (const rt of Object.keys(RUNTIMES)) for (const id of ['count', 'tty', 'broken', 'fg', 'sock', 'lazy', 'lazy2']) rtc(rt, ['delete', '--force', id]);
    for (const c of keptPipes) { try { process.kill(-(c.pid as number), 'SIGKILL'); } catch { /* gone */ } }
  }
  console.log(`# ${count - failures} passed, ${failures} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.exitCode = Math.min(failures, 100);
  process.exit();
}

await main();
