// The state store: one directory a container under the runtime root, holding
// state.json (written atomically) and exec.fifo; a flock on the directory
// keeps two commands on one id from interleaving.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_EX, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../sys/constants.js';
import { close, flock, open } from '../sys/calls.js';
import type { StoredState } from './state.js';

/** runc's rule: letters, digits, and _ + - . ; not "." or "..". */
export function validateId(id: string): void {
  if (!/^[\w+.-]+$/.test(id) || id === '.' || id === '..') throw new Error(`invalid container ID format: "${id}"`);
}

export class NotFoundError extends Error {
  constructor() {
    super('container does not exist');
    this.name = 'NotFoundError';
  }
}

export class Store {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  fifoPath(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  /** Claim the id: mkdir is atomic, so of two creates only one wins. */
  claim(id: string): void {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`container with id exists: ${id}`);
      throw err;
    }
  }

  /** Run fn holding the container's lock; fails with "container does not exist" if it is gone. */
  withLock<T>(id: string, fn: () => T, mustExist = true): T {
    let fd: number;
    try {
      fd = open(this.dir(id), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } catch {
      throw new NotFoundError();
    }
    try {
      flock(fd, LOCK_EX, this.dir(id));
      // A delete that held the lock before us may have removed it meanwhile.
      if (mustExist && !existsSync(join(this.dir(id), 'state.json'))) throw new NotFoundError();
      return fn();
    } finally {
      close(fd);
    }
  }

  read(id: string): StoredState {
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch {
      throw new NotFoundError();
    }
    return JSON.parse(text) as StoredState;
  }

  /** Temp file and rename: a reader sees the old state or the new one, never half. */
  write(state: StoredState): void {
    const final = join(this.dir(state.id), 'state.json');
    const temp = `${final}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(state), { mode: 0o600 });
    renameSync(temp, final);
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Ids with a state file, sorted. */
  list(): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.root);
    } catch {
      return [];
    }
    return entries.filter((e) => existsSync(join(this.root, e, 'state.json'))).sort();
  }
}

/** Write a pid file as engines expect: digits only, no newline, atomically. */
export function writePidFile(path: string, pid: number): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, String(pid), { mode: 0o644 });
  renameSync(temp, path);
}
