// exec: a new process inside a running container, as the kernel sees it.
import t from 'tap';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, runningContainer, Sandbox, sharedRootfs, SKIP_NOT_ROOT, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;

t.test('exec runs a command inside, with its output and exit status', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const r = box.ocirun(['exec', id, 'sh', '-c', 'echo out; echo err >&2; hostname; exit 3']);
  t.equal(r.code, 3, 'exit status of the process');
  t.equal(r.stdout, 'out\ntestbox\n', 'stdout, and the container hostname');
  t.equal(r.stderr, 'err\n');
  const flags = box.ocirun(['exec', id, 'ls', '-d', '/proc/self']);
  t.equal(flags.code, 0, 'options after the command belong to it, not to exec');
  t.equal(flags.stdout, '/proc/self\n');
});

t.test('exec joins every namespace of the container', { skip }, async (t) => {
  const { box, id, pid } = runningContainer(t);
  const pidFile = join(box.dir, 'exec.pid');
  const r = box.detached(['exec', '--detach', '--pid-file', pidFile, id, 'sleep', '30'], 'exec');
  t.equal(r.code, 0, r.stderr);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  t.match(readFileSync(pidFile, 'utf8'), /^\d+$/, 'pid file: digits only');
  for (const ns of ['pid', 'net', 'ipc', 'uts', 'mnt', 'user', 'cgroup']) {
    t.equal(readlinkSync(`/proc/${execPid}/ns/${ns}`), readlinkSync(`/proc/${pid}/ns/${ns}`), `same ${ns} namespace as the init`);
  }
  t.equal(readlinkSync(`/proc/${execPid}/root`), '/', 'root is the container root');
  t.match(readFileSync(`/proc/${execPid}/cmdline`, 'utf8'), /^sleep\0/);
  const inside = box.ocirun(['exec', id, 'sh', '-c', 'ps -o pid,args | grep "sleep 30" | grep -v grep']);
  t.match(inside.stdout, /sleep 30/, 'the init sees the exec\'d process in its pid namespace');
});

t.test('exec with its own user, env, cwd, capabilities and no_new_privs', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const r = box.ocirun(['exec', '--user', '1000:1001', '--additional-gids', '5', '--additional-gids', '7', '--env', 'FOO=bar', '-e', 'X=y', '--cwd', '/tmp', '--cap', 'CAP_SYS_ADMIN', '--no-new-privs', id,
    'sh', '-c', 'echo "$FOO $X"; pwd; grep -E "^(Uid|Gid|Groups|CapBnd|NoNewPrivs):" /proc/self/status']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.equal(lines[0], 'bar y');
  t.equal(lines[1], '/tmp');
  t.match(r.stdout, /Uid:\s+1000\s+1000\s+1000\s+1000/);
  t.match(r.stdout, /Gid:\s+1001\s+1001\s+1001\s+1001/);
  t.match(r.stdout, /Groups:\s+5 7/);
  t.match(r.stdout, /NoNewPrivs:\s+1/);
  const bnd = BigInt(`0x${/CapBnd:\s+([0-9a-f]+)/.exec(r.stdout)?.[1] ?? '0'}`);
  t.equal((bnd >> 21n) & 1n, 1n, 'CAP_SYS_ADMIN added to the bounding set');
});

t.test('exec --process takes a process.json', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const file = join(box.dir, 'process.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'echo "$WHO" from $(pwd); exit 4'], env: ['WHO=process.json', 'PATH=/bin'], cwd: '/dev', user: { uid: 0, gid: 0 } }));
  const r = box.ocirun(['exec', '--process', file, id]);
  t.equal(r.code, 4);
  t.equal(r.stdout, 'process.json from /dev\n');
});

t.test('exec of a missing program, into a stopped or unknown container', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const missing = box.ocirun(['exec', id, 'no-such-program']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /exec: "no-such-program": executable file not found in \$PATH/);
  // Found but not executable: the init's words (and runc's LookPath), not "permission denied".
  const notExec = box.ocirun(['exec', '--env', 'PATH=/etc', id, 'passwd']);
  t.equal(notExec.code, 1);
  t.match(notExec.stderr, /exec: "passwd": executable file not found in \$PATH/);
  const absNotExec = box.ocirun(['exec', id, '/etc/passwd']);
  t.match(absNotExec.stderr, /exec: "\/etc\/passwd": permission denied/);
  const badCap = box.ocirun(['exec', '--cap', 'CAP_BOGUS', id, 'true']);
  t.equal(badCap.code, 1);
  t.match(badCap.stderr, /--cap: unknown capability "CAP_BOGUS"/);
  t.equal(box.ocirun(['kill', id, 'KILL']).code, 0);
  t.ok(await until(() => box.state(id)?.status === 'stopped'));
  const stopped = box.ocirun(['exec', id, 'true']);
  t.equal(stopped.code, 1);
  t.match(stopped.stderr, /cannot exec in a stopped container/);
  const unknown = box.ocirun(['exec', 'no-such-id', 'true']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /container does not exist/);
});

t.test('exec --preserve-fds passes exactly the fds asked for', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const { openSync } = await import('node:fs');
  const a = openSync('/etc/hostname', 'r');
  const b = openSync('/etc/hostname', 'r');
  const pidFile = join(box.dir, 'exec.pid');
  const r = box.ocirun(['exec', '--detach', '--pid-file', pidFile, '--preserve-fds', '1', id, 'sleep', '30'], { stdio: ['ignore', 'ignore', 'ignore', a, b] });
  t.equal(r.code, 0, r.stderr);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  t.same(readdirSync(`/proc/${execPid}/fd`).map(Number).sort((x, y) => x - y), [0, 1, 2, 3], 'stdio and fd 3; fd 4 was not asked for');
  t.equal(readlinkSync(`/proc/${execPid}/fd/3`), '/etc/hostname', 'fd 3 is the one we passed');
});

t.test('exec --apparmor / --process-label name the LSM this host lacks', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const a = box.ocirun(['exec', '--apparmor', 'some-profile', id, 'true']);
  t.equal(a.code, 1);
  t.match(a.stderr, /process\.apparmorProfile: AppArmor is not enabled on this host/);
  const s = box.ocirun(['exec', '--process-label', 'system_u:system_r:container_t:s0', id, 'true']);
  t.equal(s.code, 1);
  t.match(s.stderr, /process\.selinuxLabel: SELinux is not enabled on this host/);
});

t.test('exec into a user-namespace container runs as its mapped root', { skip }, async (t) => {
  const config = baseConfig(['sleep', '60'], sharedRootfs());
  config.linux.namespaces.push({ type: 'user' });
  config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const { box, id, pid } = runningContainer(t, config);
  const { chmodSync } = await import('node:fs');
  chmodSync(box.dir, 0o711);
  const pidFile = join(box.dir, 'exec.pid');
  const r = box.detached(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '30'], 'userns-exec');
  t.equal(r.code, 0, r.stderr);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  t.equal(readlinkSync(`/proc/${execPid}/ns/user`), readlinkSync(`/proc/${pid}/ns/user`), 'in the container\'s user namespace');
  t.match(readFileSync(`/proc/${execPid}/status`, 'utf8'), /^Uid:\s+100000\s+100000\s+100000\s+100000$/m, 'root inside is 100000 on the host');
  const inside = box.ocirun(['exec', id, 'id', '-u']);
  t.equal(inside.stdout, '0\n', 'and 0 inside');
});

t.test('exec --cgroup puts the process in an existing sub-cgroup', { skip }, async (t) => {
  const config = baseConfig(['sleep', '60'], sharedRootfs());
  const { box, id, pid } = runningContainer(t, config);
  const { mkdirSync, rmdirSync, existsSync } = await import('node:fs');
  // The container's own cgroup, per hierarchy, from the kernel's view of its init.
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((l) => l.split(':'));
  const memLine = lines.find((l) => l[1]?.split(',').includes('memory'));
  const cpuLine = lines.find((l) => l[1]?.split(',').includes('cpu'));
  t.ok(memLine && cpuLine, 'the init is in memory and cpu cgroups');
  const memDir = `/sys/fs/cgroup/memory${memLine?.[2]}`;
  const cpuDir = `/sys/fs/cgroup/cpu${cpuLine?.[2]}`;
  mkdirSync(join(memDir, 'sub'));
  t.teardown(() => { for (const d of [join(memDir, 'sub')]) if (existsSync(d)) try { rmdirSync(d); } catch { /* busy */ } });
  const pidFile = join(box.dir, 'exec.pid');
  const r = box.detached(['exec', '-d', '--pid-file', pidFile, '--cgroup', 'memory:sub', id, 'sleep', '30'], 'cg');
  t.equal(r.code, 0, r.stderr);
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  const cg = readFileSync(`/proc/${execPid}/cgroup`, 'utf8');
  t.match(cg, new RegExp(`:memory:${memLine?.[2]}/sub$`, 'm'), 'memory: the sub-cgroup');
  t.match(cg, new RegExp(`:cpu:${cpuLine?.[2]}$`, 'm'), 'cpu: the container\'s own cgroup');
  t.ok(existsSync(cpuDir));
  const missing = box.ocirun(['exec', '--cgroup', 'nope', id, 'true']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /--cgroup nope: .* is not an existing cgroup/);
  const climb = box.ocirun(['exec', '--cgroup', '../x', id, 'true']);
  t.equal(climb.code, 1);
  t.match(climb.stderr, /--cgroup \.\.\/x: expected a path inside the container's cgroup/);
  process.kill(execPid, 'SIGKILL');
  await until(() => !readFileSync(join(memDir, 'sub', 'cgroup.procs'), 'utf8').trim());
  rmdirSync(join(memDir, 'sub'));
});

t.test('exec without --process takes the config\'s process, checked as create checks it, and reads nothing else of the config', { skip }, async (t) => {
  const { box, id } = runningContainer(t);
  const configPath = join(box.bundle, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  // Edited after create: a mount exec never reads, made invalid; the process' env, which exec starts from.
  config.mounts.push({ destination: '', type: 42 });
  config.process.env.push('FROM_CONFIG=yes');
  writeFileSync(configPath, JSON.stringify(config));
  const r = box.ocirun(['exec', id, 'sh', '-c', 'echo "$FROM_CONFIG"']);
  t.equal(r.code, 0, `an invalid mount does not stop exec (stderr: ${r.stderr})`);
  t.equal(r.stdout, 'yes\n', 'the process comes from the config as it is now');

  config.process.cwd = 'relative';
  writeFileSync(configPath, JSON.stringify(config));
  const bad = box.ocirun(['exec', id, 'true']);
  t.not(bad.code, 0, 'a relative cwd fails exec');
  t.match(bad.stderr, new RegExp(`${configPath.replace(/[.]/g, '\\.')}: process\\.cwd: `), 'naming the file and process.cwd, as create would');
  config.process.cwd = '/';
  config.process.capabilities.bounding.push('CAP_NO_SUCH');
  writeFileSync(configPath, JSON.stringify(config));
  const caps = box.ocirun(['exec', id, 'true']);
  t.not(caps.code, 0, 'an unknown capability fails exec');
  t.match(caps.stderr, /process\.capabilities\.bounding\[\d+\]: /, 'naming where it is');
  delete config.ociVersion;
  writeFileSync(configPath, JSON.stringify(config));
  const noVersion = box.ocirun(['exec', id, 'true']);
  t.match(noVersion.stderr, /ociVersion: is required/, 'the config must still be one (ociVersion)');
  writeFileSync(configPath, '[1]');
  const notObject = box.ocirun(['exec', id, 'true']);
  t.match(notObject.stderr, /config\.json: must be object/, 'and an object');
});
