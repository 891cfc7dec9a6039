// Removing a file that may be gone already. Not fs.rmSync: for a single file
// it loads and runs Node's rimraf, compiled from source under our flags
// (~0.3 ms).
import { unlinkSync } from 'node:fs';
import { errnoCode } from '../config/errors.js';

/** unlink(2) path; a path already gone is no error. */
export function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
