/*
 * The plan executor (format and op table in plan.h).  One small function
 * per op: each decodes its fields, then, unless we are only checking, does
 * exactly that.  The only decisions taken here are the ones that exist only
 * at apply time: resolving paths inside the root (resolve.c), mknod falling
 * back to a bind mount where a user namespace forbids it, a bind remount
 * keeping the flags the kernel locked, a masked path being a directory or
 * not, and which PATH candidate is an executable file.
 */
#define _GNU_SOURCE
#include "plan.h"
#include "hooks.h"
#include "resolve.h"
#include "sync.h"
#include "fdutil.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "finalize.h"

#define MAX_STRV 65536

struct cur {
	const uint8_t *p;
	size_t left;
	int bad;
};

struct ctx {
	int dry;		/* only check the fields */
	int how;		/* enum resolve_how */
	int root_fd;
	int sync_fd;
	const int *fds;
	int nfds;
	const char *program;	/* from LOOKPATH */
	const char *step;	/* what failed */
	int detail;
};

static uint32_t get_u32(struct cur *c)
{
	uint32_t v = 0;
	if (c->bad || c->left < 4) { c->bad = 1; return 0; }
	memcpy(&v, c->p, 4);
	c->p += 4;
	c->left -= 4;
	return v;
}

static uint64_t get_u64(struct cur *c)
{
	uint64_t v = 0;
	if (c->bad || c->left < 8) { c->bad = 1; return 0; }
	memcpy(&v, c->p, 8);
	c->p += 8;
	c->left -= 8;
	return v;
}

static const uint8_t *get_blob(struct cur *c, uint32_t *n)
{
	*n = get_u32(c);
	if (c->bad || c->left < *n) { c->bad = 1; *n = 0; return NULL; }
	const uint8_t *b = c->p;
	c->p += *n;
	c->left -= *n;
	return b;
}

/* A string: its n bytes hold no NUL and the byte after them is one. */
static const char *get_str(struct cur *c)
{
	uint32_t n = get_u32(c);
	if (c->bad || c->left < (size_t)n + 1 || memchr(c->p, 0, n) || c->p[n] != 0) { c->bad = 1; return ""; }
	const char *s = (const char *)c->p;
	c->p += (size_t)n + 1;
	c->left -= (size_t)n + 1;
	return s;
}

/* A NULL-terminated array of strings (malloc'd when running, NULL when checking). */
static const char **get_strv(struct cur *c, const struct ctx *x)
{
	uint32_t count = get_u32(c);
	if (c->bad || count > MAX_STRV || (size_t)count * 5 > c->left) { c->bad = 1; return NULL; }
	const char **v = x->dry ? NULL : calloc((size_t)count + 1, sizeof(char *));
	if (!x->dry && !v) { c->bad = 1; return NULL; }
	for (uint32_t i = 0; i < count; i++) {
		const char *s = get_str(c);
		if (v)
			v[i] = s;
	}
	return v;
}

static int get_slot(struct cur *c, const struct ctx *x)
{
	uint32_t slot = get_u32(c);
	if (slot >= (uint32_t)x->nfds) { c->bad = 1; return -1; }
	return x->dry ? -1 : x->fds[slot];
}

static const char *or_null(const char *s) { return *s ? s : NULL; }

#define FAIL(what) do { x->step = (what); return -errno; } while (0)
#define DONE_DECODING(c) do { if ((c)->bad || (c)->left) return -EINVAL; if (x->dry) return 0; } while (0)

static void fd_path(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

static int in_root(struct ctx *x, const char *path, enum resolve_create create)
{
	if (x->root_fd < 0) { errno = EBADF; return -1; }
	int fd = resolve_in_root(x->root_fd, path, create, (enum resolve_how)x->how);
	if (fd < 0) { errno = -fd; return -1; }
	return fd;
}

/* statvfs's ST_* flags as the MS_* flags a bind remount must repeat. */
static unsigned long locked_flags(const char *target)
{
	struct statvfs sv;
	if (statvfs(target, &sv) < 0)
		return 0;
	unsigned long f = sv.f_flag & (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME);
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int op_open_root(struct ctx *x, struct cur *c)
{
	const char *path = get_str(c);
	DONE_DECODING(c);
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		FAIL("open");
	if (x->root_fd >= 0)
		close(x->root_fd);
	x->root_fd = fd;
	return 0;
}

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

/*
 * A user namespace that does not own the network namespace it is in may not
 * mount a new sysfs (the kernel says EPERM): bind the host's /sys, with its
 * submounts, and set the flags the config gave the sysfs (read-only, nosuid,
 * nodev, noexec) on every mount of the copy, so /sys/fs/cgroup turns
 * read-only with it. Without mount_setattr only the top mount gets them.
 */
static int bind_host_sys(struct ctx *x, const char *target, uint64_t flags)
{
	char tbuf[64];
	int fd = in_root(x, target, RESOLVE_DIR);
	if (fd < 0)
		FAIL("resolve");
	fd_path(tbuf, sizeof(tbuf), fd);
	int rc = mount("/sys", tbuf, NULL, MS_BIND | MS_REC, NULL);
	close_keep_errno(fd);
	if (rc < 0)
		FAIL("bind /sys");
	struct mount_attr attr = { 0 };
	if (flags & MS_RDONLY)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	if (flags & MS_NOSUID)
		attr.attr_set |= MOUNT_ATTR_NOSUID;
	if (flags & MS_NODEV)
		attr.attr_set |= MOUNT_ATTR_NODEV;
	if (flags & MS_NOEXEC)
		attr.attr_set |= MOUNT_ATTR_NOEXEC;
	if (!attr.attr_set)
		return 0;
	/* Resolved again: the new mount, not the directory under it. */
	fd = in_root(x, target, RESOLVE_NONE);
	if (fd < 0)
		FAIL("resolve");
	rc = (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr));
	if (rc < 0 && errno == ENOSYS) {
		unsigned long f = (unsigned long)flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
		fd_path(tbuf, sizeof(tbuf), fd);
		rc = mount(NULL, tbuf, NULL, MS_BIND | MS_REMOUNT | f | locked_flags(tbuf), NULL);
	}
	close_keep_errno(fd);
	if (rc < 0)
		FAIL("mount_setattr /sys");
	return 0;
}

static int op_mount(struct ctx *x, struct cur *c)
{
	uint32_t how = get_u32(c);
	const char *source = get_str(c), *target = get_str(c), *fstype = get_str(c);
	uint64_t flags = get_u64(c);
	const char *data = get_str(c);
	if (how & ~127u)
		c->bad = 1;
	DONE_DECODING(c);
	char tbuf[64];
	const char *t = target;
	int fd = -1;
	if (how & MOUNT_IN_ROOT) {
		enum resolve_create create = (how & MOUNT_MKFILE) ? RESOLVE_FILE : (how & MOUNT_MKDIR) ? RESOLVE_DIR : RESOLVE_NONE;
		fd = in_root(x, target, create);
		if (fd < 0 && errno == ENOENT && (how & MOUNT_SKIP_MISSING))
			return 0;
		if (fd < 0)
			FAIL("resolve");
		fd_path(tbuf, sizeof(tbuf), fd);
		t = tbuf;
	}
	const char *src = (how & MOUNT_SELF) ? t : or_null(source);
	int rc = mount(src, t, or_null(fstype), (unsigned long)flags, or_null(data));
	if (rc < 0 && errno == EPERM && (how & MOUNT_KEEP_LOCKED))
		rc = mount(src, t, or_null(fstype), (unsigned long)flags | locked_flags(t), or_null(data));
	int err = errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0 && err == EPERM && (how & MOUNT_SYSFS_BIND) && (how & MOUNT_IN_ROOT))
		return bind_host_sys(x, target, flags);
	errno = err;
	if (rc < 0)
		FAIL("mount");
	return 0;
}

#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif

/* An idmapped mount: the runtime cloned and mapped the tree; attaching it is the bind. */
static int op_attach(struct ctx *x, struct cur *c)
{
	uint32_t how = get_u32(c);
	int tree = get_slot(c, x);
	const char *target = get_str(c);
	if (how & ~(uint32_t)(MOUNT_IN_ROOT | MOUNT_MKDIR | MOUNT_MKFILE))
		c->bad = 1;
	DONE_DECODING(c);
	int fd;
	if (how & MOUNT_IN_ROOT) {
		enum resolve_create create = (how & MOUNT_MKFILE) ? RESOLVE_FILE : (how & MOUNT_MKDIR) ? RESOLVE_DIR : RESOLVE_NONE;
		fd = in_root(x, target, create);
	} else {
		fd = open(target, O_PATH | O_CLOEXEC);
	}
	if (fd < 0)
		FAIL("resolve");
	int rc = (int)syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	close_keep_errno(fd);
	if (rc < 0)
		FAIL("move_mount");
	return 0;
}

static int op_setattr(struct ctx *x, struct cur *c)
{
	const char *target = get_str(c);
	uint64_t set = get_u64(c), clr = get_u64(c);
	DONE_DECODING(c);
	int fd = in_root(x, target, RESOLVE_NONE);
	if (fd < 0)
		FAIL("resolve");
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr };
	int rc = (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr));
	close_keep_errno(fd);
	if (rc < 0)
		FAIL("mount_setattr");
	return 0;
}

/* Bind the host's node at `path` (the same path outside) onto a file made in the root. */
static int bind_device(struct ctx *x, const char *path)
{
	char tbuf[64];
	int fd = in_root(x, path, RESOLVE_FILE);
	if (fd < 0)
		FAIL("resolve");
	fd_path(tbuf, sizeof(tbuf), fd);
	int rc = mount(path, tbuf, NULL, MS_BIND, NULL);
	close_keep_errno(fd);
	if (rc < 0)
		FAIL("mount");
	return 0;
}

static int op_mknod(struct ctx *x, struct cur *c)
{
	const char *path = get_str(c);
	uint32_t mode = get_u32(c), major = get_u32(c), minor = get_u32(c), uid = get_u32(c), gid = get_u32(c), bind = get_u32(c);
	const char *slash = strrchr(path, '/');
	if (!slash || slash[1] == 0 || strlen(slash + 1) >= 256 || strlen(path) >= 4096)
		c->bad = 1;
	DONE_DECODING(c);
	if (bind)
		return bind_device(x, path);
	char dir[4096], at[300];
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	int dfd = in_root(x, dir[0] ? dir : "/", RESOLVE_DIR);
	if (dfd < 0)
		FAIL("resolve");
	const char *name = slash + 1;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
		close_keep_errno(dfd);
		FAIL("unlink");
	}
	if (mknodat(dfd, name, (mode_t)mode, makedev(major, minor)) < 0) {
		int err = errno;
		close(dfd);
		/* A user namespace may not make device nodes: use the host's. */
		if (err == EPERM)
			return bind_device(x, path);
		errno = err;
		FAIL("mknod");
	}
	snprintf(at, sizeof(at), "%s", name);
	int rc = fchownat(dfd, at, uid, gid, AT_SYMLINK_NOFOLLOW);
	/* mknod's mode went through our umask. */
	if (rc == 0)
		rc = fchmodat(dfd, at, mode & 07777, 0);
	close_keep_errno(dfd);
	if (rc < 0)
		FAIL("chown");
	return 0;
}

static int op_symlink(struct ctx *x, struct cur *c)
{
	const char *dir = get_str(c), *name = get_str(c), *target = get_str(c);
	uint32_t replace = get_u32(c);
	if (strchr(name, '/') || !*name)
		c->bad = 1;
	DONE_DECODING(c);
	int dfd = in_root(x, dir, RESOLVE_DIR);
	if (dfd < 0)
		FAIL("resolve");
	int rc = 0;
	if (replace && unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		rc = -1;
	if (rc == 0 && symlinkat(target, dfd, name) < 0 && (replace || errno != EEXIST))
		rc = -1;
	close_keep_errno(dfd);
	if (rc < 0)
		FAIL("symlink");
	return 0;
}

/*
 * Stdio that is the host's /dev/null (an engine's "no stdin": conmon's, for
 * one) is opened again from the container's own /dev/null, as runc does: a
 * file on a mount outside the container is one CRIU cannot dump ("Can't
 * lookup mount"). No /dev/null of the container's (a /dev bound from
 * elsewhere without one): left as they are.
 */
static int reopen_dev_null(struct ctx *x)
{
	struct stat null_st, st;
	if (stat("/dev/null", &null_st) < 0 || !S_ISCHR(null_st.st_mode))
		return 0;
	for (int fd = 0; fd < 3; fd++) {
		if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != null_st.st_rdev)
			continue;
		if (st.st_dev == null_st.st_dev && st.st_ino == null_st.st_ino)
			continue; /* already the container's */
		int n = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (n < 0)
			FAIL("open the container's /dev/null for stdio");
		int rc = dup3(n, fd, 0);
		close_keep_errno(n);
		if (rc < 0)
			FAIL("dup3 /dev/null onto stdio");
	}
	return 0;
}

static int op_pivot_root(struct ctx *x, struct cur *c)
{
	const char *rootfs = get_str(c);
	DONE_DECODING(c);
	int old = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (old < 0)
		FAIL("open /");
	if (chdir(rootfs) < 0)
		FAIL("chdir");
	/* pivot_root(".", ".") stacks the old root on top of the new one. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		FAIL("pivot_root");
	/*
	 * Our cwd is still the new root's own dentry: step onto the old root
	 * itself, or the next two calls would act on the container's mounts.
	 * rslave first, so that detaching it cannot propagate to the host.
	 */
	if (fchdir(old) < 0)
		FAIL("fchdir");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		FAIL("make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		FAIL("umount old root");
	close(old);
	if (chdir("/") < 0)
		FAIL("chdir /");
	return reopen_dev_null(x);
}

static int op_move_root(struct ctx *x, struct cur *c)
{
	const char *rootfs = get_str(c);
	DONE_DECODING(c);
	if (chdir(rootfs) < 0)
		FAIL("chdir");
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		FAIL("mount move");
	if (chroot(".") < 0)
		FAIL("chroot");
	if (chdir("/") < 0)
		FAIL("chdir /");
	return reopen_dev_null(x);
}

/* No mount namespace of its own: only our root may change, not the host's. */
static int op_chroot(struct ctx *x, struct cur *c)
{
	const char *rootfs = get_str(c);
	DONE_DECODING(c);
	if (chdir(rootfs) < 0)
		FAIL("chdir");
	if (chroot(".") < 0)
		FAIL("chroot");
	if (chdir("/") < 0)
		FAIL("chdir /");
	return 0;
}

static int op_mask(struct ctx *x, struct cur *c)
{
	const char *path = get_str(c);
	DONE_DECODING(c);
	int fd = in_root(x, path, RESOLVE_NONE);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		FAIL("resolve");
	char tbuf[64];
	struct stat st;
	fd_path(tbuf, sizeof(tbuf), fd);
	int rc = fstat(fd, &st);
	if (rc == 0 && S_ISDIR(st.st_mode))
		rc = mount("tmpfs", tbuf, "tmpfs", MS_RDONLY, NULL);
	else if (rc == 0)
		rc = mount("/dev/null", tbuf, NULL, MS_BIND, NULL);
	close_keep_errno(fd);
	if (rc < 0)
		FAIL("mount");
	return 0;
}

static int op_write(struct ctx *x, struct cur *c)
{
	const char *path = get_str(c);
	uint32_t n;
	const uint8_t *data = get_blob(c, &n);
	DONE_DECODING(c);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		FAIL("write");
	ssize_t w = write(fd, data, n);
	close_keep_errno(fd);
	if (w < 0)
		FAIL("write");
	if ((size_t)w != n) { errno = EIO; FAIL("write"); }
	return 0;
}

static int op_mkdirs(struct ctx *x, struct cur *c)
{
	const char *path = get_str(c);
	if (strlen(path) >= 4096)
		c->bad = 1;
	DONE_DECODING(c);
	/*
	 * After pivot_root "/" is the container's, so a symlink cannot lead out;
	 * a magic link (/proc/self/fd/N) only ever gives EEXIST here, and CHDIR
	 * then catches a cwd outside the root.
	 */
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == 0) {
			char saved = *p;
			*p = 0;
			if (buf[0] && mkdir(buf, 0755) < 0 && errno != EEXIST)
				FAIL("mkdir");
			*p = saved;
			if (saved == 0)
				break;
		}
	}
	return 0;
}

static int op_name(struct ctx *x, struct cur *c, int domain)
{
	const char *name = get_str(c);
	DONE_DECODING(c);
	if ((domain ? setdomainname(name, strlen(name)) : sethostname(name, strlen(name))) < 0)
		FAIL(domain ? "setdomainname" : "sethostname");
	return 0;
}

static int op_rlimit(struct ctx *x, struct cur *c)
{
	uint32_t res = get_u32(c);
	uint64_t soft = get_u64(c), hard = get_u64(c);
	DONE_DECODING(c);
	struct rlimit rl = { (rlim_t)soft, (rlim_t)hard };
	if (setrlimit((__rlimit_resource_t)res, &rl) < 0)
		FAIL("setrlimit");
	return 0;
}

static int op_sched(struct ctx *x, struct cur *c)
{
	uint32_t n;
	const uint8_t *attr = get_blob(c, &n);
	if (n < 48)
		c->bad = 1;
	DONE_DECODING(c);
	/* The kernel reads attr->size from the buffer; ours says how long it is. */
	uint8_t buf[128] = { 0 };
	memcpy(buf, attr, n < sizeof(buf) ? n : sizeof(buf));
	if (syscall(SYS_sched_setattr, 0, buf, 0) < 0)
		FAIL("sched_setattr");
	return 0;
}

static int op_ioprio(struct ctx *x, struct cur *c)
{
	uint32_t value = get_u32(c);
	DONE_DECODING(c);
	if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)value) < 0)
		FAIL("ioprio_set");
	return 0;
}

static int op_mempolicy(struct ctx *x, struct cur *c)
{
	uint32_t mode = get_u32(c), n;
	const uint8_t *mask = get_blob(c, &n);
	if (n % 8)
		c->bad = 1;
	DONE_DECODING(c);
	/* The kernel reads maxnode - 1 bits (mm/mempolicy.c get_nodes). */
	if (syscall(SYS_set_mempolicy, (int)mode, n ? mask : NULL, n ? (unsigned long)n * 8 + 1 : 0UL) < 0)
		FAIL("set_mempolicy");
	return 0;
}

static int op_personality(struct ctx *x, struct cur *c)
{
	uint32_t persona = get_u32(c);
	DONE_DECODING(c);
	if (personality(persona) < 0)
		FAIL("personality");
	return 0;
}

static int op_affinity(struct ctx *x, struct cur *c)
{
	uint32_t n;
	const uint8_t *mask = get_blob(c, &n);
	if (n == 0 || n % 8)
		c->bad = 1;
	DONE_DECODING(c);
	if (syscall(SYS_sched_setaffinity, 0, (size_t)n, mask) < 0)
		FAIL("sched_setaffinity");
	return 0;
}

static int op_unshare(struct ctx *x, struct cur *c)
{
	uint32_t flags = get_u32(c);
	DONE_DECODING(c);
	if (unshare((int)flags) < 0)
		FAIL("unshare");
	return 0;
}

#define KEYCTL_SETPERM 5
#define KEYCTL_DESCRIBE 6
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEY_USR_SETATTR 0x00100000

static int op_keyring(struct ctx *x, struct cur *c)
{
	const char *name = get_str(c);
	DONE_DECODING(c);
	long serial = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name);
	/* Kernels without keyrings, or a filtered keyctl: run without, as runc does. */
	if (serial < 0 && (errno == ENOSYS || errno == EPERM))
		return 0;
	if (serial < 0)
		FAIL("keyctl join");
	/* "type;uid;gid;perm;description", perm in hex: let the owner set attributes, as runc grants. */
	char desc[512];
	long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, serial, desc, sizeof(desc));
	if (n < 0)
		FAIL("keyctl describe");
	desc[sizeof(desc) - 1] = 0;
	const char *p = desc;
	for (int i = 0; i < 3 && p; i++) {
		p = strchr(p, ';');
		if (p)
			p++;
	}
	unsigned long perm = p ? strtoul(p, NULL, 16) : 0;
	if (syscall(SYS_keyctl, KEYCTL_SETPERM, serial, (unsigned long)(perm | KEY_USR_SETATTR)) < 0)
		FAIL("keyctl setperm");
	return 0;
}

/* The pty's master goes over the console socket as one message: the name as data, the fd as SCM_RIGHTS. */
static int send_master(int sock, const char *name, int master)
{
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
	struct iovec iov = { (void *)name, strlen(name) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &master, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static int op_terminal(struct ctx *x, struct cur *c)
{
	int sock = get_slot(c, x);
	uint32_t rows = get_u32(c), cols = get_u32(c);
	DONE_DECODING(c);
	char name[64], tbuf[64];
	unsigned int n = 0, unlock = 0;
	int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		FAIL("open /dev/pts/ptmx");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
		FAIL("unlock pty");
	if (rows && cols) {
		struct winsize ws = { (unsigned short)rows, (unsigned short)cols, 0, 0 };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			FAIL("set pty size");
	}
	snprintf(name, sizeof(name), "/dev/pts/%u", n);
	int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		FAIL("open pty");
	/* /dev/console is the container's terminal too. */
	int cfd = in_root(x, "/dev/console", RESOLVE_FILE);
	if (cfd < 0)
		FAIL("resolve /dev/console");
	fd_path(tbuf, sizeof(tbuf), cfd);
	if (mount(name, tbuf, NULL, MS_BIND, NULL) < 0)
		FAIL("bind /dev/console");
	close(cfd);
	if (send_master(sock, name, master) < 0)
		FAIL("send pty master");
	close(master);
	close(sock);
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		FAIL("set controlling terminal");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			FAIL("dup2 pty");
	if (slave > 2)
		close(slave);
	return 0;
}

static int op_runtime_hooks(struct ctx *x, struct cur *c)
{
	DONE_DECODING(c);
	if (x->sync_fd < 0)
		return 0;
	uint8_t *payload;
	size_t len;
	int err = sync_send(x->sync_fd, SYNC_RUN_HOOKS, NULL, 0);
	if (err == 0)
		err = sync_recv(x->sync_fd, SYNC_HOOKS_DONE, &payload, &len, NULL, NULL);
	if (err) {
		errno = -err;
		FAIL("waiting for the runtime's hooks");
	}
	free(payload);
	return 0;
}

static int op_hook(struct ctx *x, struct cur *c)
{
	const char *path = get_str(c);
	const char **argv = get_strv(c, x), **envp = get_strv(c, x);
	int32_t timeout = (int32_t)get_u32(c);
	const char *state = get_str(c);
	DONE_DECODING(c);
	int detail = 0;
	const char *no_args[] = { path, NULL };
	enum hook_failure f = hook_run(path, argv[0] ? argv : no_args, envp, timeout, state, &detail);
	if (f == HOOK_OK)
		return 0;
	static const int details[] = { [HOOK_CANNOT_RUN] = DETAIL_HOOK_CANNOT_RUN, [HOOK_EXIT] = DETAIL_HOOK_EXIT,
				       [HOOK_SIGNAL] = DETAIL_HOOK_SIGNAL, [HOOK_TIMEOUT] = DETAIL_HOOK_TIMEOUT, [HOOK_SETUP] = DETAIL_NONE };
	x->step = "hook";
	x->detail = details[f];
	if (f == HOOK_CANNOT_RUN || f == HOOK_SETUP)
		return -detail;
	x->detail |= detail << 8;	/* the status or signal rides above the kind */
	return -ECHILD;
}

static int op_chdir(struct ctx *x, struct cur *c)
{
	const char *path = get_str(c);
	DONE_DECODING(c);
	if (chdir(path) < 0)
		FAIL("chdir");
	/*
	 * CVE-2024-21626: a cwd like /proc/self/fd/N could lead out of the root
	 * through an fd we hold; getcwd fails with ENOENT when the cwd is not
	 * reachable from our root.
	 */
	char buf[4096];
	if (syscall(SYS_getcwd, buf, sizeof(buf)) < 0 || buf[0] != '/') {
		if (errno == 0 || buf[0] != '/')
			errno = ENOENT;
		FAIL("getcwd");
	}
	return 0;
}

static int op_lookpath(struct ctx *x, struct cur *c)
{
	uint32_t explicit = get_u32(c);
	const char **cands = get_strv(c, x);
	DONE_DECODING(c);
	/* Like execvp: the first candidate that is a regular file we may execute. */
	int first = ENOENT;
	for (const char **p = cands; *p; p++) {
		struct stat st;
		if (stat(*p, &st) < 0)
			continue;
		if (S_ISREG(st.st_mode) && access(*p, X_OK) == 0) {
			x->program = *p;
			return 0;
		}
		first = EACCES;
	}
	(void)explicit;	/* the runtime words the two cases differently */
	errno = first;
	FAIL("lookpath");
}

static int op_finalize(struct ctx *x, struct cur *c)
{
	struct ocirun_finalize f;
	uint32_t n;
	memset(&f, 0, sizeof(f));
	f.umask = (int32_t)get_u32(c);
	f.set_groups = (int)get_u32(c);
	const uint8_t *groups = get_blob(c, &n);
	if (n % 4)	/* any count: the kernel says how many it takes (NGROUPS_MAX) */
		c->bad = 1;
	f.ngroups = (int)(n / 4);
	f.uid = get_u32(c);
	f.gid = get_u32(c);
	f.cap_bounding = get_u64(c);
	f.cap_effective = get_u64(c);
	f.cap_permitted = get_u64(c);
	f.cap_inheritable = get_u64(c);
	f.cap_ambient = get_u64(c);
	f.last_cap = (int)get_u32(c);
	f.no_new_privs = (int)get_u32(c);
	const uint8_t *bpf = get_blob(c, &n);
	if (n % 8 || n / 8 > 65535)
		c->bad = 1;
	f.seccomp_len = (int)(n / 8);
	f.seccomp_flags = get_u32(c);
	int32_t slot = (int32_t)get_u32(c);
	if (slot >= x->nfds || slot < -1)
		c->bad = 1;
	f.listener_state = get_str(c);
	f.preserve_fds = (int)get_u32(c);
	f.cwd = get_str(c);
	f.argv = get_strv(c, x);
	f.envp = get_strv(c, x);
	f.exec_attrs = get_strv(c, x);
	int fifo = get_slot(c, x);
	uint32_t nhooks = get_u32(c);
	if (nhooks > 1024)
		c->bad = 1;
	struct ocirun_hook *hooks = (!c->bad && !x->dry && nhooks) ? calloc(nhooks, sizeof(*hooks)) : NULL;
	for (uint32_t i = 0; i < nhooks && !c->bad; i++) {
		struct ocirun_hook h;
		h.path = get_str(c);
		h.argv = get_strv(c, x);
		h.envp = get_strv(c, x);
		h.timeout = (int)get_u32(c);
		if (hooks)
			hooks[i] = h;
	}
	const char *state = get_str(c);
	if (f.last_cap < 0 || f.last_cap > 63 || (!x->dry && nhooks && !hooks))
		c->bad = 1;
	DONE_DECODING(c);
	if (!x->program) { errno = ENOENT; FAIL("no program (LOOKPATH must come first)"); }
	/* The blobs sit unaligned in the plan: copy them where the kernel wants them. */
	uint32_t *gids = f.ngroups ? calloc((size_t)f.ngroups, 4) : NULL;
	void *prog = f.seccomp_len ? malloc((size_t)f.seccomp_len * 8) : NULL;
	if ((f.ngroups && !gids) || (f.seccomp_len && !prog)) { errno = ENOMEM; FAIL("finalize"); }
	if (gids)
		memcpy(gids, groups, (size_t)f.ngroups * 4);
	if (prog)
		memcpy(prog, bpf, (size_t)f.seccomp_len * 8);
	f.groups = gids;
	f.seccomp = (const struct sock_filter *)prog;
	f.listener_fd = slot >= 0 ? x->fds[slot] : -1;
	if (!*f.listener_state)
		f.listener_state = NULL;
	if (!*f.cwd)
		f.cwd = NULL;
	if (!f.exec_attrs[0])
		f.exec_attrs = NULL;
	const char *paths[] = { x->program, NULL };
	f.paths = paths;
	/* No path is resolved in the root from here: the waiting init holds no directory fd. */
	if (x->root_fd >= 0)
		close(x->root_fd);
	x->root_fd = -1;
	/* Between its halves finalize says READY, waits on exec.fifo and runs the startContainer hooks. */
	struct ocirun_start start = { x->sync_fd, fifo, (int)nhooks, hooks, state };
	f.start = x->sync_fd >= 0 ? &start : NULL;
	const char *step = "finalize";
	int rc = ocirun_finalize(&f, &step);
	errno = -rc;
	x->step = step;
	return rc;
}

static int run_op(struct ctx *x, uint32_t code, struct cur *c)
{
	switch (code) {
	case OP_OPEN_ROOT: return op_open_root(x, c);
	case OP_MOUNT: return op_mount(x, c);
	case OP_SETATTR: return op_setattr(x, c);
	case OP_MKNOD: return op_mknod(x, c);
	case OP_SYMLINK: return op_symlink(x, c);
	case OP_PIVOT_ROOT: return op_pivot_root(x, c);
	case OP_MOVE_ROOT: return op_move_root(x, c);
	case OP_MASK: return op_mask(x, c);
	case OP_WRITE: return op_write(x, c);
	case OP_MKDIRS: return op_mkdirs(x, c);
	case OP_SETHOSTNAME: return op_name(x, c, 0);
	case OP_SETDOMAINNAME: return op_name(x, c, 1);
	case OP_RLIMIT: return op_rlimit(x, c);
	case OP_SCHED: return op_sched(x, c);
	case OP_IOPRIO: return op_ioprio(x, c);
	case OP_MEMPOLICY: return op_mempolicy(x, c);
	case OP_PERSONALITY: return op_personality(x, c);
	case OP_AFFINITY: return op_affinity(x, c);
	case OP_UNSHARE: return op_unshare(x, c);
	case OP_KEYRING: return op_keyring(x, c);
	case OP_TERMINAL: return op_terminal(x, c);
	case OP_RUNTIME_HOOKS: return op_runtime_hooks(x, c);
	case OP_HOOK: return op_hook(x, c);
	case OP_CHDIR: return op_chdir(x, c);
	case OP_LOOKPATH: return op_lookpath(x, c);
	case OP_FINALIZE: return op_finalize(x, c);
	case OP_CHROOT: return op_chroot(x, c);
	case OP_ATTACH: return op_attach(x, c);
	default: return -EINVAL;
	}
}

/* Walk the ops, each with a cursor on its own payload; stop at the first failure. */
static int each_op(const uint8_t *plan, size_t len, struct ctx *x, int *index)
{
	struct cur c = { plan, len, 0 };
	*index = -1;
	if (len < 16 || memcmp(plan, PLAN_MAGIC, 8) != 0)
		return -EINVAL;
	c.p += 8;
	c.left -= 8;
	uint32_t flags = get_u32(&c), count = get_u32(&c);
	if (flags & ~(uint32_t)PLAN_FLAG_WALK)
		return -EINVAL;
	x->how = (flags & PLAN_FLAG_WALK) ? RESOLVE_WALK : RESOLVE_AUTO;
	for (uint32_t i = 0; i < count; i++) {
		*index = (int)i;
		uint32_t code = get_u32(&c), size = get_u32(&c);
		if (c.bad || size > c.left || code == 0 || code > OP_LAST)
			return -EINVAL;
		struct cur op = { c.p, size, 0 };
		c.p += size;
		c.left -= size;
		x->step = NULL;
		x->detail = 0;
		int rc = run_op(x, code, &op);
		if (rc < 0)
			return rc;
	}
	*index = -1;
	return c.left == 0 ? 0 : -EINVAL;	/* nothing may trail the last op */
}

int plan_check(const uint8_t *plan, size_t len, int nfds, int *bad_op)
{
	struct ctx x = { .dry = 1, .root_fd = -1, .sync_fd = -1, .nfds = nfds };
	return each_op(plan, len, &x, bad_op);
}

static void die_now(int sig)
{
	_exit(128 + sig);
}

int plan_run(const uint8_t *plan, size_t len, int sync_fd, const int *fds, int nfds,
	     int *op, int *detail, const char **step)
{
	struct ctx x = { .dry = 0, .root_fd = -1, .sync_fd = sync_fd, .fds = fds, .nfds = nfds };
	/*
	 * PID 1 of a pid namespace only receives signals it handles: take the
	 * common ones so `kill` ends a created container at once.  FINALIZE
	 * resets every disposition before execve.  SIGPIPE stays ignored: a hook
	 * that does not read its stdin is not our failure.
	 */
	static const int ends[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		signal(ends[i], die_now);
	signal(SIGPIPE, SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int rc = each_op(plan, len, &x, op);
	*detail = x.detail;
	*step = x.step ? x.step : "plan";
	return rc;
}
