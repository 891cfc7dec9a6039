// `ocirun --version`, in runc's layout: version, commit, spec, the language
// runtime, libseccomp. Engines read the first line (podman info shows it).

export const OCIRUN_VERSION = '0.1.0';

// The build (scripts/build.mjs) replaces this with `git describe` of the
// checkout it built; a build from elsewhere says so.
declare const __OCIRUN_COMMIT__: string | undefined;
const COMMIT = typeof __OCIRUN_COMMIT__ === 'string' ? __OCIRUN_COMMIT__ : 'unknown';

/** The text of --version. libseccomp is loaded to ask its version (runc prints it too); its line is left out when it cannot be loaded. */
export async function versionText(): Promise<string> {
  const { runtimeVersions } = await import('../container/features.js');
  const { spec, libseccomp } = runtimeVersions();
  const lines = [`ocirun version ${OCIRUN_VERSION}`, `commit: ${COMMIT}`, `spec: ${spec}`, `node: ${process.version}`];
  // No libseccomp here: seccomp profiles are refused at create, as the features command says.
  if (libseccomp !== null) lines.push(`libseccomp: ${libseccomp}`);
  return lines.join('\n');
}
