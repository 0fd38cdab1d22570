// ListOffsets (key 2), v0-v10.
// Special timestamps: -1 latest (the high watermark; the last stable offset for READ_COMMITTED,
// v2+), -2 earliest, -3 the record with the largest timestamp
// (v7+), -4 earliest local (v8+; no tiered storage, so earliest), -5 latest tiered (v9+; no tiered
// storage: offset -1). Any other timestamp: the first record whose timestamp is >= it, found
// through the time index; none (or one at/after the last stable offset for READ_COMMITTED) ->
// offset -1 and timestamp -1.
// v0 answers the old-style offsets array (at most max_num_offsets entries).
// current_leader_epoch fencing from v4.
// A lookup that fails in the store (a disk error, a damaged segment) answers KAFKA_STORAGE_ERROR or
// CORRUPT_MESSAGE for that partition only.
// Authorization: DESCRIBE on the topic (TOPIC_AUTHORIZATION_FAILED per partition), as Kafka.

import { ErrorCode } from '../../protocol/errors.js';
import {
  ListOffsetsApi,
  decodeListOffsetsRequest,
  encodeListOffsetsResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
} from '../../protocol/generated/02-list-offsets.js';
import type { Encodable } from '../../protocol/primitives/writer.js';
import { leaderEpochError } from './epochs.js';
import { defineHandler } from './types.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { READ_COMMITTED } from '../cluster/replica-manager.js';

type PartitionOut = Encodable<ListOffsetsResponse['topics'][number]['partitions'][number]>;

export const LATEST = -1n;
export const EARLIEST = -2n;
export const MAX_TIMESTAMP = -3n;
export const EARLIEST_LOCAL = -4n;
export const LATEST_TIERED = -5n;

export default defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  api: ListOffsetsApi,
  minVersion: 0,
  maxVersion: 10,
  decode: decodeListOffsetsRequest,
  encode: encodeListOffsetsResponse,
  handle(req, ctx) {
    const version = ctx.header.apiVersion;
    const topics = req.topics.map((t) => {
      const describable = allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name);
      return {
        name: t.name,
        partitions: t.partitions.map((p): PartitionOut => {
          const out = (errorCode: number, offset = -1n, timestamp = -1n, leaderEpoch = -1): PartitionOut => ({
            partitionIndex: p.partitionIndex,
            errorCode,
            oldStyleOffsets: errorCode === ErrorCode.NONE && offset >= 0n ? [offset] : [],
            timestamp,
            offset,
            leaderEpoch,
          });
          if (!describable) return out(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          const log = ctx.replicas.partition(t.name, p.partitionIndex);
          if (!log) return out(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          // Only the leader answers (a cluster's followers: NOT_LEADER_OR_FOLLOWER), except Kafka's
          // debug replica id -2.
          if (req.replicaId !== -2) {
            const notLeader = ctx.replicas.leaderError(t.name, p.partitionIndex);
            if (notLeader !== ErrorCode.NONE) return out(notLeader);
          }
          const epoch = ctx.replicas.leaderEpochOf(log);
          const epochErr = leaderEpochError(p.currentLeaderEpoch, epoch);
          if (epochErr !== ErrorCode.NONE) return out(epochErr);
          const ts = p.timestamp;
          if (ts === LATEST) {
            // A follower (replica id >= 0) is told the log end, a consumer the HW or LSO.
            const latest = req.replicaId >= 0 && ctx.replicas.clustered
              ? log.logEndOffset
              : version >= 2 && req.isolationLevel === READ_COMMITTED ? ctx.replicas.lastStableOffset(log) : ctx.replicas.highWatermark(log);
            return out(ErrorCode.NONE, latest, -1n, epoch);
          }
          if (ts === EARLIEST || (ts === EARLIEST_LOCAL && version >= 8)) return out(ErrorCode.NONE, log.logStartOffset, -1n, epoch);
          if (ts === LATEST_TIERED && version >= 9) return out(ErrorCode.NONE, -1n, -1n, -1);
          if (ts === MAX_TIMESTAMP && version >= 7) {
            let m: ReturnType<typeof log.maxTimestamp>;
            try {
              m = log.maxTimestamp();
            } catch (err) {
              return out(ctx.replicas.storageFailure(t.name, p.partitionIndex, 'list offsets', err));
            }
            return m ? out(ErrorCode.NONE, m.offset, m.timestamp, m.leaderEpoch) : out(ErrorCode.NONE);
          }
          if (ts < 0n) return out(ErrorCode.NONE);
          let found: ReturnType<typeof log.offsetForTimestamp>;
          try {
            found = log.offsetForTimestamp(ts);
          } catch (err) {
            return out(ctx.replicas.storageFailure(t.name, p.partitionIndex, 'list offsets', err));
          }
          // READ_COMMITTED (v2+) must not see past the last stable offset, as Kafka.
          const fetchable = version >= 2 && req.isolationLevel === READ_COMMITTED ? ctx.replicas.lastStableOffset(log) : ctx.replicas.highWatermark(log);
          if (found && found.offset >= fetchable) return out(ErrorCode.NONE);
          if (!found) {
            // v0 clients expect the log end offset when nothing is newer.
            return version === 0 ? out(ErrorCode.NONE, ctx.replicas.highWatermark(log)) : out(ErrorCode.NONE);
          }
          return out(ErrorCode.NONE, found.offset, found.timestamp, found.leaderEpoch);
        }),
      };
    });
    return { throttleTimeMs: 0, topics };
  },
});
