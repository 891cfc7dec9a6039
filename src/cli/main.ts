// The ocirun command: parse, dispatch to one handler, report any error once,
// and exit in this one place.
import { writeSync } from 'node:fs';
import { type Context, makeContext } from './context.js';
import type { ParsedArgs } from './defs.js';
import { fastParse } from './fastparse.js';
import { create } from './commands/create.js';
import { deleteCommand } from './commands/delete.js';
import { kill } from './commands/kill.js';
import { list } from './commands/list.js';
import { run } from './commands/run.js';
import { spec } from './commands/spec.js';
import { start } from './commands/start.js';
import { state } from './commands/state.js';
import { VERSION_TEXT } from './version.js';

type Handler = (args: ParsedArgs, ctx: Context) => number | Promise<number>;

const HANDLERS: Record<string, Handler> = { create, start, state, kill, delete: deleteCommand, run, list, spec };

async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    writeSync(1, `${VERSION_TEXT}\n`);
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
  if (args.globals['systemd-cgroup'] === true) {
    ctx.report.error(where, '--systemd-cgroup: systemd cgroup management is not supported yet');
    return 1;
  }
  const handler = HANDLERS[args.command];
  if (!handler) {
    ctx.report.error('', `unknown command "${args.command}"`);
    return 1;
  }
  ctx.report.debug(`${where}: start`);
  try {
    return await handler(args, ctx);
  } catch (err) {
    ctx.report.error(where, err instanceof Error ? err.message : String(err));
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    writeSync(2, `ocirun: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
