// containerd 1.6 with its runc v2 shim, driven by ctr, with ocirun as the
// runc binary (`--runc-binary`). The daemon runs with its whole state in a
// temporary directory; every check looks at what the container got from the
// host's side too (/proc, cgroup files), and at the end nothing may be left.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountinfoOf, topMount } from '../helpers.js';
import {
  alive, busyboxImage, cgroupDirsNamed, cgroupFile, Daemon, engineDir, IMAGE_BASE, IMAGE_USER, missingTools,
  mountsUnder, procStatus, processesMentioning, removeCgroupParent, removeDir, RUNTIME, sh, stateLeft, waitFor,
  inTerminal,
} from './lib.js';

const missing = missingTools(['containerd', 'ctr', 'containerd-shim-runc-v2', 'script']);
if (missing) {
  // Loud, and a failure: the tier must never pass without having run.
  console.error(`\n!!!!!!!! containerd engine tests NOT RUN: ${missing} !!!!!!!!\n`);
  t.fail(`containerd engine tests cannot run: ${missing}`);
} else {
  main();
}

function main(): void {
  const dir = engineDir('containerd');
  const sock = join(dir, 'containerd.sock');
  const runcRoot = join(dir, 'runc');
  const NS = 'ocirun-test';
  const ids: string[] = [];
  writeFileSync(join(dir, 'config.toml'), [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    // ctr needs none of CRI; the rest would only probe for filesystems that are not here.
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
    '[grpc]',
    `  address = "${sock}"`,
    '[ttrpc]',
    `  address = "${sock}.ttrpc"`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
    '',
  ].join('\n'));
  const daemon = new Daemon('containerd', 'containerd', ['--config', join(dir, 'config.toml')], join(dir, 'containerd.log'));
  const ctr = (args: string[], timeout = 60_000) => sh('ctr', ['--address', sock, '-n', NS, ...args], { timeout });
  // What every container gets: ocirun as the runc binary, its state in our directory.
  const runtime = ['--runc-binary', RUNTIME, '--runc-root', runcRoot];
  const newId = (what: string) => { const id = `ctd-${what}-${process.pid}`; ids.push(id); return id; };
  /** The task's host pid from `ctr task ls`, 0 if it has none. */
  const taskPid = (id: string) => Number(ctr(['task', 'ls']).stdout.split('\n').find((l) => l.split(/\s+/)[0] === id)?.split(/\s+/)[1] ?? 0);
  const taskStatus = (id: string) => ctr(['task', 'ls']).stdout.split('\n').find((l) => l.split(/\s+/)[0] === id)?.split(/\s+/)[2] ?? '';
  /** In a tty: ctr -t needs its stdin to be a terminal; script(1) gives it one and returns the child's status. */
  const inTty = (args: string[]) => inTerminal(['ctr', '--address', sock, '-n', NS, ...args]);

  t.before(async () => {
    const up = await waitFor(() => ctr(['version']).code === 0);
    if (!up) throw new Error(`containerd did not come up (log in ${dir}/containerd.log)`);
    const imported = ctr(['image', 'import', busyboxImage(dir)]);
    if (imported.code !== 0) throw new Error(`ctr image import: ${imported.stderr}`);
  });

  // Only a safety net: the last test stops the daemon and checks for leftovers.
  t.teardown(async () => {
    if (daemon.running) {
      for (const id of ids) { ctr(['task', 'kill', '-s', 'SIGKILL', id]); ctr(['task', 'delete', '-f', id]); ctr(['container', 'rm', id]); }
      await daemon.stop();
    }
    removeDir(dir);
  });

  t.test('run: stdout, stderr and the exit code reach ctr', async (t) => {
    const r = ctr(['run', '--rm', ...runtime, IMAGE_BASE, newId('run'), 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 3']);
    t.equal(r.code, 3, `exit code 3 (stderr: ${r.stderr})`);
    t.equal(r.stdout, 'to-stdout\n');
    t.match(r.stderr, /^to-stderr$/m);
  });

  t.test('run -t: a tty through the console socket, the exit code through it', async (t) => {
    const r = await inTty(['run', '-t', '--rm', ...runtime, IMAGE_BASE, newId('tty'), 'sh', '-c', 'tty; test -t 0 && test -t 1 && echo all-tty; exit 5']);
    t.equal(r.code, 5, `exit code 5 (output: ${r.stdout}${r.stderr})`);
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'the process has a pty');
    t.match(r.stdout, /all-tty/, 'stdin and stdout are the terminal');
  });

  t.test('image config: user, working directory and environment', async (t) => {
    const r = ctr(['run', '--rm', ...runtime, IMAGE_USER, newId('user'), 'sh', '-c', 'id -u; id -g; pwd; echo "$GREETING"; grep -E "^(Uid|Gid):" /proc/self/status']);
    t.equal(r.code, 0, `exit code 0 (stderr: ${r.stderr})`);
    const lines = r.stdout.split('\n');
    t.equal(lines[0], '1000', 'uid of the image user "app"');
    t.equal(lines[1], '1000', 'gid of the image user "app"');
    t.equal(lines[2], '/home/app', 'the image working directory');
    t.equal(lines[3], 'hello from the image', 'the image environment');
    t.match(r.stdout, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, 'real, effective, saved and fs uid are all 1000');
  });

  t.test('image user: HOME comes from /etc/passwd', async (t) => {
    const r = ctr(['run', '--rm', ...runtime, IMAGE_USER, newId('home'), 'sh', '-c', 'echo "$HOME"']);
    t.equal(r.stdout, '/home/app\n');
  });

  t.test('loopback is up in the new network namespace', async (t) => {
    // IFF_UP (0x1) | IFF_LOOPBACK (0x8), as the kernel shows the interface's flags.
    const r = ctr(['run', '--rm', ...runtime, IMAGE_BASE, newId('lo'), 'cat', '/sys/class/net/lo/flags']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '0x9\n', 'lo is up');
  });

  t.test('a long-running task: exec, exec -t, ps, metrics, memory limit, bind mount, pause/resume, kill', async (t) => {
    const id = newId('long');
    const share = join(dir, 'share');
    mkdirSync(share);
    writeFileSync(join(share, 'hello'), 'from the host\n');
    // Foreground ctr: it ends with the container's exit status when the task is killed.
    const fg = spawn('ctr', ['--address', sock, '-n', NS, 'run', '--rm', ...runtime, '--memory-limit', String(64 << 20),
      '--mount', `type=bind,src=${share},dst=/share,options=rbind:ro`,
      IMAGE_BASE, id, 'sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    fg.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    fg.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((resolve) => fg.on('exit', (code) => resolve(code)));
    t.ok(await waitFor(() => out.includes('ready')), `the task runs (${out})`);
    const pid = taskPid(id);
    t.ok(pid > 0 && alive(pid), `ctr task ls shows a live host pid (${pid})`);
    const state = sh(RUNTIME, ['--root', join(runcRoot, NS), 'state', id]);
    t.equal(state.code, 0, `ocirun knows the task under --runc-root (${state.stderr.trim()})`);
    t.match(JSON.parse(state.stdout || '{}'), { status: 'running', pid }, 'ocirun state: running, the same pid');

    // The memory limit, read from the host in the cgroup the process is really in.
    t.equal(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), String(64 << 20), 'memory.limit_in_bytes of its cgroup');
    const metrics = ctr(['task', 'metrics', id]);
    t.match(metrics.stdout, new RegExp(`memory\\.limit_in_bytes\\s+${64 << 20}`), 'the shim finds the cgroup too (task metrics)');

    // The bind mount: the host file inside, read-only as asked.
    const share_ = topMount(mountinfoOf(pid), '/share');
    t.ok(share_?.options.includes('ro'), `/share is mounted read-only (${share_?.options})`);
    const e = ctr(['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'cat /share/hello; echo exec-err >&2; touch /share/new 2>/dev/null && echo WRITABLE; exit 4']);
    t.equal(e.code, 4, `exec's exit code (stderr: ${e.stderr})`);
    t.equal(e.stdout, 'from the host\n', 'exec sees the bind-mounted host file and cannot write there');
    t.match(e.stderr, /exec-err/, 'exec stderr');

    const tty = await inTty(['task', 'exec', '-t', '--exec-id', 't1', id, 'sh', '-c', 'tty; exit 6']);
    t.equal(tty.code, 6, `exec -t exit code (output: ${tty.stdout}${tty.stderr})`);
    t.match(tty.stdout, /\/dev\/pts\/\d+/, 'exec -t gets a pty');

    const ps = ctr(['task', 'ps', id]);
    t.match(ps.stdout, new RegExp(`^${pid}\\s`, 'm'), 'task ps lists the init');

    t.equal(ctr(['task', 'pause', id]).code, 0, 'pause');
    t.equal(cgroupFile(pid, 'freezer', 'freezer.state'), 'FROZEN', 'the freezer cgroup is FROZEN');
    t.equal(taskStatus(id), 'PAUSED', 'ctr shows PAUSED');
    t.equal(ctr(['task', 'resume', id]).code, 0, 'resume');
    t.equal(cgroupFile(pid, 'freezer', 'freezer.state'), 'THAWED', 'the freezer cgroup is THAWED');
    t.equal(taskStatus(id), 'RUNNING', 'ctr shows RUNNING');

    t.equal(ctr(['task', 'kill', id]).code, 0, 'kill (SIGTERM)');
    t.equal(await exited, 7, `ctr run ends with the status the trap chose (${out})`);
    t.match(out, /got-term/, 'the process got SIGTERM');
    t.notOk(alive(pid), 'the init is gone');
    t.same(stateLeft(join(runcRoot, NS), [id]), [], 'no ocirun state left for it');
  });

  t.test('kill -s SIGKILL: exit code 137, and the task can be deleted', async (t) => {
    const id = newId('kill9');
    t.equal(ctr(['run', '-d', ...runtime, IMAGE_BASE, id, 'sleep', '1000']).code, 0, 'run -d');
    const pid = taskPid(id);
    t.ok(pid > 0 && alive(pid), 'running');
    t.equal(procStatus(pid, 'NSpid')?.split(/\s+/).at(-1), '1', 'it is pid 1 of its own pid namespace');
    t.equal(ctr(['task', 'kill', '-s', 'SIGKILL', id]).code, 0, 'kill -s SIGKILL');
    t.ok(await waitFor(() => taskStatus(id) === 'STOPPED'), 'ctr shows STOPPED');
    const d = ctr(['task', 'delete', id]);
    t.equal(d.code, 0, `task delete (${d.stderr})`);
    t.match(d.stderr, /exit code 137/, 'the exit status was 128+9');
    t.equal(ctr(['container', 'rm', id]).code, 0, 'container rm');
    t.notOk(alive(pid), 'the init is gone');
  });

  t.test('the host pid namespace: the shim kills the rest with kill --all once the init exits', async (t) => {
    // Without a pid namespace of its own, the init's children outlive it; the
    // shim then sends `kill --all <id> 9`, on a container already stopped.
    const id = newId('hostpid');
    const child = `sleep ${300000 + (process.pid % 1000)}`;
    t.equal(ctr(['run', '-d', ...runtime, '--with-ns', `pid:/proc/${process.pid}/ns/pid`, IMAGE_BASE, id,
      'sh', '-c', `${child} & trap "exit 2" TERM; while :; do sleep 0.1; done`]).code, 0, 'run -d');
    // (busybox runs the applet in the forked shell: both show the init's command line)
    t.ok(await waitFor(() => processesMentioning([child]).length === 2), 'the init and its background child run');
    t.equal(ctr(['task', 'kill', id]).code, 0, 'kill (SIGTERM, to the init only)');
    t.ok(await waitFor(() => taskStatus(id) === 'STOPPED'), 'the task stopped');
    t.ok(await waitFor(() => processesMentioning([child]).length === 0, 5000), `the orphaned child was killed too (${processesMentioning([child])})`);
    const d = ctr(['task', 'delete', id]);
    t.equal(d.code, 0, `task delete (${d.stderr})`);
    t.match(d.stderr, /exit code 2/, "the init's exit code");
    t.equal(ctr(['container', 'rm', id]).code, 0, 'container rm');
  });

  t.test('a failing create: the shim shows ocirun\'s error from --log', async (t) => {
    const r = ctr(['run', '--rm', ...runtime, '--cwd', 'relative/dir', IMAGE_BASE, newId('bad'), 'true']);
    t.not(r.code, 0, 'fails');
    t.match(r.stderr, /OCI runtime create failed: .*cwd/, `the error from ocirun's JSON log reaches the user: ${r.stderr.trim()}`);
    t.notMatch(r.stderr, /unable to retrieve OCI runtime error/, 'the log file was readable JSON');
  });

  t.test('stopping containerd leaves nothing behind', async (t) => {
    const tasks = ctr(['task', 'ls', '-q']).stdout.trim();
    t.equal(tasks, '', 'no task is left in containerd');
    t.ok(await daemon.stop(), 'containerd stopped');
    // Shims exit once their task is deleted; give the last one a moment.
    await waitFor(() => processesMentioning([dir]).length === 0, 5000);
    t.same(stateLeft(join(runcRoot, NS), ids), [], 'no ocirun state');
    t.same(processesMentioning([dir, ...ids]), [], 'no process (shim, ocirun, container)');
    t.same(mountsUnder(dir), [], 'no mount');
    t.same(cgroupDirsNamed(ids), [], 'no cgroup');
    t.same(removeCgroupParent(NS), [], "the namespace's parent cgroup is empty (and removed)");
  });
}
