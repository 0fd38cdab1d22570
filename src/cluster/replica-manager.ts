// The partition data path on the leader: validated appends and reads, plus the wait list that
// long-poll Fetch requests park on until data arrives (Kafka's fetch purgatory).
//
// On a single node the high watermark is the log end offset; the replication issue will move it.
// The last stable offset is the first offset of the oldest open transaction (capped by the high
// watermark); READ_COMMITTED reads stop there and carry the aborted transactions they cover.
//
// Idempotence and transactions: a client batch with a producer id is checked against the
// partition's producer state before it is appended (duplicates are answered with the offsets they
// got the first time, see src/log/producer-state.ts). A transactional batch must belong to a
// transaction that added this partition (KIP-890 verification, asked of the transaction
// coordinator through `TxnVerifier`). Markers (COMMIT/ABORT control batches) are appended by the
// transaction coordinator through writeTxnMarker().

import { ErrorCode } from '../../protocol/errors.js';
import { ControlRecordType } from '../../protocol/records/constants.js';
import {
  encodeControlBatch,
  repairMaxTimestamp,
  stampLogAppendTime,
  validateRecordKeys,
  validateRecords,
} from '../../protocol/records/batch.js';
import { every, realTimeBounded, type Clock, type Timer } from '../common/clock.js';
import type { BrokerConfig } from '../config/config.js';
import type { LogStore, PartitionLog, ReadResult } from '../log/types.js';
import type { ProducerInfo } from '../log/producer-state.js';
import { cleanupPolicyIncludes } from '../log/common.js';
import { DEFAULT_COMPACTION_CONFIG, DEFAULT_SEGMENT_INDEX_BYTES, type CompactionConfig, type CompactionResult } from '../log/cleaner.js';

export interface ProduceResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
}

export interface PartitionRead {
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  records: ReadResult | null;
  /** READ_COMMITTED: aborted transactions overlapping the records returned; else null. */
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }> | null;
}

export const READ_UNCOMMITTED = 0;
export const READ_COMMITTED = 1;

/**
 * Asks the transaction coordinator whether a transactional batch may be appended: the producer's
 * ongoing transaction (transactional id, producer id and epoch) must include the partition.
 * Returns an error code (NONE when it may).
 */
export type TxnVerifier = (transactionalId: string | null, producerId: bigint, producerEpoch: number, topic: string, partition: number) => number;

/** Listener of markers written to a partition (the group coordinator watches __consumer_offsets). */
export type MarkerListener = (topic: string, partition: number, producerId: bigint, commit: boolean) => void;

/** The result of a partition produce that appended nothing. */
export function failedProduce(errorCode: number, errorMessage: string | null = null, logStartOffset = -1n): ProduceResult {
  return { errorCode, errorMessage, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset };
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** How Kafka's produce path reports a failed KIP-890 verification (ReplicaManager). */
function verificationError(code: number, produceVersion: number): number {
  switch (code) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.TRANSACTION_ABORTABLE:
      return produceVersion >= 11 ? ErrorCode.TRANSACTION_ABORTABLE : ErrorCode.INVALID_TXN_STATE;
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    default:
      return code;
  }
}

export class ReplicaManager {
  private readonly waiters = new Map<string, Set<() => void>>();
  private closing = false;
  private verifier: TxnVerifier | undefined;
  private readonly markerListeners: MarkerListener[] = [];
  /** Producer expiry and retention checks (cancelled at shutdown). */
  private readonly periodic: Timer[] = [];
  private cleanerTimer: { cancel(): void } | undefined;
  /** Long-poll deadlines: the injected clock or real time, whichever comes first (issue 9). */
  private readonly waitClock: Clock;

  constructor(
    private readonly store: LogStore,
    private readonly config: BrokerConfig,
    private readonly clock: Clock,
  ) {
    this.waitClock = realTimeBounded(clock);
    this.periodic.push(
      every(clock, () => config.int('producer.id.expiration.check.interval.ms'), () => this.expireProducers()),
      every(clock, () => config.int('log.retention.check.interval.ms'), () => this.enforceRetention()),
    );
    this.scheduleCompaction();
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.store.partition(topic, partition);
  }

  /** Partition logs whose written-end listener wakes parked fetches (notifyWhenWritten). */
  private readonly writtenHooks = new WeakSet<PartitionLog>();

  /** Installs the transaction coordinator's verification of transactional appends. */
  setTxnVerifier(verifier: TxnVerifier): void {
    this.verifier = verifier;
  }

  onMarker(listener: MarkerListener): void {
    this.markerListeners.push(listener);
  }

  /** The last stable offset: first offset of the oldest open transaction, else the high watermark. */
  lastStableOffset(log: PartitionLog): bigint {
    const hw = this.highWatermark(log);
    const unstable = log.producerState.firstUnstableOffset();
    if (unstable === undefined || unstable >= hw) return hw;
    return unstable < log.logStartOffset ? log.logStartOffset : unstable;
  }

  /** The partition's producers (DescribeProducers). */
  describeProducers(log: PartitionLog): ProducerInfo[] {
    return log.producerState.describe();
  }

  /** High watermark: on a single node, the end of what is in the log's files. */
  highWatermark(log: PartitionLog): bigint {
    return log.writtenEndOffset;
  }

  /**
   * Wakes the fetches parked on the partition once what was just appended is readable: at once
   * when it is in the files already, else from the log's written-end listener (registered once
   * per partition log, so an append adds no promise or closure of its own).
   */
  private notifyWhenWritten(log: PartitionLog, topic: string, partition: number): void {
    if (log.writtenEndOffset >= log.logEndOffset) {
      this.notify(topic, partition);
      return;
    }
    if (this.writtenHooks.has(log)) return;
    this.writtenHooks.add(log);
    log.onWrittenEnd(() => this.notify(topic, partition));
  }

  /**
   * Appends a COMMIT or ABORT marker for the producer (transaction coordinator only). Returns an
   * error code: UNKNOWN_TOPIC_OR_PARTITION for a partition that is gone (its transaction is over
   * with it), a fencing error for a stale producer or coordinator epoch.
   */
  writeTxnMarker(topic: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch: number): number {
    const log = this.store.partition(topic, partition);
    if (!log) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const fenced = log.producerState.checkMarker(producerId, producerEpoch, coordinatorEpoch);
    if (fenced !== ErrorCode.NONE) return fenced;
    const batch = encodeControlBatch({
      type: commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT,
      producerId,
      producerEpoch,
      coordinatorEpoch,
      timestamp: BigInt(this.clock.now()),
    });
    log.append([batch], { writeThrough: true });
    for (const l of this.markerListeners) l(topic, partition, producerId, commit);
    this.notifyWhenWritten(log, topic, partition);
    return ErrorCode.NONE;
  }

  /** Drops idle producers' state (producer.id.expiration.ms) from every partition. */
  expireProducers(): number {
    const ms = this.config.int('producer.id.expiration.ms');
    const now = this.clock.now();
    let n = 0;
    for (const t of this.store.listTopics()) {
      for (let p = 0; p < t.numPartitions; p++) n += this.store.partition(t.name, p)?.producerState.expire(now, ms) ?? 0;
    }
    return n;
  }

  /**
   * Retention on every partition (log.retention.check.interval.ms): data past retention.ms or
   * retention.bytes of topics whose cleanup.policy includes "delete" goes, the log start moves.
   * A partition that fails (disk error) is logged and skipped; the others go on. Returns bytes removed.
   */
  enforceRetention(): number {
    const now = this.clock.now();
    let bytes = 0;
    for (const t of this.store.listTopics()) {
      for (let p = 0; p < t.numPartitions; p++) {
        const log = this.store.partition(t.name, p);
        if (!log) continue;
        try {
          bytes += log.enforceRetention(now);
        } catch (err) {
          this.retentionErrors?.({ topic: t.name, partition: p, err });
        }
      }
    }
    return bytes;
  }

  /**
   * Log compaction on every partition whose cleanup.policy includes "compact": one pass each where
   * one is due (cleaner.ts), synchronously (tests and tools). The broker's timer uses
   * runCompaction(), which gives the event loop a turn between slices.
   */
  compactLogs(): Array<{ topic: string; partition: number; result: CompactionResult }> {
    const out: Array<{ topic: string; partition: number; result: CompactionResult }> = [];
    for (const { topic, partition, steps } of this.compactionPasses()) {
      try {
        for (;;) {
          const r = steps.next();
          if (r.done) {
            if (r.value.ran) out.push({ topic, partition, result: r.value });
            break;
          }
        }
      } catch (err) {
        this.retentionErrors?.({ topic, partition, err });
      }
    }
    return out;
  }

  private *compactionPasses(): Generator<{ topic: string; partition: number; steps: Generator<void, CompactionResult, void> }> {
    const now = this.clock.now();
    for (const t of this.store.listTopics()) {
      const policy = this.config.topicValue(t.configs, 'cleanup.policy') ?? 'delete';
      if (!cleanupPolicyIncludes(policy, 'compact')) continue;
      const cfg = this.compactionConfig(t.configs);
      for (let p = 0; p < t.numPartitions; p++) {
        const log = this.store.partition(t.name, p);
        if (log) yield { topic: t.name, partition: p, steps: log.compactSteps(now, cfg) };
      }
    }
  }

  /**
   * The cleaner's run: the partitions' passes one after another, each in slices of a few MiB with
   * a setImmediate between them, so produce and fetch requests are served during a pass (the
   * bench reports the event loop's delay). Resolves when every partition is done.
   */
  runCompaction(): Promise<void> {
    const passes = this.compactionPasses();
    return new Promise((resolve) => {
      let current: { topic: string; partition: number; steps: Generator<void, CompactionResult, void> } | undefined;
      const step = (): void => {
        for (;;) {
          if (this.closing) return resolve();
          if (current === undefined) {
            const next = passes.next();
            if (next.done) return resolve();
            current = next.value;
          }
          try {
            const r = current.steps.next();
            if (!r.done) {
              setImmediate(step);
              return;
            }
            if (r.value.ran) this.compactionDone?.(current.topic, current.partition, r.value);
          } catch (err) {
            this.retentionErrors?.({ topic: current.topic, partition: current.partition, err });
          }
          current = undefined;
        }
      };
      step();
    });
  }

  private compactionConfig(overrides: Record<string, string>): CompactionConfig {
    const num = (name: string, dflt: number): number => {
      const v = Number(this.config.topicValue(overrides, name));
      return Number.isFinite(v) ? Math.min(v, Number.MAX_SAFE_INTEGER) : dflt;
    };
    return {
      deleteRetentionMs: num('delete.retention.ms', DEFAULT_COMPACTION_CONFIG.deleteRetentionMs),
      minCompactionLagMs: num('min.compaction.lag.ms', DEFAULT_COMPACTION_CONFIG.minCompactionLagMs),
      maxCompactionLagMs: num('max.compaction.lag.ms', DEFAULT_COMPACTION_CONFIG.maxCompactionLagMs),
      minCleanableDirtyRatio: num('min.cleanable.dirty.ratio', DEFAULT_COMPACTION_CONFIG.minCleanableDirtyRatio),
      segmentIndexBytes: num('segment.index.bytes', DEFAULT_SEGMENT_INDEX_BYTES),
    };
  }

  private scheduleCompaction(): void {
    if (this.closing) return;
    const every = Number(this.config.get('log.cleaner.backoff.ms') ?? 15_000);
    this.cleanerTimer = this.clock.setTimeout(() => {
      this.cleanerTimer = undefined;
      // The next run is scheduled when this one is over: runs never overlap.
      void this.runCompaction().then(() => this.scheduleCompaction());
    }, every);
  }

  /** Told about every compaction pass (the broker logs them). */
  compactionDone: ((topic: string, partition: number, result: CompactionResult) => void) | undefined;

  /** Where retention failures are reported (the broker's logger). */
  retentionErrors: ((e: { topic: string; partition: number; err: unknown }) => void) | undefined;


  /**
   * Validates and appends one partition's records from a Produce request. `produceVersion`
   * decides version-dependent rules (zstd needs v7+); converted legacy message sets pass 3.
   */
  append(topic: string, partition: number, records: Buffer | null, produceVersion: number, transactionalId: string | null = null): ProduceResult {
    const meta = this.store.getTopic(topic);
    const log = meta ? this.store.partition(topic, partition) : undefined;
    if (!meta || !log) return failedProduce(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (records === null || records.length === 0) {
      return failedProduce(ErrorCode.INVALID_RECORD, 'Produce request contained no records');
    }
    const maxBytes = Number(this.config.topicValue(meta.configs, 'max.message.bytes'));
    const v = validateRecords(records, { maxBatchBytes: maxBytes, apiVersion: produceVersion });
    if (!v.ok) return failedProduce(v.errorCode, v.message, log.logStartOffset);
    if (cleanupPolicyIncludes(this.config.topicValue(meta.configs, 'cleanup.policy') ?? 'delete', 'compact')) {
      // LogValidator: a compacted topic refuses records without a key.
      const keys = validateRecordKeys(v.batches, `${topic}-${partition}`);
      if (keys !== undefined) return failedProduce(keys.errorCode, keys.message, log.logStartOffset);
    }
    if (v.producerId >= 0n) {
      if (
        v.isTransactional &&
        this.verifier !== undefined &&
        transactionalId !== null &&
        !log.producerState.hasOpenTransaction(v.producerId) &&
        this.config.bool('transaction.partition.verification.enable')
      ) {
        const err = verificationError(this.verifier(transactionalId, v.producerId, v.producerEpoch, topic, partition), produceVersion);
        if (err !== ErrorCode.NONE) {
          return failedProduce(err, err === ErrorCode.INVALID_TXN_STATE ? 'Partition was not added to the transaction' : null, log.logStartOffset);
        }
      }
      const h = v.headers[0]!;
      const check = log.producerState.check({
        producerId: v.producerId,
        producerEpoch: v.producerEpoch,
        baseSequence: v.baseSequence,
        lastOffsetDelta: h.lastOffsetDelta,
        maxTimestamp: h.maxTimestamp,
        isTransactional: v.isTransactional,
        isControl: false,
      });
      if (check.kind === 'error') return failedProduce(check.errorCode, check.message, log.logStartOffset);
      if (check.kind === 'duplicate') {
        // A retry of a batch already in the log: answered as the first time, not appended again.
        const logAppendTime = this.config.topicValue(meta.configs, 'message.timestamp.type') === 'LogAppendTime';
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          baseOffset: check.firstOffset,
          logAppendTimeMs: logAppendTime ? check.timestamp : -1n,
          logStartOffset: log.logStartOffset,
        };
      }
    }
    // Views into the request frame: the file store keeps them queued until they are written (a
    // frame's memory is never reused), the memory store copies what it keeps. Offsets (and LogAppendTime) are patched into these bytes in place.
    const batches = v.batches;
    let logAppendTimeMs = -1n;
    if (this.config.topicValue(meta.configs, 'message.timestamp.type') === 'LogAppendTime') {
      logAppendTimeMs = BigInt(this.clock.now());
      for (const b of batches) stampLogAppendTime(b, logAppendTimeMs);
    } else {
      for (const b of batches) repairMaxTimestamp(b);
    }
    let info: ReturnType<PartitionLog['append']>;
    try {
      info = log.append(batches);
    } catch (err) {
      // The store leaves no part of a failed batch behind: the producer may retry.
      return failedProduce(this.storageFailure(topic, partition, 'append', err), (err as Error)?.message ?? null, log.logStartOffset);
    }
    this.storageOk(topic, partition, 'append');
    this.notifyWhenWritten(log, topic, partition);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      baseOffset: info.baseOffset,
      logAppendTimeMs,
      logStartOffset: info.logStartOffset,
    };
  }

  /**
   * For a successful produce with acks 1/-1: undefined when its answer may go at once (everything
   * appended to the partition is in its files: memory store, or the write was quick), else a
   * promise of the partition's outcome once the append is stored: written to the log files (the
   * page cache, as Kafka answers acks=1) or, for a topic with flush.messages=1 (Kafka's "fsync
   * before acknowledging"), fsynced. Both run off the event loop and are shared by the produces
   * that arrive meanwhile (one write, one fsync: group commit), so other connections and
   * partitions carry on. A failed write or fsync is KAFKA_STORAGE_ERROR (logged once, as
   * storageFailure does); the next produce tries again.
   */
  whenStored(topic: string, partition: number): Promise<{ errorCode: number; errorMessage: string | null }> | undefined {
    const log = this.store.partition(topic, partition);
    if (!log) return undefined;
    // flush.messages=1 (the topic's, else the broker's): the partition's effective config has it.
    const fsync = this.store.durable && log.config.flushIntervalMessages === 1;
    if (!fsync && log.writtenEndOffset >= log.logEndOffset) return undefined;
    // A failed write is logged as the failed append it is (one line per partition and error).
    const op = fsync ? 'fsync' : 'append';
    return (fsync ? log.whenDurable() : log.whenWritten()).then(
      () => {
        this.storageOk(topic, partition, op);
        return { errorCode: ErrorCode.NONE, errorMessage: null };
      },
      (err: unknown) => ({ errorCode: this.storageFailure(topic, partition, op, err), errorMessage: (err as Error)?.message ?? null }),
    );
  }

  /**
   * Reads one partition for Fetch. `maxBytes` is the budget left in the response; with
   * `minOneBatch` the first batch is returned whole even above the budget (KIP-74).
   */
  read(topic: string, partition: number, offset: bigint, maxBytes: number, minOneBatch: boolean, isolationLevel = READ_UNCOMMITTED): PartitionRead {
    const log = this.store.partition(topic, partition);
    if (!log) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: null, abortedTransactions: null };
    }
    const hw = this.highWatermark(log);
    const lso = this.lastStableOffset(log);
    const committed = isolationLevel === READ_COMMITTED;
    const base = { highWatermark: hw, lastStableOffset: lso, logStartOffset: log.logStartOffset };
    if (offset < log.logStartOffset || offset > hw) {
      return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, ...base, records: null, abortedTransactions: committed ? [] : null };
    }
    const limit = committed ? lso : hw;
    if (offset >= limit) return { errorCode: ErrorCode.NONE, ...base, records: { chunks: [], bytes: 0 }, abortedTransactions: committed ? [] : null };
    let records: ReadResult;
    try {
      records = log.read(offset, maxBytes, minOneBatch, limit);
    } catch (err) {
      // As Kafka's readFromLocalLog: the error, unknown offsets, no records.
      const errorCode = this.storageFailure(topic, partition, 'read', err);
      return { errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: null, abortedTransactions: committed ? [] : null };
    }
    this.storageOk(topic, partition, 'read');
    // Kafka bounds the aborted transactions by the end of what it read (at most the LSO).
    const aborted = committed && records.bytes > 0 ? log.producerState.abortedTransactions(offset, limit) : committed ? [] : null;
    return { errorCode: ErrorCode.NONE, ...base, records, abortedTransactions: aborted };
  }

  /**
   * Resolves when any of the given partitions gets an append, after `timeoutMs`, at shutdown, or
   * when `signal` aborts (the Fetch's connection closed: nobody is left to answer, so its waiter
   * and timer go now instead of at the deadline). Kafka's purgatory keeps a DelayedFetch until it
   * completes or expires and then drops the answer; ending it at once means clients that time out
   * and reconnect cannot pile up waiters and timers for max_wait_ms each. The deadline is met on
   * the injected clock or in real time, whichever comes first: a ManualClock never advanced
   * cannot hold a client's Fetch (and so its consumer's disconnect) forever. Resolves true when
   * the deadline was reached.
   */
  waitForAppend(partitions: ReadonlyArray<readonly [string, number]>, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.closing || timeoutMs <= 0 || signal?.aborted) return Promise.resolve(timeoutMs <= 0);
    return new Promise((resolve) => {
      const keys = partitions.map(([t, p]) => key(t, p));
      let timer: { cancel(): void } | undefined;
      let timedOut = false;
      const wake = (): void => {
        timer?.cancel();
        for (const k of keys) {
          const set = this.waiters.get(k);
          set?.delete(wake);
          if (set?.size === 0) this.waiters.delete(k);
        }
        this.parked.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve(timedOut);
      };
      for (const k of keys) {
        let set = this.waiters.get(k);
        if (!set) this.waiters.set(k, (set = new Set()));
        set.add(wake);
      }
      this.parked.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
      timer = this.waitClock.setTimeout(() => {
        timedOut = true;
        wake();
      }, timeoutMs);
    });
  }

  /** Every parked long poll (woken at shutdown). */
  private readonly parked = new Set<() => void>();

  /** Long polls parked now (tests: none may outlive its connection). */
  get parkedFetches(): number {
    return this.parked.size;
  }

  /** Partitions with at least one parked long poll. */
  get parkedPartitions(): number {
    return this.waiters.size;
  }

  /** True once shutdown() ran: a long poll must answer now instead of parking again. */
  get isShuttingDown(): boolean {
    return this.closing;
  }

  private notify(topic: string, partition: number): void {
    const set = this.waiters.get(key(topic, partition));
    if (!set) return;
    for (const wake of [...set]) wake();
  }

  /** Wakes every parked Fetch so in-flight requests finish promptly at shutdown. */
  shutdown(): void {
    this.closing = true;
    for (const t of this.periodic.splice(0)) t.cancel();
    this.cleanerTimer?.cancel();
    this.cleanerTimer = undefined;
    for (const wake of [...this.parked]) wake();
  }

  // ---- storage faults (issue 8, robust storage) ----

  /** Where storage faults of partitions are logged (the broker's logger). */
  storageLog: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void } | undefined;
  /** Partitions (and operation) whose last attempt failed, with the error text logged for it. */
  private readonly faulted = new Map<string, string>();

  /**
   * The Kafka error for a store failure on one partition: a damaged batch is CORRUPT_MESSAGE,
   * a partition deleted meanwhile UNKNOWN_TOPIC_OR_PARTITION, anything else (ENOSPC, EIO, EMFILE,
   * a broken index) KAFKA_STORAGE_ERROR, as Kafka answers a KafkaStorageException. Only that
   * partition fails; the connection and the other partitions carry on. Logged once per partition,
   * operation and fault (not once per retry), and once more when it works again.
   */
  storageFailure(topic: string, partition: number, op: string, err: unknown): number {
    const code = (err as { code?: unknown })?.code;
    if (code === 'UNKNOWN_TOPIC_OR_PARTITION') return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const errorCode = code === 'CORRUPT_MESSAGE' ? ErrorCode.CORRUPT_MESSAGE : ErrorCode.KAFKA_STORAGE_ERROR;
    const message = (err as Error)?.message ?? String(err);
    const k = `${key(topic, partition)}\u0000${op}`;
    if (this.faulted.get(k) !== message) {
      this.faulted.set(k, message);
      const known = code === 'STORAGE_ERROR' || code === 'CORRUPT_MESSAGE' || (typeof code === 'string' && /^E[A-Z]+$/.test(code));
      this.storageLog?.warn(
        { topic, partition, op, errorCode: errorCode === ErrorCode.CORRUPT_MESSAGE ? 'CORRUPT_MESSAGE' : 'KAFKA_STORAGE_ERROR', err: message, stack: known ? undefined : (err as Error)?.stack },
        `${op} failed on ${topic}-${partition}: ${message}`,
      );
    }
    return errorCode;
  }

  /** Records a success after a logged failure of the same partition and operation. */
  storageOk(topic: string, partition: number, op: string): void {
    if (this.faulted.size === 0) return;
    if (this.faulted.delete(`${key(topic, partition)}\u0000${op}`)) this.storageLog?.info({ topic, partition, op }, `${op} works again on ${topic}-${partition}`);
  }

  // ---- DeleteRecords / OffsetForLeaderEpoch / log dirs (issue 8) ----

  /**
   * DeleteRecords on one partition, as Kafka's Partition.deleteRecordsOnLeader and
   * UnifiedLog.maybeIncrementLogStartOffset: POLICY_VIOLATION unless cleanup.policy includes
   * "delete"; offset -1 means the high watermark; a negative offset or one past the high watermark
   * is OFFSET_OUT_OF_RANGE; a smaller offset than the log start changes nothing. The low watermark
   * answered is the log start offset afterwards (one replica: nobody else to wait for, so
   * timeout_ms plays no part). Internal topics are the caller's check (Kafka refuses them with
   * INVALID_TOPIC_EXCEPTION after the existence check). A store failure is KAFKA_STORAGE_ERROR with
   * the error returned for logging.
   */
  deleteRecords(topic: string, partition: number, offset: bigint): { errorCode: number; lowWatermark: bigint; error?: unknown } {
    const meta = this.store.getTopic(topic);
    const log = meta ? this.store.partition(topic, partition) : undefined;
    if (!meta || !log) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1n };
    const policy = this.config.topicValue(meta.configs, 'cleanup.policy') ?? 'delete';
    if (!cleanupPolicyIncludes(policy, 'delete')) return { errorCode: ErrorCode.POLICY_VIOLATION, lowWatermark: -1n };
    const hw = this.highWatermark(log);
    const target = offset === -1n ? hw : offset;
    if (target < 0n || target > hw) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1n };
    const before = log.logStartOffset;
    let lowWatermark: bigint;
    try {
      lowWatermark = log.deleteRecordsBefore(target);
    } catch (error) {
      const gone = (error as { code?: unknown }).code === 'UNKNOWN_TOPIC_OR_PARTITION';
      return { errorCode: gone ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.KAFKA_STORAGE_ERROR, lowWatermark: -1n, error: gone ? undefined : error };
    }
    // A long-poll Fetch parked below the new start answers OFFSET_OUT_OF_RANGE now, not at its deadline.
    if (lowWatermark > before) this.notify(topic, partition);
    return { errorCode: ErrorCode.NONE, lowWatermark };
  }

  /**
   * OffsetForLeaderEpoch's answer for one partition (the caller checks current_leader_epoch), by
   * Kafka's LeaderEpochFileCache.endOffsetFor over the partition's epoch history: -1 (undefined)
   * asks nothing; the current epoch ends at the log end offset; an older one ends where the next
   * higher known epoch starts, answered with the largest known epoch <= it, or with itself when it
   * is older than every known epoch (the data is gone: the end is the first known start); an
   * epoch above every known one is undefined. Undefined is -1/-1 with no error
   * (UnifiedLog.endOffsetForEpoch answers None, Partition leaves the defaults).
   */
  endOffsetForEpoch(log: PartitionLog, leaderEpoch: number): { leaderEpoch: number; endOffset: bigint } {
    const UNDEFINED = { leaderEpoch: -1, endOffset: -1n };
    if (leaderEpoch === -1) return UNDEFINED;
    const entries = log.leaderEpochEntries();
    const latest = entries[entries.length - 1];
    if (latest !== undefined && latest.epoch === leaderEpoch) return { leaderEpoch, endOffset: this.highWatermark(log) };
    const higher = entries.findIndex((e) => e.epoch > leaderEpoch);
    if (higher < 0) return UNDEFINED;
    const floor = higher > 0 ? entries[higher - 1]! : undefined;
    return { leaderEpoch: floor?.epoch ?? leaderEpoch, endOffset: entries[higher]!.startOffset };
  }

  /**
   * DescribeLogDirs: the store's one log directory with the size of each partition in it (all of
   * them, or those in `wanted`; unknown ones are left out, as Kafka filters its logs by the set
   * asked for). offset_lag is 0 and is_future false: no replica of this broker is catching up or
   * moving between directories. An unreadable volume is KAFKA_STORAGE_ERROR for the directory.
   */
  describeLogDirs(wanted: ReadonlyMap<string, ReadonlySet<number>> | null): LogDirDescription[] {
    let space: { totalBytes: bigint; usableBytes: bigint };
    try {
      space = this.store.logDirSpace();
    } catch {
      return [{ errorCode: ErrorCode.KAFKA_STORAGE_ERROR, logDir: this.store.logDir, totalBytes: -1n, usableBytes: -1n, topics: [] }];
    }
    const topics: LogDirDescription['topics'] = [];
    for (const t of this.store.listTopics()) {
      const want = wanted === null ? undefined : wanted.get(t.name);
      if (wanted !== null && want === undefined) continue;
      const partitions: LogDirDescription['topics'][number]['partitions'] = [];
      for (let p = 0; p < t.numPartitions; p++) {
        if (want !== undefined && !want.has(p)) continue;
        const log = this.store.partition(t.name, p);
        if (log) partitions.push({ partitionIndex: p, partitionSize: BigInt(log.sizeInBytes()), offsetLag: 0n, isFutureKey: false });
      }
      if (partitions.length > 0) topics.push({ name: t.name, partitions });
    }
    return [{ errorCode: ErrorCode.NONE, logDir: this.store.logDir, ...space, topics }];
  }
}

/** One log directory as DescribeLogDirs reports it (issue 8). */
export interface LogDirDescription {
  errorCode: number;
  logDir: string;
  totalBytes: bigint;
  usableBytes: bigint;
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; partitionSize: bigint; offsetLag: bigint; isFutureKey: boolean }> }>;
}
