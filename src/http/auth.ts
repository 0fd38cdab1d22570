// Credentials on the HTTP listener of a secured broker (issue 12): when any listener uses SASL,
// every path but the probes (/healthz, /readyz) needs HTTP Basic authentication with a user the
// brokers know: a SCRAM user's password (checked against the stored salted keys) or a PLAIN user
// of a listener's JAAS config. Prometheus scrapes with `basic_auth`; a browser asks for them once.
// The answer for a wrong or missing login is 401 with a Basic challenge; nothing about the user
// is told or logged beyond its name.

import type { IncomingMessage } from 'node:http';
import type { RouteGroup } from './server.js';

/** Checks a user name and password; resolves true when they are right. */
export type PasswordCheck = (user: string, password: string) => Promise<boolean>;

const OPEN = new Set(['/healthz', '/readyz']);

/** The user and password of a request's HTTP Basic Authorization header, if it has one. */
export function basicCredentials(req: IncomingMessage): { user: string; password: string } | null {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec((req.headers.authorization ?? '').trim());
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon > 0 ? { user: text.slice(0, colon), password: text.slice(colon + 1) } : null;
}

export function basicAuthGate(check: PasswordCheck, onFailure: (user: string | null, remote: string) => void = () => {}): RouteGroup {
  return async (req, url) => {
    if (OPEN.has(url.pathname)) return undefined;
    const header = req.headers.authorization ?? '';
    const creds = basicCredentials(req);
    const user = creds?.user ?? null;
    if (creds !== null && (await check(creds.user, creds.password))) return undefined;
    if (header !== '') onFailure(user, req.socket.remoteAddress ?? '');
    return {
      status: 401,
      body: { error: 'authentication required: HTTP Basic with a user of this broker (SCRAM or PLAIN)' },
      headers: { 'www-authenticate': 'Basic realm="brook", charset="UTF-8"' },
    };
  };
}
