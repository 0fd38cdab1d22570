// In-memory LogStore: each partition keeps its stored batches as Buffers in an array, with
// parallel arrays of base/last offsets for binary search. Used by tests and `brook start --memory`.

import { randomUuid } from '../../protocol/primitives/uuid.js';
import { assignOffsets } from '../../protocol/records/batch.js';
import { applyBatchToProducerState, checkAppendable, effectiveLogConfig, findRecord, LogStoreError, retentionCount, TopicCatalog } from './common.js';
import { AbortedLookup, NO_PASS, OffsetMap, cleanBatch, planPass, type CompactionConfig, type CompactionResult } from './cleaner.js';
import { ProducerStateManager } from './producer-state.js';
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
  private leo = 0n;
  /** Raised only by deleteRecordsBefore; batches entirely below it are dropped. */
  private lso = 0n;
  private epoch = 0;
  private deleted = false;
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
    if (this.deleted) throw new LogStoreError('UNKNOWN_TOPIC_OR_PARTITION', `${this.topic}-${this.partition} was deleted`);
    const headers = batches.map((b) => checkAppendable(b));
    const first = this.leo;
    for (let i = 0; i < batches.length; i++) {
      // Batches arrive as views into request frames (socket chunks); keeping a view would pin
      // the whole chunk, so a view is copied into a buffer of its own.
      const given = batches[i]!;
      const buf = given.byteOffset === 0 && given.length === given.buffer.byteLength ? given : Buffer.from(given);
      const h = headers[i]!;
      const base = this.leo;
      const last = base + BigInt(h.lastOffsetDelta);
      assignOffsets(buf, base, this.epoch);
      applyBatchToProducerState(this.producerState, buf, h, base, last);
      const idx = this.batches.length;
      this.batches.push(buf);
      this.baseOffsets.push(base);
      this.lastOffsets.push(last);
      this.maxTimestamps.push(h.maxTimestamp);
      this.epochs.push(this.epoch);
      this.appendTimes.push(this.now());
      const prevMax = idx > 0 ? this.runningMax[idx - 1]! : -1n;
      this.runningMax.push(h.maxTimestamp > prevMax ? h.maxTimestamp : prevMax);
      if (h.maxTimestamp >= 0n && (this.maxBatch < 0 || h.maxTimestamp > this.maxTimestamps[this.maxBatch]!)) {
        this.maxBatch = idx;
      }
      this.leo = last + 1n;
    }
    return { baseOffset: first, lastOffset: this.leo - 1n, logStartOffset: this.logStartOffset };
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
    if (epoch > this.epoch) this.epoch = epoch;
  }

  deleteRecordsBefore(offset: bigint): bigint {
    if (this.deleted) throw new LogStoreError('UNKNOWN_TOPIC_OR_PARTITION', `${this.topic}-${this.partition} was deleted`);
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
    let runMax = -1n;
    for (let i = 0; i < this.maxTimestamps.length; i++) {
      const t = this.maxTimestamps[i]!;
      if (t > runMax) runMax = t;
      this.runningMax.push(runMax);
      if (t >= 0n && (this.maxBatch < 0 || t > this.maxTimestamps[this.maxBatch]!)) this.maxBatch = i;
    }
  }

  /** The memory store cleans in one step (its data is in memory; no file to stream). */
  *compactSteps(nowMs: number, cfg: CompactionConfig): Generator<void, CompactionResult, void> {
    return this.compact(nowMs, cfg);
  }

  /** Where the last compaction pass ended. */
  private cleanedTo = 0n;

  private largestTimestamp(i: number): number {
    const ts = this.maxTimestamps[i]!;
    return ts >= 0n ? Number(ts) : this.appendTimes[i]!;
  }

  /**
   * One compaction pass if due (rules in cleaner.ts). The memory store has no segments: every
   * batch wholly below the last stable offset and older than min.compaction.lag.ms is cleanable.
   */
  compact(nowMs: number, cfg: CompactionConfig): CompactionResult {
    if (this.deleted) return NO_PASS;
    const stable = this.producerState.firstUnstableOffset() ?? this.leo;
    const units = this.batches.map((b, i) => ({ end: this.lastOffsets[i]! + 1n, size: b.length, largestTimestamp: this.largestTimestamp(i) }));
    const plan = planPass(units, stable, this.cleanedTo > this.lso ? this.cleanedTo : this.lso, nowMs, cfg);
    if (plan === undefined) return NO_PASS;
    const { n, cleanableEnd, firstDirty } = plan;
    const aborted = new AbortedLookup(this.producerState.abortedList());
    const map = new OffsetMap();
    for (let i = 0; i < n; i++) {
      if (this.lastOffsets[i]! < firstDirty) continue;
      try {
        map.addBatch(this.batches[i]!, firstDirty, cleanableEnd, aborted);
      } catch {
        // undecodable (a codec this runtime lacks): its keys do not count, the batch stays
      }
    }
    const result: CompactionResult = { ran: true, bytesBefore: 0, bytesAfter: 0, recordsBefore: 0, recordsAfter: 0, cleanedTo: cleanableEnd };
    const keep: number[] = [];
    for (let i = 0; i < this.batches.length; i++) {
      if (i >= n) {
        keep.push(i);
        continue;
      }
      const batch = this.batches[i]!;
      let c;
      try {
        c = cleanBatch(batch, { map, aborted, cleanableEnd, dropTombstones: nowMs - this.largestTimestamp(i) > cfg.deleteRetentionMs });
      } catch {
        c = { batch, recordsBefore: 0, recordsAfter: 0 };
      }
      result.bytesBefore += batch.length;
      result.recordsBefore += c.recordsBefore;
      result.recordsAfter += c.recordsAfter;
      if (c.batch === null) continue;
      result.bytesAfter += c.batch.length;
      if (c.batch !== batch) {
        const h = checkAppendable(c.batch);
        this.batches[i] = c.batch;
        this.lastOffsets[i] = this.baseOffsets[i]! + BigInt(h.lastOffsetDelta);
        this.maxTimestamps[i] = h.maxTimestamp;
      }
      keep.push(i);
    }
    if (keep.length !== this.batches.length) {
      for (const arr of [this.batches, this.baseOffsets, this.lastOffsets, this.maxTimestamps, this.epochs, this.appendTimes] as unknown[][]) {
        const copy = keep.map((i) => arr[i]);
        arr.length = 0;
        arr.push(...copy);
      }
    }
    this.rebuildTimestampIndex();
    this.cleanedTo = cleanableEnd;
    return result;
  }

  flush(): void {}

  whenDurable(): Promise<void> {
    return Promise.resolve();
  }

  whenWritten(): Promise<void> {
    return Promise.resolve();
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

  /**
   * Derived from the stored batches' epochs (non-decreasing, so each epoch's first batch is found
   * by binary search): an epoch starts at its first batch; the first entry at the log start
   * offset; a current epoch no batch carries yet starts at the log end (where it was raised).
   */
  leaderEpochEntries(): Array<{ epoch: number; startOffset: bigint }> {
    const out: Array<{ epoch: number; startOffset: bigint }> = [];
    const n = this.epochs.length;
    for (let i = 0; i < n; ) {
      const epoch = this.epochs[i]!;
      const base = this.baseOffsets[i]!;
      out.push({ epoch, startOffset: out.length === 0 && base < this.lso ? this.lso : base });
      let lo = i + 1;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.epochs[mid]! <= epoch) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    const last = out[out.length - 1];
    if (last === undefined || last.epoch < this.epoch) out.push({ epoch: this.epoch, startOffset: this.leo });
    return out;
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
