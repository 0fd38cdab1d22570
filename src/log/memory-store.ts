// In-memory LogStore: each partition keeps its stored batches as Buffers in an array, with
// parallel arrays of base/last offsets for binary search. Used by tests and `brook start --memory`.

import { randomUuid } from '../../protocol/primitives/uuid.js';
import { assignOffsets } from '../../protocol/records/batch.js';
import { readBatchHeader, type BatchHeader } from '../../protocol/records/header.js';
import {
  applyBatchToProducerState,
  checkAppendable,
  checkFollowerBatches,
  effectiveLogConfig,
  findRecord,
  LogStoreError,
  retentionCount,
  TopicCatalog,
} from './common.js';
import { assignBatchEpochs, assignEpoch, epochView, latestEpochEntry, truncateEpochsFromEnd, type EpochEntry } from './epoch-cache.js';
import {
  AbortedLookup,
  CleanedTransactions,
  NO_PASS,
  OffsetMap,
  PassPlanner,
  cleanBatch,
  sliceCost,
  type CleanBatchContext,
  type CleanedBatch,
  type CompactionConfig,
  type CompactionResult,
} from './cleaner.js';
import { ProducerStateManager, type AbortedTxn } from './producer-state.js';
import type {
  AppendInfo,
  LogConfig,
  LogStore,
  PartitionLog,
  ReadResult,
  StoreOptions,
  TimestampLookup,
  TopicMetadata,
} from './types.js';

/** Batches a compaction pass looks at in one slice while planning (a few ms of work). */
const PLAN_SLICE = 20_000;

/**
 * Batches arrive as views into request frames (socket chunks); keeping a view would pin the whole
 * chunk, so a view is copied into a buffer of its own.
 */
function ownBuffer(given: Buffer): Buffer {
  return given.byteOffset === 0 && given.length === given.buffer.byteLength ? given : Buffer.from(given);
}

class MemoryPartitionLog implements PartitionLog {
  private readonly batches: Buffer[] = [];
  private readonly baseOffsets: bigint[] = [];
  private readonly lastOffsets: bigint[] = [];
  private readonly maxTimestamps: bigint[] = [];
  private readonly epochs: number[] = [];
  /** When each batch was appended (now()), for retention of batches without timestamps. */
  private readonly appendTimes: number[] = [];
  /** runningMax[i] = max(maxTimestamps[0..i]); non-decreasing, so binary-searchable. */
  private readonly runningMax: bigint[] = [];
  /** Index of the first batch holding the largest timestamp, -1 if none >= 0. */
  private maxBatch = -1;
  /** A compaction slice changed or removed maxBatch: rebuildTimestampIndex before it is used. */
  private maxBatchStale = false;
  private leo = 0n;
  /** Raised only by deleteRecordsBefore; batches entirely below it are dropped. */
  private lso = 0n;
  /** The latest epoch of `epochEntries` (the stamp of leader appends). */
  private epoch = 0;
  /** The leader-epoch history (epoch-cache.ts: epoch 0 from offset 0 implicit). */
  private epochEntries: EpochEntry[] = [];
  private deleted = false;
  /** Bumped by every truncation: a compaction pass between slices gives up (Kafka aborts cleaning on truncation). */
  private truncations = 0;
  readonly producerState = new ProducerStateManager();

  constructor(
    readonly topic: string,
    readonly partition: number,
    public config: LogConfig,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get logStartOffset(): bigint {
    return this.lso;
  }

  get logEndOffset(): bigint {
    return this.leo;
  }

  get writtenEndOffset(): bigint {
    return this.leo;
  }

  get leaderEpoch(): number {
    return this.epoch;
  }

  markDeleted(): void {
    this.deleted = true;
  }

  append(batches: readonly Buffer[]): AppendInfo {
    this.checkUsable();
    const headers = batches.map((b) => checkAppendable(b));
    const first = this.leo;
    for (let i = 0; i < batches.length; i++) {
      const buf = ownBuffer(batches[i]!);
      const h = headers[i]!;
      const base = this.leo;
      assignOffsets(buf, base, this.epoch);
      this.store(buf, h, base, base + BigInt(h.lastOffsetDelta), this.epoch);
    }
    return { baseOffset: first, lastOffset: this.leo - 1n, logStartOffset: this.logStartOffset };
  }

  /**
   * Follower append (Kafka's UnifiedLog.appendAsFollower): the leader's batches as they are, offsets
   * and partitionLeaderEpoch untouched; checked by checkFollowerBatches (CRC included). Each batch's
   * epoch is assigned at its base offset in the epoch history.
   */
  appendAsFollower(batches: readonly Buffer[]): AppendInfo {
    this.checkUsable();
    const headers = checkFollowerBatches(batches, this.leo);
    const first = headers.length > 0 ? headers[0]!.baseOffset : this.leo;
    const entries = assignBatchEpochs(this.epochEntries, headers);
    if (entries !== undefined) this.setEpochEntries(entries);
    for (let i = 0; i < batches.length; i++) {
      const h = headers[i]!;
      this.store(ownBuffer(batches[i]!), h, h.baseOffset, h.baseOffset + BigInt(h.lastOffsetDelta), h.partitionLeaderEpoch);
    }
    return { baseOffset: first, lastOffset: this.leo - 1n, logStartOffset: this.logStartOffset };
  }

  private checkUsable(): void {
    if (this.deleted) throw new LogStoreError('UNKNOWN_TOPIC_OR_PARTITION', `${this.topic}-${this.partition} was deleted`);
  }

  /** Stores one batch at [base, last] and feeds the producer state (shared by both appends). */
  private store(buf: Buffer, h: BatchHeader, base: bigint, last: bigint, epoch: number): void {
    applyBatchToProducerState(this.producerState, buf, h, base, last);
    const idx = this.batches.length;
    this.batches.push(buf);
    this.baseOffsets.push(base);
    this.lastOffsets.push(last);
    this.maxTimestamps.push(h.maxTimestamp);
    this.epochs.push(epoch);
    this.appendTimes.push(this.now());
    const prevMax = idx > 0 ? this.runningMax[idx - 1]! : -1n;
    this.runningMax.push(h.maxTimestamp > prevMax ? h.maxTimestamp : prevMax);
    if (!this.maxBatchStale && h.maxTimestamp >= 0n && (this.maxBatch < 0 || h.maxTimestamp > this.maxTimestamps[this.maxBatch]!)) {
      this.maxBatch = idx;
    }
    this.leo = last + 1n;
  }

  private setEpochEntries(entries: EpochEntry[]): void {
    this.epochEntries = entries;
    this.epoch = latestEpochEntry(entries).epoch;
  }

  /**
   * Kafka's UnifiedLog.truncateTo: everything from the batch holding `offset` (or the first batch
   * after it) on goes, and the log ends where the batches kept end. Below the first stored batch
   * the log is emptied and starts at `offset` (truncateFullyAndStartAt). The epoch history loses
   * the entries from the new end on (also when nothing is cut: a leader's epoch assigned at the end
   * of its log), the producer state is rebuilt from the batches kept.
   */
  truncateTo(offset: bigint): void {
    this.checkUsable();
    if (offset < 0n) throw new RangeError(`cannot truncate ${this.topic}-${this.partition} to a negative offset (${offset})`);
    if (offset >= this.leo) {
      const entries = truncateEpochsFromEnd(this.epochEntries, this.leo);
      if (entries !== undefined) this.setEpochEntries(entries);
      return;
    }
    if (this.batches.length === 0 || offset < this.baseOffsets[0]!) {
      this.truncateFullyAndStartAt(offset);
      return;
    }
    this.truncations++;
    const keep = this.batchIndexFor(offset);
    const end = keep > 0 ? this.lastOffsets[keep - 1]! + 1n : this.baseOffsets[0]!;
    for (const arr of [this.batches, this.baseOffsets, this.lastOffsets, this.maxTimestamps, this.epochs, this.appendTimes, this.runningMax] as unknown[][]) {
      arr.length = keep;
    }
    this.leo = end;
    if (this.lso > end) this.lso = end;
    if (this.cleanedTo > end) this.cleanedTo = end;
    this.rebuildTimestampIndex();
    this.setEpochEntries(truncateEpochsFromEnd(this.epochEntries, end) ?? this.epochEntries);
    this.rebuildProducerState();
  }

  /**
   * Kafka's truncateFullyAndStartAt: every batch goes, the log is empty at `offset` (log start and
   * end), the producer state and the epoch history are cleared.
   */
  truncateFullyAndStartAt(offset: bigint): void {
    this.checkUsable();
    if (offset < 0n) throw new RangeError(`cannot start ${this.topic}-${this.partition} at a negative offset (${offset})`);
    this.truncations++;
    for (const arr of [this.batches, this.baseOffsets, this.lastOffsets, this.maxTimestamps, this.epochs, this.appendTimes, this.runningMax] as unknown[][]) {
      arr.length = 0;
    }
    this.leo = offset;
    this.lso = offset;
    this.cleanedTo = offset;
    this.rebuildTimestampIndex();
    this.setEpochEntries([]);
    this.producerState.clear();
  }

  /**
   * The producer state of the batches kept, replayed from the first (the memory store keeps no
   * snapshots), then cut at the log start as DeleteRecords and retention cut it.
   */
  private rebuildProducerState(): void {
    this.producerState.clear();
    for (let i = 0; i < this.batches.length; i++) {
      const buf = this.batches[i]!;
      applyBatchToProducerState(this.producerState, buf, readBatchHeader(buf), this.baseOffsets[i]!, this.lastOffsets[i]!);
    }
    this.producerState.onLogStartOffset(this.lso);
  }

  /** Index of the first batch whose lastOffset >= offset (the containing batch, or the next one). */
  private batchIndexFor(offset: bigint): number {
    let lo = 0;
    let hi = this.lastOffsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lastOffsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  read(offset: bigint, maxBytes: number, minOneBatch: boolean, maxOffset?: bigint): ReadResult {
    const chunks: Buffer[] = [];
    let bytes = 0;
    if (this.deleted || offset >= this.leo) return { chunks, bytes };
    for (let i = this.batchIndexFor(offset); i < this.batches.length; i++) {
      if (maxOffset !== undefined && this.baseOffsets[i]! >= maxOffset) break;
      const b = this.batches[i]!;
      if (bytes + b.length > maxBytes && !(chunks.length === 0 && minOneBatch)) break;
      chunks.push(b);
      bytes += b.length;
      if (bytes >= maxBytes) break;
    }
    return { chunks, bytes };
  }

  offsetForTimestamp(ts: bigint): TimestampLookup | undefined {
    // First batch whose maxTimestamp >= ts == first index where the running max reaches ts.
    let lo = 0;
    let hi = this.runningMax.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.runningMax[mid]! < ts) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.batches.length; i++) {
      if (this.maxTimestamps[i]! < ts) continue;
      const hit = findRecord(this.batches[i]!, (t) => t >= ts, (h) => h.baseOffset, this.lso);
      if (hit !== undefined) return { offset: hit.offset, timestamp: hit.timestamp, leaderEpoch: this.epochs[i]! };
    }
    return undefined;
  }

  maxTimestamp(): TimestampLookup | undefined {
    if (this.maxBatchStale) this.rebuildTimestampIndex();
    if (this.maxBatch < 0) return undefined;
    const i = this.maxBatch;
    const max = this.maxTimestamps[i]!;
    const hit = findRecord(this.batches[i]!, (t) => t === max, (h) => h.baseOffset + BigInt(h.lastOffsetDelta), this.lso);
    return {
      offset: hit?.offset ?? this.lastOffsets[i]!,
      timestamp: max,
      leaderEpoch: this.epochs[i]!,
    };
  }

  bumpLeaderEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch <= this.epoch) return;
    this.setEpochEntries(assignEpoch(this.epochEntries, epoch, this.leo) ?? this.epochEntries);
  }

  deleteRecordsBefore(offset: bigint): bigint {
    this.checkUsable();
    const target = offset > this.leo ? this.leo : offset;
    if (target <= this.lso) return this.lso;
    this.lso = target;
    this.producerState.onLogStartOffset(target);
    // Whole batches below the new start go; one straddling it stays.
    const drop = this.batchIndexFor(target);
    if (drop > 0) {
      for (const arr of [this.batches, this.baseOffsets, this.lastOffsets, this.maxTimestamps, this.epochs, this.appendTimes]) arr.splice(0, drop);
      this.rebuildTimestampIndex();
    }
    return this.lso;
  }

  private rebuildTimestampIndex(): void {
    this.runningMax.length = 0;
    this.maxBatch = -1;
    this.maxBatchStale = false;
    let runMax = -1n;
    for (let i = 0; i < this.maxTimestamps.length; i++) {
      const t = this.maxTimestamps[i]!;
      if (t > runMax) runMax = t;
      this.runningMax.push(runMax);
      if (t >= 0n && (this.maxBatch < 0 || t > this.maxTimestamps[this.maxBatch]!)) this.maxBatch = i;
    }
  }

  /** Where the last compaction pass ended. */
  private cleanedTo = 0n;
  private compacting = false;

  private largestTimestamp(i: number): number {
    const ts = this.maxTimestamps[i]!;
    return ts >= 0n ? Number(ts) : this.appendTimes[i]!;
  }

  /** One compaction pass at once, to its end. */
  compact(nowMs: number, cfg: CompactionConfig): CompactionResult {
    const steps = this.compactSteps(nowMs, cfg);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /**
   * One compaction pass if due (rules in cleaner.ts), in slices as the file store's: the generator
   * yields after about `sliceBytes` of batches (cleaner.ts sliceCost) or PLAN_SLICE batches looked
   * at, and appends, reads, DeleteRecords and retention run between slices. The memory store has
   * no segments: every batch wholly below the last stable offset and older than
   * min.compaction.lag.ms is cleanable. Each step finds its place again by offset (DeleteRecords
   * may have taken batches from the front meanwhile). A rewritten batch takes its original's place
   * (same offsets); the batches a slice emptied are taken out at the end of that slice. What is
   * left for one step: the timestamp index rebuilt at the end, as retention does.
   */
  *compactSteps(nowMs: number, cfg: CompactionConfig, sliceBytes = 4 * 1024 * 1024): Generator<void, CompactionResult, void> {
    if (this.deleted || this.compacting) return NO_PASS;
    this.compacting = true;
    const truncations = this.truncations;
    const gone = (): boolean => this.deleted || this.truncations !== truncations;
    try {
      // 1. Which batches are cleanable, and is a pass due.
      const stable = this.producerState.firstUnstableOffset() ?? this.leo;
      const planner = new PassPlanner(stable, this.cleanedTo > this.lso ? this.cleanedTo : this.lso, nowMs, cfg);
      let cursor = this.lso;
      for (let i = this.batchIndexFor(cursor), looked = 0; i < this.batches.length; i++) {
        if (!planner.add(this.lastOffsets[i]! + 1n, this.batches[i]!.length, this.largestTimestamp(i))) break;
        cursor = this.lastOffsets[i]! + 1n;
        if (++looked % PLAN_SLICE === 0) {
          yield;
          if (gone()) return NO_PASS;
          i = this.batchIndexFor(cursor) - 1;
        }
      }
      const plan = planner.result();
      if (plan === undefined) return NO_PASS;
      const { cleanableEnd, firstDirty } = plan;

      // 2. The offset map over the dirty batches.
      const aborted = new AbortedLookup(this.producerState.abortedList());
      const map = new OffsetMap();
      let sinceYield = 0;
      cursor = firstDirty;
      for (let i = this.batchIndexFor(cursor); i < this.batches.length && this.baseOffsets[i]! < cleanableEnd; i++) {
        const batch = this.batches[i]!;
        try {
          map.addBatch(batch, firstDirty, cleanableEnd, aborted);
        } catch {
          // undecodable (a codec this runtime lacks): its keys do not count, the batch stays
        }
        cursor = this.lastOffsets[i]! + 1n;
        sinceYield += sliceCost(batch.length);
        if (sinceYield >= sliceBytes) {
          sinceYield = 0;
          yield;
          if (gone()) return NO_PASS;
          i = this.batchIndexFor(cursor) - 1;
        }
      }

      // 3. Every batch below the cleanable end, rewritten in offset order.
      const result: CompactionResult = { ran: true, bytesBefore: 0, bytesAfter: 0, recordsBefore: 0, recordsAfter: 0, cleanedTo: cleanableEnd };
      const ctx: CleanBatchContext = {
        map,
        txns: new CleanedTransactions(this.producerState.abortedList()),
        producers: this.producerState.lastRecords(),
        cleanableEnd,
        nowMs,
        deleteRetentionMs: cfg.deleteRetentionMs,
      };
      const released: AbortedTxn[] = [];
      let emptied: number[] = [];
      cursor = -1n;
      for (let i = 0; i < this.batches.length && this.baseOffsets[i]! < cleanableEnd; i++) {
        const batch = this.batches[i]!;
        let c: CleanedBatch;
        try {
          c = cleanBatch(batch, ctx);
        } catch {
          c = { batch, recordsBefore: 0, recordsAfter: 0 };
        }
        result.bytesBefore += batch.length;
        result.recordsBefore += c.recordsBefore;
        result.recordsAfter += c.recordsAfter;
        if (c.releasedAborted !== undefined) released.push(c.releasedAborted);
        if (c.batch === null) {
          emptied.push(i);
        } else {
          result.bytesAfter += c.batch.length;
          if (c.batch !== batch) {
            this.batches[i] = c.batch;
            this.maxTimestamps[i] = readBatchHeader(c.batch).maxTimestamp;
            // The largest timestamp may have gone with a record: looked for again when needed.
            if (i === this.maxBatch) this.maxBatchStale = true;
          }
        }
        cursor = this.lastOffsets[i]! + 1n;
        sinceYield += sliceCost(batch.length);
        if (sinceYield >= sliceBytes) {
          sinceYield = 0;
          this.removeBatches(emptied);
          emptied = [];
          yield;
          if (gone()) return NO_PASS;
          i = this.batchIndexFor(cursor) - 1;
        }
      }
      this.removeBatches(emptied);
      this.producerState.forgetAborted(released);
      this.rebuildTimestampIndex();
      this.cleanedTo = cleanableEnd;
      return result;
    } finally {
      this.compacting = false;
    }
  }

  /**
   * Takes out the batches at the given indexes (ascending, a run a compaction slice went through):
   * one splice per array over that run. The running maxima left stay upper bounds (enough for
   * offsetForTimestamp until the pass rebuilds them); if the batch holding the largest timestamp
   * went, it is looked for again when needed (maxTimestamp, the end of the pass).
   */
  private removeBatches(indexes: readonly number[]): void {
    if (indexes.length === 0) return;
    const from = indexes[0]!;
    const to = indexes[indexes.length - 1]! + 1;
    const drop = new Set(indexes);
    for (const arr of [this.batches, this.baseOffsets, this.lastOffsets, this.maxTimestamps, this.epochs, this.appendTimes, this.runningMax] as unknown[][]) {
      const kept: unknown[] = [];
      for (let k = from; k < to; k++) if (!drop.has(k)) kept.push(arr[k]);
      arr.splice(from, to - from, ...kept);
    }
    if (!this.maxBatchStale && this.maxBatch >= from) {
      if (drop.has(this.maxBatch)) this.maxBatchStale = true;
      else this.maxBatch -= indexes.filter((k) => k < this.maxBatch).length;
    }
  }

  flush(): void {}

  whenDurable(): Promise<void> {
    return Promise.resolve();
  }

  whenWritten(): Promise<void> {
    return Promise.resolve();
  }

  onWrittenEnd(): void {
    // appends are readable at once: nothing to wait for
  }

  snapshotProducerState(): void {}

  enforceRetention(nowMs: number): number {
    if (this.deleted) return 0;
    const units = this.batches.map((b, i) => ({ size: b.length, largestTimestamp: this.largestTimestamp(i) }));
    const n = retentionCount(this.config, nowMs, units);
    if (n === 0) return 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += units[i]!.size;
    this.deleteRecordsBefore(n < this.batches.length ? this.baseOffsets[n]! : this.leo);
    return bytes;
  }

  // ---- OffsetForLeaderEpoch / DescribeLogDirs (issue 8) ----

  /** The epoch history (epoch-cache.ts epochView: cut at the log start offset). */
  leaderEpochEntries(): Array<{ epoch: number; startOffset: bigint }> {
    return epochView(this.epochEntries, this.lso, this.leo, this.epoch);
  }

  sizeInBytes(): number {
    let bytes = 0;
    for (const b of this.batches) bytes += b.length;
    return bytes;
  }
}

class MemoryStore implements LogStore {
  readonly durable = false;
  private readonly topics = new TopicCatalog<MemoryPartitionLog>();
  private readonly now: () => number;

  constructor(
    readonly clusterId: string,
    private readonly opts: StoreOptions,
  ) {
    this.now = opts.now ?? (() => Date.now());
  }

  listTopics(): TopicMetadata[] {
    return this.topics.list();
  }

  getTopic(name: string): TopicMetadata | undefined {
    return this.topics.meta(name);
  }

  getTopicById(topicId: string): TopicMetadata | undefined {
    return this.topics.metaById(topicId);
  }

  createTopic(meta: TopicMetadata): void {
    const m = this.topics.checkNew(meta);
    const cfg = effectiveLogConfig(this.opts.logConfig, m.configs);
    const partitions: MemoryPartitionLog[] = [];
    for (let p = 0; p < m.numPartitions; p++) partitions.push(new MemoryPartitionLog(m.name, p, cfg, this.now));
    this.topics.add(m, partitions);
  }

  deleteTopic(name: string): void {
    for (const p of this.topics.remove(name).partitions) p.markDeleted();
  }

  createPartitions(name: string, total: number): void {
    const t = this.topics.mustGet(name);
    if (!Number.isInteger(total) || total < t.meta.numPartitions) {
      throw new LogStoreError('INVALID_PARTITIONS', `topic ${name} has ${t.meta.numPartitions} partitions; cannot change to ${total}`);
    }
    const cfg = effectiveLogConfig(this.opts.logConfig, t.meta.configs);
    for (let p = t.meta.numPartitions; p < total; p++) t.partitions.push(new MemoryPartitionLog(name, p, cfg, this.now));
    t.meta.numPartitions = total;
  }

  setBrokerLogConfig(logConfig: LogConfig): void {
    this.opts.logConfig = logConfig;
    for (const t of this.topics.entries()) {
      const cfg = effectiveLogConfig(logConfig, t.meta.configs);
      for (const p of t.partitions) p.config = cfg;
    }
  }

  setTopicConfigs(name: string, configs: Record<string, string>): void {
    const t = this.topics.mustGet(name);
    t.meta.configs = { ...configs };
    const cfg = effectiveLogConfig(this.opts.logConfig, t.meta.configs);
    for (const p of t.partitions) p.config = cfg;
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  flush(): void {}

  whenSyncIdle(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}

  // ---- DescribeLogDirs (issue 8) ----

  /** Nothing is on a file system: a pseudo path and unknown (-1) sizes. */
  readonly logDir = MEMORY_LOG_DIR;

  logDirSpace(): { totalBytes: bigint; usableBytes: bigint } {
    return { totalBytes: -1n, usableBytes: -1n };
  }
}

/** The log directory the memory store reports in DescribeLogDirs (not a real path). */
export const MEMORY_LOG_DIR = '(memory)';

/** A LogStore that keeps everything in memory (nothing survives the process). */
export function createMemoryStore(opts: StoreOptions & { clusterId?: string }): LogStore {
  return new MemoryStore(opts.clusterId ?? randomUuid(), opts);
}
