// containerd's CRI plugin with the README's config.toml (a runtime `ocirun`
// of type io.containerd.runc.v2 whose BinaryName is ocirun) and the README's
// RuntimeClass handler, driven as a kubelet would over the CRI gRPC API: a
// pod sandbox, a container in it, exec, a resource update, stop and removal.
// The daemon's whole state is in a temporary directory.
import t from 'tap';
import { readFileSync, writeFileSync, mkdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  ContainerState, type Decoded, type Field, Grpc, mapEntries, message, NamespaceMode, num, RUNTIME_SERVICE, str, sub, bytes,
} from './cri.js';
import {
  alive, busyboxImage, cgroupDirsNamed, cgroupFile, cgroupOf, Daemon, engineDir, IMAGE_BASE, missingTools, mountsUnder,
  processesMentioning, readmeSnippet, removeCgroupParent, removeDir, RUNTIME, sh, stateLeft, waitFor,
} from './lib.js';

const missing = missingTools(['containerd', 'ctr', 'containerd-shim-runc-v2']);
if (missing) {
  console.error(`\n!!!!!!!! containerd CRI engine tests NOT RUN: ${missing} !!!!!!!!\n`);
  t.fail(`containerd CRI engine tests cannot run: ${missing}`);
} else {
  main();
}

function main(): void {
  const dir = engineDir('cri');
  const sock = join(dir, 'containerd.sock');
  const runcRoot = join(dir, 'runc');
  const NS = 'k8s.io';
  const CGROUP_PARENT = `/ocirun-cri-${process.pid}`;
  // The RuntimeClass's handler is the name a pod asks for.
  const handler = /^handler: (\S+)$/m.exec(readmeSnippet('runtimeclass'))?.[1] ?? '';
  // Top-level settings first (TOML), then the README's snippet as it is, whose
  // last table is the runtime's options: the state root goes there too.
  writeFileSync(join(dir, 'config.toml'), [
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    readmeSnippet('containerd-config').trimEnd(),
    `  Root = "${runcRoot}"`,
    '[grpc]',
    `  address = "${sock}"`,
    '[ttrpc]',
    `  address = "${sock}.ttrpc"`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    '  sandbox_image = "localhost/ocirun-test/busybox:pause"',
    '  stream_server_port = "0"',
    // Root here lacks CAP_SYS_RESOURCE: the sandbox's oom_score_adj of -998
    // cannot be set (runc fails too); keep it no lower than containerd's own.
    '  restrict_oom_score_adj = true',
    '[plugins."io.containerd.grpc.v1.cri".cni]',
    `  bin_dir = "${dir}/cni/bin"`,
    `  conf_dir = "${dir}/cni/conf"`,
    '',
  ].join('\n').replace(/^version = 2\n/m, '').replace(/^/, 'version = 2\n'));
  const daemon = new Daemon('containerd', 'containerd', ['--config', join(dir, 'config.toml')], join(dir, 'containerd.log'));
  const ctr = (args: string[]) => sh('ctr', ['--address', sock, '-n', NS, ...args]);
  let grpc: Grpc | undefined;
  const rpc = (method: string, fields: Field[]): Promise<Decoded> => {
    grpc ??= new Grpc(sock);
    return grpc.call(`${RUNTIME_SERVICE}/${method}`, message(fields));
  };
  const ocirunState = (id: string) => {
    const r = sh(RUNTIME, ['--root', join(runcRoot, NS), 'state', id]);
    return r.code === 0 ? (JSON.parse(r.stdout) as { status: string; pid: number }) : null;
  };
  const ids: string[] = [];
  const logDir = join(dir, 'pod-logs');
  mkdirSync(logDir);

  const podConfig = message([
    [1, 'message', message([[1, 'string', 'ocirun-pod'], [2, 'string', `uid-${process.pid}`], [3, 'string', 'default']])],
    [3, 'string', logDir],
    [8, 'message', message([
      [1, 'string', CGROUP_PARENT],
      // Host network: the test has no CNI plugins, and needs none.
      [2, 'message', message([[1, 'message', message([[1, 'varint', NamespaceMode.NODE], [2, 'varint', NamespaceMode.CONTAINER]])]])],
    ])],
  ]);

  t.before(async () => {
    if (!(await waitFor(() => ctr(['version']).code === 0))) throw new Error(`containerd did not come up (log in ${dir}/containerd.log)`);
    const imported = ctr(['image', 'import', busyboxImage(dir)]);
    if (imported.code !== 0) throw new Error(`ctr image import: ${imported.stderr}`);
  });

  t.teardown(async () => {
    grpc?.close();
    if (daemon.running) {
      for (const id of ids) { ctr(['task', 'kill', '-s', 'SIGKILL', id]); ctr(['task', 'delete', '-f', id]); ctr(['container', 'rm', id]); }
      await daemon.stop();
    }
    removeDir(dir);
  });

  let podId = '';
  let ctrId = '';
  let podPid = 0;
  let pid = 0;

  t.test('RunPodSandbox with the RuntimeClass handler runs the sandbox through ocirun', async (t) => {
    t.equal(handler, 'ocirun', 'the README\'s RuntimeClass names the runtime of the README\'s config.toml');
    const version = await rpc('Version', [[1, 'string', 'v1']]);
    t.equal(str(version, 2), 'containerd', 'the CRI plugin answers');
    podId = str(await rpc('RunPodSandbox', [[1, 'message', podConfig], [2, 'string', handler]]), 1);
    ids.push(podId);
    t.match(podId, /^[0-9a-f]{64}$/, 'a sandbox id');
    const state = ocirunState(podId);
    t.equal(state?.status, 'running', `ocirun (BinaryName) runs the sandbox, its state under the options' Root`);
    podPid = state?.pid ?? 0;
    t.ok(alive(podPid), 'the sandbox process is alive');
    t.equal(cgroupOf(podPid, 'memory'), `${CGROUP_PARENT}/${podId}`, 'in the cgroup under the pod\'s cgroup_parent');
  });

  t.test('CreateContainer and StartContainer: in the pod, with its memory limit and environment', async (t) => {
    const config = message([
      [1, 'message', message([[1, 'string', 'app']])],
      [2, 'message', message([[1, 'string', IMAGE_BASE]])],
      [3, 'strings', ['sh', '-c']],
      [4, 'strings', ['echo "hello from $POD_GREETING"; trap "exit 7" TERM; while :; do sleep 0.1; done']],
      [6, 'message', message([[1, 'string', 'POD_GREETING'], [2, 'string', 'the pod']])],
      [11, 'string', 'app.log'],
      [15, 'message', message([[1, 'message', message([[4, 'varint', 64 << 20]])]])],
      ...mapEntries(9, { app: 'ocirun-test' }),
    ]);
    ctrId = str(await rpc('CreateContainer', [[1, 'string', podId], [2, 'message', config], [3, 'message', podConfig]]), 1);
    ids.push(ctrId);
    t.match(ctrId, /^[0-9a-f]{64}$/, 'a container id');
    await rpc('StartContainer', [[1, 'string', ctrId]]);
    const status = sub(await rpc('ContainerStatus', [[1, 'string', ctrId]]), 1);
    t.equal(num(status, 3), ContainerState.RUNNING, 'CRI reports it running');
    const state = ocirunState(ctrId);
    t.equal(state?.status, 'running', 'ocirun reports it running');
    pid = state?.pid ?? 0;
    t.ok(alive(pid), 'a live host pid');
    t.equal(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), String(64 << 20), 'its memory limit, from the host');
    t.equal(readlinkSync(`/proc/${pid}/ns/ipc`), readlinkSync(`/proc/${podPid}/ns/ipc`), 'it joined the pod\'s ipc namespace');
    t.equal(readlinkSync(`/proc/${pid}/ns/uts`), readlinkSync(`/proc/${podPid}/ns/uts`), 'and its uts namespace');
    t.equal(readlinkSync(`/proc/${pid}/ns/pid`), readlinkSync(`/proc/${podPid}/ns/pid`), 'and its pid namespace (the CRI default, POD)');
    t.equal(readlinkSync(`/proc/${pid}/ns/net`), readlinkSync('/proc/self/ns/net'), 'the host network (NODE), as the pod asked');
    t.ok(await waitFor(() => { try { return readFileSync(join(logDir, 'app.log'), 'utf8').includes('hello from the pod'); } catch { return false; } }),
      'its stdout reaches the CRI log file');
    t.match(readFileSync(join(logDir, 'app.log'), 'utf8'), /^\S+ stdout F hello from the pod$/m, 'in the CRI log format');
  });

  t.test('ExecSync: output, exit code', async (t) => {
    const r = await rpc('ExecSync', [[1, 'string', ctrId], [2, 'strings', ['sh', '-c', 'echo "out $POD_GREETING"; echo err >&2; exit 3']], [3, 'varint', 30]]);
    t.equal(bytes(r, 1).toString(), 'out the pod\n', 'stdout');
    t.equal(bytes(r, 2).toString(), 'err\n', 'stderr');
    t.equal(num(r, 3), 3, 'exit code');
  });

  t.test('UpdateContainerResources reaches the cgroup (ocirun update)', async (t) => {
    await rpc('UpdateContainerResources', [[1, 'string', ctrId], [2, 'message', message([[4, 'varint', 128 << 20]])]]);
    t.equal(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), String(128 << 20), 'the new limit, from the host');
  });

  t.test('StopContainer (SIGTERM, exit code), RemoveContainer, StopPodSandbox, RemovePodSandbox', async (t) => {
    await rpc('StopContainer', [[1, 'string', ctrId], [2, 'varint', 10]]);
    const status = sub(await rpc('ContainerStatus', [[1, 'string', ctrId]]), 1);
    t.equal(num(status, 3), ContainerState.EXITED, 'exited');
    t.equal(num(status, 7), 7, 'with the exit code the trap chose');
    t.notOk(alive(pid), 'the process is gone');
    await rpc('RemoveContainer', [[1, 'string', ctrId]]);
    t.equal(ocirunState(ctrId), null, 'ocirun no longer knows the container');
    await rpc('StopPodSandbox', [[1, 'string', podId]]);
    t.ok(await waitFor(() => !alive(podPid)), 'the sandbox process is gone');
    await rpc('RemovePodSandbox', [[1, 'string', podId]]);
    t.equal(ocirunState(podId), null, 'ocirun no longer knows the sandbox');
  });

  t.test('stopping containerd leaves nothing behind', async (t) => {
    grpc?.close();
    grpc = undefined;
    t.equal(ctr(['task', 'ls', '-q']).stdout.trim(), '', 'no task is left in containerd');
    t.ok(await daemon.stop(), 'containerd stopped');
    await waitFor(() => processesMentioning([dir]).length === 0, 5000);
    t.same(stateLeft(join(runcRoot, NS), ids), [], 'no ocirun state');
    t.same(processesMentioning([dir, ...ids]), [], 'no process (shim, ocirun, container)');
    t.same(mountsUnder(dir), [], 'no mount');
    t.same(cgroupDirsNamed(ids), [], 'no container cgroup');
    t.same(removeCgroupParent(CGROUP_PARENT), [], "the pod's parent cgroup is empty (and removed)");
  });
}
