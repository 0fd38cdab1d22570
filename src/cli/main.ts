#!/usr/bin/env node
// brook: command-line entry. `brook start` runs a broker until SIGINT/SIGTERM; the client commands
// (topic, produce, consume, group, cluster) speak the Kafka protocol to any broker through
// src/client. The broker's modules are loaded only by `start`, so client commands start fast.

import './compile-cache.js';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
// `brook start` loads neither the client commands nor src/client (with their codecs): the broker
// process starts sooner and smaller. Every other command line loads them.
// (No top-level await: the single executable's bundle is CommonJS; main() loads them.)
let client: typeof import('./client-commands.js') | undefined;
/** The commands that run a broker (the rest are client commands; src/cli/launcher.cjs splits the same way). */
const BROKER_COMMANDS = new Set(['start', 'dev']);

function collect(value: string, previous: string[]): string[] {
  if (!value.includes('=')) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return [...previous, value];
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port: ${value}`);
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > 2147483647) throw new InvalidArgumentError(`not a node id: ${value}`);
  return n;
}

const program = new Command();
program
  .name('brook')
  .description('A Kafka-wire-protocol-compatible broker, and the Kafka tools to use it (or any Kafka).')
  .version(pkg.version, '-V, --version')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride()
  .addHelpText(
    'after',
    `
The client commands talk to any Kafka-protocol broker (Brook or Apache Kafka) given with
-b host:port (default localhost:9092, or $BROOK_BOOTSTRAP_SERVER). They print tables for people
and JSON with --json. Progress, when shown, goes to stderr and only on a terminal.

Examples:
  brook dev   (a broker in memory with the web console: http://127.0.0.1:8080/console)
  brook start --memory
  brook topic create demo -p 3
  echo hello | brook produce -t demo
  brook consume -t demo
  brook group describe my-app

${EXIT_CODES_HELP}`,
  );

/** The broker's options, shared by `start` and `dev` (which differ only in defaults). */
function brokerOptions(cmd: Command, dev: boolean): Command {
  if (dev) cmd.option('--no-http', 'no HTTP listener (no console, no metrics)');
  return cmd
    .option('--host <host>', 'listener host (the first listener\'s)', undefined)
    .option('--port <port>', 'listener port (0 = any free port; the first listener\'s)', port)
    .option('--advertised-host <host>', 'host advertised to clients (default: the listener host; the first listener\'s)')
    .option('--advertised-port <port>', 'port advertised to clients (default: the listener port; the first listener\'s)', port)
    .option('--data-dir <dir>', dev ? 'keep data in this directory (without it, dev keeps everything in memory)' : 'data directory (Kafka log.dirs; default ./data)')
    .option('--memory', dev ? 'keep all data in memory (the default of dev unless --data-dir is given)' : 'keep all data in memory (nothing is written to disk)', false)
    .option('--config <file>', 'a Kafka-style server.properties file')
    .option('--set <key=value>', 'set a broker config, Kafka names (repeatable)', collect, [])
    .option('--strict', 'refuse unknown config names (without it they are logged as warnings)', false)
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent ($BROOK_LOG_LEVEL sets the default)', process.env.BROOK_LOG_LEVEL ?? 'info')
    .option('--log-format <format>', 'auto (text on a terminal, JSON otherwise), json or text ($BROOK_LOG_FORMAT sets the default)')
    .option('--control-port <port>', 'HTTP control endpoint for tests (fault injection, clock, reset) on 127.0.0.1', port)
    .option('--http-port <port>', dev ? `HTTP listener: the web console at /console, Prometheus /metrics, /healthz, /readyz (default ${DEV_HTTP_PORT}, or any free port when that one is taken)` : 'HTTP listener: Prometheus /metrics, /healthz, /readyz (README "Observability") and the web console at /console (README "Console"); the same port as --control-port serves both', port)
    .option('--http-host <host>', 'address of the HTTP listener (default 127.0.0.1)')
    .option('--no-console', 'leave the web console and its /api off the HTTP listener')
    .option('--manual-clock', 'run on a manual clock moved only through the control endpoint (tests)', false)
    .option('--node-id <id>', 'this broker\'s id in a cluster (Kafka node.id; default the node.id config, 1)', nonNegative)
    .option('--add-scram <spec>', "add or replace a SCRAM user at start, Kafka's syntax: 'SCRAM-SHA-256=[name=alice,password=alice-secret]' (also iterations=; repeatable)", (v: string, prev: string[]) => [...prev, v], [])
    .option('--metadata <etcd-url>', 'join a cluster whose metadata lives in etcd: etcd://host:port[,host:port...][/cluster] (README "Cluster")');
}

const DEV_HTTP_PORT = 8080;

brokerOptions(
  program
    .command('start')
    .description('start a broker (Ctrl-C stops it cleanly)'),
  false,
)
  .addHelpText(
    'after',
    `
Configs have Kafka's names. Precedence: flags > --set > environment > --config file > defaults.
The environment is read as Kafka's Docker images read theirs: BROOK_CFG_NUM_PARTITIONS=3 is
num.partitions=3 (lowercase; _ is ".", __ is "_", ___ is "-").
Values are checked against Kafka's types and ranges before anything starts; a name nobody knows
is logged ("supplied but isn't a known config"), or refused with --strict. A listener host of
0.0.0.0 (or ::) needs --advertised-host: a wildcard address is never given to clients.
Several listeners, PLAINTEXT, SSL (TLS from PEM files, Kafka's ssl.* names), SASL_PLAINTEXT and
SASL_SSL (PLAIN, SCRAM-SHA-256/512, unsecured OAUTHBEARER; Kafka's sasl.* names), are set with
listeners, advertised.listeners and listener.security.protocol.map (README "Security"); the flags
above set the first one.
A start that fails prints one line on stderr and exits with 1.

Examples:
  brook start
  brook start --port 19092 --memory
  brook start --data-dir /var/lib/brook --set num.partitions=3 --set log.flush.interval.messages=1
  brook start --config server.properties --strict
  brook start --host 0.0.0.0 --advertised-host broker.internal
  brook start --set listeners=PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093 --set ssl.keystore.location=broker.pem
  brook start --set listeners=SASL_PLAINTEXT://127.0.0.1:9092 --set sasl.enabled.mechanisms=SCRAM-SHA-512
  brook start --add-scram 'SCRAM-SHA-256=[name=alice,password=alice-secret]'
  brook start --memory --port 0 --control-port 19093   (tests: README "Test fixture")
  brook start --memory --http-port 9644   (console at http://127.0.0.1:9644/console, metrics at /metrics)
  brook start --node-id 1 --port 9092 --data-dir d1 --metadata etcd://127.0.0.1:2379   (one per node: README "Cluster")`,
  )
  .action(async (opts) => {
    const { runStart } = await import('./start.js');
    await runStart(opts);
  });

brokerOptions(
  program
    .command('dev')
    .description(`start a broker for local development: data in memory, the web console on http://127.0.0.1:${DEV_HTTP_PORT}/console (Ctrl-C stops it)`),
  true,
)
  .addHelpText(
    'after',
    `
dev is start with other defaults: everything is kept in memory unless --data-dir is given, and
the HTTP listener (console, /metrics, /healthz, /readyz) is on, on 127.0.0.1:${DEV_HTTP_PORT} or, when
that port is taken, any free port (the line "console at ..." says which). Every start option
works here too (brook start --help).

Examples:
  brook dev
  brook dev --port 19092 --http-port 9644
  brook dev --data-dir ./dev-data   (keeps topics and messages across restarts)
  brook dev --no-http`,
  )
  .action(async (opts) => {
    const { runStart } = await import('./start.js');
    const keepOnDisk = opts.dataDir !== undefined;
    await runStart({
      ...opts,
      memory: opts.memory || !keepOnDisk,
      httpPort: opts.http === false ? undefined : opts.httpPort,
      dev: { httpPort: opts.http === false || opts.httpPort !== undefined ? undefined : DEV_HTTP_PORT },
    });
  });


// Every subcommand exits through the same path: usage errors are exit code 2 (commander's own
// messages are already on stderr), help and --version 0.
function exitOverride(cmd: Command): void {
  cmd.exitOverride();
  cmd.showHelpAfterError('(add --help for usage)');
  for (const sub of cmd.commands) exitOverride(sub);
}

// `brook ... | head` closes stdout early: that is not an error (consume also stops reading then).
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

async function main(): Promise<void> {
  if (!BROKER_COMMANDS.has(process.argv[2] ?? '')) {
    client = await import('./client-commands.js');
    client.setCliVersion(pkg.version);
    for (const cmd of client.clientCommands()) program.addCommand(cmd);
  }
  exitOverride(program);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
      process.exitCode = ok ? ExitCode.OK : ExitCode.USAGE;
      return;
    }
    process.stderr.write(`brook: ${(err as Error).message}\n`);
    process.exitCode = ExitCode.ERROR;
    return;
  }
  const name = program.args[0];
  if (name !== undefined && !BROKER_COMMANDS.has(name)) {
    // A client command finished: flush stdout, then exit (no lingering sockets or timers).
    if (!process.stdout.destroyed) await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    process.exit(client?.outcome.exitCode ?? ExitCode.OK);
  }
}

void main();
