// One connection to one broker. On connect it sends ApiVersions (our newest version; on
// UNSUPPORTED_VERSION the broker's v0-format answer names the range it takes, KIP-511) and from
// then on picks, per request, the highest version both sides support. Requests are pipelined and
// matched to responses by correlation id; a request that outlives its timeout closes the
// connection (as the Java client does: a late answer would leave it out of step). On SASL
// listeners it logs in after ApiVersions and again before the session the broker gives it ends
// (KIP-368).

import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { saslClient, type ClientSaslConfig } from '../security/sasl/client.js';
import { encodeRequestFrame, FrameSplitter, readResponseHeader, responseHeaderIsV1 } from '../../protocol/framing.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Reader } from '../../protocol/primitives/reader.js';
import type { Encodable } from '../../protocol/primitives/writer.js';
import { Apis, type Api } from './apis.js';
import { ConnectionError, KafkaError, UnsupportedVersionError } from './errors.js';

/** Largest response frame accepted (Fetch answers are bounded by the max_bytes we send). */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export interface ConnectionOptions {
  clientId?: string;
  /** Connect timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** Default per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Software name/version sent in ApiVersions v3+ (KIP-511). */
  softwareName?: string;
  softwareVersion?: string;
  /** TLS (SSL and SASL_SSL): node:tls options (ca, cert, key, servername, rejectUnauthorized...). */
  tls?: TlsConnectionOptions;
  /** SASL (SASL_PLAINTEXT and SASL_SSL): authenticates right after ApiVersions. */
  sasl?: ClientSaslConfig;
}

export interface RequestOptions {
  /** Overrides the connection's request timeout (e.g. a long-poll Fetch adds its max wait). */
  timeoutMs?: number;
  /** Narrows the versions this request may use (a feature that needs a version). */
  minVersion?: number;
  maxVersion?: number;
}

export interface VersionRange {
  min: number;
  max: number;
}

/** The options of the SASL requests themselves: they go ahead of a re-authentication's gate. */
const SASL_REQUEST: RequestOptions = Object.freeze({});

interface Pending {
  apiKey: number;
  version: number;
  headerV1: boolean;
  resolve(r: Reader): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class Connection {
  private nextCorrelation = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly frames = new FrameSplitter(MAX_RESPONSE_BYTES);
  private closedError: Error | undefined;
  private ranges = new Map<number, VersionRange>();
  private readonly requestTimeoutMs: number;
  /** SASL re-authentication (KIP-368): the login, the timer, and the gate requests wait behind while it runs. */
  private sasl: ClientSaslConfig | undefined;
  private reauthTimer: NodeJS.Timeout | undefined;
  private reauth: Promise<void> | null = null;
  private idleWaiter: (() => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly host: string,
    readonly port: number,
    private readonly clientId: string,
    requestTimeoutMs: number,
  ) {
    this.requestTimeoutMs = requestTimeoutMs;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (err) => this.fail(new ConnectionError(`connection to ${this.address} failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new ConnectionError(`connection to ${this.address} closed`)));
  }

  get address(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Connects and negotiates API versions. */
  static async open(host: string, port: number, opts: ConnectionOptions = {}): Promise<Connection> {
    const timeout = opts.connectTimeoutMs ?? 10_000;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = opts.tls ? tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, ...opts.tls }) : connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionError(`could not connect to ${host}:${port} within ${timeout} ms`));
      }, timeout);
      s.once(opts.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        resolve(s);
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new ConnectionError(`could not connect to ${host}:${port}: ${err.message}`, { cause: err }));
      };
      s.once('error', onError);
    });
    const conn = new Connection(socket, host, port, opts.clientId ?? 'brook-cli', opts.requestTimeoutMs ?? 30_000);
    try {
      await conn.negotiate(opts.softwareName ?? 'brook-cli', opts.softwareVersion ?? '0');
      if (opts.sasl) {
        conn.sasl = opts.sasl;
        conn.scheduleReauth(await conn.authenticate(opts.sasl));
      }
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /**
   * SASL: SaslHandshake v1, then SaslAuthenticate until the mechanism is done. A refusal is a
   * KafkaError (UNSUPPORTED_SASL_MECHANISM, SASL_AUTHENTICATION_FAILED) with the broker's message;
   * the broker closes the connection after it.
   */
  private async authenticate(cfg: ClientSaslConfig): Promise<number> {
    const hs = await this.request(Apis.saslHandshake, { mechanism: cfg.mechanism }, SASL_REQUEST);
    if (hs.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(hs.errorCode, `SASL handshake with ${this.address}: mechanism ${cfg.mechanism} (the broker enables ${hs.mechanisms.join(', ') || 'none'})`);
    }
    const client = saslClient(cfg);
    let challenge: Buffer | null = null;
    let lifetimeMs = 0;
    for (let round = 0; round < 10; round++) {
      const token = await client.next(challenge);
      if (token === null) return lifetimeMs;
      const r = await this.request(Apis.saslAuthenticate, { authBytes: token }, SASL_REQUEST);
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `SASL ${cfg.mechanism} authentication with ${this.address}: ${r.errorMessage ?? 'failed'}`);
      challenge = r.authBytes;
      lifetimeMs = Number(r.sessionLifetimeMs);
      // PLAIN and OAUTHBEARER are done after one accepted token with an empty answer.
      if (challenge.length === 0 && cfg.mechanism !== 'SCRAM-SHA-256' && cfg.mechanism !== 'SCRAM-SHA-512') return lifetimeMs;
    }
    throw new ConnectionError(`SASL ${cfg.mechanism} authentication with ${this.address} did not finish`);
  }

  /**
   * KIP-368: a broker that limits the session (connections.max.reauth.ms, a token's expiry) closes
   * the connection at a request after it unless the client logs in again on it. As the Java
   * client, at a random 85-95 % of the lifetime new requests wait, the ones in flight finish, and
   * the handshake and login run again; a refused login closes the connection.
   */
  private scheduleReauth(lifetimeMs: number): void {
    if (!(lifetimeMs > 0) || this.closedError !== undefined) return;
    this.reauthTimer = setTimeout(() => {
      this.reauth = this.reauthenticate().finally(() => (this.reauth = null));
    }, Math.max(1, Math.floor(lifetimeMs * (0.85 + Math.random() * 0.1))));
    this.reauthTimer.unref();
  }

  private async reauthenticate(): Promise<void> {
    if (this.pending.size > 0) await new Promise<void>((resolve) => (this.idleWaiter = resolve));
    if (this.closedError !== undefined || this.sasl === undefined) return;
    try {
      this.scheduleReauth(await this.authenticate(this.sasl));
    } catch (err) {
      this.fail(new ConnectionError(`SASL re-authentication with ${this.address} failed: ${(err as Error).message}`, { cause: err }));
      this.socket.destroy();
    }
  }

  /** The versions the broker advertised, by API key. */
  get apiVersions(): ReadonlyMap<number, VersionRange> {
    return this.ranges;
  }

  /** ApiVersions at our newest version; on UNSUPPORTED_VERSION again at the broker's newest (or v0). */
  private async negotiate(name: string, version: string): Promise<void> {
    const api = Apis.apiVersions;
    let v = api.maxVersion;
    for (let attempt = 0; attempt < 3; attempt++) {
      const body = { clientSoftwareName: name, clientSoftwareVersion: version };
      const r = await this.send(api, v, body, this.requestTimeoutMs, (reader, ver) => {
        // A broker that does not know this version answers a v0 body (error code, then a classic
        // array) whatever we asked: peek at the error code before choosing the decoder.
        const code = reader.buf.readInt16BE(reader.offset);
        return code === ErrorCode.UNSUPPORTED_VERSION ? api.decode(reader, 0) : api.decode(reader, ver);
      });
      if (r.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
        const mine = r.apiKeys.find((k) => k.apiKey === api.apiKey);
        const next = mine ? Math.min(mine.maxVersion, v - 1) : 0;
        if (next < 0 || next >= v) break;
        v = next;
        continue;
      }
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `ApiVersions from ${this.address}`);
      this.ranges = new Map(r.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
      return;
    }
    throw new UnsupportedVersionError('ApiVersions', 'at any version this client speaks');
  }

  /** The version a request of `api` would use, or undefined if none is common. */
  version(api: Api<unknown, unknown>, opts: RequestOptions = {}): number | undefined {
    const broker = this.ranges.get(api.apiKey);
    if (!broker) return undefined;
    const max = Math.min(api.maxVersion, broker.max, opts.maxVersion ?? Infinity);
    const min = Math.max(api.minVersion, broker.min, opts.minVersion ?? -Infinity);
    return max >= min ? max : undefined;
  }

  private pickVersion(api: Api<unknown, unknown>, opts: RequestOptions): number {
    const v = this.version(api, opts);
    if (v !== undefined) return v;
    const broker = this.ranges.get(api.apiKey);
    const want = `v${Math.max(api.minVersion, opts.minVersion ?? 0)}-${Math.min(api.maxVersion, opts.maxVersion ?? Infinity)}`;
    throw new UnsupportedVersionError(api.name, broker ? `${want} (it serves v${broker.min}-${broker.max})` : `(API key ${api.apiKey} is not served)`);
  }

  /**
   * Sends a request at the highest common version and resolves with the decoded response. `body`
   * may be a function of the version for requests whose shape changes across versions.
   */
  request<Req, Resp>(api: Api<Req, Resp>, body: Encodable<Req> | ((version: number) => Encodable<Req>), opts: RequestOptions = {}): Promise<Resp> {
    if (this.reauth !== null && opts !== SASL_REQUEST) return this.reauth.then(() => this.request(api, body, opts));
    let version: number;
    try {
      version = this.pickVersion(api as Api<unknown, unknown>, opts);
    } catch (err) {
      return Promise.reject(err);
    }
    const b = typeof body === 'function' ? (body as (v: number) => Encodable<Req>)(version) : body;
    return this.send(api, version, b, opts.timeoutMs ?? this.requestTimeoutMs);
  }

  /** Sends a request that gets no response (Produce with acks=0). Resolves once written. */
  sendOnly<Req>(api: Api<Req, unknown>, body: Encodable<Req> | ((version: number) => Encodable<Req>), opts: RequestOptions = {}): Promise<void> {
    if (this.reauth !== null) return this.reauth.then(() => this.sendOnly(api, body, opts));
    if (this.closedError) return Promise.reject(this.closedError);
    let version: number;
    try {
      version = this.pickVersion(api as Api<unknown, unknown>, opts);
    } catch (err) {
      return Promise.reject(err);
    }
    const b = typeof body === 'function' ? (body as (v: number) => Encodable<Req>)(version) : body;
    const frame = this.frame(api, version, b, this.nextCorrelation++);
    return new Promise((resolve, reject) => {
      this.socket.write(frame, (err) => (err ? reject(new ConnectionError(`write to ${this.address} failed: ${err.message}`)) : resolve()));
    });
  }

  private frame<Req>(api: Api<Req, unknown>, version: number, body: Encodable<Req>, correlationId: number): Buffer {
    const flexible = api.flexibleMin >= 0 && version >= api.flexibleMin;
    return encodeRequestFrame({ apiKey: api.apiKey, apiVersion: version, correlationId, clientId: this.clientId }, flexible, (w) =>
      api.encode(w, body, version),
    );
  }

  private send<Req, Resp>(
    api: Api<Req, Resp>,
    version: number,
    body: Encodable<Req>,
    timeoutMs: number,
    decode: (r: Reader, version: number) => Resp = (r, v) => api.decode(r, v),
  ): Promise<Resp> {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelation++;
    const frame = this.frame(api, version, body, correlationId);
    const respFlexMin = api.responseFlexibleMin ?? api.flexibleMin;
    const headerV1 = responseHeaderIsV1(api.apiKey, respFlexMin >= 0 && version >= respFlexMin);
    return new Promise<Resp>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        const err = new ConnectionError(`${api.name} request to ${this.address} timed out after ${timeoutMs} ms`);
        reject(err);
        this.fail(err);
        this.socket.destroy();
      }, timeoutMs);
      this.pending.set(correlationId, {
        apiKey: api.apiKey,
        version,
        headerV1,
        timer,
        reject,
        resolve: (r) => {
          try {
            const resp = decode(r, version);
            r.complete();
            resolve(resp);
          } catch (err) {
            const e = new ConnectionError(`malformed ${api.name} v${version} response from ${this.address}: ${(err as Error).message}`);
            reject(e);
            this.fail(e);
            this.socket.destroy();
          }
        },
      });
      this.socket.write(frame);
    });
  }

  private onData(d: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.frames.push(d);
    } catch (err) {
      this.fail(new ConnectionError(`bad response from ${this.address}: ${(err as Error).message}`));
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (frame.length < 4) {
        this.fail(new ConnectionError(`bad response frame size ${frame.length} from ${this.address}`));
        this.socket.destroy();
        return;
      }
      const correlationId = frame.readInt32BE(0);
      const p = this.pending.get(correlationId);
      if (!p) {
        this.fail(new ConnectionError(`response with unknown correlation id ${correlationId} from ${this.address}`));
        this.socket.destroy();
        return;
      }
      this.pending.delete(correlationId);
      clearTimeout(p.timer);
      const r = new Reader(frame);
      readResponseHeader(r, p.headerV1);
      p.resolve(r);
      if (this.pending.size === 0 && this.idleWaiter !== null) this.wakeIdle();
    }
  }

  private wakeIdle(): void {
    const w = this.idleWaiter;
    this.idleWaiter = null;
    w?.();
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    clearTimeout(this.reauthTimer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.wakeIdle();
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  close(): void {
    this.fail(new ConnectionError(`connection to ${this.address} closed by the client`));
    this.socket.destroy();
  }
}
