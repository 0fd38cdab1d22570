// AlterPartitionReassignments (key 45), v0 (KIP-455; kafka-reassign-partitions.sh, Java
// Admin.alterPartitionReassignments, kafkajs admin.alterPartitionReassignments). Per partition, a
// target replica list starts (or replaces) a reassignment and a null list cancels one. Kafka's
// checks, in its order: an empty list, duplicate ids or a negative id, and added replicas that are
// not live brokers are INVALID_REPLICA_ASSIGNMENT; then a partition that does not exist is
// UNKNOWN_TOPIC_OR_PARTITION; a cancel with nothing in progress is NO_REASSIGNMENT_IN_PROGRESS.
// NONE means the reassignment has started (or, for a target that is the current replica list,
// is already done); ListPartitionReassignments shows its progress. How it runs: src/cluster/
// reassignment.ts and ClusterNode.alterPartitionReassignments. A partition named twice counts
// once, with its last entry (Kafka reads the request into a map). On a single node the only live
// broker is the only valid target. An unreachable metadata store is a top-level REQUEST_TIMED_OUT.
// No ACLs (Kafka needs ALTER on the cluster).

import { ErrorCode } from '../../protocol/errors.js';
import {
  AlterPartitionReassignmentsApi,
  decodeAlterPartitionReassignmentsRequest,
  encodeAlterPartitionReassignmentsResponse,
  type AlterPartitionReassignmentsRequest,
  type AlterPartitionReassignmentsResponse,
} from '../../protocol/generated/45-alter-partition-reassignments.js';
import type { ReassignmentResult } from '../cluster/elections.js';
import { MetadataError } from '../cluster/metadata/kv.js';
import { buildReassignment, validateTarget } from '../cluster/reassignment.js';
import { AclOperation } from '../security/acls.js';
import { clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>({
  api: AlterPartitionReassignmentsApi,
  minVersion: 0,
  maxVersion: 0,
  decode: decodeAlterPartitionReassignmentsRequest,
  encode: encodeAlterPartitionReassignmentsResponse,
  async handle(req, ctx) {
    // Authorization: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED), as Kafka.
    if (!clusterAllowed(ctx, AclOperation.ALTER)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', responses: [] };
    // One entry per partition, the last one given (Kafka collects the request into a map).
    const byPartition = new Map<string, { topic: string; partition: number; replicas: number[] | null }>();
    for (const t of req.topics) for (const p of t.partitions) byPartition.set(`${p.partitionIndex}:${t.name}`, { topic: t.name, partition: p.partitionIndex, replicas: p.replicas });
    const requests = [...byPartition.values()];
    const node = ctx.cluster.clusterNode;
    let results: ReassignmentResult[];
    if (node) {
      try {
        results = await node.alterPartitionReassignments(requests);
      } catch (err) {
        // The metadata store is unreachable: whether the write landed is unknown (the answer is
        // the same as Kafka's when the controller does not answer in time; List tells).
        if (!(err instanceof MetadataError)) throw err;
        ctx.logger.warn({ err: err.message }, 'AlterPartitionReassignments: metadata store unavailable');
        return { throttleTimeMs: 0, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: err.message, responses: [] };
      }
    } else {
      const self = ctx.cluster.nodeId;
      results = requests.map((q) => {
        const meta = ctx.topics.get(q.topic);
        const current = meta !== undefined && q.partition >= 0 && q.partition < meta.numPartitions ? { replicas: [self], adding: [], removing: [] } : undefined;
        const problem = q.replicas === null ? undefined : validateTarget(q.replicas, current, new Set([self]));
        if (problem) return { topic: q.topic, partition: q.partition, ...problem };
        if (current === undefined && q.replicas !== null) return { topic: q.topic, partition: q.partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' };
        // The only valid target is [self]: the partition is there already.
        const next = current === undefined ? undefined : buildReassignment(current, q.replicas);
        return { topic: q.topic, partition: q.partition, errorCode: next ? ErrorCode.NONE : ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: null };
      });
    }
    const byTopic = new Map<string, ReassignmentResult[]>();
    for (const r of results) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: [...byTopic].map(([name, rs]) => ({
        name,
        partitions: rs.map((r) => ({ partitionIndex: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage })),
      })),
    };
  },
});
