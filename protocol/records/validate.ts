// Broker-side validation of a Produce partition's records, without decoding individual records.
//
// The checks and their error codes follow Apache Kafka (references are to apache/kafka @1eb76443):
//  framing   ByteBufferLogInputStream.nextBatchSize: batchLength < 14 or magic outside 0..2
//            -> CorruptRecordException -> CORRUPT_MESSAGE
//  Produce   ProduceRequest.validateRecords (v3+): no batch, magic != 2, or more than one batch
//            -> INVALID_RECORD; zstd before Produce v7 -> UNSUPPORTED_COMPRESSION_TYPE
//  append    UnifiedLog.analyzeAndValidateRecords: baseOffset != 0 from a client -> INVALID_RECORD;
//            size > max.message.bytes -> MESSAGE_TOO_LARGE; size < 61 or CRC mismatch -> CORRUPT_MESSAGE
//  batch     LogValidator.validateBatch (client origin): lastOffsetDelta < 0, recordCount <= 0,
//            lastOffsetDelta + 1 != recordCount, control batch, producerId >= 0 with baseSequence < 0
//            -> INVALID_RECORD

import { ErrorCode } from '../errors.js';
import {
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  CRC_START,
  CURRENT_MAGIC,
  Compression,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
} from './constants.js';
import { crc32c } from './crc.js';
import { readBatchHeader, type BatchHeader } from './header.js';

/** Smallest size field Kafka's framing accepts before looking further (legacy v0 record overhead). */
const MIN_FRAMING_LENGTH = 14;
/** Bytes needed to read the magic byte. */
const HEADER_SIZE_UP_TO_MAGIC = MAGIC_OFFSET + 1;

export interface ValidateRecordsOptions {
  /** Largest accepted batch size in bytes, including the 12-byte log overhead (max.message.bytes). */
  maxBatchBytes: number;
  /** Produce request version; v3+ (default) requires exactly one magic-2 batch per partition. */
  apiVersion?: number;
  /**
   * Client append (default true): enforce Kafka's client-origin rules (baseOffset 0, count
   * consistency, no control batches, sequence present when a producer id is). Pass false for
   * trusted internal appends such as transaction markers.
   */
  fromClient?: boolean;
}

export interface ValidateRecordsOk {
  ok: true;
  /**
   * Each batch as a VIEW into the input buffer (no copy). The caller owns the input: if it is a
   * reusable socket buffer, copy the batches before the buffer is recycled.
   */
  batches: Buffer[];
  /** Parsed header of each batch. */
  headers: BatchHeader[];
  /** Sum of recordCount over all batches. */
  recordCount: number;
  /** Offsets the batches occupy: sum of lastOffsetDelta + 1 (equals recordCount for client batches). */
  offsetCount: number;
  /** Bytes of all batches together. */
  sizeInBytes: number;
  // ---- first batch, as needed by Produce for idempotence / transactions ----
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  isTransactional: boolean;
  compression: number;
  // ---- timestamps (header values; records are not decoded) ----
  /** maxTimestamp of each batch. */
  maxTimestamps: bigint[];
  /** Largest maxTimestamp over the batches. */
  maxTimestamp: bigint;
}

export interface ValidateRecordsError {
  ok: false;
  errorCode: number;
  message: string;
}

export type ValidateRecordsResult = ValidateRecordsOk | ValidateRecordsError;

const fail = (errorCode: number, message: string): ValidateRecordsError => ({ ok: false, errorCode, message });

/**
 * Splits a Produce partition's `records` into whole v2 batches and validates them the way a Kafka
 * broker does for a client append, without decoding individual records.
 *
 * Deliberate difference from Kafka: bytes after the last whole batch are rejected with
 * CORRUPT_MESSAGE (Kafka silently trims them in UnifiedLog.trimInvalidBytes).
 */
export function validateRecords(records: Buffer | null, opts: ValidateRecordsOptions): ValidateRecordsResult {
  const apiVersion = opts.apiVersion ?? 3;
  const fromClient = opts.fromClient ?? true;
  const buf = records ?? Buffer.alloc(0);

  // 1. Framing (ByteBufferLogInputStream): find whole batches.
  const starts: number[] = [];
  const sizes: number[] = [];
  let p = 0;
  let partial = false;
  while (p < buf.length) {
    const remaining = buf.length - p;
    if (remaining < LOG_OVERHEAD) {
      partial = true;
      break;
    }
    const length = buf.readInt32BE(p + BATCH_LENGTH_OFFSET);
    if (length < MIN_FRAMING_LENGTH) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `record batch at byte ${p} has length ${length}, below the minimum ${MIN_FRAMING_LENGTH}`);
    }
    if (remaining < HEADER_SIZE_UP_TO_MAGIC) {
      partial = true;
      break;
    }
    const magic = buf.readInt8(p + MAGIC_OFFSET);
    if (magic < 0 || magic > CURRENT_MAGIC) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `invalid magic ${magic} in record batch at byte ${p}`);
    }
    const size = length + LOG_OVERHEAD;
    if (remaining < size) {
      partial = true;
      break;
    }
    starts.push(p);
    sizes.push(size);
    p += size;
  }

  // 2. ProduceRequest.validateRecords (v3+).
  if (starts.length === 0) {
    return fail(
      ErrorCode.INVALID_RECORD,
      partial
        ? `records hold only a truncated record batch (${buf.length} bytes)`
        : 'produce requests must have at least one record batch per partition',
    );
  }
  if (apiVersion >= 3) {
    const first = starts[0]!;
    if (buf.readInt8(first + MAGIC_OFFSET) !== CURRENT_MAGIC) {
      return fail(ErrorCode.INVALID_RECORD, `produce v${apiVersion} only accepts record batches with magic 2`);
    }
    if (sizes[0]! >= BATCH_HEADER_SIZE && apiVersion < 7) {
      const codec = buf.readInt16BE(first + CRC_START) & 0x07;
      if (codec === Compression.ZSTD) {
        return fail(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `produce v${apiVersion} does not allow zstd compression`);
      }
    }
    if (starts.length > 1) {
      return fail(ErrorCode.INVALID_RECORD, `produce v${apiVersion} must contain exactly one record batch per partition`);
    }
  }
  if (partial) {
    return fail(ErrorCode.CORRUPT_MESSAGE, `${buf.length - p} trailing bytes after the last whole record batch`);
  }

  // 3. Per batch (UnifiedLog.analyzeAndValidateRecords order: baseOffset, size, CRC).
  const headers: BatchHeader[] = [];
  for (let i = 0; i < starts.length; i++) {
    const at = starts[i]!;
    const size = sizes[i]!;
    if (buf.readInt8(at + MAGIC_OFFSET) !== CURRENT_MAGIC) {
      return fail(ErrorCode.INVALID_RECORD, `record batch ${i} has magic ${buf.readInt8(at + MAGIC_OFFSET)}; only magic 2 is supported`);
    }
    if (fromClient && buf.readBigInt64BE(at) !== 0n) {
      return fail(ErrorCode.INVALID_RECORD, `record batch ${i} has baseOffset ${buf.readBigInt64BE(at)}; clients must send 0`);
    }
    if (size > opts.maxBatchBytes) {
      return fail(ErrorCode.MESSAGE_TOO_LARGE, `record batch of ${size} bytes exceeds the maximum of ${opts.maxBatchBytes}`);
    }
    if (size < BATCH_HEADER_SIZE) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `record batch of ${size} bytes is smaller than the ${BATCH_HEADER_SIZE}-byte header`);
    }
    const stored = buf.readUInt32BE(at + CRC_OFFSET);
    const computed = crc32c(buf.subarray(at + CRC_START, at + size));
    if (stored !== computed) {
      return fail(
        ErrorCode.CORRUPT_MESSAGE,
        `record batch ${i} is corrupt (stored crc 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`,
      );
    }
    headers.push(readBatchHeader(buf, at));
  }

  // 4. LogValidator.validateBatch.
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h.compression > Compression.ZSTD) {
      // Kafka fails here with an IllegalArgumentException (surfacing as UNKNOWN_SERVER_ERROR);
      // we answer with the deliberate, non-retriable code.
      return fail(ErrorCode.INVALID_RECORD, `record batch ${i} uses unknown compression codec ${h.compression}`);
    }
    if (!fromClient) continue;
    if (h.lastOffsetDelta < 0) {
      return fail(ErrorCode.INVALID_RECORD, `record batch ${i} has an invalid offset range (lastOffsetDelta ${h.lastOffsetDelta})`);
    }
    if (h.recordCount <= 0) {
      return fail(ErrorCode.INVALID_RECORD, `record batch ${i} reports ${h.recordCount} records`);
    }
    if (h.lastOffsetDelta + 1 !== h.recordCount) {
      return fail(
        ErrorCode.INVALID_RECORD,
        `record batch ${i}: lastOffsetDelta ${h.lastOffsetDelta} is inconsistent with record count ${h.recordCount}`,
      );
    }
    if (h.isControl) {
      return fail(ErrorCode.INVALID_RECORD, 'clients may not write control batches');
    }
    if (h.producerId >= 0n && h.baseSequence < 0) {
      return fail(ErrorCode.INVALID_RECORD, `record batch ${i} has producerId ${h.producerId} but sequence ${h.baseSequence}`);
    }
  }

  const first = headers[0]!;
  let recordCount = 0;
  let offsetCount = 0;
  let maxTimestamp = -(1n << 63n);
  const maxTimestamps: bigint[] = [];
  for (const h of headers) {
    recordCount += h.recordCount;
    offsetCount += h.lastOffsetDelta + 1;
    maxTimestamps.push(h.maxTimestamp);
    if (h.maxTimestamp > maxTimestamp) maxTimestamp = h.maxTimestamp;
  }
  return {
    ok: true,
    batches: starts.map((at, i) => buf.subarray(at, at + sizes[i]!)),
    headers,
    recordCount,
    offsetCount,
    sizeInBytes: p,
    producerId: first.producerId,
    producerEpoch: first.producerEpoch,
    baseSequence: first.baseSequence,
    isTransactional: first.isTransactional,
    compression: first.compression,
    maxTimestamps,
    maxTimestamp,
  };
}
