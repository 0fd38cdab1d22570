// DescribeProducers (key 61), v0 (KIP-664): the producer state of each requested partition
// (producer id and epoch, last sequence and timestamp, coordinator epoch, start offset of the
// open transaction). Unknown topics or partitions: UNKNOWN_TOPIC_OR_PARTITION.

import { ErrorCode } from '../../protocol/errors.js';
import {
  DescribeProducersApi,
  decodeDescribeProducersRequest,
  encodeDescribeProducersResponse,
  type DescribeProducersRequest,
  type DescribeProducersResponse,
} from '../../protocol/generated/61-describe-producers.js';
import { defineHandler } from './types.js';

export default defineHandler<DescribeProducersRequest, DescribeProducersResponse>({
  api: DescribeProducersApi,
  minVersion: 0,
  maxVersion: 0,
  decode: decodeDescribeProducersRequest,
  encode: encodeDescribeProducersResponse,
  handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => {
          const log = ctx.replicas.partition(t.name, partitionIndex);
          if (!log) {
            return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, activeProducers: [] };
          }
          return {
            partitionIndex,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            activeProducers: ctx.replicas.describeProducers(log).map((p) => ({
              producerId: p.producerId,
              producerEpoch: p.producerEpoch,
              lastSequence: p.lastSequence,
              lastTimestamp: p.lastTimestamp,
              coordinatorEpoch: p.coordinatorEpoch,
              currentTxnStartOffset: p.currentTxnStartOffset,
            })),
          };
        }),
      })),
    };
  },
});
