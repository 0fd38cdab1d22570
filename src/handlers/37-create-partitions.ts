// CreatePartitions (key 37), v0-v3: grows a topic's partition count (never shrinks).
// Manual assignments: one list per new partition, live brokers only, no duplicates, the same
// number of replicas in each (INVALID_REPLICA_ASSIGNMENT otherwise). The controller_mutation_rate
// quota (KIP-599) counts the partitions added: from v3 a topic over it is
// THROTTLING_QUOTA_EXCEEDED, before v3 it grows and the response is throttled.

import { ErrorCode } from '../../protocol/errors.js';
import {
  CreatePartitionsApi,
  decodeCreatePartitionsRequest,
  encodeCreatePartitionsResponse,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
} from '../../protocol/generated/37-create-partitions.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { THROTTLED, mutationQuota, mutationThrottle } from './quota-common.js';
import { defineHandler } from './types.js';

/** First version refused THROTTLING_QUOTA_EXCEEDED by the controller_mutation_rate quota (KIP-599). */
const STRICT_FROM = 3;

export default defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  api: CreatePartitionsApi,
  minVersion: 0,
  maxVersion: 3,
  decode: decodeCreatePartitionsRequest,
  encode: encodeCreatePartitionsResponse,
  async handle(req, ctx) {
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const nodes = new Set(ctx.cluster.brokers().map((b) => b.nodeId));
    const quota = mutationQuota(ctx, STRICT_FROM);
    const results = await Promise.all(req.topics.map(async (t) => {
      if (seen.get(t.name)! > 1) return { name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic in request.' };
      // Authorization: ALTER on the topic (TOPIC_AUTHORIZATION_FAILED), as Kafka.
      if (!allowed(ctx, AclOperation.ALTER, ResourceType.TOPIC, t.name)) return { name: t.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Topic authorization failed.' };
      const meta = ctx.topics.get(t.name);
      if (meta && t.assignments !== null) {
        const added = t.count - meta.numPartitions;
        if (t.assignments.length !== added || t.assignments.some((a) => a.brokerIds.length === 0 || a.brokerIds.some((id) => !nodes.has(id)))) {
          return { name: t.name, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'Invalid replica assignment.' };
        }
        if (t.assignments.some((a) => new Set(a.brokerIds).size !== a.brokerIds.length)) {
          return { name: t.name, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'Duplicate brokers not allowed in replica assignment.' };
        }
        if (t.assignments.some((a) => a.brokerIds.length !== t.assignments![0]!.brokerIds.length)) {
          return { name: t.name, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'Inconsistent replication factor between the new partitions.' };
        }
      }
      const assignments = t.assignments?.map((a) => [...a.brokerIds]);
      if (quota.bounded && meta !== undefined) {
        // The mutation quota counts the partitions added, after validating, before adding them.
        const v = await ctx.topics.createPartitions(t.name, t.count, true, assignments);
        if (v.errorCode !== ErrorCode.NONE) return { name: t.name, errorCode: v.errorCode, errorMessage: v.errorMessage };
        if (!quota.record(t.count - meta.numPartitions)) return { name: t.name, ...THROTTLED };
      }
      const r = await ctx.topics.createPartitions(t.name, t.count, req.validateOnly, assignments);
      return { name: t.name, errorCode: r.errorCode, errorMessage: r.errorMessage };
    }));
    return { throttleTimeMs: mutationThrottle(ctx, quota), results };
  },
});
