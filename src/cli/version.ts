// `ocirun --version`, in runc's layout: version, commit, spec, the language
// runtime, libseccomp. Engines read the first line (podman info shows it).
import { OCI_VERSION } from '../container/state.js';

export const OCIRUN_VERSION = '0.1.0';

// The build (scripts/build.mjs) replaces this with `git describe` of the
// checkout it built; a build from elsewhere says so.
declare const __OCIRUN_COMMIT__: string | undefined;
const COMMIT = typeof __OCIRUN_COMMIT__ === 'string' ? __OCIRUN_COMMIT__ : 'unknown';

/** The text of --version. libseccomp is loaded to ask its version (runc prints it too); its line is left out when it cannot be loaded. */
export async function versionText(): Promise<string> {
  const lines = [`ocirun version ${OCIRUN_VERSION}`, `commit: ${COMMIT}`, `spec: ${OCI_VERSION}`, `node: ${process.version}`];
  try {
    const { libseccompVersion } = await import('../sys/libseccomp.js');
    lines.push(`libseccomp: ${libseccompVersion()}`);
  } catch {
    // no libseccomp here: seccomp profiles are refused at create, as the features command says
  }
  return lines.join('\n');
}
