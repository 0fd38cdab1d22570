// Authorization helpers for handlers: the connection's principal and host applied to the
// context's authorizer. The principal is Kafka's "User:<name>" of the connection's principal
// (ANONYMOUS, a client certificate's DN, a SASL user); the host is the client's IP address.

import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { hostOf, kafkaPrincipal } from '../security/authorizer.js';
import type { RequestContext } from './types.js';

type AuthContext = Pick<RequestContext, 'authorizer' | 'connection'> & Partial<Pick<RequestContext, 'logger' | 'apiNameOf' | 'header'>>;

const OPERATION_NAMES = new Map<number, string>(Object.entries(AclOperation).map(([k, v]) => [v, k]));
const RESOURCE_TYPE_NAMES: Record<number, string> = { 2: 'Topic', 3: 'Group', 4: 'Cluster', 5: 'TransactionalId', 6: 'DelegationToken', 7: 'User' };

/**
 * May this request's client do `op` on the resource? A denial is logged at info, one line, as
 * Kafka's authorizer logger does (principal, host, operation, resource, request), unless `quiet`:
 * the checks Kafka makes without logging a denial (filtering a listing, a cluster-wide permission
 * tried before the per-resource one).
 */
export function allowed(ctx: AuthContext, op: number, resourceType: number, name: string, quiet = false): boolean {
  if (!ctx.authorizer.enabled) return true;
  const principal = kafkaPrincipal(ctx.connection.principal);
  const host = hostOf(ctx.connection.remote);
  if (ctx.authorizer.authorize(principal, host, op, resourceType, name)) return true;
  if (!quiet && ctx.logger !== undefined) {
    ctx.logger.info(
      { principal, host, operation: OPERATION_NAMES.get(op) ?? op, resource: `${RESOURCE_TYPE_NAMES[resourceType] ?? resourceType}:${name}`, request: ctx.header ? ctx.apiNameOf?.(ctx.header.apiKey) : undefined },
      'authorization denied',
    );
  }
  return false;
}

/** `op` on the cluster resource. */
export function clusterAllowed(ctx: AuthContext, op: number, quiet = false): boolean {
  return allowed(ctx, op, ResourceType.CLUSTER, CLUSTER_NAME, quiet);
}

/** Kafka's authorizeByResourceType: `op` on at least one resource of the type. */
export function allowedOnSome(ctx: AuthContext, op: number, resourceType: number): boolean {
  if (!ctx.authorizer.enabled) return true;
  return ctx.authorizer.authorizeByResourceType(kafkaPrincipal(ctx.connection.principal), hostOf(ctx.connection.remote), op, resourceType);
}

/** The authorized-operations bit field of a resource (every supported operation without an authorizer). */
export function authorizedOperations(ctx: AuthContext, resourceType: number, name: string): number {
  return ctx.authorizer.authorizedOperations(kafkaPrincipal(ctx.connection.principal), hostOf(ctx.connection.remote), resourceType, name);
}

/** ConfigResource types (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs). */
const CONFIG_TOPIC = 2;
const CONFIG_BROKER = 4;
const CONFIG_BROKER_LOGGER = 8;
const CONFIG_CLIENT_METRICS = 16;
const CONFIG_GROUP = 32;

/**
 * Kafka's authorization of a config resource (ConfigHelper / KafkaApis): `op` (DESCRIBE_CONFIGS
 * or ALTER_CONFIGS) on the topic, the group, or the cluster for broker-wide resources. The error
 * to answer for the resource, or null when allowed (or of a type other checks refuse).
 */
export function configResourceDenied(ctx: AuthContext, op: number, resourceType: number, name: string): { errorCode: number; errorMessage: string } | null {
  switch (resourceType) {
    case CONFIG_TOPIC:
      return allowed(ctx, op, ResourceType.TOPIC, name) ? null : { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Topic authorization failed.' };
    case CONFIG_GROUP:
      return allowed(ctx, op, ResourceType.GROUP, name) ? null : { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: 'Group authorization failed.' };
    case CONFIG_BROKER:
    case CONFIG_BROKER_LOGGER:
    case CONFIG_CLIENT_METRICS:
      return clusterAllowed(ctx, op) ? null : { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.' };
    default:
      return null;
  }
}
