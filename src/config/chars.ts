// Character-class checks for the few short strings every command looks at
// (an id, a signal, a JSON path step, a field of a /proc file), written as
// loops rather than regular expressions: V8 compiles each regular
// expression the first time it runs, and again to machine code on its
// second, ~25-60 us each, in a process that lives tens of milliseconds
// (measured: ~11 of them on create's path, 2-3 on kill's).

const isDigitCode = (c: number): boolean => c >= 48 && c <= 57;
const isLowerHexCode = (c: number): boolean => isDigitCode(c) || (c >= 97 && c <= 102);
const isLetterCode = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

function every(s: string, from: number, ok: (c: number) => boolean): boolean {
  if (s.length <= from) return false;
  for (let i = from; i < s.length; i++) if (!ok(s.charCodeAt(i))) return false;
  return true;
}

/** /^\d+$/ */
export function allDigits(s: string): boolean {
  return every(s, 0, isDigitCode);
}

/** /^-\d+$/ */
export function negativeNumber(s: string): boolean {
  return s.charCodeAt(0) === 45 && every(s, 1, isDigitCode);
}

/** /^[0-9a-f]+$/ */
export function allLowerHex(s: string): boolean {
  return every(s, 0, isLowerHexCode);
}

/** /^[\w+.-]+$/: letters, digits and _ + . - (runc's characters for an id). */
export function idCharacters(s: string): boolean {
  // _ + . -
  return every(s, 0, (c) => isLetterCode(c) || isDigitCode(c) || c === 95 || c === 43 || c === 46 || c === 45);
}

/** /^[A-Za-z_$][A-Za-z0-9_$]*$/: a name a JSON path shows after a dot. */
export function plainIdentifier(s: string): boolean {
  const first = s.charCodeAt(0);
  if (!(isLetterCode(first) || first === 95 || first === 36)) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(isLetterCode(c) || isDigitCode(c) || c === 95 || c === 36)) return false;
  }
  return true;
}

/** /^[rwm]+$/ */
export function onlyRwm(s: string): boolean {
  // r w m
  return every(s, 0, (c) => c === 114 || c === 119 || c === 109);
}

/** The whitespace-separated fields of a line: `line.trim().split(/\s+/)`, for the spaces and tabs of /proc files. */
export function fields(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const c = i < line.length ? line.charCodeAt(i) : 32;
    const space = c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
    if (space) {
      if (start >= 0) out.push(line.slice(start, i));
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  return out;
}
