// End to end with zstd (codec 4) on every supported Node: node:zlib where the runtime has it
// (22.15+ / 23.8+), else @toondepauw/node-zstd (Node 20). Batches librdkafka produces (kcat -z zstd)
// are stored as sent, fetched and decoded by Brook and read back by kcat; timestamp look-ups find
// the exact record inside zstd batches (before the package, Node 20 could only approximate);
// a zstd decompression bomb stored in a partition does not take the broker down.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import type { RawClient } from '../../src/client/raw-client.js';
import { clientApi } from '../../src/client/raw-client.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ListOffsetsApi, decodeListOffsetsResponse, encodeListOffsetsRequest } from '../../protocol/generated/02-list-offsets.js';
import {
  BATCH_HEADER_SIZE,
  Compression,
  compressionSupport,
  encodeRecordBatch,
  writeBatchCrc,
  zstdCodecs,
} from '../../protocol/records/index.js';
import {
  NO_KCAT,
  fetchAll,
  fetchApi,
  hasKcat,
  kafkaFor,
  produceApi,
  rawClient,
  runKcat,
  startTestBroker,
} from '../helpers/broker.js';

const listOffsetsApi = clientApi(ListOffsetsApi, encodeListOffsetsRequest, decodeListOffsetsResponse);
const str = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));
const KCAT_NET = ['-X', 'broker.address.family=v4'];

let broker: Broker;
let raw: RawClient;

beforeEach(async () => {
  broker = await startTestBroker();
  raw = await rawClient(broker);
});

afterEach(async () => {
  raw.close();
  await broker.close();
});

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }] });
  } finally {
    await admin.disconnect();
  }
}

async function produceRaw(topic: string, records: Buffer): Promise<number> {
  const resp = await raw.request(produceApi, 9, {
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return resp.responses[0]!.partitionResponses[0]!.errorCode;
}

async function offsetForTime(topic: string, timestamp: bigint): Promise<[bigint, bigint]> {
  const r = await raw.request(listOffsetsApi, 5, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp }] }] });
  const p = r.topics[0]!.partitions[0]!;
  expect(p.errorCode).toBe(ErrorCode.NONE);
  return [p.offset, p.timestamp];
}

describe('zstd end to end', () => {
  it(`this runtime has a zstd codec (${zstdCodecs().map((c) => c.name).join(', ') || 'none'})`, () => {
    expect(compressionSupport(Compression.ZSTD)).toEqual({ compress: true, decompress: true });
  });

  it.skipIf(!hasKcat)(`kcat -P -z zstd: stored as zstd, fetched and decoded by Brook, read back by kcat (${hasKcat ? 'kcat found' : NO_KCAT})`, async () => {
    const topic = 'zstd-kcat';
    await createTopic(topic, 2);
    // Partition 0: a few small batches. Partition 1: ~1.5 MB of records, several large batches.
    const sizes = [200, 3000];
    const value = (p: number, i: number) => `zstd-p${p}-${i}-${'kafka record '.repeat(p === 0 ? 3 : 40)}`;
    for (const [partition, n] of sizes.entries()) {
      const lines = Array.from({ length: n }, (_, i) => `k${i % 7}:${value(partition, i)}`).join('\n') + '\n';
      const kc = await runKcat(
        ['-b', broker.bootstrap, '-P', '-t', topic, '-p', String(partition), '-z', 'zstd', '-K', ':', '-H', 'codec=zstd',
          '-X', 'linger.ms=50', '-X', 'batch.num.messages=10000', ...KCAT_NET],
        lines,
        30_000,
      );
      expect(kc.code, kc.stderr).toBe(0);
    }
    for (const [partition, n] of sizes.entries()) {
      const recs = await fetchAll(raw, topic, partition);
      expect(recs.length).toBe(n);
      expect(recs.every((r) => r.compression === Compression.ZSTD), 'every batch arrived as zstd').toBe(true);
      expect(recs.map((r) => str(r.value))).toEqual(Array.from({ length: n }, (_, i) => value(partition, i)));
      expect(recs.map((r) => str(r.key))).toEqual(Array.from({ length: n }, (_, i) => `k${i % 7}`));
      expect(recs.every((r) => r.headers.length === 1 && r.headers[0]!.key === 'codec' && str(r.headers[0]!.value) === 'zstd')).toBe(true);
      expect(recs.map((r) => r.offset)).toEqual(Array.from({ length: n }, (_, i) => BigInt(i)));
    }
    const back = await runKcat(['-b', broker.bootstrap, '-C', '-t', topic, '-p', '1', '-e', '-q', '-f', '%k:%s\n', ...KCAT_NET], undefined, 30_000);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout.split('\n').filter(Boolean)).toEqual(Array.from({ length: sizes[1]! }, (_, i) => `k${i % 7}:${value(1, i)}`));
  });

  it.skipIf(!hasKcat)(`Brook-encoded zstd batches at every level are read by kcat -C (${hasKcat ? 'kcat found' : NO_KCAT})`, async () => {
    const topic = 'zstd-to-kcat';
    await createTopic(topic, 1);
    const expected: string[] = [];
    for (const [b, level] of [undefined, 1, 19].entries()) {
      const records = Array.from({ length: 20 }, (_, i) => ({ key: Buffer.from(`b${b}`), value: Buffer.from(`level ${level} record ${i} ${'z'.repeat(100)}`) }));
      const batch = encodeRecordBatch({ records, compression: Compression.ZSTD, compressionOptions: { zstdLevel: level } });
      expect(await produceRaw(topic, batch)).toBe(ErrorCode.NONE);
      expected.push(...records.map((r) => `${r.key}|${r.value}`));
    }
    const kc = await runKcat(['-b', broker.bootstrap, '-C', '-t', topic, '-e', '-q', '-f', '%k|%s\n', ...KCAT_NET]);
    expect(kc.code, kc.stderr).toBe(0);
    expect(kc.stdout.split('\n').filter(Boolean)).toEqual(expected);
  });

  it('ListOffsets by timestamp finds the exact record inside zstd batches', async () => {
    const topic = 'zstd-times';
    await createTopic(topic, 1);
    const T = 1_700_000_000_000n;
    for (let b = 0; b < 3; b++) {
      const records = Array.from({ length: 10 }, (_, i) => ({ key: null, value: Buffer.from(`b${b}r${i}`), timestamp: T + BigInt(b * 1000 + i * 10) }));
      expect(await produceRaw(topic, encodeRecordBatch({ records, compression: Compression.ZSTD }))).toBe(ErrorCode.NONE);
    }
    expect(await offsetForTime(topic, T + 45n)).toEqual([5n, T + 50n]); // inside the first batch
    expect(await offsetForTime(topic, T + 1001n)).toEqual([11n, T + 1010n]); // inside the second
    expect(await offsetForTime(topic, T + 2090n)).toEqual([29n, T + 2090n]); // last record
    expect((await offsetForTime(topic, T + 5000n))[0]).toBe(-1n); // past every record
  });

  it('a zstd decompression bomb stored in a partition does not take the broker down', async () => {
    const topic = 'zstd-bomb';
    await createTopic(topic, 1);
    // 2,400 RLE blocks of 128 KiB: ~9.6 KB that expand to 300 MiB, over the 100 MiB cap.
    const frame: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3])];
    for (let i = 0; i < 2400; i++) {
      const bh = ((128 * 1024) << 3) | (1 << 1) | (i === 2399 ? 1 : 0);
      frame.push(Buffer.from([bh & 0xff, (bh >>> 8) & 0xff, (bh >>> 16) & 0xff, 0x61]));
    }
    const T = 1_700_000_000_000n;
    const header = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x'), timestamp: T }] }).subarray(0, BATCH_HEADER_SIZE);
    const bomb = Buffer.concat([header, ...frame]);
    bomb.writeInt32BE(bomb.length - 12, 8);
    bomb.writeInt16BE(Compression.ZSTD, 21);
    writeBatchCrc(bomb);
    const code = await produceRaw(topic, bomb);
    // Brook stores compressed batches without decompressing them; refusing it would be fine too.
    expect([ErrorCode.NONE, ErrorCode.CORRUPT_MESSAGE, ErrorCode.INVALID_RECORD]).toContain(code);
    const good = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('after'), timestamp: T + 100n }], compression: Compression.ZSTD });
    expect(await produceRaw(topic, good)).toBe(ErrorCode.NONE);
    const start = Date.now();
    // The time look-up walks the bomb batch first: refused by the cap, it falls back to the
    // batch header, and the next batch is found exactly.
    expect(await offsetForTime(topic, T + 50n)).toEqual(code === ErrorCode.NONE ? [1n, T + 100n] : [0n, T + 100n]);
    expect(Date.now() - start).toBeLessThan(5000);
    // Fetch serves the stored bytes untouched; the broker keeps answering.
    const resp = await raw.request(fetchApi, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '',
    });
    const stored = resp.responses[0]!.partitions[0]!.records!;
    if (code === ErrorCode.NONE) expect(stored.subarray(BATCH_HEADER_SIZE, bomb.length).equals(bomb.subarray(BATCH_HEADER_SIZE))).toBe(true);
    const last = (await fetchAll(raw, topic, 0, code === ErrorCode.NONE ? 1n : 0n)).map((r) => str(r.value));
    expect(last).toEqual(['after']);
  });
  it('Fetch below v10 of a topic with compression.type=zstd is UNSUPPORTED_COMPRESSION_TYPE (as Kafka); v10 and zstd batches elsewhere are served', async () => {
    const admin = kafkaFor(broker).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          { topic: 'zstd-topic', numPartitions: 1, configEntries: [{ name: 'compression.type', value: 'zstd' }] },
          { topic: 'zstd-batches', numPartitions: 1 },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const batch = () => encodeRecordBatch({ compression: Compression.ZSTD, records: [{ key: null, value: Buffer.from('z'.repeat(200)) }] });
    expect(await produceRaw('zstd-topic', batch())).toBe(ErrorCode.NONE);
    expect(await produceRaw('zstd-batches', batch())).toBe(ErrorCode.NONE);
    const fetchAt = async (version: number, topic: string) => {
      const r = await raw.request(fetchApi, version, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
        forgottenTopicsData: [], rackId: '',
      });
      const part = r.responses[0]!.partitions[0]!;
      return { errorCode: part.errorCode, bytes: part.records?.length ?? 0 };
    };
    for (const v of [4, 9]) expect(await fetchAt(v, 'zstd-topic')).toEqual({ errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, bytes: 0 });
    expect((await fetchAt(10, 'zstd-topic')).errorCode).toBe(ErrorCode.NONE);
    expect((await fetchAt(10, 'zstd-topic')).bytes).toBeGreaterThan(0);
    const v9 = await fetchAt(9, 'zstd-batches');
    expect(v9.errorCode).toBe(ErrorCode.NONE);
    expect(v9.bytes).toBeGreaterThan(0);
  });
});
