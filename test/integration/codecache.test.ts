// The bundles' code cache (scripts/entry.cjs): made after a command ran, one
// file per bundle and command beside Node's own compile cache; a cache V8
// refuses (damaged, another build) costs time, never the command, and is
// made again.
import t from 'tap';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OCIRUN, run, TOP } from '../helpers.js';

const BASE = join(TOP, 'node_modules', '.cache', 'ocirun-v8');

/** The cache files of ocirun.cjs for `features`, in every Node version's directory, newest first. */
function featureCaches(): string[] {
  let dirs: string[] = [];
  try { dirs = readdirSync(BASE).map((d) => join(BASE, d)); } catch { /* none yet */ }
  return dirs.flatMap((d) => {
    try { return readdirSync(d).filter((f) => /^ocirun\.cjs-features-\d+-\d+$/.test(f)).map((f) => join(d, f)); } catch { return []; }
  }).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

t.test('features leaves a code cache, and a damaged one is refused and made again', async (t) => {
  const first = run(OCIRUN, ['features']);
  t.equal(first.code, 0, first.stderr);
  const files = featureCaches();
  t.ok(files.length >= 1, `a cache of ocirun.cjs for features in ${BASE}`);
  const file = files[0] as string;
  const size = readFileSync(file).length;
  t.ok(size > 10_000, `it holds the compiled functions (${size} bytes)`);
  const garbage = Buffer.alloc(size, 0x5a);
  writeFileSync(file, garbage);
  const second = run(OCIRUN, ['features']);
  t.equal(second.code, 0, 'the command runs on a damaged cache');
  t.equal(second.stdout, first.stdout, 'with the same output');
  t.equal(second.stderr, '', 'and says nothing about it');
  t.notSame(readFileSync(file), garbage, 'the cache was made again');
});
