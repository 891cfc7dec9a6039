// Debug tracing for the container layer; the CLI points it at --debug output.
let sink: ((msg: string) => void) | null = null;

export function setTrace(fn: ((msg: string) => void) | null): void {
  sink = fn;
}

export function trace(msg: string): void {
  if (sink) sink(msg);
}

let warnSink: (msg: string) => void = () => {};

/** Where warnings go (the CLI sends them to stderr and the log). */
export function setWarn(fn: (msg: string) => void): void {
  warnSink = fn;
}

export function warn(msg: string): void {
  warnSink(msg);
}
