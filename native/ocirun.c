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
 *   ocirun_finalize()  the init's (or exec's) last act: bounding set, ids,
 *                      capabilities, no_new_privs, seccomp, fd hygiene,
 *                      signal dispositions, execve.
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
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
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
#include "plan.h"
#include "sync.h"

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
	const struct ocirun_finalize *exec;	/* exec: stage 2 becomes this process, not the init */
	int console_fd;			/* exec with a terminal: connected console socket, else -1 */
	unsigned short console_rows, console_cols;	/* 0 leaves the pty's size alone */
};

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
		int err = 0;
		if (s->console_fd >= 0)
			err = -exec_terminal(s, &step);
		if (err == 0)
			err = -ocirun_finalize(s->exec, &step);
		bail(s->sync_fd, step, err);
	}
	run_plan(s);
}

static void __attribute__((noreturn)) stage1(const struct ocirun_spawn *s)
{
	char line[64];
	int fd = s->sync_fd;

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
		/* Only the parent, outside, may write our maps: ask, then wait for its word. */
		int32_t pid = getpid();
		uint8_t *done;
		size_t len;
		int rc = sync_send(fd, SYNC_IDMAP_REQUEST, &pid, sizeof(pid));
		if (rc == 0)
			rc = sync_recv(fd, SYNC_IDMAP_DONE, &done, &len, NULL, NULL);
		if (rc < 0)
			bail(fd, "waiting for id maps", -rc);
	}
	/* Host root is unmapped inside; without this, an execve (a hook's, the program's) would drop every capability. */
	if (s->become_root) {
		if (setresgid(0, 0, 0) < 0)
			bail(fd, "setresgid 0 in user namespace", errno);
		if (setresuid(0, 0, 0) < 0)
			bail(fd, "setresuid 0 in user namespace", errno);
	}
	if (s->unshare_flags && unshare(s->unshare_flags) < 0)
		bail(fd, "unshare namespaces", errno);
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
	 */
	pid_t child = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (child < 0)
		bail(fd, "clone init", errno);
	if (child == 0)
		stage2(s);
	int32_t pid = child;
	sync_send(fd, SYNC_INIT_PID, &pid, sizeof(pid));
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
 * Returns only on failure: a negative errno and, in *step, which step failed.
 * Order follows what the kernel demands: the bounding set needs
 * CAP_SETPCAP (so before the uid change), KEEPCAPS carries the permitted set
 * across setuid, and a filter without no_new_privs needs CAP_SYS_ADMIN (so
 * before the capabilities go); with no_new_privs it comes last, to filter as
 * little of our own work as possible. Either way chdir, signals and fds are
 * done before it: a profile may deny them (only capset/prctl, sendmsg/close
 * of the listener, and execve run under the filter).
 */
int ocirun_finalize(const struct ocirun_finalize *f, const char **step)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

#define FAIL(what) do { *step = what; return -errno; } while (0)

	if (f->umask >= 0)
		umask((mode_t)f->umask);

	for (int cap = 0; cap <= f->last_cap; cap++)
		if (!(f->cap_bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			FAIL("drop bounding capability");
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
	if (f->seccomp && !f->no_new_privs && install_seccomp(f) < 0)
		FAIL("seccomp");
	memset(data, 0, sizeof(data));
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
	if (f->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		FAIL("prctl no_new_privs");
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
