// TransactionCoordinator with explicit ownership of __transaction_state partitions (a cluster
// broker serves the transactional ids of the partitions it leads: Kafka's onElection /
// onResignation), over a real memory store and the real TxnStateLog. State is written by a
// coordinator owning every partition (a single node), then read back by one that owns only what
// it was elected for. Reference: /work/notes/kafka-replication.md 5.3, kafka-txn.md 3-5;
// Kafka 3.6 TransactionStateManager.loadTransactionsForTxnTopicPartition /
// removeTransactionsForTxnTopicPartition / getTransactionState / listTransactionStates.

import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { randomUuid } from '../../protocol/primitives/uuid.js';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogStore } from '../../src/log/types.js';
import { TransactionCoordinator, type TxnCoordinatorConfig } from '../../src/txn/coordinator.js';
import { MemoryProducerIds } from '../../src/txn/producer-ids.js';
import { partitionForTxn, TXN_TOPIC, TxnStateLog } from '../../src/txn/txn-log.js';
import type { MarkerWriter, TxnMetadata, TxnPersistence } from '../../src/txn/types.js';

const PARTITIONS = 5;
const DATA = 'data';
const CONFIG: TxnCoordinatorConfig = {
  transactionMaxTimeoutMs: 900_000,
  transactionalIdExpirationMs: 7 * 24 * 3600_000,
  abortTimedOutIntervalMs: 10_000,
  removeExpiredIntervalMs: 3600_000,
};
const NOT_COORDINATOR = ErrorCode.NOT_COORDINATOR;
const LOADING = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;

/** The first ids "<prefix>-<n>" whose partitions are all different. */
function idsInDistinctPartitions(prefix: string, count: number): string[] {
  const out: string[] = [];
  const used = new Set<number>();
  for (let n = 0; out.length < count; n++) {
    const id = `${prefix}-${n}`;
    const p = partitionForTxn(id, PARTITIONS);
    if (used.has(p)) continue;
    used.add(p);
    out.push(id);
  }
  return out;
}
const [T1, T2, T3] = idsInDistinctPartitions('txn', 3) as [string, string, string];
const Q1 = partitionForTxn(T1, PARTITIONS);
const Q2 = partitionForTxn(T2, PARTITIONS);
const Q3 = partitionForTxn(T3, PARTITIONS);

interface Marker {
  topic: string;
  partition: number;
  producerId: bigint;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

class RecordingMarkers implements MarkerWriter {
  readonly written: Marker[] = [];
  fail = false;
  writeTxnMarker(topic: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch: number): number {
    if (this.fail) throw new Error('disk full');
    this.written.push({ topic, partition, producerId, producerEpoch, commit, coordinatorEpoch });
    return ErrorCode.NONE;
  }
}

let open: TransactionCoordinator[] = [];
afterEach(() => {
  for (const c of open) c.close();
  open = [];
});

function newStore(): LogStore {
  const store = createMemoryStore({ logConfig: DEFAULT_LOG_CONFIG });
  store.createTopic({ name: DATA, topicId: randomUuid(), numPartitions: 3, replicationFactor: 1, configs: {} });
  return store;
}

function txnLog(store: LogStore): TxnStateLog {
  return new TxnStateLog({
    store,
    topics: {
      get: (name) => store.getTopic(name),
      createInternal: (name, numPartitions, configs) => {
        if (store.getTopic(name) === undefined) store.createTopic({ name, topicId: randomUuid(), numPartitions, replicationFactor: 1, configs });
      },
    },
    numPartitions: PARTITIONS,
    segmentBytes: 1 << 20,
    logger: { warn: () => {}, info: () => {} },
    now: () => 1_700_000_000_000,
  });
}

function coordinator(persistence: TxnPersistence, ownership: 'all' | 'explicit', markers: MarkerWriter = new RecordingMarkers()): TransactionCoordinator {
  const c = new TransactionCoordinator({
    clock: new ManualClock(),
    logger: silentLogger(),
    persistence,
    producerIds: new MemoryProducerIds(),
    markers,
    config: CONFIG,
    partitionExists: (topic, partition) => topic === DATA && partition < 3,
    offsetsPartition: () => ({ topic: '__consumer_offsets', partition: 0 }),
    ownership,
  });
  open.push(c);
  return c;
}

interface Producer {
  producerId: bigint;
  producerEpoch: number;
}

/**
 * Single node writes: T1 Ongoing on data-0; T2 PrepareCommit on data-1 (its markers failed, so it
 * stays there); T3 CompleteAbort.
 */
async function writeState(store: LogStore): Promise<Record<string, Producer>> {
  const markers = new RecordingMarkers();
  const c = coordinator(txnLog(store), 'all', markers);
  const out: Record<string, Producer> = {};
  for (const [id, partition] of [
    [T1, 0],
    [T2, 1],
    [T3, 2],
  ] as const) {
    const r = await c.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    expect(r.errorCode).toBe(ErrorCode.NONE);
    out[id] = { producerId: r.producerId, producerEpoch: r.producerEpoch };
    const added = await c.addPartitions(id, r.producerId, r.producerEpoch, [{ name: DATA, partitions: [partition] }]);
    expect(added.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
  }
  markers.fail = true;
  expect(await c.endTxn(T2, out[T2]!.producerId, out[T2]!.producerEpoch, true)).toBe(ErrorCode.NONE);
  markers.fail = false;
  expect(await c.endTxn(T3, out[T3]!.producerId, out[T3]!.producerEpoch, false)).toBe(ErrorCode.NONE);
  expect([T1, T2, T3].map((id) => c.get(id)?.state)).toEqual(['Ongoing', 'PrepareCommit', 'CompleteAbort']);
  c.close();
  return out;
}

/** Every transaction API for `id` answers `code`; ListTransactions does not list it. */
async function expectAllAnswer(c: TransactionCoordinator, id: string, code: number, p: Producer): Promise<void> {
  expect(await c.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 })).toEqual({
    errorCode: code,
    producerId: -1n,
    producerEpoch: -1,
  });
  expect(await c.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, producerId: p.producerId, producerEpoch: p.producerEpoch })).toMatchObject({ errorCode: code });
  expect((await c.addPartitions(id, p.producerId, p.producerEpoch, [{ name: DATA, partitions: [2] }])).topics[0]!.partitions[0]!.errorCode).toBe(code);
  expect(await c.addOffsets(id, p.producerId, p.producerEpoch, 'some-group')).toBe(code);
  expect(await c.endTxn(id, p.producerId, p.producerEpoch, true)).toBe(code);
  expect(await c.endTxn(id, p.producerId, p.producerEpoch, false)).toBe(code);
  // The produce path's and TxnOffsetCommit's checks of an id coordinated elsewhere are skipped
  // (NONE): in a cluster its coordinator is another broker, and NOT_COORDINATOR would have clients
  // retry for ever.
  const verified = code === NOT_COORDINATOR ? ErrorCode.NONE : code;
  expect(c.verifyPartition(id, p.producerId, p.producerEpoch, DATA, 0)).toBe(verified);
  expect(c.verifyOffsets(id, p.producerId, p.producerEpoch, 'some-group')).toBe(verified);
  expect(c.describe([id])[0]).toMatchObject({ errorCode: code, transactionalId: id, transactionState: '' });
  if (code === NOT_COORDINATOR) expect(c.list([], [], -1n).transactions.map((t) => t.transactionalId)).not.toContain(id);
}

describe('TransactionCoordinator: explicit ownership', () => {
  it('the test ids live in three different partitions', () => {
    expect(new Set([Q1, Q2, Q3]).size).toBe(3);
  });

  it('serves nothing before onElection, completes nothing, writes nothing', async () => {
    const store = newStore();
    const producers = await writeState(store);
    const ends = [Q1, Q2, Q3].map((q) => store.partition(TXN_TOPIC, q)!.logEndOffset);
    const markers = new RecordingMarkers();
    const c = coordinator(txnLog(store), 'explicit', markers);
    for (const id of [T1, T2, T3]) await expectAllAnswer(c, id, NOT_COORDINATOR, producers[id]!);
    expect(c.list([], [], -1n)).toEqual({ transactions: [], unknownStateFilters: [] });
    // The periodic checks see nothing either.
    expect(await c.abortTimedOutTransactions()).toBe(0);
    expect(markers.written).toEqual([]);
    expect([Q1, Q2, Q3].map((q) => store.partition(TXN_TOPIC, q)!.logEndOffset)).toEqual(ends);
  });

  it('onElection(p) loads the ids of p: an Ongoing transaction continues; other partitions stay NOT_COORDINATOR', async () => {
    const store = newStore();
    const producers = await writeState(store);
    const markers = new RecordingMarkers();
    const c = coordinator(txnLog(store), 'explicit', markers);
    c.onElection(Q1, 3);
    const p1 = producers[T1]!;
    expect(c.describe([T1])[0]).toMatchObject({
      errorCode: ErrorCode.NONE,
      transactionState: 'Ongoing',
      producerId: p1.producerId,
      producerEpoch: p1.producerEpoch,
      topics: [{ topic: DATA, partitions: [0] }],
    });
    expect(c.list([], [], -1n).transactions).toEqual([{ transactionalId: T1, producerId: p1.producerId, transactionState: 'Ongoing' }]);
    expect(c.verifyPartition(T1, p1.producerId, p1.producerEpoch, DATA, 0)).toBe(ErrorCode.NONE);
    await expectAllAnswer(c, T2, NOT_COORDINATOR, producers[T2]!);
    await expectAllAnswer(c, T3, NOT_COORDINATOR, producers[T3]!);
    expect(markers.written).toEqual([]);

    // The producer commits through the new coordinator: markers carry its coordinator epoch.
    expect(await c.endTxn(T1, p1.producerId, p1.producerEpoch, true)).toBe(ErrorCode.NONE);
    expect(markers.written).toEqual([{ topic: DATA, partition: 0, producerId: p1.producerId, producerEpoch: p1.producerEpoch, commit: true, coordinatorEpoch: 3 }]);
    expect(c.get(T1)?.state).toBe('CompleteCommit');
  });

  it('a transaction loaded in PrepareCommit is completed by markers after the election', async () => {
    const store = newStore();
    const producers = await writeState(store);
    const markers = new RecordingMarkers();
    const c = coordinator(txnLog(store), 'explicit', markers);
    c.onElection(Q2, 7);
    const p2 = producers[T2]!;
    expect(markers.written).toEqual([{ topic: DATA, partition: 1, producerId: p2.producerId, producerEpoch: p2.producerEpoch, commit: true, coordinatorEpoch: 7 }]);
    expect(c.get(T2)?.state).toBe('CompleteCommit');
    expect(await c.endTxn(T2, p2.producerId, p2.producerEpoch, true)).toBe(ErrorCode.NONE); // a retried EndTxn
    // CompleteCommit is durable: the next coordinator loads it and sends nothing.
    c.onResignation(Q2, 7);
    const next = new RecordingMarkers();
    const d = coordinator(txnLog(store), 'explicit', next);
    d.onElection(Q2, 8);
    expect(d.get(T2)?.state).toBe('CompleteCommit');
    expect(next.written).toEqual([]);
  });

  it('onResignation(p): its ids answer NOT_COORDINATOR again and leave ListTransactions; nothing is written', async () => {
    const store = newStore();
    const producers = await writeState(store);
    const c = coordinator(txnLog(store), 'explicit');
    c.onElection(Q1, 1);
    c.onElection(Q3, 1);
    expect(c.list([], [], -1n).transactions.map((t) => t.transactionalId).sort()).toEqual([T1, T3].sort());
    const ends = [Q1, Q2, Q3].map((q) => store.partition(TXN_TOPIC, q)!.logEndOffset);
    c.onResignation(Q1, 1);
    await expectAllAnswer(c, T1, NOT_COORDINATOR, producers[T1]!);
    expect(c.get(T1)).toBeUndefined();
    expect(c.list([], [], -1n).transactions.map((t) => t.transactionalId)).toEqual([T3]);
    expect([Q1, Q2, Q3].map((q) => store.partition(TXN_TOPIC, q)!.logEndOffset)).toEqual(ends);
    // A stale resignation (older epoch) of Q3 changes nothing; an older election of Q1 neither.
    c.onResignation(Q3, 0);
    expect(c.describe([T3])[0]!.errorCode).toBe(ErrorCode.NONE);
    c.onElection(Q1, 0);
    expect(c.describe([T1])[0]!.errorCode).toBe(NOT_COORDINATOR);
    c.onElection(Q1, 2);
    expect(c.describe([T1])[0]).toMatchObject({ errorCode: ErrorCode.NONE, transactionState: 'Ongoing' });
  });

  it('new transactional ids of an owned partition are served; of another, NOT_COORDINATOR', async () => {
    const store = newStore();
    await writeState(store);
    const c = coordinator(txnLog(store), 'explicit');
    c.onElection(Q1, 1);
    const [mine, theirs] = [0, 1].map((k) => {
      for (let n = 0; ; n++) {
        const id = `new-${k}-${n}`;
        if ((partitionForTxn(id, PARTITIONS) === Q1) === (k === 0)) return id;
      }
    }) as [string, string];
    expect((await c.initProducerId({ transactionalId: mine, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 })).errorCode).toBe(ErrorCode.NONE);
    expect((await c.initProducerId({ transactionalId: theirs, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 })).errorCode).toBe(NOT_COORDINATOR);
    // An idempotent producer (no transactional id) is served by any coordinator.
    expect((await c.initProducerId({ transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 })).errorCode).toBe(ErrorCode.NONE);
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS while a partition loads (ListTransactions too), NOT_COORDINATOR for the others', async () => {
    const store = newStore();
    const producers = await writeState(store);
    const log = txnLog(store);
    let c: TransactionCoordinator | undefined;
    const during: Array<Promise<unknown> | unknown> = [];
    const p1 = producers[T1]!;
    const persistence: TxnPersistence = {
      load: () => log.load(),
      partitionFor: (id) => log.partitionFor(id),
      store: (m: TxnMetadata) => log.store(m),
      remove: (id) => log.remove(id),
      unloadPartition: (p) => log.unloadPartition(p),
      loadPartition: (p) => {
        during.push(
          c!.initProducerId({ transactionalId: T1, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }).then((r) => r.errorCode),
          c!.endTxn(T1, p1.producerId, p1.producerEpoch, true),
          c!.describe([T1])[0]!.errorCode,
          c!.list([], [], -1n).errorCode,
          c!.verifyPartition(T1, p1.producerId, p1.producerEpoch, DATA, 0),
          c!.describe([T2])[0]!.errorCode,
        );
        return log.loadPartition(p);
      },
    };
    c = coordinator(persistence, 'explicit');
    c.onElection(Q1, 1);
    expect(await Promise.all(during)).toEqual([LOADING, LOADING, LOADING, LOADING, LOADING, NOT_COORDINATOR]);
    expect(c.list([], [], -1n).errorCode).toBeUndefined();
    expect(c.describe([T1])[0]!.transactionState).toBe('Ongoing');
  });

  it('a failed load leaves the partition unserved; a write refused with NOT_LEADER_OR_FOLLOWER answers NOT_COORDINATOR and changes nothing', async () => {
    const store = newStore();
    const producers = await writeState(store);
    const log = txnLog(store);
    let failLoad = true;
    let refuse = false;
    const persistence: TxnPersistence = {
      load: () => log.load(),
      partitionFor: (id) => log.partitionFor(id),
      store: (m: TxnMetadata) => {
        if (refuse) throw Object.assign(new Error('not the leader'), { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
        log.store(m);
      },
      remove: (id) => log.remove(id),
      loadPartition: (p) => {
        if (failLoad) throw new Error('EIO');
        return log.loadPartition(p);
      },
    };
    const c = coordinator(persistence, 'explicit');
    c.onElection(Q1, 1);
    await expectAllAnswer(c, T1, NOT_COORDINATOR, producers[T1]!);
    failLoad = false;
    c.onElection(Q1, 1);
    const p1 = producers[T1]!;
    refuse = true;
    expect((await c.addPartitions(T1, p1.producerId, p1.producerEpoch, [{ name: DATA, partitions: [2] }])).topics[0]!.partitions[0]!.errorCode).toBe(NOT_COORDINATOR);
    expect(await c.endTxn(T1, p1.producerId, p1.producerEpoch, false)).toBe(NOT_COORDINATOR);
    expect(c.describe([T1])[0]).toMatchObject({ transactionState: 'Ongoing', topics: [{ topic: DATA, partitions: [0] }] });
  });

  it("in 'all' mode (single node) everything is loaded at start and onElection/onResignation change nothing", async () => {
    const store = newStore();
    const producers = await writeState(store);
    const markers = new RecordingMarkers();
    const c = coordinator(txnLog(store), 'all', markers);
    // The PrepareCommit transaction is completed at start, as before, with coordinator epoch 0.
    expect(markers.written.map((m) => [m.producerId, m.commit, m.coordinatorEpoch])).toEqual([[producers[T2]!.producerId, true, 0]]);
    c.onResignation(Q1, 5);
    c.onElection(Q1, 5);
    expect(c.ownsPartition(Q1)).toBe(true);
    expect(c.list([], [], -1n).transactions.map((t) => t.transactionalId).sort()).toEqual([T1, T2, T3].sort());
  });

  it('explicit ownership needs a persistence that loads one partition', () => {
    const log = txnLog(newStore());
    const partial: TxnPersistence = { load: () => log.load(), store: () => {}, remove: () => {}, partitionFor: (id) => log.partitionFor(id) };
    expect(() => coordinator(partial, 'explicit')).toThrow(/loadPartition/);
  });
});

describe('TxnStateLog.loadPartition', () => {
  it('replays one partition only', async () => {
    const store = newStore();
    await writeState(store);
    const log = txnLog(store);
    expect(log.loadPartition(Q1).map((m) => [m.transactionalId, m.state])).toEqual([[T1, 'Ongoing']]);
    expect(log.loadPartition(Q2).map((m) => [m.transactionalId, m.state])).toEqual([[T2, 'PrepareCommit']]);
  });
});
