// Build everything `npm ci` must produce, in order:
//   1. native/libocirun.so  (the C step that runs between clone and exec)
//   2. src/spec/generated/  (ajv standalone validators from schemas/, so no
//      schema is compiled at run time)
//   3. dist/cli.js (bundled: startup is the hot path)
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const step = (what) => process.stderr.write(`build: ${what}\n`);

step('native/libocirun.so');
execFileSync('make', ['-s', '-C', join(top, 'native')], { stdio: 'inherit' });

if (existsSync(join(top, 'scripts/gen-validators.mjs'))) {
  step('validators');
  execFileSync(process.execPath, [join(top, 'scripts/gen-validators.mjs')], { stdio: 'inherit' });
}

step('dist/');
rmSync(join(top, 'dist'), { recursive: true, force: true });
const esbuild = await import('esbuild');
// `import … from 'node:fs'` in an ES module builds an ESM facade of every
// export, which loads fs streams (~4 ms a process). process.getBuiltinModule
// hands over the same module without it: bundle builtins that way.
const builtins = {
  name: 'builtins-via-getBuiltinModule',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'node-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (a) => ({ contents: `module.exports = process.getBuiltinModule(${JSON.stringify(a.path)});`, loader: 'js' }));
  },
};
const common = {
  plugins: [builtins],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minifySyntax: true,
  legalComments: 'none',
  // koffi finds its prebuilt .node file relative to its own package.
  external: ['koffi'],
  // yargs looks up its locale files through import.meta.url.
  banner: { js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);" },
  logLevel: 'warning',
};
// The CLI splits yargs (and anything else behind a dynamic import) into its own
// chunk, loaded only when the fast parser hands over to it.
await esbuild.build({ ...common, entryPoints: { cli: join(top, 'src/cli/main.ts') }, outdir: join(top, 'dist'), splitting: true, chunkNames: 'chunks/[name]-[hash]' });
