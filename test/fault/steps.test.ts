// The fault-injection matrix: for every step of create, start, delete --force
// and run, ocirun is stopped at that step (a pause point that exists only
// under _OCIRUN_FAULT_PAUSE) and killed there with SIGKILL, or sent SIGTERM
// or SIGINT. Then: `state` and `list` must tell what the kernel shows, a
// cancelled create or run must have undone itself, `delete --force` must
// leave no process, mount, cgroup or state file, and the id must be usable
// again.
import t, { type Test } from 'tap';
import { baseConfig, Sandbox, sharedRootfs, SKIP_NOT_ROOT, until } from '../helpers.js';
import { checkTruth, type FaultSignal, interruptAt, isLive, leftovers } from './fault.js';

const skip = SKIP_NOT_ROOT;
const SIGNO: Record<FaultSignal, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2 };
// A program that ends on SIGTERM/SIGINT (PID 1 of its namespace ignores what it does not handle).
const WAITER = ['sh', '-c', 'trap "exit 7" TERM INT; sleep 100 & wait'];

/** After the fault: the truth, then delete --force leaves nothing, then the id works again. */
async function settle(t: Test, box: Sandbox, id: string, what: string): Promise<string | null> {
  const truth = await checkTruth(box, id);
  t.same(truth.problems, [], `${what}: state and list tell the truth (${truth.status ?? 'no container'})`);
  const del = box.ocirun(['delete', '--force', id]);
  t.equal(del.code, 0, `${what}: delete --force succeeds: ${del.stderr.trim()}`);
  t.same(leftovers(box, id, truth.pid ? [truth.pid] : []), [], `${what}: delete --force left nothing`);
  const again = box.create(id);
  t.equal(again.code, 0, `${what}: the id can be used again: ${again.stderr.trim()}`);
  const del2 = box.ocirun(['delete', '--force', id]);
  t.equal(del2.code, 0, `${what}: and deleted again`);
  t.same(leftovers(box, id, again.pid ? [again.pid] : []), [], `${what}: nothing left at the end`);
  return truth.status;
}

const CREATE_STEPS = ['create:claim-dir', 'create:claimed', 'create:cgroups-made', 'create:init-pid', 'create:ready', 'create:written'];

t.test('create, stopped at each step', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '100'], sharedRootfs()));
  for (const step of CREATE_STEPS) {
    for (const sig of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
      const id = box.id('fc');
      const what = `create ${sig} at ${step}`;
      const r = await interruptAt(box, ['create', '--bundle', box.bundle, id], step, sig);
      t.ok(r.paused, `${what}: the step was reached`);
      if (sig === 'SIGKILL') {
        t.equal(r.signal, 'SIGKILL', `${what}: killed`);
        const status = await settle(t, box, id, what);
        // What a create killed there leaves: no record before the claim, the waiting init once it was ready.
        const expected = step === 'create:claim-dir' ? null : step === 'create:ready' || step === 'create:written' ? 'created' : 'stopped';
        t.equal(status, expected, `${what}: state says ${expected ?? 'no container'}`);
      } else {
        t.equal(r.code, 128 + SIGNO[sig], `${what}: exits with 128 + the signal`);
        t.match(r.stderr, new RegExp(`interrupted by ${sig}`), `${what}: says why`);
        t.equal(await settle(t, box, id, what), null, `${what}: the create undid itself`);
      }
    }
  }
});

t.test('start, stopped at each step', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '100'], sharedRootfs()));
  for (const step of ['start:locked', 'start:released', 'start:answered']) {
    for (const sig of ['SIGKILL', 'SIGTERM'] as const) {
      const id = box.id('fs');
      const what = `start ${sig} at ${step}`;
      const c = box.create(id);
      if (!t.equal(c.code, 0, `${what}: create: ${c.stderr.trim()}`)) continue;
      const r = await interruptAt(box, ['start', id], step, sig);
      t.ok(r.paused, `${what}: the step was reached`);
      t.equal(r.signal, sig, `${what}: start has no handler: the signal ends it`);
      const status = await settle(t, box, id, what);
      t.equal(status, step === 'start:locked' ? 'created' : 'running', `${what}: state says whether the program was released`);
    }
  }
});

t.test('delete --force, stopped at each step', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '100'], sharedRootfs()));
  const steps = ['delete:locked', 'kill:frozen', 'delete:killed', 'delete:cgroups-removed', 'delete:before-rename', 'delete:renamed'];
  for (const step of steps) {
    for (const sig of ['SIGKILL', 'SIGTERM'] as const) {
      const id = box.id('fd');
      const what = `delete --force ${sig} at ${step}`;
      const c = box.create(id);
      if (!t.equal(c.code, 0, `${what}: create: ${c.stderr.trim()}`)) continue;
      t.equal(box.ocirun(['start', id]).code, 0, `${what}: start`);
      const r = await interruptAt(box, ['delete', '--force', id], step, sig);
      t.ok(r.paused, `${what}: the step was reached`);
      if (step === 'kill:frozen') {
        // Left frozen by the dead delete, which state must not call paused; a plain kill must work.
        t.equal(box.state(id)?.status, 'running', `${what}: not paused by its user, so not "paused"`);
        const k = box.ocirun(['kill', id, 'KILL']);
        t.equal(k.code, 0, `${what}: kill KILL afterwards`);
        t.ok(await until(() => !isLive(c.pid), 5000), `${what}: and the process dies`);
      }
      const status = await settle(t, box, id, what);
      const expected = step === 'delete:locked' ? 'running' : step === 'delete:renamed' ? null : 'stopped';
      t.equal(status, expected, `${what}: state says ${expected ?? 'no container'}`);
    }
  }
});

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
