// ListTransactions (key 66), v0-v1 (KIP-664): every transactional id, filtered by state names
// (exact; unknown names are echoed in unknown_state_filters), producer ids and (v1, KIP-994)
// how long the transaction has been running.

import { ErrorCode } from '../../protocol/errors.js';
import {
  ListTransactionsApi,
  decodeListTransactionsRequest,
  encodeListTransactionsResponse,
  type ListTransactionsRequest,
  type ListTransactionsResponse,
} from '../../protocol/generated/66-list-transactions.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<ListTransactionsRequest, ListTransactionsResponse>({
  api: ListTransactionsApi,
  minVersion: 0,
  maxVersion: 1,
  decode: decodeListTransactionsRequest,
  encode: encodeListTransactionsResponse,
  handle(req, ctx) {
    const duration = ctx.header.apiVersion >= 1 ? req.durationFilter : -1n;
    const r = ctx.txns.list(req.stateFilters, req.producerIdFilters, duration);
    // Authorization: only the transactional ids the principal may DESCRIBE, as Kafka.
    const transactionStates = r.transactions.filter((t) => allowed(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, t.transactionalId, true));
    return { throttleTimeMs: 0, errorCode: r.errorCode ?? ErrorCode.NONE, unknownStateFilters: r.unknownStateFilters, transactionStates };
  },
});
