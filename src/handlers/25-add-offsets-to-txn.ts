// AddOffsetsToTxn (key 25), v0-v4: adds the group's __consumer_offsets partition
// (abs(hashCode(groupId)) % partitions) to the transaction, exactly like AddPartitionsToTxn; the
// group need not exist. PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.

import {
  AddOffsetsToTxnApi,
  decodeAddOffsetsToTxnRequest,
  encodeAddOffsetsToTxnResponse,
  type AddOffsetsToTxnRequest,
  type AddOffsetsToTxnResponse,
} from '../../protocol/generated/25-add-offsets-to-txn.js';
import { producerFencedFor, txnStateReplicated } from './txn-common.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  api: AddOffsetsToTxnApi,
  minVersion: 0,
  maxVersion: 4,
  decode: decodeAddOffsetsToTxnRequest,
  encode: encodeAddOffsetsToTxnResponse,
  async handle(req, ctx) {
    // Authorization: WRITE on the transactional id, READ on the group, as Kafka.
    if (!allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const code = await txnStateReplicated(ctx, req.transactionalId, await ctx.txns.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId));
    return { throttleTimeMs: 0, errorCode: producerFencedFor(code, ctx.header.apiVersion, 2) };
  },
});
