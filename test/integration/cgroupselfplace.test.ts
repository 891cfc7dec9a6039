// Stage 1 puts the container's process in its cgroups itself as it forks it
// (src/linux/cgroups/selfplace.ts, native/ocirun.c fork_into_cgroups): "0"
// written to each v1 hierarchy's `tasks`, clone3(CLONE_INTO_CGROUP) for
// cgroup2, so that no cgroup.procs write (which waits for an RCU grace
// period) is on the path. Checked twice over: the kernel's view of where the
// init and an exec'd process are (/proc/<pid>/cgroup, every hierarchy), and
// the syscalls under strace (no cgroup.procs opened for writing; the `tasks`
// writes and the clone into the cgroup2 directory succeeded). A user
// namespace cannot clone into a cgroup it does not own: there the runtime
// writes cgroup.procs, and the process still lands everywhere.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, type Config, OCIRUN, run, Sandbox, sharedRootfs, SKIP_NOT_ROOT, startContainer, type TapAsserts } from '../helpers.js';
import { parseCgroupMounts } from '../../src/linux/cgroups/hierarchy.js';

const MOUNTS = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
const V1_COUNT = MOUNTS.v1.length;
const HAS_V2 = MOUNTS.unified !== null && MOUNTS.unified !== undefined;
const hasStrace = run('strace', ['-V']).code === 0;
const skip = SKIP_NOT_ROOT || (V1_COUNT + (HAS_V2 ? 1 : 0) === 0 ? 'no cgroup hierarchy mounted' : false);
const skipStrace = skip || (hasStrace ? false : 'strace is not installed (.ci/run installs it)');

/** Every line of a /proc/<pid>/cgroup names the container's own cgroup (the default path ends in its id). */
function inOwnCgroups(t: TapAsserts, text: string, id: string, who: string): void {
  const lines = text.trim().split('\n');
  t.equal(lines.length, V1_COUNT + (HAS_V2 ? 1 : 0), `${who}: one line per hierarchy`);
  for (const l of lines) t.ok(l.endsWith(`/${id}`), `${who}: ${l}`);
}

interface Traced { out: string; trace: string[] }

/** Run ocirun under strace -f (openat, write, clone3) and return the container's output and the trace. */
function traced(box: Sandbox, args: string[]): Traced & { code: number | null; stderr: string } {
  const log = join(box.dir, `strace-${Math.random().toString(36).slice(2, 7)}.log`);
  const r = run('strace', ['-f', '-qq', '-s', '200', '-e', 'trace=openat,write,clone3', '-o', log, OCIRUN, '--root', box.root, ...args]);
  return { out: r.stdout, code: r.code, stderr: r.stderr, trace: joinResumed(readFileSync(log, 'utf8').split('\n')) };
}

/**
 * strace splits a call that another traced process interrupts (the runtime
 * works while stage 1 places and forks the init) into "<unfinished ...>" and
 * a later "<... name resumed>": each call as one line again, where it began.
 */
function joinResumed(lines: string[]): string[] {
  const out: string[] = [];
  const open = new Map<string, number>(); // pid -> index in out of its unfinished call
  for (const line of lines) {
    const pid = line.split(/\s/, 1)[0] ?? '';
    const resumed = /^\S+\s+<\.\.\. \S+ resumed>(.*)$/.exec(line);
    const at = open.get(pid);
    if (resumed && at !== undefined) {
      out[at] = `${out[at]}${resumed[1]}`;
      open.delete(pid);
      continue;
    }
    if (line.endsWith(' <unfinished ...>')) {
      open.set(pid, out.length);
      out.push(line.slice(0, -' <unfinished ...>'.length));
      continue;
    }
    out.push(line);
  }
  return out;
}

/** What the trace says about placement: cgroup.procs opened for writing, `tasks` "0" writes that worked, clone3 into a cgroup and its result. */
function placement(trace: string[]): { procsWrites: string[]; tasksOpened: number; zeroWrites: number; cloneInto: string[] } {
  const forked = trace.findIndex((l) => /clone3?\(.*CLONE_PARENT(?!_)/.test(l));
  const firstTasks = trace.findIndex((l) => /openat\(.*\/tasks", O_WRONLY/.test(l));
  return {
    procsWrites: trace.filter((l) => /openat\(.*\/cgroup\.procs", O_WRONLY/.test(l)),
    tasksOpened: trace.filter((l) => /openat\(.*\/tasks", O_WRONLY.*= \d+$/.test(l)).length,
    // Between the opening of the tasks files and the fork of the container's process (cpuset.mems may be
    // "0" before; the init writes "0" to exec.fifo after; strace may
    // name stage 1's first syscall with its parent's pid, so the order tells, not the pid).
    zeroWrites: trace.slice(Math.max(0, firstTasks), forked < 0 ? trace.length : forked).filter((l) => /write\(\d+, "0", 1\)\s+= 1$/.test(l)).length,
    cloneInto: trace.filter((l) => l.includes('CLONE_INTO_CGROUP')),
  };
}

function printingCgroups(rootfs: string): Config {
  return baseConfig(['cat', '/proc/self/cgroup'], rootfs);
}

t.test('create and exec: the kernel shows the init and an exec\'d process in the container\'s cgroup, every hierarchy', { skip }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '100'], sharedRootfs()));
  const id = box.id('selfplace');
  const pid = await startContainer(t, box, id);
  if (!pid) return;
  inOwnCgroups(t, readFileSync(`/proc/${pid}/cgroup`, 'utf8'), id, 'init');
  const pidFile = join(box.dir, 'exec.pid');
  const e = box.detached(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '100'], 'exec');
  t.equal(e.code, 0, `exec -d succeeds: ${e.stderr.trim()}`);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  inOwnCgroups(t, readFileSync(`/proc/${execPid}/cgroup`, 'utf8'), id, 'exec\'d process');
});

t.test('run, traced: no cgroup.procs write; a "0" into every v1 tasks file and a clone into the cgroup2 directory', { skip: skipStrace }, async (t) => {
  const box = new Sandbox(t, printingCgroups(sharedRootfs()));
  const id = box.id('selfplace');
  const r = traced(box, ['run', '--bundle', box.bundle, id]);
  t.equal(r.code, 0, `run succeeds: ${r.stderr.trim()}`);
  inOwnCgroups(t, r.out, id, 'the container (its own view, no cgroup namespace)');
  const p = placement(r.trace);
  t.same(p.procsWrites, [], 'no cgroup.procs was opened for writing');
  t.equal(p.tasksOpened, V1_COUNT, 'a tasks file opened per v1 hierarchy');
  t.equal(p.zeroWrites, V1_COUNT, 'and "0" written to each');
  if (HAS_V2) {
    t.equal(p.cloneInto.length, 1, 'one clone3 into the cgroup2 directory');
    t.match(p.cloneInto[0] ?? '', /= [1-9]\d*$/, 'which made the process');
  }
});

t.test('exec, traced: the process places itself the same way', { skip: skipStrace }, async (t) => {
  const box = new Sandbox(t, baseConfig(['sleep', '100'], sharedRootfs()));
  const id = box.id('selfplace');
  if (!(await startContainer(t, box, id))) return;
  const r = traced(box, ['exec', id, 'cat', '/proc/self/cgroup']);
  t.equal(r.code, 0, `exec succeeds: ${r.stderr.trim()}`);
  inOwnCgroups(t, r.out, id, 'the exec\'d process');
  const p = placement(r.trace);
  t.same(p.procsWrites, [], 'no cgroup.procs was opened for writing');
  t.equal(p.zeroWrites, V1_COUNT, '"0" written to every v1 tasks file');
  if (HAS_V2) t.match(p.cloneInto[0] ?? '', /= [1-9]\d*$/, 'cloned into the cgroup2 directory');
});

t.test('a user namespace: the clone into the cgroup2 directory is refused, the runtime writes cgroup.procs, the process is in every hierarchy', { skip: skipStrace || (HAS_V2 ? false : 'no cgroup2 mount') }, async (t) => {
  const config = printingCgroups(sharedRootfs());
  config.linux.namespaces.push({ type: 'user' });
  config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const box = new Sandbox(t, config);
  const id = box.id('selfplace');
  const r = traced(box, ['run', '--bundle', box.bundle, id]);
  t.equal(r.code, 0, `run succeeds: ${r.stderr.trim()}`);
  inOwnCgroups(t, r.out, id, 'the container');
  const p = placement(r.trace);
  t.match(p.cloneInto[0] ?? '', /= -1 EACCES/, 'the clone into the cgroup2 directory is refused');
  t.equal(p.procsWrites.length, 1, 'so the runtime writes that one cgroup.procs');
  t.match(p.procsWrites[0] ?? '', new RegExp(`${MOUNTS.unified?.mountPoint}/.*${id}/cgroup\\.procs`), 'of the cgroup2 directory');
  t.equal(p.zeroWrites, V1_COUNT, 'the v1 hierarchies still by "0" (the kernel checks who opened tasks)');
});
