// Small helpers shared by the group handlers.

import type { RequestContext } from './types.js';

/** Kafka reports a member's host the way Java prints an InetAddress: "/127.0.0.1". */
export function clientHost(ctx: RequestContext): string {
  const remote = ctx.connection.remote;
  const i = remote.lastIndexOf(':');
  return `/${i > 0 ? remote.slice(0, i) : remote}`;
}
