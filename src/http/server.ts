// Brook's HTTP side (issue 12): one node:http server per bound address, answering from route
// groups: the observability routes (src/http/observability.ts: /metrics, /healthz, /readyz) and,
// for test suites, the fixture control routes (src/fixture/control-server.ts). `--http-port` and
// `--control-port` given the same port share one server.
//
// A route group is a function of the request that answers, or returns undefined when the path is
// not its own. Answers are JSON unless a content type is given; errors are {"error": "..."}.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpAnswer {
  status: number;
  body: unknown;
  /** Default application/json (body serialized); otherwise body is sent as a string. */
  contentType?: string;
  /** Extra response headers (a redirect's location, cache control). */
  headers?: Record<string, string>;
  /**
   * A streamed answer (Server-Sent Events): once the head is written, this takes the response
   * over, writes it and ends it (body is not sent). It must stop its work when the response
   * closes (the client went away, or the server is closing).
   */
  stream?: (res: ServerResponse) => void;
}

/** The request body as a string, refused past `limit` bytes (413) before buffering the rest. */
export function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new HttpError(413, `request body over ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.destroy();
        reject(new HttpError(413, `request body over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export type RouteGroup = (req: IncomingMessage, url: URL) => Promise<HttpAnswer | undefined> | HttpAnswer | undefined;

/** JSON with bigints as numbers when safe, else strings. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? (x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(x) : x.toString()) : x));
}

export interface HttpServer {
  readonly host: string;
  readonly port: number;
  /** "http://host:port" */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts a server on host:port (0 = a free port) answering from `groups`, first match wins. */
export function startHttpServer(host: string, port: number, groups: readonly RouteGroup[], classify: (err: unknown) => number = () => 500): Promise<HttpServer> {
  // Bound to loopback: a request must name a loopback host too. Otherwise a web page whose
  // domain is made to resolve to 127.0.0.1 (DNS rebinding) could read the console and metrics.
  const loopback = isLoopback(host);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    void (async (): Promise<HttpAnswer> => {
      if (loopback && !isLoopback(hostName(req.headers.host ?? ''))) {
        throw new HttpError(421, `this listener answers only requests for a loopback host (got Host: ${String(req.headers.host ?? '').slice(0, 100)})`);
      }
      for (const g of groups) {
        const a = await g(req, url);
        if (a !== undefined) return a;
      }
      throw new HttpError(404, `no route ${req.method ?? 'GET'} ${url.pathname}`);
    })().then(
      (a) => {
        res.writeHead(a.status, { 'content-type': a.contentType ?? 'application/json', ...a.headers });
        if (a.stream !== undefined) {
          a.stream(res);
          return;
        }
        res.end(a.contentType === undefined ? toJson(a.body) + '\n' : String(a.body));
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : classify(err);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(toJson({ error: (err as Error)?.message ?? String(err) }) + '\n');
      },
    );
  });
  // Short requests (tests, scrapers): no keep-alive connection may hold close().
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { port: bound, address } = server.address() as AddressInfo;
      const shown = address.includes(':') ? `[${address}]` : address;
      resolve({
        host: address,
        port: bound,
        url: `http://${shown}:${bound}`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/**
 * Refuses (403) a state-changing request sent by a page of another origin: the HTTP listener has
 * no credentials, so without this any web page open in a browser on the same machine could post
 * a form to it (cross-site request forgery). Browsers send Origin (and Sec-Fetch-Site) on such
 * requests; clients without them (curl, scripts) pass.
 */
export function checkSameOrigin(req: IncomingMessage): void {
  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new HttpError(403, `refused a ${method} from another site (Sec-Fetch-Site: ${String(site)})`);
  const origin = req.headers.origin;
  if (origin === undefined || (origin === 'null' && site === 'same-origin')) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new HttpError(403, `refused a ${method} with a malformed Origin`);
  }
  if (host !== req.headers.host) throw new HttpError(403, `refused a ${method} from origin ${origin}`);
}

/** 127.0.0.0/8, ::1 and localhost. */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || h === '0:0:0:0:0:0:0:1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The host name of a Host header ("[::1]:9644" -> "::1", "localhost:9644" -> "localhost"). */
function hostName(header: string): string {
  const h = header.trim();
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (v6) return v6[1]!;
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}
