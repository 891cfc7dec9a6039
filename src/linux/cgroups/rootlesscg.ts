// The rootless cgroup manager's one difference once its cgroups exist (a
// subtree delegated to the caller, by hand or by its systemd user manager):
// device rules are best effort, as in runc. An unprivileged caller cannot
// load the eBPF device program (cgroup v2) nor write a v1 devices cgroup it
// does not own, and its containers reach only the device nodes bound from
// the host, which the user namespace already limits.
import type { Resources } from '../../spec/types.js';
import type { CgroupManager, Located, SetOptions } from './manager.js';
import type { CgroupPaths } from './paths.js';

export class RootlessCgroups implements CgroupManager {
  /** why the device rules could not be applied, if they could not */
  devicesSkipped: string | null = null;

  constructor(private readonly inner: CgroupManager) {}

  get paths(): CgroupPaths { return this.inner.paths; }
  get created(): string[] { return this.inner.created; }

  create(): void { this.inner.create(); }
  apply(pid: number): void { this.inner.apply(pid); }

  set(r: Resources, opts: SetOptions = {}): void {
    // The limits first, with their errors; then the device rules on their own.
    this.inner.set(r, {});
    if (!opts.devices) return;
    try {
      this.inner.set({}, { devices: opts.devices });
    } catch (err) {
      this.devicesSkipped = (err as Error).message;
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
