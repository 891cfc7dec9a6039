// exec applies the process settings the init applies (runc's exec does too):
// scheduler, I/O priority and execCPUAffinity from the process (a process
// file, or the container's own process when exec inherits it), and the
// container's oomScoreAdj, personality and seccomp filter flags; as the
// kernel reports them for the exec'd process.
import t, { type Test } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, type Config, procComm, runningContainer, readProcFile, run as runCmd, Sandbox, sharedRootfs, SKIP_NOT_ROOT, statusField, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

/** A running container (`sleep 60`) with config changes. */
function running(t: Test, change: (c: Config) => void = () => {}): { box: Sandbox; id: string; pid: number } {
  const config = baseConfig(['sleep', '60'], sharedRootfs());
  change(config);
  return runningContainer(t, config);
}

/** exec --detach; the exec'd process's host pid once it runs `comm` (0 on failure). */
async function execDetached(t: Test, box: Sandbox, id: string, args: string[], comm = 'sleep'): Promise<number> {
  const pidFile = join(box.dir, `exec-${Math.random().toString(36).slice(2)}.pid`);
  const r = box.detached(['exec', '--detach', '--pid-file', pidFile, ...args], 'exec');
  if (!t.equal(r.code, 0, r.stderr)) return 0;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (!t.ok(await until(() => procComm(pid) === comm), `exec'd ${comm} runs`)) return 0;
  return pid;
}

function processFile(box: Sandbox, extra: Record<string, unknown>): string {
  const file = join(box.dir, `process-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ args: ['sleep', '30'], cwd: '/', env: ['PATH=/bin:/usr/bin'], user: { uid: 0, gid: 0 }, ...extra }));
  return file;
}

/** Fields of /proc/<pid>/stat after the command name (field 3 is index 0). */
function statFields(pid: number): string[] {
  const text = readProcFile(pid, 'stat');
  return text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
}

/** The pids in the container's process cgroup (the init and whatever exec left). */
function containerPids(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes('pids') ? runCmd('sh', ['-c', `cat /sys/fs/cgroup/pids$(grep ':pids:' /proc/${pid}/cgroup | cut -d: -f3)/cgroup.procs`]).stdout.trim().split('\n') : [];
}

const ionice = existsSync('/usr/bin/ionice') ? false : 'needs ionice(1)';

t.test('exec --process: scheduler, I/O priority, oomScoreAdj and CPU affinity as the kernel reports them', { skip: skip || ionice }, async (t) => {
  const { box, id } = await running(t);
  const pid = await execDetached(t, box, id, ['--process', processFile(box, {
    scheduler: { policy: 'SCHED_BATCH', nice: 7 },
    ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 6 },
    oomScoreAdj: 321,
    execCPUAffinity: { initial: '0', final: '1' },
  }), id]);
  if (!pid) return;
  const f = statFields(pid);
  t.equal(f[41 - 3], '3', 'policy SCHED_BATCH (field 41)');
  t.equal(f[19 - 3], '7', 'nice 7 (field 19)');
  t.match(runCmd('ionice', ['-p', String(pid)]).stdout, /best-effort: prio 6/);
  t.equal(readProcFile(pid, 'oom_score_adj').trim(), '321');
  t.equal(statusField(pid, 'Cpus_allowed_list'), '1', 'final affinity, set after the cgroup move');
});

t.test('exec --process: execCPUAffinity.initial alone stays (the kernel keeps a requested affinity across the cgroup move)', { skip }, async (t) => {
  const { box, id, pid: init } = await running(t);
  t.equal(statusField(init, 'Cpus_allowed_list'), '0-1', 'the init has both CPUs');
  const pid = await execDetached(t, box, id, ['--process', processFile(box, { execCPUAffinity: { initial: '1' } }), id]);
  if (!pid) return;
  t.equal(statusField(pid, 'Cpus_allowed_list'), '1');
});

t.test('exec without --process inherits the container\'s scheduler, I/O priority, oomScoreAdj and personality', { skip: skip || ionice }, async (t) => {
  const { box, id, pid: init } = await running(t, (c) => {
    c.process.scheduler = { policy: 'SCHED_IDLE' };
    c.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
    c.process.oomScoreAdj = 200;
    c.linux.personality = { domain: 'LINUX32' };
  });
  t.equal(readProcFile(init, 'oom_score_adj').trim(), '200', 'the init has it');
  const pid = await execDetached(t, box, id, [id, 'sleep', '30']);
  if (!pid) return;
  t.equal(statFields(pid)[41 - 3], '5', 'SCHED_IDLE');
  t.match(runCmd('ionice', ['-p', String(pid)]).stdout, /^idle/);
  t.equal(readProcFile(pid, 'oom_score_adj').trim(), '200');
  t.equal(readProcFile(pid, 'personality').trim(), '00000008', 'PER_LINUX32');
  const uname = box.ocirun(['exec', id, 'uname', '-m']);
  t.equal(uname.code, 0, uname.stderr);
  t.equal(uname.stdout.trim(), process.arch === 'x64' ? 'i686' : 'armv8l', 'uname -m under LINUX32');
  // A process file that names no oomScoreAdj gets the container's (runc's behaviour); its own wins.
  const own = await execDetached(t, box, id, ['--process', processFile(box, {}), id]);
  if (own) t.equal(readProcFile(own, 'oom_score_adj').trim(), '200', 'the container\'s oomScoreAdj');
  const other = await execDetached(t, box, id, ['--process', processFile(box, { oomScoreAdj: 50 }), id]);
  if (other) t.equal(readProcFile(other, 'oom_score_adj').trim(), '50', 'the process file\'s own');
});

t.test('exec: a bad setting is refused naming the field, and no process is left', { skip }, async (t) => {
  const { box, id, pid: init } = await running(t);
  const before = containerPids(init);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ scheduler: { policy: 'SCHED_NOPE' } }, /process-\w+\.json: scheduler\.policy: must be one of .*\(got "SCHED_NOPE"\)/],
    [{ scheduler: { policy: 'SCHED_DEADLINE', runtime: 10, deadline: 5, period: 1 } }, /process\.scheduler: sched_setattr: EINVAL/],
    [{ oomScoreAdj: 5000 }, /process-\w+\.json: oomScoreAdj: must be <= 1000/],
    [{ execCPUAffinity: { final: '63' } }, /process\.execCPUAffinity\.final: sched_setaffinity: EINVAL/],
    [{ execCPUAffinity: { initial: '63' } }, /process\.execCPUAffinity\.initial: .*EINVAL/],
    // Checked once, where the process file comes in (config/checks.ts), not again by the planner.
    [{ rlimits: [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }] }, /process-\w+\.json: rlimits\[0\]\.type: unknown rlimit type "RLIMIT_BOGUS"/],
  ];
  for (const [extra, message] of cases) {
    const r = box.ocirun(['exec', '--process', processFile(box, extra), id]);
    t.equal(r.code, 1, `${JSON.stringify(extra)}: exit 1`);
    t.match(r.stderr, message, JSON.stringify(extra));
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
  t.same(containerPids(init), before, 'only the processes that were there');
  t.equal(box.state(id)?.status, 'running', 'the container runs on');
});

t.test('exec loads the container\'s seccomp filter with its flags: SECCOMP_FILTER_FLAG_LOG logs an errno action', { skip: skip || (runCmd('dmesg', []).code === 0 ? false : 'needs dmesg') }, async (t) => {
  const { box, id } = await running(t, (c) => {
    c.process.noNewPrivileges = true;
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'], syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
  });
  // The shell becomes mkdir (same pid) once the pid file is written; the kernel's audit record names that pid.
  const pid = await execDetached(t, box, id, [id, 'sh', '-c', 'sleep 1; exec mkdir /tmp/denied'], 'sh');
  if (!pid) return;
  t.equal(statusField(pid, 'Seccomp'), '2', 'filter mode');
  const logged = await until(() => new RegExp(`type=1326 .* pid=${pid} comm="mkdir" .* code=0x5`).test(runCmd('dmesg', []).stdout), 5000);
  t.ok(logged, 'the errno action is in the kernel log: the filter was loaded with SECCOMP_FILTER_FLAG_LOG');
});

t.test('exec takes the container\'s linux.memoryPolicy', { skip: skip || (existsSync('/sys/devices/system/node/node0') ? false : 'needs NUMA node 0') }, async (t) => {
  const { box, id } = await running(t, (c) => { c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' }; });
  const pid = await execDetached(t, box, id, ['--process', processFile(box, {}), id]);
  if (!pid) return;
  t.match(readProcFile(pid, 'numa_maps'), /bind(=static)?:0/, 'numa_maps shows the policy');
});
