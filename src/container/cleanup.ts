// The cleanup of an operation made of steps (create, exec): each step that
// makes something pushes how to take it away, or what to do at the end
// either way (close an fd, release a lock). On failure everything runs,
// last pushed first; on success only the `always` steps do. A failing undo
// does not stop the ones after it: it is added to the error being reported
// ("… (and removing its cgroups failed: EBUSY)"), which stays the error.
interface Step {
  what: string;
  always: boolean;
  run: (err: unknown) => void;
}

export class CleanupStack {
  private steps: Step[] = [];

  /** Undo `what` if the operation fails; `undo` gets the error that failed it. */
  onFailure(what: string, undo: (err: unknown) => void): void {
    this.steps.push({ what, always: false, run: undo });
  }

  /** Do this when the operation ends, however it ends. */
  always(what: string, fn: () => void): void {
    this.steps.push({ what, always: true, run: fn });
  }

  /** The operation failed with `err`: run every step, last pushed first. */
  fail(err: unknown): void {
    const steps = this.take();
    for (const step of steps) {
      try {
        step.run(err);
      } catch (cleanup) {
        if (err instanceof Error) err.message += ` (and ${step.what} failed: ${(cleanup as Error).message})`;
      }
    }
  }

  /** The operation succeeded: run the `always` steps, last pushed first; the first of their failures is thrown after all ran. */
  succeed(): void {
    let first: unknown = null;
    for (const step of this.take()) {
      if (!step.always) continue;
      try { step.run(null); } catch (err) { first ??= err; }
    }
    if (first) throw first;
  }

  private take(): Step[] {
    const steps = this.steps.reverse();
    this.steps = [];
    return steps;
  }
}
