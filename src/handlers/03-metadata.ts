// Metadata (key 3), v0-v12 (v13 is not in the spec snapshot Brook generates from).
// - v0: an empty topic list means all topics; v1+: null means all topics, empty means none
//   (librdkafka's broker-only refresh sends the empty form).
// - A named topic that does not exist is auto-created when the broker allows it
//   (auto.create.topics.enable) and the request does too (allow_auto_topic_creation, v4+; older
//   versions always allow); that response answers LEADER_NOT_AVAILABLE for it, as Kafka does, and
//   clients retry. Otherwise UNKNOWN_TOPIC_OR_PARTITION; invalid names INVALID_TOPIC_EXCEPTION.
//   "All topics" never creates anything.
// - v10+ topics may be named by id (honoured from v12 as in Kafka): unknown ids get UNKNOWN_TOPIC_ID.
// - Leader epochs come from the log (persisted, never reset).
// - Authorization (KafkaApis.handleTopicMetadataRequest): "all topics" lists only the topics the
//   principal may DESCRIBE; a named one it may not is answered TOPIC_AUTHORIZATION_FAILED (by id:
//   name null, the id kept). Auto-creation needs CREATE on the cluster or the topic, else
//   TOPIC_AUTHORIZATION_FAILED. Authorized operations (v8+) are bit fields when asked for: the
//   topic's, and the cluster's (v8-10; 0 without DESCRIBE on the cluster).

import { ErrorCode } from '../../protocol/errors.js';
import {
  MetadataApi,
  decodeMetadataRequest,
  encodeMetadataResponse,
  type MetadataRequest,
  type MetadataResponse,
} from '../../protocol/generated/03-metadata.js';
import type { Encodable } from '../../protocol/primitives/writer.js';
import { ZERO_UUID } from '../../protocol/primitives/uuid.js';
import type { TopicMetadata } from '../log/types.js';
import { topicNameError } from '../cluster/topics.js';
import { defineHandler, type RequestContext } from './types.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { allowed, authorizedOperations, clusterAllowed } from './auth.js';

type TopicOut = Encodable<MetadataResponse['topics'][number]>;

const NOT_REQUESTED = -2147483648;

export function describeTopic(meta: TopicMetadata, ctx: RequestContext, authorizedOps: number): TopicOut {
  const partitions = [];
  for (let p = 0; p < meta.numPartitions; p++) {
    const log = ctx.replicas.partition(meta.name, p);
    const info = ctx.cluster.partitionInfo(meta.name, p, log?.leaderEpoch ?? 0);
    partitions.push({
      // Kafka's metadata cache: no live leader is LEADER_NOT_AVAILABLE (clients retry).
      errorCode: info.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: p,
      leaderId: info.leader,
      leaderEpoch: info.leaderEpoch,
      replicaNodes: info.replicas,
      isrNodes: info.isr,
      offlineReplicas: info.offline,
    });
  }
  return {
    errorCode: ErrorCode.NONE,
    name: meta.name,
    topicId: meta.topicId,
    isInternal: ctx.topics.isInternal(meta.name),
    partitions,
    topicAuthorizedOperations: authorizedOps,
  };
}

export default defineHandler<MetadataRequest, MetadataResponse>({
  api: MetadataApi,
  minVersion: 0,
  maxVersion: 12,
  decode: decodeMetadataRequest,
  encode: encodeMetadataResponse,
  handle(req, ctx) {
    const version = ctx.header.apiVersion;
    const opsOf = (name: string): number => (req.includeTopicAuthorizedOperations ? authorizedOperations(ctx, ResourceType.TOPIC, name) : NOT_REQUESTED);
    const allTopics = req.topics === null || (version === 0 && req.topics.length === 0);
    // Listing every topic leaves out the undescribable ones without logging them (as Kafka).
    const describable = (name: string): boolean => allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name, allTopics);
    const topics: TopicOut[] = [];
    if (allTopics) {
      for (const meta of ctx.topics.list()) if (describable(meta.name)) topics.push(describeTopic(meta, ctx, opsOf(meta.name)));
    } else {
      let mayCreateAny: boolean | undefined;
      const mayCreate = (name: string): boolean => (mayCreateAny ??= clusterAllowed(ctx, AclOperation.CREATE, true)) || allowed(ctx, AclOperation.CREATE, ResourceType.TOPIC, name);
      const allowAuto = ctx.topics.autoCreateEnabled && (version < 4 || req.allowAutoTopicCreation);
      for (const t of req.topics!) {
        if (version >= 10 && t.name === null) {
          const meta = t.topicId !== ZERO_UUID && version >= 12 ? ctx.topics.getById(t.topicId) : undefined;
          if (meta && !describable(meta.name)) topics.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name: null, topicId: t.topicId, partitions: [] });
          else if (meta) topics.push(describeTopic(meta, ctx, opsOf(meta.name)));
          else topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: t.topicId, partitions: [] });
          continue;
        }
        const name = t.name ?? '';
        const meta = ctx.topics.get(name);
        if (!describable(name)) {
          topics.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId: ZERO_UUID, partitions: [] });
        } else if (meta) {
          topics.push(describeTopic(meta, ctx, opsOf(meta.name)));
        } else if (topicNameError(name) !== null) {
          topics.push({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: [] });
        } else if (allowAuto && !mayCreate(name)) {
          topics.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId: ZERO_UUID, partitions: [] });
        } else if (allowAuto) {
          const pending = ctx.topics.autoCreate(name);
          if (pending instanceof Promise) {
            // A cluster: the topic appears once the metadata store has it; the client retries.
            pending.catch((err: Error) => ctx.logger.warn({ topic: name, err: err.message }, 'automatic topic creation failed'));
            topics.push({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE, name, topicId: ZERO_UUID, partitions: [] });
            continue;
          }
          const created = pending;
          const errorCode = created.errorCode === ErrorCode.NONE || created.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS
            ? ErrorCode.LEADER_NOT_AVAILABLE
            : created.errorCode;
          topics.push({ errorCode, name, topicId: created.topic?.topicId ?? ZERO_UUID, partitions: [] });
        } else {
          topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] });
        }
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: ctx.cluster.brokers(ctx.connection.listener).map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: ctx.cluster.clusterId,
      controllerId: ctx.cluster.controllerId,
      topics,
      clusterAuthorizedOperations: !req.includeClusterAuthorizedOperations
        ? NOT_REQUESTED
        : clusterAllowed(ctx, AclOperation.DESCRIBE, true)
          ? authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_NAME)
          : 0,
    };
  },
});
