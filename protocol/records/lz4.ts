// LZ4 frame format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) — decoder and a
// simple greedy encoder, written from the format description. Kafka (magic 2) uses standard LZ4
// frames; the broken header checksum of Kafka's magic-0 era does not apply here.

const MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

/** xxHash32 of `data` (unsigned). */
export function xxh32(data: Uint8Array, seed = 0): number {
  const len = data.length;
  let i = 0;
  let h: number;
  const lane = (p: number): number =>
    (data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24)) >>> 0;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) >>> 0;
    let v2 = (seed + P2) >>> 0;
    let v3 = seed >>> 0;
    let v4 = (seed - P1) >>> 0;
    const limit = len - 16;
    while (i <= limit) {
      v1 = Math.imul(rotl((v1 + Math.imul(lane(i), P2)) >>> 0, 13), P1) >>> 0;
      v2 = Math.imul(rotl((v2 + Math.imul(lane(i + 4), P2)) >>> 0, 13), P1) >>> 0;
      v3 = Math.imul(rotl((v3 + Math.imul(lane(i + 8), P2)) >>> 0, 13), P1) >>> 0;
      v4 = Math.imul(rotl((v4 + Math.imul(lane(i + 12), P2)) >>> 0, 13), P1) >>> 0;
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = (seed + P5) >>> 0;
  }
  h = (h + len) >>> 0;
  while (i + 4 <= len) {
    h = Math.imul(rotl((h + Math.imul(lane(i), P3)) >>> 0, 17), P4) >>> 0;
    i += 4;
  }
  while (i < len) {
    h = Math.imul(rotl((h + Math.imul(data[i]!, P5)) >>> 0, 11), P1) >>> 0;
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, P3) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export class Lz4FormatError extends Error {
  readonly code = 'ERR_LZ4_FORMAT';
}

class Output {
  buf: Buffer;
  len = 0;
  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initial));
  }
  ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}

/** Decodes one LZ4 block from src[start, end) appending to out; earlier output is the window. */
function decodeBlock(src: Uint8Array, start: number, end: number, out: Output, maxOut: number): void {
  let ip = start;
  const limit = out.len + maxOut;
  for (;;) {
    if (ip >= end) throw new Lz4FormatError('lz4 block ends before a sequence token');
    const token = src[ip++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Lz4FormatError('lz4 literal length runs past block');
        b = src[ip++]!;
        lit += b;
      } while (b === 255);
    }
    if (ip + lit > end) throw new Lz4FormatError('lz4 literals run past block');
    if (out.len + lit > limit) throw new Lz4FormatError('lz4 block larger than its declared maximum');
    out.ensure(lit);
    out.buf.set(src.subarray(ip, ip + lit), out.len);
    out.len += lit;
    ip += lit;
    if (ip === end) return; // last sequence: literals only
    if (ip + 2 > end) throw new Lz4FormatError('lz4 match offset runs past block');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > out.len) throw new Lz4FormatError(`lz4 bad match offset ${offset}`);
    let mlen = token & 15;
    if (mlen === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Lz4FormatError('lz4 match length runs past block');
        b = src[ip++]!;
        mlen += b;
      } while (b === 255);
    }
    mlen += 4;
    if (out.len + mlen > limit) throw new Lz4FormatError('lz4 block larger than its declared maximum');
    out.ensure(mlen);
    const buf = out.buf;
    let op = out.len;
    let ref = op - offset;
    if (offset >= mlen) {
      buf.copyWithin(op, ref, ref + mlen);
      op += mlen;
    } else {
      for (let k = 0; k < mlen; k++) buf[op++] = buf[ref++]!;
    }
    out.len = op;
  }
}

const BLOCK_MAX: Readonly<Record<number, number>> = { 4: 1 << 16, 5: 1 << 18, 6: 1 << 20, 7: 1 << 22 };

/**
 * Decodes a sequence of LZ4 frames (skippable frames are skipped). Throws Lz4FormatError once the
 * output would pass `maxOutputBytes` (checked before each block: at most one block more is held).
 */
export function lz4FrameDecode(src: Buffer, maxOutputBytes = Number.POSITIVE_INFINITY): Buffer {
  const out = new Output(src.length * 3);
  let p = 0;
  while (p < src.length) {
    if (p + 4 > src.length) throw new Lz4FormatError('truncated lz4 frame magic');
    const magic = src.readUInt32LE(p);
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      if (p + 8 > src.length) throw new Lz4FormatError('truncated skippable frame');
      p += 8 + src.readUInt32LE(p + 4);
      continue;
    }
    if (magic !== MAGIC) throw new Lz4FormatError(`not an lz4 frame (magic 0x${magic.toString(16)})`);
    p += 4;
    if (p + 3 > src.length) throw new Lz4FormatError('truncated lz4 frame descriptor');
    const descStart = p;
    const flg = src[p++]!;
    const bd = src[p++]!;
    if (flg >>> 6 !== 1) throw new Lz4FormatError(`unsupported lz4 frame version ${flg >>> 6}`);
    const blockChecksum = (flg & 0x10) !== 0;
    const hasContentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const hasDictId = (flg & 0x01) !== 0;
    const blockMax = BLOCK_MAX[(bd >>> 4) & 7];
    if (blockMax === undefined) throw new Lz4FormatError(`bad lz4 block max size id ${(bd >>> 4) & 7}`);
    if (hasContentSize) p += 8;
    if (hasDictId) throw new Lz4FormatError('lz4 frames with a dictionary id are not supported');
    if (p >= src.length) throw new Lz4FormatError('truncated lz4 frame descriptor');
    const hc = src[p]!;
    const expected = (xxh32(src.subarray(descStart, p)) >>> 8) & 0xff;
    if (hc !== expected) throw new Lz4FormatError('lz4 frame descriptor checksum mismatch');
    p++;
    for (;;) {
      if (p + 4 > src.length) throw new Lz4FormatError('truncated lz4 block size');
      const word = src.readUInt32LE(p);
      p += 4;
      if (word === 0) break; // end mark
      const size = word & 0x7fffffff;
      const uncompressed = (word & 0x80000000) !== 0;
      if (size > blockMax || p + size > src.length) throw new Lz4FormatError('lz4 block size out of range');
      if (out.len + (uncompressed ? size : blockMax) > maxOutputBytes && out.len + size > maxOutputBytes) {
        throw new Lz4FormatError(`lz4 output exceeds ${maxOutputBytes} bytes`);
      }
      if (uncompressed) {
        out.ensure(size);
        out.buf.set(src.subarray(p, p + size), out.len);
        out.len += size;
      } else {
        decodeBlock(src, p, p + size, out, blockMax);
        if (out.len > maxOutputBytes) throw new Lz4FormatError(`lz4 output exceeds ${maxOutputBytes} bytes`);
      }
      p += size;
      if (blockChecksum) p += 4;
    }
    if (contentChecksum) p += 4;
    if (p > src.length) throw new Lz4FormatError('truncated lz4 frame');
  }
  return out.buf.subarray(0, out.len);
}

// ---------------------------------------------------------------------------------------------
// Encoder: independent 64 KiB blocks, greedy hash-chain-free matching (LZ4 "fast" style).

const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const HASH_LOG = 14;
const ENC_BLOCK = 1 << 16;

function writeLength(dst: Buffer, op: number, n: number): number {
  while (n >= 255) {
    dst[op++] = 255;
    n -= 255;
  }
  dst[op++] = n;
  return op;
}

/** Compresses src[start,end) as one LZ4 block into dst at op; returns the new op, or -1 if it did not fit. */
function encodeBlock(src: Buffer, start: number, end: number, dst: Buffer, op: number, table: Int32Array): number {
  const opLimit = dst.length;
  table.fill(-1);
  let anchor = start;
  let ip = start;
  const matchStartLimit = end - MF_LIMIT; // a match must start at least 12 bytes before the end
  const matchEndLimit = end - LAST_LITERALS; // ... and leave 5 literal bytes
  const emit = (litEnd: number, matchLen: number, offset: number): boolean => {
    const lit = litEnd - anchor;
    // worst case bytes: token + lit length bytes + literals + offset + match length bytes
    if (op + 1 + ((lit / 255) | 0) + 1 + lit + 2 + ((matchLen / 255) | 0) + 1 > opLimit) return false;
    const tokenAt = op++;
    let token: number;
    if (lit >= 15) {
      token = 15 << 4;
      op = writeLength(dst, op, lit - 15);
    } else {
      token = lit << 4;
    }
    src.copy(dst, op, anchor, litEnd);
    op += lit;
    if (matchLen > 0) {
      dst[op++] = offset & 0xff;
      dst[op++] = offset >>> 8;
      const m = matchLen - MIN_MATCH;
      if (m >= 15) {
        token |= 15;
        op = writeLength(dst, op, m - 15);
      } else {
        token |= m;
      }
    }
    dst[tokenAt] = token;
    return true;
  };
  if (end - start >= MF_LIMIT + 1) {
    while (ip <= matchStartLimit) {
      const seq = src.readUInt32LE(ip);
      const h = Math.imul(seq, 2654435761) >>> (32 - HASH_LOG);
      const ref = table[h]!;
      table[h] = ip;
      if (ref >= start && ip - ref <= 0xffff && src.readUInt32LE(ref) === seq) {
        let s = ip;
        let r = ref;
        while (s > anchor && r > start && src[s - 1] === src[r - 1]) {
          s--;
          r--;
        }
        let e = ip + MIN_MATCH;
        let re = ref + MIN_MATCH;
        while (e < matchEndLimit && src[e] === src[re]) {
          e++;
          re++;
        }
        if (!emit(s, e - s, s - r)) return -1;
        anchor = e;
        ip = e;
      } else {
        ip++;
      }
    }
  }
  if (!emit(end, 0, 0)) return -1;
  return op;
}

/** Encodes `src` as one LZ4 frame (64 KiB independent blocks, no checksums except the header's). */
export function lz4FrameEncode(src: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(src.length / ENC_BLOCK));
  // header 7 + per block (size word + at most the raw block) + end mark
  const dst = Buffer.allocUnsafe(7 + blocks * (4 + ENC_BLOCK) + 4);
  dst.writeUInt32LE(MAGIC, 0);
  dst[4] = 0x60; // version 01, block independence
  dst[5] = 0x40; // 64 KiB max block
  dst[6] = (xxh32(dst.subarray(4, 6)) >>> 8) & 0xff;
  let op = 7;
  const table = new Int32Array(1 << HASH_LOG);
  for (let start = 0; start < src.length; start += ENC_BLOCK) {
    const end = Math.min(src.length, start + ENC_BLOCK);
    const raw = end - start;
    // Try to compress into the space a raw block would take; fall back to a raw block.
    const window = dst.subarray(0, op + 4 + raw - 1);
    const next = encodeBlock(src, start, end, window, op + 4, table);
    if (next > 0) {
      dst.writeUInt32LE(next - op - 4, op);
      op = next;
    } else {
      dst.writeUInt32LE((raw | 0x80000000) >>> 0, op);
      src.copy(dst, op + 4, start, end);
      op += 4 + raw;
    }
  }
  dst.writeUInt32LE(0, op);
  op += 4;
  return dst.subarray(0, op);
}
