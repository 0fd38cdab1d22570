// Writer: appends into a growable buffer. `finish()` returns a view of what was written.
// It can also write into a caller's preallocated buffer (pass it to the constructor); it grows
// (copies) only if that buffer turns out too small.

import { uuidToBytes } from './uuid.js';

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

export class Writer {
  buf: Buffer;
  offset: number;

  constructor(initial: number | Buffer = 256, offset = 0) {
    this.buf = typeof initial === 'number' ? Buffer.allocUnsafe(initial) : initial;
    this.offset = offset;
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

  /** The bytes written so far (a view, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.offset);
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
