// Removing a file that may be gone already, and replacing one atomically.
// Not fs.rmSync: for a single file it loads and runs Node's rimraf,
// compiled from source under our flags (~0.3 ms).
import { renameSync, unlinkSync } from 'node:fs';
import { errnoCode } from '../config/errors.js';
import { renameExchange } from '../sys/calls.js';
import { SysError } from '../sys/errors.js';

/** unlink(2) path; a path already gone is no error. */
export function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/**
 * Put `temp` in place of `final`, atomically: a reader finds the old file or
 * the new one, never neither. Where `final` exists the two are exchanged and
 * the old one unlinked, not renamed over: ext4 starts writing a file back
 * when it is renamed over another (auto_da_alloc), and unlinking a file
 * still under writeback waits for the disk (~0.2-0.6 ms each on this
 * project's CI machine, for records that live milliseconds; a tmpfs has
 * neither cost). After a power failure such a file may be empty (its data
 * was not written back yet): container/store.ts takes an empty record for
 * none, as the containers it described died with the machine.
 */
export function replaceFile(temp: string, final: string): void {
  try {
    renameExchange(temp, final);
  } catch (err) {
    // ENOENT: nothing to replace yet; EINVAL: a filesystem without RENAME_EXCHANGE.
    if (err instanceof SysError && (err.code === 'ENOENT' || err.code === 'EINVAL')) {
      renameSync(temp, final);
      return;
    }
    throw err;
  }
  unlinkIfPresent(temp);
}
