// cgroups without root: hierarchy detection from mount tables, path
// resolution, every resource's v1 and v2 writes and unit conversions, and
// the managers against a temp-dir cgroup root laid out like the kernel's.
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CGROUP2_SUPER_MAGIC, classifyHierarchies, parseCgroupMounts, parseProcCgroup } from '../../src/linux/cgroups/hierarchy.js';
import { placedCgroupLines, resolveCgroupPaths, sameCgroupLines, type CgroupPaths } from '../../src/linux/cgroups/paths.js';
import { parseCgroupLines, parseMountinfo } from '../../src/linux/procfs.js';
import * as P from '../../src/linux/cgroups/resources.js';
import { deviceRules, devicesV1, DEFAULT_ALLOWED_DEVICES } from '../../src/linux/cgroups/devices.js';
import { cgroupManager, V1Cgroups, V2Cgroups } from '../../src/linux/cgroups/manager.js';
import { isFrozen } from '../../src/linux/cgroups/record.js';
import { cgroupTree, pidsInTree, removeCgroupTree } from '../../src/linux/cgroups/fsutil.js';
import { collectStats, statsJson } from '../../src/linux/cgroups/stats.js';
import { parseCpuList } from '../../src/linux/sched.js';
import { mergeResources } from '../../src/container/cgroups.js';
import { ramInBytes, resourcesFromArgs } from '../../src/cli/commands/update.js';
import { parseDuration } from '../../src/cli/commands/events.js';

// This machine's layout: v1 controllers, name=systemd, cgroup2 at /sys/fs/cgroup/unified.
const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`;
const CO_MOUNTED = `1 0 0:1 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
2 0 0:2 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
3 0 0:3 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
`;
const UNIFIED = '5 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';

t.test('hierarchies from mountinfo: hybrid, v1 (co-mounted, sub-tree roots), v2', async (t) => {
  const hybrid = classifyHierarchies(parseCgroupMounts(HYBRID_MOUNTINFO), 0x01021994 /* tmpfs */);
  t.equal(hybrid.mode, 'hybrid');
  t.same(hybrid.v1.map((h) => h.controllers.join(',')), ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'name=systemd'], 'mount options like xattr are not controllers');
  t.same(hybrid.unified, { mountPoint: '/sys/fs/cgroup/unified', root: '/' });

  const v1 = classifyHierarchies(parseCgroupMounts(CO_MOUNTED), 0x01021994);
  t.equal(v1.mode, 'v1');
  t.equal(v1.v1.length, 2, 'a hierarchy mounted twice counts once');
  t.same(v1.v1[0]?.controllers, ['cpu', 'cpuacct']);
  t.equal(v1.v1[1]?.root, '/docker/abc');

  const v2 = classifyHierarchies(parseCgroupMounts(UNIFIED), CGROUP2_SUPER_MAGIC);
  t.equal(v2.mode, 'v2');
  t.same(classifyHierarchies(parseCgroupMounts(HYBRID_MOUNTINFO + UNIFIED.replace('/sys/fs/cgroup', '/x')), CGROUP2_SUPER_MAGIC).v1, [], 'cgroup2 on /sys/fs/cgroup: v1 leftovers ignored');
  t.equal(classifyHierarchies(parseCgroupMounts(HYBRID_MOUNTINFO), null, 'v2').mode, 'v2', 'a hybrid host narrowed to its cgroup2 side');
  t.throws(() => classifyHierarchies({ v1: [], unified: null }, null), /no cgroup filesystem/);
});

t.test('/proc/self/cgroup', async (t) => {
  const own = parseProcCgroup('9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n0::/u\n');
  t.equal(own.v1.get('memory'), '/process_api/abc');
  t.equal(own.v1.get('cpuacct'), '/x');
  t.equal(own.v1.get('name=systemd'), '/');
  t.equal(own.unified, '/u');
});

t.test('cgroupsPath: absolute, relative to our own cgroup, and the default <id>', async (t) => {
  const h = classifyHierarchies(parseCgroupMounts(HYBRID_MOUNTINFO), 0);
  const own = parseProcCgroup('4:memory:/process_api/abc\n1:cpu:/\n0::/\n');
  const abs = resolveCgroupPaths(h, own, '/ocirun/box1', 'box1');
  t.equal(abs.v1.find((p) => p.controllers.includes('memory'))?.dir, '/sys/fs/cgroup/memory/ocirun/box1', 'absolute ignores our own cgroup');
  t.equal(abs.unified?.dir, '/sys/fs/cgroup/unified/ocirun/box1');
  const rel = resolveCgroupPaths(h, own, 'pod/box1', 'box1');
  t.equal(rel.v1.find((p) => p.controllers.includes('memory'))?.dir, '/sys/fs/cgroup/memory/process_api/abc/pod/box1');
  t.equal(rel.v1.find((p) => p.controllers.includes('cpu'))?.dir, '/sys/fs/cgroup/cpu/pod/box1');
  const def = resolveCgroupPaths(h, own, undefined, 'box1');
  t.equal(def.v1.find((p) => p.controllers.includes('memory'))?.dir, '/sys/fs/cgroup/memory/process_api/abc/box1', 'runc\'s default: <id> under our own cgroup');
  t.equal(def.v1.find((p) => p.controllers.includes('name=systemd'))?.dir, '/sys/fs/cgroup/systemd/box1', 'named hierarchies too');
  const sub = classifyHierarchies(parseCgroupMounts(CO_MOUNTED), 0);
  const inContainer = resolveCgroupPaths(sub, parseProcCgroup('3:memory:/docker/abc\n'), 'x', 'id');
  t.equal(inContainer.v1[1]?.dir, '/sys/fs/cgroup/memory/x', 'own path seen through a mounted sub-tree');
  t.throws(() => resolveCgroupPaths(h, own, '/', 'id'), /linux.cgroupsPath/);

  // Pure cgroup2: our own cgroup (a session, a service) has processes, so a
  // relative path starts from its parent: next to us, not under us (runc's fs2).
  const v2 = classifyHierarchies(parseCgroupMounts(UNIFIED), CGROUP2_SUPER_MAGIC);
  const svc = parseProcCgroup('0::/system.slice/engine.service\n');
  t.equal(resolveCgroupPaths(v2, svc, undefined, 'box1').unified?.dir, '/sys/fs/cgroup/system.slice/box1', 'default: next to our own cgroup');
  t.equal(resolveCgroupPaths(v2, svc, 'pod/box1', 'box1').unified?.dir, '/sys/fs/cgroup/system.slice/pod/box1');
  t.equal(resolveCgroupPaths(v2, svc, '/abs/box1', 'box1').unified?.dir, '/sys/fs/cgroup/abs/box1', 'absolute: as given');
  t.equal(resolveCgroupPaths(v2, parseProcCgroup('0::/\n'), undefined, 'box1').unified?.dir, '/sys/fs/cgroup/box1', 'at the root: the root');
  t.equal(resolveCgroupPaths(h, parseProcCgroup('0::/u\n'), undefined, 'box1').unified?.dir, '/sys/fs/cgroup/unified/u/box1', 'hybrid: under our own cgroup, as before');
});

t.test("a child's /proc/<pid>/cgroup once placed, predicted from ours (create's early plan)", async (t) => {
  const mounts = parseMountinfo(HYBRID_MOUNTINFO);
  const h = classifyHierarchies(parseCgroupMounts(HYBRID_MOUNTINFO), 0);
  const ownText = '10:pids:/\n9:name=systemd:/\n4:memory:/process_api/abc\n3:cpuset:/\n1:cpu:/\n0::/\n';
  const own = parseCgroupLines(ownText);
  const paths = resolveCgroupPaths(h, parseProcCgroup(ownText), undefined, 'box1');
  t.same(placedCgroupLines(own, paths, mounts), parseCgroupLines(
    // pids is not mounted here: the child stays where we are.
    '10:pids:/\n9:name=systemd:/box1\n4:memory:/process_api/abc/box1\n3:cpuset:/box1\n1:cpu:/box1\n0::/box1\n',
  ), 'each mounted hierarchy: the container directory, from the hierarchy root');
  t.same(placedCgroupLines(own, null, mounts), own, 'no cgroups of its own: ours');

  // Through a mounted sub-tree (ocirun inside a container): the kernel names the cgroup from the hierarchy root.
  const sub = parseMountinfo(CO_MOUNTED);
  const subPaths = resolveCgroupPaths(classifyHierarchies(parseCgroupMounts(CO_MOUNTED), 0), parseProcCgroup('3:memory:/docker/abc\n'), 'x', 'id');
  t.same(placedCgroupLines(parseCgroupLines('3:memory:/docker/abc\n2:cpu,cpuacct:/\n'), subPaths, sub), parseCgroupLines('3:memory:/docker/abc/x\n2:cpu,cpuacct:/x\n'));

  const v2 = parseMountinfo(UNIFIED);
  const v2Paths = resolveCgroupPaths(classifyHierarchies(parseCgroupMounts(UNIFIED), CGROUP2_SUPER_MAGIC), parseProcCgroup('0::/system.slice/x.service\n'), undefined, 'box1');
  t.same(placedCgroupLines(parseCgroupLines('0::/system.slice/x.service\n'), v2Paths, v2), parseCgroupLines('0::/system.slice/box1\n'), 'cgroup2: next to our own');

  t.equal(placedCgroupLines(own, paths, parseMountinfo(CO_MOUNTED)), null, 'a directory under no cgroup mount we know: no prediction');

  const a = parseCgroupLines('4:memory:/a\n0::/a\n');
  t.ok(sameCgroupLines(a, parseCgroupLines('4:memory:/a\n0::/a\n')));
  t.notOk(sameCgroupLines(a, parseCgroupLines('4:memory:/b\n0::/a\n')), 'another path');
  t.notOk(sameCgroupLines(a, parseCgroupLines('4:memory:/a\n')), 'a hierarchy fewer');
  t.notOk(sameCgroupLines(a, parseCgroupLines('5:memory:/a\n0::/a\n')), 'another hierarchy id');
});

t.test('memory: v1 files, memory+swap ordering, v2 swap conversion and refusals', async (t) => {
  const noFile = (): null => null;
  t.same(P.memoryV1({ limit: 100, swap: 200 }, () => '50').map((w) => w.file), ['memory.memsw.limit_in_bytes', 'memory.limit_in_bytes'], 'raising: memsw first');
  t.same(P.memoryV1({ limit: 100, swap: 200 }, () => '500').map((w) => w.file), ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes'], 'lowering: memory first');
  t.same(P.memoryV1({ limit: -1 }, () => '0').map((w) => [w.file, w.value]), [['memory.memsw.limit_in_bytes', '-1'], ['memory.limit_in_bytes', '-1']], 'unlimited memory makes swap unlimited');
  t.same(P.memoryV1({ limit: -1, swap: -1 }, noFile).map((w) => w.file), ['memory.limit_in_bytes'], 'no swap accounting: unlimited swap is a no-op');
  const all = P.memoryV1({ reservation: 10, kernel: 20, kernelTCP: 30, swappiness: 60, disableOOMKiller: true, useHierarchy: true }, noFile);
  t.same(all.map((w) => `${w.file}=${w.value}`), ['memory.soft_limit_in_bytes=10', 'memory.kmem.limit_in_bytes=20', 'memory.kmem.tcp.limit_in_bytes=30', 'memory.swappiness=60', 'memory.oom_control=1', 'memory.use_hierarchy=1']);
  t.throws(() => P.memoryV1({ swappiness: 101 }, noFile), /memory.swappiness: 101 is out of range/);

  t.equal(P.swapForV2(300, 100), 200, 'v2 swap is swap alone');
  t.equal(P.swapForV2(-1, 100), -1);
  t.equal(P.swapForV2(0, -1), -1, 'unlimited memory, swap unset: both unlimited');
  t.throws(() => P.swapForV2(50, 100), /must be at least the memory limit/);
  t.throws(() => P.swapForV2(50, 0), /needs a memory limit/);
  t.same(P.memoryV2({ limit: 100, swap: 300, reservation: 10 }, noFile).map((w) => `${w.file}=${w.value}`), ['memory.swap.max=200', 'memory.max=100', 'memory.low=10']);
  t.same(P.memoryV2({ limit: -1 }, noFile).map((w) => `${w.file}=${w.value}`), ['memory.swap.max=max', 'memory.max=max']);
  t.same(P.memoryV2({ limit: 100, swappiness: 10 }, noFile).map((w) => w.file), ['memory.max'], 'swappiness: ignored on v2, as runc does (there is no such file)');
  t.throws(() => P.memoryV2({ kernel: 10 }, noFile), /memory.kernel: cgroup v2/);
  t.throws(() => P.memoryV2({ disableOOMKiller: true }, noFile), /disableOOMKiller/);
  t.throws(() => P.memoryV2({ limit: 100, checkBeforeUpdate: true }, (f) => (f === 'memory.current' ? '500' : null)), /below the current usage 500/);
});

t.test('cpu and cpuset: v1 files, v2 weight and cpu.max', async (t) => {
  const v1 = P.cpuV1({ shares: 512, quota: 50000, period: 100000, burst: 1000, realtimeRuntime: 950, realtimePeriod: 1000, idle: 1 });
  t.same(v1.map((w) => `${w.file}=${w.value}`), ['cpu.shares=512', 'cpu.rt_period_us=1000', 'cpu.rt_runtime_us=950', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=50000', 'cpu.cfs_burst_us=1000', 'cpu.idle=1']);
  t.equal(v1.find((w) => w.file === 'cpu.cfs_period_us')?.retryLast, true, 'a period the old quota rejects is retried after the quota');
  t.equal(P.sharesToWeight(2), 1);
  t.equal(P.sharesToWeight(1024), 39);
  t.equal(P.sharesToWeight(262144), 10000);
  t.same(P.cpuV2({ shares: 1024, quota: 50000, period: 100000, burst: 10 }).map((w) => `${w.file}=${w.value}`), ['cpu.weight=39', 'cpu.max=50000 100000', 'cpu.max.burst=10']);
  t.same(P.cpuV2({ quota: -1 }).map((w) => w.value), ['max']);
  t.same(P.cpuV2({ period: 20000 }).map((w) => w.value), ['max 20000'], 'period alone: no quota');
  t.same(P.cpuV2({ idle: 1, shares: 100 }).map((w) => w.file), ['cpu.idle'], 'an idle cgroup has no weight');
  t.throws(() => P.cpuV2({ realtimeRuntime: 5 }), /realtimeRuntime: cgroup v2 has no realtime/);
  t.same(P.cpuset({ cpus: '0-1', mems: '0' }).map((w) => `${w.file}=${w.value}`), ['cpuset.cpus=0-1', 'cpuset.mems=0']);
});

t.test('pids, blockIO, hugetlb, network, rdma, unified', async (t) => {
  t.same(P.pids({ limit: 50 }).map((w) => w.value), ['50']);
  t.same(P.pids({ limit: -1 }).map((w) => w.value), ['max']);
  t.same(P.pids({ limit: 0 }), [], '0 leaves pids.max alone');

  const bio = { weight: 500, leafWeight: 300, weightDevice: [{ major: 8, minor: 0, weight: 600, leafWeight: 100 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }] };
  const cfq = P.blockIOV1(bio, (f) => (f === 'blkio.weight' ? '500' : null));
  t.same(cfq.map((w) => `${w.file}=${w.value}`), ['blkio.weight=500', 'blkio.leaf_weight=300', 'blkio.weight_device=8:0 600', 'blkio.leaf_weight_device=8:0 100', 'blkio.throttle.read_bps_device=8:0 1048576', 'blkio.throttle.write_iops_device=8:16 100']);
  const bfq = P.blockIOV1({ weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 600 }] }, () => null);
  t.same(bfq.map((w) => w.file), ['blkio.bfq.weight', 'blkio.bfq.weight_device'], 'BFQ names where CFQ is gone');
  t.equal(P.blkioWeightToIOWeight(10), 1);
  t.equal(P.blkioWeightToIOWeight(1000), 10000);
  t.equal(P.blkioWeightToIOWeight(500), 4950);
  const v2 = P.blockIOV2({ weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 0 }], throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 4096 }] }, () => null);
  t.same(v2.map((w) => `${w.file}=${w.value}`), ['io.weight=4950', 'io.max=8:0 rbps=max', 'io.max=8:0 wbps=4096']);
  t.same(P.blockIOV2({ weight: 500 }, (f) => (f === 'io.bfq.weight' ? 'default 100' : null)).map((w) => `${w.file}=${w.value}`), ['io.bfq.weight=500'], 'BFQ keeps the blkio scale');
  t.throws(() => P.blockIOV2({ leafWeight: 10 }, () => null), /leafWeight: cgroup v2 has no leaf weights/);

  const present = (f: string): string | null => (f.includes('2MB') ? '0' : null);
  t.same(P.hugetlb([{ pageSize: '2MB', limit: 4194304 }], 1, present).map((w) => `${w.file}=${w.value}`), ['hugetlb.2MB.limit_in_bytes=4194304', 'hugetlb.2MB.rsvd.limit_in_bytes=4194304']);
  t.same(P.hugetlb([{ pageSize: '2MB', limit: 4194304 }], 2, (f) => (f === 'hugetlb.2MB.max' ? 'max' : null)).map((w) => w.file), ['hugetlb.2MB.max']);
  t.throws(() => P.hugetlb([{ pageSize: '3MB', limit: 1 }], 2, present), /hugepageLimits\[0\].pageSize: this host has no 3MB huge pages/);
  t.throws(() => P.hugetlb([{ pageSize: '2M', limit: 1 }], 2, present), /not a page size/);

  t.same(P.netCls({ classID: 0x100001 }).map((w) => `${w.file}=${w.value}`), ['net_cls.classid=1048577']);
  t.same(P.netPrio({ priorities: [{ name: 'eth0', priority: 5 }, { name: 'lo', priority: 1 }] }).map((w) => w.value), ['eth0 5', 'lo 1'], 'one interface a write');
  t.same(P.rdma({ mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, mlx4_0: { hcaObjects: 5 } }).map((w) => w.value), ['mlx5_1 hca_handle=3 hca_object=10000', 'mlx4_0 hca_object=5']);

  const controllers = (f: string): string | null => (f === 'cgroup.controllers' ? 'cpu memory pids' : null);
  t.same(P.unified({ 'memory.high': '1000000', 'cgroup.max.descendants': '3' }, controllers).map((w) => `${w.file}=${w.value}`), ['memory.high=1000000', 'cgroup.max.descendants=3']);
  t.throws(() => P.unified({ 'hugetlb.2MB.max': '1' }, controllers), /unified\["hugetlb.2MB.max"\]: the hugetlb controller is not enabled/);
  t.throws(() => P.unified({ '../escape': '1' }, controllers), /not a cgroup file name/);
});

t.test('device rules: config first, then runc\'s defaults; v1 lines; bad rules named', async (t) => {
  const rules = deviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'wr' }], [{ path: '/dev/null', type: 'c', major: 1, minor: 3 }]);
  t.equal(rules.length, 2 + DEFAULT_ALLOWED_DEVICES.length - 1, 'the default /dev/null rule goes when linux.devices redefines it');
  t.equal(rules[1]?.access, 'rw', 'access normalised');
  const lines = devicesV1(rules).map((w) => `${w.file}: ${w.value}`);
  t.equal(lines[0], 'devices.deny: a');
  t.equal(lines[1], 'devices.allow: c 10:229 rw');
  t.ok(lines.includes('devices.allow: c *:* m'));
  t.ok(lines.includes('devices.allow: c 136:* rwm'));
  t.throws(() => deviceRules([{ allow: true, access: '' }], []), /devices\[0\].access/);
  t.throws(() => deviceRules([{ allow: true, access: 'rwx' }], []), /devices\[0\].access/);
  t.throws(() => deviceRules([{ allow: true, type: 'p' as 'c', access: 'r' }], []), /devices\[0\].type/);
});

/** A fake cgroup tree: directories with the files the kernel would show (all empty unless given). */
function fakeTree(root: string, dir: string, files: Record<string, string>): void {
  mkdirSync(join(root, dir), { recursive: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(join(root, dir, f), v);
}

t.test('v1 manager on a temp-dir root: create, cpuset inheritance, apply, set, freeze, pids, destroy', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocirun-cg-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  fakeTree(root, 'cpuset', { 'cpuset.cpus': '0-3\n', 'cpuset.mems': '0\n' });
  // The kernel makes these files with the directory; so does the test.
  const leafFiles = { 'cgroup.procs': '', 'memory.limit_in_bytes': '9223372036854771712\n', 'memory.memsw.limit_in_bytes': '', 'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n', 'cpu.shares': '', 'pids.max': '', 'freezer.state': 'THAWED\n', 'devices.allow': '', 'devices.deny': '' };
  for (const c of ['memory', 'cpu', 'pids', 'freezer', 'devices']) fakeTree(root, `${c}/ocirun/box`, leafFiles);
  fakeTree(root, 'cpuset/ocirun', { 'cpuset.cpus': '', 'cpuset.mems': '' });
  fakeTree(root, 'cpuset/ocirun/box', { 'cpuset.cpus': '', 'cpuset.mems': '', 'cgroup.procs': '' });
  const paths: CgroupPaths = {
    mode: 'v1',
    v1: ['memory', 'cpu', 'pids', 'freezer', 'devices', 'cpuset'].map((c) => ({ controllers: [c], mountPoint: join(root, c), dir: join(root, c, 'ocirun/box') })),
    unified: null,
  };
  const m = cgroupManager(paths);
  t.ok(m instanceof V1Cgroups);
  m.create();
  t.equal(readFileSync(join(root, 'cpuset/ocirun/cpuset.cpus'), 'utf8'), '0-3', 'cpus copied down level by level');
  t.equal(readFileSync(join(root, 'cpuset/ocirun/box/cpuset.mems'), 'utf8'), '0');
  m.apply(4242);
  t.equal(readFileSync(join(root, 'memory/ocirun/box/cgroup.procs'), 'utf8'), '4242');
  t.throws(() => m.set({ network: { classID: 1 } }), /linux.resources.network.classID: the net_cls cgroup controller is not mounted/);
  t.throws(() => m.set({ unified: { 'memory.high': '1' } }), /linux.resources.unified: cgroup v1 has no controller/);
  // Our fake kernel echoes cpu.shares as written; memory+swap ordering reads the current limit.
  m.set({ memory: { limit: 1000, swap: 2000 }, cpu: { shares: 256 }, pids: { limit: 7 } }, { devices: deviceRules([{ allow: false, access: 'rwm' }], []) });
  t.equal(readFileSync(join(root, 'memory/ocirun/box/memory.limit_in_bytes'), 'utf8'), '1000');
  t.equal(readFileSync(join(root, 'memory/ocirun/box/memory.memsw.limit_in_bytes'), 'utf8'), '2000');
  t.equal(readFileSync(join(root, 'pids/ocirun/box/pids.max'), 'utf8'), '7');
  // One open for all of a file's writes (the kernel takes each write as one rule; a plain file appends them).
  const allows = devicesV1(deviceRules([{ allow: false, access: 'rwm' }], [])).filter((w) => w.file === 'devices.allow').map((w) => w.value);
  t.ok(allows.length > 5, `the default devices make several allow rules (${allows.length})`);
  t.equal(readFileSync(join(root, 'devices/ocirun/box/devices.allow'), 'utf8'), allows.join(''), 'every allow rule written, in order, through one open');
  t.equal(readFileSync(join(root, 'devices/ocirun/box/devices.deny'), 'utf8'), 'a', 'the deny-all rule, in its own file');
  t.throws(() => m.set({ memory: { kernel: 5 } }), /linux.resources.memory.kernel: this kernel has no memory.kmem.limit_in_bytes/);
  t.equal(m.oomKills(), 2);
  t.same(m.pids(), [4242]);
  t.notOk(isFrozen(paths));
  writeFileSync(join(root, 'freezer/ocirun/box/freezer.state'), 'FROZEN');
  t.ok(m.isFrozen() && isFrozen(paths), 'FROZEN reads as paused');
  t.equal(m.locate('memory')?.version, 1);
  t.equal(m.locate('hugetlb'), null);
});

t.test('v2 manager on a temp-dir root: subtree_control up the tree, controller checks, freeze, destroy of what it made', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocirun-cg2-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  fakeTree(root, '', { 'cgroup.controllers': 'cpu memory pids', 'cgroup.subtree_control': '' });
  const paths: CgroupPaths = { mode: 'v2', v1: [], unified: { mountPoint: root, dir: join(root, 'a/b') } };
  const m = new V2Cgroups(paths);
  // The fake kernel cannot make files on mkdir: pre-make the middle level's, then create the rest.
  fakeTree(root, 'a', { 'cgroup.controllers': 'cpu memory', 'cgroup.subtree_control': '' });
  m.create();
  t.same(m.created, [join(root, 'a/b')], 'only the leaf was made by us (a existed)');
  t.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '', 'create alone enables nothing');
  fakeTree(root, 'a/b', { 'cgroup.controllers': 'memory', 'cgroup.procs': '', 'memory.max': 'max', 'memory.swap.max': 'max', 'cgroup.freeze': '0', 'cgroup.events': 'populated 1\nfrozen 0\n' });
  m.set({ memory: { limit: 1000, swap: 3000 } });
  t.equal(readFileSync(join(root, 'a/b/memory.swap.max'), 'utf8'), '2000');
  t.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+memory', 'only what the resources need, on levels we did not make');
  t.equal(readFileSync(join(root, 'a/cgroup.subtree_control'), 'utf8'), '+memory');
  t.same(m.enabled, [{ dir: root, controller: 'memory' }, { dir: join(root, 'a'), controller: 'memory' }], 'recorded, to be given back');
  t.throws(() => m.set({ pids: { limit: 3 } }), /linux.resources.pids: the pids controller is not available in .*cgroup.controllers: memory/);
  t.throws(() => m.set({ network: { classID: 3 } }), /network.classID: cgroup v2 has no controller/);
  writeFileSync(join(root, 'a/b/cgroup.events'), 'populated 1\nfrozen 1\n');
  m.freeze();
  t.ok(m.isFrozen() && isFrozen(paths));
  m.thaw();
  t.notOk(m.isFrozen());
  t.notOk(m.killAll(), 'no cgroup.kill in the fake: false, so the caller signals each pid');
  for (const f of ['cgroup.controllers', 'cgroup.procs', 'memory.max', 'memory.swap.max', 'cgroup.freeze', 'cgroup.events', 'cgroup.subtree_control']) rmSync(join(root, 'a/b', f), { force: true });
  m.destroy();
  t.notOk(existsSync(join(root, 'a/b')), 'leaf removed');
  t.ok(existsSync(join(root, 'a')), 'a parent we did not make stays');
  t.equal(readFileSync(join(root, 'a/cgroup.subtree_control'), 'utf8'), '-memory', 'what we enabled on it is given back once nothing is below it');
  t.notMatch(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), /^-/, 'but not where another cgroup (a) is still below');
});

t.test('v2: a populated cgroup we did not make is left alone, and the error says why', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocirun-cg2-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  fakeTree(root, '', { 'cgroup.controllers': 'cpu memory pids', 'cgroup.subtree_control': '', 'cgroup.procs': '1\n' });
  fakeTree(root, 'svc', { 'cgroup.controllers': 'cpu memory pids', 'cgroup.subtree_control': '', 'cgroup.procs': '42\n' });
  const m = new V2Cgroups({ mode: 'v2', v1: [], unified: { mountPoint: root, dir: join(root, 'svc/box') } });
  m.create();
  fakeTree(root, 'svc/box', { 'cgroup.controllers': '', 'cgroup.procs': '' });
  t.throws(() => m.set({ pids: { limit: 5 } }), /linux.resources.pids: the pids controller is not available .*svc holds processes/);
  t.equal(readFileSync(join(root, 'svc/cgroup.subtree_control'), 'utf8'), '', 'the populated cgroup is untouched');
  t.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+pids', 'the root may hold processes and pass controllers down');
});

t.test('stats JSON: uint64 values exact, as Go writes them', async (t) => {
  const text = statsJson({ limit: 2n ** 64n - 1n, v1: 9223372036854771712n, small: 5, s: 'u64' });
  t.equal(text, '{"limit":18446744073709551615,"v1":9223372036854771712,"small":5,"s":"u64"}');
  // A v2 cgroup read through the manager: "max" limits and counters past 2^53.
  const root = mkdtempSync(join(tmpdir(), 'ocirun-cg2-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  fakeTree(root, 'box', {
    'cgroup.controllers': 'cpu memory pids', 'cpu.stat': 'usage_usec 9007199254741\nuser_usec 5\nsystem_usec 6\n', 'memory.max': 'max', 'memory.swap.max': 'max',
    'memory.current': '4096', 'memory.swap.current': '0', 'memory.stat': 'anon 1\nfile 18446744073709551000\n', 'memory.events': 'max 0\n', 'pids.current': '1', 'pids.max': 'max',
  });
  const m = new V2Cgroups({ mode: 'v2', v1: [], unified: { mountPoint: root, dir: join(root, 'box') } });
  const json = statsJson(collectStats(m));
  t.match(json, /"usage":\{"total":9007199254741000,/, 'cpu total in ns: exact past 2^53');
  t.match(json, /"memory":\{"cache":18446744073709551000,"usage":\{"limit":18446744073709551615,"usage":4096,/, 'memory.max "max": 2^64-1; a huge counter exact');
  t.match(json, /"swap":\{"limit":18446744073709551615,/);
  t.match(json, /"pids":\{"current":1\}/, 'pids.max "max": 0, left out (runc)');
}); 

t.test('update merging (runc\'s update), CLI parsing of sizes, durations and flags', async (t) => {
  const current = { memory: { limit: 100, swap: 200 }, cpu: { shares: 512, cpus: '0' }, pids: { limit: 10 }, hugepageLimits: [{ pageSize: '2MB', limit: 1 }] };
  const merged = mergeResources(current, { memory: { limit: -1 }, cpu: { quota: 5000, cpus: '' }, pids: { limit: 0 }, devices: [{ allow: false, access: 'rwm' }] });
  t.same(merged.memory, { limit: -1, swap: -1 }, 'unlimited memory, swap unset: swap unlimited too');
  t.same(merged.cpu, { shares: 512, cpus: '0', quota: 5000 }, 'an empty cpuset string keeps the old one');
  t.same(merged.pids, { limit: 10 }, 'pids 0: unchanged');
  t.equal(merged.devices, undefined, 'devices are not updated (as runc)');
  t.same(merged.hugepageLimits, current.hugepageLimits);

  t.equal(ramInBytes('512'), 512);
  t.equal(ramInBytes('100m'), 100 * 1024 * 1024);
  t.equal(ramInBytes('1.5GiB'), 1.5 * 1024 ** 3);
  t.equal(ramInBytes('2 kb'), 2048);
  t.throws(() => ramInBytes('ten'), /invalid size/);
  t.equal(parseDuration('5s'), 5000);
  t.equal(parseDuration('1m30s'), 90_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('1500µs'), 1.5); // the micro sign (written \u00b5 in the source: the bundles stay ASCII)
  t.throws(() => parseDuration('5'), /invalid value "5" for flag -interval/);

  const r = resourcesFromArgs({ memory: '64m', 'memory-swap': '-1', 'cpu-quota': '-1', 'cpu-share': '256', 'pids-limit': '20', 'cpuset-cpus': '0-1', 'blkio-weight': '300' }, () => '');
  t.same(r, { memory: { limit: 64 * 1024 * 1024, swap: -1 }, cpu: { cpus: '0-1', shares: 256, quota: -1 }, blockIO: { weight: 300 }, pids: { limit: 20 } });
  t.throws(() => resourcesFromArgs({ 'cpu-period': '-5' }, () => ''), /invalid value for cpu-period/);
  t.throws(() => resourcesFromArgs({ 'l3-cache-schema': 'L3:0=f' }, () => ''), /Intel RDT\/CAT/);
  t.same(resourcesFromArgs({ resources: '-', memory: '5' }, () => '{"pids":{"limit":3}}'), { pids: { limit: 3 } }, 'with --resources the other flags are ignored');
  t.throws(() => resourcesFromArgs({ resources: 'f' }, () => '[1]'), /expected a JSON object/);
  t.same(parseCpuList('0-2,5', 'cpuset.cpus'), [0, 1, 2, 5]);
  t.same(parseCpuList('', 'cpuset.cpus'), [], 'an empty cpuset file: no cpus');
});

t.test('cgroup trees: sub-cgroups found (a leaf is not listed), removed deepest first, an empty leaf with one rmdir', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocirun-cgtree-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const [d, pids] of [['box', '1\n'], ['box/a', '2\n3\n'], ['box/b', ''], ['box/a/deep', '4\n']] as const) fakeTree(root, d, { 'cgroup.procs': pids });
  const box = join(root, 'box');
  t.same(cgroupTree(box).map((d) => d.slice(box.length)).sort(), ['', '/a', '/a/deep', '/b']);
  t.same(pidsInTree(box).sort(), [1, 2, 3, 4]);
  t.same(cgroupTree(join(box, 'b')), [join(box, 'b')], 'a leaf is its own tree');
  t.throws(() => removeCgroupTree(box, 0), /cgroups: cannot remove .*box.*: ENOTEMPTY/, 'what cannot be removed still fails, naming it');
  for (const d of ['box', 'box/a', 'box/b', 'box/a/deep']) rmSync(join(root, d, 'cgroup.procs'));
  removeCgroupTree(box);
  t.notOk(existsSync(box), 'the whole tree is gone, children first');
  removeCgroupTree(box);
  t.pass('a tree already gone is no error');
  fakeTree(root, 'leaf', {});
  removeCgroupTree(join(root, 'leaf'));
  t.notOk(existsSync(join(root, 'leaf')));
});
