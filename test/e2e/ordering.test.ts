// Response ordering and long polls on one connection: responses come back strictly in request
// order (RawClient throws on a correlation-id mismatch, as Java and librdkafka would fail), a
// parked Fetch wakes up on an append from another connection, and acks=0 produces leave no gap.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import type { RawClient } from '../../src/client/raw-client.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { FetchResponse } from '../../protocol/generated/01-fetch.js';
import { decodeBatches, encodeRecordBatch } from '../../protocol/records/index.js';
import {
  apiVersionsApi,
  fetchAll,
  fetchApi,
  metadataApi,
  produceApi,
  rawClient,
  startTestBroker,
  topicId,
} from '../helpers/broker.js';

let broker: Broker;
const clients: RawClient[] = [];

beforeEach(async () => {
  broker = await startTestBroker();
  const ok = (name: string, partitions: number) => expect(broker.topics.create(name, partitions, 1, {}).errorCode).toBe(ErrorCode.NONE);
  ok('empty', 1);
  ok('busy', 2);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await broker.close();
});

async function client(): Promise<RawClient> {
  const c = await rawClient(broker);
  clients.push(c);
  return c;
}

function longPoll(c: RawClient, topic: string, partitions: number[], opts: { maxWaitMs: number; minBytes?: number; version?: number; fetchOffset?: bigint; topicId?: string }): Promise<FetchResponse> {
  return c.request(fetchApi, opts.version ?? 11, {
    replicaId: -1,
    maxWaitMs: opts.maxWaitMs,
    minBytes: opts.minBytes ?? 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, topicId: opts.topicId, partitions: partitions.map((partition) => ({ partition, fetchOffset: opts.fetchOffset ?? 0n, partitionMaxBytes: 1 << 20 })) }],
    forgottenTopicsData: [],
    rackId: '',
  });
}

function produce(c: RawClient, topic: string, partition: number, values: string[], acks = 1, version = 9) {
  const records = encodeRecordBatch({ records: values.map((v) => ({ key: null, value: Buffer.from(v) })) });
  return c.request(produceApi, version, { acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
}

function values(resp: FetchResponse): string[] {
  return resp.responses.flatMap((t) =>
    t.partitions.flatMap((p) => decodeBatches(p.records ?? Buffer.alloc(0)).flatMap((b) => b.records.map((r) => r.value!.toString()))),
  );
}

/** Tracks the order in which promises settle. */
function tracker() {
  const order: string[] = [];
  return {
    order,
    track<T>(name: string, p: Promise<T>): Promise<T> {
      return p.then(
        (v) => {
          order.push(name);
          return v;
        },
        (err: unknown) => {
          order.push(`${name}!`);
          throw err;
        },
      );
    },
  };
}

describe('pipelined requests are answered in request order', () => {
  for (const version of [4, 11, 12, 17]) {
    it(`a long-poll Fetch v${version} (500 ms, empty partition) holds back the Metadata pipelined behind it`, async () => {
      const c = await client();
      const id = version >= 13 ? await topicId(c, 'empty') : undefined;
      const t = tracker();
      const fetch = t.track('fetch', longPoll(c, 'empty', [0], { maxWaitMs: 500, minBytes: 1, version, topicId: id }));
      const md = t.track('metadata', c.request(metadataApi, 12, { topics: [{ name: 'empty' }], allowAutoTopicCreation: false }));
      const [f, m] = await Promise.all([fetch, md]);
      expect(t.order).toEqual(['fetch', 'metadata']);
      const p = f.responses[0]!.partitions[0]!;
      expect(p.errorCode).toBe(ErrorCode.NONE);
      expect(p.highWatermark).toBe(0n);
      expect(p.records?.length ?? 0).toBe(0);
      expect(m.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    });
  }

  it('a mix of long polls, produces, Metadata and ApiVersions on one connection comes back in order', async () => {
    const c = await client();
    const t = tracker();
    const all = [
      t.track('fetch-empty', longPoll(c, 'empty', [0], { maxWaitMs: 300 })),
      t.track('produce-busy-1', produce(c, 'busy', 1, ['b1'])),
      t.track('apiversions', c.request(apiVersionsApi, 3, { clientSoftwareName: 'e2e', clientSoftwareVersion: '1' })),
      t.track('fetch-empty-2', longPoll(c, 'empty', [0], { maxWaitMs: 200 })),
      t.track('metadata', c.request(metadataApi, 1, { topics: null })),
      t.track('produce-busy-0', produce(c, 'busy', 0, ['b0'])),
    ];
    await Promise.all(all);
    expect(t.order).toEqual(['fetch-empty', 'produce-busy-1', 'apiversions', 'fetch-empty-2', 'metadata', 'produce-busy-0']);
  });

  it('a Produce pipelined behind a long poll on the same partition is answered after the Fetch', async () => {
    // Brook reads requests concurrently (Kafka mutes the channel instead), so this Produce may wake
    // the Fetch early or not; either way the answers keep request order.
    const c = await client();
    const t = tracker();
    const fetch = t.track('fetch', longPoll(c, 'busy', [0], { maxWaitMs: 1000 }));
    const prod = t.track('produce', produce(c, 'busy', 0, ['same-connection']));
    const [f, p] = await Promise.all([fetch, prod]);
    expect(t.order).toEqual(['fetch', 'produce']);
    expect(p.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(f.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(['same-connection', undefined]).toContain(values(f)[0]);
  });
});

describe('long poll', () => {
  it('returns as soon as a record is produced on another connection (max_wait 10 s)', async () => {
    const fetcher = await client();
    const producer = await client();
    const started = Date.now();
    let settled = false;
    const fetch = longPoll(fetcher, 'busy', [0, 1], { maxWaitMs: 10_000, minBytes: 1 }).finally(() => (settled = true));
    // Nothing to read: the Fetch is parked, not answered empty.
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false);
    const pr = await produce(producer, 'busy', 1, ['wake up']);
    expect(pr.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
    const f = await fetch;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(values(f)).toEqual(['wake up']);
    const p1 = f.responses[0]!.partitions.find((p) => p.partitionIndex === 1)!;
    expect(p1.highWatermark).toBe(1n);
  });

  it('also wakes a Fetch v17 naming the topic by id, from a kafkajs-independent producer connection', async () => {
    const fetcher = await client();
    const producer = await client();
    const id = await topicId(fetcher, 'empty');
    const fetch = longPoll(fetcher, 'empty', [0], { maxWaitMs: 10_000, version: 17, topicId: id });
    await new Promise((r) => setTimeout(r, 50));
    await produce(producer, 'empty', 0, ['by id'], -1, 11);
    const f = await fetch;
    expect(f.responses[0]!.topicId).toBe(id);
    expect(values(f)).toEqual(['by id']);
  });

  it('waits for min_bytes (or the deadline) rather than returning on the first small append', async () => {
    const fetcher = await client();
    const producer = await client();
    const started = Date.now();
    const fetch = longPoll(fetcher, 'busy', [0], { maxWaitMs: 1000, minBytes: 100_000 });
    await new Promise((r) => setTimeout(r, 50));
    await produce(producer, 'busy', 0, ['small']);
    const f = await fetch;
    const elapsed = Date.now() - started;
    // Answered at the deadline with what there is (lower bound with slack for timer coarseness).
    expect(elapsed).toBeGreaterThanOrEqual(800);
    expect(elapsed).toBeLessThan(10_000);
    expect(values(f)).toEqual(['small']);
  });

  it('a parked Fetch is answered promptly when the broker shuts down', async () => {
    const fetcher = await client();
    const started = Date.now();
    const fetch = longPoll(fetcher, 'empty', [0], { maxWaitMs: 10_000 }).then(
      (r) => ({ ok: true as const, r }),
      (err: Error) => ({ ok: false as const, err }),
    );
    await new Promise((r) => setTimeout(r, 100));
    await broker.close();
    const out = await fetch;
    expect(Date.now() - started).toBeLessThan(5000);
    // Either an (empty) answer or a closed connection; never a 10 s hang.
    if (out.ok) expect(out.r.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
  });
});

describe('acks=0', () => {
  it('gets no response: the next request on the connection gets the next correlation id', async () => {
    const c = await client();
    for (const version of [3, 9, 11]) {
      const records = (v: string) => encodeRecordBatch({ records: [{ key: null, value: Buffer.from(v) }] });
      c.send(produceApi, version, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'busy', partitionData: [{ index: 0, records: records(`a0-v${version}-1`) }] }] });
      c.send(produceApi, version, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'busy', partitionData: [{ index: 0, records: records(`a0-v${version}-2`) }] }] });
      // RawClient matches this response against its own correlation id and throws on a mismatch.
      const md = await c.request(metadataApi, 12, { topics: [{ name: 'busy' }], allowAutoTopicCreation: false });
      expect(md.topics[0]!.name).toBe('busy');
      c.send(produceApi, version, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'busy', partitionData: [{ index: 0, records: records(`a0-v${version}-3`) }] }] });
      const av = await c.request(apiVersionsApi, 0, {});
      expect(av.errorCode).toBe(ErrorCode.NONE);
    }
    expect(c.closed).toBe(false);
    const got = (await fetchAll(c, 'busy', 0)).map((r) => r.value!.toString());
    expect(got).toEqual([3, 9, 11].flatMap((v) => [1, 2, 3].map((i) => `a0-v${v}-${i}`)));
  });
});
