// AddPartitionsToTxn (key 24), v0-v5. v0-v3 (clients): one transaction; unknown partitions get
// UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED; Prepare* answers
// CONCURRENT_TRANSACTIONS. v4+ (KIP-890, broker to broker in Kafka): several transactions, each
// either added like v0-v3 or, with verify_only, only checked (NONE for a partition in the ongoing
// transaction, else TRANSACTION_ABORTABLE); nothing is written for verify_only.
// PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.

import {
  AddPartitionsToTxnApi,
  decodeAddPartitionsToTxnRequest,
  encodeAddPartitionsToTxnResponse,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
} from '../../protocol/generated/24-add-partitions-to-txn.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { AddPartitionsResult } from '../txn/coordinator.js';
import { producerFencedFor, txnStateReplicated } from './txn-common.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, clusterAllowed } from './auth.js';
import { defineHandler, type RequestContext } from './types.js';

type TxnTopics = AddPartitionsToTxnRequest['v3AndBelowTopics'];

/**
 * Authorization (KafkaApis.handleAddPartitionsToTxnRequest): WRITE on the transactional id (else
 * every partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED), WRITE on each topic (else
 * TOPIC_AUTHORIZATION_FAILED, and the others OPERATION_NOT_ATTEMPTED). Null when allowed.
 */
function denied(ctx: RequestContext, transactionalId: string, topics: TxnTopics): AddPartitionsResult | null {
  const all = (code: (name: string) => number): AddPartitionsResult => ({
    topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((partitionIndex) => ({ partitionIndex, errorCode: code(t.name) })) })),
  } as AddPartitionsResult);
  if (!allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId)) return all(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const bad = new Set(topics.filter((t) => !allowed(ctx, AclOperation.WRITE, ResourceType.TOPIC, t.name)).map((t) => t.name));
  if (bad.size === 0) return null;
  return all((name) => (bad.has(name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED));
}

function topicResults(r: AddPartitionsResult, version: number) {
  return r.topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, partitionErrorCode: producerFencedFor(p.errorCode, version, 2) })),
  }));
}

export default defineHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
  api: AddPartitionsToTxnApi,
  minVersion: 0,
  maxVersion: 5,
  decode: decodeAddPartitionsToTxnRequest,
  encode: encodeAddPartitionsToTxnResponse,
  async handle(req, ctx) {
    const version = ctx.header.apiVersion;
    if (version <= 3) {
      const no = denied(ctx, req.v3AndBelowTransactionalId, req.v3AndBelowTopics);
      if (no !== null) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: topicResults(no, version) };
      const r = await replicatedAdd(ctx, req.v3AndBelowTransactionalId, await ctx.txns.addPartitions(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, req.v3AndBelowTopics));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: topicResults(r, version) };
    }
    // v4+ come from brokers (KIP-890): CLUSTER_ACTION on the cluster.
    if (!clusterAllowed(ctx, AclOperation.CLUSTER_ACTION)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [], resultsByTopicV3AndBelow: [] };
    const resultsByTransaction = await Promise.all(
      req.transactions.map(async (t) => {
        const no = denied(ctx, t.transactionalId, t.topics);
        if (no !== null) return { transactionalId: t.transactionalId, topicResults: topicResults(no, version) };
        const r = t.verifyOnly
          ? ctx.txns.verifyPartitions(t.transactionalId, t.producerId, t.producerEpoch, t.topics)
          : await replicatedAdd(ctx, t.transactionalId, await ctx.txns.addPartitions(t.transactionalId, t.producerId, t.producerEpoch, t.topics));
        return { transactionalId: t.transactionalId, topicResults: topicResults(r, version) };
      }),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] };
  },
});

/** In a cluster the added partitions are answered once the transaction log's ISR has them. */
async function replicatedAdd<R extends { topics: Array<{ partitions: Array<{ errorCode: number }> }> }>(ctx: RequestContext, transactionalId: string, r: R): Promise<R> {
  if (!r.topics.some((t) => t.partitions.some((p) => p.errorCode === ErrorCode.NONE))) return r;
  const code = await txnStateReplicated(ctx, transactionalId, ErrorCode.NONE);
  if (code !== ErrorCode.NONE) for (const t of r.topics) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = code;
  return r;
}
