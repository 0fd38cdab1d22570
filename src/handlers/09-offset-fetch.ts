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
import type { OffsetFetchResult } from '../group/types.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler, type RequestContext } from './types.js';

/**
 * One group's offsets as the principal may see them (KafkaApis.handleOffsetFetchRequest):
 * DESCRIBE on the group, else GROUP_AUTHORIZATION_FAILED; named topics without DESCRIBE answer
 * TOPIC_AUTHORIZATION_FAILED per partition; "all topics" leaves them out.
 */
async function fetchAuthorized(ctx: RequestContext, groupId: string, topics: Array<{ name: string; partitionIndexes: number[] }> | null, requireStable: boolean): Promise<OffsetFetchResult> {
  if (!allowed(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  const describable = (name: string): boolean => allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name);
  if (topics === null) {
    const r = await ctx.groups.fetchOffsets({ groupId, topics: null, requireStable });
    return ctx.authorizer.enabled ? { errorCode: r.errorCode, topics: r.topics.filter((t) => describable(t.name)) } : r;
  }
  const denied = topics.filter((t) => !describable(t.name));
  if (denied.length === 0) return ctx.groups.fetchOffsets({ groupId, topics, requireStable });
  const permitted = topics.filter((t) => !denied.includes(t));
  const r = permitted.length > 0 ? await ctx.groups.fetchOffsets({ groupId, topics: permitted, requireStable }) : { errorCode: ErrorCode.NONE, topics: [] };
  const deniedOut = denied.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })),
  }));
  return { errorCode: r.errorCode, topics: [...r.topics, ...deniedOut] };
}

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
          const r = await fetchAuthorized(ctx, g.groupId, g.topics, req.requireStable);
          return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics };
        }),
      );
      return { throttleTimeMs: 0, groups };
    }
    const r = await fetchAuthorized(ctx, req.groupId, req.topics, req.requireStable);
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
