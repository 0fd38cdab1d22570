// OffsetCommit (key 8), v0-v9. Members commit with their generation and member id; a
// standalone consumer commits with generation -1 and no member id. v1 carries a per-partition
// commit timestamp, v2-v4 a retention time, v6+ the leader epoch, v7+ the group instance id.
// v9's member epoch (KIP-848) is the classic generation for classic groups.

import { ErrorCode } from '../../protocol/errors.js';
import {
  OffsetCommitApi,
  decodeOffsetCommitRequest,
  encodeOffsetCommitResponse,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
} from '../../protocol/generated/08-offset-commit.js';
import { defineHandler, type RequestContext } from './types.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';

export default defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  api: OffsetCommitApi,
  minVersion: 0,
  maxVersion: 9,
  decode: decodeOffsetCommitRequest,
  encode: encodeOffsetCommitResponse,
  async handle(req, ctx) {
    // Authorization (KafkaApis.handleOffsetCommitRequest): READ on the group, else every
    // partition GROUP_AUTHORIZATION_FAILED; READ on each topic, else TOPIC_AUTHORIZATION_FAILED.
    const failed = (t: (typeof req.topics)[number], errorCode: number) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) });
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) {
      return { throttleTimeMs: 0, topics: req.topics.map((t) => failed(t, ErrorCode.GROUP_AUTHORIZATION_FAILED)) };
    }
    const denied = req.topics.filter((t) => !allowed(ctx, AclOperation.READ, ResourceType.TOPIC, t.name));
    const permitted = denied.length === 0 ? req.topics : req.topics.filter((t) => !denied.includes(t));
    const deniedOut = denied.map((t) => failed(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
    if (permitted.length === 0 && denied.length > 0) return { throttleTimeMs: 0, topics: deniedOut };
    const r = await ctx.groups.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      retentionTimeMs: req.retentionTimeMs,
      topics: permitted.map((t) => ({
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
    // From v9 Kafka tells a member committing to a group that does not exist GROUP_ID_NOT_FOUND
    // instead of ILLEGAL_GENERATION (OffsetMetadataManager.validateOffsetCommit).
    const illegal = r.topics.some((t) => t.partitions.some((p) => p.errorCode === ErrorCode.ILLEGAL_GENERATION));
    if (ctx.header.apiVersion >= 9 && illegal) {
      const [described] = await ctx.groups.describeGroups([req.groupId]);
      if (described?.groupState === 'Dead') {
        for (const t of r.topics) for (const p of t.partitions) if (p.errorCode === ErrorCode.ILLEGAL_GENERATION) p.errorCode = ErrorCode.GROUP_ID_NOT_FOUND;
      }
    }
    await replicated(ctx, req.groupId, r.topics);
    return { throttleTimeMs: 0, topics: [...deniedOut, ...r.topics] };
  },
});

/**
 * In a cluster a commit is answered once the offsets partition's ISR has it (Kafka appends with
 * acks=-1, offsets.commit.timeout.ms): otherwise a coordinator failover could lose an answered
 * commit. Kafka's mapping of the append error: NOT_COORDINATOR when leadership moved,
 * COORDINATOR_NOT_AVAILABLE for a timeout or a shrunk ISR.
 */
export async function replicated(ctx: RequestContext, groupId: string, topics: Array<{ partitions: Array<{ errorCode: number }> }>): Promise<void> {
  if (ctx.coordinatorWriteReplicated === undefined) return;
  if (!topics.some((t) => t.partitions.some((p) => p.errorCode === ErrorCode.NONE))) return;
  const code = await ctx.coordinatorWriteReplicated('group', groupId);
  if (code === ErrorCode.NONE) return;
  const mapped = code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
  for (const t of topics) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = mapped;
}
