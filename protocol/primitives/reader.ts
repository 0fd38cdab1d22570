// Reader over one Kafka frame.
//
// A short or malformed read never throws in the middle of a struct: it sets a sticky error and
// returns a zero value, so generated decoders stay free of bounds checks. Call `complete()` (or
// check `error`) once at the end to learn whether the frame was well formed (franz-go kbin style).

import { uuidFromBytes } from './uuid.js';

export class ProtocolDecodeError extends Error {
  readonly code = 'ERR_PROTOCOL_DECODE';
}

/** Largest collection count we accept before allocating: a frame cannot hold more elements than bytes. */
function sane(count: number, remaining: number): boolean {
  return count <= remaining;
}

export class Reader {
  offset: number;
  error: string | undefined;
  private readonly end: number;

  constructor(readonly buf: Buffer, offset = 0, end = buf.length) {
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  fail(message: string): void {
    if (this.error === undefined) this.error = message;
    this.offset = this.end;
  }

  /** Throws ProtocolDecodeError if any read failed. */
  complete(): void {
    if (this.error !== undefined) throw new ProtocolDecodeError(this.error);
  }

  private take(n: number): number {
    const at = this.offset;
    if (n < 0 || at + n > this.end) {
      this.fail(`short read: need ${n} bytes at ${at}, have ${this.end - at}`);
      return -1;
    }
    this.offset = at + n;
    return at;
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.buf.readInt8(at);
  }

  int16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.buf.readInt16BE(at);
  }

  uint16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.buf.readUInt16BE(at);
  }

  int32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.buf.readInt32BE(at);
  }

  uint32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.buf.readUInt32BE(at);
  }

  int64(): bigint {
    const at = this.take(8);
    return at < 0 ? 0n : this.buf.readBigInt64BE(at);
  }

  float64(): number {
    const at = this.take(8);
    return at < 0 ? 0 : this.buf.readDoubleBE(at);
  }

  /** Unsigned LEB128 varint, at most 5 bytes (32 bits). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.offset >= this.end) {
        this.fail('short read in varint');
        return 0;
      }
      const b = this.buf[this.offset++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    this.fail('varint too long');
    return 0;
  }

  /** Zig-zag signed varint (32 bits). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Unsigned varint up to 10 bytes (64 bits) as bigint. */
  uvarlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) {
        this.fail('short read in varlong');
        return 0n;
      }
      const b = this.buf[this.offset++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    this.fail('varlong too long');
    return 0n;
  }

  /** Zig-zag signed varlong (64 bits). */
  varlong(): bigint {
    const u = this.uvarlong();
    return (u >> 1n) ^ -(u & 1n);
  }

  uuid(): string {
    const at = this.take(16);
    return at < 0 ? uuidFromBytes(Buffer.alloc(16)) : uuidFromBytes(this.buf.subarray(at, at + 16));
  }

  /** Raw bytes view (no copy). */
  raw(n: number): Buffer {
    const at = this.take(n);
    return at < 0 ? Buffer.alloc(0) : this.buf.subarray(at, at + n);
  }

  // ---- classic (non-flexible) encodings ----

  string(): string {
    const n = this.int16();
    if (n < 0) {
      this.fail('null string where non-nullable expected');
      return '';
    }
    return this.raw(n).toString('utf8');
  }

  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    return this.raw(n).toString('utf8');
  }

  bytes(): Buffer {
    const n = this.int32();
    if (n < 0) {
      this.fail('null bytes where non-nullable expected');
      return Buffer.alloc(0);
    }
    return this.raw(n);
  }

  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    return this.raw(n);
  }

  /** Array length, -1 for null. Fails on counts larger than the remaining bytes. */
  arrayLength(): number {
    const n = this.int32();
    if (n < -1 || (n > 0 && !sane(n, this.remaining))) {
      this.fail(`bad array length ${n}`);
      return -1;
    }
    return n;
  }

  // ---- compact (flexible) encodings: lengths are uvarint(N+1), 0 = null ----

  compactString(): string {
    const n = this.uvarint() - 1;
    if (n < 0) {
      this.fail('null compact string where non-nullable expected');
      return '';
    }
    return this.raw(n).toString('utf8');
  }

  compactNullableString(): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    return this.raw(n).toString('utf8');
  }

  compactBytes(): Buffer {
    const n = this.uvarint() - 1;
    if (n < 0) {
      this.fail('null compact bytes where non-nullable expected');
      return Buffer.alloc(0);
    }
    return this.raw(n);
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    return this.raw(n);
  }

  /** Compact array length, -1 for null. */
  compactArrayLength(): number {
    const n = this.uvarint() - 1;
    if (n > 0 && !sane(n, this.remaining)) {
      this.fail(`bad compact array length ${n}`);
      return -1;
    }
    return n;
  }

  /**
   * Reads a tagged-field section. `onTag` is called for each tag with a Reader positioned on
   * the field's payload; it returns true if it consumed the tag. Unknown tags are skipped.
   */
  taggedFields(onTag?: (tag: number, r: Reader) => boolean): void {
    const count = this.uvarint();
    if (!sane(count, this.remaining)) {
      this.fail(`bad tagged field count ${count}`);
      return;
    }
    let last = -1;
    for (let i = 0; i < count && this.error === undefined; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      if (tag <= last) {
        this.fail('tagged fields out of order');
        return;
      }
      last = tag;
      const at = this.take(size);
      if (at < 0) return;
      if (onTag) {
        const sub = new Reader(this.buf, at, at + size);
        onTag(tag, sub);
        if (sub.error !== undefined) this.fail(`tag ${tag}: ${sub.error}`);
      }
    }
  }
}
