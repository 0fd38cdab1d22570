// Small helpers shared by the generated codecs, and the types of the schema fact tables.
// Hand-written; the generated codecs in protocol/generated/ import it.

import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export { ZERO_UUID } from './uuid.js';

/** Facts about one field of a message, as given by the spec (no prose). */
export interface FieldSchema {
  /** Spec name, e.g. 'TopicData'. */
  name: string;
  /** Property name in the generated interface, e.g. 'topicData'. */
  prop: string;
  /** Spec type: 'int32', 'string', '[]int32', '[]TopicProduceData', 'LeaderIdAndEpoch', ... */
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  /** Field-level override of the message's flexible versions ('none' for RequestHeader.ClientId). */
  flexibleVersions?: string;
  default?: string | number | boolean;
  /** Fields of the struct (or of the array's element struct). */
  fields?: FieldSchema[];
}

export interface MessageSchema {
  name: string;
  type: string;
  apiKey?: number;
  validVersions: string;
  flexibleVersions: string;
  latestVersionUnstable?: boolean;
  fields: FieldSchema[];
}

export type ItemReader<T> = (r: Reader, version: number) => T;
export type ItemWriter<T> = (w: Writer, value: T, version: number) => void;
export type TaggedWriter = readonly [number, (w: Writer) => void];

export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

/** `x`, or `d` when x is undefined (null is kept). */
export function dflt<T>(x: T | undefined, d: T): T {
  return x === undefined ? d : x;
}

export function readArray<T>(r: Reader, n: number, item: ItemReader<T>, version: number): T[] {
  const a: T[] = [];
  if (n < 0) {
    r.fail('null array where non-nullable expected');
    return a;
  }
  for (let i = 0; i < n && r.error === undefined; i++) a.push(item(r, version));
  return a;
}

export function readNullableArray<T>(r: Reader, n: number, item: ItemReader<T>, version: number): T[] | null {
  if (n < 0) return null;
  const a: T[] = [];
  for (let i = 0; i < n && r.error === undefined; i++) a.push(item(r, version));
  return a;
}

export function writeArray<T>(
  w: Writer,
  compact: boolean,
  a: ReadonlyArray<T>,
  item: ItemWriter<T>,
  version: number,
): void {
  if (compact) w.compactArrayLength(a.length);
  else w.arrayLength(a.length);
  for (let i = 0; i < a.length; i++) item(w, a[i]!, version);
}

export function writeNullableArray<T>(
  w: Writer,
  compact: boolean,
  a: ReadonlyArray<T> | null,
  item: ItemWriter<T>,
  version: number,
): void {
  if (a === null) {
    if (compact) w.compactArrayLength(null);
    else w.arrayLength(null);
    return;
  }
  writeArray(w, compact, a, item, version);
}

/** Nullable struct: int8 marker, -1 = null, 1 = present. */
export function writeNullableStruct<T>(w: Writer, s: T | null, item: ItemWriter<T>, version: number): void {
  if (s === null) {
    w.int8(-1);
    return;
  }
  w.int8(1);
  item(w, s, version);
}

// Element readers and writers for arrays of primitives.
export const rdBool: ItemReader<boolean> = (r) => r.bool();
export const rdInt8: ItemReader<number> = (r) => r.int8();
export const rdInt16: ItemReader<number> = (r) => r.int16();
export const rdUint16: ItemReader<number> = (r) => r.uint16();
export const rdInt32: ItemReader<number> = (r) => r.int32();
export const rdUint32: ItemReader<number> = (r) => r.uint32();
export const rdInt64: ItemReader<bigint> = (r) => r.int64();
export const rdFloat64: ItemReader<number> = (r) => r.float64();
export const rdUuid: ItemReader<string> = (r) => r.uuid();
export const rdString: ItemReader<string> = (r) => r.string();
export const rdCompactString: ItemReader<string> = (r) => r.compactString();
export const rdBytes: ItemReader<Buffer> = (r) => r.bytes();
export const rdCompactBytes: ItemReader<Buffer> = (r) => r.compactBytes();

export const wrBool: ItemWriter<boolean> = (w, v) => w.bool(v);
export const wrInt8: ItemWriter<number> = (w, v) => w.int8(v);
export const wrInt16: ItemWriter<number> = (w, v) => w.int16(v);
export const wrUint16: ItemWriter<number> = (w, v) => w.uint16(v);
export const wrInt32: ItemWriter<number> = (w, v) => w.int32(v);
export const wrUint32: ItemWriter<number> = (w, v) => w.uint32(v);
export const wrInt64: ItemWriter<bigint> = (w, v) => w.int64(v);
export const wrFloat64: ItemWriter<number> = (w, v) => w.float64(v);
export const wrUuid: ItemWriter<string> = (w, v) => w.uuid(v);
export const wrString: ItemWriter<string> = (w, v) => w.string(v ?? '');
export const wrCompactString: ItemWriter<string> = (w, v) => w.compactString(v ?? '');
export const wrBytes: ItemWriter<Uint8Array> = (w, v) => w.bytes(v ?? EMPTY_BUFFER);
export const wrCompactBytes: ItemWriter<Uint8Array> = (w, v) => w.compactBytes(v ?? EMPTY_BUFFER);
