// container/earlyplan.ts and the pieces it stands on: the init's cgroup
// lines guessed from the container's cgroup paths, and a plan built before
// the pid is known that is byte for byte the one built after, or none.
import t from 'tap';
import type { Spec } from '../../src/config/types.js';
import { planContainer, type CreateOptions, type InitHostFacts } from '../../src/container/plan.js';
import { buildEarlyPlan } from '../../src/container/earlyplan.js';
import { expectedCgroupLines, resolveCgroupPaths } from '../../src/linux/cgroups/paths.js';
import { classifyHierarchies, parseCgroupMounts, parseProcCgroup } from '../../src/linux/cgroups/hierarchy.js';
import { encodePlan } from '../../src/linux/initcode.js';
import { initOperations } from '../../src/linux/initops.js';
import { parseCgroupLines, parseMountinfo } from '../../src/linux/procfs.js';
import type { HostFacts } from '../../src/linux/hostfacts.js';

const MOUNTINFO = [
  '30 25 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755',
  '35 30 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory',
  '36 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct',
  '31 30 0:27 / /sys/fs/cgroup/systemd rw,nosuid shared:10 - cgroup cgroup rw,xattr,name=systemd',
  '32 30 0:28 / /sys/fs/cgroup/unified rw,nosuid shared:11 - cgroup2 cgroup2 rw,nsdelegate',
].join('\n');
// Ours: the runtime runs in /svc (memory in a sub-tree of its own), an unmanaged name=systemd too.
const OWN = '12:memory:/svc/mem\n11:cpu,cpuacct:/svc\n1:name=systemd:/user.slice\n0::/svc\n';

const hierarchies = classifyHierarchies(parseCgroupMounts(MOUNTINFO), null);

t.test('the init\'s cgroup lines, guessed from where the container goes', async (t) => {
  const paths = resolveCgroupPaths(hierarchies, parseProcCgroup(OWN), undefined, 'c1');
  const guess = expectedCgroupLines(parseCgroupLines(OWN), paths, hierarchies);
  t.same(guess, parseCgroupLines('12:memory:/svc/mem/c1\n11:cpu,cpuacct:/svc/c1\n1:name=systemd:/user.slice/c1\n0::/svc/c1\n'), 'every managed hierarchy: the container\'s directory');
  const noSystemd = { ...paths, v1: paths.v1.filter((p) => !p.controllers.includes('name=systemd')) };
  t.equal(expectedCgroupLines(parseCgroupLines(OWN), noSystemd, hierarchies)[2]?.path, '/user.slice', 'a hierarchy without a directory of the container: ours');
  const subtree = classifyHierarchies(parseCgroupMounts(MOUNTINFO.replace('35 30 0:30 / /sys', '35 30 0:30 /outer /sys')), null);
  t.equal(expectedCgroupLines(parseCgroupLines(OWN), paths, subtree)[0]?.path, '/outer/svc/mem/c1', 'a mount of a sub-tree: from the hierarchy\'s root');
});

const opts: CreateOptions = { id: 'c1', bundle: '/b', rootfs: '/b/rootfs', fifoPath: '/run/c1/exec.fifo', noPivot: false, preserveFds: 0, noNewKeyring: false };
const host = {
  boundingSet: (1n << 41n) - 1n, lastCap: 40, lsm: { apparmor: false, selinux: false, apparmorExecFile: '/proc/thread-self/attr/exec' },
  euid: 0, egid: 0, inUserNamespace: false, resctrlMounted: false, nofile: undefined,
  namespaceOf: (path: string) => `self:${path}`,
  compileSeccomp: () => ({ filter: '', flags: 0, listenerPath: null, listenerMetadata: '' }),
  passwdAt: () => 'root:x:0:0::/root:/bin/sh\n',
} as unknown as HostFacts;

function spec(more: Partial<Spec> = {}): Spec {
  return {
    ociVersion: '1.3.0',
    process: { args: ['sh'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] }],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] },
    ...more,
  };
}

const initHost: InitHostFacts = { mountinfo: parseMountinfo(MOUNTINFO), hasKcore: true, lastCap: 40, forceWalk: false };
const LINES = parseCgroupLines('12:memory:/svc/mem/c1\n11:cpu,cpuacct:/svc/c1\n1:name=systemd:/user.slice/c1\n0::/svc/c1\n');
const hookState = { ociVersion: '1.3.0', id: 'c1', pid: 4242, bundle: '/b', annotations: {} };

t.test('built early, completed once the pid came: the same ops and bytes as built then', async (t) => {
  const init = planContainer(spec(), opts, host).init;
  const early = buildEarlyPlan(init, initHost, LINES);
  t.ok(early, 'built early');
  if (!early) return;
  const facts = { ...initHost, cgroupLines: LINES, hookState };
  const done = early.complete(facts);
  t.ok(done, 'completed: the guess was right');
  if (!done) return;
  const now = initOperations(init, facts);
  t.same(done.ops, now.ops, 'the same ops');
  t.ok(encodePlan(done).equals(encodePlan(now)), 'the same bytes');
  const last = done.ops[done.ops.length - 1];
  t.match(last?.op === 'finalize' ? last.finalize.start.state : '', /"pid":4242/, 'the last op carries the pid');
  t.equal(early.complete({ ...facts, cgroupLines: LINES.map((l) => ({ ...l, path: `${l.path}x` })) }), null, 'a wrong guess: none');
  t.ok(buildEarlyPlan(planContainer(spec({ mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }] }), opts, host).init, initHost, [])?.complete({ ...facts, cgroupLines: [] }),
    'no cgroup mount: the lines do not matter');
});

t.test('not built early where the hook state is needed before the last op', async (t) => {
  const hooks = planContainer(spec({ hooks: { createContainer: [{ path: '/bin/true' }] } }), opts, host).init;
  t.equal(buildEarlyPlan(hooks, initHost, LINES), null, 'a createContainer hook');
  t.equal(buildEarlyPlan(planContainer(spec(), opts, host).init, initHost, null), null, 'no guess');
});
