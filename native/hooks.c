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
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum hook_failure hook_run(const char *path, const char *const *argv, const char *const *envp,
			   int timeout_s, const char *state, int *detail)
{
	int in[2], report[2];
	*detail = 0;
	if (pipe2(in, O_CLOEXEC) < 0) { *detail = errno; return HOOK_SETUP; }
	/* The child writes its execve errno here; end of file means it ran. */
	if (pipe2(report, O_CLOEXEC) < 0) { *detail = errno; close(in[0]); close(in[1]); return HOOK_SETUP; }
	/*
	 * A raw clone, not fork(): fork runs the atfork handlers of the Node we
	 * were forked from, and libuv's writes to an fd number that is ours now.
	 */
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		*detail = errno;
		close(in[0]); close(in[1]); close(report[0]); close(report[1]);
		return HOOK_SETUP;
	}
	if (pid == 0) {
		/* A hook gets default signal handling, whatever ours is. */
		sigset_t none;
		sigemptyset(&none);
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in[0], 0) < 0)
			_exit(127);
		execve(path, (char *const *)argv, (char *const *)envp);
		int e = errno;
		(void)!write(report[1], &e, sizeof(e));
		_exit(127);
	}
	close(in[0]);
	close(report[1]);
	int e = 0;
	ssize_t got;
	do
		got = read(report[0], &e, sizeof(e));
	while (got < 0 && errno == EINTR);
	close(report[0]);
	/* A hook that does not read its stdin makes this fail with EPIPE: not its failure (SIGPIPE is ignored). */
	size_t left = strlen(state);
	const char *p = state;
	while (got <= 0 && left > 0) {
		ssize_t n = write(in[1], p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
	close(in[1]);
	long long deadline = timeout_s > 0 ? now_ms() + (long long)timeout_s * 1000 : -1;
	int status = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, deadline < 0 ? 0 : WNOHANG);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) { *detail = errno; return HOOK_SETUP; }
		if (r == pid)
			break;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return HOOK_TIMEOUT;
		}
		struct timespec nap = { 0, 5 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	if (got == (ssize_t)sizeof(e)) { *detail = e; return HOOK_CANNOT_RUN; }
	if (WIFSIGNALED(status)) { *detail = WTERMSIG(status); return HOOK_SIGNAL; }
	if (WEXITSTATUS(status) != 0) { *detail = WEXITSTATUS(status); return HOOK_EXIT; }
	return HOOK_OK;
}
