// DeleteTopics (key 20), v0-v6: by name (all versions) or by topic id (v6).
// Unknown names: UNKNOWN_TOPIC_OR_PARTITION; unknown ids: UNKNOWN_TOPIC_ID. Deleting a topic
// removes its data at once and tells subscribed subsystems (committed offsets, later).
// Authorization (KafkaApis.handleDeleteTopicsRequest): DELETE on the topic, else
// TOPIC_AUTHORIZATION_FAILED; a topic named by id the principal may not DESCRIBE is UNKNOWN_TOPIC_ID.
// The controller_mutation_rate quota (KIP-599) counts the deleted partitions: from v5 a topic
// over it is THROTTLING_QUOTA_EXCEEDED, before v5 it is deleted and the response throttled.

import { ErrorCode } from '../../protocol/errors.js';
import {
  DeleteTopicsApi,
  decodeDeleteTopicsRequest,
  encodeDeleteTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
} from '../../protocol/generated/20-delete-topics.js';
import { ZERO_UUID } from '../../protocol/primitives/uuid.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { THROTTLED, mutationQuota, mutationThrottle } from './quota-common.js';
import { defineHandler } from './types.js';

/** First version refused THROTTLING_QUOTA_EXCEEDED by the controller_mutation_rate quota (KIP-599). */
const STRICT_FROM = 5;

export default defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  api: DeleteTopicsApi,
  minVersion: 0,
  maxVersion: 6,
  decode: decodeDeleteTopicsRequest,
  encode: encodeDeleteTopicsResponse,
  async handle(req, ctx) {
    const wanted = ctx.header.apiVersion >= 6
      ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
      : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const quota = mutationQuota(ctx, STRICT_FROM);
    const responses = await Promise.all(wanted.map(async ({ name, topicId }) => {
      if (name === null) {
        const meta = ctx.topics.getById(topicId);
        if (!meta || !allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, meta.name)) return { name: null, topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: 'This server does not host this topic ID.' };
        name = meta.name;
      }
      if (!allowed(ctx, AclOperation.DELETE, ResourceType.TOPIC, name)) {
        return { name, topicId, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.' };
      }
      if (quota.bounded) {
        // The mutation quota counts the partitions of an existing topic, before deleting it.
        const meta = ctx.topics.get(name);
        if (meta !== undefined && !quota.record(meta.numPartitions)) return { name, topicId: meta.topicId, ...THROTTLED };
      }
      const r = await ctx.topics.delete(name);
      return { name, topicId: r.topic?.topicId ?? topicId, errorCode: r.errorCode, errorMessage: r.errorMessage };
    }));
    return { throttleTimeMs: mutationThrottle(ctx, quota), responses };
  },
});
