// The seccomp filter cache on real containers: the second container with a
// profile gets the program compiled for the first, and the kernel enforces
// it; an entry someone else could have written, or that holds another key,
// is never loaded; without a cache directory every create compiles.
import t, { type Test } from 'tap';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, Sandbox, sharedRootfs, SKIP_NOT_ROOT, TOP } from '../helpers.js';

const skip = SKIP_NOT_ROOT;
const CACHES = join(TOP, 'node_modules', '.cache', 'ocirun-v8');
// A BPF program of one instruction: return SECCOMP_RET_ALLOW.
const ALLOW_ALL = Buffer.from([0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f]);

/** A profile no other test has: mkdir fails with EXDEV; a kill rule on a random signal value makes its key unique. */
function uniqueProfileBox(t: Test): Sandbox {
  const config = baseConfig(['sh', '-c', 'mkdir /tmp/a; echo "mkdir=$?"'], sharedRootfs());
  config.process.noNewPrivileges = true;
  config.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 18 },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 100000 + Math.floor(Math.random() * 1e9), op: 'SCMP_CMP_EQ' }] },
    ],
  };
  return new Sandbox(t, config);
}

interface Outcome { stdout: string; cache: 'compiled' | 'cached' | 'none'; entry: string | null }

function runOnce(t: Test, box: Sandbox, env: NodeJS.ProcessEnv = process.env): Outcome {
  const r = box.ocirun(['--debug', 'run', '--bundle', box.bundle, box.id()], { env });
  t.equal(r.code, 0, `run exits 0 (stderr: ${r.stderr})`);
  const m = /seccomp: filter of \d+ rules (compiled and cached|from the cache) \(([0-9a-f]{8}-\d+)\)/.exec(r.stderr);
  return { stdout: r.stdout, cache: m ? (m[1] === 'from the cache' ? 'cached' : 'compiled') : 'none', entry: m ? m[2]! : null };
}

/** The entry's file in our cache directory (one per Node version and user). */
function entryPath(name: string): string {
  const found = readdirSync(CACHES).map((d) => join(CACHES, d, 'seccomp', name)).filter((p) => existsSync(p));
  if (found.length !== 1) throw new Error(`seccomp cache entry ${name}: ${found.length} files under ${CACHES}`);
  return found[0]!;
}

t.test('the second container with a profile gets the first one\'s program, and the kernel enforces it', { skip }, async (t) => {
  const box = uniqueProfileBox(t);
  const first = runOnce(t, box);
  t.equal(first.cache, 'compiled', 'the first create compiles the profile');
  t.equal(first.stdout, 'mkdir=1\n', 'mkdir denied');
  const path = entryPath(first.entry!);
  const st = statSync(path);
  t.equal(st.mode & 0o777, 0o600, 'the entry is 0600');
  t.equal(st.uid, 0, 'and root\'s');
  t.match(readFileSync(path, 'latin1'), /^ocirun seccomp filter 1\nlibseccomp \d+\.\d+\.\d+ [0-9a-f]+:[0-9a-f]+ \d+ \/\S*libseccomp\.so[^\n]*\nboot [0-9a-f-]{36}\n/, 'its key names the library and the boot');

  const second = runOnce(t, box);
  t.same([second.cache, second.entry], ['cached', first.entry], 'the second create takes it from the cache');
  t.equal(second.stdout, 'mkdir=1\n', 'and mkdir is still denied');

  // What an entry holds is what the container gets: an allow-all program under this key lets mkdir through.
  const raw = readFileSync(path);
  const keyEnd = raw.indexOf(0);
  writeFileSync(path, Buffer.concat([raw.subarray(0, keyEnd + 1), ALLOW_ALL]));
  const trusted = runOnce(t, box);
  t.same([trusted.cache, trusted.stdout], ['cached', 'mkdir=0\n'], 'our own entry is trusted: its program is the one loaded');

  // The same entry, writable by others: never loaded, compiled afresh and stored again.
  chmodSync(path, 0o666);
  const open = runOnce(t, box);
  t.same([open.cache, open.stdout], ['compiled', 'mkdir=1\n'], 'an entry others may write is not loaded');
  t.equal(statSync(path).mode & 0o777, 0o600, 'the entry is written again, 0600');
  t.not(readFileSync(path).subarray(keyEnd + 1).toString('hex'), ALLOW_ALL.toString('hex'), 'with the compiled program');

  // Another user's file.
  writeFileSync(path, Buffer.concat([raw.subarray(0, keyEnd + 1), ALLOW_ALL]));
  chownSync(path, 65534, 65534);
  const foreign = runOnce(t, box);
  t.same([foreign.cache, foreign.stdout], ['compiled', 'mkdir=1\n'], 'an entry of another user is not loaded');

  // Another key under this name (a different boot): not this request's program.
  const otherBoot = raw.toString('latin1', 0, keyEnd).replace(/\nboot [0-9a-f-]+\n/, '\nboot 00000000-0000-0000-0000-000000000000\n');
  writeFileSync(path, Buffer.concat([Buffer.from(`${otherBoot}\0`, 'latin1'), ALLOW_ALL]));
  chownSync(path, 0, 0);
  chmodSync(path, 0o600);
  const stale = runOnce(t, box);
  t.same([stale.cache, stale.stdout], ['compiled', 'mkdir=1\n'], 'an entry of another boot is not loaded');
});

t.test('without a cache directory (NODE_DISABLE_COMPILE_CACHE) every create compiles, and nothing is stored', { skip }, async (t) => {
  const box = uniqueProfileBox(t);
  const env = { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' };
  for (let i = 0; i < 2; i++) {
    const r = runOnce(t, box, env);
    t.same([r.cache, r.stdout], ['none', 'mkdir=1\n'], `run ${i + 1}: compiled, not cached, mkdir denied`);
  }
  const cached = runOnce(t, box);
  t.equal(cached.cache, 'compiled', 'the same profile with the cache: not there yet');
});
