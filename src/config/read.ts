// The cheap first half of loading a bundle: find it, read config.json, parse
// the JSON. No validator is loaded here, so create can start the init's slow
// boot while the full validation (load.ts) runs.
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, errnoCode } from './errors.js';
import { HASH_INPUT_LIMIT, tooBigForFixedSeed } from './hashlimit.js';

export interface ReadBundle {
  /** absolute, symlinks resolved */
  bundle: string;
  configPath: string;
  /** the parsed, not yet validated, document */
  doc: unknown;
}


/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/** Deeper nesting than this is refused where it starts (the error search recurses once a level). */
export const MAX_JSON_DEPTH = 1000;

/** Thrown by jsonErrorOffset at the bracket that opens one level too many. */
export class TooDeep {
  constructor(readonly offset: number) {}
}

/**
 * Offset of the first JSON syntax error in `text` (-1 when there is none).
 * JSON.parse's messages differ between Node versions and do not always give
 * a position ("Unexpected token 'x', "…" is not valid JSON"), so we find it.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  let depth = 0;
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
    if ((ch === '{' || ch === '[') && ++depth > MAX_JSON_DEPTH) throw new TooDeep(i);
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') return void (i++, depth--);
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
        else if (text[i] === '}') return void (i++, depth--);
        else fail();
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') return void (i++, depth--);
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void (i++, depth--);
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
export function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    let offset: number;
    try {
      offset = jsonErrorOffset(text);
    } catch (deep) {
      if (!(deep instanceof TooDeep)) throw deep;
      const where = lineColumn(text, deep.offset);
      throw new ConfigError(file, '', `invalid JSON: nested deeper than ${MAX_JSON_DEPTH} levels at line ${where.line} column ${where.column}`, { cause: err });
    }
    let what: string;
    if (offset < 0) what = 'cannot parse';
    else if (offset >= text.length) what = 'unexpected end of input';
    else what = `unexpected ${JSON.stringify(text[offset])}`;
    const where = lineColumn(text, Math.max(0, Math.min(offset, text.length)));
    throw new ConfigError(file, '', `invalid JSON: ${what} at line ${where.line} column ${where.column}`, { cause: err });
  }
}

/**
 * The largest config.json (or process.json) we read: far above any real
 * config (annotations of tens of megabytes included), far below what would
 * exhaust memory once parsed.
 */
export const CONFIG_SIZE_LIMIT = 64 * 1024 * 1024;

/**
 * Read a regular file of at most CONFIG_SIZE_LIMIT bytes. A device, fifo or
 * socket (an endless /dev/zero, a pipe no one writes) is refused before a
 * byte is read; the open does not block on a fifo.
 */
export function readText(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new ConfigError(file, '', `cannot read: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(file, '', 'cannot read: not a regular file');
    if (st.size > CONFIG_SIZE_LIMIT) throw new ConfigError(file, '', `cannot read: larger than ${CONFIG_SIZE_LIMIT / 1024 / 1024} MiB (${st.size} bytes)`);
    // Read up to one byte past the limit: a file growing meanwhile cannot take us past it.
    const buf = Buffer.allocUnsafe(Math.min(st.size, CONFIG_SIZE_LIMIT) + 1);
    let got = 0;
    for (let n = 1; n > 0 && got < buf.length; got += n) n = readSync(fd, buf, got, buf.length - got, null);
    if (got > CONFIG_SIZE_LIMIT) throw new ConfigError(file, '', `cannot read: larger than ${CONFIG_SIZE_LIMIT / 1024 / 1024} MiB`);
    if (tooBigForFixedSeed(got)) throw new ConfigError(file, '', `cannot read: it grew past ${HASH_INPUT_LIMIT / 1024} KiB while ocirun ran; run the command again`);
    return buf.toString('utf8', 0, got);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, '', `cannot read: ${errnoCode(err) ?? String(err)}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

/** Resolve the bundle and parse its config.json; errors name the file. */
export function readBundleConfig(bundleDir: string): ReadBundle {
  const given = resolve(bundleDir);
  let bundle: string;
  try {
    bundle = realpathSync.native(given); // realpath(3), not Node's walk of lstat calls in JS
  } catch (err) {
    throw new ConfigError(join(given, 'config.json'), '', `cannot read: bundle ${given}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
  const configPath = join(bundle, 'config.json');
  return { bundle, configPath, doc: parseJson(configPath, readText(configPath)) };
}
