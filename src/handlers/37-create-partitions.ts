// CreatePartitions (key 37), v0-v3: grows a topic's partition count (never shrinks).
// Manual assignments: one list per new partition, live brokers only, no duplicates, the same
// number of replicas in each (INVALID_REPLICA_ASSIGNMENT otherwise).

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
import { defineHandler } from './types.js';

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
      const r = await ctx.topics.createPartitions(t.name, t.count, req.validateOnly, t.assignments?.map((a) => [...a.brokerIds]));
      return { name: t.name, errorCode: r.errorCode, errorMessage: r.errorMessage };
    }));
    return { throttleTimeMs: 0, results };
  },
});
