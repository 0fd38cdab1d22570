// Record-batch compression codecs: gzip (zlib), snappy (raw and xerial-framed, native `snappy`),
// lz4 (frame format, our own codec in lz4.ts), zstd (node:zlib where the runtime has it, Node
// 22.15+ / 23.8+; otherwise the `@toondepauw/node-zstd` package: libzstd through Node-API, its
// prebuilt binaries shipped in per-platform registry packages, no install script).

import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import { COMPRESSION_NAMES, Compression } from './constants.js';
import { lz4FrameDecode, lz4FrameEncode } from './lz4.js';

export class UnsupportedCompressionError extends Error {
  readonly code = 'ERR_UNSUPPORTED_COMPRESSION';
  readonly compression: number;
  constructor(compression: number, message: string) {
    super(message);
    this.compression = compression;
  }
}

type SnappyModule = {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, opts?: { asBuffer?: boolean }): string | Buffer;
};

const require = createRequire(import.meta.url);

// node:zlib is loaded on first use (gzip or zstd batches): a broker whose clients never compress
// with them does not keep it in memory.
let zlibModule: typeof Zlib | undefined;
function zlib(): typeof Zlib {
  return (zlibModule ??= require('node:zlib') as typeof Zlib);
}
let snappyModule: SnappyModule | null | undefined;
let snappyLoadError: unknown;

function snappy(): SnappyModule {
  if (snappyModule === undefined) {
    try {
      snappyModule = require('snappy') as SnappyModule;
    } catch (err) {
      snappyModule = null;
      snappyLoadError = err;
    }
  }
  if (snappyModule === null) {
    throw new UnsupportedCompressionError(
      Compression.SNAPPY,
      `snappy codec unavailable: ${(snappyLoadError as Error)?.message ?? 'native module failed to load'}`,
    );
  }
  return snappyModule;
}

// ---- snappy xerial framing (what the Java client's snappy-java SnappyOutputStream writes) ----
// 8-byte magic 0x82 'SNAPPY' 0x00, int32 version, int32 min-compatible version, then chunks of
// int32 compressed length + raw snappy block.

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
const XERIAL_BLOCK = 32 * 1024;

export function isXerialSnappy(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_SIZE && data.subarray(0, 8).equals(XERIAL_MAGIC);
}

/** A raw snappy block's uncompressed length: the varint that starts it (undefined if malformed). */
function snappyLength(data: Uint8Array): number | undefined {
  let n = 0;
  for (let i = 0, shift = 1; i < 5 && i < data.length; i++, shift *= 128) {
    const b = data[i]!;
    n += (b & 0x7f) * shift;
    if ((b & 0x80) === 0) return n;
  }
  return undefined;
}

function snappyUncompress(data: Uint8Array, max: number): Buffer {
  const n = snappyLength(data);
  if (n !== undefined && n > max) throw new DecompressedSizeError(`snappy output of ${n} bytes exceeds ${max}`);
  const out = snappy().uncompressSync(data, { asBuffer: true });
  return typeof out === 'string' ? Buffer.from(out) : out;
}

function xerialDecode(data: Buffer, max: number): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  let p = XERIAL_HEADER_SIZE;
  while (p < data.length) {
    // snappy-java also reads concatenated streams: a new magic header may start at a chunk boundary.
    if (data.length - p >= XERIAL_HEADER_SIZE && data.subarray(p, p + 8).equals(XERIAL_MAGIC)) {
      p += XERIAL_HEADER_SIZE;
      continue;
    }
    if (p + 4 > data.length) throw new Error('truncated xerial snappy chunk header');
    const n = data.readInt32BE(p);
    p += 4;
    if (n < 0 || p + n > data.length) throw new Error(`xerial snappy chunk length ${n} out of range`);
    const part = snappyUncompress(data.subarray(p, p + n), max - total);
    total += part.length;
    parts.push(part);
    p += n;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function xerialEncode(data: Buffer): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const parts: Buffer[] = [header];
  for (let p = 0; p < data.length; p += XERIAL_BLOCK) {
    const chunk = snappy().compressSync(data.subarray(p, Math.min(data.length, p + XERIAL_BLOCK)));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(chunk.length, 0);
    parts.push(len, chunk);
  }
  return Buffer.concat(parts);
}

// ---- zstd ----
// Frames are read by zstdFrames() before either implementation sees them: it bounds the output
// (a decompression-bomb guard; the package has no output limit of its own) and rejects truncated
// or trailing data, which Node 22's zlib zstd (checked on 22.23.5) decodes silently to partial or
// empty output; that zlib also stops after the first of several frames, so it gets one at a time.

/**
 * Largest output a zstd decompression may produce by default (100 MiB, Brook's
 * `socket.request.max.bytes` default; librdkafka caps zstd output at its receive.message.max.bytes,
 * 100 MB by default). A zstd frame can expand by more than 30,000:1 (an RLE block is 4 bytes for
 * 128 KiB), so a 1 MiB batch could otherwise ask for tens of GiB.
 */
export const ZSTD_MAX_DECOMPRESSED_BYTES = 100 * 1024 * 1024;
/** Largest decompressed records section of one batch, every codec (a decompression bomb fails). */
export const MAX_DECOMPRESSED_BYTES = ZSTD_MAX_DECOMPRESSED_BYTES;

/** Compressed data that would decompress to more than the allowed maximum. */
export class DecompressedSizeError extends Error {
  readonly code = 'ERR_DECOMPRESSED_SIZE';
}

/** Malformed or truncated zstd frames (found from the headers, before decompressing). */
export class ZstdFormatError extends Error {}

/** One zstd implementation; both directions are synchronous. */
export interface ZstdCodec {
  readonly name: 'node:zlib' | '@toondepauw/node-zstd';
  compress(data: Buffer, level?: number): Buffer;
  /**
   * Throws DecompressedSizeError when the output would exceed `maxOutputBytes` (default
   * ZSTD_MAX_DECOMPRESSED_BYTES), ZstdFormatError on malformed frame headers or trailing data.
   */
  decompress(data: Buffer, maxOutputBytes?: number): Buffer;
}

type ZlibZstd = {
  zstdCompressSync?: (buf: Uint8Array, opts?: { params?: Record<number, number> }) => Buffer;
  zstdDecompressSync?: (buf: Uint8Array, opts?: { maxOutputLength?: number }) => Buffer;
  constants: { ZSTD_c_compressionLevel?: number };
};
type ZstdPackage = {
  Encoder: new (level: number) => { encodeSync(data: Buffer): Buffer };
  Decoder: new () => { decodeSync(data: Buffer): Buffer };
};

/** Kafka's default `compression.zstd.level` (also zstd's own default). */
const ZSTD_DEFAULT_LEVEL = 3;

function tooLarge(max: number, what: string): DecompressedSizeError {
  return new DecompressedSizeError(`zstd data ${what} more than the ${max}-byte maximum`);
}

/** The frames of `data`, checked against `max` before anything is decompressed. */
function checkedFrames(data: Buffer, max: number): ZstdFrame[] {
  const frames = zstdFrames(data, max);
  if (frames.bound > max) throw tooLarge(max, 'declares');
  return frames.frames;
}

let zlibZstdCodecMemo: ZstdCodec | null | undefined;

/** node:zlib's zstd (Node 22.15+, 23.8+), or null. */
function zlibZstdCodec(): ZstdCodec | null {
  if (zlibZstdCodecMemo === undefined) zlibZstdCodecMemo = makeZlibZstdCodec(zlib() as unknown as ZlibZstd);
  return zlibZstdCodecMemo;
}

function makeZlibZstdCodec(zlibZstd: ZlibZstd): ZstdCodec | null {
  return typeof zlibZstd.zstdCompressSync === 'function' && typeof zlibZstd.zstdDecompressSync === 'function'
    ? {
        name: 'node:zlib',
        compress(data, level) {
          const param = zlibZstd.constants.ZSTD_c_compressionLevel;
          if (level === undefined || param === undefined) return zlibZstd.zstdCompressSync!(data);
          return zlibZstd.zstdCompressSync!(data, { params: { [param]: level } });
        },
        decompress(data, max = ZSTD_MAX_DECOMPRESSED_BYTES) {
          const frames = checkedFrames(data, max);
          const parts: Buffer[] = [];
          let total = 0;
          for (const f of frames) {
            const room = max - total;
            let out: Buffer;
            try {
              out = zlibZstd.zstdDecompressSync!(data.subarray(f.start, f.end), { maxOutputLength: Math.max(1, room) });
            } catch (err) {
              if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(max, 'decompresses to');
              throw err;
            }
            if (out.length > room) throw tooLarge(max, 'decompresses to');
            if (f.contentSize !== undefined && out.length !== f.contentSize) {
              throw new ZstdFormatError(`zstd frame declares ${f.contentSize} bytes but decompresses to ${out.length}`);
            }
            total += out.length;
            parts.push(out);
          }
          return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
        },
      }
    : null;
}

let zstdPackageCodec: ZstdCodec | null | undefined;
let zstdPackageLoadError: unknown;

function loadZstdPackage(): ZstdCodec | null {
  if (zstdPackageCodec !== undefined) return zstdPackageCodec;
  try {
    const m = require('@toondepauw/node-zstd') as ZstdPackage;
    const decoder = new m.Decoder();
    const encoders = new Map<number, { encodeSync(data: Buffer): Buffer }>();
    zstdPackageCodec = {
      name: '@toondepauw/node-zstd',
      compress(data, level = ZSTD_DEFAULT_LEVEL) {
        let enc = encoders.get(level);
        if (enc === undefined) encoders.set(level, (enc = new m.Encoder(level)));
        return enc.encodeSync(data);
      },
      decompress(data, max = ZSTD_MAX_DECOMPRESSED_BYTES) {
        // The package decodes every frame to the end with no output limit: the bound from the
        // headers (enforced by libzstd while decoding) keeps it under `max`.
        checkedFrames(data, max);
        const out = decoder.decodeSync(data);
        if (out.length > max) throw tooLarge(max, 'decompresses to');
        return out;
      },
    };
  } catch (err) {
    zstdPackageCodec = null;
    zstdPackageLoadError = err;
  }
  return zstdPackageCodec;
}

/** The zstd implementations this runtime has, preferred first (node:zlib, then the package). */
export function zstdCodecs(): ZstdCodec[] {
  return [zlibZstdCodec(), loadZstdPackage()].filter((c): c is ZstdCodec => c !== null);
}

function zstd(): ZstdCodec {
  const codec = zlibZstdCodec() ?? loadZstdPackage();
  if (codec === null) {
    throw new UnsupportedCompressionError(
      Compression.ZSTD,
      `zstd codec unavailable: this Node.js has no zlib zstd and @toondepauw/node-zstd failed to load: ${
        (zstdPackageLoadError as Error)?.message ?? 'unknown error'
      }`,
    );
  }
  return codec;
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE_MAGIC = 0x184d2a50;
const ZSTD_BLOCK_MAX = 128 * 1024;

/** One zstd frame (skippable frames are not listed): its bytes and its declared size, if any. */
export interface ZstdFrame {
  start: number;
  end: number;
  contentSize?: number;
}

/**
 * Walks the frame and block headers of `data` without decompressing (RFC 8878) and returns its
 * frames with an upper bound of their output: a frame's declared content size when it has one,
 * else the sum over its blocks (raw: its size, RLE: its size, compressed: the frame's block
 * maximum, min(window size, 128 KiB)). libzstd refuses a frame whose output differs from its
 * declared size or a block larger than its maximum, so the bound holds whatever the blocks hold.
 * Stops early (bound > stopAbove, frames incomplete) once the bound passes `stopAbove`.
 * Throws ZstdFormatError on empty, truncated or trailing data and malformed headers.
 */
export function zstdFrames(data: Buffer, stopAbove = Infinity): { frames: ZstdFrame[]; bound: number } {
  const frames: ZstdFrame[] = [];
  let bound = 0;
  let p = 0;
  const need = (n: number, what: string) => {
    if (p + n > data.length) throw new ZstdFormatError(`truncated zstd ${what}`);
  };
  if (data.length === 0) throw new ZstdFormatError('empty zstd input');
  while (p < data.length) {
    const start = p;
    need(4, 'frame magic');
    const magic = data.readUInt32LE(p);
    p += 4;
    if (((magic & ZSTD_SKIPPABLE_MASK) >>> 0) === ZSTD_SKIPPABLE_MAGIC) {
      need(4, 'skippable frame size');
      const size = data.readUInt32LE(p);
      p += 4;
      need(size, 'skippable frame');
      p += size;
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new ZstdFormatError(`not a zstd frame (magic 0x${magic.toString(16)} at byte ${start})`);
    need(1, 'frame header');
    const fhd = data[p++]!;
    const singleSegment = (fhd & 0x20) !== 0;
    if ((fhd & 0x08) !== 0) throw new ZstdFormatError('zstd frame header reserved bit set');
    const hasChecksum = (fhd & 0x04) !== 0;
    let windowSize = Infinity;
    if (!singleSegment) {
      need(1, 'window descriptor');
      const wd = data[p++]!;
      const windowBase = 2 ** (10 + (wd >>> 3));
      windowSize = windowBase + (windowBase / 8) * (wd & 7);
    }
    const dictIdBytes = [0, 1, 2, 4][fhd & 3]!;
    need(dictIdBytes, 'dictionary id');
    p += dictIdBytes;
    const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fhd >>> 6]!;
    need(fcsBytes, 'frame content size');
    let contentSize: number | undefined;
    if (fcsBytes === 1) contentSize = data[p]!;
    else if (fcsBytes === 2) contentSize = data.readUInt16LE(p) + 256;
    else if (fcsBytes === 4) contentSize = data.readUInt32LE(p);
    else if (fcsBytes === 8) contentSize = Number(data.readBigUInt64LE(p));
    p += fcsBytes;
    if (contentSize !== undefined && bound + contentSize > stopAbove) return { frames, bound: bound + contentSize };
    if (singleSegment) windowSize = contentSize!;
    const blockMax = Math.min(windowSize, ZSTD_BLOCK_MAX);
    let blocksBound = 0;
    for (;;) {
      need(3, 'block header');
      const bh = data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16);
      p += 3;
      const type = (bh >>> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) throw new ZstdFormatError('reserved zstd block type');
      if (type === 1) {
        need(1, 'RLE block');
        p += 1;
        blocksBound += size;
      } else {
        need(size, type === 0 ? 'raw block' : 'compressed block');
        p += size;
        blocksBound += type === 0 ? size : blockMax;
      }
      if (contentSize === undefined && bound + blocksBound > stopAbove) return { frames, bound: bound + blocksBound };
      if ((bh & 1) !== 0) break; // last block
    }
    if (hasChecksum) {
      need(4, 'frame checksum');
      p += 4;
    }
    bound += contentSize ?? blocksBound;
    frames.push(contentSize === undefined ? { start, end: p } : { start, end: p, contentSize });
  }
  return { frames, bound };
}

/** An upper bound of what `data` decompresses to (see zstdFrames). */
export function zstdDecompressedBound(data: Buffer, stopAbove = Infinity): number {
  return zstdFrames(data, stopAbove).bound;
}

export interface CompressOptions {
  /** Snappy container: 'xerial' (default; what the Java producer writes, read by every client) or 'raw'. */
  snappyFraming?: 'xerial' | 'raw';
  /** gzip level (default zlib's). */
  gzipLevel?: number;
  /** zstd level (default 3, Kafka's `compression.zstd.level` default). */
  zstdLevel?: number;
}

export interface DecompressOptions {
  /** Largest output allowed (default MAX_DECOMPRESSED_BYTES); more throws (DecompressedSizeError for gzip, snappy and zstd). */
  maxOutputBytes?: number;
}

function codecName(codec: number): string {
  return COMPRESSION_NAMES[codec] ?? `codec ${codec}`;
}

/** Whether this runtime can compress / decompress with `codec`. */
export function compressionSupport(codec: number): { compress: boolean; decompress: boolean } {
  switch (codec) {
    case Compression.NONE:
    case Compression.GZIP:
    case Compression.LZ4:
      return { compress: true, decompress: true };
    case Compression.SNAPPY:
      try {
        snappy();
        return { compress: true, decompress: true };
      } catch {
        return { compress: false, decompress: false };
      }
    case Compression.ZSTD: {
      const ok = zlibZstdCodec() !== null || loadZstdPackage() !== null;
      return { compress: ok, decompress: ok };
    }
    default:
      return { compress: false, decompress: false };
  }
}

/** Compresses a records section with `codec`. Throws UnsupportedCompressionError if unavailable. */
export function compress(codec: number, data: Buffer, opts: CompressOptions = {}): Buffer {
  switch (codec) {
    case Compression.NONE:
      return data;
    case Compression.GZIP:
      return zlib().gzipSync(data, opts.gzipLevel === undefined ? {} : { level: opts.gzipLevel });
    case Compression.SNAPPY:
      return opts.snappyFraming === 'raw' ? snappy().compressSync(data) : xerialEncode(data);
    case Compression.LZ4:
      return lz4FrameEncode(data);
    case Compression.ZSTD:
      return zstd().compress(data, opts.zstdLevel);
    default:
      throw new UnsupportedCompressionError(codec, `unknown compression ${codecName(codec)}`);
  }
}

/**
 * Decompresses a records section compressed with `codec`. Snappy accepts raw and xerial-framed
 * data; output is capped at `opts.maxOutputBytes` (default MAX_DECOMPRESSED_BYTES) for every codec.
 */
export function decompress(codec: number, data: Buffer, opts: DecompressOptions = {}): Buffer {
  const max = opts.maxOutputBytes ?? MAX_DECOMPRESSED_BYTES;
  switch (codec) {
    case Compression.NONE:
      return data;
    case Compression.GZIP:
      try {
        return zlib().gunzipSync(data, { maxOutputLength: max });
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new DecompressedSizeError(`gzip output exceeds ${max} bytes`);
        throw err;
      }
    case Compression.SNAPPY:
      return isXerialSnappy(data) ? xerialDecode(data, max) : snappyUncompress(data, max);
    case Compression.LZ4:
      return lz4FrameDecode(data, max);
    case Compression.ZSTD:
      return zstd().decompress(data, opts.maxOutputBytes);
    default:
      throw new UnsupportedCompressionError(codec, `unknown compression ${codecName(codec)}`);
  }
}
