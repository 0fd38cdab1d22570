// The transaction coordinator with an asynchronous marker writer (issue 10: markers for partitions
// led by other brokers travel as WriteTxnMarkers). EndTxn is answered once Prepare* is durable;
// markers answered with a retriable error (or a failed request) are sent again after a back-off;
// Complete* is written only once every partition has its marker or is gone; meanwhile the
// transaction answers CONCURRENT_TRANSACTIONS without blocking its id's queue. Kafka:
// TransactionMarkerChannelManager / TransactionMarkerRequestCompletionHandler.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { randomUuid } from '../../protocol/primitives/uuid.js';
import { encodeRecordBatch } from '../../protocol/records/index.js';
import { ReplicaManager } from '../../src/cluster/replica-manager.js';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { BrokerConfig } from '../../src/config/config.js';
import { OFFSETS_TOPIC, partitionForGroup } from '../../src/group/offsets-log.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogStore } from '../../src/log/types.js';
import { TransactionCoordinator, markerOutcome } from '../../src/txn/coordinator.js';
import { MemoryProducerIds } from '../../src/txn/producer-ids.js';
import { TxnStateLog } from '../../src/txn/txn-log.js';
import type { MarkerWriter } from '../../src/txn/types.js';

const DATA = 'data';
let cleanups: Array<() => void> = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) c();
});

function ensureTopic(store: LogStore, name: string, partitions: number, configs: Record<string, string> = {}): void {
  if (store.getTopic(name) === undefined) store.createTopic({ name, topicId: randomUuid(), numPartitions: partitions, replicationFactor: 1, configs });
}

/**
 * An asynchronous writer: partition `topic-p` fails `failures.get('topic-p')` times (answering
 * `failWith`, or rejecting when it is 'reject') before its marker is written to the real replica
 * manager; partitions in `gone` answer UNKNOWN_TOPIC_OR_PARTITION. While `held`, answers wait
 * for release(). Every answer is logged in `events`.
 */
class FlakyMarkers implements MarkerWriter {
  readonly failures = new Map<string, number>();
  readonly gone = new Set<string>();
  failWith: number | 'reject' = ErrorCode.NOT_LEADER_OR_FOLLOWER;
  readonly events: string[] = [];
  readonly attempts = new Map<string, number>();
  held = false;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly replicas: ReplicaManager) {}

  writeTxnMarker(topic: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch: number): Promise<number> {
    const tp = `${topic}-${partition}`;
    this.attempts.set(tp, (this.attempts.get(tp) ?? 0) + 1);
    const answer = (): number => {
      if (this.gone.has(tp)) {
        this.events.push(`${tp} gone`);
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      }
      const left = this.failures.get(tp) ?? 0;
      if (left > 0) {
        this.failures.set(tp, left - 1);
        this.events.push(`${tp} failed`);
        if (this.failWith === 'reject') throw new Error('connection to broker 2 closed');
        return this.failWith;
      }
      const code = this.replicas.writeTxnMarker(topic, partition, producerId, producerEpoch, commit, coordinatorEpoch);
      this.events.push(`${tp} ${commit ? 'COMMIT' : 'ABORT'} ${code === ErrorCode.NONE ? 'written' : code}`);
      return code;
    };
    if (!this.held) return Promise.resolve().then(answer);
    return new Promise<number>((resolve, reject) =>
      this.waiting.push(() => {
        try {
          resolve(answer());
        } catch (err) {
          reject(err as Error);
        }
      }),
    );
  }

  release(): void {
    this.held = false;
    for (const w of this.waiting.splice(0)) w();
  }
}

function startNode() {
  const clock = new ManualClock();
  const store = createMemoryStore({ logConfig: DEFAULT_LOG_CONFIG, now: () => clock.now() });
  ensureTopic(store, DATA, 3);
  const replicas = new ReplicaManager(store, new BrokerConfig({}), clock);
  const txnLog = new TxnStateLog({
    store,
    topics: { get: (name) => store.getTopic(name), createInternal: (name, n, configs) => ensureTopic(store, name, n, configs) },
    numPartitions: 5,
    segmentBytes: 1 << 20,
    logger: { warn: () => {}, info: () => {} },
    now: () => clock.now(),
  });
  const markers = new FlakyMarkers(replicas);
  const c = new TransactionCoordinator({
    clock,
    logger: silentLogger(),
    persistence: txnLog,
    producerIds: new MemoryProducerIds(),
    markers,
    config: { transactionMaxTimeoutMs: 900_000, transactionalIdExpirationMs: 7 * 24 * 3600_000, abortTimedOutIntervalMs: 10_000, removeExpiredIntervalMs: 3600_000 },
    partitionExists: (topic, partition) => store.partition(topic, partition) !== undefined,
    offsetsPartition: (groupId) => {
      ensureTopic(store, OFFSETS_TOPIC, 5);
      return { topic: OFFSETS_TOPIC, partition: partitionForGroup(groupId, 5) };
    },
    markerRetryBackoffMs: 2,
    markerRetryBackoffMaxMs: 10,
  });
  replicas.setTxnVerifier((id, pid, epoch, topic, partition) => c.verifyPartition(id, pid, epoch, topic, partition));
  cleanups.push(() => {
    c.close();
    replicas.shutdown();
  });
  // Complete*/Prepare* writes join the event log, in order with the markers.
  const store_ = txnLog.store.bind(txnLog);
  vi.spyOn(txnLog, 'store').mockImplementation((m) => {
    markers.events.push(`store ${m.state}`);
    store_(m);
  });
  return { clock, store, replicas, txnLog, c, markers };
}

type Node = ReturnType<typeof startNode>;

async function init(c: TransactionCoordinator, id: string) {
  const r = await c.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  expect(r.errorCode).toBe(ErrorCode.NONE);
  return { id, pid: r.producerId, epoch: r.producerEpoch };
}

async function add(c: TransactionCoordinator, p: { id: string; pid: bigint; epoch: number }, partitions: number[]): Promise<number[]> {
  const r = await c.addPartitions(p.id, p.pid, p.epoch, [{ name: DATA, partitions }]);
  return r.topics.flatMap((t) => t.partitions.map((x) => x.errorCode));
}

/** A transactional batch of `p` on data-`partition` through the produce path (sequence 0). */
function produce(node: Node, p: { id: string; pid: bigint; epoch: number }, partition: number, seq = 0): number {
  const ts = BigInt(node.clock.now());
  return node.replicas.append(
    DATA,
    partition,
    encodeRecordBatch({ producerId: p.pid, producerEpoch: p.epoch, baseSequence: seq, isTransactional: true, baseTimestamp: ts, records: [{ key: null, value: Buffer.from('v'), timestamp: ts }] }),
    9,
    p.id,
  ).errorCode;
}

function lso(node: Node, partition: number): bigint {
  return node.replicas.lastStableOffset(node.store.partition(DATA, partition)!);
}

async function until(cond: () => boolean, what: string): Promise<void> {
  await vi.waitFor(() => {
    if (!cond()) throw new Error(`${what} not reached`);
  }, { timeout: 10_000, interval: 5 });
}

describe('markerOutcome (Kafka TransactionMarkerRequestCompletionHandler)', () => {
  it('retries leadership, replication, timeout and storage errors; is done on success, gone partitions and fencing', () => {
    for (const code of [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTION_COORDINATOR_FENCED, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, ErrorCode.UNSUPPORTED_VERSION]) {
      expect(markerOutcome(code)).toBe('done');
    }
    for (const code of [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.NETWORK_EXCEPTION]) {
      expect(markerOutcome(code)).toBe('retry');
    }
  });
});

describe('asynchronous transaction markers', () => {
  it('retries failed markers and writes CompleteCommit only after every marker; CONCURRENT_TRANSACTIONS meanwhile', async () => {
    const node = startNode();
    const { c, markers } = node;
    const p = await init(c, 'tx');
    expect(await add(c, p, [0, 1, 2])).toEqual([ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE]);
    for (const i of [0, 1, 2]) expect(produce(node, p, i)).toBe(ErrorCode.NONE);
    markers.failures.set(`${DATA}-0`, 3);
    markers.failures.set(`${DATA}-2`, 1);
    markers.held = true;
    markers.events.length = 0;

    // EndTxn is answered once PrepareCommit is durable, with every marker still in flight.
    expect(await c.endTxn('tx', p.pid, p.epoch, true)).toBe(ErrorCode.NONE);
    expect(markers.events).toEqual(['store PrepareCommit']);
    expect(c.get('tx')!.state).toBe('PrepareCommit');
    expect(c.markersInFlight('tx')).toBe(true);
    // The id's queue is not blocked by the markers: these are answered now.
    expect(await add(c, p, [1])).toEqual([ErrorCode.CONCURRENT_TRANSACTIONS]);
    expect(await c.addOffsets('tx', p.pid, p.epoch, 'g')).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect((await c.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 })).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(await c.endTxn('tx', p.pid, p.epoch, true)).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    // The periodic check does not start a second round while one is in flight.
    await c.abortTimedOutTransactions();
    expect([...markers.attempts.values()]).toEqual([1, 1, 1]);
    for (const i of [0, 1, 2]) expect(lso(node, i)).toBe(0n);

    markers.release();
    await until(() => c.get('tx')!.state === 'CompleteCommit', 'CompleteCommit');
    expect(markers.attempts.get(`${DATA}-0`)).toBe(4);
    expect(markers.attempts.get(`${DATA}-1`)).toBe(1);
    expect(markers.attempts.get(`${DATA}-2`)).toBe(2);
    // CompleteCommit is the last thing written, after the three markers.
    const written = markers.events.filter((e) => e.endsWith('written') || e.startsWith('store'));
    expect(written.at(-1)).toBe('store CompleteCommit');
    expect(written.slice(0, -1).sort()).toEqual([`${DATA}-0 COMMIT written`, `${DATA}-1 COMMIT written`, `${DATA}-2 COMMIT written`, 'store PrepareCommit'].sort());
    expect(markers.events.filter((e) => e === 'store CompleteCommit')).toHaveLength(1);
    for (const i of [0, 1, 2]) expect(lso(node, i)).toBe(2n); // the record and the marker
    expect(c.markersInFlight('tx')).toBe(false);
    // The next transaction goes ahead.
    expect(await add(c, p, [1])).toEqual([ErrorCode.NONE]);
  });

  it('retries a rejected request (connection error) the same way', async () => {
    const node = startNode();
    const { c, markers } = node;
    markers.failWith = 'reject';
    const p = await init(c, 'tx');
    await add(c, p, [0, 1]);
    markers.failures.set(`${DATA}-1`, 2);
    expect(await c.endTxn('tx', p.pid, p.epoch, false)).toBe(ErrorCode.NONE);
    await until(() => c.get('tx')!.state === 'CompleteAbort', 'CompleteAbort');
    expect(markers.attempts.get(`${DATA}-1`)).toBe(3);
    expect(markers.events.at(-1)).toBe('store CompleteAbort');
  });

  it('drops a partition that is gone (UNKNOWN_TOPIC_OR_PARTITION) and completes with the others', async () => {
    const node = startNode();
    const { c, markers } = node;
    const p = await init(c, 'tx');
    await add(c, p, [0, 1]);
    markers.gone.add(`${DATA}-1`);
    markers.failures.set(`${DATA}-0`, 1);
    expect(await c.endTxn('tx', p.pid, p.epoch, true)).toBe(ErrorCode.NONE);
    await until(() => c.get('tx')!.state === 'CompleteCommit', 'CompleteCommit');
    expect(markers.attempts.get(`${DATA}-1`)).toBe(1);
    expect(markers.attempts.get(`${DATA}-0`)).toBe(2);
    expect(c.get('tx')!.partitions.size).toBe(0);
  });

  it('close() stops the retries (no Complete* written afterwards)', async () => {
    const node = startNode();
    const { c, markers } = node;
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    markers.failures.set(`${DATA}-0`, 1_000_000);
    expect(await c.endTxn('tx', p.pid, p.epoch, true)).toBe(ErrorCode.NONE);
    await until(() => (markers.attempts.get(`${DATA}-0`) ?? 0) >= 3, 'three attempts');
    c.close();
    const n = markers.attempts.get(`${DATA}-0`)!;
    await new Promise((r) => setTimeout(r, 50));
    expect(markers.attempts.get(`${DATA}-0`)! - n).toBeLessThanOrEqual(1); // at most one already under way
    expect(c.get('tx')!.state).toBe('PrepareCommit');
  });
});
