/*
 * ocirun's native steps: the few things that cannot run in JavaScript.
 *
 * Node marks its heap MADV_DONTFORK and is multithreaded from its first
 * instruction, so no JavaScript can run in a forked child, and a
 * multithreaded process cannot enter a user namespace.  Everything between
 * fork() and execve() therefore lives here, and it only carries out plain
 * data that the TypeScript side has already decided:
 *
 *   ocirun_spawn()     stage 1: join namespaces by fd, create a user namespace
 *                      (the parent writes the id maps), unshare the others,
 *                      then fork stage 2 as a sibling (CLONE_PARENT), which
 *                      starts a new session and becomes the container's
 *                      init: it receives the plan and carries it out
 *                      (plan.c), or, for exec, finalizes at once.
 *   ocirun_finalize()  the init's (or exec's) last act, in two halves: first
 *                      everything that can fail before `start` (ids,
 *                      capabilities, seccomp without no_new_privs, fd
 *                      hygiene), then, for the init, "ready", the wait on
 *                      exec.fifo and the startContainer hooks, and last
 *                      no_new_privs, seccomp with it, and execve.
 *
 * Progress and failures go to the parent over the sync socket, in the
 * framing and message table of sync.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_JOIN 8

#include "finalize.h"
#include "hooks.h"
#include "plan.h"
#include "sync.h"
#include "fdutil.h"

struct ocirun_spawn {
	int sync_fd;			/* child end of the sync socket */
	int preserve_fds;		/* fds 3..3+n-1 survive the exec */
	int join_count;			/* namespaces to setns(), in order */
	int join_fds[MAX_JOIN];
	int join_types[MAX_JOIN];
	int new_userns;			/* unshare a user ns; parent writes maps */
	int become_root;		/* setresuid/gid(0) inside the user ns */
	int unshare_flags;		/* other CLONE_NEW* to create */
	const char *timens_offsets;	/* for /proc/self/timens_offsets, or NULL */
	int loopback_up;		/* bring "lo" up in the network namespace just created */
	const struct ocirun_finalize *exec;	/* exec: stage 2 becomes this process, not the init */
	int console_fd;			/* exec with a terminal: connected console socket, else -1 */
	unsigned short console_rows, console_cols;	/* 0 leaves the pty's size alone */
};

/* Write all of text to fd (exec.fifo, stderr); best effort, we are failing or done. */
static void say(int fd, const char *text)
{
	size_t len = strlen(text);
	while (len > 0) {
		ssize_t n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

/* Report what failed to the parent and exit: stage 1 and 2 never return. */
static void __attribute__((noreturn)) bail(int fd, const char *what, int err)
{
	sync_error(fd, -1, err, 0, what);
	_exit(1);
}

/*
 * Everything above fd 2 is marked close-on-exec except the preserved range
 * and `keep`; fds 0-2 lose the close-on-exec flag that Node put on them.
 */
static int tidy_fds(int preserve_fds, int keep)
{
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return -1;
	for (int fd = 0; fd < 3 + preserve_fds; fd++)
		fcntl(fd, F_SETFD, 0);	/* an fd that is not open is fine */
	if (keep >= 0 && fcntl(keep, F_SETFD, 0) < 0)
		return -1;
	return 0;
}

/*
 * exec with a terminal: a pty from the container's devpts (we are in its
 * mount namespace now), its master sent over the console socket as one
 * message (name + fd), the slave made our controlling terminal and stdio.
 */
static int exec_terminal(const struct ocirun_spawn *s, const char **step)
{
	char name[64];
	unsigned int n = 0, unlock = 0;
	int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0) { *step = "open /dev/pts/ptmx"; return -errno; }
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0) { *step = "unlock pty"; return -errno; }
	if (s->console_rows && s->console_cols) {
		struct winsize ws = { s->console_rows, s->console_cols, 0, 0 };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0) { *step = "set pty size"; return -errno; }
	}
	snprintf(name, sizeof(name), "/dev/pts/%u", n);
	int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) { *step = "open pty slave"; return -errno; }

	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { name, strlen(name) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	if (sendmsg(s->console_fd, &msg, 0) < 0) { *step = "send pty master"; return -errno; }
	close(master);
	close(s->console_fd);
	if (ioctl(slave, TIOCSCTTY, 0) < 0) { *step = "set controlling terminal"; return -errno; }
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0) { *step = "dup2 pty"; return -errno; }
	if (slave > 2)
		close(slave);
	return 0;
}

/*
 * The init: nothing of the runtime's stays open but stdio, the preserved
 * fds and the sync socket; then the plan comes (with its fds), is checked
 * whole, and carried out. Only a failure returns from plan_run.
 */
static void __attribute__((noreturn)) run_plan(const struct ocirun_spawn *s)
{
	int fd = s->sync_fd, fds[SYNC_MAX_FDS], nfds = 0, op = -1, detail = 0;
	unsigned int first = 3 + (unsigned int)s->preserve_fds;
	if ((unsigned int)fd > first && syscall(SYS_close_range, first, (unsigned int)fd - 1, 0) < 0)
		bail(fd, "close_range", errno);
	if (syscall(SYS_close_range, (unsigned int)fd + 1, ~0U, 0) < 0)
		bail(fd, "close_range", errno);
	/* A name that says what we are in ps (we are a fork of the runtime's Node, not an exec). */
	prctl(PR_SET_NAME, "ocirun-init", 0, 0, 0);
	uint8_t *plan;
	size_t len;
	int rc = sync_recv(fd, SYNC_PLAN, &plan, &len, fds, &nfds);
	if (rc < 0)
		bail(fd, "waiting for the plan", -rc);
	if (plan_check(plan, len, nfds, &op) < 0) {
		sync_error(fd, op, EINVAL, 0, "malformed plan");
		_exit(1);
	}
	const char *step = "plan";
	rc = plan_run(plan, len, fd, fds, nfds, &op, &detail, &step);
	sync_error(fd, op, -rc, detail, step);
	_exit(1);
}

static void __attribute__((noreturn)) stage2(const struct ocirun_spawn *s)
{
	/* A container is its own session, so no terminal signal reaches it by accident. */
	if (setsid() < 0)
		bail(s->sync_fd, "setsid", errno);
	if (s->exec) {
		/*
		 * exec: wait until the runtime has put us in the container's cgroups,
		 * then become the process. The sync fd is close-on-exec from here, so
		 * the runtime reads EOF once execve succeeded, or an error line.
		 */
		const char *step = "finalize";
		uint8_t *go;
		size_t len;
		int rc = sync_recv(s->sync_fd, SYNC_EXEC, &go, &len, NULL, NULL);
		if (rc < 0)
			bail(s->sync_fd, "waiting for the runtime", -rc);
		/* "exec" may carry the process's settings (scheduler, oom_score_adj, ...) as a plan of ops. */
		if (len > 0) {
			int op = -1, detail = 0;
			if (plan_check(go, len, 0, &op) < 0) {
				sync_error(s->sync_fd, op, EINVAL, 0, "malformed plan");
				_exit(1);
			}
			rc = plan_run(go, len, -1, NULL, 0, &op, &detail, &step);
			if (rc < 0) {
				sync_error(s->sync_fd, op, -rc, detail, step);
				_exit(1);
			}
			step = "finalize";
		}
		int err = 0;
		if (s->console_fd >= 0)
			err = -exec_terminal(s, &step);
		if (err == 0)
			err = -ocirun_finalize(s->exec, &step);
		bail(s->sync_fd, step, err);
	}
	run_plan(s);
}

/*
 * A new network namespace starts with "lo" down; runc brings it up, and
 * programs expect 127.0.0.1 to work. It is done here, right after the
 * unshare that made the namespace, rather than in the init: every init
 * (whatever carries out its setup) goes through this step, and stage 1
 * holds the capabilities over the namespace at this point.
 */
static int bring_loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close_keep_errno(fd);
	return rc;
}

/* What fork_into_cgroups() managed: the runtime places the process in the rest. */
struct placed {
	uint32_t tasks_mask;	/* bit i: the i-th `tasks` fd was written */
	int32_t cloned_into;	/* 1: born in the cgroup2 directory */
};

/*
 * Fork stage 2 in the container's cgroups, as the runtime's CGROUPS message
 * says, without the wait a cgroup.procs write costs: every such write takes
 * a system-wide percpu rwsem for writing, which waits for an RCU grace
 * period (5-15 ms) when no migration happened just before. Two ways around
 * it that the kernel offers:
 *   - cgroup v1: writing "0" to a hierarchy's `tasks` file moves only the
 *     calling thread and skips that lock (cgroup_procs_write_start()); we
 *     are single-threaded, so this moves us, and the child inherits it. The
 *     kernel checks the credentials the runtime opened the file with.
 *   - cgroup v2: clone3(CLONE_INTO_CGROUP) takes the lock only for reading.
 * Whatever fails here is left to the runtime (a cgroup.procs write), which
 * also words the error: so failures are not reported, only what was done.
 */
static pid_t fork_into_cgroups(int fd, int newpid, struct placed *placed)
{
	int fds[SYNC_MAX_FDS], nfds = 0;
	uint8_t *msg;
	size_t len;
	int rc = sync_recv(fd, SYNC_CGROUPS, &msg, &len, fds, &nfds);
	if (rc < 0)
		bail(fd, "waiting for the cgroups", -rc);
	uint32_t head[2] = { 0, 0 };
	if (len == sizeof(head))
		memcpy(head, msg, sizeof(head));
	free(msg);
	if (len != sizeof(head) || head[0] > 31 || head[1] > 1 || (int)(head[0] + head[1]) != nfds)
		bail(fd, "malformed cgroups message", EINVAL);
	for (uint32_t i = 0; i < head[0]; i++) {
		if (write(fds[i], "0", 1) == 1)
			placed->tasks_mask |= 1U << i;
		close(fds[i]);
	}
	pid_t child = -1;
	if (head[1]) {
		int dir = fds[head[0]];
		struct clone_args args;
		memset(&args, 0, sizeof(args));
		/* With CLONE_PARENT clone3 wants no exit_signal: the child takes ours (SIGCHLD). */
		args.flags = CLONE_PARENT | CLONE_INTO_CGROUP | (uint64_t)newpid;
		args.cgroup = (uint64_t)dir;
		/* ENOSYS, EINVAL (older kernels), EACCES (a user namespace), EBUSY: the plain clone below (and a new pid namespace with it). */
		child = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		if (child == 0)
			return 0;	/* the child: its copy of dir is closed with the rest by the init */
		if (child > 0)
			placed->cloned_into = 1;
		close(dir);
	}
	if (child < 0)
		child = (pid_t)syscall(SYS_clone, CLONE_PARENT | newpid | SIGCHLD, 0, 0, 0, 0);
	return child;
}

/*
 * A fork holds every fd of the runtime's Node: its end of the sync socket
 * (while we hold it too, a runtime that dies never gives us end of file, and
 * we would wait forever), the container's lock (its flock would outlive the
 * runtime), its pipes. Keep stdio, the preserved fds and what the request
 * names; close the rest.
 */
static int close_unneeded(const struct ocirun_spawn *s)
{
	unsigned int keep[MAX_JOIN + 3], n = 0, first = 3U + (unsigned int)s->preserve_fds;
	keep[n++] = (unsigned int)s->sync_fd;
	if (s->console_fd >= 0)
		keep[n++] = (unsigned int)s->console_fd;
	if (s->exec && s->exec->listener_fd >= 0)
		keep[n++] = (unsigned int)s->exec->listener_fd;
	for (int i = 0; i < s->join_count; i++)
		keep[n++] = (unsigned int)s->join_fds[i];
	for (unsigned int i = 1; i < n; i++)	/* a handful: insertion sort */
		for (unsigned int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			unsigned int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (unsigned int i = 0; i < n; i++) {
		if (keep[i] < first)
			continue;
		if (keep[i] > first && syscall(SYS_close_range, first, keep[i] - 1, 0) < 0)
			return -1;
		first = keep[i] + 1;
	}
	return (int)syscall(SYS_close_range, first, ~0U, 0);
}

static void __attribute__((noreturn)) stage1(const struct ocirun_spawn *s)
{
	char line[64];
	int fd = s->sync_fd;

	if (close_unneeded(s) < 0)
		bail(fd, "close_range", errno);

	/*
	 * Not dumpable from the start: once we join the container's namespaces
	 * its processes must not reach our memory or /proc/<pid>/exe (the
	 * CVE-2019-5736 class). execve of the final program resets it.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		bail(fd, "prctl PR_SET_DUMPABLE", errno);

	/* Joining first, with host privileges; a given user namespace comes first in the list. */
	for (int i = 0; i < s->join_count; i++) {
		if (setns(s->join_fds[i], s->join_types[i]) < 0) {
			snprintf(line, sizeof(line), "setns %d", i);
			bail(fd, line, errno);
		}
		close(s->join_fds[i]);
	}
	if (s->new_userns) {
		if (unshare(CLONE_NEWUSER) < 0)
			bail(fd, "unshare user namespace", errno);
		/*
		 * Only the parent, outside, may write our maps: ask, then wait for its
		 * word. The /proc files of a non-dumpable process belong to root, so an
		 * unprivileged parent could not write them: dumpable for just this
		 * moment, while nothing but us lives in the new user namespace.
		 */
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			bail(fd, "prctl PR_SET_DUMPABLE", errno);
		int32_t pid = getpid();
		uint8_t *done;
		size_t len;
		int rc = sync_send(fd, SYNC_IDMAP_REQUEST, &pid, sizeof(pid));
		if (rc == 0)
			rc = sync_recv(fd, SYNC_IDMAP_DONE, &done, &len, NULL, NULL);
		if (rc < 0)
			bail(fd, "waiting for id maps", -rc);
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			bail(fd, "prctl PR_SET_DUMPABLE", errno);
	}
	/* Host root is unmapped inside; without this, an execve (a hook's, the program's) would drop every capability. */
	if (s->become_root) {
		if (setresgid(0, 0, 0) < 0)
			bail(fd, "setresgid 0 in user namespace", errno);
		if (setresuid(0, 0, 0) < 0)
			bail(fd, "setresuid 0 in user namespace", errno);
	}
	/*
	 * A new pid namespace is made by the clone of stage 2, not by unshare:
	 * a clone that fails after taking pid 1 of a namespace unshare made
	 * leaves that namespace taking no more pids (ENOMEM), and the clone into
	 * a cgroup below may fail and be retried.
	 */
	int unshare_flags = s->unshare_flags & ~CLONE_NEWPID;
	if (unshare_flags && unshare(unshare_flags) < 0)
		bail(fd, "unshare namespaces", errno);
	if (s->loopback_up && bring_loopback_up() < 0)
		bail(fd, "bring up the loopback interface", errno);
	/* Offsets must be set before any process lives in the new time namespace. */
	if (s->timens_offsets) {
		int tfd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (tfd < 0)
			bail(fd, "open /proc/self/timens_offsets", errno);
		if (write(tfd, s->timens_offsets, strlen(s->timens_offsets)) < 0)
			bail(fd, "write /proc/self/timens_offsets", errno);
		close(tfd);
	}
	/*
	 * Stage 2 is created as our sibling, a child of the runtime, so the
	 * runtime (and after it, whoever reaps it) owns the container process.
	 * A new pid namespace only applies to children, hence this second fork.
	 * It is born in the container's cgroups where that is cheap (below).
	 */
	struct placed placed = { 0, 0 };
	pid_t child = fork_into_cgroups(fd, s->unshare_flags & CLONE_NEWPID, &placed);
	if (child < 0)
		bail(fd, "clone init", errno);
	if (child == 0)
		stage2(s);
	int32_t reply[3] = { child, (int32_t)placed.tasks_mask, placed.cloned_into };
	sync_send(fd, SYNC_INIT_PID, reply, sizeof(reply));
	_exit(0);
}

/* Returns stage 1's pid (the caller reaps it), or -errno. */
int ocirun_spawn(const struct ocirun_spawn *s)
{
	if (s->join_count < 0 || s->join_count > MAX_JOIN)
		return -EINVAL;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		stage1(s);
	return pid;
}


/*
 * Load the filter. With SECCOMP_FILTER_FLAG_NEW_LISTENER the kernel returns
 * the notify fd: it goes to the listener in one message, the state JSON as
 * data and the fd as SCM_RIGHTS (the runtime spec's seccomp section), and
 * then we close both fds, keeping no handle on the container's syscalls.
 */
static int install_seccomp(const struct ocirun_finalize *f)
{
	struct sock_fprog prog = { (unsigned short)f->seccomp_len, (struct sock_filter *)f->seccomp };
	int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->seccomp_flags, &prog);
	if (fd < 0 || !(f->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
		return fd < 0 ? -1 : 0;
	const char *data = f->listener_state;
	size_t len = strlen(data);
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
	struct iovec iov = { (void *)data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t n = sendmsg(f->listener_fd, &msg, MSG_NOSIGNAL);
	while (n >= 0 && (size_t)n < len) {	/* the rest of a long state, without the fd */
		data += n;
		len -= (size_t)n;
		n = send(f->listener_fd, data, len, MSG_NOSIGNAL);
	}
	int err = errno;
	close(fd);
	close(f->listener_fd);
	errno = err;
	return n < 0 ? -1 : 0;
}

/*
 * The first half: everything that can fail before `start`, so that it is
 * the error of `create` (or of `exec`, before the process counts as
 * started), as runc does. Returns 0, or a negative errno with *step set.
 * Order follows what the kernel demands: the bounding set needs
 * CAP_SETPCAP (so before the uid change), KEEPCAPS carries the permitted set
 * across setuid, and chdir comes after it so that the user's own rights are
 * checked. A filter without no_new_privs needs CAP_SYS_ADMIN, which the uid
 * change clears from the effective set (podman's default: a profile, a
 * non-root user, no no_new_privs): so it is loaded after the user's chdir
 * with CAP_SYS_ADMIN alone raised again from the kept permitted set, before
 * the final capabilities. Signals and fds come before it, as a profile may
 * deny them; only capset/prctl run under it here.
 */
static int prepare(const struct ocirun_finalize *f, const char **step)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

#define FAIL(what) do { *step = what; return -errno; } while (0)

	if (f->root && (chroot(f->root) < 0 || chdir("/") < 0))
		FAIL("chroot");
	if (f->umask >= 0)
		umask((mode_t)f->umask);

	for (int cap = 0; cap <= f->last_cap; cap++)
		if (!(f->cap_bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			FAIL("drop bounding capability");
	/* Node ignores SIGPIPE and blocks signals; ignored dispositions and the mask survive execve. */
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		FAIL("sigprocmask");
	if (tidy_fds(f->preserve_fds, -1) < 0)
		FAIL("close_range");
	/* AppArmor/SELinux: the label the next execve of this thread takes on. */
	for (const char *const *a = f->exec_attrs; a && a[0] && a[1]; a += 2) {
		int afd = open(a[0], O_WRONLY | O_CLOEXEC);
		if (afd < 0 || write(afd, a[1], strlen(a[1])) < 0)
			FAIL("set LSM exec label");
		close(afd);
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		FAIL("prctl keepcaps");
	/* Raw syscalls: only this thread matters, it is the one that calls execve. */
	if (f->set_groups && syscall(SYS_setgroups, (size_t)f->ngroups, f->groups) < 0)
		FAIL("setgroups");
	if (syscall(SYS_setresgid, f->gid, f->gid, f->gid) < 0)
		FAIL("setresgid");
	if (syscall(SYS_setresuid, f->uid, f->uid, f->uid) < 0)
		FAIL("setresuid");
	if (f->cwd && chdir(f->cwd) < 0)
		FAIL("chdir");
	memset(data, 0, sizeof(data));
	if (f->seccomp && !f->no_new_privs) {
		if (syscall(SYS_capget, &hdr, data) < 0)
			FAIL("capget");
		data[0].effective = 1U << CAP_SYS_ADMIN;	/* CAP_SYS_ADMIN is below 32 */
		data[1].effective = 0;
		if (syscall(SYS_capset, &hdr, data) < 0)
			FAIL("raise CAP_SYS_ADMIN for seccomp");
		if (install_seccomp(f) < 0)
			FAIL("seccomp");
	}
	data[0].effective = (uint32_t)f->cap_effective;
	data[1].effective = (uint32_t)(f->cap_effective >> 32);
	data[0].permitted = (uint32_t)f->cap_permitted;
	data[1].permitted = (uint32_t)(f->cap_permitted >> 32);
	data[0].inheritable = (uint32_t)f->cap_inheritable;
	data[1].inheritable = (uint32_t)(f->cap_inheritable >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		FAIL("capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		FAIL("clear ambient capabilities");
	for (int cap = 0; cap <= f->last_cap; cap++)
		if ((f->cap_ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			FAIL("raise ambient capability");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		FAIL("prctl keepcaps");
	return 0;
}

/* The second half: only what must follow `start`. Returns only on failure. */
static int finish(const struct ocirun_finalize *f, const char **step)
{
	if (f->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		FAIL("prctl no_new_privs");
	/* With no_new_privs the filter comes last, to filter as little of our own work as possible. */
	if (f->seccomp && f->no_new_privs && install_seccomp(f) < 0)
		FAIL("seccomp");
	/* Like execvp: a candidate that is missing or not ours to run lets the next one try. */
	int first_err = ENOENT;
	for (const char *const *p = f->paths; *p; p++) {
		execve(*p, (char *const *)f->argv, (char *const *)f->envp);
		if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
			FAIL("execve");
		if (errno == EACCES)
			first_err = EACCES;
	}
	errno = first_err;
	FAIL("execve");
#undef FAIL
}

/*
 * Run one startContainer hook (hooks.c): its argv and env, the state on
 * stdin, our stdout/stderr (the container's), killed with SIGKILL at its
 * timeout. Returns 0, or -1 with what went wrong in why.
 */
static int run_hook(const struct ocirun_hook *h, const char *state, char *why, size_t size)
{
	int detail = 0;
	switch (hook_run(h->path, h->argv, h->envp, h->timeout, state, &detail)) {
	case HOOK_OK: return 0;
	case HOOK_EXIT: snprintf(why, size, "exited with status %d", detail); break;
	case HOOK_SIGNAL: snprintf(why, size, "killed by SIG%s", sigabbrev_np(detail)); break;
	case HOOK_TIMEOUT: snprintf(why, size, "timed out after %ds", h->timeout); break;
	default: snprintf(why, size, "cannot run: %s", strerrorname_np(detail)); break;
	}
	return -1;
}

/* PID 1 of a pid namespace only gets the signals it handles: while it waits, these end it. */
static void die_by_signal(int sig)
{
	_exit(128 + sig);
}

/*
 * The init between the halves: "ready" to the runtime, the wait for `start`
 * on exec.fifo, the startContainer hooks, and the answer to `start` ("0",
 * or "E" and the error). Returns 0, or -1 when `start` must not go on
 * (the init then exits, which stops the container).
 */
static int wait_for_start(const struct ocirun_start *st)
{
	static const int ending[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	char path[64], line[1024];
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = die_by_signal;
	for (size_t i = 0; i < sizeof(ending) / sizeof(ending[0]); i++)
		sigaction(ending[i], &sa, NULL);	/* handlers go back to default at execve */

	sync_send(st->sync_fd, SYNC_READY, NULL, 0);
	close(st->sync_fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", st->fifo_fd);
	int fifo;
	do
		fifo = open(path, O_WRONLY | O_CLOEXEC);
	while (fifo < 0 && errno == EINTR);
	close(st->fifo_fd);
	if (fifo < 0)
		return -1;	/* `start` sees the init gone */

	/* A hook that does not read its stdin must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < st->nhooks; i++) {
		char why[256];
		if (run_hook(&st->hooks[i], st->hook_state, why, sizeof(why)) < 0) {
			snprintf(line, sizeof(line), "EstartContainer hook #%d (%s): %s", i, st->hooks[i].path, why);
			say(fifo, line);
			return -1;
		}
	}
	signal(SIGPIPE, SIG_DFL);
	say(fifo, "0");
	/*
	 * The fifo stays open until the program's execve closes it (O_CLOEXEC):
	 * `start` waits for that end, so once it returns a signal sent to the
	 * container finds the program (or the default dispositions it starts
	 * with), never die_by_signal above.
	 */
	return 0;
}

/*
 * exec: both halves, the runtime learns the outcome over the sync socket.
 * The init: the first half, then the wait for `start`, then the second; a
 * failure of the first half returns (the init reports it to `create`),
 * a later one is written to the container's stderr and ends the init.
 */
int ocirun_finalize(const struct ocirun_finalize *f, const char **step)
{
	int err = prepare(f, step);
	if (err < 0 || !f->start)
		return err < 0 ? err : finish(f, step);
	if (wait_for_start(f->start) < 0)
		_exit(127);
	err = finish(f, step);
	/* Only failures come back: after start, the only channel left is stderr. */
	char line[256];
	snprintf(line, sizeof(line), "ocirun init: %s: %s\n", *step, strerrorname_np(-err));
	say(2, line);
	_exit(127);
}
