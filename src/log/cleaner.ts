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
// (2) every batch in [log start, cleanableEnd) is rewritten keeping only the records that are the
// latest for their key (a key missing from the map was last written in the clean section, whose
// records are already the latest); records of aborted transactions go; a tombstone (null value)
// goes once its batch is older than delete.retention.ms; records without a key are kept (Kafka
// refuses them on compacted topics at produce time; Brook does not decode records there). Offsets
// are preserved: the batch keeps its base offset, records keep their offsets, gaps appear.
// Batches keep their codec (re-compressed), producer fields, leader epoch and timestamp type
// (LogAppendTime keeps its max timestamp). Control batches (transaction markers) are kept. A batch
// left with no records is dropped.

import {
  decodeRecordBatch,
  encodeRecordBatch,
  readBatchHeader,
  type BatchHeader,
  type DecodedRecord,
} from '../../protocol/records/index.js';
import type { AbortedTxn } from './producer-state.js';

/** Compaction settings (topic configs, with the broker's defaults). */
export interface CompactionConfig {
  /** delete.retention.ms: how long tombstones stay after a pass reached them. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms */
  maxCompactionLagMs: number;
  /** min.cleanable.dirty.ratio */
  minCleanableDirtyRatio: number;
}

export const DEFAULT_COMPACTION_CONFIG: CompactionConfig = {
  deleteRetentionMs: 86_400_000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  minCleanableDirtyRatio: 0.5,
};

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
    if (h.isControl || aborted.isAborted(h)) return;
    for (const r of decodeRecordBatch(batch).records) {
      if (r.key === null || r.offset < from || r.offset >= to) continue;
      this.latest.set(keyOf(r.key), r.offset);
    }
  }

  latestOffset(key: Buffer): bigint | undefined {
    return this.latest.get(keyOf(key));
  }
}

export interface CleanBatchOptions {
  map: OffsetMap;
  aborted: AbortedLookup;
  /** Records at or past this offset are kept as they are (the uncleanable part). */
  cleanableEnd: bigint;
  /** Tombstones in this batch may go (its age is past delete.retention.ms). */
  dropTombstones: boolean;
}

export interface CleanedBatch {
  /** The batch to keep (the same buffer when nothing changed), or null to drop it. */
  batch: Buffer | null;
  recordsBefore: number;
  recordsAfter: number;
}

function keep(r: DecodedRecord, o: CleanBatchOptions): boolean {
  if (r.offset >= o.cleanableEnd) return true;
  if (r.key === null) return true;
  const latest = o.map.latestOffset(r.key);
  if (latest !== undefined && r.offset < latest) return false;
  if (r.value === null && o.dropTombstones) return false;
  return true;
}

/** Rewrites one stored batch per the rules in the file header. */
export function cleanBatch(batch: Buffer, o: CleanBatchOptions): CleanedBatch {
  const h = readBatchHeader(batch);
  if (h.isControl) return { batch, recordsBefore: h.recordCount, recordsAfter: h.recordCount };
  const decoded = decodeRecordBatch(batch);
  const records = decoded.records;
  if (o.aborted.isAborted(h) && h.baseOffset < o.cleanableEnd) return { batch: null, recordsBefore: records.length, recordsAfter: 0 };
  const kept = records.filter((r) => keep(r, o));
  if (kept.length === records.length) return { batch, recordsBefore: records.length, recordsAfter: records.length };
  if (kept.length === 0) return { batch: null, recordsBefore: records.length, recordsAfter: 0 };
  const logAppendTime = h.timestampType === 1;
  const out = encodeRecordBatch({
    baseOffset: h.baseOffset,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    compression: h.compression as 0 | 1 | 2 | 3 | 4,
    timestampType: h.timestampType,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    isTransactional: h.isTransactional,
    baseTimestamp: h.baseTimestamp,
    ...(logAppendTime ? { maxTimestamp: h.maxTimestamp } : {}),
    lastOffsetDelta: Number(kept[kept.length - 1]!.offset - h.baseOffset),
    records: kept.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: logAppendTime ? h.baseTimestamp + r.timestampDelta : r.timestamp,
      offsetDelta: Number(r.offset - h.baseOffset),
    })),
  });
  return { batch: out, recordsBefore: records.length, recordsAfter: kept.length };
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
 * Which units a pass may clean (a prefix: wholly below the last stable offset `stable` and older
 * than min.compaction.lag.ms), and whether a pass is due over them; undefined when none is. Units
 * ending at or below `firstDirty` are the clean section.
 */
export function planPass(units: readonly CompactionUnit[], stable: bigint, firstDirty: bigint, nowMs: number, cfg: CompactionConfig): CompactionPlan | undefined {
  let n = 0;
  while (n < units.length && units[n]!.end <= stable && nowMs - units[n]!.largestTimestamp >= cfg.minCompactionLagMs) n++;
  if (n === 0) return undefined;
  const cleanableEnd = units[n - 1]!.end;
  if (firstDirty >= cleanableEnd) return undefined;
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let oldestDirty = -1;
  for (let i = 0; i < n; i++) {
    const u = units[i]!;
    if (u.end <= firstDirty) cleanBytes += u.size;
    else {
      dirtyBytes += u.size;
      if (oldestDirty < 0) oldestDirty = u.largestTimestamp;
    }
  }
  return passDue(cfg, cleanBytes, dirtyBytes, oldestDirty, nowMs) ? { n, cleanableEnd, firstDirty } : undefined;
}
