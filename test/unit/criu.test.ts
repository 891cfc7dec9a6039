// CRIU's RPC messages and the options planned from a config: pure, no root.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { codecFrom, INSTALLED_SCHEMA, OWN_SCHEMA } from '../../src/criu/schema.js';
import { cgroupsMode, cgroupV1Mounts, dumpOptions, emptyNsMask, pageServer, restorePlan } from '../../src/criu/plan.js';
import { lastLogError } from '../../src/criu/common.js';
import { parseCgroupLines, parseMountinfo } from '../../src/linux/procfs.js';
import type { Spec } from '../../src/config/types.js';

t.test('our own messages encode exactly as CRIU\'s installed rpc.proto', { skip: existsSync(INSTALLED_SCHEMA) ? false : `${INSTALLED_SCHEMA} is not installed` }, async (t) => {
  const own = codecFrom(OWN_SCHEMA, 'own');
  const installed = codecFrom(readFileSync(INSTALLED_SCHEMA, 'utf8'), INSTALLED_SCHEMA);
  const req = {
    type: 'RESTORE' as const,
    keep_open: true,
    opts: {
      images_dir_fd: 7, work_dir_fd: 8, pid: 42, log_level: 4, log_file: 'restore.log', root: '/r', rst_sibling: true,
      manage_cgroups: true, manage_cgroups_mode: 'SOFT' as const, notify_scripts: true, shell_job: true, ext_unix_sk: true,
      tcp_established: true, file_locks: true, empty_ns: 0x40000000, orphan_pts_master: true, auto_dedup: true,
      lazy_pages: true, status_fd: 9, evasive_devices: true, leave_running: true, parent_img: '../pd', track_mem: true,
      freeze_cgroup: '/sys/fs/cgroup/x', config_file: '/etc/criu/ocirun.conf', lsm_profile: 'apparmor:p', lsm_mount_context: 'ctx',
      ps: { address: '10.0.0.1', port: 27, fd: 3 },
      ext_mnt: [{ key: '/out', val: '/host/out' }], cg_root: [{ path: '/a' }, { ctrl: 'memory', path: '/b' }],
      inherit_fd: [{ key: 'pipe:[12]', fd: 1 }], external: ['net[4026531840]:extRootNetNS'],
      join_ns: [{ ns: 'ipc', ns_file: '/proc/1/ns/ipc' }],
    },
  };
  t.same(Buffer.from(own.encodeRequest(req)), Buffer.from(installed.encodeRequest(req)), 'the same bytes for a request using every field we send');
  for (const type of ['DUMP', 'PRE_DUMP', 'FEATURE_CHECK', 'VERSION', 'NOTIFY'] as const) {
    t.same(Buffer.from(own.encodeRequest({ type, notify_success: true })), Buffer.from(installed.encodeRequest({ type, notify_success: true })), type);
  }
});

t.test('responses decode the same through both schemas', async (t) => {
  const protobuf = (await import('protobufjs')).default;
  const Resp = protobuf.parse(OWN_SCHEMA, { keepCase: true }).root.lookupType('criu_resp');
  const bytes = Resp.encode(Resp.fromObject({
    type: 'RESTORE', success: false, cr_errno: 2, cr_errmsg: 'oops', restore: { pid: 99 },
    notify: { script: 'post-restore', pid: 99 }, version: { major_number: 3, minor_number: 17, sublevel: 1 },
  })).finish();
  const own = codecFrom(OWN_SCHEMA, 'own').decodeResponse(bytes);
  t.match(own, { type: 'RESTORE', success: false, cr_errno: 2, cr_errmsg: 'oops', restore: { pid: 99 }, notify: { script: 'post-restore', pid: 99 } });
  if (existsSync(INSTALLED_SCHEMA)) t.same(codecFrom(readFileSync(INSTALLED_SCHEMA, 'utf8'), 'installed').decodeResponse(bytes), own);
});

t.test('--empty-ns, --manage-cgroups-mode and --page-server as runc reads them', async (t) => {
  t.equal(emptyNsMask([]), 0x40000000, 'the network namespace is never dumped');
  t.equal(emptyNsMask(['ipc', 'uts']), (0x40000000 | 0x08000000 | 0x04000000) >>> 0);
  t.throws(() => emptyNsMask(['bogus']), /--empty-ns: namespace "bogus" is not supported/);
  t.equal(cgroupsMode(undefined), undefined);
  t.equal(cgroupsMode('soft'), 'SOFT');
  t.equal(cgroupsMode('strict'), 'STRICT');
  t.throws(() => cgroupsMode('hard'), /--manage-cgroups-mode: invalid value "hard"/);
  t.same(pageServer('10.1.2.3:1234'), { address: '10.1.2.3', port: 1234 });
  t.same(pageServer('[::1]:80'), { address: '::1', port: 80 });
  for (const bad of ['host', ':80', 'host:', 'host:0', 'host:99999', 'host:x']) t.throws(() => pageServer(bad), /--page-server/, bad);
});

const spec: Spec = {
  ociVersion: '1.0.2',
  root: { path: 'rootfs' },
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/data/', type: 'bind', source: '/srv/data', options: ['rbind'] },
    { destination: '/etc/hosts', source: 'hosts', options: ['bind', 'ro'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs' },
  ],
  linux: {
    namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'network', path: '/run/netns/n1' }, { type: 'ipc', path: '/proc/7/ns/ipc' }],
    maskedPaths: ['/proc/kcore', '/proc/acpi', '/proc/missing'],
    devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }],
  },
} as Spec;

t.test('dump: bind mounts, masked files and devices are external; a joined network namespace too', async (t) => {
  const isDirectory = (p: string): boolean | null => (p === '/proc/acpi' ? true : p === '/proc/missing' ? null : false);
  const o = dumpOptions(spec, '/b', { isDirectory, nsInode: (p) => (p === '/run/netns/n1' ? 4026532000 : 0), cgroupLines: parseCgroupLines('0::/x\n'), mountinfo: [] });
  const ext = Object.fromEntries((o.ext_mnt ?? []).map((e) => [e.key, e.val]));
  t.equal(ext['/data'], '/data', 'a bind mount under its own path');
  t.equal(ext['/etc/hosts'], '/etc/hosts', 'bind by option, relative source');
  t.equal(ext['/proc/kcore'], '/dev/null', 'a masked file is a bind of /dev/null');
  t.notOk('/proc/acpi' in ext, 'a masked directory is a tmpfs CRIU dumps');
  t.notOk('/proc/missing' in ext, 'a masked path that does not exist is not masked');
  t.equal(ext['/dev/null'], '/dev/null', 'default devices');
  t.equal(ext['/dev/fuse'], '/dev/fuse', 'config devices');
  t.notOk('/proc' in ext || '/tmp' in ext, 'filesystems the container mounted itself are dumped');
  t.same(o.external, ['net[4026532000]:extRootNetNS']);
});

t.test('restore: every recorded name maps back to its host source', async (t) => {
  const p = restorePlan(spec, '/b', (path) => path === '/srv/data');
  const ext = Object.fromEntries(p.ext_mnt.map((e) => [e.key, e.val]));
  t.equal(ext['/data'], '/srv/data');
  t.equal(ext['/etc/hosts'], '/b/hosts', 'relative to the bundle, as create resolves it');
  t.equal(ext['/dev/null'], '/dev/null');
  t.equal(ext['/dev/fuse'], '/dev/fuse');
  t.same(p.mountpoints, [{ path: '/data', dir: true }, { path: '/etc/hosts', dir: false }]);
  t.same(p.inheritNs, [{ key: 'extRootNetNS', path: '/run/netns/n1' }]);
  t.same(p.join_ns, [{ ns: 'ipc', ns_file: '/proc/7/ns/ipc' }]);
  const userns = { ...spec, linux: { namespaces: [{ type: 'mount' }, { type: 'user', path: '/proc/1/ns/user' }] } } as Spec;
  t.throws(() => restorePlan(userns, '/b', () => false), /restore cannot join a user namespace by path/);
});

// A cgroup v1 (hybrid) host as /proc/<pid>/cgroup and the host's mount table show it.
const V1_LINES = parseCgroupLines('12:memory:/ctr/a\n11:cpu,cpuacct:/ctr/a\n1:name=systemd:/ctr/a\n0::/ctr/a\n');
const V1_MOUNTS = parseMountinfo([
  '30 25 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755',
  '35 30 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory',
  '36 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct',
  '31 30 0:27 / /sys/fs/cgroup/systemd rw,nosuid shared:10 - cgroup cgroup rw,xattr,name=systemd',
  '32 30 0:28 / /sys/fs/cgroup/unified rw,nosuid shared:11 - cgroup2 cgroup2 rw,nsdelegate',
].join('\n'));
const withCgroup = { ...spec, mounts: [...(spec.mounts ?? []), { destination: '/sys/fs/cgroup/', type: 'cgroup', source: 'cgroup', options: ['ro'] }] } as Spec;

t.test('cgroup v1: the per-hierarchy binds of a cgroup mount are external mounts, as runc makes them', async (t) => {
  const binds = cgroupV1Mounts(withCgroup, V1_LINES, V1_MOUNTS);
  t.same(binds, [
    { destination: '/sys/fs/cgroup/memory', source: '/sys/fs/cgroup/memory/ctr/a' },
    { destination: '/sys/fs/cgroup/cpu,cpuacct', source: '/sys/fs/cgroup/cpu,cpuacct/ctr/a' },
    { destination: '/sys/fs/cgroup/systemd', source: '/sys/fs/cgroup/systemd/ctr/a' },
  ], 'one per hierarchy the container is in, from the host mount of that hierarchy; the v2 line has none');
  const o = dumpOptions(withCgroup, '/b', { isDirectory: () => false, nsInode: () => 1, cgroupLines: V1_LINES, mountinfo: V1_MOUNTS });
  const ext = Object.fromEntries((o.ext_mnt ?? []).map((e) => [e.key, e.val]));
  for (const d of ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/systemd']) t.equal(ext[d], d, `dump names ${d} by itself`);
  t.notOk('/sys/fs/cgroup' in ext, 'the tmpfs under them is the container\'s: CRIU dumps it');
  // Restore: the same names, now bound from the new container's cgroup directories.
  const moved = cgroupV1Mounts(withCgroup, V1_LINES.map((l) => ({ ...l, path: '/ctr/b' })), V1_MOUNTS);
  t.same(moved.map((b) => b.source), ['/sys/fs/cgroup/memory/ctr/b', '/sys/fs/cgroup/cpu,cpuacct/ctr/b', '/sys/fs/cgroup/systemd/ctr/b']);
  t.same(cgroupV1Mounts(withCgroup, parseCgroupLines('0::/ctr/a\n'), V1_MOUNTS), [], 'cgroup v2: a real cgroup2 mount, nothing external');
  const ownNs = { ...withCgroup, linux: { ...withCgroup.linux, namespaces: [...(withCgroup.linux?.namespaces ?? []), { type: 'cgroup' }] } } as Spec;
  t.same(cgroupV1Mounts(ownNs, V1_LINES, V1_MOUNTS), [], 'a new cgroup namespace: real cgroup mounts, which CRIU dumps');
  t.same(cgroupV1Mounts(spec, V1_LINES, V1_MOUNTS), [], 'no cgroup mount in the config: nothing');
});

t.test('the last error of a CRIU log, without its clock and source location', async (t) => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/criu-log-');
  writeFileSync(`${dir}/x.log`, '(00.001) Version: 3.17\n(00.04) Error (criu/mount.c:1): mnt: Something went wrong.\n(00.05) Error (criu/cr-dump.c:2): Dumping FAILED.\n');
  t.equal(lastLogError(`${dir}/x.log`), 'Dumping FAILED');
  t.equal(lastLogError(`${dir}/none.log`), null);
  // A helper program's exit status says less than the step that ran it (CRIU 3.17 without iptables-restore).
  writeFileSync(`${dir}/y.log`, [
    '(03.74) Running network-lock scripts',
    'Error (criu/util.c:627): execvp("iptables-restore", ...) failed: No such file or directory',
    '(03.82) Error (criu/util.c:642): exited, status=1',
    '(03.87) Error (criu/net.c:3071): Locking network failed: iptables-restore returned -1. This may be connected to disabled CONFIG_NETFILTER_XT_MARK kernel build config option.',
    '(03.94) Error (criu/util.c:642): exited, status=1', '',
  ].join('\n'));
  t.equal(lastLogError(`${dir}/y.log`), 'Locking network failed: iptables-restore returned -1. This may be connected to disabled CONFIG_NETFILTER_XT_MARK kernel build config option');
  writeFileSync(`${dir}/z.log`, '(01.7) Error (criu/util.c:642): exited, status=1\n');
  t.equal(lastLogError(`${dir}/z.log`), 'exited, status=1', 'nothing better: the helper\'s status');
  (await import('node:fs')).rmSync(dir, { recursive: true });
});

t.test('CRIU\'s cr_errmsg as one clean line', async (t) => {
  const { cleanMessage } = await import('../../src/criu/common.js');
  t.equal(cleanMessage('Error (criu/sk-unix.c:351): unix: Unix socket 10920 not found\n'), 'unix: Unix socket 10920 not found');
  t.equal(cleanMessage('first\nError (x.c:1): second.\n\n'), 'second');
});
