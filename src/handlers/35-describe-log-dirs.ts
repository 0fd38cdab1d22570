// DescribeLogDirs (key 35), v0-v4 (KIP-113; Java Admin.describeLogDirs, kafka-log-dirs.sh).
// Brook has one log directory: the file store's data directory (absolute path, as Kafka reports
// it), or for `--memory` the pseudo path "(memory)" (no file system behind it; a name that cannot
// be mistaken for a real directory). Each partition in it: partition_size = bytes of its stored
// batches (Kafka: the segments' .log files), offset_lag as Kafka computes it for a replica that
// is not a future one, max(HW − LEO, 0) (so 0, on leaders and followers alike), is_future_key
// false (no replica moves between directories). In a cluster each broker lists the replicas it
// hosts, leader or follower (clients ask every broker). topics null = every partition, internal
// topics included (Kafka lists all its logs); otherwise only the partitions asked for that exist,
// and a topic with none of them is left out (Kafka filters its logs by the set asked for).
// v3+: top-level error_code NONE. v4+: total_bytes and usable_bytes of the volume (statfs; -1 in
// memory). A volume that cannot be read answers KAFKA_STORAGE_ERROR for the directory.
// No ACLs (Kafka needs DESCRIBE on the cluster).

import {
  DescribeLogDirsApi,
  decodeDescribeLogDirsRequest,
  encodeDescribeLogDirsResponse,
  type DescribeLogDirsRequest,
  type DescribeLogDirsResponse,
} from '../../protocol/generated/35-describe-log-dirs.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation } from '../security/acls.js';
import { clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>({
  api: DescribeLogDirsApi,
  minVersion: 0,
  maxVersion: 4,
  decode: decodeDescribeLogDirsRequest,
  encode: encodeDescribeLogDirsResponse,
  handle(req, ctx) {
    // Authorization: DESCRIBE on the cluster, else no results (and CLUSTER_AUTHORIZATION_FAILED
    // from v3, which has the field), as Kafka.
    if (!clusterAllowed(ctx, AclOperation.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ctx.header.apiVersion >= 3 ? ErrorCode.CLUSTER_AUTHORIZATION_FAILED : ErrorCode.NONE, results: [] };
    }
    let wanted: Map<string, Set<number>> | null = null;
    if (req.topics !== null) {
      wanted = new Map();
      for (const t of req.topics) {
        const set = wanted.get(t.topic) ?? new Set<number>();
        for (const p of t.partitions) set.add(p);
        wanted.set(t.topic, set);
      }
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results: ctx.replicas.describeLogDirs(wanted) };
  },
});
