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
  { name: 'systemd-cgroup', type: 'boolean', default: false, describe: 'manage cgroups through systemd (not supported yet)' },
  { name: 'rootless', type: 'string', default: 'auto', describe: 'ignore cgroup permission errors ("true", "false", or "auto")' },
  { name: 'criu', type: 'string', describe: 'path to the criu binary (accepted and ignored)', hidden: true },
];

const PID_FILE: OptionDef = { name: 'pid-file', type: 'string', describe: 'specify the file to write the process id to' };
const BUNDLE: OptionDef = { name: 'bundle', alias: 'b', type: 'string', default: '', describe: 'path to the root of the bundle directory, defaults to the current directory' };
const CONSOLE_SOCKET: OptionDef = { name: 'console-socket', type: 'string', describe: 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console\'s pseudoterminal' };
const NO_PIVOT: OptionDef = { name: 'no-pivot', type: 'boolean', default: false, describe: 'do not use pivot root to jail process inside rootfs' };
const NO_NEW_KEYRING: OptionDef = { name: 'no-new-keyring', type: 'boolean', default: false, describe: 'do not create a new session keyring for the container' };
const PRESERVE_FDS: OptionDef = { name: 'preserve-fds', type: 'number', default: 0, describe: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)' };

export const COMMANDS: CommandDef[] = [
  {
    name: 'create',
    describe: 'create a container',
    positionals: [ID],
    options: [BUNDLE, CONSOLE_SOCKET, PID_FILE, NO_PIVOT, NO_NEW_KEYRING, PRESERVE_FDS],
  },
  { name: 'start', describe: 'executes the user defined process in a created container', positionals: [ID], options: [] },
  { name: 'state', describe: 'output the state of a container', positionals: [ID], options: [] },
  {
    name: 'kill',
    describe: 'kill sends the specified signal (default: SIGTERM) to the container\'s init process',
    positionals: [ID, { name: 'signal', required: false, describe: 'the signal to send, by name (KILL, SIGKILL) or number' }],
    options: [{ name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'send the specified signal to all processes inside the container' }],
  },
  {
    name: 'delete',
    describe: 'delete any resources held by the container often used with detached container',
    positionals: [ID],
    options: [{ name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'forcibly deletes the container if it is still running (uses SIGKILL)' }],
  },
  {
    name: 'run',
    describe: 'create and run a container',
    positionals: [ID],
    options: [
      BUNDLE, CONSOLE_SOCKET, PID_FILE, NO_PIVOT, NO_NEW_KEYRING, PRESERVE_FDS,
      { name: 'detach', alias: 'd', type: 'boolean', default: false, describe: 'detach from the container\'s process' },
      { name: 'keep', type: 'boolean', default: false, describe: 'do not delete the container after it exits' },
    ],
  },
  {
    name: 'exec',
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
  },
  {
    name: 'list',
    describe: 'lists containers started by ocirun with the given root',
    positionals: [],
    options: [
      { name: 'format', alias: 'f', type: 'string', default: 'table', describe: 'select one of: table or json' },
      { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'display only container IDs' },
    ],
  },
  {
    name: 'spec',
    describe: 'create a new specification file',
    positionals: [],
    options: [
      BUNDLE,
      { name: 'rootless', type: 'boolean', default: false, describe: 'generate a configuration for a rootless container' },
    ],
  },
];

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
