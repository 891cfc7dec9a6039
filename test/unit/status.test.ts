// Which status each operation accepts (src/container/status.ts), without root.
import t from 'tap';
import type { Status } from '../../src/container/state.js';
import { accepts, type Operation, requireStatus } from '../../src/container/status.js';

const ALL: Status[] = ['creating', 'created', 'running', 'paused', 'stopped'];

t.test('the table', async (t) => {
  const table: Record<Operation, Status[]> = {
    start: ['created'],
    kill: ['created', 'running', 'paused'],
    delete: ['created', 'stopped'],
    pause: ['created', 'running'],
    resume: ['paused'],
    update: ['created', 'running', 'paused'],
    events: ['creating', 'created', 'running', 'paused'],
    exec: ['created', 'running'],
    'exec --ignore-paused': ['created', 'running', 'paused'],
    checkpoint: ['running', 'paused'],
  };
  for (const [op, ok] of Object.entries(table) as [Operation, Status[]][]) {
    for (const status of ALL) t.equal(accepts(op, status), ok.includes(status), `${op} in ${status}`);
  }
});

t.test("runc's words where runc has them", async (t) => {
  const refusal = (op: Operation, status: Status): string => {
    try { requireStatus(op, status, 'c1'); } catch (err) { return (err as Error).message; }
    return '';
  };
  t.equal(refusal('start', 'running'), 'cannot start an already running container');
  t.equal(refusal('start', 'stopped'), 'cannot start a container that has stopped');
  t.equal(refusal('start', 'paused'), 'cannot start a container in the paused state');
  t.equal(refusal('kill', 'stopped'), 'container not running');
  t.equal(refusal('pause', 'paused'), 'container not running');
  t.equal(refusal('resume', 'running'), 'container not paused');
  t.equal(refusal('delete', 'running'), 'cannot delete container c1 that is not stopped: running');
  t.equal(refusal('events', 'stopped'), 'container with id c1 is not running');
  t.equal(refusal('exec', 'stopped'), 'cannot exec in a stopped container');
  t.equal(refusal('exec', 'paused'), 'cannot exec in a paused container (use --ignore-paused to override)');
  t.equal(refusal('exec --ignore-paused', 'creating'), 'cannot exec in a container that is still being created');
  t.equal(refusal('checkpoint', 'created'), 'Container cannot be checkpointed in created state');
  t.equal(refusal('start', 'created'), '', 'an accepted status passes');
});
