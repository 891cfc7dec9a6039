// linux/procfs.ts: the one reader of mountinfo and /proc/<pid>/cgroup.
import t from 'tap';
import { parseCgroupLines, parseMountinfo, readBoundingSet, readCgroupLines, readMountinfo, readStatusField } from '../../src/linux/procfs.js';

t.test('mountinfo: every field, escapes undone, optional fields kept, bad lines skipped', async (t) => {
  const text = [
    '36 35 98:0 /mnt1 /mnt\\040with\\040space rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue',
    '25 1 0:22 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
    'garbage without separator',
    '',
  ].join('\n');
  t.same(parseMountinfo(text), [
    {
      id: 36, parent: 35, majorMinor: '98:0', root: '/mnt1', mountPoint: '/mnt with space', options: ['rw', 'noatime'],
      optional: ['master:1', 'shared:7'], fstype: 'ext3', source: '/dev/root', superOptions: ['rw', 'errors=continue'],
    },
    {
      id: 25, parent: 1, majorMinor: '0:22', root: '/', mountPoint: '/sys/fs/cgroup/memory', options: ['rw', 'nosuid'],
      optional: [], fstype: 'cgroup', source: 'cgroup', superOptions: ['rw', 'memory'],
    },
  ]);
  t.equal(parseMountinfo('1 0 0:1 / /a\\134b\\011c rw - tmpfs x rw')[0]?.mountPoint, '/a\\b\tc');
});

t.test('this process\'s own tables read', async (t) => {
  t.ok(readMountinfo().some((m) => m.mountPoint === '/'), 'a mount on /');
  t.ok(readCgroupLines('self').length > 0);
});

t.test('/proc/<pid>/cgroup: id, controllers as listed, the whole path', async (t) => {
  t.same(parseCgroupLines('12:cpu,cpuacct:/a\n1:name=systemd:/\n0::/x:y\n\n'), [
    { hierarchy: 12, controllers: 'cpu,cpuacct', path: '/a' },
    { hierarchy: 1, controllers: 'name=systemd', path: '/' },
    { hierarchy: 0, controllers: '', path: '/x:y' },
  ]);
});

t.test('/proc/<pid>/status fields, and the bounding set from CapBnd', async (t) => {
  t.equal(readStatusField('self', 'Pid'), String(process.pid));
  t.equal(readStatusField(process.pid, 'NoSuchField'), null);
  t.equal(readBoundingSet(), BigInt(`0x${readStatusField('self', 'CapBnd')}`));
});
