/*
 * In-root path resolution, two ways:
 *
 * - openat2(2) with RESOLVE_IN_ROOT: the kernel treats root_fd as "/" for
 *   the whole lookup (absolute symlinks restart there, ".." stops there) and
 *   refuses magic links.  Linux >= 5.6.
 * - a component walk for older kernels and for creating missing parts: one
 *   component at a time, each opened O_PATH|O_NOFOLLOW relative to its
 *   verified parent; a symlink is read and expanded by us (an absolute target
 *   restarts at the root, ".." never climbs above it).  A symlink planted
 *   later cannot redirect a step already taken.
 */
#define _GNU_SOURCE
#include "resolve.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_SYMLINKS 40
#define MAX_DEPTH 256

static int have_openat2 = -1;	/* unknown until first tried */

static int try_openat2(int root_fd, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/*
 * The walk.  `todo` holds the components still to resolve, as a string we
 * consume from the front; expanding a symlink puts its target in front of
 * the rest.  stack[] holds O_PATH fds of the directories walked (stack[0]
 * a copy of the root), so ".." pops one and never goes above the root.
 */
static int walk(int root_fd, const char *path, enum resolve_create create)
{
	int stack[MAX_DEPTH];
	int depth = 0, links = 0, err = 0;
	size_t cap = strlen(path) + 1;
	char *todo = malloc(cap);
	if (!todo)
		return -ENOMEM;
	memcpy(todo, path, cap);
	stack[depth] = openat(root_fd, ".", O_PATH | O_CLOEXEC | O_DIRECTORY);
	if (stack[depth] < 0) {
		free(todo);
		return -errno;
	}
	depth++;
	char *p = todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == 0)
			break;
		char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		char name[256];
		if (n >= sizeof(name)) { err = -ENAMETOOLONG; break; }
		memcpy(name, p, n);
		name[n] = 0;
		p = end;
		int last = 1;
		for (const char *q = p; *q; q++)
			if (*q != '/') { last = 0; break; }
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (depth > 1)
				close(stack[--depth]);
			continue;
		}
		int parent = stack[depth - 1];
		struct stat st;
		if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
			if (++links > MAX_SYMLINKS) { err = -ELOOP; break; }
			char target[4096];
			ssize_t tl = readlinkat(parent, name, target, sizeof(target) - 1);
			if (tl < 0) { err = -errno; break; }
			target[tl] = 0;
			if (target[0] == '/')
				while (depth > 1)
					close(stack[--depth]);
			/* The new todo: the target, then what was left. */
			size_t rest = strlen(p);
			char *next = malloc((size_t)tl + 1 + rest + 1);
			if (!next) { err = -ENOMEM; break; }
			memcpy(next, target, (size_t)tl);
			next[tl] = '/';
			memcpy(next + tl + 1, p, rest + 1);
			free(todo);
			todo = p = next;
			continue;
		}
		int fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create != RESOLVE_NONE) {
			int made;
			if (last && create == RESOLVE_FILE) {
				/* O_CREAT|O_EXCL never follows a symlink planted in the meantime. */
				made = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
				if (made >= 0)
					close(made);
			} else {
				made = mkdirat(parent, name, 0755);
			}
			if (made < 0 && errno != EEXIST) { err = -errno; break; }
			/* Look again (someone may have made a symlink there meanwhile). */
			size_t rest = strlen(p);
			char *next = malloc(n + 1 + rest + 1);
			if (!next) { err = -ENOMEM; break; }
			memcpy(next, name, n);
			next[n] = '/';
			memcpy(next + n + 1, p, rest + 1);
			free(todo);
			todo = p = next;
			continue;
		}
		if (fd < 0) { err = -errno; break; }
		if (depth == MAX_DEPTH) { close(fd); err = -ENAMETOOLONG; break; }
		stack[depth++] = fd;
	}
	free(todo);
	int result = -1;
	if (err == 0) {
		/* The last fd is the answer (a copy of the root for "/"). */
		result = stack[--depth];
	}
	while (depth > 0)
		close(stack[--depth]);
	return err ? err : result;
}

int resolve_in_root(int root_fd, const char *path, enum resolve_create create, enum resolve_how how)
{
	if (how != RESOLVE_WALK && have_openat2 != 0) {
		int fd = try_openat2(root_fd, path);
		if (fd == -ENOSYS || fd == -E2BIG) {
			have_openat2 = 0;
			if (how == RESOLVE_OPENAT2)
				return fd;
		} else {
			have_openat2 = 1;
			/* Missing parts are made by the walk; everything else is the kernel's answer. */
			if (fd >= 0 || fd != -ENOENT || create == RESOLVE_NONE || how == RESOLVE_OPENAT2)
				return fd;
		}
	}
	return walk(root_fd, path, create);
}
