// What the rootless cgroup manager does differently once its cgroups exist
// (a subtree delegated to the caller, by hand or by its systemd user
// manager), as runc's does:
// - device rules are best effort: an unprivileged caller cannot load the
//   eBPF device program (cgroup v2) nor write a v1 devices cgroup it does
//   not own, and its containers reach only the device nodes bound from the
//   host, which the user namespace already limits;
// - exec joins the container's cgroup where it may: cgroup v2 moves a
//   process only for a caller that may write the cgroup.procs of the common
//   ancestor of both cgroups, which a shell outside the delegated subtree
//   (a login session's scope) may not. The init's move at create stays an
//   error: its limits depend on it.
import type { Resources } from '../../config/types.js';
import { errnoCode } from '../../config/errors.js';
import type { CgroupManager, Located, SelfPlacement, SetOptions } from './manager.js';
import type { CgroupPaths } from './paths.js';

const denied = (err: unknown): boolean => {
  const code = errnoCode((err as Error).cause) ?? errnoCode(err);
  return code === 'EACCES' || code === 'EPERM';
};

export class RootlessCgroups implements CgroupManager {
  /** create() was called: this is the container's creation, not an exec */
  private creating = false;

  constructor(private readonly inner: CgroupManager) {}

  get paths(): CgroupPaths { return this.inner.paths; }
  get created(): string[] { return this.inner.created; }

  create(): void {
    this.creating = true;
    this.inner.create();
  }

  selfPlacement(): SelfPlacement | null {
    return this.inner.selfPlacement();
  }

  apply(pid: number, placed?: ReadonlySet<string>): void {
    try {
      this.inner.apply(pid, placed);
    } catch (err) {
      if (this.creating || !denied(err)) throw err;
    }
  }

  set(r: Resources, opts: SetOptions = {}): void {
    // The limits first, with their errors; then the device rules on their own.
    this.inner.set(r, {});
    if (!opts.devices) return;
    try {
      this.inner.set({}, { devices: opts.devices });
    } catch {
      // Not ours to have (see above).
    }
  }

  freeze(): void { this.inner.freeze(); }
  thaw(): void { this.inner.thaw(); }
  isFrozen(): boolean { return this.inner.isFrozen(); }
  pids(): number[] { return this.inner.pids(); }
  oomKills(): number { return this.inner.oomKills(); }
  locate(controller: string): Located | null { return this.inner.locate(controller); }
  killAll(): boolean { return this.inner.killAll(); }
  destroy(): void { this.inner.destroy(); }
}
