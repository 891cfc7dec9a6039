// `ocirun --version` in runc's layout, and the shell completion yargs builds
// from the command table, exercised through bash's own completion machinery.
import t from 'tap';
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { OCIRUN, run, TOP } from '../helpers.js';

t.test('--version: version, commit, spec, node, libseccomp (as runc prints them)', async (t) => {
  const r = run(OCIRUN, ['--version']);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ocirun version \d+\.\d+\.\d+\S*$/, 'first line: "ocirun version X.Y.Z", what engines read');
  const pkg = JSON.parse(run('cat', [`${TOP}/package.json`]).stdout) as { version: string };
  t.equal(lines[0], `ocirun version ${pkg.version}`, 'the version of package.json');
  const commit = /^commit: (\S+)$/.exec(lines[1] ?? '')?.[1] ?? '';
  t.ok(commit, 'a commit line');
  const hash = commit.replace(/-dirty$/, '').replace(/^.*-g/, '');
  t.equal(run('git', ['-C', TOP, 'cat-file', '-e', `${hash}^{commit}`]).code, 0, `the commit (${commit}) is one of this repository's`);
  t.equal(lines[2], 'spec: 1.3.0', 'the runtime-spec version');
  t.equal(lines[3], `node: ${run(`${TOP}/node_modules/node-linux-${process.arch}/bin/node`, ['--version']).stdout.trim()}`, 'the pinned Node');
  // libseccomp's real file name carries its version: an independent witness.
  const so = ['/usr/lib/x86_64-linux-gnu/libseccomp.so.2', '/usr/lib/aarch64-linux-gnu/libseccomp.so.2'].find((p) => run('test', ['-e', p]).code === 0);
  if (so) t.equal(lines[4], `libseccomp: ${realpathSync(so).replace(/^.*libseccomp\.so\./, '')}`, 'the libseccomp loaded');
  t.equal(run(OCIRUN, ['-v']).stdout, r.stdout, '-v is --version');
});

t.test('completion: a bash script whose function completes commands and flags', async (t) => {
  const script = run(OCIRUN, ['completion']);
  t.equal(script.code, 0);
  t.match(script.stdout, /complete .*-F _ocirun_yargs_completions ocirun/);
  // The script calls `ocirun` from PATH: put this build first.
  const complete = (words: string[]) => run('bash', ['-c', [
    'eval "$(cat)"',
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}`,
    '_ocirun_yargs_completions; printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n')], { input: script.stdout, env: { ...process.env, PATH: `${dirname(OCIRUN)}:${process.env.PATH}` } }).stdout.trim().split('\n');
  t.same(complete(['ocirun', 'cre']), ['create'], 'a command');
  t.same(complete(['ocirun', 'pa']), ['pause'], 'another');
  t.same(complete(['ocirun', 'create', '--pid']), ['--pid-file'], "a command's flag");
  t.ok(complete(['ocirun', '--lo']).includes('--log-format'), 'a global flag');
});
