// A strict parser for the common, well-formed invocations, so that the hot
// commands (state, start, kill, delete, …) do not pay yargs' load time on
// every call. Anything it does not fully understand returns null, and yargs
// handles it with full help and error messages.
import { type ArgValue, type CommandDef, commandDef, GLOBAL_OPTIONS, type OptionDef, type ParsedArgs } from './defs.js';
import { allDigits, negativeNumber } from '../config/chars.js';

function findOption(options: OptionDef[], token: string): OptionDef | undefined {
  if (token.startsWith('--')) return options.find((o) => o.name === token.slice(2));
  // runc (urfave/cli) also takes single-dash long names, e.g. -no-subreaper.
  if (token.startsWith('-') && token.length > 2) return options.find((o) => o.name === token.slice(1));
  if (token.startsWith('-') && token.length === 2) return options.find((o) => o.alias === token.slice(1));
  return undefined;
}

/** Consume one option at argv[i]; returns the next index, or -1 if it cannot be parsed here. */
function takeOption(options: OptionDef[], argv: string[], i: number, into: Record<string, ArgValue>): number {
  const token = argv[i] as string;
  const eq = token.indexOf('=');
  const name = eq > 0 ? token.slice(0, eq) : token;
  const def = findOption(options, name);
  if (!def) return -1;
  let value: string | undefined;
  if (eq > 0) value = token.slice(eq + 1);
  if (def.type === 'boolean') {
    if (value === undefined) into[def.name] = true;
    else if (value === 'true' || value === 'false') into[def.name] = value === 'true';
    else return -1;
    return i + 1;
  }
  if (value === undefined) {
    value = argv[i + 1];
    if (value === undefined) return -1;
    i++;
  }
  if (def.type === 'number') {
    if (!allDigits(value)) return -1;
    into[def.name] = Number(value);
  } else if (def.type === 'strings') {
    const list = into[def.name];
    into[def.name] = Array.isArray(list) ? [...list, value] : [value];
  } else {
    into[def.name] = value;
  }
  return i + 1;
}

function defaults(options: OptionDef[]): Record<string, ArgValue> {
  const out: Record<string, ArgValue> = {};
  for (const o of options) if (o.default !== undefined) out[o.name] = o.default;
  return out;
}

export function fastParse(argv: string[]): ParsedArgs | null {
  const globals = defaults(GLOBAL_OPTIONS);
  let i = 0;
  while (i < argv.length && (argv[i] as string).startsWith('-')) {
    i = takeOption(GLOBAL_OPTIONS, argv, i, globals);
    if (i < 0) return null;
  }
  const command: CommandDef | undefined = i < argv.length ? commandDef(argv[i] as string) : undefined;
  if (!command) return null;
  i++;
  const options = defaults(command.options);
  const words: string[] = [];
  const fixed = command.positionals.filter((p) => !p.variadic).length;
  const variadic = command.positionals.some((p) => p.variadic);
  while (i < argv.length) {
    const token = argv[i] as string;
    if (token === '--') { words.push(...argv.slice(i + 1)); break; }
    // exec: after the container id, everything is the command line, flags included.
    if (variadic && words.length >= fixed) { words.push(...argv.slice(i)); break; }
    if (token.startsWith('-') && token !== '-' && !negativeNumber(token)) {
      i = takeOption(command.options, argv, i, options);
      if (i < 0) return null;
    } else {
      words.push(token);
      i++;
    }
  }
  const positionals: Record<string, string | undefined> = {};
  const required = command.positionals.filter((p) => p.required).length;
  if (words.length < required || (!variadic && words.length > command.positionals.length)) return null;
  command.positionals.forEach((p, n) => { if (!p.variadic) positionals[p.name] = words[n]; });
  return { command: command.name, globals, options, positionals, rest: variadic ? words.slice(fixed) : [] };
}
