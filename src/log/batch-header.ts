// The few record-batch (magic v2) fields the log store needs, parsed directly from stored bytes.
// The store never re-encodes batches; it only reads header fields, patches baseOffset and
// partitionLeaderEpoch on append, verifies CRCs during recovery and walks records to answer
// timestamp lookups.
//
// v2 batch header layout (big-endian):
//   0  baseOffset int64          27 baseTimestamp int64
//   8  batchLength int32         35 maxTimestamp int64
//  12  partitionLeaderEpoch i32  43 producerId int64
//  16  magic int8                51 producerEpoch int16
//  17  crc uint32 (CRC-32C of    53 baseSequence int32
//      bytes 21..end)            57 recordCount int32
//  21  attributes int16          61 first record
//  23  lastOffsetDelta int32

import { crc32c } from '@node-rs/crc32';
import { decompress } from '../../protocol/records/compression.js';

// The layout constants come from protocol/records (one definition of the format).
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_OFFSET,
  RECORD_COUNT_OFFSET,
} from '../../protocol/records/constants.js';

export { BATCH_HEADER_SIZE };

export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_LOG_APPEND = 0x08;

export const CODEC_NONE = 0;

export interface BatchHeader {
  baseOffset: bigint;
  /** Total stored size: LOG_OVERHEAD + batchLength. */
  size: number;
  partitionLeaderEpoch: number;
  magic: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  recordCount: number;
}

/** Parses the header at `off`; the caller guarantees BATCH_HEADER_SIZE bytes are there. */
export function readBatchHeader(buf: Buffer, off = 0): BatchHeader {
  return {
    baseOffset: buf.readBigInt64BE(off + BASE_OFFSET_OFFSET),
    size: LOG_OVERHEAD + buf.readInt32BE(off + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(off + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(off + MAGIC_OFFSET),
    attributes: buf.readInt16BE(off + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(off + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: buf.readBigInt64BE(off + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: buf.readBigInt64BE(off + MAX_TIMESTAMP_OFFSET),
    recordCount: buf.readInt32BE(off + RECORD_COUNT_OFFSET),
  };
}

/**
 * Structural sanity of a header found at some file position with `available` bytes from the
 * header start to the end of the data. Returns undefined if sane, else a short reason.
 */
export function headerProblem(h: BatchHeader, available: number): string | undefined {
  if (h.magic !== 2) return `unsupported magic ${h.magic}`;
  if (h.size - LOG_OVERHEAD < MIN_BATCH_LENGTH) return `batchLength ${h.size - LOG_OVERHEAD} too small`;
  if (h.size > available) return `batch of ${h.size} bytes extends past the end of the data`;
  if (h.lastOffsetDelta < 0) return `negative lastOffsetDelta ${h.lastOffsetDelta}`;
  if (h.recordCount < 0) return `negative recordCount ${h.recordCount}`;
  return undefined;
}

/** true if the stored CRC-32C (uint32 at 17) matches bytes 21..end of `batch` (one whole batch). */
export function batchCrcOk(batch: Buffer): boolean {
  return crc32c(batch.subarray(ATTRIBUTES_OFFSET)) === batch.readUInt32BE(CRC_OFFSET);
}

export class InvalidBatchError extends Error {
  readonly code = 'ERR_INVALID_BATCH';
}

/**
 * Minimal checks before a buffer is stored: exactly one whole v2 batch. The produce path has
 * already validated records and CRC; this only protects the store's own framing.
 */
export function checkAppendable(buf: Buffer): BatchHeader {
  if (buf.length < BATCH_HEADER_SIZE) throw new InvalidBatchError(`batch of ${buf.length} bytes is shorter than a v2 header`);
  const h = readBatchHeader(buf);
  const problem = headerProblem(h, buf.length);
  if (problem !== undefined) throw new InvalidBatchError(problem);
  if (h.size !== buf.length) throw new InvalidBatchError(`batchLength says ${h.size} bytes, buffer holds ${buf.length}`);
  return h;
}

// ---- record walk (timestamp lookups) ----

export interface RecordHit {
  offset: bigint;
  timestamp: bigint;
  /** false when the answer is an approximation (compression codec the store cannot decode). */
  exact: boolean;
}

/**
 * Finds the first record in `batch` whose timestamp satisfies `pred`.
 *
 * - LogAppendTime batches: every record carries maxTimestamp, so the answer is the first record.
 * - Uncompressed batches and those protocol/records can decompress (gzip, snappy, lz4; zstd
 *   where Node's zlib has it) are walked record by record.
 * - Otherwise: if the batch's baseTimestamp (the first
 *   record's timestamp as written by producers) satisfies `pred` the first record is returned,
 *   otherwise `fallbackOffset` with the batch's maxTimestamp, marked inexact.
 * - A malformed record section also yields the inexact fallback.
 *
 * Records below `minOffset` (the log start offset, when it falls inside this batch) are never
 * answered; approximate answers are raised to it.
 *
 * Returns undefined only when the batch provably holds no matching record.
 */
export function findRecord(
  batch: Buffer,
  pred: (ts: bigint) => boolean,
  fallbackOffset: (h: BatchHeader) => bigint,
  minOffset = -1n,
): RecordHit | undefined {
  const h = readBatchHeader(batch);
  const atLeast = (o: bigint): bigint => (o < minOffset ? minOffset : o);
  if (h.baseOffset + BigInt(h.lastOffsetDelta) < minOffset) return undefined;
  if ((h.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0) {
    return pred(h.maxTimestamp) ? { offset: atLeast(h.baseOffset), timestamp: h.maxTimestamp, exact: true } : undefined;
  }
  const codec = h.attributes & COMPRESSION_MASK;
  let records: Buffer | undefined;
  if (codec === CODEC_NONE) {
    records = batch.subarray(BATCH_HEADER_SIZE);
  } else {
    try {
      records = decompress(codec, batch.subarray(BATCH_HEADER_SIZE));
    } catch {
      // zstd on a Node without zstd support, or a corrupt payload: fall back below.
      records = undefined;
    }
  }
  if (records !== undefined) {
    const walked = walkRecords(records, h, pred, minOffset);
    if (walked !== 'malformed') return walked;
  } else if (pred(h.baseTimestamp)) {
    return { offset: atLeast(h.baseOffset), timestamp: h.baseTimestamp, exact: false };
  }
  if (!pred(h.maxTimestamp)) return undefined;
  return { offset: atLeast(fallbackOffset(h)), timestamp: h.maxTimestamp, exact: false };
}

function walkRecords(
  buf: Buffer,
  h: BatchHeader,
  pred: (ts: bigint) => boolean,
  minOffset: bigint,
): RecordHit | undefined | 'malformed' {
  const cur = { pos: 0 };
  for (let i = 0; i < h.recordCount; i++) {
    const length = readVarint(buf, cur);
    if (length === undefined || length < 0) return 'malformed';
    const start = cur.pos;
    const end = start + length;
    if (end > buf.length || length < 1) return 'malformed';
    cur.pos += 1; // record attributes (unused)
    const tsDelta = readVarlong(buf, cur);
    const offsetDelta = readVarint(buf, cur);
    if (tsDelta === undefined || offsetDelta === undefined || cur.pos > end) return 'malformed';
    const ts = h.baseTimestamp + tsDelta;
    const offset = h.baseOffset + BigInt(offsetDelta);
    if (offset >= minOffset && pred(ts)) return { offset, timestamp: ts, exact: true };
    cur.pos = end;
  }
  return undefined;
}

/** Zig-zag varint (int32). undefined if truncated or longer than 5 bytes. */
export function readVarint(buf: Buffer, cur: { pos: number }): number | undefined {
  let raw = 0;
  let shift = 0;
  for (;;) {
    if (cur.pos >= buf.length || shift > 28) return undefined;
    const b = buf[cur.pos++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  return (raw >>> 1) ^ -(raw & 1);
}

/** Zig-zag varlong (int64) as bigint. undefined if truncated or longer than 10 bytes. */
export function readVarlong(buf: Buffer, cur: { pos: number }): bigint | undefined {
  let raw = 0n;
  let shift = 0n;
  for (;;) {
    if (cur.pos >= buf.length || shift > 63n) return undefined;
    const b = buf[cur.pos++]!;
    raw |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7n;
  }
  raw = BigInt.asUintN(64, raw);
  return (raw >> 1n) ^ -(raw & 1n);
}
