// The state store: one directory a container under the runtime root, holding
// state.json (written atomically) and exec.fifo; a flock on the directory
// keeps two commands on one id from interleaving.
//
// Crash safety: the name `<id>` only ever appears with a state.json in it
// (create fills `<id>:claim` and renames it into place without replacing
// anything), and only ever disappears at once (delete renames it to
// `<id>:gone` before removing the files). A process killed at any point so
// leaves either a whole record or nothing under `<id>`; the side
// directories it may leave are swept by the next create or delete of that
// id, once their lock shows that no live process owns them. `:` cannot be
// part of an id, so they never pass for a container.
import { existsSync, fstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { errnoCode } from '../config/errors.js';
import { HASH_INPUT_LIMIT, tooBigForFixedSeed } from '../config/hashlimit.js';
import { honorsXdgRuntimeDir } from '../linux/rootless.js';
import { replaceFile, unlinkIfPresent } from '../linux/files.js';
import { lockExclusive, openDir, renameIfAbsent, tryLockDir, unlock } from '../linux/filelock.js';
import type { StoredState } from './state.js';
import { faultPoint } from './faultpoint.js';
import { idCharacters } from '../config/chars.js';

/**
 * Remove a container's state directory: its files, then itself. Node's
 * recursive rmSync would do, but it loads and runs its rimraf (~0.5 ms of
 * every delete); a directory inside (none of ours makes one) fails unlink
 * (EISDIR) and falls back to it. Names only: no Dirent objects to make.
 */
function removeStateDir(dir: string): void {
  try {
    for (const name of readdirSync(dir)) unlinkSync(`${dir}/${name}`);
    rmdirSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Where state lives without --root, as runc decides: /run/ocirun for root, $XDG_RUNTIME_DIR/ocirun for a rootless caller (rootless podman included). */
export function defaultRoot(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && honorsXdgRuntimeDir()) return join(xdg, 'ocirun');
  if (process.geteuid?.() === 0) return '/run/ocirun';
  return `/tmp/ocirun-${process.geteuid?.() ?? 0}`;
}

/** runc's rule: letters, digits, and _ + - . ; not "." or "..". */
export function validateId(id: string): void {
  if (!idCharacters(id) || id === '.' || id === '..') throw new Error(`invalid container ID format: "${id}"`);
}

/** A record written to its temp file, put in place by commit (Store.prepareWrite). */
export interface PreparedWrite {
  commit(): void;
  discard(): void;
}

function cannotWrite(final: string, err: unknown): Error {
  // Node's own message leaves the file out ("ENOSPC: no space left on device, write").
  return new Error(`cannot write ${final}: ${errnoCode(err) ?? (err as Error).message}`, { cause: err });
}

function writeTemp(final: string, temp: string, state: StoredState): void {
  try {
    writeFileSync(temp, JSON.stringify(state), { mode: 0o600 });
  } catch (err) {
    unlinkIfPresent(temp);
    throw cannotWrite(final, err);
  }
}

function renameTemp(final: string, temp: string): void {
  try {
    replaceFile(temp, final);
  } catch (err) {
    unlinkIfPresent(temp);
    throw cannotWrite(final, err);
  }
}

export class NotFoundError extends Error {
  constructor() {
    super('container does not exist');
    this.name = 'NotFoundError';
  }
}


/** A directory's lock, held until released (or until our process dies: the kernel drops it then). */
export interface DirLock {
  release(): void;
}

/** The locked fd still names what `path` names (a rename may have moved it meanwhile). */
function sameDir(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

export class Store {
  /**
   * The root, normalized, without a trailing slash ("" for /): a name in it
   * is then `${base}/${name}`, what path.join makes, without its
   * normalizing loop (interpreted JavaScript, ~7 us a call; a run made ~25).
   * null for the current directory, where path.join drops the "./".
   */
  private readonly base: string | null;

  constructor(readonly root: string) {
    const n = normalize(root);
    this.base = n === '.' ? null : n.endsWith('/') ? n.slice(0, -1) : n;
  }

  /** base/name for a name path.join would leave as it is (no slash, not . or ..); else path.join. */
  private in(name: string): string {
    const plain = this.base !== null && name !== '' && name !== '.' && name !== '..' && !name.includes('/');
    return plain ? `${this.base}/${name}` : join(this.root, name);
  }

  dir(id: string): string {
    return this.in(id);
  }

  fifoPath(id: string): string {
    return `${this.dir(id)}/exec.fifo`;
  }

  /** Where create fills in a new record before it takes the id's name. */
  private claimDir(id: string): string {
    return this.in(`${id}:claim`);
  }

  /** Where delete moves a record before removing its files. */
  private graveDir(id: string): string {
    return this.in(`${id}:gone`);
  }

  private stateFile(id: string): string {
    return `${this.dir(id)}/state.json`;
  }

  /** A record exists under this id. */
  has(id: string): boolean {
    return (statSync(this.stateFile(id), { throwIfNoEntry: false })?.size ?? 0) > 0;
  }

  /**
   * Claim the id with its first record, atomically: `<id>` appears with
   * state.json already in it, and locked by us, or not at all. Of two
   * creates only one wins; a directory without a record that a crash left
   * under the id is cleared first.
   */
  claim(state: StoredState): DirLock {
    const id = state.id;
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    const exists = (): Error => new Error(`container with id exists: ${id}`);
    if (existsSync(this.dir(id))) {
      if (this.has(id) || !this.clearRemnant(id)) throw exists();
    }
    const tmp = this.claimDir(id);
    try {
      mkdirSync(tmp, { mode: 0o711 });
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      // A claim left by a create that died, or one in progress (whose lock we cannot take).
      if (!this.sweepOne(tmp)) throw exists();
      try { mkdirSync(tmp, { mode: 0o711 }); } catch { throw exists(); }
    }
    const fd = openDir(tmp);
    let done = false;
    try {
      lockExclusive(fd, tmp);
      // A sweeper took it for a dead create's and removed it before we locked it: another create has the id.
      if (!sameDir(fd, tmp)) throw exists();
      faultPoint('create:claim-dir');
      this.writeIn(tmp, state);
      let renamed: boolean;
      try {
        renamed = renameIfAbsent(tmp, this.dir(id));
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        throw err;
      }
      if (!renamed) {
        rmSync(tmp, { recursive: true, force: true });
        throw exists();
      }
      done = true;
      return { release: () => unlock(fd) };
    } finally {
      if (!done) unlock(fd);
    }
  }

  /** Run fn holding the container's lock; fails with "container does not exist" if it is gone. */
  withLock<T>(id: string, fn: () => T, mustExist = true): T {
    const path = this.dir(id);
    let fd: number;
    try {
      fd = openDir(path);
    } catch {
      throw new NotFoundError();
    }
    try {
      lockExclusive(fd, path);
      // A delete that held the lock before us may have removed it, or moved it away, meanwhile.
      if (!sameDir(fd, path)) throw new NotFoundError();
      if (mustExist && !existsSync(`${path}/state.json`)) throw new NotFoundError();
      return fn();
    } finally {
      unlock(fd);
    }
  }

  read(id: string): StoredState {
    let text: string;
    try {
      text = readFileSync(this.stateFile(id), 'utf8');
    } catch {
      throw new NotFoundError();
    }
    // Empty: what a power failure can leave of a record written just before
    // it, on a disk (replaceFile); the container died with the machine. We
    // never write one, so it is a record no more than a missing one.
    if (text.length === 0) throw new NotFoundError();
    // Measured at start-up (cli/seedguard.ts); larger now only if it was replaced meanwhile.
    if (tooBigForFixedSeed(text.length, true)) throw new Error(`the state of ${id} grew past ${HASH_INPUT_LIMIT / 1024} KiB while ocirun ran; run the command again`);
    return JSON.parse(text) as StoredState;
  }

  /** Temp file and rename: a reader sees the old state or the new one, never half. */
  write(state: StoredState): void {
    this.writeIn(this.dir(state.id), state);
  }

  /**
   * The same write in two halves: the temp file now, the rename at commit.
   * create prepares its last record while the init works and only renames
   * it once the init is ready. A temp file a crash leaves in the directory
   * goes with it (delete empties it whole).
   */
  prepareWrite(state: StoredState): PreparedWrite {
    const final = this.stateFile(state.id);
    const temp = `${final}.${process.pid}.next.tmp`;
    writeTemp(final, temp, state);
    return {
      commit: () => renameTemp(final, temp),
      discard: () => unlinkIfPresent(temp),
    };
  }

  private writeIn(dir: string, state: StoredState): void {
    const final = `${dir}/state.json`;
    const temp = `${final}.${process.pid}.tmp`;
    writeTemp(final, temp, state);
    renameTemp(final, temp);
  }

  /**
   * Remove the record, holding its lock: the name goes first, in one rename,
   * so a crash while the files are removed leaves nothing under the id.
   */
  bury(id: string): void {
    const grave = this.graveDir(id);
    if (existsSync(grave)) removeStateDir(grave);
    faultPoint('delete:before-rename');
    renameSync(this.dir(id), grave);
    faultPoint('delete:renamed');
    removeStateDir(grave);
  }

  /**
   * `<id>` without a state.json: what a crash of an older version, or a
   * stray mkdir, leaves. Cleared under its lock; false when someone holds it.
   */
  clearRemnant(id: string): boolean {
    const fd = tryLockDir(this.dir(id));
    if (fd < 0) return !existsSync(this.dir(id));
    try {
      if (!sameDir(fd, this.dir(id))) return false;
      if (this.has(id)) return false;
      this.bury(id);
      return true;
    } finally {
      unlock(fd);
    }
  }

  /** Remove the side directories of an id that no live process owns. */
  sweep(id: string): void {
    this.sweepOne(this.claimDir(id));
    this.sweepOne(this.graveDir(id));
  }

  /** Remove one side directory if its lock is free; true when it is gone. */
  private sweepOne(path: string): boolean {
    const fd = tryLockDir(path);
    if (fd < 0) return !existsSync(path);
    try {
      if (!sameDir(fd, path)) return false;
      rmSync(path, { recursive: true, force: true });
      return true;
    } finally {
      unlock(fd);
    }
  }

  /** Ids with a state file, sorted. */
  list(): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.root);
    } catch {
      return [];
    }
    return entries.filter((e) => !e.includes(':') && existsSync(join(this.root, e, 'state.json'))).sort();
  }
}

/** Write a pid file as engines expect: digits only, no newline, atomically. */
export function writePidFile(path: string, pid: number): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, String(pid), { mode: 0o644 });
  renameSync(temp, path);
}
