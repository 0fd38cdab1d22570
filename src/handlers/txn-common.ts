// Shared by the transaction handlers (22, 24, 25, 26, 28).

import { ErrorCode } from '../../protocol/errors.js';
import type { RequestContext } from './types.js';

/**
 * PRODUCER_FENCED (KIP-588, Kafka 2.7) is answered as INVALID_PRODUCER_EPOCH to request versions
 * older than the one that introduced it (InitProducerId v4, EndTxn/AddPartitionsToTxn/
 * AddOffsetsToTxn v2), as Kafka's KafkaApis does.
 */
export function producerFencedFor(errorCode: number, version: number, firstVersionWithFenced: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < firstVersionWithFenced ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}

/**
 * In a cluster the transaction coordinator's writes to __transaction_state are answered once the
 * partition's ISR has them (Kafka appends with acks=-1): a failover cannot then forget a
 * transaction's partitions or its commit decision after the client was told. `code` is the
 * coordinator's answer; a failed wait answers NOT_COORDINATOR (leadership moved) or
 * COORDINATOR_NOT_AVAILABLE, which clients retry.
 */
export async function txnStateReplicated(ctx: RequestContext, transactionalId: string | null, code: number): Promise<number> {
  if (code !== ErrorCode.NONE || transactionalId === null || ctx.coordinatorWriteReplicated === undefined) return code;
  const r = await ctx.coordinatorWriteReplicated('transaction', transactionalId);
  if (r === ErrorCode.NONE) return code;
  return r === ErrorCode.NOT_LEADER_OR_FOLLOWER ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
}
