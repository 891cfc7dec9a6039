// Namespaces as the kernel reports them: new ones of every type, joining a
// running container's by path, user namespaces with id maps (and joining
// one), time namespace offsets, and the cgroup namespace's view.
import t, { type Test } from 'tap';
import { chmodSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { baseConfig, readProcFile, Sandbox, sharedRootfs, SKIP_NOT_ROOT, startContainer, statusField } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

const nsLink = (pid: number | 'self', name: string) => readlinkSync(`/proc/${pid}/ns/${name}`);
const PROC_NAME: Record<string, string> = { pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt', cgroup: 'cgroup', time: 'time', user: 'user' };

const USER_MAPS = {
  uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
  gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
};

/**
 * A sandbox whose directory the container's root (host uid 100000) may
 * traverse: mkdtemp makes it 0700, and the init opens exec.fifo under it.
 */
function userSandbox(t: Test): Sandbox {
  const box = new Sandbox(t);
  chmodSync(box.dir, 0o711);
  return box;
}

/** uid_map/gid_map rows as numbers. */
function idMap(pid: number, file: 'uid_map' | 'gid_map'): number[][] {
  return readProcFile(pid, file).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
}

t.test('every namespace type asked for is new; the others are the host\'s', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  const kinds = ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup', 'time'];
  config.linux.namespaces = kinds.map((type) => ({ type }));
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  for (const k of kinds) {
    const name = PROC_NAME[k] as string;
    t.not(nsLink(pid, name), nsLink('self', name), `new ${k} namespace (${nsLink(pid, name)})`);
  }
  t.equal(nsLink(pid, 'user'), nsLink('self', 'user'), 'no user namespace asked for: the host\'s');

  // Only a mount namespace: every other one is shared with the host.
  const box2 = new Sandbox(t);
  const c2 = baseConfig(['sleep', '30'], sharedRootfs());
  c2.linux.namespaces = [{ type: 'mount' }];
  delete c2.hostname; // no uts namespace to set it in
  box2.writeConfig(c2);
  const pid2 = await startContainer(t, box2, box2.id());
  if (!pid2) return;
  t.not(nsLink(pid2, 'mnt'), nsLink('self', 'mnt'), 'own mount namespace');
  for (const name of ['pid', 'net', 'ipc', 'uts', 'cgroup', 'time', 'user']) t.equal(nsLink(pid2, name), nsLink('self', name), `host ${name} namespace`);
});

t.test('joining a running container\'s network, ipc and uts namespaces by path', { skip }, async (t) => {
  const boxA = new Sandbox(t);
  const a = baseConfig(['sleep', '30'], sharedRootfs());
  a.hostname = 'container-a';
  boxA.writeConfig(a);
  const pidA = await startContainer(t, boxA, boxA.id());
  if (!pidA) return;

  const boxB = new Sandbox(t);
  const b = baseConfig(['sh', '-c', 'hostname > /tmp/h; exec sleep 30'], sharedRootfs());
  delete b.hostname; // setting one would rename A too
  b.linux.namespaces = [
    { type: 'pid' }, { type: 'mount' },
    { type: 'network', path: `/proc/${pidA}/ns/net` },
    { type: 'ipc', path: `/proc/${pidA}/ns/ipc` },
    { type: 'uts', path: `/proc/${pidA}/ns/uts` },
  ];
  boxB.writeConfig(b);
  const pidB = await startContainer(t, boxB, boxB.id());
  if (!pidB) return;
  for (const name of ['net', 'ipc', 'uts']) {
    t.equal(nsLink(pidB, name), nsLink(pidA, name), `B is in A's ${name} namespace`);
    t.not(nsLink(pidB, name), nsLink('self', name), `which is not the host's ${name}`);
  }
  for (const name of ['pid', 'mnt']) t.not(nsLink(pidB, name), nsLink(pidA, name), `B has its own ${name} namespace`);
  t.equal(readFileSync(`/proc/${pidB}/root/tmp/h`, 'utf8'), 'container-a\n', 'B sees A\'s hostname');
});

t.test('a user namespace with uidMappings and gidMappings', { skip }, async (t) => {
  const box = userSandbox(t);
  const config = baseConfig(['sh', '-c', 'touch /tmp/made-inside; mkdir /tmp/dir-inside; id -u > /tmp/id; id -g >> /tmp/id; exec sleep 30'], sharedRootfs());
  config.linux.namespaces.push({ type: 'user' });
  Object.assign(config.linux, USER_MAPS);
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  t.not(nsLink(pid, 'user'), nsLink('self', 'user'), 'new user namespace');
  t.same(idMap(pid, 'uid_map'), [[0, 100000, 65536]], 'uid_map');
  t.same(idMap(pid, 'gid_map'), [[0, 100000, 65536]], 'gid_map');
  t.equal(statusField(pid, 'Uid'), '100000\t100000\t100000\t100000', 'the host sees container root as uid 100000');
  t.equal(statusField(pid, 'Gid'), '100000\t100000\t100000\t100000', 'and gid 100000');
  t.equal(readFileSync(`/proc/${pid}/root/tmp/id`, 'utf8'), '0\n0\n', 'inside it is root');
  for (const f of ['made-inside', 'dir-inside']) {
    const st = statSync(`/proc/${pid}/root/tmp/${f}`);
    t.equal(st.uid, 100000, `${f}: created by container root, owned by host uid 100000`);
    t.equal(st.gid, 100000, `${f}: group 100000`);
  }
  const tmp = statSync(`/proc/${pid}/root/tmp`);
  t.equal(tmp.uid, 100000, 'the /tmp tmpfs mounted in the user namespace belongs to its root');
});

t.test('a user namespace container whose --root sits in a private (0700) directory', { skip }, async (t) => {
  // runc opens exec.fifo in the runtime (O_PATH) and hands the init the fd,
  // so the container's root never needs to reach the state directory.
  const box = new Sandbox(t);
  t.equal(statSync(box.dir).mode & 0o777, 0o700, 'the sandbox directory is private');
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.linux.namespaces.push({ type: 'user' });
  Object.assign(config.linux, USER_MAPS);
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (pid) t.equal(statusField(pid, 'Uid'), '100000\t100000\t100000\t100000');
});

t.test('a non-root user inside a user namespace maps through uidMappings', { skip }, async (t) => {
  const box = userSandbox(t);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.process.user = { uid: 1000, gid: 1000, additionalGids: [5] };
  config.linux.namespaces.push({ type: 'user' });
  Object.assign(config.linux, USER_MAPS);
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  t.equal(statusField(pid, 'Uid'), '101000\t101000\t101000\t101000');
  t.equal(statusField(pid, 'Gid'), '101000\t101000\t101000\t101000');
  t.equal(statusField(pid, 'Groups'), '100005', 'additional gid 5 is host gid 100005');
});

t.test('joining a user namespace by path', { skip }, async (t) => {
  const boxA = userSandbox(t);
  const a = baseConfig(['sleep', '30'], sharedRootfs());
  a.linux.namespaces.push({ type: 'user' });
  Object.assign(a.linux, USER_MAPS);
  boxA.writeConfig(a);
  const pidA = await startContainer(t, boxA, boxA.id());
  if (!pidA) return;

  const boxB = userSandbox(t);
  const b = baseConfig(['sh', '-c', 'touch /tmp/by-b; exec sleep 30'], sharedRootfs());
  b.linux.namespaces.push({ type: 'user', path: `/proc/${pidA}/ns/user` });
  boxB.writeConfig(b);
  const pidB = await startContainer(t, boxB, boxB.id());
  if (!pidB) return;
  t.equal(nsLink(pidB, 'user'), nsLink(pidA, 'user'), 'B is in A\'s user namespace');
  t.equal(statusField(pidB, 'Uid'), '100000\t100000\t100000\t100000', 'B\'s root is host uid 100000 through A\'s map');
  t.same(idMap(pidB, 'uid_map'), [[0, 100000, 65536]], 'the map B sees is A\'s');
  for (const name of ['mnt', 'pid', 'net']) t.not(nsLink(pidB, name), nsLink(pidA, name), `B's own ${name} namespace`);
  t.equal(statSync(`/proc/${pidB}/root/tmp/by-b`).uid, 100000, 'files B creates belong to host uid 100000');
});

t.test('time namespace with timeOffsets', { skip }, async (t) => {
  const BOOT = 864000; // ten days
  const MONO = 3600;
  const box = new Sandbox(t);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.linux.namespaces.push({ type: 'time' });
  config.linux.timeOffsets = { boottime: { secs: BOOT, nanosecs: 0 }, monotonic: { secs: MONO, nanosecs: 0 } };
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  t.not(nsLink(pid, 'time'), nsLink('self', 'time'), 'new time namespace');
  const offsets = Object.fromEntries(readProcFile(pid, 'timens_offsets').trim().split('\n').map((l) => {
    const [clock, secs, nsecs] = l.trim().split(/\s+/);
    return [clock, [Number(secs), Number(nsecs)]];
  }));
  t.same(offsets, { monotonic: [MONO, 0], boottime: [BOOT, 0] }, 'the kernel holds the offsets');

  const box2 = new Sandbox(t);
  const c2 = baseConfig(['cat', '/proc/uptime'], sharedRootfs());
  c2.linux.namespaces.push({ type: 'time' });
  c2.linux.timeOffsets = { boottime: { secs: BOOT, nanosecs: 0 } };
  box2.writeConfig(c2);
  const before = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const r = box2.ocirun(['run', '--bundle', box2.bundle, box2.id()]);
  const after = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  t.equal(r.code, 0, r.stderr);
  const inside = Number(r.stdout.split(' ')[0]);
  t.ok(inside >= before + BOOT && inside <= after + BOOT, `uptime inside (${inside}) is the host's (${before}..${after}) plus ${BOOT}`);
});

t.test('cgroup namespace: new, and rooted at the container\'s cgroups', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig(['sh', '-c', 'cat /proc/self/cgroup > /tmp/cg; exec sleep 30'], sharedRootfs());
  config.linux.namespaces.push({ type: 'cgroup' });
  box.writeConfig(config);
  const pid = await startContainer(t, box, box.id());
  if (!pid) return;
  t.not(nsLink(pid, 'cgroup'), nsLink('self', 'cgroup'), 'new cgroup namespace');
  const lines = readFileSync(`/proc/${pid}/root/tmp/cg`, 'utf8').trim().split('\n');
  t.ok(lines.length > 0);
  for (const l of lines) t.match(l, /^\d+:[^:]*:\/$/, `inside, every hierarchy shows / (${l})`);
  const hostView = readProcFile(pid, 'cgroup').trim().split('\n');
  t.equal(hostView.length, lines.length, 'the same hierarchies as seen from the host');
});
