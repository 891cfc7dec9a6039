// Finding the program to exec the way execvp(3) would, inside the container:
// the candidates are planned here, the native step takes the first that is
// an executable regular file (it alone can see the container's files).

/** The container env's PATH, or the default execvp uses. */
export function pathFromEnv(env: readonly string[]): string {
  const entry = env.findLast((e) => e.startsWith('PATH='));
  return entry === undefined ? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' : entry.slice(5);
}

/** execvp's candidates: a name with a slash as it is (relative to the cwd), else each PATH directory. */
export function candidatePaths(name: string, env: readonly string[]): string[] {
  if (name.includes('/')) return [name];
  return pathFromEnv(env).split(':').map((dir) => `${dir === '' ? '.' : dir}/${name}`);
}

/** runc's words for a program that cannot be found or run; `code` is the errno name. */
export function programError(name: string, code: string): string {
  if (!name.includes('/')) return `exec: "${name}": executable file not found in $PATH`;
  if (code === 'ENOENT' || code === 'ENOTDIR') return `exec: "${name}": stat ${name}: no such file or directory`;
  return `exec: "${name}": permission denied`;
}
