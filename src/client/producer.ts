// A plain (non-idempotent) producer: records are placed on partitions (explicit, by key with
// Kafka's murmur2 partitioner, or spread over the partitions for null keys), grouped into record
// batches v2 per partition (protocol/records) and sent to each leader in one Produce request.
// Retriable partition errors refresh the metadata and resend that partition's batches; like any
// producer without idempotence, a retry after a lost answer may write a batch twice.

import { ErrorCode } from '../../protocol/errors.js';
import { Compression, encodeRecordBatch, type RecordHeader, type RecordInput } from '../../protocol/records/index.js';
import { Apis } from './apis.js';
import { sleep, type KafkaClient } from './client.js';
import { KafkaError, NotFoundError } from './errors.js';

export interface ProducerRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Explicit partition; otherwise chosen by key (murmur2) or spread for null keys. */
  partition?: number;
  /** Create time in ms (default now). */
  timestamp?: bigint;
}

export interface ProducerOptions {
  /** -1 (all in-sync replicas, default), 0 (no answer) or 1 (leader). */
  acks?: number;
  compression?: Compression;
  /** Produce request timeout sent to the broker (default 30 s). */
  timeoutMs?: number;
  /** Upper bound for one batch's record bytes before compression (default 512 KiB). */
  batchBytes?: number;
  /** Create the topic through Metadata auto-creation if the broker allows it (default true, as the Java producer). */
  autoCreate?: boolean;
}

export interface PartitionResult {
  partition: number;
  /** Offset of the first record sent to this partition in this call (-1 with acks=0). */
  baseOffset: bigint;
  count: number;
}

/** Kafka's murmur2 (Utils.murmur2): the default partitioner hashes keys with it. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (seed ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & 3;
  const base = length & ~3;
  if (tail === 3) h ^= (data[base + 2]! & 0xff) << 16;
  if (tail >= 2) h ^= (data[base + 1]! & 0xff) << 8;
  if (tail >= 1) {
    h ^= data[base]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}

function recordSize(r: ProducerRecord): number {
  let n = 24 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers ?? []) n += 8 + Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  return n;
}

export class Producer {
  private nextSpread = new Map<string, number>();
  private readonly acks: number;

  constructor(
    private readonly client: KafkaClient,
    private readonly opts: ProducerOptions = {},
  ) {
    this.acks = opts.acks ?? -1;
    if (![-1, 0, 1].includes(this.acks)) throw new Error(`acks must be -1 (all), 0 or 1, not ${this.acks}`);
  }

  /** Partition count of a topic (auto-created when allowed). */
  async partitions(topic: string): Promise<number> {
    const t = await this.client.topic(topic, { autoCreate: this.opts.autoCreate ?? true });
    return t.partitions.length;
  }

  /**
   * Sends records to one topic and resolves once every batch is acknowledged (or written, with
   * acks=0). Null-key records without a partition go to one partition per call, rotating between
   * calls (batches stay large, as with Kafka's sticky partitioner, KIP-480).
   */
  async send(topic: string, records: ProducerRecord[]): Promise<PartitionResult[]> {
    if (records.length === 0) return [];
    const n = await this.partitions(topic);
    if (n === 0) throw new NotFoundError(`topic "${topic}" has no partitions`);
    const spread = this.nextSpread.get(topic) ?? Math.floor(Math.random() * n);
    this.nextSpread.set(topic, (spread + 1) % n);
    const byPartition = new Map<number, ProducerRecord[]>();
    for (const r of records) {
      let p: number;
      if (r.partition !== undefined) {
        if (r.partition < 0 || r.partition >= n) throw new NotFoundError(`partition ${r.partition} of topic "${topic}" not found (it has ${n})`);
        p = r.partition;
      } else if (r.key !== null) {
        p = partitionForKey(r.key, n);
      } else {
        p = spread;
      }
      const list = byPartition.get(p);
      if (list) list.push(r);
      else byPartition.set(p, [r]);
    }
    // Batches per partition, built once: a retry resends only those not yet acknowledged.
    const queues = new Map<number, Buffer[]>();
    const results = new Map<number, PartitionResult>();
    for (const [p, list] of byPartition) {
      queues.set(p, this.batches(list));
      results.set(p, { partition: p, baseOffset: -1n, count: list.length });
    }
    let backoff = 100;
    for (let attempt = 0; ; attempt++) {
      const pending = [...queues].filter(([, q]) => q.length > 0).map(([p]) => p);
      if (pending.length === 0) break;
      const error = await this.sendRound(topic, pending, queues, results);
      if (error === undefined) continue;
      if (attempt >= this.client.retries) throw error;
      this.client.invalidate(topic);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 2000);
    }
    return [...results.values()].sort((a, b) => a.partition - b.partition);
  }

  private batches(records: ProducerRecord[]): Buffer[] {
    const limit = this.opts.batchBytes ?? 512 * 1024;
    const out: Buffer[] = [];
    let cur: RecordInput[] = [];
    let size = 0;
    const now = BigInt(Date.now());
    const flush = (): void => {
      if (cur.length === 0) return;
      out.push(encodeRecordBatch({ records: cur, compression: this.opts.compression ?? Compression.NONE }));
      cur = [];
      size = 0;
    };
    for (const r of records) {
      const s = recordSize(r);
      if (cur.length > 0 && size + s > limit) flush();
      cur.push({ key: r.key, value: r.value, headers: r.headers ?? [], timestamp: r.timestamp ?? now, offsetDelta: cur.length });
      size += s;
    }
    flush();
    return out;
  }

  /**
   * Sends the queued batches of `partitions`, a Produce per leader with at most one batch per
   * partition each (Kafka refuses more), shifting each queue as its batches are acknowledged.
   * Returns the last retriable error if some partition must be retried; throws the others.
   */
  private async sendRound(topic: string, partitions: number[], queues: Map<number, Buffer[]>, results: Map<number, PartitionResult>): Promise<Error | undefined> {
    const groups = await this.client.byLeader(partitions.map((partition) => ({ topic, partition })));
    let retryError: Error | undefined;
    await Promise.all(
      [...groups].map(async ([leader, tps]) => {
        let conn;
        try {
          conn = await this.client.broker(leader);
        } catch (err) {
          retryError = err as Error;
          return;
        }
        const mine = new Set(tps.map((tp) => tp.partition));
        for (;;) {
          const round = [...mine].filter((p) => queues.get(p)!.length > 0).map((p) => ({ index: p, records: queues.get(p)![0]! }));
          if (round.length === 0) return;
          const timeoutMs = this.opts.timeoutMs ?? 30_000;
          const body = { transactionalId: null, acks: this.acks, timeoutMs, topicData: [{ name: topic, partitionData: round }] };
          if (this.acks === 0) {
            await conn.sendOnly(Apis.produce, body);
            for (const p of round) queues.get(p.index)!.shift();
            continue;
          }
          let r;
          try {
            r = await conn.request(Apis.produce, body, { timeoutMs: timeoutMs + 5_000 });
          } catch (err) {
            retryError = err as Error;
            return;
          }
          const answered = new Set(r.responses.filter((t) => t.name === topic).flatMap((t) => t.partitionResponses.map((p) => p.index)));
          for (const p of round) {
            if (!answered.has(p.index)) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `producing to ${topic}/${p.index}`, 'the Produce answer left this partition out');
          }
          for (const t of r.responses) {
            for (const p of t.partitionResponses) {
              if (!mine.has(p.index)) continue;
              if (p.errorCode === ErrorCode.NONE) {
                queues.get(p.index)!.shift();
                const res = results.get(p.index)!;
                if (res.baseOffset < 0n) res.baseOffset = p.baseOffset;
                continue;
              }
              const err = new KafkaError(p.errorCode, `producing to ${topic}/${p.index}`, p.errorMessage);
              if (!err.retriable) throw err;
              // Stop sending to this partition in this round; the next round retries it.
              mine.delete(p.index);
              retryError = err;
            }
          }
        }
      }),
    );
    return retryError;
  }
}
