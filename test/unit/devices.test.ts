import t from 'tap';
import { DEFAULT_DEVICES, planDevices } from '../../src/linux/devices.js';
import { planRootfs } from '../../src/linux/rootfs.js';
import * as C from '../../src/sys/constants.js';
import { makedev } from '../../src/sys/calls.js';

t.test('default devices, with config entries replacing or adding', async (t) => {
  const plan = planDevices([{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 }, { path: '/dev/fuse', type: 'c', major: 10, minor: 229 }]);
  t.equal(plan.length, DEFAULT_DEVICES.length + 1);
  t.equal(plan.find((d) => d.path === '/dev/null')?.fileMode, 0o600);
  t.equal(plan.find((d) => d.path === '/dev/fuse')?.fileMode, 0o666);
});

t.test('makedev matches the kernel encoding', async (t) => {
  t.equal(makedev(1, 3), 0x103n);
  t.equal(makedev(10, 229), 0xae5n);
  t.equal(makedev(259, 0x12345), (0x123n << 20n) | (0x103n << 8n) | 0x45n);
});

t.test('rootfs plan: relative bind sources, /dev from the host, propagation', async (t) => {
  const plan = planRootfs({
    rootfs: '/b/rootfs', bundle: '/b', readonly: true, rootfsPropagation: 'rshared',
    mounts: [{ destination: '/data', source: 'data', options: ['rbind', 'ro'] }, { destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] }],
    devices: undefined, maskedPaths: ['/proc/kcore'], readonlyPaths: [], noPivot: false, inUserns: false, cgroupns: false, ownMountNamespace: true,
  });
  t.equal(plan.mounts[0]?.source, '/b/data');
  t.equal(plan.mounts[0]?.bind, true);
  t.equal(plan.mounts[0]?.recursive, true);
  t.equal(plan.mounts[0]?.flags, C.MS_RDONLY);
  t.equal(plan.devices, null, 'a bind-mounted /dev gets no nodes created');
  t.equal(plan.rootPropagation, C.MS_SHARED | C.MS_REC);
  const def = planRootfs({ rootfs: '/r', bundle: '/b', readonly: false, rootfsPropagation: undefined, mounts: [], devices: undefined, maskedPaths: undefined, readonlyPaths: undefined, noPivot: false, inUserns: false, cgroupns: false, ownMountNamespace: true });
  t.equal(def.rootPropagation, C.MS_SLAVE | C.MS_REC, 'rslave by default, so nothing reaches the host');
  t.equal(def.devices?.length, DEFAULT_DEVICES.length);
});
