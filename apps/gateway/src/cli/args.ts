// The `trapezoid` command line: one parser for every subcommand, so an unknown flag or a
// missing argument is an error (exit 2) everywhere instead of starting a gateway.

export const EXIT = {
  ok: 0,
  /** The operation failed: no such call, the API answered an error. */
  failed: 1,
  /** Bad usage, or an invalid configuration. */
  usage: 2,
  /** The gateway's admin API could not be reached. */
  unreachable: 3,
  /** The admin API refused the token. */
  unauthorized: 4,
} as const;

export const COMMANDS = ['start', 'calls', 'hangup', 'registrations', 'trunks', 'drain', 'check-config'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  command: Command;
  /** Positional arguments after the command (hangup ID, check-config FILE). */
  positional: string[];
  help: boolean;
  version: boolean;
  json: boolean;
  config?: string;
  url?: string;
  token?: string;
}

export class UsageError extends Error {}

const VALUE_FLAGS: Record<string, 'config' | 'url' | 'token'> = { '--config': 'config', '-c': 'config', '--url': 'url', '--token': 'token' };
const BOOL_FLAGS: Record<string, 'help' | 'version' | 'json'> = { '--help': 'help', '-h': 'help', '--version': 'version', '-V': 'version', '--json': 'json' };
const ARITY: Record<Command, [min: number, max: number, name: string]> = {
  start: [0, 0, ''], calls: [0, 0, ''], hangup: [1, 1, 'CALL_ID'], registrations: [0, 0, ''], trunks: [0, 0, ''], drain: [0, 0, ''],
  'check-config': [1, 1, 'FILE'],
};

export function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = { command: 'start', positional: [], help: false, version: false, json: false };
  let command: Command | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (VALUE_FLAGS[flag]) {
      const value = flag !== a ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
      out[VALUE_FLAGS[flag]] = value;
    } else if (BOOL_FLAGS[a]) {
      out[BOOL_FLAGS[a]] = true;
    } else if (a.startsWith('-') && a !== '-') {
      throw new UsageError(`unknown option ${a}`);
    } else if (command === undefined) {
      if (!(COMMANDS as readonly string[]).includes(a)) throw new UsageError(`unknown command ${a}`);
      command = a as Command;
    } else {
      out.positional.push(a);
    }
  }
  out.command = command ?? 'start';
  if (!out.help && !out.version) {
    const [min, max, name] = ARITY[out.command];
    if (out.positional.length < min) throw new UsageError(`${out.command} needs ${name}`);
    if (out.positional.length > max) throw new UsageError(`${out.command}: unexpected argument ${out.positional[max]}`);
  }
  return out;
}

export const USAGE = `Usage: trapezoid [COMMAND] [OPTIONS]

WebRTC-to-SIP gateway. Without a command, starts the gateway.

Commands:
  start                 start the gateway (the default)
  calls                 list live calls: legs, state, media health
  hangup CALL_ID        hang up a call (BYE to both legs); a unique prefix of the id will do
  registrations         list registered agents' contacts
  trunks                list trunks and their state
  drain                 stop taking calls; the gateway exits once the live ones end
  check-config FILE     validate a configuration file and print every error in it

Options:
  -c, --config FILE     configuration file (also TRAPEZOID_CONFIG); for API commands,
                        where the admin API listens and its token
      --url URL         admin API base URL (also TRAPEZOID_ADMIN_URL; default http://127.0.0.1:8089)
      --token TOKEN     admin API token (also TRAPEZOID_ADMIN_TOKEN)
      --json            machine-readable output
  -h, --help            this help
  -V, --version         print the version

Exit status: 0 success, 1 the operation failed (e.g. no such call), 2 bad usage or an
invalid configuration, 3 the admin API cannot be reached, 4 the admin API refused the token.
`;
