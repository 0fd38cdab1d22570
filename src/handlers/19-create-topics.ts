// CreateTopics (key 19), v0-v7.
// num_partitions / replication_factor of -1 take the broker defaults (KIP-464, v4+). Manual
// replica assignments must name this broker and come without num_partitions/replication_factor.
// Configs are checked with Kafka's LogConfig rules, the same as AlterConfigs (unknown names, types,
// ranges: INVALID_CONFIG with Kafka's message; a null value sets nothing) and stored as Kafka prints
// them. validate_only checks everything and creates nothing. v5+ answers with the partition count,
// replication factor and the topic's configs; v7 with the topic id. A name repeated in one
// request fails with INVALID_REQUEST for every occurrence. The controller_mutation_rate quota
// (KIP-599) counts the partitions created: from v6 a topic over it is THROTTLING_QUOTA_EXCEEDED,
// before v6 it is created and the response throttled.

import { ErrorCode } from '../../protocol/errors.js';
import {
  CreateTopicsApi,
  decodeCreateTopicsRequest,
  encodeCreateTopicsResponse,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
} from '../../protocol/generated/19-create-topics.js';
import { describeTopicConfigs } from './32-describe-configs.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, clusterAllowed } from './auth.js';
import { THROTTLED, mutationQuota, mutationThrottle } from './quota-common.js';
import { defineHandler } from './types.js';

/** First version refused THROTTLING_QUOTA_EXCEEDED by the controller_mutation_rate quota (KIP-599). */
const STRICT_FROM = 6;

export default defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  api: CreateTopicsApi,
  minVersion: 0,
  maxVersion: 7,
  decode: decodeCreateTopicsRequest,
  encode: encodeCreateTopicsResponse,
  async handle(req, ctx) {
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    // Authorization (KafkaApis.handleCreateTopicsRequest): CREATE on the cluster or on the topic,
    // else TOPIC_AUTHORIZATION_FAILED; the created topic's configs are returned only with
    // DESCRIBE_CONFIGS on it (else topic_config_error_code TOPIC_AUTHORIZATION_FAILED, v5+).
    const clusterCreate = clusterAllowed(ctx, AclOperation.CREATE, true);
    const quota = mutationQuota(ctx, STRICT_FROM);
    const topics = await Promise.all(req.topics.map(async (t) => {
      const fail = (errorCode: number, errorMessage: string) => ({ name: t.name, errorCode, errorMessage, configs: null });
      if (!clusterCreate && !allowed(ctx, AclOperation.CREATE, ResourceType.TOPIC, t.name)) return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
      if (counts.get(t.name)! > 1) return fail(ErrorCode.INVALID_REQUEST, `Create topics request from client contains multiple entries for topic ${t.name}`);
      let numPartitions = t.numPartitions;
      let replicationFactor = t.replicationFactor;
      let assignments: number[][] | undefined;
      if (t.assignments.length > 0) {
        if (numPartitions !== -1 || replicationFactor !== -1) {
          return fail(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
        }
        const nodes = new Set(ctx.cluster.brokers().map((b) => b.nodeId));
        const sorted = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
        const bad = sorted.some((a, i) => a.partitionIndex !== i || a.brokerIds.length === 0 || a.brokerIds.some((id) => !nodes.has(id)) || new Set(a.brokerIds).size !== a.brokerIds.length);
        if (bad) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Invalid replica assignment');
        if (sorted.some((a) => a.brokerIds.length !== sorted[0]!.brokerIds.length)) {
          return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'All partitions should have the same number of replicas');
        }
        numPartitions = sorted.length;
        replicationFactor = sorted[0]!.brokerIds.length;
        assignments = sorted.map((a) => [...a.brokerIds]);
      }
      const configs: Record<string, string | null> = {};
      for (const c of t.configs) configs[c.name] = c.value;
      if (quota.bounded) {
        // Kafka checks the mutation quota after validating, before creating: the partitions the
        // topic would have are its permits (validate_only counts too, as in KRaft).
        const v = await ctx.topics.create(t.name, numPartitions, replicationFactor, configs, true, assignments);
        if (v.errorCode !== ErrorCode.NONE || !v.topic) return fail(v.errorCode, v.errorMessage ?? '');
        if (!quota.record(v.topic.numPartitions)) return fail(THROTTLED.errorCode, THROTTLED.errorMessage);
      }
      const r = await ctx.topics.create(t.name, numPartitions, replicationFactor, configs, req.validateOnly, assignments);
      if (r.errorCode !== ErrorCode.NONE || !r.topic) return fail(r.errorCode, r.errorMessage ?? '');
      if (!allowed(ctx, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, t.name, true)) {
        return {
          name: t.name, topicId: r.topic.topicId, errorCode: ErrorCode.NONE, errorMessage: null, numPartitions: r.topic.numPartitions,
          replicationFactor: r.topic.replicationFactor, configs: null, topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        };
      }
      return {
        name: t.name,
        topicId: r.topic.topicId,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        numPartitions: r.topic.numPartitions,
        replicationFactor: r.topic.replicationFactor,
        configs: describeTopicConfigs(ctx.config, r.topic.configs, null, false, false).map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          configSource: c.configSource,
          isSensitive: c.isSensitive,
        })),
      };
    }));
    return { throttleTimeMs: mutationThrottle(ctx, quota), topics };
  },
});
