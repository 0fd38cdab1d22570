// Pieces shared by the memory and file stores: errors, topic-name rules, effective log config,
// and the store's own rules over record batches (framing checks before an append, timestamp
// lookups with their approximations). The record format itself (header layout and parsing, CRC,
// record walks) is protocol/records'.

import { findRecordTimestamp, readTxnMarker, verifyBatchCrc } from '../../protocol/records/batch.js';
import { BATCH_HEADER_SIZE, TimestampType } from '../../protocol/records/constants.js';
import { batchHeaderProblem, readBatchHeader, type BatchHeader } from '../../protocol/records/header.js';
import type { AbortedTxn, ProducerStateManager } from './producer-state.js';
import type { LogConfig, TopicMetadata } from './types.js';

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
  const problem = batchHeaderProblem(h, buf.length);
  if (problem !== undefined) throw new InvalidBatchError(problem);
  if (h.sizeInBytes !== buf.length) throw new InvalidBatchError(`batchLength says ${h.sizeInBytes} bytes, buffer holds ${buf.length}`);
  return h;
}

/**
 * A follower append whose offsets do not continue the log (Kafka's UnexpectedAppendOffsetException
 * and OffsetsOutOfOrderException): the first batch starts below the log end offset, or the
 * batches' offsets do not increase. Nothing was appended. The fetcher decides what follows (Kafka
 * restarts an empty follower log at `firstOffset` when the leader's log start falls inside that
 * batch; anything else is an error to retry).
 */
export class UnexpectedAppendOffsetError extends Error {
  readonly code = 'ERR_UNEXPECTED_APPEND_OFFSET';
  constructor(
    message: string,
    readonly firstOffset: bigint,
    readonly lastOffset: bigint,
  ) {
    super(message);
    this.name = 'UnexpectedAppendOffsetError';
  }
}

/**
 * Checks of a follower append (the leader's batches, with their offsets), before anything is
 * stored: each buffer one whole sane v2 batch (checkAppendable) with a valid CRC-32C (Kafka's
 * follower path validates every batch too: bytes damaged on the way must not become the
 * replica's log), the first starting at or above `logEndOffset` (above it is a gap the leader's
 * compaction or a restarted log left, accepted as Kafka does), each later one starting after the
 * previous one ends. Throws InvalidBatchError or UnexpectedAppendOffsetError.
 */
export function checkFollowerBatches(batches: readonly Buffer[], logEndOffset: bigint): BatchHeader[] {
  const headers = batches.map((b) => {
    const h = checkAppendable(b);
    if (!verifyBatchCrc(b)) throw new InvalidBatchError(`batch at offset ${h.baseOffset} fails its CRC-32C check`);
    return h;
  });
  let next = logEndOffset;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const last = h.baseOffset + BigInt(h.lastOffsetDelta);
    if (h.baseOffset < next) {
      const first = headers[0]!;
      const msg =
        i === 0
          ? `out of order offsets: first offset ${h.baseOffset} is below the log end offset ${logEndOffset}`
          : `out of order offsets: batch ${i} starts at ${h.baseOffset}, after a batch ending at ${next - 1n}`;
      throw new UnexpectedAppendOffsetError(msg, first.baseOffset, headers[headers.length - 1]!.baseOffset + BigInt(headers[headers.length - 1]!.lastOffsetDelta));
    }
    next = last + 1n;
  }
  return headers;
}

export interface RecordHit {
  offset: bigint;
  timestamp: bigint;
  /** false when the answer is an approximation (a records section this runtime cannot read). */
  exact: boolean;
}

/**
 * Finds the first record in a stored `batch` whose timestamp satisfies `pred` (ListOffsets by
 * timestamp, max timestamp).
 *
 * - LogAppendTime batches: every record carries maxTimestamp, so the answer is the first record.
 * - Otherwise the records are walked (protocol/records findRecordTimestamp: uncompressed, gzip,
 *   snappy, lz4, zstd where the runtime has it).
 * - A batch that cannot be walked (a codec this runtime lacks, a corrupt body, a malformed record
 *   before the match) is approximated: if its baseTimestamp (the first record's timestamp as
 *   producers write it) satisfies `pred` the first record, otherwise `fallbackOffset` with the
 *   batch's maxTimestamp, both marked inexact.
 *
 * Records below `minOffset` (the log start offset, when it falls inside this batch) are never
 * answered; approximate answers are raised to it. Returns undefined only when the batch provably
 * holds no matching record.
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
  if (h.timestampType === TimestampType.LOG_APPEND_TIME) {
    return pred(h.maxTimestamp) ? { offset: atLeast(h.baseOffset), timestamp: h.maxTimestamp, exact: true } : undefined;
  }
  try {
    const hit = findRecordTimestamp(batch, (offset, ts) => offset >= minOffset && pred(ts));
    return hit === undefined ? undefined : { ...hit, exact: true };
  } catch {
    // Approximated below.
  }
  if (pred(h.baseTimestamp)) return { offset: atLeast(h.baseOffset), timestamp: h.baseTimestamp, exact: false };
  if (!pred(h.maxTimestamp)) return undefined;
  return { offset: atLeast(fallbackOffset(h)), timestamp: h.maxTimestamp, exact: false };
}

/**
 * Feeds one stored batch at [base, last] (its `header` already parsed) to a partition's producer
 * state; returns the aborted transaction an ABORT marker completed. Batches without a producer id
 * change nothing.
 */
export function applyBatchToProducerState(state: ProducerStateManager, batch: Buffer, header: BatchHeader, base: bigint, last: bigint): AbortedTxn | undefined {
  if (header.producerId < 0n) return undefined;
  return state.apply(header, base, last, header.isControl ? readTxnMarker(batch) : undefined);
}

export type LogStoreErrorCode =
  | 'TOPIC_ALREADY_EXISTS'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'INVALID_TOPIC'
  | 'INVALID_PARTITIONS'
  | 'INVALID_CONFIG'
  | 'STORAGE_ERROR'
  /** Stored bytes that do not parse as record batches (a damaged segment): Kafka's CORRUPT_MESSAGE. */
  | 'CORRUPT_MESSAGE';

/**
 * Errors the stores throw for caller mistakes and for failing or damaged storage; `code` maps onto
 * a Kafka error code (STORAGE_ERROR is KAFKA_STORAGE_ERROR for the partition hit).
 */
export class LogStoreError extends Error {
  constructor(
    readonly code: LogStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LogStoreError';
  }
}

export const MAX_TOPIC_NAME_LENGTH = 249;
const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

/** Kafka's topic-name rule: 1..249 of [a-zA-Z0-9._-], and not "." or "..". */
export function validateTopicName(name: string): void {
  if (name.length === 0) throw new LogStoreError('INVALID_TOPIC', 'topic name is empty');
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new LogStoreError('INVALID_TOPIC', `topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`);
  }
  if (name === '.' || name === '..') throw new LogStoreError('INVALID_TOPIC', `topic name cannot be "${name}"`);
  if (!TOPIC_NAME.test(name)) {
    throw new LogStoreError('INVALID_TOPIC', `topic name ${JSON.stringify(name)} has characters outside [a-zA-Z0-9._-]`);
  }
}

export function validateNewTopic(meta: TopicMetadata): void {
  validateTopicName(meta.name);
  if (!Number.isInteger(meta.numPartitions) || meta.numPartitions < 1) {
    throw new LogStoreError('INVALID_PARTITIONS', `numPartitions must be a positive integer, got ${meta.numPartitions}`);
  }
  if (typeof meta.topicId !== 'string' || meta.topicId.length === 0) {
    throw new LogStoreError('INVALID_TOPIC', 'topicId is missing');
  }
}

export function copyTopic(meta: TopicMetadata): TopicMetadata {
  return {
    name: meta.name,
    topicId: meta.topicId,
    numPartitions: meta.numPartitions,
    replicationFactor: meta.replicationFactor,
    configs: { ...meta.configs },
  };
}

const TOPIC_LOG_CONFIGS: ReadonlyArray<[string, Exclude<keyof LogConfig, 'cleanupPolicy'>]> = [
  ['segment.bytes', 'segmentBytes'],
  ['segment.ms', 'segmentMs'],
  ['flush.messages', 'flushIntervalMessages'],
  ['index.interval.bytes', 'indexIntervalBytes'],
  ['retention.ms', 'retentionMs'],
  ['retention.bytes', 'retentionBytes'],
  ['file.delete.delay.ms', 'fileDeleteDelayMs'],
];

/**
 * Broker defaults with the topic's overrides (Kafka topic-level names) applied. Values that do
 * not parse as integers are ignored here; config validation belongs to the admin handlers.
 */
export function effectiveLogConfig(base: LogConfig, configs: Record<string, string>): LogConfig {
  const out: LogConfig = { ...base };
  if (configs['cleanup.policy'] !== undefined) out.cleanupPolicy = configs['cleanup.policy'];
  for (const [name, key] of TOPIC_LOG_CONFIGS) {
    const raw = configs[name];
    if (raw === undefined || !/^-?\d+$/.test(raw.trim())) continue;
    const n = Number(raw.trim());
    if (Number.isSafeInteger(n)) out[key] = n;
    else if (n > 0) out[key] = Number.MAX_SAFE_INTEGER;
  }
  return out;
}

export const INT32_MAX = 2147483647;

/** Whether a cleanup.policy value (a list: "delete", "compact", "compact,delete") includes `policy`. */
export function cleanupPolicyIncludes(value: string, policy: 'delete' | 'compact'): boolean {
  return value.split(',').some((p) => p.trim() === policy);
}

/**
 * How many of the oldest units (segments or batches) retention removes: the leading ones older
 * than retention.ms (stopping at the first that is not, as Kafka), or as many leading ones as can
 * go while the rest stays at or above retention.bytes, whichever is more.
 */
export function retentionCount(config: LogConfig, nowMs: number, units: ReadonlyArray<{ size: number; largestTimestamp: number }>): number {
  if (!cleanupPolicyIncludes(config.cleanupPolicy, 'delete')) return 0;
  let byTime = 0;
  if (config.retentionMs >= 0) {
    while (byTime < units.length && nowMs - units[byTime]!.largestTimestamp > config.retentionMs) byTime++;
  }
  let bySize = 0;
  if (config.retentionBytes >= 0) {
    let diff = units.reduce((a, u) => a + u.size, 0) - config.retentionBytes;
    while (bySize < units.length && diff - units[bySize]!.size >= 0) {
      diff -= units[bySize]!.size;
      bySize++;
    }
  }
  return Math.max(byTime, bySize);
}

export interface CatalogEntry<P> {
  meta: TopicMetadata;
  partitions: P[];
}

/** Topics by name and by id with their partitions: the bookkeeping both stores share. */
export class TopicCatalog<P> {
  private readonly byName = new Map<string, CatalogEntry<P>>();
  private readonly byId = new Map<string, string>();

  get size(): number {
    return this.byName.size;
  }

  entries(): IterableIterator<CatalogEntry<P>> {
    return this.byName.values();
  }

  get(name: string): CatalogEntry<P> | undefined {
    return this.byName.get(name);
  }

  mustGet(name: string): CatalogEntry<P> {
    const t = this.byName.get(name);
    if (t === undefined) throw new LogStoreError('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic ${name}`);
    return t;
  }

  /** Copies, so callers cannot change the store's metadata. */
  list(): TopicMetadata[] {
    return [...this.byName.values()].map((t) => copyTopic(t.meta));
  }

  meta(name: string): TopicMetadata | undefined {
    const t = this.byName.get(name);
    return t && copyTopic(t.meta);
  }

  metaById(topicId: string): TopicMetadata | undefined {
    const name = this.byId.get(topicId);
    return name === undefined ? undefined : this.meta(name);
  }

  /** Validates a new topic against the catalog; returns the store's own copy of its metadata. */
  checkNew(meta: TopicMetadata): TopicMetadata {
    validateNewTopic(meta);
    if (this.byName.has(meta.name)) throw new LogStoreError('TOPIC_ALREADY_EXISTS', `topic ${meta.name} already exists`);
    if (this.byId.has(meta.topicId)) throw new LogStoreError('TOPIC_ALREADY_EXISTS', `topic id ${meta.topicId} is in use`);
    return copyTopic(meta);
  }

  add(meta: TopicMetadata, partitions: P[]): CatalogEntry<P> {
    const entry = { meta, partitions };
    this.byName.set(meta.name, entry);
    this.byId.set(meta.topicId, meta.name);
    return entry;
  }

  remove(name: string): CatalogEntry<P> {
    const t = this.mustGet(name);
    this.byName.delete(name);
    this.byId.delete(t.meta.topicId);
    return t;
  }
}
