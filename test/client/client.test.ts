// Brook's Kafka client (src/client): the key partitioner against kafkajs' Java-compatible one, the
// range assignor, record decoding with read_committed filtering, version negotiation against a
// real broker and, byte for byte, the ApiVersions fallback an older broker forces (KIP-511).

import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { Apis } from '../../src/client/apis.js';
import { Connection } from '../../src/client/connection.js';
import { UnsupportedVersionError } from '../../src/client/errors.js';
import { KafkaClient, decodeFetchedRecords, partitionForKey, rangeAssign } from '../../src/client/index.js';
import { encodeResponseFrame } from '../../protocol/framing.js';
import { ErrorCode } from '../../protocol/errors.js';
import { encodeApiVersionsResponse } from '../../protocol/generated/18-api-versions.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { ControlRecordType, assignOffsets, encodeControlBatch, encodeRecordBatch } from '../../protocol/records/index.js';
import { startTestBroker } from '../helpers/broker.js';

describe('partitionForKey', () => {
  it('picks the partition kafkajs\' DefaultPartitioner (Java\'s murmur2) picks, for many keys and partition counts', () => {
    const js = Partitioners.DefaultPartitioner();
    let seed = 42;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const len = rand() % 40;
      const key = Buffer.from(Array.from({ length: len }, () => rand() & 0xff));
      const n = 1 + (rand() % 64);
      const partitionMetadata = Array.from({ length: n }, (_, p) => ({ partitionId: p, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] }));
      expect(partitionForKey(key, n)).toBe(js({ topic: 't', partitionMetadata, message: { key, value: null } }));
    }
  });
});

describe('rangeAssign', () => {
  it('gives each member a consecutive range, the first ones one extra, per topic in member-id order', () => {
    const counts = new Map([
      ['a', 5],
      ['b', 2],
    ]);
    const out = rangeAssign(
      [
        { memberId: 'm2', topics: ['a', 'b'] },
        { memberId: 'm1', topics: ['a', 'b'] },
        { memberId: 'm3', topics: ['a'] },
      ],
      counts,
    );
    const show = (m: string) => out.get(m)!.map((tp) => `${tp.topic}${tp.partition}`).join(',');
    expect(show('m1')).toBe('a0,a1,b0');
    expect(show('m2')).toBe('a2,a3,b1');
    expect(show('m3')).toBe('a4');
  });

  it('leaves members beyond the partition count empty and skips unknown topics', () => {
    const out = rangeAssign(
      [
        { memberId: 'x', topics: ['t', 'gone'] },
        { memberId: 'y', topics: ['t'] },
      ],
      new Map([['t', 1]]),
    );
    expect(out.get('x')).toEqual([{ topic: 't', partition: 0 }]);
    expect(out.get('y')).toEqual([]);
  });
});

describe('decodeFetchedRecords', () => {
  const rec = (v: string) => ({ key: null, value: Buffer.from(v) });
  function log(): Buffer {
    const batches = [
      encodeRecordBatch({ records: [rec('t7-a'), rec('t7-b')], producerId: 7n, producerEpoch: 0, baseSequence: 0, isTransactional: true }),
      encodeControlBatch({ type: ControlRecordType.ABORT, producerId: 7n, producerEpoch: 0, coordinatorEpoch: 0 }),
      encodeRecordBatch({ records: [rec('plain')] }),
      encodeRecordBatch({ records: [rec('t8')], producerId: 8n, producerEpoch: 0, baseSequence: 0, isTransactional: true }),
      encodeControlBatch({ type: ControlRecordType.COMMIT, producerId: 8n, producerEpoch: 0, coordinatorEpoch: 0 }),
    ];
    let offset = 0n;
    for (const b of batches) {
      assignOffsets(b, offset, 0);
      offset += BigInt(b.readInt32BE(23) + 1);
    }
    return Buffer.concat(batches);
  }

  it('read_committed drops an aborted transaction and every control batch; positions move past all', () => {
    const got = decodeFetchedRecords('t', 0, log(), 0n, { readCommitted: true, aborted: [{ producerId: 7n, firstOffset: 0n }] });
    expect(got.records.map((r) => [r.offset, r.value!.toString()])).toEqual([
      [3n, 'plain'],
      [4n, 't8'],
    ]);
    expect(got.next).toBe(6n);
    expect(got.complete).toBe(5);
  });

  it('read_uncommitted keeps aborted data; records below the position are dropped; a cut trailing batch is left for later', () => {
    const all = log();
    const got = decodeFetchedRecords('t', 0, all, 1n, { readCommitted: false, aborted: null });
    expect(got.records.map((r) => r.value!.toString())).toEqual(['t7-b', 'plain', 't8']);
    const cut = decodeFetchedRecords('t', 0, all.subarray(0, all.length - 10), 0n, { readCommitted: false, aborted: null });
    expect(cut.complete).toBe(4);
    expect(cut.next).toBe(5n);
  });
});

describe('version negotiation', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('uses the highest version both sides support, and refuses a range the broker does not serve', async () => {
    const conn = await Connection.open(broker.host, broker.port);
    try {
      expect(conn.apiVersions.get(0)).toEqual({ min: 0, max: 11 });
      expect(conn.version(Apis.produce)).toBe(11);
      expect(conn.version(Apis.fetch)).toBe(17);
      expect(conn.version(Apis.fetch, { maxVersion: 12 })).toBe(12);
      expect(conn.version(Apis.describeCluster)).toBe(1);
      await expect(conn.request(Apis.metadata, { topics: [] }, { minVersion: 50 })).rejects.toThrow(UnsupportedVersionError);
    } finally {
      conn.close();
    }
  });

  it('a client reads a topic it created at every Fetch version from 4 (classic) to 17 (flexible, topic ids)', async () => {
    const client = new KafkaClient(broker.bootstrap);
    try {
      const { createTopics } = await import('../../src/client/admin.js');
      const { Producer, Fetcher } = await import('../../src/client/index.js');
      await createTopics(client, [{ name: 'neg-fetch', partitions: 1 }]);
      await new Producer(client).send('neg-fetch', [{ key: null, value: Buffer.from('x') }, { key: null, value: Buffer.from('y') }]);
      const conn = await client.any();
      for (let v = 4; v <= 17; v++) {
        const res = await conn.request(
          Apis.fetch,
          {
            replicaId: -1,
            maxWaitMs: 0,
            minBytes: 0,
            maxBytes: 1 << 20,
            topics: [{ topic: 'neg-fetch', topicId: (await client.topic('neg-fetch')).topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
          },
          { minVersion: v, maxVersion: v },
        );
        const p = res.responses[0]!.partitions[0]!;
        expect(p.errorCode).toBe(ErrorCode.NONE);
        expect(decodeFetchedRecords('neg-fetch', 0, p.records!, 0n, { readCommitted: false, aborted: null }).records.map((r) => r.value!.toString())).toEqual(['x', 'y']);
      }
      const f = new Fetcher(client);
      f.assign([{ topic: 'neg-fetch', partition: 0, offset: 1n }]);
      expect((await f.poll()).map((r) => r.value!.toString())).toEqual(['y']);
    } finally {
      client.close();
    }
  });

  it('retries ApiVersions at the version an older broker names in its v0 error answer (KIP-511)', async () => {
    const seen: number[] = [];
    const server: Server = createServer((s: Socket) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
          const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
          buf = buf.subarray(4 + frame.length);
          const r = new Reader(frame);
          const apiKey = r.int16();
          const version = r.int16();
          const correlationId = r.int32();
          expect(apiKey).toBe(18);
          seen.push(version);
          // Versions above 2 are unknown to this "broker": a v0 body with the error and its range.
          const answerVersion = version > 2 ? 0 : version;
          const body = {
            errorCode: version > 2 ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.NONE,
            apiKeys:
              version > 2
                ? [{ apiKey: 18, minVersion: 0, maxVersion: 2 }]
                : [
                    { apiKey: 18, minVersion: 0, maxVersion: 2 },
                    { apiKey: 3, minVersion: 1, maxVersion: 9 },
                  ],
            throttleTimeMs: 0,
          };
          s.write(encodeResponseFrame(correlationId, false, (w) => encodeApiVersionsResponse(w, body, answerVersion)));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const conn = await Connection.open('127.0.0.1', port);
      expect(seen).toEqual([4, 2]);
      expect(conn.version(Apis.metadata)).toBe(9);
      expect(conn.version(Apis.produce)).toBeUndefined();
      conn.close();
    } finally {
      server.close();
    }
  });
});
