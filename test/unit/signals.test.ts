import t from 'tap';
import { constants } from 'node:os';
import { SIGNAL_NUMBERS, parseSignal, signalName } from '../../src/linux/signals.js';

t.test('names with or without SIG, any case, and numbers', async (t) => {
  t.equal(parseSignal('KILL'), 9);
  t.equal(parseSignal('SIGKILL'), 9);
  t.equal(parseSignal('term'), 15);
  t.equal(parseSignal('15'), 15);
  t.equal(parseSignal('SIGRTMIN+2'), 36);
  t.equal(parseSignal('RTMAX'), 64);
  t.equal(signalName(15), 'SIGTERM');
});

t.test('unknown signals are refused, naming the value', async (t) => {
  t.throws(() => parseSignal('SIGFOO'), /unknown signal "SIGFOO"/);
  t.throws(() => parseSignal('0'), /unknown signal "0"/);
  t.throws(() => parseSignal('65'), /unknown signal/);
});

t.test('the signal table is Node\'s for this platform, aliases and order included', async (t) => {
  t.same(Object.entries(SIGNAL_NUMBERS), Object.entries(constants.signals));
});
