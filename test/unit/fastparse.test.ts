import t from 'tap';
import { fastParse } from '../../src/cli/fastparse.js';

t.test('the shim\'s invocations parse without yargs', async (t) => {
  const a = fastParse(['--root', '/run/containerd/runc/default', '--log', '/b/log.json', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/b/init.pid', 'c1']);
  t.ok(a);
  t.equal(a?.command, 'create');
  t.equal(a?.globals.root, '/run/containerd/runc/default');
  t.equal(a?.globals['log-format'], 'json');
  t.equal(a?.options.bundle, '/b');
  t.equal(a?.options['pid-file'], '/b/init.pid');
  t.equal(a?.positionals['container-id'], 'c1');
  const k = fastParse(['kill', '--all', 'c1', '9']);
  t.equal(k?.options.all, true);
  t.equal(k?.positionals.signal, '9');
  t.equal(fastParse(['delete', '-f', 'c1'])?.options.force, true);
  t.equal(fastParse(['create', '--preserve-fds=2', 'c1'])?.options['preserve-fds'], 2);
  t.equal(fastParse(['--criu', '/usr/sbin/criu', 'start', 'c1'])?.command, 'start');
});

t.test('anything unusual goes to yargs', async (t) => {
  t.equal(fastParse(['--help']), null);
  t.equal(fastParse(['state']), null, 'missing id');
  t.equal(fastParse(['state', 'a', 'b']), null, 'too many arguments');
  t.equal(fastParse(['create', '--bogus', 'c1']), null, 'unknown flag');
  t.equal(fastParse(['frobnicate']), null, 'unknown command');
  t.equal(fastParse(['create', '--preserve-fds', 'x', 'c1']), null, 'bad number');
  t.equal(fastParse(['create', '--bundle']), null, 'flag without value');
});

t.test('defaults are filled in', async (t) => {
  const a = fastParse(['list']);
  t.equal(a?.options.format, 'table');
  t.equal(a?.options.quiet, false);
  t.equal(a?.globals['log-format'], 'text');
});
