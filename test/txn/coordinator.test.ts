// TransactionCoordinator (Kafka's TransactionCoordinator state machine, single node) driven by a
// ManualClock: InitProducerId (KIP-360, epoch exhaustion, zombie fencing), AddPartitionsToTxn /
// AddOffsetsToTxn / EndTxn state table, KIP-890 verification, timeouts, transactional.id
// expiration, and durability across restarts and kill -9 on both stores. Markers go through a
// real ReplicaManager wherever the partitions' producer state / LSO matter, or through a recording
// fake for the pure state machine. Reference: /work/notes/kafka-txn.md sections 3-5 and 10.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { randomUuid } from '../../protocol/primitives/uuid.js';
import { decodeRecordBatch, encodeRecordBatch, readBatchHeader, readTxnMarker } from '../../protocol/records/index.js';
import { ReplicaManager, READ_COMMITTED } from '../../src/cluster/replica-manager.js';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { BrokerConfig } from '../../src/config/config.js';
import { OFFSETS_TOPIC, partitionForGroup } from '../../src/group/offsets-log.js';
import { openFileStore } from '../../src/log/file-store.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogStore, type PartitionLog } from '../../src/log/types.js';
import { TransactionCoordinator, type AddPartitionsResult, type TxnCoordinatorConfig } from '../../src/txn/coordinator.js';
import { FileProducerIds, MemoryProducerIds, type ProducerIdManager } from '../../src/txn/producer-ids.js';
import { TXN_TOPIC, TxnStateLog } from '../../src/txn/txn-log.js';
import type { MarkerWriter, TxnMetadata } from '../../src/txn/types.js';

// ---------------------------------------------------------------------------------------------
// fixtures

const DATA = 'data';
const TXN_PARTITIONS = 5;
const OFFSETS_PARTITIONS = 5;
const TIMEOUT = 60_000;
const MAX_TIMEOUT = 900_000;
const ABORT_INTERVAL = 10_000;
const EXPIRATION = 7 * 24 * 3600_000;
const REMOVE_INTERVAL = 3600_000;

const DEFAULT_CONFIG: TxnCoordinatorConfig = {
  transactionMaxTimeoutMs: MAX_TIMEOUT,
  transactionalIdExpirationMs: EXPIRATION,
  abortTimedOutIntervalMs: ABORT_INTERVAL,
  removeExpiredIntervalMs: REMOVE_INTERVAL,
};

let cleanups: Array<() => void> = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch {
      // best effort
    }
  }
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-txn-coord-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A store that can be restarted cleanly or "killed" (file store: reopened without close()). */
interface StoreHarness {
  kind: 'memory' | 'file';
  open(clock: ManualClock): LogStore;
  /** Stops the current store: `crash` abandons it without flush/close (kill -9). */
  stop(store: LogStore, how: 'clean' | 'crash'): void;
  producerIds(): ProducerIdManager;
}

function memoryHarness(): StoreHarness {
  let store: LogStore | undefined;
  const ids = new MemoryProducerIds();
  return {
    kind: 'memory',
    open: (clock) => {
      if (store === undefined) {
        const s = createMemoryStore({ logConfig: DEFAULT_LOG_CONFIG, now: () => clock.now() });
        cleanups.push(() => s.close());
        store = s;
      }
      return store;
    },
    // The memory store lives as long as the process: a restart keeps it.
    stop: () => {},
    producerIds: () => ids,
  };
}

function fileHarness(): StoreHarness {
  const dir = tmpDir();
  const abandoned: LogStore[] = [];
  cleanups.push(() => {
    for (const s of abandoned) s.close(); // release the killed process's fds at the very end
  });
  return {
    kind: 'file',
    open: (clock) => {
      const s = openFileStore(dir, { logConfig: DEFAULT_LOG_CONFIG, now: () => clock.now() });
      cleanups.push(() => s.close());
      return s;
    },
    stop: (store, how) => {
      if (how === 'clean') {
        store.flush();
        store.close();
      } else {
        // kill -9 after the answers: what was acknowledged is in the files (the page cache).
        store.flush();
        abandoned.push(store);
      }
    },
    producerIds: () => new FileProducerIds(dir),
  };
}

const HARNESSES = [
  ['memory', memoryHarness],
  ['file', fileHarness],
] as const;

/** Records markers; can be told to fail (throw, as a disk error) or answer an error code. */
class RecordingMarkers implements MarkerWriter {
  readonly calls: Array<{ topic: string; partition: number; producerId: bigint; producerEpoch: number; commit: boolean; coordinatorEpoch: number }> = [];
  failing = false;

  writeTxnMarker(topic: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch: number): number {
    if (this.failing) throw new Error('disk error');
    this.calls.push({ topic, partition, producerId, producerEpoch, commit, coordinatorEpoch });
    return ErrorCode.NONE;
  }

  take(): string[] {
    return this.calls.splice(0).map((c) => `${c.commit ? 'COMMIT' : 'ABORT'} ${c.topic}-${c.partition} pid=${c.producerId} epoch=${c.producerEpoch} ce=${c.coordinatorEpoch}`);
  }
}

interface Node {
  clock: ManualClock;
  store: LogStore;
  replicas: ReplicaManager;
  txnLog: TxnStateLog;
  c: TransactionCoordinator;
  /** Stops timers (the coordinator and replica manager) without writing anything. */
  halt(): void;
}

interface NodeOptions {
  clock?: ManualClock;
  harness?: StoreHarness;
  config?: Partial<TxnCoordinatorConfig>;
  /** A fake marker writer instead of the ReplicaManager. */
  markers?: MarkerWriter;
  /** segment.bytes of __transaction_state (small: the log cleaner has inactive segments to clean). */
  txnSegmentBytes?: number;
  offsetsPartition?: (groupId: string) => { topic: string; partition: number };
}

function ensureTopic(store: LogStore, name: string, partitions: number, configs: Record<string, string> = {}): void {
  if (store.getTopic(name) === undefined) store.createTopic({ name, topicId: randomUuid(), numPartitions: partitions, replicationFactor: 1, configs });
}

function startNode(o: NodeOptions = {}): Node & { harness: StoreHarness } {
  const clock = o.clock ?? new ManualClock();
  const harness = o.harness ?? memoryHarness();
  const store = harness.open(clock);
  ensureTopic(store, DATA, 3);
  const replicas = new ReplicaManager(store, new BrokerConfig({}), clock);
  const txnLog = new TxnStateLog({
    store,
    topics: {
      get: (name) => store.getTopic(name),
      createInternal: (name, numPartitions, configs) => ensureTopic(store, name, numPartitions, configs),
    },
    numPartitions: TXN_PARTITIONS,
    segmentBytes: o.txnSegmentBytes ?? 1 << 20,
    logger: { warn: () => {}, info: () => {} },
    now: () => clock.now(),
  });
  const c = new TransactionCoordinator({
    clock,
    logger: silentLogger(),
    persistence: txnLog,
    producerIds: harness.producerIds(),
    markers: o.markers ?? replicas,
    config: { ...DEFAULT_CONFIG, ...o.config },
    partitionExists: (topic, partition) => store.partition(topic, partition) !== undefined,
    offsetsPartition:
      o.offsetsPartition ??
      ((groupId) => {
        ensureTopic(store, OFFSETS_TOPIC, OFFSETS_PARTITIONS);
        return { topic: OFFSETS_TOPIC, partition: partitionForGroup(groupId, OFFSETS_PARTITIONS) };
      }),
  });
  replicas.setTxnVerifier((id, pid, epoch, topic, partition) => c.verifyPartition(id, pid, epoch, topic, partition));
  const halt = (): void => {
    c.close();
    replicas.shutdown();
  };
  cleanups.push(halt);
  return { clock, store, replicas, txnLog, c, halt, harness };
}

/** Stops `node` (cleanly or as kill -9) and starts a new one over the same data. */
function restart(node: Node & { harness: StoreHarness }, how: 'clean' | 'crash', o: NodeOptions = {}): Node & { harness: StoreHarness } {
  node.halt();
  node.harness.stop(node.store, how);
  return startNode({ ...o, clock: node.clock, harness: node.harness });
}

/** Lets promise callbacks (timer rescheduling) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

/** Advances the clock in steps of `step`, letting the coordinator's timers reschedule between. */
async function tick(clock: ManualClock, ms: number, step = ms): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done));
    await settle();
  }
}

interface Producer {
  id: string;
  pid: bigint;
  epoch: number;
  /** Next sequence per data partition. */
  seq: Map<number, number>;
}

async function init(c: TransactionCoordinator, id: string, timeoutMs = TIMEOUT): Promise<Producer> {
  const r = await c.initProducerId({ transactionalId: id, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 });
  expect(r.errorCode).toBe(ErrorCode.NONE);
  return { id, pid: r.producerId, epoch: r.producerEpoch, seq: new Map() };
}

function initWith(c: TransactionCoordinator, id: string | null, producerId = -1n, producerEpoch = -1, timeoutMs = TIMEOUT) {
  return c.initProducerId({ transactionalId: id, transactionTimeoutMs: timeoutMs, producerId, producerEpoch });
}

/** Every partition error code of an AddPartitions/verify result, flattened. */
function codes(r: AddPartitionsResult): number[] {
  return r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

async function add(c: TransactionCoordinator, p: Pick<Producer, 'id' | 'pid' | 'epoch'>, partitions: number[], topic = DATA): Promise<number> {
  const all = codes(await c.addPartitions(p.id, p.pid, p.epoch, [{ name: topic, partitions }]));
  expect(new Set(all).size).toBe(1);
  return all[0]!;
}

function end(c: TransactionCoordinator, p: Pick<Producer, 'id' | 'pid' | 'epoch'>, commit: boolean): Promise<number> {
  return c.endTxn(p.id, p.pid, p.epoch, commit);
}

/** Appends a transactional batch of `p` to data-`partition` through the produce path. */
function produce(node: Node, p: Producer, partition: number, values = ['v'], o: { epoch?: number; version?: number } = {}) {
  const seq = p.seq.get(partition) ?? 0;
  const ts = BigInt(node.clock.now());
  const r = node.replicas.append(
    DATA,
    partition,
    encodeRecordBatch({
      producerId: p.pid,
      producerEpoch: o.epoch ?? p.epoch,
      baseSequence: seq,
      isTransactional: true,
      baseTimestamp: ts,
      records: values.map((v) => ({ key: null, value: Buffer.from(v), timestamp: ts })),
    }),
    o.version ?? 9,
    p.id,
  );
  if (r.errorCode === ErrorCode.NONE) p.seq.set(partition, seq + values.length);
  return r;
}

function part(node: Node, partition: number, topic = DATA): PartitionLog {
  return node.store.partition(topic, partition)!;
}

/** The batches of a partition, as (offset, producer, marker) summaries. */
function batches(log: PartitionLog): Array<{ offset: bigint; pid: bigint; epoch: number; control: boolean; marker?: 'COMMIT' | 'ABORT' }> {
  const out: Array<{ offset: bigint; pid: bigint; epoch: number; control: boolean; marker?: 'COMMIT' | 'ABORT' }> = [];
  let next = log.logStartOffset;
  while (next < log.logEndOffset) {
    const { chunks } = log.read(next, 1 << 20, true);
    if (chunks.length === 0) break;
    for (const chunk of chunks) {
      const h = readBatchHeader(chunk);
      const m = readTxnMarker(chunk);
      out.push({ offset: h.baseOffset, pid: h.producerId, epoch: h.producerEpoch, control: h.isControl, ...(m ? { marker: m.commit ? 'COMMIT' : 'ABORT' } : {}) });
      next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
    }
  }
  return out;
}

function lastBatch(log: PartitionLog) {
  return batches(log).at(-1)!;
}

function producerOf(log: PartitionLog, pid: bigint) {
  return log.producerState.describe().find((p) => p.producerId === pid);
}

/** A metadata view for comparisons across restarts (lastProducerEpoch is in memory only, as Kafka). */
function view(m: TxnMetadata | undefined) {
  if (m === undefined) return undefined;
  return {
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    txnTimeoutMs: m.txnTimeoutMs,
    state: m.state,
    partitions: [...m.partitions].map(([t, s]) => [t, [...s].sort((a, b) => a - b)] as const).sort((a, b) => a[0].localeCompare(b[0])),
    txnStartTimestamp: m.txnStartTimestamp,
    txnLastUpdateTimestamp: m.txnLastUpdateTimestamp,
  };
}

function meta(id: string, o: Partial<TxnMetadata>, now: number): TxnMetadata {
  return {
    transactionalId: id,
    producerId: 900n,
    previousProducerId: -1n,
    producerEpoch: 0,
    lastProducerEpoch: -1,
    txnTimeoutMs: TIMEOUT,
    state: 'Empty',
    partitions: new Map(),
    txnStartTimestamp: -1,
    txnLastUpdateTimestamp: now,
    ...o,
  };
}

/** Writes a transactional id's state straight into __transaction_state (before a coordinator loads it). */
function seed(harness: StoreHarness, clock: ManualClock, m: TxnMetadata): void {
  const n = startNode({ harness, clock });
  n.txnLog.store(m);
  n.halt();
}

// ---------------------------------------------------------------------------------------------
// InitProducerId

describe('InitProducerId', () => {
  it('gives a new transactional id a fresh producer id at epoch 0, state Empty, written to the log', async () => {
    const { c, store, txnLog, clock } = startNode({ markers: new RecordingMarkers() });
    const r = await initWith(c, 'tx-a');
    expect(r).toEqual({ errorCode: ErrorCode.NONE, producerId: r.producerId, producerEpoch: 0 });
    expect(r.producerId).toBeGreaterThanOrEqual(0n);
    expect(view(c.get('tx-a'))).toEqual({
      producerId: r.producerId,
      producerEpoch: 0,
      txnTimeoutMs: TIMEOUT,
      state: 'Empty',
      partitions: [],
      txnStartTimestamp: -1,
      txnLastUpdateTimestamp: clock.now(),
    });
    expect(store.partition(TXN_TOPIC, txnLog.partitionFor('tx-a'))!.logEndOffset).toBe(1n);
    expect(c.describe(['tx-a'])[0]).toMatchObject({ errorCode: ErrorCode.NONE, transactionState: 'Empty', transactionStartTimeMs: -1n, producerEpoch: 0, topics: [] });
  });

  it('bumps the epoch on every re-init of the same id, keeping the producer id and taking the new timeout', async () => {
    const { c } = startNode({ markers: new RecordingMarkers() });
    const first = await init(c, 'tx');
    const second = await init(c, 'tx', 30_000);
    const third = await init(c, 'tx', 45_000);
    expect([first.epoch, second.epoch, third.epoch]).toEqual([0, 1, 2]);
    expect(new Set([first.pid, second.pid, third.pid]).size).toBe(1);
    expect(c.get('tx')!.txnTimeoutMs).toBe(45_000);
    // Another transactional id gets another producer id.
    expect((await init(c, 'other')).pid).not.toBe(first.pid);
  });

  it('gives idempotent producers (null id) unique ids at epoch 0, ignoring the timeout and keeping no state', async () => {
    const { c, store } = startNode({ markers: new RecordingMarkers() });
    const tx = await init(c, 'tx');
    const seen = new Set<bigint>([tx.pid]);
    for (let i = 0; i < 50; i++) {
      // Java sends Integer.MAX_VALUE as the timeout with a null id; KIP-360 fields are ignored too.
      const r = await initWith(c, null, i % 2 === 0 ? -1n : 5n, i % 2 === 0 ? -1 : 3, 2147483647);
      expect(r.errorCode).toBe(ErrorCode.NONE);
      expect(r.producerEpoch).toBe(0);
      expect(seen.has(r.producerId)).toBe(false);
      seen.add(r.producerId);
    }
    expect(c.list([], [], -1n).transactions.map((t) => t.transactionalId)).toEqual(['tx']);
    let records = 0n;
    for (let p = 0; p < TXN_PARTITIONS; p++) records += store.partition(TXN_TOPIC, p)?.logEndOffset ?? 0n;
    expect(records).toBe(1n);
  });

  it('validates transaction.timeout.ms against transaction.max.timeout.ms, and the request fields', async () => {
    const { c } = startNode({ markers: new RecordingMarkers() });
    const bad = { errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT, producerId: -1n, producerEpoch: -1 };
    expect(await initWith(c, 'tx', -1n, -1, 0)).toEqual(bad);
    expect(await initWith(c, 'tx', -1n, -1, -5)).toEqual(bad);
    expect(await initWith(c, 'tx', -1n, -1, MAX_TIMEOUT + 1)).toEqual(bad);
    expect(c.get('tx')).toBeUndefined(); // nothing allocated or written
    expect((await initWith(c, 'tx', -1n, -1, MAX_TIMEOUT)).errorCode).toBe(ErrorCode.NONE);
    expect((await initWith(c, 'tx', -1n, -1, 1)).errorCode).toBe(ErrorCode.NONE);
    // Empty transactional id; only one of producer id / epoch given.
    expect(await initWith(c, '')).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n, producerEpoch: -1 });
    expect((await initWith(c, 'tx', 5n, -1)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await initWith(c, 'tx', -1n, 3)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    // A smaller configured maximum.
    const small = startNode({ markers: new RecordingMarkers(), config: { transactionMaxTimeoutMs: 1000 } });
    expect((await initWith(small.c, 'tx', -1n, -1, 1001)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    expect((await initWith(small.c, 'tx', -1n, -1, 1000)).errorCode).toBe(ErrorCode.NONE);
  });

  it('KIP-360: a matching expected pid/epoch bumps; a retry of that bump gets the same epoch; anything else is PRODUCER_FENCED', async () => {
    const { c } = startNode({ markers: new RecordingMarkers() });
    const p = await init(c, 'tx'); // epoch 0
    await init(c, 'tx'); // epoch 1
    const bumped = await initWith(c, 'tx', p.pid, 1);
    expect(bumped).toEqual({ errorCode: ErrorCode.NONE, producerId: p.pid, producerEpoch: 2 });
    expect(c.get('tx')!.lastProducerEpoch).toBe(1);
    // The response was lost; the producer retries the same request: same answer, no second bump.
    expect(await initWith(c, 'tx', p.pid, 1)).toEqual(bumped);
    expect(await initWith(c, 'tx', p.pid, 1)).toEqual(bumped);
    // An epoch that is neither the current nor the one before the last bump: a zombie.
    expect(await initWith(c, 'tx', p.pid, 0)).toEqual({ errorCode: ErrorCode.PRODUCER_FENCED, producerId: -1n, producerEpoch: -1 });
    expect(await initWith(c, 'tx', p.pid, 7)).toEqual({ errorCode: ErrorCode.PRODUCER_FENCED, producerId: -1n, producerEpoch: -1 });
    // Another producer id than the current one.
    expect((await initWith(c, 'tx', p.pid + 100n, 2)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect(c.get('tx')!.producerEpoch).toBe(2);
    // The current epoch bumps again.
    expect(await initWith(c, 'tx', p.pid, 2)).toEqual({ errorCode: ErrorCode.NONE, producerId: p.pid, producerEpoch: 3 });
    // A plain re-init (no expected) resets lastProducerEpoch: the old epoch's retry is then fenced.
    expect((await init(c, 'tx')).epoch).toBe(4);
    expect((await initWith(c, 'tx', p.pid, 2)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  });

  it('KIP-360 on an unknown transactional id: the expected pid/epoch is accepted and a fresh id starts at epoch 0', async () => {
    const { c } = startNode({ markers: new RecordingMarkers() });
    const r = await initWith(c, 'fresh', 4242n, 17);
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.producerEpoch).toBe(0);
    expect(r.producerId).not.toBe(4242n);
  });

  it('an exhausted epoch (32766) rotates to a new producer id at epoch 0', async () => {
    const h = memoryHarness();
    const clock = new ManualClock();
    seed(h, clock, meta('tx', { producerId: 777n, producerEpoch: 32765 }, clock.now()));
    const { c } = startNode({ harness: h, clock, markers: new RecordingMarkers() });
    expect(await initWith(c, 'tx')).toEqual({ errorCode: ErrorCode.NONE, producerId: 777n, producerEpoch: 32766 });
    const rotated = await initWith(c, 'tx');
    expect(rotated.errorCode).toBe(ErrorCode.NONE);
    expect(rotated.producerEpoch).toBe(0);
    expect(rotated.producerId).not.toBe(777n);
    expect(c.get('tx')).toMatchObject({ producerId: rotated.producerId, previousProducerId: 777n, producerEpoch: 0, lastProducerEpoch: -1, state: 'Empty' });
    expect((await initWith(c, 'tx')).producerEpoch).toBe(1);
  });

  it('KIP-360 at an exhausted epoch: rotates, a retry from the old producer id gets the same new id, an older epoch is fenced', async () => {
    const h = memoryHarness();
    const clock = new ManualClock();
    seed(h, clock, meta('tx', { producerId: 777n, producerEpoch: 32766 }, clock.now()));
    const { c } = startNode({ harness: h, clock, markers: new RecordingMarkers() });
    const rotated = await initWith(c, 'tx', 777n, 32766);
    expect(rotated.errorCode).toBe(ErrorCode.NONE);
    expect(rotated.producerEpoch).toBe(0);
    expect(rotated.producerId).not.toBe(777n);
    expect(c.get('tx')).toMatchObject({ previousProducerId: 777n, lastProducerEpoch: 32766 });
    expect(await initWith(c, 'tx', 777n, 32766)).toEqual(rotated); // the lost response's retry
    expect((await initWith(c, 'tx', 777n, 32765)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    // The new id's current epoch bumps normally.
    expect(await initWith(c, 'tx', rotated.producerId, 0)).toEqual({ errorCode: ErrorCode.NONE, producerId: rotated.producerId, producerEpoch: 1 });
  });

  it('an Ongoing transaction is fenced (epoch + 1), aborted with markers, and answered CONCURRENT_TRANSACTIONS; the retry gets epoch + 2', async () => {
    const node = startNode();
    const { c } = node;
    const zombie = await init(c, 'tx');
    expect(await add(c, zombie, [0, 1])).toBe(ErrorCode.NONE);
    expect(produce(node, zombie, 0, ['a', 'b']).errorCode).toBe(ErrorCode.NONE);
    expect(produce(node, zombie, 1, ['c']).errorCode).toBe(ErrorCode.NONE);
    expect(node.replicas.lastStableOffset(part(node, 0))).toBe(0n);

    expect(await initWith(c, 'tx')).toEqual({ errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, producerId: -1n, producerEpoch: -1 });
    expect(c.get('tx')).toMatchObject({ producerId: zombie.pid, producerEpoch: zombie.epoch + 1, state: 'CompleteAbort', lastProducerEpoch: -1 });
    expect(c.get('tx')!.partitions.size).toBe(0);
    for (const p of [0, 1]) {
      const log = part(node, p);
      expect(lastBatch(log)).toMatchObject({ pid: zombie.pid, epoch: zombie.epoch + 1, control: true, marker: 'ABORT' });
      expect(node.replicas.lastStableOffset(log)).toBe(log.logEndOffset);
      expect(producerOf(log, zombie.pid)).toMatchObject({ producerEpoch: zombie.epoch + 1, currentTxnStartOffset: -1n, coordinatorEpoch: 0 });
      expect(log.producerState.abortedTransactions(0n, log.logEndOffset)).toEqual([{ producerId: zombie.pid, firstOffset: 0n }]);
    }
    expect(part(node, 2).logEndOffset).toBe(0n); // not in the transaction: no marker
    // The zombie is fenced everywhere.
    expect(await add(c, zombie, [2])).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await end(c, zombie, true)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(produce(node, zombie, 0, ['late']).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    // The new producer's retry.
    const fresh = await init(c, 'tx');
    expect(fresh).toMatchObject({ pid: zombie.pid, epoch: zombie.epoch + 2 });
    expect(await add(c, fresh, [0])).toBe(ErrorCode.NONE);
    expect(produce(node, fresh, 0, ['new']).errorCode).toBe(ErrorCode.NONE);
    expect(await end(c, fresh, true)).toBe(ErrorCode.NONE);
    expect(lastBatch(part(node, 0))).toMatchObject({ pid: zombie.pid, epoch: zombie.epoch + 2, marker: 'COMMIT' });
  });

  it('KIP-360 on an Ongoing transaction: the current producer id fences and aborts it (the epoch is not compared); another id is PRODUCER_FENCED', async () => {
    const markers = new RecordingMarkers();
    const { c } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [2]);
    expect((await initWith(c, 'tx', p.pid + 1n, p.epoch)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect(c.get('tx')).toMatchObject({ state: 'Ongoing', producerEpoch: p.epoch });
    expect(markers.calls).toEqual([]);
    // Kafka's isValidProducerId only matches the producer id; Ongoing then fences whatever the epoch.
    expect((await initWith(c, 'tx', p.pid, p.epoch + 5)).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(markers.take()).toEqual([`ABORT ${DATA}-2 pid=${p.pid} epoch=1 ce=0`]);
    expect(c.get('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1, lastProducerEpoch: -1 });
    // The retry with the epoch it had: neither current (1) nor lastProducerEpoch (-1) -> fenced.
    expect((await initWith(c, 'tx', p.pid, p.epoch)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect((await initWith(c, 'tx', p.pid, 1)).producerEpoch).toBe(2);
  });

  it('fencing an Ongoing transaction at epoch 32766 uses 32767; the retry rotates the producer id', async () => {
    const h = memoryHarness();
    const clock = new ManualClock();
    seed(h, clock, meta('tx', { producerId: 777n, producerEpoch: 32765 }, clock.now()));
    const markers = new RecordingMarkers();
    const { c } = startNode({ harness: h, clock, markers });
    const p = await init(c, 'tx');
    expect(p.epoch).toBe(32766);
    await add(c, p, [0]);
    expect((await initWith(c, 'tx')).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(markers.take()).toEqual([`ABORT ${DATA}-0 pid=777 epoch=32767 ce=0`]);
    const next = await initWith(c, 'tx');
    expect(next.errorCode).toBe(ErrorCode.NONE);
    expect(next.producerEpoch).toBe(0);
    expect(next.producerId).not.toBe(777n);
  });

  it('answers CONCURRENT_TRANSACTIONS while a transaction is PrepareCommit/PrepareAbort (markers not yet written)', async () => {
    const markers = new RecordingMarkers();
    const { c } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    markers.failing = true;
    expect(await end(c, p, true)).toBe(ErrorCode.NONE); // PrepareCommit is durable: the decision is made
    expect(c.get('tx')!.state).toBe('PrepareCommit');
    expect((await initWith(c, 'tx')).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect((await initWith(c, 'tx', p.pid, p.epoch)).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(c.get('tx')).toMatchObject({ state: 'PrepareCommit', producerEpoch: p.epoch });
    markers.failing = false;
    await c.abortTimedOutTransactions(); // the periodic check retries the markers
    expect(c.get('tx')!.state).toBe('CompleteCommit');
    expect((await initWith(c, 'tx')).producerEpoch).toBe(p.epoch + 1);
  });

  it('a failed log write leaves the state as it was and the next attempt succeeds', async () => {
    const { c, txnLog } = startNode({ markers: new RecordingMarkers() });
    const p = await init(c, 'tx');
    const before = view(c.get('tx'));
    vi.spyOn(txnLog, 'store').mockImplementationOnce(() => {
      throw new Error('disk full');
    });
    expect(await initWith(c, 'tx')).toEqual({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 });
    expect(view(c.get('tx'))).toEqual(before);
    vi.spyOn(txnLog, 'store').mockImplementationOnce(() => {
      throw new Error('disk full');
    });
    expect(await add(c, p, [0])).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(view(c.get('tx'))).toEqual(before);
    expect((await init(c, 'tx')).epoch).toBe(1);
  });

  // Kafka (TransactionMetadata.prepareFenceProducerEpoch / hasFailedEpochFence; notes §4 "Ongoing ->
  // fence: epoch+1 (not bumped again if a previous fence write failed)"): when the PrepareAbort write
  // of a fence fails, the transaction stays Ongoing (with the bumped epoch remembered) and the next
  // InitProducerId fences and aborts it again. Brook leaves the in-memory state at PrepareEpochFence
  // (transition() installs it before the PrepareAbort write), and every later InitProducerId is
  // INVALID_TXN_STATE until the broker restarts.
  it('a failed fence write (InitProducerId on Ongoing) is retried by the next InitProducerId', async () => {
    const markers = new RecordingMarkers();
    const { c, txnLog } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    vi.spyOn(txnLog, 'store').mockImplementationOnce(() => {
      throw new Error('disk full');
    });
    expect((await initWith(c, 'tx')).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(markers.calls).toEqual([]);
    // The client retries InitProducerId: the fence is attempted again.
    expect((await initWith(c, 'tx')).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(markers.take()).toEqual([`ABORT ${DATA}-0 pid=${p.pid} epoch=${p.epoch + 1} ce=0`]);
    expect((await initWith(c, 'tx')).producerEpoch).toBe(p.epoch + 2);
  });
});

// ---------------------------------------------------------------------------------------------
// AddPartitionsToTxn / AddOffsetsToTxn

describe('AddPartitionsToTxn / AddOffsetsToTxn', () => {
  it('starts a transaction (Empty -> Ongoing) with the start time; more partitions keep it; known ones write nothing', async () => {
    const { c, clock, txnLog } = startNode({ markers: new RecordingMarkers() });
    const p = await init(c, 'tx');
    const start = clock.now() + 5;
    clock.advance(5);
    expect(await add(c, p, [1, 0])).toBe(ErrorCode.NONE);
    expect(view(c.get('tx'))).toMatchObject({ state: 'Ongoing', partitions: [[DATA, [0, 1]]], txnStartTimestamp: start, txnLastUpdateTimestamp: start });
    const stores = vi.spyOn(txnLog, 'store');
    clock.advance(5);
    expect(await add(c, p, [0, 1])).toBe(ErrorCode.NONE);
    expect(await add(c, p, [1])).toBe(ErrorCode.NONE);
    expect(stores).not.toHaveBeenCalled(); // nothing new: no write
    expect(c.get('tx')!.txnLastUpdateTimestamp).toBe(start);
    expect(await add(c, p, [1, 2])).toBe(ErrorCode.NONE);
    expect(stores).toHaveBeenCalledTimes(1);
    expect(view(c.get('tx'))).toMatchObject({ state: 'Ongoing', partitions: [[DATA, [0, 1, 2]]], txnStartTimestamp: start, txnLastUpdateTimestamp: start + 5 });
    expect(c.describe(['tx'])[0]).toMatchObject({ transactionState: 'Ongoing', transactionStartTimeMs: BigInt(start), topics: [{ topic: DATA, partitions: [0, 1, 2] }] });
  });

  it('refuses unknown partitions (the others OPERATION_NOT_ATTEMPTED) and adds nothing', async () => {
    const { c } = startNode({ markers: new RecordingMarkers() });
    const p = await init(c, 'tx');
    const r = await c.addPartitions('tx', p.pid, p.epoch, [
      { name: DATA, partitions: [0, 7] },
      { name: 'nope', partitions: [0] },
    ]);
    expect(r.topics).toEqual([
      {
        name: DATA,
        partitions: [
          { partitionIndex: 0, errorCode: ErrorCode.OPERATION_NOT_ATTEMPTED },
          { partitionIndex: 7, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
        ],
      },
      { name: 'nope', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
    ]);
    expect(c.get('tx')!.state).toBe('Empty');
  });

  it('maps id, producer id and epoch errors like Kafka (one error for every partition)', async () => {
    const { c } = startNode({ markers: new RecordingMarkers() });
    const p = await init(c, 'tx');
    await init(c, 'tx'); // epoch 1
    const cur = { ...p, epoch: 1 };
    expect(await add(c, { ...cur, id: 'unknown' }, [0])).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(await add(c, { ...cur, pid: cur.pid + 1n }, [0, 1])).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(await add(c, { ...cur, epoch: 0 }, [0, 1])).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await add(c, { ...cur, epoch: 2 }, [0])).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await add(c, { ...cur, id: '' }, [0])).toBe(ErrorCode.INVALID_REQUEST);
    expect(await c.addOffsets('unknown', cur.pid, 1, 'g')).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(await c.addOffsets('tx', cur.pid, 0, 'g')).toBe(ErrorCode.PRODUCER_FENCED);
    expect(c.get('tx')!.state).toBe('Empty');
    expect(await add(c, cur, [0])).toBe(ErrorCode.NONE);
  });

  it('after CompleteCommit/CompleteAbort a new transaction starts with only the new partitions and a new start time', async () => {
    const { c, clock } = startNode({ markers: new RecordingMarkers() });
    const p = await init(c, 'tx');
    await add(c, p, [0, 1]);
    expect(await end(c, p, true)).toBe(ErrorCode.NONE);
    clock.advance(100);
    expect(await add(c, p, [2])).toBe(ErrorCode.NONE);
    expect(view(c.get('tx'))).toMatchObject({ state: 'Ongoing', partitions: [[DATA, [2]]], txnStartTimestamp: clock.now() });
    expect(await end(c, p, false)).toBe(ErrorCode.NONE);
    clock.advance(100);
    expect(await c.addOffsets('tx', p.pid, p.epoch, 'group-1')).toBe(ErrorCode.NONE);
    expect(view(c.get('tx'))).toMatchObject({ state: 'Ongoing', partitions: [[OFFSETS_TOPIC, [partitionForGroup('group-1', OFFSETS_PARTITIONS)]]], txnStartTimestamp: clock.now() });
  });

  it('AddOffsetsToTxn adds the group\'s __consumer_offsets partition; markers go there too', async () => {
    const markers = new RecordingMarkers();
    const { c } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    const gp = partitionForGroup('consumers', OFFSETS_PARTITIONS);
    expect(await c.addOffsets('tx', p.pid, p.epoch, 'consumers')).toBe(ErrorCode.NONE);
    expect(await c.addOffsets('tx', p.pid, p.epoch, 'consumers')).toBe(ErrorCode.NONE);
    expect(view(c.get('tx'))!.partitions).toEqual([
      [OFFSETS_TOPIC, [gp]],
      [DATA, [0]],
    ]);
    expect(c.verifyOffsets('tx', p.pid, p.epoch, 'consumers')).toBe(ErrorCode.NONE);
    expect(await end(c, p, true)).toBe(ErrorCode.NONE);
    expect(markers.take().sort()).toEqual([`COMMIT ${DATA}-0 pid=${p.pid} epoch=0 ce=0`, `COMMIT ${OFFSETS_TOPIC}-${gp} pid=${p.pid} epoch=0 ce=0`].sort());
  });

  it('AddOffsetsToTxn answers COORDINATOR_NOT_AVAILABLE when the offsets topic is unavailable', async () => {
    const { c } = startNode({
      markers: new RecordingMarkers(),
      offsetsPartition: () => {
        throw new Error('no offsets topic');
      },
    });
    const p = await init(c, 'tx');
    expect(await c.addOffsets('tx', p.pid, p.epoch, 'g')).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(c.verifyOffsets('tx', p.pid, p.epoch, 'g')).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(c.get('tx')!.state).toBe('Empty');
  });

  it('answers CONCURRENT_TRANSACTIONS while the previous transaction is PrepareCommit/PrepareAbort', async () => {
    const markers = new RecordingMarkers();
    const { c } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    markers.failing = true;
    expect(await end(c, p, false)).toBe(ErrorCode.NONE);
    expect(c.get('tx')!.state).toBe('PrepareAbort');
    expect(await add(c, p, [1])).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(await c.addOffsets('tx', p.pid, p.epoch, 'g')).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    // Producer errors still come first.
    expect(await add(c, { ...p, epoch: p.epoch + 1 }, [1])).toBe(ErrorCode.PRODUCER_FENCED);
    markers.failing = false;
    await c.abortTimedOutTransactions();
    expect(c.get('tx')!.state).toBe('CompleteAbort');
    expect(await add(c, p, [1])).toBe(ErrorCode.NONE);
  });
});

// ---------------------------------------------------------------------------------------------
// EndTxn

describe('EndTxn', () => {
  it('Ongoing + commit: PrepareCommit, COMMIT markers on every partition, CompleteCommit with no partitions', async () => {
    const markers = new RecordingMarkers();
    const { c, txnLog } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [0, 2]);
    const stores = vi.spyOn(txnLog, 'store');
    expect(await end(c, p, true)).toBe(ErrorCode.NONE);
    expect(stores.mock.calls.map(([m]) => m.state)).toEqual(['PrepareCommit', 'CompleteCommit']);
    expect(stores.mock.calls[0]![0].partitions).toEqual(new Map([[DATA, new Set([0, 2])]]));
    expect(stores.mock.calls[1]![0].partitions.size).toBe(0);
    expect(markers.take()).toEqual([`COMMIT ${DATA}-0 pid=${p.pid} epoch=0 ce=0`, `COMMIT ${DATA}-2 pid=${p.pid} epoch=0 ce=0`]);
    expect(view(c.get('tx'))).toMatchObject({ state: 'CompleteCommit', partitions: [], producerEpoch: p.epoch });
    expect(c.describe(['tx'])[0]).toMatchObject({ transactionState: 'CompleteCommit', topics: [] });
    // A retry of the same decision: NONE, nothing written, no markers again.
    stores.mockClear();
    expect(await end(c, p, true)).toBe(ErrorCode.NONE);
    expect(stores).not.toHaveBeenCalled();
    expect(markers.calls).toEqual([]);
    // The opposite decision.
    expect(await end(c, p, false)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(c.get('tx')!.state).toBe('CompleteCommit');
  });

  it('Ongoing + abort: CompleteAbort; abort again NONE; commit INVALID_TXN_STATE', async () => {
    const markers = new RecordingMarkers();
    const { c } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [1]);
    expect(await end(c, p, false)).toBe(ErrorCode.NONE);
    expect(markers.take()).toEqual([`ABORT ${DATA}-1 pid=${p.pid} epoch=0 ce=0`]);
    expect(c.get('tx')!.state).toBe('CompleteAbort');
    expect(await end(c, p, false)).toBe(ErrorCode.NONE);
    expect(markers.calls).toEqual([]);
    expect(await end(c, p, true)).toBe(ErrorCode.INVALID_TXN_STATE);
  });

  it('Empty: commit and abort are INVALID_TXN_STATE (also right after a re-init that ended a transaction)', async () => {
    const { c } = startNode({ markers: new RecordingMarkers() });
    const p = await init(c, 'tx');
    expect(await end(c, p, true)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await end(c, p, false)).toBe(ErrorCode.INVALID_TXN_STATE);
    await add(c, p, [0]);
    await end(c, p, true);
    const q = await init(c, 'tx'); // CompleteCommit -> Empty
    expect(c.get('tx')!.state).toBe('Empty');
    expect(await end(c, q, true)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await end(c, q, false)).toBe(ErrorCode.INVALID_TXN_STATE);
  });

  it('unknown id or producer id -> INVALID_PRODUCER_ID_MAPPING; other epoch -> PRODUCER_FENCED; empty id -> INVALID_REQUEST', async () => {
    const { c } = startNode({ markers: new RecordingMarkers() });
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    expect(await c.endTxn('unknown', p.pid, p.epoch, true)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(await c.endTxn('tx', p.pid + 1n, p.epoch, true)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(await c.endTxn('tx', p.pid, p.epoch + 1, true)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await c.endTxn('tx', p.pid, p.epoch - 1, false)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await c.endTxn('', p.pid, p.epoch, true)).toBe(ErrorCode.INVALID_REQUEST);
    expect(c.get('tx')!.state).toBe('Ongoing');
    expect(await end(c, p, true)).toBe(ErrorCode.NONE);
  });

  it('PrepareCommit (markers failing): commit retry CONCURRENT_TRANSACTIONS until the periodic check writes the markers', async () => {
    const markers = new RecordingMarkers();
    const { c, clock } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [0, 1]);
    markers.failing = true;
    expect(await end(c, p, true)).toBe(ErrorCode.NONE);
    expect(c.get('tx')!.state).toBe('PrepareCommit');
    expect(await end(c, p, true)).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    await tick(clock, ABORT_INTERVAL); // still failing: stays PrepareCommit
    expect(c.get('tx')!.state).toBe('PrepareCommit');
    markers.failing = false;
    await tick(clock, ABORT_INTERVAL);
    expect(c.get('tx')!.state).toBe('CompleteCommit');
    expect(markers.take()).toEqual([`COMMIT ${DATA}-0 pid=${p.pid} epoch=0 ce=0`, `COMMIT ${DATA}-1 pid=${p.pid} epoch=0 ce=0`]);
    expect(await end(c, p, true)).toBe(ErrorCode.NONE);
  });

  it('PrepareAbort (markers failing): abort retry CONCURRENT_TRANSACTIONS; Prepare* never times out', async () => {
    const markers = new RecordingMarkers();
    const { c } = startNode({ markers });
    const p = await init(c, 'tx', 1000);
    await add(c, p, [0]);
    markers.failing = true;
    expect(await end(c, p, false)).toBe(ErrorCode.NONE);
    expect(await end(c, p, false)).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(c.get('tx')).toMatchObject({ state: 'PrepareAbort', producerEpoch: p.epoch });
    markers.failing = false;
    expect(await c.abortTimedOutTransactions()).toBe(0); // completed, not "aborted for timeout"
    expect(c.get('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: p.epoch });
  });

  // Kafka keeps a pending Complete* transition while the markers of a Prepare* transaction are in
  // flight (and after loading a Prepare* transaction), and EndTxn checks pending transitions before
  // the state table: any EndTxn in Prepare* is CONCURRENT_TRANSACTIONS, even the opposite decision
  // (notes §5 EndTxn NOTE). Brook answers INVALID_TXN_STATE (fatal for the Java producer) for the
  // opposite decision while its markers are being retried.
  it('the opposite EndTxn decision while in PrepareCommit/PrepareAbort is CONCURRENT_TRANSACTIONS', async () => {
    const markers = new RecordingMarkers();
    const { c } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    markers.failing = true;
    expect(await end(c, p, true)).toBe(ErrorCode.NONE);
    expect(await end(c, p, false)).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
  });

  it('a commit of a partition that is gone completes anyway (UNKNOWN_TOPIC_OR_PARTITION from the replica manager)', async () => {
    const node = startNode();
    const { c, store } = node;
    ensureTopic(store, 'gone', 1);
    const p = await init(c, 'tx');
    expect(await add(c, p, [0], 'gone')).toBe(ErrorCode.NONE);
    expect(await add(c, p, [0])).toBe(ErrorCode.NONE);
    expect(produce(node, p, 0).errorCode).toBe(ErrorCode.NONE);
    store.deleteTopic('gone');
    expect(await end(c, p, true)).toBe(ErrorCode.NONE);
    expect(c.get('tx')!.state).toBe('CompleteCommit');
    expect(lastBatch(part(node, 0))).toMatchObject({ marker: 'COMMIT', pid: p.pid });
  });
});

// ---------------------------------------------------------------------------------------------
// KIP-890 verification

describe('verifyPartitions (AddPartitionsToTxn verify_only, the produce path)', () => {
  it('NONE for partitions of the ongoing transaction, TRANSACTION_ABORTABLE for others and outside a transaction', async () => {
    const markers = new RecordingMarkers();
    const { c } = startNode({ markers });
    const p = await init(c, 'tx');
    const ask = (parts: number[], o: Partial<Producer> = {}) => codes(c.verifyPartitions(o.id ?? 'tx', o.pid ?? p.pid, o.epoch ?? p.epoch, [{ name: DATA, partitions: parts }]));
    expect(ask([0, 1])).toEqual([ErrorCode.TRANSACTION_ABORTABLE, ErrorCode.TRANSACTION_ABORTABLE]); // Empty
    await add(c, p, [1]);
    expect(ask([0, 1, 2])).toEqual([ErrorCode.TRANSACTION_ABORTABLE, ErrorCode.NONE, ErrorCode.TRANSACTION_ABORTABLE]);
    expect(c.verifyPartition('tx', p.pid, p.epoch, DATA, 1)).toBe(ErrorCode.NONE);
    expect(c.verifyPartition(null, p.pid, p.epoch, DATA, 1)).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    expect(ask([1], { id: 'unknown' })).toEqual([ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
    expect(ask([1, 2], { pid: p.pid + 1n })).toEqual([ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
    expect(ask([1], { epoch: p.epoch + 1 })).toEqual([ErrorCode.PRODUCER_FENCED]);
    expect(ask([1], { id: '' })).toEqual([ErrorCode.INVALID_REQUEST]);
    markers.failing = true;
    await end(c, p, true);
    expect(ask([1])).toEqual([ErrorCode.CONCURRENT_TRANSACTIONS]);
    markers.failing = false;
    await c.abortTimedOutTransactions();
    expect(ask([1])).toEqual([ErrorCode.TRANSACTION_ABORTABLE]); // CompleteCommit
    expect(c.verifyOffsets('tx', p.pid, p.epoch, 'g')).toBe(ErrorCode.TRANSACTION_ABORTABLE);
  });

  it('the produce path refuses a transactional batch for a partition not added (INVALID_TXN_STATE, v11+ TRANSACTION_ABORTABLE)', async () => {
    const node = startNode();
    const { c } = node;
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    expect(produce(node, p, 1, ['x'], { version: 9 })).toMatchObject({ errorCode: ErrorCode.INVALID_TXN_STATE, errorMessage: 'Partition was not added to the transaction' });
    expect(produce(node, p, 1, ['x'], { version: 11 }).errorCode).toBe(ErrorCode.TRANSACTION_ABORTABLE);
    expect(produce(node, p, 0, ['x'], { epoch: p.epoch + 1 }).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(part(node, 1).logEndOffset).toBe(0n);
    expect(produce(node, p, 0, ['x']).errorCode).toBe(ErrorCode.NONE);
    expect(part(node, 0).producerState.hasOpenTransaction(p.pid)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// timeouts

describe('transaction timeout', () => {
  it('abortTimedOutTransactions() aborts an Ongoing transaction past its timeout, fences the producer and releases the LSO', async () => {
    const node = startNode();
    const { c, clock } = node;
    const other = await init(c, 'other'); // Empty: never times out
    const done = await init(c, 'done');
    await add(c, done, [2]);
    await end(c, done, true);
    const p = await init(c, 'tx');
    await add(c, p, [0, 1]);
    expect(produce(node, p, 0, ['a', 'b']).errorCode).toBe(ErrorCode.NONE);
    expect(produce(node, p, 1, ['c']).errorCode).toBe(ErrorCode.NONE);
    const log0 = part(node, 0);
    expect(node.replicas.lastStableOffset(log0)).toBe(0n);
    expect(node.replicas.read(DATA, 0, 0n, 1 << 20, true, READ_COMMITTED).records!.bytes).toBe(0);

    clock.advance(TIMEOUT); // start + timeout == now: not yet (Kafka: start + timeout < now)
    expect(await c.abortTimedOutTransactions()).toBe(0);
    expect(c.get('tx')!.state).toBe('Ongoing');
    clock.advance(1);
    expect(await c.abortTimedOutTransactions()).toBe(1);
    expect(c.get('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: p.epoch + 1, lastProducerEpoch: -1 });
    expect(c.get('other')).toMatchObject({ state: 'Empty', producerEpoch: other.epoch });
    expect(c.get('done')).toMatchObject({ state: 'CompleteCommit', producerEpoch: done.epoch });
    for (const [i, first] of [
      [0, 0n],
      [1, 0n],
    ] as const) {
      const log = part(node, i);
      expect(lastBatch(log)).toMatchObject({ pid: p.pid, epoch: p.epoch + 1, marker: 'ABORT' });
      expect(node.replicas.lastStableOffset(log)).toBe(log.logEndOffset);
      expect(producerOf(log, p.pid)).toMatchObject({ producerEpoch: p.epoch + 1, currentTxnStartOffset: -1n });
      expect(log.producerState.hasOpenTransaction(p.pid)).toBe(false);
      const read = node.replicas.read(DATA, i, 0n, 1 << 20, true, READ_COMMITTED);
      expect(read.abortedTransactions).toEqual([{ producerId: p.pid, firstOffset: first }]);
    }
    // The old producer is fenced.
    expect(await end(c, p, true)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await end(c, p, false)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await add(c, p, [0])).toBe(ErrorCode.PRODUCER_FENCED);
    expect(produce(node, p, 0, ['zombie']).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect((await initWith(c, 'tx', p.pid, p.epoch)).errorCode).toBe(ErrorCode.PRODUCER_FENCED); // lastEpoch was reset
    // A new producer instance.
    expect((await init(c, 'tx')).epoch).toBe(p.epoch + 2);
    // Nothing left to abort.
    expect(await c.abortTimedOutTransactions()).toBe(0);
  });

  it('the timer aborts it once the ManualClock passes the timeout and the next check interval', async () => {
    const node = startNode();
    const { c, clock } = node;
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    expect(produce(node, p, 0, ['a']).errorCode).toBe(ErrorCode.NONE);
    // Checks at +10s ... +60s: start + 60s is not < now yet.
    await tick(clock, TIMEOUT, ABORT_INTERVAL);
    expect(c.get('tx')!.state).toBe('Ongoing');
    expect(node.replicas.lastStableOffset(part(node, 0))).toBe(0n);
    await tick(clock, ABORT_INTERVAL);
    expect(c.get('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: p.epoch + 1 });
    expect(node.replicas.lastStableOffset(part(node, 0))).toBe(2n);
    expect(lastBatch(part(node, 0))).toMatchObject({ offset: 1n, marker: 'ABORT', epoch: p.epoch + 1 });
    expect(await end(c, p, true)).toBe(ErrorCode.PRODUCER_FENCED);
  });

  // The project's ManualClock fires every timer that falls due during one advance() (the group
  // coordinator reschedules its periodic check synchronously, and Kafka's MockScheduler runs a
  // periodic task once per elapsed period). The transaction coordinator reschedules its checks in a
  // promise's finally(), i.e. after advance() has returned, so one advance spanning several
  // intervals runs only the first check and the next one is due an interval after the advance.
  // Real time is unaffected; tests and embedded users with startBroker({ clock }) must step.
  it('ManualClock: one advance() spanning the timeout and several check intervals aborts the transaction', async () => {
    const markers = new RecordingMarkers();
    const { c, clock } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    clock.advance(TIMEOUT + 3 * ABORT_INTERVAL);
    await settle();
    expect(c.get('tx')!.state).toBe('CompleteAbort');
  });

  it('a transaction kept busy still times out (the timeout counts from its start, not its last update)', async () => {
    const markers = new RecordingMarkers();
    const { c, clock } = startNode({ markers, config: { abortTimedOutIntervalMs: 1000 } });
    const p = await init(c, 'tx', 5000);
    for (let i = 0; i < 3; i++) {
      expect(await add(c, p, [i])).toBe(ErrorCode.NONE);
      await tick(clock, 2000, 1000);
    }
    expect(c.get('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: p.epoch + 1 });
    expect(markers.take()).toEqual([0, 1, 2].map((i) => `ABORT ${DATA}-${i} pid=${p.pid} epoch=1 ce=0`));
  });

  // Kafka (TransactionCoordinator.abortTimedOutTransactions -> prepareFenceProducerEpoch) fences a
  // timed-out transaction at epoch 32766 with epoch 32767 (only Short.MaxValue itself cannot be
  // bumped). Brook's timeout path keeps 32766 (`m.producerEpoch >= MAX_EPOCH ? m.producerEpoch :
  // + 1`), so the producer that timed out is not fenced: its EndTxn(abort) answers NONE instead of
  // PRODUCER_FENCED and its AddPartitions can open a new transaction with the old epoch.
  it('a timed-out transaction at epoch 32766 is fenced with epoch 32767', async () => {
    const h = memoryHarness();
    const clock = new ManualClock();
    seed(h, clock, meta('tx', { producerId: 777n, producerEpoch: 32765 }, clock.now()));
    const markers = new RecordingMarkers();
    const { c } = startNode({ harness: h, clock, markers });
    const p = await init(c, 'tx');
    expect(p.epoch).toBe(32766);
    await add(c, p, [0]);
    clock.advance(TIMEOUT + 1);
    expect(await c.abortTimedOutTransactions()).toBe(1);
    expect(c.get('tx')!.state).toBe('CompleteAbort');
    expect(await end(c, p, false)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(c.get('tx')!.producerEpoch).toBe(32767);
  });

  // Same root cause as the InitProducerId fence-write bug above, on the timeout path: the timed-out
  // transaction is left in PrepareEpochFence in memory, which abortTimedOutTransactions() never
  // looks at again, so no abort marker is ever written and the partitions' LSO stays stuck at the
  // transaction's first offset until a restart (Kafka reverts to Ongoing, hasFailedEpochFence, and
  // the next check aborts it).
  it('a failed PrepareAbort write on timeout is retried by the next check, releasing the LSO', async () => {
    const node = startNode();
    const { c, clock, txnLog } = node;
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    expect(produce(node, p, 0, ['a']).errorCode).toBe(ErrorCode.NONE);
    clock.advance(TIMEOUT + 1);
    vi.spyOn(txnLog, 'store').mockImplementationOnce(() => {
      throw new Error('disk full');
    });
    await c.abortTimedOutTransactions();
    expect(node.replicas.lastStableOffset(part(node, 0))).toBe(0n);
    await tick(clock, ABORT_INTERVAL);
    expect(c.get('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: p.epoch + 1 });
    expect(node.replicas.lastStableOffset(part(node, 0))).toBe(part(node, 0).logEndOffset);
  });
});

// ---------------------------------------------------------------------------------------------
// transactional.id expiration

describe('transactional.id expiration', () => {
  it('expireTransactionalIds() tombstones ids idle past transactional.id.expiration.ms; Ongoing ones stay', async () => {
    const h = memoryHarness();
    const clock = new ManualClock();
    // Timers far apart: this test drives expireTransactionalIds() itself.
    const node = startNode({ harness: h, clock, markers: new RecordingMarkers(), config: { removeExpiredIntervalMs: 100 * EXPIRATION, abortTimedOutIntervalMs: 100 * EXPIRATION } });
    const { c, store, txnLog } = node;
    const idle = await init(c, 'idle');
    const committed = await init(c, 'committed');
    await add(c, committed, [0]);
    await end(c, committed, true);
    const open = await init(c, 'open');
    await add(c, open, [1]);
    clock.advance(EXPIRATION - 1);
    await init(c, 'busy'); // written just now
    expect(await c.expireTransactionalIds()).toBe(0);
    clock.advance(1); // lastUpdate <= now - expiration
    expect(await c.expireTransactionalIds()).toBe(2);
    expect(c.get('idle')).toBeUndefined();
    expect(c.get('committed')).toBeUndefined();
    expect(c.get('open')!.state).toBe('Ongoing');
    expect(c.get('busy')!.state).toBe('Empty');
    expect(c.describe(['idle'])[0]!.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    expect(c.list([], [], -1n).transactions.map((t) => t.transactionalId).sort()).toEqual(['busy', 'open']);
    // A tombstone (null value) is the id's last record.
    const log = store.partition(TXN_TOPIC, txnLog.partitionFor('idle'))!;
    const { chunks } = log.read(log.logEndOffset - 1n, 1 << 20, true);
    const last = decodeRecordBatch(chunks.at(-1)!).records.at(-1)!;
    expect(last.value).toBeNull();
    // The old producer of an expired id is unknown now; a new one starts over at epoch 0.
    expect(await end(c, idle, true)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const again = await init(c, 'idle');
    expect(again.epoch).toBe(0);
    expect(again.pid).not.toBe(idle.pid);
    // A reload does not bring the expired id back.
    const reloaded = restart(node, 'clean', { markers: new RecordingMarkers() });
    expect(reloaded.c.get('committed')).toBeUndefined();
    expect(view(reloaded.c.get('idle'))).toEqual(view(c.get('idle')));
    expect(reloaded.c.get('open')!.state).toBe('Ongoing');
  });

  it('the timer expires them every transaction.remove.expired.transaction.cleanup.interval.ms; activity keeps an id', async () => {
    const node = startNode({ markers: new RecordingMarkers(), config: { transactionalIdExpirationMs: 60_000, removeExpiredIntervalMs: 30_000 } });
    const { c, clock } = node;
    const a = await init(c, 'a');
    await init(c, 'b');
    await tick(clock, 30_000); // check at +30s: nothing idle long enough
    expect(c.get('a')).toBeDefined();
    await add(c, a, [0]); // +30s
    await end(c, a, false); // +30s: lastUpdate moves
    await tick(clock, 30_000); // check at +60s: b idle 60s
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')!.state).toBe('CompleteAbort');
    await tick(clock, 30_000); // +90s: a idle 60s
    expect(c.get('a')).toBeUndefined();
  });
});

describe('close', () => {
  it('a closed coordinator answers COORDINATOR_NOT_AVAILABLE and its timers stop', async () => {
    const markers = new RecordingMarkers();
    const { c, clock } = startNode({ markers });
    const p = await init(c, 'tx');
    await add(c, p, [0]);
    c.close();
    expect((await initWith(c, 'tx')).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await initWith(c, null)).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(await add(c, p, [1])).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(await end(c, p, true)).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(c.describe(['tx'])[0]!.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    await tick(clock, TIMEOUT + 2 * ABORT_INTERVAL, ABORT_INTERVAL);
    expect(c.get('tx')!.state).toBe('Ongoing');
    expect(markers.calls).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// describe / list

describe('DescribeTransactions / ListTransactions', () => {
  it('reports states and filters by state, producer id and duration', async () => {
    const { c, clock } = startNode({ markers: new RecordingMarkers() });
    const e = await init(c, 'empty');
    const o = await init(c, 'ongoing');
    await add(c, o, [0]);
    clock.advance(1000);
    expect(c.describe(['ongoing', 'nope', ''])).toMatchObject([
      { errorCode: ErrorCode.NONE, transactionState: 'Ongoing', producerId: o.pid, producerEpoch: 0, transactionTimeoutMs: TIMEOUT, topics: [{ topic: DATA, partitions: [0] }] },
      { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND },
      { errorCode: ErrorCode.INVALID_REQUEST },
    ]);
    const ids = (r: ReturnType<TransactionCoordinator['list']>) => r.transactions.map((t) => t.transactionalId).sort();
    expect(ids(c.list([], [], -1n))).toEqual(['empty', 'ongoing']);
    expect(ids(c.list(['Ongoing'], [], -1n))).toEqual(['ongoing']);
    expect(c.list(['ongoing'], [], -1n)).toEqual({ transactions: [], unknownStateFilters: ['ongoing'] });
    expect(ids(c.list([], [e.pid], -1n))).toEqual(['empty']);
    expect(ids(c.list([], [], 999n))).toEqual(['empty', 'ongoing']); // Empty's start is -1: always passes
    expect(ids(c.list([], [], 1000n))).toEqual(['empty']);
  });
});

// ---------------------------------------------------------------------------------------------
// durability, on both stores

describe.each(HARNESSES)('durability: %s store', (_name, makeHarness) => {
  it('every state survives a restart (a new coordinator over the same __transaction_state)', async () => {
    const node = startNode({ harness: makeHarness() });
    const { c, clock } = node;
    await init(c, 'empty');
    const o = await init(c, 'ongoing', 120_000);
    await init(c, 'ongoing', 120_000); // epoch 1
    o.epoch = 1;
    await add(c, o, [0, 2]);
    await c.addOffsets('ongoing', o.pid, o.epoch, 'g');
    clock.advance(10);
    const cc = await init(c, 'committed');
    await add(c, cc, [1]);
    await end(c, cc, true);
    const ca = await init(c, 'aborted');
    await add(c, ca, [1]);
    await end(c, ca, false);
    const ids = ['empty', 'ongoing', 'committed', 'aborted'];
    const before = ids.map((id) => view(c.get(id)));
    expect(before.map((v) => v!.state)).toEqual(['Empty', 'Ongoing', 'CompleteCommit', 'CompleteAbort']);

    const again = restart(node, 'clean');
    expect(ids.map((id) => view(again.c.get(id)))).toEqual(before);
    // The transactions carry on where they were.
    expect(await end(again.c, o, true)).toBe(ErrorCode.NONE);
    expect((await init(again.c, 'committed')).epoch).toBe(cc.epoch + 1);
    const third = restart(again, 'clean');
    expect(view(third.c.get('ongoing'))).toMatchObject({ state: 'CompleteCommit', partitions: [] });
    // New producer ids do not collide with the ones handed out before the restarts.
    const fresh = await init(third.c, 'brand-new');
    expect([o.pid, cc.pid, ca.pid]).not.toContain(fresh.pid);
  });

  it('kill -9 mid-transaction: the Ongoing transaction and the partitions\' open transaction come back; the timeout aborts it', async () => {
    const node = startNode({ harness: makeHarness() });
    const p = await init(node.c, 'tx');
    await add(node.c, p, [0, 1]);
    expect(produce(node, p, 0, ['a', 'b']).errorCode).toBe(ErrorCode.NONE);
    expect(produce(node, p, 1, ['c']).errorCode).toBe(ErrorCode.NONE);
    const committed = await init(node.c, 'committed');
    await add(node.c, committed, [2]);
    expect(produce(node, committed, 2, ['d']).errorCode).toBe(ErrorCode.NONE);
    await end(node.c, committed, true);

    const after = restart(node, 'crash');
    const { c, clock } = after;
    expect(c.get('tx')).toMatchObject({ state: 'Ongoing', producerId: p.pid, producerEpoch: p.epoch });
    expect(c.get('committed')!.state).toBe('CompleteCommit');
    expect(after.replicas.lastStableOffset(part(after, 0))).toBe(0n);
    expect(part(after, 0).producerState.hasOpenTransaction(p.pid)).toBe(true);
    expect(after.replicas.lastStableOffset(part(after, 2))).toBe(2n);
    await tick(clock, TIMEOUT + ABORT_INTERVAL, ABORT_INTERVAL);
    expect(c.get('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: p.epoch + 1 });
    for (const i of [0, 1]) {
      const log = part(after, i);
      expect(lastBatch(log)).toMatchObject({ marker: 'ABORT', pid: p.pid, epoch: p.epoch + 1 });
      expect(after.replicas.lastStableOffset(log)).toBe(log.logEndOffset);
    }
    expect(after.replicas.read(DATA, 0, 0n, 1 << 20, true, READ_COMMITTED).abortedTransactions).toEqual([{ producerId: p.pid, firstOffset: 0n }]);
    // The fence is durable: after another restart the zombie is still fenced.
    const third = restart(after, 'clean');
    expect(third.c.get('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: p.epoch + 1 });
    expect(await end(third.c, p, false)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(produce(third, p, 0, ['zombie']).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(third.replicas.read(DATA, 0, 0n, 1 << 20, true, READ_COMMITTED).abortedTransactions).toEqual([{ producerId: p.pid, firstOffset: 0n }]);
  });

  it('kill -9 mid-transaction, then the producer itself commits after the restart', async () => {
    const node = startNode({ harness: makeHarness() });
    const p = await init(node.c, 'tx');
    await add(node.c, p, [0]);
    expect(produce(node, p, 0, ['a']).errorCode).toBe(ErrorCode.NONE);
    const after = restart(node, 'crash');
    expect(produce(after, p, 0, ['b']).errorCode).toBe(ErrorCode.NONE); // sequence continues
    expect(await end(after.c, p, true)).toBe(ErrorCode.NONE);
    expect(batches(part(after, 0)).map((b) => b.marker ?? 'data')).toEqual(['data', 'data', 'COMMIT']);
    expect(after.replicas.lastStableOffset(part(after, 0))).toBe(3n);
  });

  for (const decision of ['PrepareCommit', 'PrepareAbort'] as const) {
    it(`a crash between the ${decision} write and the markers: the next coordinator writes the markers at start and completes`, async () => {
      const node = startNode({ harness: makeHarness() });
      const p = await init(node.c, 'tx');
      await add(node.c, p, [0, 1]);
      await node.c.addOffsets('tx', p.pid, p.epoch, 'group');
      expect(produce(node, p, 0, ['a', 'b']).errorCode).toBe(ErrorCode.NONE);
      expect(produce(node, p, 1, ['c']).errorCode).toBe(ErrorCode.NONE);
      node.clock.advance(7);
      // The Prepare* record reaches the log; the broker dies before any marker.
      node.txnLog.store({ ...node.c.get('tx')!, state: decision, txnLastUpdateTimestamp: node.clock.now() });
      expect(part(node, 0).producerState.hasOpenTransaction(p.pid)).toBe(true);

      const after = restart(node, 'crash');
      const commit = decision === 'PrepareCommit';
      expect(after.c.get('tx')).toMatchObject({ state: commit ? 'CompleteCommit' : 'CompleteAbort', producerId: p.pid, producerEpoch: p.epoch });
      expect(after.c.get('tx')!.partitions.size).toBe(0);
      const gp = partitionForGroup('group', OFFSETS_PARTITIONS);
      for (const log of [part(after, 0), part(after, 1), part(after, gp, OFFSETS_TOPIC)]) {
        expect(lastBatch(log)).toMatchObject({ control: true, marker: commit ? 'COMMIT' : 'ABORT', pid: p.pid, epoch: p.epoch });
        expect(after.replicas.lastStableOffset(log)).toBe(log.logEndOffset);
        expect(log.producerState.hasOpenTransaction(p.pid)).toBe(false);
      }
      expect(part(after, 2).logEndOffset).toBe(0n);
      expect(after.replicas.read(DATA, 0, 0n, 1 << 20, true, READ_COMMITTED).abortedTransactions).toEqual(commit ? [] : [{ producerId: p.pid, firstOffset: 0n }]);
      // The retried EndTxn of the client gets its answer; the opposite one is refused.
      expect(await end(after.c, p, commit)).toBe(ErrorCode.NONE);
      expect(await end(after.c, p, !commit)).toBe(ErrorCode.INVALID_TXN_STATE);
      // Complete* is durable: a further (clean) restart writes no second round of markers.
      const ends = [0, 1].map((i) => part(after, i).logEndOffset);
      const third = restart(after, 'clean');
      expect(third.c.get('tx')!.state).toBe(commit ? 'CompleteCommit' : 'CompleteAbort');
      expect([0, 1].map((i) => part(third, i).logEndOffset)).toEqual(ends);
      // The producer goes on with the next transaction.
      expect(await add(third.c, p, [1])).toBe(ErrorCode.NONE);
    });
  }

  it('a crash after some of the markers: the restart writes them all again and the transaction completes once', async () => {
    const node = startNode({ harness: makeHarness() });
    const p = await init(node.c, 'tx');
    await add(node.c, p, [0, 1]);
    expect(produce(node, p, 0, ['a']).errorCode).toBe(ErrorCode.NONE);
    expect(produce(node, p, 1, ['b']).errorCode).toBe(ErrorCode.NONE);
    node.txnLog.store({ ...node.c.get('tx')!, state: 'PrepareAbort' });
    // data-0 got its marker before the crash, data-1 did not.
    expect(node.replicas.writeTxnMarker(DATA, 0, p.pid, p.epoch, false, 0)).toBe(ErrorCode.NONE);
    const after = restart(node, 'crash');
    expect(after.c.get('tx')!.state).toBe('CompleteAbort');
    for (const i of [0, 1]) {
      const log = part(after, i);
      expect(after.replicas.lastStableOffset(log)).toBe(log.logEndOffset);
      // One aborted transaction per partition, even where the marker was written twice.
      expect(log.producerState.abortedTransactions(0n, log.logEndOffset)).toEqual([{ producerId: p.pid, firstOffset: 0n }]);
    }
    expect(batches(part(after, 0)).map((b) => b.marker ?? 'data')).toEqual(['data', 'ABORT', 'ABORT']);
    expect(batches(part(after, 1)).map((b) => b.marker ?? 'data')).toEqual(['data', 'ABORT']);
  });

  it('a Prepare* transaction whose markers still fail at start stays Prepare* and completes on a later check', async () => {
    const h = makeHarness();
    const node = startNode({ harness: h });
    const p = await init(node.c, 'tx');
    await add(node.c, p, [0]);
    node.txnLog.store({ ...node.c.get('tx')!, state: 'PrepareCommit' });
    const markers = new RecordingMarkers();
    markers.failing = true;
    const after = restart(node, 'crash', { markers });
    expect(after.c.get('tx')!.state).toBe('PrepareCommit');
    expect(await add(after.c, p, [1])).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    markers.failing = false;
    await tick(after.clock, ABORT_INTERVAL);
    expect(after.c.get('tx')!.state).toBe('CompleteCommit');
    expect(markers.take()).toEqual([`COMMIT ${DATA}-0 pid=${p.pid} epoch=${p.epoch} ce=0`]);
  });

  it('state is the same after the log cleaner compacted __transaction_state and a reload; kill -9 leaves the same state', async () => {
    const node = startNode({ harness: makeHarness(), txnSegmentBytes: 600 });
    const { c, clock, store } = node;
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const producers = new Map<string, Producer>();
    for (const id of ids) producers.set(id, await init(c, id));
    for (let round = 0; round < 15; round++) {
      for (const [i, id] of ids.entries()) {
        const p = producers.get(id)!;
        clock.advance(1);
        expect(await add(c, p, [round % 3])).toBe(ErrorCode.NONE);
        if ((round + i) % 4 !== 0) {
          expect(await end(c, p, round % 2 === 0)).toBe(ErrorCode.NONE);
        } else if (round % 5 === 0) {
          // A new producer instance fences the open transaction and retries.
          expect((await initWith(c, id)).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
          producers.set(id, await init(c, id));
        }
      }
    }
    const before = ids.map((id) => view(c.get(id)));
    const cleanNow = { deleteRetentionMs: 86_400_000, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, minCleanableDirtyRatio: 0 };
    const compactAll = (st: LogStore): number => {
      let passes = 0;
      for (let p = 0; p < TXN_PARTITIONS; p++) if (st.partition(TXN_TOPIC, p)?.compact(clock.now(), cleanNow).ran) passes++;
      return passes;
    };
    expect(compactAll(store)).toBeGreaterThan(0);
    const crashed = restart(node, 'crash', { txnSegmentBytes: 600 });
    expect(ids.map((id) => view(crashed.c.get(id)))).toEqual(before);
    compactAll(crashed.store);
    const clean = restart(crashed, 'clean');
    expect(ids.map((id) => view(clean.c.get(id)))).toEqual(before);
  });

  it('an expired transactional id stays gone after a kill -9 and a clean restart', async () => {
    const node = startNode({ harness: makeHarness(), config: { transactionalIdExpirationMs: 60_000, removeExpiredIntervalMs: 30_000 } });
    const old = await init(node.c, 'old');
    await add(node.c, old, [0]);
    expect(produce(node, old, 0).errorCode).toBe(ErrorCode.NONE);
    await end(node.c, old, true);
    const kept = await init(node.c, 'kept', MAX_TIMEOUT);
    await add(node.c, kept, [1]); // Ongoing: never expires
    await tick(node.clock, 60_000, 30_000);
    expect(node.c.get('old')).toBeUndefined();
    const crashed = restart(node, 'crash', { config: { transactionalIdExpirationMs: 60_000, removeExpiredIntervalMs: 30_000 } });
    expect(crashed.c.get('old')).toBeUndefined();
    expect(crashed.c.get('kept')!.state).toBe('Ongoing');
    const fresh = await init(crashed.c, 'old');
    expect(fresh.epoch).toBe(0);
    expect(fresh.pid).not.toBe(old.pid);
    const clean = restart(crashed, 'clean');
    expect(view(clean.c.get('old'))).toEqual(view(crashed.c.get('old')));
  });

  it('producer ids never repeat across restarts and kill -9', async () => {
    const h = makeHarness();
    let node = startNode({ harness: h });
    const seen = new Set<bigint>();
    const take = async () => {
      for (let i = 0; i < 5; i++) {
        const r = await initWith(node.c, null, -1n, -1, 2147483647);
        expect(seen.has(r.producerId)).toBe(false);
        seen.add(r.producerId);
      }
      const t = await init(node.c, `tx-${seen.size}`);
      expect(seen.has(t.pid)).toBe(false);
      seen.add(t.pid);
    };
    await take();
    node = restart(node, 'crash');
    await take();
    node = restart(node, 'clean');
    await take();
    expect(seen.size).toBe(18);
  });
});
