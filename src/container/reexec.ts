// Handing this very command to a fresh Node: cli/seedguard.ts does it, before
// anything else happened, when an input is too large to hash under the
// snapshot's fixed seed (config/hashlimit.ts). Same pid, same arguments and
// environment (_OCIRUN_NOFILE, LISTEN_PID included), Node's flags less one.
import { keepAcrossExec, socketActivationFds } from '../linux/runtimefds.js';

/** The fds the command passes on to a container: socket activation's (create and run), then --preserve-fds. */
export function passedFds(command: string, preserveFds: number): number {
  return (command === 'create' || command === 'run' ? socketActivationFds() : 0) + preserveFds;
}

/**
 * execve the running Node again without `flag`. fds 0–2 cross by
 * process.execve's own doing; the `passed` fds from 3 up are made to cross
 * here (Node set FD_CLOEXEC on them); every other fd closes as before.
 */
export function reexecWithout(flag: string, passed: number): never {
  if (!process.execve) throw new Error(`this Node (${process.version}) has no process.execve: run ocirun without ${flag}`);
  for (let fd = 3; fd < 3 + passed; fd++) keepAcrossExec(fd);
  const node = process.execPath;
  return process.execve(node, [node, ...process.execArgv.filter((a) => a !== flag), ...process.argv.slice(1)], process.env);
}
