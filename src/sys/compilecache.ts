// V8's code cache on disk (Node ≥ 22.1): modules loaded after this call are
// compiled once and read back as bytecode on later runs. Every ocirun command
// is a new process, so this saves the parse and compile of the config
// validator and the command chunks on each call. Failure to use the
// directory (read-only install, another user) only means no cache.
import module from 'node:module';
import { join } from 'node:path';
import { installDir } from './paths.js';

export function enableCompileCache(): void {
  const enable = (module as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
  if (typeof enable !== 'function') return;
  try {
    enable(join(installDir(), 'node_modules', '.cache', 'ocirun-v8'));
  } catch {
    // no cache, same behaviour
  }
}
