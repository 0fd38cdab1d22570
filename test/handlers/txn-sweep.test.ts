// Issue 7: every transaction API at every advertised version over a real socket (generated
// codecs, classic and flexible encodings), plus the producer-state rules of Produce as clients
// meet them: duplicates, sequence gaps, stale epochs, transactional writes outside a transaction.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { encodeRecordBatch } from '../../protocol/records/index.js';
import { startBroker, type Broker } from '../../src/broker.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';

const A = {
  produce: clientApi(G.ProduceApi, G.encodeProduceRequest, G.decodeProduceResponse),
  fetch: clientApi(G.FetchApi, G.encodeFetchRequest, G.decodeFetchResponse),
  listOffsets: clientApi(G.ListOffsetsApi, G.encodeListOffsetsRequest, G.decodeListOffsetsResponse),
  createTopics: clientApi(G.CreateTopicsApi, G.encodeCreateTopicsRequest, G.decodeCreateTopicsResponse),
  offsetFetch: clientApi(G.OffsetFetchApi, G.encodeOffsetFetchRequest, G.decodeOffsetFetchResponse),
  initProducerId: clientApi(G.InitProducerIdApi, G.encodeInitProducerIdRequest, G.decodeInitProducerIdResponse),
  addPartitions: clientApi(G.AddPartitionsToTxnApi, G.encodeAddPartitionsToTxnRequest, G.decodeAddPartitionsToTxnResponse),
  addOffsets: clientApi(G.AddOffsetsToTxnApi, G.encodeAddOffsetsToTxnRequest, G.decodeAddOffsetsToTxnResponse),
  endTxn: clientApi(G.EndTxnApi, G.encodeEndTxnRequest, G.decodeEndTxnResponse),
  writeTxnMarkers: clientApi(G.WriteTxnMarkersApi, G.encodeWriteTxnMarkersRequest, G.decodeWriteTxnMarkersResponse),
  txnOffsetCommit: clientApi(G.TxnOffsetCommitApi, G.encodeTxnOffsetCommitRequest, G.decodeTxnOffsetCommitResponse),
  describeProducers: clientApi(G.DescribeProducersApi, G.encodeDescribeProducersRequest, G.decodeDescribeProducersResponse),
  describeTransactions: clientApi(G.DescribeTransactionsApi, G.encodeDescribeTransactionsRequest, G.decodeDescribeTransactionsResponse),
  listTransactions: clientApi(G.ListTransactionsApi, G.encodeListTransactionsRequest, G.decodeListTransactionsResponse),
};

const TOPIC = 'txs';
let broker: Broker;
let client: RawClient;

interface Producer {
  id: string | null;
  producerId: bigint;
  producerEpoch: number;
  seq: number;
}

async function init(id: string | null, version = 2, timeoutMs = 60000): Promise<Producer> {
  const r = await client.request(A.initProducerId, version, { transactionalId: id, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 });
  expect(r.errorCode).toBe(ErrorCode.NONE);
  return { id, producerId: r.producerId, producerEpoch: r.producerEpoch, seq: 0 };
}

function batch(p: Producer, values: string[], opts: { transactional?: boolean; seq?: number; epoch?: number } = {}): Buffer {
  const seq = opts.seq ?? p.seq;
  return encodeRecordBatch({
    producerId: p.producerId,
    producerEpoch: opts.epoch ?? p.producerEpoch,
    baseSequence: seq,
    isTransactional: opts.transactional ?? p.id !== null,
    records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
  });
}

async function produce(p: Producer, records: Buffer, partition = 0, version = 7, transactionalId: string | null = p.id) {
  const r = await client.request(A.produce, version, {
    transactionalId,
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }],
  });
  return r.responses[0].partitionResponses[0];
}

async function add(p: Producer, partitions: number[], version = 1) {
  const r = await client.request(A.addPartitions, version, {
    v3AndBelowTransactionalId: p.id!,
    v3AndBelowProducerId: p.producerId,
    v3AndBelowProducerEpoch: p.producerEpoch,
    v3AndBelowTopics: [{ name: TOPIC, partitions }],
  });
  return r.resultsByTopicV3AndBelow[0].resultsByPartition.map((x: { partitionErrorCode: number }) => x.partitionErrorCode);
}

async function end(p: Producer, committed: boolean, version = 1, epoch = p.producerEpoch): Promise<number> {
  const r = await client.request(A.endTxn, version, { transactionalId: p.id!, producerId: p.producerId, producerEpoch: epoch, committed });
  return r.errorCode;
}

async function latest(partition: number, isolationLevel: number): Promise<bigint> {
  const r = await client.request(A.listOffsets, 5, { replicaId: -1, isolationLevel, topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, timestamp: -1n, currentLeaderEpoch: -1 }] }] });
  return r.topics[0].partitions[0].offset;
}

async function describeTxn(id: string) {
  const r = await client.request(A.describeTransactions, 0, { transactionalIds: [id] });
  return r.transactionStates[0];
}

beforeAll(async () => {
  broker = await startBroker();
  client = await RawClient.connect(broker.host, broker.port);
  const created = await client.request(A.createTopics, 4, { topics: [{ name: TOPIC, numPartitions: 3, replicationFactor: 1 }] });
  expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
});

afterAll(async () => {
  client?.close();
  await broker?.close();
});

const TXN_KEYS = [22, 24, 25, 26, 27, 28, 61, 65, 66];

const cases: Record<number, (v: number) => Promise<void>> = {
  async 22(v) {
    const id = `ipi-${v}`;
    const first = await init(id, v);
    expect(first.producerId).toBeGreaterThanOrEqual(0n);
    expect(first.producerEpoch).toBe(0);
    const again = await init(id, v);
    expect(again).toMatchObject({ producerId: first.producerId, producerEpoch: 1 });
    const idem = await init(null, v, 2147483647);
    expect(idem.producerEpoch).toBe(0);
    expect(idem.producerId).not.toBe(first.producerId);
    const tooLong = await client.request(A.initProducerId, v, { transactionalId: id, transactionTimeoutMs: 900001, producerId: -1n, producerEpoch: -1 });
    expect(tooLong.errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    if (v >= 3) {
      // KIP-360: the producer names its current id/epoch; a stranger's id is fenced.
      const bumped = await client.request(A.initProducerId, v, { transactionalId: id, transactionTimeoutMs: 60000, producerId: again.producerId, producerEpoch: 1 });
      expect(bumped).toMatchObject({ errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: 2 });
      const retried = await client.request(A.initProducerId, v, { transactionalId: id, transactionTimeoutMs: 60000, producerId: again.producerId, producerEpoch: 1 });
      expect(retried).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 2 });
      const stranger = await client.request(A.initProducerId, v, { transactionalId: id, transactionTimeoutMs: 60000, producerId: 999999n, producerEpoch: 0 });
      expect(stranger.errorCode).toBe(v >= 4 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
    }
  },
  async 24(v) {
    const p = await init(`apt-${v}`);
    if (v <= 3) {
      expect(await add(p, [0, 1], v)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
      const unknown = await client.request(A.addPartitions, v, {
        v3AndBelowTransactionalId: p.id!,
        v3AndBelowProducerId: p.producerId,
        v3AndBelowProducerEpoch: p.producerEpoch,
        v3AndBelowTopics: [{ name: TOPIC, partitions: [2, 9] }],
      });
      expect(unknown.resultsByTopicV3AndBelow[0].resultsByPartition.map((x: { partitionErrorCode: number }) => x.partitionErrorCode)).toEqual([
        ErrorCode.OPERATION_NOT_ATTEMPTED,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ]);
      const stale = await add({ ...p, producerEpoch: p.producerEpoch + 5 }, [2], v);
      expect(stale).toEqual([v >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH]);
      const wrongPid = await add({ ...p, producerId: p.producerId + 1000n }, [2], v);
      expect(wrongPid).toEqual([ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
    } else {
      const tx = (verifyOnly: boolean, partitions: number[]) => ({
        transactionalId: p.id!,
        producerId: p.producerId,
        producerEpoch: p.producerEpoch,
        verifyOnly,
        topics: [{ name: TOPIC, partitions }],
      });
      const added = await client.request(A.addPartitions, v, { transactions: [tx(false, [0])] });
      expect(added.errorCode).toBe(ErrorCode.NONE);
      expect(added.resultsByTransaction[0].topicResults[0].resultsByPartition[0].partitionErrorCode).toBe(ErrorCode.NONE);
      const verified = await client.request(A.addPartitions, v, { transactions: [tx(true, [0, 1])] });
      expect(verified.resultsByTransaction[0].topicResults[0].resultsByPartition.map((x: { partitionErrorCode: number }) => x.partitionErrorCode)).toEqual([
        ErrorCode.NONE,
        ErrorCode.TRANSACTION_ABORTABLE,
      ]);
    }
    expect((await describeTxn(p.id!)).transactionState).toBe('Ongoing');
    expect(await end(p, false)).toBe(ErrorCode.NONE);
  },
  async 25(v) {
    const p = await init(`aot-${v}`);
    const r = await client.request(A.addOffsets, v, { transactionalId: p.id!, producerId: p.producerId, producerEpoch: p.producerEpoch, groupId: `g-aot-${v}` });
    expect(r.errorCode).toBe(ErrorCode.NONE);
    const d = await describeTxn(p.id!);
    expect(d.transactionState).toBe('Ongoing');
    expect(d.topics.map((t: { topic: string }) => t.topic)).toEqual(['__consumer_offsets']);
    const fenced = await client.request(A.addOffsets, v, { transactionalId: p.id!, producerId: p.producerId, producerEpoch: 9, groupId: 'g' });
    expect(fenced.errorCode).toBe(v >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
    const unknown = await client.request(A.addOffsets, v, { transactionalId: 'nobody', producerId: 1n, producerEpoch: 0, groupId: 'g' });
    expect(unknown.errorCode).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(await end(p, true)).toBe(ErrorCode.NONE);
  },
  async 26(v) {
    const p = await init(`end-${v}`);
    expect(await add(p, [1])).toEqual([ErrorCode.NONE]);
    const before = await latest(1, 0);
    const r = await produce(p, batch(p, ['a', 'b']), 1);
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(await latest(1, 1)).toBe(before); // the open transaction holds the LSO
    expect(await end(p, true, v)).toBe(ErrorCode.NONE);
    expect(await latest(1, 1)).toBe(before + 3n); // two records and the marker
    expect(await end(p, true, v)).toBe(ErrorCode.NONE); // a retry
    expect(await end(p, false, v)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await end(p, true, v, p.producerEpoch + 1)).toBe(v >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
    const empty = await init(`end-empty-${v}`);
    expect(await end(empty, true, v)).toBe(ErrorCode.INVALID_TXN_STATE);
  },
  async 27(v) {
    // WriteTxnMarkers (inter-broker in Kafka) on a single node: the marker is written here.
    const markers = async (
      producerId: bigint,
      producerEpoch: number,
      transactionResult: boolean,
      coordinatorEpoch: number,
      topics: Array<{ name: string; partitionIndexes: number[] }>,
    ): Promise<Array<[string, number, number]>> => {
      const r = await client.request(A.writeTxnMarkers, v, { markers: [{ producerId, producerEpoch, transactionResult, coordinatorEpoch, topics }] });
      expect(r.markers.map((m: { producerId: bigint }) => m.producerId)).toEqual([producerId]);
      return r.markers[0].topics.flatMap((t: { name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }) =>
        t.partitions.map((p) => [t.name, p.partitionIndex, p.errorCode] as [string, number, number]),
      );
    };
    // A COMMIT marker ends an open transaction: READ_COMMITTED readers see it.
    const p = await init(`wtm-${v}`);
    expect(await add(p, [0])).toEqual([ErrorCode.NONE]);
    const before = await latest(0, 0);
    expect((await produce(p, batch(p, ['m1', 'm2']), 0)).errorCode).toBe(ErrorCode.NONE);
    expect(await latest(0, 1)).toBe(before);
    expect(await markers(p.producerId, p.producerEpoch, true, 0, [{ name: TOPIC, partitionIndexes: [0] }])).toEqual([[TOPIC, 0, ErrorCode.NONE]]);
    expect(await latest(0, 1)).toBe(before + 3n);
    const stored = await broker.records(TOPIC, 0, { isolation: 'read_committed' });
    expect(stored.slice(-2).map((r) => r.value?.toString())).toEqual(['m1', 'm2']);
    // Unknown partitions and topics.
    expect(await markers(p.producerId, p.producerEpoch, true, 0, [{ name: TOPIC, partitionIndexes: [99] }, { name: 'no-such-topic', partitionIndexes: [0] }])).toEqual([
      [TOPIC, 99, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['no-such-topic', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    // A stale coordinator epoch, then a stale producer epoch (a producer id of its own).
    const q = await init(null);
    expect(await markers(q.producerId, 3, false, 5, [{ name: TOPIC, partitionIndexes: [2] }])).toEqual([[TOPIC, 2, ErrorCode.NONE]]);
    expect(await markers(q.producerId, 3, false, 4, [{ name: TOPIC, partitionIndexes: [2] }])).toEqual([[TOPIC, 2, ErrorCode.TRANSACTION_COORDINATOR_FENCED]]);
    expect(await markers(q.producerId, 2, false, 5, [{ name: TOPIC, partitionIndexes: [2] }])).toEqual([[TOPIC, 2, ErrorCode.INVALID_PRODUCER_EPOCH]]);
    // The coordinator still has the transaction open: it completes (its marker is a no-op now).
    expect(await end(p, true)).toBe(ErrorCode.NONE);
  },
  async 28(v) {
    const p = await init(`toc-${v}`);
    const groupId = `g-toc-${v}`;
    const commit = (group: string) =>
      client.request(A.txnOffsetCommit, v, {
        transactionalId: p.id!,
        groupId: group,
        producerId: p.producerId,
        producerEpoch: p.producerEpoch,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
      });
    // Not added with AddOffsetsToTxn yet: KIP-890 refuses it.
    const early = await commit(groupId);
    expect(early.topics[0].partitions[0].errorCode).toBe(v >= 4 ? ErrorCode.TRANSACTION_ABORTABLE : ErrorCode.INVALID_TXN_STATE);
    const added = await client.request(A.addOffsets, 1, { transactionalId: p.id!, producerId: p.producerId, producerEpoch: p.producerEpoch, groupId });
    expect(added.errorCode).toBe(ErrorCode.NONE);
    const r = await commit(groupId);
    expect(r.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    const fetchOffset = async (requireStable: boolean) =>
      (await client.request(A.offsetFetch, 7, { groupId, topics: [{ name: TOPIC, partitionIndexes: [0] }], requireStable })).topics[0].partitions[0];
    expect(await fetchOffset(true)).toMatchObject({ errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT, committedOffset: -1n });
    expect(await fetchOffset(false)).toMatchObject({ errorCode: ErrorCode.NONE, committedOffset: -1n });
    expect(await end(p, true)).toBe(ErrorCode.NONE);
    expect(await fetchOffset(true)).toMatchObject({ errorCode: ErrorCode.NONE, committedOffset: 42n, metadata: 'm' });
  },
  async 61(v) {
    const p = await init(null);
    expect((await produce(p, batch(p, ['x', 'y', 'z']), 2)).errorCode).toBe(ErrorCode.NONE);
    const r = await client.request(A.describeProducers, v, { topics: [{ name: TOPIC, partitionIndexes: [2, 7] }, { name: 'nope', partitionIndexes: [0] }] });
    const [p2, p7] = r.topics[0].partitions;
    expect(p2.errorCode).toBe(ErrorCode.NONE);
    expect(p2.activeProducers).toContainEqual(expect.objectContaining({ producerId: p.producerId, producerEpoch: 0, lastSequence: 2, currentTxnStartOffset: -1n }));
    expect(p7.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(r.topics[1].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  },
  async 65(v) {
    const p = await init(`dt-${v}`);
    await add(p, [0, 2]);
    const r = await client.request(A.describeTransactions, v, { transactionalIds: [p.id!, 'dt-unknown'] });
    expect(r.transactionStates[0]).toMatchObject({
      errorCode: ErrorCode.NONE,
      transactionState: 'Ongoing',
      transactionTimeoutMs: 60000,
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      topics: [{ topic: TOPIC, partitions: [0, 2] }],
    });
    expect(r.transactionStates[0].transactionStartTimeMs).toBeGreaterThan(0n);
    expect(r.transactionStates[1].errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    expect(await end(p, false)).toBe(ErrorCode.NONE);
    expect((await describeTxn(p.id!)).transactionState).toBe('CompleteAbort');
  },
  async 66(v) {
    const p = await init(`lt-${v}`);
    await add(p, [1]);
    const r = await client.request(A.listTransactions, v, { stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [p.producerId], durationFilter: -1n });
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.unknownStateFilters).toEqual(['Bogus']);
    expect(r.transactionStates).toEqual([{ transactionalId: p.id, producerId: p.producerId, transactionState: 'Ongoing' }]);
    if (v >= 1) {
      const long = await client.request(A.listTransactions, v, { stateFilters: [], producerIdFilters: [p.producerId], durationFilter: 3_600_000n });
      expect(long.transactionStates).toEqual([]);
    }
    expect(await end(p, false)).toBe(ErrorCode.NONE);
  },
};

describe('every transaction API at every advertised version', () => {
  it('covers every transaction handler', () => {
    const advertised = HANDLERS.map((h) => h.api.apiKey).filter((k) => TXN_KEYS.includes(k));
    expect(advertised.sort((a, b) => a - b)).toEqual(TXN_KEYS);
  });
  for (const h of HANDLERS.filter((x) => TXN_KEYS.includes(x.api.apiKey))) {
    for (let v = h.minVersion; v <= h.maxVersion; v++) {
      it(`${h.api.name} v${v}`, async () => {
        await cases[h.api.apiKey]!(v);
      });
    }
  }
});

describe('Produce with producer ids', () => {
  it('answers a retried batch with its first offset and appends it once', async () => {
    const p = await init(null);
    const b = batch(p, ['d1', 'd2']);
    const first = await produce(p, b);
    expect(first.errorCode).toBe(ErrorCode.NONE);
    const end1 = await latest(0, 0);
    const again = await produce(p, batch(p, ['d1', 'd2']));
    expect(again).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: first.baseOffset });
    expect(await latest(0, 0)).toBe(end1);
  });

  it('refuses sequence gaps, stale epochs and a new epoch not starting at 0', async () => {
    const p = await init(null);
    expect((await produce(p, batch(p, ['s0'], { seq: 0 }))).errorCode).toBe(ErrorCode.NONE);
    expect((await produce(p, batch(p, ['s5'], { seq: 5 }))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await produce(p, batch(p, ['s1'], { seq: 1 }))).errorCode).toBe(ErrorCode.NONE);
    // KIP-360: the producer bumps its epoch and restarts at 0.
    expect((await produce(p, batch(p, ['e1'], { seq: 3, epoch: 1 }))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await produce(p, batch(p, ['e1'], { seq: 0, epoch: 1 }))).errorCode).toBe(ErrorCode.NONE);
    expect((await produce(p, batch(p, ['old'], { seq: 2, epoch: 0 }))).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('accepts any sequence from a producer the partition does not know (no UNKNOWN_PRODUCER_ID)', async () => {
    const p = await init(null);
    expect((await produce(p, batch(p, ['late'], { seq: 17 }))).errorCode).toBe(ErrorCode.NONE);
    expect((await produce(p, batch(p, ['next'], { seq: 18 }))).errorCode).toBe(ErrorCode.NONE);
  });

  it('refuses transactional batches without a transactional id or outside the transaction', async () => {
    const p = await init('prod-rules');
    const noId = await produce(p, batch(p, ['t']), 0, 7, null);
    expect(noId.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const notAdded = await produce(p, batch(p, ['t']), 0, 7);
    expect(notAdded.errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    const notAdded11 = await produce(p, batch(p, ['t']), 0, 11);
    expect(notAdded11.errorCode).toBe(ErrorCode.TRANSACTION_ABORTABLE);
    expect(await add(p, [0])).toEqual([ErrorCode.NONE]);
    expect((await produce(p, batch(p, ['t']))).errorCode).toBe(ErrorCode.NONE);
    // A non-transactional write by the same producer inside its transaction.
    const plain = await produce(p, batch(p, ['p'], { transactional: false, seq: 1 }), 0, 7, null);
    expect(plain.errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await end(p, false)).toBe(ErrorCode.NONE);
  });

  it('READ_COMMITTED fetches stop at the LSO and list aborted transactions', async () => {
    const p = await init('fetch-aborted');
    expect(await add(p, [2])).toEqual([ErrorCode.NONE]);
    const start = await latest(2, 0);
    const r = await produce(p, batch(p, ['gone']), 2);
    expect(r.errorCode).toBe(ErrorCode.NONE);
    const fetch = async (isolationLevel: number) =>
      (
        await client.request(A.fetch, 11, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 1,
          maxBytes: 1 << 20,
          isolationLevel,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic: TOPIC, partitions: [{ partition: 2, fetchOffset: start, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
          forgottenTopicsData: [],
          rackId: '',
        })
      ).responses[0].partitions[0];
    const open = await fetch(1);
    expect(open.lastStableOffset).toBe(start);
    expect(open.records.length).toBe(0);
    expect(await end(p, false)).toBe(ErrorCode.NONE);
    const committed = await fetch(1);
    expect(committed.lastStableOffset).toBe(start + 2n);
    expect(committed.abortedTransactions).toEqual([{ producerId: p.producerId, firstOffset: start }]);
    expect(committed.records.length).toBeGreaterThan(0);
    const uncommitted = await fetch(0);
    expect(uncommitted.abortedTransactions).toBeNull();
  });
});
