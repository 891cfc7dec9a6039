// Failures of the final process setup (user and groups, the user's cwd,
// capabilities, seccomp) are the error of `create`, as with runc: only the
// execve (and a filter that goes with no_new_privs) follows `start`.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, type Config, Sandbox, sharedRootfs, SKIP_NOT_ROOT, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

/** A cwd that uid 1000 may not enter: a tmpfs of mode 0700 owned by root. */
function privateCwdConfig(): Config {
  const c = baseConfig(['true'], sharedRootfs());
  c.process.user = { uid: 1000, gid: 1000 };
  c.process.cwd = '/private';
  c.mounts.push({ destination: '/private', type: 'tmpfs', source: 'tmpfs', options: ['mode=700'] });
  return c;
}

t.test('a cwd the user cannot enter fails create, naming the step, and leaves nothing', { skip }, async (t) => {
  const box = new Sandbox(t, privateCwdConfig());
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 1, 'create fails');
  t.match(c.stderr, /chdir.*EACCES/, c.stderr);
  t.notOk(existsSync(join(box.root, id)), 'no state left');
  t.equal(c.pid, 0, 'no pid file');
});

t.test('setgroups refused by the kernel fails create', { skip }, async (t) => {
  const c = baseConfig(['true'], sharedRootfs());
  // More than NGROUPS_MAX (65536): setgroups(2) says EINVAL.
  c.process.user = { uid: 0, gid: 0, additionalGids: Array.from({ length: 65537 }, (_, i) => i + 1) };
  const box = new Sandbox(t, c);
  const id = box.id();
  const r = box.create(id);
  t.equal(r.code, 1, 'create fails');
  t.match(r.stderr, /setgroups.*EINVAL/, r.stderr);
  t.notOk(existsSync(join(box.root, id)), 'no state left');
});

t.test('exec: the same failure comes back from exec, before any process counts as started', { skip }, async (t) => {
  const c = privateCwdConfig();
  c.process.user = { uid: 0, gid: 0 };
  c.process.args = ['sleep', '60'];
  const box = new Sandbox(t, c);
  const id = box.id();
  t.equal(box.create(id).code, 0);
  t.equal(box.ocirun(['start', id]).code, 0);
  const pidFile = join(box.dir, 'exec.pid');
  const r = box.detached(['exec', '--detach', '--pid-file', pidFile, '--user', '1000:1000', '--cwd', '/private', id, 'true'], 'exec');
  t.not(r.code, 0, 'exec fails');
  t.match(r.stderr, /chdir.*EACCES/, r.stderr);
  t.notOk(existsSync(pidFile), 'no pid file for a process that never started');
});

t.test('a created container waits in its final identity: uid, gid and capabilities are already set', { skip }, async (t) => {
  const c = baseConfig(['true'], sharedRootfs());
  c.process.user = { uid: 1000, gid: 1000, additionalGids: [44] };
  const box = new Sandbox(t, c);
  const id = box.id();
  const r = box.create(id);
  t.equal(r.code, 0, r.stderr);
  const status = await import('node:fs').then((fs) => fs.readFileSync(`/proc/${r.pid}/status`, 'utf8'));
  t.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, 'uid 1000 before start');
  t.match(status, /^Gid:\s+1000\s+1000\s+1000\s+1000$/m, 'gid 1000 before start');
  t.match(status, /^Groups:\s+44\s*$/m, 'supplementary groups');
  t.match(status, /^CapBnd:\s+0+20000420$/m, 'bounding set: the config\'s (KILL, AUDIT_WRITE, NET_BIND_SERVICE)');
  t.equal(box.ocirun(['kill', id, 'TERM']).code, 0, 'SIGTERM still ends a created container');
  t.ok(await until(() => box.state(id)?.status === 'stopped'), 'stopped');
});
