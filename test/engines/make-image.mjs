#!/usr/bin/env node
// Build a busybox container image as one tar that every engine here loads
// without a registry: an OCI image layout (ctr import, podman load) that also
// carries Docker's manifest.json (docker load of Docker 20.10 reads only that).
// Three tags share one layer: `base` (root, /), `user` (an image user,
// working directory and environment, for the checks of image config) and
// `pause` (a pod sandbox for the CRI test).
// Usage: make-image.mjs OUT.tar   (needs busybox-static; run as root for ownership)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = resolve(process.argv[2] ?? '');
if (!process.argv[2]) { process.stderr.write('usage: make-image.mjs OUT.tar\n'); process.exit(2); }
const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGE = 'localhost/ocirun-test/busybox';

const work = mkdtempSync(join(tmpdir(), 'ocirun-image-'));
try {
  const rootfs = join(work, 'rootfs');
  execFileSync('bash', [join(top, 'bundles/build-rootfs.sh'), rootfs], { stdio: 'inherit' });
  // A second user for image-user and exec-as-user checks, with a home directory it owns.
  appendFileSync(join(rootfs, 'etc/passwd'), 'app:x:1000:1000:app:/home/app:/bin/sh\n');
  appendFileSync(join(rootfs, 'etc/group'), 'app:x:1000:\n');
  mkdirSync(join(rootfs, 'home/app'), { recursive: true });
  chownSync(join(rootfs, 'home/app'), 1000, 1000);
  mkdirSync(join(rootfs, 'data'));

  const layout = join(work, 'layout');
  const blobs = join(layout, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (data) => {
    const hex = createHash('sha256').update(data).digest('hex');
    writeFileSync(join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: data.length, path: `blobs/sha256/${hex}` };
  };
  // Reproducible layer: sorted names, fixed mtime, numeric owners as on disk.
  const layerTar = join(work, 'layer.tar');
  execFileSync('tar', ['--sort=name', '--mtime=@0', '--numeric-owner', '-C', rootfs, '-cf', layerTar, '.']);
  const layerData = readFileSync(layerTar);
  const layer = blob(layerData);
  const diffId = layer.digest; // uncompressed: the diff id is the blob's digest

  const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const variants = {
    base: { Env: [PATH], Cmd: ['sh'], WorkingDir: '/' },
    user: { Env: [PATH, 'GREETING=hello from the image'], Cmd: ['sh'], WorkingDir: '/home/app', User: 'app' },
    // A pod sandbox image for the CRI test: waits until it is told to stop.
    pause: { Env: [PATH], Entrypoint: ['sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 1; done'], WorkingDir: '/' },
  };
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
  const dockerManifest = [];
  for (const [tag, config] of Object.entries(variants)) {
    const cfg = blob(Buffer.from(JSON.stringify({
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'test/engines/make-image.mjs' }],
    })));
    const manifest = blob(Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg.digest, size: cfg.size },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
    })));
    const ref = `${IMAGE}:${tag}`;
    index.manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifest.digest, size: manifest.size,
      // containerd names an imported image from the first, podman from the second.
      annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': tag },
    });
    dockerManifest.push({ Config: cfg.path, RepoTags: [ref], Layers: [layer.path] });
  }
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
  writeFileSync(join(layout, 'manifest.json'), JSON.stringify(dockerManifest));
  execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-C', layout, '-cf', out, '.']);
  process.stdout.write(`${out}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
