// openInRoot (sys/native.ts, native/resolve.c) on a temp dir (no root
// needed), by openat2 where the kernel has it and by the component walk. The
// fd it returns must name a path inside the root whatever symlinks and ".." say.
import t from 'tap';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fdPath } from '../../src/linux/pathsafe.js';
import { type InRootCreate, openInRoot } from '../../src/sys/native.js';
import { close, open } from '../../src/sys/calls.js';
import { O_CLOEXEC, O_DIRECTORY, O_PATH } from '../../src/sys/constants.js';

const outside = realpathSync(mkdtempSync(join(tmpdir(), 'ocirun-outside-')));
const root = realpathSync(mkdtempSync(join(tmpdir(), 'ocirun-root-')));
t.teardown(() => { rmSync(root, { recursive: true, force: true }); rmSync(outside, { recursive: true, force: true }); });
mkdirSync(join(root, 'etc'));
writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
mkdirSync(join(outside, 'etc'));
writeFileSync(join(outside, 'etc/passwd'), 'HOST\n');
symlinkSync('/etc', join(root, 'abs-etc')); // absolute: must restart at the root, not the host's /etc
symlinkSync('../../../../..', join(root, 'up')); // climbs: must stop at the root
symlinkSync(outside, join(root, 'escape'));
symlinkSync('loop-b', join(root, 'loop-a'));
symlinkSync('loop-a', join(root, 'loop-b'));

const rootFd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
t.teardown(() => close(rootFd));

for (const walk of [false, true]) {
  /** Where the fd openInRoot returned really points on the host. */
  function resolved(path: string, create: InRootCreate = 'none'): string {
    const fd = openInRoot(rootFd, path, create, walk);
    try { return readlinkSync(fdPath(fd)); } finally { close(fd); }
  }
  const how = walk ? 'the component walk' : 'openat2 where the kernel has it';
  const tag = walk ? 'walk' : 'auto'; // what each mode makes, apart

  t.test(`"." and empty components are skipped, ".." goes up (${how})`, async (t) => {
    t.equal(resolved('/etc/.//../etc/passwd'), join(root, 'etc/passwd'));
  });

  t.test(`plain paths, and "/" itself (${how})`, async (t) => {
    t.equal(resolved('/etc/passwd'), join(root, 'etc/passwd'));
    t.equal(resolved('etc'), join(root, 'etc'));
    t.equal(resolved('/'), root);
  });

  t.test(`symlinks and ".." never leave the root (${how})`, async (t) => {
    t.equal(resolved('/abs-etc/passwd'), join(root, 'etc/passwd'), 'an absolute link restarts at the root');
    t.equal(resolved('/../../etc/passwd'), join(root, 'etc/passwd'), '".." stops at the root');
    t.equal(resolved('/up/etc'), join(root, 'etc'), 'a link climbing out stops at the root');
    t.throws(() => resolved('/escape/etc/passwd'), { code: 'ENOENT' }, 'a link to a host path is looked up inside the root');
  });

  t.test(`a symlink loop fails with ELOOP; a missing path with ENOENT (${how})`, async (t) => {
    t.throws(() => resolved('/loop-a'), { syscall: 'resolve', code: 'ELOOP', path: '/loop-a' });
    t.throws(() => resolved('/no/such'), { syscall: 'resolve', code: 'ENOENT' });
  });

  t.test(`create: directories on the way, and an empty file at the end, inside the root (${how})`, async (t) => {
    t.equal(resolved(`/abs-etc/new-${tag}/dir`, 'dir'), join(root, `etc/new-${tag}/dir`));
    t.ok(lstatSync(join(root, `etc/new-${tag}/dir`)).isDirectory());
    t.equal(resolved(`/up/made-${tag}/file`, 'file'), join(root, `made-${tag}/file`));
    t.ok(lstatSync(join(root, `made-${tag}/file`)).isFile());
    t.equal(resolved(`/escape/planted-${tag}`, 'dir'), join(root, outside.slice(1), `planted-${tag}`), 'made under the root, never in the host path');
    t.notOk(existsSync(join(outside, `planted-${tag}`)));
    // Existing paths are found, not made again.
    t.equal(resolved(`/made-${tag}/file`, 'file'), join(root, `made-${tag}/file`));
  });
}
