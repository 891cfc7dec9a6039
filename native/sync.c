/* The sync socket's framing (see sync.h for the message table). */
#define _GNU_SOURCE
#include "sync.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sync_send(int fd, uint32_t type, const void *payload, size_t len)
{
	uint32_t hdr[2] = { type, (uint32_t)len };	/* x86-64 and arm64: little-endian */
	/*
	 * Header and payload in one call: the runtime may SIGKILL stage 1 at any
	 * moment (a plan that failed to build), and a header written without its
	 * payload would leave the runtime waiting for bytes nobody will send,
	 * since the init holds this end of the socket open.
	 */
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };
	ssize_t n;
	do
		n = writev(fd, iov, len > 0 ? 2 : 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* Only a signal while it waited for room takes part of it: the rest follows. */
	size_t sent = (size_t)n;
	for (int i = 0; i < 2; i++) {
		size_t skip = sent < iov[i].iov_len ? sent : iov[i].iov_len;
		sent -= skip;
		int err = write_all(fd, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip);
		if (err)
			return err;
	}
	return 0;
}

int sync_recv(int fd, uint32_t type, uint8_t **payload, size_t *len, int *fds, int *nfds)
{
	uint32_t hdr[2];
	union { char buf[CMSG_SPACE(sizeof(int) * SYNC_MAX_FDS)]; struct cmsghdr align; } ctl;
	struct iovec iov = { hdr, sizeof(hdr) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;
	int got = 0;

	*payload = NULL;
	*len = 0;
	if (nfds)
		*nfds = 0;
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < count; i++) {
			int rfd;
			memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fds && got < SYNC_MAX_FDS)
				fds[got++] = rfd;
			else
				close(rfd);	/* not expected: do not leak it into the container */
		}
	}
	if (nfds)
		*nfds = got;
	/* The rest of a header split across reads. */
	if ((size_t)n < sizeof(hdr)) {
		int err = read_all(fd, (char *)hdr + n, sizeof(hdr) - (size_t)n);
		if (err)
			return err;
	}
	if (hdr[0] != type)
		return -EPROTO;
	if (hdr[1] > SYNC_MAX_PAYLOAD)
		return -EMSGSIZE;
	uint8_t *buf = malloc((size_t)hdr[1] + 1);
	if (!buf)
		return -ENOMEM;
	int err = read_all(fd, buf, hdr[1]);
	if (err) {
		free(buf);
		return err;
	}
	buf[hdr[1]] = 0;
	*payload = buf;
	*len = hdr[1];
	return 0;
}

void sync_error(int fd, int op, int err, int detail, const char *step)
{
	char buf[12 + 256];
	int32_t head[3] = { op, err, detail };
	size_t slen = strnlen(step ? step : "", 255);
	memcpy(buf, head, sizeof(head));
	memcpy(buf + 12, step ? step : "", slen);
	buf[12 + slen] = 0;
	sync_send(fd, SYNC_ERROR, buf, 12 + slen + 1);
}
