// The read side of the hash-seed guard (config/hashlimit.ts): in a process
// that kept the snapshot's seed, an input that is larger than it was when
// cli/seedguard.ts measured it at start-up is refused, not parsed.
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HASH_INPUT_LIMIT, NO_REHASH_FLAG, fixedHashSeed, recordIsDerived, tooBigForFixedSeed } from '../../src/config/hashlimit.js';

// As bin/ocirun starts it (read once, at the first question).
process.execArgv.push(NO_REHASH_FLAG);

const { readText } = await import('../../src/config/read.js');
const { Store } = await import('../../src/container/store.js');

const dir = mkdtempSync(join(tmpdir(), 'ocirun-hashlimit-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('config and process files over the limit are refused under the fixed seed', async (t) => {
  t.equal(fixedHashSeed(), true);
  const small = join(dir, 'small.json');
  const big = join(dir, 'big.json');
  writeFileSync(small, JSON.stringify({ a: 'x'.repeat(1000) }));
  writeFileSync(big, JSON.stringify({ a: 'x'.repeat(HASH_INPUT_LIMIT) }));
  t.equal(readText(small).length, 1008);
  t.throws(() => readText(big), { message: `${big}: cannot read: it grew past 64 KiB while ocirun ran; run the command again` });
});

t.test('a state file over the limit, unless this command wrote it from its checked config', async (t) => {
  const store = new Store(join(dir, 'root'));
  mkdirSync(store.dir('c1'), { recursive: true });
  writeFileSync(join(store.dir('c1'), 'state.json'), JSON.stringify({ id: 'c1', annotations: { a: 'x'.repeat(HASH_INPUT_LIMIT) } }));
  t.throws(() => store.read('c1'), { message: 'the state of c1 grew past 64 KiB while ocirun ran; run the command again' });
  recordIsDerived();
  t.equal(store.read('c1').id, 'c1', 'create, run and restore read back their own record');
  t.equal(tooBigForFixedSeed(HASH_INPUT_LIMIT + 1), true, 'other inputs stay limited');
});
