// One listener: accepts connections (TCP, or TLS on an SSL listener) and hands each to a
// Connection. Shutdown stops accepting, stops reading, lets in-flight requests finish (bounded by a
// grace period), then closes sockets.
//
// TLS: a connection becomes a Connection once its handshake is done. A failed handshake (garbage
// bytes, a plaintext Kafka request, no or an untrusted client certificate when required) is one
// debug line and the socket closed by node:tls. The principal is the client certificate's subject
// (RFC 2253 order) when the client sent one the truststore accepts, ANONYMOUS otherwise.

import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from '../common/logger.js';
import { Connection, type ConnectionIdentity, type ConnectionLimits, type RequestProcessor, type SecurityProtocol } from './connection.js';
import { SaslAuthenticator, type SaslDeps } from './sasl-authenticator.js';
import { nodeTls } from '../common/builtins.js';
import type { ConnectionQuota } from './connection-quota.js';

/** Which listener this server is: its name and protocol, and TLS options for SSL. */
export interface ListenerIdentity {
  name: string;
  protocol: SecurityProtocol;
  /** SSL and SASL_SSL. */
  tls?: TlsOptions;
  /** SASL_PLAINTEXT and SASL_SSL: every connection authenticates first. */
  sasl?: SaslDeps;
}

/** "CN=client,O=Example" from a certificate subject (RFC 2253: most specific first). */
export function distinguishedName(subject: Record<string, string | string[]> | undefined): string | null {
  if (!subject) return null;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(subject)) for (const one of Array.isArray(v) ? v : [v]) parts.push(`${k}=${one.replace(/([,+"\\<>;])/g, '\\$1')}`);
  return parts.length === 0 ? null : parts.reverse().join(',');
}

export interface ListenerOptions {
  host: string;
  port: number;
}

function heldKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

export class Server {
  private readonly net: NetServer;
  private readonly connections = new Set<Connection>();
  /** Every accepted TCP socket, including TLS ones still in their handshake (closed by close()). */
  private readonly sockets = new Set<Socket>();
  /** Connections held by connection_creation_rate ("address|port"). */
  private readonly held = new Set<string>();
  private nextId = 1;

  constructor(
    private readonly process: RequestProcessor,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    readonly listener: ListenerIdentity = { name: 'PLAINTEXT', protocol: 'PLAINTEXT' },
    /** max.connections / max.connections.per.ip, shared by the broker's listeners. */
    private readonly quota?: ConnectionQuota,
  ) {
    const accept = (socket: Socket, identity: ConnectionIdentity): void => {
      // Held by connection_creation_rate (below): never read, closed when its time is up.
      if (this.held.has(heldKey(socket))) {
        socket.pause();
        return;
      }
      if (socket.destroyed) return; // refused by a connection cap just before
      const c = new Connection(this.nextId++, socket, this.process, this.limits, this.logger, (conn) => this.connections.delete(conn), identity);
      if (listener.sasl) {
        c.gate = new SaslAuthenticator(listener.sasl, {
          id: c.id,
          remote: c.remote,
          setPrincipal: (p) => (c.principal = p),
        });
      }
      this.connections.add(c);
      this.logger.debug({ conn: c.id, remote: c.remote, listener: identity.listener, principal: identity.principal }, 'connection accepted');
    };
    const secured = listener.protocol === 'SSL' || listener.protocol === 'SASL_SSL';
    const sasl = listener.protocol === 'SASL_PLAINTEXT' || listener.protocol === 'SASL_SSL';
    if (sasl && !listener.sasl) throw new Error(`listener ${listener.name} is ${listener.protocol} but has no SASL settings`);
    if (secured) {
      if (!listener.tls) throw new Error(`listener ${listener.name} is ${listener.protocol} but has no TLS options`);
      const tls = nodeTls().createServer(listener.tls, (socket: TLSSocket) => {
        const dn = socket.authorized ? distinguishedName(socket.getPeerCertificate()?.subject as Record<string, string | string[]> | undefined) : null;
        // SASL_SSL: the SASL user becomes the principal once authenticated.
        accept(socket, { listener: listener.name, securityProtocol: listener.protocol, principal: sasl ? 'ANONYMOUS' : (dn ?? 'ANONYMOUS') });
      });
      // A handshake that fails (garbage, plaintext, a refused client certificate): node:tls
      // destroys the socket; one line.
      tls.on('tlsClientError', (err, socket) => {
        this.logger.debug({ listener: listener.name, remote: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'TLS handshake failed; connection closed');
        socket.destroy();
      });
      this.net = tls;
    } else {
      this.net = createServer((socket) => accept(socket, { listener: listener.name, securityProtocol: listener.protocol, principal: 'ANONYMOUS' }));
    }
    // Ahead of the listener's own handler (plaintext: accept; TLS: the handshake).
    this.net.prependListener('connection', (socket: Socket) => {
      const address = socket.remoteAddress;
      const throttleMs = this.quota?.throttle(address) ?? 0;
      if (throttleMs > 0) {
        // Over the address's connection_creation_rate: held unread, then closed (Kafka's acceptor).
        this.logger.debug({ listener: listener.name, remote: `${address}:${socket.remotePort}`, throttleMs }, 'connection throttled (connection_creation_rate): closed after the throttle time');
        const key = heldKey(socket);
        this.held.add(key);
        socket.pause();
        this.sockets.add(socket);
        const timer = setTimeout(() => socket.destroy(), throttleMs);
        socket.once('close', () => {
          clearTimeout(timer);
          this.held.delete(key);
          this.sockets.delete(socket);
        });
        socket.on('error', () => {});
        return;
      }
      const refused = this.quota?.acquire(address) ?? null;
      if (refused !== null) {
        // Past a connection cap: closed at once, one debug line.
        this.logger.debug({ listener: listener.name, remote: `${address}:${socket.remotePort}` }, `connection refused: ${refused}`);
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.quota?.release(address);
      });
    });
    // Errors before the listener is bound (port in use, ...) reject listen() instead.
    this.net.on('error', (err) => {
      if (this.net.listening) this.logger.error({ err }, 'listener error');
    });
  }

  listen(opts: ListenerOptions): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.net.once('error', onError);
      this.net.listen(opts.port, opts.host, () => {
        this.net.off('error', onError);
        const addr = this.net.address();
        if (addr === null || typeof addr === 'string') return reject(new Error('listener has no address'));
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Requests read and not yet answered over this listener's connections. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.connections) n += c.inFlight;
    return n;
  }

  /** Closes every open connection at once (fault injection, tests); returns how many there were. */
  dropConnections(): number {
    const n = this.connections.size;
    for (const c of this.connections) c.destroy();
    return n;
  }

  async close(graceMs = 5000): Promise<void> {
    const closed = new Promise<void>((r) => this.net.close(() => r()));
    for (const c of this.connections) c.stopReading();
    const drained = Promise.all([...this.connections].map((c) => c.drained()));
    await Promise.race([drained, new Promise((r) => setTimeout(r, graceMs).unref())]);
    for (const c of this.connections) c.destroy();
    // TLS sockets whose handshake has not finished are not Connections yet.
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
