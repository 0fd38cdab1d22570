// Legacy message sets (message format v0 / v1, "magic 0 / 1"), for old clients: decode and
// encode, conversion of a produced message set to one v2 record batch, and down-conversion of
// stored v2 batches for old Fetch versions.
//
// A message set is a sequence of entries
//   offset int64, message_size int32, message
// and a message is
//   crc uint32 (IEEE CRC-32 of everything after this field), magic int8 (0 or 1),
//   attributes int8 (bits 0-2 codec: 0 none, 1 gzip, 2 snappy, 3 lz4; bit 3 timestamp type, magic 1),
//   timestamp int64 (magic 1 only), key bytes (int32 length, -1 = null), value bytes (ditto).
// A compressed message ("wrapper") carries the compressed inner message set as its value. Inner
// offsets are absolute for magic 0 and relative (0..n-1) for magic 1, where the wrapper carries
// the absolute offset of the last inner message (0 from some librdkafka versions: then the inner
// offsets are taken as they are).
//
// Behaviour follows Apache Kafka (apache/kafka @1eb76443): LegacyRecord, AbstractLegacyRecordBatch
// (deep iteration, wrapper offsets, wrapper LogAppendTime timestamps), LogValidator (conversion on
// write, validation errors), RecordsUtil.downConvert (conversion on read), Lz4BlockInputStream /
// Lz4BlockOutputStream (KAFKA-3160: magic-0 LZ4 frames carry a header checksum computed over the
// frame magic too; Kafka ignores the checksum when reading magic 0 and writes the broken one).

import { ErrorCode } from '../errors.js';
import { encodeRecordBatch, decodeRecordBatch, type RecordInput } from './batch.js';
import { Compression, NO_TIMESTAMP, TimestampType } from './constants.js';
import { compress, decompress, type CompressOptions } from './compression.js';
import { crc32 } from './crc.js';
import { xxh32 } from './lz4.js';

/** offset int64 + message_size int32. */
export const LEGACY_LOG_OVERHEAD = 12;
/** crc 4 + magic 1 + attributes 1 + key length 4 + value length 4 (LegacyRecord.RECORD_OVERHEAD_V0). */
export const MESSAGE_OVERHEAD_V0 = 14;
/** v0 overhead + timestamp 8 (LegacyRecord.RECORD_OVERHEAD_V1). */
export const MESSAGE_OVERHEAD_V1 = 22;
/** Attributes bit 3 (magic 1): LogAppendTime. */
export const LEGACY_TIMESTAMP_TYPE_BIT = 0x08;
const CODEC_MASK = 0x07;

export type LegacyMagic = 0 | 1;

export interface LegacyMessage {
  /** Absolute offset (inner messages of a magic-1 wrapper resolved against the wrapper offset). */
  offset: bigint;
  magic: LegacyMagic;
  attributes: number;
  /** -1 (NO_TIMESTAMP) for magic 0; the wrapper's timestamp for inner messages of a LogAppendTime wrapper. */
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
}

/** A malformed or invalid message set; `errorCode` is the Kafka error a broker answers with. */
export class LegacyMessageSetError extends Error {
  readonly code = 'ERR_LEGACY_MESSAGE_SET';
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

const corrupt = (msg: string): LegacyMessageSetError => new LegacyMessageSetError(ErrorCode.CORRUPT_MESSAGE, msg);
const invalid = (msg: string): LegacyMessageSetError => new LegacyMessageSetError(ErrorCode.INVALID_RECORD, msg);

/** One top-level (shallow) entry of a message set. */
interface ShallowEntry {
  offset: bigint;
  magic: LegacyMagic;
  attributes: number;
  /** The message's own timestamp (-1 for magic 0). */
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** Entry bytes, including offset and size. */
  size: number;
}

function readBytes(msg: Buffer, p: number, what: string): { bytes: Buffer | null; next: number } {
  if (p + 4 > msg.length) throw corrupt(`message too short for its ${what} length`);
  const n = msg.readInt32BE(p);
  p += 4;
  if (n === -1) return { bytes: null, next: p };
  if (n < 0 || p + n > msg.length) throw corrupt(`${what} length ${n} does not fit the ${msg.length}-byte message`);
  return { bytes: msg.subarray(p, p + n), next: p + n };
}

/**
 * Splits a message set into its top-level entries, checking each message's CRC-32. A trailing
 * partial entry ends the set when `allowPartial`, else it is CORRUPT_MESSAGE.
 */
function readShallow(buf: Buffer, allowPartial: boolean): ShallowEntry[] {
  const out: ShallowEntry[] = [];
  let p = 0;
  while (p < buf.length) {
    const remaining = buf.length - p;
    if (remaining < LEGACY_LOG_OVERHEAD) {
      if (allowPartial) break;
      throw corrupt(`${remaining} trailing bytes after the last whole message`);
    }
    const offset = buf.readBigInt64BE(p);
    const size = buf.readInt32BE(p + 8);
    if (size < MESSAGE_OVERHEAD_V0) throw corrupt(`message at byte ${p} has size ${size}, below the minimum ${MESSAGE_OVERHEAD_V0}`);
    if (remaining < LEGACY_LOG_OVERHEAD + size) {
      if (allowPartial) break;
      throw corrupt(`truncated message at byte ${p} (${size} bytes announced, ${remaining - LEGACY_LOG_OVERHEAD} present)`);
    }
    const msg = buf.subarray(p + LEGACY_LOG_OVERHEAD, p + LEGACY_LOG_OVERHEAD + size);
    const magic = msg.readInt8(4);
    if (magic !== 0 && magic !== 1) throw corrupt(`message at byte ${p} has magic ${magic}; a message set holds magic 0 or 1`);
    if (magic === 1 && size < MESSAGE_OVERHEAD_V1) throw corrupt(`magic-1 message at byte ${p} has size ${size}, below ${MESSAGE_OVERHEAD_V1}`);
    const stored = msg.readUInt32BE(0);
    const computed = crc32(msg.subarray(4));
    if (stored !== computed) {
      throw corrupt(`message at offset ${offset} is corrupt (stored crc 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`);
    }
    const attributes = msg.readInt8(5);
    let q = 6;
    let timestamp = NO_TIMESTAMP;
    if (magic === 1) {
      timestamp = msg.readBigInt64BE(6);
      q = 14;
    }
    const k = readBytes(msg, q, 'key');
    const v = readBytes(msg, k.next, 'value');
    // Bytes after the value are tolerated, as in Kafka's LegacyRecord.
    out.push({ offset, magic, attributes, timestamp, key: k.bytes, value: v.bytes, size: LEGACY_LOG_OVERHEAD + size });
    p += LEGACY_LOG_OVERHEAD + size;
  }
  return out;
}

/** Kafka (KAFKA-3160) ignores the LZ4 frame header checksum of magic-0 messages: rewrite it to the standard one. */
function fixMagic0Lz4Header(data: Buffer): Buffer {
  if (data.length < 7 || data.readUInt32LE(0) !== 0x184d2204) return data;
  const flg = data[4]!;
  let end = 6; // FLG, BD
  if (flg & 0x08) end += 8; // content size
  if (flg & 0x01) end += 4; // dictionary id
  if (end >= data.length) return data;
  const expected = (xxh32(data.subarray(4, end)) >>> 8) & 0xff;
  if (data[end] === expected) return data;
  const copy = Buffer.from(data);
  copy[end] = expected;
  return copy;
}

/** The KAFKA-3160 header checksum (over the frame magic too) that Kafka writes for magic-0 LZ4. */
function breakMagic0Lz4Header(frame: Buffer): Buffer {
  const flg = frame[4]!;
  let end = 6;
  if (flg & 0x08) end += 8;
  if (flg & 0x01) end += 4;
  frame[end] = (xxh32(frame.subarray(0, end)) >>> 8) & 0xff;
  return frame;
}

function unwrap(wrapper: ShallowEntry): LegacyMessage[] {
  const codec = wrapper.attributes & CODEC_MASK;
  if (codec > Compression.LZ4) throw invalid(`invalid compression codec ${codec} in a magic-${wrapper.magic} message set`);
  if (wrapper.value === null) throw invalid(`compressed magic-${wrapper.magic} message with a null value`);
  let inner: Buffer;
  try {
    inner = decompress(codec, codec === Compression.LZ4 && wrapper.magic === 0 ? fixMagic0Lz4Header(wrapper.value) : wrapper.value);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_UNSUPPORTED_COMPRESSION') {
      throw new LegacyMessageSetError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, (err as Error).message);
    }
    throw corrupt(`cannot decompress message at offset ${wrapper.offset}: ${(err as Error).message}`);
  }
  const entries = readShallow(inner, false);
  if (entries.length === 0) throw invalid('compressed message set with no inner messages');
  for (const e of entries) {
    if (e.magic !== wrapper.magic) throw invalid(`inner message magic ${e.magic} does not match wrapper magic ${wrapper.magic}`);
    if ((e.attributes & CODEC_MASK) !== 0) throw invalid('inner messages must not be compressed');
  }
  // Magic 1: absolute = wrapper offset - last inner offset + inner offset. A wrapper offset of 0
  // (some librdkafka versions, kafkajs) or one below the last inner offset leaves the inner offsets
  // as they are; Kafka rejects the latter with INVALID_RECORD, but a broker reassigns offsets
  // anyway, so Brook accepts it.
  let base = 0n;
  const lastInner = entries[entries.length - 1]!.offset;
  if (wrapper.magic === 1 && wrapper.offset > 0n && wrapper.offset >= lastInner) base = wrapper.offset - lastInner;
  const logAppend = wrapper.magic === 1 && (wrapper.attributes & LEGACY_TIMESTAMP_TYPE_BIT) !== 0;
  return entries.map((e) => ({
    offset: wrapper.magic === 1 ? base + e.offset : e.offset,
    magic: e.magic,
    attributes: e.attributes,
    timestamp: logAppend ? wrapper.timestamp : e.timestamp,
    key: e.key,
    value: e.value,
  }));
}

export interface DecodeMessageSetOptions {
  /** Ignore a trailing partial message (default true, as clients do with fetch responses). */
  allowPartial?: boolean;
}

/**
 * Decodes a message set, unwrapping compressed wrappers (gzip, snappy raw/xerial, lz4), and
 * verifying every CRC-32. Throws LegacyMessageSetError (CORRUPT_MESSAGE, INVALID_RECORD or
 * UNSUPPORTED_COMPRESSION_TYPE) on bad input. Keys and values are views into `buf` (or into the
 * decompressed data).
 */
export function decodeMessageSet(buf: Buffer, opts: DecodeMessageSetOptions = {}): LegacyMessage[] {
  const out: LegacyMessage[] = [];
  for (const e of readShallow(buf, opts.allowPartial ?? true)) {
    if ((e.attributes & CODEC_MASK) === 0) {
      out.push({ offset: e.offset, magic: e.magic, attributes: e.attributes, timestamp: e.timestamp, key: e.key, value: e.value });
    } else {
      for (const m of unwrap(e)) out.push(m);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// encode

export interface LegacyMessageInput {
  key: Buffer | null;
  value: Buffer | null;
  /** Magic 1 only; defaults to Date.now(). */
  timestamp?: bigint;
  /** Defaults to the message's index (relative for compressed magic 1). */
  offset?: bigint;
}

/** Size of one entry (offset + size + message) with this key and value. */
export function legacyEntrySize(magic: LegacyMagic, key: Buffer | null, value: Buffer | null): number {
  return LEGACY_LOG_OVERHEAD + (magic === 0 ? MESSAGE_OVERHEAD_V0 : MESSAGE_OVERHEAD_V1) + (key?.length ?? 0) + (value?.length ?? 0);
}

/** Writes one entry at `p` and returns the position after it. */
function writeEntry(
  out: Buffer,
  p: number,
  offset: bigint,
  magic: LegacyMagic,
  attributes: number,
  timestamp: bigint,
  key: Buffer | null,
  value: Buffer | null,
): number {
  const size = legacyEntrySize(magic, key, value) - LEGACY_LOG_OVERHEAD;
  out.writeBigInt64BE(offset, p);
  out.writeInt32BE(size, p + 8);
  const m = p + LEGACY_LOG_OVERHEAD;
  out.writeInt8(magic, m + 4);
  out.writeInt8(attributes, m + 5);
  let q = m + 6;
  if (magic === 1) {
    out.writeBigInt64BE(timestamp, q);
    q += 8;
  }
  for (const b of [key, value]) {
    if (b === null) {
      out.writeInt32BE(-1, q);
      q += 4;
    } else {
      out.writeInt32BE(b.length, q);
      b.copy(out, q + 4);
      q += 4 + b.length;
    }
  }
  out.writeUInt32BE(crc32(out.subarray(m + 4, q)), m);
  return q;
}

export interface EncodeMessageSetOptions {
  compression?: Compression;
  compressOptions?: CompressOptions;
  /** Magic 1: write LogAppendTime (attributes bit 3). */
  timestampType?: TimestampType;
  /** Offset of a compressed wrapper; defaults to the last inner offset (as the Java client sends). */
  wrapperOffset?: bigint;
}

/**
 * Encodes messages as a message set: one entry per message, or with `compression` one wrapper
 * message holding them (inner offsets absolute for magic 0, relative 0..n-1 for magic 1 unless
 * given). Magic-0 LZ4 wrappers get Kafka's broken (KAFKA-3160) frame header checksum.
 */
export function encodeMessageSet(messages: ReadonlyArray<LegacyMessageInput>, magic: LegacyMagic, opts: EncodeMessageSetOptions | Compression = {}): Buffer {
  const o: EncodeMessageSetOptions = typeof opts === 'number' ? { compression: opts } : opts;
  const codec = o.compression ?? Compression.NONE;
  const tsBit = magic === 1 && o.timestampType === TimestampType.LOG_APPEND_TIME ? LEGACY_TIMESTAMP_TYPE_BIT : 0;
  const now = BigInt(Date.now());
  const plain = (): Buffer => {
    let total = 0;
    for (const m of messages) total += legacyEntrySize(magic, m.key, m.value);
    const out = Buffer.alloc(total);
    let p = 0;
    messages.forEach((m, i) => {
      p = writeEntry(out, p, m.offset ?? BigInt(i), magic, tsBit, m.timestamp ?? now, m.key, m.value);
    });
    return out;
  };
  if (codec === Compression.NONE) return plain();
  if (codec > Compression.LZ4) throw new Error(`message format v${magic} has no codec ${codec}`);
  let body = compress(codec, plain(), o.compressOptions);
  if (codec === Compression.LZ4 && magic === 0) body = breakMagic0Lz4Header(Buffer.from(body));
  let maxTs = NO_TIMESTAMP;
  for (const m of messages) if ((m.timestamp ?? now) > maxTs) maxTs = m.timestamp ?? now;
  const lastOffset = messages.length === 0 ? 0n : (messages[messages.length - 1]!.offset ?? BigInt(messages.length - 1));
  const out = Buffer.alloc(legacyEntrySize(magic, null, body));
  writeEntry(out, 0, o.wrapperOffset ?? lastOffset, magic, codec | tsBit, maxTs, null, body);
  return out;
}

// ---------------------------------------------------------------------------------------------
// conversion on write (Produce v0-v2)

export interface MessageSetToBatchOptions {
  /** Codec of the v2 batch; defaults to the codec of the message set (Kafka's compression.type=producer). */
  compression?: Compression;
}

/**
 * One v2 record batch (baseOffset 0, CreateTime, no producer id) holding the messages in order.
 * Record timestamps are the messages' timestamps: -1 (NO_TIMESTAMP) for magic 0, as Kafka's
 * LogValidator stores them; the batch maxTimestamp is the largest of them.
 */
export function messageSetToBatch(messages: ReadonlyArray<LegacyMessage>, opts: MessageSetToBatchOptions = {}): Buffer {
  const records: RecordInput[] = messages.map((m) => ({
    key: m.key,
    value: m.value,
    headers: [],
    timestamp: m.magic === 0 ? NO_TIMESTAMP : m.timestamp,
  }));
  return encodeRecordBatch({
    records,
    compression: opts.compression ?? Compression.NONE,
    timestampType: TimestampType.CREATE_TIME,
    baseTimestamp: records.length > 0 ? records[0]!.timestamp! : NO_TIMESTAMP,
  });
}

export type ProduceConversion =
  | { ok: true; batch: Buffer; magic: LegacyMagic; compression: Compression; messageCount: number }
  | { ok: false; errorCode: number; message: string };

/**
 * Validates a Produce v0-v2 partition's message set as Kafka does for a client append and
 * converts it to one v2 batch:
 *  - framing / CRC-32 / truncation -> CORRUPT_MESSAGE (Brook rejects trailing partial bytes as
 *    its v2 path does; Kafka trims them);
 *  - all top-level messages must share one magic (LogValidator.validateBatch) -> INVALID_RECORD;
 *  - a compressed set is exactly one wrapper (LogValidator "Compressed outer record has more than
 *    one batch"), inner messages uncompressed and of the wrapper's magic -> INVALID_RECORD;
 *  - the batch keeps the wrapper's codec (compression.type=producer).
 */
export function convertProduceMessageSet(records: Buffer): ProduceConversion {
  try {
    const shallow = readShallow(records, false);
    if (shallow.length === 0) return { ok: false, errorCode: ErrorCode.INVALID_RECORD, message: 'produce request contained no messages' };
    const magic = shallow[0]!.magic;
    let codec: number = Compression.NONE;
    for (const e of shallow) {
      if (e.magic !== magic) {
        return { ok: false, errorCode: ErrorCode.INVALID_RECORD, message: `message magic ${e.magic} is not the same as the first message's magic ${magic}` };
      }
      if ((e.attributes & CODEC_MASK) !== 0) codec = e.attributes & CODEC_MASK;
    }
    if (codec !== Compression.NONE && shallow.length > 1) {
      return { ok: false, errorCode: ErrorCode.INVALID_RECORD, message: 'a compressed message set must be a single wrapper message' };
    }
    const messages: LegacyMessage[] = [];
    for (const e of shallow) {
      if ((e.attributes & CODEC_MASK) === 0) {
        messages.push({ offset: e.offset, magic: e.magic, attributes: e.attributes, timestamp: e.timestamp, key: e.key, value: e.value });
      } else {
        for (const m of unwrap(e)) messages.push(m);
      }
    }
    const compression = codec as Compression;
    return { ok: true, batch: messageSetToBatch(messages, { compression }), magic, compression, messageCount: messages.length };
  } catch (err) {
    if (err instanceof LegacyMessageSetError) return { ok: false, errorCode: err.errorCode, message: err.message };
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// conversion on read (Fetch v0-v3)

export interface DownConvertOptions {
  /**
   * Stop before the message that would take the set above this many bytes; the first message is
   * included even above it unless `minOneMessage` is false.
   */
  maxBytes?: number;
  /** Default true: the first message is written even if it alone exceeds maxBytes (KIP-74). */
  minOneMessage?: boolean;
}

export interface DownConverted {
  /** The message set (uncompressed, one entry per record). */
  records: Buffer;
  /** Messages written. */
  count: number;
  /** One past the offset of the last record looked at (written or skipped); -1n if none. */
  nextOffset: bigint;
  /** True when maxBytes cut the conversion short. */
  truncated: boolean;
}

/**
 * Down-converts whole v2 batches (as stored) to an uncompressed magic-0 or magic-1 message set,
 * as Kafka's RecordsUtil.downConvert does for old Fetch versions: offsets preserved, headers
 * dropped, control batches skipped, records below `fromOffset` dropped. Magic 1 keeps record
 * timestamps; a LogAppendTime batch gives every message the batch maxTimestamp and attributes bit 3.
 * Throws RecordBatchDecodeError / UnsupportedCompressionError for batches it cannot read.
 */
export function downConvertBatches(batches: ReadonlyArray<Buffer>, magic: LegacyMagic, fromOffset: bigint, opts: DownConvertOptions = {}): DownConverted {
  const limit = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
  const minOne = opts.minOneMessage ?? true;
  const parts: Array<{ offset: bigint; attributes: number; timestamp: bigint; key: Buffer | null; value: Buffer | null }> = [];
  let total = 0;
  let nextOffset = -1n;
  let truncated = false;
  outer: for (const b of batches) {
    const { header, records } = decodeRecordBatch(b);
    if (header.isControl) {
      nextOffset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
      continue;
    }
    const logAppend = header.timestampType === TimestampType.LOG_APPEND_TIME;
    const attributes = magic === 1 && logAppend ? LEGACY_TIMESTAMP_TYPE_BIT : 0;
    for (const r of records) {
      if (r.offset < fromOffset) continue;
      const size = legacyEntrySize(magic, r.key, r.value);
      if ((parts.length > 0 || !minOne) && total + size > limit) {
        truncated = true;
        break outer;
      }
      parts.push({ offset: r.offset, attributes, timestamp: r.timestamp, key: r.key, value: r.value });
      total += size;
      nextOffset = r.offset + 1n;
    }
    const last = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
    if (last > nextOffset) nextOffset = last;
  }
  const out = Buffer.allocUnsafe(total);
  let p = 0;
  for (const m of parts) p = writeEntry(out, p, m.offset, magic, m.attributes, m.timestamp, m.key, m.value);
  return { records: out, count: parts.length, nextOffset, truncated };
}

/** Down-converts whole v2 batches to a magic-0/1 message set (see downConvertBatches). */
export function batchesToMessageSet(batches: ReadonlyArray<Buffer>, magic: LegacyMagic, fromOffset: bigint): Buffer {
  return downConvertBatches(batches, magic, fromOffset).records;
}
