// Idmapped mounts (runtime spec: mounts[].uidMappings/gidMappings, and the
// "idmap"/"ridmap" options): a bind mount whose files belong to host uid 0
// shows the mapped owner inside a user-namespaced container, and what the
// container writes through it lands on disk with the ids the mapping says.
import t from 'tap';
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, Sandbox, SKIP_NOT_ROOT, sharedRootfs, type Tap } from '../helpers.js';

const skip = SKIP_NOT_ROOT;
const MAP = [{ containerID: 0, hostID: 100000, size: 65536 }];

/** A userns container (root → host 100000) with a host dir holding a root-owned file. */
function setUp(t: Tap, args: string[]) {
  const config = baseConfig(args, sharedRootfs());
  config.linux.namespaces.push({ type: 'user' });
  config.linux.uidMappings = MAP;
  config.linux.gidMappings = MAP;
  const box = new Sandbox(t, config);
  // The plain bind is made by the init, as the container's root (host uid 100000): it must reach the source.
  chmodSync(box.dir, 0o755);
  const data = join(box.dir, 'data');
  mkdirSync(data);
  writeFileSync(join(data, 'f'), 'x');
  chownSync(join(data, 'f'), 0, 0);
  return { box, config, data };
}

t.test('an idmapped bind shows host root files as the container root; writes land mapped back', { skip }, async (t) => {
  const { box, config, data } = setUp(t, ['sh', '-c', 'stat -c "%u %g" /var/f /root/f; touch /var/new && echo wrote']);
  config.mounts.push({ destination: '/var', type: 'bind', source: data, options: ['bind', 'rw'], uidMappings: MAP, gidMappings: MAP });
  config.mounts.push({ destination: '/root', type: 'bind', source: data, options: ['bind', 'ro'] });
  box.writeConfig(config);
  const r = box.ocirun(['run', '--bundle', box.bundle, box.id()]);
  t.equal(r.code, 0, `run: ${r.stderr.trim()}`);
  t.same(r.stdout.trim().split('\n'), ['0 0', '65534 65534', 'wrote'], 'mapped through the mount: 0; a plain bind: unmapped (nobody)');
  const st = statSync(join(data, 'new'));
  t.same([st.uid, st.gid], [0, 0], 'the container root\'s new file is host uid/gid 0 on disk');
});

t.test('"idmap" without maps of its own takes the container\'s user namespace maps', { skip }, async (t) => {
  const { box, config, data } = setUp(t, ['stat', '-c', '%u', '/var/f']);
  config.mounts.push({ destination: '/var', type: 'bind', source: data, options: ['rbind', 'idmap'] });
  box.writeConfig(config);
  const r = box.ocirun(['run', '--bundle', box.bundle, box.id()]);
  t.equal(r.code, 0, `run: ${r.stderr.trim()}`);
  t.equal(r.stdout.trim(), '0', 'owner seen as 0');
});

t.test('what cannot be idmapped is refused, naming the mount, leaving nothing', { skip }, async (t) => {
  const cases: { name: string; mount: Record<string, unknown>; userns: boolean; message: RegExp }[] = [
    { name: 'not a bind mount', mount: { destination: '/var', type: 'tmpfs', source: 'tmpfs', uidMappings: MAP, gidMappings: MAP }, userns: true, message: /mounts\[6\]: an idmapped mount must be a bind mount/ },
    { name: 'idmap with nothing to take the maps from', mount: { destination: '/var', type: 'bind', source: '/tmp', options: ['bind', 'idmap'] }, userns: false, message: /mounts\[6\]\.options: "idmap" needs uidMappings and gidMappings/ },
  ];
  for (const k of cases) {
    const config = baseConfig(['true'], sharedRootfs());
    if (k.userns) {
      config.linux.namespaces.push({ type: 'user' });
      config.linux.uidMappings = MAP;
      config.linux.gidMappings = MAP;
    }
    config.mounts.push(k.mount);
    const box = new Sandbox(t, config);
    const r = box.create(box.id());
    t.not(r.code, 0, `${k.name}: create fails`);
    t.match(r.stderr, k.message, `${k.name}: ${r.stderr.trim()}`);
  }
});

t.test('features reports idmapped mounts from the kernel', { skip }, async (t) => {
  const box = new Sandbox(t);
  const f = JSON.parse(box.ocirun(['features']).stdout);
  t.equal(f.linux.mountExtensions.idmap.enabled, true, 'this kernel (6.x) has mount_setattr');
});
