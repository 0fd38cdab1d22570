// Client quota throttling shared by Produce and Fetch (Kafka's ClientQuotaManager.throttle and
// KIP-219). A throttled request's response carries throttle_time_ms and its connection is not
// read for that long. Clients from before KIP-219 (Produce < v6, Fetch < v8) do not back off by
// themselves: as Kafka does, their response is held for the throttle time instead.

import type { ThrottledQuota } from '../security/quotas.js';
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
