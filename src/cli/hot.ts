// The entry of dist/hot.cjs: start, state, kill, delete and list, in a
// bundle a third the size of the whole CLI's (loading that costs those
// commands ~3 ms a call); anything else goes on to the whole CLI (subset.ts).
import { HOT_HANDLERS } from './dispatch.js';
import { subsetMain } from './subset.js';

export const main = subsetMain(HOT_HANDLERS);

/** dist/cli.cjs ends the process through this (without Node's exit when nothing needs it). */
export { canExitNow, exitNow } from '../container/finish.js';
