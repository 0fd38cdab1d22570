// Connection limits shared by every listener of a broker (issue 11), with Kafka's names:
//   max.connections                   the broker-wide cap on open client connections;
//   max.connections.per.ip            the cap per client address;
//   max.connections.per.ip.overrides  "address:count,..." exceptions to it (IP addresses; Kafka
//                                     also resolves host names, Brook matches addresses only).
// A connection past a cap is closed at once. Kafka closes those past the per-address cap too, but
// holds connections past max.connections in the accept backlog until a slot frees up; Node's
// listener cannot stop accepting, so Brook closes them as well (clients reconnect with their
// back-off). Counted from the TCP accept, TLS handshakes included.
// connection_creation_rate, the client quota of an ip entity (KIP-612), limits how fast an address
// opens connections: one over it is held without being read for the throttle time (at most one
// quota sample) and then closed, as Kafka's acceptor does.

export interface ConnectionQuotaConfig {
  maxConnections: number;
  maxPerIp: number;
  /** Address -> its own cap. */
  overrides: ReadonlyMap<string, number>;
}

/** Parses max.connections.per.ip.overrides ("1.2.3.4:100,::1:5"): the last colon splits. */
export function parsePerIpOverrides(value: string | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (value ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const i = part.lastIndexOf(':');
    const n = Number(part.slice(i + 1));
    if (i <= 0 || !Number.isInteger(n) || n < 0) throw new Error(`max.connections.per.ip.overrides: bad entry "${part}" (address:count)`);
    out.set(normalize(part.slice(0, i)), n);
  }
  return out;
}

/** IPv4-mapped IPv6 addresses count as their IPv4 address. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export class ConnectionQuota {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly cfg: ConnectionQuotaConfig,
    /** connection_creation_rate (KIP-612): 0 to accept a new connection from the address, else ms to hold it before closing it. */
    private readonly creationThrottle: (ip: string) => number = () => 0,
  ) {}

  /**
   * A new connection over its address's connection_creation_rate: the ms Kafka holds it (unread)
   * before closing it, else 0 (checked before acquire(), and not counted when throttled).
   */
  throttle(address: string | undefined): number {
    return this.creationThrottle(normalize(address ?? ''));
  }

  /** Takes a slot for a new connection from `address`; the reason it is refused otherwise. */
  acquire(address: string | undefined): string | null {
    const ip = normalize(address ?? '');
    if (this.total >= this.cfg.maxConnections) return `max.connections (${this.cfg.maxConnections}) reached`;
    const limit = this.cfg.overrides.get(ip) ?? this.cfg.maxPerIp;
    const n = this.perIp.get(ip) ?? 0;
    if (n >= limit) return `max.connections.per.ip (${limit}) reached for ${ip}`;
    this.total++;
    this.perIp.set(ip, n + 1);
    return null;
  }

  release(address: string | undefined): void {
    const ip = normalize(address ?? '');
    const n = this.perIp.get(ip);
    if (n === undefined) return;
    this.total--;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
  }

  get open(): number {
    return this.total;
  }
}
