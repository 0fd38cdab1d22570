// Request/response framing (hand-written).
//
// Every frame is an int32 size (excluding itself) followed by the payload. Request header v1 is
// apiKey int16, apiVersion int16, correlationId int32, clientId nullable int16-length string;
// v2 (used when the request version is flexible) adds a tagged-field section. The client id stays
// a classic string even in v2 (RequestHeader.json overrides its flexibleVersions to "none").
// Response header v0 is the correlation id; v1 adds a tagged-field section, used when the
// response version is flexible, except for ApiVersions whose response header is always v0 so that
// any client can read the error of an unsupported version (KIP-511).

import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';

export const API_VERSIONS_KEY = 18;
/** ControlledShutdown v0 is the only request with a header v0 (no client id). */
const CONTROLLED_SHUTDOWN_KEY = 7;

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/**
 * Reads the fixed part of a request header. The caller decides, from the API's flexible
 * versions, whether a tagged-field section follows (`readHeaderTags`).
 */
export function readRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = apiKey === CONTROLLED_SHUTDOWN_KEY && apiVersion === 0 ? null : r.nullableString();
  return { apiKey, apiVersion, correlationId, clientId };
}

export function readHeaderTags(r: Reader): void {
  r.taggedFields();
}

/** Writes a request frame (used by Brook's own test and bench clients). */
export function encodeRequestFrame(
  header: RequestHeader,
  flexible: boolean,
  body: (w: Writer) => void,
  w: Writer = new Writer(256),
): Buffer {
  const start = w.reserve(4);
  w.int16(header.apiKey);
  w.int16(header.apiVersion);
  w.int32(header.correlationId);
  w.nullableString(header.clientId);
  if (flexible) w.noTaggedFields();
  body(w);
  w.buf.writeInt32BE(w.length - start - 4, start);
  return w.finish();
}

/** Writes a response frame into `w`: size, correlation id, tagged fields if header v1, body. */
export function writeResponseFrame(correlationId: number, headerV1: boolean, body: (w: Writer) => void, w: Writer): void {
  const start = w.reserve(4);
  w.int32(correlationId);
  if (headerV1) w.noTaggedFields();
  body(w);
  w.buf.writeInt32BE(w.length - start - 4, start);
}

/** A response frame as one buffer: size, correlation id, tagged fields if header v1, body. */
export function encodeResponseFrame(
  correlationId: number,
  headerV1: boolean,
  body: (w: Writer) => void,
  w: Writer = new Writer(256),
): Buffer {
  writeResponseFrame(correlationId, headerV1, body, w);
  return w.finish();
}

/** Response header version for an API at a version whose flexibility is known. */
export function responseHeaderIsV1(apiKey: number, flexible: boolean): boolean {
  return flexible && apiKey !== API_VERSIONS_KEY;
}

/** Reads a response header (client side). */
export function readResponseHeader(r: Reader, headerV1: boolean): number {
  const correlationId = r.int32();
  if (headerV1) r.taggedFields();
  return correlationId;
}

/**
 * Client side: splits a stream of response bytes into frames (each without its 4-byte size). A
 * frame that lies in one chunk is a view of it; one spanning chunks is copied once. A size below
 * 0 or above `maxFrameBytes` throws (the connection is out of step and must close).
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes = Number.MAX_SAFE_INTEGER) {}

  /** Adds `data`; returns the frames it completes, in order. */
  push(data: Buffer): Buffer[] {
    this.chunks.push(data);
    this.buffered += data.length;
    const out: Buffer[] = [];
    while (this.buffered >= 4) {
      let head = this.chunks[0]!;
      if (head.length < 4) {
        head = Buffer.concat(this.chunks);
        this.chunks = [head];
      }
      const size = head.readInt32BE(0);
      if (size < 0 || size > this.maxFrameBytes) throw new RangeError(`bad frame size ${size}`);
      if (this.buffered < 4 + size) break;
      const all = this.chunks.length === 1 ? head : Buffer.concat(this.chunks);
      out.push(all.subarray(4, 4 + size));
      const rest = all.subarray(4 + size);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
    }
    return out;
  }
}
