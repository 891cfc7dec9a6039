// The fault-injection matrix (create; the others are in the files
// beside this one): for every step of create, start, delete --force and
// run, ocirun is stopped at that step (a pause point that exists only under
// _OCIRUN_FAULT_PAUSE) and killed there with SIGKILL, or sent SIGTERM or
// SIGINT. Then: `state` and `list` must tell what the kernel shows, a
// cancelled create or run must have undone itself, `delete --force` must
// leave no process, mount, cgroup or state file, and the id must be usable
// again.
import t from 'tap';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';
import { cgroupDirsAt, type FaultSignal, interruptAt, settle } from '../fault-helpers.js';

const skip = SKIP_NOT_ROOT;
const SIGNO: Record<FaultSignal, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGUSR1: 10, SIGUSR2: 12 };

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

t.test('create with a nested cgroupsPath, stopped before and after its cgroups are made: delete removes the parent it made too', { skip }, async (t) => {
  const box = new Sandbox(t);
  const parent = `/ocirun-fault-${process.pid}`;
  t.teardown(() => { for (const d of cgroupDirsAt(parent)) { try { rmdirSync(d); } catch { /* gone */ } } });
  for (const step of ['create:claimed', 'create:cgroups-made']) {
    for (const sig of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
      const id = box.id('fp');
      const what = `create ${sig} at ${step}`;
      const config = baseConfig(['sleep', '100'], sharedRootfs());
      config.linux.cgroupsPath = `${parent}/${id}`;
      box.writeConfig(config);
      const r = await interruptAt(box, ['create', '--bundle', box.bundle, id], step, sig);
      t.ok(r.paused, `${what}: the step was reached`);
      if (sig === 'SIGKILL') {
        // The record names the parent from the first write on: the cgroups are made after it (create.ts, makeCgroups).
        const rec = JSON.parse(readFileSync(join(box.root, id, 'state.json'), 'utf8')) as { cgroup: { created: string[] } };
        for (const d of cgroupDirsAt(parent)) t.ok(rec.cgroup.created.includes(d), `${what}: the record names ${d} as made by this create`);
        if (step === 'create:cgroups-made') t.ok(cgroupDirsAt(parent).every((d) => existsSync(d)), `${what}: the parent was made`);
        const del = box.ocirun(['delete', '--force', id]);
        t.equal(del.code, 0, `${what}: delete --force succeeds: ${del.stderr.trim()}`);
      } else {
        t.equal(r.code, 128 + SIGNO[sig], `${what}: exits with 128 + the signal`);
      }
      t.notOk(existsSync(join(box.root, id)), `${what}: no record left`);
      const left = [...cgroupDirsAt(`${parent}/${id}`), ...cgroupDirsAt(parent)].filter((d) => existsSync(d));
      t.same(left, [], `${what}: neither the container's cgroups nor the parent it made are left`);
    }
  }
});
