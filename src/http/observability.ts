// The observability routes of Brook's HTTP listener (issue 12):
//
//   GET /metrics   Prometheus text format (src/metrics/metrics.ts)
//   GET /healthz   the process answers: {"status":"ok"}
//   GET /readyz    ready to serve clients: the log is recovered and the listeners are bound (the
//                  broker is started) and, in a cluster, it is registered in the metadata store
//                  with a live session. 200 {"status":"ready"} or 503 {"status":"not ready","reasons":[...]}

import type { BrokerMetrics } from '../metrics/metrics.js';
import type { RouteGroup } from './server.js';

export interface Readiness {
  /** Why the broker cannot serve now; empty when it can. */
  problems(): string[];
}

export function observabilityRoutes(metrics: BrokerMetrics | null, readiness: Readiness): RouteGroup {
  return async (req, url) => {
    if ((req.method ?? 'GET') !== 'GET') return undefined;
    switch (url.pathname) {
      case '/metrics':
        if (metrics === null) return { status: 404, body: { error: 'metrics are off' } };
        return { status: 200, body: await metrics.scrape(), contentType: metrics.contentType };
      case '/healthz':
        return { status: 200, body: { status: 'ok' } };
      case '/readyz': {
        const reasons = readiness.problems();
        return reasons.length === 0 ? { status: 200, body: { status: 'ready' } } : { status: 503, body: { status: 'not ready', reasons } };
      }
      default:
        return undefined;
    }
  };
}
