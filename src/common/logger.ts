// Logging with pino. Info shows the startup and shutdown lines, recovery warnings, topics created
// and deleted and consumer group changes; `--log-level` or BROOK_LOG_LEVEL changes it. Lines are
// pino JSON, or with format 'text' one readable line each (`brook start` picks text on a terminal).

import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogFormat = 'json' | 'text';

export function isLogLevel(level: string): boolean {
  return (LOG_LEVELS as readonly string[]).includes(level);
}

export function createLogger(level = process.env.BROOK_LOG_LEVEL ?? 'info', destination?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  const dest = destination ?? (format === 'text' ? textDestination(2, process.stderr.isTTY === true && !process.env.NO_COLOR) : pino.destination({ dest: 2, sync: true }));
  return pino({ level, base: { name: 'brook' } }, dest);
}

/** A logger that drops everything (tests, embedded brokers that pass none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function show(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && 'message' in value && typeof (value as { message: unknown }).message === 'string') {
    // An error serialised by pino: its message (and code) is what a reader needs.
    const e = value as { message: string; code?: unknown };
    return JSON.stringify(e.code !== undefined ? `${e.message} (${String(e.code)})` : e.message);
  }
  return JSON.stringify(value);
}

/** One pino JSON line as "12:34:56.789 INFO  message key=value ...". */
export function formatLogLine(json: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const t = new Date(typeof o.time === 'number' ? o.time : Date.now());
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
  const lv = typeof o.level === 'number' ? o.level : 30;
  const name = (LEVEL_NAMES[lv] ?? String(lv)).padEnd(5);
  const level = color ? `\x1b[${LEVEL_COLORS[lv] ?? '0'}m${name}\x1b[0m` : name;
  const fields = Object.entries(o)
    .filter(([k, v]) => !OMIT.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${show(v)}`);
  return `${time} ${level} ${String(o.msg ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}\n`;
}

/** A synchronous pino destination writing readable lines to a file descriptor. */
export function textDestination(fd: number, color = false): pino.DestinationStream {
  return {
    write(line: string): void {
      for (const l of line.split('\n')) if (l !== '') writeSync(fd, formatLogLine(l, color));
    },
  };
}
