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
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
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
      topics: req.topics.map((t) => {
        // Authorization: READ on the topic (TOPIC_AUTHORIZATION_FAILED), as Kafka.
        const readable = allowed(ctx, AclOperation.READ, ResourceType.TOPIC, t.name);
        return {
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex) => {
            if (!readable) return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, activeProducers: [] };
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
        };
      }),
    };
  },
});
