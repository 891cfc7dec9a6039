// Who writes a new user namespace's maps, decided from our ids and the config's maps.
import t from 'tap';
import { chooseMapWriter, formatIdMap, mapToHost, setgroupsAllowed } from '../../src/linux/idmap.js';

const self = (id: number) => [{ containerID: 0, hostID: id, size: 1 }];

t.test('root writes any map itself and keeps setgroups', async (t) => {
  t.equal(chooseMapWriter(0, 0, self(5), self(5)), 'direct');
  t.equal(chooseMapWriter(0, 0, [{ containerID: 0, hostID: 100000, size: 65536 }], self(0)), 'direct');
  t.ok(setgroupsAllowed('direct'));
});

t.test('an unprivileged user mapping only its own ids writes them after denying setgroups', async (t) => {
  t.equal(chooseMapWriter(1001, 1002, self(1001), self(1002)), 'self');
  t.notOk(setgroupsAllowed('self'));
});

t.test('anything else needs newuidmap/newgidmap', async (t) => {
  t.equal(chooseMapWriter(1001, 1001, self(1001), self(0)), 'helper', 'a gid that is not ours');
  t.equal(chooseMapWriter(1001, 1001, [...self(1001), { containerID: 1, hostID: 100000, size: 65536 }], self(1001)), 'helper', 'a range');
  t.equal(chooseMapWriter(1001, 1001, [{ containerID: 0, hostID: 1001, size: 2 }], self(1001)), 'helper', 'more than one id');
  t.ok(setgroupsAllowed('helper'));
});

t.test('map text and lookups', async (t) => {
  const maps = [{ containerID: 0, hostID: 1001, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }];
  t.equal(formatIdMap(maps), '0 1001 1\n1 100000 65536\n');
  t.equal(mapToHost(0, maps), 1001);
  t.equal(mapToHost(1000, maps), 100999);
  t.equal(mapToHost(70000, maps), null);
});
