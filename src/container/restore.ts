// `restore`: a new container from a bundle whose processes come from a CRIU
// image, as runc does it. The container gets its state and cgroups as
// create gives them; CRIU (our child, in the container's cgroups) rebuilds
// the process tree as our child (rst_sibling), with the rootfs bind-mounted
// where CRIU wants a root, the external mounts mapped back to their host
// sources, pipes on stdio reconnected to ours, and a restored terminal's new
// pty master sent to the console socket. Foreground (no --detach): wait for
// it like `run`, then delete it. Any failure leaves nothing behind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { becomeSubreaper, killChild, reapChild } from '../linux/children.js';
import { closeFd } from '../linux/runtimefds.js';
import { bindRoot, makeCriuRootDir, makeMountpoints, openNamespaceFd, removeCriuRoot, sendPtyMaster } from '../criu/restoreroot.js';
import type { Spec } from '../config/types.js';
import { readBundleConfig } from '../config/read.js';
import { HASH_INPUT_LIMIT, tooBigForFixedSeed } from '../config/hashlimit.js';
import { planNamespaces } from '../linux/namespaces.js';
import { readProcStat } from '../linux/procfs.js';
import type { CgroupManager } from '../linux/cgroups/manager.js';
import { cgroupV1Mounts, restorePlan } from '../criu/plan.js';
import type { CgMode, CriuOpts } from '../criu/schema.js';
import { extraFdNumber } from '../criu/swrk.js';
import {
  cgroupFacts, cgroupRoots, configFile, criuFailure, DESCRIPTORS_FILE, imagePathOf, isDir, logPathIn, makeDir, openDir, requireFeature, startCriu,
} from '../criu/common.js';
import { hookStateJson, type StoredState } from './state.js';
import { newStateRecord } from './record.js';
import { type DirLock, type Store, validateId, writePidFile } from './store.js';
import { trace } from '../trace.js';
import { checkConsoleSocket } from '../linux/terminal.js';

export interface RestoreRequest {
  id: string;
  bundle: string;
  criu: string | undefined;
  imagePath: string | undefined;
  workPath: string | undefined;
  tcpEstablished: boolean;
  extUnixSk: boolean;
  shellJob: boolean;
  fileLocks: boolean;
  autoDedup: boolean;
  lazyPages: boolean;
  cgroupsMode: CgMode | undefined;
  emptyNs: number;
  detach: boolean;
  pidFile: string | undefined;
  consoleSocket: string | undefined;
  noSubreaper: boolean;
  /** --systemd-cgroup: cgroupsPath is slice:prefix:name, and the cgroup is a transient unit (engines restore as they created) */
  systemdCgroup: boolean;
  lsmProfile: string | undefined;
  lsmMountContext: string | undefined;
}

/** What the image recorded about the stdio of the dumped process. */
function readDescriptors(imagePath: string): string[] {
  const file = join(imagePath, DESCRIPTORS_FILE);
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return []; }
  // Measured at start-up (cli/seedguard.ts); larger now only if it was replaced meanwhile.
  if (tooBigForFixedSeed(text.length)) throw new Error(`${file}: grew past ${HASH_INPUT_LIMIT / 1024} KiB while ocirun ran; run the command again`);
  try {
    const list = JSON.parse(text) as unknown;
    return Array.isArray(list) ? list.map(String) : [];
  } catch {
    return [];
  }
}

export async function restoreContainer(store: Store, req: RestoreRequest): Promise<number> {
  validateId(req.id);
  const imagePath = imagePathOf(req.imagePath);
  if (!isDir(imagePath)) throw new Error(`--image-path ${imagePath}: no such directory (nothing to restore)`);
  const read = readBundleConfig(req.bundle);
  const [{ checkBundleConfig }, cgroupLib, { runHooks }] = await Promise.all([
    import('../config/load.js'),
    import('../linux/cgroups/lifecycle.js'),
    import('../linux/hooks.js'),
  ]);
  const loaded = checkBundleConfig(read);
  const spec: Spec = loaded.spec;
  const terminal = spec.process?.terminal === true;
  checkConsoleSocket(terminal, Boolean(req.consoleSocket), req.detach);
  if (terminal && !req.consoleSocket) throw new Error('process.terminal: restoring a terminal container needs --console-socket (restore does not attach to its own terminal)');
  const namespaces = planNamespaces(spec.linux);
  const plan = restorePlan(spec, loaded.bundle, isDir);
  const workPath = req.workPath ?? imagePath;
  if (req.workPath) makeDir(workPath, '--work-path');

  if (!req.detach && !req.noSubreaper) {
    // Orphans of the restored tree come to us, not to init, and we reap them.
    becomeSubreaper();
  }

  const { openCgroups, cgroupRecordFor, applyConfigResources, killAndRemoveCgroups } = cgroupLib;
  // A restore that dies part-way leaves a record that resolves as create's does (it names its creator).
  const state: StoredState = newStateRecord({
    id: req.id, bundle: loaded.bundle, rootfs: loaded.rootfs, spec, namespaces, seccomp: null, cgroup: cgroupRecordFor(spec, req.id, { systemd: req.systemdCgroup }),
  });
  // The id appears with this record in it, locked by us until we return (as create holds it).
  const lock: DirLock = store.claim(state);
  let cgroups: CgroupManager | null = null;
  const fds: number[] = [];
  // Not under the state directory: a delete after a crash removes that
  // recursively, and would walk through a bind left mounted into the rootfs.
  let criuRoot = '';
  let rootMounted = false;
  let failed = false;
  let restoredPid = 0;
  let session: Awaited<ReturnType<typeof startCriu>>['session'] | null = null;
  try {
    if (state.cgroup) {
      cgroups = openCgroups(state.cgroup);
      cgroups.create();
      store.write(state); // with the directories made, for a delete after a crash
    }
    // The seccomp filter is restored by CRIU with the process; exec applies the config's to new processes.
    if (spec.linux?.seccomp) {
      const { planSeccomp } = await import('../linux/seccomp.js');
      state.seccomp = planSeccomp(spec.linux.seccomp, spec.process?.noNewPrivileges ?? false).filter;
    }

    // CRIU wants its root to be a mount point whose parent is not overmounted: a bind of the rootfs.
    criuRoot = makeCriuRootDir();
    bindRoot(loaded.rootfs, criuRoot);
    rootMounted = true;
    makeMountpoints(criuRoot, plan.mountpoints);

    // Namespaces joined by path that CRIU takes as open fds (its fds 4, 5, …).
    const extra: number[] = [];
    for (const ns of plan.inheritNs) extra.push(openNamespaceFd(ns.path));
    fds.push(...extra);
    const started = startCriu(req.criu, { stdio: [0, 1, 2], extraFds: extra });
    session = started.session;
    const criu = started.criu;
    // CRIU goes into the container's cgroups first: the restored tasks are placed where it is.
    if (cgroups) {
      (cgroups as CgroupManager).apply(session.pid);
      applyConfigResources(cgroups, spec);
    }
    const imagesFd = openDir(imagePath, '--image-path');
    fds.push(imagesFd);
    const workFd = openDir(workPath, '--work-path');
    fds.push(workFd);
    const opts: CriuOpts = {
      images_dir_fd: imagesFd,
      work_dir_fd: workFd,
      evasive_devices: true,
      log_level: 4,
      log_file: 'restore.log',
      rst_sibling: true,
      root: criuRoot,
      manage_cgroups: true,
      notify_scripts: true,
      shell_job: req.shellJob,
      ext_unix_sk: req.extUnixSk,
      tcp_established: req.tcpEstablished,
      file_locks: req.fileLocks,
      empty_ns: req.emptyNs,
      orphan_pts_master: true,
      auto_dedup: req.autoDedup,
      lazy_pages: req.lazyPages,
      ext_mnt: plan.ext_mnt,
      join_ns: plan.join_ns,
      inherit_fd: plan.inheritNs.map((ns, i) => ({ key: ns.key, fd: extraFdNumber(i) })),
    };
    const config = configFile(spec.annotations);
    if (config) opts.config_file = config;
    if (req.lsmProfile) opts.lsm_profile = req.lsmProfile;
    if (req.lsmMountContext) opts.lsm_mount_context = req.lsmMountContext;
    if (req.cgroupsMode) opts.manage_cgroups_mode = req.cgroupsMode;
    if (cgroups) opts.cg_root = cgroupRoots(session.pid);
    // cgroup v1 binds: the names the dump recorded, bound from the new container's directories (CRIU's own, now).
    const facts = cgroupFacts(session.pid);
    for (const b of cgroupV1Mounts(spec, facts.cgroupLines, facts.mountinfo)) {
      opts.ext_mnt?.push({ key: b.destination, val: b.source });
    }
    // The pages come from `criu lazy-pages` over lazy-pages.socket in the work directory.
    if (req.lazyPages) requireFeature(session, 'lazy_pages', '--lazy-pages', 'lazy pages (userfaultfd)');
    // Pipes the dumped process had on stdio are ours now, as runc hands them over.
    readDescriptors(imagePath).forEach((d, fd) => {
      if (d.includes('pipe:')) opts.inherit_fd?.push({ key: d, fd });
    });

    const resp = session.request({ type: 'RESTORE', opts }, (script, pid, got) => {
      trace(`criu notify: ${script} ${pid}`);
      if (script === 'setup-namespaces') {
        const json = hookStateJson(state, 'creating', pid);
        runHooks('prestart', spec.hooks?.prestart, json);
        runHooks('createRuntime', spec.hooks?.createRuntime, json);
      } else if (script === 'post-restore') {
        restoredPid = pid;
      } else if (script === 'orphan-pts-master') {
        const master = got[0];
        if (master === undefined) throw new Error('criu sent no pty master');
        sendPtyMaster(req.consoleSocket as string, master);
      }
    });
    if (!resp.success) throw criuFailure('restore', resp, criu, logPathIn(workPath, 'restore.log'));
    restoredPid = resp.restore?.pid ?? restoredPid;
    const stat = readProcStat(restoredPid);
    if (!stat) throw new Error(`the restored process ${restoredPid} exited during restore`);
    state.pid = restoredPid;
    state.pidStartTime = stat.startTime;
    state.creating = false;
    store.write(state);
    if (req.pidFile) writePidFile(req.pidFile, restoredPid);
    trace(`restored: pid ${restoredPid}`);
    return restoredPid;
  } catch (err) {
    // Undo: whatever CRIU restored dies with the cgroups, and the id is free again.
    if (restoredPid > 0) killChild(restoredPid);
    if (cgroups) {
      try { killAndRemoveCgroups(cgroups); } catch (cleanup) { (err as Error).message += ` (and removing its cgroups failed: ${(cleanup as Error).message})`; }
    }
    // Only the restored process: CRIU itself is reaped by Node, which waits for its exit.
    if (restoredPid > 0) reapChild(restoredPid);
    failed = true;
    throw err;
  } finally {
    for (const fd of fds) closeFd(fd);
    if (session) await session.finish();
    removeCriuRoot(criuRoot, rootMounted);
    if (failed) store.bury(req.id);
    lock.release();
  }
}

/** restore, then (without --detach) stay as the container's parent until it exits, and delete it. */
export async function restoreAndWait(store: Store, req: RestoreRequest): Promise<number> {
  const pid = await restoreContainer(store, req);
  if (req.detach) return 0;
  const [{ exitCodeOf, forwardSignalsUntilExit, reapExitedChildren }, { deleteContainer }, { signalProcess }] = await Promise.all([
    import('../linux/children.js'), import('./lifecycle.js'), import('../linux/pidsignal.js'),
  ]);
  const state = store.read(req.id);
  try {
    const status = await forwardSignalsUntilExit(pid, (sig) => { signalProcess(state.pid, state.pidStartTime, sig); });
    return exitCodeOf(status);
  } finally {
    reapExitedChildren();
    deleteContainer(store, req.id, true);
  }
}
