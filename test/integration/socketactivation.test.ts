// Socket activation: LISTEN_FDS meant for us (LISTEN_PID) passes fds 3.. on
// first, sets LISTEN_FDS/LISTEN_PID=1 in the container, and --preserve-fds
// adds its fds after them; nothing else leaks.
import t from 'tap';
import { openSync } from 'node:fs';
import { baseConfig, OCIRUN, run, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';

t.test('LISTEN_FDS and --preserve-fds pass exactly their fds', { skip: SKIP_NOT_ROOT }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sh', '-c', 'echo "$LISTEN_FDS $LISTEN_PID"; ls /proc/$$/fd | tr "\\n" " "'], sharedRootfs()));
  const fds = [openSync('/etc/hostname', 'r'), openSync('/etc/hostname', 'r'), openSync('/etc/hostname', 'r'), openSync('/etc/hostname', 'r')];
  // bash execs ocirun, so LISTEN_PID is ocirun's own pid, as systemd would set it.
  const script = `export LISTEN_FDS=2 LISTEN_PID=$$; exec ${OCIRUN} --root ${box.root} run --preserve-fds 1 --bundle ${box.bundle} ${box.id()}`;
  const r = run('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe', ...fds], env: { ...process.env, NODE_OPTIONS: '' } });
  t.equal(r.code, 0, r.stderr);
  const [env, list] = r.stdout.split('\n');
  t.equal(env, '2 1', 'LISTEN_FDS=2 and LISTEN_PID=1 inside');
  t.same(list?.trim().split(' '), ['0', '1', '2', '3', '4', '5'], 'fds 3 and 4 (activation) and 5 (--preserve-fds 1); not 6');

  const other = run('bash', ['-c', `export LISTEN_FDS=2 LISTEN_PID=1; exec ${OCIRUN} --root ${box.root} run --bundle ${box.bundle} ${box.id()}`], { stdio: ['ignore', 'pipe', 'pipe', ...fds], env: { ...process.env, NODE_OPTIONS: '' } });
  const [env2, list2] = other.stdout.split('\n');
  t.equal(env2, ' ', 'LISTEN_FDS for another pid is not ours to pass');
  t.same(list2?.trim().split(' '), ['0', '1', '2']);
});
