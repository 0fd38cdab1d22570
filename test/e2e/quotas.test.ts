// Issue 11: client quotas enforced as Kafka does (ClientQuotaManager, KIP-219) over real sockets.
// - Raw protocol on a ManualClock (the rate is measured on the broker's clock, so the throttle
//   times are exact): a Produce or Fetch over the quota gets throttle_time_ms and its connection
//   is not read for that long; a throttled Fetch is answered without data; clients from before
//   KIP-219 get their response only after the throttle time.
// - kafkajs: a producer above its byte rate is held near it (generous ratio).
// Waiting is only ever asserted as a lower bound (a loaded machine can be slower, never faster).

import { afterEach, describe, expect, it } from 'vitest';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives/uuid.js';
import { encodeRecordBatch } from '../../protocol/records/index.js';
import { startBroker, type Broker, type BrokerOptions } from '../../src/broker.js';
import { ManualClock } from '../../src/common/clock.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';
import { kafkaFor } from '../helpers/broker.js';

const Produce = clientApi(G.ProduceApi, G.encodeProduceRequest, G.decodeProduceResponse);
const Fetch = clientApi(G.FetchApi, G.encodeFetchRequest, G.decodeFetchResponse);
const Metadata = clientApi(G.MetadataApi, G.encodeMetadataRequest, G.decodeMetadataResponse);
const AlterQuotas = clientApi(G.AlterClientQuotasApi, G.encodeAlterClientQuotasRequest, G.decodeAlterClientQuotasResponse);
const CreateTopics = clientApi(G.CreateTopicsApi, G.encodeCreateTopicsRequest, G.decodeCreateTopicsResponse);
const DeleteTopics = clientApi(G.DeleteTopicsApi, G.encodeDeleteTopicsRequest, G.decodeDeleteTopicsResponse);
const CreatePartitions = clientApi(G.CreatePartitionsApi, G.encodeCreatePartitionsRequest, G.decodeCreatePartitionsResponse);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options: BrokerOptions = {}): Promise<Broker> {
  const broker = await startBroker({ host: '127.0.0.1', port: 0, ...options });
  cleanups.push(() => broker.close());
  return broker;
}

async function connect(broker: Broker, clientId: string): Promise<RawClient> {
  const c = await RawClient.connect(broker.host, broker.port, clientId);
  cleanups.push(() => c.close());
  return c;
}

async function setQuota(broker: Broker, entity: Record<string, string | null>, key: string, value: number): Promise<void> {
  const admin = await connect(broker, 'quota-admin');
  const r = await admin.request(AlterQuotas, 1, {
    entries: [{ entity: Object.entries(entity).map(([entityType, entityName]) => ({ entityType, entityName })), ops: [{ key, value, remove: false }] }],
    validateOnly: false,
  });
  expect(r.entries[0]!.errorCode).toBe(ErrorCode.NONE);
}

const batchOf = (bytes: number) => encodeRecordBatch({ records: [{ key: null, value: Buffer.alloc(bytes, 7), headers: [] }] });
const produceBody = (topic: string, records: Buffer, acks = 1) => ({ acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
/** Kafka's throttle for `bytes` recorded at one instant over a 1 s window: (rate - quota) / quota * 1000. */
const expectedThrottle = (bytes: number, quota: number) => Math.round(((bytes - quota) / quota) * 1000);

// quota.window.num=2, size 1 s: the rate is measured over 1 s at the start.
const WINDOW = { 'quota.window.num': '2', 'quota.window.size.seconds': '1' };

describe('produce byte-rate quota', () => {
  it('answers throttle_time_ms over the quota and stops reading the connection that long (KIP-219)', async () => {
    const broker = await start({ clock: new ManualClock(), config: WINDOW, topics: ['q'] });
    await setQuota(broker, { 'client-id': 'slow' }, 'producer_byte_rate', 10_000);
    const c = await connect(broker, 'slow');
    const small = batchOf(2_000);
    const first = await c.request(Produce, 7, produceBody('q', small));
    expect(first.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(first.throttleTimeMs).toBe(0);

    const big = batchOf(20_000);
    const r = await c.request(Produce, 7, produceBody('q', big));
    expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(r.throttleTimeMs).toBe(expectedThrottle(small.length + big.length, 10_000));
    expect(r.throttleTimeMs).toBeGreaterThan(1000);
    // The next request on that connection is read only after the throttle time.
    const at = Date.now();
    await c.request(Metadata, 1, { topics: [] });
    expect(Date.now() - at).toBeGreaterThanOrEqual(r.throttleTimeMs * 0.8);

    // Another client id has no quota: never throttled, not muted.
    const other = await connect(broker, 'fast');
    const o = await other.request(Produce, 7, produceBody('q', batchOf(100_000)));
    expect(o.throttleTimeMs).toBe(0);
  });

  it('a user-level quota applies to the ANONYMOUS principal of a plaintext connection', async () => {
    const broker = await start({ clock: new ManualClock(), config: WINDOW, topics: ['q'] });
    await setQuota(broker, { user: 'ANONYMOUS' }, 'producer_byte_rate', 10_000);
    const c = await connect(broker, 'any-client');
    const big = batchOf(30_000);
    const r = await c.request(Produce, 9, produceBody('q', big));
    expect(r.throttleTimeMs).toBe(expectedThrottle(big.length, 10_000));
  });

  it('Produce v5 (before KIP-219): the response itself comes after the throttle time', async () => {
    const broker = await start({ clock: new ManualClock(), config: WINDOW, topics: ['q'] });
    await setQuota(broker, { 'client-id': null }, 'producer_byte_rate', 10_000);
    const c = await connect(broker, 'old-client');
    const big = batchOf(15_000);
    const at = Date.now();
    const r = await c.request(Produce, 5, produceBody('q', big));
    const throttle = expectedThrottle(big.length, 10_000);
    expect(r.throttleTimeMs).toBe(throttle);
    expect(Date.now() - at).toBeGreaterThanOrEqual(throttle * 0.8);
    expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('acks=0: no response, the connection is muted', async () => {
    const broker = await start({ clock: new ManualClock(), config: WINDOW, topics: ['q'] });
    await setQuota(broker, { 'client-id': 'fire' }, 'producer_byte_rate', 10_000);
    const c = await connect(broker, 'fire');
    const big = batchOf(20_000);
    const at = Date.now();
    c.send(Produce, 7, produceBody('q', big, 0));
    await c.request(Metadata, 1, { topics: [] });
    expect(Date.now() - at).toBeGreaterThanOrEqual(expectedThrottle(big.length, 10_000) * 0.8);
    expect((await broker.records('q', 0)).length).toBe(1);
  });
});

describe('fetch byte-rate quota', () => {
  it('a consumer over its quota gets an empty answer with throttle_time_ms; the bytes are not counted', async () => {
    const broker = await start({ clock: new ManualClock(), config: WINDOW, topics: ['f'] });
    const producer = await connect(broker, 'producer');
    const batch = batchOf(6_000);
    for (let i = 0; i < 3; i++) expect((await producer.request(Produce, 7, produceBody('f', batch))).responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    await setQuota(broker, { 'client-id': 'reader' }, 'consumer_byte_rate', 10_000);
    const c = await connect(broker, 'reader');
    const fetch = (offset: bigint) =>
      c.request(Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 50_000_000,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 'f', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 50_000_000 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
    // max_bytes is capped by the quota window (10 000 B): one 6 000 B batch, not three.
    const first = await fetch(0n);
    expect(first.throttleTimeMs).toBe(0);
    const records = first.responses[0]!.partitions[0]!.records!;
    expect(records.length).toBe(batch.length);
    // The second batch takes the rate to 12 000 B/s: throttled, no data.
    const second = await fetch(1n);
    expect(second.throttleTimeMs).toBe(expectedThrottle(2 * batch.length, 10_000));
    expect(second.responses).toEqual([]);
    // The connection is not read meanwhile.
    const at = Date.now();
    await c.request(Metadata, 1, { topics: [] });
    expect(Date.now() - at).toBeGreaterThanOrEqual(second.throttleTimeMs * 0.8);
    // The throttled bytes were taken back: asking again at the same instant is throttled as
    // before (two batches counted, not three).
    const again = await fetch(1n);
    expect(again.throttleTimeMs).toBe(second.throttleTimeMs);
    // Once the first sample has expired (2 windows later) the fetch is served.
    (broker.clock as ManualClock).advance(2000);
    const third = await fetch(1n);
    expect(third.throttleTimeMs).toBe(0);
    expect(third.responses[0]!.partitions[0]!.records!.length).toBe(batch.length);
  });
});

describe('kafkajs producer above its quota', () => {
  it('is held near its byte rate', async () => {
    const QUOTA = 200_000;
    const broker = await start({ config: WINDOW, topics: ['kq'] });
    await setQuota(broker, { 'client-id': 'kafkajs-quota' }, 'producer_byte_rate', QUOTA);
    const producer = kafkaFor(broker, { clientId: 'kafkajs-quota' }).producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const value = Buffer.alloc(20_000, 1);
    let sent = 0;
    const started = Date.now();
    while (Date.now() - started < 4000) {
      await producer.send({ topic: 'kq', acks: 1, messages: [{ value }, { value }] });
      sent += 2 * value.length;
    }
    const seconds = (Date.now() - started) / 1000;
    const rate = sent / seconds;
    // Over ~4 s with a 1 s window the producer gets at most about (4 + 1) s of quota, plus one
    // request over it; unthrottled it would send tens of MB/s here.
    expect(rate).toBeLessThan(QUOTA * 2);
    expect((await broker.topics.describe('kq')).partitions[0]!.highWatermark).toBe(BigInt(sent / value.length));
  }, 20_000);
});

describe('kafkajs consumer above its quota', () => {
  it('is held near its byte rate', async () => {
    const QUOTA = 200_000;
    const broker = await start({ config: WINDOW, topics: ['kc'] });
    const value = Buffer.alloc(20_000, 2);
    const producer = kafkaFor(broker, { clientId: 'unlimited' }).producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    // 3 MB stored: 15 s of quota.
    for (let i = 0; i < 15; i++) await producer.send({ topic: 'kc', acks: 1, messages: Array.from({ length: 10 }, () => ({ value })) });
    await setQuota(broker, { 'client-id': 'kafkajs-reader' }, 'consumer_byte_rate', QUOTA);
    const consumer = kafkaFor(broker, { clientId: 'kafkajs-reader' }).consumer({ groupId: 'quota-readers', maxBytes: 10_000_000 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: 'kc', fromBeginning: true });
    let bytes = 0;
    let first = 0;
    let last = 0;
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (first === 0) first = Date.now();
        last = Date.now();
        bytes += message.value?.length ?? 0;
      },
    });
    await new Promise((r) => setTimeout(r, 5000));
    await consumer.stop();
    expect(bytes).toBeGreaterThan(0);
    // From the first record to the last: at most about (elapsed + 1 window) of quota plus one
    // fetch over it; unthrottled the 3 MB arrive in a fraction of a second.
    const seconds = Math.max(1, (last - first) / 1000);
    expect(bytes).toBeLessThan(QUOTA * (seconds + 1) * 2);
    expect(bytes).toBeLessThan(3_000_000);
  }, 30_000);
});


describe('request_percentage (request-time quota)', () => {
  it('a client over its share of request-handler time gets throttle_time_ms (at most one sample) and is muted', async () => {
    const { startBroker } = await import('../../src/broker.js');
    const { rawClient, metadataApi } = await import('../helpers/broker.js');
    const { RawClient } = await import('../../src/client/raw-client.js');
    const b = await startBroker({ config: { 'quota.window.size.seconds': '1' } });
    try {
      const admin = await rawClient(b);
      const G = await import('../../protocol/generated/49-alter-client-quotas.js');
      const { clientApi } = await import('../../src/client/raw-client.js');
      const alter = clientApi(G.AlterClientQuotasApi, G.encodeAlterClientQuotasRequest, G.decodeAlterClientQuotasResponse);
      const set = await admin.request(alter, 1, { entries: [{ entity: [{ entityType: 'client-id', entityName: 'busy' }], ops: [{ key: 'request_percentage', value: 1e-9, remove: false }] }], validateOnly: false });
      expect(set.entries[0]!.errorCode).toBe(0);
      admin.close();
      const busy = await RawClient.connect(b.host, b.port, 'busy');
      const other = await RawClient.connect(b.host, b.port, 'other');
      try {
        const first = await busy.request(metadataApi, 12, { topics: [], allowAutoTopicCreation: false });
        expect(first.throttleTimeMs).toBe(1000);
        // The connection is not read during the throttle: the next answer comes no sooner.
        const t0 = Date.now();
        await busy.request(metadataApi, 12, { topics: [], allowAutoTopicCreation: false });
        expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
        // Another client id has no quota.
        expect((await other.request(metadataApi, 12, { topics: [], allowAutoTopicCreation: false })).throttleTimeMs).toBe(0);
      } finally {
        busy.close();
        other.close();
      }
    } finally {
      await b.close();
    }
  });
});

describe('controller_mutation_rate (KIP-599)', () => {
  // Rate 2 partitions/s, 2 windows of 1 s: a full bucket holds 4.
  const CONFIG = { 'controller.quota.window.num': '2', 'controller.quota.window.size.seconds': '1' };
  const topic = (name: string, numPartitions: number) => ({ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] });
  const create = (c: RawClient, v: number, topics: Array<ReturnType<typeof topic>>, validateOnly = false) => c.request(CreateTopics, v, { topics, timeoutMs: 5000, validateOnly });
  const errors = (r: { topics: Array<{ name: string; errorCode: number }> }) => Object.fromEntries(r.topics.map((t) => [t.name, t.errorCode]));

  it('strict from CreateTopics v6, DeleteTopics v5, CreatePartitions v3: over the bucket, THROTTLING_QUOTA_EXCEEDED and the connection muted', async () => {
    const clock = new ManualClock();
    const broker = await start({ clock, config: CONFIG });
    await setQuota(broker, { 'client-id': 'ops' }, 'controller_mutation_rate', 2);
    let c = await connect(broker, 'ops');
    // 4 -> 2 -> -1 (the topic that takes the bucket below zero goes through) -> refused.
    const r = await create(c, 7, [topic('t1', 2), topic('t2', 3), topic('t3', 1)]);
    expect(errors(r)).toEqual({ t1: ErrorCode.NONE, t2: ErrorCode.NONE, t3: ErrorCode.THROTTLING_QUOTA_EXCEEDED });
    expect(r.topics.find((t) => t.name === 't3')!.errorMessage).toBe('The throttling quota has been exceeded.');
    expect(r.throttleTimeMs).toBe(500); // 1 token short at 2 per second
    const at = Date.now();
    await c.request(Metadata, 1, { topics: [] });
    expect(Date.now() - at).toBeGreaterThanOrEqual(400);
    expect(broker.topics.list().map((t) => t.name).sort()).toEqual(['t1', 't2']);

    // Another client id has no quota.
    const other = await connect(broker, 'other');
    const o = await create(other, 7, [topic('free', 50)]);
    expect(errors(o)).toEqual({ free: ErrorCode.NONE });
    expect(o.throttleTimeMs).toBe(0);

    // Half a second later the bucket is at zero: the next one goes through, without a throttle.
    clock.advance(500);
    c = await connect(broker, 'ops');
    const r2 = await create(c, 6, [topic('t3', 1)]);
    expect(errors(r2)).toEqual({ t3: ErrorCode.NONE });
    expect(r2.throttleTimeMs).toBe(0);

    // DeleteTopics v6 counts the topic's partitions: refused at -1, then taken at +1.
    const del = (name: string) => c.request(DeleteTopics, 6, { topics: [{ name, topicId: ZERO_UUID }], topicNames: [], timeoutMs: 5000 });
    const d1 = await del('t1');
    expect(d1.responses[0]!.errorCode).toBe(ErrorCode.THROTTLING_QUOTA_EXCEEDED);
    expect(d1.throttleTimeMs).toBe(500);
    clock.advance(1000);
    c = await connect(broker, 'ops');
    const d2 = await del('t1');
    expect(d2.responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(broker.topics.list().map((t) => t.name)).not.toContain('t1');

    // CreatePartitions v3 counts the partitions added (t2: 3 -> 6 at -1 is refused).
    const grow = (name: string, count: number, v = 3) => c.request(CreatePartitions, v, { topics: [{ name, count, assignments: null }], timeoutMs: 5000, validateOnly: false });
    const g1 = await grow('t2', 6);
    expect(g1.results[0]!.errorCode).toBe(ErrorCode.THROTTLING_QUOTA_EXCEEDED);
    clock.advance(2000); // -1 + 4 = 3: capped at the burst of 4 later
    c = await connect(broker, 'ops');
    const g2 = await grow('t2', 6);
    expect(g2.results[0]!.errorCode).toBe(ErrorCode.NONE);
    // validate_only counts as well (as in KRaft); an invalid request counts nothing.
    const bad = await grow('t2', 2);
    expect(bad.results[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    const v = await create(c, 7, [topic('v', 1)], true);
    expect(errors(v)).toEqual({ v: ErrorCode.NONE });
    const refused = await create(c, 7, [topic('w', 1)]);
    expect(errors(refused)).toEqual({ w: ErrorCode.THROTTLING_QUOTA_EXCEEDED });
    expect(broker.topics.list().map((t) => t.name)).not.toContain('v');
  });

  it('before those versions every mutation is made and the response throttled', async () => {
    const clock = new ManualClock();
    const broker = await start({ clock, config: CONFIG });
    await setQuota(broker, { 'client-id': null }, 'controller_mutation_rate', 2);
    let c = await connect(broker, 'old-admin');
    const r = await create(c, 5, [topic('a', 6), topic('b', 2)]);
    expect(errors(r)).toEqual({ a: ErrorCode.NONE, b: ErrorCode.NONE });
    expect(r.throttleTimeMs).toBe(2000); // 4 - 8 = -4 tokens at 2 per second
    clock.advance(2000);
    c = await connect(broker, 'old-admin');
    const d = await c.request(DeleteTopics, 4, { topics: [], topicNames: ['a'], timeoutMs: 5000 });
    expect(d.responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(d.throttleTimeMs).toBe(3000);
    expect(broker.topics.list().map((t) => t.name).sort()).toEqual(['b']);
  });
});

describe('connection_creation_rate (KIP-612)', () => {
  it("an address over its rate has its new connections held unread and closed after the throttle; other addresses' quotas do not apply", async () => {
    const clock = new ManualClock();
    const broker = await start({ clock, config: WINDOW });
    await setQuota(broker, { ip: '127.0.0.2' }, 'connection_creation_rate', 1);
    // Only 127.0.0.2's quota: 127.0.0.1 opens as many as it likes.
    for (let i = 0; i < 4; i++) await (await connect(broker, `free-${i}`)).request(Metadata, 1, { topics: [] });

    await setQuota(broker, { ip: '127.0.0.1' }, 'connection_creation_rate', 2);
    // Two a second, over at least one second: the third at one instant is over (3/s).
    for (let i = 0; i < 2; i++) await (await connect(broker, `ok-${i}`)).request(Metadata, 1, { topics: [] });
    const held = await connect(broker, 'held');
    const at = Date.now();
    await expect(held.request(Metadata, 1, { topics: [] })).rejects.toThrow();
    // Held (never answered) for (3 - 2) / 2 of the 1 s window, then closed.
    expect(Date.now() - at).toBeGreaterThanOrEqual(400);
    // A throttled connection is not counted: two seconds on, the rate is back under the quota.
    clock.advance(2000);
    await (await connect(broker, 'later')).request(Metadata, 1, { topics: [] });
  });

  it('the default ip entity applies to addresses without their own quota', async () => {
    const clock = new ManualClock();
    const broker = await start({ clock, config: WINDOW });
    await setQuota(broker, { ip: null }, 'connection_creation_rate', 1);
    await (await connect(broker, 'first')).request(Metadata, 1, { topics: [] });
    const held = await connect(broker, 'second');
    await expect(held.request(Metadata, 1, { topics: [] })).rejects.toThrow();
  });
});
