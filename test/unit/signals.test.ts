import t from 'tap';
import { parseSignal, signalName } from '../../src/linux/signals.js';

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
