// The one error type for a config (or process.json) the runtime refuses:
// it names the file, the JSON path of the offending value and the rule it
// breaks, so the user can find and fix it without reading our code.

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** the file that was read (config.json or a process.json) */
  readonly file: string;
  /** where in the document: `linux.namespaces[2].type`, `process.args`; empty for the whole file */
  readonly jsonPath: string;
  /** what is wrong, lower-case words without a trailing period */
  readonly rule: string;

  constructor(file: string, jsonPath: string, rule: string, options?: ErrorOptions) {
    super(jsonPath ? `${file}: ${jsonPath}: ${rule}` : `${file}: ${rule}`, options);
    this.file = file;
    this.jsonPath = jsonPath;
    this.rule = rule;
  }
}

/** One thing a semantic check found wrong. */
export interface Problem {
  jsonPath: string;
  rule: string;
}

/**
 * The errno name a failed call carries ("ENOENT"): Node's fs errors and
 * sys/'s SysError both hold it in `code`. Undefined for any other error.
 * Here because every layer reads it and config/ is shared by all of them.
 */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
