// Running one parsed command: the context, the reporter's hooks, the
// handler, and its error reported once. Shared by the whole CLI (main.ts)
// and the bundle of the hot commands (hot.ts).
import { type Context, makeContext } from './context.js';
import type { ParsedArgs } from './defs.js';
import { setTrace, setWarn } from '../trace.js';
import { guardHashSeed } from './seedguard.js';

export type Handler = (args: ParsedArgs, ctx: Context) => number | Promise<number>;
export type HandlerLoader = () => Promise<Handler>;

/**
 * The commands engines call for every container, many times (state above
 * all): dist/hot.cjs holds these and nothing else, so they do not load the
 * code of create, run and exec.
 */
export const HOT_HANDLERS: Record<string, HandlerLoader> = {
  start: async () => (await import('./commands/start.js')).start,
  state: async () => (await import('./commands/state.js')).state,
  kill: async () => (await import('./commands/kill.js')).kill,
  delete: async () => (await import('./commands/delete.js')).deleteCommand,
  list: async () => (await import('./commands/list.js')).list,
};

export function supportedPlatform(): boolean {
  return process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');
}

/** The exit status of one command: errors are reported here, not thrown. */
export async function dispatch(args: ParsedArgs, loadHandler: HandlerLoader | undefined): Promise<number> {
  const ctx = makeContext(args.globals);
  const id = args.positionals['container-id'];
  const where = id === undefined ? args.command : `${args.command} ${id}`;
  if (!loadHandler) {
    ctx.report.error('', `unknown command "${args.command}"`);
    return 1;
  }
  try {
    // Before anything is done, logged included: a large input goes to a Node with a random hash seed.
    await guardHashSeed(args, ctx.store.root);
  } catch (err) {
    ctx.report.error(where, (err as Error).message);
    return 1;
  }
  setWarn((msg) => ctx.report.warn(msg));
  if (ctx.report.debugOn) setTrace((msg) => ctx.report.debug(`${where}: ${msg}`));
  ctx.report.debug(`${where}: start`);
  try {
    const handler = await loadHandler();
    return await handler(args, ctx);
  } catch (err) {
    ctx.report.error(where, err instanceof Error ? err.message : String(err));
    // An interrupted create or run exits as the signal would have made it (128 + n).
    const code = (err as { exitCode?: unknown } | null)?.exitCode;
    return typeof code === 'number' ? code : 1;
  }
}
