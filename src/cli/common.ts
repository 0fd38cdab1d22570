// Shared pieces of the client commands: exit codes, the connection options every command takes,
// option parsers, and the wrapper that turns an action's outcome into an exit code.

import { InvalidArgumentError, type Command } from 'commander';
import { ConnectionError, KafkaClient, KafkaError, NotFoundError } from '../client/index.js';
import { parseHostPort } from '../client/client.js';
import { clientSecurity } from './client-security.js';

export { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { ExitCode } from './exit-codes.js';

/** An error that ends the command with a given exit code and message. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.ERROR,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.USAGE);
  }
}

export interface ConnectionOpts {
  bootstrapServer: string;
  clientId: string;
  timeout: number;
  json?: boolean;
  /** Kafka client properties (security.protocol, ssl.*, sasl.*): a file, and pairs that win. */
  commandConfig?: string;
  commandProperty?: string[];
}

export const DEFAULT_BOOTSTRAP = 'localhost:9092';

export function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive integer`);
    return n;
  };
}

export function nonNegativeInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${what} must be a non-negative integer`);
    return n;
  };
}

export function bootstrapList(value: string): string {
  for (const part of value.split(',')) {
    try {
      parseHostPort(part);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  }
  return value;
}

/** key=value pairs (repeatable option). */
export function keyValue(value: string, previous: string[] = []): string[] {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return [...previous, value];
}

export function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function keyValueMap(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of pairs) {
    const i = kv.indexOf('=');
    out[kv.slice(0, i).trim()] = kv.slice(i + 1);
  }
  return out;
}

/** "0,1,3-5" -> [0, 1, 3, 4, 5]. */
export function partitionList(value: string): number[] {
  const out = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`not a partition list: "${value}" (e.g. 0,1,4-7)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new InvalidArgumentError(`bad partition range "${part}"`);
    for (let p = a; p <= b; p++) out.add(p);
  }
  return [...out].sort((x, y) => x - y);
}

/** A time as epoch milliseconds or an ISO-8601 date ("2024-05-01T10:00:00Z"). */
export function timestampArg(value: string): bigint {
  const v = value.trim();
  if (/^\d+$/.test(v)) return BigInt(v);
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`not a time: "${value}" (epoch ms or ISO-8601, e.g. 2024-05-01T10:00:00Z)`);
  return BigInt(ms);
}

/** "500ms", "30s", "15m", "2h", "1d" or ISO-8601 "PT1H30M" -> milliseconds. */
export function durationArg(value: string): number {
  const v = value.trim();
  const simple = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(v);
  if (simple) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[simple[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return Math.round(Number(simple[1]) * unit);
  }
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(v);
  if (iso && v.length > 1 && !/T$/i.test(v)) {
    const [, d, h, m, s] = iso;
    return Math.round((Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3_600 + Number(m ?? 0) * 60 + Number(s ?? 0)) * 1000);
  }
  throw new InvalidArgumentError(`not a duration: "${value}" (e.g. 500ms, 30s, 15m, 2h, 1d or PT1H30M)`);
}

/** Adds -b, --client-id, --timeout and (unless noJson) --json to a client command. */
export function connectionOptions(cmd: Command, opts: { json?: boolean } = {}): Command {
  cmd
    .option('-b, --bootstrap-server <host:port>', 'broker(s) to connect to, comma-separated (env BROOK_BOOTSTRAP_SERVER)', bootstrapList, process.env.BROOK_BOOTSTRAP_SERVER || DEFAULT_BOOTSTRAP)
    .option('--client-id <id>', 'client id sent to the broker', 'brook-cli')
    .option('--timeout <ms>', 'request timeout in milliseconds', positiveInt('--timeout'), 30_000)
    .option('--command-config <file>', 'Kafka client properties for a secured broker: security.protocol, ssl.truststore.location, sasl.mechanism, sasl.jaas.config (README "Security")')
    .option('-X, --command-property <key=value>', 'one client property, wins over --command-config (repeatable)', keyValue);
  if (opts.json !== false) cmd.option('--json', 'print JSON instead of a table (for scripts)');
  return cmd;
}

export function clientFor(opts: ConnectionOpts): KafkaClient {
  return new KafkaClient(opts.bootstrapServer, {
    ...clientSecurity(opts.commandConfig, opts.commandProperty),
    clientId: opts.clientId,
    requestTimeoutMs: opts.timeout,
    connectTimeoutMs: Math.min(opts.timeout, 10_000),
    softwareName: 'brook-cli',
    softwareVersion: CLI_VERSION,
  });
}

export let CLI_VERSION = '0.0.0';
export function setCliVersion(v: string): void {
  CLI_VERSION = v;
}

/** The exit code and message for an error thrown by a command. */
export function describeFailure(err: unknown): { code: number; message: string } {
  if (err instanceof CliError) return { code: err.exitCode, message: err.message };
  if (err instanceof InvalidArgumentError) return { code: ExitCode.USAGE, message: err.message };
  if (err instanceof NotFoundError) return { code: ExitCode.NOT_FOUND, message: err.message };
  if (err instanceof KafkaError) return { code: ExitCode.ERROR, message: err.message };
  if (err instanceof ConnectionError) return { code: ExitCode.ERROR, message: err.message };
  if (err instanceof Error) return { code: ExitCode.ERROR, message: err.message };
  return { code: ExitCode.ERROR, message: String(err) };
}

/** The exit code the CLI will end with (set by the action wrapper). */
export const outcome = { exitCode: 0 as number };

/**
 * Wraps an action: runs it with a client (closed afterwards), prints a failure as one line on
 * stderr and records the exit code. The action may return an exit code.
 */
export function action<O extends ConnectionOpts>(fn: (client: KafkaClient, opts: O, args: string[]) => Promise<number | void>) {
  return async (...received: unknown[]): Promise<void> => {
    // commander passes the positional arguments, then the options object, then the command.
    const cmd = received[received.length - 1] as Command;
    const opts = cmd.opts() as O;
    const args = received.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a : a === undefined ? [] : [a])) as string[];
    let client: KafkaClient | undefined;
    try {
      client = clientFor(opts);
      const code = await fn(client, opts, args);
      outcome.exitCode = code ?? ExitCode.OK;
    } catch (err) {
      const f = describeFailure(err);
      const name = cmd.parent && cmd.parent.name() !== 'brook' ? `${cmd.parent.name()} ${cmd.name()}` : cmd.name();
      process.stderr.write(`brook ${name}: ${f.message}\n`);
      if (f.code === ExitCode.USAGE) process.stderr.write(`(see brook ${name} --help)\n`);
      outcome.exitCode = f.code;
    } finally {
      client?.close();
    }
  };
}
