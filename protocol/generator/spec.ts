// Loading the Kafka message spec files (JSON with `//` comments) and their version ranges.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export type MessageType = 'request' | 'response' | 'header' | 'data';

/** One field as written in a spec file (the `about` text is never read on purpose). */
export interface RawField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  flexibleVersions?: string;
  fields?: RawField[];
}

export interface RawStruct {
  name: string;
  versions?: string;
  fields: RawField[];
}

export interface RawMessage {
  file: string;
  apiKey?: number;
  type: MessageType;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  latestVersionUnstable?: boolean;
  listeners?: string[];
  fields: RawField[];
  commonStructs?: RawStruct[];
}

/** Removes `//` line comments that are outside string literals. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

export function loadSpecs(dir: string): RawMessage[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((file) => {
    const json = JSON.parse(stripComments(readFileSync(join(dir, file), 'utf8'))) as Omit<RawMessage, 'file'>;
    return { file, ...json };
  });
}

/** An inclusive version range; `hi` may be Infinity ("N+"); `null` is the empty range ("none"). */
export interface Range {
  lo: number;
  hi: number;
}

export function parseRange(s: string | undefined): Range | null {
  if (s === undefined || s === 'none' || s === '') return null;
  const plus = /^(\d+)\+$/.exec(s);
  if (plus) return { lo: Number(plus[1]), hi: Infinity };
  const span = /^(\d+)-(\d+)$/.exec(s);
  if (span) return { lo: Number(span[1]), hi: Number(span[2]) };
  const one = /^(\d+)$/.exec(s);
  if (one) return { lo: Number(one[1]), hi: Number(one[1]) };
  throw new Error(`bad version range ${JSON.stringify(s)}`);
}

/** The versions of `universe` that lie inside the range string `s`. */
export function versionsIn(s: string | undefined, universe: readonly number[]): number[] {
  const r = parseRange(s);
  if (r === null) return [];
  return universe.filter((v) => v >= r.lo && v <= r.hi);
}
