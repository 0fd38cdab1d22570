// Writer: appends into a growable buffer. `finish()` returns a view of what was written.
// It can also write into a caller's preallocated buffer (pass it to the constructor); it grows
// (copies) only if that buffer turns out too small.
//
// A writer made with `Writer.withViews()` does not copy large `records` fields (a Fetch
// response's stored batches): it keeps a reference to them, and `chunks()` returns what was
// written as a list of buffers (its own bytes between those records) to be written to the socket
// one after the other (cork/writev). The records must not change until the chunks are written;
// stored batches never change once appended.

import { uuidToBytes } from './uuid.js';

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Records fields from this size on are referenced by a `withViews()` writer, smaller ones copied:
 * below it a copy costs less than one more buffer for the socket to gather.
 */
export const MIN_RECORDS_VIEW_BYTES = 4096;

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length));

export class Writer {
  buf: Buffer;
  offset: number;
  /** `withViews()` writers: each referenced records field, after the first `at` bytes of `buf`. */
  private views: Array<{ at: number; bytes: Buffer }> | undefined;
  private viewBytes = 0;

  constructor(initial: number | Buffer = 256, offset = 0) {
    this.buf = typeof initial === 'number' ? Buffer.allocUnsafe(initial) : initial;
    this.offset = offset;
  }

  /** A writer that references large records fields instead of copying them (see `chunks()`). */
  static withViews(initial = 256): Writer {
    const w = new Writer(initial);
    w.views = [];
    return w;
  }

  /** Bytes written so far, referenced records included (`offset` counts only the writer's own). */
  get length(): number {
    return this.offset + this.viewBytes;
  }

  private ensure(n: number): void {
    const need = this.offset + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2 || 64;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  /**
   * The bytes written so far as one buffer: a view, not a copy (unless records were referenced:
   * then they are copied together; use `chunks()` to avoid that).
   */
  finish(): Buffer {
    if (this.viewBytes === 0) return this.buf.subarray(0, this.offset);
    return Buffer.concat(this.chunks(), this.length);
  }

  /**
   * The bytes written so far as buffers in order: views of the writer's own buffer between the
   * referenced records fields, and those records themselves (the caller's memory, not copies).
   * One chunk when nothing was referenced.
   */
  chunks(): Buffer[] {
    const views = this.views;
    if (views === undefined || views.length === 0) return [this.buf.subarray(0, this.offset)];
    const out: Buffer[] = [];
    let from = 0;
    for (const v of views) {
      if (v.at > from) out.push(this.buf.subarray(from, v.at));
      out.push(v.bytes);
      from = v.at;
    }
    if (this.offset > from) out.push(this.buf.subarray(from, this.offset));
    return out;
  }

  /** Reserve n bytes and return their position (e.g. for a size prefix patched later). */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.offset;
    this.offset += n;
    return at;
  }

  bool(v: boolean): void {
    this.int8(v ? 1 : 0);
  }

  int8(v: number): void {
    this.ensure(1);
    this.offset = this.buf.writeInt8(v, this.offset);
  }

  int16(v: number): void {
    this.ensure(2);
    this.offset = this.buf.writeInt16BE(v, this.offset);
  }

  uint16(v: number): void {
    this.ensure(2);
    this.offset = this.buf.writeUInt16BE(v, this.offset);
  }

  int32(v: number): void {
    this.ensure(4);
    this.offset = this.buf.writeInt32BE(v, this.offset);
  }

  uint32(v: number): void {
    this.ensure(4);
    this.offset = this.buf.writeUInt32BE(v, this.offset);
  }

  int64(v: bigint): void {
    this.ensure(8);
    this.offset = this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.offset);
  }

  float64(v: number): void {
    this.ensure(8);
    this.offset = this.buf.writeDoubleBE(v, this.offset);
  }

  uvarint(v: number): void {
    this.ensure(5);
    let n = v >>> 0;
    while (n >= 0x80) {
      this.buf[this.offset++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.offset++] = n;
  }

  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  uvarlong(v: bigint): void {
    this.ensure(10);
    let n = BigInt.asUintN(64, v);
    while (n >= 0x80n) {
      this.buf[this.offset++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.offset++] = Number(n);
  }

  varlong(v: bigint): void {
    const x = BigInt.asIntN(64, v);
    this.uvarlong((x << 1n) ^ (x >> 63n));
  }

  uuid(v: string): void {
    this.raw(uuidToBytes(v));
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.offset);
    this.offset += b.length;
  }

  private utf8(s: string, len: number): void {
    this.ensure(len);
    this.offset += this.buf.write(s, this.offset, len, 'utf8');
  }

  // ---- classic encodings ----

  string(s: string): void {
    const len = utf8Length(s);
    this.int16(len);
    this.utf8(s, len);
  }

  nullableString(s: string | null): void {
    if (s === null) this.int16(-1);
    else this.string(s);
  }

  bytes(b: Uint8Array): void {
    this.int32(b.length);
    this.raw(b);
  }

  nullableBytes(b: Uint8Array | null): void {
    if (b === null) this.int32(-1);
    else this.bytes(b);
  }

  arrayLength(n: number | null): void {
    this.int32(n === null ? -1 : n);
  }

  // ---- compact encodings ----

  compactString(s: string): void {
    const len = utf8Length(s);
    this.uvarint(len + 1);
    this.utf8(s, len);
  }

  compactNullableString(s: string | null): void {
    if (s === null) this.uvarint(0);
    else this.compactString(s);
  }

  compactBytes(b: Uint8Array): void {
    this.uvarint(b.length + 1);
    this.raw(b);
  }

  compactNullableBytes(b: Uint8Array | null): void {
    if (b === null) this.uvarint(0);
    else this.compactBytes(b);
  }

  compactArrayLength(n: number | null): void {
    this.uvarint(n === null ? 0 : n + 1);
  }

  // ---- records fields (bytes on the wire; referenced, not copied, by a withViews() writer) ----

  private recordsBody(b: Uint8Array): void {
    if (this.views === undefined || b.length < MIN_RECORDS_VIEW_BYTES) {
      this.raw(b);
      return;
    }
    this.views.push({ at: this.offset, bytes: asBuffer(b) });
    this.viewBytes += b.length;
  }

  records(b: Uint8Array): void {
    this.int32(b.length);
    this.recordsBody(b);
  }

  nullableRecords(b: Uint8Array | null): void {
    if (b === null) this.int32(-1);
    else this.records(b);
  }

  compactRecords(b: Uint8Array): void {
    this.uvarint(b.length + 1);
    this.recordsBody(b);
  }

  compactNullableRecords(b: Uint8Array | null): void {
    if (b === null) this.uvarint(0);
    else this.compactRecords(b);
  }

  /**
   * Writes a tagged-field section from (tag, write) pairs already filtered to those present,
   * in ascending tag order. Each payload is written into a scratch writer to learn its size.
   */
  taggedFields(fields: ReadonlyArray<readonly [number, (w: Writer) => void]>): void {
    this.uvarint(fields.length);
    for (const [tag, write] of fields) {
      const sub = new Writer(32);
      write(sub);
      const payload = sub.finish();
      this.uvarint(tag);
      this.uvarint(payload.length);
      this.raw(payload);
    }
  }

  /** Empty tagged-field section (the common case). */
  noTaggedFields(): void {
    this.uvarint(0);
  }
}

/** Deep-partial view of a message: encoders fill absent fields with their spec defaults. */
export type Encodable<T> = T extends Buffer | Uint8Array
  ? T
  : T extends bigint | string | number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? ReadonlyArray<Encodable<U>>
      : { [K in keyof T]?: Encodable<T[K]> };
