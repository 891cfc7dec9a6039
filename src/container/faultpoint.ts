// Pause points for the fault-injection tests (test/fault/): each names a step
// of create, start, delete or run at which a crash would leave a distinct
// state. Only when _OCIRUN_FAULT_PAUSE names the step does ocirun stop
// there: it writes the step's name to <_OCIRUN_FAULT_DIR>/paused and waits
// (synchronously, as the code around it would block) until the test creates
// <_OCIRUN_FAULT_DIR>/release, or 30 s pass. The test meanwhile kills or
// signals it. Unset, a pause point is one comparison with a cached string.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

let wanted: string | undefined | null = null;

export function faultPoint(step: string): void {
  if (wanted === null) wanted = process.env._OCIRUN_FAULT_PAUSE;
  if (wanted !== step) return;
  const dir = process.env._OCIRUN_FAULT_DIR;
  if (!dir) return;
  writeFileSync(join(dir, 'paused.tmp'), `${step} ${process.pid}\n`);
  renameSync(join(dir, 'paused.tmp'), join(dir, 'paused'));
  const release = join(dir, 'release');
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + 30_000;
  while (!existsSync(release) && Date.now() < end) Atomics.wait(sleeper, 0, 0, 5);
}
