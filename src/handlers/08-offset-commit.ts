// OffsetCommit (key 8), v0-v9. Members commit with their generation and member id; a
// standalone consumer commits with generation -1 and no member id. v1 carries a per-partition
// commit timestamp, v2-v4 a retention time, v6+ the leader epoch, v7+ the group instance id.
// v9's member epoch (KIP-848) is the classic generation for classic groups.

import {
  OffsetCommitApi,
  decodeOffsetCommitRequest,
  encodeOffsetCommitResponse,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
} from '../../protocol/generated/08-offset-commit.js';
import { defineHandler } from './types.js';

export default defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  api: OffsetCommitApi,
  minVersion: 0,
  maxVersion: 9,
  decode: decodeOffsetCommitRequest,
  encode: encodeOffsetCommitResponse,
  async handle(req, ctx) {
    const r = await ctx.groups.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      retentionTimeMs: req.retentionTimeMs,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          committedOffset: p.committedOffset,
          committedLeaderEpoch: p.committedLeaderEpoch,
          commitTimestamp: p.commitTimestamp,
          committedMetadata: p.committedMetadata,
        })),
      })),
    });
    return { throttleTimeMs: 0, topics: r.topics };
  },
});
