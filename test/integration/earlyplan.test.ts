// create builds the init's plan while the init is forked (container/earlyplan.ts)
// when its guess of the init's cgroups holds, else once the pid came: either way
// the container's cgroup mounts bind its own cgroups (what the guess was about).
import t from 'tap';
import { existsSync } from 'node:fs';
import { baseConfig, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';

const V1 = existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');

function config(hooks: boolean): Record<string, any> {
  // The container reads its memory limit through its own /sys/fs/cgroup (v1: a bind of its cgroup; v2: its cgroup2 mount).
  const c = baseConfig(['sh', '-c', V1 ? 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes' : 'cat /sys/fs/cgroup/memory.max'], sharedRootfs());
  c.linux.resources = { ...(c.linux.resources ?? {}), memory: { limit: 96 * 1024 * 1024 } };
  if (!c.mounts.some((m: { type?: string }) => m.type === 'cgroup')) c.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
  if (hooks) c.hooks = { createContainer: [{ path: '/bin/true' }] };
  return c;
}

t.test('built while the init forks, or once its pid came: the container sees its own cgroup either way', { skip: SKIP_NOT_ROOT }, async (t) => {
  for (const [hooks, how] of [[false, 'built while the init was forked'], [true, 'built now']] as const) {
    const box = new Sandbox(t, config(hooks));
    const r = box.ocirun(['--debug', 'run', '--bundle', box.bundle, box.id('early')]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, `init plan: ${how}`, hooks ? 'a createContainer hook needs the pid before the last op: built then' : 'built early');
    t.equal(r.stdout.trim(), String(96 * 1024 * 1024), `${how}: the container reads its own memory limit`);
  }
});
