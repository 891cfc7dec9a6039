// cgroups on real containers, on this machine's v1 controllers and on its
// cgroup2 mount: where the processes are (/proc/<pid>/cgroup), the limits as
// the cgroup files show them, pause, update, ps, kill --all, events and OOM,
// the cgroup2-only path (freeze, eBPF devices, cgroup.kill, hugetlb), and
// nothing left behind: every test fails if a cgroup named after it remains.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants as fsConstants, existsSync, mkdirSync, openSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, type Config, OCIRUN, procComm, readProcFile, Sandbox, sharedRootfs, SKIP_NOT_ROOT, startContainer, until } from '../helpers.js';
import { parseCgroupMounts, parseProcCgroup } from '../../src/linux/cgroups/hierarchy.js';
import { BPF_CGROUP_DEVICE, BPF_PROG_TYPE_CGROUP_DEVICE, bpfProgLoad, bpfProgQuery } from '../../src/sys/bpf.js';
import { deviceProgram, encodeProgram } from '../../src/linux/cgroups/devicebpf.js';
import { type DeviceRule, deviceRules } from '../../src/linux/cgroups/devices.js';

const MOUNTS = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
const V1 = new Map(MOUNTS.v1.flatMap((h) => h.controllers.map((c) => [c, h.mountPoint] as const)));
const UNIFIED = MOUNTS.unified?.mountPoint;
const hybridHost = V1.size > 0 && UNIFIED !== undefined;
const skip = SKIP_NOT_ROOT || (hybridHost ? false : 'written for a hybrid host (v1 controllers plus a cgroup2 mount), as this project\'s machines are');
const unifiedControllers = UNIFIED ? readFileSync(join(UNIFIED, 'cgroup.controllers'), 'utf8').trim().split(/\s+/) : [];

/** Every cgroup directory where a name could be left: the top of each hierarchy and our own cgroup there. */
function cgroupParents(): string[] {
  const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  const dirs = new Set<string>();
  for (const h of MOUNTS.v1) {
    dirs.add(h.mountPoint);
    const mine = h.controllers.map((c) => own.v1.get(c)).find((p) => p !== undefined);
    if (mine) dirs.add(join(h.mountPoint, mine));
  }
  if (UNIFIED) {
    dirs.add(UNIFIED);
    if (own.unified) dirs.add(join(UNIFIED, own.unified));
  }
  return [...dirs];
}

/**
 * A sandbox whose teardown (after the sandbox's own, which force-deletes its
 * containers) fails the test if a cgroup named after the test's tag or one of
 * its container ids remains in any hierarchy.
 */
class CgroupBox extends Sandbox {
  readonly tag = `ocirun-cgtest-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  readonly made: string[] = [];

  constructor(t: { teardown(fn: () => void): void; fail(msg: string): void }, config?: Config) {
    super(t, config);
    t.teardown(() => {
      // Teardowns may run before the sandbox's: delete ours first.
      for (const id of this.made) this.ocirun(['delete', '--force', id]);
      const left: string[] = [];
      for (const parent of cgroupParents()) {
        for (const name of [this.tag, ...this.made]) {
          for (const n of [name, `${name}-2`]) if (existsSync(join(parent, n))) left.push(join(parent, n));
        }
      }
      if (left.length) t.fail(`cgroups leaked: ${left.join(' ')}`);
    });
  }

  override id(prefix = 't'): string {
    const id = super.id(prefix);
    this.made.push(id);
    return id;
  }
}

/** The container's cgroup path in each hierarchy: "controller list" → path, "" for cgroup2. */
function cgroupsOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readProcFile(pid, 'cgroup').trim().split('\n')) {
    const [, controllers, path] = line.split(':');
    out.set(controllers ?? '', path ?? '');
  }
  return out;
}

const file = (dir: string, name: string): string => readFileSync(join(dir, name), 'utf8').trim();
const v1Dir = (controller: string, path: string): string => join(V1.get(controller) as string, path);

function firstBlockDevice(): { major: number; minor: number } | null {
  const line = readFileSync('/proc/partitions', 'utf8').split('\n').slice(2).find((l) => l.trim());
  if (!line) return null;
  const [major, minor] = line.trim().split(/\s+/).map(Number);
  return { major: major as number, minor: minor as number };
}

function configWith(args: string[], linux: Config): Config {
  const c = baseConfig(args, sharedRootfs());
  Object.assign(c.linux, linux);
  return c;
}

t.test('an absolute cgroupsPath: every hierarchy, the limits in the files, nothing left after delete', { skip }, async (t) => {
  const box = new CgroupBox(t);
  const tag = box.tag;
  const path = `/${tag}/box`;
  const disk = firstBlockDevice();
  const resources: Config = {
    memory: { limit: 256 * 1024 * 1024, swap: 512 * 1024 * 1024, reservation: 128 * 1024 * 1024, swappiness: 30, kernelTCP: 64 * 1024 * 1024 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
    pids: { limit: 64 },
    devices: [{ allow: false, access: 'rwm' }],
  };
  if (disk) resources.blockIO = { throttleReadBpsDevice: [{ ...disk, rate: 1048576 }], throttleWriteIOPSDevice: [{ ...disk, rate: 500 }] };
  if (unifiedControllers.includes('hugetlb')) resources.hugepageLimits = [{ pageSize: '2MB', limit: 4 * 1024 * 1024 }];
  box.writeConfig(configWith(['sleep', '30'], { cgroupsPath: path, resources }));
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 0, `create: ${c.stderr}`);
  const where = cgroupsOf(c.pid);
  for (const [controllers, p] of where) t.equal(p, path, `in ${controllers || 'cgroup2'} at ${path}`);
  t.ok(where.has(''), 'placed in the cgroup2 hierarchy too (hybrid)');
  t.equal(file(v1Dir('memory', path), 'memory.limit_in_bytes'), String(256 * 1024 * 1024));
  t.equal(file(v1Dir('memory', path), 'memory.memsw.limit_in_bytes'), String(512 * 1024 * 1024));
  t.equal(file(v1Dir('memory', path), 'memory.soft_limit_in_bytes'), String(128 * 1024 * 1024));
  t.equal(file(v1Dir('memory', path), 'memory.swappiness'), '30');
  t.equal(file(v1Dir('memory', path), 'memory.kmem.tcp.limit_in_bytes'), String(64 * 1024 * 1024));
  t.equal(file(v1Dir('cpu', path), 'cpu.shares'), '512');
  t.equal(file(v1Dir('cpu', path), 'cpu.cfs_quota_us'), '50000');
  t.equal(file(v1Dir('cpu', path), 'cpu.cfs_period_us'), '100000');
  t.equal(file(v1Dir('cpuset', path), 'cpuset.cpus'), '0');
  t.equal(file(v1Dir('pids', path), 'pids.max'), '64');
  if (disk) {
    t.equal(file(v1Dir('blkio', path), 'blkio.throttle.read_bps_device'), `${disk.major}:${disk.minor} 1048576`);
    t.equal(file(v1Dir('blkio', path), 'blkio.throttle.write_iops_device'), `${disk.major}:${disk.minor} 500`);
  }
  if (resources.hugepageLimits) t.equal(file(join(UNIFIED as string, path), 'hugetlb.2MB.max'), String(4 * 1024 * 1024), 'hugetlb, which only cgroup2 has here');
  const devices = file(v1Dir('devices', path), 'devices.list').split('\n');
  t.notOk(devices.includes('a *:* rwm'), 'no longer allow-all');
  for (const rule of ['c 1:3 rwm', 'c 1:9 rwm', 'c 136:* rwm', 'c *:* m', 'b *:* m']) t.ok(devices.includes(rule), `default allowed: ${rule}`);
  t.equal(box.ocirun(['start', id]).code, 0);
  t.equal(box.ocirun(['delete', '--force', id]).code, 0);
  for (const [controller, mount] of V1) t.notOk(existsSync(join(mount, tag)), `${controller}: removed, parents we made included`);
  t.notOk(existsSync(join(UNIFIED as string, tag)), 'cgroup2: removed');
});

t.test('no cgroupsPath: <id> under our own cgroup (runc\'s default); a relative path nests there', { skip }, async (t) => {
  const box = new CgroupBox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  const tag = box.tag;
  const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 0, c.stderr);
  const where = cgroupsOf(c.pid);
  t.equal(where.get('memory'), join(own.v1.get('memory') as string, id), 'memory: our own memory cgroup / id');
  t.equal(where.get('pids'), join(own.v1.get('pids') as string, id));
  t.equal(where.get(''), join(own.unified as string, id));

  box.writeConfig(configWith(['sleep', '30'], { cgroupsPath: `${tag}/inner` }));
  const id2 = box.id();
  const c2 = box.create(id2);
  t.equal(c2.code, 0, c2.stderr);
  t.equal(cgroupsOf(c2.pid).get('memory'), join(own.v1.get('memory') as string, tag, 'inner'));
  for (const i of [id, id2]) t.equal(box.ocirun(['delete', i]).code, 0, 'delete of a created container');
});

t.test('pause stops progress and state says paused; resume restarts it', { skip }, async (t) => {
  const box = new CgroupBox(t);
  const tag = box.tag;
  const out = join(box.dir, 'out');
  mkdirSync(out);
  const config = configWith(['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /out/count; usleep 20000; done'], { cgroupsPath: `/${tag}` });
  config.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
  box.writeConfig(config);
  const id = box.id();
  const pid = await startContainer(t, box, id, 'sh');
  if (!pid) return;
  const count = (): number => { try { return Number(readFileSync(join(out, 'count'), 'utf8') || 0); } catch { return 0; } };
  t.ok(await until(() => count() > 2), 'counting');
  t.equal(box.ocirun(['pause', id]).code, 0);
  t.equal(box.state(id)?.status, 'paused');
  t.equal(file(v1Dir('freezer', `/${tag}`), 'freezer.state'), 'FROZEN');
  const frozenAt = count();
  await new Promise((r) => setTimeout(r, 400));
  t.equal(count(), frozenAt, 'no progress while paused');
  t.match(box.ocirun(['pause', id]).stderr, /container not running/, 'pausing twice is refused');
  t.match(box.ocirun(['start', id]).stderr, /cannot start/, 'start refused while paused');
  t.equal(box.ocirun(['resume', id]).code, 0);
  t.equal(box.state(id)?.status, 'running');
  t.ok(await until(() => count() > frozenAt + 2), 'counting again');
  t.match(box.ocirun(['resume', id]).stderr, /container not paused/);
  t.equal(box.ocirun(['pause', id]).code, 0);
  t.equal(box.ocirun(['delete', '--force', id]).code, 0, 'delete --force of a paused container');
  t.ok(await until(() => procComm(pid) === null || /\) Z /.test(readProcFile(pid, 'stat'))), 'its processes are gone');
});

t.test('update changes live limits: runc\'s flags and --resources on stdin', { skip }, async (t) => {
  const box = new CgroupBox(t);
  const tag = box.tag;
  box.writeConfig(configWith(['sleep', '30'], { cgroupsPath: `/${tag}`, resources: { memory: { limit: 128 * 1024 * 1024 }, pids: { limit: 100 }, devices: [{ allow: false, access: 'rwm' }] } }));
  const id = box.id();
  if (!await startContainer(t, box, id)) return;
  const mem = v1Dir('memory', `/${tag}`);
  const r = box.ocirun(['update', '--memory', '64m', '--memory-swap', '96m', '--pids-limit', '20', '--cpu-quota', '20000', '--cpu-period', '50000', '--cpu-share', '300', id]);
  t.equal(r.code, 0, r.stderr);
  t.equal(file(mem, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
  t.equal(file(mem, 'memory.memsw.limit_in_bytes'), String(96 * 1024 * 1024));
  t.equal(file(v1Dir('pids', `/${tag}`), 'pids.max'), '20');
  t.equal(file(v1Dir('cpu', `/${tag}`), 'cpu.cfs_quota_us'), '20000');
  t.equal(file(v1Dir('cpu', `/${tag}`), 'cpu.cfs_period_us'), '50000');
  t.equal(file(v1Dir('cpu', `/${tag}`), 'cpu.shares'), '300');
  // Raising memory above the old memory+swap needs memsw raised first: the order is ours to get right.
  const doc = JSON.stringify({ memory: { limit: 300 * 1024 * 1024, swap: 400 * 1024 * 1024 }, pids: { limit: 0 }, devices: [{ allow: true, access: 'rwm' }] });
  const s = box.ocirun(['update', '--resources', '-', id], { input: doc });
  t.equal(s.code, 0, s.stderr);
  t.equal(file(mem, 'memory.limit_in_bytes'), String(300 * 1024 * 1024));
  t.equal(file(mem, 'memory.memsw.limit_in_bytes'), String(400 * 1024 * 1024));
  t.equal(file(v1Dir('pids', `/${tag}`), 'pids.max'), '20', 'pids limit 0: left as it was');
  t.notOk(file(v1Dir('devices', `/${tag}`), 'devices.list').includes('a *:* rwm'), 'devices are not updated (as runc)');
  const stored = JSON.parse(readFileSync(join(box.root, id, 'state.json'), 'utf8'));
  t.equal(stored.cgroup.resources.memory.limit, 300 * 1024 * 1024, 'the resources in force are stored');
  const bad = box.ocirun(['update', '--memory', 'lots', id]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /invalid value for memory/);
  const low = box.ocirun(['update', '--memory', '100m', '--memory-swap', '50m', id]);
  t.equal(low.code, 1, 'memory+swap below memory is refused by the kernel');
  t.match(low.stderr, /linux.resources.memory.swap: writing "52428800" to .*memory.memsw.limit_in_bytes: EINVAL/);
  const endless = box.ocirun(['update', '--resources', '/dev/zero', id]);
  t.equal(endless.code, 1, 'an endless --resources stream is refused');
  t.match(endless.stderr, /--resources \/dev\/zero: larger than 1048576 bytes/);
  const flood = box.ocirun(['update', '--resources', '-', id], { input: ' '.repeat(2 * 1024 * 1024) });
  t.equal(flood.code, 1, 'so is an oversized standard input');
  t.match(flood.stderr, /--resources \(standard input\): larger than/);
  const missing = box.ocirun(['update', '--resources', join(box.dir, 'nope.json'), id]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /nope\.json/, 'a missing file is named');
  t.equal(box.ocirun(['kill', id, 'KILL']).code, 0);
  t.ok(await until(() => box.state(id)?.status === 'stopped'));
  t.match(box.ocirun(['update', '--pids-limit', '5', id]).stderr, /container not running/);
});

t.test('ps lists the exec\'d processes too; kill --all reaches them', { skip }, async (t) => {
  const box = new CgroupBox(t);
  const tag = box.tag;
  box.writeConfig(configWith(['sleep', '30'], { cgroupsPath: `/${tag}` }));
  const id = box.id();
  const pid = await startContainer(t, box, id);
  if (!pid) return;
  const e = box.detached(['exec', '--detach', '--pid-file', join(box.dir, 'exec.pid'), id, 'sleep', '40'], 'exec');
  t.equal(e.code, 0, e.stderr);
  const execPid = Number(readFileSync(join(box.dir, 'exec.pid'), 'utf8'));
  const json = box.ocirun(['ps', '--format', 'json', id]);
  t.equal(json.code, 0, json.stderr);
  t.same(JSON.parse(json.stdout), [pid, execPid].sort((a, b) => a - b), 'json: the host pids');
  const table = box.ocirun(['ps', id]);
  t.match(table.stdout.split('\n')[0], /UID\s+PID\s+PPID/, 'ps -ef header');
  t.equal(table.stdout.trim().split('\n').length, 3, 'header and the two processes');
  const custom = box.ocirun(['ps', id, '-o', 'pid,comm']);
  t.equal(custom.code, 0, custom.stderr);
  t.match(custom.stdout, new RegExp(`^\\s*${execPid} sleep$`, 'm'), 'ps arguments after the id go to ps');
  t.match(box.ocirun(['ps', '--format', 'xml', id]).stderr, /invalid format option/);
  t.equal(box.ocirun(['kill', '--all', id, 'KILL']).code, 0);
  t.ok(await until(() => procComm(execPid) === null), 'the exec\'d process is killed');
  t.ok(await until(() => box.state(id)?.status === 'stopped'));
  t.equal(box.ocirun(['delete', id]).code, 0);
});

t.test('a container in the host pid namespace: kill --all after the init exits, delete removes what is left', { skip }, async (t) => {
  const box = new CgroupBox(t);
  const tag = box.tag;
  const config = configWith(['sh', '-c', 'sleep 50 & sleep 51 & echo started > /out/flag; exit 0'], { cgroupsPath: `/${tag}` });
  config.linux.namespaces = config.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  const out = join(box.dir, 'out');
  mkdirSync(out);
  config.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
  box.writeConfig(config);
  const id = box.id();
  t.equal(box.create(id).code, 0);
  t.equal(box.ocirun(['start', id]).code, 0);
  t.ok(await until(() => existsSync(join(out, 'flag')) && box.state(id)?.status === 'stopped'), 'the init is gone');
  const procs = (): number[] => file(v1Dir('pids', `/${tag}`), 'cgroup.procs').split('\n').filter(Boolean).map(Number);
  t.equal(procs().length, 2, 'its background children are still in the cgroup');
  t.equal(box.ocirun(['kill', '--all', id, 'KILL']).code, 0, 'kill --all on a stopped container');
  t.ok(await until(() => procs().length === 0), 'and it reached them');

  box.writeConfig(configWith(['sh', '-c', 'sleep 52 & exit 0'], { cgroupsPath: `/${tag}-2`, namespaces: config.linux.namespaces }));
  const id2 = box.id();
  t.equal(box.create(id2).code, 0);
  t.equal(box.ocirun(['start', id2]).code, 0);
  t.ok(await until(() => box.state(id2)?.status === 'stopped'));
  const d = box.ocirun(['delete', id2]);
  t.equal(d.code, 0, `delete kills the stragglers and removes the cgroups: ${d.stderr}`);
  t.notOk(existsSync(v1Dir('pids', `/${tag}-2`)));
});

t.test('events: --stats in runc\'s shape, and an OOM kill reported', { skip }, async (t) => {
  const box = new CgroupBox(t);
  const tag = box.tag;
  box.writeConfig(configWith(['sleep', '60'], { cgroupsPath: `/${tag}`, resources: { memory: { limit: 48 * 1024 * 1024, swap: 48 * 1024 * 1024 }, pids: { limit: 30 } } }));
  const id = box.id();
  if (!await startContainer(t, box, id)) return;
  const stats = box.ocirun(['events', '--stats', id]);
  t.equal(stats.code, 0, stats.stderr);
  t.equal(stats.stdout.split('\n').filter(Boolean).length, 1, 'one line');
  const ev = JSON.parse(stats.stdout);
  t.equal(ev.type, 'stats');
  t.equal(ev.id, id);
  t.same(Object.keys(ev.data), ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces']);
  t.equal(ev.data.memory.usage.limit, 48 * 1024 * 1024);
  t.ok(ev.data.memory.usage.usage > 0, 'memory usage');
  t.equal(ev.data.pids.limit, 30);
  t.ok(ev.data.pids.current >= 1);
  t.ok(ev.data.cpu.usage.total > 0);
  t.equal(typeof ev.data.memory.raw.rss, 'number');

  const events = spawn(join(process.cwd(), 'bin/ocirun'), ['--root', box.root, 'events', '--interval', '300ms', id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  events.stdout.on('data', (d: Buffer) => { text += d.toString(); });
  const exited = new Promise<number | null>((r) => events.on('exit', (code) => r(code)));
  t.teardown(() => { events.kill('SIGKILL'); });
  t.ok(await until(() => text.includes('"type":"stats"'), 5000), 'a stats event every interval');
  // tail keeps the last lines of a file with no newline: it grows until the OOM killer stops it.
  const eat = box.detached(['exec', '--detach', id, 'tail', '/dev/zero'], 'eat');
  t.equal(eat.code, 0, eat.stderr);
  t.ok(await until(() => text.includes('"type":"oom"'), 20_000), 'the OOM kill is reported');
  const oom = text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'oom');
  t.same(oom, { type: 'oom', id }, 'runc\'s shape: no data');
  t.equal(box.ocirun(['kill', id, 'KILL']).code, 0);
  t.equal(await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]), 0, 'events ends with the container');
  t.match(box.ocirun(['events', '--stats', id]).stderr, /is not running/);
});

t.test('what this host cannot honour fails create naming the field, and leaves no cgroup', { skip }, async (t) => {
  const box = new CgroupBox(t);
  const tag = box.tag;
  const cases: [string, Config, RegExp][] = [
    ['hugetlb page size', { hugepageLimits: [{ pageSize: '3MB', limit: 1 }] }, /hugepageLimits\[0\].pageSize: this host has no 3MB huge pages/],
    ['unified key of a controller cgroup2 lacks here', { unified: { 'memory.high': '1000000' } }, /unified\["memory.high"\]: the memory controller is not enabled/],
    ['a bad swap', { memory: { limit: 100 * 1024 * 1024, swap: 50 * 1024 * 1024 } }, /linux.resources.memory/],
  ];
  if (!V1.has('net_cls')) cases.push(['net_cls not mounted', { network: { classID: 1 } }, /network.classID: the net_cls cgroup controller is not mounted/]);
  if (!V1.has('rdma') && !unifiedControllers.includes('rdma')) cases.push(['rdma', { rdma: { mlx5_0: { hcaHandles: 1 } } }, /linux.resources.rdma/]);
  for (const [what, resources, message] of cases) {
    box.writeConfig(configWith(['true'], { cgroupsPath: `/${tag}/x`, resources }));
    const id = box.id();
    const r = box.create(id);
    t.equal(r.code, 1, `${what}: refused`);
    t.match(r.stderr, message, `${what}: ${r.stderr.trim()}`);
    t.notOk(existsSync(join(box.root, id)), `${what}: no state`);
    t.notOk(existsSync(v1Dir('memory', `/${tag}`)), `${what}: no cgroup`);
    t.notOk(existsSync(join(UNIFIED as string, tag)), `${what}: no cgroup2 directory`);
  }
});

t.test('cgroup2 alone (the hybrid host narrowed to its cgroup2 mount): hugetlb, eBPF devices, freeze, ps, cgroup.kill', { skip: skip || (unifiedControllers.includes('hugetlb') ? false : 'no hugetlb on cgroup2') }, async (t) => {
  const box = new CgroupBox(t);
  const tag = box.tag;
  const out = join(box.dir, 'out');
  mkdirSync(out);
  const config = configWith(['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /out/count; usleep 20000; done'], {
    cgroupsPath: `/${tag}/c`,
    resources: {
      hugepageLimits: [{ pageSize: '2MB', limit: 2 * 1024 * 1024 }],
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'r' }],
    },
    devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }, { path: '/dev/loop-control', type: 'c', major: 10, minor: 237 }],
  });
  config.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
  box.writeConfig(config);
  const id = box.id();
  // The mode is chosen at create and stored; every later command follows the stored paths.
  process.env._OCIRUN_CGROUP_MODE = 'v2';
  let pid: number;
  try {
    pid = await startContainer(t, box, id, 'sh');
  } finally {
    delete process.env._OCIRUN_CGROUP_MODE;
  }
  if (!pid) return;
  const dir = join(UNIFIED as string, tag, 'c');
  const where = cgroupsOf(pid);
  t.equal(where.get(''), `/${tag}/c`, 'in the cgroup2 hierarchy');
  t.not(where.get('memory'), `/${tag}/c`, 'and in no v1 one');
  t.equal(file(dir, 'hugetlb.2MB.max'), String(2 * 1024 * 1024));

  const fd = openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    t.equal(bpfProgQuery(fd, BPF_CGROUP_DEVICE).length, 1, 'one device program attached');
  } finally {
    closeSync(fd);
  }
  const probe = box.ocirun(['exec', id, 'sh', '-c', 'head -c 4 /dev/zero | wc -c; head -c 0 /dev/fuse && echo fuse-read-ok; echo x > /dev/fuse; head -c 0 /dev/loop-control; true']);
  t.match(probe.stdout, /^4$/m, '/dev/zero: a default device');
  t.match(probe.stdout, /fuse-read-ok/, '"r" granted: opening for reading works');
  t.match(probe.stderr, /can't create \/dev\/fuse: Operation not permitted/, 'but not for writing');
  t.match(probe.stderr, /loop-control: Operation not permitted/, 'a device no rule allows');

  const count = (): number => { try { return Number(readFileSync(join(out, 'count'), 'utf8') || 0); } catch { return 0; } };
  t.ok(await until(() => count() > 2));
  t.equal(box.ocirun(['pause', id]).code, 0);
  t.equal(box.state(id)?.status, 'paused');
  t.equal(file(dir, 'cgroup.freeze'), '1');
  t.match(file(dir, 'cgroup.events'), /^frozen 1$/m);
  const frozenAt = count();
  await new Promise((r) => setTimeout(r, 300));
  t.equal(count(), frozenAt, 'no progress while frozen');
  t.equal(box.ocirun(['resume', id]).code, 0);
  t.ok(await until(() => count() > frozenAt + 2), 'progress again');

  const e = box.detached(['exec', '--detach', '--pid-file', join(box.dir, 'e.pid'), id, 'sleep', '40'], 'exec');
  t.equal(e.code, 0, e.stderr);
  const execPid = Number(readFileSync(join(box.dir, 'e.pid'), 'utf8'));
  t.equal(cgroupsOf(execPid).get(''), `/${tag}/c`, 'exec joins the cgroup2 cgroup');
  const listed: number[] = JSON.parse(box.ocirun(['ps', '--format', 'json', id]).stdout);
  t.ok(listed.includes(pid) && listed.includes(execPid), 'ps: the init and the exec\'d process (and the loop\'s usleep, at times)');
  const stats = JSON.parse(box.ocirun(['events', '--stats', id]).stdout);
  t.ok('2MB' in stats.data.hugetlb, 'hugetlb stats from cgroup2');
  t.equal(box.ocirun(['delete', '--force', id]).code, 0, 'delete --force (cgroup.kill)');
  t.notOk(existsSync(join(UNIFIED as string, tag)));
  t.ok(await until(() => procComm(execPid) === null));
});

/** create run from inside a given cgroup2 cgroup (the caller's own cgroup), cgroup2 alone. */
function createFrom(box: CgroupBox, callerDir: string, id: string): { code: number | null; stderr: string; pid: number } {
  const pidFile = join(box.dir, `${id}.pid`);
  const errPath = join(box.dir, `${id}.from.stderr`);
  const errFd = openSync(errPath, 'w');
  try {
    const r = spawnSync('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', callerDir, OCIRUN, '--root', box.root, 'create', '--bundle', box.bundle, '--pid-file', pidFile, id], {
      stdio: ['ignore', 'ignore', errFd], env: { ...process.env, _OCIRUN_CGROUP_MODE: 'v2' }, timeout: 60_000,
    });
    return { code: r.status, stderr: readFileSync(errPath, 'utf8'), pid: existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0 };
  } finally {
    closeSync(errFd);
  }
}

t.test('cgroup2: no cgroupsPath puts the container next to the caller\'s populated cgroup, which stays as it was; a failed create gives back what it enabled', { skip: skip || (unifiedControllers.includes('hugetlb') ? false : 'no hugetlb on cgroup2') }, async (t) => {
  const box = new CgroupBox(t);
  const name = `ocirun-caller-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const parent = join(UNIFIED as string, name);
  const caller = join(parent, 'caller');
  const lone = join(UNIFIED as string, `${name}-lone`);
  mkdirSync(caller, { recursive: true });
  mkdirSync(lone);
  // The caller's cgroup holds a process of its own, as a login session or a service does.
  const sleeper = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec sleep 60', caller], { stdio: 'ignore' });
  const cleanup = (): void => {
    sleeper.kill('SIGKILL');
    for (let i = 0; i < 200 && existsSync(caller) && file(caller, 'cgroup.procs') !== ''; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    for (const d of [caller, parent, lone]) { try { rmdirSync(d); } catch { /* gone already */ } }
  };
  t.teardown(cleanup);
  await until(() => file(caller, 'cgroup.procs') !== '');
  const callerBefore = ['cgroup.type', 'cgroup.subtree_control'].map((f) => file(caller, f));

  // swappiness has no file on v2: ignored there, as runc does.
  box.writeConfig(configWith(['sleep', '30'], { resources: { hugepageLimits: [{ pageSize: '2MB', limit: 2 * 1024 * 1024 }], memory: { swappiness: 30 } } }));
  const id = box.id();
  const c = createFrom(box, caller, id);
  t.equal(c.code, 0, `create from a populated cgroup: ${c.stderr}`);
  t.equal(cgroupsOf(c.pid).get(''), `/${name}/${id}`, 'placed next to the caller\'s cgroup, under its parent (runc on cgroup2)');
  t.equal(file(join(parent, id), 'hugetlb.2MB.max'), String(2 * 1024 * 1024), 'the limit is in the container\'s cgroup');
  t.same(['cgroup.type', 'cgroup.subtree_control'].map((f) => file(caller, f)), callerBefore, 'the caller\'s cgroup is as it was (no controller enabled, still a domain)');
  t.equal(file(parent, 'cgroup.subtree_control'), 'hugetlb', 'the parent passes down what the limit needs');
  t.equal(box.ocirun(['delete', '--force', id]).code, 0);
  t.notOk(existsSync(join(parent, id)), 'removed');

  // A create that fails after enabling a controller on a cgroup it did not make gives it back.
  box.writeConfig(configWith(['true'], { cgroupsPath: `/${name}-lone/x`, resources: { hugepageLimits: [{ pageSize: '2MB', limit: 2 * 1024 * 1024 }], unified: { 'hugetlb.3MB.max': '1' } } }));
  const bad = box.create(box.id());
  t.equal(bad.code, 1);
  t.match(bad.stderr, /unified\["hugetlb.3MB.max"\]/, bad.stderr.trim());
  t.notOk(existsSync(join(lone, 'x')), 'its cgroup is gone');
  t.equal(file(lone, 'cgroup.subtree_control'), '', 'and the controller it enabled on the cgroup above is disabled again');
  cleanup();
  t.notOk(existsSync(parent) || existsSync(lone), 'the test\'s own cgroups are removed');
});

t.test('events --stats: uint64 values exact in the JSON (runc prints every digit)', { skip }, async (t) => {
  const box = new CgroupBox(t);
  box.writeConfig(configWith(['sleep', '30'], { cgroupsPath: `/${box.tag}` }));
  const id = box.id();
  if (!await startContainer(t, box, id)) return;
  const unlimited = file(v1Dir('memory', `/${box.tag}`), 'memory.limit_in_bytes');
  t.ok(BigInt(unlimited) > BigInt(Number.MAX_SAFE_INTEGER), `v1 "unlimited" (${unlimited}) is beyond a double's exact range`);
  const r = box.ocirun(['events', '--stats', id]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`"usage":\\{"limit":${unlimited},`), 'memory.usage.limit: every digit');
  t.equal(box.ocirun(['delete', '--force', id]).code, 0);
});

t.test('--systemd-cgroup where systemd does not run the host: clear errors, nothing left; other commands take the flag', { skip: SKIP_NOT_ROOT || (existsSync('/run/systemd/system') ? 'systemd runs this host: the VM tier covers the driver' : false) }, async (t) => {
  const box = new CgroupBox(t);
  box.writeConfig(configWith(['true'], { cgroupsPath: '/not/systemd' }));
  const id = box.id();
  const bad = box.create(id, []);
  t.equal(bad.code, 0, 'without the flag an absolute path is fine (cgroupfs)');
  t.equal(box.ocirun(['delete', '--force', id]).code, 0);
  const r = box.ocirun(['--systemd-cgroup', 'create', '--bundle', box.bundle, id]);
  t.equal(r.code, 1);
  t.match(r.stderr, /linux.cgroupsPath: expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "\/not\/systemd" instead/, 'runc\'s message for a cgroupfs path');
  box.writeConfig(configWith(['true'], { cgroupsPath: 'system.slice:ocirun:x' }));
  const s = box.ocirun(['--systemd-cgroup', 'create', '--bundle', box.bundle, id]);
  t.equal(s.code, 1);
  t.match(s.stderr, /--systemd-cgroup: systemd is not running on this host/, s.stderr.trim());
  t.notOk(existsSync(join(box.root, id)), 'no state left');
  t.equal(box.ocirun(['--systemd-cgroup', 'list']).code, 0, 'the flag is accepted by every command (engines pass it everywhere)');
});

t.test('the kernel verifier accepts device programs of every shape', { skip: SKIP_NOT_ROOT }, async (t) => {
  const shapes: [string, DeviceRule[]][] = [
    ['runc\'s default config', deviceRules([{ allow: false, access: 'rwm' }], [])],
    ['no rules at all', []],
    ['an allow-all rule last', deviceRules([{ allow: true, access: 'rwm' }], []).concat([{ allow: true, type: 'a', major: -1, minor: -1, access: 'rwm' }])],
    ['partial accesses and wildcards', [{ allow: false, type: 'c', major: -1, minor: 3, access: 'w' }, { allow: true, type: 'b', major: 8, minor: -1, access: 'rm' }, { allow: false, type: 'a', major: -1, minor: -1, access: 'm' }]],
  ];
  for (const [what, rules] of shapes) {
    let fd = -1;
    try {
      fd = bpfProgLoad(BPF_PROG_TYPE_CGROUP_DEVICE, encodeProgram(deviceProgram(rules)), 'Apache-2.0');
      t.ok(fd >= 0, what);
    } catch (err) {
      t.fail(`${what}: ${(err as Error).message}`);
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }
});
