// Builds minimal valid magic-v2 record batches for the log-store tests (independent of the
// protocol/records encoder on purpose).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, vi } from 'vitest';
import type { LogStore } from '../../src/log/types.js';
import { gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';

export interface BatchSpec {
  /** One timestamp per record. */
  timestamps: Array<number | bigint>;
  /** Bytes of value per record (default 8). */
  valueSize?: number;
  logAppendTime?: boolean;
  /** 0 none, 1 gzip (encoded), 2..4 only flagged (records left uncompressed: never decoded). */
  codec?: number;
  /** maxTimestamp header field override (default: max of timestamps). */
  maxTimestamp?: bigint;
}

function zigzag32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

function varint(n: number): number[] {
  let v = zigzag32(n);
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function varlong(n: bigint): number[] {
  let v = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function encodeRecord(offsetDelta: number, tsDelta: bigint, value: Buffer): Buffer {
  const body = Buffer.from([
    0, // attributes
    ...varlong(tsDelta),
    ...varint(offsetDelta),
    ...varint(-1), // null key
    ...varint(value.length),
    ...value,
    ...varint(0), // no headers
  ]);
  return Buffer.concat([Buffer.from(varint(body.length)), body]);
}

/** A v2 batch with baseOffset 0, correct CRC-32C, one record per timestamp. */
export function makeBatch(spec: BatchSpec): Buffer {
  const ts = spec.timestamps.map((t) => BigInt(t));
  if (ts.length === 0) throw new Error('a batch needs records');
  const base = ts[0]!;
  const max = spec.maxTimestamp ?? ts.reduce((a, b) => (b > a ? b : a));
  const valueSize = spec.valueSize ?? 8;
  const records = Buffer.concat(
    ts.map((t, i) => encodeRecord(i, t - base, Buffer.alloc(valueSize, 0x61 + (i % 26)))),
  );
  const codec = spec.codec ?? 0;
  const payload = codec === 1 ? gzipSync(records) : records;
  const header = Buffer.alloc(61);
  header.writeBigInt64BE(0n, 0);
  header.writeInt32BE(61 - 12 + payload.length, 8);
  header.writeInt32BE(-1, 12);
  header.writeInt8(2, 16);
  header.writeInt16BE((codec & 7) | (spec.logAppendTime ? 0x08 : 0), 21);
  header.writeInt32BE(ts.length - 1, 23);
  header.writeBigInt64BE(spec.logAppendTime ? max : base, 27);
  header.writeBigInt64BE(max, 35);
  header.writeBigInt64BE(-1n, 43);
  header.writeInt16BE(-1, 51);
  header.writeInt32BE(-1, 53);
  header.writeInt32BE(ts.length, 57);
  const batch = Buffer.concat([header, payload]);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

/** A batch of `n` records with timestamps start, start+1, ... */
export function batchOf(n: number, start = 1000, valueSize = 8): Buffer {
  return makeBatch({ timestamps: Array.from({ length: n }, (_, i) => start + i), valueSize });
}

export function baseOffsetOf(chunk: Buffer): bigint {
  return chunk.readBigInt64BE(0);
}

export function lastOffsetOf(chunk: Buffer): bigint {
  return chunk.readBigInt64BE(0) + BigInt(chunk.readInt32BE(23));
}

export function epochOf(chunk: Buffer): number {
  return chunk.readInt32BE(12);
}

export function crcOk(chunk: Buffer): boolean {
  return crc32c(chunk.subarray(21)) === chunk.readUInt32BE(17);
}

/** Collects warn/info calls. */
export function captureLogger(): {
  warns: Array<{ obj: object; msg: string }>;
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
} {
  const warns: Array<{ obj: object; msg: string }> = [];
  return {
    warns,
    logger: {
      warn: (obj, msg) => warns.push({ obj, msg }),
      info: () => {},
    },
  };
}

/**
 * Temp directories and stores that the calling test file's tests clean up after each test: mocks
 * restored first (with `restoreMocks`), then every store pushed on `stores` closed, then the
 * directories removed.
 */
export function tempStores(prefix: string, opts: { restoreMocks?: boolean } = {}): { stores: LogStore[]; tmpDir(): string } {
  const dirs: string[] = [];
  const stores: LogStore[] = [];
  afterEach(() => {
    if (opts.restoreMocks) vi.restoreAllMocks();
    for (const s of stores.splice(0)) {
      try {
        s.close();
      } catch {
        // closed already
      }
    }
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    stores,
    tmpDir(): string {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
  };
}
