// OCI hooks: every kind, in the spec's order and namespaces, with the state
// on stdin; and what each kind's failure does.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, type Config, processGone, Sandbox, sharedRootfs, SKIP_NOT_ROOT, type Tap, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

/** A hook that appends "<kind> <mnt ns> <state json>" to log. */
function recorder(kind: string, log: string): { path: string; args: string[] } {
  return { path: '/bin/sh', args: ['sh', '-c', `echo "${kind} $(readlink /proc/self/ns/mnt) $(cat)" >> ${log}`] };
}

function withHooks(t: Tap, hooks: Record<string, unknown>): { box: Sandbox; dir: string; config: Config } {
  const box = new Sandbox(t);
  const dir = join(box.dir, 'hooklog');
  mkdirSync(dir);
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.mounts.push({ destination: '/hooks', type: 'bind', source: dir, options: ['rbind', 'rw'] });
  config.hooks = hooks;
  box.writeConfig(config);
  return { box, dir, config };
}


t.test('all six hook kinds run in order, in their namespaces, with the state on stdin', { skip }, async (t) => {
  const box0 = new Sandbox(t);
  const dir = join(box0.dir, 'hooklog');
  mkdirSync(dir);
  const log = join(dir, 'log');
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.mounts.push({ destination: '/hooks', type: 'bind', source: dir, options: ['rbind', 'rw'] });
  config.annotations = { 'org.example/hooks': 'yes' };
  config.hooks = {
    prestart: [recorder('prestart', log)],
    createRuntime: [recorder('createRuntime', log)],
    createContainer: [recorder('createContainer', log)],
    startContainer: [recorder('startContainer', '/hooks/log')],
    poststart: [recorder('poststart', log)],
    poststop: [recorder('poststop', log)],
  };
  box0.writeConfig(config);
  const id = box0.id();
  const c = box0.create(id);
  t.equal(c.code, 0, c.stderr);
  const containerMnt = readlinkSync(`/proc/${c.pid}/ns/mnt`);
  const hostMnt = readlinkSync('/proc/self/ns/mnt');
  t.equal(box0.ocirun(['start', id]).code, 0);
  t.equal(box0.ocirun(['kill', id, 'KILL']).code, 0);
  t.ok(await until(() => box0.state(id)?.status === 'stopped'));
  t.equal(box0.ocirun(['delete', id]).code, 0);

  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => {
    const [kind, ns, ...json] = l.split(' ');
    return { kind, ns, state: JSON.parse(json.join(' ')) };
  });
  t.same(lines.map((l) => l.kind), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'], 'order');
  // runtime.md: "created" is everything after lifecycle step 2 until the program runs (README, Hooks).
  t.same(lines.map((l) => l.state.status), ['created', 'created', 'created', 'created', 'running', 'stopped'], 'status on stdin');
  const byKind = Object.fromEntries(lines.map((l) => [l.kind, l]));
  for (const k of ['prestart', 'createRuntime', 'poststart', 'poststop']) t.equal(byKind[k]?.ns, hostMnt, `${k} runs in the runtime's mount namespace`);
  for (const k of ['createContainer', 'startContainer']) t.equal(byKind[k]?.ns, containerMnt, `${k} runs in the container's mount namespace`);
  for (const k of ['createRuntime', 'createContainer', 'startContainer', 'poststart']) {
    t.equal(byKind[k]?.state.pid, c.pid, `${k} gets the container pid`);
    t.equal(byKind[k]?.state.id, id);
    t.equal(byKind[k]?.state.bundle, box0.bundle);
    t.same(byKind[k]?.state.annotations, { 'org.example/hooks': 'yes' });
  }
});

t.test('a failing prestart, createRuntime or createContainer hook fails create, leaves nothing, and runs poststop', { skip }, async (t) => {
  for (const kind of ['prestart', 'createRuntime', 'createContainer']) {
    const box0 = new Sandbox(t);
    const log = join(box0.dir, 'poststop.log');
    const { box } = withHooks(t, {
      [kind]: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }],
      poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat >> ${log}; echo >> ${log}`] }, { path: '/bin/sh', args: ['sh', '-c', 'exit 9'] }],
    });
    const id = box.id();
    const c = box.create(id);
    t.equal(c.code, 1, `${kind}: create fails`);
    t.match(c.stderr, new RegExp(`${kind} hook #0 \\(/bin/sh\\): exited with status 3`));
    t.match(c.stderr, /warning: poststop hook #1 \(\/bin\/sh\): exited with status 9/, `${kind}: a failing poststop hook only warns`);
    t.notOk(existsSync(join(box.root, id)), `${kind}: no state left`);
    const states = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    t.equal(states.length, 1, `${kind}: poststop ran once (lifecycle step 13)`);
    t.equal(states[0]?.status, 'stopped');
    t.equal(states[0]?.id, id);
  }
});

t.test('a failure that is not a hook\'s does not run poststop', { skip }, async (t) => {
  const box0 = new Sandbox(t);
  const log = join(box0.dir, 'poststop.log');
  const { box, config } = withHooks(t, { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat >> ${log}`] }] });
  config.process.cwd = '/etc/passwd/not-a-dir';
  box.writeConfig(config);
  t.equal(box.create(box.id()).code, 1);
  t.notOk(existsSync(log), 'no poststop hook ran');
});

t.test('a hook that outlives its timeout is killed and fails create', { skip }, async (t) => {
  const { box } = withHooks(t, { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] });
  const started = Date.now();
  const c = box.create(box.id());
  t.equal(c.code, 1);
  t.match(c.stderr, /createRuntime hook #0 \(\/bin\/sleep\): timed out after 1s/);
  t.ok(Date.now() - started < 15_000, 'did not wait for the hook to finish');
});

t.test('hook env and args are passed as given', { skip }, async (t) => {
  const box = new Sandbox(t);
  const out = join(box.dir, 'env');
  const config = baseConfig(['true'], sharedRootfs());
  config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['myname', '-c', `echo "$0 $1 $FOO" > ${out}`, 'zero', 'one'], env: ['FOO=bar'] }] };
  box.writeConfig(config);
  t.equal(box.create(box.id()).code, 0);
  t.equal(readFileSync(out, 'utf8'), 'zero one bar\n', 'sh -c puts the first extra argument in $0');
});

t.test('a failing startContainer hook fails start and stops the container', { skip }, async (t) => {
  const { box } = withHooks(t, { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 4'] }] });
  const id = box.id();
  t.equal(box.create(id).code, 0);
  const s = box.ocirun(['start', id]);
  t.equal(s.code, 1);
  t.match(s.stderr, /startContainer hook #0 \(\/bin\/sh\): exited with status 4/);
  t.ok(await until(() => box.state(id)?.status === 'stopped'), 'the container is stopped');
});

t.test('a failing poststart hook fails start and stops the container; delete then runs poststop, which only warns', { skip }, async (t) => {
  const { box } = withHooks(t, {
    poststart: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 5'] }],
    poststop: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 6'] }],
  });
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 0);
  const s = box.ocirun(['start', id]);
  t.equal(s.code, 1, 'start fails (runtime.md lifecycle step 9)');
  t.match(s.stderr, /poststart hook #0 \(\/bin\/sh\): exited with status 5/);
  t.equal(box.state(id)?.status, 'stopped', 'the container is stopped when start returns');
  t.ok(processGone(c.pid), 'its process is gone');
  const d = box.ocirun(['delete', id]);
  t.equal(d.code, 0, 'delete succeeds');
  t.match(d.stderr, /warning: poststop hook #0 \(\/bin\/sh\): exited with status 6/);
  t.equal(box.ocirun(['state', id]).code, 1);
});

t.test('a startContainer hook gets the state on stdin, runs as the process user, and is killed at its timeout', { skip }, async (t) => {
  const { box, config } = withHooks(t, {
    startContainer: [
      { path: '/bin/sh', args: ['sh', '-c', 'echo "$(id -u) $(cat)" > /hooks/start'] },
      { path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 },
    ],
  });
  config.process.user = { uid: 1000, gid: 1000 };
  box.writeConfig(config);
  chmodSync(join(box.dir, 'hooklog'), 0o777); // the hook writes there as uid 1000
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 0, c.stderr);
  const started = Date.now();
  const s = box.ocirun(['start', id]);
  t.equal(s.code, 1);
  t.match(s.stderr, /startContainer hook #1 \(\/bin\/sleep\): timed out after 1s/);
  t.ok(Date.now() - started < 10_000, 'did not wait for the hook to finish');
  const [uid, ...json] = readFileSync(join(box.dir, 'hooklog/start'), 'utf8').trim().split(' ');
  t.equal(uid, '1000', 'as the container process user');
  const state = JSON.parse(json.join(' '));
  t.equal(state.status, 'created');
  t.equal(state.pid, c.pid);
  t.ok(await until(() => box.state(id)?.status === 'stopped'), 'the container is stopped');
});

t.test('state says "creating" while create is still running', { skip }, async (t) => {
  const box = new Sandbox(t);
  const out = join(box.dir, 'state-during-create.json');
  const id = box.id();
  const config = baseConfig(['true'], sharedRootfs());
  // The createRuntime hook runs inside create: ask the runtime for the state right then.
  const ocirun = join(process.cwd(), 'bin/ocirun');
  config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `${ocirun} --root ${box.root} state ${id} > ${out}`] }] };
  box.writeConfig(config);
  t.equal(box.create(id).code, 0);
  const during = JSON.parse(readFileSync(out, 'utf8'));
  t.equal(during.status, 'creating', 'creating while the hooks of create run');
  t.equal(box.state(id)?.status, 'created', 'created once create returned');
});
