// HOME when process.env has none (runc's rule): the home of the process's
// uid in the /etc/passwd the process sees, "/" without an entry; for the
// init and for exec. The process itself reports what it got.
import t, { type Test } from 'tap';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, buildRootfs, type Config, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

function noHome(args: string[], uid: number, rootfs = sharedRootfs()): Config {
  const c = baseConfig(args, rootfs);
  c.process.env = c.process.env.filter((e: string) => !e.startsWith('HOME='));
  c.process.user = { uid, gid: uid };
  return c;
}

function runHome(t: Test, config: Config, resolve: 'auto' | 'walk' = 'auto'): string {
  const box = new Sandbox(t, config);
  // walk: the component walk even where the kernel has openat2 (native/resolve.c).
  const r = box.ocirun(['run', '--bundle', box.bundle, box.id()], { env: { ...process.env, _OCIRUN_RESOLVE: resolve === 'walk' ? 'walk' : '' } });
  t.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const PRINT = ['sh', '-c', 'echo "HOME=$HOME"'];

t.test('the init gets HOME from the image\'s /etc/passwd, "/" for a uid it does not list', { skip }, async (t) => {
  t.equal(runHome(t, noHome(PRINT, 0)), 'HOME=/root\n', 'root: its passwd entry');
  t.equal(runHome(t, noHome(PRINT, 1000)), 'HOME=/\n', 'uid 1000 is not in the image\'s passwd');
  const given = noHome(PRINT, 0);
  given.process.env.push('HOME=/given');
  t.equal(runHome(t, given), 'HOME=/given\n', 'a HOME in process.env is kept');
});

t.test('a bind-mounted /etc/passwd (as podman does) is the one read, and so is a bound /etc', { skip }, async (t) => {
  const box = new Sandbox(t);
  const file = join(box.dir, 'passwd');
  writeFileSync(file, 'root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n');
  const c = noHome(PRINT, 1000);
  c.mounts.push({ destination: '/etc/passwd', type: 'bind', source: file, options: ['rbind', 'ro'] });
  t.equal(runHome(t, c), 'HOME=/home/u\n', 'from the bound file');

  const etc = join(box.dir, 'etc');
  mkdirSync(etc);
  writeFileSync(join(etc, 'passwd'), 'v:x:1000:1000::/home/v:/bin/sh\n');
  const d = noHome(PRINT, 1000);
  d.mounts.push({ destination: '/etc', type: 'bind', source: etc, options: ['rbind', 'ro'] });
  t.equal(runHome(t, d), 'HOME=/home/v\n', 'from passwd in the bound /etc');

  const e = noHome(PRINT, 0);
  e.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs' });
  t.equal(runHome(t, e), 'HOME=/\n', 'a tmpfs on /etc has no passwd');
});

for (const resolve of ['auto', 'walk'] as const) {
  t.test(`a symlinked /etc/passwd resolves inside the rootfs, never on the host (${resolve === 'auto' ? 'openat2 where the kernel has it' : 'the component walk'})`, { skip }, async (t) => {
    const box = new Sandbox(t);
    const rootfs = buildRootfs(join(box.dir, 'rootfs'));
    rmSync(join(rootfs, 'etc/passwd'));
    writeFileSync(join(rootfs, 'etc/passwd.image'), 'root:x:0:0:root:/image-root:/bin/sh\n');
    // Absolute and escaping: the host's /etc/passwd.image does not exist, the image's does.
    symlinkSync('/../../../../etc/passwd.image', join(rootfs, 'etc/passwd'));
    t.equal(runHome(t, noHome(PRINT, 0, rootfs), resolve), 'HOME=/image-root\n');
    rmSync(join(rootfs, 'etc/passwd'));
    // Pointing at the host's own passwd by an absolute path: read in the rootfs, where root's home is /root.
    writeFileSync(join(rootfs, 'etc/host-like'), 'root:x:0:0:root:/inside:/bin/sh\n');
    symlinkSync('/etc/host-like', join(rootfs, 'etc/passwd'));
    t.equal(runHome(t, noHome(PRINT, 0, rootfs), resolve), 'HOME=/inside\n');
    rmSync(join(rootfs, 'etc/passwd'));
    // A relative link climbing out: ".." stops at the rootfs.
    symlinkSync('../../../../../etc/host-like', join(rootfs, 'etc/passwd'));
    t.equal(runHome(t, noHome(PRINT, 0, rootfs), resolve), 'HOME=/inside\n');
  });
}

t.test('exec gets HOME from the running container\'s view of /etc/passwd', { skip }, async (t) => {
  const box = new Sandbox(t);
  const file = join(box.dir, 'passwd');
  writeFileSync(file, 'root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n');
  const c = noHome(['sleep', '60'], 0);
  c.mounts.push({ destination: '/etc/passwd', type: 'bind', source: file, options: ['rbind', 'ro'] });
  box.writeConfig(c);
  const id = box.id();
  t.equal(box.create(id).code, 0);
  t.equal(box.ocirun(['start', id]).code, 0);
  let r = box.ocirun(['exec', id, ...PRINT]);
  t.equal(r.stdout, 'HOME=/root\n', 'root');
  r = box.ocirun(['exec', '--user', '1000:1000', id, ...PRINT]);
  t.equal(r.stdout, 'HOME=/home/u\n', 'uid 1000 from the bound passwd');
  r = box.ocirun(['exec', '--user', '1234', id, ...PRINT]);
  t.equal(r.stdout, 'HOME=/\n', 'an unknown uid');
  r = box.ocirun(['exec', '--env', 'HOME=/mine', id, ...PRINT]);
  t.equal(r.stdout, 'HOME=/mine\n', 'an explicit HOME wins');
});
