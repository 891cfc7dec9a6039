// linux.seccomp on real containers: the filter the kernel enforces (errno,
// kill, argument filters, podman's default profile), where it is loaded
// (a profile denying getcwd/chdir still starts), bad profiles refused at
// create, and SCMP_ACT_NOTIFY with a small listener compiled here.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, type Config, procComm, readProcFile, Sandbox, sharedRootfs, SKIP_NOT_ROOT, statusField, until } from '../helpers.js';

const skip = SKIP_NOT_ROOT;
const PODMAN = '/work/shared/fixtures/engine-configs/podman-config.json';

function withSeccomp(args: string[], seccomp: Config, nnp = true): Config {
  const c = baseConfig(args, sharedRootfs());
  c.process.noNewPrivileges = nnp;
  c.linux.seccomp = seccomp;
  return c;
}

function run(t: Test, config: Config) {
  const box = new Sandbox(t, config);
  return box.ocirun(['run', '--bundle', box.bundle, box.id()]);
}

const sh = (script: string) => ['sh', '-c', script];

for (const nnp of [true, false]) {
  t.test(`SCMP_ACT_ERRNO returns the chosen errno, EPERM by default (noNewPrivileges ${nnp})`, { skip }, async (t) => {
    const r = run(t, withSeccomp(sh('mkdir /tmp/a; echo "mkdir=$?"; kill -USR1 $$; echo "kill=$?"; echo done'), {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 18 },
        { names: ['kill'], action: 'SCMP_ACT_ERRNO' },
      ],
    }, nnp));
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /can't create directory '\/tmp\/a': Invalid cross-device link/, 'EXDEV (18) as asked');
    t.match(r.stderr, /Operation not permitted/, 'EPERM without errnoRet');
    t.match(r.stdout, /mkdir=1\nkill=1\ndone\n/);
  });
}

t.test('SCMP_ACT_KILL kills the caller with SIGSYS; KILL_PROCESS the whole process', { skip }, async (t) => {
  let r = run(t, withSeccomp(['mkdir', '/tmp/x'], { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL' }] }));
  t.equal(r.code, 128 + 31, 'run exits 128+SIGSYS');
  r = run(t, withSeccomp(sh('echo before; mkdir /tmp/x; echo "after=$?"'), { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }] }));
  t.equal(r.code, 0, 'the shell survives its killed child');
  t.equal(r.stdout, 'before\nafter=159\n');
});

t.test('argument filters: EQ, NE, LT, LE, GT, GE, MASKED_EQ', { skip }, async (t) => {
  // kill(pid, sig) to PID 1 (the shell itself, which ignores what it does not handle): each
  // rule refuses some signal numbers; conditions of one rule must all hold.
  const sig = (op: string, value: number, valueTwo?: number) => ({ index: 1, value, op, ...(valueTwo === undefined ? {} : { valueTwo }) });
  const signals = ['USR1', 'HUP', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'CHLD', '0'];
  const r = run(t, withSeccomp(sh(signals.map((s) => `kill -${s} $$ 2>/dev/null; echo "${s}=$?"`).join('; ')), {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [sig('SCMP_CMP_EQ', 10)] },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [sig('SCMP_CMP_GT', 11), { index: 0, value: 0, op: 'SCMP_CMP_NE' }] },
      { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [sig('SCMP_CMP_LT', 3)] },
      { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [sig('SCMP_CMP_LE', 13)] },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [sig('SCMP_CMP_GE', 14)] },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [sig('SCMP_CMP_MASKED_EQ', 0xf0, 0x10)] },
    ],
  }));
  t.equal(r.code, 0, r.stderr);
  // 10 EQ; 12, 13 GT 11 (and pid 1 NE 0); 14, 15, 17 GE 14 and MASKED_EQ; ALLOW rules equal the default and change nothing.
  t.equal(r.stdout, 'USR1=1\nHUP=0\nSEGV=0\nUSR2=1\nPIPE=1\nALRM=1\nTERM=1\nCHLD=1\n0=0\n');
});

t.test('podman\'s default profile: denials, personality by argument, ordinary work runs', { skip }, async (t) => {
  const podman = JSON.parse(readFileSync(PODMAN, 'utf8')).linux.seccomp;
  const config = withSeccomp(sh([
    'hostname other; echo "hostname=$?"', 'swapoff /nothing; echo "swapoff=$?"',
    'linux32 uname -m', 'ls / >/dev/null && echo ls-ok', 'cat /proc/self/status | grep -E "^Seccomp:"',
  ].join('; ')), podman, false);
  // CAP_SYS_ADMIN would let sethostname through: the profile alone must stop it.
  for (const set of ['bounding', 'effective', 'permitted']) config.process.capabilities[set].push('CAP_SYS_ADMIN');
  const r = run(t, config);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /hostname: sethostname: Operation not permitted/, 'sethostname: its ERRNO rule (EPERM)');
  t.match(r.stderr, /swapoff: \/nothing: Operation not permitted/, 'swapoff: EPERM');
  t.match(r.stdout, /hostname=1\nswapoff=1\ni686\nls-ok\nSeccomp:\s+2\n/, 'personality(PER_LINUX32) is allowed by its argument rule');
});

for (const nnp of [true, false]) {
  t.test(`a profile denying getcwd and chdir still starts (noNewPrivileges ${nnp})`, { skip }, async (t) => {
    const config = withSeccomp(sh('cd / 2>/dev/null || echo "cd refused"; echo "in $(pwd)"'), {
      defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getcwd', 'chdir', 'fchdir'], action: 'SCMP_ACT_ERRNO' }],
    }, nnp);
    config.process.cwd = '/tmp';
    const r = run(t, config);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /cd refused\n/);
  });
}

t.test('filter flags go to seccomp(2); unknown syscall names are skipped', { skip }, async (t) => {
  const box = new Sandbox(t, withSeccomp(['sleep', '30'], {
    defaultAction: 'SCMP_ACT_ALLOW',
    flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'],
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    syscalls: [{ names: ['no_such_syscall_anywhere', 'mkdir'], action: 'SCMP_ACT_ERRNO' }],
  }));
  const id = box.id();
  const c = box.create(id);
  t.equal(c.code, 0, c.stderr);
  t.equal(box.ocirun(['start', id]).code, 0);
  t.ok(await until(() => procComm(c.pid) === 'sleep'));
  t.equal(statusField(c.pid, 'Seccomp'), '2', 'filter mode');
  t.equal(statusField(c.pid, 'Seccomp_filters'), '1', 'one filter');
});

t.test('bad profiles are refused at create, naming the JSON path, leaving nothing', { skip }, async (t) => {
  const cases: [Config, RegExp][] = [
    [{ defaultAction: 'SCMP_ACT_BOGUS' }, /linux\.seccomp\.defaultAction/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOPE' }] }, /linux\.seccomp\.syscalls\[0\]\.action/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ODD' }] }] }, /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_PDP11'] }, /linux\.seccomp\.architectures\[0\]: unknown architecture "SCMP_ARCH_PDP11"/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_MAGIC'] }, /linux\.seccomp\.flags\[0\]/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/tmp/x.sock' }, /linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY cannot be the default action/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /linux\.seccomp\.listenerPath/],
  ];
  for (const [seccomp, message] of cases) {
    const box = new Sandbox(t, withSeccomp(['true'], seccomp));
    const id = box.id();
    const r = box.create(id);
    t.equal(r.code, 1, `refused: ${JSON.stringify(seccomp)}`);
    t.match(r.stderr, message);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(box.state(id), null, 'no state');
  }
});

// ------------------------------------------------------------------ notify

const LISTENER_C = String.raw`
#define _GNU_SOURCE
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
/* listener SOCKET OUT: take one container's notify fd, log it, fake success for every call. */
int main(int argc, char **argv) {
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strncpy(a.sun_path, argv[1], sizeof(a.sun_path) - 1);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0) return 1;
	int c = accept(s, NULL, NULL);
	char buf[65536], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	ssize_t n = recvmsg(c, &m, 0);
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	if (n <= 0 || !h || h->cmsg_type != SCM_RIGHTS) return 2;
	buf[n] = 0;
	int fd;
	memcpy(&fd, CMSG_DATA(h), sizeof(int));
	FILE *out = fopen(argv[2], "w");
	fprintf(out, "%s\n", buf);
	fflush(out);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 20000) <= 0 || (p.revents & POLLHUP)) break;
		struct seccomp_notif req;
		struct seccomp_notif_resp resp;
		memset(&req, 0, sizeof(req));
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) continue;
		fprintf(out, "syscall %d\n", req.data.nr);
		fflush(out);
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;	/* val 0, error 0: "it worked", without doing it */
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
	return 0;
}
`;

const haveCc = spawnSync('cc', ['--version']).status === 0 ? false : 'needs a C compiler for the test listener';

for (const nnp of [true, false]) {
  t.test(`SCMP_ACT_NOTIFY: the listener gets the notify fd and the container process state (noNewPrivileges ${nnp})`, { skip: skip || haveCc }, async (t) => {
    const box = new Sandbox(t);
    const src = join(box.dir, 'listener.c');
    const bin = join(box.dir, 'listener');
    writeFileSync(src, LISTENER_C);
    const cc = spawnSync('cc', ['-o', bin, src], { encoding: 'utf8' });
    if (!t.equal(cc.status, 0, cc.stderr)) return;
    const sock = join(box.dir, 'agent.sock');
    const log = join(box.dir, 'agent.log');
    const listener = spawn(bin, [sock, log], { stdio: 'ignore' });
    t.teardown(() => { listener.kill('SIGKILL'); });
    t.ok(await until(() => existsSync(sock)), 'listener is up');

    const config = withSeccomp(sh('mkdir /tmp/n && echo "made"; ls -d /tmp/n 2>/dev/null || echo "absent"; mkdir -p /tmp/real && echo real-ok'), {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: sock,
      listenerMetadata: 'hello-agent',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
    }, nnp);
    config.annotations = { 'org.example/key': 'value' };
    box.writeConfig(config);
    const id = box.id();
    const c = box.create(id);
    if (!t.equal(c.code, 0, c.stderr)) return;
    t.equal(box.ocirun(['start', id]).code, 0);
    t.ok(await until(() => !existsSync(`/proc/${c.pid}`) || /\) Z /.test(readProcFile(c.pid, 'stat'))), 'the container finished');
    const out = readFileSync(join(box.dir, `${id}.stdout`), 'utf8');
    t.match(out, /^made\nabsent\nreal-ok\n$/, 'mkdir "succeeded" as the listener said, without making anything');
    t.ok(await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('syscall')), 'the listener saw the calls');
    const [first, ...calls] = readFileSync(log, 'utf8').trim().split('\n');
    const msg = JSON.parse(first ?? '{}');
    t.same(msg.fds, ['seccompFd']);
    t.equal(msg.pid, c.pid, 'pid: the container process, as the host sees it');
    t.equal(msg.metadata, 'hello-agent');
    t.equal(msg.ociVersion, '1.3.0');
    t.match(msg.state, { id, pid: c.pid, bundle: box.bundle, status: 'created', annotations: { 'org.example/key': 'value' } });
    t.ok(calls.length >= 2, `each mkdir was notified (${calls.join(', ')})`);
  });
}

t.test('SCMP_ACT_NOTIFY: a listenerPath nobody listens on fails create, naming it', { skip }, async (t) => {
  const box = new Sandbox(t, withSeccomp(['true'], {
    defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/nonexistent/agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
  }));
  const id = box.id();
  const r = box.create(id);
  t.equal(r.code, 1);
  t.match(r.stderr, /linux\.seccomp\.listenerPath: connect \/nonexistent\/agent\.sock.*ENOENT/);
  t.equal(box.state(id), null);
});
