#!/usr/bin/env node
// Packaging: what an install needs when there is no checkout and no compiler.
//
//   node scripts/pack.mjs prebuilt
//       native/prebuilt/linux-{x64,arm64}/libocirun.so: the native library for
//       both architectures (the other one cross-compiled: Debian's
//       gcc-aarch64-linux-gnu or gcc-x86-64-linux-gnu). `npm pack` runs this
//       (prepack), so the npm package carries both and installs without cc.
//
//   node scripts/pack.mjs archive [--arch x64|arm64] [--out DIR]
//       ocirun-<version>-linux-<arch>.tar.gz: the pinned Node, the bundle
//       (dist/), the native library and koffi's binary for that architecture,
//       laid out as an install is, so bin/ocirun runs from wherever it is
//       unpacked. Needs `npm run build` first. The other architecture's Node and
//       koffi come from the registry through `npm pack`, checked against
//       package-lock.json's integrity.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(top, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(top, 'package-lock.json'), 'utf8'));
const say = (what) => process.stderr.write(`pack: ${what}\n`);

/** The architectures we ship, with the GNU triple of their cross compiler and their ELF e_machine. */
const ARCHES = {
  x64: { triple: 'x86_64-linux-gnu', machine: 62 },
  arm64: { triple: 'aarch64-linux-gnu', machine: 183 },
};

function die(msg) {
  process.stderr.write(`pack: ${msg}\n`);
  process.exit(1);
}

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function elfMachine(file) {
  const head = readFileSync(file).subarray(0, 20);
  if (head.readUInt32BE(0) !== 0x7f454c46) die(`${file} is not an ELF file`);
  return head.readUInt16LE(18);
}

function haveCommand(cmd) {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; }
}

/** native/prebuilt/linux-<arch>/libocirun.so for one architecture, with native/Makefile's flags. */
function buildNative(arch) {
  const { triple, machine } = ARCHES[arch];
  const cc = arch === process.arch && !haveCommand(`${triple}-gcc`) ? 'cc' : `${triple}-gcc`;
  if (!haveCommand(cc)) die(`no compiler for linux-${arch}: install gcc-${triple.replace(/_/g, '-').replace('-linux-gnu', '')}-linux-gnu (looked for ${cc})`);
  const work = mkdtempSync(join(tmpdir(), `ocirun-native-${arch}-`));
  try {
    // The Makefile's own rule on a copy of the sources (build products left
    // behind), so the host's native/libocirun.so is neither used nor touched.
    cpSync(join(top, 'native'), work, { recursive: true, filter: (src) => !/\.(so|o)$/.test(src) && !/\/(plantest|prebuilt)$/.test(src) });
    execFileSync('make', ['-s', '-B', '-C', work, `CC=${cc}`, 'libocirun.so'], { stdio: 'inherit' });
    const built = join(work, 'libocirun.so');
    if (elfMachine(built) !== machine) die(`${cc} built ${built} for ELF machine ${elfMachine(built)}, not linux-${arch}`);
    const dest = join(top, 'native/prebuilt', `linux-${arch}`, 'libocirun.so');
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(built, dest);
    say(`${dest} (${cc})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A dependency's package directory for an architecture: ours when it is the host's, else fetched and verified. */
function packageFor(name) {
  const local = join(top, 'node_modules', name);
  if (existsSync(join(local, 'package.json'))) return local;
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry) die(`${name} is not in package-lock.json`);
  const cache = join(top, 'build/pack-cache');
  mkdirSync(cache, { recursive: true });
  const file = join(cache, `${name.replace('@', '').replace('/', '-')}-${entry.version}.tgz`);
  if (!existsSync(file)) {
    say(`fetching ${name}@${entry.version}`);
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', cache, `${name}@${entry.version}`], { encoding: 'utf8' }).trim().split('\n').pop();
    if (join(cache, out) !== file) execFileSync('mv', [join(cache, out), file]);
  }
  const [algo, want] = entry.integrity.split('-');
  const got = createHash(algo).update(readFileSync(file)).digest('base64');
  if (got !== want) die(`${file}: integrity ${algo}-${got} is not package-lock.json's ${entry.integrity}`);
  const dir = join(cache, `${name.replace('@', '').replace('/', '-')}-${entry.version}`);
  if (!existsSync(join(dir, 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', file, '-C', dir, '--strip-components=1']);
  }
  return dir;
}

function archive(arch) {
  if (!ARCHES[arch]) die(`unsupported architecture ${arch} (linux-x64, linux-arm64)`);
  const outDir = resolve(option('out', join(top, 'build')));
  const name = `ocirun-${pkg.version}-linux-${arch}`;
  if (!existsSync(join(top, 'dist')) || readdirSync(join(top, 'dist')).length === 0) die('dist/ is not built: run "npm run build" first');
  const so = join(top, 'native/prebuilt', `linux-${arch}`, 'libocirun.so');
  if (!existsSync(so)) buildNative(arch);
  const stage = mkdtempSync(join(tmpdir(), 'ocirun-archive-'));
  const root = join(stage, name);
  try {
    // The layout of an install, so that bin/ocirun and the code that finds
    // native/ and koffi work unchanged; and nothing else.
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(join(top, 'bin/ocirun'), join(root, 'bin/ocirun'));
    chmodSync(join(root, 'bin/ocirun'), 0o755);
    cpSync(join(top, 'dist'), join(root, 'dist'), { recursive: true });
    mkdirSync(join(root, 'native'));
    copyFileSync(so, join(root, 'native/libocirun.so'));
    writeFileSync(join(root, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: pkg.type, license: pkg.license }, null, 2)}\n`);
    const node = packageFor(`node-linux-${arch}`);
    const nodeDest = join(root, 'node_modules', `node-linux-${arch}`);
    mkdirSync(join(nodeDest, 'bin'), { recursive: true });
    copyFileSync(join(node, 'bin/node'), join(nodeDest, 'bin/node'));
    chmodSync(join(nodeDest, 'bin/node'), 0o755);
    copyFileSync(join(node, 'LICENSE'), join(nodeDest, 'LICENSE'));
    const koffi = packageFor(`@koromix/koffi-linux-${arch}`);
    const koffiDest = join(root, 'node_modules/@koromix', `koffi-linux-${arch}`);
    mkdirSync(join(koffiDest, `linux_${arch}`), { recursive: true });
    copyFileSync(join(koffi, 'package.json'), join(koffiDest, 'package.json'));
    copyFileSync(join(koffi, `linux_${arch}`, 'koffi.node'), join(koffiDest, `linux_${arch}`, 'koffi.node'));
    for (const f of [join(nodeDest, 'bin/node'), join(koffiDest, `linux_${arch}`, 'koffi.node'), join(root, 'native/libocirun.so')]) {
      if (elfMachine(f) !== ARCHES[arch].machine) die(`${f} is not a linux-${arch} binary`);
    }
    for (const f of readdirSync(top).filter((f) => /^(README|LICENSE)/.test(f))) copyFileSync(join(top, f), join(root, f));
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, `${name}.tar.gz`);
    execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', stage, '-czf', out, name]);
    say(out);
    process.stdout.write(`${out}\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

const command = process.argv[2];
if (command === 'prebuilt') {
  for (const arch of Object.keys(ARCHES)) buildNative(arch);
} else if (command === 'archive') {
  archive(option('arch', process.arch));
} else {
  die('usage: pack.mjs prebuilt | archive [--arch x64|arm64] [--out DIR]');
}
