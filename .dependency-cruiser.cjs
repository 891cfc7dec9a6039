// The layers of src/: cli -> container -> linux -> sys, each importing only
// its own layer and the one directly below it (plus the config model in
// spec/, which is data and validation, and depends on nothing of ours).
// `npm run layers` checks it; CI runs it with the tests.
const layer = (name, below) => ({
  name: `${name}-imports-only-${below.join('-and-') || 'itself'}`,
  severity: 'error',
  comment: `src/${name}/ may import src/${name}/ and ${below.map((b) => `src/${b}/`).join(', ') || 'nothing else of ours'}, nothing else of ours`,
  from: { path: `^src/${name}/` },
  to: { path: '^src/', pathNot: [`^src/${name}/`, ...below.map((b) => `^src/${b}/`)] },
});

module.exports = {
  forbidden: [
    layer('cli', ['container', 'spec']),
    layer('container', ['linux', 'spec']),
    layer('linux', ['sys', 'spec']),
    layer('sys', []),
    layer('spec', []),
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
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^src/spec/generated/' },
  },
};
