// Log compaction (cleanup.policy=compact), Kafka's LogCleaner in our own terms: the store-
// independent part. Both stores call into it; they own the bytes and the swap.
//
// A partition has a clean section [log start, firstDirty) that earlier passes compacted and a
// dirty section [firstDirty, cleanableEnd) written since. cleanableEnd is the first offset that
// must not be touched: the active segment (file store), the last stable offset (an open
// transaction's records are not decided yet) and data younger than min.compaction.lag.ms.
// A pass runs when dirty bytes / (clean + dirty bytes) >= min.cleanable.dirty.ratio, or when the
// oldest dirty data is older than max.compaction.lag.ms.
//
// The pass: (1) an offset map: for every key in the dirty section, the offset of its latest
// record (records of aborted transactions do not count, control batches have no keys);
// (2) every batch in [log start, cleanableEnd) is rewritten, in offset order, by Kafka's rules
// (Cleaner.cleanInto, MemoryRecords.filterTo):
//   - a record stays when it is the latest for its key (a key missing from the map was last
//     written in the clean section, whose records are already the latest); records without a key
//     go (Kafka refuses them on compacted topics at produce; they can only come from a topic that
//     was switched to compact);
//   - tombstones (null value) and transaction markers go delete.retention.ms after the pass that
//     first kept them (KIP-534): that pass stores the time they may go, now + delete.retention.ms,
//     in the batch (the DELETE_HORIZON attribute, baseTimestamp); a later pass at or past it drops
//     them. A marker may go only once no batch of its transaction is left (CleanedTransactions);
//   - records of aborted transactions go;
//   - a batch left empty goes, except the last batch of a producer the partition still tracks
//     (its sequence and epoch must survive a rebuild of the producer state from the log) and the
//     batch that ends right before cleanableEnd (the log's last offset before it stays known):
//     those stay as empty batches (header only, Kafka's writeEmptyHeader).
// Offsets are preserved: a batch keeps its base offset and lastOffsetDelta (so its last sequence),
// records keep their offsets, gaps appear. Batches keep their codec (re-compressed), producer
// fields, leader epoch and timestamp type (LogAppendTime keeps its max timestamp).

import {
  batchLastOffset,
  decodeRecordBatch,
  deleteHorizonMs,
  encodeEmptyBatch,
  encodeRecordBatch,
  readBatchHeader,
  readTxnMarker,
  type BatchHeader,
  type DecodedRecord,
} from '../../protocol/records/index.js';
import type { AbortedTxn } from './producer-state.js';

/** Compaction settings (topic configs, with the broker's defaults). */
export interface CompactionConfig {
  /** delete.retention.ms: how long tombstones and markers stay after the pass that first kept them. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms */
  maxCompactionLagMs: number;
  /** min.cleanable.dirty.ratio */
  minCleanableDirtyRatio: number;
  /** segment.index.bytes: the file store merges segments whose indexes together stay within it. */
  segmentIndexBytes?: number;
}

export const DEFAULT_COMPACTION_CONFIG: CompactionConfig = {
  deleteRetentionMs: 86_400_000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  minCleanableDirtyRatio: 0.5,
};

/** Kafka's segment.index.bytes default. */
export const DEFAULT_SEGMENT_INDEX_BYTES = 10 * 1024 * 1024;

const keyOf = (key: Buffer): string => key.toString('latin1');

/** Tells whether a batch's records belong to an aborted transaction (from the partition's index). */
export class AbortedLookup {
  private readonly byProducer = new Map<bigint, AbortedTxn[]>();

  constructor(aborted: readonly AbortedTxn[]) {
    for (const t of aborted) {
      let list = this.byProducer.get(t.producerId);
      if (!list) this.byProducer.set(t.producerId, (list = []));
      list.push(t);
    }
  }

  isAborted(h: Pick<BatchHeader, 'producerId' | 'baseOffset' | 'isTransactional' | 'isControl'>): boolean {
    if (!h.isTransactional || h.isControl) return false;
    const list = this.byProducer.get(h.producerId);
    return list !== undefined && list.some((t) => t.firstOffset <= h.baseOffset && h.baseOffset <= t.lastOffset);
  }
}

/** Key -> offset of its latest record, built over the dirty section. */
export class OffsetMap {
  private readonly latest = new Map<string, bigint>();

  get size(): number {
    return this.latest.size;
  }

  /** Adds the records of one stored batch whose offsets lie in [from, to). */
  addBatch(batch: Buffer, from: bigint, to: bigint, aborted: AbortedLookup): void {
    const h = readBatchHeader(batch);
    if (h.isControl || h.recordCount === 0 || aborted.isAborted(h)) return;
    for (const r of decodeRecordBatch(batch).records) {
      if (r.key === null || r.offset < from || r.offset >= to) continue;
      this.latest.set(keyOf(r.key), r.offset);
    }
  }

  latestOffset(key: Buffer): bigint | undefined {
    return this.latest.get(keyOf(key));
  }
}

/**
 * The transactions a pass walks through, batch by batch in offset order (Kafka's
 * CleanedTransactionMetadata): which data batches belong to aborted transactions, and whether a
 * marker may be removed, i.e. no batch of its transaction was met (an earlier pass removed them
 * all). An aborted transaction whose ABORT marker stays keeps its index entry (`retained`); one
 * whose marker may go no longer needs it (`released`).
 */
export class CleanedTransactions {
  /** Aborted transactions not yet reached, by first offset descending (popped from the end). */
  private readonly pending: AbortedTxn[];
  private readonly ongoingAborted = new Map<bigint, { txn: AbortedTxn; observed: boolean }>();
  private readonly ongoingCommitted = new Set<bigint>();

  constructor(aborted: readonly AbortedTxn[]) {
    this.pending = [...aborted].sort((a, b) => (a.firstOffset > b.firstOffset ? -1 : a.firstOffset < b.firstOffset ? 1 : 0));
  }

  private reach(offset: bigint): void {
    while (this.pending.length > 0 && this.pending[this.pending.length - 1]!.firstOffset <= offset) {
      const t = this.pending.pop()!;
      if (!this.ongoingAborted.has(t.producerId)) this.ongoingAborted.set(t.producerId, { txn: t, observed: false });
    }
  }

  /** A data batch: true if it belongs to an aborted transaction (its records may all go). */
  onBatch(h: BatchHeader): boolean {
    this.reach(batchLastOffset(h));
    if (!h.isTransactional) return false;
    const a = this.ongoingAborted.get(h.producerId);
    if (a !== undefined) {
      a.observed = true;
      return true;
    }
    this.ongoingCommitted.add(h.producerId);
    return false;
  }

  /**
   * A control batch: whether it may be removed (once its delete horizon passed), and the aborted
   * transaction whose index entry stays with it or is no longer needed.
   */
  onControlBatch(h: BatchHeader, batch: Buffer): { discardable: boolean; retained?: AbortedTxn; released?: AbortedTxn } {
    this.reach(batchLastOffset(h));
    // An empty control batch was emptied by an earlier pass.
    if (h.recordCount === 0) return { discardable: true };
    const marker = readTxnMarker(batch);
    if (marker === undefined) return { discardable: false };
    if (marker.commit) return { discardable: !this.ongoingCommitted.delete(h.producerId) };
    const a = this.ongoingAborted.get(h.producerId);
    this.ongoingAborted.delete(h.producerId);
    if (a === undefined) return { discardable: true };
    return a.observed ? { discardable: false, retained: a.txn } : { discardable: true, released: a.txn };
  }
}

/** A producer's last data offset (-1: none) and epoch (ProducerStateManager.lastRecords). */
export interface ProducerLastRecord {
  lastDataOffset: bigint;
  producerEpoch: number;
}

export interface CleanBatchContext {
  map: OffsetMap;
  txns: CleanedTransactions;
  /** The producers the partition tracks: the batch holding each one's last record stays. */
  producers: ReadonlyMap<bigint, ProducerLastRecord>;
  /** The pass's cleanable end: records at or past it are kept as they are. */
  cleanableEnd: bigint;
  /** The pass's time (the broker's clock): compared with delete horizons, and the base of new ones. */
  nowMs: number;
  deleteRetentionMs: number;
}

export interface CleanedBatch {
  /** The batch to keep (the same buffer when nothing changed), or null to drop it. */
  batch: Buffer | null;
  recordsBefore: number;
  recordsAfter: number;
  /** An ABORT marker kept with its transaction's index entry (for the rewritten segment's .txnindex). */
  retainedAborted?: AbortedTxn;
  /** An aborted transaction whose index entry is no longer needed (its marker may go). */
  releasedAborted?: AbortedTxn;
}

/** Kafka's isBatchLastRecordOfProducer: the batch holding a tracked producer's last record. */
function lastOfProducer(h: BatchHeader, producers: ReadonlyMap<bigint, ProducerLastRecord>): boolean {
  if (h.producerId < 0n) return false;
  const p = producers.get(h.producerId);
  if (p === undefined) return false;
  if (p.lastDataOffset >= 0n) return batchLastOffset(h) === p.lastDataOffset;
  return h.isControl && h.producerEpoch === p.producerEpoch;
}

function keepRecord(r: DecodedRecord, c: CleanBatchContext, horizon: bigint | undefined): boolean {
  if (r.offset >= c.cleanableEnd) return true;
  if (r.key === null) return false;
  const latest = c.map.latestOffset(r.key);
  if (latest !== undefined && r.offset < latest) return false;
  if (r.value !== null) return true;
  return horizon === undefined || BigInt(c.nowMs) < horizon;
}

/** Re-encodes a batch with `records` (a subset of its own, decoded), keeping its header fields. */
function rewrite(h: BatchHeader, records: readonly DecodedRecord[], horizon: bigint | undefined): Buffer {
  const logAppendTime = h.timestampType === 1;
  return encodeRecordBatch({
    baseOffset: h.baseOffset,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    compression: h.compression as 0 | 1 | 2 | 3 | 4,
    timestampType: h.timestampType,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    isTransactional: h.isTransactional,
    isControl: h.isControl,
    baseTimestamp: h.baseTimestamp,
    ...(horizon !== undefined ? { deleteHorizonMs: horizon } : {}),
    ...(logAppendTime ? { maxTimestamp: h.maxTimestamp } : {}),
    // The original last offset stays, and with it the batch's last sequence (Kafka's overrideLastOffset).
    lastOffsetDelta: h.lastOffsetDelta,
    records: records.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      // The stored timestamp (for LogAppendTime the create time the record carried).
      timestamp: logAppendTime ? h.baseTimestamp + r.timestampDelta : r.timestamp,
      offsetDelta: r.offsetDelta,
    })),
  });
}

/**
 * Rewrites one stored batch per the rules in the file header. Batches must come in offset order
 * (the transaction state follows them). Throws when the records cannot be decoded (a codec this
 * runtime lacks): the caller then keeps the batch as it is.
 */
export function cleanBatch(batch: Buffer, c: CleanBatchContext): CleanedBatch {
  const h = readBatchHeader(batch);
  let canDiscard: boolean;
  let retainedAborted: AbortedTxn | undefined;
  let releasedAborted: AbortedTxn | undefined;
  if (h.isControl) {
    const r = c.txns.onControlBatch(h, batch);
    canDiscard = r.discardable;
    retainedAborted = r.retained;
    releasedAborted = r.released;
  } else {
    canDiscard = c.txns.onBatch(h);
  }
  const horizon = deleteHorizonMs(h);
  const now = BigInt(c.nowMs);
  const discardRecords = h.isControl ? canDiscard && horizon !== undefined && horizon <= now : canDiscard;
  const retainEmpty = lastOfProducer(h, c.producers) || batchLastOffset(h) + 1n === c.cleanableEnd;
  const result = (out: Buffer | null, after: number): CleanedBatch => ({
    batch: out,
    recordsBefore: h.recordCount,
    recordsAfter: after,
    ...(retainedAborted !== undefined ? { retainedAborted } : {}),
    ...(releasedAborted !== undefined ? { releasedAborted } : {}),
  });
  const emptied = (): CleanedBatch => {
    if (!retainEmpty) return result(null, 0);
    return result(h.recordCount === 0 ? batch : encodeEmptyBatch(h), 0);
  };

  if (discardRecords || h.recordCount === 0) return emptied();
  if (h.isControl) {
    // A marker whose transaction left nothing behind gets its delete horizon on the first pass
    // that finds it so (Kafka's containsMarkerForEmptyTxn), and goes once it has passed.
    if (!canDiscard || horizon !== undefined) return result(batch, h.recordCount);
    return result(rewrite(h, decodeRecordBatch(batch).records, now + BigInt(c.deleteRetentionMs)), h.recordCount);
  }
  const records = decodeRecordBatch(batch).records;
  const kept = records.filter((r) => keepRecord(r, c, horizon));
  if (kept.length === 0) return emptied();
  const needHorizon = horizon === undefined && kept.some((r) => r.value === null);
  if (kept.length === records.length && !needHorizon) return result(batch, kept.length);
  return result(rewrite(h, kept, needHorizon ? now + BigInt(c.deleteRetentionMs) : horizon), kept.length);
}

/** Figures of one compaction pass. */
export interface CompactionResult {
  /** Whether a pass ran (false: nothing dirty enough, or nothing cleanable). */
  ran: boolean;
  bytesBefore: number;
  bytesAfter: number;
  recordsBefore: number;
  recordsAfter: number;
  /** The new first dirty offset (= the cleanable end of the pass). */
  cleanedTo: bigint;
}

export const NO_PASS: CompactionResult = { ran: false, bytesBefore: 0, bytesAfter: 0, recordsBefore: 0, recordsAfter: 0, cleanedTo: -1n };

/** Whether a pass is due: the dirty ratio, or max.compaction.lag.ms for the oldest dirty data. */
function passDue(cfg: CompactionConfig, cleanBytes: number, dirtyBytes: number, oldestDirtyTimestamp: number, nowMs: number): boolean {
  if (dirtyBytes <= 0) return false;
  if (oldestDirtyTimestamp >= 0 && nowMs - oldestDirtyTimestamp > cfg.maxCompactionLagMs) return true;
  return dirtyBytes / (cleanBytes + dirtyBytes) >= cfg.minCleanableDirtyRatio;
}

/** A unit a store cleans whole, oldest first: a segment (file store) or a batch (memory store). */
export interface CompactionUnit {
  /** Offset after its last one. */
  end: bigint;
  size: number;
  /** Largest record timestamp (or, without timestamps, when it was written). */
  largestTimestamp: number;
}

export interface CompactionPlan {
  /** The first `n` units are cleanable. */
  n: number;
  cleanableEnd: bigint;
  firstDirty: bigint;
}

/**
 * Which units a pass may clean, fed oldest first (the memory store feeds them across slices): a
 * prefix, each wholly below the last stable offset `stable` and older than min.compaction.lag.ms;
 * units ending at or below `firstDirty` are the clean section.
 */
export class PassPlanner {
  private n = 0;
  private cleanableEnd = -1n;
  private cleanBytes = 0;
  private dirtyBytes = 0;
  private oldestDirty = -1;

  constructor(
    private readonly stable: bigint,
    private readonly firstDirty: bigint,
    private readonly nowMs: number,
    private readonly cfg: CompactionConfig,
  ) {}

  /** Adds the next unit; false (and it is not added) when it is not cleanable: planning ends there. */
  add(end: bigint, size: number, largestTimestamp: number): boolean {
    if (end > this.stable || this.nowMs - largestTimestamp < this.cfg.minCompactionLagMs) return false;
    this.n++;
    this.cleanableEnd = end;
    if (end <= this.firstDirty) {
      this.cleanBytes += size;
    } else {
      this.dirtyBytes += size;
      if (this.oldestDirty < 0) this.oldestDirty = largestTimestamp;
    }
    return true;
  }

  /** The plan, or undefined when nothing is cleanable or no pass is due. */
  result(): CompactionPlan | undefined {
    if (this.n === 0 || this.firstDirty >= this.cleanableEnd) return undefined;
    if (!passDue(this.cfg, this.cleanBytes, this.dirtyBytes, this.oldestDirty, this.nowMs)) return undefined;
    return { n: this.n, cleanableEnd: this.cleanableEnd, firstDirty: this.firstDirty };
  }
}

/** PassPlanner over units known up front; undefined when no pass is due. */
export function planPass(units: readonly CompactionUnit[], stable: bigint, firstDirty: bigint, nowMs: number, cfg: CompactionConfig): CompactionPlan | undefined {
  const planner = new PassPlanner(stable, firstDirty, nowMs, cfg);
  for (const u of units) if (!planner.add(u.end, u.size, u.largestTimestamp)) break;
  return planner.result();
}

/**
 * What a batch counts for in a slice of a pass: its bytes, and a fixed part for the work every
 * batch costs whatever its size (header, decode, encode), so that slices of small batches stay
 * short too.
 */
export function sliceCost(batchBytes: number): number {
  return batchBytes + 4096;
}

/** A segment as the file store's grouping sees it (sizes in bytes). */
export interface GroupableSegment {
  base: bigint;
  size: number;
  indexBytes: number;
  timeIndexBytes: number;
}

/** What a group of segments being cleaned into one holds so far. */
export interface SegmentGroup {
  base: bigint;
  logBytes: number;
  indexBytes: number;
  timeIndexBytes: number;
}

/**
 * Kafka's rule (Cleaner.groupSegmentsBySize) for whether `next` may join `group` in one
 * replacement segment: the log within segment.bytes, each index within segment.index.bytes, and
 * the offsets within one segment's relative range (int32; `nextLastOffset` is the estimate of
 * next's last offset: the base of the segment after it - 1, or the cleanable end - 1). An empty
 * segment always fits the range.
 */
export function canJoinGroup(group: SegmentGroup, next: GroupableSegment, nextLastOffset: bigint, maxSize: number, maxIndexSize: number): boolean {
  return (
    group.logBytes + next.size <= maxSize &&
    group.indexBytes + next.indexBytes <= maxIndexSize &&
    group.timeIndexBytes + next.timeIndexBytes <= maxIndexSize &&
    (next.size === 0 || nextLastOffset - group.base <= 2147483647n)
  );
}

/**
 * Kafka's groupSegmentsBySize over sizes known in advance: consecutive segments cleaned into one
 * replacement segment, as many as canJoinGroup lets in. Every segment is in exactly one group, in
 * order. (The file store applies canJoinGroup as it goes, with the sizes of the group's segments
 * measured after cleaning them, so segments a pass empties merge in that same pass.)
 */
export function groupSegmentsBySize<T extends GroupableSegment>(segs: readonly T[], maxSize: number, maxIndexSize: number, firstUncleanableOffset: bigint): T[][] {
  const groups: T[][] = [];
  let i = 0;
  while (i < segs.length) {
    const first = segs[i]!;
    const members = [first];
    const g: SegmentGroup = { base: first.base, logBytes: first.size, indexBytes: first.indexBytes, timeIndexBytes: first.timeIndexBytes };
    for (i++; i < segs.length; i++) {
      const s = segs[i]!;
      const lastOffset = i + 1 < segs.length ? segs[i + 1]!.base - 1n : firstUncleanableOffset - 1n;
      if (!canJoinGroup(g, s, lastOffset, maxSize, maxIndexSize)) break;
      members.push(s);
      g.logBytes += s.size;
      g.indexBytes += s.indexBytes;
      g.timeIndexBytes += s.timeIndexBytes;
    }
    groups.push(members);
  }
  return groups;
}
