// Escape hardening, each test reproducing the attack it guards against:
// a host directory reached through an inherited fd as process.cwd (the
// CVE-2024-21626 class), the runtime's binary reached through /proc/<pid>/exe
// of our init (the CVE-2019-5736 class), mount destinations and device paths
// leaving the rootfs through symlinks and "..", and masked/read-only paths
// undone from inside without CAP_SYS_ADMIN.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, buildRootfs, type Config, OCIRUN, procComm, processGone, Sandbox, sharedRootfs, SKIP_NOT_ROOT, statusField, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

/** A host directory holding a marker file the container must never read. */
function hostDir(box: Sandbox): string {
  const dir = join(box.dir, 'host-secret');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'marker'), 'HOST SECRET\n');
  return dir;
}

/**
 * `ocirun create` with `fd` open (without FD_CLOEXEC) at 3 in its process,
 * as a careless parent would leave it; start; the program's output once it ended.
 */
async function createWithFd3(t: Test, box: Sandbox, fd: number, flags: string[]): Promise<{ code: number | null; stderr: string; out: string }> {
  const id = box.id();
  const outPath = join(box.dir, `${id}.out`);
  const errPath = join(box.dir, `${id}.err`);
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  const pidFile = join(box.dir, `${id}.pid`);
  const r = spawnSync(OCIRUN, ['--root', box.root, 'create', '--bundle', box.bundle, '--pid-file', pidFile, ...flags, id], { stdio: ['ignore', out, err, fd] });
  closeSync(out);
  closeSync(err);
  const stderr = readFileSync(errPath, 'utf8');
  if (r.status !== 0) return { code: r.status, stderr, out: '' };
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.equal(box.ocirun(['start', id]).code, 0, 'start');
  await until(() => processGone(pid));
  return { code: 0, stderr, out: readFileSync(outPath, 'utf8') };
}

t.test('CVE-2024-21626: process.cwd through /proc/self/fd/N never reaches a host directory', { skip }, async (t) => {
  const box = new Sandbox(t);
  const secret = hostDir(box);
  const dirFd = openSync(secret, 'r');
  t.teardown(() => closeSync(dirFd));
  const config = baseConfig(['sh', '-c', 'cat ./marker 2>/dev/null || echo "no marker"'], sharedRootfs());

  // The fd the runtime inherited is not passed on: whatever /proc/self/fd/N is in the init, it is not the host dir.
  const leaks: string[] = [];
  for (let n = 3; n <= 24; n++) {
    config.process.cwd = `/proc/self/fd/${n}`;
    box.writeConfig(config);
    const r = await createWithFd3(t, box, dirFd, []);
    if (r.out.includes('HOST SECRET')) leaks.push(`fd ${n}`);
  }
  t.same(leaks, [], 'no cwd /proc/self/fd/N read the host marker');

  // Even an fd passed on on purpose (--preserve-fds) is not accepted as the cwd: it leads outside the root.
  config.process.cwd = '/proc/self/fd/3';
  box.writeConfig(config);
  const r = await createWithFd3(t, box, dirFd, ['--preserve-fds', '1']);
  t.equal(r.code, 1, 'create refuses it');
  t.match(r.stderr, /process\.cwd \/proc\/self\/fd\/3: is outside the container's root filesystem/);
  t.notMatch(r.out, /HOST SECRET/);
});

t.test('no host fd reaches the container process; the created init holds no host directory', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  const secret = hostDir(box);
  const dirFd = openSync(secret, 'r');
  t.teardown(() => closeSync(dirFd));
  const id = box.id();
  const pidFile = join(box.dir, 'pid');
  const r = spawnSync(OCIRUN, ['--root', box.root, 'create', '--bundle', box.bundle, '--pid-file', pidFile, id], { stdio: ['ignore', 'ignore', 'ignore', dirFd] });
  t.equal(r.status, 0);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const initDirs = readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try { return readdirSync(`/proc/${pid}/fd/${fd}`) !== null; } catch { return false; }
  });
  t.same(initDirs, [], 'the waiting init holds no directory fd (nothing for /proc/self/fd/N to lead to)');
  t.equal(box.ocirun(['start', id]).code, 0);
  t.ok(await until(() => procComm(pid) === 'sleep'));
  t.same(readdirSync(`/proc/${pid}/fd`).sort(), ['0', '1', '2'], 'only stdio in the container process');
});

t.test('CVE-2019-5736: /proc/<pid>/exe of a waiting init cannot be opened from inside the container', { skip }, async (t) => {
  // Container A runs as an attacker would (default capabilities, no CAP_SYS_PTRACE) and
  // shares its pid namespace with container B, whose init (host's node binary) waits for start.
  const probe = [
    'while [ ! -e /tmp/go ]; do sleep 0.1; done',
    'for d in /proc/[0-9]*; do n=${d#/proc/}',
    '  if readlink $d/exe >/dev/null 2>&1; then r=readable; else r=denied; fi',
    '  if cat $d/exe >/dev/null 2>&1; then o=opened; else o=refused; fi',
    '  echo "$n $r $o"; done',
  ].join('\n');
  const box = new Sandbox(t, baseConfig(['sh', '-c', probe], sharedRootfs()));
  const a = box.id('a');
  const ca = box.create(a);
  if (!t.equal(ca.code, 0, ca.stderr)) return;
  t.equal(box.ocirun(['start', a]).code, 0);
  t.equal(statusField(ca.pid, 'CapEff')?.length, 16);
  t.equal((BigInt(`0x${statusField(ca.pid, 'CapEff')}`) >> 19n) & 1n, 0n, 'the attacker has no CAP_SYS_PTRACE');

  const b = box.id('b');
  const bConfig = baseConfig(['true'], sharedRootfs());
  bConfig.linux.namespaces = bConfig.linux.namespaces.map((n: { type: string }) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${ca.pid}/ns/pid` } : n));
  box.writeConfig(bConfig);
  const cb = box.create(b);
  if (!t.equal(cb.code, 0, cb.stderr)) return;
  const nspid = (statusField(cb.pid, 'NSpid') ?? '').split(/\s+/).at(-1);
  t.equal(procComm(cb.pid), 'ocirun-init', 'B is still our init, waiting for start');

  writeFileSync(`/proc/${ca.pid}/root/tmp/go`, '');
  t.ok(await until(() => processGone(ca.pid)), 'probe finished');
  const lines = readFileSync(join(box.dir, `${a}.stdout`), 'utf8').trim().split('\n');
  t.ok(lines.includes('1 readable opened'), `the probe can read its own exe (control): ${lines.join('; ')}`);
  t.ok(lines.includes(`${nspid} denied refused`), `the init (pid ${nspid} inside) is out of reach: more capabilities than the attacker, and non-dumpable`);
});

// A seccomp listener that holds the first notified call until a "release" file appears, then lets it run.
const HOLDING_LISTENER_C = String.raw`
#define _GNU_SOURCE
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char **argv) {
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strncpy(a.sun_path, argv[1], sizeof(a.sun_path) - 1);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0) return 1;
	int c = accept(s, NULL, NULL);
	char buf[65536], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	if (recvmsg(c, &m, 0) <= 0 || !CMSG_FIRSTHDR(&m)) return 2;
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
	struct seccomp_notif req;
	memset(&req, 0, sizeof(req));
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return 3;
	FILE *out = fopen(argv[2], "w");
	fprintf(out, "held %u\n", req.pid);
	fclose(out);
	while (access(argv[3], F_OK) != 0)
		usleep(20000);
	struct seccomp_notif_resp resp;
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	return 0;
}
`;

t.test('CVE-2019-5736: /proc/<pid>/exe stays out of reach after the capability drop, up to execve', { skip: skip || (spawnSync('cc', ['--version']).status === 0 ? false : 'needs a C compiler') }, async (t) => {
  // The dangerous window: the init has dropped to the container's uid and capabilities (so a
  // container process passes the uid and capability checks of ptrace_may_access), but its exe
  // is still the host's node. A seccomp listener holds it right there, in execve.
  const box = new Sandbox(t);
  const bin = join(box.dir, 'holder');
  writeFileSync(`${bin}.c`, HOLDING_LISTENER_C);
  const cc = spawnSync('cc', ['-o', bin, `${bin}.c`], { encoding: 'utf8' });
  if (!t.equal(cc.status, 0, cc.stderr)) return;
  const sock = join(box.dir, 'holder.sock');
  const held = join(box.dir, 'held');
  const release = join(box.dir, 'release');
  const holder = spawn(bin, [sock, held, release], { stdio: 'ignore' });
  t.teardown(() => { holder.kill('SIGKILL'); });
  t.ok(await until(() => existsSync(sock)), 'listener up');

  const probe = 'while [ ! -e /tmp/go ]; do sleep 0.1; done; n=$(cat /tmp/pid); '
    + 'if readlink /proc/$n/exe >/dev/null 2>&1; then r=readable; else r=denied; fi; '
    + 'if cat /proc/$n/exe >/dev/null 2>&1; then o=opened; else o=refused; fi; echo "$n $r $o"; '
    + 'if readlink /proc/1/exe >/dev/null 2>&1; then echo "control readable"; fi';
  box.writeConfig(baseConfig(['sh', '-c', probe], sharedRootfs()));
  const a = box.id('a');
  const ca = box.create(a);
  if (!t.equal(ca.code, 0, ca.stderr)) return;
  t.equal(box.ocirun(['start', a]).code, 0);

  const bConfig = baseConfig(['true'], sharedRootfs());
  bConfig.linux.namespaces = bConfig.linux.namespaces.map((n: { type: string }) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${ca.pid}/ns/pid` } : n));
  bConfig.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, syscalls: [{ names: ['execve'], action: 'SCMP_ACT_NOTIFY' }] };
  box.writeConfig(bConfig);
  const b = box.id('b');
  const cb = box.create(b);
  if (!t.equal(cb.code, 0, cb.stderr)) return;
  t.equal(box.ocirun(['start', b]).code, 0);
  if (!t.ok(await until(() => existsSync(held)), 'the init is held in execve')) return;
  t.equal(statusField(cb.pid, 'CapEff'), statusField(ca.pid, 'CapEff'), 'with the same capabilities as the attacker');
  t.equal(statusField(cb.pid, 'Uid'), statusField(ca.pid, 'Uid'), 'and the same uid');
  t.match(readlinkSync(`/proc/${cb.pid}/exe`), /node/, 'while its exe is still the host\'s node');

  const nspid = (statusField(cb.pid, 'NSpid') ?? '').split(/\s+/).at(-1);
  writeFileSync(`/proc/${ca.pid}/root/tmp/pid`, `${nspid}\n`);
  writeFileSync(`/proc/${ca.pid}/root/tmp/go`, '');
  t.ok(await until(() => processGone(ca.pid)), 'probe finished');
  writeFileSync(release, '');
  const out = readFileSync(join(box.dir, `${a}.stdout`), 'utf8');
  t.match(out, new RegExp(`^${nspid} denied refused\\ncontrol readable\\n$`), 'non-dumpable: the exe cannot be opened');
  t.ok(await until(() => processGone(cb.pid)), 'released, the program ran and ended');
});

// Both ways of resolving in the root: openat2(RESOLVE_IN_ROOT) (this kernel has it) and the
// component walk older kernels get (forced here through the plan's header flag).
for (const resolve of ['openat2', 'walk'] as const) t.test(`mount destinations and device paths cannot leave the rootfs through symlinks or ".." (${resolve})`, { skip }, async (t) => {
  const env = { ...process.env, _OCIRUN_RESOLVE: resolve === 'walk' ? 'walk' : '' };
  const box = new Sandbox(t);
  const secret = hostDir(box);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  symlinkSync(secret, join(rootfs, 'abs'));                                       // absolute: /abs -> <host dir>
  symlinkSync(`${'../'.repeat(12)}${secret.slice(1)}`, join(rootfs, 'rel'));      // climbing: /rel -> ../../…/<host dir>
  mkdirSync(join(rootfs, 'dev'), { recursive: true });
  const config: Config = baseConfig(['sh', '-c', `cut -d' ' -f5 /proc/self/mountinfo | grep -E 'sub[0-9]$'; ls ${secret}`], rootfs);
  config.root.readonly = false;
  // No tmpfs on /tmp: the host dir's path (under /tmp) must resolve to the rootfs directory itself.
  config.mounts = config.mounts.filter((m: { destination: string }) => m.destination !== '/tmp');
  config.mounts.push(
    { destination: '/abs/sub1', type: 'tmpfs', source: 'tmpfs' },
    { destination: '/rel/sub2', type: 'tmpfs', source: 'tmpfs' },
    { destination: `/x/${'../'.repeat(8)}${secret.slice(1)}/sub3`, type: 'tmpfs', source: 'tmpfs' },
    { destination: '/abs/sub4', type: 'bind', source: '/etc', options: ['rbind', 'ro'] },
  );
  config.linux.devices = [{ path: '/abs/null9', type: 'c', major: 1, minor: 3, fileMode: 0o666 }, { path: '/rel/null8', type: 'c', major: 1, minor: 3 }];
  box.writeConfig(config);
  const r = box.ocirun(['run', '--bundle', box.bundle, box.id()], { env });
  if (r.code !== 0) {
    // Refusing such a config is as good as containing it, as long as it names the culprit.
    t.match(r.stderr, /mounts\[|devices\[|\.\./, `refused: ${r.stderr.trim()}`);
  } else {
    t.same(r.stdout.split('\n').filter((l) => l.startsWith('/')).sort(), [`${secret}/sub1`, `${secret}/sub2`, `${secret}/sub3`, `${secret}/sub4`],
      'inside, the mounts sit at the symlinks\' targets resolved in the container root');
    t.ok(['sub1', 'sub2', 'sub3', 'sub4', 'null9', 'null8'].every((n) => existsSync(join(rootfs, secret, n))), 'mount points and device nodes were made under the rootfs');
  }
  t.same(readdirSync(secret), ['marker'], 'nothing was created in the host directory');
  const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(secret));
  t.same(hostMounts, [], 'nothing is mounted on it on the host');
});

t.test('maskedPaths and readonlyPaths hold against a container without CAP_SYS_ADMIN', { skip }, async (t) => {
  const attack = [
    'umount /proc/kcore 2>/dev/null; echo "umount-masked=$?"',
    'umount -l /proc/sys 2>/dev/null; echo "umount-ro=$?"',
    'mount -o remount,rw /proc/sys 2>/dev/null; echo "remount=$?"',
    'mount -t proc proc /tmp 2>/dev/null; echo "new-proc=$?"',
    'mount --bind /tmp /proc/sys 2>/dev/null; echo "bind-over=$?"',
    'echo x > /proc/sys/kernel/domainname 2>/dev/null; echo "write-ro=$?"',
    'echo "kcore-bytes=$(cat /proc/kcore 2>/dev/null | wc -c)"',
    'ls /sys/firmware 2>/dev/null | wc -l | sed "s/^/firmware-entries=/"',
    'grep -c " /proc/sys ro," /proc/self/mountinfo | sed "s/^/ro-mounts=/"',
  ].join('; ');
  const config = baseConfig(['sh', '-c', attack], sharedRootfs());
  const box = new Sandbox(t, config);
  const r = box.ocirun(['run', '--bundle', box.bundle, box.id()]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /umount-masked=[1-9]/, 'a masked path cannot be unmounted');
  t.match(r.stdout, /umount-ro=[1-9]/, 'a read-only path cannot be unmounted');
  t.match(r.stdout, /remount=[1-9]/, 'nor remounted read-write');
  t.match(r.stdout, /new-proc=[1-9]/, 'no fresh, unmasked proc can be mounted');
  t.match(r.stdout, /bind-over=[1-9]/, 'nothing can be bound over them');
  t.match(r.stdout, /write-ro=[1-9]/, '/proc/sys stays read-only');
  t.match(r.stdout, /kcore-bytes=0\n/, '/proc/kcore reads empty');
  t.match(r.stdout, /firmware-entries=0\n/, '/sys/firmware is empty');
  t.match(r.stdout, /ro-mounts=1\n/);
});
