// Socket activation: LISTEN_FDS meant for us (LISTEN_PID) passes fds 3.. on
// first, sets LISTEN_FDS/LISTEN_PID=1 in the container, and --preserve-fds
// adds its fds after them; nothing else leaks. Checked from the host.
import t from 'tap';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, OCIRUN, run, Sandbox, sharedRootfs, SKIP_NOT_ROOT, until } from '../helpers.js';

function fdsAndEnv(pid: number): { fds: number[]; env: string[] } {
  return {
    fds: readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b),
    env: readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((e) => e.startsWith('LISTEN_')),
  };
}

t.test('LISTEN_FDS and --preserve-fds pass exactly their fds', { skip: SKIP_NOT_ROOT }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '30'], sharedRootfs()));
  const fds = [openSync('/etc/hostname', 'r'), openSync('/etc/hostname', 'r'), openSync('/etc/hostname', 'r'), openSync('/etc/hostname', 'r')];
  const detached = (id: string, listenPid: string, extra: string): number => {
    const pidFile = join(box.dir, `${id}.pid`);
    // bash execs ocirun, so $$ is ocirun's own pid, as systemd would set LISTEN_PID.
    const script = `export LISTEN_FDS=2 LISTEN_PID=${listenPid}; exec ${OCIRUN} --root ${box.root} run -d ${extra} --pid-file ${pidFile} --bundle ${box.bundle} ${id}`;
    const r = run('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'ignore', ...fds], env: { ...process.env, NODE_OPTIONS: '' } });
    t.equal(r.code, 0, 'run -d succeeds');
    return Number(readFileSync(pidFile, 'utf8'));
  };
  // start returns once the init has its go-ahead; the exec itself follows a moment later.
  const execd = async (pid: number): Promise<number> => {
    t.ok(await until(() => readFileSync(`/proc/${pid}/comm`, 'utf8') === 'sleep\n'), 'the init became sleep');
    return pid;
  };
  const a = fdsAndEnv(await execd(detached(box.id(), '$$', '--preserve-fds 1')));
  t.same(a.fds, [0, 1, 2, 3, 4, 5], 'fds 3 and 4 (activation) and 5 (--preserve-fds 1); not 6');
  t.same(a.env.sort(), ['LISTEN_FDS=2', 'LISTEN_PID=1'], 'LISTEN_FDS=2 and LISTEN_PID=1 inside');
  const b = fdsAndEnv(await execd(detached(box.id(), '1', '')));
  t.same(b.fds, [0, 1, 2], 'LISTEN_FDS meant for another pid passes nothing');
  t.same(b.env, []);
});
