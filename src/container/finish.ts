// How a command's process ends, for the CLI: without Node's exit when
// nothing needs it (linux/selfexit.ts says why and when).
export { canExitNow, exitNow, nodeExitNeeded } from '../linux/selfexit.js';
