import t from 'tap';
import * as C from '../../src/sys/constants.js';
import { isBindMount, parseMountOptions } from '../../src/linux/mountopts.js';

t.test('flags, clears and filesystem data are separated', async (t) => {
  const o = parseMountOptions(['nosuid', 'noexec', 'mode=755', 'size=65536k', 'strictatime']);
  t.equal(o.flags, C.MS_NOSUID | C.MS_NOEXEC | C.MS_STRICTATIME);
  t.equal(o.data, 'mode=755,size=65536k');
  t.same(o.propagation, []);
});

t.test('a later option overrides an earlier one', async (t) => {
  t.equal(parseMountOptions(['ro', 'rw']).flags & C.MS_RDONLY, 0);
  t.equal(parseMountOptions(['rw', 'ro']).flags & C.MS_RDONLY, C.MS_RDONLY);
  t.equal(parseMountOptions(['nosuid', 'suid']).flags, 0);
});

t.test('rbind is a recursive bind; propagation is kept in order', async (t) => {
  const o = parseMountOptions(['rbind', 'rprivate', 'shared']);
  t.equal(o.flags, C.MS_BIND | C.MS_REC);
  t.same(o.propagation, [C.MS_PRIVATE | C.MS_REC, C.MS_SHARED]);
  t.ok(isBindMount(undefined, o));
  t.ok(isBindMount('bind', parseMountOptions([])));
  t.notOk(isBindMount('tmpfs', parseMountOptions(['nosuid'])));
});

t.test('recursive attributes go to mount_setattr', async (t) => {
  const o = parseMountOptions(['rbind', 'rro', 'rnosuid']);
  t.equal(o.recAttrSet, C.MOUNT_ATTR_RDONLY | C.MOUNT_ATTR_NOSUID);
  t.equal(o.flags & C.MS_RDONLY, 0, 'rro is not the plain ro flag');
  const atime = parseMountOptions(['rnoatime']);
  t.equal(atime.recAttrSet, C.MOUNT_ATTR_NOATIME);
  t.equal(atime.recAttrClr & C.MOUNT_ATTR__ATIME, C.MOUNT_ATTR__ATIME, 'choosing an atime mode clears the field');
  t.equal(parseMountOptions(['rro', 'rrw']).recAttrSet, 0);
});

t.test('runtime extensions are not passed to the kernel', async (t) => {
  const o = parseMountOptions(['tmpcopyup', 'mode=1777']);
  t.same(o.extensions, ['tmpcopyup']);
  t.equal(o.data, 'mode=1777');
});
