'use strict';
// dist/cli.cjs, the entry (copied here by scripts/build.mjs). Small, so that it
// needs no cache itself; it sets up the code cache of the bundles, loads the
// one the command line names (hot.cjs for the commands engines call for every
// container, launch.cjs for create, run and exec, else the whole CLI) and
// exits, in this one place, with the status main() returns.
//
// The code cache: Node's own (module.enableCompileCache) is made right after
// a file is compiled, before it runs, so it holds only the code V8 compiles
// eagerly (the top level); every command then parsed and compiled each
// function it called, each time (measured: ~100 functions of hot.cjs for a
// `kill`, most of them fully parsed). So the bundles of dist/ are compiled
// here, through vm.Script, with a cache made *after* the command ran (V8 then
// includes every function compiled so far), one per bundle and command, in a
// directory of our own per Node version and user (an install we may not
// write falls back to the user's own cache directory, never a shared one).
// V8 checks a cache against its own version, flags and the source's length;
// the file's name carries the bundle's size and mtime, so a rebuild starts
// afresh. node:module is not loaded for this: it pulls in the ES module
// loader, ~0.9 ms of every command (Node's builtins compile without their
// cache under bin/ocirun's --no-rehash-snapshot); `module.constructor` is
// the CommonJS loader it would give us.
const p = require('node:path'), fs = require('node:fs');
// bin/ocirun's NODE_COMPILE_CACHE is this process's: what it starts (a hook, a
// re-executed ocirun under other flags) does not read or write it.
delete process.env.NODE_COMPILE_CACHE;
const Module = module.constructor;
/** Whether path exists, belongs to our effective user and no one else may write it. */
const ownedByUs = (function ownedByUs(path) {
  try {
    const st = fs.statSync(path);
    return st.uid === process.geteuid() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
});
/** dir/<node version>-<arch>-<uid> when it is ours alone, made the first time; else undefined. One stat a command. */
const cacheIn = (function cacheIn(dir) {
  const own = p.join(dir, `${process.version}-${process.arch}-${process.geteuid()}`);
  if (ownedByUs(own)) return own;
  try { fs.mkdirSync(own, { recursive: true, mode: 0o700 }); } catch { return undefined; }
  return ownedByUs(own) ? own : undefined;
});
let cacheDir;
try {
  const e = process.env;
  if (!e.NODE_DISABLE_COMPILE_CACHE) {
    cacheDir = cacheIn(p.join(__dirname, '..', 'node_modules', '.cache', 'ocirun-v8'));
    const home = e.XDG_CACHE_HOME || (e.HOME && e.HOME !== '/' ? p.join(e.HOME, '.cache') : '');
    // Only a cache directory of our own: cached code is code we run (root under `sudo -E` keeps the user's HOME).
    if (!cacheDir && home && ownedByUs(home)) cacheDir = cacheIn(p.join(home, 'ocirun-v8'));
  }
} catch {}
const argv = process.argv.slice(2);
const COMMANDS = new Set(['checkpoint', 'create', 'delete', 'events', 'exec', 'features', 'kill', 'list', 'pause', 'plan', 'ps', 'restore', 'resume', 'run', 'spec', 'start', 'state', 'update']);
const command = argv.find((function (a) { return COMMANDS.has(a); })) ?? 'other';
const hot = command === 'state' || command === 'start' || command === 'kill' || command === 'delete' || command === 'list';
const launch = command === 'create' || command === 'run' || command === 'exec';
const bundleName = hot ? 'hot.cjs' : launch ? 'launch.cjs' : 'ocirun.cjs';
// V8 refuses a cache made under other flags: a run that kept the snapshot's
// hash seed (bin/ocirun's --no-rehash-snapshot) and one that drew its own
// (re-executed for a large input by src/cli/seedguard.ts, or dist/cli.cjs
// run directly) each keep their own file, so neither throws the other's away.
// bin/ocirun's --no-minor-gc-task and run's --min-semi-space-size are flags
// V8 checks too: a run without them (dist/cli.cjs run directly) keeps its own
// file as well, and so do its compiler flags (--no-turbofan for every
// command, --no-sparkplug for those that start a container's process).
const flags = (process.execArgv.includes('--no-rehash-snapshot') ? 'fixedseed' : 'rehashed') +
  (process.execArgv.includes('--no-minor-gc-task') ? '' : '-gctask') +
  (process.execArgv.includes('--no-turbofan') ? '' : '-turbofan') +
  (process.execArgv.includes('--no-sparkplug') ? '-nosparkplug' : '') +
  (process.execArgv.some((function (a) { return a.startsWith('--min-semi-space-size'); })) ? '-young' : '');

// A bundle asks for node:fs or node:path once in each of its modules (55
// times for launch.cjs): through the CommonJS loader that is ~9 us a call,
// through process.getBuiltinModule (the same objects) under 1 us.
const builtins = new Map();
const bundleRequire = (function bundleRequire(real) {
  if (typeof process.getBuiltinModule !== 'function') return real;
  return Object.assign((function (id) {
    // node: ids first: nearly every call is one, and the regular expression
    // below is compiled on its first use (~0.1 ms a command when it came first).
    if (typeof id === 'string' && id.startsWith('node:')) {
      let mod = builtins.get(id);
      if (mod === undefined) builtins.set(id, (mod = process.getBuiltinModule(id)));
      return mod;
    }
    if (typeof id === 'string' && /^\.\/[a-z]+\.cjs$/.test(id)) return loadBundle(id.slice(2));
    return real(id);
  }), { resolve: real.resolve, cache: real.cache, main: real.main });
});
// How a bundle is compiled with a cache and run. node:vm costs ~0.45 ms to
// load (compiled from source under --no-rehash-snapshot, like every built-in
// loaded after startup), and vm.Script is a thin layer over the contextify
// binding's ContextifyScript, which is already loaded. Its arguments are
// internal to Node, so it is used only under the Node that package.json pins
// (build.mjs writes its version below, test/integration/codecache.test.ts
// checks both paths), and not where process.binding would print a warning.
const PINNED_NODE = '__OCIRUN_PINNED_NODE__';
const scriptCompiler = (function scriptCompiler() {
  const e = process.env;
  if (process.version === `v${PINNED_NODE}` && !e.NODE_PENDING_DEPRECATION && !process.execArgv.includes('--pending-deprecation') && !e._OCIRUN_VM) {
    try {
      const { ContextifyScript } = process.binding('contextify');
      if (typeof ContextifyScript === 'function') {
        return {
          // (code, filename, line and column offsets, cache, produce no cache now, no parsing context, the id of
          // its host options: a symbol of its own, as vm.Script gives a script with no import() callback).
          compile: (function (code, filename, cachedData) { return new ContextifyScript(code, filename, 0, 0, cachedData, false, undefined, Symbol(filename)); }),
          // (this context, no timeout, display errors, no break on SIGINT, no break on the first line)
          run: (function (script) { return script.runInContext(null, -1, true, false, false); }),
        };
      }
    } catch {}
  }
  const vm = require('node:vm');
  return {
    compile: (code, filename, cachedData) => new vm.Script(code, { filename, cachedData }),
    run: (script) => script.runInThisContext({ displayErrors: true }),
  };
});
// A cache file holds two bytes of ours, then V8's data: a mark, and how many
// runs have made it. The first CACHE_RUNS successful runs each make it
// again (V8 then writes what the cache held and what the run compiled
// besides), so that it holds the paths of several runs, not of the first
// alone: a cache a test's `run` made, with no rlimits, devices or seccomp in
// its config, left their checks to be compiled on every later `run`
// (~2 ms each, measured interleaved). Then it is only read.
const CACHE_MARK = 0x4f;
const CACHE_RUNS = 4;
let writeCaches = (_code) => false;
if (cacheDir) {
  const scripts = scriptCompiler();
  const fresh = [];
  const compile = Module.prototype._compile;
  Module.prototype._compile = (function (content, filename, ...rest) {
    if (p.dirname(filename) !== __dirname) return compile.call(this, content, filename, ...rest);
    const st = fs.statSync(filename);
    const file = p.join(cacheDir, `${p.basename(filename)}-${command}-${flags}-${st.size}-${Math.trunc(st.mtimeMs)}`);
    let cachedData;
    let runs = 0;
    try {
      const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        const own = fs.fstatSync(fd);
        // A cache file someone else wrote (or could have) is not used: it would run as our code.
        if (own.uid === process.geteuid() && (own.mode & 0o022) === 0) {
          const raw = fs.readFileSync(fd);
          if (raw.length > 2 && raw[0] === CACHE_MARK) {
            cachedData = raw.subarray(2);
            runs = raw[1];
          }
        }
      } finally { fs.closeSync(fd); }
    } catch {}
    // The bundles make no import() (build.mjs turns it into require()).
    const script = scripts.compile(Module.wrap(content), filename, cachedData);
    if (cachedData === undefined || script.cachedDataRejected) fresh.push({ script, file, runs: 0 });
    else if (runs < CACHE_RUNS) fresh.push({ script, file, runs });
    const wrapper = scripts.run(script);
    const require = bundleRequire(Module.createRequire(filename));
    return wrapper.call(this.exports, this.exports, require, this, filename, p.dirname(filename));
  });
  // At exit, whatever the path to it: the caches this run had to make, with
  // all it compiled. A cache is made by the first few runs and then used
  // until a rebuild, so only a run that did the command's work makes one: one that failed (a
  // missing container, a bad config) or where the bundle only handed the
  // command line on to the whole CLI (--help) would leave out most of what
  // the command compiles (measured: creates ~10-16 ms slower after a first
  // `create --help`); the next successful run makes it instead.
  writeCaches = (function (code) {
    const made = fresh.splice(0);
    if (code !== 0 || made.length === 0) return false;
    const handedOn = bundleName !== 'ocirun.cjs' && Module._cache[p.join(__dirname, 'ocirun.cjs')] !== undefined;
    for (const { script, file, runs } of made) {
      if (handedOn && p.basename(file).startsWith(`${bundleName}-`)) continue;
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        const fd = fs.openSync(tmp, 'w', 0o600);
        try {
          fs.writeSync(fd, Buffer.from([CACHE_MARK, runs + 1]));
          fs.writeSync(fd, script.createCachedData());
        } finally { fs.closeSync(fd); }
        fs.renameSync(tmp, file);
      } catch {
        try { fs.unlinkSync(tmp); } catch {}
        continue;
      }
      // The same bundle, command and flags of an earlier build: never read again.
      const name = p.basename(file);
      const stem = name.replace(/-\d+-\d+$/, '-');
      try {
        for (const old of fs.readdirSync(cacheDir)) {
          if (old !== name && old.startsWith(stem) && /^\d+-\d+$/.test(old.slice(stem.length))) fs.unlinkSync(p.join(cacheDir, old));
        }
      } catch {}
    }
    return true;
  });
  process.on('exit', writeCaches);
}

// One of dist/'s bundles, loaded here rather than by require(): Node's loader
// would look for the file and its package.json scope (we know both) and
// decode it as UTF-8; build.mjs keeps the bundles ASCII, which latin1 reads
// as the same string without decoding (~0.2 ms for launch.cjs).
const loadBundle = (function loadBundle(name) {
  const filename = p.join(__dirname, name);
  const known = Module._cache[filename];
  if (known) return known.exports;
  const mod = new Module(filename, module);
  mod.filename = filename;
  Module._cache[filename] = mod;
  try {
    mod._compile(fs.readFileSync(filename, 'latin1'), filename);
  } catch (err) {
    delete Module._cache[filename];
    throw err;
  }
  mod.loaded = true;
  return mod.exports;
});

const bundle = loadBundle(bundleName);
// The bundles that compile seccomp filters keep them beside our code caches.
if (cacheDir && typeof bundle.useCacheDir === 'function') bundle.useCacheDir(cacheDir);
// The end: the caches first (also on any other path to exit), then the
// bundle ends the process without Node's exit when nothing needs it (~1 ms,
// src/linux/selfexit.ts); else, and for the whole CLI, process.exit.
bundle.main(argv).then(
  (function (code) {
    // A run that made our caches ends through Node's exit, which writes its
    // compile cache (bin/ocirun's NODE_COMPILE_CACHE: this file's) as well.
    process.removeListener('exit', writeCaches);
    // Asked before our caches are made, so that they hold what it runs.
    const direct = bundle.canExitNow?.() === true;
    const made = writeCaches(code);
    if (direct && !made) bundle.exitNow(code);
    process.exit(code);
  }),
  (err) => {
    fs.writeSync(2, `ocirun: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
