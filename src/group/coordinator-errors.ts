// The error a coordinator answers when writing to its internal topic (__consumer_offsets,
// __transaction_state) threw. Kafka (GroupMetadataManager.storeGroup/storeOffsets,
// TransactionStateManager.appendTransactionToLog) answers NOT_COORDINATOR when the append failed
// because this broker no longer leads the partition, and COORDINATOR_NOT_AVAILABLE for the other
// retriable failures. The broker's wiring signals "not the leader" by throwing an error whose
// `errorCode` is NOT_LEADER_OR_FOLLOWER; anything else (a disk error from the log store) stays
// COORDINATOR_NOT_AVAILABLE, as a single node has always answered.

import { ErrorCode } from '../../protocol/errors.js';

export function coordinatorWriteError(err: unknown): number {
  if (typeof err === 'object' && err !== null && (err as { errorCode?: unknown }).errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
    return ErrorCode.NOT_COORDINATOR;
  }
  return ErrorCode.COORDINATOR_NOT_AVAILABLE;
}
