// DescribeTransactions (key 65), v0 (KIP-664): state, timeout, start time, producer id/epoch and
// partitions of each transactional id; unknown ids TRANSACTIONAL_ID_NOT_FOUND.

import {
  DescribeTransactionsApi,
  decodeDescribeTransactionsRequest,
  encodeDescribeTransactionsResponse,
  type DescribeTransactionsRequest,
  type DescribeTransactionsResponse,
} from '../../protocol/generated/65-describe-transactions.js';
import { defineHandler } from './types.js';

export default defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
  api: DescribeTransactionsApi,
  minVersion: 0,
  maxVersion: 0,
  decode: decodeDescribeTransactionsRequest,
  encode: encodeDescribeTransactionsResponse,
  handle(req, ctx) {
    return { throttleTimeMs: 0, transactionStates: ctx.txns.describe(req.transactionalIds) };
  },
});
