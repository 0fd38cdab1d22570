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
import { defineHandler } from './types.js';

export default defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  api: AddOffsetsToTxnApi,
  minVersion: 0,
  maxVersion: 4,
  decode: decodeAddOffsetsToTxnRequest,
  encode: encodeAddOffsetsToTxnResponse,
  async handle(req, ctx) {
    const code = await txnStateReplicated(ctx, req.transactionalId, await ctx.txns.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId));
    return { throttleTimeMs: 0, errorCode: producerFencedFor(code, ctx.header.apiVersion, 2) };
  },
});
