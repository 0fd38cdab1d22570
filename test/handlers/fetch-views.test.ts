// Issue 8 (copies on the data path): Fetch sends the stored records without copying them. The
// batches of one file-store read are one view of the read buffer (joinViews), the response writer
// references large records fields instead of copying them (Writer.withViews), and the connection
// writes the response's own bytes and those records to the socket one after the other. The bytes
// on the wire are those of the copying encoder, at every Fetch version.

import { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { encodeResponseFrame, readResponseHeader, responseHeaderIsV1, writeResponseFrame } from '../../protocol/framing.js';
import * as G from '../../protocol/generated/index.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { MIN_RECORDS_VIEW_BYTES, Writer, type Encodable } from '../../protocol/primitives/writer.js';
import { decodeBatches, encodeRecordBatch } from '../../protocol/records/index.js';
import type { Broker } from '../../src/broker.js';
import type { RawClient } from '../../src/client/raw-client.js';
import { clientApi } from '../../src/client/raw-client.js';
import { joinViews } from '../../src/handlers/01-fetch.js';
import type { ReadResult } from '../../src/log/types.js';
import { rawClient, startTestBroker, topicId } from '../helpers/broker.js';
import { openProbe, requestFrame, seededBytes, type Probe } from '../helpers/socket.js';

const FETCH_VERSIONS = Array.from({ length: 18 }, (_, v) => v);
/** Fetch responses are flexible from v12 (header v1 too). */
const flexible = (v: number): boolean => v >= 12;

/** Same memory: a view of the same bytes of the same ArrayBuffer, not a copy of them. */
function sameMemory(a: Buffer, b: Buffer): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
}

describe('joinViews', () => {
  it('joins adjacent views of one buffer without copying', () => {
    const data = Buffer.from('aaabbbbcc');
    const joined = joinViews([data.subarray(0, 3), data.subarray(3, 7), data.subarray(7, 9)], 9);
    expect(joined.toString()).toBe('aaabbbbcc');
    expect(joined.buffer).toBe(data.buffer);
    expect(joined.byteOffset).toBe(data.byteOffset);
    data[4] = 0x58; // a view, not a copy
    expect(joined.toString()).toBe('aaabXbbcc');
  });

  it('copies views of different buffers, or with gaps, together', () => {
    const a = Buffer.from('aaa');
    const b = Buffer.from('bbb');
    expect(joinViews([a, b], 6).toString()).toBe('aaabbb');
    const data = Buffer.from('aaXbb');
    const gap = joinViews([data.subarray(0, 2), data.subarray(3, 5)], 4);
    expect(gap.toString()).toBe('aabb');
    data[0] = 0x58; // a copy: unaffected
    expect(gap.toString()).toBe('aabb');
  });
});

describe('Fetch response encoding with referenced records (Writer.withViews)', () => {
  // One large records field (a view inside a bigger read buffer, as the file store returns it),
  // one small (copied) and one empty, across two topics.
  const readBuffer = seededBytes(8, 3 * MIN_RECORDS_VIEW_BYTES);
  const large = readBuffer.subarray(100, 100 + 2 * MIN_RECORDS_VIEW_BYTES);
  const small = Buffer.alloc(MIN_RECORDS_VIEW_BYTES - 1, 7);
  const response = (): Encodable<G.FetchResponse> => ({
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    sessionId: 0,
    responses: [
      {
        topic: 'views-a',
        topicId: 'AAECAwQFBgcICQoLDA0ODw',
        partitions: [
          { partitionIndex: 0, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n, abortedTransactions: null, preferredReadReplica: -1, records: large },
          { partitionIndex: 1, highWatermark: 3n, lastStableOffset: 3n, logStartOffset: 0n, abortedTransactions: [], preferredReadReplica: -1, records: small },
        ],
      },
      {
        topic: 'views-b',
        partitions: [{ partitionIndex: 0, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: -1n, records: Buffer.alloc(0) }],
      },
    ],
  });

  it.each(FETCH_VERSIONS)('v%i: the same bytes as the copying encoder, the large records referenced', (v) => {
    const res = response();
    const headerV1 = responseHeaderIsV1(G.FetchApi.apiKey, flexible(v));
    const copied = encodeResponseFrame(42, headerV1, (w) => G.encodeFetchResponse(w, res, v));

    const w = Writer.withViews();
    writeResponseFrame(42, headerV1, (ww) => G.encodeFetchResponse(ww, res, v), w);
    const chunks = w.chunks();
    expect(w.length).toBe(copied.length);
    expect(Buffer.concat(chunks)).toEqual(copied);
    // The large records are one of the chunks, as the same memory; nothing else is referenced.
    expect(chunks.filter((c) => sameMemory(c, large))).toHaveLength(1);
    expect(chunks.filter((c) => c.buffer === readBuffer.buffer || c.buffer === small.buffer)).toHaveLength(1);
    expect(chunks).toHaveLength(3); // own bytes, records, own bytes
    // A reference, not a snapshot: what the socket would send is the store's memory itself.
    const i = chunks.findIndex((c) => sameMemory(c, large));
    readBuffer[150] ^= 0xff;
    expect(chunks[i]![50]).toBe(readBuffer[150]);
    readBuffer[150] ^= 0xff;
    // finish() still gives the whole frame as one buffer (a copy, for callers that need one).
    expect(w.finish()).toEqual(copied);
  });

  it('a writer without views, or records below the threshold, copies: one chunk', () => {
    const res = { ...response(), responses: [{ topic: 't', partitions: [{ partitionIndex: 0, records: small }] }] };
    const w = Writer.withViews();
    writeResponseFrame(1, true, (ww) => G.encodeFetchResponse(ww, res, 16), w);
    expect(w.chunks()).toHaveLength(1);
    const plain = new Writer();
    G.encodeFetchResponse(plain, response(), 16);
    expect(plain.chunks()).toHaveLength(1);
  });
});

describe('Fetch on a real broker with the file store', () => {
  const CreateTopics = clientApi(G.CreateTopicsApi, G.encodeCreateTopicsRequest, G.decodeCreateTopicsResponse);
  const Produce = clientApi(G.ProduceApi, G.encodeProduceRequest, G.decodeProduceResponse);
  let broker: Broker | undefined;
  let client: RawClient | undefined;
  let probe: Probe | undefined;
  let dir: string | undefined;
  const restore: Array<() => void> = [];

  afterEach(async () => {
    for (const r of restore.splice(0)) r();
    probe?.destroy();
    client?.close();
    await broker?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    broker = client = probe = dir = undefined;
  });

  const topic = 'fetch-views';

  /** A file-store broker with three batches of ~3 KiB in `topic` (returns its topic id). */
  async function setup(): Promise<{ b: Broker; id: string }> {
    dir = mkdtempSync(join(tmpdir(), 'brook-fetch-views-'));
    const b = (broker = await startTestBroker({ dataDir: dir }));
    const c = (client = await rawClient(b));
    const created = await c.request(CreateTopics, 7, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, configs: [] }], timeoutMs: 1000 });
    expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    // Each batch is below the view threshold, one read of all three above it, so the response
    // references the read buffer only because joinViews keeps them one view.
    for (let i = 0; i < 3; i++) {
      const batch = encodeRecordBatch({ records: [{ key: null, value: seededBytes(i, 3000), headers: [], timestamp: 1_700_000_000_000n }] });
      expect(batch.length).toBeLessThan(MIN_RECORDS_VIEW_BYTES);
      const r = await c.request(Produce, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
      expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
    }
    return { b, id: await topicId(c, topic) };
  }

  const fetchBody = (id: string) => ({
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, topicId: id, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
    forgottenTopicsData: [],
    rackId: '',
  });

  /** The next response frame on the probe after `received` bytes (without its size prefix). */
  async function nextFrame(p: Probe, received: number): Promise<Buffer> {
    const size = (await p.waitBytes(received + 4)).readInt32BE(received);
    return (await p.waitBytes(received + 4 + size)).subarray(received + 4);
  }

  /** Decodes a Fetch response frame and checks it is byte for byte what the copying encoder makes of it. */
  function decodeExact(frame: Buffer, v: number, correlationId: number): G.FetchResponse {
    const headerV1 = responseHeaderIsV1(G.FetchApi.apiKey, flexible(v));
    const r = new Reader(frame);
    expect(readResponseHeader(r, headerV1)).toBe(correlationId);
    const res = G.decodeFetchResponse(r, v);
    r.complete();
    const copied = encodeResponseFrame(correlationId, headerV1, (w) => G.encodeFetchResponse(w, res, v));
    expect(copied.subarray(4)).toEqual(frame);
    expect(res.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    return res;
  }

  it('writes the store read buffer itself to the socket, and the bytes of the copying encoder, at every version', async () => {
    const { b, id } = await setup();

    // Observe (and pass through) the partition's reads and what the broker's sockets are given.
    const log = b.store.partition(topic, 0)!;
    const reads: ReadResult[] = [];
    const read = log.read;
    log.read = function (...args: Parameters<typeof read>) {
      const r = read.apply(this, args);
      reads.push(r);
      return r;
    };
    restore.push(() => void (log.read = read));
    const written: Buffer[] = [];
    const write = Socket.prototype.write;
    Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
      if (this.localPort === b.port && Buffer.isBuffer(chunk)) written.push(chunk);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof write;
    restore.push(() => void (Socket.prototype.write = write));

    const p = (probe = await openProbe(b.host, b.port));
    let received = 0;
    for (const v of FETCH_VERSIONS) {
      reads.length = 0;
      written.length = 0;
      const correlationId = 1000 + v;
      p.write(requestFrame(G.FetchApi.apiKey, v, correlationId, (w) => G.encodeFetchRequest(w, fetchBody(id), v), flexible(v), 'fetch-views'));
      const frame = await nextFrame(p, received);
      const size = frame.length;
      received += 4 + size;

      // The wire bytes are exactly what the copying encoder makes of the same response.
      const records = decodeExact(frame, v, correlationId).responses[0]!.partitions[0]!.records!;

      expect(reads.length).toBeGreaterThan(0);
      if (v >= 4) {
        // Stored batches as they are, and the socket was handed the store's read buffer itself.
        expect(decodeBatches(records)).toHaveLength(3);
        expect(reads).toHaveLength(1);
        const stored = reads[0]!;
        expect(records).toEqual(Buffer.concat(stored.chunks));
        const view = joinViews(stored.chunks, stored.bytes);
        expect(view.buffer).toBe(stored.chunks[0]!.buffer); // one read buffer: no copy to join
        expect(written.filter((chunk) => sameMemory(chunk, view))).toHaveLength(1);
        expect(written.reduce((n, chunk) => n + chunk.length, 0)).toBe(4 + size);
      } else {
        // Down-converted message sets (v0-v3): new bytes, the same values.
        expect(records.length).toBeGreaterThan(9000);
      }
    }
  });

  it('keeps pipelined responses in request order when some are several buffers', async () => {
    const { b, id } = await setup();
    const p = (probe = await openProbe(b.host, b.port));
    // Fetches of every version (several buffers from v4 on) interleaved with ApiVersions (one
    // buffer), all sent at once: the answers come back in request order, each exact.
    const sent: Array<{ correlationId: number; fetchVersion?: number }> = [];
    const frames: Buffer[] = [];
    for (const v of FETCH_VERSIONS) {
      const fetchId = 2000 + 2 * v;
      frames.push(requestFrame(G.FetchApi.apiKey, v, fetchId, (w) => G.encodeFetchRequest(w, fetchBody(id), v), flexible(v), 'fetch-views'));
      sent.push({ correlationId: fetchId, fetchVersion: v });
      frames.push(requestFrame(G.ApiVersionsApi.apiKey, 0, fetchId + 1));
      sent.push({ correlationId: fetchId + 1 });
    }
    p.write(Buffer.concat(frames));
    let received = 0;
    for (const s of sent) {
      const frame = await nextFrame(p, received);
      received += 4 + frame.length;
      if (s.fetchVersion === undefined) {
        expect(frame.readInt32BE(0)).toBe(s.correlationId);
        expect(frame.readInt16BE(4)).toBe(ErrorCode.NONE);
      } else {
        const records = decodeExact(frame, s.fetchVersion, s.correlationId).responses[0]!.partitions[0]!.records!;
        if (s.fetchVersion >= 4) expect(decodeBatches(records)).toHaveLength(3);
      }
    }
  });
});
