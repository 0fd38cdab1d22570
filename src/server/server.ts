// The TCP listener: accepts connections and hands each to a Connection. Shutdown stops accepting,
// stops reading, lets in-flight requests finish (bounded by a grace period), then closes sockets.

import { createServer, type Server as NetServer } from 'node:net';
import type { Logger } from '../common/logger.js';
import { Connection, type ConnectionLimits, type RequestProcessor } from './connection.js';

export interface ListenerOptions {
  host: string;
  port: number;
}

export class Server {
  private readonly net: NetServer;
  private readonly connections = new Set<Connection>();
  private nextId = 1;

  constructor(
    private readonly process: RequestProcessor,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
  ) {
    this.net = createServer((socket) => {
      const c = new Connection(this.nextId++, socket, this.process, this.limits, this.logger, (conn) =>
        this.connections.delete(conn),
      );
      this.connections.add(c);
      this.logger.debug({ conn: c.id, remote: c.remote }, 'connection accepted');
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
    await closed;
  }
}
