// The guard that makes --no-rehash-snapshot safe (see config/hashlimit.ts):
// before a command does anything, the inputs whose strings it will hash are
// measured, and when they exceed HASH_INPUT_LIMIT the command is handed,
// unchanged, to a Node that draws a random hash seed: the same node, the
// same arguments and environment, without the flag. That process has no
// flag to drop, so it never re-executes again.
//
// What counts (everything a command parses into objects, Maps or Sets):
// the arguments (yargs keys its result by option names; exec's --env and
// command line), config.json of create/run/plan/restore, exec's process
// file or else the container's config.json, checkpoint's config.json, the
// container's state.json (its annotations) for every command on an existing
// container and every one of them for list, update's --resources document,
// and restore's descriptors.json; `events` always goes (see below). Not
// counted, because nothing of it becomes a key, so it cannot grow a table:
// the image's /etc/passwd (linux/home.ts compares its lines' uid field and
// keeps one home), `ps` output (only pids, numbers, go in a Set), the
// cgroup tree (kept in arrays) and the kernel's key-value files (the
// kernel's own names), CRIU's replies (fixed protobuf fields), and the
// environment (read by name, never enumerated).
import { fstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HASH_INPUT_LIMIT, NO_REHASH_FLAG, fixedHashSeed, recordIsDerived } from '../config/hashlimit.js';
import type { ParsedArgs } from './defs.js';
import { idCharacters } from '../config/chars.js';

/** What the decision needs from the file system (a fake in the unit test). */
export interface InputProbe {
  /**
   * Bytes of the file at path: 0 when it does not exist or is a directory
   * (reading it fails before anything is hashed), Infinity when its size
   * cannot be known before reading it (a pipe, a device).
   */
  size(path: string): number;
  /** The names under the state root (list reads each one's state.json). */
  names(root: string): string[];
  /** The bundle a state.json records (exec and checkpoint read its config.json). */
  bundleOf(stateFile: string): string | undefined;
}

/** Commands that write the record they later read: their config is its source. */
const CREATORS = new Set(['create', 'run', 'restore']);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** runc's id rule (store.ts validateId): any other id is refused before a file is read. */
const plainId = (id: string | undefined): id is string => id !== undefined && idCharacters(id) && id !== '.' && id !== '..';

/**
 * Whether this command line will hash more than HASH_INPUT_LIMIT bytes of
 * input: the arguments, and (args parsed) the files the command reads.
 */
export function needsRandomSeed(argv: readonly string[], args: ParsedArgs | null, root: string, probe: InputProbe): boolean {
  let total = 0;
  const over = (bytes: number): boolean => (total += bytes) > HASH_INPUT_LIMIT;
  for (const a of argv) if (over(a.length + 1)) return true;
  if (!args) return false;
  const o = args.options;
  const id = args.positionals['container-id'];
  const config = (bundle: string): string => join(resolve(bundle), 'config.json');
  const state = plainId(id) ? join(root, id, 'state.json') : undefined;
  if (state !== undefined && over(probe.size(state))) return true;
  switch (args.command) {
    case 'create': case 'run': case 'plan':
      return over(probe.size(config(str(o.bundle) ?? '.')));
    case 'restore':
      // criu/common.ts imagePathOf: the image directory defaults to ./checkpoint.
      return over(probe.size(config(str(o.bundle) ?? '.'))) || over(probe.size(join(resolve(str(o['image-path']) ?? 'checkpoint'), 'descriptors.json')));
    case 'exec': case 'checkpoint': {
      const processFile = args.command === 'exec' ? str(o.process) : undefined;
      if (processFile !== undefined) return over(probe.size(resolve(processFile)));
      const bundle = state === undefined ? undefined : probe.bundleOf(state);
      return bundle !== undefined && over(probe.size(config(bundle)));
    }
    case 'update': {
      const resources = str(o.resources);
      return resources !== undefined && over(probe.size(resources === '-' ? '/dev/stdin' : resolve(resources)));
    }
    case 'events':
      // stats.ts keys hugetlb figures by the names it lists in the container's
      // cgroup directory, where a container that may write its cgroup can add
      // directories: no size to measure ahead, and events runs long anyway.
      return true;
    case 'list':
      for (const name of probe.names(root)) if (!name.includes(':') && over(probe.size(join(root, name, 'state.json')))) return true;
      return false;
    default:
      return false;
  }
}

const realProbe: InputProbe = {
  size(path) {
    try {
      const st = path === '/dev/stdin' ? fstatSync(0) : statSync(path);
      if (st.isFile()) return st.size;
      return st.isDirectory() ? 0 : Infinity;
    } catch {
      return 0;
    }
  },
  names(root) {
    try { return readdirSync(root); } catch { return []; }
  },
  bundleOf(stateFile) {
    try { return str((JSON.parse(readFileSync(stateFile, 'utf8')) as { bundle?: unknown }).bundle); } catch { return undefined; }
  },
};

/**
 * Call before the command does anything (nothing created, opened or locked
 * yet). Returns when this process may go on; otherwise it becomes a Node
 * with a random seed running the same command, and never returns.
 */
export async function guardHashSeed(args: ParsedArgs | null, root: string): Promise<void> {
  if (!fixedHashSeed()) return;
  if (!needsRandomSeed(process.argv.slice(2), args, root, realProbe)) {
    if (args && CREATORS.has(args.command)) recordIsDerived();
    return;
  }
  const { passedFds, reexecWithout } = await import('../container/reexec.js');
  const preserve = args ? args.options['preserve-fds'] : preserveFdsIn(process.argv.slice(2));
  reexecWithout(NO_REHASH_FLAG, passedFds(args?.command ?? 'create', typeof preserve === 'number' ? preserve : 0));
}

/** --preserve-fds N of a command line the fast parser declined (yargs parses it later): the largest given, to keep enough fds. */
export function preserveFdsIn(argv: readonly string[]): number {
  let n = 0;
  argv.forEach((a, i) => {
    const m = /^--?preserve-fds(?:=(\d+))?$/.exec(a);
    const v = m && (m[1] ?? (/^\d+$/.test(argv[i + 1] ?? '') ? argv[i + 1] : undefined));
    if (v) n = Math.max(n, Number(v));
  });
  return n;
}
