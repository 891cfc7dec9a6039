// The container's process as the kernel sees it: program lookup through the
// container's PATH, env, cwd, ids and groups, umask, rlimits, oom_score_adj,
// no_new_privs, the five capability sets, stdio, inherited fds, signal
// dispositions and the RLIMIT_NOFILE it inherits.
import t, { type Test } from 'tap';
import { spawnSync, type StdioOptions } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  baseConfig, buildRootfs, capHex, type Config, OCIRUN, ocirunPlain, pidsUsing, readProcFile, run, Sandbox, sharedRootfs, SKIP_NOT_ROOT, startContainer, statusField, until, procComm,
} from '../helpers.js';

const skip = SKIP_NOT_ROOT;

const CAP = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7, CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13, CAP_SYS_CHROOT: 18, CAP_AUDIT_WRITE: 29,
} as const;
type CapName = keyof typeof CAP;
const hex = (names: CapName[]) => capHex(names.map((n) => CAP[n]));

/** soft and hard of one /proc/<pid>/limits row ("Max open files", …). */
function limit(pid: number, name: string): [string, string] | null {
  const line = readProcFile(pid, 'limits').split('\n').find((l) => l.startsWith(name));
  if (!line) return null;
  const [soft, hard] = line.slice(26).trim().split(/\s+/);
  return [soft ?? '', hard ?? ''];
}

function runArgs(box: Sandbox, config: Config, args: string[], input?: string) {
  config.process.args = args;
  box.writeConfig(config);
  return box.ocirun(['run', '--bundle', box.bundle, box.id()], input === undefined ? {} : { input });
}

/**
 * `ocirun create` with extra fds 3.. from `extra` (inherited without
 * FD_CLOEXEC, as any parent's stray fds would be), then start; the pid once
 * the program runs.
 */
async function createWithFds(t: Test, box: Sandbox, extra: number[], flags: string[] = []): Promise<number> {
  const id = box.id();
  const pidFile = join(box.dir, `${id}.pid`);
  const out = openSync(join(box.dir, `${id}.out`), 'w');
  const err = openSync(join(box.dir, `${id}.err`), 'w');
  const stdio: StdioOptions = ['ignore', out, err, ...extra];
  const r = spawnSync(OCIRUN, ['--root', box.root, 'create', '--bundle', box.bundle, '--pid-file', pidFile, ...flags, id], { stdio });
  closeSync(out);
  closeSync(err);
  if (!t.equal(r.status, 0, `create: ${readFileSync(join(box.dir, `${id}.err`), 'utf8')}`)) return 0;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.equal(box.ocirun(['start', id]).code, 0, 'start');
  t.ok(await until(() => procComm(pid) === 'sleep'), 'running');
  return pid;
}

t.test('args[0] is looked up in the PATH of process.env, in order', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  for (const dir of ['a', 'b']) {
    mkdirSync(join(rootfs, 'opt', dir), { recursive: true });
    writeFileSync(join(rootfs, 'opt', dir, 'tool'), `#!/bin/sh\necho "tool from ${dir}: $1"\n`);
    chmodSync(join(rootfs, 'opt', dir, 'tool'), 0o755);
  }
  const config = baseConfig([], rootfs);
  config.process.env = ['PATH=/opt/b:/opt/a:/bin', 'HOME=/root'];
  let r = runArgs(box, config, ['tool', 'x y']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'tool from b: x y\n', 'the first PATH entry holding it wins; args pass unsplit');
  config.process.env = ['PATH=/opt/a:/opt/b:/bin', 'HOME=/root'];
  r = runArgs(box, config, ['tool', 'z']);
  t.equal(r.stdout, 'tool from a: z\n', 'the container PATH decides, not the host one');
  config.process.env = ['PATH=/bin', 'HOME=/root'];
  r = runArgs(box, config, ['/opt/a/tool', 'abs']);
  t.equal(r.stdout, 'tool from a: abs\n', 'an absolute args[0] is used as is');
});

t.test('env is exactly process.env', { skip }, async (t) => {
  const box = new Sandbox(t);
  const env = ['PATH=/usr/bin:/bin', 'HOME=/root', 'FOO=bar baz', 'EMPTY=', 'MULTI=a=b=c', 'TERM=dumb'];
  const config = baseConfig([], sharedRootfs());
  config.process.env = env;
  const r = runArgs(box, config, ['env']);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.split('\n').filter((l) => l !== ''), env, 'the same variables, in order, nothing added');
  t.notMatch(r.stdout, /_OCIRUN|NODE_/, 'nothing of the runtime leaks');
});

t.test('cwd is created when missing and is the working directory', { skip }, async (t) => {
  for (const readonly of [false, true]) {
    const box = new Sandbox(t);
    const rootfs = buildRootfs(join(box.dir, 'rootfs'));
    const config = baseConfig([], rootfs);
    config.root.readonly = readonly;
    config.process.cwd = '/srv/app/data';
    // With a read-only root it must be made before / turns read-only (runc does so too).
    const r = runArgs(box, config, ['pwd']);
    t.equal(r.code, 0, `root.readonly ${readonly}: ${r.stderr}`);
    t.equal(r.stdout, '/srv/app/data\n', `root.readonly ${readonly}: pwd`);
    t.ok(existsSync(join(rootfs, 'srv/app/data')) && statSync(join(rootfs, 'srv/app/data')).isDirectory(), `root.readonly ${readonly}: created in the rootfs`);
  }

  const box = new Sandbox(t);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.process.cwd = '/etc';
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (pid) t.equal(readlinkSync(`/proc/${pid}/cwd`), '/etc', 'the kernel has the process in /etc (as seen in its root)');
});

t.test('user: uid, gid and additionalGids as the kernel reports them', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.process.user = { uid: 1000, gid: 1001, additionalGids: [2000, 3000] };
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  t.equal(statusField(pid, 'Uid'), '1000\t1000\t1000\t1000', 'real, effective, saved and fs uid');
  t.equal(statusField(pid, 'Gid'), '1001\t1001\t1001\t1001', 'real, effective, saved and fs gid');
  t.equal(statusField(pid, 'Groups'), '2000 3000', 'supplementary groups are additionalGids');

  const box2 = new Sandbox(t);
  const c2 = baseConfig(['sleep', '30'], sharedRootfs());
  c2.process.user = { uid: 65534, gid: 65534 };
  box2.writeConfig(c2);
  const pid2 = await startContainer(t, box2, box2.id());
  if (!pid2) return;
  t.equal(statusField(pid2, 'Uid'), '65534\t65534\t65534\t65534');
  t.equal(statusField(pid2, 'Groups'), '', 'no additionalGids: no supplementary groups (not root\'s)');
});

t.test('umask: as configured; 0022 when unset, whatever ocirun was started with', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.process.user = { uid: 0, gid: 0, umask: 0o027 };
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (pid) t.equal(statusField(pid, 'Umask'), '0027');

  const box2 = new Sandbox(t);
  box2.writeConfig(baseConfig(['sh', '-c', 'umask; touch /tmp/f; stat -c %a /tmp/f'], sharedRootfs()));
  const r = run('sh', ['-c', 'umask 077; exec "$@"', 'sh', OCIRUN, '--root', box2.root, 'run', '--bundle', box2.bundle, box2.id()]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '0022\n644\n', 'runc\'s default umask, not the caller\'s 077');
});

t.test('rlimits are set as configured', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.process.rlimits = [
    { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 },
    { type: 'RLIMIT_NPROC', soft: 500, hard: 600 },
    { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
    { type: 'RLIMIT_MSGQUEUE', soft: 8192, hard: 16384 },
    { type: 'RLIMIT_STACK', soft: 4194304, hard: 8388608 },
  ];
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  t.same(limit(pid, 'Max open files'), ['1024', '2048']);
  t.same(limit(pid, 'Max processes'), ['500', '600']);
  t.same(limit(pid, 'Max core file size'), ['0', '0']);
  t.same(limit(pid, 'Max msgqueue size'), ['8192', '16384']);
  t.same(limit(pid, 'Max stack size'), ['4194304', '8388608']);
});

t.test('RLIMIT_NOFILE without rlimits: the soft limit ocirun was started with', { skip }, async (t) => {
  const hostHard = run('sh', ['-c', 'ulimit -Hn']).stdout.trim();
  for (const soft of ['1000', '4096']) {
    const box = new Sandbox(t);
    box.writeConfig(baseConfig(['sleep', '30'], sharedRootfs()));
    const id = box.id();
    const pidFile = join(box.dir, 'pid');
    const out = openSync(join(box.dir, 'out'), 'w');
    const r = spawnSync('sh', ['-c', `ulimit -Sn ${soft} && exec "$@"`, 'sh', OCIRUN, '--root', box.root, 'create', '--bundle', box.bundle, '--pid-file', pidFile, id], { stdio: ['ignore', out, out] });
    closeSync(out);
    if (!t.equal(r.status, 0, readFileSync(join(box.dir, 'out'), 'utf8'))) continue;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    t.equal(box.ocirun(['start', id]).code, 0);
    t.ok(await until(() => procComm(pid) === 'sleep'));
    t.same(limit(pid, 'Max open files'), [soft, hostHard], `soft ${soft} kept, hard unchanged`);
  }
});

t.test('oomScoreAdj raises the score (this host cannot lower it)', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.process.oomScoreAdj = 500;
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  t.equal(readProcFile(pid, 'oom_score_adj').trim(), '500');
  t.equal(readFileSync('/proc/self/oom_score_adj', 'utf8').trim(), '0', 'the test process is untouched');
});

t.test('noNewPrivileges sets NoNewPrivs; false leaves it clear', { skip }, async (t) => {
  for (const nnp of [true, false]) {
    const box = new Sandbox(t);
    const config = baseConfig(['sleep', '30'], sharedRootfs());
    config.process.noNewPrivileges = nnp;
    box.writeConfig(config);
    const pid = await startContainer(t, box, box.id());
    if (pid) t.equal(statusField(pid, 'NoNewPrivs'), nnp ? '1' : '0', `noNewPrivileges ${nnp}`);
  }
});

t.test('the five capability sets match the config', { skip }, async (t) => {
  // Each case is one the kernel keeps through execve as configured: root
  // gets permitted = bounding (so they are equal), a non-root user keeps
  // only ambient in permitted/effective; ambient ⊆ permitted ∩ inheritable.
  const cases: { name: string; uid: number; nnp: boolean; caps: Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', CapName[]> }[] = [
    {
      name: 'root',
      uid: 0,
      nnp: false,
      caps: {
        bounding: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        permitted: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        effective: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        inheritable: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_NET_BIND_SERVICE'],
      },
    },
    {
      name: 'root with noNewPrivileges, permitted smaller than bounding',
      uid: 0,
      nnp: true,
      caps: {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT'],
        permitted: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        inheritable: ['CAP_KILL'],
        ambient: ['CAP_KILL'],
      },
    },
    {
      name: 'non-root with ambient capabilities',
      uid: 1000,
      nnp: true,
      caps: {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT'],
        permitted: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        effective: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        inheritable: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        ambient: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
      },
    },
    {
      name: 'root with no capabilities at all',
      uid: 0,
      nnp: true,
      caps: { bounding: [], permitted: [], effective: [], inheritable: [], ambient: [] },
    },
  ];
  for (const c of cases) {
    const box = new Sandbox(t);
    const config = baseConfig(['sleep', '30'], sharedRootfs());
    config.process.user = { uid: c.uid, gid: c.uid };
    config.process.noNewPrivileges = c.nnp;
    config.process.capabilities = c.caps;
    box.writeConfig(config);
    const pid = await startContainer(t, box, box.id());
    if (!pid) continue;
    t.equal(statusField(pid, 'CapBnd'), hex(c.caps.bounding), `${c.name}: CapBnd`);
    t.equal(statusField(pid, 'CapPrm'), hex(c.caps.permitted), `${c.name}: CapPrm`);
    t.equal(statusField(pid, 'CapEff'), hex(c.caps.effective), `${c.name}: CapEff`);
    t.equal(statusField(pid, 'CapInh'), hex(c.caps.inheritable), `${c.name}: CapInh`);
    t.equal(statusField(pid, 'CapAmb'), hex(c.caps.ambient), `${c.name}: CapAmb`);
  }
});

t.test('a capability this host lacks: create fails naming it, nothing left behind', { skip }, async (t) => {
  const hostBnd = BigInt(`0x${readFileSync('/proc/self/status', 'utf8').match(/CapBnd:\s*([0-9a-f]+)/)?.[1] ?? '0'}`);
  t.equal(hostBnd & (1n << 24n), 0n, 'this host lacks CAP_SYS_RESOURCE (24)');
  const box = new Sandbox(t);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  for (const set of ['bounding', 'permitted', 'effective'] as const) config.process.capabilities[set].push('CAP_SYS_RESOURCE');
  box.writeConfig(config);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  const id = box.id();
  const r = box.create(id);
  t.equal(r.code, 1);
  t.match(r.stderr, /CAP_SYS_RESOURCE/, `the message names it: ${r.stderr.trim()}`);
  t.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line');
  t.equal(r.pid, 0, 'no pid file');
  t.notOk(existsSync(join(box.root, id)), 'no state directory');
  t.same(pidsUsing(box.dir), [], 'no process left holding the sandbox (the init would hold its stdio files)');
  t.equal(readFileSync('/proc/self/mountinfo', 'utf8'), mounts, 'no mount left');
});

t.test('stdio: stdout and stderr separate, stdin passes through, flags untouched', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig([], sharedRootfs());
  let r = runArgs(box, config, ['sh', '-c', 'read line; echo "got $line"; echo to-err >&2; cat'], 'first\nrest of input\n');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'got first\nrest of input\n', 'stdin reached the program, stdout came back');
  t.equal(r.stderr, 'to-err\n', 'stderr separately');

  // O_NONBLOCK (04000) must not have been put on the file descriptions the container shares with us.
  config.process.args = ['sh', '-c', 'for f in 0 1 2; do grep flags /proc/self/fdinfo/$f; done'];
  box.writeConfig(config);
  r = ocirunPlain(box, ['run', '--bundle', box.bundle, box.id()], { input: '' });
  t.equal(r.code, 0, r.stderr);
  const flags = r.stdout.trim().split('\n').map((l) => l.split('\t')[1] ?? '');
  t.equal(flags.length, 3);
  flags.forEach((f, fd) => t.equal(parseInt(f, 8) & 0o4000, 0, `fd ${fd} is blocking (flags ${f})`));
});

t.test("the caller's NODE_OPTIONS does not reach ocirun's Node (a preload could touch the container's stdio)", { skip }, async (t) => {
  const box = new Sandbox(t);
  const preload = join(box.dir, 'preload.cjs');
  const marker = join(box.dir, 'preloaded');
  // What tap's own preload does by accident: touch process.stdout/stderr, which makes a pipe O_NONBLOCK.
  writeFileSync(preload, `require('fs').appendFileSync(${JSON.stringify(marker)}, 'x'); process.stdout; process.stderr;\n`);
  box.writeConfig(baseConfig(['sh', '-c', 'for f in 1 2; do grep flags /proc/self/fdinfo/$f; done'], sharedRootfs()));
  const r = run('env', [`NODE_OPTIONS=--require=${preload}`, OCIRUN, '--root', box.root, 'run', '--bundle', box.bundle, box.id()]);
  t.equal(r.code, 0, r.stderr);
  t.notOk(existsSync(marker), 'the preload did not run');
  for (const [i, l] of r.stdout.trim().split('\n').entries()) t.equal(parseInt(l.split('\t')[1] ?? '0', 8) & 0o4000, 0, `fd ${i + 1} is blocking (${l})`);
});

t.test('no fd above 2 reaches the container; --preserve-fds 2 passes exactly 3 and 4', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  const files = [0, 1, 2].map((i) => join(box.dir, `extra${i}`));
  for (const f of files) writeFileSync(f, '');
  const fds = files.map((f) => openSync(f, 'r'));
  t.teardown(() => { for (const fd of fds) closeSync(fd); });

  const pid = await createWithFds(t, box, fds);
  if (pid) t.same(readdirSync(`/proc/${pid}/fd`).sort(), ['0', '1', '2'], 'only stdio, though ocirun got three more');

  const pid2 = await createWithFds(t, box, fds, ['--preserve-fds', '2']);
  if (!pid2) return;
  t.same(readdirSync(`/proc/${pid2}/fd`).sort(), ['0', '1', '2', '3', '4'], 'stdio and the two preserved fds, not the third');
  t.equal(readlinkSync(`/proc/${pid2}/fd/3`), files[0], 'fd 3 is the file we passed as 3');
  t.equal(readlinkSync(`/proc/${pid2}/fd/4`), files[1], 'fd 4 is the file we passed as 4');

  // The same from inside, with run.
  const out = openSync(join(box.dir, 'run.out'), 'w');
  box.writeConfig(baseConfig(['ls', '/proc/self/fd'], sharedRootfs()));
  const r = spawnSync(OCIRUN, ['--root', box.root, 'run', '--bundle', box.bundle, box.id()], { stdio: ['ignore', out, 'pipe', ...fds] });
  closeSync(out);
  t.equal(r.status, 0, String(r.stderr));
  // ls itself holds one more fd: the /proc/self/fd directory it reads.
  t.same(readFileSync(join(box.dir, 'run.out'), 'utf8').trim().split(/\s+/), ['0', '1', '2', '3'], 'run: stdio plus the directory ls reads');
});

t.test('signals: SIGPIPE and nothing else ignored or blocked in the container', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  const ign = BigInt(`0x${statusField(pid, 'SigIgn')}`);
  t.equal(ign & (1n << 12n), 0n, 'SIGPIPE (13) is not ignored');
  t.equal(statusField(pid, 'SigIgn'), '0000000000000000', 'no signal ignored');
  t.equal(statusField(pid, 'SigBlk'), '0000000000000000', 'no signal blocked');

  // And it acts: a writer to a closed pipe dies of SIGPIPE (128+13), rather than failing with EPIPE.
  const box2 = new Sandbox(t);
  const r = runArgs(box2, baseConfig([], sharedRootfs()), ['sh', '-c', '(yes; echo "yes-exit=$?" >&2) | head -n 1 >/dev/null']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /^yes-exit=141$/m, 'yes was killed by SIGPIPE');
});
