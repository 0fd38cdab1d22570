// Durable transaction state in the internal topic __transaction_state (Kafka's formats, see
// txn-records.ts): one record per state change of a transactional id, appended to the partition
// owning the id (abs(Java hashCode) % transaction.state.log.num.partitions, as Kafka), replayed at
// start. A null value (tombstone) removes an expired id.
//
// Compaction works like the offsets log's (src/group/offsets-log.ts): once a partition has taken
// more than compactThresholdBytes of appends beyond its live state, its live records are appended
// again as fresh batches, flushed, and everything before them is dropped with
// deleteRecordsBefore(). A crash between the two leaves a longer log replaying to the same state.

import { decodeRecordBatch, encodeRecordBatch, verifyBatchCrc } from '../../protocol/records/index.js';
import { forEachStoredBatch } from '../log/replay.js';
import { partitionForGroup } from '../group/offsets-log.js';
import type { LogStore, PartitionLog, TopicMetadata } from '../log/types.js';
import { decodeTxnKey, decodeTxnValue, encodeTxnKey, encodeTxnValue } from './txn-records.js';
import type { TxnMetadata, TxnPersistence } from './types.js';

export const TXN_TOPIC = '__transaction_state';
export const DEFAULT_TXN_TOPIC_PARTITIONS = 50;
const DEFAULT_COMPACT_THRESHOLD_BYTES = 8 * 1024 * 1024;
const RECORD_OVERHEAD = 12;

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
  compactThresholdBytes?: number;
}

interface PartState {
  /** transactional id -> its latest encoded key/value. */
  live: Map<string, { key: Buffer; value: Buffer }>;
  dirtyBytes: number;
}

export class TxnStateLog implements TxnPersistence {
  readonly topic = TXN_TOPIC;
  private count: number;
  private readonly threshold: number;
  private parts: PartState[] = [];

  constructor(private readonly opts: TxnLogOptions) {
    this.count = opts.topics.get(TXN_TOPIC)?.numPartitions ?? opts.numPartitions;
    this.threshold = opts.compactThresholdBytes ?? DEFAULT_COMPACT_THRESHOLD_BYTES;
    this.parts = Array.from({ length: this.count }, () => ({ live: new Map(), dirtyBytes: 0 }));
  }

  get numPartitions(): number {
    return this.count;
  }

  partitionFor(transactionalId: string): number {
    return partitionForTxn(transactionalId, this.count);
  }

  load(): TxnMetadata[] {
    const started = Date.now();
    const existing = this.opts.topics.get(TXN_TOPIC);
    if (existing !== undefined) this.count = existing.numPartitions;
    this.parts = Array.from({ length: this.count }, () => ({ live: new Map(), dirtyBytes: 0 }));
    const out = new Map<string, TxnMetadata>();
    let bytes = 0;
    for (let p = 0; p < this.count; p++) {
      const log = this.opts.store.partition(TXN_TOPIC, p);
      if (log === undefined) continue;
      const state = this.parts[p]!;
      const read = forEachStoredBatch(log, (chunk, h) => {
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
              state.live.delete(id);
            } else {
              out.set(id, decodeTxnValue(id, rec.value));
              state.live.set(id, { key: Buffer.from(rec.key), value: Buffer.from(rec.value) });
            }
          } catch (err) {
            this.opts.logger.warn({ topic: TXN_TOPIC, partition: p, offset: rec.offset, err: (err as Error).message }, 'skipping corrupt transaction log record');
          }
        }
      });
      let live = 0;
      for (const r of state.live.values()) live += r.key.length + r.value.length + RECORD_OVERHEAD;
      state.dirtyBytes = Math.max(0, read - live);
      bytes += read;
    }
    if (out.size > 0) {
      this.opts.logger.info({ topic: TXN_TOPIC, transactionalIds: out.size, bytes, ms: Date.now() - started }, 'loaded transaction state');
    }
    return [...out.values()];
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
    log.append([batch]);
    const state = this.parts[p]!;
    if (value === null) state.live.delete(id);
    else state.live.set(id, { key, value });
    state.dirtyBytes += batch.length;
    if (state.dirtyBytes > this.threshold) {
      try {
        this.compactPartition(p);
      } catch (err) {
        this.opts.logger.warn({ topic: TXN_TOPIC, partition: p, err: (err as Error).message }, 'transaction log compaction failed');
      }
    }
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

  /** Compacts every partition past the threshold (all with `force`). */
  compact(force = false): void {
    for (let p = 0; p < this.parts.length; p++) {
      if (force || this.parts[p]!.dirtyBytes > this.threshold) this.compactPartition(p);
    }
  }

  private compactPartition(p: number): void {
    const log = this.opts.store.partition(TXN_TOPIC, p);
    if (log === undefined) return;
    const first = log.logEndOffset;
    const ts = BigInt(this.opts.now());
    const live = [...this.parts[p]!.live.values()];
    for (let i = 0; i < live.length; i += 500) {
      const slice = live.slice(i, i + 500).map((r) => ({ key: r.key, value: r.value, timestamp: ts }));
      log.append([encodeRecordBatch({ baseTimestamp: ts, records: slice })]);
    }
    log.flush();
    log.deleteRecordsBefore(first);
    this.parts[p]!.dirtyBytes = 0;
  }
}
