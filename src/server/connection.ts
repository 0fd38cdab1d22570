// One client connection: framing, in-order responses, backpressure.
//
// - A frame's size is checked as soon as its 4-byte prefix arrives: negative or above
//   socket.request.max.bytes closes the connection before anything is buffered (one log line).
// - Requests are numbered as they arrive and may complete out of order (a long-poll Fetch behind
//   a Produce); responses are written strictly in request order, because Java, librdkafka,
//   kafka-python and sarama match each response to their oldest outstanding request.
// - A request answered with no response (acks=0 Produce) simply leaves its slot empty.
// - A response may be several buffers (a Fetch response's own bytes and the stored records it
//   references, uncopied): they are written one after the other inside one cork, so they leave
//   together (one writev), and count in the limits below like one buffer of their total size.
// - Reading pauses while too many requests are in flight (queued.max.requests) or too many request
//   bytes are buffered (queued.max.request.bytes, per connection and, through RequestMemory, over
//   all connections of the broker), while the socket's write buffer is full
//   (socket.write() returned false), and while the connection's response bytes waiting to be
//   written exceed `maxQueuedResponseBytes` (the broker uses fetch.max.bytes: one full-size Fetch
//   response). It resumes on completion / 'drain'. Response bytes waiting are the socket's
//   unsent bytes plus finished responses held back behind an older unfinished request. Frames
//   already buffered are not dispatched past those limits either.
// - Large responses (Fetch) are produced in turn: the handler awaits `responseRoom()` before it
//   reads its data, which resolves when every older request has been answered and the socket's
//   unsent bytes are within the limit. A client that pipelines many Fetches and does not read
//   holds about `maxQueuedResponseBytes` plus one response of broker memory, not one response per
//   request (Kafka reads one request per connection at a time, so it never holds more than one
//   response per connection; Brook pipelines, so it bounds the bytes instead).
// - `signal` is aborted when the connection closes: work parked for it (a long-poll Fetch in the
//   replica manager's wait list) is dropped at once instead of at its deadline.
// - A client over its quota is muted (KIP-219): `throttle(ms)` stops reading its requests for that
//   long, while its responses (carrying throttle_time_ms) still leave.
// - A thrown error (malformed frame, unknown API) closes this connection only.

import { setMaxListeners } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from '../common/logger.js';
import type { RequestMemory } from './request-memory.js';

export interface ConnectionLimits {
  maxFrameBytes: number;
  maxInFlight: number;
  maxBufferedBytes: number;
  /**
   * Response bytes waiting to be written (in the socket or held for order) above which reading
   * pauses and large responses wait for room. Unset: unlimited.
   */
  maxQueuedResponseBytes?: number;
  idleMs: number;
  /** Broker-wide queued.max.request.bytes, shared by every connection. */
  memory?: RequestMemory;
}

/**
 * What a request produced: a frame to send (one buffer, or several written one after the other:
 * a Fetch response's own bytes and the stored records it references), nothing, or nothing and
 * close (acks=0 failure).
 */
export type Outcome = Buffer | Buffer[] | null | { close: true; reason: string; last?: Buffer; level?: 'info' | 'warn' };

/**
 * Sits ahead of the request processor on a connection (SASL authentication): sees every frame
 * first and either takes it (its outcome is the frame's answer) or passes it on (undefined).
 */
export interface FrameGate {
  /** The frame size limit now, given the listener's (smaller before authentication). */
  maxFrameBytes(normal: number): number;
  intercept(frame: Buffer, info: ConnectionInfo): Outcome | Promise<Outcome> | undefined;
}

/** Bytes of a frame to send. */
function frameBytes(o: Buffer | Buffer[]): number {
  if (Buffer.isBuffer(o)) return o.length;
  let n = 0;
  for (const c of o) n += c.length;
  return n;
}

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

/** Which listener a connection came through, and who its client is. */
export interface ConnectionIdentity {
  /** The listener's name (PLAINTEXT, SSL, INTERNAL...): Metadata answers with its endpoints. */
  readonly listener: string;
  /** The listener's security protocol. */
  readonly securityProtocol: SecurityProtocol;
  /**
   * Kafka's principal (type User): ANONYMOUS without authentication, the client certificate's
   * distinguished name (RFC 2253, e.g. CN=client,O=Example) on SSL, the SASL user once a SASL
   * listener's client has authenticated.
   */
  readonly principal: string;
}

/** Used where no listener is given (tests constructing connections directly). */
export const PLAINTEXT_IDENTITY: ConnectionIdentity = { listener: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', principal: 'ANONYMOUS' };

/** The connection as one request's handler sees it. */
export interface ConnectionInfo extends ConnectionIdentity {
  readonly id: number;
  readonly remote: string;
  /** Per-connection state a handler may keep (e.g. SASL state later). */
  readonly attributes: Map<string, unknown>;
  /** Aborted when the connection closes (parked work for it should stop). */
  readonly signal: AbortSignal;
  /**
   * Resolves when this request may produce a large response: it is the next response to be
   * written and the socket's unsent bytes are within the limit. Resolves at once when so, and
   * when the connection closes (check `signal`).
   */
  responseRoom(): Promise<void>;
  /**
   * Client quotas (KIP-219): no further request is read from this connection for `ms`
   * milliseconds (responses still leave). Overlapping calls keep the later end.
   */
  throttle(ms: number): void;
}

export type RequestProcessor = (frame: Buffer, conn: ConnectionInfo) => Outcome | Promise<Outcome>;

/** One request in flight: its place in the response order, and its view of the connection. */
class Slot implements ConnectionInfo {
  done = false;
  outcome: Outcome = null;
  /** Size of the finished response while it is held behind an older request. */
  heldBytes = 0;

  constructor(
    private readonly conn: Connection,
    /** Request frame bytes (queued.max.request.bytes). */
    readonly bytes: number,
  ) {}

  get id(): number {
    return this.conn.id;
  }

  get remote(): string {
    return this.conn.remote;
  }

  get listener(): string {
    return this.conn.identity.listener;
  }

  get securityProtocol(): SecurityProtocol {
    return this.conn.identity.securityProtocol;
  }

  get principal(): string {
    return this.conn.principal;
  }

  get attributes(): Map<string, unknown> {
    return this.conn.attributes;
  }

  get signal(): AbortSignal {
    return this.conn.signal;
  }

  responseRoom(): Promise<void> {
    return this.conn.responseRoom(this);
  }

  throttle(ms: number): void {
    this.conn.throttle(ms);
  }
}

export class Connection {
  readonly attributes = new Map<string, unknown>();
  readonly remote: string;
  /** identity.principal until SASL authentication names the user. */
  principal: string;
  /** SASL: authentication ahead of the processor (set right after construction by the server). */
  gate: FrameGate | undefined;
  private readonly abort = new AbortController();
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Size of the frame being assembled, or -1 while its prefix is incomplete. */
  private frameSize = -1;
  private readonly slots: Slot[] = [];
  private inFlightBytes = 0;
  /** Bytes of finished responses held behind an older unfinished request. */
  private heldBytes = 0;
  private readonly roomWaiters: Array<{ slot: Slot; resolve: () => void }> = [];
  private writeBlocked = false;
  private corked = false;
  private paused = false;
  private stopped = false;
  private closed = false;
  private idleEmitted = false;
  private readonly stopWatchingMemory: (() => void) | undefined;
  /** Muted by a client quota until this time (Date.now()), with its timer; see throttle(). */
  private mutedUntil = 0;
  private muteTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly process: RequestProcessor,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    private readonly onClose: (c: Connection) => void,
    readonly identity: ConnectionIdentity = PLAINTEXT_IDENTITY,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.principal = identity.principal;
    // One listener per parked Fetch (up to queued.max.requests): not a leak.
    setMaxListeners(0, this.abort.signal);
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.updateFlow();
      this.wakeRoomWaiters();
    });
    socket.on('error', (err) => {
      this.logger.debug({ conn: this.id, remote: this.remote, err: err.message }, 'socket error');
    });
    socket.on('close', () => this.finalize());
    // Reading resumes when the broker-wide pool has room again.
    this.stopWatchingMemory = limits.memory?.onAvailable(() => this.updateFlow());
    if (limits.idleMs > 0) {
      socket.setTimeout(limits.idleMs, () => {
        if (this.slots.length === 0 && !this.idleEmitted) {
          this.idleEmitted = true;
          this.logger.debug({ conn: this.id, remote: this.remote }, 'closing idle connection');
          socket.destroy();
        }
      });
    }
  }

  get inFlight(): number {
    return this.slots.length;
  }

  /** Aborted when the connection closes. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Response bytes waiting to be written: unsent in the socket plus held for order. */
  get queuedResponseBytes(): number {
    return this.socket.writableLength + this.heldBytes;
  }

  /** Closes the connection with one log line. */
  close(reason: string, level: 'warn' | 'info' | 'debug' = 'warn', extra: object = {}): void {
    if (this.closed) return;
    this.logger[level]({ conn: this.id, remote: this.remote, ...extra }, `closing connection: ${reason}`);
    this.closed = true;
    this.chunks = [];
    this.socket.destroy();
    this.released();
  }

  /** Writes a last frame, then closes (the peer gets the frame, not a reset). */
  private closeAfter(last: Buffer, reason: string, level: 'info' | 'warn'): void {
    this.logger[level]({ conn: this.id, remote: this.remote }, `closing connection: ${reason}`);
    this.closed = true;
    this.chunks = [];
    this.socket.end(last);
    // A peer that never reads or closes does not keep the socket.
    setTimeout(() => this.socket.destroy(), 5000).unref();
    this.released();
  }

  /** Stops reading new requests (shutdown); in-flight ones still complete. */
  stopReading(): void {
    this.stopped = true;
    this.paused = true;
    this.socket.pause();
  }

  /** Resolves when every in-flight request has been answered (or the connection closed). */
  async drained(): Promise<void> {
    while (!this.closed && this.slots.length > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
    this.released();
  }

  private finalize(): void {
    this.closed = true;
    this.chunks = [];
    // Requests that will never be answered give their bytes back to the broker-wide pool.
    this.limits.memory?.release(this.inFlightBytes);
    this.inFlightBytes = 0;
    this.stopWatchingMemory?.();
    this.slots.length = 0;
    this.heldBytes = 0;
    this.released();
    this.onClose(this);
  }

  /** See ConnectionInfo.throttle. */
  throttle(ms: number): void {
    if (this.closed || !(ms > 0)) return;
    const until = Date.now() + ms;
    if (until <= this.mutedUntil) return;
    this.mutedUntil = until;
    clearTimeout(this.muteTimer);
    this.muteTimer = setTimeout(() => {
      this.muteTimer = undefined;
      // Resumes reading; frames buffered meanwhile are processed then.
      this.updateFlow();
    }, ms);
    this.updateFlow();
  }

  /** Closed: parked work is told (signal) and nothing waits for room any more. */
  private released(): void {
    clearTimeout(this.muteTimer);
    this.muteTimer = undefined;
    for (const w of this.roomWaiters.splice(0)) w.resolve();
    if (!this.abort.signal.aborted) this.abort.abort();
  }

  /** See ConnectionInfo.responseRoom. */
  responseRoom(slot: Slot): Promise<void> {
    if (this.closed || this.hasRoom(slot)) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ slot, resolve }));
  }

  /**
   * A large response is produced when it is the next one to be written (every older request on
   * the connection has been answered) and the socket's unsent bytes are within the limit. Its
   * bytes could not leave before the older responses anyway, so waiting costs the client nothing
   * and the data it gets is fresher; and the broker never holds large responses finished out of
   * order. The held (small) responses behind it are not counted: they cannot leave before it.
   */
  private hasRoom(slot: Slot): boolean {
    const limit = this.limits.maxQueuedResponseBytes;
    if (limit === undefined) return true;
    return slot === this.slots[0] && this.socket.writableLength <= limit;
  }

  /** Lets the request whose turn it is produce its response, if the socket has room. */
  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0) return;
    const head = this.slots[0];
    if (head === undefined || !this.hasRoom(head)) return;
    const i = this.roomWaiters.findIndex((w) => w.slot === head);
    if (i < 0) return;
    this.roomWaiters.splice(i, 1)[0]!.resolve();
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    this.idleEmitted = false;
    this.chunks.push(data);
    this.buffered += data.length;
    this.extractFrames();
  }

  private extractFrames(): void {
    while (!this.closed && !this.stopped && this.muteTimer === undefined && this.slots.length < this.limits.maxInFlight && !this.responsesOverLimit() && this.limits.memory?.exhausted !== true) {
      if (this.frameSize < 0) {
        if (this.buffered < 4) break;
        const size = this.peekInt32();
        const max = this.gate ? this.gate.maxFrameBytes(this.limits.maxFrameBytes) : this.limits.maxFrameBytes;
        if (size < 0 || size > max) {
          this.close(`frame size ${size} outside 0..${max}${max < this.limits.maxFrameBytes ? ' (sasl.server.max.receive.size before authentication)' : ''}`);
          return;
        }
        this.frameSize = size;
        this.consume(4);
      }
      if (this.buffered < this.frameSize) break;
      const frame = this.consume(this.frameSize);
      this.frameSize = -1;
      this.dispatch(frame);
    }
    this.updateFlow();
  }

  private peekInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.chunks, 4).readInt32BE(0);
  }

  /** Removes n bytes from the front of the buffered chunks (a view when they lie in one chunk). */
  private consume(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, n - at);
      c.copy(out, at, 0, take);
      at += take;
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
    }
    return out;
  }

  private responsesOverLimit(): boolean {
    const limit = this.limits.maxQueuedResponseBytes;
    return limit !== undefined && this.queuedResponseBytes > limit;
  }

  private dispatch(frame: Buffer): void {
    const slot = new Slot(this, frame.length);
    this.slots.push(slot);
    this.inFlightBytes += frame.length;
    this.limits.memory?.take(frame.length);
    let result: Outcome | Promise<Outcome>;
    try {
      const taken = this.gate?.intercept(frame, slot);
      result = taken !== undefined ? taken : this.process(frame, slot);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (o) => this.complete(slot, o),
        (err) => this.fail(err),
      );
    } else {
      this.complete(slot, result);
    }
  }

  private fail(err: unknown): void {
    const e = err as { message?: string; code?: string; context?: Record<string, unknown> };
    this.close(e?.message ?? String(err), 'warn', { code: e?.code, ...e?.context });
  }

  private complete(slot: Slot, outcome: Outcome): void {
    if (this.closed) return;
    slot.done = true;
    slot.outcome = outcome;
    if (Buffer.isBuffer(outcome) || Array.isArray(outcome)) {
      slot.heldBytes = frameBytes(outcome);
      this.heldBytes += slot.heldBytes;
    }
    this.flushInOrder();
    this.wakeRoomWaiters();
  }

  private flushInOrder(): void {
    while (this.slots.length > 0 && this.slots[0]!.done && !this.closed) {
      const slot = this.slots.shift()!;
      this.inFlightBytes -= slot.bytes;
      this.limits.memory?.release(slot.bytes);
      this.heldBytes -= slot.heldBytes;
      const o = slot.outcome;
      if (o === null) continue;
      if (Buffer.isBuffer(o)) {
        this.corkUntilNextTick();
        if (!this.socket.write(o)) this.writeBlocked = true;
      } else if (Array.isArray(o)) {
        // The chunks leave together at uncork (one writev), each from its own memory: stored
        // records are not copied into the response.
        this.corkUntilNextTick();
        for (const c of o) if (!this.socket.write(c)) this.writeBlocked = true;
      } else {
        if (o.last !== undefined) {
          // The answer leaves first (a failed authentication's error), then the connection closes.
          this.closeAfter(o.last, o.reason, o.level ?? 'info');
          return;
        }
        this.close(o.reason, o.level ?? 'info');
        return;
      }
    }
    this.updateFlow();
  }

  /**
   * Responses completed in the same tick (pipelined produces) leave in one write instead of one
   * syscall each.
   */
  private corkUntilNextTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private updateFlow(): void {
    if (this.closed || this.stopped) return;
    const over =
      this.muteTimer !== undefined ||
      this.writeBlocked ||
      this.slots.length >= this.limits.maxInFlight ||
      this.inFlightBytes + this.buffered > this.limits.maxBufferedBytes ||
      this.limits.memory?.exhausted === true ||
      this.responsesOverLimit();
    if (over && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!over && this.paused) {
      this.paused = false;
      this.socket.resume();
      // Frames already buffered while paused are processed now.
      if (this.buffered > 0) setImmediate(() => this.extractFrames());
    }
  }
}
