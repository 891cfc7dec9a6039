// podman 4.3 with conmon, rootful, the cgroupfs manager, with ocirun as the
// OCI runtime through containers.conf's [engine.runtimes] (the README's
// snippet) and through `--runtime PATH`. podman has no daemon: conmon is the
// monitor of each container. Storage, run state and events live in a
// temporary directory; ocirun keeps its state in its default root
// (/run/ocirun: podman passes no --root), which must be empty of ours at the end.
import t from 'tap';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountinfoOf, topMount } from '../helpers.js';
import {
  alive, busyboxImage, cgroupDirsNamed, cgroupFile, engineDir, IMAGE_BASE, missingTools,
  mountsUnder, procStatus, processesMentioning, readmeSnippet, removeDir, RUNTIME, sh, stateLeft, waitFor,
  inTerminal,
} from './lib.js';

/** What this test adds to containers.conf: no network, limits this host allows (see README). */
const TEST_CONTAINERS = [
  '[containers]',
  'netns = "none"',
  // The host's hard RLIMIT_NOFILE is below podman's default of 1048576 and
  // root here lacks CAP_SYS_RESOURCE: runc fails the same way without this.
  'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
  '',
].join('\n');

const missing = missingTools(['podman', 'conmon', 'script']);
if (missing) {
  console.error(`\n!!!!!!!! podman engine tests NOT RUN: ${missing} !!!!!!!!\n`);
  t.fail(`podman engine tests cannot run: ${missing}`);
} else {
  main();
}

function main(): void {
  const dir = engineDir('podman');
  const OCIRUN_ROOT = '/run/ocirun';
  // The README's [engine] snippet as it is; the rest of this test's state through flags.
  writeFileSync(join(dir, 'containers.conf'), `${TEST_CONTAINERS}\n${readmeSnippet('containers-conf')}`);
  writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/root"\nrunroot = "${dir}/runroot"\n`);
  const env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
  const flags = ['--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--tmpdir', join(dir, 'tmp'),
    '--volumepath', join(dir, 'volumes'), '--network-config-dir', join(dir, 'networks')];
  const podman = (args: string[], timeout = 60_000) => sh('podman', [...flags, ...args], { env, timeout, cwd: dir });
  const names: string[] = [];
  const fullIds: string[] = [];
  const newName = (what: string) => { const n = `pod-${what}-${process.pid}`; names.push(n); return n; };
  const inspect = (name: string, format: string) => podman(['inspect', '--format', format, name]).stdout.trim();
  const cidFile = (name: string) => join(dir, `${name}.cid`);
  /** `podman run` that records the container's full id (for the leftover checks, also after --rm). */
  const run = (name: string, args: string[]) => podman(['run', '--name', name, '--cidfile', cidFile(name), ...args]);
  const recordIds = () => {
    for (const n of names) {
      try { const id = readFileSync(cidFile(n), 'utf8').trim(); if (id && !fullIds.includes(id)) fullIds.push(id); } catch { /* never created */ }
    }
  };
  const inTty = (args: string[]) => inTerminal(['podman', ...flags, ...args], { env });

  t.before(() => {
    const loaded = podman(['load', '-i', busyboxImage(dir)]);
    if (loaded.code !== 0) throw new Error(`podman load: ${loaded.stderr}`);
  });

  // podman (cgroupfs manager) makes libpod_parent/conmon in every v1 hierarchy and leaves them: gone with us if we made them.
  const podmanParents = (): string[] => cgroupDirsNamed(['libpod_parent']).sort((a, b) => b.length - a.length);
  const hadParents = podmanParents().length > 0;
  t.teardown(() => {
    for (const n of names) podman(['rm', '-f', '-t', '0', n]);
    podman(['rmi', '-a', '-f']);
    removeDir(dir);
    if (!hadParents) {
      for (const d of [...podmanParents().flatMap((p) => [join(p, 'conmon'), p])]) try { rmdirSync(d); } catch { /* not there, or in use */ }
    }
  });

  t.test('podman info names ocirun as the runtime, with its version', async (t) => {
    const r = podman(['info', '--format', '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), `ocirun ${RUNTIME}`);
    const v = podman(['info', '--format', '{{.Host.OCIRuntime.Version}}']);
    t.match(v.stdout, /^ocirun version \d+\.\d+\.\d+\ncommit: \S+\nspec: 1\.3\.0\n/, 'and shows its --version');
  });

  t.test('run: stdout, stderr, exit code, the default seccomp profile', async (t) => {
    const r = run(newName('run'), ['--rm', IMAGE_BASE, 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; grep ^Seccomp: /proc/self/status; exit 4']);
    t.equal(r.code, 4, `exit code 4 (stderr: ${r.stderr})`);
    t.equal(r.stdout, 'to-stdout\nSeccomp:\t2\n', 'stdout, and seccomp filtering is on');
    t.equal(r.stderr, 'to-stderr\n', 'stderr, and nothing else');
  });

  t.test('--runtime PATH selects ocirun without any containers.conf entry', async (t) => {
    const plain = { ...env, CONTAINERS_CONF: join(dir, 'plain.conf') };
    writeFileSync(plain.CONTAINERS_CONF, TEST_CONTAINERS);
    const name = newName('flag');
    const r = sh('podman', [...flags, '--runtime', RUNTIME, 'run', '--rm', '--name', name, '--cidfile', cidFile(name), IMAGE_BASE, 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "'], { env: plain, cwd: dir });
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, 'sh -c cat /proc/1/cmdline | tr "\\0" " " ', 'the container ran');
  });

  t.test('run -it: a tty through the console socket, the exit code through it', async (t) => {
    const name = newName('tty');
    const r = await inTty(['run', '-it', '--rm', '--name', name, '--cidfile', cidFile(name), IMAGE_BASE, 'sh', '-c', 'tty; test -t 0 && echo stdin-tty; exit 5']);
    t.equal(r.code, 5, `exit code 5 (${r.stdout}${r.stderr})`);
    t.match(r.stdout, /\/dev\/pts\/\d+/);
    t.match(r.stdout, /stdin-tty/);
  });

  const long = newName('long');
  let pid = 0;
  t.test('run -d with a memory limit and a read-only root with a volume', async (t) => {
    const vol = join(dir, 'vol');
    mkdirSync(vol);
    const r = run(long, ['-d', '-m', '64m', '--read-only', '-v', `${vol}:/vol`, IMAGE_BASE,
      'sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done']);
    t.equal(r.code, 0, `run -d (${r.stderr})`);
    recordIds();
    pid = Number(inspect(long, '{{.State.Pid}}'));
    t.ok(pid > 0 && alive(pid), `a live host pid (${pid})`);
    t.equal(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), String(64 << 20), 'memory.limit_in_bytes of its cgroup');
    const mounts = mountinfoOf(pid);
    t.ok(topMount(mounts, '/')?.options.includes('ro'), 'the root is mounted read-only');
    t.ok(topMount(mounts, '/vol')?.options.includes('rw'), 'the volume is read-write');
    const w = podman(['exec', long, 'sh', '-c', 'touch /root-file 2>/dev/null && echo ROOT-WRITABLE; echo data > /vol/f && echo vol-ok; exit 3']);
    t.equal(w.code, 3, `exec's exit code (${w.stderr})`);
    t.equal(w.stdout, 'vol-ok\n', 'the root refuses writes, the volume takes them');
    t.equal(readFileSync(join(vol, 'f'), 'utf8'), 'data\n', 'the host sees the volume file');
    const state = sh(RUNTIME, ['--root', OCIRUN_ROOT, 'state', inspect(long, '{{.Id}}')]);
    t.equal(state.code, 0, `ocirun knows the container in its default root (${state.stderr.trim()})`);
    t.match(JSON.parse(state.stdout || '{}'), { status: 'running', pid }, 'ocirun state: running, the same pid');
  });

  t.test('exec as another user under the default seccomp profile', async (t) => {
    const r = podman(['exec', '--user', 'app', long, 'sh', '-c', 'id -u; grep ^Seccomp: /proc/self/status; echo "$HOME"']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '1000\nSeccomp:\t2\n/home/app\n');
  });

  t.test('top, pause/unpause', async (t) => {
    const top = podman(['top', long, 'pid', 'user', 'args']);
    t.equal(top.code, 0, top.stderr);
    t.match(top.stdout, /^1\s+root\s+sh -c trap/m, 'top lists the init as pid 1, root, its command');
    t.equal(podman(['pause', long]).code, 0, 'pause');
    t.equal(cgroupFile(pid, 'freezer', 'freezer.state'), 'FROZEN', 'frozen, seen from the host');
    t.equal(inspect(long, '{{.State.Status}}'), 'paused');
    t.equal(podman(['unpause', long]).code, 0, 'unpause');
    t.equal(cgroupFile(pid, 'freezer', 'freezer.state'), 'THAWED', 'thawed');
    t.equal(inspect(long, '{{.State.Status}}'), 'running');
  });

  t.test('stop (SIGTERM, exit code) and start again', async (t) => {
    const s = podman(['stop', '-t', '10', long]);
    t.equal(s.code, 0, `stop (${s.stderr})`);
    t.equal(inspect(long, '{{.State.ExitCode}}'), '7', 'the exit code the trap chose');
    t.notOk(alive(pid), 'the old init is gone');
    t.ok(await waitFor(() => stateLeft(OCIRUN_ROOT, fullIds).length === 0), 'its ocirun state is deleted');
    const st = podman(['start', long]);
    t.equal(st.code, 0, `start (${st.stderr})`);
    const pid2 = Number(inspect(long, '{{.State.Pid}}'));
    t.ok(pid2 > 0 && pid2 !== pid && alive(pid2), `a new init (${pid2})`);
    t.equal(procStatus(pid2, 'NSpid')?.split(/\s+/).at(-1), '1', 'pid 1 of its own pid namespace');
    t.equal(cgroupFile(pid2, 'memory', 'memory.limit_in_bytes'), String(64 << 20), 'with its memory limit again');
    t.equal(podman(['kill', '-s', 'KILL', long]).code, 0, 'kill -s KILL');
    t.ok(await waitFor(() => inspect(long, '{{.State.Status}}') === 'exited'), 'exited');
    t.equal(inspect(long, '{{.State.ExitCode}}'), '137', 'exit code 137');
    t.equal(podman(['rm', long]).code, 0, 'rm');
  });

  t.test('an error from ocirun reaches the podman user', async (t) => {
    // A hard limit above the host's (no CAP_SYS_RESOURCE here): only the runtime finds out.
    const r = run(newName('bad'), ['--rm', '--ulimit', 'nofile=30000:30000', IMAGE_BASE, 'true']);
    t.not(r.code, 0, 'fails');
    t.match(r.stderr, /ocirun: create [0-9a-f]{64}: .*RLIMIT_NOFILE/, `ocirun's one-line error, naming the limit: ${r.stderr.trim()}`);
  });

  t.test('nothing left behind', async (t) => {
    recordIds();
    t.equal(podman(['ps', '-aq']).stdout.trim(), '', 'podman has no container left');
    await waitFor(() => processesMentioning([dir, ...fullIds]).length === 0, 5000);
    t.same(stateLeft(OCIRUN_ROOT, fullIds), [], `no ocirun state in ${OCIRUN_ROOT}`);
    t.same(processesMentioning([dir, ...fullIds]), [], 'no process (conmon, ocirun, container)');
    // The overlay driver keeps its own home bind-mounted; container roots and volumes must be gone.
    t.same(mountsUnder(dir).filter((m) => !m.endsWith('/root/overlay')), [], 'no container root or volume mounted');
    t.same(cgroupDirsNamed(fullIds), [], 'no cgroup');
  });
}
