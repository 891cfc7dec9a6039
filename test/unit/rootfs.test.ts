// linux/rootfs.ts: planMount turns one config mount into the step the
// operations are built from (flags, bind, propagation, idmap), without root.
import t from 'tap';
import * as C from '../../src/sys/constants.js';
import { planMount } from '../../src/linux/rootfs.js';

t.test('a filesystem mount: flags and data split, type kept, not a bind', async (t) => {
  const s = planMount({ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] }, '/b');
  t.same(s, {
    destination: '/dev', source: 'tmpfs', type: 'tmpfs', bind: false, recursive: false,
    flags: C.MS_NOSUID | C.MS_STRICTATIME, data: 'mode=755,size=65536k', propagation: [], recAttrSet: 0, recAttrClr: 0, idmap: null,
  });
});

t.test('bind and rbind: the type is dropped, MS_BIND/MS_REC become bind/recursive, not flags', async (t) => {
  const b = planMount({ destination: '/x', source: '/host/x', options: ['bind', 'ro'] }, '/b');
  t.equal(b.bind, true);
  t.equal(b.recursive, false);
  t.equal(b.type, '');
  t.equal(b.flags, C.MS_RDONLY);
  const r = planMount({ destination: '/x', type: 'none', source: '/host/x', options: ['rbind', 'nosuid', 'nodev'] }, '/b');
  t.equal(r.bind, true);
  t.equal(r.recursive, true);
  t.equal(r.flags, C.MS_NOSUID | C.MS_NODEV);
  // type "bind" alone makes a bind mount (runc accepts it without the option).
  t.equal(planMount({ destination: '/x', type: 'bind', source: '/s' }, '/b').bind, true);
});

t.test('a relative bind source is the bundle\'s; a relative non-bind source is left alone', async (t) => {
  t.equal(planMount({ destination: '/x', source: 'data/x', options: ['bind'] }, '/bundle').source, '/bundle/data/x');
  t.equal(planMount({ destination: '/x', source: '/abs', options: ['bind'] }, '/bundle').source, '/abs');
  t.equal(planMount({ destination: '/p', type: 'proc', source: 'proc' }, '/bundle').source, 'proc');
  t.equal(planMount({ destination: '/p', type: 'proc' }, '/bundle').source, '');
});

t.test('propagation and recursive attributes, in the order given', async (t) => {
  const s = planMount({ destination: '/x', source: '/s', options: ['rbind', 'rslave', 'private', 'rro', 'rnosuid', 'rexec'] }, '/b');
  t.same(s.propagation, [C.MS_SLAVE | C.MS_REC, C.MS_PRIVATE]);
  t.equal(s.recAttrSet, C.MOUNT_ATTR_RDONLY | C.MOUNT_ATTR_NOSUID);
  t.equal(s.recAttrClr, C.MOUNT_ATTR_NOEXEC);
});

t.test('idmapped mounts: own maps, the container\'s maps, and the refusals', async (t) => {
  const uid = [{ containerID: 0, hostID: 1000, size: 1 }];
  const gid = [{ containerID: 0, hostID: 2000, size: 10 }];
  const own = planMount({ destination: '/x', source: '/s', options: ['bind'], uidMappings: uid, gidMappings: gid }, '/b');
  t.same(own.idmap, { uidMap: '0 1000 1\n', gidMap: '0 2000 10\n', recursive: false });
  const fromUserns = planMount({ destination: '/x', source: '/s', options: ['rbind', 'ridmap'] }, '/b', 3, { uidMappings: uid, gidMappings: uid });
  t.same(fromUserns.idmap, { uidMap: '0 1000 1\n', gidMap: '0 1000 1\n', recursive: true });
  t.throws(() => planMount({ destination: '/x', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }, '/b', 2),
    { message: 'mounts[2]: an idmapped mount must be a bind mount (options "bind" or "rbind")' });
  t.throws(() => planMount({ destination: '/x', source: '/s', options: ['bind', 'idmap'] }, '/b', 4),
    { message: /^mounts\[4\]\.options: "idmap" needs uidMappings and gidMappings/ });
  t.equal(planMount({ destination: '/x', source: '/s', options: ['bind'] }, '/b').idmap, null);
});
