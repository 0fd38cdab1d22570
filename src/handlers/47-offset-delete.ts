// OffsetDelete (key 47), v0 (KIP-496): deletes a group's committed offsets for partitions its
// members are not subscribed to (GROUP_SUBSCRIBED_TO_TOPIC otherwise).

import {
  OffsetDeleteApi,
  decodeOffsetDeleteRequest,
  encodeOffsetDeleteResponse,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from '../../protocol/generated/47-offset-delete.js';
import { defineHandler } from './types.js';

export default defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  api: OffsetDeleteApi,
  minVersion: 0,
  maxVersion: 0,
  decode: decodeOffsetDeleteRequest,
  encode: encodeOffsetDeleteResponse,
  async handle(req, ctx) {
    const r = await ctx.groups.deleteOffsets(
      req.groupId,
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
  },
});
