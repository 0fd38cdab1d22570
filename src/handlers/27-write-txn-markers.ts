// WriteTxnMarkers (key 27), v0-v1 (v1 flexible). Sent by a transaction coordinator to the leader
// of each partition of a transaction once the decision (PrepareCommit/PrepareAbort) is durable:
// for every marker and partition, a COMMIT or ABORT control batch is appended with the
// transaction's producer id and epoch and the coordinator's epoch (Kafka's
// KafkaApis.handleWriteTxnMarkersRequest). A marker on a __consumer_offsets partition also
// completes the group coordinator's pending transactional offsets (the replica manager's marker
// listeners).
//
// Per-partition errors, as Kafka: UNKNOWN_TOPIC_OR_PARTITION (no such partition here),
// NOT_LEADER_OR_FOLLOWER (not led by this broker), INVALID_PRODUCER_EPOCH (the partition has seen
// a newer producer epoch), TRANSACTION_COORDINATOR_FENCED (a marker from an older coordinator
// epoch than one already written), KAFKA_STORAGE_ERROR (the write failed). In a cluster the
// answer waits until the partition's ISR has the marker (Kafka appends markers with acks=-1):
// NOT_ENOUGH_REPLICAS_AFTER_APPEND, NOT_LEADER_OR_FOLLOWER or REQUEST_TIMED_OUT otherwise, which
// the coordinator retries.
//
// In Kafka this is an inter-broker API that needs CLUSTER_ACTION on the cluster resource. Brook
// has no ACLs yet, so it is accepted from any connection (a client could write markers for any
// producer id; the producer- and coordinator-epoch checks still apply).

import {
  WriteTxnMarkersApi,
  decodeWriteTxnMarkersRequest,
  encodeWriteTxnMarkersResponse,
  type WriteTxnMarkersRequest,
  type WriteTxnMarkersResponse,
  type WriteTxnMarkersResponseWritableTxnMarkerResult,
} from '../../protocol/generated/27-write-txn-markers.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation } from '../security/acls.js';
import { clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

/** How long a marker waits for the ISR in a cluster (Kafka: request.timeout.ms, default 30000). */
export const MARKER_REPLICATION_TIMEOUT_MS = 30_000;

export default defineHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse>({
  api: WriteTxnMarkersApi,
  minVersion: 0,
  maxVersion: 1,
  decode: decodeWriteTxnMarkersRequest,
  encode: encodeWriteTxnMarkersResponse,
  async handle(req, ctx) {
    // Authorization: CLUSTER_ACTION on the cluster (brokers only), else every partition
    // CLUSTER_AUTHORIZATION_FAILED, as Kafka.
    if (!clusterAllowed(ctx, AclOperation.CLUSTER_ACTION)) {
      return {
        markers: req.markers.map((m) => ({
          producerId: m.producerId,
          topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })) })),
        })),
      };
    }
    const waits: Array<Promise<void>> = [];
    const markers = req.markers.map((marker): WriteTxnMarkersResponseWritableTxnMarkerResult => ({
      producerId: marker.producerId,
      topics: marker.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => {
          const result = { partitionIndex, errorCode: ErrorCode.NONE as number };
          let code: number;
          try {
            code = ctx.replicas.writeTxnMarker(t.name, partitionIndex, marker.producerId, marker.producerEpoch, marker.transactionResult, marker.coordinatorEpoch);
          } catch (err) {
            code = ctx.replicas.storageFailure(t.name, partitionIndex, 'write transaction marker', err);
          }
          result.errorCode = code;
          if (code === ErrorCode.NONE) {
            // acks=-1: in a cluster the marker counts once the ISR has it.
            const log = ctx.replicas.partition(t.name, partitionIndex);
            const wait = log === undefined ? undefined : ctx.replicas.whenReplicated(t.name, partitionIndex, log.logEndOffset - 1n, MARKER_REPLICATION_TIMEOUT_MS);
            if (wait !== undefined) {
              waits.push(
                wait.then((c) => {
                  result.errorCode = c;
                }),
              );
            }
          }
          return result;
        }),
      })),
    }));
    if (waits.length > 0) await Promise.all(waits);
    return { markers };
  },
});
