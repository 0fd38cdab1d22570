// DescribeClientQuotas (key 48), v0-v1 (KIP-546): the quota entities matching a filter, with their
// values. As Kafka's ClientQuotasImage.describe: each component names an entity type (user,
// client-id, ip) and a match (0 EXACT name, 1 DEFAULT entity, 2 SPECIFIED: any entity of that
// type); strict asks for entities with exactly the filter's types; no components and not strict
// describes everything. A bad filter (empty or repeated type, a match string where none belongs,
// ip mixed with user or client-id) is INVALID_REQUEST, an unknown type or match type
// UNSUPPORTED_VERSION, for the whole request with null entries.
// Kafka authorizes DESCRIBE_CONFIGS on the CLUSTER resource first (denied:
// CLUSTER_AUTHORIZATION_FAILED, null entries).

import { ErrorCode } from '../../protocol/errors.js';
import {
  DescribeClientQuotasApi,
  decodeDescribeClientQuotasRequest,
  encodeDescribeClientQuotasResponse,
  type DescribeClientQuotasRequest,
  type DescribeClientQuotasResponse,
} from '../../protocol/generated/48-describe-client-quotas.js';
import { clusterAllowed } from './auth.js';
import { AclOperation } from '../security/acls.js';
import { defineHandler } from './types.js';

export default defineHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse>({
  api: DescribeClientQuotasApi,
  minVersion: 0,
  maxVersion: 1,
  decode: decodeDescribeClientQuotasRequest,
  encode: encodeDescribeClientQuotasResponse,
  handle(req, ctx) {
    if (!clusterAllowed(ctx, AclOperation.DESCRIBE_CONFIGS)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', entries: null };
    }
    const found = ctx.quotas.describe(req.components, req.strict);
    if (!Array.isArray(found)) return { throttleTimeMs: 0, errorCode: found.errorCode, errorMessage: found.errorMessage, entries: null };
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      entries: found.map((q) => ({
        entity: Object.entries(q.entity).map(([entityType, entityName]) => ({ entityType, entityName: entityName ?? null })),
        values: Object.entries(q.quotas).map(([key, value]) => ({ key, value })),
      })),
    };
  },
});
