// OffsetFetch (key 9), v0-v9. v0-v7 ask for one group (v2+: null topics = every partition with
// a committed offset, and a top-level error); v8+ batch several groups. require_stable (v7+)
// has nothing to wait for until transactions exist. Partitions without a commit answer offset -1.

import { ErrorCode } from '../../protocol/errors.js';
import {
  OffsetFetchApi,
  decodeOffsetFetchRequest,
  encodeOffsetFetchResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
} from '../../protocol/generated/09-offset-fetch.js';
import { defineHandler } from './types.js';

export default defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  api: OffsetFetchApi,
  minVersion: 0,
  maxVersion: 9,
  decode: decodeOffsetFetchRequest,
  encode: encodeOffsetFetchResponse,
  async handle(req, ctx) {
    const version = ctx.header.apiVersion;
    if (version >= 8) {
      const groups = await Promise.all(
        req.groups.map(async (g) => {
          const r = await ctx.groups.fetchOffsets({ groupId: g.groupId, topics: g.topics, requireStable: req.requireStable });
          return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics };
        }),
      );
      return { throttleTimeMs: 0, groups };
    }
    const r = await ctx.groups.fetchOffsets({ groupId: req.groupId, topics: req.topics, requireStable: req.requireStable });
    if (version < 2 && r.errorCode !== ErrorCode.NONE) {
      // No top-level error before v2: Kafka reports it on every requested partition.
      const topics = (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, metadata: '', errorCode: r.errorCode })),
      }));
      return { throttleTimeMs: 0, topics };
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
  },
});
