// DescribeTransactions (key 65), v0 (KIP-664): state, timeout, start time, producer id/epoch and
// partitions of each transactional id; unknown ids TRANSACTIONAL_ID_NOT_FOUND.

import {
  DescribeTransactionsApi,
  decodeDescribeTransactionsRequest,
  encodeDescribeTransactionsResponse,
  type DescribeTransactionsRequest,
  type DescribeTransactionsResponse,
} from '../../protocol/generated/65-describe-transactions.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
  api: DescribeTransactionsApi,
  minVersion: 0,
  maxVersion: 0,
  decode: decodeDescribeTransactionsRequest,
  encode: encodeDescribeTransactionsResponse,
  handle(req, ctx) {
    // Authorization (KafkaApis.handleDescribeTransactionsRequest): DESCRIBE on each transactional
    // id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); partitions of topics the principal may not
    // DESCRIBE are left out.
    const permitted = req.transactionalIds.filter((id) => allowed(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id));
    const described = permitted.length > 0 ? ctx.txns.describe(permitted) : [];
    const byId = new Map(described.map((d) => [d.transactionalId, d]));
    const transactionStates = req.transactionalIds.map((id) => {
      const d = byId.get(id);
      if (d === undefined) {
        return { transactionalId: id, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] };
      }
      return ctx.authorizer.enabled ? { ...d, topics: d.topics.filter((t) => allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.topic, true)) } : d;
    });
    return { throttleTimeMs: 0, transactionStates };
  },
});
