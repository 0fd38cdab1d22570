// TxnOffsetCommit (key 28), v0-v4: offsets committed inside a transaction (sendOffsetsToTransaction).
// The group's __consumer_offsets partition must be in the producer's ongoing transaction
// (AddOffsetsToTxn; KIP-890 check: PRODUCER_FENCED -> INVALID_PRODUCER_EPOCH, not added ->
// INVALID_TXN_STATE, TRANSACTION_ABORTABLE from v4). v3+ carry the member id, group instance id
// and generation, checked like OffsetCommit's. The offsets are written in the producer's
// transactional batch and become visible to OffsetFetch only with the COMMIT marker; ABORT drops
// them.

import { ErrorCode } from '../../protocol/errors.js';
import {
  TxnOffsetCommitApi,
  decodeTxnOffsetCommitRequest,
  encodeTxnOffsetCommitResponse,
  type TxnOffsetCommitRequest,
  type TxnOffsetCommitResponse,
} from '../../protocol/generated/28-txn-offset-commit.js';
import { replicated } from './08-offset-commit.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

function verificationError(code: number, version: number): number {
  if (code === ErrorCode.PRODUCER_FENCED) return ErrorCode.INVALID_PRODUCER_EPOCH;
  if (code === ErrorCode.TRANSACTION_ABORTABLE && version < 4) return ErrorCode.INVALID_TXN_STATE;
  return code;
}

export default defineHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
  api: TxnOffsetCommitApi,
  minVersion: 0,
  maxVersion: 4,
  decode: decodeTxnOffsetCommitRequest,
  encode: encodeTxnOffsetCommitResponse,
  async handle(req, ctx) {
    const version = ctx.header.apiVersion;
    const all = (errorCode: number) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
    });
    // Authorization (KafkaApis.handleTxnOffsetCommitRequest): WRITE on the transactional id, READ
    // on the group, READ on each topic (TOPIC_AUTHORIZATION_FAILED for its partitions).
    if (!allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) return all(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return all(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const deniedTopics = req.topics.filter((t) => !allowed(ctx, AclOperation.READ, ResourceType.TOPIC, t.name));
    const deniedOut = deniedTopics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) }));
    const permitted = deniedTopics.length === 0 ? req.topics : req.topics.filter((t) => !deniedTopics.includes(t));
    if (permitted.length === 0 && deniedOut.length > 0) return { throttleTimeMs: 0, topics: deniedOut };
    if (req.groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
    let verified = verificationError(ctx.txns.verifyOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId), version);
    if (version < 2 && verified === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) verified = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (verified !== ErrorCode.NONE) return all(verified);
    const r = await ctx.groups.txnCommitOffsets({
      groupId: req.groupId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      generationId: version >= 3 ? req.generationId : -1,
      memberId: version >= 3 ? req.memberId : '',
      groupInstanceId: version >= 3 ? req.groupInstanceId : null,
      topics: permitted.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          committedOffset: p.committedOffset,
          committedLeaderEpoch: version >= 2 ? p.committedLeaderEpoch : -1,
          committedMetadata: p.committedMetadata,
        })),
      })),
    });
    await replicated(ctx, req.groupId, r.topics);
    r.topics.push(...deniedOut);
    if (version >= 2) return { throttleTimeMs: 0, topics: r.topics };
    // As Kafka: clients before v2 (0.11-2.0) do not know COORDINATOR_LOAD_IN_PROGRESS here.
    const old = (code: number): number => (code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.COORDINATOR_NOT_AVAILABLE : code);
    return {
      throttleTimeMs: 0,
      topics: r.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: old(p.errorCode) })) })),
    };
  },
});
