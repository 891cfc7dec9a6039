// The container's root filesystem as the kernel sees it: every configured
// mount with its type and options, propagation, recursive read-only, created
// destinations, symlinks that must not escape the rootfs, read-only root,
// /dev, masked and read-only paths, hostname, --no-pivot and a host mount
// table left as it was.
import t, { type Test } from 'tap';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  baseConfig, buildRootfs, type Config, mountinfoOf, type MountInfo, run, Sandbox, sharedRootfs, SKIP_NOT_ROOT, startContainer, topMount,
} from '../helpers.js';

const skip = SKIP_NOT_ROOT;

/** A host directory outside the sandbox; its mounts (deepest first) are undone and it is removed at teardown. */
function hostDir(t: Test, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ocirun-host-${name}-`));
  t.teardown(() => {
    const points = mountinfoOf('self').map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(`${dir}/`));
    for (const p of points.reverse()) run('umount', ['-l', p]);
    try { rmSync(dir, { recursive: true, force: true }); } catch (err) { t.fail(`cleaning ${dir}: ${(err as Error).message}`); }
  });
  return dir;
}

function sh(cmd: string, args: string[]): void {
  const r = run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function hostMountLines(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.trim() !== '');
}

function mountAt(t: Test, mounts: MountInfo[], point: string): MountInfo {
  const m = topMount(mounts, point);
  t.ok(m, `${point} is a mount point in the container`);
  return m ?? { id: 0, parent: 0, majorMinor: '', root: '', mountPoint: point, options: [], optional: [], fstype: '', source: '', superOptions: [] };
}

/** `ocirun run` of a shell script in the container; its stdout, stderr and exit code. */
function runScript(box: Sandbox, config: Config, script: string, extra: string[] = []) {
  config.process.args = ['sh', '-c', script];
  box.writeConfig(config);
  return box.ocirun(['run', '--bundle', box.bundle, ...extra, box.id()]);
}

t.test('every mounts entry appears in the container mountinfo with its type and options', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  const shared = hostDir(t, 'bind');
  writeFileSync(join(shared, 'hello'), 'from the host\n');
  const config = baseConfig(['sleep', '30'], rootfs);
  config.mounts.push(
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/mnt/small', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=700', 'size=1m'] },
    { destination: '/mnt/bind', type: 'bind', source: shared, options: ['bind', 'rw'] },
    { destination: '/mnt/robind', type: 'bind', source: shared, options: ['bind', 'ro'] },
    { destination: '/mnt/nosuid', type: 'none', source: shared, options: ['rbind', 'nosuid', 'nodev', 'noexec'] },
  );
  box.writeConfig(config);
  const id = box.id();
  const pid = await startContainer(t, box, id);
  if (!pid) return;
  const mi = mountinfoOf(pid);

  const proc = mountAt(t, mi, '/proc');
  t.equal(proc.fstype, 'proc');
  const dev = mountAt(t, mi, '/dev');
  t.equal(dev.fstype, 'tmpfs');
  t.ok(dev.options.includes('nosuid'), '/dev nosuid');
  t.ok(dev.superOptions.includes('mode=755') && dev.superOptions.includes('size=65536k'), `/dev mode and size: ${dev.superOptions}`);
  const pts = mountAt(t, mi, '/dev/pts');
  t.equal(pts.fstype, 'devpts');
  t.ok(pts.options.includes('nosuid') && pts.options.includes('noexec'), `/dev/pts nosuid,noexec: ${pts.options}`);
  for (const o of ['mode=620', 'ptmxmode=666', 'gid=5']) t.ok(pts.superOptions.includes(o), `/dev/pts ${o}: ${pts.superOptions}`);
  const shm = mountAt(t, mi, '/dev/shm');
  t.equal(shm.fstype, 'tmpfs');
  // tmpfs lists mode= only when it is not the default 1777: look at the directory itself.
  t.equal(statSync(`/proc/${pid}/root/dev/shm`).mode & 0o7777, 0o1777, '/dev/shm mode 1777');
  const mq = mountAt(t, mi, '/dev/mqueue');
  t.equal(mq.fstype, 'mqueue');
  for (const o of ['nosuid', 'nodev', 'noexec']) t.ok(mq.options.includes(o), `/dev/mqueue ${o}`);
  const sys = mountAt(t, mi, '/sys');
  t.equal(sys.fstype, 'sysfs');
  t.equal(sys.options[0], 'ro', '/sys is read-only');
  for (const o of ['nosuid', 'nodev', 'noexec']) t.ok(sys.options.includes(o), `/sys ${o}`);
  const tmp = mountAt(t, mi, '/tmp');
  t.equal(tmp.fstype, 'tmpfs');
  t.equal(tmp.options[0], 'rw');
  t.equal(statSync(`/proc/${pid}/root/tmp`).mode & 0o7777, 0o1777, '/tmp mode 1777');

  const small = mountAt(t, mi, '/mnt/small');
  t.equal(small.fstype, 'tmpfs');
  for (const o of ['nosuid', 'nodev', 'noexec']) t.ok(small.options.includes(o), `/mnt/small ${o}: ${small.options}`);
  t.ok(small.superOptions.includes('size=1024k'), `size=1m reached the superblock: ${small.superOptions}`);
  t.ok(small.superOptions.includes('mode=700'), `mode=700 reached the superblock: ${small.superOptions}`);
  t.equal(statSync(`/proc/${pid}/root/mnt/small`).mode & 0o7777, 0o700, 'the tmpfs root has mode 700');

  const hostDev = statSync(shared).dev;
  const bind = mountAt(t, mi, '/mnt/bind');
  t.equal(bind.options[0], 'rw');
  t.equal(bind.root, shared, 'the bind shows the host directory as its root');
  t.equal(readFileSync(`/proc/${pid}/root/mnt/bind/hello`, 'utf8'), 'from the host\n', 'host file visible through the bind');
  t.equal(statSync(`/proc/${pid}/root/mnt/bind`).dev, hostDev, 'same device as the host directory');
  const ro = mountAt(t, mi, '/mnt/robind');
  t.equal(ro.options[0], 'ro', 'ro bind is read-only');
  t.equal(ro.root, shared);
  const ns = mountAt(t, mi, '/mnt/nosuid');
  for (const o of ['nosuid', 'nodev', 'noexec']) t.ok(ns.options.includes(o), `bind with ${o}: ${ns.options}`);
  t.equal(ns.options[0], 'rw');
});

t.test('mount flags do what they say: noexec, ro bind, writable bind (from inside)', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  const shared = hostDir(t, 'flags');
  const config = baseConfig([], rootfs);
  config.mounts.push(
    { destination: '/mnt/noexec', type: 'tmpfs', source: 'tmpfs', options: ['noexec'] },
    { destination: '/mnt/exec', type: 'tmpfs', source: 'tmpfs', options: [] },
    { destination: '/mnt/ro', type: 'bind', source: shared, options: ['rbind', 'ro'] },
    { destination: '/mnt/rw', type: 'bind', source: shared, options: ['rbind', 'rw'] },
  );
  const r = runScript(box, config, [
    // busybox picks its applet from argv[0]: the copy is named "true".
    'cp /bin/busybox /mnt/noexec/true; /mnt/noexec/true 2>/dev/null; echo noexec=$?',
    'cp /bin/busybox /mnt/exec/true; /mnt/exec/true; echo exec=$?',
    'touch /mnt/ro/x 2>/dev/null; echo ro=$?',
    'echo written > /mnt/rw/y; echo rw=$?',
  ].join('; '));
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /noexec=126\n/, 'running a binary from a noexec tmpfs is refused');
  t.match(r.stdout, /exec=0\n/, 'and works from a tmpfs without noexec');
  t.match(r.stdout, /ro=1\n/, 'ro bind refuses writes');
  t.match(r.stdout, /rw=0\n/);
  t.equal(readFileSync(join(shared, 'y'), 'utf8'), 'written\n', 'the write reached the host directory');
  t.notOk(existsSync(join(shared, 'x')));
});

t.test('rbind carries submounts; rro makes all of them read-only (mount_setattr)', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  const src = hostDir(t, 'rbind');
  mkdirSync(join(src, 'sub'));
  sh('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'subtmp', join(src, 'sub')]);
  writeFileSync(join(src, 'sub', 'f'), 'sub\n');
  const config = baseConfig(['sleep', '30'], rootfs);
  config.mounts.push(
    { destination: '/mnt/rbind', type: 'bind', source: src, options: ['rbind', 'rw'] },
    { destination: '/mnt/bind', type: 'bind', source: src, options: ['bind', 'rw'] },
    { destination: '/mnt/rro', type: 'bind', source: src, options: ['rbind', 'rro'] },
  );
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  const mi = mountinfoOf(pid);
  const sub = mountAt(t, mi, '/mnt/rbind/sub');
  t.equal(sub.fstype, 'tmpfs', 'rbind brought the submount along');
  t.equal(sub.options[0], 'rw');
  t.equal(readFileSync(`/proc/${pid}/root/mnt/rbind/sub/f`, 'utf8'), 'sub\n');
  t.notOk(topMount(mi, '/mnt/bind/sub'), 'a plain bind does not carry submounts');
  t.equal(mountAt(t, mi, '/mnt/rro').options[0], 'ro', 'rro: the top is read-only');
  const rroSub = mountAt(t, mi, '/mnt/rro/sub');
  t.equal(rroSub.fstype, 'tmpfs');
  t.equal(rroSub.options[0], 'ro', 'rro: the submount is read-only too');
  const hostSub = topMount(mountinfoOf('self'), join(src, 'sub'));
  t.equal(hostSub?.options[0], 'rw', 'the host submount stays writable');
});

t.test('propagation options: rprivate sees nothing new from the host, rslave receives host mounts', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  const src = hostDir(t, 'prop');
  // A shared host mount, so that propagation has something to carry.
  sh('mount', ['--bind', src, src]);
  sh('mount', ['--make-shared', src]);
  mkdirSync(join(src, 'later'));
  const config = baseConfig(['sleep', '30'], rootfs);
  config.mounts.push(
    { destination: '/mnt/private', type: 'bind', source: src, options: ['rbind', 'rprivate'] },
    { destination: '/mnt/slave', type: 'bind', source: src, options: ['rbind', 'rslave'] },
    { destination: '/mnt/shared', type: 'bind', source: src, options: ['rbind', 'rshared'] },
  );
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  const mi = mountinfoOf(pid);
  const priv = mountAt(t, mi, '/mnt/private');
  t.same(priv.optional.filter((o) => /^(shared|master):/.test(o)), [], `rprivate: no peer group, no master (${priv.optional})`);
  const slave = mountAt(t, mi, '/mnt/slave');
  t.ok(slave.optional.some((o) => o.startsWith('master:')), `rslave: has a master (${slave.optional})`);
  t.notOk(slave.optional.some((o) => o.startsWith('shared:')), 'rslave: not shared');
  const shared = mountAt(t, mi, '/mnt/shared');
  t.ok(shared.optional.some((o) => o.startsWith('shared:')), `rshared: in a peer group (${shared.optional})`);

  // A mount made on the host afterwards reaches the slave, not the private one.
  sh('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'later', join(src, 'later')]);
  const after = mountinfoOf(pid);
  t.ok(topMount(after, '/mnt/slave/later'), 'a later host mount propagated into the rslave mount');
  t.notOk(topMount(after, '/mnt/private/later'), 'and not into the rprivate one');
  const hostAfter = hostMountLines().join('\n');
  t.notOk(hostAfter.includes(`${rootfs}/mnt`), 'no container mount propagated back to the host');
});

t.test('missing mount destinations are created inside the rootfs', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  const src = hostDir(t, 'file');
  writeFileSync(join(src, 'data'), 'file bind\n');
  const config = baseConfig([], rootfs);
  config.mounts.push(
    { destination: '/new/deep/dir', type: 'tmpfs', source: 'tmpfs', options: [] },
    { destination: '/etc/bound-file', type: 'bind', source: join(src, 'data'), options: ['bind', 'ro'] },
  );
  t.notOk(existsSync(join(rootfs, 'new')));
  const r = runScript(box, config, 'grep -E " /new/deep/dir | /etc/bound-file " /proc/self/mountinfo; cat /etc/bound-file');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, / \/new\/deep\/dir rw[^ ]*( [^-][^ ]*)* - tmpfs /, 'tmpfs mounted on the created directory');
  t.match(r.stdout, / \/etc\/bound-file ro[, ]/, 'file bind mounted on a created file');
  t.match(r.stdout, /file bind\n$/);
  t.ok(statSync(join(rootfs, 'new/deep/dir')).isDirectory(), 'the directories were created in the rootfs');
  t.ok(statSync(join(rootfs, 'etc/bound-file')).isFile(), 'a file was created for the file bind');
});

t.test('a symlink in the rootfs pointing outside it does not take a mount out of the rootfs', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  const target = hostDir(t, 'evil-target'); // exists on the host, under /tmp
  const src = hostDir(t, 'evil-src');
  writeFileSync(join(target, 'host-only'), 'x');
  symlinkSync(target, join(rootfs, 'evil'));
  const config = baseConfig([], rootfs);
  // No /tmp tmpfs: the symlink's target then resolves to <rootfs>/tmp/… on the rootfs itself.
  config.mounts = config.mounts.filter((m: { destination: string }) => m.destination !== '/tmp');
  config.mounts.push({ destination: '/evil', type: 'bind', source: src, options: ['rbind', 'rw'] });
  const before = hostMountLines();
  const r = runScript(box, config, `echo inside > /evil/marker && grep -c " ${target} " /proc/self/mountinfo`);
  t.equal(r.code, 0, `run: ${r.stderr}`);
  t.equal(r.stdout.trim(), '1', 'the mount sits at the symlink target resolved inside the container root');
  t.equal(existsSync(join(src, 'marker')) && readFileSync(join(src, 'marker'), 'utf8'), 'inside\n', 'the bind worked');
  t.same(readdirSync(target), ['host-only'], 'the host directory the symlink names was not touched');
  t.ok(existsSync(join(rootfs, target)) && statSync(join(rootfs, target)).isDirectory(), 'the target was created inside the rootfs');
  t.ok(lstatSync(join(rootfs, 'evil')).isSymbolicLink(), 'the symlink is still a symlink');
  t.same(hostMountLines(), before, 'the host mount table is unchanged');
});

t.test('root.readonly: / refuses writes, the /tmp tmpfs does not', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig([], sharedRootfs());
  const r = runScript(box, config, 'touch /rootfs-write 2>&1; echo root=$?; touch /tmp/ok; echo tmp=$?; awk \'$5 == "/" { print "root-mount", $6 }\' /proc/self/mountinfo');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Read-only file system/);
  t.match(r.stdout, /root=1\n/);
  t.match(r.stdout, /tmp=0\n/);
  t.match(r.stdout, /^root-mount ro,/m, 'mountinfo: / is ro');
  t.notOk(existsSync(join(sharedRootfs(), 'rootfs-write')));

  const box2 = new Sandbox(t);
  const rootfs = buildRootfs(join(box2.dir, 'rootfs'));
  const config2 = baseConfig([], rootfs);
  config2.root.readonly = false;
  const w = runScript(box2, config2, 'touch /rootfs-write; echo root=$?; awk \'$5 == "/" { print "root-mount", $6 }\' /proc/self/mountinfo');
  t.match(w.stdout, /root=0\n/, 'readonly false: / is writable');
  t.match(w.stdout, /^root-mount rw,/m);
  t.ok(existsSync(join(rootfs, 'rootfs-write')));
});

t.test('root.path relative to the bundle', { skip }, async (t) => {
  const box = new Sandbox(t);
  buildRootfs(join(box.bundle, 'myroot'));
  writeFileSync(join(box.bundle, 'myroot/etc/which-root'), 'the bundle one\n');
  const config = baseConfig([], 'myroot');
  // Run from elsewhere, so a cwd-relative lookup would not find it.
  const r = runScript(box, config, 'cat /etc/which-root', []);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'the bundle one\n');
});

t.test('default devices, /dev symlinks and linux.devices', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig([], sharedRootfs());
  config.linux.devices = [
    { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 1000, gid: 1001 },
    { path: '/dev/net/tun', type: 'c', major: 10, minor: 200, fileMode: 0o620, uid: 0, gid: 0 },
    { path: '/dev/myloop', type: 'b', major: 7, minor: 200, fileMode: 0o640, uid: 0, gid: 6 },
  ];
  const devs = ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'fuse', 'net/tun', 'myloop'];
  const r = runScript(box, config, [
    `for d in ${devs.join(' ')}; do stat -c "%n %F %t:%T %a %u:%g" /dev/$d; done`,
    'for l in ptmx fd stdin stdout stderr; do echo "$l -> $(readlink /dev/$l)"; done',
    'head -c 4 /dev/zero | od -An -tx1',
    'echo gone > /dev/null && echo null-ok',
  ].join('; '));
  t.equal(r.code, 0, r.stderr);
  const lines = new Map(r.stdout.split('\n').filter((l) => l.startsWith('/dev/')).map((l) => [l.split(' ')[0], l]));
  const want: [string, string][] = [
    ['/dev/null', 'character special file 1:3 666 0:0'],
    ['/dev/zero', 'character special file 1:5 666 0:0'],
    ['/dev/full', 'character special file 1:7 666 0:0'],
    ['/dev/random', 'character special file 1:8 666 0:0'],
    ['/dev/urandom', 'character special file 1:9 666 0:0'],
    ['/dev/tty', 'character special file 5:0 666 0:0'],
    ['/dev/fuse', 'character special file a:e5 600 1000:1001'],
    ['/dev/net/tun', 'character special file a:c8 620 0:0'],
    ['/dev/myloop', 'block special file 7:c8 640 0:6'],
  ];
  for (const [path, rest] of want) t.equal(lines.get(path), `${path} ${rest}`, `${path}: type, major:minor (hex), mode, owner`);
  t.match(r.stdout, /^ptmx -> pts\/ptmx$/m, '/dev/ptmx -> pts/ptmx');
  t.match(r.stdout, /^fd -> \/proc\/self\/fd$/m);
  t.match(r.stdout, /^stdin -> \/proc\/self\/fd\/0$/m);
  t.match(r.stdout, /^stdout -> \/proc\/self\/fd\/1$/m);
  t.match(r.stdout, /^stderr -> \/proc\/self\/fd\/2$/m);
  t.match(r.stdout, /^ 00 00 00 00$/m, '/dev/zero reads zeros');
  t.match(r.stdout, /^null-ok$/m, '/dev/null takes writes');
});

// This host's kernel has neither /proc/kcore nor /proc/sysrq-trigger: the
// masked file is /proc/keys (world-readable), the read-only file
// /proc/sys/kernel/hostname (a write there would only rename the container).
t.test('maskedPaths and readonlyPaths, and a process without CAP_SYS_ADMIN cannot undo them', { skip }, async (t) => {
  for (const p of ['/sys/firmware', '/proc/keys', '/proc/timer_list', '/proc/sys', '/proc/bus']) t.ok(existsSync(p), `the host has ${p}`);
  const box = new Sandbox(t);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.linux.maskedPaths.push('/proc/does-not-exist');
  config.linux.readonlyPaths.push('/proc/uptime');
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  const mi = mountinfoOf(pid);
  const fw = mountAt(t, mi, '/sys/firmware');
  t.equal(fw.fstype, 'tmpfs', 'a masked directory is a tmpfs');
  t.equal(fw.options[0], 'ro', 'read-only');
  t.same(readdirSync(`/proc/${pid}/root/sys/firmware`), [], 'and empty');
  for (const p of ['/proc/keys', '/proc/timer_list']) {
    const m = mountAt(t, mi, p);
    t.equal(m.root, '/null', `${p}: the container's /dev/null is bound over it`);
    t.equal(readFileSync(`/proc/${pid}/root${p}`, 'utf8'), '', `${p} reads empty`);
  }
  for (const p of ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/uptime']) {
    if (!existsSync(p)) continue;
    const m = mountAt(t, mi, p);
    t.equal(m.options[0], 'ro', `${p} is read-only`);
  }

  const box2 = new Sandbox(t);
  const c2 = baseConfig([], sharedRootfs());
  c2.linux.readonlyPaths.push('/proc/uptime');
  const r = runScript(box2, c2, [
    'echo keys=$(cat /proc/keys | wc -c)',
    'echo fw=$(ls -A /sys/firmware | wc -l)',
    'echo renamed > /proc/sys/kernel/hostname 2>/dev/null; echo hostwrite=$?',
    'echo host=$(hostname)',
    'touch /sys/firmware/x 2>/dev/null; echo fwwrite=$?',
    'mount -o remount,rw /proc/sys 2>/dev/null; echo remount=$?',
    'mount -o remount,rw /sys/firmware 2>/dev/null; echo remountfw=$?',
    'umount /proc/keys 2>/dev/null; echo umount=$?',
    'umount -l /proc/sys 2>/dev/null; echo umountsys=$?',
    'awk \'$5 == "/proc/sys" { print "procsys", $6 }\' /proc/self/mountinfo',
    'echo keys2=$(cat /proc/keys | wc -c)',
  ].join('; '));
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^keys=0$/m, 'reading a masked file gives nothing');
  t.match(r.stdout, /^fw=0$/m, 'a masked directory is empty');
  t.match(r.stdout, /^hostwrite=1$/m, 'a file under a read-only path cannot be written');
  t.match(r.stdout, /^host=testbox$/m, 'and was not');
  t.match(r.stdout, /^fwwrite=1$/m, 'a masked directory cannot be written');
  t.match(r.stdout, /^remount=[1-9]\d*$/m, 'remount rw of /proc/sys is refused');
  t.match(r.stdout, /^remountfw=[1-9]\d*$/m, 'remount rw of a mask is refused');
  t.match(r.stdout, /^umount=[1-9]\d*$/m, 'unmounting a mask is refused');
  t.match(r.stdout, /^umountsys=[1-9]\d*$/m, 'unmounting a read-only path is refused');
  t.match(r.stdout, /^procsys ro,/m, '/proc/sys still read-only afterwards');
  t.match(r.stdout, /^keys2=0$/m, '/proc/keys still masked afterwards');
});

t.test('hostname and domainname', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig([], sharedRootfs());
  config.hostname = 'boxname';
  config.domainname = 'example.test';
  const hostBefore = readFileSync('/proc/sys/kernel/hostname', 'utf8');
  const domainBefore = readFileSync('/proc/sys/kernel/domainname', 'utf8');
  const r = runScript(box, config, 'hostname; cat /proc/sys/kernel/domainname');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'boxname\nexample.test\n');
  t.equal(readFileSync('/proc/sys/kernel/hostname', 'utf8'), hostBefore, 'host hostname unchanged');
  t.equal(readFileSync('/proc/sys/kernel/domainname', 'utf8'), domainBefore, 'host domainname unchanged');
});

t.test('--no-pivot: the container sees its rootfs as /', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  writeFileSync(join(rootfs, 'etc/which-root'), 'no-pivot rootfs\n');
  const config = baseConfig(['sleep', '30'], rootfs);
  const r = runScript(box, config, 'cat /etc/which-root; ls /; test -e /proc/self/root/etc/which-root && echo self-root-ok', ['--no-pivot']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^no-pivot rootfs\n/);
  t.same(r.stdout.split('\n').slice(1).filter((l) => l && l !== 'self-root-ok').sort(),
    readdirSync(rootfs).sort(), 'ls / lists the rootfs');
  t.match(r.stdout, /self-root-ok/);

  config.process.args = ['sleep', '30'];
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id(), 'sleep', ['--no-pivot']);
  if (!pid) return;
  t.equal(readFileSync(`/proc/${pid}/root/etc/which-root`, 'utf8'), 'no-pivot rootfs\n', "the process's root is the rootfs");
  t.ok(topMount(mountinfoOf(pid), '/proc'), 'mounts are seen relative to the new root');
});

t.test('rootfsPropagation sets the propagation of the container root', { skip }, async (t) => {
  for (const [prop, check] of [
    ['shared', (m: MountInfo) => m.optional.some((o) => o.startsWith('shared:'))],
    ['private', (m: MountInfo) => !m.optional.some((o) => /^(shared|master):/.test(o))],
    ['unbindable', (m: MountInfo) => m.optional.includes('unbindable')],
  ] as const) {
    const box = new Sandbox(t);
    const config = baseConfig(['sleep', '30'], sharedRootfs());
    config.linux.rootfsPropagation = prop;
    box.writeConfig(config);
    const pid = await startContainer(t, box, box.id());
    if (!pid) continue;
    const root = topMount(mountinfoOf(pid), '/');
    t.ok(root && check(root), `rootfsPropagation ${prop}: / has ${root?.optional.join(' ') || 'no optional fields'}`);
  }
});

t.test('the host mount table is unchanged after create, start and delete', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  const src = hostDir(t, 'unchanged');
  const config = baseConfig(['sleep', '30'], rootfs);
  config.mounts.push(
    { destination: '/mnt/a', type: 'bind', source: src, options: ['rbind', 'ro'] },
    { destination: '/mnt/b', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: [] },
  );
  box.writeConfig(config);
  const before = hostMountLines();
  const id = box.id();
  const pid = await startContainer(t, box, id);
  t.ok(pid);
  t.same(hostMountLines(), before, 'while running: the host mount table is unchanged');
  t.equal(box.ocirun(['delete', '--force', id]).code, 0);
  t.same(hostMountLines(), before, 'after delete: unchanged');
  t.same(readdirSync(join(rootfs, 'mnt')).sort(), ['a', 'b'], 'only the destinations were created');
});
