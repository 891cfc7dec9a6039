// The remaining process settings as the kernel reports them for the
// container process: scheduler, I/O priority, CPU affinity, personality,
// sysctl (namespaced keys only), NUMA memory policy, Intel RDT, LSM fields
// on a host without AppArmor/SELinux, and capabilities the host lacks.
import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { baseConfig, type Config, procComm, readProcFile, run as runCmd, Sandbox, sharedRootfs, SKIP_NOT_ROOT, statusField, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

/** create + start `sleep 30` with config changes; the host pid once it runs (0 on failure). */
async function sleeper(t: Test, change: (c: Config) => void): Promise<{ box: Sandbox; pid: number }> {
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  change(config);
  const box = new Sandbox(t, config);
  const id = box.id();
  const c = box.create(id);
  if (!t.equal(c.code, 0, `create: ${c.stderr.trim()}`)) return { box, pid: 0 };
  const s = box.ocirun(['start', id]);
  if (!t.equal(s.code, 0, `start: ${s.stderr.trim()}`)) return { box, pid: 0 };
  if (!t.ok(await until(() => procComm(c.pid) === 'sleep'), 'running')) return { box, pid: 0 };
  return { box, pid: c.pid };
}

/** create must fail with one line matching `message`, leaving no state. */
function refused(t: Test, change: (c: Config) => void, message: RegExp): void {
  const config = baseConfig(['true'], sharedRootfs());
  change(config);
  const box = new Sandbox(t, config);
  const id = box.id();
  const r = box.create(id);
  t.equal(r.code, 1, 'create fails');
  t.match(r.stderr, message);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.equal(box.state(id), null, 'no state left');
}

/** Fields of /proc/<pid>/stat after the command name (field 3 is index 0). */
function statFields(pid: number): string[] {
  const text = readProcFile(pid, 'stat');
  return text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
}

t.test('process.scheduler: SCHED_BATCH with a nice value', { skip }, async (t) => {
  const { pid } = await sleeper(t, (c) => { c.process.scheduler = { policy: 'SCHED_BATCH', nice: 7 }; });
  if (!pid) return;
  const f = statFields(pid);
  t.equal(f[41 - 3], '3', 'policy SCHED_BATCH (field 41)');
  t.equal(f[19 - 3], '7', 'nice 7 (field 19)');
});

t.test('process.scheduler: SCHED_IDLE, and SCHED_RR with a priority when the cgroup allows real time', { skip }, async (t) => {
  const { pid } = await sleeper(t, (c) => { c.process.scheduler = { policy: 'SCHED_IDLE' }; });
  if (pid) t.equal(statFields(pid)[41 - 3], '5', 'SCHED_IDLE');
  const config = baseConfig(['sleep', '30'], sharedRootfs());
  config.process.scheduler = { policy: 'SCHED_RR', priority: 9 };
  const box = new Sandbox(t, config);
  const id = box.id();
  const c = box.create(id);
  if (c.code !== 0) {
    // cgroup v1 with RT group scheduling gives a new cgroup no real-time budget: the error says so.
    t.match(c.stderr, /process\.scheduler: sched_setattr: EPERM/, 'refused with the field named');
    return;
  }
  t.equal(box.ocirun(['start', id]).code, 0);
  t.ok(await until(() => procComm(c.pid) === 'sleep'));
  const f = statFields(c.pid);
  t.equal(f[41 - 3], '2', 'SCHED_RR');
  t.equal(f[40 - 3], '9', 'rt_priority 9');
});

t.test('process.scheduler: the kernel\'s refusal names the field', { skip }, async (t) => {
  refused(t, (c) => { c.process.scheduler = { policy: 'SCHED_DEADLINE', runtime: 10, deadline: 5, period: 1 }; }, /process\.scheduler: sched_setattr: EINVAL/);
});

t.test('process.ioPriority', { skip: skip || (existsSync('/usr/bin/ionice') ? false : 'needs ionice(1)') }, async (t) => {
  const { pid } = await sleeper(t, (c) => { c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 }; });
  if (!pid) return;
  t.match(runCmd('ionice', ['-p', String(pid)]).stdout, /best-effort: prio 6/);
  const idle = await sleeper(t, (c) => { c.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 }; });
  if (idle.pid) t.match(runCmd('ionice', ['-p', String(idle.pid)]).stdout, /idle/);
});

t.test('process.execCPUAffinity: final is the program\'s CPU set', { skip }, async (t) => {
  const { pid } = await sleeper(t, (c) => { c.process.execCPUAffinity = { initial: '0', final: '0-0' }; });
  if (!pid) return;
  t.equal(statusField(pid, 'Cpus_allowed_list'), '0');
  refused(t, (c) => { c.process.execCPUAffinity = { final: '3-1' }; }, /process\.execCPUAffinity\.final: bad range "3-1"/);
});

t.test('linux.personality: LINUX32 changes uname -m; flags are refused', { skip }, async (t) => {
  const config = baseConfig(['uname', '-m'], sharedRootfs());
  config.linux.personality = { domain: 'LINUX32' };
  const box = new Sandbox(t, config);
  const r = box.ocirun(['run', '--bundle', box.bundle, box.id()]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), process.arch === 'x64' ? 'i686' : 'armv8l');
  const { pid } = await sleeper(t, (c) => { c.linux.personality = { domain: 'LINUX' }; });
  if (pid) t.equal(readProcFile(pid, 'personality').trim(), '00000000');
  refused(t, (c) => { c.linux.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] }; }, /linux\.personality\.flags: no flags are supported/);
});

t.test('linux.sysctl: namespaced keys are set inside, the host is untouched', { skip }, async (t) => {
  const hostForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const hostShmmni = readFileSync('/proc/sys/kernel/shmmni', 'utf8');
  const config = baseConfig(['sh', '-c', 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/sys/fs/mqueue/msg_max'], sharedRootfs());
  config.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmni': '1234', 'fs/mqueue/msg_max': '77' };
  const box = new Sandbox(t, config);
  const r = box.ocirun(['run', '--bundle', box.bundle, box.id()]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '1\n1234\n77\n');
  t.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostForward, 'host ip_forward unchanged');
  t.equal(readFileSync('/proc/sys/kernel/shmmni', 'utf8'), hostShmmni, 'host shmmni unchanged');
});

t.test('linux.sysctl: host-wide keys, and keys of namespaces the container shares with the host, are refused', { skip }, async (t) => {
  refused(t, (c) => { c.linux.sysctl = { 'vm.swappiness': '10' }; }, /linux\.sysctl\["vm\.swappiness"\]: not a namespaced sysctl/);
  refused(t, (c) => { c.linux.sysctl = { 'kernel.pid_max': '100000' }; }, /linux\.sysctl\["kernel\.pid_max"\]: not a namespaced sysctl/);
  refused(t, (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
    c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  }, /linux\.sysctl\["net\.ipv4\.ip_forward"\]: needs the container's own network namespace/);
  refused(t, (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === 'network' ? { type: 'network', path: '/proc/self/ns/net' } : n));
    c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  }, /needs the container's own network namespace/);
  refused(t, (c) => { c.linux.sysctl = { 'net.ipv4.no_such_knob': '1' }; }, /linux\.sysctl\["net\.ipv4\.no_such_knob"\]: write \/proc\/sys\/net\/ipv4\/no_such_knob: ENOENT/);
});

const numa = existsSync('/sys/devices/system/node/node0');

t.test('linux.memoryPolicy: MPOL_BIND to node 0', { skip }, async (t) => {
  if (!numa) {
    refused(t, (c) => { c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' }; }, /linux\.memoryPolicy: set_mempolicy/);
    return;
  }
  const { pid } = await sleeper(t, (c) => { c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }; });
  if (!pid) return;
  t.match(readProcFile(pid, 'numa_maps'), /bind(=static)?:0/, 'numa_maps shows the policy');
  refused(t, (c) => { c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '63' }; }, /linux\.memoryPolicy: set_mempolicy: EINVAL/);
});

t.test('linux.intelRdt: a clear error naming the field', { skip }, async (t) => {
  refused(t, (c) => { c.linux.intelRdt = { closID: 'guaranteed', l3CacheSchema: 'L3:0=7f0' }; }, /linux\.intelRdt: Intel RDT/);
});

const lsm = existsSync('/sys/module/apparmor') || existsSync('/sys/fs/selinux') ? 'this host has AppArmor or SELinux' : false;

t.test('LSM fields on a host without AppArmor or SELinux: errors naming the field', { skip: skip || lsm }, async (t) => {
  refused(t, (c) => { c.process.apparmorProfile = 'docker-default'; }, /process\.apparmorProfile: AppArmor is not enabled on this host/);
  refused(t, (c) => { c.process.selinuxLabel = 'system_u:system_r:container_t:s0'; }, /process\.selinuxLabel: SELinux is not enabled on this host/);
  refused(t, (c) => { c.linux.mountLabel = 'system_u:object_r:container_file_t:s0'; }, /linux\.mountLabel: SELinux is not enabled on this host/);
  // Empty strings mean "none", as engines send them.
  const { pid } = await sleeper(t, (c) => { c.process.apparmorProfile = ''; c.process.selinuxLabel = ''; });
  t.ok(pid > 0, 'empty labels run');
});

/** Capability names this host's bounding set lacks. */
function hostMissingCaps(): string[] {
  const bnd = BigInt(`0x${(statusField(process.pid, 'CapBnd') ?? '0')}`);
  const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  const names = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE'];
  return names.filter((_, i) => i <= last && !((bnd >> BigInt(i)) & 1n));
}

t.test('process.capabilities: ones the host cannot grant are named; unknown names refused', { skip }, async (t) => {
  const missing = hostMissingCaps();
  if (missing.length) {
    refused(t, (c) => { c.process.capabilities.bounding.push(...missing, 'CAP_CHOWN'); }, new RegExp(`process\\.capabilities: not in this host's bounding set.*: ${missing.join(', ')}$`, 'm'));
  } else {
    t.comment('this host grants every capability: nothing to refuse');
  }
  refused(t, (c) => { c.process.capabilities.effective.push('CAP_TELEPATHY'); }, /process\.capabilities\.effective.*CAP_TELEPATHY/);
});
