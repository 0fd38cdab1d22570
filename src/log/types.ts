// The log store: one interface, two implementations (durable files, memory) that pass the same
// contract tests (test/log/contract.test.ts).
//
// The store holds record batches (magic v2) exactly as validated by the produce path; it never
// re-encodes them. Offsets are bigint on the surface (Kafka offsets are int64).
//
// Appends are synchronous in memory: offsets, indexes and producer state move at once, so appends
// to one partition stay strictly ordered without locks. The file store writes the bytes to its
// files off the event loop afterwards (one write at a time per partition, everything queued
// meanwhile in the next), and fsyncs (flush.messages, rolls) run off the loop too. Readers in the
// broker stay below `writtenEndOffset` (the replica manager's high watermark), and a produce is
// answered once whenWritten() (or whenDurable() for flush.messages=1) covers it. Reads through the
// store itself (tests, tools) see every append.

import type { ProducerStateManager } from './producer-state.js';
import type { CompactionConfig, CompactionResult } from './cleaner.js';

export interface LogConfig {
  /** segment.bytes: roll to a new segment when the active one would exceed this. */
  segmentBytes: number;
  /** segment.ms: roll when the active segment's first batch is older than this. */
  segmentMs: number;
  /** log.flush.interval.messages: fsync after this many messages (1 = before acknowledging). */
  flushIntervalMessages: number;
  /** log.index.interval.bytes: bytes between sparse offset/time index entries. */
  indexIntervalBytes: number;
  /** retention.ms (-1 = forever): enforceRetention() drops data older than this. */
  retentionMs: number;
  /** retention.bytes (-1 = unlimited): enforceRetention() keeps the partition under this. */
  retentionBytes: number;
  /** cleanup.policy: retention applies when it includes "delete". */
  cleanupPolicy: string;
  /** file.delete.delay.ms: files of segments taken out of the log are removed this much later (file store). */
  fileDeleteDelayMs: number;
}

export const DEFAULT_LOG_CONFIG: LogConfig = {
  segmentBytes: 1073741824,
  segmentMs: 604800000,
  flushIntervalMessages: Number.MAX_SAFE_INTEGER,
  indexIntervalBytes: 4096,
  retentionMs: 604800000,
  retentionBytes: -1,
  cleanupPolicy: 'delete',
  fileDeleteDelayMs: 60000,
};

export interface TopicMetadata {
  name: string;
  /** Kafka Uuid as base64url (22 chars). */
  topicId: string;
  numPartitions: number;
  replicationFactor: number;
  /** Topic-level config overrides (Kafka names, string values). */
  configs: Record<string, string>;
}

export interface AppendOptions {
  writeThrough?: boolean;
}

export interface AppendInfo {
  /** Offset assigned to the first record of the first batch. */
  baseOffset: bigint;
  /** Offset of the last record appended. */
  lastOffset: bigint;
  logStartOffset: bigint;
}

export interface ReadResult {
  /**
   * Whole stored batches, in order, starting with the batch that contains the fetch offset.
   * Buffers are views of stored bytes (memory) or fresh reads (file); never re-encoded.
   */
  chunks: Buffer[];
  bytes: number;
}

export interface TimestampLookup {
  offset: bigint;
  timestamp: bigint;
  leaderEpoch: number;
}

export interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  /** First offset still in the log. */
  readonly logStartOffset: bigint;
  /** Next offset to be assigned (everything appended, written to the files or not). */
  readonly logEndOffset: bigint;
  /**
   * End of what is in the log's files (the page cache): the high watermark on a single node.
   * Lags logEndOffset while writes are on their way (file store); equal for the memory store.
   */
  readonly writtenEndOffset: bigint;
  /**
   * The latest epoch of the leader-epoch history (leaderEpochEntries; Kafka's latestEpoch), the
   * epoch leader appends carry. Raised by bumpLeaderEpoch and by follower appends of batches with
   * a newer epoch; only truncation (truncateTo, truncateFullyAndStartAt) lowers it, with the
   * history. Persisted.
   */
  readonly leaderEpoch: number;
  /** The partition's effective log settings (broker defaults with the topic's overrides). */
  readonly config: LogConfig;
  /**
   * Producer state (idempotence, transactions, aborted transactions), fed by every append and
   * rebuilt at open (file store: last snapshot plus the log after it). Callers check client
   * batches against it before appending; only the store applies batches to it.
   */
  readonly producerState: ProducerStateManager;

  /**
   * Appends validated v2 batches. The store assigns offsets by patching each batch's baseOffset
   * and partitionLeaderEpoch in place (the CRC does not cover them); the caller hands over the
   * buffers. Batches must already carry their final attributes/maxTimestamp (LogAppendTime is
   * stamped by the caller before append, with a fresh CRC).
   *
   * With `writeThrough` the file store writes everything queued, these batches included, before
   * returning (on the calling thread), for the coordinators' small internal writes and transaction
   * markers, whose callers go on as soon as the append returns. If that write fails the batches
   * stay appended and queued (the next append retries the write) and STORAGE_ERROR is thrown.
   */
  append(batches: readonly Buffer[], opts?: AppendOptions): AppendInfo;

  // ---- replication (issue 10): a follower's log ----

  /**
   * A follower's append (Kafka's UnifiedLog.appendAsFollower): the leader's v2 batches stored as
   * they are, with their offsets and partitionLeaderEpoch (nothing is re-stamped). Before anything
   * is stored every batch is checked: one whole sane v2 batch with a valid CRC-32C (InvalidBatchError),
   * the first starting at or above logEndOffset and each later one after the previous one ends
   * (UnexpectedAppendOffsetError: "out of order offsets"). A first batch above logEndOffset leaves
   * a gap, as a compacted leader log or truncateFullyAndStartAt does; the log end moves to the last
   * batch's lastOffset + 1. The producer state is fed as by append (markers included, so
   * transactions replicate), and each batch's epoch is assigned at its base offset in the epoch
   * history (Kafka's LeaderEpochFileCache.assign: a newer epoch starts there). Written and
   * persisted as leader appends are (write queue, writtenEndOffset, whenWritten, recovery).
   */
  appendAsFollower(batches: readonly Buffer[]): AppendInfo;

  /**
   * Kafka's UnifiedLog.truncateTo, after a leader change: nothing from `offset` on stays. The batch
   * holding `offset` (or the first batch after it, when `offset` falls in a gap) goes with
   * everything after it (Kafka's LogSegment.truncateTo cuts at that batch), and the log ends where
   * the batches kept end: below `offset` when it fell inside a batch (Kafka then sets its log end
   * to `offset` all the same, a state its next restart does not reproduce; here the end is the end
   * of the data, and the fetcher's next fetch starts there). In the file store the end is at least
   * the base of the segment it falls in. Segments wholly past the cut are deleted, indexes trimmed,
   * writtenEndOffset and the durable end lowered to the new end (writes of cut batches still queued
   * are dropped; one already running is cut again when it ends, before any later write), producer
   * state rebuilt (last snapshot at or below the new end, then the batches after it; aborted
   * transactions whose marker went are dropped), and the log start lowered to the new end if it
   * was above it. The epoch history loses the entries starting at or after the new end (Kafka's
   * truncateFromEnd); that happens also when `offset` >= logEndOffset, where nothing else changes
   * (an epoch a leader assigned at its log end with nothing appended since). Below the first
   * stored offset (the first segment's base) the log is truncated fully and starts at `offset`
   * (truncateFullyAndStartAt), as Kafka does. Crash-safe in the file store: after a crash the log is
   * either as it was before or as it is after (the cut is synced before anything new is written).
   */
  truncateTo(offset: bigint): void;

  /**
   * Kafka's truncateFullyAndStartAt (a follower whose fetch offset is below the leader's log
   * start): every stored batch goes and the log is empty at `offset` (logStartOffset =
   * logEndOffset = writtenEndOffset = `offset`), producer state and epoch history cleared (Kafka's
   * clearAndFlush; the history then shows only the placeholder epoch 0 at the log start, and a
   * follower sends no last fetched epoch for an empty log, as Kafka's does with an empty cache).
   */
  truncateFullyAndStartAt(offset: bigint): void;

  /**
   * Reads whole batches starting at the batch containing `offset`, up to `maxBytes`, stopping
   * before `maxOffset` (exclusive: batches whose baseOffset >= maxOffset are not returned).
   * With `minOneBatch` the first batch is returned even if larger than maxBytes (KIP-74).
   * Caller checks offset range first (logStartOffset <= offset <= logEndOffset).
   */
  read(offset: bigint, maxBytes: number, minOneBatch: boolean, maxOffset?: bigint): ReadResult;

  /** First record with timestamp >= ts (ListOffsets by time), or undefined if none. */
  offsetForTimestamp(ts: bigint): TimestampLookup | undefined;

  /** Record with the largest timestamp (ListOffsets MAX_TIMESTAMP, -3), earliest on ties. */
  maxTimestamp(): TimestampLookup | undefined;

  /**
   * The leader's side of a new epoch (Kafka's maybeAssignEpochStartOffset at makeLeader): `epoch`
   * starts at the log end offset in the epoch history (persisted) and leader appends carry it from
   * now on. Ignores values <= the current one.
   */
  bumpLeaderEpoch(epoch: number): void;

  /**
   * Kafka DeleteRecords: raises logStartOffset to `offset`, capped at logEndOffset, and never
   * lowers it (a smaller or negative value changes nothing; DeleteRecords' -1 "high watermark" is
   * the caller's to translate). Stored data that lies entirely below the new start is dropped
   * (whole batches in memory, whole segments in the file store); a batch or segment straddling it
   * stays stored, but reads below logStartOffset are out of range from now on and timestamp
   * lookups answer offsets >= it. Persisted by the file store before any data is dropped, so it
   * survives restarts (also when the first stored batch straddles it). Returns the new
   * logStartOffset.
   */
  deleteRecordsBefore(offset: bigint): bigint;

  /** Makes everything appended so far durable (fsync for the file store). */
  flush(): void;

  /**
   * Resolves once everything appended so far is in the files (writtenEndOffset covers it); rejects
   * with STORAGE_ERROR if the write failed (the bytes stay queued and the next append retries).
   * At once for the memory store. Produce with acks 1/-1 answers after it.
   */
  whenWritten(): Promise<void>;

  /**
   * Calls `listener` each time the written end moves (the file store, after each write); never
   * for the memory store, whose appends are readable at once.
   */
  onWrittenEnd(listener: () => void): void;

  /**
   * Resolves once everything appended so far is durable: the file store waits for an fsync that
   * covers it (started if none is due; appends meanwhile share it: group commit) and rejects with
   * STORAGE_ERROR when that fsync fails. At once for the memory store and when nothing is pending.
   * Produce with flush.messages=1 answers after it.
   */
  whenDurable(): Promise<void>;

  /** Writes a producer-state snapshot at the log end (file store; nothing in memory). */
  snapshotProducerState(): void;

  /**
   * Retention (cleanup.policy with "delete"), as Kafka's: drops the oldest data while it is older
   * than retention.ms (by its largest timestamp; `nowMs` is the broker's clock) or while the
   * partition stays at or above retention.bytes without it, and moves the log start offset past
   * it. The file store deletes whole segments (rolling the active one first when all of it is
   * due); the memory store whole batches. Returns the bytes removed.
   */
  enforceRetention(nowMs: number): number;

  /**
   * One log compaction pass (cleanup.policy with "compact") if one is due; the rules are in
   * src/log/cleaner.ts. Offsets are preserved; the file store never touches the active segment.
   */
  compact(nowMs: number, cfg: CompactionConfig): CompactionResult;

  /**
   * The same pass in slices: the generator yields after roughly `sliceBytes` of log read so the
   * caller can let the event loop run between slices (the broker's cleaner does); its return
   * value is the pass's result.
   */
  compactSteps(nowMs: number, cfg: CompactionConfig, sliceBytes?: number): Generator<void, CompactionResult, void>;

  // ---- OffsetForLeaderEpoch / DescribeLogDirs (issue 8) ----

  /**
   * The leader-epoch history as Kafka's leader-epoch cache holds it (src/log/epoch-cache.ts):
   * (epoch, start offset) entries, both strictly ascending, the last one the current leaderEpoch.
   * Epoch 0 starts at offset 0 unless another epoch replaced it. Leaders assign their epoch at their
   * log end (bumpLeaderEpoch), followers the epochs of the batches they append; truncation drops
   * entries from the new end on. The history is cut at the log start offset as Kafka's
   * truncateFromStart does: entries starting at or below it go and the last of them comes back
   * starting at it. Never empty. OffsetForLeaderEpoch answers from it (ReplicaManager.endOffsetForEpoch).
   */
  leaderEpochEntries(): Array<{ epoch: number; startOffset: bigint }>;

  /** Bytes of stored batches (Kafka's log size: the segments' .log files, indexes not counted). */
  sizeInBytes(): number;
}

export interface LogStore {
  /** true for the file store. */
  readonly durable: boolean;
  /** Cluster id, persisted with the data (Kafka's meta.properties). */
  readonly clusterId: string;

  listTopics(): TopicMetadata[];
  getTopic(name: string): TopicMetadata | undefined;
  getTopicById(topicId: string): TopicMetadata | undefined;
  /** Creates the topic and its partitions (empty logs). Throws if it exists. */
  createTopic(meta: TopicMetadata): void;
  /** Removes the topic and all its data. */
  deleteTopic(name: string): void;
  /** Grows the partition count to `total`. */
  createPartitions(name: string, total: number): void;
  /** Replaces the topic's config overrides. */
  setTopicConfigs(name: string, configs: Record<string, string>): void;
  /**
   * Replaces the broker-wide defaults (a dynamic broker config change: AlterConfigs on a BROKER
   * resource) and recomputes every partition's LogConfig from them and its topic's overrides, as
   * Kafka's DynamicLogConfig.reconfigure does; topics created later use them too.
   */
  setBrokerLogConfig(logConfig: LogConfig): void;
  partition(topic: string, partition: number): PartitionLog | undefined;

  flush(): void;
  /** Resolves when no background fsync (whenDurable, flush.messages) is running; before close(). */
  whenSyncIdle(): Promise<void>;
  close(): void;

  // ---- DescribeLogDirs (issue 8) ----

  /**
   * The one log directory DescribeLogDirs reports: the file store's absolute data directory, the
   * memory store's pseudo path "(memory)".
   */
  readonly logDir: string;
  /**
   * Total and usable bytes of the log directory's volume (file store: statfs, throws when the
   * volume cannot be read); -1 for both in memory (the spec's "unknown").
   */
  logDirSpace(): { totalBytes: bigint; usableBytes: bigint };
}

/** Options both stores take when opened. */
export interface StoreOptions {
  /** Broker-wide defaults; topic overrides (segment.bytes, ...) are applied on top. */
  logConfig: LogConfig;
  /** Used by the file store for recovery warnings. */
  logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Injected clock (ms since epoch) for segment.ms rolling. */
  now?: () => number;
}
