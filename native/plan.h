/*
 * The init plan: everything the container's first process does between the
 * clone and the program's execve, decided in TypeScript before the fork
 * (src/linux/initcode.ts writes this format; keep the two in step) and
 * carried out here, in order, by the cloned child.
 *
 * Format (little-endian):
 *   header  8 bytes "OCIPLAN1", u32 flags (PLAN_FLAG_*), u32 number of ops
 *   op      u32 code (enum plan_op), u32 payload length, payload
 * Payload fields, in the order the table below gives:
 *   u32, i32, u64   4, 4, 8 bytes
 *   str             u32 n, n bytes without a NUL, then one NUL
 *   blob            u32 n, n bytes
 *   strv            u32 count, count × str
 * A plan whose ops do not fill it exactly, with an unknown code, a field
 * running past its op, a string with an inner NUL or without its final
 * one, or an fd slot beyond the fds that came with it, is refused whole
 * before anything runs (plan_check).
 *
 * "root" below is the directory fd set by OPEN_ROOT: paths marked (in root)
 * are resolved inside it by resolve_in_root(); "slot" indexes the fds that
 * came with the PLAN message.
 *
 *  code name          payload                                   does
 *   1  OPEN_ROOT      str path                                  root = open(path, O_PATH|O_DIRECTORY)
 *   2  MOUNT          u32 how, str source, str target,          mount(2); how: MOUNT_* bits below; empty
 *                     str fstype, u64 flags, str data           source/fstype/data mean NULL
 *   3  SETATTR        str target (in root), u64 set, u64 clear  mount_setattr(AT_RECURSIVE)
 *   4  MKNOD          str path (in root), u32 mode, u32 major,  mknod + chown + chmod; bind=1, or EPERM
 *                     u32 minor, u32 uid, u32 gid, u32 bind     (user namespace): bind the host's node
 *   5  SYMLINK        str dir (in root), str name, str target,  symlinkat; replace=1 unlinks first,
 *                     u32 replace                               else an existing name is kept
 *   6  PIVOT_ROOT     str rootfs                                pivot_root(".", ".") there, detach the old root
 *   7  MOVE_ROOT      str rootfs                                --no-pivot: MS_MOVE onto "/" and chroot
 *   8  MASK           str path (in root)                        tmpfs (directory) or /dev/null over it;
 *                                                               a missing path is skipped
 *   9  WRITE          str path, blob data                       write an existing file (sysctl, oom_score_adj)
 *  10  MKDIRS         str path                                  mkdir -p after pivot_root (the cwd)
 *  11  SETHOSTNAME    str name
 *  12  SETDOMAINNAME  str name
 *  13  RLIMIT         u32 resource, u64 soft, u64 hard          setrlimit
 *  14  SCHED          blob struct sched_attr                    sched_setattr
 *  15  IOPRIO         u32 value                                 ioprio_set(IOPRIO_WHO_PROCESS, 0)
 *  16  MEMPOLICY      u32 mode, blob node mask                  set_mempolicy
 *  17  PERSONALITY    u32 persona
 *  18  AFFINITY       blob cpu mask                             sched_setaffinity
 *  19  UNSHARE        u32 CLONE_NEW* flags
 *  20  KEYRING        str name                                  join a new session keyring (ENOSYS/EPERM: skip)
 *  21  TERMINAL       u32 slot, u32 rows, u32 cols              pty: master sent over the console socket
 *                                                               in slot, slave on /dev/console and 0-2
 *  22  RUNTIME_HOOKS  -                                         send RUN_HOOKS, wait for HOOKS_DONE
 *  23  HOOK           str path, strv args, strv env,            run it (hooks.h); ERROR's detail is the
 *                     i32 timeout, str state                    enum plan_detail | (status or signal) << 8
 *  24  CHDIR          str path                                  chdir, and getcwd must still reach it
 *  25  LOOKPATH       u32 explicit, strv candidates             the first regular executable file
 *                                                               becomes the program FINALIZE runs
 *  26  FINALIZE       i32 umask, u32 set_groups, blob groups    the init's last act: ids, capabilities,
 *                     (u32 each), u32 uid, u32 gid, u64 cap     seccomp, then READY to the runtime, the
 *                     bounding, effective, permitted,           wait on exec.fifo (opening it for writing
 *                     inheritable, ambient, u32 last_cap,       blocks until `start`), the startContainer
 *                     u32 no_new_privs, blob seccomp BPF,       hooks, the answer to `start` ("0", or "E"
 *                     u32 seccomp flags, i32 listener slot      and the error) and execve of the program
 *                     (-1: none), str listener state,           LOOKPATH found (ocirun_finalize, ocirun.c)
 *                     u32 preserve_fds, str cwd, strv argv,
 *                     strv env, strv exec labels (path, text,
 *                     ...), u32 exec.fifo slot, u32 hook count,
 *                     then per hook: str path, strv args,
 *                     strv env, i32 timeout; and str hook state
 *  27  CHROOT         str rootfs                                no mount namespace of its own: chroot there
 *  28  ATTACH         u32 how, u32 slot, str target             move_mount of the detached tree in slot (an
 *                                                               idmapped mount the runtime made) onto target;
 *                                                               how: MOUNT_IN_ROOT/MKDIR/MKFILE as MOUNT
 *
 * Before READY a failing op sends ERROR (sync.h) with its index, errno, a
 * detail and the step, and the process exits 1; the runtime names the
 * config field from the index.  After READY the only channels left are
 * exec.fifo ("E" and the message, read by `start`) and stderr: the
 * process writes "ocirun init: <message>" there and exits 127.
 */
#ifndef OCIRUN_PLAN_H
#define OCIRUN_PLAN_H
#include <stddef.h>
#include <stdint.h>

#define PLAN_MAGIC "OCIPLAN1"
#define PLAN_FLAG_WALK 1	/* resolve by the component walk even where openat2 exists (tests) */

enum plan_op {
	OP_OPEN_ROOT = 1, OP_MOUNT, OP_SETATTR, OP_MKNOD, OP_SYMLINK, OP_PIVOT_ROOT, OP_MOVE_ROOT,
	OP_MASK, OP_WRITE, OP_MKDIRS, OP_SETHOSTNAME, OP_SETDOMAINNAME, OP_RLIMIT, OP_SCHED,
	OP_IOPRIO, OP_MEMPOLICY, OP_PERSONALITY, OP_AFFINITY, OP_UNSHARE, OP_KEYRING, OP_TERMINAL,
	OP_RUNTIME_HOOKS, OP_HOOK, OP_CHDIR, OP_LOOKPATH, OP_FINALIZE, OP_CHROOT, OP_ATTACH, OP_LAST = OP_ATTACH,
};

/* MOUNT's `how` bits */
#define MOUNT_IN_ROOT 1		/* target is resolved inside root (else a plain path) */
#define MOUNT_MKDIR 2		/* create a missing target as a directory */
#define MOUNT_MKFILE 4		/* create a missing target as an empty file */
#define MOUNT_SELF 8		/* the source is the resolved target itself (bind onto itself) */
#define MOUNT_SKIP_MISSING 16	/* a missing target skips the op */
#define MOUNT_KEEP_LOCKED 32	/* EPERM: retry with the flags the kernel locked on the mount */
#define MOUNT_SYSFS_BIND 64	/* sysfs refused (EPERM): bind the host's /sys instead (op_mount) */

/* HOOK failures and other details travel in ERROR's detail field. */
enum plan_detail { DETAIL_NONE = 0, DETAIL_HOOK_CANNOT_RUN, DETAIL_HOOK_EXIT, DETAIL_HOOK_SIGNAL, DETAIL_HOOK_TIMEOUT };

/*
 * Check the whole plan (0, or -EINVAL with *bad_op the index of the first bad op,
 * -1 for the header) without side effects.
 */
int plan_check(const uint8_t *plan, size_t len, int nfds, int *bad_op);

/*
 * Carry out a checked plan.  sync_fd is the socket to the runtime (-1 in
 * tests: RUNTIME_HOOKS is then skipped); fds are the slots.
 * Returns only on failure before READY, with the op index, errno, detail
 * and step in the out parameters; after READY a failure exits 127.
 */
int plan_run(const uint8_t *plan, size_t len, int sync_fd, const int *fds, int nfds,
	     int *op, int *detail, const char **step);

#endif
