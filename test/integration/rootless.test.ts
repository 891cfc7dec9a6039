// ocirun run by an unprivileged user: a user namespace mapping the caller's
// own ids (setgroups denied), or ranges through newuidmap/newgidmap and
// /etc/subuid; devices bound, not made; no cgroups; clear errors for what an
// unprivileged user cannot have; nothing left behind. The checks read what
// the kernel reports from outside (/proc/<pid>/status, uid_map, setgroups).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, openSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, OCIRUN, type Result, SKIP_NOT_ROOT, sharedRootfs, statusField, uniqueId, until } from '../helpers.js';

const USER = 'ocirun-rootless';

/** The test user (made once per machine, with the subordinate ranges useradd gives it). */
function ensureUser(): { uid: number; gid: number; subuid: number; subgid: number } | string {
  if (spawnSync('id', ['-u', USER]).status !== 0) {
    const r = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', USER], { encoding: 'utf8' });
    if (r.status !== 0) return `useradd ${USER}: ${r.stderr.trim()}`;
  }
  const uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout);
  const gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout);
  const sub = (file: string): number => {
    const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${USER}:`));
    return line ? Number(line.split(':')[1]) : -1;
  };
  let subuid = sub('/etc/subuid');
  let subgid = sub('/etc/subgid');
  if (subuid < 0 || subgid < 0) {
    // Not every useradd fills them in: give the user a range nobody else has.
    spawnSync('usermod', ['--add-subuids', '300000-365535', '--add-subgids', '300000-365535', USER]);
    subuid = sub('/etc/subuid');
    subgid = sub('/etc/subgid');
  }
  return { uid, gid, subuid, subgid };
}

const who = SKIP_NOT_ROOT ? null : ensureUser();
const skip = SKIP_NOT_ROOT || (typeof who === 'string' ? who : false);
const haveNewuidmap = spawnSync('sh', ['-c', 'command -v newuidmap && command -v newgidmap']).status === 0;

/** A bundle, a state root and XDG_RUNTIME_DIR owned by the test user; teardown deletes and checks for leftovers. */
class RootlessBox {
  readonly dir: string;
  readonly root: string;
  readonly bundle: string;
  private readonly ids = new Set<string>();

  constructor(private readonly tt: Tap, private readonly user: { uid: number; gid: number }) {
    this.dir = mkdtempSync(join(tmpdir(), 'ocirun-rootless-'));
    chmodSync(this.dir, 0o755);
    this.root = join(this.dir, 'xdg', 'ocirun');
    this.bundle = join(this.dir, 'bundle');
    mkdirSync(this.bundle);
    mkdirSync(join(this.dir, 'xdg'));
    for (const d of [this.dir, this.bundle, join(this.dir, 'xdg')]) chownSync(d, user.uid, user.gid);
    tt.teardown(() => this.cleanup());
  }

  id(): string {
    const id = uniqueId('rl');
    this.ids.add(id);
    return id;
  }

  writeConfig(config: Config): void {
    writeFileSync(join(this.bundle, 'config.json'), JSON.stringify(config, null, 2));
  }

  /**
   * ocirun as the test user, with the default root ($XDG_RUNTIME_DIR/ocirun), as a rootless user runs it.
   * opts.cgroup: a cgroup2 directory root moves the command into first (a subtree delegated to the user).
   */
  ocirun(args: string[], detached = false, opts: { env?: string[]; cgroup?: string } = {}): Result {
    // A detached container inherits stdio: files, not pipes, or we would wait for it.
    const out = detached ? openSync(join(this.dir, 'out'), 'w') : 'pipe';
    const err = detached ? openSync(join(this.dir, 'err'), 'w') : 'pipe';
    const asUser = ['setpriv', `--reuid=${this.user.uid}`, `--regid=${this.user.gid}`, '--init-groups', '--',
      'env', '-u', 'NODE_OPTIONS', `XDG_RUNTIME_DIR=${join(this.dir, 'xdg')}`, `HOME=${this.dir}`, ...(opts.env ?? []), OCIRUN, ...args];
    const argv = opts.cgroup ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', opts.cgroup, ...asUser] : asUser;
    const r = spawnSync(argv[0] as string, argv.slice(1),
      { encoding: 'utf8', timeout: 30_000, cwd: this.bundle, stdio: ['ignore', out, err] });
    if (typeof out === 'number' && typeof err === 'number') {
      closeSync(out);
      closeSync(err);
      return { code: r.status, signal: r.signal, stdout: readFileSync(join(this.dir, 'out'), 'utf8'), stderr: readFileSync(join(this.dir, 'err'), 'utf8') };
    }
    return { code: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  private cleanup(): void {
    for (const id of this.ids) this.ocirun(['delete', '--force', id]);
    const leftovers: string[] = [];
    if (existsSync(this.root) && readdirSync(this.root).length) leftovers.push(`state left: ${readdirSync(this.root).join(' ')}`);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(this.dir));
    if (mounts.length) leftovers.push(`mounts left: ${mounts.join('; ')}`);
    const procs = spawnSync('pgrep', ['-u', String(this.user.uid), '-f', 'sleep 1000'], { encoding: 'utf8' }).stdout.trim();
    if (procs) leftovers.push(`processes of ${USER} left: ${procs.replace(/\n/g, ' ')}`);
    if (leftovers.length) this.tt.fail(`test leaked: ${leftovers.join(', ')}`);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Tap { teardown(fn: () => void): void; fail(msg: string): void }

/** `ocirun spec --rootless` as the user, with the shared busybox rootfs and these args. */
function rootlessConfig(box: RootlessBox, args: string[]): Config {
  const r = box.ocirun(['spec', '--rootless', '--bundle', box.bundle]);
  if (r.code !== 0) throw new Error(`spec --rootless: ${r.stderr}`);
  const config = JSON.parse(readFileSync(join(box.bundle, 'config.json'), 'utf8')) as Config;
  config.process.terminal = false;
  config.process.args = args;
  config.root = { path: sharedRootfs(), readonly: true };
  return config;
}

t.test('the sample config made rootless runs as an unprivileged user, its root mapped to that user', { skip }, async (t) => {
  const user = who as Exclude<typeof who, string | null>;
  const box = new RootlessBox(t, user);
  box.writeConfig(rootlessConfig(box, ['sh', '-c', 'id -u; cat /proc/self/uid_map /proc/self/setgroups; hostname; echo x > /dev/null && echo null-ok']));
  const id = box.id();
  const r = box.ocirun(['run', id]);
  t.equal(r.code, 0, `run exits 0: ${r.stderr.trim()}`);
  const lines = r.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
  t.equal(lines[0], '0', 'the process is root inside');
  t.equal(lines[1], `0 ${user.uid} 1`, 'uid_map maps root to the caller alone');
  t.equal(lines[2], 'deny', 'setgroups is denied, as the kernel requires for a self map');
  t.equal(lines[3], 'ocirun', 'hostname set');
  t.equal(lines[4], 'null-ok', '/dev/null works (bound from the host)');
  t.equal(r.stderr, '', 'nothing on stderr');
});

t.test('create, start, exec, kill and delete as the user; the kernel shows the host ids', { skip }, async (t) => {
  const user = who as Exclude<typeof who, string | null>;
  const box = new RootlessBox(t, user);
  box.writeConfig(rootlessConfig(box, ['sleep', '1000']));
  const id = box.id();
  const pidFile = join(box.dir, 'pid');
  chownSync(box.dir, user.uid, user.gid);
  const c = box.ocirun(['create', '--pid-file', pidFile, id], true);
  t.equal(c.code, 0, `create: ${c.stderr.trim()}`);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.ok(pid > 0, 'pid file written');
  t.equal(box.ocirun(['start', id]).code, 0, 'start');
  t.ok(await until(() => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep'; } catch { return false; } }), 'sleep runs');
  t.equal(statusField(pid, 'Uid')?.split(/\s+/)[0], String(user.uid), 'host view: the process runs as the caller');
  t.equal(JSON.parse(box.ocirun(['state', id]).stdout).status, 'running', 'state: running');
  const e = box.ocirun(['exec', id, 'sh', '-c', 'id -u; hostname']);
  t.equal(e.code, 0, `exec: ${e.stderr.trim()}`);
  t.same(e.stdout.trim().split('\n'), ['0', 'ocirun'], 'exec runs inside, as the container root');
  t.equal(box.ocirun(['kill', id, 'KILL']).code, 0, 'kill');
  t.ok(await until(() => JSON.parse(box.ocirun(['state', id]).stdout).status === 'stopped'), 'stopped');
  const d = box.ocirun(['delete', id]);
  t.equal(d.code, 0, `delete: ${d.stderr.trim()}`);
  t.notOk(existsSync(join(box.root, id)), 'no state left');
});

t.test('ranges of ids through newuidmap/newgidmap and /etc/subuid', { skip: skip || (!haveNewuidmap && 'newuidmap is not installed (package uidmap)') }, async (t) => {
  const user = who as Exclude<typeof who, string | null>;
  const box = new RootlessBox(t, user);
  const config = rootlessConfig(box, ['sh', '-c', 'cat /proc/self/setgroups; id']);
  config.linux.uidMappings = [{ containerID: 0, hostID: user.uid, size: 1 }, { containerID: 1, hostID: user.subuid, size: 65536 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: user.gid, size: 1 }, { containerID: 1, hostID: user.subgid, size: 65536 }];
  config.process.user = { uid: 1000, gid: 1000, additionalGids: [5] };
  box.writeConfig(config);
  const r = box.ocirun(['run', box.id()]);
  t.equal(r.code, 0, `run: ${r.stderr.trim()}`);
  t.same(r.stdout.trim().split('\n'), ['allow', 'uid=1000 gid=1000 groups=5'], 'setgroups allowed, user and groups as asked');

  // The same, detached: the kernel's view of the process from outside.
  config.process.args = ['sleep', '1000'];
  box.writeConfig(config);
  const id = box.id();
  const pidFile = join(box.dir, 'pid');
  t.equal(box.ocirun(['create', '--pid-file', pidFile, id], true).code, 0, 'create');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.equal(box.ocirun(['start', id]).code, 0, 'start');
  t.ok(await until(() => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep'; } catch { return false; } }), 'sleep runs');
  t.equal(statusField(pid, 'Uid')?.split(/\s+/)[0], String(user.subuid + 999), 'host uid is the subordinate id of 1000');
  const map = readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
  t.same(map, [`0 ${user.uid} 1`, `1 ${user.subuid} 65536`], 'uid_map as configured');
  t.equal(box.ocirun(['delete', '--force', id]).code, 0, 'delete --force');
});

t.test('what an unprivileged user cannot have is refused clearly, leaving nothing', { skip }, async (t) => {
  const user = who as Exclude<typeof who, string | null>;
  const cases: { name: string; change: (c: Config) => void; message: RegExp }[] = [
    {
      name: 'additional groups with a self map',
      change: (c) => { c.process.user.additionalGids = [5]; },
      message: /process\.user\.additionalGids: .*setgroups is denied/,
    },
    {
      name: 'ids that are not the caller\'s',
      change: (c) => { c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }]; },
      message: /newuidmap .*\/etc\/subuid|newuidmap is not installed/,
    },
    {
      name: 'cgroup limits without a delegated cgroup',
      change: (c) => { c.linux.resources = { pids: { limit: 10 } }; },
      message: /linux\.resources/,
    },
  ];
  for (const k of cases) {
    const box = new RootlessBox(t, user);
    const config = rootlessConfig(box, ['true']);
    k.change(config);
    box.writeConfig(config);
    const r = box.ocirun(['create', box.id()], true);
    t.not(r.code, 0, `${k.name}: create fails`);
    t.match(r.stderr, k.message, `${k.name}: the error names it (${r.stderr.trim()})`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${k.name}: one line`);
    t.same(existsSync(box.root) ? readdirSync(box.root) : [], [], `${k.name}: no state left`);
  }
});

t.test('--rootless as runc reads it: true/1/auto run without cgroups (none delegated), false fails on the cgroup, a bad value names the flag', { skip }, async (t) => {
  const user = who as Exclude<typeof who, string | null>;
  const box = new RootlessBox(t, user);
  box.writeConfig(rootlessConfig(box, ['sh', '-c', 'echo ran']));
  for (const value of ['true', '1', 'auto']) {
    const r = box.ocirun(['--rootless', value, '--debug', 'run', box.id()]);
    t.equal(r.code, 0, `--rootless ${value}: run exits 0 (${r.stderr.split('\n').find((l) => /error/.test(l)) ?? ''})`);
    t.match(r.stdout, /^ran$/m, `--rootless ${value}: the container ran`);
    t.match(r.stderr, /rootless: no cgroup of its own for the container \(mkdir \/sys\/fs\/cgroup\/\S+: EACCES\)/, `--rootless ${value}: the skipped cgroup is a debug line`);
  }
  const refused: [string[], RegExp][] = [
    [['--rootless', 'false'], /^ocirun: create \S+: cgroups: cannot create \/sys\/fs\/cgroup\/\S+: EACCES$/],
    [['--rootless', 'false', '--systemd-cgroup'], /^ocirun: create \S+: --systemd-cgroup: systemd is not running on this host/],
    [['--rootless', 'yes'], /^ocirun: create \S+: --rootless: want "true", "false" or "auto", got "yes"$/],
  ];
  for (const [flags, message] of refused) {
    const r = box.ocirun([...flags, 'create', box.id()], true);
    t.not(r.code, 0, `${flags.join(' ')}: create fails`);
    t.match(r.stderr.trim(), message, `${flags.join(' ')}: ${r.stderr.trim()}`);
    t.same(existsSync(box.root) ? readdirSync(box.root) : [], [], `${flags.join(' ')}: no state left`);
  }
});

// The host's cgroup2 mount (the hybrid layout's /sys/fs/cgroup/unified, or a pure one) with hugetlb to limit.
const UNIFIED = ((): string | null => {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.includes(' - cgroup2 '));
  return line ? (line.split(' ')[4] ?? null) : null;
})();
const hugetlbOnV2 = UNIFIED !== null && readFileSync(join(UNIFIED, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('hugetlb')
  && readFileSync(join(UNIFIED, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('hugetlb');

t.test('a cgroup2 subtree delegated to the user: the container\'s cgroup is made in it, with a limit the kernel shows; delete removes it',
  { skip: skip || (!hugetlbOnV2 && 'no cgroup2 mount with the hugetlb controller to delegate') }, async (t) => {
    const user = who as Exclude<typeof who, string | null>;
    const box = new RootlessBox(t, user);
    // What systemd does for Delegate=yes: the subtree's directory and its
    // delegation files belong to the user; the caller runs in a leaf below it.
    const deleg = join(UNIFIED as string, uniqueId('ocirun-deleg'));
    const runner = join(deleg, 'runner');
    mkdirSync(deleg);
    mkdirSync(runner);
    for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads']) chownSync(join(deleg, f), user.uid, user.gid);
    for (const f of ['', 'cgroup.procs', 'cgroup.threads']) chownSync(join(runner, f), user.uid, user.gid);
    const id = box.id();
    t.teardown(() => {
      box.ocirun(['delete', '--force', id]);
      for (const d of [join(deleg, id), runner, deleg]) { try { rmSync(d, { recursive: false, force: true }); } catch { /* checked below */ } }
      for (const d of [join(deleg, id), runner, deleg]) spawnSync('rmdir', [d]);
    });
    const config = rootlessConfig(box, ['sleep', '1000']);
    config.linux.resources = { hugepageLimits: [{ pageSize: '2MB', limit: 4 * 1024 * 1024 }] };
    box.writeConfig(config);
    const env = ['_OCIRUN_CGROUP_MODE=v2']; // the cgroup2 side of a hybrid host
    const pidFile = join(box.dir, 'pid');
    const c = box.ocirun(['create', '--pid-file', pidFile, id], true, { env, cgroup: runner });
    t.equal(c.code, 0, `create in the delegated subtree: ${c.stderr.trim()}`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const mountRoot = UNIFIED as string;
    const where = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'))?.slice(3);
    t.equal(where, `/${join(deleg, id).slice(mountRoot.length + 1)}`, 'the init is in <delegated>/<id>, next to the caller\'s cgroup (runc\'s default)');
    t.equal(readFileSync(join(deleg, id, 'hugetlb.2MB.max'), 'utf8').trim(), String(4 * 1024 * 1024), 'hugetlb.2MB.max as configured');
    t.match(readFileSync(join(deleg, 'cgroup.subtree_control'), 'utf8'), /hugetlb/, 'hugetlb enabled in the delegated cgroup by ocirun');
    t.equal(box.ocirun(['start', id], false, { env }).code, 0, 'start');
    // exec: into the container's cgroup from inside the delegated subtree; from outside it may not move a process there (runc's rootless exec goes on)
    const inCg = box.ocirun(['exec', id, 'cat', '/proc/self/cgroup'], false, { env, cgroup: runner });
    t.match(inCg.stdout, new RegExp(`^0::${where}$`, 'm'), `exec from the delegated subtree joins the container's cgroup (${inCg.stderr.trim()})`);
    const outside = box.ocirun(['exec', id, 'cat', '/proc/self/cgroup'], false, { env });
    t.equal(outside.code, 0, `exec from outside the subtree still runs (${outside.stderr.trim()})`);
    t.notMatch(outside.stdout, new RegExp(`^0::${where}$`, 'm'), 'but stays in its caller\'s cgroup');
    const d = box.ocirun(['delete', '--force', id], false, { env });
    t.equal(d.code, 0, `delete --force: ${d.stderr.trim()}`);
    t.notOk(existsSync(join(deleg, id)), 'the container\'s cgroup is gone');
    t.notOk(existsSync(join(box.root, id)), 'no state left');
  });

t.test('root with --rootless true: cgroups are made as for any root (it may), limits set; false and auto the same', { skip: SKIP_NOT_ROOT }, async (t) => {
  const { Sandbox, baseConfig } = await import('../helpers.js');
  const box = new Sandbox(t, baseConfig(['sleep', '1000'], sharedRootfs()));
  const cfg = baseConfig(['sleep', '1000'], sharedRootfs());
  cfg.linux.resources = { pids: { limit: 17 } };
  box.writeConfig(cfg);
  for (const value of ['true', 'false', 'auto']) {
    const id = box.id('rlroot');
    const pidFile = join(box.dir, `${id}.pid`);
    const c = box.detached(['--rootless', value, 'create', '--bundle', box.bundle, '--pid-file', pidFile, id], id);
    t.equal(c.code, 0, `--rootless ${value}: create ${c.stderr.trim()}`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const pidsPath = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /:pids:/.test(l))?.split(':')[2] ?? '';
    t.match(pidsPath, new RegExp(`/${id}$`), `--rootless ${value}: the init is in a pids cgroup of its own`);
    t.equal(readFileSync(join('/sys/fs/cgroup/pids', pidsPath, 'pids.max'), 'utf8').trim(), '17', `--rootless ${value}: pids.max set`);
    t.equal(box.ocirun(['delete', '--force', id]).code, 0, `--rootless ${value}: delete`);
    t.notOk(existsSync(join('/sys/fs/cgroup/pids', pidsPath)), `--rootless ${value}: cgroup removed`);
  }
});

t.test('/sys without a network namespace of its own: the host\'s /sys bound recursively, read-only as asked; a new sysfs with one', { skip }, async (t) => {
  const user = who as Exclude<typeof who, string | null>;
  const box = new RootlessBox(t, user);
  const { parseMountinfo } = await import('../../src/linux/procfs.js');
  // A mount the host has below /sys (a fresh sysfs has none).
  const hostSub = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.mountPoint.startsWith('/sys/'))?.mountPoint;
  const inside = (sysOptions: string[], netns: boolean): ReturnType<typeof parseMountinfo> | string => {
    rmSync(join(box.bundle, 'config.json'), { force: true });
    const config = rootlessConfig(box, ['cat', '/proc/self/mountinfo']);
    config.mounts = config.mounts.filter((m: { destination: string }) => m.destination !== '/sys/fs/cgroup')
      .map((m: { destination: string }) => m.destination === '/sys' ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOptions } : m);
    if (netns) config.linux.namespaces.push({ type: 'network' });
    box.writeConfig(config);
    const r = box.ocirun(['run', box.id()]);
    return r.code === 0 ? parseMountinfo(r.stdout) : `run failed: ${r.stderr.trim()}`;
  };
  const ro = inside(['nosuid', 'noexec', 'nodev', 'ro'], false);
  if (typeof ro === 'string') { t.fail(ro); return; }
  const top = ro.filter((m) => m.mountPoint === '/sys').at(-1);
  t.equal(top?.fstype, 'sysfs', 'a sysfs at /sys (the host\'s, bound)');
  t.ok(top?.options.includes('ro') && top.options.includes('nosuid') && top.options.includes('noexec'), `read-only, nosuid, noexec as asked (${top?.options.join(',')})`);
  if (hostSub) {
    const sub = ro.find((m) => m.mountPoint === hostSub);
    t.ok(sub, `the host's ${hostSub} came along (a recursive bind)`);
    t.ok(sub?.options.includes('ro'), `and it is read-only too (${sub?.options.join(',')})`);
  }
  const all = ro.filter((m) => m.mountPoint === '/sys' || m.mountPoint.startsWith('/sys/'));
  t.same(all.filter((m) => !m.options.includes('ro')).map((m) => m.mountPoint), [], 'no writable mount anywhere under /sys');

  const rw = inside(['nosuid', 'noexec', 'nodev'], false);
  if (typeof rw === 'string') { t.fail(rw); return; }
  t.ok(rw.filter((m) => m.mountPoint === '/sys').at(-1)?.options.includes('rw'), 'without "ro" the bind stays read-write, as the config asks');

  const own = inside(['nosuid', 'noexec', 'nodev', 'ro'], true);
  if (typeof own === 'string') { t.fail(own); return; }
  if (hostSub) t.notOk(own.some((m) => m.mountPoint === hostSub), `with its own network namespace: a new sysfs, without the host's ${hostSub} below it`);
  t.ok(own.filter((m) => m.mountPoint === '/sys').at(-1)?.options.includes('ro'), 'and read-only');
});
