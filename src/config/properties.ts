// Java .properties text (what Kafka's server.properties is), parsed with line numbers so that a
// problem can name the file and the line. Java's rules: `#` and `!` start comment lines; a key ends
// at the first unescaped `=`, `:` or whitespace; one separator and the whitespace around it are
// skipped; a line ending in an odd number of backslashes continues on the next one (its leading
// whitespace dropped); escapes \t \n \r \f \uXXXX, and \x is x. Values are trimmed (Kafka trims
// every value it parses anyway).

import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from './config.js';

/** One setting and where it came from ("server.properties:12", "--set", "BROOK_CFG_NUM_PARTITIONS"). */
export interface ConfigSetting {
  name: string;
  value: string;
  origin: string;
  /** The file and line, for settings read from a file. */
  file?: string;
  line?: number;
}

/** A properties file larger than this is certainly not one (and is not read into memory). */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

function unescape(s: string, where: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i === s.length - 1) {
      out += c;
      continue;
    }
    const n = s[++i]!;
    if (n === 'u') {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new ConfigError(`${where}: malformed \\uXXXX escape`);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else {
      out += n === 't' ? '\t' : n === 'n' ? '\n' : n === 'r' ? '\r' : n === 'f' ? '\f' : n;
    }
  }
  return out;
}

/** Java properties text -> settings in file order, each with `<source>:<line>` as its origin. */
export function parsePropertiesText(text: string, source: string): ConfigSetting[] {
  const lines = text.split(/\r\n|\r|\n/);
  const out: ConfigSetting[] = [];
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // Continuation: an odd number of trailing backslashes joins the next natural line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    const where = `${source}:${lineNo}`;
    let k = 0;
    while (k < line.length && !'=: \t\f'.includes(line[k]!)) k += line[k] === '\\' ? 2 : 1;
    const rawKey = line.slice(0, Math.min(k, line.length));
    let v = k;
    while (v < line.length && ' \t\f'.includes(line[v]!)) v++;
    if (v < line.length && (line[v] === '=' || line[v] === ':')) v++;
    while (v < line.length && ' \t\f'.includes(line[v]!)) v++;
    out.push({ name: unescape(rawKey, where), value: unescape(line.slice(v), where).trim(), origin: where, file: source, line: lineNo });
  }
  return out;
}

/**
 * Reads a server.properties file. Refuses, naming the file, what is missing, unreadable, a
 * directory, too large, or binary (a NUL byte or bytes that are not UTF-8 text).
 */
export function readPropertiesFile(path: string): ConfigSetting[] {
  let buf: Buffer;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new ConfigError(`config file ${path}: is a directory, not a properties file`);
    if (st.size > MAX_FILE_BYTES) throw new ConfigError(`config file ${path}: ${st.size} bytes is too large for a properties file`);
    buf = readFileSync(path);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new ConfigError(`config file ${path}: ${why}`);
  }
  const nul = buf.indexOf(0);
  let text: string | null = null;
  if (nul < 0) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      text = null;
    }
  }
  if (text === null) throw new ConfigError(`config file ${path}: binary content, not a properties file (expected key=value lines)`);
  return parsePropertiesText(text.startsWith('\uFEFF') ? text.slice(1) : text, path);
}

/**
 * Kafka-style configuration from the environment, as the Kafka Docker images map theirs:
 * BROOK_CFG_NUM_PARTITIONS=3 -> num.partitions=3 (the rest lowercased; `_` -> `.`, `__` -> `_`,
 * `___` -> `-`). Sorted by variable name, so the result does not depend on the environment's order.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv, prefix = 'BROOK_CFG_'): ConfigSetting[] {
  const out: ConfigSetting[] = [];
  for (const key of Object.keys(env).sort()) {
    if (!key.startsWith(prefix) || key.length === prefix.length) continue;
    const name = key
      .slice(prefix.length)
      .toLowerCase()
      .replace(/___/g, '\u0000')
      .replace(/__/g, '\u0001')
      .replace(/_/g, '.')
      .replace(/\u0000/g, '-')
      .replace(/\u0001/g, '_');
    out.push({ name, value: env[key]!.trim(), origin: `environment ${key}` });
  }
  return out;
}

/** `--set key=value` arguments. */
export function settingsFromArgs(args: readonly string[]): ConfigSetting[] {
  return args.map((kv) => {
    const i = kv.indexOf('=');
    return { name: kv.slice(0, i).trim(), value: kv.slice(i + 1).trim(), origin: `--set ${kv.slice(0, i).trim()}` };
  });
}
