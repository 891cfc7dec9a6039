// Docker 20.10 (Debian's docker.io) with ocirun as a named runtime from
// daemon.json's "runtimes" (the README's snippet): `docker run --runtime
// ocirun`. dockerd and the containerd it manages keep their whole state in a
// temporary directory; no bridge, no iptables (the test needs no network).
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountinfoOf, topMount } from '../helpers.js';
import {
  alive, busyboxImage, cgroupDirsNamed, cgroupFile, Daemon, engineDir, IMAGE_BASE, IMAGE_USER, missingTools,
  mountsUnder, procStatus, processesMentioning, readmeSnippet, removeDir, RUNTIME, sh, stateLeft, waitFor,
  inTerminal,
} from './lib.js';

// Debian's client; another docker on PATH (a newer one in /usr/local/bin) is not what we test.
const DOCKER = '/usr/bin/docker';
const missing = missingTools(['dockerd', DOCKER, 'containerd', 'containerd-shim-runc-v2', 'script']);
if (missing) {
  console.error(`\n!!!!!!!! docker engine tests NOT RUN: ${missing} !!!!!!!!\n`);
  t.fail(`docker engine tests cannot run: ${missing}`);
} else {
  main();
}

/** daemon.json: the README's snippet, plus this test's private state and no networking. */
function daemonJson(dir: string): object {
  return {
    ...(JSON.parse(readmeSnippet('daemon-json')) as object),
    'data-root': `${dir}/data`,
    'exec-root': `${dir}/exec`,
    pidfile: `${dir}/docker.pid`,
    hosts: [`unix://${dir}/docker.sock`],
    bridge: 'none',
    iptables: false,
    ip6tables: false,
    'ip-masq': false,
    'userland-proxy': false,
    'exec-opts': ['native.cgroupdriver=cgroupfs'],
    'storage-driver': 'overlay2',
    // The host's hard RLIMIT_NOFILE is below Docker's default and root here lacks CAP_SYS_RESOURCE.
    'default-ulimits': { nofile: { Name: 'nofile', Hard: 1024, Soft: 1024 } },
  };
}

function main(): void {
  const dir = engineDir('docker');
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify(daemonJson(dir), null, 2));
  const env = { ...process.env, DOCKER_HOST: `unix://${dir}/docker.sock`, DOCKER_CONFIG: join(dir, 'client') };
  const daemon = new Daemon('dockerd', 'dockerd', ['--config-file', join(dir, 'daemon.json')], join(dir, 'dockerd.log'), env);
  const docker = (args: string[], timeout = 60_000) => sh(DOCKER, args, { env, timeout });
  // Docker 20.10 gives every runtime behind the runc v2 shim the root of its "runc" runtime.
  const runtimeRoot = join(dir, 'exec', 'runtime-runc', 'moby');
  const names: string[] = [];
  const fullIds: string[] = [];
  const newName = (what: string) => { const n = `dk-${what}-${process.pid}`; names.push(n); return n; };
  const cidFile = (name: string) => join(dir, `${name}.cid`);
  /** `docker run --runtime ocirun` that records the full id (for the leftover checks, also after --rm). */
  const run = (name: string, args: string[]) => docker(['run', '--runtime', 'ocirun', '--network', 'none', '--name', name, '--cidfile', cidFile(name), ...args]);
  const recordIds = () => {
    for (const n of names) {
      try { const id = readFileSync(cidFile(n), 'utf8').trim(); if (id && !fullIds.includes(id)) fullIds.push(id); } catch { /* never created */ }
    }
  };
  const inspect = (name: string, format: string) => docker(['inspect', '--format', format, name]).stdout.trim();
  const inTty = (args: string[]) => inTerminal([DOCKER, ...args], { env });

  t.before(async () => {
    if (!(await waitFor(() => docker(['version']).code === 0, 30_000))) throw new Error(`dockerd did not come up (log in ${dir}/dockerd.log)`);
    const loaded = docker(['load', '-i', busyboxImage(dir)]);
    if (loaded.code !== 0) throw new Error(`docker load: ${loaded.stderr}`);
  });

  // Only a safety net: the last test stops the daemon and checks for leftovers.
  t.teardown(async () => {
    if (daemon.running) {
      for (const n of names) docker(['rm', '-f', n]);
      await daemon.stop();
    }
    removeDir(dir);
  });

  t.test('docker info lists the ocirun runtime', async (t) => {
    const r = docker(['info', '--format', '{{json .Runtimes}}']);
    t.equal(r.code, 0, r.stderr);
    t.equal((JSON.parse(r.stdout) as Record<string, { path: string }>).ocirun?.path, RUNTIME);
  });

  t.test('run: stdout, stderr, exit code, the default seccomp profile', async (t) => {
    const r = run(newName('run'), ['--rm', IMAGE_BASE, 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; grep ^Seccomp: /proc/self/status; exit 5']);
    t.equal(r.code, 5, `exit code 5 (stderr: ${r.stderr})`);
    t.equal(r.stdout, 'to-stdout\nSeccomp:\t2\n', 'stdout, and seccomp filtering is on');
    t.equal(r.stderr, 'to-stderr\n', 'stderr, and nothing else');
  });

  t.test('run -it: a tty through the console socket', async (t) => {
    const name = newName('tty');
    const r = await inTty(['run', '-it', '--rm', '--runtime', 'ocirun', '--network', 'none', '--name', name, '--cidfile', cidFile(name), IMAGE_BASE, 'sh', '-c', 'tty; test -t 0 && echo stdin-tty; exit 6']);
    t.equal(r.code, 6, `exit code 6 (${r.stdout}${r.stderr})`);
    t.match(r.stdout, /\/dev\/pts\/\d+/);
    t.match(r.stdout, /stdin-tty/);
  });

  t.test('image config: user, working directory, environment (seccomp unconfined)', async (t) => {
    const r = run(newName('user'), ['--rm', '--security-opt', 'seccomp=unconfined', IMAGE_USER, 'sh', '-c', 'id -u; id -g; pwd; echo "$GREETING"']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '1000\n1000\n/home/app\nhello from the image\n');
  });

  t.test('image user under the default seccomp profile', async (t) => {
    const r = run(newName('user-seccomp'), ['--rm', IMAGE_USER, 'sh', '-c', 'id -u; grep ^Seccomp: /proc/self/status; echo "$HOME"']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '1000\nSeccomp:\t2\n/home/app\n');
  });

  const long = newName('long');
  let pid = 0;
  t.test('run -d: memory limit, read-only root with a volume, exec, exec -it, top', async (t) => {
    const vol = join(dir, 'vol');
    mkdirSync(vol);
    const r = run(long, ['-d', '-m', '64m', '--read-only', '-v', `${vol}:/vol`, IMAGE_BASE, 'sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done']);
    t.equal(r.code, 0, `run -d (${r.stderr})`);
    recordIds();
    pid = Number(inspect(long, '{{.State.Pid}}'));
    t.ok(pid > 0 && alive(pid), `a live host pid (${pid})`);
    t.equal(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), String(64 << 20), 'memory.limit_in_bytes of its cgroup');
    const mounts = mountinfoOf(pid);
    t.ok(topMount(mounts, '/')?.options.includes('ro'), 'the root is mounted read-only');
    t.ok(topMount(mounts, '/vol')?.options.includes('rw'), 'the volume is read-write');
    const e = docker(['exec', long, 'sh', '-c', 'touch /root-file 2>/dev/null && echo ROOT-WRITABLE; echo data > /vol/f && echo vol-ok; echo exec-err >&2; exit 3']);
    t.equal(e.code, 3, `exec's exit code (${e.stderr})`);
    t.equal(e.stdout, 'vol-ok\n', 'the root refuses writes, the volume takes them');
    t.equal(e.stderr, 'exec-err\n', 'exec stderr');
    t.equal(readFileSync(join(vol, 'f'), 'utf8'), 'data\n', 'the host sees the volume file');
    const state = sh(RUNTIME, ['--root', runtimeRoot, 'state', inspect(long, '{{.Id}}')]);
    t.equal(state.code, 0, `ocirun knows the container in ${runtimeRoot} (${state.stderr.trim()})`);
    t.match(JSON.parse(state.stdout || '{}'), { status: 'running', pid }, 'ocirun state: running, the same pid');
    const tty = await inTty(['exec', '-it', long, 'sh', '-c', 'tty; exit 4']);
    t.equal(tty.code, 4, `exec -it exit code (${tty.stdout}${tty.stderr})`);
    t.match(tty.stdout, /\/dev\/pts\/\d+/, 'exec -it gets a pty');
    const top = docker(['top', long, '-o', 'pid,args']);
    t.equal(top.code, 0, top.stderr);
    t.match(top.stdout, new RegExp(`^\\s*${pid}\\s+sh -c trap`, 'm'), 'top lists the init by its host pid');
  });

  t.test('exec --user under the default seccomp profile', async (t) => {
    const r = docker(['exec', '--user', '1000', long, 'id', '-u']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '1000\n');
  });

  t.test('pause/unpause, stop (SIGTERM, exit code), start, kill', async (t) => {
    t.equal(docker(['pause', long]).code, 0, 'pause');
    t.equal(cgroupFile(pid, 'freezer', 'freezer.state'), 'FROZEN', 'frozen, seen from the host');
    t.equal(inspect(long, '{{.State.Status}}'), 'paused');
    t.equal(docker(['unpause', long]).code, 0, 'unpause');
    t.equal(cgroupFile(pid, 'freezer', 'freezer.state'), 'THAWED', 'thawed');
    const s = docker(['stop', '-t', '10', long]);
    t.equal(s.code, 0, `stop (${s.stderr})`);
    t.equal(inspect(long, '{{.State.ExitCode}}'), '7', 'the exit code the trap chose');
    t.notOk(alive(pid), 'the old init is gone');
    t.same(stateLeft(runtimeRoot, fullIds), [], 'its ocirun state is deleted');
    t.equal(docker(['start', long]).code, 0, 'start');
    const pid2 = Number(inspect(long, '{{.State.Pid}}'));
    t.ok(pid2 > 0 && pid2 !== pid && alive(pid2), `a new init (${pid2})`);
    t.equal(procStatus(pid2, 'NSpid')?.split(/\s+/).at(-1), '1', 'pid 1 of its own pid namespace');
    t.equal(docker(['kill', long]).code, 0, 'kill (SIGKILL)');
    t.ok(await waitFor(() => inspect(long, '{{.State.Status}}') === 'exited'), 'exited');
    t.equal(inspect(long, '{{.State.ExitCode}}'), '137', 'exit code 137');
    t.equal(docker(['rm', long]).code, 0, 'rm');
  });

  t.test('an error from ocirun reaches the docker user', async (t) => {
    const r = run(newName('bad'), ['--rm', '--ulimit', 'nofile=30000:30000', IMAGE_BASE, 'true']);
    t.not(r.code, 0, 'fails');
    t.match(r.stderr, /OCI runtime create failed: .*RLIMIT_NOFILE/, `the error from ocirun's JSON log: ${r.stderr.trim()}`);
    t.notMatch(r.stderr, /unable to retrieve OCI runtime error/, 'the log file was readable JSON');
  });

  t.test('stopping dockerd leaves nothing behind', async (t) => {
    recordIds();
    t.equal(docker(['ps', '-aq']).stdout.trim(), '', 'docker has no container left');
    t.ok(await daemon.stop(), 'dockerd stopped');
    await waitFor(() => processesMentioning([dir]).length === 0, 10_000);
    t.same(stateLeft(runtimeRoot, fullIds), [], 'no ocirun state');
    t.same(processesMentioning([dir, ...fullIds]), [], 'no process (containerd, shim, ocirun, container)');
    t.same(mountsUnder(dir), [], 'no mount');
    t.same(cgroupDirsNamed(fullIds), [], 'no cgroup');
  });
}
