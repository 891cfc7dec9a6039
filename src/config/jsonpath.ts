// JSON paths as messages show them: `linux.namespaces[2].type`,
// `linux.sysctl["net.ipv4.ip_forward"]`.

import { plainIdentifier } from './chars.js';

/** Append one step to a path: a property name or an array index. */
export function jsonPathJoin(base: string, step: string | number): string {
  if (typeof step === 'number') return `${base}[${step}]`;
  if (plainIdentifier(step)) return base ? `${base}.${step}` : step;
  return `${base}[${JSON.stringify(step)}]`;
}

/**
 * Convert an ajv instancePath (JSON Pointer, RFC 6901) into our notation:
 * `/process/user/uid` → `process.user.uid`, `/linux/namespaces/1/type` →
 * `linux.namespaces[1].type`. All-digit steps are taken as array indexes.
 */
export function fromJsonPointer(pointer: string): string {
  if (pointer === '') return '';
  let path = '';
  for (const raw of pointer.slice(1).split('/')) {
    const step = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = jsonPathJoin(path, /^(0|[1-9][0-9]*)$/.test(step) ? Number(step) : step);
  }
  return path;
}

/** The value at a JSON Pointer inside `doc`, or undefined. */
export function valueAtPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const step = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = (cur as Record<string, unknown>)[step];
  }
  return cur;
}
