// Logging with pino. Quiet by default: info shows only the startup, shutdown and recovery lines; `--log-level` or BROOK_LOG_LEVEL changes it.

import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = process.env.BROOK_LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { name: 'brook' } }, destination ?? pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything (tests, embedded brokers that pass none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
