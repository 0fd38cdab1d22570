// Produce (key 0), v0-v11.
// v3+ carry one record batch v2 per partition. v0-v2 (sarama's default V0_8_2_0, kafka-python's
// fallback) carry legacy message sets (magic 0/1): like Kafka 3.x (LogValidator) they are checked
// (CRC-32 of every message, one magic per set, a compressed set is one wrapper of uncompressed
// messages of its magic) and converted to one v2 batch, keeping the producer's codec, with magic-0
// timestamps as -1 (NO_TIMESTAMP); the batch then takes the normal append path (offsets,
// max.message.bytes on the converted batch, LogAppendTime). Like Kafka, v0-v2 do not pin a magic
// (magic 0 and 1 are accepted in all three). Deliberate difference: a magic-2 batch in v0-v2
// (which no client sends; Kafka 3.x accepts it) is answered UNSUPPORTED_VERSION.
// acks 0/1/-1 (any other value: INVALID_REQUIRED_ACKS). On a single node acks=-1 is satisfied by
// the leader's append; in a cluster (issue 10) it waits until the high watermark passes the batch
// (the ISR has it) or timeout_ms (REQUEST_TIMED_OUT), and is refused up front with
// NOT_ENOUGH_REPLICAS when the ISR is below min.insync.replicas. Only the leader appends
// (NOT_LEADER_OR_FOLLOWER elsewhere). acks=0 gets no response at all; if such a request fails, the connection is
// closed instead (Kafka's way of telling an acks=0 producer).
// Appends to internal topics (__consumer_offsets) are refused with INVALID_TOPIC_EXCEPTION unless
// the client id is "__admin_client", as in Kafka.
// Idempotent and transactional batches are checked against the partition's producer state
// (src/log/producer-state.ts): a retried batch is answered with its first offsets and not appended
// again; stale epochs, sequence gaps and non-transactional writes inside a transaction are refused.
// Transactional batches need the request's transactional_id (else the whole request gets
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka) and a partition added to the transaction
// (KIP-890 verification: INVALID_TXN_STATE, or TRANSACTION_ABORTABLE from v11).
// With flush.messages=1 ("fsync before acknowledging") the answer waits until an fsync covers
// every partition it appended to; the fsync runs off the event loop and is shared by the produces
// that arrive meanwhile (group commit), and a failed one answers KAFKA_STORAGE_ERROR.
// Client quotas: the request's record bytes count against the client's producer_byte_rate (Kafka
// counts the whole request); over it, throttle_time_ms (v1+) and the connection is muted for that
// long (KIP-219, v6+; older versions get their response after the throttle time, as Kafka does).
// acks=0: muted only. request_percentage is applied to every request by the dispatcher.
// Authorization (Kafka's KafkaApis.handleProduceRequest): transactional records need WRITE on the
// transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED for the whole request); each topic
// needs WRITE (TOPIC_AUTHORIZATION_FAILED). Idempotence is authorized by InitProducerId.

import { ErrorCode } from '../../protocol/errors.js';
import {
  ProduceApi,
  decodeProduceRequest,
  encodeProduceResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../../protocol/generated/00-produce.js';
import type { Encodable } from '../../protocol/primitives/writer.js';
import { ATTRIBUTES_OFFSET, BATCH_HEADER_SIZE, BatchAttribute, CURRENT_MAGIC, MAGIC_OFFSET } from '../../protocol/records/constants.js';
import { convertProduceMessageSet } from '../../protocol/records/legacy.js';
import { failedProduce, type ProduceResult } from '../cluster/replica-manager.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import type { RequestContext } from './types.js';
import { NoResponse, defineHandler } from './types.js';
import { recordQuota, throttled } from './quota-common.js';

/** First Produce version whose clients back off by themselves on throttle_time_ms (KIP-219). */
const CLIENT_THROTTLES_FROM = 6;

/** A message set converted to a record batch is validated like a Produce v3 batch (no zstd in v0/v1 formats). */
const LEGACY_AS_VERSION = 3;

/** Kafka's AdminUtils.ADMIN_CLIENT_ID: the one client id allowed to append to internal topics. */
const INTERNAL_TOPICS_CLIENT_ID = '__admin_client';

type PartitionOut = Encodable<ProduceResponse['responses'][number]['partitionResponses'][number]>;

/** True when `records` starts with a v2 batch flagged transactional (header only, unvalidated). */
function isTransactionalBatch(records: Buffer | null): boolean {
  return records !== null && records.length >= BATCH_HEADER_SIZE && records.readInt8(MAGIC_OFFSET) === CURRENT_MAGIC && (records.readInt16BE(ATTRIBUTES_OFFSET) & BatchAttribute.TRANSACTIONAL) !== 0;
}

/** Produce v0-v2: validate and convert the message set, then append the v2 batch. */
function appendLegacy(ctx: RequestContext, topic: string, partition: number, records: Buffer | null, acks: number): ProduceResult {
  const log = ctx.replicas.partition(topic, partition);
  // Unknown partitions and empty record sets: the normal path answers them.
  if (!log || records === null || records.length === 0) return ctx.replicas.append(topic, partition, records, LEGACY_AS_VERSION, null, acks);
  if (records.length > MAGIC_OFFSET && records.readInt8(MAGIC_OFFSET) === CURRENT_MAGIC) {
    return failedProduce(ErrorCode.UNSUPPORTED_VERSION, 'Produce v0-v2 carry message sets (magic 0/1); send record batches v2 with Produce v3+');
  }
  const c = convertProduceMessageSet(records);
  if (!c.ok) return failedProduce(c.errorCode, c.message, log.logStartOffset);
  return ctx.replicas.append(topic, partition, c.batch, LEGACY_AS_VERSION, null, acks);
}

export default defineHandler<ProduceRequest, ProduceResponse>({
  api: ProduceApi,
  minVersion: 0,
  maxVersion: 11,
  decode: decodeProduceRequest,
  encode: encodeProduceResponse,
  handle(req, ctx) {
    const version = ctx.header.apiVersion;
    const acksValid = req.acks === 0 || req.acks === 1 || req.acks === -1;
    const transactional = version >= 3 && req.topicData.some((t) => t.partitionData.some((p) => isTransactionalBatch(p.records)));
    if (transactional && (req.transactionalId === null || !allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId))) {
      const denied = req.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p): PartitionOut => ({ index: p.index, ...failedProduce(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED), recordErrors: [] })),
      }));
      if (req.acks === 0) return new NoResponse('acks=0 produce failed (Kafka closes the connection to signal it)');
      return { responses: denied, throttleTimeMs: 0 };
    }
    let failed = false;
    // flush.messages=1: acks 1/-1 answers wait until their append is written to the log files, or fsynced with flush.messages=1 (ReplicaManager.whenStored).
    const durable: Array<Promise<void>> = [];
    const responses = req.topicData.map((t) => {
      const writable = allowed(ctx, AclOperation.WRITE, ResourceType.TOPIC, t.name);
      return {
        name: t.name,
        partitionResponses: t.partitionData.map((p): PartitionOut => {
          let r: ProduceResult;
          if (!writable) {
            r = failedProduce(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          } else if (!acksValid) {
            r = failedProduce(ErrorCode.INVALID_REQUIRED_ACKS);
          } else if (ctx.topics.isInternal(t.name) && ctx.header.clientId !== INTERNAL_TOPICS_CLIENT_ID) {
            // Like Kafka (ReplicaManager.appendToLocalLog): internal topics such as
            // __consumer_offsets are written by the broker only, or they could be forged.
            r = failedProduce(ErrorCode.INVALID_TOPIC_EXCEPTION);
          } else {
            r = version < 3 ? appendLegacy(ctx, t.name, p.index, p.records, req.acks) : ctx.replicas.append(t.name, p.index, p.records, version, req.transactionalId, req.acks);
          }
          if (r.errorCode !== ErrorCode.NONE) failed = true;
          else if (ctx.metrics && r.lastOffset !== undefined) ctx.metrics.produced(t.name, p.records?.length ?? 0, Number(r.lastOffset - r.baseOffset) + 1);
          // r.lastOffset rides along unencoded (the encoder writes the spec's fields only).
          const out: PartitionOut = { index: p.index, ...r, recordErrors: [] };
          const lastOffset = r.lastOffset;
          if (req.acks === 0 || r.errorCode !== ErrorCode.NONE) return out;
          const wait = ctx.replicas.whenStored(t.name, p.index);
          // acks=-1 in a cluster: then until the ISR has it (the produce purgatory).
          const replicated = (): Promise<void> | undefined => {
            if (req.acks !== -1 || lastOffset === undefined) return undefined;
            const w = ctx.replicas.whenReplicated(t.name, p.index, lastOffset, req.timeoutMs);
            return w?.then((code) => {
              if (code === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND) Object.assign(out, { errorCode: code, errorMessage: null });
              else if (code !== ErrorCode.NONE) Object.assign(out, failedProduce(code, null, r.logStartOffset));
            });
          };
          if (wait !== undefined) {
            durable.push(
              wait.then((d) => {
                if (d.errorCode !== ErrorCode.NONE) Object.assign(out, failedProduce(d.errorCode, d.errorMessage, r.logStartOffset));
                else return replicated();
              }),
            );
          } else {
            const rep = replicated();
            if (rep !== undefined) durable.push(rep);
          }
          return out;
        }),
      };
    });
    const answer = (): ProduceResponse | NoResponse | Promise<ProduceResponse | NoResponse> => {
      // Recorded when answering, as Kafka's sendResponseCallback does.
      let bytes = 0;
      for (const t of req.topicData) for (const p of t.partitionData) bytes += p.records?.length ?? 0;
      const throttleTimeMs = recordQuota(ctx, 'producer_byte_rate', bytes);
      if (req.acks === 0) {
        if (failed) return new NoResponse('acks=0 produce failed (Kafka closes the connection to signal it)');
        return throttled(ctx, throttleTimeMs, true, new NoResponse(null));
      }
      return throttled(ctx, throttleTimeMs, version >= CLIENT_THROTTLES_FROM, { responses, throttleTimeMs } as ProduceResponse);
    };
    if (durable.length > 0) return Promise.all(durable).then(answer);
    return answer();
  },
});
