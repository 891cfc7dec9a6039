// linux/intelrdt.ts: unsupported, with the reason.
import t from 'tap';
import { checkIntelRdt } from '../../src/linux/intelrdt.js';

t.test('intelRdt: unsupported, with the reason', async (t) => {
  t.throws(() => checkIntelRdt(false), /^linux\.intelRdt: Intel RDT is not available: no resctrl filesystem is mounted/);
  t.throws(() => checkIntelRdt(true), /^linux\.intelRdt: Intel RDT \(resctrl\) is not supported by ocirun yet/);
});
