// The ocirun command: parse, dispatch to one handler, report any error once,
// and exit in this one place.
import { writeSync } from 'node:fs';
import { type Context, makeContext } from './context.js';
import type { ParsedArgs } from './defs.js';
import { fastParse } from './fastparse.js';
import { setTrace, setWarn } from '../container/trace.js';

type Handler = (args: ParsedArgs, ctx: Context) => number | Promise<number>;

// Each command is its own chunk, loaded on use: `state` must not pay for the
// config validator, and `kill` not for the rootfs planner.
const HANDLERS: Record<string, () => Promise<Handler>> = {
  create: async () => (await import('./commands/create.js')).create,
  start: async () => (await import('./commands/start.js')).start,
  state: async () => (await import('./commands/state.js')).state,
  kill: async () => (await import('./commands/kill.js')).kill,
  delete: async () => (await import('./commands/delete.js')).deleteCommand,
  run: async () => (await import('./commands/run.js')).run,
  list: async () => (await import('./commands/list.js')).list,
  spec: async () => (await import('./commands/spec.js')).spec,
  exec: async () => (await import('./commands/exec.js')).exec,
  features: async () => (await import('./commands/features.js')).features,
  pause: async () => (await import('./commands/pause.js')).pause,
  resume: async () => (await import('./commands/resume.js')).resume,
  ps: async () => (await import('./commands/ps.js')).ps,
  update: async () => (await import('./commands/update.js')).update,
  events: async () => (await import('./commands/events.js')).events,
  checkpoint: async () => (await import('./commands/checkpoint.js')).checkpoint,
  restore: async () => (await import('./commands/restore.js')).restore,
  plan: async () => (await import('./commands/plan.js')).plan,
};

async function main(argv: string[]): Promise<number> {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
    writeSync(2, `ocirun: unsupported platform ${process.platform}-${process.arch}: ocirun runs on linux-x64 and linux-arm64 (glibc)\n`);
    return 1;
  }
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    const { versionText } = await import('./version.js');
    writeSync(1, `${await versionText()}\n`);
    return 0;
  }
  let args = fastParse(argv);
  if (!args) {
    const { slowParse } = await import('./yargs.js');
    const result = await slowParse(argv);
    if ('exitCode' in result) return result.exitCode;
    args = result;
  }
  const ctx = makeContext(args.globals);
  const id = args.positionals['container-id'];
  const where = id === undefined ? args.command : `${args.command} ${id}`;
  const loadHandler = HANDLERS[args.command];
  if (!loadHandler) {
    ctx.report.error('', `unknown command "${args.command}"`);
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    writeSync(2, `ocirun: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
