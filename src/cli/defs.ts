// Every command and flag of ocirun's command line, in one table: yargs builds
// help and usage from it, and the fast parser reads the hot commands with it.
// Names and meanings are runc's.

export interface OptionDef {
  name: string;
  alias?: string;
  /** 'strings': repeatable, collected in order (runc's StringSlice) */
  type: 'boolean' | 'string' | 'number' | 'strings';
  describe: string;
  default?: boolean | string | number;
  hidden?: boolean;
}

export interface PositionalDef {
  name: string;
  required: boolean;
  describe: string;
  /** takes every remaining argument, options included (exec's command line) */
  variadic?: boolean;
}

export interface CommandDef {
  name: string;
  describe: string;
  positionals: PositionalDef[];
  options: OptionDef[];
}

const ID: PositionalDef = { name: 'container-id', required: true, describe: 'the name of the container instance' };

export const GLOBAL_OPTIONS: OptionDef[] = [
  { name: 'root', type: 'string', describe: 'root directory for storage of container state (default: /run/ocirun, or $XDG_RUNTIME_DIR/ocirun when not root)' },
  { name: 'log', type: 'string', describe: 'set the log file to write ocirun logs to (default is stderr)' },
  { name: 'log-format', type: 'string', default: 'text', describe: 'set the log format ("text" or "json")' },
  { name: 'debug', type: 'boolean', default: false, describe: 'enable debug logging' },
  { name: 'systemd-cgroup', type: 'boolean', default: false, describe: 'enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name" for e.g. "system.slice:runc:434234"' },
  { name: 'rootless', type: 'string', default: 'auto', describe: 'ignore cgroup permission errors ("true", "false", or "auto")' },
  { name: 'criu', type: 'string', describe: 'path to the criu binary used for checkpoint and restore (default: "criu" from $PATH)' },
];

const PID_FILE: OptionDef = { name: 'pid-file', type: 'string', describe: 'specify the file to write the process id to' };
const BUNDLE: OptionDef = { name: 'bundle', alias: 'b', type: 'string', default: '', describe: 'path to the root of the bundle directory, defaults to the current directory' };
const CONSOLE_SOCKET: OptionDef = { name: 'console-socket', type: 'string', describe: 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console\'s pseudoterminal' };
const NO_PIVOT: OptionDef = { name: 'no-pivot', type: 'boolean', default: false, describe: 'do not use pivot root to jail process inside rootfs' };
const NO_NEW_KEYRING: OptionDef = { name: 'no-new-keyring', type: 'boolean', default: false, describe: 'do not create a new session keyring for the container' };
const PRESERVE_FDS: OptionDef = { name: 'preserve-fds', type: 'number', default: 0, describe: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)' };

// checkpoint and restore (CRIU): runc's flags, as runc 1.1 has them.
const criuShared = (): OptionDef[] => [
  { name: 'image-path', type: 'string', describe: 'path for the criu image files (default: ./checkpoint)' },
  { name: 'work-path', type: 'string', describe: 'path for saving work files and logs (default: the image path)' },
  { name: 'tcp-established', type: 'boolean', default: false, describe: 'allow open tcp connections' },
  { name: 'ext-unix-sk', type: 'boolean', default: false, describe: 'allow external unix sockets' },
  { name: 'shell-job', type: 'boolean', default: false, describe: 'allow shell jobs' },
  { name: 'file-locks', type: 'boolean', default: false, describe: 'handle file locks, for safety' },
  { name: 'manage-cgroups-mode', type: 'string', describe: 'cgroups mode: soft (default), full, strict or ignore' },
  { name: 'empty-ns', type: 'strings', describe: 'create a namespace, but don\'t restore its properties (repeatable)' },
  { name: 'auto-dedup', type: 'boolean', default: false, describe: 'enable auto deduplication of memory images' },
  { name: 'lazy-pages', type: 'boolean', default: false, describe: 'use userfaultfd to lazily restore memory pages' },
];

type Definition = Omit<CommandDef, 'name'>;

/**
 * Every command by name, in the order help lists them, each definition built
 * when asked for: as one table built at load they cost every command ~70 us
 * (~130 object literals), and a command parses with its own only. The null
 * prototype: no name but these is a command.
 */
const DEFINITIONS = {
  __proto__: null,
  create: () => ({
    describe: 'create a container',
    positionals: [ID],
    options: [BUNDLE, CONSOLE_SOCKET, PID_FILE, NO_PIVOT, NO_NEW_KEYRING, PRESERVE_FDS],
  }),
  start: () => ({ describe: 'executes the user defined process in a created container', positionals: [ID], options: [] }),
  state: () => ({ describe: 'output the state of a container', positionals: [ID], options: [] }),
  kill: () => ({
    describe: 'kill sends the specified signal (default: SIGTERM) to the container\'s init process',
    positionals: [ID, { name: 'signal', required: false, describe: 'the signal to send, by name (KILL, SIGKILL) or number' }],
    options: [{ name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'send the specified signal to all processes inside the container' }],
  }),
  delete: () => ({
    describe: 'delete any resources held by the container often used with detached container',
    positionals: [ID],
    options: [{ name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'forcibly deletes the container if it is still running (uses SIGKILL)' }],
  }),
  run: () => ({
    describe: 'create and run a container',
    positionals: [ID],
    options: [
      BUNDLE, CONSOLE_SOCKET, PID_FILE, NO_PIVOT, NO_NEW_KEYRING, PRESERVE_FDS,
      { name: 'detach', alias: 'd', type: 'boolean', default: false, describe: 'detach from the container\'s process' },
      { name: 'keep', type: 'boolean', default: false, describe: 'do not delete the container after it exits' },
    ],
  }),
  features: () => ({ describe: 'show the enabled features', positionals: [], options: [] }),
  plan: () => ({
    describe: 'print what create would do for a bundle (the init\'s operations), without doing it',
    positionals: [ID],
    options: [BUNDLE, CONSOLE_SOCKET, NO_PIVOT, NO_NEW_KEYRING, PRESERVE_FDS,
      { name: 'format', alias: 'f', type: 'string', default: 'text', describe: 'select one of: text or json' }],
  }),
  exec: () => ({
    describe: 'execute new process inside the container',
    positionals: [ID, { name: 'command', required: false, variadic: true, describe: 'the command and its arguments (or --process)' }],
    options: [
      CONSOLE_SOCKET, PID_FILE, PRESERVE_FDS,
      { name: 'cwd', type: 'string', describe: 'current working directory in the container' },
      { name: 'env', alias: 'e', type: 'strings', describe: 'set environment variables (repeatable)' },
      { name: 'tty', alias: 't', type: 'boolean', default: false, describe: 'allocate a pseudo-TTY' },
      { name: 'user', alias: 'u', type: 'string', describe: 'UID (format: <uid>[:<gid>])' },
      { name: 'additional-gids', alias: 'g', type: 'strings', describe: 'additional gids (repeatable)' },
      { name: 'process', alias: 'p', type: 'string', describe: 'path to the process.json' },
      { name: 'detach', alias: 'd', type: 'boolean', default: false, describe: 'detach from the container\'s process' },
      { name: 'process-label', type: 'string', describe: 'set the asm process label for the process commonly used with selinux' },
      { name: 'apparmor', type: 'string', describe: 'set the apparmor profile for the process' },
      { name: 'no-new-privs', type: 'boolean', default: false, describe: 'set the no new privileges value for the process' },
      { name: 'cap', alias: 'c', type: 'strings', describe: 'add a capability to the bounding set for the process (repeatable)' },
      { name: 'ignore-paused', type: 'boolean', default: false, describe: 'allow exec in a paused container' },
      { name: 'cgroup', type: 'strings', describe: 'run the process in an (existing) sub-cgroup(s)' },
    ],
  }),
  pause: () => ({ describe: 'pause suspends all processes inside the container', positionals: [ID], options: [] }),
  resume: () => ({ describe: 'resumes all processes that have been previously paused', positionals: [ID], options: [] }),
  ps: () => ({
    describe: 'ps displays the processes running inside a container',
    positionals: [ID, { name: 'ps-args', required: false, variadic: true, describe: 'options for ps (default -ef)' }],
    options: [{ name: 'format', alias: 'f', type: 'string', default: 'table', describe: 'select one of: table or json' }],
  }),
  update: () => ({
    describe: 'update container resource constraints',
    positionals: [ID],
    options: [
      { name: 'resources', alias: 'r', type: 'string', describe: 'path to the file containing the resources to update or \'-\' to read from the standard input (all other options are then ignored)' },
      { name: 'blkio-weight', type: 'string', describe: 'specifies per cgroup weight, range is from 10 to 1000' },
      { name: 'cpu-period', type: 'string', describe: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default' },
      { name: 'cpu-quota', type: 'string', describe: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
      { name: 'cpu-burst', type: 'string', describe: 'CPU CFS hardcap burst limit (in usecs)' },
      { name: 'cpu-share', type: 'string', describe: 'CPU shares (relative weight vs. other containers)' },
      { name: 'cpu-rt-period', type: 'string', describe: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default' },
      { name: 'cpu-rt-runtime', type: 'string', describe: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period' },
      { name: 'cpuset-cpus', type: 'string', describe: 'CPU(s) to use' },
      { name: 'cpuset-mems', type: 'string', describe: 'memory node(s) to use' },
      { name: 'cpu-idle', type: 'string', describe: 'set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE' },
      { name: 'kernel-memory', type: 'string', describe: '(obsoleted; do not use)', hidden: true },
      { name: 'kernel-memory-tcp', type: 'string', describe: '(obsoleted; do not use)', hidden: true },
      { name: 'memory', type: 'string', describe: 'memory limit (in bytes)' },
      { name: 'memory-reservation', type: 'string', describe: 'memory reservation or soft_limit (in bytes)' },
      { name: 'memory-swap', type: 'string', describe: 'total memory usage (memory + swap); set \'-1\' to enable unlimited swap' },
      { name: 'pids-limit', type: 'string', describe: 'maximum number of pids allowed in the container' },
      { name: 'l3-cache-schema', type: 'string', describe: 'the string of Intel RDT/CAT L3 cache schema' },
      { name: 'mem-bw-schema', type: 'string', describe: 'the string of Intel RDT/MBA memory bandwidth schema' },
    ],
  }),
  events: () => ({
    describe: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
    positionals: [ID],
    options: [
      { name: 'interval', type: 'string', default: '5s', describe: 'set the stats collection interval' },
      { name: 'stats', type: 'boolean', default: false, describe: 'display the container\'s stats then exit' },
    ],
  }),
  list: () => ({
    describe: 'lists containers started by ocirun with the given root',
    positionals: [],
    options: [
      { name: 'format', alias: 'f', type: 'string', default: 'table', describe: 'select one of: table or json' },
      { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'display only container IDs' },
    ],
  }),
  spec: () => ({
    describe: 'create a new specification file',
    positionals: [],
    options: [
      BUNDLE,
      { name: 'rootless', type: 'boolean', default: false, describe: 'generate a configuration for a rootless container' },
    ],
  }),
  checkpoint: () => ({
    describe: 'checkpoint a running container',
    positionals: [ID],
    options: [
      ...criuShared(),
      { name: 'parent-path', type: 'string', describe: 'path for previous criu image files in pre-dump (relative to the image path)' },
      { name: 'leave-running', type: 'boolean', default: false, describe: 'leave the process running after checkpointing' },
      { name: 'status-fd', type: 'number', describe: 'criu writes \\0 to this FD once lazy-pages is ready' },
      { name: 'page-server', type: 'string', describe: 'ADDRESS:PORT of the page server' },
      { name: 'pre-dump', type: 'boolean', default: false, describe: 'dump container\'s memory information only, leave the container running after this' },
    ],
  }),
  restore: () => ({
    describe: 'restore a container from a previous checkpoint',
    positionals: [ID],
    options: [
      ...criuShared(), BUNDLE, CONSOLE_SOCKET, PID_FILE, NO_PIVOT,
      { name: 'detach', alias: 'd', type: 'boolean', default: false, describe: 'detach from the container\'s process' },
      { name: 'no-subreaper', type: 'boolean', default: false, describe: 'disable the use of the subreaper used to reap reparented processes' },
      { name: 'lsm-profile', type: 'string', describe: 'an LSM profile to be used during restore, as TYPE:NAME' },
      { name: 'lsm-mount-context', type: 'string', describe: 'an LSM mount context to be used during restore' },
    ],
  }),
} satisfies { __proto__: null; [name: string]: (() => Definition) | null };
const BY_NAME: Readonly<Record<string, (() => Definition) | null>> = DEFINITIONS;

/** The definition of the command named name, or undefined when there is no such command. */
export function commandDef(name: string): CommandDef | undefined {
  const define = BY_NAME[name];
  return define ? { name, ...define() } : undefined;
}

/** Every command's definition, in help's order (yargs builds help and usage from them). */
export function allCommands(): CommandDef[] {
  return Object.keys(BY_NAME).map((name) => commandDef(name) as CommandDef);
}

export type ArgValue = string | number | boolean | string[] | undefined;

/** What a command handler receives: flags by their long name, positionals by name. */
export interface ParsedArgs {
  command: string;
  globals: Record<string, ArgValue>;
  options: Record<string, ArgValue>;
  positionals: Record<string, string | undefined>;
  /** the words a variadic positional took */
  rest: string[];
}
