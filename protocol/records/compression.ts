// Record-batch compression codecs: gzip (zlib), snappy (raw and xerial-framed, native `snappy`),
// lz4 (frame format, our own codec in lz4.ts), zstd (node:zlib when the runtime has it).

import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
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

type ZstdZlib = {
  zstdCompressSync?: (buf: Uint8Array) => Buffer;
  zstdDecompressSync?: (buf: Uint8Array) => Buffer;
};
const zstdZlib = zlib as unknown as ZstdZlib;

// ---- snappy xerial framing (what the Java client's snappy-java SnappyOutputStream writes) ----
// 8-byte magic 0x82 'SNAPPY' 0x00, int32 version, int32 min-compatible version, then chunks of
// int32 compressed length + raw snappy block.

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
const XERIAL_BLOCK = 32 * 1024;

export function isXerialSnappy(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_SIZE && data.subarray(0, 8).equals(XERIAL_MAGIC);
}

function snappyUncompress(data: Uint8Array): Buffer {
  const out = snappy().uncompressSync(data, { asBuffer: true });
  return typeof out === 'string' ? Buffer.from(out) : out;
}

function xerialDecode(data: Buffer): Buffer {
  const parts: Buffer[] = [];
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
    parts.push(snappyUncompress(data.subarray(p, p + n)));
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

export interface CompressOptions {
  /** Snappy container: 'xerial' (default; what the Java producer writes, read by every client) or 'raw'. */
  snappyFraming?: 'xerial' | 'raw';
  /** gzip level (default zlib's). */
  gzipLevel?: number;
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
    case Compression.ZSTD:
      return {
        compress: typeof zstdZlib.zstdCompressSync === 'function',
        decompress: typeof zstdZlib.zstdDecompressSync === 'function',
      };
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
      return zlib.gzipSync(data, opts.gzipLevel === undefined ? {} : { level: opts.gzipLevel });
    case Compression.SNAPPY:
      return opts.snappyFraming === 'raw' ? snappy().compressSync(data) : xerialEncode(data);
    case Compression.LZ4:
      return lz4FrameEncode(data);
    case Compression.ZSTD:
      if (zstdZlib.zstdCompressSync) return zstdZlib.zstdCompressSync(data);
      throw new UnsupportedCompressionError(codec, 'zstd compression needs a Node.js runtime with zlib zstd support');
    default:
      throw new UnsupportedCompressionError(codec, `unknown compression ${codecName(codec)}`);
  }
}

/** Decompresses a records section compressed with `codec`. Snappy accepts raw and xerial-framed data. */
export function decompress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case Compression.NONE:
      return data;
    case Compression.GZIP:
      return zlib.gunzipSync(data);
    case Compression.SNAPPY:
      return isXerialSnappy(data) ? xerialDecode(data) : snappyUncompress(data);
    case Compression.LZ4:
      return lz4FrameDecode(data);
    case Compression.ZSTD:
      if (zstdZlib.zstdDecompressSync) return zstdZlib.zstdDecompressSync(data);
      throw new UnsupportedCompressionError(codec, 'zstd decompression needs a Node.js runtime with zlib zstd support');
    default:
      throw new UnsupportedCompressionError(codec, `unknown compression ${codecName(codec)}`);
  }
}
