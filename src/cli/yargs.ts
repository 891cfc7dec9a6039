// The full command line, built with yargs from the table in defs.ts: help,
// usage and argument errors. Loaded only when the fast parser declines.
import yargs, { type Argv, type Options } from 'yargs';
import { allCommands, GLOBAL_OPTIONS, type ArgValue, type OptionDef, type ParsedArgs } from './defs.js';
import { versionText } from './version.js';

function asYargs(o: OptionDef): Options {
  const opt: Options = { type: o.type === 'strings' ? 'string' : o.type, describe: o.describe, hidden: o.hidden ?? false };
  if (o.type === 'strings') opt.array = false;
  if (o.alias) opt.alias = o.alias;
  if (o.default !== undefined) opt.default = o.default;
  return opt;
}

function pick(argv: Record<string, unknown>, defs: OptionDef[]): Record<string, ArgValue> {
  const out: Record<string, ArgValue> = {};
  for (const d of defs) {
    const v = argv[d.name];
    // yargs gathers a repeated option into an array by itself.
    out[d.name] = d.type === 'strings' && v !== undefined ? (Array.isArray(v) ? v.map(String) : [String(v)]) : (v as ArgValue);
  }
  return out;
}

/** Parse with yargs; resolves to null when yargs already answered (help, version, or a usage error it printed). */
export async function slowParse(argv: string[]): Promise<ParsedArgs | { exitCode: number }> {
  let parsed: ParsedArgs | null = null;
  let failure: string | null = null;
  let y: Argv = yargs(argv)
    .scriptName('ocirun')
    .usage('$0 [global options] <command> [command options] [arguments...]')
    .strict()
    .demandCommand(1, 'ocirun: a command is required')
    .version(await versionText())
    .alias('version', 'v')
    .help()
    .alias('help', 'h')
    // `ocirun completion >> ~/.bashrc` (or ~/.zshrc): the script calls back
    // `ocirun --get-yargs-completions …`, which yargs answers from this table.
    .completion('completion', 'output a shell completion script for bash or zsh (source it)')
    .wrap(100)
    .exitProcess(false)
    .fail((msg, err) => { failure = msg ?? err?.message ?? 'invalid arguments'; });
  for (const g of GLOBAL_OPTIONS) y = y.option(g.name, asYargs(g));
  for (const cmd of allCommands()) {
    const usage = [cmd.name, ...cmd.positionals.map((p) => (p.variadic ? `[${p.name}..]` : p.required ? `<${p.name}>` : `[${p.name}]`))].join(' ');
    y = y.command(usage, cmd.describe, (sub) => {
      for (const o of cmd.options) sub.option(o.name, asYargs(o));
      for (const p of cmd.positionals) sub.positional(p.name, { type: 'string', describe: p.describe });
      return sub.strict();
    }, (a) => {
      const positionals: Record<string, string | undefined> = {};
      let rest: string[] = [];
      for (const p of cmd.positionals) {
        const v = a[p.name];
        if (p.variadic) rest = Array.isArray(v) ? v.map(String) : [];
        else positionals[p.name] = v === undefined ? undefined : String(v);
      }
      parsed = { command: cmd.name, globals: pick(a, GLOBAL_OPTIONS), options: pick(a, cmd.options), positionals, rest };
    });
  }
  await y.parseAsync();
  if (failure !== null) {
    process.stderr.write(`ocirun: ${failure}\nRun 'ocirun --help' for usage.\n`);
    return { exitCode: 1 };
  }
  return parsed ?? { exitCode: 0 };
}
