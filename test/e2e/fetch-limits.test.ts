// Issue 8, robust storage: "a broker-wide fetch.max.bytes cap (Kafka's default 55 MiB) and reads
// sized to it; response bytes count in backpressure; parked Fetches are cancelled when their
// connection closes". On the real broker over real sockets:
// - fetch.max.bytes caps max_bytes (v0-2 too) and min_bytes (KafkaApis.handleFetchRequest,
//   KIP-541), keeps KIP-74's whole first batch, and is read-only as in Kafka.
// - (slow-reader.test.ts: response bytes in backpressure.)
// - Long polls parked on connections that close leave no waiter and no timer behind.

import { setMaxListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerOptions } from '../../src/broker.js';
import { clientApi, type RawClient } from '../../src/client/raw-client.js';
import { ManualClock, type Clock, type Timer } from '../../src/common/clock.js';
import { ErrorCode } from '../../protocol/errors.js';
import * as G from '../../protocol/generated/index.js';
import { decodeBatches, encodeRecordBatch } from '../../protocol/records/index.js';
import { decodeMessageSet } from '../../protocol/records/legacy.js';
import { fetchApi, produceApi, rawClient, startTestBroker } from '../helpers/broker.js';

const DescribeConfigs = clientApi(G.DescribeConfigsApi, G.encodeDescribeConfigsRequest, G.decodeDescribeConfigsResponse);
const AlterConfigs = clientApi(G.AlterConfigsApi, G.encodeAlterConfigsRequest, G.decodeAlterConfigsResponse);
const BROKER_RESOURCE = 4;

const MiB = 1 << 20;
const brokers: Broker[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const b of brokers.splice(0)) await b.close();
});

async function start(options: BrokerOptions = {}, topics: Record<string, number> = {}): Promise<Broker> {
  const b = await startTestBroker(options);
  brokers.push(b);
  for (const [name, n] of Object.entries(topics)) expect(b.topics.create(name, n, 1, {}).errorCode).toBe(ErrorCode.NONE);
  return b;
}

async function client(b: Broker): Promise<RawClient> {
  const c = await rawClient(b);
  clients.push(c);
  return c;
}

interface FetchOpts {
  partitions?: number[];
  fetchOffset?: bigint;
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
}

function fetchBody(topic: string, o: FetchOpts = {}) {
  return {
    replicaId: -1,
    maxWaitMs: o.maxWaitMs ?? 0,
    minBytes: o.minBytes ?? 1,
    maxBytes: o.maxBytes ?? 64 * MiB,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: (o.partitions ?? [0]).map((partition) => ({ partition, fetchOffset: o.fetchOffset ?? 0n, partitionMaxBytes: o.partitionMaxBytes ?? 64 * MiB })) }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

/** Appends `n` batches of one 1,000,000-byte record each. */
async function produceMegabytes(c: RawClient, topic: string, n: number, partition = 0): Promise<void> {
  for (let i = 0; i < n; i++) {
    const records = encodeRecordBatch({ records: [{ key: null, value: Buffer.alloc(1_000_000, i) }] });
    const r = await c.request(produceApi, 9, { acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
    expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Per partition of a Fetch response: [partition, batches (v4+) or messages (v0-3), record bytes]. */
function shape(resp: G.FetchResponse, legacy = false): Array<[number, number, number]> {
  return resp.responses[0]!.partitions.map((p) => {
    const records = p.records ?? Buffer.alloc(0);
    const n = legacy ? decodeMessageSet(records).length : decodeBatches(records).length;
    return [p.partitionIndex, n, records.length];
  });
}

describe('fetch.max.bytes (KIP-541)', () => {
  it("is Kafka's INT >= 1024, 55 MiB by default, read-only", async () => {
    const b = await start();
    expect(b.config.int('fetch.max.bytes')).toBe(57671680);
    const c = await client(b);
    const d = await c.request(DescribeConfigs, 4, { resources: [{ resourceType: BROKER_RESOURCE, resourceName: '1', configurationKeys: ['fetch.max.bytes'] }], includeSynonyms: false, includeDocumentation: false });
    expect(d.results[0]!.configs.map((x) => [x.name, x.value, x.readOnly])).toEqual([['fetch.max.bytes', '57671680', true]]);
    // Not in Kafka's DynamicBrokerConfig.AllDynamicConfigs.
    const a = await c.request(AlterConfigs, 2, { resources: [{ resourceType: BROKER_RESOURCE, resourceName: '', configs: [{ name: 'fetch.max.bytes', value: '1048576' }] }], validateOnly: false });
    expect([a.responses[0]!.errorCode, a.responses[0]!.errorMessage]).toEqual([ErrorCode.INVALID_REQUEST, 'Cannot update these configs dynamically: Set(fetch.max.bytes)']);
    await expect(startTestBroker({ config: { 'fetch.max.bytes': '1023' } })).rejects.toThrow('Invalid value 1023 for configuration fetch.max.bytes: Value must be at least 1024');
  });

  it("caps the request's max_bytes across partitions; the first batch still comes whole (KIP-74)", async () => {
    const b = await start({ config: { 'fetch.max.bytes': String(2 * MiB) } }, { big: 2 });
    const c = await client(b);
    await produceMegabytes(c, 'big', 4, 0);
    await produceMegabytes(c, 'big', 4, 1);
    // Two 1 MB batches fit in 2 MiB, a third does not; partition 1 gets nothing (KIP-74: only the
    // first partition with data may go past the limit).
    const r = await c.request(fetchApi, 11, fetchBody('big', { partitions: [0, 1], maxBytes: 1 << 30 }));
    expect(shape(r).map(([p, n]) => [p, n])).toEqual([[0, 2], [1, 0]]);
    expect(shape(r)[0]![2]).toBeLessThanOrEqual(2 * MiB);
    // A request below the cap keeps its own limit.
    const small = await c.request(fetchApi, 11, fetchBody('big', { partitions: [0, 1], maxBytes: 1_500_000 }));
    expect(shape(small).map(([p, n]) => [p, n])).toEqual([[0, 1], [1, 0]]);
    // Fetch v17 (topic ids) and v3 (first version with max_bytes, down-converted) alike.
    const v3 = await c.request(fetchApi, 3, fetchBody('big', { partitions: [0, 1], maxBytes: 1 << 30 }));
    expect(shape(v3, true).map(([p, n]) => [p, n])).toEqual([[0, 2], [1, 0]]);
  });

  it('applies to Fetch v0-2 too (no max_bytes field: decoded as 2^31-1, capped)', async () => {
    const b = await start({ config: { 'fetch.max.bytes': String(2 * MiB) } }, { big: 3 });
    const c = await client(b);
    for (const p of [0, 1, 2]) await produceMegabytes(c, 'big', 3, p);
    for (const version of [0, 1, 2]) {
      const r = await c.request(fetchApi, version, fetchBody('big', { partitions: [0, 1, 2] }));
      // Two messages fill partition 0; Brook gives v0-2 a whole first message where Kafka would cut
      // it short, so partition 1 gets one while budget is left; then the budget is spent and
      // partition 2 gets none (ReplicaManager.readFromLog: limit 0).
      expect(shape(r, true).map(([p, n]) => [p, n]), `v${version}`).toEqual([[0, 2], [1, 1], [2, 0]]);
    }
  });

  it('a batch larger than the cap is still returned whole to v3+ (KIP-74)', async () => {
    const b = await start({ config: { 'fetch.max.bytes': '1024' } }, { big: 1 });
    const c = await client(b);
    await produceMegabytes(c, 'big', 2);
    for (const version of [4, 11, 17]) {
      const body = fetchBody('big');
      const r = await c.request(fetchApi, version, version >= 13 ? { ...body, topics: [{ ...body.topics[0]!, topicId: b.topics.get('big')!.topicId }] } : body);
      expect(shape(r).map(([p, n]) => [p, n]), `v${version}`).toEqual([[0, 1]]);
    }
  });

  it('caps min_bytes too: a long poll asking for more than fetch.max.bytes is answered once the cap is there', async () => {
    const clock = new ManualClock();
    const b = await start({ clock, config: { 'fetch.max.bytes': '1024' } }, { big: 1, empty: 1 });
    const c = await client(b);
    await produceMegabytes(c, 'big', 1);
    // The clock never moves: only the min_bytes rule can answer these. min_bytes 100 MiB becomes
    // 1024 (KafkaApis: min(min_bytes, fetch max bytes)), which the 1 MB batch satisfies.
    const r = await c.request(fetchApi, 11, fetchBody('big', { maxWaitMs: 60_000, minBytes: 100 * MiB }));
    expect(shape(r).map(([p, n]) => [p, n])).toEqual([[0, 1]]);
    // min_bytes 0 is satisfied by nothing: answered at once, as Kafka (bytesReadable >= minBytes).
    const e = await c.request(fetchApi, 11, fetchBody('empty', { maxWaitMs: 60_000, minBytes: 0 }));
    expect(shape(e)).toEqual([[0, 0, 0]]);
    expect(b.replicas.parkedFetches).toBe(0);
  });
});

/** Counts the timers a ManualClock has pending (set and neither fired nor cancelled). */
class CountingClock implements Clock {
  readonly manual = new ManualClock();
  pending = 0;

  now(): number {
    return this.manual.now();
  }

  setTimeout(fn: () => void, ms: number): Timer {
    let live = true;
    const done = (): void => {
      if (live) this.pending--;
      live = false;
    };
    this.pending++;
    const t = this.manual.setTimeout(() => {
      done();
      fn();
    }, ms);
    return {
      cancel: () => {
        done();
        t.cancel();
      },
    };
  }
}

describe('parked long polls end with their connection (issue 8)', () => {
  it('closing the connections leaves no waiter and no timer, whoever closes them', async () => {
    const clock = new CountingClock();
    const b = await start({ clock }, { empty: 3 });
    const baseTimers = clock.pending;
    const fetchers: RawClient[] = [];
    for (let i = 0; i < 40; i++) {
      const c = await client(b);
      fetchers.push(c);
      // Three pipelined long polls each: the first parks, the others wait for their turn.
      for (let j = 0; j < 3; j++) void c.request(fetchApi, 11, fetchBody('empty', { partitions: [0, 1, 2], maxWaitMs: 600_000 })).catch(() => {});
    }
    await until(() => b.replicas.parkedFetches === 40, '40 parked fetches');
    expect(b.replicas.parkedPartitions).toBe(3);
    expect(clock.pending).toBe(baseTimers + 40);

    // Half hang up; the clock never moves, so only the close can end their polls.
    for (const c of fetchers.slice(0, 20)) c.close();
    await until(() => b.replicas.parkedFetches === 20, 'the closed ones to go');
    expect(clock.pending).toBe(baseTimers + 20);
    // The broker drops the rest.
    b.dropConnections();
    await until(() => b.replicas.parkedFetches === 0, 'all to go');
    expect(b.replicas.parkedPartitions).toBe(0);
    expect(clock.pending).toBe(baseTimers);

    // The wait list still works for a new connection.
    const c = await client(b);
    const poll = c.request(fetchApi, 11, fetchBody('empty', { partitions: [1], maxWaitMs: 600_000 }));
    await until(() => b.replicas.parkedFetches === 1, 'a new parked fetch');
    const p = await client(b);
    await p.request(produceApi, 9, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'empty', partitionData: [{ index: 1, records: encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x') }] }) }] }] });
    expect(shape(await poll).map(([pi, n]) => [pi, n])).toEqual([[1, 1]]);
    expect(b.replicas.parkedFetches).toBe(0);
    expect(clock.pending).toBe(baseTimers);
  });

  it('waitForAppend drops its waiter and timer when its signal aborts', async () => {
    const clock = new CountingClock();
    const b = await start({ clock }, { empty: 1 });
    const baseTimers = clock.pending;
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    let woke = false;
    const waits = Array.from({ length: 100 }, () => b.replicas.waitForAppend([['empty', 0]], 600_000, ac.signal).then(() => (woke = true)));
    expect(b.replicas.parkedFetches).toBe(100);
    expect(clock.pending).toBe(baseTimers + 100);
    ac.abort();
    await Promise.all(waits);
    expect(woke).toBe(true);
    expect(b.replicas.parkedFetches).toBe(0);
    expect(b.replicas.parkedPartitions).toBe(0);
    expect(clock.pending).toBe(baseTimers);
    // An aborted signal does not park at all.
    await b.replicas.waitForAppend([['empty', 0]], 600_000, ac.signal);
    expect(b.replicas.parkedFetches).toBe(0);
    expect(clock.pending).toBe(baseTimers);
  });
});
