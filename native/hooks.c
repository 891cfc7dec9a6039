/* One hook, run to its end (see hooks.h). */
#define _GNU_SOURCE
#include "hooks.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum hook_failure hook_run(const char *path, const char *const *argv, const char *const *envp,
			   int timeout_s, const char *state, int *detail)
{
	int in[2], report[2];
	size_t len = strlen(state);
	*detail = 0;
	if (pipe2(in, O_CLOEXEC) < 0) { *detail = errno; return HOOK_SETUP; }
	/* The child writes its execve errno here; end of file means it ran. */
	if (pipe2(report, O_CLOEXEC) < 0) { *detail = errno; close(in[0]); close(in[1]); return HOOK_SETUP; }
	/* The whole state fits in the pipe, so a hook that never reads stdin cannot block us. */
	if (len > 65536)
		fcntl(in[1], F_SETPIPE_SZ, (int)len);
	/*
	 * A raw clone, not fork(): fork runs the atfork handlers of the Node the
	 * init was forked from, and libuv's closes and writes to fd numbers that
	 * are ours now.
	 */
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		*detail = errno;
		close(in[0]); close(in[1]); close(report[0]); close(report[1]);
		return HOOK_SETUP;
	}
	if (pid == 0) {
		/* A hook gets default signal handling, whatever ours is (SIGPIPE is ignored here). */
		sigset_t none;
		sigemptyset(&none);
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* dup2 leaves the copy without close-on-exec: the hook's stdin. */
		if (dup2(in[0], 0) >= 0)
			execve(path, (char *const *)argv, (char *const *)envp);
		int e = errno;
		(void)!write(report[1], &e, sizeof(e));
		_exit(127);
	}
	close(in[0]);
	close(report[1]);
	/* A hook that does not read its stdin makes this fail (EPIPE, EAGAIN): not its failure. */
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	(void)!write(in[1], state, len);
	close(in[1]);
	int e = 0;
	ssize_t got;
	do
		got = read(report[0], &e, sizeof(e));
	while (got < 0 && errno == EINTR);
	close(report[0]);

	/* A pidfd becomes readable when the hook exits: poll it with the timeout. */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int timed_out = 0;
	if (got != (ssize_t)sizeof(e) && timeout_s > 0 && pidfd >= 0) {
		struct pollfd p = { pidfd, POLLIN, 0 };
		int n;
		do
			n = poll(&p, 1, timeout_s * 1000);
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			kill(pid, SIGKILL);
			timed_out = 1;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(e)) { *detail = e; return HOOK_CANNOT_RUN; }
	if (timed_out) return HOOK_TIMEOUT;
	if (WIFSIGNALED(status)) { *detail = WTERMSIG(status); return HOOK_SIGNAL; }
	if (WEXITSTATUS(status) != 0) { *detail = WEXITSTATUS(status); return HOOK_EXIT; }
	return HOOK_OK;
}
