// DeleteRecords (key 21), v0-v2 (KIP-107; kafkajs admin.deleteTopicRecords, Java Admin.deleteRecords):
// moves each partition's log start offset up to the offset given, so consumers starting from the
// earliest offset begin there; the new start is durable before the answer (file store:
// log-start-offset-checkpoint) and stored data wholly below it goes.
// Per partition, in Kafka's order (KafkaApis.handleDeleteRecordsRequest, then
// ReplicaManager.deleteRecordsOnLocalLog and Partition.deleteRecordsOnLeader):
//   unknown topic or partition          UNKNOWN_TOPIC_OR_PARTITION
//   internal topic (__consumer_offsets,
//   __transaction_state)                INVALID_TOPIC_EXCEPTION
//   cleanup.policy without "delete"     POLICY_VIOLATION
//   offset -1                           the high watermark
//   offset < 0 or > high watermark      OFFSET_OUT_OF_RANGE
// otherwise NONE with low_watermark = the log start offset afterwards (an offset below the current
// start changes nothing and answers the current start). Errors answer low_watermark -1.
// timeout_ms is not used: with one replica the low watermark is known at once (Kafka waits for
// followers). No ACLs (Kafka needs DELETE on the topic).

import { ErrorCode } from '../../protocol/errors.js';
import {
  DeleteRecordsApi,
  decodeDeleteRecordsRequest,
  encodeDeleteRecordsResponse,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
} from '../../protocol/generated/21-delete-records.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  api: DeleteRecordsApi,
  minVersion: 0,
  maxVersion: 2,
  decode: decodeDeleteRecordsRequest,
  encode: encodeDeleteRecordsResponse,
  handle(req, ctx) {
    const topics = req.topics.map((t) => {
      // Authorization: DELETE on the topic (TOPIC_AUTHORIZATION_FAILED), as Kafka.
      const deletable = allowed(ctx, AclOperation.DELETE, ResourceType.TOPIC, t.name);
      return {
        name: t.name,
        partitions: t.partitions.map(({ partitionIndex, offset }) => {
          if (!deletable) return { partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
          if (!ctx.replicas.partition(t.name, partitionIndex)) {
            return { partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          }
          if (ctx.topics.isInternal(t.name)) return { partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION };
          const notLeader = ctx.replicas.leaderError(t.name, partitionIndex);
          if (notLeader !== ErrorCode.NONE) return { partitionIndex, lowWatermark: -1n, errorCode: notLeader };
          const r = ctx.replicas.deleteRecords(t.name, partitionIndex, offset);
          if (r.error !== undefined) ctx.logger.warn({ topic: t.name, partition: partitionIndex, offset, err: r.error }, 'DeleteRecords failed in the log store');
          return { partitionIndex, lowWatermark: r.lowWatermark, errorCode: r.errorCode };
        }),
      };
    });
    return { throttleTimeMs: 0, topics };
  },
});
