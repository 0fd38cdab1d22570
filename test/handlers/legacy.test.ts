// Old clients through the real broker: Produce v0-v2 with legacy message sets (magic 0/1) are
// converted to v2 batches; Fetch v0-v3 down-convert the stored batches (magic 0 for v0-v1,
// magic 1 for v2-v3); v4+ see the converted v2 batches.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Compression, TimestampType, decodeBatches, encodeRecordBatch } from '../../protocol/records/index.js';
import { LEGACY_TIMESTAMP_TYPE_BIT, decodeMessageSet, encodeMessageSet, legacyEntrySize } from '../../protocol/records/legacy.js';
import { ZERO_UUID } from '../../protocol/primitives/uuid.js';
import { startBroker, type Broker } from '../../src/broker.js';
import { ManualClock } from '../../src/common/clock.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';

const Produce = clientApi(G.ProduceApi, G.encodeProduceRequest, G.decodeProduceResponse);
const Fetch = clientApi(G.FetchApi, G.encodeFetchRequest, G.decodeFetchResponse);
const ListOffsets = clientApi(G.ListOffsetsApi, G.encodeListOffsetsRequest, G.decodeListOffsetsResponse);
const CreateTopics = clientApi(G.CreateTopicsApi, G.encodeCreateTopicsRequest, G.decodeCreateTopicsResponse);
const Metadata = clientApi(G.MetadataApi, G.encodeMetadataRequest, G.decodeMetadataResponse);

let broker: Broker;
let c: RawClient;
let clock: ManualClock;
const NOW = 1_700_000_000_000;

beforeEach(async () => {
  clock = new ManualClock(NOW);
  broker = await startBroker({ clock });
  c = await RawClient.connect(broker.host, broker.port);
});
afterEach(async () => {
  c?.close();
  await broker?.close();
});

const B = (s: string) => Buffer.from(s);

async function create(name: string, configs: Array<{ name: string; value: string | null }> = []) {
  const r = await c.request(CreateTopics, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 1, configs }], timeoutMs: 1000 });
  expect(r.topics[0]!.errorCode).toBe(ErrorCode.NONE);
}

async function produce(topic: string, records: Buffer, version: number, acks = 1) {
  const r = await c.request(Produce, version, { acks, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return r.responses[0]!.partitionResponses[0]!;
}

async function fetch(topic: string, version: number, offset: bigint, partitionMaxBytes = 1 << 20, maxBytes = 1 << 20) {
  const r = await c.request(Fetch, version, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes,
    isolationLevel: 0,
    sessionEpoch: -1,
    topics: [{ topic, topicId: broker.topics.get(topic)?.topicId ?? ZERO_UUID, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes }] }],
  });
  return r.responses[0]!.partitions[0]!;
}

const show = (v: Buffer | null) => (v === null ? null : v.toString());

/** Offsets and values every Fetch version must see. */
async function readAllVersions(topic: string, expected: Array<[bigint, string | null, string | null]>) {
  for (let v = 0; v <= 3; v++) {
    const p = await fetch(topic, v, 0n);
    expect(p.errorCode).toBe(ErrorCode.NONE);
    expect(p.highWatermark).toBe(BigInt(expected.length));
    const msgs = decodeMessageSet(p.records!);
    expect(msgs.map((m) => [m.offset, show(m.key), show(m.value)])).toEqual(expected);
    expect(msgs.every((m) => m.magic === (v < 2 ? 0 : 1) && (m.attributes & 7) === 0)).toBe(true);
  }
  for (const v of [4, 11, 17]) {
    const p = await fetch(topic, v, 0n);
    const recs = decodeBatches(p.records!).flatMap((b) => b.records);
    expect(recs.map((r) => [r.offset, show(r.key), show(r.value)])).toEqual(expected);
  }
}

describe('Produce v0-v2 with message sets, Fetch v0-v17', () => {
  it('stores magic-0 and magic-1 sets (plain and gzip) at consecutive offsets, readable by every Fetch version', async () => {
    await create('t');
    const a = await produce('t', encodeMessageSet([{ key: B('k0'), value: B('v0') }, { key: null, value: B('v1') }], 0), 0);
    expect(a).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    const b = await produce('t', encodeMessageSet([{ key: B('k2'), value: null }, { key: B('k3'), value: B('v3') }], 0, Compression.GZIP), 1);
    expect(b).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 2n });
    const cc = await produce('t', encodeMessageSet([{ key: B('k4'), value: B('v4'), timestamp: 1234n }], 1), 2);
    expect(cc).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 4n, logAppendTimeMs: -1n });
    const d = await produce('t', encodeMessageSet([{ key: null, value: B('v5'), timestamp: 5n }, { key: null, value: B('v6'), timestamp: 6n }], 1, { compression: Compression.GZIP }), 2);
    expect(d).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 5n });
    // Like Kafka, v0-v1 do not insist on magic 0
    const e = await produce('t', encodeMessageSet([{ key: null, value: B('v7'), timestamp: 7n }], 1), 0);
    expect(e).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 7n });
    await readAllVersions('t', [
      [0n, 'k0', 'v0'],
      [1n, null, 'v1'],
      [2n, 'k2', null],
      [3n, 'k3', 'v3'],
      [4n, 'k4', 'v4'],
      [5n, null, 'v5'],
      [6n, null, 'v6'],
      [7n, null, 'v7'],
    ]);
    // stored as v2 batches: magic-0 timestamps -1, magic-1 timestamps kept, gzip kept
    const stored = decodeBatches((await fetch('t', 11, 0n)).records!);
    expect(stored.map((x) => x.header.compression)).toEqual([Compression.NONE, Compression.GZIP, Compression.NONE, Compression.GZIP, Compression.NONE]);
    expect(stored[0]!.records.map((r) => r.timestamp)).toEqual([-1n, -1n]);
    expect(stored[2]!.records[0]!.timestamp).toBe(1234n);
    // magic-1 fetches carry the timestamps
    const f2 = decodeMessageSet((await fetch('t', 2, 4n)).records!);
    expect(f2.map((m) => m.timestamp)).toEqual([1234n, 5n, 6n, 7n]);
  });

  it('mixes v2 batches and legacy produces on one partition; Fetch v0 drops headers', async () => {
    await create('mix');
    const batch = encodeRecordBatch({
      records: [
        { key: B('h1'), value: B('with-headers'), headers: [{ key: 'trace', value: B('abc') }], timestamp: 99n },
        { key: null, value: B('second'), timestamp: 100n },
      ],
    });
    expect((await produce('mix', batch, 9)).baseOffset).toBe(0n);
    expect((await produce('mix', encodeMessageSet([{ key: B('old'), value: B('legacy') }], 0), 0)).baseOffset).toBe(2n);
    expect((await produce('mix', encodeRecordBatch({ records: [{ key: null, value: B('new'), timestamp: 101n }] }), 3)).baseOffset).toBe(3n);
    await readAllVersions('mix', [
      [0n, 'h1', 'with-headers'],
      [1n, null, 'second'],
      [2n, 'old', 'legacy'],
      [3n, null, 'new'],
    ]);
    const v0 = (await fetch('mix', 0, 0n)).records!;
    // exactly the magic-0 encoding of the four messages: no trace of the header
    const sizes = [
      ['h1', 'with-headers'],
      [null, 'second'],
      ['old', 'legacy'],
      [null, 'new'],
    ].reduce((n, [k, v]) => n + legacyEntrySize(0, k === null ? null : B(k!), B(v!)), 0);
    expect(v0.length).toBe(sizes);
    expect(v0.includes(B('trace'))).toBe(false);
    const v11 = decodeBatches((await fetch('mix', 11, 0n)).records!);
    expect(v11[0]!.records[0]!.headers).toEqual([{ key: 'trace', value: B('abc') }]);
  });

  it('starts at the fetch offset inside a batch and honours partition_max_bytes / max_bytes on the converted size', async () => {
    await create('lim');
    const values = Array.from({ length: 10 }, (_, i) => `value-${i}`);
    await produce('lim', encodeRecordBatch({ records: values.map((v) => ({ key: null, value: B(v) })) }), 9);
    const mid = decodeMessageSet((await fetch('lim', 0, 4n)).records!);
    expect(mid.map((m) => m.offset)).toEqual([4n, 5n, 6n, 7n, 8n, 9n]);
    for (const v of [0, 1, 2, 3]) {
      const size = legacyEntrySize(v < 2 ? 0 : 1, null, B('value-0'));
      const p = await fetch('lim', v, 0n, 3 * size + 1);
      expect(p.records!.length).toBe(3 * size);
      expect(decodeMessageSet(p.records!).map((m) => show(m.value))).toEqual(values.slice(0, 3));
      // at least one message, even above the limit
      const tiny = await fetch('lim', v, 2n, 5);
      expect(decodeMessageSet(tiny.records!).map((m) => m.offset)).toEqual([2n]);
    }
    const v3 = await fetch('lim', 3, 0n, 1 << 20, 2 * legacyEntrySize(1, null, B('value-0')));
    expect(decodeMessageSet(v3.records!)).toHaveLength(2);
  });

  it('answers Fetch v0-v3 at the log end with an empty set and out of range with OFFSET_OUT_OF_RANGE', async () => {
    await create('e');
    await produce('e', encodeMessageSet([{ key: null, value: B('x') }], 0), 0);
    for (let v = 0; v <= 3; v++) {
      const end = await fetch('e', v, 1n);
      expect(end.errorCode).toBe(ErrorCode.NONE);
      expect(end.records!.length).toBe(0);
      expect((await fetch('e', v, 5n)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
      expect((await fetch('nope', v, 0n)).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
  });

  it('LogAppendTime topics: Produce v2 reports the append time, Fetch v2-v3 carry it with the timestamp-type bit', async () => {
    await create('lat', [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
    clock.advance(5000);
    const r = await produce('lat', encodeMessageSet([{ key: null, value: B('a'), timestamp: 1n }, { key: null, value: B('b'), timestamp: 2n }], 1), 2);
    expect(r.logAppendTimeMs).toBe(BigInt(NOW + 5000));
    const m1 = decodeMessageSet((await fetch('lat', 2, 0n)).records!);
    expect(m1.map((m) => m.timestamp)).toEqual([BigInt(NOW + 5000), BigInt(NOW + 5000)]);
    expect(m1.every((m) => (m.attributes & LEGACY_TIMESTAMP_TYPE_BIT) !== 0)).toBe(true);
    const m0 = decodeMessageSet((await fetch('lat', 0, 0n)).records!);
    expect(m0.every((m) => m.timestamp === -1n && m.attributes === 0)).toBe(true);
    const stored = decodeBatches((await fetch('lat', 11, 0n)).records!);
    expect(stored[0]!.header.timestampType).toBe(TimestampType.LOG_APPEND_TIME);
  });

  it('ListOffsets v0 and Metadata v0 work alongside (sarama V0_8_2_0)', async () => {
    await create('lo');
    await produce('lo', encodeMessageSet([{ key: null, value: B('1') }, { key: null, value: B('2') }, { key: null, value: B('3') }], 0), 0);
    const lo = await c.request(ListOffsets, 0, {
      replicaId: -1,
      topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, timestamp: -1n, maxNumOffsets: 1 }] }],
    });
    expect(lo.topics[0]!.partitions[0]!.oldStyleOffsets).toEqual([3n]);
    const early = await c.request(ListOffsets, 0, {
      replicaId: -1,
      topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, timestamp: -2n, maxNumOffsets: 1 }] }],
    });
    expect(early.topics[0]!.partitions[0]!.oldStyleOffsets).toEqual([0n]);
    const md = await c.request(Metadata, 0, { topics: [{ name: 'lo' }] });
    expect(md.topics[0]!.errorCode).toBe(ErrorCode.NONE);
  });
});

describe('Produce v0-v2 errors', () => {
  it('garbage, CRC mismatches and truncation are CORRUPT_MESSAGE; nothing is appended', async () => {
    await create('bad');
    expect((await produce('bad', B('certainly not a message set, really'), 0)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const flipped = encodeMessageSet([{ key: null, value: B('hello') }], 0);
    flipped[flipped.length - 1]! ^= 1;
    expect((await produce('bad', flipped, 1)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const gz = encodeMessageSet([{ key: null, value: B('hello') }], 1, Compression.GZIP);
    expect((await produce('bad', gz.subarray(0, gz.length - 4), 2)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(broker.store.partition('bad', 0)!.logEndOffset).toBe(0n);
  });

  it('mixed magic and several compressed wrappers are INVALID_RECORD; empty is INVALID_RECORD', async () => {
    await create('inv');
    const mixed = Buffer.concat([encodeMessageSet([{ key: null, value: B('a') }], 0), encodeMessageSet([{ key: null, value: B('b') }], 1)]);
    expect((await produce('inv', mixed, 2)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    const w = encodeMessageSet([{ key: null, value: B('a') }], 0, Compression.GZIP);
    expect((await produce('inv', Buffer.concat([w, w]), 0)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect((await produce('inv', Buffer.alloc(0), 0)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(broker.store.partition('inv', 0)!.logEndOffset).toBe(0n);
  });

  it('unknown partitions, invalid acks, a v2 batch (UNSUPPORTED_VERSION), max.message.bytes on the converted batch', async () => {
    const set = encodeMessageSet([{ key: null, value: B('x') }], 0);
    expect((await produce('missing', set, 0)).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await create('small', [{ name: 'max.message.bytes', value: '200' }]);
    expect((await produce('small', set, 0, 2)).errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
    expect((await produce('small', encodeRecordBatch({ records: [{ key: null, value: B('x') }] }), 2)).errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    // 150 bytes of value: 176 as a message set entry, 61 + ~155 as a v2 batch
    expect((await produce('small', encodeMessageSet([{ key: null, value: Buffer.alloc(150) }], 0), 0)).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect((await produce('small', set, 0)).errorCode).toBe(ErrorCode.NONE);
  });

  it('acks=0: appends silently, closes the connection on failure', async () => {
    await create('z');
    c.send(Produce, 0, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'z', partitionData: [{ index: 0, records: encodeMessageSet([{ key: null, value: B('q') }], 0) }] }] });
    await c.request(Metadata, 0, { topics: [] });
    expect(broker.store.partition('z', 0)!.logEndOffset).toBe(1n);
    c.send(Produce, 0, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'z', partitionData: [{ index: 0, records: B('garbage garbage garbage') }] }] });
    expect(await c.waitClosed(3000)).toBe(true);
  });
});
