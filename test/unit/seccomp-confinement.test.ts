// The planners beside seccomp: LSM fields, sysctl keys, scheduler, I/O
// priority, CPU lists, personality, memory policy, Intel RDT (pure, no root).
import t from 'tap';
import { planLsm, withMountLabel } from '../../src/linux/lsm.js';
import { checkIntelRdt } from '../../src/linux/intelrdt.js';
import type { NamespaceKind } from '../../src/linux/namespaces.js';
import { bitMask, parseCpuList, planCpuAffinity, planIoPriority, planMemoryPolicy, planPersonality, planScheduler, schedAttr } from '../../src/linux/sched.js';
import { containerProcessState } from '../../src/linux/seccomp.js';
import { planSysctl, sysctlNamespace } from '../../src/linux/sysctl.js';

const none = { apparmor: false, selinux: false, apparmorExecFile: '/proc/thread-self/attr/exec' };
const both = { apparmor: true, selinux: true, apparmorExecFile: '/proc/thread-self/attr/apparmor/exec' };

t.test('LSM: a field the host cannot honour is an error naming it; empty means none', async (t) => {
  t.throws(() => planLsm({ process: { args: ['x'], cwd: '/', apparmorProfile: 'p' } }, none), /^process\.apparmorProfile: AppArmor is not enabled on this host, so profile "p"/);
  t.throws(() => planLsm({ process: { args: ['x'], cwd: '/', selinuxLabel: 'l' } }, none), /^process\.selinuxLabel: SELinux is not enabled/);
  t.throws(() => planLsm({ linux: { mountLabel: 'm' } }, none), /^linux\.mountLabel: SELinux is not enabled/);
  t.same(planLsm({ linux: { mountLabel: 'system_u:object_r:container_file_t:s0' } }, both).mountLabel, 'system_u:object_r:container_file_t:s0');
  t.same(planLsm({ process: { args: ['x'], cwd: '/', apparmorProfile: '', selinuxLabel: '' } }, none), { apparmorProfile: null, selinuxLabel: null, mountLabel: null, execAttrs: [] });
});

t.test('LSM planning where the LSMs are on: exec attrs for the native step, mount contexts', async (t) => {
  const plan = planLsm({ process: { args: ['x'], cwd: '/', apparmorProfile: 'docker-default', selinuxLabel: 'a:b:c:s0' } }, both);
  t.same(plan, {
    apparmorProfile: 'docker-default', selinuxLabel: 'a:b:c:s0', mountLabel: null,
    execAttrs: [['/proc/thread-self/attr/apparmor/exec', 'exec docker-default'], ['/proc/thread-self/attr/exec', 'a:b:c:s0']],
  }, 'AppArmor takes "exec <profile>" in the file the host has');
  t.same(planLsm({ process: { args: ['x'], cwd: '/', apparmorProfile: 'p' } }, { ...both, apparmorExecFile: '/proc/thread-self/attr/exec' }).execAttrs,
    [['/proc/thread-self/attr/exec', 'exec p']], 'without LSM stacking: the shared file');
  t.equal(withMountLabel('tmpfs', 'mode=755', 'x:y:z:s0'), 'mode=755,context="x:y:z:s0"');
  t.equal(withMountLabel('devpts', '', 'x:y:z:s0'), 'context="x:y:z:s0"');
  t.equal(withMountLabel('proc', '', 'x:y:z:s0'), '', 'proc takes no context=');
  t.equal(withMountLabel('', '', 'x:y:z:s0'), '', 'nor does a bind mount');
  t.equal(withMountLabel('tmpfs', 'size=1m', null), 'size=1m');
});

t.test('sysctl: the namespace of each key; only the container\'s own namespaces', async (t) => {
  t.equal(sysctlNamespace('net.ipv4.ip_forward'), 'network');
  t.equal(sysctlNamespace('net/core/somaxconn'), 'network');
  t.equal(sysctlNamespace('kernel.shmmax'), 'ipc');
  t.equal(sysctlNamespace('fs.mqueue.queues_max'), 'ipc');
  t.equal(sysctlNamespace('kernel.hostname'), 'uts');
  t.equal(sysctlNamespace('kernel.pid_max'), null);
  t.equal(sysctlNamespace('vm.overcommit_memory'), null);
  const own = (kinds: NamespaceKind[]) => (k: NamespaceKind) => kinds.includes(k);
  t.same(planSysctl({ 'net.ipv4.ip_forward': '1', 'fs/mqueue/msg_max': '20' }, own(['network', 'ipc'])), [
    { key: 'net.ipv4.ip_forward', file: 'net/ipv4/ip_forward', value: '1' },
    { key: 'fs/mqueue/msg_max', file: 'fs/mqueue/msg_max', value: '20' },
  ]);
  t.throws(() => planSysctl({ 'net.ipv4.ip_forward': '1' }, own(['ipc'])), /^linux\.sysctl\["net\.ipv4\.ip_forward"\]: needs the container's own network namespace/);
  t.throws(() => planSysctl({ 'kernel.hostname': 'x' }, own(['network'])), /own uts namespace/);
  t.throws(() => planSysctl({ 'kernel.core_pattern': '|/bin/evil' }, own(['network', 'ipc', 'uts'])), /^linux\.sysctl\["kernel\.core_pattern"\]: not a namespaced sysctl/);
  t.throws(() => planSysctl({ 'net/../../kernel/core_pattern': 'x' }, own(['network'])), /is not a valid sysctl name/);
  t.same(planSysctl(undefined, own([])), []);
});

t.test('scheduler: policy, flags and struct sched_attr', async (t) => {
  const p = planScheduler({ policy: 'SCHED_DEADLINE', flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_DL_OVERRUN'], runtime: 1000, deadline: 2000, period: 3000 });
  t.same(p, { policy: 6, flags: 5, nice: 0, priority: 0, runtime: '1000', deadline: '2000', period: '3000' });
  const b = schedAttr(p!);
  t.equal(b.length, 56);
  t.equal(b.readUInt32LE(0), 56, 'size');
  t.equal(b.readUInt32LE(4), 6, 'policy');
  t.equal(b.readBigUInt64LE(8), 5n, 'flags');
  t.equal(b.readBigUInt64LE(40), 3000n, 'period');
  t.equal(planScheduler({ policy: 'SCHED_OTHER', nice: -5 })?.nice, -5);
  t.equal(schedAttr(planScheduler({ policy: 'SCHED_OTHER', nice: -5 })!).readInt32LE(16), -5);
  t.throws(() => planScheduler({ policy: 'SCHED_ISO' }), /^process\.scheduler\.policy: "SCHED_ISO" is not supported by Linux/);
  t.throws(() => planScheduler({ policy: 'SCHED_OTHER', flags: ['SCHED_FLAG_X' as never] }), /^process\.scheduler\.flags\[0\]: unknown flag/);
  t.equal(planScheduler(undefined), null);
});

t.test('ioPriority: IOPRIO_PRIO_VALUE(class, level)', async (t) => {
  t.equal(planIoPriority({ class: 'IOPRIO_CLASS_RT', priority: 3 }), (1 << 13) | 3);
  t.equal(planIoPriority({ class: 'IOPRIO_CLASS_BE', priority: 7 }), (2 << 13) | 7);
  t.equal(planIoPriority({ class: 'IOPRIO_CLASS_IDLE' }), 3 << 13);
  t.throws(() => planIoPriority({ class: 'IOPRIO_CLASS_BE', priority: 8 }), /^process\.ioPriority\.priority: must be 0 to 7/);
  t.throws(() => planIoPriority({ class: 'IOPRIO_CLASS_NONE' as never }), /^process\.ioPriority\.class: unknown class/);
});

t.test('cpu lists and masks', async (t) => {
  t.same(parseCpuList('0-3,7', 'x'), [0, 1, 2, 3, 7]);
  t.same(parseCpuList(' 5 , 1-2,2 ', 'x'), [1, 2, 5]);
  t.throws(() => parseCpuList('a', 'process.execCPUAffinity.initial'), /^process\.execCPUAffinity\.initial: "a" is not a list like "0-3,7"/);
  t.throws(() => parseCpuList('3-1', 'f'), /^f: bad range "3-1"/);
  t.same(planCpuAffinity({ final: '1' }), { initial: null, final: [1] });
  t.equal(planCpuAffinity({}), null);
  const m = bitMask([0, 9, 1100]);
  t.equal(m.length, 144, 'grows past 1024 bits in whole longs');
  t.equal(m[0], 1);
  t.equal(m[1], 2);
  t.equal(m[137], 1 << 4);
  t.equal(bitMask([]).length, 128, 'glibc cpu_set_t size at least');
});

t.test('personality and memory policy', async (t) => {
  t.equal(planPersonality({ domain: 'LINUX' }), 0);
  t.equal(planPersonality({ domain: 'LINUX32' }), 8);
  t.throws(() => planPersonality({ domain: 'LINUX', flags: ['X'] }), /^linux\.personality\.flags: no flags are supported/);
  t.throws(() => planPersonality({ domain: 'SVR4' as never }), /^linux\.personality\.domain: unknown domain/);
  t.same(planMemoryPolicy({ mode: 'MPOL_INTERLEAVE', nodes: '0-1', flags: ['MPOL_F_STATIC_NODES'] }), { mode: 3 | (1 << 15), nodes: [0, 1] });
  t.same(planMemoryPolicy({ mode: 'MPOL_LOCAL' }), { mode: 4, nodes: [] });
  t.throws(() => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_X' as never] }), /^linux\.memoryPolicy\.flags\[0\]: unknown flag/);
});

t.test('intelRdt: unsupported, with the reason', async (t) => {
  t.throws(() => checkIntelRdt(false), /^linux\.intelRdt: Intel RDT is not available: no resctrl filesystem is mounted/);
  t.throws(() => checkIntelRdt(true), /^linux\.intelRdt: Intel RDT \(resctrl\) is not supported by ocirun yet/);
});

t.test('the container process state sent to a seccomp listener', async (t) => {
  const doc = JSON.parse(containerProcessState({ ociVersion: '1.3.0', id: 'c1', status: 'creating', pid: 42, bundle: '/b' }, 'meta'));
  t.same(doc, { ociVersion: '1.3.0', fds: ['seccompFd'], pid: 42, metadata: 'meta', state: { ociVersion: '1.3.0', id: 'c1', status: 'created', pid: 42, bundle: '/b' } });
  t.notOk('metadata' in JSON.parse(containerProcessState({ pid: 1 }, '')), 'no metadata: no field');
});
