/*
 * The runtime <-> container sync socket (a SOCK_STREAM socketpair), the same
 * framing both ways.  src/linux/sync.ts is the other end; keep the two in step.
 *
 * Every message is an 8-byte header, little-endian
 *     u32 type      one of enum sync_type
 *     u32 length    payload bytes that follow (at most SYNC_MAX_PAYLOAD)
 * followed by its payload.  File descriptors travel as SCM_RIGHTS on the
 * sendmsg that carries the header, so they arrive with the message that
 * names them (PLAN and CGROUPS carry some).
 *
 *   type  name            from -> to             payload
 *   1     IDMAP_REQUEST   stage 1 -> runtime     i32 pid (new user namespace only)
 *   2     IDMAP_DONE      runtime -> stage 1     -
 *   3     INIT_PID        stage 1 -> runtime     i32 pid of the container process,
 *                                                u32 mask of the CGROUPS `tasks` fds written,
 *                                                u32 1 if it was cloned into the cgroup2 dir
 *   4     PLAN            runtime -> init        the plan (plan.h) + its fds
 *   5     RUN_HOOKS       init -> runtime        - (mounts done: prestart, createRuntime)
 *   6     HOOKS_DONE      runtime -> init        -
 *   7     READY           init -> runtime        - (set up, waiting on exec.fifo)
 *   8     EXEC            runtime -> exec'd proc - (placed in cgroups: go on)
 *   9     ERROR           native -> runtime      i32 op index (-1: not a plan op),
 *                                                i32 errno, i32 detail,
 *                                                then the step's name, NUL-terminated
 *  10     CGROUPS         runtime -> stage 1     u32 number of v1 `tasks` fds, u32 1 if a
 *                                                cgroup2 directory fd follows them; the fds
 *                                                (stage 1 waits for this before it forks)
 */
#ifndef OCIRUN_SYNC_H
#define OCIRUN_SYNC_H
#include <stddef.h>
#include <stdint.h>

enum sync_type {
	SYNC_IDMAP_REQUEST = 1,
	SYNC_IDMAP_DONE = 2,
	SYNC_INIT_PID = 3,
	SYNC_PLAN = 4,
	SYNC_RUN_HOOKS = 5,
	SYNC_HOOKS_DONE = 6,
	SYNC_READY = 7,
	SYNC_EXEC = 8,
	SYNC_ERROR = 9,
	SYNC_CGROUPS = 10,
};

#define SYNC_MAX_PAYLOAD (64u << 20)
#define SYNC_MAX_FDS 32	/* cgroup v1 has up to ~16 hierarchies */

/* Send one message; 0 or -errno. */
int sync_send(int fd, uint32_t type, const void *payload, size_t len);

/*
 * Receive one message of the expected type.  The payload is malloc'd
 * (NUL-terminated for convenience, *len excludes it); received fds are
 * close-on-exec and stored in fds/nfds (may be NULL when none are expected).
 * Returns 0, or -errno (-EPROTO for another type, -EPIPE on end of file).
 */
int sync_recv(int fd, uint32_t type, uint8_t **payload, size_t *len, int *fds, int *nfds);

/* ERROR: op index (-1 outside the plan), errno, detail, step name. Best effort. */
void sync_error(int fd, int op, int err, int detail, const char *step);

#endif
