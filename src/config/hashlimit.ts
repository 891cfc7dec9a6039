// How much input a process may hash under V8's fixed hash seed.
//
// bin/ocirun starts Node with --no-rehash-snapshot: V8 then keeps the hash
// seed baked into its startup snapshot instead of drawing a random one and
// rehashing every string and dictionary of the snapshot for it (~5 ms of
// every start, measured). That seed is the same in every process of this
// Node binary, so whoever knows it can choose object keys, property names or
// Map/Set keys that all land in one bucket of a hash table (V8's string table,
// an object's dictionary, a Map), and n such keys cost ~n²/2 probes
// (CVE-2017-11499, HashDoS). The defence is size: an input larger than
// HASH_INPUT_LIMIT is parsed only by a process that drew a random seed
// (src/cli/seedguard.ts re-executes ocirun without the flag for it).
//
// Why 64 KiB: the shortest JSON member that can carry distinct colliding
// keys is ~9 bytes (`"abcd":0,`), so 64 KiB holds at most ~7,300 keys, and
// their worst case is ~7,300²/2 = 2.7·10⁷ probes. Measured here with a C
// model of V8's probing (open addressing, bucket = hash & mask, then
// last + i; the entry's hash field compared first, then the contents):
// 31 ms when the keys share only a bucket, 98 ms when they share the whole
// hash (3.7 ns a probe). JSON.parse probes the string table and then the
// object's dictionary, and the checks may put the keys in a Set: a few
// tenths of a second at worst, a slow command and not a stuck one. At the
// 64 MiB a config may have (read.ts), the same attack is ~2.8·10¹³ probes:
// more than a day. Real inputs are far below the limit (the test bundle's
// state.json is 2 KiB), so the re-executed path is the rare one.
export const HASH_INPUT_LIMIT = 64 * 1024;

/** The V8 flag bin/ocirun passes, kept in one place. */
export const NO_REHASH_FLAG = '--no-rehash-snapshot';

let fixed: boolean | undefined;

/** This process kept the snapshot's (fixed, public) hash seed. */
export function fixedHashSeed(): boolean {
  fixed ??= process.execArgv.includes(NO_REHASH_FLAG);
  return fixed;
}

let ownRecord = false;

/**
 * For create, run and restore: the record they read back is the one they
 * wrote, from a config seedguard.ts measured; its size is the config's
 * (plus the compiled seccomp filter, a single string), not a new input.
 */
export function recordIsDerived(): void {
  ownRecord = true;
}

/**
 * Whether `bytes` just read from an input may not be parsed here. seedguard.ts
 * measured every input before anything happened, so this is reached only by
 * a file that grew since (replaced in a writable bundle, say): the caller
 * then fails rather than hashing it under the fixed seed.
 */
export function tooBigForFixedSeed(bytes: number, record = false): boolean {
  return bytes > HASH_INPUT_LIMIT && fixedHashSeed() && !(record && ownRecord);
}
