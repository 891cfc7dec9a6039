// The init entry: started by native stage 2 as the container's first
// process, still on the host's filesystem. It takes its plan over the sync
// socket, sets up the container, and hands over to the native finalize,
// which waits for `start` and execs the program.
// It must not touch process.stdout/stderr/stdin or console: those would
// make fds 0-2 non-blocking, and the container shares them.
import { HookError } from '../linux/hooks.js';
import { SyncChannel } from '../linux/sync.js';
import { prctl } from '../sys/calls.js';
import { PR_SET_DUMPABLE } from '../sys/constants.js';
import { becomeContainerProcess, exitNow, setUp } from './steps.js';

function parseNofile(text: string | undefined): { soft: bigint; hard: bigint } | null {
  const m = /^(\d+|unlimited):(\d+|unlimited)$/.exec(text ?? '');
  if (!m) return null;
  const value = (s: string): bigint => (s === 'unlimited' ? 0xffffffffffffffffn : BigInt(s));
  return { soft: value(m[1] as string), hard: value(m[2] as string) };
}

async function main(): Promise<void> {
  // First of all: not dumpable, so nothing in the container's namespaces can
  // reach our memory or /proc/<pid>/exe (the CVE-2019-5736 class); the final
  // execve resets it for the container's own program.
  prctl(PR_SET_DUMPABLE, 0, 'PR_SET_DUMPABLE');
  const channel = new SyncChannel(Number(process.env._OCIRUN_SYNC_FD));
  const nofile = parseNofile(process.env._OCIRUN_NOFILE);
  // PID 1 of a pid namespace only receives signals it handles: take the
  // common ones so `kill` works on a created container, and die at once.
  for (const [sig, n] of [['SIGTERM', 15], ['SIGINT', 2], ['SIGHUP', 1], ['SIGQUIT', 3], ['SIGUSR1', 10], ['SIGUSR2', 12]] as const) {
    process.on(sig, () => exitNow(128 + n));
  }
  try {
    const { plan } = channel.expect('config');
    const { fifoFd, path } = setUp(plan, channel, nofile);
    // Says "ready", waits for `start` and execs; returns only a failure from before "ready".
    becomeContainerProcess(plan, path, channel.fd, fifoFd);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // A failed createContainer hook is marked: create then runs the poststop hooks (lifecycle step 13).
    try { channel.send({ type: 'error', message, ...(err instanceof HookError ? { hook: true } : {}) }); } catch { /* the runtime is gone */ }
    exitNow(1);
  }
}

void main();
