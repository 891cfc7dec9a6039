import t from 'tap';
import * as C from '../../src/sys/constants.js';
import { planNamespaces } from '../../src/linux/namespaces.js';
import { formatIdMap, mapToHost } from '../../src/linux/idmap.js';

t.test('new namespaces become unshare flags; user and cgroup have their own steps', async (t) => {
  const p = planNamespaces({ namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'user' }, { type: 'cgroup' }, { type: 'uts' }] });
  t.equal(p.unshareFlags, C.CLONE_NEWPID | C.CLONE_NEWNS | C.CLONE_NEWUTS);
  t.ok(p.newUserns);
  t.ok(p.inUserns);
  t.ok(p.newCgroupns);
  t.same(p.join, []);
});

t.test('joined namespaces: the user namespace is joined first', async (t) => {
  const p = planNamespaces({ namespaces: [{ type: 'network', path: '/proc/1/ns/net' }, { type: 'user', path: '/proc/1/ns/user' }, { type: 'mount' }] });
  t.same(p.join.map((j) => j.kind), ['user', 'network']);
  t.notOk(p.newUserns);
  t.ok(p.inUserns);
  t.equal(p.unshareFlags, C.CLONE_NEWNS);
});

t.test('time namespace offsets are rendered for /proc/self/timens_offsets', async (t) => {
  const p = planNamespaces({ namespaces: [{ type: 'time' }, { type: 'mount' }], timeOffsets: { monotonic: { secs: 100, nanosecs: 5 }, boottime: { secs: -3 } } });
  t.equal(p.timensOffsets, 'monotonic 100 5\nboottime -3 0\n');
  t.equal(p.unshareFlags & C.CLONE_NEWTIME, C.CLONE_NEWTIME);
});

t.test('id maps', async (t) => {
  const maps = [{ containerID: 0, hostID: 100000, size: 65536 }];
  t.equal(formatIdMap(maps), '0 100000 65536\n');
  t.equal(mapToHost(0, maps), 100000);
  t.equal(mapToHost(70000, maps), null);
});
