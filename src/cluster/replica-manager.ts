// The partition data path on the leader: validated appends and reads, plus the wait list that
// long-poll Fetch requests park on until data arrives (Kafka's fetch purgatory).
//
// On a single node the high watermark is the log end offset; the replication issue will move it.

import { ErrorCode } from '../../protocol/errors.js';
import { repairMaxTimestamp, stampLogAppendTime, validateRecords } from '../../protocol/records/batch.js';
import type { Clock } from '../common/clock.js';
import type { BrokerConfig } from '../config/config.js';
import type { LogStore, PartitionLog, ReadResult } from '../log/types.js';

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
}

/** The result of a partition produce that appended nothing. */
export function failedProduce(errorCode: number, errorMessage: string | null = null, logStartOffset = -1n): ProduceResult {
  return { errorCode, errorMessage, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset };
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class ReplicaManager {
  private readonly waiters = new Map<string, Set<() => void>>();
  private closing = false;

  constructor(
    private readonly store: LogStore,
    private readonly config: BrokerConfig,
    private readonly clock: Clock,
  ) {}

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.store.partition(topic, partition);
  }

  /**
   * Validates and appends one partition's records from a Produce request. `produceVersion`
   * decides version-dependent rules (zstd needs v7+); converted legacy message sets pass 3.
   */
  append(topic: string, partition: number, records: Buffer | null, produceVersion: number): ProduceResult {
    const meta = this.store.getTopic(topic);
    const log = meta ? this.store.partition(topic, partition) : undefined;
    if (!meta || !log) return failedProduce(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (records === null || records.length === 0) {
      return failedProduce(ErrorCode.INVALID_RECORD, 'Produce request contained no records');
    }
    const maxBytes = Number(this.config.topicValue(meta.configs, 'max.message.bytes'));
    const v = validateRecords(records, { maxBatchBytes: maxBytes, apiVersion: produceVersion });
    if (!v.ok) return failedProduce(v.errorCode, v.message, log.logStartOffset);
    // Views into the request frame: the file store writes them out at once, the memory store
    // copies what it keeps. Offsets (and LogAppendTime) are patched into these bytes in place.
    const batches = v.batches;
    let logAppendTimeMs = -1n;
    if (this.config.topicValue(meta.configs, 'message.timestamp.type') === 'LogAppendTime') {
      logAppendTimeMs = BigInt(this.clock.now());
      for (const b of batches) stampLogAppendTime(b, logAppendTimeMs);
    } else {
      for (const b of batches) repairMaxTimestamp(b);
    }
    const info = log.append(batches);
    this.notify(topic, partition);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      baseOffset: info.baseOffset,
      logAppendTimeMs,
      logStartOffset: info.logStartOffset,
    };
  }

  /**
   * Reads one partition for Fetch. `maxBytes` is the budget left in the response; with
   * `minOneBatch` the first batch is returned whole even above the budget (KIP-74).
   */
  read(topic: string, partition: number, offset: bigint, maxBytes: number, minOneBatch: boolean): PartitionRead {
    const log = this.store.partition(topic, partition);
    if (!log) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: null };
    }
    const hw = log.logEndOffset;
    const base = { highWatermark: hw, lastStableOffset: hw, logStartOffset: log.logStartOffset };
    if (offset < log.logStartOffset || offset > hw) {
      return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, ...base, highWatermark: hw, records: null };
    }
    if (offset === hw) return { errorCode: ErrorCode.NONE, ...base, records: { chunks: [], bytes: 0 } };
    return { errorCode: ErrorCode.NONE, ...base, records: log.read(offset, maxBytes, minOneBatch, hw) };
  }

  /**
   * Resolves when any of the given partitions gets an append, after `timeoutMs`, or at shutdown.
   */
  waitForAppend(partitions: ReadonlyArray<readonly [string, number]>, timeoutMs: number): Promise<void> {
    if (this.closing || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const keys = partitions.map(([t, p]) => key(t, p));
      let timer: { cancel(): void } | undefined;
      const wake = (): void => {
        timer?.cancel();
        for (const k of keys) {
          const set = this.waiters.get(k);
          set?.delete(wake);
          if (set?.size === 0) this.waiters.delete(k);
        }
        this.shutdownWaiters.delete(wake);
        resolve();
      };
      for (const k of keys) {
        let set = this.waiters.get(k);
        if (!set) this.waiters.set(k, (set = new Set()));
        set.add(wake);
      }
      this.shutdownWaiters.add(wake);
      timer = this.clock.setTimeout(wake, timeoutMs);
    });
  }

  private readonly shutdownWaiters = new Set<() => void>();

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
    for (const wake of [...this.shutdownWaiters]) wake();
  }
}
