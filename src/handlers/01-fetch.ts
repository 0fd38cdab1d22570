// Fetch (key 1), v0-v17.
// - v0-v3 (old clients: sarama's default V0_8_2_0, kafka-python's fallback) get the stored v2 batches
//   down-converted, as Kafka's RecordsUtil.downConvert does: magic 0 for v0-v1, magic 1 for v2-v3,
//   uncompressed, offsets kept, headers dropped, control batches and records below the fetch offset
//   left out; partition_max_bytes (and v3's max_bytes) apply to the converted size, with at least
//   one message (for v3 only in the first partition with data, KIP-74). No isolation level: read
//   uncommitted. v4+ return stored bytes as below.
// - Returns stored batches as they are, starting with the batch that contains the fetch offset;
//   at least one whole batch even above the limits (KIP-74); max_bytes across the response,
//   partition_max_bytes per partition. The broker's fetch.max.bytes (default 55 MiB) caps
//   max_bytes and min_bytes (KIP-541), so no read is sized by a client's 2 GiB max_bytes.
// - The stored bytes are not copied into the response: the batches of one file-store read are one
//   view of its read buffer (joinViews), the response references it (Writer.withViews), and the
//   connection writes the response's own bytes and that buffer to the socket one after the other.
// - Long poll: answers at once when min_bytes are available (min_bytes 0: always), on any
//   partition error, or when max_wait_ms is 0; otherwise waits for an append to one of the
//   partitions or the deadline.
// - Data is read when it is this Fetch's turn to answer on its connection and the socket has
//   room (ConnectionInfo.responseRoom): many pipelined Fetches from a client that does not read
//   wait instead of filling memory.
// - A parked long poll ends when its connection closes (its waiter and timer go with it).
// - high watermark, last stable offset, log start offset; OFFSET_OUT_OF_RANGE outside
//   [log start, high watermark]; current_leader_epoch fencing (v9+).
// - isolation_level (v4+): READ_COMMITTED reads stop at the last stable offset (the first offset
//   of the oldest open transaction) and carry the aborted transactions overlapping what was read
//   (from the partition's aborted-transaction index, never a log scan); READ_UNCOMMITTED reads to
//   the high watermark with a null aborted-transactions list.
// - Topic ids from v13 (UNKNOWN_TOPIC_ID for unknown ones).
// - Client quotas (consumer fetches only): max_bytes is capped by what the client's
//   consumer_byte_rate allows over the quota window; the answer's record bytes count against it,
//   and over it the Fetch is answered empty with throttle_time_ms and its connection muted for
//   that long (the bytes are taken back, as Kafka does). v0-v7 clients do not back off
//   themselves: their (empty) answer is held for the throttle time, as Kafka does (KIP-219).
// - Fetch sessions (KIP-227) are declined: session id 0 in every answer, which tells clients to
//   send full fetches; an incremental fetch for an unknown session gets FETCH_SESSION_ID_NOT_FOUND.
// - Authorization (KafkaApis.handleFetchRequest): a follower's fetch needs CLUSTER_ACTION on the
//   cluster, a consumer's READ on each topic; TOPIC_AUTHORIZATION_FAILED per partition otherwise
//   (an unknown topic id stays UNKNOWN_TOPIC_ID).

import { ErrorCode } from '../../protocol/errors.js';
import {
  FetchApi,
  decodeFetchRequest,
  encodeFetchResponse,
  type FetchRequest,
  type FetchResponse,
} from '../../protocol/generated/01-fetch.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, clusterAllowed } from './auth.js';
import { MIN_RECORDS_VIEW_BYTES, type Encodable } from '../../protocol/primitives/writer.js';
import { ZERO_UUID } from '../../protocol/primitives/uuid.js';
import { defineHandler, type RequestContext } from './types.js';
import { READ_COMMITTED, type FetchClient } from '../cluster/replica-manager.js';
import { leaderEpochError } from './epochs.js';
import { BATCH_LENGTH_OFFSET, LOG_OVERHEAD } from '../../protocol/records/constants.js';
import { downConvertBatches, type LegacyMagic } from '../../protocol/records/legacy.js';
import { recordQuota, throttled } from './quota-common.js';

/** First Fetch version whose clients back off by themselves on throttle_time_ms (KIP-219). */
const CLIENT_THROTTLES_FROM = 8;

/**
 * Records of a partition without data, errors included: empty, never null. librdkafka cannot parse
 * a null record set ("invalid MessageSetSize -1") and would retry forever instead of seeing the
 * error; Kafka's FetchResponse turns null into empty records for that reason.
 */
const EMPTY = Buffer.alloc(0);

type TopicOut = Encodable<FetchResponse['responses'][number]>;

interface Target {
  topic: string | null;
  topicId: string;
  /** READ on the topic (CLUSTER_ACTION on the cluster for a follower). */
  authorized: boolean;
  partitions: FetchRequest['topics'][number]['partitions'];
}

/** Splits a read's chunks (whole stored batches, possibly several per chunk) into single batches. */
function splitBatches(chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    let p = 0;
    while (c.length - p >= LOG_OVERHEAD) {
      const size = LOG_OVERHEAD + c.readInt32BE(p + BATCH_LENGTH_OFFSET);
      if (size <= LOG_OVERHEAD || p + size > c.length) break;
      out.push(c.subarray(p, p + size));
      p += size;
    }
  }
  return out;
}

/**
 * Fetch v0-v3: one partition read, down-converted to a message set of `magic`. Reads on past
 * batches that convert to nothing (control batches) so the client never loops on an offset.
 */
function readLegacy(ctx: RequestContext, topic: string, partition: number, fetchOffset: bigint, limit: number, minOne: boolean, magic: LegacyMagic) {
  let offset = fetchOffset;
  for (let round = 0; ; round++) {
    const r = ctx.replicas.read(topic, partition, offset, limit, minOne);
    if (r.errorCode !== ErrorCode.NONE || !r.records || r.records.bytes === 0) return { read: r, records: null as Buffer | null, errorCode: r.errorCode };
    let converted;
    try {
      converted = downConvertBatches(splitBatches(r.records.chunks), magic, fetchOffset, { maxBytes: limit, minOneMessage: minOne });
    } catch (err) {
      const code = (err as { code?: string }).code === 'ERR_UNSUPPORTED_COMPRESSION' ? ErrorCode.UNSUPPORTED_COMPRESSION_TYPE : ErrorCode.CORRUPT_MESSAGE;
      ctx.logger.warn({ topic, partition, offset, err: (err as Error).message }, 'fetch v0-v3 down-conversion failed');
      return { read: r, records: null, errorCode: code };
    }
    if (converted.count > 0 || converted.truncated || converted.nextOffset <= offset || converted.nextOffset >= r.highWatermark || round >= 100) {
      return { read: r, records: converted.count > 0 ? converted.records : null, errorCode: ErrorCode.NONE };
    }
    offset = converted.nextOffset;
  }
}

/** Fetch v4+: one partition's stored batches, as they are (one buffer; no copy for one chunk). */
function readStored(ctx: RequestContext, topic: string, partition: number, fetchOffset: bigint, limit: number, minOne: boolean, isolationLevel: number, replicaId: number, lastFetchedEpoch: number, client: FetchClient | undefined) {
  const r = ctx.replicas.read(topic, partition, fetchOffset, limit, minOne, isolationLevel, replicaId, lastFetchedEpoch, client);
  const chunks = r.records?.chunks ?? [];
  const records = chunks.length === 0 ? null : joinViews(chunks, r.records!.bytes);
  return { read: r, records, errorCode: r.errorCode };
}

/**
 * The stored batches as one buffer. The file store cuts the batches of one segment out of a single
 * read buffer, so adjacent views are joined into one view without copying; only batches from
 * different reads (several segments, the memory store) are copied together.
 */
export function joinViews(chunks: readonly Buffer[], bytes: number): Buffer {
  const first = chunks[0]!;
  let end = first.byteOffset + first.length;
  for (let i = 1; i < chunks.length; i++) {
    const c = chunks[i]!;
    if (c.buffer !== first.buffer || c.byteOffset !== end) return Buffer.concat(chunks as Buffer[], bytes);
    end += c.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}

type PartitionOut = Encodable<FetchResponse['responses'][number]['partitions'][number]>;

/** One partition's answer; every field set, in one order, so all answers share one object shape. */
function partitionOut(
  partitionIndex: number,
  errorCode: number,
  highWatermark: bigint,
  lastStableOffset: bigint,
  logStartOffset: bigint,
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }> | null,
  records: Buffer,
  divergingEpoch?: { epoch: number; endOffset: bigint },
  preferredReadReplica = -1,
): PartitionOut {
  const out: PartitionOut = { partitionIndex, errorCode, highWatermark, lastStableOffset, logStartOffset, abortedTransactions, preferredReadReplica, records };
  if (divergingEpoch !== undefined) out.divergingEpoch = divergingEpoch;
  return out;
}

/**
 * Kafka (KafkaApis, fetch below v10) refuses to serve a topic whose compression.type is zstd to
 * clients that predate zstd: UNSUPPORTED_COMPRESSION_TYPE for its partitions. zstd batches in a
 * topic of another compression.type are served as they are (v4-v9) or down-converted (v0-v3).
 */
function zstdTopic(ctx: RequestContext, topic: string): boolean {
  const meta = ctx.topics.get(topic);
  return meta !== undefined && ctx.config.topicValue(meta.configs, 'compression.type') === 'zstd';
}

/** Reads every partition asked for within `maxBytes` (the request's max_bytes capped by fetch.max.bytes). */
function readAll(req: FetchRequest, targets: Target[], maxBytes: number, ctx: RequestContext): { topics: TopicOut[]; bytes: number; answerNow: boolean } {
  const version = ctx.header.apiVersion;
  // KIP-392 (v11+): a consumer may read from a follower, and gives its rack to the leader.
  const client: FetchClient | undefined = version >= 11 ? { followerReads: true, rack: req.rackId ?? '' } : undefined;
  let budget = maxBytes;
  let bytes = 0;
  // Kafka answers at once, whatever min_bytes asks, on an error, a diverging epoch or a preferred
  // read replica.
  let answerNow = false;
  const isolation = version >= 4 ? req.isolationLevel : 0;
  // A follower's fetch (issue 10): replica id >= 0 (ReplicaState from v15).
  const replicaId = version >= 15 ? (req.replicaState?.replicaId ?? -1) : req.replicaId;
  const noAborted = isolation === READ_COMMITTED ? [] : null;
  const topics: TopicOut[] = [];
  for (const t of targets) {
    const partitions: PartitionOut[] = [];
    for (const p of t.partitions) {
      const log = t.topic === null ? undefined : ctx.replicas.partition(t.topic, p.partition);
      const errorCode =
        t.topic === null
          ? ErrorCode.UNKNOWN_TOPIC_ID
          : !t.authorized
            ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
            : !log
              ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
              : version < 10 && zstdTopic(ctx, t.topic)
                ? ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
                : leaderEpochError(p.currentLeaderEpoch, ctx.replicas.leaderEpochOf(log));
      if (errorCode !== ErrorCode.NONE) {
        answerNow = true;
        partitions.push(partitionOut(p.partition, errorCode, -1n, -1n, -1n, noAborted, EMPTY));
        continue;
      }
      const limit = Math.max(0, Math.min(p.partitionMaxBytes, budget));
      // v0-2: Brook returns a whole first message per partition (Kafka would send it cut short),
      // but none once fetch.max.bytes is used up (ReplicaManager.readFromLog: limit 0, no message).
      const l =
        version < 4
          ? readLegacy(ctx, t.topic!, p.partition, p.fetchOffset, limit, version < 3 ? budget > 0 : bytes === 0, version < 2 ? 0 : 1)
          : readStored(ctx, t.topic!, p.partition, p.fetchOffset, limit, bytes === 0, isolation, replicaId, version >= 12 ? p.lastFetchedEpoch : -1, client);
      if (l.errorCode !== ErrorCode.NONE) answerNow = true;
      if (l.records) {
        bytes += l.records.length;
        budget -= l.records.length;
      }
      const r = l.read;
      const diverging = r.divergingEpoch === undefined ? undefined : { epoch: r.divergingEpoch.epoch, endOffset: r.divergingEpoch.endOffset };
      // The follower must truncate before anything else; the consumer goes to its replica.
      if (diverging !== undefined || r.preferredReadReplica !== undefined) answerNow = true;
      partitions.push(
        partitionOut(p.partition, l.errorCode, r.highWatermark, r.lastStableOffset, r.logStartOffset, r.abortedTransactions ?? noAborted, l.records ?? EMPTY, diverging, r.preferredReadReplica),
      );
    }
    topics.push({ topic: t.topic ?? '', topicId: t.topicId, partitions });
  }
  return { topics, bytes, answerNow };
}

export default defineHandler<FetchRequest, FetchResponse>({
  api: FetchApi,
  minVersion: 0,
  maxVersion: 17,
  decode: decodeFetchRequest,
  encode: encodeFetchResponse,
  sizeHint(res) {
    // ~64 bytes of fields per partition and a little framing, plus the records that are copied
    // into the response: large ones are written to the socket as they are (Writer.withViews).
    let size = 256;
    for (const t of res.responses ?? []) {
      size += 64 + (t.topic?.length ?? 0);
      for (const p of t.partitions ?? []) {
        const n = p.records?.length ?? 0;
        size += 64 + (n < MIN_RECORDS_VIEW_BYTES ? n : 0);
      }
    }
    return size;
  },
  async handle(req, ctx) {
    const version = ctx.header.apiVersion;
    if (version >= 7 && req.sessionId !== 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    }
    const replicaId = version >= 15 ? (req.replicaState?.replicaId ?? -1) : req.replicaId;
    const follower = replicaId >= 0 && clusterAllowed(ctx, AclOperation.CLUSTER_ACTION);
    const readable = (topic: string | null): boolean => follower || (replicaId < 0 && topic !== null && allowed(ctx, AclOperation.READ, ResourceType.TOPIC, topic));
    const targets: Target[] = req.topics.map((t) => {
      if (version >= 13) {
        const meta = ctx.topics.getById(t.topicId);
        const topic = meta?.name ?? null;
        return { topic, topicId: t.topicId, partitions: t.partitions, authorized: readable(topic) };
      }
      return { topic: t.topic, topicId: ctx.topics.get(t.topic)?.topicId ?? ZERO_UUID, partitions: t.partitions, authorized: readable(t.topic) };
    });
    const keys = targets.flatMap((t) => (t.topic === null || !t.authorized ? [] : t.partitions.map((p) => [t.topic!, p.partition] as const)));
    const deadline = ctx.clock.now() + Math.max(0, req.maxWaitMs);
    // KafkaApis.handleFetchRequest: max_bytes is capped by the broker's fetch.max.bytes (KIP-541;
    // v0-2 have no max_bytes and decode as 2^31-1, so the cap applies to them too) and min_bytes
    // by that; ReplicaManager.fetchMessages answers once min_bytes are there (0: at once).
    // A consumer's fetch is also capped by the bytes its quota allows over the quota window.
    const consumer = (version >= 15 ? (req.replicaState?.replicaId ?? -1) : req.replicaId) < 0;
    const quotaBytes = consumer ? ctx.quotas.maxValueInQuotaWindow('consumer_byte_rate', ctx.connection.principal, ctx.header.clientId ?? '') : Infinity;
    const maxBytes = Math.min(req.maxBytes, ctx.config.int('fetch.max.bytes'), Math.max(1, Math.floor(quotaBytes)));
    const minBytes = Math.min(req.minBytes, maxBytes);
    const signal = ctx.connection.signal;
    // Reached on the injected clock or in real time, whichever first (a ManualClock never advanced
    // must not hold a long poll forever: ReplicaManager.waitForAppend).
    let expired = false;
    for (;;) {
      // Data is read only when the connection has room for the response: a client that does not
      // read its responses holds back its own Fetches, not broker memory (server/connection.ts).
      await ctx.connection.responseRoom();
      // The connection closed while this Fetch waited: nobody will read an answer.
      if (signal.aborted) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: [] };
      const result = readAll(req, targets, maxBytes, ctx);
      const remaining = deadline - ctx.clock.now();
      if (result.bytes >= minBytes || result.answerNow || expired || remaining <= 0 || keys.length === 0 || ctx.replicas.isShuttingDown) {
        const throttleTimeMs = consumer ? recordQuota(ctx, 'consumer_byte_rate', result.bytes) : 0;
        if (throttleTimeMs > 0) {
          // KafkaApis: a throttled fetch returns no data, and its bytes are not counted.
          ctx.quotas.unrecord('consumer_byte_rate', ctx.connection.principal, ctx.header.clientId ?? '', result.bytes, ctx.clock.now());
          return throttled(ctx, throttleTimeMs, version >= CLIENT_THROTTLES_FROM, { throttleTimeMs, errorCode: ErrorCode.NONE, sessionId: 0, responses: [] });
        }
        // Bytes out to consumers (a follower's fetch is replication, not counted: Kafka's BytesOutPerSec).
        if (ctx.metrics && consumer && result.bytes > 0) {
          for (const t of result.topics) ctx.metrics.fetched(t.topic ?? '', (t.partitions ?? []).reduce((n, p) => n + (p.records?.length ?? 0), 0));
        }
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: result.topics };
      }
      expired = await ctx.replicas.waitForAppend(keys, remaining, signal);
    }
  },
});
