// Reading a bundle's config.json (and exec's process.json): parse, validate
// against the schema with the build-time generated validator, run the
// semantic checks, resolve the root filesystem. Every refusal is one
// ConfigError naming the file, the JSON path and the rule.
//
// Kept cheap on purpose: it runs on every create/run, so it imports no
// compiler, only the generated validators and node:fs/node:path.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { checkForCreate, checkProcess, checkSpec } from './checks.js';
import { ConfigError, type Problem } from './errors.js';
import { fromJsonPointer, jsonPathJoin, valueAtPointer } from './jsonpath.js';
import { validate as validateConfig, validateProcess } from './generated/config.validate.js';
import type { Process, Spec } from './types.js';

export interface LoadedBundle {
  spec: Spec;
  /** absolute, symlinks resolved */
  bundle: string;
  /** absolute path of the root filesystem directory */
  rootfs: string;
  configPath: string;
}

/** What ajv reports; declared here so that load.ts needs nothing from ajv at run time. */
interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
}

function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(err);
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/**
 * Offset of the first JSON syntax error in `text` (-1 when there is none).
 * JSON.parse's messages differ between Node versions and do not always give
 * a position ("Unexpected token 'x', "…" is not valid JSON"), so we find it.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail();
      const ch = text.charCodeAt(i);
      if (ch === 0x22) return void i++;
      if (ch < 0x20) fail();
      if (ch === 0x5c) {
        i++;
        const esc = text[i];
        if (esc === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) ((i += k), fail());
          i += 5;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i++;
        else fail();
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (!m) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    } else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) number();
    else fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return -1;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

/** Parse JSON text, turning a syntax error into `<file>: invalid JSON: <what> at line L column C`. */
function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const offset = jsonErrorOffset(text);
    let what: string;
    if (offset < 0) what = 'cannot parse';
    else if (offset >= text.length) what = 'unexpected end of input';
    else what = `unexpected ${JSON.stringify(text[offset])}`;
    const where = lineColumn(text, Math.max(0, Math.min(offset, text.length)));
    throw new ConfigError(file, '', `invalid JSON: ${what} at line ${where.line} column ${where.column}`, { cause: err });
  }
}

/** Words for the first schema error, in the style of the rest of our messages. */
function describeSchemaError(e: SchemaError, doc: unknown): Problem {
  const path = fromJsonPointer(e.instancePath);
  const p = e.params;
  switch (e.keyword) {
    case 'required':
      return { jsonPath: jsonPathJoin(path, String(p.missingProperty)), rule: 'is required' };
    case 'type':
      return { jsonPath: path, rule: `must be ${String(p.type).replace(/,/g, ' or ')}` };
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String).join(', ');
      return { jsonPath: path, rule: `must be one of ${allowed} (got ${JSON.stringify(valueAtPointer(doc, e.instancePath))})` };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { jsonPath: path, rule: `must be ${String(p.comparison)} ${String(p.limit)}` };
    case 'minLength':
    case 'minItems':
      return { jsonPath: path, rule: p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} ${e.keyword === 'minLength' ? 'characters' : 'entries'}` };
    case 'propertyNames':
      return { jsonPath: path, rule: 'keys must not be empty' };
    case 'pattern':
      return { jsonPath: path, rule: `must match ${String(p.pattern)}` };
    case 'anyOf':
      return { jsonPath: path, rule: 'does not have any of the allowed forms' };
    default:
      return { jsonPath: path, rule: `fails schema rule ${e.keyword}` };
  }
}

function firstSchemaProblem(errors: readonly SchemaError[] | null | undefined, doc: unknown): Problem {
  const list = errors ?? [];
  // With allErrors off ajv stops at the first failure, except that a failed
  // anyOf/propertyNames also lists its branches first: report the summary.
  const summary = list.find((e) => e.keyword === 'anyOf' || e.keyword === 'propertyNames');
  const first = summary ?? list[0];
  return first ? describeSchemaError(first, doc) : { jsonPath: '', rule: 'does not match the schema' };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read: ${errnoCode(err)}`, { cause: err });
  }
}

function throwFirst(file: string, problems: readonly Problem[]): void {
  const p = problems[0];
  if (p) throw new ConfigError(file, p.jsonPath, p.rule);
}

/** A relative mount destination is deprecated but allowed: config.md says to take it as relative to "/". */
function withAbsoluteDestinations(spec: Spec): Spec {
  if (!spec.mounts?.some((m) => !isAbsolute(m.destination))) return spec;
  return { ...spec, mounts: spec.mounts.map((m) => (isAbsolute(m.destination) ? m : { ...m, destination: `/${m.destination}` })) };
}

/**
 * Validate a parsed config document (schema, then semantic checks) and
 * return it typed. `file` is only used in messages.
 */
export function validateSpec(doc: unknown, file: string): Spec {
  if (!validateConfig(doc)) {
    const p = firstSchemaProblem(validateConfig.errors, doc);
    throw new ConfigError(file, p.jsonPath, p.rule);
  }
  throwFirst(file, checkSpec(doc));
  return doc;
}

/**
 * Load `<bundleDir>/config.json` for create/run: the bundle path made
 * absolute with symlinks resolved, the config validated and checked, and
 * root.path resolved against the bundle to an existing directory.
 */
export function loadBundleConfig(bundleDir: string): LoadedBundle {
  const given = resolve(bundleDir);
  let bundle: string;
  try {
    bundle = realpathSync(given);
  } catch (err) {
    throw new ConfigError(join(given, 'config.json'), '', `cannot read: bundle ${given}: ${errnoCode(err)}`, { cause: err });
  }
  const configPath = join(bundle, 'config.json');
  const doc = parseJson(configPath, readText(configPath));
  const spec = withAbsoluteDestinations(validateSpec(doc, configPath));
  throwFirst(configPath, checkForCreate(spec));

  const rootPath = (spec.root as { path: string }).path;
  const wanted = isAbsolute(rootPath) ? rootPath : join(bundle, rootPath);
  let rootfs: string;
  try {
    rootfs = realpathSync(wanted);
  } catch (err) {
    const code = errnoCode(err);
    throw new ConfigError(configPath, 'root.path', code === 'ENOENT' ? `rootfs ${wanted} does not exist` : `rootfs ${wanted}: ${code}`, { cause: err });
  }
  if (!statSync(rootfs).isDirectory()) throw new ConfigError(configPath, 'root.path', `rootfs ${wanted} is not a directory`);
  return { spec, bundle, rootfs, configPath };
}

/** Read and validate a standalone process definition (`exec --process <file>`). */
export function parseProcessFile(path: string): Process {
  const file = resolve(path);
  const doc = parseJson(file, readText(file));
  if (!validateProcess(doc)) {
    const p = firstSchemaProblem(validateProcess.errors, doc);
    throw new ConfigError(file, p.jsonPath, p.rule);
  }
  throwFirst(file, checkProcess(doc));
  return doc;
}
