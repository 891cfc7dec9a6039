// The ocirun command: parse, dispatch to one handler, report any error once.
// dist/cli.cjs runs main() and exits with what it returns, in that one place.
import { writeSync } from 'node:fs';
import { HOT_HANDLERS, type HandlerLoader, dispatch, supportedPlatform } from './dispatch.js';
import { fastParse } from './fastparse.js';
import { guardHashSeed } from './seedguard.js';

// Each command is its own chunk, loaded on use: `state` must not pay for the
// config validator, and `kill` not for the rootfs planner.
const HANDLERS: Record<string, HandlerLoader> = {
  ...HOT_HANDLERS,
  create: async () => (await import('./commands/create.js')).create,
  run: async () => (await import('./commands/run.js')).run,
  spec: async () => (await import('./commands/spec.js')).spec,
  exec: async () => (await import('./commands/exec.js')).exec,
  features: async () => (await import('./commands/features.js')).features,
  pause: async () => (await import('./commands/pause.js')).pause,
  resume: async () => (await import('./commands/resume.js')).resume,
  ps: async () => (await import('./commands/ps.js')).ps,
  update: async () => (await import('./commands/update.js')).update,
  events: async () => (await import('./commands/events.js')).events,
  checkpoint: async () => (await import('./commands/checkpoint.js')).checkpoint,
  restore: async () => (await import('./commands/restore.js')).restore,
  plan: async () => (await import('./commands/plan.js')).plan,
};

export async function main(argv: string[]): Promise<number> {
  if (!supportedPlatform()) {
    writeSync(2, `ocirun: unsupported platform ${process.platform}-${process.arch}: ocirun runs on linux-x64 and linux-arm64 (glibc)\n`);
    return 1;
  }
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    const { versionText } = await import('./version.js');
    writeSync(1, `${await versionText()}\n`);
    return 0;
  }
  let args = fastParse(argv);
  if (!args) {
    // yargs keys what it parses by the option names it is given.
    await guardHashSeed(null, '');
    const { slowParse } = await import('./yargs.js');
    const result = await slowParse(argv);
    if ('exitCode' in result) return result.exitCode;
    args = result;
  }
  return dispatch(args, HANDLERS[args.command]);
}

/** dist/cli.cjs hands over the directory of its caches (seccomp filters are cached there too). */
export { useCacheDir } from '../install/cachedir.js';
