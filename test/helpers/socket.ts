// Plain TCP probes for malformed-input tests: write bytes, see whether the broker answers and
// whether it closes the connection.

import { connect, type Socket } from 'node:net';
import { encodeRequestFrame } from '../../protocol/framing.js';
import type { Writer } from '../../protocol/primitives/writer.js';

export interface Probe {
  readonly socket: Socket;
  /** Bytes received so far. */
  received(): Buffer;
  /** True once the broker has ended or closed the connection (before we did). */
  readonly closedByPeer: boolean;
  /** Resolves true when the connection closes, false after timeoutMs. */
  waitClosed(timeoutMs?: number): Promise<boolean>;
  /** Resolves with the first `n` received bytes, or rejects after timeoutMs / on close. */
  waitBytes(n: number, timeoutMs?: number): Promise<Buffer>;
  write(bytes: Buffer | Uint8Array): void;
  /** Half-closes our side (FIN). */
  end(): void;
  destroy(): void;
}

export function openProbe(host: string, port: number): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => {
      socket.off('error', reject);
      const chunks: Buffer[] = [];
      let size = 0;
      let closed = false;
      let weEnded = false;
      let peerClosed = false;
      const listeners = new Set<() => void>();
      const poke = (): void => {
        for (const l of [...listeners]) l();
      };
      socket.on('data', (d: Buffer) => {
        chunks.push(d);
        size += d.length;
        poke();
      });
      socket.on('end', () => {
        if (!weEnded) peerClosed = true;
        poke();
      });
      socket.on('error', () => {
        // ECONNRESET and friends: the broker dropped us.
        if (!weEnded) peerClosed = true;
      });
      socket.on('close', () => {
        closed = true;
        if (!weEnded) peerClosed = true;
        poke();
      });
      const until = <T>(check: () => T | undefined, timeoutMs: number, onTimeout: () => T | Error): Promise<T> =>
        new Promise((res, rej) => {
          const settle = (): boolean => {
            const v = check();
            if (v === undefined) return false;
            clearTimeout(timer);
            listeners.delete(l);
            res(v);
            return true;
          };
          const l = (): void => void settle();
          const timer = setTimeout(() => {
            listeners.delete(l);
            const v = onTimeout();
            if (v instanceof Error) rej(v);
            else res(v);
          }, timeoutMs);
          listeners.add(l);
          settle();
        });
      resolve({
        socket,
        received: () => Buffer.concat(chunks, size),
        get closedByPeer() {
          return peerClosed;
        },
        waitClosed: (timeoutMs = 5000) => until(() => (closed ? true : undefined), timeoutMs, () => false),
        waitBytes: (n, timeoutMs = 5000) =>
          until(
            () => (size >= n ? Buffer.concat(chunks, size).subarray(0, n) : closed ? new Error(`closed after ${size} of ${n} bytes`) : undefined),
            timeoutMs,
            () => new Error(`timed out after ${timeoutMs} ms with ${size} of ${n} bytes`),
          ).then((v) => {
            if (v instanceof Error) throw v;
            return v;
          }),
        write: (b) => void socket.write(b),
        end: () => {
          weEnded = true;
          socket.end();
        },
        destroy: () => {
          weEnded = true;
          socket.destroy();
        },
      });
    });
    socket.once('error', reject);
  });
}

/** A request frame with an arbitrary header (any api key / version) and body. */
export function requestFrame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: (w: Writer) => void = () => {},
  flexibleHeader = false,
  clientId: string | null = 'bad-input',
): Buffer {
  return Buffer.from(encodeRequestFrame({ apiKey, apiVersion, correlationId, clientId }, flexibleHeader, body));
}

/** An int32 big-endian size prefix. */
export function sizePrefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (n < 0) b.writeInt32BE(n);
  else b.writeUInt32BE(n);
  return b;
}

/** Deterministic pseudo-random bytes (mulberry32). */
export function seededBytes(seed: number, n: number): Buffer {
  let a = seed >>> 0;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}
