// Malformed and hostile input on separate connections while a well-behaved kafkajs producer keeps
// producing on its own: each bad connection is closed by the broker (or answered where the
// protocol says so), the broker keeps serving, and every one of the producer's sends succeeds.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import { pino } from 'pino';
import type { Broker } from '../../src/broker.js';
import { ErrorCode } from '../../protocol/errors.js';
import { decodeApiVersionsResponse } from '../../protocol/generated/18-api-versions.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { CRC_OFFSET, encodeRecordBatch, verifyBatchCrc } from '../../protocol/records/index.js';
import {
  advertisedApis,
  apiVersionsApi,
  fetchAll,
  highWatermark,
  kafkaFor,
  produceApi,
  rawClient,
  startTestBroker,
} from '../helpers/broker.js';
import { openProbe, requestFrame, seededBytes, sizePrefix } from '../helpers/socket.js';

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

let broker: Broker;
let logs: LogLine[];
const cleanups: Array<() => Promise<void> | void> = [];

async function start(config: Record<string, string> = {}): Promise<void> {
  logs = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  broker = await startTestBroker({ config, logger });
}

beforeEach(async () => {
  await start();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await broker.close();
});

/** Writes `bytes` on a fresh connection; expects the broker to close it without answering. */
async function expectRefused(bytes: Buffer, what: string, opts: { end?: boolean } = {}): Promise<void> {
  const p = await openProbe(broker.host, broker.port);
  try {
    p.write(bytes);
    if (opts.end) p.end();
    expect(await p.waitClosed(3000), `${what}: connection closed`).toBe(true);
    if (!opts.end) expect(p.closedByPeer, `${what}: closed by the broker`).toBe(true);
    expect(p.received().length, `${what}: no response bytes`).toBe(0);
  } finally {
    p.destroy();
  }
}

/** The broker still answers a fresh client. */
async function expectAlive(): Promise<void> {
  const c = await rawClient(broker);
  try {
    expect((await advertisedApis(c)).has(0)).toBe(true);
  } finally {
    c.close();
  }
}

/** Parses one response frame [size][correlation id][body...] from the start of `buf`. */
function frameAt(buf: Buffer): { size: number; correlationId: number; body: Buffer } {
  const size = buf.readInt32BE(0);
  return { size, correlationId: buf.readInt32BE(4), body: buf.subarray(8, 4 + size) };
}

describe('bad input does not disturb other clients', () => {
  it('closes or answers each bad connection while a producer keeps producing', async () => {
    const topic = 'steady';
    const kafka = kafkaFor(broker);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }, { topic: 'crc', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    // The steady producer: at least 200 sends, continuing while the probes run (bounded).
    let probesDone = false;
    let ok = 0;
    const failures: unknown[] = [];
    const producing = (async () => {
      for (let i = 0; i < 5000 && (i < 200 || !probesDone); i++) {
        try {
          const r = await producer.send({ topic, acks: -1, messages: [{ key: `k${i % 11}`, value: `steady-${i}` }] });
          if (r[0]?.errorCode === 0) ok++;
          else failures.push(r);
        } catch (err) {
          failures.push(err);
        }
      }
    })();

    const max = broker.config.int('socket.request.max.bytes');
    try {
      // 1. Random bytes (deterministic seeds). A random int32 prefix is negative or above the
      //    limit for almost every seed; the first seeds below are checked to be so.
      for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
        const bytes = seededBytes(seed, 512);
        const prefix = bytes.readInt32BE(0);
        expect(prefix < 0 || prefix > max, `seed ${seed} prefix ${prefix}`).toBe(true);
        await expectRefused(bytes, `random bytes (seed ${seed})`);
      }
      // 1b. A well-framed request of random bytes (random api key / version / body).
      for (const seed of [11, 12, 13, 14]) {
        const body = seededBytes(seed, 300);
        await expectRefused(Buffer.concat([sizePrefix(body.length), body]), `random frame body (seed ${seed})`);
      }
      // 1c. A valid header for Produce v9 / Metadata v12 / Fetch v11 followed by random bytes.
      for (const [apiKey, version, flexible] of [[0, 9, true], [3, 12, true], [1, 11, false]] as const) {
        const frame = requestFrame(apiKey, version, 7, (w) => w.raw(seededBytes(apiKey + 100, 64)), flexible);
        await expectRefused(frame, `api ${apiKey} v${version} with a random body`);
      }

      // 2. Truncated frame: the size says 100, 10 bytes come, then the client ends.
      await expectRefused(Buffer.concat([sizePrefix(100), Buffer.alloc(6, 1)]), 'truncated frame', { end: true });

      // 3. Huge and negative size prefixes are refused from the prefix alone (nothing buffered).
      await expectRefused(sizePrefix(0x80000000), 'size 0x80000000 (int32 -2^31)');
      await expectRefused(sizePrefix(0x7fffffff), 'size 2^31-1 (above socket.request.max.bytes)');
      await expectRefused(sizePrefix(-1), 'size -1');
      await expectRefused(sizePrefix(-100), 'size -100');
      await expectRefused(sizePrefix(max + 1), 'size socket.request.max.bytes + 1');
      // A zero-length frame has no header at all.
      await expectRefused(sizePrefix(0), 'size 0');

      // 4. Unknown API key; 5. unsupported version of a known API.
      await expectRefused(requestFrame(200, 0, 1), 'api key 200');
      await expectRefused(requestFrame(-1, 0, 1), 'api key -1');
      await expectRefused(requestFrame(3, 99, 1, () => {}, true), 'Metadata v99');
      await expectRefused(requestFrame(1, 0, 1), 'Fetch v0 (below the supported range)');

      // 6. ApiVersions v99: answered with header v0 and a v0 body carrying UNSUPPORTED_VERSION and
      //    the ApiVersions range (KIP-511); the connection stays usable.
      {
        const p = await openProbe(broker.host, broker.port);
        try {
          p.write(requestFrame(18, 99, 4242, (w) => w.raw(seededBytes(99, 20)), true));
          const head = await p.waitBytes(4, 3000);
          const whole = await p.waitBytes(4 + head.readInt32BE(0), 3000);
          const f = frameAt(whole);
          expect(f.correlationId).toBe(4242);
          const r = new Reader(f.body);
          const resp = decodeApiVersionsResponse(r, 0);
          r.complete();
          expect(r.error).toBeUndefined();
          expect(resp.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
          const av = resp.apiKeys.find((k) => k.apiKey === 18);
          expect(av).toMatchObject({ minVersion: 0, maxVersion: 4 });
          // The client retries with a version it now knows about, on the same connection.
          p.write(requestFrame(18, 0, 4243));
          const next = await p.waitBytes(whole.length + 4, 3000);
          const size2 = next.readInt32BE(whole.length);
          const all = await p.waitBytes(whole.length + 4 + size2, 3000);
          const f2 = frameAt(all.subarray(whole.length));
          expect(f2.correlationId).toBe(4243);
          const resp2 = decodeApiVersionsResponse(new Reader(f2.body), 0);
          expect(resp2.errorCode).toBe(ErrorCode.NONE);
          expect(resp2.apiKeys.length).toBeGreaterThan(5);
          expect(p.closedByPeer).toBe(false);
        } finally {
          p.destroy();
        }
      }

      // 7. A Produce whose batch CRC is wrong: CORRUPT_MESSAGE for that partition, nothing appended,
      //    and the connection stays open (Kafka answers, it does not disconnect).
      {
        const c = await rawClient(broker);
        try {
          const good = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('good') }] });
          const r1 = await c.request(produceApi, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'crc', partitionData: [{ index: 0, records: good }] }] });
          expect(r1.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
          const end = await highWatermark(c, 'crc', 0);
          expect(end).toBe(1n);

          const flippedValue = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('bad value') }] });
          flippedValue[flippedValue.length - 2]! ^= 0xff; // inside the covered region
          const flippedCrc = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('bad crc') }] });
          flippedCrc[CRC_OFFSET]! ^= 0x01;
          for (const bad of [flippedValue, flippedCrc]) {
            expect(verifyBatchCrc(bad)).toBe(false);
            const r = await c.request(produceApi, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'crc', partitionData: [{ index: 0, records: bad }] }] });
            const pr = r.responses[0]!.partitionResponses[0]!;
            expect(pr.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
            expect(pr.baseOffset).toBe(-1n);
            expect(await highWatermark(c, 'crc', 0)).toBe(end);
          }
          // The same connection then produces normally.
          const r3 = await c.request(produceApi, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'crc', partitionData: [{ index: 0, records: good }] }] });
          expect(r3.responses[0]!.partitionResponses[0]!).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 1n });
          expect(c.closed).toBe(false);

          // Records that are not a batch at all, or a batch cut short: an error for the partition
          // (Kafka: INVALID_RECORD / CORRUPT_MESSAGE), nothing appended, connection kept.
          const whole = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('cut short') }] });
          for (const junk of [Buffer.from('0123456789'), whole.subarray(0, whole.length - 5), seededBytes(77, 80)]) {
            const r = await c.request(produceApi, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'crc', partitionData: [{ index: 0, records: junk }] }] });
            expect([ErrorCode.INVALID_RECORD, ErrorCode.CORRUPT_MESSAGE]).toContain(r.responses[0]!.partitionResponses[0]!.errorCode);
          }
          expect(await highWatermark(c, 'crc', 0)).toBe(2n);
        } finally {
          c.close();
        }
      }

      // 8. acks=0 with a corrupt batch: no response; Kafka closes the connection to tell the producer.
      {
        const c = await rawClient(broker);
        try {
          const bad = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('acks0 bad') }] });
          bad[bad.length - 1]! ^= 0x55;
          c.send(produceApi, 9, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'crc', partitionData: [{ index: 0, records: bad }] }] });
          expect(await c.waitClosed(3000)).toBe(true);
        } finally {
          c.close();
        }
        const c2 = await rawClient(broker);
        try {
          expect(await highWatermark(c2, 'crc', 0)).toBe(2n);
        } finally {
          c2.close();
        }
      }

      // 9. A valid request dribbled one byte per write, then two requests and a half in one write:
      //    framing across chunk boundaries.
      {
        const p = await openProbe(broker.host, broker.port);
        try {
          const req = (id: number): Buffer => requestFrame(18, 0, id);
          for (const b of req(1)) {
            p.write(Buffer.of(b));
            await new Promise((r) => setImmediate(r));
          }
          const third = req(4);
          p.write(Buffer.concat([req(2), req(3), third.subarray(0, 5)]));
          await new Promise((r) => setTimeout(r, 10));
          p.write(third.subarray(5));
          const ids: number[] = [];
          let at = 0;
          for (let i = 0; i < 4; i++) {
            const head = await p.waitBytes(at + 4, 3000);
            const size = head.readInt32BE(at);
            const all = await p.waitBytes(at + 4 + size, 3000);
            const f = frameAt(all.subarray(at));
            ids.push(f.correlationId);
            expect(decodeApiVersionsResponse(new Reader(f.body), 0).errorCode).toBe(ErrorCode.NONE);
            at += 4 + size;
          }
          expect(ids).toEqual([1, 2, 3, 4]);
        } finally {
          p.destroy();
        }
      }
      await expectAlive();
    } finally {
      probesDone = true;
      await producing;
    }

    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThanOrEqual(200);
    const c = await rawClient(broker);
    try {
      const total = (await fetchAll(c, topic, 0)).length + (await fetchAll(c, topic, 1)).length;
      expect(total).toBe(ok);
    } finally {
      c.close();
    }
    // Every refused connection left a log line, none at error level or above.
    expect(logs.filter((l) => l.msg.startsWith('closing connection')).length).toBeGreaterThanOrEqual(20);
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);
  });
});

describe('socket.request.max.bytes', () => {
  it('accepts a frame of exactly the limit and refuses one byte more from its size prefix alone', async () => {
    await broker.close();
    const limit = 1024;
    await start({ 'socket.request.max.bytes': String(limit) });

    // An ApiVersions v3 request padded (client software name) to a frame of exactly `limit` bytes.
    const frameOf = (nameLength: number): Buffer =>
      requestFrame(18, 3, 9, (w) => {
        w.compactString('a'.repeat(nameLength));
        w.compactString('1');
        w.noTaggedFields();
      }, true);
    let n = 1;
    while (frameOf(n).length - 4 < limit) n++;
    const exact = frameOf(n);
    expect(exact.length - 4).toBe(limit);

    // At the limit: the prefix is accepted, the broker waits for the body and answers.
    {
      const p = await openProbe(broker.host, broker.port);
      try {
        p.write(exact.subarray(0, 4));
        await new Promise((r) => setTimeout(r, 50));
        p.write(exact.subarray(4));
        const head = await p.waitBytes(4, 3000);
        const whole = await p.waitBytes(4 + head.readInt32BE(0), 3000);
        const f = frameAt(whole);
        expect(f.correlationId).toBe(9);
        expect(decodeApiVersionsResponse(new Reader(f.body), 3).errorCode).toBe(ErrorCode.NONE);
      } finally {
        p.destroy();
      }
    }

    // One byte over: closed as soon as the 4-byte prefix arrives, before any body is sent.
    const over = frameOf(n + 1);
    expect(over.length - 4).toBe(limit + 1);
    {
      const p = await openProbe(broker.host, broker.port);
      try {
        p.write(over.subarray(0, 4));
        expect(await p.waitClosed(3000)).toBe(true);
        expect(p.closedByPeer).toBe(true);
        expect(p.received().length).toBe(0);
      } finally {
        p.destroy();
      }
    }
    expect(logs.some((l) => l.msg.includes(`frame size ${limit + 1} outside 0..${limit}`))).toBe(true);

    // Ordinary clients still work against the small limit.
    const c = await rawClient(broker);
    try {
      const r = await c.request(apiVersionsApi, 3, { clientSoftwareName: 'ok', clientSoftwareVersion: '1' });
      expect(r.errorCode).toBe(ErrorCode.NONE);
    } finally {
      c.close();
    }
  });
});
