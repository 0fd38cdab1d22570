// `brook start`: checks the configuration (flags > --set > BROOK_CFG_* environment > --config file >
// defaults), starts a broker and runs it until SIGINT/SIGTERM. Anything that stops the start (a bad
// setting, the port in use, the data directory locked) is one line on stderr and exit code 1.
// Loaded only by `brook start`, so client commands do not pay for the broker's modules.

import { createServer } from 'node:net';
import { startBroker } from '../broker.js';
import { ManualClock } from '../common/clock.js';
import { createLogger, isLogLevel, LOG_LEVELS, type Logger, type LogFormat } from '../common/logger.js';
import { ConfigError } from '../config/config.js';
import { readPropertiesFile, settingsFromArgs, settingsFromEnv } from '../config/properties.js';
import { checkStartupConfig, resolveListeners, type ListenerPlan } from '../config/startup.js';
import type { BrokerListener } from '../broker.js';
import { parseAddScram } from '../security/scram.js';

/** The listeners of a plan as startBroker takes them. */
export function brokerListeners(plan: ListenerPlan): BrokerListener[] {
  return plan.listeners.map((l) => ({
    name: l.name,
    protocol: l.protocol,
    host: l.host,
    port: l.port,
    advertisedHost: l.advertisedHost,
    advertisedPort: l.advertisedPort,
    ...(l.tls ? { tls: l.tls.options } : {}),
    ...(l.sasl ? { sasl: l.sasl } : {}),
  }));
}

export interface StartOptions {
  host?: string;
  port?: number;
  advertisedHost?: string;
  advertisedPort?: number;
  dataDir?: string;
  memory: boolean;
  config?: string;
  set: string[];
  strict: boolean;
  logLevel: string;
  logFormat?: string;
  /** HTTP control endpoint for tests (README "Test fixture"). */
  controlPort?: number;
  /** HTTP listener: metrics and health (README "Observability"). */
  httpPort?: number;
  httpHost?: string;
  /** false with --no-console. */
  console?: boolean;
  /** Run on a ManualClock, moved through the control endpoint. */
  manualClock?: boolean;
  /** Cluster mode (issue 10): this broker's id and the metadata store. */
  nodeId?: number;
  metadata?: string;
  /** SCRAM users, Kafka's `--add-scram` syntax. */
  addScram?: string[];
  /** `brook dev`: the HTTP port to try when none was given (any free port when it is taken). */
  dev?: { httpPort?: number };
}

/** `port` when nothing listens on it at `host`, else 0 (any free port). */
async function freeOr0(host: string, port: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(0));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(port)));
  });
}

/** A start failure as one line, without a stack (which only `--log-level debug` adds). */
export function startFailureMessage(err: unknown, listen?: { host: string; port: number }, http?: { httpPort?: number; controlPort?: number }): string {
  if (err instanceof ConfigError) return err.message;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  // The HTTP listener or the control endpoint (a fixed port of theirs, refused): say which.
  const side = e.port !== undefined && e.port !== 0 ? (e.port === http?.httpPort ? '--http-port' : e.port === http?.controlPort ? '--control-port' : undefined) : undefined;
  if (side !== undefined) listen = { host: e.address ?? '127.0.0.1', port: e.port! };
  const where = listen ? `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}` : `${e.address}:${e.port}`;
  switch (e.code) {
    case 'EADDRINUSE':
      if (side !== undefined) return `cannot listen on ${where} (${side}): the address is already in use (pick another ${side}, or 0 for any free port)`;
      return `cannot listen on ${where}: the address is already in use (another broker? pick another --port, or 0 for any free port)`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: ${listen?.host ?? e.address} is not an address of this machine`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${where}: host ${listen?.host ?? e.address} not found`;
    default:
      break;
  }
  if (e instanceof Error && e.name === 'LogStoreError') return `cannot open the data directory: ${e.message}`;
  return `failed to start: ${e instanceof Error ? e.message : String(e)}`;
}

function fail(message: string, err?: unknown, level = 'info'): never {
  process.stderr.write(`brook: ${message}\n`);
  if (err instanceof Error && err.stack && (level === 'debug' || level === 'trace')) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

export async function runStart(opts: StartOptions): Promise<void> {
  const level = opts.logLevel;
  if (!isLogLevel(level)) fail(`unknown log level '${level}' (--log-level or BROOK_LOG_LEVEL): use ${LOG_LEVELS.join(', ')}`);
  const formatName = opts.logFormat ?? process.env.BROOK_LOG_FORMAT ?? 'auto';
  if (!['auto', 'json', 'text'].includes(formatName)) fail(`unknown log format '${formatName}' (--log-format or BROOK_LOG_FORMAT): use auto, json or text`);
  // Readable lines on a terminal, JSON for anything reading them (files, pipes, log collectors).
  const format: LogFormat = formatName === 'auto' ? (process.stderr.isTTY ? 'text' : 'json') : (formatName as LogFormat);
  const logger: Logger = createLogger(level, undefined, format);

  let listen: { host: string; port: number } | undefined;
  try {
    const settings = [...(opts.config ? readPropertiesFile(opts.config) : []), ...settingsFromEnv(process.env), ...settingsFromArgs(opts.set)];
    const startup = checkStartupConfig(settings, { strict: opts.strict, clustered: opts.metadata !== undefined });
    if (opts.metadata !== undefined) {
      // Fails early on a malformed --metadata (before anything is bound).
      const { parseMetadataSpec } = await import('../cluster/metadata/index.js');
      try {
        parseMetadataSpec(opts.metadata);
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
      if (opts.manualClock) throw new ConfigError('--manual-clock is for a single node; a cluster runs on real time (leases)');
    }
    for (const w of startup.warnings) logger.warn(w);
    if (startup.ignored.length > 0) logger.info({ configs: startup.ignored }, 'Kafka configs accepted without effect in Brook');
    const users = (opts.addScram ?? []).map((spec) => {
      try {
        return parseAddScram(spec);
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
    });
    const plan = resolveListeners(startup, opts);
    // With several listeners a failed listen names its address itself.
    listen = plan.listeners.length === 1 ? { host: plan.host, port: plan.port } : undefined;
    let httpPort = opts.httpPort;
    if (httpPort === undefined && opts.dev?.httpPort !== undefined) {
      httpPort = await freeOr0(opts.httpHost ?? '127.0.0.1', opts.dev.httpPort);
      if (httpPort === 0) logger.warn({ port: opts.dev.httpPort }, 'the console\'s usual port is taken: using any free port');
    }
    const broker = await startBroker({
      listeners: brokerListeners(plan),
      dataDir: opts.dataDir ?? startup.values['log.dirs']?.trim() ?? startup.values['log.dir']?.trim() ?? './data',
      memory: opts.memory,
      config: startup.values,
      logger,
      controlPort: opts.controlPort,
      httpPort,
      httpHost: opts.httpHost,
      console: opts.console !== false,
      clock: opts.manualClock ? new ManualClock(Date.now()) : undefined,
      metadata: opts.metadata,
      nodeId: opts.nodeId,
      users,
    });
    if (opts.dev !== undefined) {
      // One plain line for the person who typed `brook dev`, whatever the log format.
      const http = broker.httpUrl;
      process.stderr.write(`brook dev: bootstrap ${broker.bootstrap}${http && opts.console !== false ? ` · console at ${http}/console` : ''}${http ? ` · metrics at ${http}/metrics` : ''}\n`);
    }
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      broker.close().then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  } catch (err) {
    fail(startFailureMessage(err, listen, opts), err, level);
  }
}
