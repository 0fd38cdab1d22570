// Client quota throttling shared by Produce and Fetch (Kafka's ClientQuotaManager.throttle and
// KIP-219). A throttled request's response carries throttle_time_ms and its connection is not
// read for that long. Clients from before KIP-219 (Produce < v6, Fetch < v8) do not back off by
// themselves: as Kafka does, their response is held for the throttle time instead.

import { ErrorCode } from '../../protocol/errors.js';
import type { MutationQuota, ThrottledQuota } from '../security/quotas.js';
import type { RequestContext } from './types.js';

/** Records `bytes` against the connection's quota and answers the throttle time (ms). */
export function recordQuota(ctx: RequestContext, quota: ThrottledQuota, bytes: number): number {
  return ctx.quotas.record(quota, ctx.connection.principal, ctx.header.clientId ?? '', bytes, ctx.clock.now());
}

/** Mutes the connection for throttleMs, and for a pre-KIP-219 client delays the response as long. */
export function throttled<T>(ctx: RequestContext, throttleMs: number, clientThrottles: boolean, response: T): T | Promise<T> {
  if (throttleMs <= 0) return response;
  ctx.connection.throttle(throttleMs);
  if (clientThrottles) return response;
  return new Promise((resolve) => setTimeout(() => resolve(response), throttleMs));
}

/**
 * The controller_mutation_rate quota of this request (CreateTopics, DeleteTopics,
 * CreatePartitions): strict from `strictFrom` (the version that knows THROTTLING_QUOTA_EXCEEDED),
 * permissive before (Kafka's ControllerMutationQuotaManager.newQuotaFor).
 */
export function mutationQuota(ctx: RequestContext, strictFrom: number): MutationQuota {
  return ctx.quotas.mutationQuota(ctx.connection.principal, ctx.header.clientId ?? '', ctx.header.apiVersion >= strictFrom, () => ctx.clock.now());
}

/** A topic refused by the mutation quota. */
export const THROTTLED = { errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, errorMessage: 'The throttling quota has been exceeded.' } as const;

/** The response's throttle time after the mutations; over the quota the connection is muted as long. */
export function mutationThrottle(ctx: RequestContext, quota: MutationQuota): number {
  const ms = quota.throttleTimeMs();
  if (ms > 0) ctx.connection.throttle(ms);
  return ms;
}
