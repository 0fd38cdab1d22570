// A minimal Kafka client on Brook's own codecs: one connection, pipelined requests, responses
// matched strictly in order (it fails loudly if the broker answers out of order, which is what
// the Java client and librdkafka would do). Used by the tests and the load generator.

import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { encodeRequestFrame, FrameSplitter, readResponseHeader, responseHeaderIsV1 } from '../../protocol/framing.js';
import { Reader } from '../../protocol/primitives/reader.js';
import type { Encodable, Writer } from '../../protocol/primitives/writer.js';

export interface ClientApi<Req, Resp> {
  apiKey: number;
  flexibleMin: number;
  responseFlexibleMin?: number;
  encode(w: Writer, m: Encodable<Req>, version: number): void;
  decode(r: Reader, version: number): Resp;
}

/** Pairs an API's meta with its request encoder and response decoder. */
export function clientApi<Req, Resp>(
  meta: { apiKey: number; flexibleMin: number; responseFlexibleMin?: number },
  encode: (w: Writer, m: Encodable<Req>, version: number) => void,
  decode: (r: Reader, version: number) => Resp,
): ClientApi<Req, Resp> {
  return { apiKey: meta.apiKey, flexibleMin: meta.flexibleMin, responseFlexibleMin: meta.responseFlexibleMin, encode, decode };
}

interface Pending {
  correlationId: number;
  resolve(frame: Buffer): void;
  reject(err: Error): void;
}

export class RawClient {
  private nextCorrelation = 1;
  private readonly pending: Pending[] = [];
  private readonly frames = new FrameSplitter();
  private closedError: Error | undefined;

  private constructor(
    readonly socket: Socket,
    readonly clientId: string | null,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    const fail = (err: Error): void => {
      this.closedError ??= err;
      for (const p of this.pending.splice(0)) p.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static connect(host: string, port: number, clientId: string | null = 'brook-raw'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => {
        s.off('error', reject);
        resolve(new RawClient(s, clientId));
      });
      s.once('error', reject);
    });
  }

  /** Over TLS (an SSL listener; `options` carry the CA and any client certificate). */
  static connectTls(options: ConnectionOptions, clientId: string | null = 'brook-raw'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect(options, () => {
        s.off('error', reject);
        resolve(new RawClient(s, clientId));
      });
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Resolves when the broker closes the connection (or after timeoutMs with false). */
  waitClosed(timeoutMs = 5000): Promise<boolean> {
    if (this.socket.destroyed || this.closedError) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  private onData(d: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.frames.push(d);
    } catch (err) {
      this.socket.destroy(err as Error);
      return;
    }
    for (const frame of frames) {
      const p = this.pending.shift();
      if (!p) {
        this.socket.destroy(new Error('unexpected response frame'));
        return;
      }
      p.resolve(frame);
    }
  }

  /** Writes raw bytes (malformed-input tests). */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a request and resolves with the decoded response. */
  request<Req, Resp>(api: ClientApi<Req, Resp>, version: number, body: Encodable<Req>): Promise<Resp> {
    const { frame, correlationId } = this.encode(api, version, body);
    const flexible = api.flexibleMin >= 0 && version >= api.flexibleMin;
    const respFlexible = (api.responseFlexibleMin ?? api.flexibleMin) >= 0 && version >= (api.responseFlexibleMin ?? api.flexibleMin);
    return new Promise<Buffer>((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      this.pending.push({ correlationId, resolve, reject });
      this.socket.write(frame);
    }).then((raw) => {
      const r = new Reader(raw);
      const got = readResponseHeader(r, responseHeaderIsV1(api.apiKey, flexible && respFlexible));
      if (got !== correlationId) throw new Error(`correlation id mismatch: expected ${correlationId}, got ${got}`);
      const resp = api.decode(r, version);
      r.complete();
      return resp;
    });
  }

  /** Sends a request that gets no response (acks=0 Produce). */
  send<Req>(api: ClientApi<Req, unknown>, version: number, body: Encodable<Req>): void {
    this.socket.write(this.encode(api, version, body).frame);
  }

  encode<Req>(api: ClientApi<Req, unknown>, version: number, body: Encodable<Req>): { frame: Buffer; correlationId: number } {
    const correlationId = this.nextCorrelation++;
    const flexible = api.flexibleMin >= 0 && version >= api.flexibleMin;
    const frame = encodeRequestFrame({ apiKey: api.apiKey, apiVersion: version, correlationId, clientId: this.clientId }, flexible, (w) =>
      api.encode(w, body, version),
    );
    return { frame: Buffer.from(frame), correlationId };
  }

  close(): void {
    this.socket.destroy();
  }
}
