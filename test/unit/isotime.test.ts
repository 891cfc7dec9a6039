import t from 'tap';
import { isoUtcMillis, nowRfc3339Nano } from '../../src/container/state.js';

t.test('the same text as Date.toISOString, across leap days, centuries and eras', async (t) => {
  const edges = [0, -1, 951_782_400_000 /* 2000-02-29 */, 4_107_456_000_000 /* 2100-02-28 */, 4_107_542_400_000, 253_402_300_799_999, -62_135_596_800_000];
  for (const ms of edges) t.equal(isoUtcMillis(ms), new Date(ms).toISOString(), String(ms));
  let seed = 12345;
  const next = (): number => { seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31; return seed / 2 ** 31; };
  let bad = 0;
  for (let i = 0; i < 20_000; i++) {
    const ms = Math.floor((next() * 2 - 1) * 62_135_596_800_000) + Math.floor(next() * 86_400_000);
    if (isoUtcMillis(ms) !== new Date(ms).toISOString()) bad++;
  }
  t.equal(bad, 0, '20,000 instants between years 1 and 3938');
});

t.test('now, with nanoseconds, within a second of the clock', async (t) => {
  const text = nowRfc3339Nano();
  t.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  t.ok(Math.abs(Date.parse(text.slice(0, 23) + 'Z') - Date.now()) < 1000);
});
