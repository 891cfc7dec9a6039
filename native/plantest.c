/*
 * A harness for the plan executor and in-root resolution, for unit tests
 * without root (test/unit/initcode.test.ts):
 *
 *   plantest check [nfds] < plan     plan_check only: prints "ok" or "invalid at op N", exit 0 / 2
 *   plantest run [nfds] < plan       check, then run with no sync socket (fds 0.. as slots);
 *                                    prints "ok" or "failed at op N: step: ERRNO"
 *   plantest resolve ROOT PATH none|dir|file walk|openat2|auto
 *                                    prints where PATH inside ROOT leads, or the errno name
 */
#define _GNU_SOURCE
#include "plan.h"
#include "resolve.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t *slurp(size_t *len)
{
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (n == cap)
			buf = realloc(buf, cap *= 2);
		ssize_t got = read(0, buf + n, cap - n);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "check") == 0 || strcmp(argv[1], "run") == 0)) {
		size_t len;
		int nfds = argc >= 3 ? atoi(argv[2]) : 0, bad = -1;
		uint8_t *plan = slurp(&len);
		if (plan_check(plan, len, nfds, &bad) < 0) {
			printf("invalid at op %d\n", bad);
			return 2;
		}
		if (strcmp(argv[1], "check") == 0) {
			printf("ok\n");
			return 0;
		}
		int fds[8] = { 0, 1, 2, 3, 4, 5, 6, 7 }, op = -1, detail = 0;
		const char *step = "";
		int rc = plan_run(plan, len, -1, fds, nfds, &op, &detail, &step);
		if (rc < 0) {
			printf("failed at op %d: %s: %s\n", op, step, strerrorname_np(-rc));
			return 1;
		}
		printf("ok\n");
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "resolve") == 0) {
		int root = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0) { perror("open root"); return 1; }
		enum resolve_create create = strcmp(argv[4], "dir") == 0 ? RESOLVE_DIR : strcmp(argv[4], "file") == 0 ? RESOLVE_FILE : RESOLVE_NONE;
		enum resolve_how how = strcmp(argv[5], "walk") == 0 ? RESOLVE_WALK : strcmp(argv[5], "openat2") == 0 ? RESOLVE_OPENAT2 : RESOLVE_AUTO;
		int fd = resolve_in_root(root, argv[3], create, how);
		if (fd < 0) {
			printf("%s\n", strerrorname_np(-fd));
			return 1;
		}
		char link[64], target[4096];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = 0;
		printf("%s\n", target);
		return 0;
	}
	fprintf(stderr, "usage: plantest check|run [nfds] < plan | plantest resolve ROOT PATH none|dir|file walk|openat2|auto\n");
	return 64;
}
