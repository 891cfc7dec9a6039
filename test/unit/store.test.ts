// container/store.ts on a temp dir (no root): ids, the atomic claim, locks,
// removal, and the side directories a crash may leave.
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { replaceFile } from '../../src/linux/files.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, Store, validateId, writePidFile } from '../../src/container/store.js';
import type { StoredState } from '../../src/container/state.js';
import { close, flock, open } from '../../src/sys/calls.js';
import { LOCK_EX, LOCK_NB, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../../src/sys/constants.js';

const top = mkdtempSync(join(tmpdir(), 'ocirun-store-'));
t.teardown(() => rmSync(top, { recursive: true, force: true }));
let n = 0;
const freshStore = (): Store => new Store(join(top, `root${++n}`));

function record(id: string): StoredState {
  return {
    ociVersion: '1.3.0', id, pid: 0, pidStartTime: 0, bundle: '/b', rootfs: '/b/rootfs', created: '2026-01-01T00:00:00.000000000Z',
    annotations: {}, creating: true, ownPidNamespace: true,
  };
}

/** Hold a directory's flock as another command would (flock locks conflict between open files, even in one process). */
function holdLock(path: string): () => void {
  const fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  flock(fd, LOCK_EX | LOCK_NB, path);
  return () => close(fd);
}

t.test('ids: runc\'s rule', async (t) => {
  for (const ok of ['a', 'abc-1_2+3.4', 'A.B', '...']) t.doesNotThrow(() => validateId(ok), ok);
  for (const bad of ['', '.', '..', 'a/b', 'a b', 'a:claim', 'é']) t.throws(() => validateId(bad), { message: `invalid container ID format: "${bad}"` }, JSON.stringify(bad));
});

t.test('claim: the id appears with its record, once; a second claim is refused', async (t) => {
  const store = freshStore();
  const lock = store.claim(record('c1'));
  t.ok(store.has('c1'));
  t.same(store.read('c1'), record('c1'));
  t.same(readdirSync(store.root), ['c1'], 'no claim directory or temp file left');
  t.throws(() => store.claim(record('c1')), { message: 'container with id exists: c1' }, 'while the creator holds it');
  lock.release();
  t.throws(() => store.claim(record('c1')), { message: 'container with id exists: c1' }, 'after it let go');
});

t.test('read, write, list', async (t) => {
  const store = freshStore();
  t.same(store.list(), [], 'no root yet: no containers');
  t.throws(() => store.read('nope'), NotFoundError);
  store.claim(record('b')).release();
  store.claim(record('a')).release();
  mkdirSync(join(store.root, 'x:gone'));
  mkdirSync(join(store.root, 'stray'));
  t.same(store.list(), ['a', 'b'], 'sorted, side and stray directories left out');
  store.write({ ...record('a'), pid: 42, creating: false });
  t.equal(store.read('a').pid, 42);
  t.same(readdirSync(store.dir('a')), ['state.json'], 'the temp file was renamed into place');
  t.throws(() => store.write(record('missing')), { message: `cannot write ${join(store.dir('missing'), 'state.json')}: ENOENT` });
});

t.test('withLock runs under the lock; a missing or removed container is "does not exist"', async (t) => {
  const store = freshStore();
  store.claim(record('w')).release();
  t.equal(store.withLock('w', () => 7), 7);
  t.throws(() => store.withLock('other', () => 0), { message: 'container does not exist' });
  store.withLock('w', () => store.bury('w'));
  t.notOk(existsSync(store.dir('w')));
  t.same(readdirSync(store.root), [], 'bury leaves no grave behind');
  t.throws(() => store.withLock('w', () => 0), NotFoundError);
  mkdirSync(store.dir('empty'));
  t.throws(() => store.withLock('empty', () => 0), NotFoundError, 'a directory without state.json is no container');
  t.equal(store.withLock('empty', () => 'ran', false), 'ran', 'unless the caller does not need one');
});

t.test('a directory without a record under the id is cleared by the next claim, unless someone holds it', async (t) => {
  const store = freshStore();
  mkdirSync(store.dir('r'), { recursive: true });
  const release = holdLock(store.dir('r'));
  t.throws(() => store.claim(record('r')), { message: 'container with id exists: r' });
  release();
  store.claim(record('r')).release();
  t.ok(store.has('r'));
});

t.test('an empty record (a power failure on a disk-backed root) is no record: read says "does not exist", a claim clears it', async (t) => {
  const store = freshStore();
  mkdirSync(store.dir('e'), { recursive: true });
  writeFileSync(join(store.dir('e'), 'state.json'), '');
  t.notOk(store.has('e'));
  t.throws(() => store.read('e'), NotFoundError);
  store.claim(record('e')).release();
  t.equal(store.read('e').id, 'e', 'the claim replaced it');
});

t.test('replaceFile: the new file in place of the old, atomically; the old one and the temp name gone', async (t) => {
  const dir = mkdtempSync(join(top, 'replace-'));
  const final = join(dir, 'state.json');
  writeFileSync(join(dir, 'a.tmp'), 'first');
  replaceFile(join(dir, 'a.tmp'), final);
  t.equal(readFileSync(final, 'utf8'), 'first', 'nothing to replace: renamed');
  const before = statSync(final).ino;
  writeFileSync(join(dir, 'b.tmp'), 'second');
  replaceFile(join(dir, 'b.tmp'), final);
  t.equal(readFileSync(final, 'utf8'), 'second', 'replaced');
  t.not(statSync(final).ino, before, 'by the new file (exchanged), not rewritten');
  t.same(readdirSync(dir), ['state.json'], 'the old file went with the temp name');
});

t.test('a claim directory left by a dead create is swept; one held by a live create wins', async (t) => {
  const store = freshStore();
  mkdirSync(join(store.root, 'k:claim'), { recursive: true });
  const release = holdLock(join(store.root, 'k:claim'));
  t.throws(() => store.claim(record('k')), { message: 'container with id exists: k' });
  store.sweep('k');
  t.ok(existsSync(join(store.root, 'k:claim')), 'sweep leaves a locked claim alone');
  release();
  store.claim(record('k')).release();
  t.same(readdirSync(store.root), ['k']);
  mkdirSync(join(store.root, 'k:gone'));
  mkdirSync(join(store.root, 'k:claim'));
  store.sweep('k');
  t.same(readdirSync(store.root), ['k'], 'unlocked side directories are removed');
});

t.test('pid files: digits only, no newline', async (t) => {
  const path = join(top, 'pidfile');
  writePidFile(path, 1234);
  t.equal(readFileSync(path, 'utf8'), '1234');
  t.same(readdirSync(top).filter((f) => f.startsWith('pidfile')), ['pidfile']);
});

t.test('prepareWrite: the record is in its temp file until commit; discard leaves the old one; bury takes a left temp file too', async (t) => {
  const store = freshStore();
  const lock = store.claim(record('p1'));
  t.teardown(() => lock.release());
  const next = { ...record('p1'), creating: false, pid: 42 };
  const prepared = store.prepareWrite(next);
  t.same(store.read('p1'), record('p1'), 'before commit a reader sees the old record');
  t.equal(readdirSync(store.dir('p1')).filter((f) => f.endsWith('.tmp')).length, 1, 'its temp file');
  prepared.commit();
  t.same(store.read('p1'), next, 'after commit the new one');
  t.same(readdirSync(store.dir('p1')), ['state.json'], 'no temp file left');
  store.prepareWrite({ ...next, pid: 43 }).discard();
  t.same(store.read('p1'), next, 'discarded: unchanged');
  t.same(readdirSync(store.dir('p1')), ['state.json'], 'and no temp file');
  store.prepareWrite({ ...next, pid: 44 });
  store.bury('p1');
  t.notOk(existsSync(store.dir('p1')), 'a temp file a crash left goes with the record');
});
