// The init plan's format and executor without root: plans encoded by
// initcode.ts go through native/plantest (plan_check / plan_run of
// native/plan.c); malformed and truncated plans must be refused, never
// crash; in-root resolution is checked both ways (openat2 and the walk).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePlan, type InitOp, MOUNT_IN_ROOT, MOUNT_MKDIR } from '../../src/linux/initcode.js';
import { describeFailure } from '../../src/linux/initops.js';
import { TOP } from '../helpers.js';

const build = spawnSync('make', ['-s', '-C', join(TOP, 'native'), 'plantest'], { encoding: 'utf8' });
const HARNESS = join(TOP, 'native/plantest');

function harness(args: string[], input?: Buffer): { code: number | null; signal: string | null; out: string } {
  const r = spawnSync(HARNESS, args, { input, encoding: 'utf8' });
  return { code: r.status, signal: r.signal, out: r.stdout.trim() };
}

const tmp = mkdtempSync(join(tmpdir(), 'ocirun-plan-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
t.equal(build.status, 0, `plantest builds: ${build.stderr}`);

/** A plan with every field kind: strings, blobs, string lists, u64s, a finalize with hooks. */
function samplePlan(): Buffer {
  const ops: InitOp[] = [
    { what: 'open root', op: 'open-root', path: tmp },
    { what: 'a mount', op: 'mount', how: MOUNT_IN_ROOT | MOUNT_MKDIR, source: 'tmpfs', target: '/x', fstype: 'tmpfs', flags: 0x6, data: 'mode=755' },
    { what: 'a sysctl', op: 'write', path: '/proc/sys/x', data: '1' },
    { what: 'rlimit', op: 'rlimit', resource: 7, soft: '1024', hard: '18446744073709551615' },
    { what: 'affinity', op: 'affinity', cpus: [0, 3] },
    { what: 'hook', op: 'hook', kind: 'createContainer', index: 0, hook: { path: '/bin/true', args: ['true'], env: ['A=b'], timeout: 5 }, state: '{}' },
    { what: 'lookpath', op: 'lookpath', name: 'sh', explicit: false, candidates: ['/bin/sh', '/usr/bin/sh'] },
    {
      what: 'process', op: 'finalize', finalize: {
        umask: 0o22, setGroups: true, groups: [1, 2], uid: 1000, gid: 1000, capBounding: '5', capEffective: '5', capPermitted: '5',
        capInheritable: '0', capAmbient: '0', lastCap: 40, noNewPrivs: true, seccomp: Buffer.alloc(16).toString('base64'), seccompFlags: 0,
        listenerSlot: -1, listenerState: '', preserveFds: 0, cwd: '/', argv: ['sh'], env: ['PATH=/bin'], execAttrs: [],
        start: { fifoSlot: 0, hooks: [{ path: '/bin/true', args: ['true'], env: [], timeout: 0 }], state: '{}' },
      },
    },
  ];
  return encodePlan({ ops, flags: 0 });
}

t.test('a well-formed plan passes the check', async (t) => {
  t.same(harness(['check', '1'], samplePlan()), { code: 0, signal: null, out: 'ok' });
  // exec.fifo's slot (0) must come with the plan: without fds it is refused.
  t.same(harness(['check', '0'], samplePlan()), { code: 2, signal: null, out: 'invalid at op 7' });
});

t.test('every truncation of a plan is refused, none crashes', async (t) => {
  const plan = samplePlan();
  const bad: number[] = [];
  for (let len = 0; len < plan.length; len++) {
    const r = harness(['check', '1'], plan.subarray(0, len));
    if (r.code !== 2 || r.signal !== null || !r.out.startsWith('invalid')) bad.push(len);
  }
  t.same(bad, [], `all ${plan.length} truncated lengths refused`);
  // Trailing bytes after the last op are refused too.
  t.equal(harness(['check', '1'], Buffer.concat([plan, Buffer.alloc(1)])).code, 2);
});

t.test('corrupted plans: refused or accepted, never a crash', async (t) => {
  const plan = samplePlan();
  const refused: number[] = [];
  const crashed: number[] = [];
  for (let i = 0; i < plan.length; i++) {
    const copy = Buffer.from(plan);
    copy[i] = (copy[i] as number) ^ 0xff;
    const r = harness(['check', '1'], copy);
    if (r.signal !== null || (r.code !== 0 && r.code !== 2)) crashed.push(i);
    if (r.code === 2) refused.push(i);
  }
  t.same(crashed, [], 'no byte flip crashes the checker');
  // A flipped byte inside a string's text is still a well-formed plan; the header never is.
  t.same(refused.filter((i) => i < 16), [...Array(16).keys()], 'every flip in the header is refused');
  t.ok(refused.length > 100, `${refused.length} of ${plan.length} flips refused`);
});

t.test('specific malformations name the op', async (t) => {
  const enc = (ops: InitOp[]): Buffer => encodePlan({ ops, flags: 0 });
  const write = enc([{ what: 'w', op: 'write', path: '/x', data: 'y' }]);
  // op code 0, and one past the last
  const unknown = Buffer.from(write); unknown.writeUInt32LE(0, 16);
  t.equal(harness(['check'], unknown).out, 'invalid at op 0');
  const beyond = Buffer.from(write); beyond.writeUInt32LE(28, 16);
  t.equal(harness(['check'], beyond).out, 'invalid at op 0');
  // a string whose terminating NUL is not there
  const noNul = Buffer.from(write); noNul[24 + 4 + 2] = 0x41;
  t.equal(harness(['check'], noNul).out, 'invalid at op 0');
  // an inner NUL in a string
  const innerNul = Buffer.from(write); innerNul[24 + 4] = 0;
  t.equal(harness(['check'], innerNul).out, 'invalid at op 0');
  // more ops announced than present, and a bad magic
  const count = Buffer.from(write); count.writeUInt32LE(2, 12);
  t.equal(harness(['check'], count).out, 'invalid at op 1');
  const magic = Buffer.from(write); magic[0] = 0x58;
  t.equal(harness(['check'], magic).out, 'invalid at op -1');
  // a string list claiming far more entries than bytes
  const hook = enc([{ what: 'h', op: 'hook', kind: 'createContainer', index: 0, hook: { path: '/bin/true', args: [], env: [], timeout: 0 }, state: '' }]);
  const huge = Buffer.from(hook); huge.writeUInt32LE(0x7fffffff, 24 + 4 + 9 + 1);
  t.equal(harness(['check'], huge).out, 'invalid at op 0');
  // a terminal naming an fd slot that did not come with the plan
  t.equal(harness(['check', '1'], enc([{ what: 't', op: 'terminal', slot: 1, rows: 0, cols: 0 }])).out, 'invalid at op 0');
  t.equal(harness(['check', '2'], enc([{ what: 't', op: 'terminal', slot: 1, rows: 0, cols: 0 }])).out, 'ok');
  // strings with a NUL cannot even be encoded
  t.throws(() => enc([{ what: 'w', op: 'write', path: '/x\0y', data: '' }]), /NUL/);
});

t.test('ops run in order and a failure names its op', async (t) => {
  const file = join(tmp, 'target');
  writeFileSync(file, '');
  const ops: InitOp[] = [
    { what: 'mkdirs', op: 'mkdirs', path: join(tmp, 'a/b/c') },
    { what: 'linux.sysctl["x"]', op: 'write', path: file, data: 'hello' },
    { what: 'linux.sysctl["missing"]', op: 'write', path: join(tmp, 'no/such/file'), data: 'x' },
    { what: 'never', op: 'mkdirs', path: join(tmp, 'never') },
  ];
  const r = harness(['run'], encodePlan({ ops, flags: 0 }));
  t.equal(r.out, 'failed at op 2: write: ENOENT');
  t.equal(readFileSync(file, 'utf8'), 'hello', 'the ops before it ran');
  t.ok(existsSync(join(tmp, 'a/b/c')));
  t.notOk(existsSync(join(tmp, 'never')), 'the ops after it did not');
  t.equal(describeFailure(ops, { op: 2, errno: 2, detail: 0, step: 'write' }), `linux.sysctl["missing"]: write ${join(tmp, 'no/such/file')}: ENOENT`);
  const look: InitOp[] = [{ what: 'process.args[0]', op: 'lookpath', name: 'nope', explicit: false, candidates: [join(tmp, 'nope')] }];
  t.equal(harness(['run'], encodePlan({ ops: look, flags: 0 })).out, 'failed at op 0: lookpath: ENOENT');
  t.equal(describeFailure(look, { op: 0, errno: 2, detail: 0, step: 'lookpath' }), 'exec: "nope": executable file not found in $PATH');
});

t.test('in-root resolution: neither ".." nor a symlink leads out, both ways', async (t) => {
  const root = realpathSync(mkdtempSync(join(tmp, 'root-')));
  mkdirSync(join(root, 'etc'));
  symlinkSync('/etc', join(root, 'abs'));          // absolute: restarts at the root
  symlinkSync('../../../../..', join(root, 'up'));  // climbs: stops at the root
  symlinkSync('/proc/self/root', join(root, 'proc-root')); // names the host's root outside; inside it is nothing
  symlinkSync('loop', join(root, 'loop'));
  const how = ['walk', 'openat2', 'auto'];
  for (const h of how) {
    const at = (path: string, create = 'none'): string => harness(['resolve', root, path, create, h]).out;
    t.equal(at('/abs'), join(root, 'etc'), `${h}: an absolute symlink stays in the root`);
    t.equal(at('/up/etc'), join(root, 'etc'), `${h}: a climbing symlink stops at the root`);
    t.equal(at('../../../etc'), join(root, 'etc'), `${h}: ".." stops at the root`);
    t.equal(at('/proc-root/etc'), 'ENOENT', `${h}: a link to /proc/self/root does not reach the host`);
    t.equal(at('/loop'), 'ELOOP', `${h}: a symlink loop ends`);
  }
  // Only the walk creates: auto falls back to it for what is missing.
  t.equal(harness(['resolve', root, '/up/new/dir', 'dir', 'walk']).out, join(root, 'new/dir'), 'walk: missing directories made inside');
  t.equal(harness(['resolve', root, '/abs/made', 'file', 'auto']).out, join(root, 'etc/made'), 'auto: a missing file made inside');
  t.equal(harness(['resolve', root, '/abs/nothing', 'none', 'openat2']).out, 'ENOENT');
  t.notOk(existsSync('/etc/made'), 'nothing was made on the host');
});

t.test('strings: length, UTF-8 bytes and a NUL, ASCII or not; a NUL inside is refused', async (t) => {
  const at = (s: string): Buffer => {
    const b = encodePlan({ ops: [{ op: 'chdir', path: s, what: 'process.cwd' }], flags: 0 });
    // magic (8), flags, count, op code, op length, then the string
    return b.subarray(8 + 16);
  };
  for (const s of ['/', '/work/dir', '/caf\u00e9/\u65e5\u672c', '/\u{1F600}', '']) {
    const utf8 = Buffer.from(s, 'utf8');
    const got = at(s);
    t.equal(got.readUInt32LE(0), utf8.length, `${JSON.stringify(s)}: its UTF-8 length`);
    t.same(got.subarray(4, 4 + utf8.length), utf8, 'its bytes');
    t.equal(got[4 + utf8.length], 0, 'and a NUL');
    t.equal(got.length, 4 + utf8.length + 1, 'and nothing more');
  }
  const long = 'x'.repeat(10_000) + '\u00e9';
  t.equal(at(long).readUInt32LE(0), 10_002, 'a string longer than the first buffer');
  t.throws(() => at('/a\0b'), /NUL byte/);
});
