// OffsetForLeaderEpoch (key 23), v0-v4 (KIP-101, KIP-279; since KIP-320 consumers use it to check
// their position for log truncation after a leader change). Per partition:
//   unknown topic or partition   UNKNOWN_TOPIC_OR_PARTITION
//   current_leader_epoch (v2+)   older than the partition's: FENCED_LEADER_EPOCH, newer:
//                                UNKNOWN_LEADER_EPOCH, -1: not checked (epochs.ts)
// then the end offset of leader_epoch by Kafka's LeaderEpochFileCache.endOffsetFor over the
// partition's epoch history (PartitionLog.leaderEpochEntries, cut at the log start offset as
// Kafka's is): the current epoch ends at the log end offset; an older one where the next higher
// known epoch starts, answered with the largest known epoch <= the one asked (v1+ leader_epoch),
// or with the one asked when it is older than every known epoch (its data is gone: the end is the
// first known start); -1, or an epoch above every known one, answers leader_epoch -1 and
// end_offset -1 with no error. See ReplicaManager.endOffsetForEpoch.
// replica_id (v3+: -1 consumer, -2 debugging, >= 0 a follower) changes nothing: Kafka answers
// every caller from the leader (fetchOnlyFromLeader) and this broker leads every partition.
// Leader epochs on a single node: a partition starts at epoch 0 and nothing in the broker raises
// it yet (PartitionLog.bumpLeaderEpoch waits for replication/leader changes), so in practice the
// answer is epoch 0 ending at the log end offset; the rule above is what a raised epoch (a store
// with a leader-epoch-checkpoint from elsewhere, or tests) gets. No ACLs.

import { ErrorCode } from '../../protocol/errors.js';
import {
  OffsetForLeaderEpochApi,
  decodeOffsetForLeaderEpochRequest,
  encodeOffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
} from '../../protocol/generated/23-offset-for-leader-epoch.js';
import { leaderEpochError } from './epochs.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  api: OffsetForLeaderEpochApi,
  minVersion: 0,
  maxVersion: 4,
  decode: decodeOffsetForLeaderEpochRequest,
  encode: encodeOffsetForLeaderEpochResponse,
  handle(req, ctx) {
    // Authorization (KafkaApis.handleOffsetForLeaderEpochRequest): CLUSTER_ACTION on the cluster
    // (followers), else DESCRIBE on each topic (TOPIC_AUTHORIZATION_FAILED).
    const replica = clusterAllowed(ctx, AclOperation.CLUSTER_ACTION, true);
    const topics = req.topics.map((t) => {
      const describable = replica || allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.topic);
      return {
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const fail = (errorCode: number) => ({ errorCode, partition: p.partition, leaderEpoch: -1, endOffset: -1n });
          if (!describable) return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          const log = ctx.replicas.partition(t.topic, p.partition);
          if (!log) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          const notLeader = ctx.replicas.leaderError(t.topic, p.partition);
          if (notLeader !== ErrorCode.NONE) return fail(notLeader);
          const epochErr = leaderEpochError(p.currentLeaderEpoch, ctx.replicas.leaderEpochOf(log));
          if (epochErr !== ErrorCode.NONE) return fail(epochErr);
          const { leaderEpoch, endOffset } = ctx.replicas.endOffsetForEpoch(log, p.leaderEpoch);
          return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch, endOffset };
        }),
      };
    });
    return { throttleTimeMs: 0, topics };
  },
});
