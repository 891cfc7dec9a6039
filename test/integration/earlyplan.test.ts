// create builds the init's plan while stage 1 forks the init, from the
// cgroups the init is to be in, when nothing in the plan needs the init's
// pid (no createContainer or startContainer hook, no seccomp agent); once
// the pid comes, the kernel's /proc/<pid>/cgroup must say the same, or the
// plan is built again (src/container/create.ts). The cgroup mount of a
// container without a cgroup namespace is what depends on those lines: one
// bind per v1 hierarchy, of the init's own cgroup. Checked through the
// kernel: the container's mountinfo roots of those binds, with and without
// the early plan, and the --debug lines saying which path create took.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { baseConfig, type Config, Sandbox, sharedRootfs, SKIP_NOT_ROOT, type TapAsserts } from '../helpers.js';
import { parseCgroupMounts } from '../../src/linux/cgroups/hierarchy.js';

const V1 = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')).v1;
const skip = SKIP_NOT_ROOT || (V1.length === 0 ? 'no cgroup v1 hierarchy: the cgroup mount is not made of binds' : false);

/** A container without a cgroup namespace, with runc's cgroup mount, printing its mountinfo. */
function withCgroupMount(rootfs: string, hooks?: Config): Config {
  const c = baseConfig(['cat', '/proc/self/mountinfo'], rootfs);
  c.mounts = [...(c.mounts as unknown[]), { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] }];
  if (hooks) c.hooks = hooks;
  return c;
}

/** The root (the cgroup bound there) of each mount below /sys/fs/cgroup/, by its directory name. */
function cgroupBinds(mountinfo: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const point = f[4] ?? '';
    if (point.startsWith('/sys/fs/cgroup/')) out.set(point.slice('/sys/fs/cgroup/'.length), f[3] ?? '');
  }
  return out;
}

function checkBinds(t: TapAsserts, out: string, id: string): void {
  const binds = cgroupBinds(out);
  t.equal(binds.size, V1.length, `one bind per v1 hierarchy (${[...binds.keys()].join(' ')})`);
  for (const [dir, root] of binds) t.ok(root.endsWith(`/${id}`), `/sys/fs/cgroup/${dir} is the container's own cgroup (${root})`);
}

t.test('no hook: the plan is built while the init forks, and its cgroup binds are the init\'s cgroups', { skip }, async (t) => {
  const box = new Sandbox(t, withCgroupMount(sharedRootfs()));
  const id = box.id('early');
  const r = box.ocirun(['--debug', 'run', '--bundle', box.bundle, id]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /plan built while the init forks/, 'create took the early path');
  t.notMatch(r.stderr, /planned again/, 'the kernel put the init where the plan assumed');
  checkBinds(t, r.stdout, id);
});

t.test('a createContainer hook needs the pid: the plan is built once the init exists, with the same binds', { skip }, async (t) => {
  const box = new Sandbox(t, withCgroupMount(sharedRootfs(), { createContainer: [{ path: '/bin/true' }] }));
  const id = box.id('late');
  const r = box.ocirun(['--debug', 'run', '--bundle', box.bundle, id]);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, /plan built while the init forks/, 'no early plan');
  checkBinds(t, r.stdout, id);
});
