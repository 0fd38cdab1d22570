#!/usr/bin/env node
// brook: command-line entry. `brook start` runs a broker until SIGINT/SIGTERM.

import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { startBroker } from '../broker.js';
import { createLogger } from '../common/logger.js';
import { ConfigError, loadPropertiesFile } from '../config/config.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

function collect(value: string, previous: string[]): string[] {
  if (!value.includes('=')) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return [...previous, value];
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port: ${value}`);
  return n;
}

/** "PLAINTEXT://host:port" -> host and port. */
function parseListener(value: string | undefined): { host?: string; port?: number } {
  const m = value ? /^(?:[A-Z_]+:\/\/)?\[?([^\]]*)\]?:(\d+)$/.exec(value.split(',')[0]!.trim()) : null;
  return m ? { host: m[1] || undefined, port: Number(m[2]) } : {};
}

const program = new Command();
program
  .name('brook')
  .description('A Kafka-wire-protocol-compatible broker: one command, no JVM.')
  .version(pkg.version, '-V, --version');

program
  .command('start')
  .description('start a broker (Ctrl-C stops it cleanly)')
  .option('--host <host>', 'listener host', undefined)
  .option('--port <port>', 'listener port (0 = any free port)', port)
  .option('--advertised-host <host>', 'host advertised to clients (default: the listener host)')
  .option('--advertised-port <port>', 'port advertised to clients (default: the listener port)', port)
  .option('--data-dir <dir>', 'data directory (Kafka log.dirs; default ./data)')
  .option('--memory', 'keep all data in memory (nothing is written to disk)', false)
  .option('--config <file>', 'a Kafka-style server.properties file')
  .option('--set <key=value>', 'set a broker config, Kafka names (repeatable)', collect, [])
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', process.env.BROOK_LOG_LEVEL ?? 'info')
  .addHelpText(
    'after',
    `
Precedence: flags > --set > --config file > defaults. Examples:
  brook start
  brook start --port 19092 --memory
  brook start --data-dir /var/lib/brook --set num.partitions=3 --set log.flush.interval.messages=1
  brook start --config server.properties`,
  )
  .action(async (opts) => {
    const logger = createLogger(opts.logLevel);
    try {
      const settings: Record<string, string> = opts.config ? loadPropertiesFile(opts.config) : {};
      for (const kv of opts.set as string[]) {
        const i = kv.indexOf('=');
        settings[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
      }
      const listener = parseListener(settings['listeners']);
      const advertised = parseListener(settings['advertised.listeners']);
      const broker = await startBroker({
        host: opts.host ?? listener.host ?? '127.0.0.1',
        port: opts.port ?? listener.port ?? 9092,
        advertisedHost: opts.advertisedHost ?? advertised.host,
        advertisedPort: opts.advertisedPort ?? advertised.port,
        dataDir: opts.dataDir ?? settings['log.dirs']?.split(',')[0] ?? './data',
        memory: opts.memory,
        config: settings,
        logger,
      });
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
      if (err instanceof ConfigError) logger.fatal(err.message);
      else logger.fatal({ err }, 'failed to start');
      process.exit(1);
    }
  });

program.parseAsync(process.argv);
