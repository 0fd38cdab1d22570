// AlterClientQuotas (key 49), v0-v1 (KIP-546): sets and removes quota values of entities (user,
// client-id, both, or ip; a null name is the default entity), validate_only checking without
// applying. As Kafka's ClientQuotaControlManager, one result per distinct entity:
// - a key given twice for an entity, or an entity given twice: INVALID_REQUEST ("Ignoring
//   duplicate entity ..."); an earlier alteration of the same entity in the request still applies;
// - no entity types, an unknown type, an empty name, ip with user or client-id, an ip that is not
//   an address or resolvable host: INVALID_REQUEST;
// - keys: producer_byte_rate, consumer_byte_rate (integers), request_percentage,
//   controller_mutation_rate for user/client-id entities; connection_creation_rate (integer) for
//   ip; anything else "Invalid configuration key", values must be > 0.
// Removing a key the entity does not have succeeds. Within an entity every value is checked
// before any applies. Brook only: NaN and infinite values are refused.
// Enforced (src/security/quotas.ts): producer_byte_rate (Produce), consumer_byte_rate (Fetch),
// request_percentage (every request, the dispatcher), controller_mutation_rate (CreateTopics,
// DeleteTopics, CreatePartitions), connection_creation_rate (new connections of an address,
// src/server/connection-quota.ts).
// Kafka authorizes ALTER_CONFIGS on the CLUSTER resource first (denied: every entry
// CLUSTER_AUTHORIZATION_FAILED).

import { ErrorCode } from '../../protocol/errors.js';
import {
  AlterClientQuotasApi,
  decodeAlterClientQuotasRequest,
  encodeAlterClientQuotasResponse,
  type AlterClientQuotasRequest,
  type AlterClientQuotasResponse,
} from '../../protocol/generated/49-alter-client-quotas.js';
import type { QuotaAlteration, QuotaEntity } from '../security/quotas.js';
import { clusterAllowed } from './auth.js';
import { AclOperation } from '../security/acls.js';
import { defineHandler } from './types.js';

export default defineHandler<AlterClientQuotasRequest, AlterClientQuotasResponse>({
  api: AlterClientQuotasApi,
  minVersion: 0,
  maxVersion: 1,
  decode: decodeAlterClientQuotasRequest,
  encode: encodeAlterClientQuotasResponse,
  async handle(req, ctx) {
    if (!clusterAllowed(ctx, AclOperation.ALTER_CONFIGS)) {
      return {
        throttleTimeMs: 0,
        entries: req.entries.map((e) => ({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', entity: e.entity.map((d) => ({ entityType: d.entityType, entityName: d.entityName })) })),
      };
    }
    const alterations: QuotaAlteration[] = req.entries.map((e) => {
      // As Kafka's AlterClientQuotasRequest.entries(): a type given twice keeps its last name.
      const entity: Record<string, string | null> = {};
      for (const d of e.entity) entity[d.entityType] = d.entityName;
      return { entity: entity as QuotaEntity, ops: e.ops.map((op) => ({ key: op.key, value: op.remove ? null : op.value })) };
    });
    let results;
    try {
      results = await ctx.quotas.alter(alterations, req.validateOnly);
    } catch (err) {
      ctx.logger.error({ err: (err as Error).message }, 'client quotas could not be stored');
      const seen = new Set<string>();
      return {
        throttleTimeMs: 0,
        entries: alterations
          .filter((a) => {
            const k = JSON.stringify(a.entity);
            return !seen.has(k) && seen.add(k);
          })
          .map((a) => ({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'The quotas could not be stored', entity: entityOut(a.entity) })),
      };
    }
    if (!req.validateOnly && results.some((r) => r.error === null)) {
      ctx.logger.info({ entities: results.filter((r) => r.error === null).map((r) => r.entity) }, 'client quotas altered');
    }
    return {
      throttleTimeMs: 0,
      entries: results.map((r) => ({ errorCode: r.error?.errorCode ?? ErrorCode.NONE, errorMessage: r.error?.errorMessage ?? null, entity: entityOut(r.entity) })),
    };
  },
});

function entityOut(entity: QuotaEntity): Array<{ entityType: string; entityName: string | null }> {
  return Object.entries(entity).map(([entityType, entityName]) => ({ entityType, entityName: entityName ?? null }));
}
