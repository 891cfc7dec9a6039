// `checkpoint`: dump a running container's processes with CRIU into an image
// directory, as runc does. A full dump stops the container (it is then
// deleted), unless --leave-running; a pre-dump only copies memory and leaves
// it running, for a later dump with --parent-path.
import { statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { closeFd } from '../linux/runtimefds.js';
import { readBundleConfig } from '../config/read.js';
import type { Spec } from '../config/types.js';
import { checkStatusFd, sendStatusReady } from '../criu/statusfd.js';
import { dumpOptions } from '../criu/plan.js';
// The command line's --manage-cgroups-mode, --empty-ns and --page-server are read by
// CRIU's planner (the CLI reaches criu/ only through here).
export { cgroupsMode, emptyNsMask, pageServer } from '../criu/plan.js';
import type { CgMode, CriuOpts, CriuReq } from '../criu/schema.js';
import {
  cgroupFacts, configFile, criuFailure, DESCRIPTORS_FILE, freezerPath, imagePathOf, isDir, logPathIn, makeDir, openDir, requireFeature, startCriu, stdioDescriptors,
} from '../criu/common.js';
import { requireStatus } from './status.js';
import { currentStatus } from './state.js';
import type { Store } from './store.js';
import { trace } from '../trace.js';

/** The first CRIU with the "status-ready" notification (3.15). */
const STATUS_READY_SINCE = 31500;

export interface CheckpointRequest {
  id: string;
  criu: string | undefined;
  imagePath: string | undefined;
  workPath: string | undefined;
  /** relative to the image path, as runc requires */
  parentPath: string | undefined;
  leaveRunning: boolean;
  tcpEstablished: boolean;
  extUnixSk: boolean;
  shellJob: boolean;
  fileLocks: boolean;
  preDump: boolean;
  autoDedup: boolean;
  lazyPages: boolean;
  /** -1: none */
  statusFd: number;
  pageServer: { address: string; port: number } | undefined;
  cgroupsMode: CgMode | undefined;
  emptyNs: number;
}

/** runc's checks on --parent-path: relative, and an existing directory under the image path. */
export function checkParentPath(imagePath: string, parent: string | undefined): void {
  if (parent === undefined || parent === '') return;
  if (isAbsolute(parent)) throw new Error('--parent-path must be relative');
  const real = join(imagePath, parent);
  if (!isDir(real)) throw new Error(`invalid --parent-path: ${real}: ${statOr(real)}`);
}

function statOr(path: string): string {
  try { statSync(path); return 'not a directory'; } catch { return 'no such file or directory'; }
}

/** Whether a path inside the container's root is a directory (null: missing). */
function inRootIsDirectory(rootfs: string): (p: string) => boolean | null {
  return (p) => {
    try { return statSync(join(rootfs, p)).isDirectory(); } catch { return null; }
  };
}

export async function checkpointContainer(store: Store, req: CheckpointRequest): Promise<void> {
  const imagePath = imagePathOf(req.imagePath);
  let destroy = false;
  let criuExited: Promise<unknown> = Promise.resolve();
  // Synchronous under the lock (the lock is released when this returns); CRIU's exit is awaited after.
  store.withLock(req.id, () => {
    const s = store.read(req.id);
    requireStatus('checkpoint', currentStatus(store, s), req.id);
    checkParentPath(imagePath, req.parentPath);
    const statusFd = req.lazyPages ? req.statusFd : -1;
    if (statusFd >= 0) checkStatusFd(statusFd);
    const workPath = req.workPath ? req.workPath : imagePath;
    const logFile = req.preDump ? 'pre-dump.log' : 'dump.log';
    const fds: number[] = [];
    // CRIU first: a missing or old one is reported before any directory is made.
    const { session, criu, version } = startCriu(req.criu, { stdio: ['ignore', 'ignore', 'ignore'] });
    try {
      makeDir(imagePath, '--image-path');
      if (req.workPath) makeDir(workPath, '--work-path');
      const imagesFd = openDir(imagePath, '--image-path');
      fds.push(imagesFd);
      const opts: CriuOpts = {
        images_dir_fd: imagesFd,
        pid: s.pid,
        log_level: 4,
        log_file: logFile,
        root: s.rootfs,
        manage_cgroups: true,
        notify_scripts: true,
        leave_running: req.leaveRunning,
        tcp_established: req.tcpEstablished,
        ext_unix_sk: req.extUnixSk,
        shell_job: req.shellJob,
        file_locks: req.fileLocks,
        empty_ns: req.emptyNs,
        orphan_pts_master: true,
        auto_dedup: req.autoDedup,
        lazy_pages: req.lazyPages,
      };
      if (req.workPath) {
        const workFd = openDir(workPath, '--work-path');
        fds.push(workFd);
        opts.work_dir_fd = workFd;
      }
      const config = configFile(s.annotations);
      if (config) opts.config_file = config;
      const freezer = freezerPath(s.cgroup);
      if (freezer) opts.freeze_cgroup = freezer;
      if (req.pageServer) opts.ps = req.pageServer;
      if (req.parentPath) {
        opts.parent_img = req.parentPath;
        opts.track_mem = true;
      }
      if (req.cgroupsMode) opts.manage_cgroups_mode = req.cgroupsMode;
      if (req.preDump) requireFeature(session, 'mem_track', '--pre-dump', 'memory tracking (soft-dirty bits)');
      if (req.lazyPages) requireFeature(session, 'lazy_pages', '--lazy-pages', 'lazy pages (userfaultfd)');
      // CRIU 3.15+ says "status-ready" when its page server waits for the
      // lazy restore, and we write the byte; older ones open our fd
      // themselves (/proc/<our pid>/fd/N) from status_fd.
      const notifyReady = statusFd >= 0 && version >= STATUS_READY_SINCE;
      if (statusFd >= 0 && !notifyReady) opts.status_fd = statusFd;
      if (!req.preDump) {
        // The config the container was created from: its mounts and namespaces say what is external.
        const spec = readBundleConfig(s.bundle).doc as Spec;
        Object.assign(opts, dumpOptions(spec, s.bundle, {
          isDirectory: inRootIsDirectory(s.rootfs),
          nsInode: (p) => statSync(p).ino,
          ...cgroupFacts(s.pid),
        }));
        // restore hands pipes on stdio back to the new process under these names.
        writeFileSync(join(imagePath, DESCRIPTORS_FILE), JSON.stringify(stdioDescriptors(s.pid)), { mode: 0o600 });
      }
      const request: CriuReq = { type: req.preDump ? 'PRE_DUMP' : 'DUMP', opts };
      trace(`criu ${request.type}: pid ${s.pid}`);
      const resp = session.request(request, (script) => {
        if (script !== 'status-ready' || !notifyReady) return;
        // The dump is done and the page server listens: the lazy restore may start.
        trace('criu status-ready');
        sendStatusReady(statusFd);
      });
      if (!resp.success) throw criuFailure(req.preDump ? 'pre-dump' : 'dump', resp, criu, logPathIn(workPath, logFile));
      trace('criu done');
      destroy = !req.leaveRunning && !req.preDump;
    } finally {
      for (const fd of fds) closeFd(fd);
      criuExited = session.finish();
    }
  });
  await criuExited;
  // CRIU killed the container's processes: remove what is left of it, as runc does.
  if (destroy) {
    const { deleteContainer } = await import('./lifecycle.js');
    deleteContainer(store, req.id, true);
  }
}

