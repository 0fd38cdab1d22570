// A lean pipelined connection for the data phases: writes PREPARED request frames (only the
// correlation id, and for the sink the reply size, are patched into a fresh 12-byte head; the
// rest of the frame is written from the same bytes every time), and matches responses strictly
// in order, checking the correlation id. RawClient (src/client/raw-client.ts) builds the frames
// and serves the control requests; this class only exists because RawClient's `request` encodes
// and decodes every message, which would make the client, not the broker, the bottleneck.

import { connect, type Socket } from 'node:net';

export type OnResponse = (frame: Buffer, bodyOffset: number) => void;

interface Pending {
  correlationId: number;
  onResponse: OnResponse;
}

/** Offset of the correlation id in a request frame: size(4) apiKey(2) apiVersion(2). */
const CORRELATION_AT = 8;
const HEAD = 12;

export class PipelinedConn {
  private nextCorrelation = 1;
  private readonly pending: Pending[] = [];
  private pendingHead = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private error: Error | undefined;
  private onError: ((err: Error) => void) | undefined;
  /** Called after a batch of responses from one socket read (refill the window here). */
  onIdle: (() => void) | undefined;
  bytesOut = 0;
  bytesIn = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly headerTaggedFields: boolean,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    const fail = (err: Error): void => {
      if (this.error) return;
      this.error = err;
      this.onError?.(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by peer')));
  }

  static connect(host: string, port: number, headerTaggedFields = false): Promise<PipelinedConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => {
        s.off('error', reject);
        resolve(new PipelinedConn(s, headerTaggedFields));
      });
      s.once('error', reject);
    });
  }

  get inFlight(): number {
    return this.pending.length - this.pendingHead;
  }

  /** Registers the failure callback (fires once, on socket error/close). */
  failWith(cb: (err: Error) => void): void {
    this.onError = cb;
    if (this.error) cb(this.error);
  }

  /**
   * Sends `template` with a fresh correlation id. With `replyBytes` (sink mode) the first four
   * bytes of the frame body (apiKey+apiVersion) are replaced by the size of the reply to send.
   */
  send(template: Buffer, onResponse: OnResponse, replyBytes?: number): void {
    if (this.error) throw this.error;
    const correlationId = this.nextCorrelation++;
    const head = Buffer.allocUnsafe(HEAD);
    template.copy(head, 0, 0, HEAD);
    head.writeInt32BE(correlationId, CORRELATION_AT);
    if (replyBytes !== undefined) head.writeInt32BE(replyBytes, 4);
    this.pending.push({ correlationId, onResponse });
    this.socket.write(head);
    this.socket.write(template.subarray(HEAD));
    this.bytesOut += template.length;
  }

  /** Groups the writes of `fn` into one writev. */
  corked(fn: () => void): void {
    this.socket.cork();
    try {
      fn();
    } finally {
      this.socket.uncork();
    }
  }

  private onData(d: Buffer): void {
    this.bytesIn += d.length;
    this.chunks.push(d);
    this.buffered += d.length;
    this.socket.cork();
    try {
      for (;;) {
        if (this.buffered < 4) break;
        const size = this.peekInt32();
        if (this.buffered < 4 + size) break;
        const frame = this.take(4 + size);
        this.deliver(frame);
      }
      this.onIdle?.();
    } catch (err) {
      this.error ??= err as Error;
      this.onError?.(this.error);
      this.socket.destroy();
    } finally {
      this.socket.uncork();
    }
  }

  private peekInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.chunks, 4).readInt32BE(0);
  }

  /** Removes n bytes from the buffered chunks (a view when they lie in one chunk). */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }

  private deliver(frame: Buffer): void {
    const p = this.pending[this.pendingHead];
    if (!p) throw new Error('response frame with no request outstanding');
    this.pending[this.pendingHead++] = undefined as unknown as Pending;
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    const correlationId = frame.readInt32BE(4);
    if (correlationId !== p.correlationId) {
      throw new Error(`correlation id mismatch: expected ${p.correlationId}, got ${correlationId}`);
    }
    // size(4) correlationId(4) [tagged fields: one 0 byte when empty]
    let bodyOffset = 8;
    if (this.headerTaggedFields) {
      if (frame[8] !== 0) throw new Error('unexpected response header tagged fields');
      bodyOffset = 9;
    }
    p.onResponse(frame, bodyOffset);
  }

  close(): void {
    this.onError = undefined;
    this.error ??= new Error('closed');
    this.socket.destroy();
  }
}
