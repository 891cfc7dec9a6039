/*
 * Idmapped mounts (runtime spec: mounts[].uidMappings/gidMappings, the
 * "idmap" and "ridmap" options): a detached copy of the source tree whose
 * ids are seen through a user namespace that holds the mount's mapping.
 *
 * The runtime calls ocirun_idmapped_tree() before the container is cloned,
 * with host privileges (mount_setattr's MOUNT_ATTR_IDMAP needs them), and
 * hands the returned fd to the init, which attaches it with move_mount(2)
 * inside the container's root. Plain data in, no decisions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fdutil.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

int ocirun_idmapped_tree(const char *source, const char *uid_map, const char *gid_map, int rbind, int ridmap, const char **step);
int ocirun_idmap_supported(void);

/* Write text to /proc/<pid>/<name>. */
static int write_proc(pid_t pid, const char *name, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close_keep_errno(fd);
	return n < 0 ? -1 : 0;
}

/*
 * A user namespace holding only the given maps, as an fd. A child (raw
 * clone: Node's atfork handlers must not run, and no JavaScript may) makes
 * the namespace and waits on a pipe while we write its maps and open it;
 * closing the pipe lets it exit. The fd keeps the namespace alive.
 */
static int userns_fd(const char *uid_map, const char *gid_map, const char **step)
{
	int ready[2], hold[2];
	if (pipe2(ready, O_CLOEXEC) < 0) { *step = "pipe"; return -errno; }
	if (pipe2(hold, O_CLOEXEC) < 0) { *step = "pipe"; close(ready[0]); close(ready[1]); return -errno; }
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		*step = "clone";
		int err = errno;
		close(ready[0]); close(ready[1]); close(hold[0]); close(hold[1]);
		return -err;
	}
	if (pid == 0) {
		/* the child: async-signal-safe calls only; it must not hold the ends it waits on */
		close(hold[1]);
		close(ready[0]);
		int err = unshare(CLONE_NEWUSER) < 0 ? errno : 0;
		if (write(ready[1], &err, sizeof(err)) != sizeof(err))
			_exit(1);
		char c;
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	int err = 0, fd = -1;
	ssize_t got;
	do
		got = read(ready[0], &err, sizeof(err));
	while (got < 0 && errno == EINTR);
	close(ready[0]);
	if (got != sizeof(err)) { *step = "user namespace for the mapping"; err = EPIPE; }
	else if (err) *step = "unshare user namespace for the mapping";
	else if (write_proc(pid, "uid_map", uid_map) < 0) { *step = "write uid_map of the mapping"; err = errno; }
	else if (write_proc(pid, "gid_map", gid_map) < 0) { *step = "write gid_map of the mapping"; err = errno; }
	else {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) { *step = "open the mapping's user namespace"; err = errno; }
	}
	close(hold[1]);	/* the child reads end of file and exits */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return fd >= 0 ? fd : -err;
}

/*
 * A detached clone of `source` (its whole subtree with `rbind`), its ids
 * mapped (on its submounts too with `ridmap`) through uid_map/gid_map ("inside outside count" lines, as in
 * /proc/<pid>/uid_map): on-disk ids are the "inside" side, and the mount
 * shows them as the "outside" ones. Returns the tree's fd, or -errno with
 * *step naming what failed.
 */
int ocirun_idmapped_tree(const char *source, const char *uid_map, const char *gid_map, int rbind, int ridmap, const char **step)
{
	int ns = userns_fd(uid_map, gid_map, step);
	if (ns < 0)
		return ns;
	unsigned int tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rbind ? AT_RECURSIVE : 0);
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, tree_flags);
	if (tree < 0) {
		*step = "open_tree";
		int err = errno;
		close(ns);
		return -err;
	}
	struct mount_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.attr_set = MOUNT_ATTR_IDMAP;
	attr.userns_fd = (uint64_t)ns;
	long rc = syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (ridmap ? AT_RECURSIVE : 0), &attr, sizeof(attr));
	int err = errno;
	close(ns);
	if (rc < 0) {
		*step = "mount_setattr MOUNT_ATTR_IDMAP";
		close(tree);
		return -err;
	}
	return tree;
}

/* The kernel has mount_setattr(2) (5.12, with MOUNT_ATTR_IDMAP): on no fd it fails EBADF, not ENOSYS. */
int ocirun_idmap_supported(void)
{
	return syscall(SYS_mount_setattr, -1, "", 0, NULL, 0) < 0 && errno == ENOSYS ? 0 : 1;
}
