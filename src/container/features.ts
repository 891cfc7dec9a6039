// What this runtime supports on this host (the runtime-spec `features`
// document, and the library versions `--version` prints): the kernel's and
// libraries' answers (linux/features.ts), CRIU's, and the spec version we
// implement.
import type { Features } from '../config/types.js';
import { criuUsable } from '../criu/check.js';
import { hostFeatures, libseccompVersionIfPresent } from '../linux/features.js';
import { OCI_VERSION } from './state.js';

export function runtimeFeatures(): Features {
  return hostFeatures(OCI_VERSION, criuUsable());
}

/** The versions `--version` prints beside our own; libseccomp is null where it cannot be loaded. */
export function runtimeVersions(): { spec: string; libseccomp: string | null } {
  return { spec: OCI_VERSION, libseccomp: libseccompVersionIfPresent() };
}
