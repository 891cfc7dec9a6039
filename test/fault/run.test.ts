// The fault-injection matrix (run; the others are in the files
// beside this one): for every step of create, start, delete --force and
// run, ocirun is stopped at that step (a pause point that exists only under
// _OCIRUN_FAULT_PAUSE) and killed there with SIGKILL, or sent SIGTERM or
// SIGINT. Then: `state` and `list` must tell what the kernel shows, a
// cancelled create or run must have undone itself, `delete --force` must
// leave no process, mount, cgroup or state file, and the id must be usable
// again.
import t from 'tap';
import { baseConfig, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';
import { type FaultSignal, interruptAt, settle, leftovers } from '../fault-helpers.js';

const skip = SKIP_NOT_ROOT;
const SIGNO: Record<FaultSignal, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGUSR1: 10, SIGUSR2: 12 };
// A program that ends on SIGTERM/SIGINT (PID 1 of its namespace ignores what it does not handle).
const WAITER = ['sh', '-c', 'trap "exit 7" TERM INT; sleep 100 & wait'];

t.test('run, stopped at each step', { skip }, async (t) => {
  const box = new Sandbox(t);
  const steps = ['create:claimed', 'create:init-pid', 'create:ready', 'create:written', 'run:created', 'run:started', 'run:exited'];
  for (const step of steps) {
    // run:exited needs a program that ends by itself.
    box.writeConfig(baseConfig(step === 'run:exited' ? ['sh', '-c', 'exit 3'] : WAITER, sharedRootfs()));
    for (const sig of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
      const id = box.id('fr');
      const what = `run ${sig} at ${step}`;
      const r = await interruptAt(box, ['run', '--bundle', box.bundle, id], step, sig);
      t.ok(r.paused, `${what}: the step was reached`);
      if (sig === 'SIGKILL') {
        t.equal(r.signal, 'SIGKILL', `${what}: killed`);
        const status = await settle(t, box, id, what);
        const expected = step.startsWith('create:') && step !== 'create:ready' && step !== 'create:written' ? 'stopped'
          : step === 'run:started' ? 'running' : step === 'run:exited' ? 'stopped' : 'created';
        t.equal(status, expected, `${what}: state says ${expected}`);
        continue;
      }
      if (step === 'run:started') {
        t.equal(r.code, 7, `${what}: forwarded to the running program, whose status run returns`);
      } else if (step === 'run:exited') {
        t.equal(r.code, 3, `${what}: the program had ended: its status`);
      } else {
        t.equal(r.code, 128 + SIGNO[sig], `${what}: cancelled before the program ran: 128 + the signal`);
        t.match(r.stderr, new RegExp(`interrupted by ${sig}`), `${what}: says why`);
      }
      t.equal(await settle(t, box, id, what), null, `${what}: run left no container`);
    }
  }
});

t.test('the pause points cost nothing unless asked for', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['true'], sharedRootfs()));
  const id = box.id('fp');
  // A pause point that is not named never stops anything.
  const r = await interruptAt(box, ['run', '--bundle', box.bundle, id], 'no-such-step', 'SIGKILL', 15_000);
  t.notOk(r.paused, 'no pause');
  t.equal(r.code, 0, 'the run just runs');
  t.same(leftovers(box, id, []), [], 'and leaves nothing');
});
