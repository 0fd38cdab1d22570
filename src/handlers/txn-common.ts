// Shared by the transaction handlers (22, 24, 25, 26, 28).

import { ErrorCode } from '../../protocol/errors.js';

/**
 * PRODUCER_FENCED (KIP-588, Kafka 2.7) is answered as INVALID_PRODUCER_EPOCH to request versions
 * older than the one that introduced it (InitProducerId v4, EndTxn/AddPartitionsToTxn/
 * AddOffsetsToTxn v2), as Kafka's KafkaApis does.
 */
export function producerFencedFor(errorCode: number, version: number, firstVersionWithFenced: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < firstVersionWithFenced ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}
