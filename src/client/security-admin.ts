// Admin operations for authorization and quotas over KafkaClient: ACLs (DescribeAcls, CreateAcls,
// DeleteAcls; KIP-140, KIP-290 for pattern types) and client quotas (DescribeClientQuotas,
// AlterClientQuotas; KIP-546). Codes are the wire codes (resource type, pattern type, operation,
// permission type); names are the CLI's business. Per-item outcomes are data; a request-level
// error (SECURITY_DISABLED, CLUSTER_AUTHORIZATION_FAILED on DescribeAcls) throws a KafkaError.

import { ErrorCode } from '../../protocol/errors.js';
import { Apis } from './apis.js';
import type { KafkaClient } from './client.js';
import { KafkaError } from './errors.js';
import type { AclBinding, AclBindingFilter } from '../security/acls.js';

export type { AclBinding, AclBindingFilter };

/** PatternType.LITERAL: the only pattern type of the ACL APIs' v0 (KIP-290 added the field in v1). */
const LITERAL = 3;

export interface AclResult {
  errorCode: number;
  errorMessage: string | null;
}

export interface DeleteAclsResult extends AclResult {
  /** The bindings this filter removed (each with its own outcome). */
  matchingAcls: Array<AclBinding & AclResult>;
}

/** The ACLs that match a filter. */
export async function describeAcls(client: KafkaClient, f: AclBindingFilter): Promise<AclBinding[]> {
  const conn = await client.any();
  const r = await conn.request(
    Apis.describeAcls,
    { resourceTypeFilter: f.resourceType, resourceNameFilter: f.resourceName, patternTypeFilter: f.patternType, principalFilter: f.principal, hostFilter: f.host, operation: f.operation, permissionType: f.permissionType },
    f.patternType === LITERAL ? {} : { minVersion: 1 },
  );
  if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, 'DescribeAcls', r.errorMessage);
  return r.resources.flatMap((res) =>
    res.acls.map((a) => ({
      resourceType: res.resourceType,
      resourceName: res.resourceName,
      patternType: res.patternType,
      principal: a.principal,
      host: a.host,
      operation: a.operation,
      permissionType: a.permissionType,
    })),
  );
}

/** Creates ACLs; one result per binding, in order. */
export async function createAcls(client: KafkaClient, bindings: AclBinding[]): Promise<AclResult[]> {
  const conn = await client.controller();
  const r = await conn.request(
    Apis.createAcls,
    { creations: bindings.map((b) => ({ resourceType: b.resourceType, resourceName: b.resourceName, resourcePatternType: b.patternType, principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permissionType })) },
    bindings.every((b) => b.patternType === LITERAL) ? {} : { minVersion: 1 },
  );
  return bindings.map((_, i) => r.results[i] ?? { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'no result for this ACL' });
}

/** Deletes the ACLs matching each filter; one result per filter, in order. */
export async function deleteAcls(client: KafkaClient, filters: AclBindingFilter[]): Promise<DeleteAclsResult[]> {
  const conn = await client.controller();
  const r = await conn.request(
    Apis.deleteAcls,
    {
      filters: filters.map((f) => ({ resourceTypeFilter: f.resourceType, resourceNameFilter: f.resourceName, patternTypeFilter: f.patternType, principalFilter: f.principal, hostFilter: f.host, operation: f.operation, permissionType: f.permissionType })),
    },
    filters.every((f) => f.patternType === LITERAL) ? {} : { minVersion: 1 },
  );
  return filters.map((_, i) => {
    const x = r.filterResults[i];
    if (!x) return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'no result for this filter', matchingAcls: [] };
    return {
      errorCode: x.errorCode,
      errorMessage: x.errorMessage,
      matchingAcls: x.matchingAcls.map((m) => ({
        errorCode: m.errorCode,
        errorMessage: m.errorMessage,
        resourceType: m.resourceType,
        resourceName: m.resourceName,
        patternType: m.patternType,
        principal: m.principal,
        host: m.host,
        operation: m.operation,
        permissionType: m.permissionType,
      })),
    };
  });
}

// -----------------------------------------------------------------------------------------------
// Client quotas

/** Entity type ("user", "client-id", "ip") -> name; null is the default entity. */
export type QuotaEntity = Record<string, string | null>;

/** DescribeClientQuotas match types. */
export const QuotaMatchType = { EXACT: 0, DEFAULT: 1, SPECIFIED: 2 } as const;

export interface QuotaFilterComponent {
  entityType: string;
  matchType: number;
  /** The name for EXACT; null otherwise. */
  match: string | null;
}

export interface QuotaEntry {
  entity: QuotaEntity;
  values: Record<string, number>;
}

/**
 * The quotas of the entities matching every component; `strict`: only entities with no other
 * entity types (Kafka's ClientQuotaFilter.containsOnly).
 */
export async function describeClientQuotas(client: KafkaClient, components: QuotaFilterComponent[], strict: boolean): Promise<QuotaEntry[]> {
  const conn = await client.any();
  const r = await conn.request(Apis.describeClientQuotas, { components, strict });
  if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, 'DescribeClientQuotas', r.errorMessage);
  return (r.entries ?? []).map((e) => ({
    entity: Object.fromEntries(e.entity.map((x) => [x.entityType, x.entityName])),
    values: Object.fromEntries(e.values.map((v) => [v.key, v.value])),
  }));
}

export interface QuotaAlteration {
  entity: QuotaEntity;
  /** value null: remove the key. */
  ops: Array<{ key: string; value: number | null }>;
}

/** Alters quotas; one result per entity as the broker answers them. */
export async function alterClientQuotas(client: KafkaClient, alterations: QuotaAlteration[], validateOnly = false): Promise<Array<AclResult & { entity: QuotaEntity }>> {
  const conn = await client.controller();
  const r = await conn.request(Apis.alterClientQuotas, {
    entries: alterations.map((a) => ({
      entity: Object.entries(a.entity).map(([entityType, entityName]) => ({ entityType, entityName })),
      ops: a.ops.map((o) => ({ key: o.key, value: o.value ?? 0, remove: o.value === null })),
    })),
    validateOnly,
  });
  return r.entries.map((e) => ({ errorCode: e.errorCode, errorMessage: e.errorMessage, entity: Object.fromEntries(e.entity.map((x) => [x.entityType, x.entityName])) }));
}
