// Durable transaction state in the internal topic __transaction_state (Kafka's formats, see
// txn-records.ts): one record per state change of a transactional id, appended to the partition
// owning the id (abs(Java hashCode) % transaction.state.log.num.partitions, as Kafka), replayed at
// start (load(): every partition; loadPartition(p): the one a coordinator was elected for). A null
// value (tombstone) removes an expired id.
//
// The topic is cleanup.policy=compact: the broker's log cleaner (src/log/cleaner.ts) keeps the
// latest record of each transactional id and drops tombstones after delete.retention.ms, as
// Kafka's cleaner does for it. Replay keeps the last value per id, so it reads a compacted log to
// the same state.

import { decodeRecordBatch, encodeRecordBatch, verifyBatchCrc } from '../../protocol/records/index.js';
import { forEachStoredBatch } from '../log/replay.js';
import { partitionForGroup } from '../group/offsets-log.js';
import type { LogStore, PartitionLog, TopicMetadata } from '../log/types.js';
import { decodeTxnKey, decodeTxnValue, encodeTxnKey, encodeTxnValue } from './txn-records.js';
import type { TxnMetadata, TxnPersistence } from './types.js';

export const TXN_TOPIC = '__transaction_state';
export const DEFAULT_TXN_TOPIC_PARTITIONS = 50;

/** Topic configs of __transaction_state, as Kafka creates it. */
export function txnTopicConfigs(segmentBytes: number): Record<string, string> {
  return { 'cleanup.policy': 'compact', 'compression.type': 'uncompressed', 'segment.bytes': String(segmentBytes) };
}

/** Kafka's partitionFor(transactionalId): same hash rule as group ids. */
export function partitionForTxn(transactionalId: string, numPartitions: number): number {
  return partitionForGroup(transactionalId, numPartitions);
}

export interface TxnLogOptions {
  store: LogStore;
  topics: {
    get(name: string): TopicMetadata | undefined;
    createInternal(name: string, partitions: number, configs: Record<string, string>): void;
  };
  numPartitions: number;
  segmentBytes: number;
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  now: () => number;
}

export class TxnStateLog implements TxnPersistence {
  readonly topic = TXN_TOPIC;
  private count: number;
  /** Partitions loaded one by one (loadPartition). */
  private readonly loaded = new Set<number>();

  constructor(private readonly opts: TxnLogOptions) {
    this.count = opts.topics.get(TXN_TOPIC)?.numPartitions ?? opts.numPartitions;
  }

  get numPartitions(): number {
    return this.count;
  }

  partitionFor(transactionalId: string): number {
    return partitionForTxn(transactionalId, this.count);
  }

  /** Replays every partition (a node owning all of them). */
  load(): TxnMetadata[] {
    const started = Date.now();
    const existing = this.opts.topics.get(TXN_TOPIC);
    if (existing !== undefined) this.count = existing.numPartitions;
    this.loaded.clear();
    const out = new Map<string, TxnMetadata>();
    let bytes = 0;
    for (let p = 0; p < this.count; p++) bytes += this.replay(p, out);
    if (out.size > 0) {
      this.opts.logger.info({ topic: TXN_TOPIC, transactionalIds: out.size, bytes, ms: Date.now() - started }, 'loaded transaction state');
    }
    return [...out.values()];
  }

  /**
   * Replays one partition (a coordinator elected leader of it): the transactional ids it holds.
   * Throws if the topic's partition count is not the one ids were placed with while other
   * partitions are loaded (Kafka's validateTransactionTopicPartitionCountIsStable).
   */
  loadPartition(p: number): TxnMetadata[] {
    const started = Date.now();
    const existing = this.opts.topics.get(TXN_TOPIC);
    if (existing !== undefined && existing.numPartitions !== this.count) {
      if (this.loaded.size > 0) {
        throw new Error(`${TXN_TOPIC} partition count changed from ${this.count} to ${existing.numPartitions} while partitions are loaded`);
      }
      this.count = existing.numPartitions;
    }
    if (!Number.isInteger(p) || p < 0 || p >= this.count) throw new RangeError(`${TXN_TOPIC} has no partition ${p}`);
    const out = new Map<string, TxnMetadata>();
    const bytes = this.replay(p, out);
    this.loaded.add(p);
    this.opts.logger.info({ topic: TXN_TOPIC, partition: p, transactionalIds: out.size, bytes, ms: Date.now() - started }, 'loaded transaction state');
    return [...out.values()];
  }

  /** The partition is no longer loaded here (its leadership moved). */
  unloadPartition(p: number): void {
    this.loaded.delete(p);
  }

  /** Replays partition `p` into `out` (last value per id wins; a tombstone removes). Returns the bytes read. */
  private replay(p: number, out: Map<string, TxnMetadata>): number {
    const log = this.opts.store.partition(TXN_TOPIC, p);
    if (log === undefined) return 0;
    return forEachStoredBatch(log, (chunk, h) => {
      if (h.isControl || !verifyBatchCrc(chunk)) return;
      let records;
      try {
        records = decodeRecordBatch(chunk).records;
      } catch (err) {
        this.opts.logger.warn({ topic: TXN_TOPIC, partition: p, offset: h.baseOffset, err: (err as Error).message }, 'skipping undecodable transaction log batch');
        return;
      }
      for (const rec of records) {
        if (rec.offset < log.logStartOffset || rec.key === null) continue;
        try {
          const id = decodeTxnKey(rec.key);
          if (rec.value === null) {
            out.delete(id);
          } else {
            out.set(id, decodeTxnValue(id, rec.value));
          }
        } catch (err) {
          this.opts.logger.warn({ topic: TXN_TOPIC, partition: p, offset: rec.offset, err: (err as Error).message }, 'skipping corrupt transaction log record');
        }
      }
    });
  }

  store(meta: TxnMetadata): void {
    const key = encodeTxnKey(meta.transactionalId);
    const value = encodeTxnValue(meta);
    this.write(meta.transactionalId, key, value);
  }

  remove(transactionalId: string): void {
    this.write(transactionalId, encodeTxnKey(transactionalId), null);
  }

  private write(id: string, key: Buffer, value: Buffer | null): void {
    const p = this.partitionFor(id);
    const log = this.partitionLog(p);
    const ts = BigInt(this.opts.now());
    const batch = encodeRecordBatch({ baseTimestamp: ts, records: [{ key, value, timestamp: ts }] });
    log.append([batch], { writeThrough: true });
  }

  /** Creates __transaction_state with Kafka's settings if it does not exist. */
  ensureTopic(): void {
    if (this.opts.topics.get(TXN_TOPIC) !== undefined) return;
    try {
      this.opts.topics.createInternal(TXN_TOPIC, this.count, txnTopicConfigs(this.opts.segmentBytes));
    } catch (err) {
      if (this.opts.topics.get(TXN_TOPIC) === undefined) throw err;
    }
    this.opts.logger.info({ topic: TXN_TOPIC, partitions: this.count }, 'created the transaction state topic');
  }

  private partitionLog(p: number): PartitionLog {
    let log = this.opts.store.partition(TXN_TOPIC, p);
    if (log !== undefined) return log;
    this.ensureTopic();
    log = this.opts.store.partition(TXN_TOPIC, p);
    if (log === undefined) throw new Error(`${TXN_TOPIC} has no partition ${p}`);
    return log;
  }
}
