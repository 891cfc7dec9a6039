// runtime.md/config-linux.md: a namespace type that is not listed is the
// runtime's own. With no mount namespace the root filesystem is set up in
// ours (README: "Without a mount namespace"), entered by chroot, and taken
// down by delete. And hostname/domainname apply to a joined uts namespace.
import t from 'tap';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { baseConfig, buildRootfs, run, Sandbox, SKIP_NOT_ROOT, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

function hostMountsUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(path));
}

t.test('no namespaces listed: every one is the runtime\'s, the rootfs is set up in our mount namespace and taken down by delete', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  const config = baseConfig(['sleep', '60'], rootfs);
  config.linux.namespaces = [];
  delete config.hostname;
  box.writeConfig(config);
  const before = hostMountsUnder(rootfs).length;
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 0, c.stderr);
  for (const ns of ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup']) {
    t.equal(readlinkSync(`/proc/${c.pid}/ns/${ns}`), readlinkSync(`/proc/self/ns/${ns}`), `${ns}: the runtime's`);
  }
  t.equal(readlinkSync(`/proc/${c.pid}/root`), rootfs, 'its root is the rootfs (chroot)');
  const mine = hostMountsUnder(rootfs);
  t.ok(mine.some((l) => l.split(' ')[4] === `${rootfs}/proc` && l.includes(' - proc ')), 'its /proc is a mount in our namespace');
  t.ok(mine.every((l) => !/ shared:/.test(l)), 'none of them propagates to other namespaces');
  t.equal(box.ocirun(['start', id]).code, 0);
  const e = box.ocirun(['exec', id, 'sh', '-c', 'ls /bin/busybox && readlink /proc/self/root']);
  t.equal(e.code, 0, e.stderr);
  t.equal(e.stdout, '/bin/busybox\n/\n', 'exec runs in the container\'s root');
  t.equal(box.ocirun(['kill', id, 'KILL']).code, 0);
  t.ok(await until(() => box.state(id)?.status === 'stopped'));
  t.equal(box.ocirun(['delete', id]).code, 0);
  t.same(hostMountsUnder(rootfs).length, before, 'delete took every mount off the rootfs');
});

t.test('no mount namespace: a failed create takes its mounts down too', { skip }, async (t) => {
  const box = new Sandbox(t);
  const rootfs = buildRootfs(join(box.dir, 'rootfs'));
  const config = baseConfig(['true'], rootfs);
  config.linux.namespaces = [{ type: 'pid' }];
  delete config.hostname;
  config.hooks = { createContainer: [{ path: '/bin/false' }] };
  box.writeConfig(config);
  const c = box.create(box.id());
  t.equal(c.code, 1);
  t.same(hostMountsUnder(rootfs), [], 'nothing left mounted');
});

t.test('hostname and domainname are set in a uts namespace joined by path', { skip }, async (t) => {
  const box = new Sandbox(t);
  const holder = run('sh', ['-c', 'unshare --uts sleep 60 >/dev/null 2>&1 & echo $!']);
  const sleeper = Number(holder.stdout.trim());
  t.teardown(() => { run('kill', [String(sleeper)]); });
  t.ok(await until(() => readlinkSync(`/proc/${sleeper}/ns/uts`) !== readlinkSync('/proc/self/ns/uts')), 'a uts namespace of its own');
  const config = baseConfig(['sleep', '60'], join(box.dir, 'rootfs'));
  buildRootfs(join(box.dir, 'rootfs'));
  config.linux.namespaces = config.linux.namespaces.map((n: { type: string }) => (n.type === 'uts' ? { type: 'uts', path: `/proc/${sleeper}/ns/uts` } : n));
  config.hostname = 'joined-name';
  config.domainname = 'joined-domain';
  box.writeConfig(config);
  const ourName = hostname();
  const c = box.create(box.id());
  t.equal(c.code, 0, c.stderr);
  t.equal(readlinkSync(`/proc/${c.pid}/ns/uts`), readlinkSync(`/proc/${sleeper}/ns/uts`), 'joined');
  t.equal(run('nsenter', [`--uts=/proc/${sleeper}/ns/uts`, 'hostname']).stdout, 'joined-name\n', 'the joined namespace has the name');
  t.equal(run('nsenter', [`--uts=/proc/${sleeper}/ns/uts`, 'domainname']).stdout, 'joined-domain\n');
  t.equal(hostname(), ourName, 'ours is untouched');
});

t.test('hostname without any uts namespace is refused: it would be the host\'s', { skip }, async (t) => {
  const box = new Sandbox(t);
  const config = baseConfig(['true'], join(box.dir, 'rootfs'));
  config.linux.namespaces = config.linux.namespaces.filter((n: { type: string }) => n.type !== 'uts');
  box.writeConfig(config);
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 1);
  t.match(c.stderr, /hostname: needs a uts namespace \(new or joined\)/);
});
