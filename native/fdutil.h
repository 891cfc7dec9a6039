/* Small fd helpers shared by the native steps. */
#ifndef OCIRUN_FDUTIL_H
#define OCIRUN_FDUTIL_H
#include <errno.h>
#include <unistd.h>

/* Close fd without disturbing errno: callers close on the way to reporting a failed call's errno. */
static inline void close_keep_errno(int fd)
{
	int err = errno;
	close(fd);
	errno = err;
}

#endif
