/*
 * Running an OCI hook from the container's init (createContainer from the
 * plan, startContainer from finalize): the program with its args and env,
 * the state JSON on its stdin, the init's stdout/stderr, and its timeout.
 * The runtime (src/linux/hooks.ts) runs the other kinds.
 */
#ifndef OCIRUN_HOOKS_H
#define OCIRUN_HOOKS_H

enum hook_failure { HOOK_OK = 0, HOOK_CANNOT_RUN, HOOK_EXIT, HOOK_SIGNAL, HOOK_TIMEOUT, HOOK_SETUP };

/*
 * Run one hook to its end.  Returns HOOK_OK or how it failed, with *detail
 * the errno (CANNOT_RUN, SETUP), exit status (EXIT) or signal (SIGNAL).
 */
enum hook_failure hook_run(const char *path, const char *const *argv, const char *const *envp,
			   int timeout_s, const char *state, int *detail);

#endif
