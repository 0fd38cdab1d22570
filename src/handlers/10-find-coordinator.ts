// FindCoordinator (key 10), v0-v6. v0 must stay advertised: librdkafka < 2.11 only looks up a
// group coordinator when FindCoordinator v0 is in the broker's range.
// Key type 0 (group): this broker coordinates every group. Key type 1 (transaction):
// COORDINATOR_NOT_AVAILABLE until transactions exist. v4+ batches keys (KIP-699).

import { ErrorCode } from '../../protocol/errors.js';
import {
  FindCoordinatorApi,
  decodeFindCoordinatorRequest,
  encodeFindCoordinatorResponse,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
} from '../../protocol/generated/10-find-coordinator.js';
import { defineHandler, type RequestContext } from './types.js';

const GROUP = 0;
const TRANSACTION = 1;

function lookup(key: string, keyType: number, ctx: RequestContext) {
  const self = ctx.cluster.local;
  if (keyType === GROUP) {
    return { key, nodeId: self.nodeId, host: self.host, port: self.port, errorCode: ErrorCode.NONE, errorMessage: null };
  }
  const errorCode = keyType === TRANSACTION ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.INVALID_REQUEST;
  const errorMessage = keyType === TRANSACTION ? 'Transactions are not supported yet' : `Unknown coordinator key type ${keyType}`;
  return { key, nodeId: -1, host: '', port: -1, errorCode, errorMessage };
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
