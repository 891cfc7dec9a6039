// The systemd cgroup driver without systemd: unit names and cgroup paths
// from "slice:prefix:name", the unit properties for resources, devices and
// org.systemd.property.* annotations, and sd-bus's marshalling against a
// private dbus-daemon (where one is installed).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  annotationProperties, deviceProperties, expandSlice, listToMask, parseGVariant, quotaPerSecUSec, resourceProperties, startProperties, systemdUnitFor,
} from '../../src/linux/cgroups/systemdunit.js';
import { deviceRules } from '../../src/linux/cgroups/devices.js';

const props = (list: [string, { sig: string; value: unknown }][]): Record<string, unknown> => Object.fromEntries(list.map(([n, v]) => [n, `${v.sig}:${JSON.stringify(v.value)}`]));

t.test('slices expand as systemd nests them', async (t) => {
  t.equal(expandSlice('system.slice'), '/system.slice');
  t.equal(expandSlice('kubepods-besteffort-pod12.slice'), '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice');
  t.equal(expandSlice('-.slice'), '/', 'the root slice');
  t.throws(() => expandSlice('a--b.slice'), /empty part/);
  t.throws(() => expandSlice('system'), /invalid slice name/);
  t.throws(() => expandSlice('a/b.slice'), /invalid slice name/);
});

t.test('cgroupsPath "slice:prefix:name" → the unit and its cgroup', async (t) => {
  t.same(systemdUnitFor('machine.slice:libpod:abc', 'abc'), { unit: 'libpod-abc.scope', slice: 'machine.slice', cgroupPath: '/machine.slice/libpod-abc.scope' }, 'podman\'s');
  t.same(systemdUnitFor('kubepods-besteffort-pod1.slice:cri-containerd:c1', 'c1').cgroupPath, '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-c1.scope', 'containerd\'s, nested slices');
  t.same(systemdUnitFor(':p:n', 'n'), { unit: 'p-n.scope', slice: 'system.slice', cgroupPath: '/system.slice/p-n.scope' }, 'an empty slice is system.slice');
  t.equal(systemdUnitFor('system.slice::n', 'n').unit, 'n.scope', 'no prefix');
  t.same(systemdUnitFor(undefined, 'id1'), { unit: 'ocirun-id1.scope', slice: 'system.slice', cgroupPath: '/system.slice/ocirun-id1.scope' }, 'no path: system.slice:ocirun:<id>');
  t.same(systemdUnitFor('system.slice:x:my-pod.slice', 'i'), { unit: 'my-pod.slice', slice: 'system.slice', cgroupPath: '/my.slice/my-pod.slice' }, 'a name ending in .slice makes a slice');
  t.throws(() => systemdUnitFor('/abs/path', 'i'), /linux.cgroupsPath: expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "\/abs\/path" instead/, 'runc\'s message');
  t.throws(() => systemdUnitFor('a:b', 'i'), /slice:prefix:name/);
  t.throws(() => systemdUnitFor('bad:p:n', 'i'), /invalid slice name "bad"/);
});

t.test('resources as unit properties (cgroup v2 and v1 names)', async (t) => {
  const v2 = props(resourceProperties({
    memory: { limit: 64 << 20, reservation: 1 << 20, swap: 96 << 20 }, cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0-2,9', mems: '0' },
    pids: { limit: -1 }, blockIO: { weight: 500 }, unified: { 'memory.high': '1000', 'pids.max': 'max', 'io.max': 'x' },
  }, 2));
  t.same(v2, {
    MemoryMax: `t:"${64 << 20}"`, MemoryLow: 't:"1048576"', MemorySwapMax: `t:"${32 << 20}"`, CPUWeight: 't:"39"', AllowedCPUs: 'ay:[7,2]', AllowedMemoryNodes: 'ay:[1]', IOWeight: 't:"4950"',
    MemoryHigh: 't:"1000"', TasksMax: 't:"18446744073709551615"', CPUQuotaPeriodUSec: 't:"100000"', CPUQuotaPerSecUSec: 't:"500000"',
  }, 'every property, unified memory.high and pids.max (systemd manages those files too) last');
  t.same(props(resourceProperties({ memory: { limit: -1 } }, 2)), { MemoryMax: 't:"18446744073709551615"', MemorySwapMax: 't:"18446744073709551615"' }, '-1 is infinity');
  t.same(props(resourceProperties({ memory: { limit: 1000 }, cpu: { shares: 512 }, blockIO: { weight: 300 } }, 1)), { MemoryLimit: 't:"1000"', CPUShares: 't:"512"', BlockIOWeight: 't:"300"' }, 'v1 names');
  t.equal(quotaPerSecUSec(12345, 100000), 130000n, 'rounded up to 10 ms, as systemd keeps it');
  t.equal(quotaPerSecUSec(-1, 100000), 18446744073709551615n, 'no quota: infinity');
  t.equal(quotaPerSecUSec(20000, 0), 200000n, 'the default period is 100 ms');
  t.same(listToMask('0,8-9'), [1, 3]);
  t.throws(() => listToMask('x'), /not a list/);
});

t.test('device rules as DevicePolicy and DeviceAllow', async (t) => {
  const names = { c: new Map([[136, 'pts']]), b: new Map<number, string>() };
  const strict = deviceProperties(deviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }], []), names);
  t.equal(strict[0]?.[1].value, 'strict');
  const allow = strict[1]?.[1].value as [string, string][];
  for (const e of [['char-*', 'm'], ['block-*', 'm'], ['/dev/char/1:3', 'rwm'], ['char-pts', 'rwm'], ['/dev/block/8:0', 'r']]) t.ok(allow.some((a) => a[0] === e[0] && a[1] === e[1]), `allows ${e.join(' ')}`);
  t.same(props(deviceProperties(deviceRules([{ allow: true, access: 'rwm' }], []), names)), { DevicePolicy: 's:"auto"', DeviceAllow: 'a(ss):[]' }, 'allow-all: no device policy');
});

t.test('org.systemd.property.* annotations, in GVariant text', async (t) => {
  t.same(parseGVariant('true'), { sig: 'b', value: true });
  t.same(parseGVariant('5'), { sig: 'i', value: 5 });
  t.same(parseGVariant('uint64 100'), { sig: 't', value: '100' });
  t.same(parseGVariant('@t 7'), { sig: 't', value: '7' });
  t.same(parseGVariant("'inactive-or-failed'"), { sig: 's', value: 'inactive-or-failed' });
  t.same(parseGVariant('1.5'), { sig: 'd', value: 1.5 });
  t.same(parseGVariant("['a', 'b,c']"), { sig: 'as', value: ['a', 'b,c'] });
  t.same(parseGVariant('@as []'), { sig: 'as', value: [] });
  t.throws(() => parseGVariant('[]'), /needs a type/);
  t.throws(() => parseGVariant('nope'), /not a GVariant value/);
  t.same(props(annotationProperties({ 'org.systemd.property.TimeoutStopSec': '7', 'org.systemd.property.CollectMode': "'inactive-or-failed'", 'other': 'x' })),
    { TimeoutStopUSec: 't:"7000000"', CollectMode: 's:"inactive-or-failed"' }, '<Name>Sec becomes <Name>USec in microseconds; other annotations are not properties');
  t.same(props(annotationProperties({ 'org.systemd.property.RuntimeMaxSec': 'uint64 2' })), { RuntimeMaxUSec: 't:"2000000"' });
  t.throws(() => annotationProperties({ 'org.systemd.property.bad-name': 'true' }), /annotations\["org.systemd.property.bad-name"\]: "bad-name" is not a systemd property name/);
  t.throws(() => annotationProperties({ 'org.systemd.property.TimeoutStopSec': "'x'" }), /takes a number of seconds/);
});

t.test('a unit\'s start properties: runc\'s set, annotations last', async (t) => {
  const scope = props(startProperties(systemdUnitFor('machine.slice:libpod:c', 'c'), 'c', 2, { pids: { limit: 10 } }, [], { 'org.systemd.property.TasksMax': 'uint64 20' }));
  t.same(Object.keys(scope).sort(), ['CPUAccounting', 'DefaultDependencies', 'Delegate', 'Description', 'DeviceAllow', 'DevicePolicy', 'IOAccounting', 'MemoryAccounting', 'Slice', 'TasksAccounting', 'TasksMax'].sort());
  t.equal(scope.Delegate, 'b:true');
  t.equal(scope.DefaultDependencies, 'b:false');
  t.equal(scope.Slice, 's:"machine.slice"');
  t.equal(scope.TasksMax, 't:"20"', 'the annotation wins over the resource');
  const slice = props(startProperties(systemdUnitFor('system.slice:x:pod-a.slice', 'c'), 'c', 1, {}, [], {}));
  t.equal(slice.Wants, 'as:["system.slice"]', 'a slice wants its parent');
  t.notOk('Delegate' in slice || 'Slice' in slice, 'and has no Delegate or Slice');
  t.ok('BlockIOAccounting' in slice, 'v1 accounting name');
});

const dbusDaemon = spawnSync('sh', ['-c', 'command -v dbus-daemon']).stdout?.toString().trim();

t.test('sd-bus through koffi: calls, errors and container marshalling on a private bus', { skip: dbusDaemon ? false : 'no dbus-daemon here (apt-get install dbus-daemon)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocirun-dbus-'));
  const sock = join(dir, 'bus');
  writeFileSync(join(dir, 'bus.conf'), `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${sock}</listen><auth>EXTERNAL</auth><policy context="default"><allow send_destination="*"/><allow receive_sender="*"/><allow own="*"/></policy></busconfig>`);
  const daemon = spawn(dbusDaemon as string, ['--config-file', join(dir, 'bus.conf'), '--nofork'], { stdio: 'ignore' });
  t.teardown(() => { daemon.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
  for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 10));
  process.env.DBUS_SYSTEM_BUS_ADDRESS = `unix:path=${sock}`;
  const { DBusError, SystemBus, completeTypes } = await import('../../src/sys/sdbus.js');
  t.same(completeTypes('ssa(sv)a(sa(sv))'), ['s', 's', 'a(sv)', 'a(sa(sv))']);
  const bus = new SystemBus();
  t.teardown(() => bus.close());
  const D = ['org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus'] as const;
  t.match(bus.call(...D, 'GetId', '', [], (r) => r.string()), /^[0-9a-f]{32}$/, 'a method returning a string');
  t.equal(bus.call(...D, 'RequestName', 'su', ['org.ocirun.Test', 0], () => 'sent'), 'sent', 'string and uint32 arguments');
  t.equal(bus.call(...D, 'GetNameOwner', 's', ['org.ocirun.Test'], (r) => r.string()).startsWith(':'), true, 'the name is ours');
  try {
    bus.call(...D, 'GetNameOwner', 's', ['no.such.Name']);
    t.fail('an error reply throws');
  } catch (err) {
    t.equal((err as InstanceType<typeof DBusError>).dbusName, 'org.freedesktop.DBus.Error.NameHasNoOwner', 'the error\'s D-Bus name');
  }
  // StartTransientUnit's signature, every container kind: the bus receives it (and has no such method).
  try {
    bus.call(...D, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', ['x.scope', 'replace', [['PIDs', { sig: 'au', value: [1] }], ['MemoryMax', { sig: 't', value: '18446744073709551615' }], ['Delegate', { sig: 'b', value: true }], ['AllowedCPUs', { sig: 'ay', value: [1, 2] }], ['DeviceAllow', { sig: 'a(ss)', value: [['char-pts', 'rwm']] }]], []]);
    t.fail('no such method on the bus daemon');
  } catch (err) {
    t.equal((err as InstanceType<typeof DBusError>).dbusName, 'org.freedesktop.DBus.Error.UnknownMethod', 'marshalled and delivered');
  }
});
