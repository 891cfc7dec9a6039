// Many lifecycles in a row, many creates at once, one id raced for: each
// ends by counting what is left (state files, processes, cgroups, mounts).
// The soak is bounded both in count and in time, so CI stays within minutes:
// OCIRUN_SOAK_LIFECYCLES (default 500) and OCIRUN_SOAK_SECONDS (default 45);
// on a loaded 2-core machine 45 s hold 35–80 lifecycles, so set the time
// higher to run all 500.
import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, OCIRUN, Sandbox, sharedRootfs, SKIP_NOT_ROOT } from '../helpers.js';
import { isLive, leftovers } from '../fault-helpers.js';

const skip = SKIP_NOT_ROOT;

/** ocirun as a child process, not waited for (for running many at once). */
function ocirunAsync(box: Sandbox, args: string[], tag: string): Promise<{ code: number | null; stderr: string }> {
  const errPath = join(box.dir, `${tag}.err`);
  const errFd = openSync(errPath, 'w');
  // stdout to /dev/null: a created container holds what it inherits.
  const child = spawn(OCIRUN, ['--root', box.root, ...args], { stdio: ['ignore', 'ignore', errFd] });
  closeSync(errFd);
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve({ code, stderr: readFileSync(errPath, 'utf8') }));
  });
}

t.test('soak: create → start → kill → delete, many times', { skip, timeout: 400_000 }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '100'], sharedRootfs()));
  const want = Number(process.env.OCIRUN_SOAK_LIFECYCLES ?? 500);
  const deadline = Date.now() + Number(process.env.OCIRUN_SOAK_SECONDS ?? 45) * 1000;
  const pids: number[] = [];
  let done = 0;
  let failures = 0;
  for (; done < want && Date.now() < deadline; done++) {
    const id = box.id('soak');
    const c = box.create(id);
    pids.push(c.pid);
    const steps = [c, box.ocirun(['start', id]), box.ocirun(['kill', id, 'KILL']), box.ocirun(['delete', '--force', id])];
    const bad = steps.find((r) => r.code !== 0);
    if (bad) {
      failures++;
      t.fail(`lifecycle ${done}: ${bad.stderr.trim()}`);
      box.ocirun(['delete', '--force', id]);
    }
  }
  t.comment(`${done} lifecycles`);
  t.ok(done >= Math.min(want, 20), `at least ${Math.min(want, 20)} lifecycles ran (${done})`);
  t.equal(failures, 0, 'every lifecycle succeeded');
  t.same(readdirSync(box.root), [], 'no state file left');
  t.same(pids.filter(isLive), [], 'no init left');
  t.same(leftovers(box, 'soak', []), [], 'nothing else left');
});

t.test('50 creates at once, then 50 deletes at once', { skip, timeout: 300_000 }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '100'], sharedRootfs()));
  const ids = Array.from({ length: 50 }, () => box.id('par'));
  const created = await Promise.all(ids.map((id) => ocirunAsync(box, ['create', '--bundle', box.bundle, id], id)));
  t.same(created.filter((r) => r.code !== 0).map((r) => r.stderr.trim()), [], 'every create succeeded');
  const states = ids.map((id) => box.state(id));
  t.equal(states.filter((s) => s?.status === 'created').length, 50, 'all 50 are created');
  const pids = states.map((s) => Number(s?.pid ?? 0)).filter((p) => p > 0);
  const deleted = await Promise.all(ids.map((id) => ocirunAsync(box, ['delete', '--force', id], `${id}-d`)));
  t.same(deleted.filter((r) => r.code !== 0).map((r) => r.stderr.trim()), [], 'every delete succeeded');
  t.same(readdirSync(box.root), [], 'no state file left');
  t.same(pids.filter(isLive), [], 'no init left');
  for (const id of ids) t.same(leftovers(box, id, []), [], `${id}: nothing left`);
});

t.test('20 creates race for one id: one wins, nothing else is left', { skip, timeout: 120_000 }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '100'], sharedRootfs()));
  const id = box.id('race');
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ocirunAsync(box, ['create', '--bundle', box.bundle, id], `${id}-${i}`)));
  t.equal(results.filter((r) => r.code === 0).length, 1, 'exactly one create succeeded');
  for (const r of results.filter((x) => x.code !== 0)) t.match(r.stderr, /container with id exists/, 'the others say the id is taken');
  const s = box.state(id);
  t.equal(s?.status, 'created', 'the winner is created');
  t.same(readdirSync(box.root), [id], 'one directory, no claim left behind');
  t.equal(box.ocirun(['delete', '--force', id]).code, 0, 'delete --force');
  t.same(leftovers(box, id, s?.pid ? [s.pid] : []), [], 'nothing left');
});
