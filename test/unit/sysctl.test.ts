// linux/sysctl.ts: the namespace of each key, and only the container's own namespaces (pure, no root).
import t from 'tap';
import type { NamespaceKind } from '../../src/linux/namespaces.js';
import { planSysctl, sysctlNamespace } from '../../src/linux/sysctl.js';

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
