// What every command gets: the state store under --root, and the reporter
// that writes errors and debug lines where --log and --log-format say.
import { appendFileSync, writeSync } from 'node:fs';
import { defaultRoot, Store } from '../container/store.js';
import type { ArgValue } from './defs.js';

/** RFC 3339 in UTC, seconds precision, as runc's JSON log lines carry it. */
function logTime(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

export class Reporter {
  constructor(private readonly logFile: string | undefined, private readonly format: string, readonly debugOn: boolean) {}

  private line(level: string, msg: string): string {
    if (this.format === 'json') return `${JSON.stringify({ level, msg, time: logTime() })}\n`;
    return `time="${logTime()}" level=${level} msg=${JSON.stringify(msg)}\n`;
  }

  private toLog(level: string, msg: string): void {
    if (!this.logFile) return;
    try { appendFileSync(this.logFile, this.line(level, msg)); } catch { /* nowhere else to say it */ }
  }

  /** A debug line, stamped with the milliseconds since this process started. */
  debug(msg: string): void {
    if (!this.debugOn) return;
    msg = `[${performance.now().toFixed(1)} ms] ${msg}`;
    if (this.logFile) this.toLog('debug', msg);
    else writeSync(2, this.line('debug', msg));
  }

  /** A warning: the log (when there is one) and stderr. */
  warn(msg: string): void {
    this.toLog('warning', msg);
    try { writeSync(2, `ocirun: warning: ${msg}\n`); } catch { /* stderr closed */ }
  }

  /** One stderr line for the user; with --log, one error line holding the whole cause. */
  error(where: string, msg: string): void {
    this.toLog('error', msg);
    try { writeSync(2, `ocirun: ${where ? `${where}: ` : ''}${msg}\n`); } catch { /* stderr closed */ }
  }
}

export interface Context {
  store: Store;
  report: Reporter;
  globals: Record<string, ArgValue>;
}

export function makeContext(globals: Record<string, ArgValue>): Context {
  const root = typeof globals.root === 'string' && globals.root !== '' ? globals.root : defaultRoot();
  const format = globals['log-format'] === 'json' ? 'json' : 'text';
  const log = typeof globals.log === 'string' && globals.log !== '' ? globals.log : undefined;
  return { store: new Store(root), report: new Reporter(log, format, globals.debug === true), globals };
}

/** Output for the user goes through writeSync: process.stdout would make a shared fd non-blocking. */
export function out(text: string): void {
  writeSync(1, text);
}
