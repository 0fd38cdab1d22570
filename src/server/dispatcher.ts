// Turns one request frame into one response frame through the dispatch table.
//
// Kafka's rules: an unknown API key or an unsupported version of any API but ApiVersions closes
// the connection (the request cannot be parsed); ApiVersions at an unsupported version is answered
// with a v0 body carrying UNSUPPORTED_VERSION and our ApiVersions range, without reading the body
// (KIP-511). Request header v2 (tagged fields) goes with flexible request versions.

import { ErrorCode } from '../../protocol/errors.js';
import {
  API_VERSIONS_KEY,
  encodeResponseFrame,
  readHeaderTags,
  readRequestHeader,
  responseHeaderIsV1,
  writeResponseFrame,
  type RequestHeader,
} from '../../protocol/framing.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';
import { NoResponse, type Handler, type RequestContext } from '../handlers/types.js';
import type { ConnectionInfo, Outcome, RequestProcessor } from './connection.js';
import { CloseConnection, type FaultInjector } from './faults.js';

export class RequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** Logged with the one line that closes the connection. */
    readonly context: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Wraps an unexpected handler failure with the request it belongs to. */
function handlerFailure(err: unknown, header: RequestHeader, api: string): RequestError {
  const e = err as { message?: string; code?: string; stack?: string };
  return new RequestError(`${api} v${header.apiVersion} failed: ${e?.message ?? String(err)}`, e?.code ?? 'ERR_HANDLER', {
    clientId: header.clientId,
    api,
    apiVersion: header.apiVersion,
    correlationId: header.correlationId,
    stack: e?.stack,
  });
}

export type HandlerTable = ReadonlyMap<number, Handler>;

export type ContextFactory = (header: RequestHeader, conn: ConnectionInfo) => RequestContext;

function isFlexible(version: number, flexibleMin: number | undefined): boolean {
  return flexibleMin !== undefined && flexibleMin >= 0 && version >= flexibleMin;
}

/** Told of each answered request (metrics): API, version, seconds from decode to response, the response. */
export interface RequestObserver {
  request(apiKey: number, api: string, version: number, seconds: number, response: unknown): void;
}

/**
 * The request-time quota (request_percentage): told how long a handler ran (its synchronous part,
 * Kafka's request-handler thread time) and answers the throttle time in ms, 0 within the quota.
 */
export type RequestQuota = (ctx: RequestContext, apiKey: number, req: unknown, handlerMs: number) => number;

export function createProcessor(table: HandlerTable, makeContext: ContextFactory, faults?: FaultInjector, observer?: RequestObserver, requestQuota?: RequestQuota): RequestProcessor {
  const process = createInnerProcessor(table, makeContext, faults, requestQuota);
  if (observer === undefined) return process;
  return (frame, conn) => {
    const t0 = performance.now();
    const apiKey = frame.length >= 4 ? frame.readInt16BE(0) : -1;
    const version = frame.length >= 4 ? frame.readInt16BE(2) : -1;
    const name = table.get(apiKey)?.api.name;
    if (name === undefined) return process(frame, conn);
    return process(frame, conn, (o, res) => {
      observer.request(apiKey, name, version, (performance.now() - t0) / 1000, res);
      return o;
    });
  };
}

type Seen = (o: Outcome, res: unknown) => Outcome;

function createInnerProcessor(
  table: HandlerTable,
  makeContext: ContextFactory,
  faults?: FaultInjector,
  requestQuota?: RequestQuota,
): (frame: Buffer, conn: ConnectionInfo, seen?: Seen) => Outcome | Promise<Outcome> {
  return (frame: Buffer, conn: ConnectionInfo, seen?: Seen): Outcome | Promise<Outcome> => {
    const r = new Reader(frame);
    const header = readRequestHeader(r);
    if (r.error !== undefined) throw new RequestError(`malformed request header: ${r.error}`, 'ERR_BAD_HEADER');
    const handler = table.get(header.apiKey);
    if (!handler) {
      throw new RequestError(`unknown api key ${header.apiKey} (client ${header.clientId})`, 'ERR_UNKNOWN_API');
    }
    if (header.apiVersion < handler.minVersion || header.apiVersion > handler.maxVersion) {
      if (header.apiKey === API_VERSIONS_KEY) return unsupportedApiVersions(header, handler);
      throw new RequestError(
        `unsupported version ${header.apiVersion} of ${handler.api.name} (supported ${handler.minVersion}-${handler.maxVersion}, client ${header.clientId})`,
        'ERR_UNSUPPORTED_VERSION',
      );
    }
    if (isFlexible(header.apiVersion, handler.api.flexibleMin)) readHeaderTags(r);
    const req = handler.decode(r, header.apiVersion);
    if (r.error !== undefined) {
      throw new RequestError(`malformed ${handler.api.name} v${header.apiVersion} request: ${r.error}`, 'ERR_MALFORMED_REQUEST');
    }
    const ctx = makeContext(header, conn);
    // Fault injection (tests) sits ahead of the handler while a rule or pause is in place.
    if (faults?.engaged) {
      return faults
        .intercept({ header, req, conn }, (narrowed) => handler.handle(narrowed, ctx))
        .then(
          (res) => (res instanceof CloseConnection ? { close: true as const, reason: res.reason } : answered(respond(handler, header, res), res, seen)),
          (err) => {
            throw handlerFailure(err, header, handler.api.name);
          },
        );
    }
    let result: ReturnType<Handler['handle']>;
    const t0 = requestQuota ? performance.now() : 0;
    try {
      result = handler.handle(req, ctx);
    } catch (err) {
      throw handlerFailure(err, header, handler.api.name);
    }
    // request_percentage: over the quota, the response says how long to back off (the larger of
    // this and a byte-rate throttle) and the connection is muted as long.
    const throttleMs = requestQuota ? requestQuota(ctx, header.apiKey, req, performance.now() - t0) : 0;
    if (result instanceof Promise) {
      return result.then(
        (res) => answered(respond(handler, header, withThrottle(res, throttleMs)), res, seen),
        (err) => {
          throw handlerFailure(err, header, handler.api.name);
        },
      );
    }
    return answered(respond(handler, header, withThrottle(result, throttleMs)), result, seen);
  };
}

/** The response's throttle_time_ms raised to a request-quota throttle (when it has the field). */
function withThrottle(res: unknown, throttleMs: number): unknown {
  if (throttleMs > 0 && res !== null && typeof res === 'object' && typeof (res as { throttleTimeMs?: unknown }).throttleTimeMs === 'number') {
    const r = res as { throttleTimeMs: number };
    if (r.throttleTimeMs < throttleMs) r.throttleTimeMs = throttleMs;
  }
  return res;
}

function answered(o: Outcome, res: unknown, seen: Seen | undefined): Outcome {
  return seen === undefined ? o : seen(o, res);
}

/**
 * Encodes a response. Large records fields (a Fetch's stored batches) are not copied into it: the
 * response is then several buffers, the stored bytes among them, which the connection writes one
 * after the other (server/connection.ts).
 */
function respond(handler: Handler, header: RequestHeader, res: unknown): Outcome {
  if (res instanceof NoResponse) return res.closeReason === null ? null : { close: true, reason: res.closeReason };
  const flexible = isFlexible(header.apiVersion, handler.api.responseFlexibleMin ?? handler.api.flexibleMin);
  const writer = Writer.withViews(handler.sizeHint ? handler.sizeHint(res) : 256);
  writeResponseFrame(
    header.correlationId,
    responseHeaderIsV1(header.apiKey, flexible),
    (w) => handler.encode(w, res as never, header.apiVersion),
    writer,
  );
  const chunks = writer.chunks();
  return chunks.length === 1 ? chunks[0]! : chunks;
}

/** KIP-511: a v0 body with UNSUPPORTED_VERSION and our ApiVersions range, header v0. */
function unsupportedApiVersions(header: RequestHeader, handler: Handler): Buffer {
  return encodeResponseFrame(header.correlationId, false, (w: Writer) =>
    handler.encode(
      w,
      {
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        apiKeys: [{ apiKey: API_VERSIONS_KEY, minVersion: handler.minVersion, maxVersion: handler.maxVersion }],
      } as never,
      0,
    ),
  );
}
