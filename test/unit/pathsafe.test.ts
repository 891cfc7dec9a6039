// linux/pathsafe.ts: resolveInRoot on a temp dir (no root needed). The fd it
// returns must name a path inside the root whatever symlinks and ".." say.
import t from 'tap';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fdPath, pathComponents, resolveInRoot } from '../../src/linux/pathsafe.js';
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

/** Where the fd resolveInRoot returned really points on the host. */
function resolved(path: string, create: 'dir' | 'file' | 'none' = 'none'): string {
  const fd = resolveInRoot(rootFd, path, create);
  try { return readlinkSync(fdPath(fd)); } finally { close(fd); }
}

t.test('path components keep ".." for the walk and drop "." and empty ones', async (t) => {
  t.same(pathComponents('/a//./b/../c/'), ['a', 'b', '..', 'c']);
  t.same(pathComponents('/'), []);
});

t.test('plain paths, and "/" itself', async (t) => {
  t.equal(resolved('/etc/passwd'), join(root, 'etc/passwd'));
  t.equal(resolved('etc'), join(root, 'etc'));
  t.equal(resolved('/'), root);
});

t.test('symlinks and ".." never leave the root', async (t) => {
  t.equal(resolved('/abs-etc/passwd'), join(root, 'etc/passwd'), 'an absolute link restarts at the root');
  t.equal(resolved('/../../etc/passwd'), join(root, 'etc/passwd'), '".." stops at the root');
  t.equal(resolved('/up/etc'), join(root, 'etc'), 'a link climbing out stops at the root');
  t.throws(() => resolved('/escape/etc/passwd'), { code: 'ENOENT' }, 'a link to a host path is looked up inside the root');
});

t.test('a symlink loop fails with ELOOP; a missing path with ENOENT', async (t) => {
  t.throws(() => resolved('/loop-a'), { syscall: 'resolve', code: 'ELOOP', path: '/loop-a' });
  t.throws(() => resolved('/no/such'), { syscall: 'resolve', code: 'ENOENT' });
});

t.test('create: directories on the way, and an empty file at the end, inside the root', async (t) => {
  t.equal(resolved('/abs-etc/new/dir', 'dir'), join(root, 'etc/new/dir'));
  t.ok(lstatSync(join(root, 'etc/new/dir')).isDirectory());
  t.equal(resolved('/up/made/file', 'file'), join(root, 'made/file'));
  t.ok(lstatSync(join(root, 'made/file')).isFile());
  t.equal(resolved('/escape/planted', 'dir'), join(root, outside.slice(1), 'planted'), 'made under the root, never in the host path');
  t.notOk(existsSync(join(outside, 'planted')));
  // Existing paths are found, not made again.
  t.equal(resolved('/made/file', 'file'), join(root, 'made/file'));
});
