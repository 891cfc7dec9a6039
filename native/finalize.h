/*
 * The final process setup, shared by the init (the plan's FINALIZE op) and
 * exec: bounding set, ids, capabilities, seccomp, fds, LSM labels; for the
 * init then "ready", the wait for `start` and the startContainer hooks; then
 * no_new_privs and execve.  Implemented in ocirun.c.
 */
#ifndef OCIRUN_FINALIZE_H
#define OCIRUN_FINALIZE_H
#include <linux/filter.h>
#include <stdint.h>

struct ocirun_finalize {
	const char *const *paths;	/* where the program may be, tried in order (execvp's PATH walk) */
	const char *const *argv;
	const char *const *envp;
	const char *cwd;		/* chdir again as the final user */
	int umask;			/* -1 leaves it alone */
	int set_groups;			/* setgroups() is allowed here */
	int ngroups;
	const uint32_t *groups;
	uint32_t uid, gid;
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	int last_cap;			/* from /proc/sys/kernel/cap_last_cap */
	int no_new_privs;
	const struct sock_filter *seccomp;	/* BPF program from libseccomp, or NULL */
	int seccomp_len;		/* its number of instructions */
	int preserve_fds;
	unsigned int seccomp_flags;	/* SECCOMP_FILTER_FLAG_* for seccomp(2) */
	int listener_fd;		/* with FLAG_NEW_LISTENER: connected to linux.seccomp.listenerPath */
	const char *listener_state;	/* the container process state (JSON) sent with the notify fd */
	const char *const *exec_attrs;	/* LSM exec labels: path, text, path, text, …, NULL (exec only) */
	const char *root;		/* chroot here first (exec into a container without a mount namespace), or NULL */
	const struct ocirun_start *start;	/* the init: wait for `start` between the two halves; NULL for exec */
};

/* A startContainer hook, as the config gives it. */
struct ocirun_hook {
	const char *path;
	const char *const *argv;
	const char *const *envp;
	int timeout;			/* seconds; 0: none */
};

/* What the init does between "ready" and execve. */
struct ocirun_start {
	int sync_fd;			/* "ready" is written here once the process is prepared */
	int fifo_fd;			/* O_PATH fd on exec.fifo; opening it for writing waits for `start` */
	int nhooks;
	const struct ocirun_hook *hooks;	/* startContainer hooks, run in order */
	const char *hook_state;		/* the state JSON each hook reads on stdin */
};

int ocirun_finalize(const struct ocirun_finalize *f, const char **step);

#endif
