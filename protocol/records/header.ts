import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  BatchAttribute,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
  type Compression,
  type TimestampType,
} from './constants.js';

export interface BatchHeader {
  baseOffset: bigint;
  /** Bytes after the batchLength field; the whole batch is batchLength + 12 bytes. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** Stored CRC-32C, unsigned. */
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  // ---- derived from the fields above ----
  /** batchLength + 12. */
  sizeInBytes: number;
  /** Codec id from attributes bits 0-2 (may be 5-7 for garbage input). */
  compression: Compression | 5 | 6 | 7;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  hasDeleteHorizonMs: boolean;
}

/**
 * Reads the 61-byte v2 batch header at `at`. Throws RangeError if fewer than 61 bytes remain.
 * It does not check magic, length or CRC (see validateRecords / verifyBatchCrc).
 */
export function readBatchHeader(buf: Buffer, at = 0): BatchHeader {
  if (at < 0 || buf.length - at < BATCH_HEADER_SIZE) {
    throw new RangeError(`record batch header needs ${BATCH_HEADER_SIZE} bytes at ${at}, have ${buf.length - at}`);
  }
  const attributes = buf.readInt16BE(at + ATTRIBUTES_OFFSET);
  const batchLength = buf.readInt32BE(at + BATCH_LENGTH_OFFSET);
  return {
    baseOffset: buf.readBigInt64BE(at + BASE_OFFSET_OFFSET),
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(at + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(at + MAGIC_OFFSET),
    crc: buf.readUInt32BE(at + CRC_OFFSET),
    attributes,
    lastOffsetDelta: buf.readInt32BE(at + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: buf.readBigInt64BE(at + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: buf.readBigInt64BE(at + MAX_TIMESTAMP_OFFSET),
    producerId: buf.readBigInt64BE(at + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(at + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(at + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(at + RECORD_COUNT_OFFSET),
    sizeInBytes: batchLength + LOG_OVERHEAD,
    compression: (attributes & BatchAttribute.COMPRESSION_MASK) as BatchHeader['compression'],
    timestampType: (attributes & BatchAttribute.TIMESTAMP_TYPE) !== 0 ? 1 : 0,
    isTransactional: (attributes & BatchAttribute.TRANSACTIONAL) !== 0,
    isControl: (attributes & BatchAttribute.CONTROL) !== 0,
    hasDeleteHorizonMs: (attributes & BatchAttribute.HAS_DELETE_HORIZON_MS) !== 0,
  };
}

/**
 * The batch's delete horizon (KIP-534): when the DELETE_HORIZON attribute bit is set, the log
 * cleaner has stored in baseTimestamp the time after which the batch's tombstones (and, for a
 * control batch, the marker itself) may be removed; record timestamp deltas are relative to it.
 * undefined when the bit is not set.
 */
export function deleteHorizonMs(h: Pick<BatchHeader, 'hasDeleteHorizonMs' | 'baseTimestamp'>): bigint | undefined {
  return h.hasDeleteHorizonMs ? h.baseTimestamp : undefined;
}

/** Offset of the last record slot of the batch (baseOffset + lastOffsetDelta). */
export function batchLastOffset(h: Pick<BatchHeader, 'baseOffset' | 'lastOffsetDelta'>): bigint {
  return h.baseOffset + BigInt(h.lastOffsetDelta);
}

/** Sequence number of the last record, wrapping at int32 max as Kafka does. */
export function batchLastSequence(h: Pick<BatchHeader, 'baseSequence' | 'lastOffsetDelta'>): number {
  if (h.baseSequence < 0) return h.baseSequence;
  const next = h.baseSequence + h.lastOffsetDelta;
  return next > 0x7fffffff ? next - 0x80000000 : next;
}

/**
 * Structural sanity of a stored v2 batch header found with `available` bytes from the header start
 * to the end of the data (a log segment, a fetched buffer): magic 2, a batchLength of at least a
 * header that fits the data, no negative lastOffsetDelta or recordCount. undefined if sane, else a
 * short reason. The CRC is not checked (verifyBatchCrc).
 */
export function batchHeaderProblem(
  h: Pick<BatchHeader, 'magic' | 'batchLength' | 'sizeInBytes' | 'lastOffsetDelta' | 'recordCount'>,
  available: number,
): string | undefined {
  if (h.magic !== CURRENT_MAGIC) return `unsupported magic ${h.magic}`;
  if (h.batchLength < MIN_BATCH_LENGTH) return `batchLength ${h.batchLength} too small`;
  if (h.sizeInBytes > available) return `batch of ${h.sizeInBytes} bytes extends past the end of the data`;
  if (h.lastOffsetDelta < 0) return `negative lastOffsetDelta ${h.lastOffsetDelta}`;
  if (h.recordCount < 0) return `negative recordCount ${h.recordCount}`;
  return undefined;
}
