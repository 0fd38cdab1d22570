// Kafka semantics of the foundation APIs, checked through the real broker on a real socket with
// Brook's raw client: error codes, null-vs-empty rules, auto-creation, limits, special offsets.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Compression, encodeRecordBatch, decodeBatches, readBatchHeader, writeBatchCrc } from '../../protocol/records/index.js';
import { encodeRequestFrame, readResponseHeader } from '../../protocol/framing.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { ZERO_UUID } from '../../protocol/primitives/uuid.js';
import { startBroker, type Broker } from '../../src/broker.js';
import { ManualClock } from '../../src/common/clock.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';

const Produce = clientApi(G.ProduceApi, G.encodeProduceRequest, G.decodeProduceResponse);
const Fetch = clientApi(G.FetchApi, G.encodeFetchRequest, G.decodeFetchResponse);
const ListOffsets = clientApi(G.ListOffsetsApi, G.encodeListOffsetsRequest, G.decodeListOffsetsResponse);
const Metadata = clientApi(G.MetadataApi, G.encodeMetadataRequest, G.decodeMetadataResponse);
const ApiVersions = clientApi(G.ApiVersionsApi, G.encodeApiVersionsRequest, G.decodeApiVersionsResponse);
const CreateTopics = clientApi(G.CreateTopicsApi, G.encodeCreateTopicsRequest, G.decodeCreateTopicsResponse);
const DeleteTopics = clientApi(G.DeleteTopicsApi, G.encodeDeleteTopicsRequest, G.decodeDeleteTopicsResponse);
const CreatePartitions = clientApi(G.CreatePartitionsApi, G.encodeCreatePartitionsRequest, G.decodeCreatePartitionsResponse);
const DescribeConfigs = clientApi(G.DescribeConfigsApi, G.encodeDescribeConfigsRequest, G.decodeDescribeConfigsResponse);
const DescribeCluster = clientApi(G.DescribeClusterApi, G.encodeDescribeClusterRequest, G.decodeDescribeClusterResponse);

let broker: Broker;
let c: RawClient;
let clock: ManualClock;

async function start(config: Record<string, string> = {}): Promise<void> {
  clock = new ManualClock(1_700_000_000_000);
  broker = await startBroker({ config, clock });
  c = await RawClient.connect(broker.host, broker.port);
}

beforeEach(() => start());
afterEach(async () => {
  c?.close();
  await broker?.close();
});

const batch = (values: string[], timestamps?: bigint[]) =>
  encodeRecordBatch({
    records: values.map((v, i) => ({ key: null, value: Buffer.from(v), headers: [], timestamp: timestamps?.[i] ?? 1_700_000_000_000n })),
  });

async function create(name: string, numPartitions = 1, configs: Array<{ name: string; value: string | null }> = []) {
  const r = await c.request(CreateTopics, 7, { topics: [{ name, numPartitions, replicationFactor: 1, configs }], timeoutMs: 1000 });
  return r.topics[0]!;
}

async function produce(topic: string, partition: number, records: Buffer, acks = 1, version = 9) {
  const r = await c.request(Produce, version, { acks, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  return r.responses[0]!.partitionResponses[0]!;
}

function fetchReq(topic: string, offset: bigint, extra: Record<string, unknown> = {}, partExtra: Record<string, unknown> = {}) {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionEpoch: -1,
    ...extra,
    topics: [{ topic, topicId: broker.topics.get(topic)?.topicId ?? ZERO_UUID, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20, ...partExtra }] }],
  };
}

describe('ApiVersions', () => {
  it('answers an unsupported version with a v0 body: UNSUPPORTED_VERSION and our ApiVersions range (KIP-511)', async () => {
    const frame = encodeRequestFrame({ apiKey: 18, apiVersion: 9, correlationId: 77, clientId: 'x' }, true, (w) => w.raw(Buffer.from([0, 0, 0])));
    c.writeRaw(frame);
    const raw = await new Promise<Buffer>((resolve) => c.socket.once('data', resolve));
    const r = new Reader(raw, 4);
    expect(readResponseHeader(r, false)).toBe(77);
    const body = G.decodeApiVersionsResponse(r, 0);
    expect(body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(body.apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 4 }]);
    expect(r.remaining).toBe(0);
  });

  it('rejects an invalid client software name (v3+) with INVALID_REQUEST', async () => {
    const r = await c.request(ApiVersions, 3, { clientSoftwareName: '-bad name', clientSoftwareVersion: '1' });
    expect(r.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('advertises Produce from v0 and FindCoordinator-independent minimums clients rely on', async () => {
    const r = await c.request(ApiVersions, 2, {});
    const produce = r.apiKeys.find((k) => k.apiKey === 0)!;
    expect(produce.minVersion).toBe(0);
    const fetch = r.apiKeys.find((k) => k.apiKey === 1)!;
    expect(fetch.minVersion).toBeLessThanOrEqual(4);
    expect(fetch.maxVersion).toBeGreaterThanOrEqual(11);
  });
});

describe('Metadata', () => {
  it('v0 empty list = all topics; v1+ empty = none, null = all', async () => {
    await create('a');
    await create('b');
    expect((await c.request(Metadata, 0, { topics: [] })).topics.map((t) => t.name).sort()).toEqual(['a', 'b']);
    expect((await c.request(Metadata, 1, { topics: [] })).topics).toEqual([]);
    expect((await c.request(Metadata, 1, { topics: null })).topics.map((t) => t.name).sort()).toEqual(['a', 'b']);
    expect((await c.request(Metadata, 12, { topics: null })).topics).toHaveLength(2);
  });

  it('auto-creates a named topic, answering LEADER_NOT_AVAILABLE first, then the topic', async () => {
    const first = await c.request(Metadata, 9, { topics: [{ name: 'auto' }], allowAutoTopicCreation: true });
    expect(first.topics[0]!.errorCode).toBe(ErrorCode.LEADER_NOT_AVAILABLE);
    const second = await c.request(Metadata, 9, { topics: [{ name: 'auto' }], allowAutoTopicCreation: true });
    expect(second.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(second.topics[0]!.partitions).toHaveLength(1);
  });

  it('does not auto-create when the request or the broker forbids it, or the name is invalid', async () => {
    const r = await c.request(Metadata, 9, { topics: [{ name: 'nope' }], allowAutoTopicCreation: false });
    expect(r.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const bad = await c.request(Metadata, 9, { topics: [{ name: 'bad name!' }], allowAutoTopicCreation: true });
    expect(bad.topics[0]!.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(broker.topics.list()).toEqual([]);
    await broker.close();
    await start({ 'auto.create.topics.enable': 'false' });
    const off = await c.request(Metadata, 9, { topics: [{ name: 'nope' }], allowAutoTopicCreation: true });
    expect(off.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('honours the num.partitions default and reports leader epochs and topic ids', async () => {
    await broker.close();
    await start({ 'num.partitions': '4' });
    await c.request(Metadata, 9, { topics: [{ name: 'four' }], allowAutoTopicCreation: true });
    const r = await c.request(Metadata, 12, { topics: [{ name: 'four' }] });
    expect(r.topics[0]!.partitions.map((p) => p.partitionIndex)).toEqual([0, 1, 2, 3]);
    expect(r.topics[0]!.partitions[0]!.leaderEpoch).toBe(0);
    expect(r.topics[0]!.topicId).toBe(broker.topics.get('four')!.topicId);
  });

  it('looks topics up by id from v12 and answers UNKNOWN_TOPIC_ID for unknown ids', async () => {
    const t = await create('byid');
    const r = await c.request(Metadata, 12, { topics: [{ name: null, topicId: t.topicId }] });
    expect(r.topics[0]).toMatchObject({ errorCode: ErrorCode.NONE, name: 'byid' });
    const u = await c.request(Metadata, 12, { topics: [{ name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' }] });
    expect(u.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });
});

describe('Produce', () => {
  it('rejects unknown topics, bad acks, oversize batches and corrupt CRCs per partition', async () => {
    expect((await produce('missing', 0, batch(['x']))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await create('t', 1, [{ name: 'max.message.bytes', value: '200' }]);
    expect((await produce('t', 0, batch(['x']), 2)).errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
    expect((await produce('t', 0, batch(['y'.repeat(300)]))).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    const corrupt = batch(['z']);
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect((await produce('t', 0, corrupt)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await produce('t', 1, batch(['x']))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(broker.store.partition('t', 0)!.logEndOffset).toBe(0n);
  });

  it('assigns consecutive offsets and reports the log start offset', async () => {
    await create('t');
    const a = await produce('t', 0, batch(['1', '2', '3']));
    const b = await produce('t', 0, batch(['4']));
    expect([a.baseOffset, b.baseOffset]).toEqual([0n, 3n]);
    expect(b.logStartOffset).toBe(0n);
    expect(a.logAppendTimeMs).toBe(-1n);
  });

  it('accepts zstd batches from Produce v7 and refuses them below (regression: zstd was refused at every version)', async () => {
    await create('z');
    const zstd = () => {
      // The broker never decompresses on produce, so a batch flagged zstd is enough here.
      const b = batch(['z']);
      b.writeInt16BE((b.readInt16BE(21) & ~7) | Compression.ZSTD, 21);
      writeBatchCrc(b);
      return b;
    };
    expect((await produce('z', 0, zstd(), 1, 7)).errorCode).toBe(ErrorCode.NONE);
    expect((await produce('z', 0, zstd(), 1, 11)).errorCode).toBe(ErrorCode.NONE);
    expect((await produce('z', 0, zstd(), 1, 6)).errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  });

  it('recomputes a missing batch maxTimestamp from the records, as Kafka does (sarama 1.22 sends -1)', async () => {
    await create('mt');
    const b = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('a'), headers: [], timestamp: 500n }, { key: null, value: Buffer.from('b'), headers: [], timestamp: 700n }] });
    b.writeBigInt64BE(-1n, 35);
    writeBatchCrc(b);
    expect((await produce('mt', 0, b)).errorCode).toBe(ErrorCode.NONE);
    const r = await c.request(ListOffsets, 5, { replicaId: -1, topics: [{ name: 'mt', partitions: [{ partitionIndex: 0, timestamp: 600n }] }] });
    expect(r.topics[0]!.partitions[0]).toMatchObject({ offset: 1n, timestamp: 700n });
    const f = await c.request(Fetch, 11, fetchReq('mt', 0n));
    expect(decodeBatches(f.responses[0]!.partitions[0]!.records!)[0]!.header.maxTimestamp).toBe(700n);
  });

  it('stamps LogAppendTime from the broker clock when the topic asks for it', async () => {
    await create('lat', 1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
    clock.advance(5000);
    const r = await produce('lat', 0, batch(['x'], [42n]));
    expect(r.logAppendTimeMs).toBe(BigInt(clock.now()));
    const f = await c.request(Fetch, 11, fetchReq('lat', 0n));
    const [b] = decodeBatches(f.responses[0]!.partitions[0]!.records!);
    expect(b!.header.maxTimestamp).toBe(BigInt(clock.now()));
    expect(b!.records[0]!.timestamp).toBe(BigInt(clock.now()));
  });

  it('answers a magic-2 batch sent with Produce v0-v2 with UNSUPPORTED_VERSION (those versions carry message sets)', async () => {
    await create('t');
    expect((await produce('t', 0, batch(['x']), 1, 2)).errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });

  it('closes the connection when an acks=0 produce fails, and sends nothing when it succeeds', async () => {
    await create('t');
    c.send(Produce, 7, { acks: 0, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: batch(['ok']) }] }] });
    const md = await c.request(Metadata, 1, { topics: [] });
    expect(md.brokers).toHaveLength(1);
    expect(broker.store.partition('t', 0)!.logEndOffset).toBe(1n);
    c.send(Produce, 7, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'missing', partitionData: [{ index: 0, records: batch(['x']) }] }] });
    expect(await c.waitClosed(3000)).toBe(true);
  });
});

describe('Fetch', () => {
  beforeEach(async () => {
    await create('f');
    for (let i = 0; i < 5; i++) await produce('f', 0, batch([`a${i}`, `b${i}`], [1_700_000_000_000n + BigInt(i * 10), 1_700_000_000_005n + BigInt(i * 10)]));
  });

  it('returns the batch containing the fetch offset, high watermark, LSO and log start', async () => {
    const r = await c.request(Fetch, 11, fetchReq('f', 3n, { isolationLevel: 1 }));
    const p = r.responses[0]!.partitions[0]!;
    expect(p).toMatchObject({ errorCode: 0, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n });
    expect(p.abortedTransactions).toEqual([]);
    const batches = decodeBatches(p.records!);
    expect(batches[0]!.header.baseOffset).toBe(2n);
    expect(batches.flatMap((b) => b.records.map((x) => x.offset))).toEqual([2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    const ru = await c.request(Fetch, 11, fetchReq('f', 3n, { isolationLevel: 0 }));
    expect(ru.responses[0]!.partitions[0]!.abortedTransactions).toBeNull();
  });

  it('honours max bytes but always returns at least one whole batch (KIP-74)', async () => {
    const one = readBatchHeader(decodeBatchesRaw(await fetchRecords(fetchReq('f', 0n))), 0);
    const size = 12 + one.batchLength;
    const r = await c.request(Fetch, 11, fetchReq('f', 0n, { maxBytes: 1 }, { partitionMaxBytes: 1 }));
    expect(decodeBatches(r.responses[0]!.partitions[0]!.records!)).toHaveLength(1);
    const r2 = await c.request(Fetch, 11, fetchReq('f', 0n, {}, { partitionMaxBytes: size * 2 }));
    expect(decodeBatches(r2.responses[0]!.partitions[0]!.records!)).toHaveLength(2);
  });

  it('answers OFFSET_OUT_OF_RANGE past the log end and an empty record set at it', async () => {
    const past = await c.request(Fetch, 11, fetchReq('f', 11n));
    expect(past.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    // Empty, never null, records with an error: librdkafka cannot parse a null record set
    // (regression: kcat looped forever on OFFSET_OUT_OF_RANGE).
    for (const v of [4, 11, 12, 17]) {
      const r = await c.request(Fetch, v, fetchReq('f', 11n));
      expect(r.responses[0]!.partitions[0]!.records).toEqual(Buffer.alloc(0));
    }
    const unknown = await c.request(Fetch, 11, fetchReq('nope', 0n));
    expect(unknown.responses[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, records: Buffer.alloc(0) });
    const at = await c.request(Fetch, 11, fetchReq('f', 10n));
    expect(at.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(at.responses[0]!.partitions[0]!.records?.length ?? 0).toBe(0);
  });

  it('fences stale and future leader epochs (v9+)', async () => {
    const fenced = await c.request(Fetch, 12, fetchReq('f', 0n, {}, { currentLeaderEpoch: 5 }));
    expect(fenced.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    broker.store.partition('f', 0)!.bumpLeaderEpoch(3);
    const stale = await c.request(Fetch, 12, fetchReq('f', 0n, {}, { currentLeaderEpoch: 1 }));
    expect(stale.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    const ok = await c.request(Fetch, 12, fetchReq('f', 0n, {}, { currentLeaderEpoch: 3 }));
    expect(ok.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('declines fetch sessions (session id 0) and rejects unknown incremental sessions', async () => {
    const r = await c.request(Fetch, 11, fetchReq('f', 0n, { sessionId: 0, sessionEpoch: 0 }));
    expect(r.sessionId).toBe(0);
    const bad = await c.request(Fetch, 11, fetchReq('f', 0n, { sessionId: 1234, sessionEpoch: 1 }));
    expect(bad.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('uses topic ids from v13 and answers UNKNOWN_TOPIC_ID for unknown ones', async () => {
    const r = await c.request(Fetch, 13, fetchReq('f', 0n));
    expect(r.responses[0]!.topicId).toBe(broker.topics.get('f')!.topicId);
    expect(decodeBatches(r.responses[0]!.partitions[0]!.records!)).toHaveLength(5);
    const req = fetchReq('f', 0n);
    req.topics[0]!.topicId = 'AAAAAAAAAAAAAAAAAAAAAQ';
    const u = await c.request(Fetch, 13, req);
    expect(u.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it('long-polls on the injected clock: waits for data or the deadline', async () => {
    const waiting = c.request(Fetch, 11, fetchReq('f', 10n, { maxWaitMs: 10_000 }));
    let done = false;
    void waiting.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    clock.advance(10_000);
    const r = await waiting;
    expect(r.responses[0]!.partitions[0]!.records?.length ?? 0).toBe(0);
  });

  async function fetchRecords(req: ReturnType<typeof fetchReq>): Promise<Buffer> {
    const r = await c.request(Fetch, 11, req);
    return r.responses[0]!.partitions[0]!.records!;
  }
  function decodeBatchesRaw(b: Buffer): Buffer {
    return b;
  }
});

describe('ListOffsets', () => {
  it('answers earliest, latest, by time, max timestamp, earliest-local and latest-tiered', async () => {
    await create('lo');
    await produce('lo', 0, batch(['a', 'b'], [100n, 300n]));
    await produce('lo', 0, batch(['c'], [200n]));
    const ask = async (timestamp: bigint, version = 9) => {
      const r = await c.request(ListOffsets, version, { replicaId: -1, topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, timestamp }] }] });
      return r.topics[0]!.partitions[0]!;
    };
    expect((await ask(-2n)).offset).toBe(0n);
    expect((await ask(-1n)).offset).toBe(3n);
    expect(await ask(150n)).toMatchObject({ offset: 1n, timestamp: 300n });
    expect(await ask(250n)).toMatchObject({ offset: 1n, timestamp: 300n });
    expect(await ask(301n)).toMatchObject({ offset: -1n, timestamp: -1n });
    expect(await ask(-3n)).toMatchObject({ offset: 1n, timestamp: 300n });
    expect((await ask(-4n)).offset).toBe(0n);
    expect((await ask(-5n)).offset).toBe(-1n);
    const v0 = await c.request(ListOffsets, 0, { replicaId: -1, topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, timestamp: -1n, maxNumOffsets: 1 }] }] });
    expect(v0.topics[0]!.partitions[0]!.oldStyleOffsets).toEqual([3n]);
    const missing = await c.request(ListOffsets, 5, { replicaId: -1, topics: [{ name: 'nope', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] });
    expect(missing.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('finds the exact record inside compressed batches (gzip, snappy, lz4)', async () => {
    await create('lz');
    for (const compression of [Compression.GZIP, Compression.SNAPPY, Compression.LZ4]) {
      const records = [100n, 200n, 300n].map((timestamp, i) => ({ key: null, value: Buffer.from(`c${compression}-${i}`), headers: [], timestamp: timestamp + BigInt(compression) * 1000n }));
      expect((await produce('lz', 0, encodeRecordBatch({ compression, records }))).errorCode).toBe(ErrorCode.NONE);
    }
    const r = await c.request(ListOffsets, 5, { replicaId: -1, topics: [{ name: 'lz', partitions: [{ partitionIndex: 0, timestamp: 2150n }, { partitionIndex: 0, timestamp: 3250n }] }] });
    expect(r.topics[0]!.partitions.map((p) => [p.offset, p.timestamp])).toEqual([[4n, 2200n], [8n, 3300n]]);
  });
});

describe('CreateTopics / DeleteTopics / CreatePartitions', () => {
  it('validates names, counts, replication factors, configs and duplicates', async () => {
    expect((await create('ok')).errorCode).toBe(ErrorCode.NONE);
    expect((await create('ok')).errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect((await create('o.k')).errorCode).toBe(ErrorCode.NONE);
    expect((await create('o_k')).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect((await create('bad/name')).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect((await create('x'.repeat(250))).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect((await create('..')).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect((await create('zero', 0)).errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect((await create('cfg', 1, [{ name: 'no.such.config', value: '1' }])).errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect((await create('cfg', 1, [{ name: 'retention.ms', value: 'soon' }])).errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const rf = await c.request(CreateTopics, 7, { topics: [{ name: 'rf', numPartitions: 1, replicationFactor: 3 }] });
    expect(rf.topics[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    const dup = await c.request(CreateTopics, 7, { topics: [{ name: 'd', numPartitions: 1, replicationFactor: 1 }, { name: 'd', numPartitions: 1, replicationFactor: 1 }] });
    expect(dup.topics.map((t) => t.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    const dflt = await c.request(CreateTopics, 7, { topics: [{ name: 'dflt', numPartitions: -1, replicationFactor: -1 }] });
    expect(dflt.topics[0]).toMatchObject({ errorCode: 0, numPartitions: 1, replicationFactor: 1 });
    const manual = await c.request(CreateTopics, 7, {
      topics: [{ name: 'manual', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 1, brokerIds: [1] }] }],
    });
    expect(manual.topics[0]).toMatchObject({ errorCode: 0, numPartitions: 2 });
    const badAssign = await c.request(CreateTopics, 7, { topics: [{ name: 'ba', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [9] }] }] });
    expect(badAssign.topics[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  });

  it('internal topics are the broker\'s: CreateTopics refuses them, Metadata auto-creates them with their own settings (regression: a client-made 3-partition __consumer_offsets broke group commits)', async () => {
    const made = await c.request(CreateTopics, 7, { topics: [{ name: '__consumer_offsets', numPartitions: 3, replicationFactor: 1 }] });
    expect(made.topics[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const md = await c.request(Metadata, 9, { topics: [{ name: '__consumer_offsets' }], allowAutoTopicCreation: true });
    expect(md.topics[0]!.errorCode).toBe(ErrorCode.LEADER_NOT_AVAILABLE);
    const t = broker.topics.get('__consumer_offsets')!;
    expect(t.numPartitions).toBe(50);
    expect(t.configs['cleanup.policy']).toBe('compact');
    const again = await c.request(Metadata, 9, { topics: [{ name: '__consumer_offsets' }] });
    expect(again.topics[0]).toMatchObject({ errorCode: ErrorCode.NONE, isInternal: true });
  });

  it('validate_only creates nothing; v5+ returns the effective configs', async () => {
    const r = await c.request(CreateTopics, 5, { topics: [{ name: 'v', numPartitions: 2, replicationFactor: 1, configs: [{ name: 'cleanup.policy', value: 'compact' }] }], validateOnly: true });
    expect(r.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(r.topics[0]!.configs!.find((x) => x.name === 'cleanup.policy')).toMatchObject({ value: 'compact', configSource: 1 });
    expect(broker.topics.get('v')).toBeUndefined();
  });

  it('deletes by name and by id; recreating a deleted topic starts empty', async () => {
    const t = await create('gone');
    await produce('gone', 0, batch(['x']));
    const byName = await c.request(DeleteTopics, 4, { topicNames: ['gone', 'never'] });
    expect(byName.responses.map((r) => r.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const t2 = await create('gone');
    expect(t2.topicId).not.toBe(t.topicId);
    expect(broker.store.partition('gone', 0)!.logEndOffset).toBe(0n);
    const byId = await c.request(DeleteTopics, 6, { topics: [{ name: null, topicId: t2.topicId }, { name: null, topicId: t.topicId }] });
    expect(byId.responses.map((r) => [r.name, r.errorCode])).toEqual([['gone', 0], [null, ErrorCode.UNKNOWN_TOPIC_ID]]);
  });

  it('only grows partition counts', async () => {
    await create('g', 2);
    const shrink = await c.request(CreatePartitions, 3, { topics: [{ name: 'g', count: 1, assignments: null }] });
    expect(shrink.results[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    const grow = await c.request(CreatePartitions, 3, { topics: [{ name: 'g', count: 4, assignments: null }, { name: 'nope', count: 2, assignments: null }] });
    expect(grow.results.map((r) => r.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect((await produce('g', 3, batch(['x']))).errorCode).toBe(ErrorCode.NONE);
    const validate = await c.request(CreatePartitions, 3, { topics: [{ name: 'g', count: 8, assignments: null }], validateOnly: true });
    expect(validate.results[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(broker.topics.get('g')!.numPartitions).toBe(4);
  });
});

describe('DescribeConfigs / DescribeCluster', () => {
  it('reports topic overrides, broker-inherited values, sources and synonyms', async () => {
    await broker.close();
    await start({ 'log.retention.hours': '1' });
    await create('dc', 1, [{ name: 'segment.bytes', value: '1048576' }]);
    const r = await c.request(DescribeConfigs, 4, {
      resources: [{ resourceType: 2, resourceName: 'dc', configurationKeys: ['segment.bytes', 'retention.ms', 'cleanup.policy'] }],
      includeSynonyms: true,
    });
    const byName = Object.fromEntries(r.results[0]!.configs.map((x) => [x.name, x]));
    expect(byName['segment.bytes']).toMatchObject({ value: '1048576', configSource: 1 });
    // Kafka's ConfigHelper lists synonyms from the primary broker name (log.retention.ms) down:
    // with only log.retention.hours set the value follows it, but no synonym is listed and the
    // source is DEFAULT_CONFIG (issue 8; more in configs.test.ts).
    expect(byName['retention.ms']).toMatchObject({ value: '3600000', configSource: 5 });
    expect(byName['retention.ms']!.synonyms).toEqual([]);
    expect(byName['cleanup.policy']).toMatchObject({ value: 'delete', configSource: 5 });
    const v0 = await c.request(DescribeConfigs, 0, { resources: [{ resourceType: 2, resourceName: 'dc', configurationKeys: ['segment.bytes'] }] });
    expect(v0.results[0]!.configs[0]!.isDefault).toBe(false);
    const broker1 = await c.request(DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '1', configurationKeys: ['num.partitions'] }] });
    expect(broker1.results[0]!.configs[0]).toMatchObject({ name: 'num.partitions', value: '1', configSource: 5 });
    const other = await c.request(DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '7', configurationKeys: null }, { resourceType: 2, resourceName: 'nope', configurationKeys: null }] });
    expect(other.results.map((x) => x.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  });

  it('describes the cluster; controller endpoints are not served by a broker', async () => {
    const r = await c.request(DescribeCluster, 1, { endpointType: 1 });
    expect(r).toMatchObject({ errorCode: 0, clusterId: broker.clusterId, controllerId: 1 });
    const ctl = await c.request(DescribeCluster, 1, { endpointType: 2 });
    expect(ctl.errorCode).toBe(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  });
});
