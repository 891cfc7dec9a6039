// The README's walkthrough, run as written (under script(1), for its
// `exec -t`), with two substitutions so that it cannot touch anything
// outside the sandbox: /tmp/mybundle becomes the sandbox's bundle, and the
// `ocirun` on PATH adds the sandbox's --root.
import t from 'tap';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OCIRUN, run, Sandbox, SKIP_NOT_ROOT, TOP } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

/** The sh blocks of the README's "Using it" section, in order. */
function walkthrough(): string[] {
  const readme = readFileSync(join(TOP, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using it'), readme.indexOf('\n## ', readme.indexOf('## Using it') + 1));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

t.test('the README walkthrough works as written', { skip }, async (t) => {
  const blocks = walkthrough();
  t.equal(blocks.length, 2, 'two command blocks');
  const box = new Sandbox(t);
  rmSync(box.bundle, { recursive: true });
  const wrap = join(box.dir, 'bin');
  mkdirSync(wrap);
  writeFileSync(join(wrap, 'ocirun'), `#!/bin/sh\nexec ${OCIRUN} --root ${box.root} "$@"\n`);
  chmodSync(join(wrap, 'ocirun'), 0o755);
  const script = blocks.join('\n')
    .replace('export PATH="$PWD/bin:$PATH"', `export PATH="${wrap}:$PATH"`)
    .replaceAll('/tmp/mybundle', box.bundle);
  t.notMatch(script, /\/tmp\/mybundle/, 'every path substituted');
  writeFileSync(join(box.dir, 'walk.sh'), `set -e\n${script}\necho WALKTHROUGH-DONE\n`);
  const r = run('script', ['-qec', `bash ${join(box.dir, 'walk.sh')}`, '/dev/null'], { cwd: TOP, env: { ...process.env, NODE_OPTIONS: '' } });
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /"status": "created"/, 'state after create');
  t.match(r.stdout, /box1\s+\d+\s+running/, 'list shows it running');
  t.match(r.stdout, /\/dev\/pts\/\d+\r\n/, 'exec -t ran on the terminal');
  t.match(r.stdout, /WALKTHROUGH-DONE/, 'every command succeeded');
  t.equal(run(OCIRUN, ['--root', box.root, 'list', '-q']).stdout, '', 'the walkthrough cleans up after itself');
});
