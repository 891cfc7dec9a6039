// container/plan.ts: planContainer is pure once the host is a value
// (HostFacts): the same config planned for different hosts, without root.
import t from 'tap';
import type { Spec } from '../../src/config/types.js';
import { planContainer, type CreateOptions } from '../../src/container/plan.js';
import type { HostFacts } from '../../src/linux/hostfacts.js';
import * as C from '../../src/sys/constants.js';

const opts: CreateOptions = { id: 'c', bundle: '/b', rootfs: '/b/rootfs', fifoPath: '/run/c/exec.fifo', noPivot: false, preserveFds: 0, noNewKeyring: false };

function fakeHost(over: Partial<HostFacts> = {}): HostFacts & { asked: string[] } {
  const asked: string[] = [];
  return {
    boundingSet: (1n << 41n) - 1n,
    lastCap: 40,
    lsm: { apparmor: false, selinux: false, apparmorExecFile: '/proc/thread-self/attr/exec' },
    euid: 0,
    egid: 0,
    inUserNamespace: false,
    resctrlMounted: false,
    nofile: undefined,
    namespaceOf: (path) => (path.startsWith('/proc/self/') ? `self:${path}` : `other:${path}`),
    compileSeccomp: (config, nnp) => ({ filter: `compiled ${config.defaultAction} nnp=${nnp}`, flags: 0, listenerPath: null, listenerMetadata: '' }),
    passwdAt: (rootfs) => { asked.push(rootfs); return 'root:x:0:0::/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n'; },
    ...over,
    asked,
  };
}

function spec(more: Partial<Spec> = {}): Spec {
  return {
    ociVersion: '1.3.0',
    process: { args: ['sh'], cwd: '/', env: ['PATH=/bin'], user: { uid: 1000, gid: 1000 } },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/data', source: 'data', options: ['rbind'] }],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] },
    ...more,
  };
}

t.test('the whole plan from config and host: namespaces, rootfs, process', async (t) => {
  const host = fakeHost();
  const p = planContainer(spec(), opts, host);
  t.same(p.namespaces.create, ['pid', 'mount']);
  t.equal(p.init.rootfs.mounts[1]?.source, '/b/data', 'a relative bind source is the bundle\'s');
  t.equal(p.init.rootfs.rootPropagation, C.MS_SLAVE | C.MS_REC);
  t.equal(p.init.process.uid, 1000);
  t.same(p.init.process.env, ['PATH=/bin', 'HOME=/home/u'], 'HOME from the passwd the process will see');
  t.same(host.asked, ['/b/rootfs']);
  t.equal(p.init.nofile, null);
});

t.test('HOME given: passwd is not read', async (t) => {
  const host = fakeHost();
  const p = planContainer(spec({ process: { args: ['sh'], cwd: '/', env: ['HOME=/x'] } }), opts, host);
  t.same(p.init.process.env, ['HOME=/x']);
  t.same(host.asked, []);
});

t.test('what the host lacks is refused: capabilities, LSMs, resctrl', async (t) => {
  const s = spec({ process: { args: ['sh'], cwd: '/', capabilities: { bounding: ['CAP_SYS_RESOURCE'] } } });
  t.throws(() => planContainer(s, opts, fakeHost({ boundingSet: 0n })), /CAP_SYS_RESOURCE/);
  t.doesNotThrow(() => planContainer(s, opts, fakeHost()));
  t.throws(() => planContainer(spec({ linux: { mountLabel: 'l' } }), opts, fakeHost()), /^linux\.mountLabel: SELinux is not enabled/);
  const labelled = planContainer(spec({ linux: { mountLabel: 'l', namespaces: [{ type: 'mount' }] }, mounts: [{ destination: '/t', type: 'tmpfs', source: 'tmpfs' }] }),
    opts, fakeHost({ lsm: { apparmor: false, selinux: true, apparmorExecFile: '' } }));
  t.equal(labelled.init.rootfs.mounts[0]?.data, 'context="l"');
  t.throws(() => planContainer(spec({ linux: { intelRdt: {} } }), opts, fakeHost({ resctrlMounted: true })), /not supported by ocirun yet/);
  t.throws(() => planContainer(spec({ linux: { intelRdt: {} } }), opts, fakeHost()), /no resctrl filesystem is mounted/);
});

t.test('who runs the runtime: an unprivileged user mapping only itself denies setgroups', async (t) => {
  const linux = {
    namespaces: [{ type: 'user' as const }, { type: 'mount' as const }],
    uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
  };
  t.equal(planContainer(spec({ linux }), opts, fakeHost()).init.process.setGroups, true, 'root writes any map');
  const self = fakeHost({ euid: 1000, egid: 1000 });
  t.equal(planContainer(spec({ linux }), opts, self).init.process.setGroups, false);
  t.throws(() => planContainer(spec({ linux, process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [1] } } }), opts, self),
    /^process\.user\.additionalGids: cannot be set/);
  t.equal(planContainer(spec({ linux }), opts, fakeHost({ inUserNamespace: true })).init.rootfs.bindDevices, true);
});

t.test('sysctl: a joined namespace counts as the container\'s own only when it is not ours', async (t) => {
  const sysctl = { 'net.ipv4.ip_forward': '1' };
  const joined = { namespaces: [{ type: 'network' as const, path: '/proc/7/ns/net' }, { type: 'mount' as const }], sysctl };
  t.same(planContainer(spec({ linux: joined }), opts, fakeHost()).init.sysctl.map((s) => s.file), ['net/ipv4/ip_forward']);
  t.throws(() => planContainer(spec({ linux: joined }), opts, fakeHost({ namespaceOf: () => 'net:[1]' })), /^linux\.sysctl/);
});

t.test('seccomp through the host\'s compiler; RLIMIT_NOFILE as bin/ocirun recorded it', async (t) => {
  const p = planContainer(spec({ linux: { namespaces: [{ type: 'mount' }], seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } } }), opts, fakeHost({ nofile: '1024:unlimited' }));
  t.equal(p.init.process.seccomp, 'compiled SCMP_ACT_ALLOW nnp=false');
  t.same(p.init.nofile, { soft: '1024', hard: '18446744073709551615' });
});
