/*
 * The final process setup, shared by the init (the plan's FINALIZE op) and
 * exec: bounding set, ids, capabilities, no_new_privs, seccomp, fds, LSM
 * labels and execve.  Implemented in ocirun.c.
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
};

int ocirun_finalize(const struct ocirun_finalize *f, const char **step);

#endif
