// MetadataKv on a real etcd (3.4 or later) through etcd's v3 JSON gateway: the same RPCs as the
// gRPC API (KV Range/Put/DeleteRange/Txn, Lease Grant/Revoke/KeepAlive, Watch), served by etcd
// itself as JSON over HTTP/1.1 on the client port, keys and values base64, int64 as strings.
// No dependency: node:http only, so loading this module costs a few ms (an npm gRPC client
// costs ~110-170 ms and ~24 MiB to import, and loads .proto files from disk at run time, which
// the bundled `brook` command and the single executable cannot carry).
//
// Endpoints: requests go to the current endpoint; a connection failure moves to the next one and
// the request is retried there only when it cannot have reached etcd (connection refused) or the
// request is a read. Writes that failed mid-flight answer UNAVAILABLE: the caller re-reads and
// decides (a CAS is safe to re-run, a blind put is not our business to repeat).
//
// Watches: one streaming HTTP request per watch (the gateway answers a Watch with
// newline-delimited JSON messages, one per WatchResponse). When the stream breaks (etcd
// restarted, connection lost) the watch is created again from the revision after the last event
// delivered, with backoff, on the next endpoint: delivery stays in order with no gap and no
// duplicate. If that revision was compacted meanwhile the listener gets COMPACTED.
//
// Not done here: TLS and authentication (etcd's --client-cert-auth, user/password tokens).

import http from 'node:http';
import {
  MetadataError,
  prefixEnd,
  type Compare,
  type KeyValue,
  type MetadataKv,
  type RangeResult,
  type TxnOp,
  type TxnResult,
  type WatchEvent,
  type WatchHandle,
  type WatchListener,
} from './kv.js';

export interface EtcdKvOptions {
  /** Per-request timeout for unary calls (ms). */
  requestTimeoutMs?: number;
  /** First and longest pause between watch reconnects (ms). */
  watchBackoffMs?: { min: number; max: number };
}

// gRPC status codes the gateway puts in its error bodies.
const GRPC_NOT_FOUND = 5;
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_OUT_OF_RANGE = 11;
const GRPC_UNAVAILABLE = 14;

const b64 = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s) : s).toString('base64');
const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString() : '');
const int = (s: string | number | undefined): number => (s === undefined ? 0 : Number(s));

interface JsonKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

function toKv(j: JsonKv): KeyValue {
  return {
    key: unb64(j.key),
    value: unb64(j.value),
    createRevision: int(j.create_revision),
    modRevision: int(j.mod_revision),
    version: int(j.version),
    lease: j.lease ?? '0',
  };
}

function rangeFields(key: string, prefix: boolean | undefined): { key: string; range_end?: string } {
  const k = Buffer.from(key);
  return prefix ? { key: b64(k), range_end: b64(prefixEnd(k)) } : { key: b64(k) };
}

function compareJson(c: Compare): Record<string, unknown> {
  switch (c.target) {
    case 'mod':
      return { key: b64(c.key), target: 'MOD', result: 'EQUAL', mod_revision: String(c.equals) };
    case 'create':
      return { key: b64(c.key), target: 'CREATE', result: 'EQUAL', create_revision: String(c.equals) };
    case 'version':
      return { key: b64(c.key), target: 'VERSION', result: 'EQUAL', version: String(c.equals) };
    case 'value':
      return { key: b64(c.key), target: 'VALUE', result: 'EQUAL', value: b64(c.equals) };
  }
}

function opJson(op: TxnOp): Record<string, unknown> {
  switch (op.type) {
    case 'put':
      return { request_put: { key: b64(op.key), value: b64(op.value), ...(op.lease && op.lease !== '0' ? { lease: op.lease } : {}) } };
    case 'delete':
      return { request_delete_range: rangeFields(op.key, op.prefix) };
    case 'get':
      return { request_range: rangeFields(op.key, op.prefix) };
  }
}

function errorFrom(status: number, body: string): MetadataError {
  let code = -1;
  let message = body.slice(0, 200);
  try {
    const j = JSON.parse(body) as { code?: number; message?: string; error?: string };
    code = j.code ?? -1;
    message = j.message ?? j.error ?? message;
  } catch {
    // not JSON: keep the raw text
  }
  if (code === GRPC_NOT_FOUND && /lease/.test(message)) return new MetadataError('LEASE_NOT_FOUND', message);
  if (code === GRPC_OUT_OF_RANGE && /compacted/.test(message)) return new MetadataError('COMPACTED', message);
  if (code === GRPC_INVALID_ARGUMENT) return new MetadataError('INVALID', message);
  if (code === GRPC_UNAVAILABLE || status === 503) return new MetadataError('UNAVAILABLE', message);
  return new MetadataError('INTERNAL', `etcd answered HTTP ${status}: ${message}`);
}

/** Whether a socket error means the request never reached the server. */
function notSent(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH';
}

/** Parses `host:port[,host:port...]` (an http:// scheme on each is allowed) into base URLs. */
export function parseEndpoints(list: string): URL[] {
  const out: URL[] = [];
  for (const raw of list.split(',')) {
    const s = raw.trim();
    if (!s) continue;
    const u = new URL(/^[a-z]+:\/\//i.test(s) ? s : `http://${s}`);
    if (u.protocol !== 'http:') throw new Error(`etcd endpoint ${s}: only http is supported`);
    if (!u.port) u.port = '2379';
    out.push(u);
  }
  if (out.length === 0) throw new Error('no etcd endpoint given');
  return out;
}

export class EtcdKv implements MetadataKv {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly watches = new Set<EtcdWatch>();
  private current = 0;
  private closed = false;
  readonly requestTimeoutMs: number;
  readonly watchBackoffMs: { min: number; max: number };

  constructor(
    readonly endpoints: URL[],
    options: EtcdKvOptions = {},
  ) {
    if (endpoints.length === 0) throw new Error('EtcdKv needs at least one endpoint');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.watchBackoffMs = options.watchBackoffMs ?? { min: 50, max: 2000 };
  }

  async range(key: string, options: { prefix?: boolean } = {}): Promise<RangeResult> {
    const r = (await this.call('/v3/kv/range', rangeFields(key, options.prefix), true)) as {
      header: { revision: string };
      kvs?: JsonKv[];
    };
    return { kvs: (r.kvs ?? []).map(toKv), revision: int(r.header.revision) };
  }

  async put(key: string, value: string, lease?: string): Promise<number> {
    const body = { key: b64(key), value: b64(value), ...(lease && lease !== '0' ? { lease } : {}) };
    const r = (await this.call('/v3/kv/put', body, false)) as { header: { revision: string } };
    return int(r.header.revision);
  }

  async delete(key: string, options: { prefix?: boolean } = {}): Promise<number> {
    const r = (await this.call('/v3/kv/deleterange', rangeFields(key, options.prefix), false)) as { header: { revision: string } };
    return int(r.header.revision);
  }

  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    const body = { compare: compare.map(compareJson), success: success.map(opJson), failure: failure.map(opJson) };
    const readOnly = success.every((o) => o.type === 'get') && failure.every((o) => o.type === 'get');
    const r = (await this.call('/v3/kv/txn', body, readOnly)) as {
      header: { revision: string };
      succeeded?: boolean;
      responses?: { response_range?: { kvs?: JsonKv[] } }[];
    };
    const ops = r.succeeded ? success : failure;
    const responses = r.responses ?? [];
    return {
      succeeded: r.succeeded === true,
      revision: int(r.header.revision),
      results: ops.map((op, i) => (op.type === 'get' ? (responses[i]?.response_range?.kvs ?? []).map(toKv) : null)),
    };
  }

  async grantLease(ttlSeconds: number): Promise<{ id: string; ttlSeconds: number }> {
    const r = (await this.call('/v3/lease/grant', { TTL: String(Math.max(1, Math.ceil(ttlSeconds))) }, false)) as {
      ID: string;
      TTL: string;
      error?: string;
    };
    if (r.error) throw new MetadataError('INTERNAL', `lease grant: ${r.error}`);
    return { id: r.ID, ttlSeconds: int(r.TTL) };
  }

  async keepAliveLease(id: string): Promise<number> {
    // LeaseKeepAlive is a stream; the gateway answers one request body with one message and
    // ends the stream when the body ends.
    const text = await this.send('/v3/lease/keepalive', { ID: id }, true);
    const first = text.split('\n').find((l) => l.trim() !== '');
    if (!first) throw new MetadataError('UNAVAILABLE', 'lease keepalive: empty answer');
    const j = JSON.parse(first) as { result?: { TTL?: string }; error?: { message?: string; http_code?: number } };
    if (!j.result) throw new MetadataError('UNAVAILABLE', `lease keepalive: ${j.error?.message ?? first.slice(0, 200)}`);
    return int(j.result.TTL);
  }

  async revokeLease(id: string): Promise<void> {
    try {
      await this.call('/v3/lease/revoke', { ID: id }, false);
    } catch (err) {
      if (err instanceof MetadataError && err.code === 'LEASE_NOT_FOUND') return;
      throw err;
    }
  }

  watch(key: string, fromRevision: number, listener: WatchListener, options: { prefix?: boolean } = {}): WatchHandle {
    if (this.closed) {
      queueMicrotask(() => listener.onError(new MetadataError('CLOSED', 'metadata store closed')));
      return { cancel() {} };
    }
    const w = new EtcdWatch(this, key, options.prefix ?? false, Math.max(1, fromRevision), listener, () => this.watches.delete(w));
    this.watches.add(w);
    w.start();
    return { cancel: () => w.cancel() };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.fail(new MetadataError('CLOSED', 'metadata store closed'));
    this.agent.destroy();
  }

  // -------------------------------------------------------------------------------------------

  /** The endpoint to use now; `failed` moves on to the next one. */
  endpoint(failed?: URL): URL {
    if (failed && this.endpoints[this.current] === failed) this.current = (this.current + 1) % this.endpoints.length;
    return this.endpoints[this.current];
  }

  private async call(path: string, body: unknown, idempotent: boolean): Promise<unknown> {
    return JSON.parse(await this.send(path, body, idempotent));
  }

  /** POSTs JSON, answers the body; tries each endpoint at most once. */
  private async send(path: string, body: unknown, idempotent: boolean): Promise<string> {
    if (this.closed) throw new MetadataError('CLOSED', 'metadata store closed');
    const payload = JSON.stringify(body);
    let lastError: unknown;
    for (let attempt = 0; attempt < this.endpoints.length; attempt++) {
      const ep = this.endpoint();
      try {
        const { status, text } = await this.post(ep, path, payload);
        if (status !== 200) throw errorFrom(status, text);
        return text;
      } catch (err) {
        if (err instanceof MetadataError) throw err;
        lastError = err;
        this.endpoint(ep);
        if (!idempotent && !notSent(err as NodeJS.ErrnoException)) break;
      }
    }
    const msg = lastError instanceof Error ? lastError.message : String(lastError);
    throw new MetadataError('UNAVAILABLE', `etcd unreachable (${this.endpoints.map((e) => e.host).join(',')}): ${msg}`);
  }

  private post(ep: URL, path: string, payload: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: ep.hostname,
          port: ep.port,
          path,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          timeout: this.requestTimeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error(`etcd request ${path} timed out`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

/** One watch: a streaming request, re-created from the next revision when it breaks. */
class EtcdWatch {
  private req: http.ClientRequest | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoff: number;
  private done = false;

  constructor(
    private readonly kv: EtcdKv,
    private readonly key: string,
    private readonly prefix: boolean,
    /** The first revision not delivered yet. */
    private next: number,
    private readonly listener: WatchListener,
    private readonly onDone: () => void,
  ) {
    this.backoff = kv.watchBackoffMs.min;
  }

  start(): void {
    if (this.done) return;
    const ep = this.kv.endpoint();
    const payload = JSON.stringify({ create_request: { ...rangeFields(this.key, this.prefix), start_revision: String(this.next) } });
    let buffered = '';
    let broken = false;
    const retry = (): void => {
      if (broken) return;
      broken = true;
      this.req?.destroy();
      this.req = undefined;
      if (this.done) return;
      this.kv.endpoint(ep);
      this.timer = setTimeout(() => this.start(), this.backoff);
      this.timer.unref?.();
      this.backoff = Math.min(this.backoff * 2, this.kv.watchBackoffMs.max);
    };
    const req = http.request(
      {
        host: ep.hostname,
        port: ep.port,
        path: '/v3/watch',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          retry();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while (!this.done && !broken && (nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line) this.message(line, retry);
          }
        });
        res.on('end', retry);
        res.on('error', retry);
      },
    );
    req.on('error', retry);
    this.req = req;
    req.end(payload);
  }

  private message(line: string, retry: () => void): void {
    let j: {
      result?: {
        created?: boolean;
        canceled?: boolean;
        compact_revision?: string;
        cancel_reason?: string;
        events?: { type?: 'PUT' | 'DELETE'; kv: JsonKv }[];
      };
      error?: unknown;
    };
    try {
      j = JSON.parse(line);
    } catch {
      retry();
      return;
    }
    const r = j.result;
    if (!r) {
      retry();
      return;
    }
    if (r.created) this.backoff = this.kv.watchBackoffMs.min;
    if (r.canceled) {
      const compactRevision = int(r.compact_revision);
      if (compactRevision > 0) {
        this.fail(new MetadataError('COMPACTED', `revision ${this.next} compacted (at ${compactRevision})`, compactRevision));
      } else {
        // Canceled by the server for another reason (e.g. it lost its leader): watch again.
        retry();
      }
      return;
    }
    if (!r.events || r.events.length === 0) return;
    const events: WatchEvent[] = [];
    for (const e of r.events) {
      const kv = toKv(e.kv);
      // A re-created watch may repeat nothing, but never deliver what was already delivered.
      if (kv.modRevision < this.next) continue;
      events.push({ type: e.type === 'DELETE' ? 'delete' : 'put', kv });
    }
    if (events.length === 0) return;
    this.next = events[events.length - 1].kv.modRevision + 1;
    this.listener.onEvents(events);
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.req?.destroy();
    this.onDone();
  }

  fail(err: MetadataError): void {
    if (this.done) return;
    this.cancel();
    this.listener.onError(err);
  }
}
