// Which status each operation accepts, in one table, and what it says when
// the container is in another. The words are runc's where runc has its own
// (engines and users match them); everything else says
// "cannot <op> a container in the <status> state", as runc's start does.
import type { Status } from './state.js';

export type Operation = 'start' | 'kill' | 'delete' | 'pause' | 'resume' | 'update' | 'events' | 'exec' | 'exec --ignore-paused' | 'checkpoint';

interface Rule {
  accepts: readonly Status[];
  /** runc's words for a refusal, where they differ from the default */
  says?: (status: Status, id: string) => string | undefined;
}

const notRunning = (): string => 'container not running';

const RULES: Record<Operation, Rule> = {
  start: {
    accepts: ['created'],
    says: (status) => (status === 'stopped' ? 'cannot start a container that has stopped' : status === 'running' ? 'cannot start an already running container' : undefined),
  },
  // `kill --all` of a stopped container still signals what is left in its cgroup (lifecycle.ts).
  kill: { accepts: ['created', 'running', 'paused'], says: notRunning },
  // Without --force; `delete --force` accepts every status.
  delete: { accepts: ['stopped', 'created'], says: (status, id) => `cannot delete container ${id} that is not stopped: ${status}` },
  pause: { accepts: ['created', 'running'], says: notRunning },
  resume: { accepts: ['paused'], says: () => 'container not paused' },
  update: { accepts: ['created', 'running', 'paused'], says: notRunning },
  events: { accepts: ['creating', 'created', 'running', 'paused'], says: (_status, id) => `container with id ${id} is not running` },
  exec: {
    accepts: ['created', 'running'],
    says: (status) =>
      status === 'paused' ? 'cannot exec in a paused container (use --ignore-paused to override)'
        : status === 'creating' ? 'cannot exec in a container that is still being created'
          : `cannot exec in a ${status} container`,
  },
  'exec --ignore-paused': { accepts: ['created', 'running', 'paused'], says: (status) => RULES.exec.says?.(status, '') },
  checkpoint: { accepts: ['running', 'paused'], says: (status) => `Container cannot be checkpointed in ${status} state` },
};

/** `op` may act on a container in this status. */
export function accepts(op: Operation, status: Status): boolean {
  return RULES[op].accepts.includes(status);
}

/** Throw the operation's refusal unless it accepts this status. */
export function requireStatus(op: Operation, status: Status, id: string): void {
  if (accepts(op, status)) return;
  throw new Error(RULES[op].says?.(status, id) ?? `cannot ${op} a container in the ${status} state`);
}
