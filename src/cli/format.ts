// How records are printed by `brook consume` and read by `brook produce`: plain values, JSON lines
// (the same shape both ways, so a consume can be replayed with produce) and templates.

import { InvalidArgumentError } from 'commander';
import type { ConsumedRecord, ProducerRecord } from '../client/index.js';
import { toJson } from './output.js';

export type Encoding = 'utf8' | 'base64' | 'hex';

export function encodingArg(value: string): Encoding {
  const v = value.toLowerCase().replace('-', '');
  if (v === 'utf8' || v === 'base64' || v === 'hex') return v;
  throw new InvalidArgumentError('encoding must be utf8, base64 or hex');
}

export function bytesToText(b: Buffer | null, enc: Encoding): string | null {
  return b === null ? null : b.toString(enc);
}

export function textToBytes(s: string | null | undefined, enc: Encoding, what: string): Buffer | null {
  if (s === null || s === undefined) return null;
  if (enc === 'hex' && (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s))) throw new Error(`${what} is not hex: "${s.slice(0, 40)}"`);
  if (enc === 'base64' && !/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw new Error(`${what} is not base64: "${s.slice(0, 40)}"`);
  return Buffer.from(s, enc);
}

/** The JSON-lines shape of a record. */
export function recordJson(r: ConsumedRecord, enc: Encoding): string {
  return toJson({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    timestampType: r.timestampType,
    key: bytesToText(r.key, enc),
    value: bytesToText(r.value, enc),
    headers: r.headers.map((h) => ({ key: h.key, value: bytesToText(h.value, enc) })),
  });
}

const PLACEHOLDERS = ['topic', 'partition', 'offset', 'timestamp', 'time', 'timestampType', 'key', 'value', 'headers'] as const;

/** Replaces \n, \t, \r and \\ with the characters they name. */
function unescape(s: string): string {
  return s.replace(/\\([ntr\\])/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]!);
}

/**
 * A template like "{key}={value}" (placeholders: {topic} {partition} {offset} {timestamp} {time}
 * (ISO-8601) {timestampType} {key} {value} {headers} and {header.NAME}); null keys and values print
 * as an empty string. Unknown placeholders are refused up front.
 */
export function compileTemplate(template: string, enc: Encoding): (r: ConsumedRecord) => string {
  const t = unescape(template);
  for (const m of t.matchAll(/\{([^{}]*)\}/g)) {
    const name = m[1]!;
    if (!(PLACEHOLDERS as readonly string[]).includes(name) && !name.startsWith('header.')) {
      throw new InvalidArgumentError(`unknown placeholder {${name}} (use ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')} or {header.NAME})`);
    }
  }
  return (r) =>
    t.replace(/\{([^{}]*)\}/g, (_m, name: string) => {
      switch (name) {
        case 'topic':
          return r.topic;
        case 'partition':
          return String(r.partition);
        case 'offset':
          return String(r.offset);
        case 'timestamp':
          return String(r.timestamp);
        case 'time':
          return new Date(Number(r.timestamp)).toISOString();
        case 'timestampType':
          return r.timestampType;
        case 'key':
          return bytesToText(r.key, enc) ?? '';
        case 'value':
          return bytesToText(r.value, enc) ?? '';
        case 'headers':
          return r.headers.map((h) => `${h.key}=${bytesToText(h.value, enc) ?? ''}`).join(',');
        default: {
          const h = r.headers.find((x) => x.key === name.slice('header.'.length));
          return h ? (bytesToText(h.value, enc) ?? '') : '';
        }
      }
    });
}

/** `--format`: text (the value), json (JSON lines) or a template; each record ends with a newline. */
export function recordFormatter(format: string, enc: Encoding): (r: ConsumedRecord) => string {
  if (format === 'json') return (r) => recordJson(r, enc) + '\n';
  if (format === 'text') return (r) => (bytesToText(r.value, enc) ?? '') + '\n';
  if (!format.includes('{')) throw new InvalidArgumentError(`--format must be text, json or a template with {placeholders}, got "${format}"`);
  const f = compileTemplate(format, enc);
  return (r) => f(r) + '\n';
}

// -----------------------------------------------------------------------------------------------
// Input

/** Splits a byte stream on a delimiter, carrying the unfinished tail between chunks. */
export class Splitter {
  private rest: Buffer = Buffer.alloc(0);

  constructor(private readonly delimiter: Buffer) {
    if (delimiter.length === 0) throw new Error('the delimiter must not be empty');
  }

  push(chunk: Buffer): Buffer[] {
    const buf = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: Buffer[] = [];
    let from = 0;
    for (;;) {
      const i = buf.indexOf(this.delimiter, from);
      if (i < 0) break;
      out.push(buf.subarray(from, i));
      from = i + this.delimiter.length;
    }
    this.rest = Buffer.from(buf.subarray(from));
    return out;
  }

  /** What is left after the last delimiter (a last line without a newline). */
  end(): Buffer[] {
    const r = this.rest;
    this.rest = Buffer.alloc(0);
    return r.length > 0 ? [r] : [];
  }
}

export interface InputOptions {
  format: 'text' | 'json';
  encoding: Encoding;
  keySeparator?: Buffer;
  key?: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
  partition?: number;
  /** Strip a trailing \r (text with the default newline delimiter). */
  stripCr: boolean;
}

function parseHeadersJson(h: unknown, enc: Encoding, where: string): Array<{ key: string; value: Buffer | null }> {
  if (h === undefined || h === null) return [];
  if (Array.isArray(h)) {
    return h.map((x: unknown) => {
      if (!x || typeof x !== 'object' || typeof (x as { key?: unknown }).key !== 'string') throw new Error(`${where}: headers must be [{"key": "...", "value": "..."}] or {"name": "value"}`);
      const v = (x as { value?: unknown }).value;
      return { key: (x as { key: string }).key, value: textToBytes(v === undefined || v === null ? null : String(v), enc, `${where} header value`) };
    });
  }
  if (typeof h === 'object') {
    return Object.entries(h as Record<string, unknown>).map(([key, v]) => ({ key, value: textToBytes(v === null || v === undefined ? null : String(v), enc, `${where} header value`) }));
  }
  throw new Error(`${where}: headers must be an array or an object`);
}

/** JSON values other than strings are produced as their JSON text ({"value": {"a": 1}} -> '{"a":1}'). */
function jsonField(v: unknown): string | null | undefined {
  if (v === undefined || v === null) return v as null | undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** One input line (or delimited chunk) -> a record. `where` names it in errors ("line 3"). */
export function parseRecord(line: Buffer, opts: InputOptions, where: string): ProducerRecord {
  if (opts.format === 'json') {
    let obj: unknown;
    try {
      obj = JSON.parse(line.toString('utf8'));
    } catch (err) {
      throw new Error(`${where}: not JSON (${(err as Error).message})`);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${where}: expected a JSON object like {"key": "k", "value": "v"}`);
    const o = obj as Record<string, unknown>;
    const partition = o.partition === undefined || o.partition === null ? opts.partition : Number(o.partition);
    if (partition !== undefined && (!Number.isInteger(partition) || partition < 0)) throw new Error(`${where}: bad partition ${String(o.partition)}`);
    let timestamp: bigint | undefined;
    if (o.timestamp !== undefined && o.timestamp !== null) {
      if (typeof o.timestamp !== 'number' && typeof o.timestamp !== 'string') throw new Error(`${where}: bad timestamp`);
      try {
        timestamp = BigInt(o.timestamp);
      } catch {
        throw new Error(`${where}: bad timestamp ${String(o.timestamp)}`);
      }
    }
    const headers = [...opts.headers, ...parseHeadersJson(o.headers, opts.encoding, where)];
    const key = 'key' in o ? textToBytes(jsonField(o.key), opts.encoding, `${where} key`) : (opts.key ?? null);
    return { key, value: textToBytes(jsonField(o.value), opts.encoding, `${where} value`), headers, partition, timestamp };
  }
  let data = line;
  if (opts.stripCr && data.length > 0 && data[data.length - 1] === 0x0d) data = data.subarray(0, data.length - 1);
  let key: Buffer | null = opts.key ?? null;
  if (opts.keySeparator) {
    const i = data.indexOf(opts.keySeparator);
    if (i < 0) throw new Error(`${where}: no key separator "${opts.keySeparator.toString()}" in "${data.toString('utf8').slice(0, 60)}"`);
    key = Buffer.from(data.subarray(0, i));
    data = data.subarray(i + opts.keySeparator.length);
  }
  return { key, value: Buffer.from(data), headers: opts.headers, partition: opts.partition };
}
