// ListPartitionReassignments (key 46), v0 (KIP-455; Java Admin.listPartitionReassignments, kafkajs
// admin.listPartitionReassignments). The partitions being reassigned, all of them (null topics) or
// those asked for that are; partitions not being reassigned or not existing are left out, as
// Kafka's controller does. Each with its full replica set (target first, then the replicas being
// removed), the adding and the removing replicas. From this broker's metadata cache (fed by the
// metadata store's watch). A single node never has one in progress. No ACLs (Kafka needs DESCRIBE
// on the cluster).

import { ErrorCode } from '../../protocol/errors.js';
import {
  ListPartitionReassignmentsApi,
  decodeListPartitionReassignmentsRequest,
  encodeListPartitionReassignmentsResponse,
  type ListPartitionReassignmentsRequest,
  type ListPartitionReassignmentsResponse,
} from '../../protocol/generated/46-list-partition-reassignments.js';
import { AclOperation } from '../security/acls.js';
import { clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

type Ongoing = ListPartitionReassignmentsResponse['topics'][number];

export default defineHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>({
  api: ListPartitionReassignmentsApi,
  minVersion: 0,
  maxVersion: 0,
  decode: decodeListPartitionReassignmentsRequest,
  encode: encodeListPartitionReassignmentsResponse,
  handle(req, ctx) {
    // Authorization: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED), as Kafka.
    if (!clusterAllowed(ctx, AclOperation.DESCRIBE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', topics: [] };
    const node = ctx.cluster.clusterNode;
    const wanted = req.topics === null ? null : req.topics.flatMap((t) => t.partitionIndexes.map((p) => [t.name, p] as const));
    const ongoing = node ? node.listPartitionReassignments(wanted) : [];
    const byTopic = new Map<string, Ongoing>();
    for (const o of ongoing) {
      let t = byTopic.get(o.topic);
      if (!t) byTopic.set(o.topic, (t = { name: o.topic, partitions: [] }));
      t.partitions.push({ partitionIndex: o.partition, replicas: o.replicas, addingReplicas: o.adding, removingReplicas: o.removing });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [...byTopic.values()] };
  },
});
