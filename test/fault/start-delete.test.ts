// The fault-injection matrix (start and delete --force; the others are in the files
// beside this one): for every step of create, start, delete --force and
// run, ocirun is stopped at that step (a pause point that exists only under
// _OCIRUN_FAULT_PAUSE) and killed there with SIGKILL, or sent SIGTERM or
// SIGINT. Then: `state` and `list` must tell what the kernel shows, a
// cancelled create or run must have undone itself, `delete --force` must
// leave no process, mount, cgroup or state file, and the id must be usable
// again.
import t from 'tap';
import { baseConfig, Sandbox, sharedRootfs, SKIP_NOT_ROOT, until } from '../helpers.js';
import { type FaultSignal, interruptAt, isLive, settle } from '../fault-helpers.js';

const skip = SKIP_NOT_ROOT;

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
