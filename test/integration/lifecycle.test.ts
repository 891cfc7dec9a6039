// The OCI lifecycle on real containers: create → start → kill → delete, run,
// with every status transition checked against what the kernel reports.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, readProcFile, Sandbox, sharedRootfs, SKIP_NOT_ROOT, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

t.test('create leaves the init waiting; start runs the program; status follows', { skip }, async (t) => {
  const box = new Sandbox(t);
  const out = join(box.dir, 'out');
  mkdirSync(out);
  const config = baseConfig(['sh', '-c', 'echo ran > /out/marker; sleep 30'], sharedRootfs());
  config.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
  box.writeConfig(config);
  const id = box.id();

  const created = box.create(id);
  t.equal(created.code, 0, `create succeeds: ${created.stderr}`);
  t.equal(created.stderr, '', 'nothing on stderr on success');
  t.match(readFileSync(join(box.dir, `${id}.pid`), 'utf8'), /^\d+$/, 'pid file: digits only, no newline');
  const st = box.state(id);
  t.equal(st?.status, 'created');
  t.equal(st?.pid, created.pid);
  t.equal(st?.id, id);
  t.equal(st?.bundle, box.bundle);
  t.equal(st?.ociVersion, '1.3.0');
  t.ok(existsSync(`/proc/${created.pid}`), 'the init is alive');
  t.notOk(existsSync(join(out, 'marker')), 'the program has not run before start');

  for (const ns of ['pid', 'net', 'ipc', 'uts', 'mnt']) {
    t.not(readlinkSync(`/proc/${created.pid}/ns/${ns}`), readlinkSync(`/proc/self/ns/${ns}`), `own ${ns} namespace`);
  }
  t.equal(readlinkSync(`/proc/${created.pid}/ns/user`), readlinkSync('/proc/self/ns/user'), 'no user namespace asked, none made');

  const started = box.ocirun(['start', id]);
  t.equal(started.code, 0, `start succeeds: ${started.stderr}`);
  t.ok(await until(() => existsSync(join(out, 'marker'))), 'the program ran after start');
  t.equal(box.state(id)?.status, 'running');
  t.match(readProcFile(created.pid, 'cmdline'), /^sleep\0/, 'the init became the program (same pid)');

  const again = box.ocirun(['start', id]);
  t.equal(again.code, 1);
  t.match(again.stderr, /cannot start an already running container/);

  const refused = box.ocirun(['delete', id]);
  t.equal(refused.code, 1, 'delete of a running container is refused');
  t.match(refused.stderr, new RegExp(`cannot delete container ${id} that is not stopped: running`));
  t.equal(box.state(id)?.status, 'running', 'and it keeps running');

  t.equal(box.ocirun(['kill', id, 'KILL']).code, 0);
  t.ok(await until(() => box.state(id)?.status === 'stopped'), 'stopped after SIGKILL');
  t.equal(box.state(id)?.pid, 0, 'a stopped container reports pid 0');
  const killStopped = box.ocirun(['kill', id, '9']);
  t.equal(killStopped.code, 1);
  t.match(killStopped.stderr, /container not running/);
  t.equal(box.ocirun(['kill', '--all', id, '9']).code, 0, 'kill --all on a stopped container succeeds (the shim relies on it)');

  t.equal(box.ocirun(['delete', id]).code, 0);
  const gone = box.ocirun(['state', id]);
  t.equal(gone.code, 1);
  t.match(gone.stderr, /container does not exist/);
  t.notOk(existsSync(join(box.root, id)), 'state directory removed');
});

t.test('delete of a created container kills its init', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['true'], sharedRootfs()));
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 0, c.stderr);
  t.equal(box.ocirun(['delete', id]).code, 0);
  t.ok(await until(() => !existsSync(`/proc/${c.pid}`) || /\) Z /.test(readProcFile(c.pid, 'stat'))), 'init gone');
});

t.test('kill on a created container by name, SIG-name and number', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  for (const sig of ['TERM', 'SIGINT', '9']) {
    const id = box.id();
    t.equal(box.create(id).code, 0);
    const k = box.ocirun(['kill', id, sig]);
    t.equal(k.code, 0, `kill ${sig}: ${k.stderr}`);
    t.ok(await until(() => box.state(id)?.status === 'stopped'), `stopped after ${sig}`);
    t.equal(box.ocirun(['delete', id]).code, 0);
  }
  const id = box.id();
  t.equal(box.create(id).code, 0);
  const bad = box.ocirun(['kill', id, 'SIGNOPE']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /unknown signal "SIGNOPE"/);
});

t.test('run waits and exits with the container status; stdio passes through', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sh', '-c', 'echo out; echo err >&2; exit 3'], sharedRootfs()));
  const id = box.id();
  const r = box.ocirun(['run', '--bundle', box.bundle, id]);
  t.equal(r.code, 3, 'exit status of the container');
  t.equal(r.stdout, 'out\n');
  t.equal(r.stderr, 'err\n');
  t.equal(box.ocirun(['state', id]).code, 1, 'run deletes the container afterwards');
});

t.test('run reports death by signal as 128+n', { skip }, async (t) => {
  // Without its own pid namespace the shell is not a pid-1 that ignores SIGKILL from itself.
  const config = baseConfig(['sh', '-c', 'kill -KILL $$'], sharedRootfs());
  config.linux.namespaces = config.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  const box = new Sandbox(t, config);
  const r = box.ocirun(['run', '--bundle', box.bundle, box.id()]);
  t.equal(r.code, 137);
});

t.test('a container without a pid namespace entry shares the host pid namespace', { skip }, async (t) => {
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.linux.namespaces = config.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  const box = new Sandbox(t, config);
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 0, c.stderr);
  t.equal(readlinkSync(`/proc/${c.pid}/ns/pid`), readlinkSync('/proc/self/ns/pid'));
  t.equal(box.ocirun(['start', id]).code, 0);
  t.equal(box.ocirun(['kill', '--all', id, 'KILL']).code, 0, 'kill --all finds the processes through the init\'s tree');
  t.ok(await until(() => box.state(id)?.status === 'stopped'));
});

t.test('run --detach leaves a running container', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  const id = box.id();
  const pidFile = join(box.dir, 'p');
  const r = box.detached(['run', '--detach', '--bundle', box.bundle, '--pid-file', pidFile, id], id);
  t.equal(r.code, 0, r.stderr);
  t.equal(box.state(id)?.status, 'running');
  t.equal(box.ocirun(['delete', '--force', id]).code, 0);
  t.equal(box.ocirun(['state', id]).code, 1);
});

t.test('delete --force of an unknown id succeeds; plain delete does not', { skip }, async (t) => {
  const box = new Sandbox(t);
  t.equal(box.ocirun(['delete', '--force', 'no-such-id']).code, 0);
  const r = box.ocirun(['delete', 'no-such-id']);
  t.equal(r.code, 1);
  t.match(r.stderr, /container does not exist/);
});

t.test('list shows containers in table and json form', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  const empty = box.ocirun(['list', '--format', 'json']);
  t.equal(empty.stdout, 'null\n', 'runc prints null for none');
  const id = box.id();
  const c = box.create(id);
  const table = box.ocirun(['list']);
  t.match(table.stdout, /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\n/);
  t.match(table.stdout, new RegExp(`${id}\\s+${c.pid}\\s+created\\s+${box.bundle}`));
  const json = JSON.parse(box.ocirun(['list', '--format', 'json']).stdout);
  t.equal(json[0].id, id);
  t.equal(json[0].status, 'created');
  t.equal(box.ocirun(['list', '-q']).stdout, `${id}\n`);
});

t.test('--log with --log-format json writes runc-shaped error lines', { skip }, async (t) => {
  const box = new Sandbox(t);
  const log = join(box.dir, 'log.json');
  const r = box.ocirun(['--log', log, '--log-format', 'json', 'state', 'nope']);
  t.equal(r.code, 1);
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const last = lines.at(-1);
  t.equal(last.level, 'error');
  t.equal(last.msg, 'container does not exist');
  t.match(last.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});
