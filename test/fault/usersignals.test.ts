// SIGUSR1 and SIGUSR2 sent to ocirun while create or run makes the
// container, or before exec forwards signals. They are meant for the
// container's program: runc's create ignores them, and its run and exec hand
// them to the process once it has started.
// Neither may end ocirun half way (their default action), and SIGUSR1 must
// not open Node's inspector (a debugger anyone on the host could connect to)
// in the runtime's process.
import t, { type Test } from 'tap';
import { baseConfig, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';
import { interruptAt, settle } from '../fault-helpers.js';

const skip = SKIP_NOT_ROOT;
const USER_SIGNALS = ['SIGUSR1', 'SIGUSR2'] as const;
// Ends with 10 on SIGUSR1, 12 on SIGUSR2 (PID 1 of its namespace ignores what it does not handle).
const TRAPPER = ['sh', '-c', 'trap "exit 10" USR1; trap "exit 12" USR2; sleep 100 & wait'];
const EXIT_ON = { SIGUSR1: 10, SIGUSR2: 12 } as const;
const NO_INSPECTOR = /Debugger listening|inspector/i;

/** What every case checks of ocirun itself: paused there, not ended by the signal, no inspector opened. */
function unharmed(t: Test, r: Awaited<ReturnType<typeof interruptAt>>, what: string): void {
  t.ok(r.paused, `${what}: the step was reached`);
  t.equal(r.signal, null, `${what}: not ended by the signal`);
  t.notMatch(r.stderr, NO_INSPECTOR, `${what}: no inspector`);
}

t.test('create: ignored, the container is made', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(TRAPPER, sharedRootfs()));
  for (const sig of USER_SIGNALS) {
    for (const step of ['create:claimed', 'create:init-pid']) {
      const id = box.id('cu');
      const what = `create, ${sig} at ${step}`;
      const r = await interruptAt(box, ['create', '--bundle', box.bundle, id], step, sig);
      unharmed(t, r, what);
      t.equal(r.code, 0, `${what}: create succeeds: ${r.stderr.trim()}`);
      t.equal(await settle(t, box, id, what), 'created', `${what}: the container is created`);
    }
  }
});

t.test('run: held, then handed to the program it started', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(TRAPPER, sharedRootfs()));
  for (const sig of USER_SIGNALS) {
    // Paused once the program runs: by the time ocirun goes on (50 ms later),
    // the shell has set its traps, so the signal ocirun held must end it.
    const id = box.id('ru');
    const what = `run, ${sig} once started`;
    const r = await interruptAt(box, ['run', '--bundle', box.bundle, id], 'run:started', sig);
    unharmed(t, r, what);
    t.equal(r.code, EXIT_ON[sig], `${what}: the program got it and ended with its status`);
    t.equal(await settle(t, box, id, what), null, `${what}: run left no container`);
  }
  // Held while the container is made: the program gets it right after its
  // start, maybe before its shell has set the trap (then its namespace's init
  // ignores it, as runc's forwarded signals fare too). Either way the run
  // goes on to the program's own end: it is neither killed nor cancelled.
  // start returns once the program has been exec'd: before, a signal passed
  // on in the last steps before the execve met the init's own handler, which
  // ended the container (status 138; 2 runs in 40 here). Three rounds each.
  box.writeConfig(baseConfig(['sh', '-c', 'trap "exit 10" USR1; trap "exit 12" USR2; sleep 1; exit 3'], sharedRootfs()));
  for (const sig of [...USER_SIGNALS, ...USER_SIGNALS, ...USER_SIGNALS]) {
    const id = box.id('rc');
    const what = `run, ${sig} while creating`;
    const r = await interruptAt(box, ['run', '--bundle', box.bundle, id], 'create:claimed', sig);
    unharmed(t, r, what);
    t.ok(r.code === 3 || r.code === EXIT_ON[sig], `${what}: the program ran to its end or got the signal (status ${r.code}): ${r.stderr.trim()}`);
    t.equal(await settle(t, box, id, what), null, `${what}: run left no container`);
  }
});

t.test('exec: held until the process is waited for, then handed to it', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '1000'], sharedRootfs()));
  const id = box.id('eu');
  t.equal(box.create(id).code, 0, 'created');
  t.equal(box.ocirun(['start', id]).code, 0, 'started');
  t.teardown(() => { box.ocirun(['delete', '--force', id]); });
  for (const sig of USER_SIGNALS) {
    // Paused once the process runs, before signals are forwarded: 50 ms
    // later, when ocirun goes on, the shell has set its traps.
    const what = `exec, ${sig} before forwarding`;
    const r = await interruptAt(box, ['exec', id, ...TRAPPER], 'exec:started', sig);
    unharmed(t, r, what);
    t.equal(r.code, EXIT_ON[sig], `${what}: the process got it and ended with its status: ${r.stderr.trim()}`);
  }
});
