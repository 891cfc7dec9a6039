// --rootless as runc parses it, the user bus address, and the rootless
// systemd unit (user.slice, no device policy) without a systemd to ask.
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeBusAddressValue, isRootless, parseRootlessFlag, userBusAddress } from '../../src/linux/rootless.js';
import { startProperties, systemdUnitFor } from '../../src/linux/cgroups/systemdunit.js';
import { deviceRules } from '../../src/linux/cgroups/devices.js';
import { deniedCgroupDir } from '../../src/linux/cgroups/lifecycle.js';

t.test('--rootless takes Go\'s booleans and auto; anything else names the flag', async (t) => {
  for (const v of ['true', '1', 't', 'T', 'TRUE', 'True']) t.equal(parseRootlessFlag(v), true, v);
  for (const v of ['false', '0', 'f', 'F', 'FALSE', 'False']) t.equal(parseRootlessFlag(v), false, v);
  for (const v of ['auto', '', undefined]) t.equal(parseRootlessFlag(v), null, `${JSON.stringify(v)} is auto`);
  t.throws(() => parseRootlessFlag('yes'), /^--rootless: want "true", "false" or "auto", got "yes"$/);
  t.equal(isRootless('true'), true, 'true wins over who we are');
  t.equal(isRootless('false'), false, 'false too');
  t.equal(isRootless('auto'), process.geteuid?.() !== 0 || !/^\s*0\s+0\s+4294967295\s*$/.test(String(readFileSync('/proc/self/uid_map', 'utf8'))), 'auto: not root, or root of a user namespace');
});

t.test('the user bus: $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus when it exists', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocirun-bus-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(userBusAddress({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/x', XDG_RUNTIME_DIR: dir }), 'unix:path=/x', 'the given address wins');
  t.equal(userBusAddress({ XDG_RUNTIME_DIR: dir }), null, 'no bus socket: none');
  writeFileSync(join(dir, 'bus'), '');
  t.equal(userBusAddress({ XDG_RUNTIME_DIR: dir }), `unix:path=${escapeBusAddressValue(join(dir, 'bus'))}`, 'the socket in XDG_RUNTIME_DIR');
  t.equal(escapeBusAddressValue('/run/user/1000/bus'), '/run/user/1000/bus', 'plain paths stay as they are');
  t.equal(escapeBusAddressValue('/a b,c=d;é'), '/a%20b%2cc%3dd%3b%c3%a9', 'the rest is %-escaped by byte');
});

t.test('a rootless unit: user.slice by default (runc), no DevicePolicy', async (t) => {
  t.same(systemdUnitFor(undefined, 'c1', 'user.slice'), { unit: 'ocirun-c1.scope', slice: 'user.slice', cgroupPath: '/user.slice/ocirun-c1.scope' });
  t.equal(systemdUnitFor(':p:c1', 'c1', 'user.slice').slice, 'user.slice', 'an empty slice is user.slice too');
  const unit = systemdUnitFor(undefined, 'c1', 'user.slice');
  const names = startProperties(unit, 'c1', 2, { pids: { limit: 5 } }, null, undefined).map(([n]) => n);
  t.ok(names.includes('TasksMax') && names.includes('Delegate'), 'limits and delegation asked for');
  t.notOk(names.includes('DevicePolicy') || names.includes('DeviceAllow'), 'no device policy');
  const rooted = startProperties(unit, 'c1', 2, {}, deviceRules(undefined, undefined), undefined).map(([n]) => n);
  t.ok(rooted.includes('DevicePolicy'), 'the system manager gets one');
});

t.test('deniedCgroupDir: the nearest existing directory decides, nothing is made', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocirun-cgdeny-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const paths = { mode: 'v2' as const, v1: [], unified: { mountPoint: root, dir: join(root, 'a', 'b', 'c1') } };
  t.equal(deniedCgroupDir(paths), null, 'a writable directory above: allowed (we are root or own it)');
  t.same(readdirSync(root), [], 'and nothing was made');
  if (process.geteuid?.() === 0) {
    // As root access() always allows; a read-only mount is what denies root too.
    const ro = { mode: 'v2' as const, v1: [], unified: { mountPoint: '/proc', dir: '/proc/sys/ocirun-none/c1' } };
    t.match(deniedCgroupDir(ro), /^mkdir \/proc\/sys\/ocirun-none\/c1: E(ROFS|ACCES)$/, 'a read-only place is denied, naming the directory');
  }
});
