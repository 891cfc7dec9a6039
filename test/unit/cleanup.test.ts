// The cleanup stack of create and exec (src/container/cleanup.ts), without root.
import t from 'tap';
import { CleanupStack } from '../../src/container/cleanup.js';

t.test('on failure every step runs, last pushed first, and gets the error', async (t) => {
  const ran: string[] = [];
  const c = new CleanupStack();
  c.always('release', () => ran.push('release'));
  c.onFailure('bury', (err) => ran.push(`bury:${(err as Error).message}`));
  c.onFailure('cgroups', () => ran.push('cgroups'));
  c.always('close', () => ran.push('close'));
  const err = new Error('boom');
  c.fail(err);
  t.same(ran, ['close', 'cgroups', 'bury:boom', 'release']);
  t.equal(err.message, 'boom');
  c.fail(err);
  t.equal(ran.length, 4, 'the steps are forgotten once run');
});

t.test('a failing undo is added to the error and does not stop the rest', async (t) => {
  const ran: string[] = [];
  const c = new CleanupStack();
  c.onFailure('removing its state', () => ran.push('bury'));
  c.onFailure('removing its cgroups', () => { throw new Error('EBUSY'); });
  c.onFailure('stopping the init', () => ran.push('kill'));
  const err = new Error('mounts[3]: EACCES');
  c.fail(err);
  t.same(ran, ['kill', 'bury']);
  t.equal(err.message, 'mounts[3]: EACCES (and removing its cgroups failed: EBUSY)');
});

t.test('on success only the always steps run; their first failure is thrown after all ran', async (t) => {
  const ran: string[] = [];
  const c = new CleanupStack();
  c.always('release', () => ran.push('release'));
  c.onFailure('bury', () => ran.push('bury'));
  c.always('close', () => { ran.push('close'); throw new Error('EBADF'); });
  t.throws(() => c.succeed(), /EBADF/);
  t.same(ran, ['close', 'release']);
  c.fail(new Error('later'));
  t.same(ran, ['close', 'release'], 'nothing is left to undo after success');
});
