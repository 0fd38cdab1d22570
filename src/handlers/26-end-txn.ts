// EndTxn (key 26), v0-v4 (v5, transaction version 2, is unstable in the specs and not
// advertised). Commits or aborts the ongoing transaction: PrepareCommit/PrepareAbort is written,
// the markers go to every partition of the transaction (and to __consumer_offsets for
// transactional offset commits), then CompleteCommit/CompleteAbort; all before the answer. A retry
// after completion answers NONE; the opposite decision or an Empty transaction INVALID_TXN_STATE.
// PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.

import {
  EndTxnApi,
  decodeEndTxnRequest,
  encodeEndTxnResponse,
  type EndTxnRequest,
  type EndTxnResponse,
} from '../../protocol/generated/26-end-txn.js';
import { producerFencedFor, txnStateReplicated } from './txn-common.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<EndTxnRequest, EndTxnResponse>({
  api: EndTxnApi,
  minVersion: 0,
  maxVersion: 4,
  decode: decodeEndTxnRequest,
  encode: encodeEndTxnResponse,
  async handle(req, ctx) {
    // Authorization: WRITE on the transactional id, as Kafka.
    if (!allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
    }
    const code = await txnStateReplicated(ctx, req.transactionalId, await ctx.txns.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed));
    return { throttleTimeMs: 0, errorCode: producerFencedFor(code, ctx.header.apiVersion, 2), producerId: -1n, producerEpoch: -1 };
  },
});
