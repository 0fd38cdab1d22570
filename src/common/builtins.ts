// Node built-in modules that only some brokers use, loaded on first use instead of at import:
// node:tls (SSL listeners) and node:dns/promises (host checks of client quotas). A plaintext
// broker never loads them, which keeps them out of its memory and its start.
import { createRequire } from 'node:module';
import type * as Tls from 'node:tls';
import type * as DnsPromises from 'node:dns/promises';

const load = createRequire(import.meta.url);

let tlsModule: typeof Tls | undefined;
let dnsModule: typeof DnsPromises | undefined;

export function nodeTls(): typeof Tls {
  return (tlsModule ??= load('node:tls') as typeof Tls);
}

export function nodeDnsPromises(): typeof DnsPromises {
  return (dnsModule ??= load('node:dns/promises') as typeof DnsPromises);
}
