// A new network namespace has "lo" up, as runc leaves it: 127.0.0.1 works
// for the container's init and for exec'd processes; a joined network
// namespace is left as it is.
import t from 'tap';
import { baseConfig, run, Sandbox, sharedRootfs, SKIP_NOT_ROOT, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

/** "lo" flags as `ip` reports them from inside the namespace of pid. */
function loFlags(pid: number): string {
  const r = run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-o', 'link', 'show', 'lo']);
  return /<([^>]*)>/.exec(r.stdout)?.[1] ?? `(ip failed: ${r.stderr})`;
}

t.test('lo is up in a new network namespace, as the kernel reports it', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '60'], sharedRootfs()));
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 0, c.stderr);
  t.match(loFlags(c.pid), /\bUP\b/, 'UP already while created');
  t.match(loFlags(c.pid), /\bLOWER_UP\b/, 'and running');
});

t.test('a server on 127.0.0.1 in the init answers an exec\'d client', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['httpd', '-f', '-p', '127.0.0.1:8080', '-h', '/etc'], sharedRootfs()));
  const id = box.id();
  t.equal(box.create(id).code, 0);
  t.equal(box.ocirun(['start', id]).code, 0);
  let r = box.ocirun(['exec', id, 'wget', '-q', '-O', '-', 'http://127.0.0.1:8080/passwd']);
  // httpd may need a moment to listen.
  await until(() => (r = box.ocirun(['exec', id, 'wget', '-q', '-O', '-', 'http://127.0.0.1:8080/passwd'])).code === 0, 5000);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^root:x:0:0:/, 'served over loopback');
});

t.test('a joined network namespace keeps its own lo state', { skip }, async (t) => {
  // A network namespace someone else made (lo down), held by a sleeping process.
  const box = new Sandbox(t);
  const holder = run('sh', ['-c', 'unshare --net sleep 60 >/dev/null 2>&1 & echo $!']);
  const sleeper = Number(holder.stdout.trim());
  t.teardown(() => { run('kill', [String(sleeper)]); });
  t.ok(await until(() => loFlags(sleeper).includes('LOOPBACK') && run('readlink', [`/proc/${sleeper}/ns/net`]).stdout !== run('readlink', ['/proc/self/ns/net']).stdout), 'a process in its own network namespace');
  const config = baseConfig(['sleep', '60'], sharedRootfs());
  config.linux.namespaces = config.linux.namespaces.map((n: { type: string }) => (n.type === 'network' ? { type: 'network', path: `/proc/${sleeper}/ns/net` } : n));
  box.writeConfig(config);
  const c = box.create(box.id());
  t.equal(c.code, 0, c.stderr);
  t.notMatch(loFlags(c.pid), /\bUP\b/, 'lo stays down: not ours to change');
});
