// Rootless podman with ocirun as its runtime: podman run by an ordinary user
// (its own user namespace through newuidmap, vfs storage, no network, the
// cgroupfs manager), which calls ocirun as root of that user namespace. The
// container's ids are checked from the host (/proc/<pid>/status, uid_map).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OCIRUN, processGone, SKIP_NOT_ROOT, sharedRootfs, statusField, until } from '../helpers.js';

const USER = 'ocirun-rootless';
const missing = ['podman', 'conmon', 'newuidmap', 'setpriv'].filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
if (!SKIP_NOT_ROOT && missing.length) console.error(`\n!!!!!!!! rootless podman tests NOT RUN: missing ${missing.join(', ')} !!!!!!!!\n`);
const skip = SKIP_NOT_ROOT || (missing.length ? `missing ${missing.join(', ')} (apt-get install podman uidmap)` : false);

function ensureUser(): { uid: number; gid: number; subuid: number } {
  if (spawnSync('id', ['-u', USER]).status !== 0) spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', USER]);
  const uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout);
  const gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout);
  const line = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${USER}:`));
  if (!line) spawnSync('usermod', ['--add-subuids', '300000-365535', '--add-subgids', '300000-365535', USER]);
  const again = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${USER}:`)) ?? `${USER}:-1:0`;
  return { uid, gid, subuid: Number(again.split(':')[1]) };
}

t.test('rootless podman runs, execs into, stops and removes containers through ocirun', { skip }, async (t) => {
  const user = ensureUser();
  const dir = mkdtempSync(join(tmpdir(), 'ocirun-rlpod-'));
  chmodSync(dir, 0o755);
  const xdg = join(dir, 'xdg');
  for (const d of [xdg, join(dir, 'home'), join(dir, 'storage'), join(dir, 'run')]) {
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, user.uid, user.gid);
  }
  const podman = (args: string[], timeout = 60_000) => {
    const r = spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--',
      'env', '-u', 'NODE_OPTIONS', `XDG_RUNTIME_DIR=${xdg}`, `HOME=${join(dir, 'home')}`, `USER=${USER}`,
      'podman', '--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs',
      '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', OCIRUN, ...args],
    { encoding: 'utf8', timeout, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  };
  t.teardown(() => {
    podman(['rm', '--all', '--force', '--time', '0']);
    const left = existsSync(join(xdg, 'ocirun')) ? readdirSync(join(xdg, 'ocirun')) : [];
    if (left.length) t.fail(`ocirun state left under $XDG_RUNTIME_DIR/ocirun: ${left.join(' ')}`);
    const procs = spawnSync('pgrep', ['-f', `${dir}|sleep 1001`], { encoding: 'utf8' }).stdout.trim();
    if (procs) t.fail(`processes left: ${procs.replace(/\n/g, ' ')}`);
    // podman's own pause process keeps its user namespace alive: it is podman's, not ours. Its
    // argv is just "podman" (4.3), so it is found by what it kept of ours: its cwd is our dir.
    spawnSync('pkill', ['-u', String(user.uid), 'catatonit|podman pause']); // its comm, not its argv
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (statSync(`/proc/${pid}`).uid === user.uid && readlinkSync(`/proc/${pid}/cwd`) === dir) process.kill(Number(pid), 'SIGKILL');
      } catch { /* gone */ }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const tar = join(dir, 'busybox.tar');
  t.equal(spawnSync('tar', ['-C', sharedRootfs(), '-cf', tar, '.']).status, 0, 'image tarball');
  chownSync(tar, user.uid, user.gid);
  const imp = podman(['import', tar, 'localhost/ocirun-busybox']);
  t.equal(imp.code, 0, `podman import: ${imp.stderr.trim()}`);

  const run = podman(['run', '--rm', '--network', 'none', 'localhost/ocirun-busybox', 'sh', '-c', 'id -u; cat /proc/self/uid_map; echo $HOME']);
  t.equal(run.code, 0, `podman run --rm: ${run.stderr.trim()}`);
  const lines = run.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
  t.equal(lines[0], '0', 'root inside');
  t.equal(lines[1], `0 ${user.uid} 1`, 'container root is the user');
  t.equal(lines[2], `1 ${user.subuid} 65536`, 'the rest maps to its subordinate ids');

  const name = `rl-${process.pid}`;
  const d = podman(['run', '-d', '--name', name, '--network', 'none', 'localhost/ocirun-busybox', 'sleep', '1001']);
  t.equal(d.code, 0, `podman run -d: ${d.stderr.trim()}`);
  const pid = Number(podman(['inspect', '--format', '{{.State.Pid}}', name]).stdout.trim());
  t.ok(pid > 0, 'podman knows the host pid');
  t.equal(statusField(pid, 'Uid')?.split(/\s+/)[0], String(user.uid), 'host view: runs as the user');
  t.ok(existsSync(join(xdg, 'ocirun')) && readdirSync(join(xdg, 'ocirun')).length === 1, 'ocirun keeps its state under $XDG_RUNTIME_DIR/ocirun');

  const e = podman(['exec', name, 'sh', '-c', 'id -u; hostname']);
  t.equal(e.code, 0, `podman exec: ${e.stderr.trim()}`);
  t.equal(e.stdout.trim().split('\n')[0], '0', 'exec as root inside');
  const eu = podman(['exec', '--user', '1000:1000', name, 'id', '-u']);
  t.equal(eu.code, 0, `podman exec --user 1000 (default seccomp profile): ${eu.stderr.trim()}`);
  t.equal(eu.stdout.trim(), '1000', 'exec as another user');
  const exitCode = podman(['run', '--rm', '--network', 'none', 'localhost/ocirun-busybox', 'sh', '-c', 'exit 7']);
  t.equal(exitCode.code, 7, 'the exit status comes back');

  const stop = podman(['stop', '--time', '1', name]);
  t.equal(stop.code, 0, `podman stop: ${stop.stderr.trim()}`);
  t.ok(await until(() => processGone(pid)), 'the container process is gone');
  const rm = podman(['rm', name]);
  t.equal(rm.code, 0, `podman rm: ${rm.stderr.trim()}`);
  t.same(existsSync(join(xdg, 'ocirun')) ? readdirSync(join(xdg, 'ocirun')) : [], [], 'no ocirun state left');
});
