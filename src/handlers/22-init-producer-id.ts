// InitProducerId (key 22), v0-v5. A null transactional id gets a fresh producer id at epoch 0
// (idempotent producers); a transactional id goes through the transaction coordinator (src/txn/):
// epoch bumps, zombie fencing, KIP-360 recovery with the producer's current id/epoch (v3+), epoch
// exhaustion rotating the producer id, transaction.timeout.ms checked against
// transaction.max.timeout.ms. PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v4.

import {
  InitProducerIdApi,
  decodeInitProducerIdRequest,
  encodeInitProducerIdResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../protocol/generated/22-init-producer-id.js';
import { producerFencedFor, txnStateReplicated } from './txn-common.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, allowedOnSome, clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  api: InitProducerIdApi,
  minVersion: 0,
  maxVersion: 5,
  decode: decodeInitProducerIdRequest,
  encode: encodeInitProducerIdResponse,
  async handle(req, ctx) {
    const version = ctx.header.apiVersion;
    // Authorization (KafkaApis.handleInitProducerIdRequest): WRITE on the transactional id
    // (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an idempotent producer needs IDEMPOTENT_WRITE on the
    // cluster or WRITE on some topic (KIP-679), else CLUSTER_AUTHORIZATION_FAILED.
    const denied = req.transactionalId !== null
      ? (allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId) ? null : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
      : (clusterAllowed(ctx, AclOperation.IDEMPOTENT_WRITE, true) || allowedOnSome(ctx, AclOperation.WRITE, ResourceType.TOPIC) ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    if (denied !== null) return { throttleTimeMs: 0, errorCode: denied, producerId: -1n, producerEpoch: -1 };
    const r = await ctx.txns.initProducerId({
      transactionalId: req.transactionalId,
      transactionTimeoutMs: req.transactionTimeoutMs,
      producerId: version >= 3 ? req.producerId : -1n,
      producerEpoch: version >= 3 ? req.producerEpoch : -1,
    });
    const code = await txnStateReplicated(ctx, req.transactionalId, r.errorCode);
    if (code !== r.errorCode) return { throttleTimeMs: 0, errorCode: code, producerId: -1n, producerEpoch: -1 };
    return { throttleTimeMs: 0, errorCode: producerFencedFor(r.errorCode, version, 4), producerId: r.producerId, producerEpoch: r.producerEpoch };
  },
});
