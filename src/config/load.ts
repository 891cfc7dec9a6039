// Reading a bundle's config.json (and exec's process.json): parse, validate
// against the schema with the build-time generated validator, run the
// semantic checks, resolve the root filesystem. Every refusal is one
// ConfigError naming the file, the JSON path and the rule.
//
// Kept cheap on purpose: it runs on every create/run, so it imports no
// compiler, only the generated validators and node:fs/node:path.
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseJson, readBundleConfig, readText, type ReadBundle } from './read.js';
export { jsonErrorOffset } from './read.js';
import { checkForCreate, checkProcess, checkSpec } from './checks.js';
import { ConfigError, errnoCode, type Problem } from './errors.js';
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
  return checkBundleConfig(readBundleConfig(bundleDir));
}

/**
 * The process of `<bundleDir>/config.json`, for exec without --process:
 * validated and checked as create does it (same messages, same paths), while
 * the rest of the config, which the container was made from already, is not
 * looked at: an engine's config carries hundreds of seccomp rules and mounts
 * that exec never reads (runc's exec reads only the process too).
 * undefined when the config has none.
 */
export function loadBundleProcess(bundleDir: string): Process | undefined {
  const { configPath, doc } = readBundleConfig(bundleDir);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return validateSpec(doc, configPath).process;
  const { ociVersion, process } = doc as { ociVersion?: unknown; process?: unknown };
  return validateSpec({ ociVersion, process }, configPath).process;
}

/** The second half of loadBundleConfig: validate what read.ts parsed and resolve the rootfs. */
export function checkBundleConfig(read: ReadBundle): LoadedBundle {
  const { bundle, configPath, doc } = read;
  const spec = withAbsoluteDestinations(validateSpec(doc, configPath));
  throwFirst(configPath, checkForCreate(spec));

  const rootPath = (spec.root as { path: string }).path;
  const wanted = isAbsolute(rootPath) ? rootPath : join(bundle, rootPath);
  let rootfs: string;
  try {
    // .native: one realpath(3); Node's JS one lstats each component itself (~0.1 ms).
    rootfs = realpathSync.native(wanted);
  } catch (err) {
    const code = errnoCode(err) ?? String(err);
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
