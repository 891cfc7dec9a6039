// Reading config.json without trusting it: size and file-type limits, deep
// nesting in invalid JSON, and NUL bytes in strings that become C strings.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_SIZE_LIMIT, MAX_JSON_DEPTH, parseJson, readText } from '../../src/config/read.js';
import { checkNulBytes, checkHooks } from '../../src/config/checks.js';
import type { Process, Spec } from '../../src/config/types.js';

t.test('readText refuses what is not a regular file, and what is too large', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocirun-read-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const zero = join(dir, 'zero.json');
  symlinkSync('/dev/zero', zero);
  t.throws(() => readText(zero), /not a regular file/, '/dev/zero');
  const fifo = join(dir, 'fifo.json');
  spawnSync('mkfifo', [fifo]);
  t.throws(() => readText(fifo), /not a regular file/, 'a fifo, without blocking');
  const big = join(dir, 'big.json');
  writeFileSync(big, '');
  truncateSync(big, CONFIG_SIZE_LIMIT + 1);
  t.throws(() => readText(big), /larger than 64 MiB/, 'one byte over the limit');
  const ok = join(dir, 'ok.json');
  writeFileSync(ok, '{"a":"é"}');
  t.equal(readText(ok), '{"a":"é"}', 'a small file is read whole');
});

t.test('deep nesting in invalid JSON is reported with its position', async (t) => {
  const text = `{"x":${'['.repeat(MAX_JSON_DEPTH * 100)}`;
  t.throws(() => parseJson('c.json', text), /nested deeper than 1000 levels at line 1 column 1005/);
  t.throws(() => parseJson('c.json', `{"x":${'['.repeat(10)}}`), /invalid JSON: unexpected "}" at line 1 column 16/, 'shallow errors as before');
});

t.test('NUL bytes in args, env, cwd and hooks are problems naming the path', async (t) => {
  const proc = { args: ['sh', 'a\0b'], env: ['A=1', 'B=2\0C=3'], cwd: '/x\0y' } as Process;
  t.same(checkNulBytes(proc, 'process').map((p) => p.jsonPath), ['process.args[1]', 'process.env[1]', 'process.cwd']);
  t.same(checkNulBytes({ args: ['sh'], cwd: '/' } as Process, 'process'), [], 'none without NUL bytes');
  const spec = { hooks: { poststop: [{ path: '/bin/t\0x' }, { path: '/bin/true', args: ['a', 'b\0'], env: ['\0'] }] } } as Spec;
  t.same(checkHooks(spec).map((p) => p.jsonPath), ['hooks.poststop[0].path', 'hooks.poststop[1].args[1]', 'hooks.poststop[1].env[0]']);
});
