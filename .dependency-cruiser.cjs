// The layers of src/, each importing only itself and the layer directly
// below it:
//
//   cli  ->  container  ->  linux  ->  sys
//                     \->  criu  --^------^
//
// cli/ parses the command line and prints; container/ is the lifecycle (the
// state store, the status machine, the operations); linux/ holds the kernel
// mechanisms, one facility a module; sys/ is the typed syscall layer, the
// only place that talks to koffi. criu/ drives the CRIU tool: a mechanism
// beside linux/, used by container/ for checkpoint and restore, built on
// linux/'s planners and sys/'s sockets; linux/ does not know it.
// Shared by every layer, importing nothing of ours: config/ (the OCI config
// model: types, loading, validation), trace.ts (debug and warning output)
// and install/ (where ocirun is installed).
// `npm run layers` checks it; `npm test` runs it first.
const SHARED = ['^src/config/', '^src/trace\\.ts$', '^src/install/'];

const layer = (name, below) => ({
  name: `${name}-imports-only-${below.join('-and-') || 'itself'}`,
  severity: 'error',
  comment: `src/${name}/ may import src/${name}/, ${below.map((b) => `src/${b}/`).join(', ') || 'nothing below'} and the shared modules, nothing else of ours`,
  from: { path: `^src/${name}/` },
  to: { path: '^src/', pathNot: [`^src/${name}/`, ...below.map((b) => `^src/${b}/`), ...SHARED] },
});

module.exports = {
  forbidden: [
    layer('cli', ['container']),
    layer('container', ['linux', 'criu']),
    layer('criu', ['linux', 'sys']),
    layer('linux', ['sys']),
    layer('sys', []),
    {
      name: 'shared-imports-nothing-of-ours',
      severity: 'error',
      comment: 'config/, trace.ts and install/ are used by every layer, so they import none of them',
      from: { path: SHARED },
      to: { path: '^src/', pathNot: SHARED },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'a module cycle makes the layers meaningless',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'koffi-only-in-sys',
      severity: 'error',
      comment: 'only src/sys/ talks to koffi',
      from: { path: '^src/', pathNot: '^src/sys/' },
      to: { path: 'node_modules/koffi' },
    },
    {
      name: 'no-unknown-module',
      severity: 'error',
      comment: 'every module of ours belongs to a layer (add a new top-level folder to the rules above)',
      from: { path: '^src/', pathNot: ['^src/(cli|container|criu|linux|sys)/', ...SHARED] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^src/config/generated/' },
  },
};
