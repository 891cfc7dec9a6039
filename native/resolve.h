/*
 * Resolving a path inside a container's root without letting a symlink or
 * ".." lead out of it: the one decision the plan executor makes about paths,
 * because only the files at apply time can answer it.
 */
#ifndef OCIRUN_RESOLVE_H
#define OCIRUN_RESOLVE_H

enum resolve_create { RESOLVE_NONE = 0, RESOLVE_DIR = 1, RESOLVE_FILE = 2 };
enum resolve_how { RESOLVE_AUTO = 0, RESOLVE_WALK = 1, RESOLVE_OPENAT2 = 2 };

/*
 * An O_PATH|O_CLOEXEC fd on `path` inside the root held by root_fd, or
 * -errno.  With RESOLVE_DIR missing directories are made (mode 0755); with
 * RESOLVE_FILE missing parents are directories and the last component an
 * empty file.  RESOLVE_AUTO uses openat2(RESOLVE_IN_ROOT) where the kernel
 * has it and the component walk otherwise (and to create what is missing).
 */
int resolve_in_root(int root_fd, const char *path, enum resolve_create create, enum resolve_how how);

#endif
