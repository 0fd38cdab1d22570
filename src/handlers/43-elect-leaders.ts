// ElectLeaders (key 43), v0-v2 (KIP-183 preferred, KIP-460 unclean; kafka-leader-election.sh,
// Java Admin.electLeaders). v0 is always a preferred election; v1+ carries the type (0 preferred,
// 1 unclean) and a top-level error. A null topic list means every partition, and then partitions
// that needed no election are left out of the answer (KafkaApis.handleElectLeaders); a partition
// named twice is elected once.
// In a cluster the election is made by compare-and-swap on the partition state in the metadata
// store (ClusterNode.electLeaders, which says why that is as safe as forwarding to the
// controller) and answered once this broker's metadata shows it, or REQUEST_TIMED_OUT after
// timeout_ms. On a single node the one broker leads every partition and is its preferred
// replica: ELECTION_NOT_NEEDED, or UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist.
// An election type other than 0 or 1 is INVALID_REQUEST; an unreachable metadata store
// REQUEST_TIMED_OUT for each partition (Kafka's answer when the controller does not complete
// in time; clients retry). No ACLs (Kafka needs ALTER on the cluster).

import { ErrorCode } from '../../protocol/errors.js';
import {
  ElectLeadersApi,
  decodeElectLeadersRequest,
  encodeElectLeadersResponse,
  type ElectLeadersRequest,
  type ElectLeadersResponse,
} from '../../protocol/generated/43-elect-leaders.js';
import { electionErrorMessage, type ElectionResult } from '../cluster/elections.js';
import { MetadataError } from '../cluster/metadata/kv.js';
import { AclOperation } from '../security/acls.js';
import { clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
  api: ElectLeadersApi,
  minVersion: 0,
  maxVersion: 2,
  decode: decodeElectLeadersRequest,
  encode: encodeElectLeadersResponse,
  async handle(req, ctx) {
    // Authorization: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED (top level and every
    // partition asked for), as Kafka.
    if (!clusterAllowed(ctx, AclOperation.ALTER)) {
      const error = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
      return {
        throttleTimeMs: 0,
        errorCode: error,
        replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({ topic: t.topic, partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode: error, errorMessage: null })) })),
      };
    }
    const type = req.electionType;
    const node = ctx.cluster.clusterNode;
    const all = req.topicPartitions === null;
    let partitions: Array<[string, number]>;
    if (req.topicPartitions !== null) {
      const seen = new Set<string>();
      partitions = [];
      for (const t of req.topicPartitions) {
        for (const p of t.partitions) {
          const k = `${p}:${t.topic}`;
          if (seen.has(k)) continue;
          seen.add(k);
          partitions.push([t.topic, p]);
        }
      }
    } else if (node) {
      partitions = node.allPartitions();
    } else {
      partitions = ctx.topics.list().flatMap((t) => Array.from({ length: t.numPartitions }, (_, p) => [t.name, p] as [string, number]));
    }
    let results: ElectionResult[];
    let topError: number = ErrorCode.NONE;
    if (type !== 0 && type !== 1) {
      topError = ErrorCode.INVALID_REQUEST;
      results = partitions.map(([topic, partition]) => ({ topic, partition, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown election type ${type}.` }));
    } else if (node) {
      try {
        results = await node.electLeaders(type, partitions, req.timeoutMs);
      } catch (err) {
        // The metadata store is unreachable: nothing was elected; the client may retry.
        if (!(err instanceof MetadataError)) throw err;
        ctx.logger.warn({ err: err.message }, 'ElectLeaders: metadata store unavailable');
        results = partitions.map(([topic, partition]) => ({ topic, partition, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: err.message }));
      }
    } else {
      results = partitions.map(([topic, partition]) => {
        const meta = ctx.topics.get(topic);
        const known = meta !== undefined && partition >= 0 && partition < meta.numPartitions;
        const errorCode = known ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        return { topic, partition, errorCode, errorMessage: known ? electionErrorMessage(errorCode, topic, partition, type) : 'The partition does not exist.' };
      });
    }
    if (all) results = results.filter((r) => r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED);
    const byTopic = new Map<string, ElectionResult[]>();
    for (const r of results) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
    return {
      throttleTimeMs: 0,
      errorCode: topError,
      replicaElectionResults: [...byTopic].map(([topic, rs]) => ({
        topic,
        partitionResult: rs.map((r) => ({ partitionId: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage })),
      })),
    };
  },
});
