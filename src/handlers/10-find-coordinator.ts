// FindCoordinator (key 10), v0-v6. v0 must stay advertised: librdkafka < 2.11 only looks up a
// group coordinator when FindCoordinator v0 is in the broker's range.
// Key type 0 (group) and 1 (transaction): this broker coordinates every group and transactional
// id (single node). v4+ batches keys (KIP-699).

import { ErrorCode } from '../../protocol/errors.js';
import {
  FindCoordinatorApi,
  decodeFindCoordinatorRequest,
  encodeFindCoordinatorResponse,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
} from '../../protocol/generated/10-find-coordinator.js';
import { defineHandler, type RequestContext } from './types.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';

const GROUP = 0;
const TRANSACTION = 1;

function lookup(key: string, keyType: number, ctx: RequestContext) {
  // Authorization (KafkaApis.handleFindCoordinatorRequest): DESCRIBE on the group or the
  // transactional id.
  if (keyType === GROUP && !allowed(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, key)) {
    return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null };
  }
  if (keyType === TRANSACTION && !allowed(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, key)) {
    return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, errorMessage: null };
  }
  // The addresses of the listener the client came through (Kafka's rule).
  const self = ctx.cluster.localFor(ctx.connection.listener);
  if ((keyType === GROUP || keyType === TRANSACTION) && ctx.cluster.clustered) {
    // A cluster (issue 10): the leader of the key's partition of the internal topic.
    const at = ctx.coordinatorPartition?.(keyType === GROUP ? 'group' : 'transaction', key);
    const leader = at === undefined ? undefined : ctx.cluster.broker(ctx.cluster.leaderOf(at.topic, at.partition), ctx.connection.listener);
    if (leader === undefined) {
      return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'The coordinator is not available.' };
    }
    return { key, nodeId: leader.nodeId, host: leader.host, port: leader.port, errorCode: ErrorCode.NONE, errorMessage: null };
  }
  if (keyType === GROUP || keyType === TRANSACTION) {
    return { key, nodeId: self.nodeId, host: self.host, port: self.port, errorCode: ErrorCode.NONE, errorMessage: null };
  }
  return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown coordinator key type ${keyType}` };
}

export default defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  api: FindCoordinatorApi,
  minVersion: 0,
  maxVersion: 6,
  decode: decodeFindCoordinatorRequest,
  encode: encodeFindCoordinatorResponse,
  handle(req, ctx) {
    if (ctx.header.apiVersion >= 4) {
      return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((k) => lookup(k, req.keyType, ctx)) };
    }
    const r = lookup(req.key, req.keyType, ctx);
    return { throttleTimeMs: 0, errorCode: r.errorCode, errorMessage: r.errorMessage, nodeId: r.nodeId, host: r.host, port: r.port };
  },
});
