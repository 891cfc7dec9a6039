// The directory of ocirun's own caches, as dist/cli.cjs chose it (per Node
// version and user, owned by us alone; see scripts/entry.cjs), handed to the
// bundle before its command runs. Unset (no caches) when the entry has none:
// NODE_DISABLE_COMPILE_CACHE, no directory of ours, or ocirun run from source.
let dir: string | undefined;

/** Called by dist/cli.cjs with the directory it keeps the code caches in. */
export function useCacheDir(path: string | undefined): void {
  dir = path;
}

export function cacheDir(): string | undefined {
  return dir;
}
