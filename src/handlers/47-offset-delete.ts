// OffsetDelete (key 47), v0 (KIP-496): deletes a group's committed offsets for partitions its
// members are not subscribed to (GROUP_SUBSCRIBED_TO_TOPIC otherwise).

import {
  OffsetDeleteApi,
  decodeOffsetDeleteRequest,
  encodeOffsetDeleteResponse,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from '../../protocol/generated/47-offset-delete.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  api: OffsetDeleteApi,
  minVersion: 0,
  maxVersion: 0,
  decode: decodeOffsetDeleteRequest,
  encode: encodeOffsetDeleteResponse,
  async handle(req, ctx) {
    // Authorization (KafkaApis.handleOffsetDeleteRequest): DELETE on the group (top-level
    // GROUP_AUTHORIZATION_FAILED), READ on each topic (TOPIC_AUTHORIZATION_FAILED per partition).
    if (!allowed(ctx, AclOperation.DELETE, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
    const denied = req.topics.filter((t) => !allowed(ctx, AclOperation.READ, ResourceType.TOPIC, t.name));
    const deniedOut = denied.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) }));
    const r = await ctx.groups.deleteOffsets(
      req.groupId,
      req.topics.filter((t) => !denied.includes(t)).map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: [...r.topics, ...deniedOut] };
  },
});
