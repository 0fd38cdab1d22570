// Fetching: positions per partition, one Fetch per leader per round (long-poll), record batches
// decoded by protocol/records (v2 batches and legacy message sets alike), control batches skipped,
// aborted transactions filtered for read_committed (Kafka's algorithm: a producer's transactional
// batches are dropped from the first offset of an aborted transaction until its ABORT marker).

import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives/uuid.js';
import {
  BATCH_LENGTH_OFFSET,
  ControlRecordType,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  decodeControlRecordKey,
  decodeRecordBatch,
  type RecordHeader,
} from '../../protocol/records/index.js';
import { decodeMessageSet } from '../../protocol/records/legacy.js';
import type { FetchResponseAbortedTransaction } from '../../protocol/generated/01-fetch.js';
import { EARLIEST, LATEST, listOffsets, tpKey } from './admin.js';
import { Apis } from './apis.js';
import { sleep, type KafkaClient, type TopicPartition } from './client.js';
import { KafkaError } from './errors.js';

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: bigint;
  /** 'CreateTime' or 'LogAppendTime'. */
  timestampType: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  leaderEpoch: number;
}

export type ResetPolicy = 'earliest' | 'latest' | 'none';

export interface FetcherOptions {
  /** 0 read_uncommitted (default, as Kafka's console consumer), 1 read_committed. */
  isolationLevel?: number;
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  /** What to do when a position is out of range (default earliest). */
  resetPolicy?: ResetPolicy;
}

export interface Position extends TopicPartition {
  offset: bigint;
}

/** Decodes a partition's records from `position` on. Exported for tests. */
export function decodeFetchedRecords(
  topic: string,
  partition: number,
  records: Buffer,
  position: bigint,
  opts: { readCommitted: boolean; aborted: FetchResponseAbortedTransaction[] | null },
): { records: ConsumedRecord[]; next: bigint; complete: number } {
  const out: ConsumedRecord[] = [];
  let next = position;
  const aborted = [...(opts.aborted ?? [])].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const abortedProducers = new Set<bigint>();
  let p = 0;
  let complete = 0;
  while (records.length - p >= LOG_OVERHEAD + 5) {
    const size = LOG_OVERHEAD + records.readInt32BE(p + BATCH_LENGTH_OFFSET);
    if (size <= LOG_OVERHEAD || p + size > records.length) break;
    const entry = records.subarray(p, p + size);
    p += size;
    complete++;
    const magic = entry[MAGIC_OFFSET]!;
    if (magic < 2) {
      for (const m of decodeMessageSet(entry)) {
        if (m.offset < next) continue;
        out.push({
          topic,
          partition,
          offset: m.offset,
          timestamp: m.timestamp,
          timestampType: m.magic === 1 && (m.attributes & 0x08) !== 0 ? 'LogAppendTime' : 'CreateTime',
          key: m.key && Buffer.from(m.key),
          value: m.value && Buffer.from(m.value),
          headers: [],
          leaderEpoch: -1,
        });
        next = m.offset + 1n;
      }
      continue;
    }
    const batch = decodeRecordBatch(entry);
    const h = batch.header;
    const last = h.baseOffset + BigInt(h.lastOffsetDelta);
    if (last < next) continue;
    if (opts.readCommitted) {
      while (aborted.length > 0 && aborted[0]!.firstOffset <= last) abortedProducers.add(aborted.shift()!.producerId);
      if (h.isControl) {
        const r = batch.records[0];
        if (r && decodeControlRecordKey(r.key).type === ControlRecordType.ABORT) abortedProducers.delete(h.producerId);
        next = last + 1n;
        continue;
      }
      if (h.isTransactional && abortedProducers.has(h.producerId)) {
        next = last + 1n;
        continue;
      }
    } else if (h.isControl) {
      next = last + 1n;
      continue;
    }
    for (const r of batch.records) {
      if (r.offset < next) continue;
      out.push({
        topic,
        partition,
        offset: r.offset,
        timestamp: r.timestamp,
        timestampType: h.timestampType === 1 ? 'LogAppendTime' : 'CreateTime',
        key: r.key && Buffer.from(r.key),
        value: r.value && Buffer.from(r.value),
        headers: r.headers.map((x) => ({ key: x.key, value: x.value && Buffer.from(x.value) })),
        leaderEpoch: h.partitionLeaderEpoch,
      });
    }
    next = last + 1n;
  }
  return { records: out, next, complete };
}

export class Fetcher {
  private readonly positions = new Map<string, Position>();
  private readonly paused = new Set<string>();
  private readonly maxBytesOf = new Map<string, number>();
  /** High watermark and last stable offset from the last Fetch answer, per partition. */
  readonly watermarks = new Map<string, { highWatermark: bigint; lastStableOffset: bigint; logStartOffset: bigint }>();

  constructor(
    private readonly client: KafkaClient,
    private readonly opts: FetcherOptions = {},
  ) {}

  get isolationLevel(): number {
    return this.opts.isolationLevel ?? 0;
  }

  /** Replaces the assignment. */
  assign(positions: Position[]): void {
    this.positions.clear();
    this.paused.clear();
    for (const p of positions) this.positions.set(tpKey(p.topic, p.partition), { ...p });
  }

  assigned(): Position[] {
    return [...this.positions.values()].map((p) => ({ ...p }));
  }

  position(topic: string, partition: number): bigint | undefined {
    return this.positions.get(tpKey(topic, partition))?.offset;
  }

  seek(topic: string, partition: number, offset: bigint): void {
    const p = this.positions.get(tpKey(topic, partition));
    if (p) p.offset = offset;
  }

  pause(topic: string, partition: number): void {
    this.paused.add(tpKey(topic, partition));
  }

  get active(): Position[] {
    return [...this.positions].filter(([k]) => !this.paused.has(k)).map(([, p]) => p);
  }

  /**
   * One fetch round over every unpaused partition (a Fetch per leader, in parallel). Resolves with
   * the records in offset order per partition; positions move past them.
   */
  async poll(): Promise<ConsumedRecord[]> {
    const active = this.active;
    if (active.length === 0) return [];
    const groups = await this.client.byLeader(active);
    const results = await Promise.all([...groups].map(([leader, tps]) => this.fetchFrom(leader, tps)));
    return results.flat();
  }

  private async fetchFrom(leader: number, tps: Position[]): Promise<ConsumedRecord[]> {
    const conn = await this.client.broker(leader);
    const topics = new Map<string, { id: string; partitions: Position[] }>();
    for (const tp of tps) {
      let t = topics.get(tp.topic);
      if (!t) {
        const md = await this.client.topic(tp.topic);
        t = { id: md.topicId, partitions: [] };
        topics.set(tp.topic, t);
      }
      t.partitions.push(tp);
    }
    // From v13 topics travel by id: stay below it when an id is unknown (brokers before Kafka 2.8).
    const idsKnown = [...topics.values()].every((t) => t.id !== ZERO_UUID);
    const maxWaitMs = this.opts.maxWaitMs ?? 500;
    const byId = new Map([...topics].map(([name, t]) => [t.id, name]));
    let resp;
    try {
      resp = await conn.request(
        Apis.fetch,
        {
          replicaId: -1,
          maxWaitMs,
          minBytes: this.opts.minBytes ?? 1,
          maxBytes: this.opts.maxBytes ?? 50 * 1024 * 1024,
          isolationLevel: this.isolationLevel,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [...topics].map(([name, t]) => ({
            topic: name,
            topicId: t.id,
            partitions: t.partitions.map((p) => ({
              partition: p.partition,
              currentLeaderEpoch: -1,
              fetchOffset: p.offset,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: this.maxBytesOf.get(tpKey(p.topic, p.partition)) ?? this.opts.partitionMaxBytes ?? 1024 * 1024,
            })),
          })),
          forgottenTopicsData: [],
          rackId: '',
        },
        { timeoutMs: this.client.requestTimeoutMs + maxWaitMs, maxVersion: idsKnown ? undefined : 12 },
      );
    } catch (err) {
      if (err instanceof KafkaError && !err.retriable) throw err;
      this.client.invalidate();
      await sleep(200);
      return [];
    }
    if (resp.errorCode !== ErrorCode.NONE) {
      const err = new KafkaError(resp.errorCode, 'Fetch');
      if (!err.retriable) throw err;
      await sleep(200);
      return [];
    }
    const out: ConsumedRecord[] = [];
    let refresh = false;
    const resets: Position[] = [];
    for (const t of resp.responses) {
      const name = t.topic !== '' && topics.has(t.topic) ? t.topic : byId.get(t.topicId);
      if (name === undefined) continue;
      for (const p of t.partitions) {
        const key = tpKey(name, p.partitionIndex);
        const pos = this.positions.get(key);
        if (!pos) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          resets.push(pos);
          continue;
        }
        if (p.errorCode !== ErrorCode.NONE) {
          const err = new KafkaError(p.errorCode, `Fetch ${name}/${p.partitionIndex}`);
          if (!err.retriable && p.errorCode !== ErrorCode.UNKNOWN_TOPIC_ID) throw err;
          refresh = true;
          continue;
        }
        this.watermarks.set(key, { highWatermark: p.highWatermark, lastStableOffset: p.lastStableOffset, logStartOffset: p.logStartOffset });
        const records = p.records ?? Buffer.alloc(0);
        if (records.length === 0) continue;
        const got = decodeFetchedRecords(name, p.partitionIndex, records, pos.offset, {
          readCommitted: this.isolationLevel === 1,
          aborted: p.abortedTransactions,
        });
        if (got.complete === 0) {
          // Not one whole batch fit (a broker before KIP-74): ask for more next time.
          const cur = this.maxBytesOf.get(key) ?? this.opts.partitionMaxBytes ?? 1024 * 1024;
          this.maxBytesOf.set(key, Math.min(cur * 2, this.opts.maxBytes ?? 50 * 1024 * 1024));
          continue;
        }
        out.push(...got.records);
        pos.offset = got.next;
      }
    }
    if (refresh) {
      this.client.invalidate();
      await sleep(100);
    }
    if (resets.length > 0) await this.reset(resets);
    return out;
  }

  /** Moves out-of-range positions per the reset policy. */
  private async reset(positions: Position[]): Promise<void> {
    const policy = this.opts.resetPolicy ?? 'earliest';
    if (policy === 'none') {
      const p = positions[0]!;
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `Fetch ${p.topic}/${p.partition} at offset ${p.offset}`);
    }
    const answers = await listOffsets(this.client, positions, policy === 'earliest' ? EARLIEST : LATEST, this.isolationLevel);
    for (const p of positions) {
      const a = answers.get(tpKey(p.topic, p.partition));
      if (a) p.offset = a.offset;
    }
  }
}
