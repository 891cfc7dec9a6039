// checkpoint and restore on the host: argument handling and errors. CRIU
// itself cannot run on these machines' kernel (its vDSO check fails), so the
// dumps and restores that work are checked in the VM tier (test/vm/criu.ts);
// here every failure must be one clear line and leave nothing behind.
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import t from 'tap';
import { baseConfig, OCIRUN, run, Sandbox, sharedRootfs, SKIP_NOT_ROOT, startContainer, TOP } from '../helpers.js';

const criuPath = ['/usr/sbin/criu', '/usr/bin/criu', '/usr/local/sbin/criu'].find((p) => existsSync(p));
const criuCheckError = criuPath ? (() => {
  const r = spawnSync(criuPath, ['check'], { encoding: 'utf8' });
  return r.status === 0 ? null : r.stderr;
})() : 'criu is not installed';

function sleeper(): ReturnType<typeof baseConfig> {
  const c = baseConfig(['sleep', '600'], sharedRootfs());
  return c;
}

/** One line on stderr, exit 1. */
interface Asserts {
  equal(found: any, wanted: any, ...rest: any[]): boolean;
  match(found: any, pattern: any, ...rest: any[]): boolean;
}

function oneLineError(t: Asserts, r: { code: number | null; stderr: string }, pattern: RegExp, what: string): void {
  t.equal(r.code, 1, `${what}: exit 1`);
  t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line (${r.stderr.trim()})`);
  t.match(r.stderr, pattern, what);
}

t.test('checkpoint: bad flags are refused before anything is touched', { skip: SKIP_NOT_ROOT }, async (t) => {
  const box = new Sandbox(t, sleeper());
  const id = box.id('cp');
  const pid = await startContainer(t, box, id);
  const img = join(box.dir, 'img');
  const cases: [string[], RegExp][] = [
    [['--manage-cgroups-mode', 'hard'], /^ocirun: checkpoint cp-\S+: --manage-cgroups-mode: invalid value "hard"/],
    [['--empty-ns', 'bogus'], /--empty-ns: namespace "bogus" is not supported/],
    [['--page-server', 'nohost'], /--page-server: "nohost" is not ADDRESS:PORT/],
    [['--parent-path', '/abs'], /--parent-path must be relative/],
    [['--parent-path', '../nowhere'], /invalid --parent-path: .*nowhere: no such file or directory/],
    [['--criu', '/nonexistent/criu'], /criu is not installed or not executable at \/nonexistent\/criu/],
    [['--criu', 'no-such-criu'], /no-such-criu not found in \$PATH: checkpoint and restore need CRIU 3\.14\.0 or newer/],
  ];
  for (const [flags, pattern] of cases) {
    // --criu is a global flag; the rest belong to the command.
    const args = flags[0] === '--criu' ? [...flags, 'checkpoint', '--image-path', img, id] : ['checkpoint', '--image-path', img, ...flags, id];
    oneLineError(t, box.ocirun(args), pattern, flags.join(' '));
    t.notOk(existsSync(img), `${flags.join(' ')}: no image directory made`);
  }
  // --status-fd (with --lazy-pages) must be an open, writable fd of ours, as runc checks it.
  oneLineError(t, box.ocirun(['checkpoint', '--image-path', img, '--lazy-pages', '--status-fd', '99', id]), /invalid --status-fd argument 99: .*(EBADF|[Bb]ad file descriptor)/, '--status-fd 99 (not open)');
  const readOnly = openSync('/dev/null', 'r');
  try {
    const r = box.ocirun(['checkpoint', '--image-path', img, '--lazy-pages', '--status-fd', '3', id], { stdio: ['ignore', 'pipe', 'pipe', readOnly] });
    oneLineError(t, r, /invalid --status-fd argument 3: not writable/, '--status-fd on a read-only fd');
  } finally {
    closeSync(readOnly);
  }
  t.notOk(existsSync(img), '--status-fd: no image directory made');
  t.equal(box.state(id)?.status, 'running', 'the container is still running');
  t.ok(existsSync(`/proc/${pid}`));
  const usage = box.ocirun(['checkpoint', '--no-such-flag', id]);
  t.equal(usage.code, 1, 'an unknown flag is a usage error');
  t.match(usage.stderr, /Unknown argument|no-such-flag/);
});

t.test('checkpoint: a container that does not exist, is created or has stopped', { skip: SKIP_NOT_ROOT }, async (t) => {
  const box = new Sandbox(t, baseConfig(['true'], sharedRootfs()));
  const img = join(box.dir, 'img');
  oneLineError(t, box.ocirun(['checkpoint', '--image-path', img, 'nosuch']), /^ocirun: checkpoint nosuch: container does not exist$/m, 'no such container');
  const id = box.id('cp');
  t.equal(box.create(id).code, 0, 'create');
  oneLineError(t, box.ocirun(['checkpoint', '--image-path', img, id]), /Container cannot be checkpointed in created state/, 'created (runc\'s message)');
  t.equal(box.ocirun(['start', id]).code, 0, 'start');
  const { until } = await import('../helpers.js');
  await until(() => box.state(id)?.status === 'stopped');
  oneLineError(t, box.ocirun(['checkpoint', '--image-path', img, id]), /Container cannot be checkpointed in stopped state/, 'stopped');
  t.notOk(existsSync(img), 'no image directory made');
});

t.test('checkpoint: CRIU older than we need is named as too old', { skip: SKIP_NOT_ROOT }, async (t) => {
  const box = new Sandbox(t, sleeper());
  const id = box.id('cp');
  await startContainer(t, box, id);
  const fake = join(box.dir, 'criu');
  writeFileSync(fake, `#!/bin/sh\nexec ${process.execPath} ${join(TOP, 'test/fixtures/fake-criu.cjs')} "$@"\n`);
  chmodSync(fake, 0o755);
  const { OWN_SCHEMA } = await import('../../src/criu/schema.js');
  const env = { ...process.env, FAKE_CRIU_VERSION: '3.9', FAKE_CRIU_SCHEMA: OWN_SCHEMA, FAKE_CRIU_PROTOBUF: join(TOP, 'node_modules/protobufjs') };
  const img = join(box.dir, 'img');
  const r = box.ocirun(['--criu', fake, 'checkpoint', '--image-path', img, id], { env });
  oneLineError(t, r, /CRIU 3\.9\.0 at \S+ is too old: checkpoint and restore need CRIU 3\.14\.0 or newer/, 'too old');
  t.equal(box.state(id)?.status, 'running', 'the container is still running');
});

t.test('checkpoint where criu check fails: the kernel is named as the cause, with the log', { skip: SKIP_NOT_ROOT || (criuCheckError === null ? 'criu works on this kernel: the VM tier checks real dumps' : !criuPath ? 'criu is not installed' : false) }, async (t) => {
  const box = new Sandbox(t, sleeper());
  const id = box.id('cp');
  const pid = await startContainer(t, box, id);
  const img = join(box.dir, 'img');
  const r = box.ocirun(['checkpoint', '--image-path', img, id]);
  const firstError = (criuCheckError ?? '').split('\n').find((l) => l.startsWith('Error'))?.replace(/^Error \([^)]*\):\s*/, '') ?? '';
  oneLineError(t, r, /CRIU cannot work on this kernel \(criu check: .+\); criu dump failed: .+; log: \S+\/img\/dump\.log$/m, 'criu check fails');
  t.ok(r.stderr.includes(firstError), `criu check's own first error is quoted: ${firstError}`);
  t.ok(existsSync(join(img, 'dump.log')), 'CRIU\'s log stays in the image path');
  t.equal(box.state(id)?.status, 'running', 'the container is still running');
  t.ok(existsSync(`/proc/${pid}`));
  const wp = join(box.dir, 'work');
  const r2 = box.ocirun(['checkpoint', '--image-path', img, '--work-path', wp, id]);
  t.match(r2.stderr, /; log: \S+\/work\/dump\.log$/m, 'with --work-path the log is there');
  t.ok(existsSync(join(wp, 'dump.log')));
  const pre = box.ocirun(['checkpoint', '--pre-dump', '--image-path', img, id]);
  t.equal(pre.code, 1, '--pre-dump fails too');
  t.match(pre.stderr, /--pre-dump: this CRIU and kernel do not support memory tracking|criu pre-dump failed/);
  t.equal(box.state(id)?.status, 'running', 'still running');
});

t.test('restore: errors leave no container, cgroup, mount or process', { skip: SKIP_NOT_ROOT }, async (t) => {
  const config = sleeper();
  const cgPath = `/ocirun-criu-test-${process.pid}`;
  config.linux.cgroupsPath = cgPath;
  const box = new Sandbox(t, config);
  const id = box.id('rs');
  const img = join(box.dir, 'img');
  const noCgroups = (what: string): void => {
    const left = readdirSync('/sys/fs/cgroup').filter((c) => existsSync(join('/sys/fs/cgroup', c, cgPath)));
    t.same(left, [], `${what}: no cgroup left`);
    t.equal(box.state(id), null, `${what}: no container`);
    t.notOk(existsSync(join(box.root, id)), `${what}: no state directory`);
  };
  oneLineError(t, box.ocirun(['restore', '-d', '--image-path', img, '--bundle', box.bundle, id]), /--image-path \S+\/img: no such directory \(nothing to restore\)/, 'no image');
  noCgroups('no image');
  (await import('node:fs')).mkdirSync(img);
  oneLineError(t, box.ocirun(['restore', '-d', '--image-path', img, '--bundle', join(box.dir, 'nobundle'), id]), /config\.json: cannot read: .*ENOENT/, 'no bundle');
  oneLineError(t, box.ocirun(['restore', '-d', '--image-path', img, '--manage-cgroups-mode', 'x', '--bundle', box.bundle, id]), /--manage-cgroups-mode: invalid value "x"/, 'bad mode');
  oneLineError(t, box.ocirun(['restore', '-d', '--image-path', img, '--console-socket', join(box.dir, 'sock'), '--bundle', box.bundle, id]), /cannot use console socket if runc will not detach or allocate tty/, 'console socket without a terminal');
  oneLineError(t, box.ocirun(['restore', '-d', '--image-path', img, '--bundle', box.bundle, 'bad/id']), /invalid container ID format/, 'bad id');
  oneLineError(t, box.ocirun(['--criu', 'no-such-criu', 'restore', '-d', '--image-path', img, '--bundle', box.bundle, id]), /no-such-criu not found in \$PATH/, 'no criu');
  noCgroups('no criu');
  if (criuPath) {
    // CRIU fails (an empty image, or this kernel): the cgroups made for the container and the rootfs bind go again.
    const r = box.ocirun(['restore', '-d', '-no-subreaper', '--no-pivot', '--image-path', img, '--bundle', box.bundle, id]);
    oneLineError(t, r, /criu restore failed.*; log: \S+\/img\/restore\.log$/m, 'CRIU fails (single-dash -no-subreaper accepted, as containerd sends it)');
    t.ok(existsSync(join(img, 'restore.log')), 'CRIU\'s log stays in the image path');
    noCgroups('CRIU fails');
    t.notOk(readFileSync('/proc/self/mountinfo', 'utf8').includes('ocirun-criu-root-'), 'no bind of the rootfs for CRIU left');
    t.same(readdirSync(tmpdir()).filter((e) => e.startsWith('ocirun-criu-root-')), [], 'nor its mount point');
  }
  // An id in use is refused before anything else happens.
  const other = box.id('rs');
  const c = box.create(other);
  t.equal(c.code, 0);
  oneLineError(t, box.ocirun(['restore', '-d', '--image-path', img, '--bundle', box.bundle, other]), /container with id exists/, 'id in use');
  t.equal(box.state(other)?.status, 'created', 'the existing container is untouched');
});

t.test('features says whether checkpoint can work here', async (t) => {
  const doc = JSON.parse(run(OCIRUN, ['features']).stdout);
  t.equal(doc.annotations['org.opencontainers.runc.checkpoint.enabled'], String(criuPath !== undefined && criuCheckError === null),
    criuCheckError === null ? 'criu check passes: true' : `criu check fails here (${(criuCheckError ?? '').split('\n')[0]}): false`);
});

t.test('stdio on the host\'s /dev/null is reopened from the container\'s, as runc does (CRIU cannot dump a file on a mount outside the container)', { skip: SKIP_NOT_ROOT }, async (t) => {
  const box = new Sandbox(t, sleeper());
  const id = box.id('null');
  // Sandbox.create gives the container /dev/null (the host's) as stdin, and files as stdout and stderr.
  const pid = await startContainer(t, box, id);
  if (!pid) return;
  const mountIds = new Set(readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' ')[0]));
  const fdinfo = (fd: number): Record<string, string> => Object.fromEntries(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n').map((l) => l.split(/:\s*/)));
  const stdin = fdinfo(0);
  t.equal(readlinkSync(`/proc/${pid}/fd/0`), '/dev/null', 'stdin is /dev/null');
  t.ok(mountIds.has(stdin.mnt_id as string), `its mount (${stdin.mnt_id}) is one of the container's, not the host's /dev`);
  t.equal(Number.parseInt(stdin.flags as string, 8) & 3, 2, 'opened read-write, as runc opens it');
  const stdout = fdinfo(1);
  t.notOk(mountIds.has(stdout.mnt_id as string), 'stdout, a host file, is left as it was');
});
