// Transactions in a three-broker in-process cluster (issue 10): a transaction's partitions are led
// by different brokers, so its coordinator writes the COMMIT/ABORT markers of the partitions it
// does not lead through WriteTxnMarkers to their leaders (Kafka's TransactionMarkerChannel
// Manager), and Complete* only once they are all written. A kafkajs READ_COMMITTED consumer sees
// exactly the committed messages and no partition's last stable offset stays behind its end.

import { afterEach, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { createMemoryMetadataStore } from '../../src/cluster/metadata/index.js';
import type { ClusterMetadataStore } from '../../src/cluster/metadata/store.js';
import { waitFor } from '../helpers/cluster.js';

let brokers: Broker[] = [];
let meta: ClusterMetadataStore | undefined;
const clients: Array<Producer | Consumer> = [];

const CONFIG = {
  'broker.session.timeout.ms': '1000',
  'replica.lag.time.max.ms': '2000',
  'replica.fetch.wait.max.ms': '50',
  'replica.fetch.backoff.ms': '100',
  'offsets.topic.num.partitions': '5',
  'transaction.state.log.num.partitions': '5',
  'group.initial.rebalance.delay.ms': '0',
};

const RETRY = { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 };


function kafkaFor(bs: Broker[]): Kafka {
  return new Kafka({ clientId: 'txn-cluster', brokers: bs.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: RETRY });
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect().catch(() => {});
  for (const b of brokers.reverse()) await b.close();
  brokers = [];
  await meta?.close();
  meta = undefined;
});

async function startCluster(): Promise<Broker[]> {
  meta = createMemoryMetadataStore();
  for (let id = 1; id <= 3; id++) brokers.push(await startBroker({ host: '127.0.0.1', port: 0, nodeId: id, metadata: meta, config: CONFIG }));
  const bs = [...brokers];
  await waitFor(() => bs.every((b) => b.clusterNode!.brokers().length === 3), 20_000, 'three live brokers');
  return bs;
}

const leaderOf = (bs: Broker[], topic: string, p: number): Broker | undefined => bs.find((b) => b.replicas.roleOf(topic, p)?.kind === 'leader');

/** Waits until every broker agrees on a leader for each partition; returns the leaders' node ids. */
async function leaders(bs: Broker[], topic: string, partitions: number): Promise<number[]> {
  await waitFor(() => Array.from({ length: partitions }, (_, p) => leaderOf(bs, topic, p)).every((b) => b !== undefined), 20_000, `${topic} leaders`);
  return Array.from({ length: partitions }, (_, p) => leaderOf(bs, topic, p)!.config.nodeId);
}

/** On each partition's leader: the last stable offset and the log end. */
function stability(bs: Broker[], topic: string, partitions: number): Array<{ lso: bigint; end: bigint }> {
  return Array.from({ length: partitions }, (_, p) => {
    const b = leaderOf(bs, topic, p)!;
    const log = b.store.partition(topic, p)!;
    return { lso: b.replicas.lastStableOffset(log), end: log.logEndOffset };
  });
}

describe('transactions across a three-broker cluster', () => {
  it('markers reach partitions led by other brokers: READ_COMMITTED sees exactly the committed messages, no LSO left behind', async () => {
    const bs = await startCluster();
    const kafka = kafkaFor(bs);
    const admin = kafka.admin();
    clients.push(admin as unknown as Producer);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'tx', numPartitions: 3, replicationFactor: 3 }] });
    // The three partitions are led by three different brokers, so whichever broker coordinates
    // the transaction, two of its partitions are led elsewhere.
    expect(new Set(await leaders(bs, 'tx', 3)).size).toBe(3);

    const producer = kafka.producer({ transactionalId: 'tx-1', idempotent: true, maxInFlightRequests: 1, retry: RETRY });
    clients.push(producer);
    await producer.connect();
    const txnSend = async (tag: string, commit: boolean): Promise<void> => {
      const txn = await producer.transaction();
      for (let p = 0; p < 3; p++) {
        await txn.send({ topic: 'tx', acks: -1, messages: [0, 1].map((i) => ({ partition: p, value: `${tag}-p${p}-${i}` })) });
      }
      if (commit) await txn.commit();
      else await txn.abort();
    };
    await txnSend('a', true);
    await txnSend('b', false);
    // The next transaction goes ahead once the previous one's markers are written (its
    // AddPartitionsToTxn got CONCURRENT_TRANSACTIONS until then, retried by kafkajs).
    await txnSend('c', true);

    const expected = ['a', 'c'].flatMap((tag) => [0, 1, 2].flatMap((p) => [0, 1].map((i) => `${tag}-p${p}-${i}`))).sort();
    // Each partition holds 2+1 (committed), 2+1 (aborted), 2+1 (committed) records and markers,
    // and its LSO reaches that end on its leader: every marker was written.
    await waitFor(() => stability(bs, 'tx', 3).every((s) => s.end === 9n && s.lso === 9n), 20_000, 'every LSO at the log end');
    // The coordinator finished both transactions (CompleteCommit written after the markers).
    const coordinator = bs.find((b) => b.txns.get('tx-1') !== undefined)!;
    await waitFor(() => coordinator.txns.get('tx-1')!.state === 'CompleteCommit', 20_000, 'CompleteCommit');

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: 'rc', retry: RETRY }); // kafkajs reads READ_COMMITTED by default
    clients.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'tx', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor(() => seen.length >= expected.length, 20_000, 'committed messages consumed');
    // The aborted records sit between the two committed transactions: reading the last committed
    // ones means the consumer went past them.
    await waitFor(async () => {
      const offs = await admin.fetchOffsets({ groupId: 'rc', topics: ['tx'] });
      return offs[0]!.partitions.every((p) => Number(p.offset) >= 8);
    }, 20_000, 'consumer past the last committed records');
    expect([...seen].sort()).toEqual(expected);
  });

  it('markers answered with an error or cut off by a dropped connection are sent again until written', async () => {
    const bs = await startCluster();
    const kafka = kafkaFor(bs);
    const admin = kafka.admin();
    clients.push(admin as unknown as Producer);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'flaky', numPartitions: 3, replicationFactor: 3 }] });
    expect(new Set(await leaders(bs, 'flaky', 3)).size).toBe(3);
    const producer = kafka.producer({ transactionalId: 'flaky-1', idempotent: true, maxInFlightRequests: 1, retry: RETRY });
    clients.push(producer);
    await producer.connect();
    // Every broker refuses its first two WriteTxnMarkers, then drops the connection of the third.
    const rules = bs.map((b) => [
      b.faults.failRequests('WriteTxnMarkers', 'NOT_LEADER_OR_FOLLOWER', { count: 2 }),
      b.faults.disconnectOn('WriteTxnMarkers', { count: 1 }),
    ]);
    const txn = await producer.transaction();
    for (let p = 0; p < 3; p++) await txn.send({ topic: 'flaky', acks: -1, messages: [{ partition: p, value: `v${p}` }] });
    await txn.commit();
    await waitFor(() => stability(bs, 'flaky', 3).every((s) => s.end === 2n && s.lso === 2n), 20_000, 'every LSO at the log end');
    // The two brokers that are not the coordinator got markers over the wire and went through
    // every injected fault before taking them.
    const hit = bs.map((b, i) => b.faults.rules().filter((r) => rules[i]!.some((x) => x.id === r.id)).length);
    expect(hit.filter((n) => n === 0).length).toBe(2);
    const coordinator = bs.find((b) => b.txns.get('flaky-1') !== undefined)!;
    await waitFor(() => coordinator.txns.get('flaky-1')!.state === 'CompleteCommit', 20_000, 'CompleteCommit');
    // And the next transaction goes through.
    const next = await producer.transaction();
    await next.send({ topic: 'flaky', acks: -1, messages: [{ partition: 1, value: 'w' }] });
    await next.commit();
    await waitFor(() => stability(bs, 'flaky', 3)[1]!.lso === 4n, 20_000, 'second transaction committed');
  });

  it('a partition whose topic is deleted before the commit is dropped; the transaction completes', async () => {
    const bs = await startCluster();
    const kafka = kafkaFor(bs);
    const admin = kafka.admin();
    clients.push(admin as unknown as Producer);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'keep', numPartitions: 3, replicationFactor: 3 }, { topic: 'doomed', numPartitions: 3, replicationFactor: 3 }] });
    await leaders(bs, 'doomed', 3);
    const producer = kafka.producer({ transactionalId: 'del-1', idempotent: true, maxInFlightRequests: 1, retry: RETRY });
    clients.push(producer);
    await producer.connect();
    const txn = await producer.transaction();
    for (const topic of ['keep', 'doomed']) {
      for (let p = 0; p < 3; p++) await txn.send({ topic, acks: -1, messages: [{ partition: p, value: `${topic}-${p}` }] });
    }
    await admin.deleteTopics({ topics: ['doomed'] });
    await waitFor(() => bs.every((b) => b.store.getTopic('doomed') === undefined), 20_000, 'doomed deleted everywhere');
    await txn.commit();
    const coordinator = bs.find((b) => b.txns.get('del-1') !== undefined)!;
    await waitFor(() => coordinator.txns.get('del-1')!.state === 'CompleteCommit', 20_000, 'CompleteCommit');
    await waitFor(() => stability(bs, 'keep', 3).every((s) => s.end === 2n && s.lso === 2n), 20_000, 'every LSO of keep at the log end');
  });

  it('sendOffsetsToTransaction: the offsets become visible once the COMMIT marker reaches the group coordinator', async () => {
    const bs = await startCluster();
    const kafka = kafkaFor(bs);
    const admin = kafka.admin();
    clients.push(admin as unknown as Producer);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'in', numPartitions: 3, replicationFactor: 3 }, { topic: 'out', numPartitions: 3, replicationFactor: 3 }] });
    expect(new Set(await leaders(bs, 'out', 3)).size).toBe(3);
    // __consumer_offsets exists before the first AddOffsetsToTxn (its creation in a cluster answers
    // AddOffsetsToTxn COORDINATOR_NOT_AVAILABLE, which kafkajs does not retry there).
    await admin.fetchOffsets({ groupId: 'transform', topics: ['in'] });
    const producer = kafka.producer({ transactionalId: 'ctp', idempotent: true, maxInFlightRequests: 1, retry: RETRY });
    clients.push(producer);
    await producer.connect();

    // Consume-transform-produce: the transformed records and the input offsets commit together.
    for (const round of [1, 2]) {
      const txn = await producer.transaction();
      for (let p = 0; p < 3; p++) await txn.send({ topic: 'out', acks: -1, messages: [{ partition: p, value: `r${round}-p${p}` }] });
      await txn.sendOffsets({ consumerGroupId: 'transform', topics: [{ topic: 'in', partitions: [0, 1, 2].map((p) => ({ partition: p, offset: String(round * 10 + p) })) }] });
      await txn.commit();
    }
    await waitFor(async () => {
      const offs = await admin.fetchOffsets({ groupId: 'transform', topics: ['in'] });
      return offs[0]!.partitions.sort((x, y) => x.partition - y.partition).map((p) => p.offset).join(',') === '20,21,22';
    }, 20_000, 'transactional offsets committed');
    await waitFor(() => stability(bs, 'out', 3).every((s) => s.end === 4n && s.lso === 4n), 20_000, 'every LSO of out at the log end');

    // A transaction that aborts leaves the committed offsets as they were.
    const txn = await producer.transaction();
    await txn.send({ topic: 'out', acks: -1, messages: [{ partition: 0, value: 'aborted' }] });
    await txn.sendOffsets({ consumerGroupId: 'transform', topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '99' }] }] });
    await txn.abort();
    await waitFor(() => stability(bs, 'out', 3)[0]!.lso === 6n, 20_000, 'out-0 LSO past the abort marker');
    const offs = await admin.fetchOffsets({ groupId: 'transform', topics: ['in'] });
    expect(offs[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('20');

    // A last committed record behind the aborted one: once it is read, the aborted one was passed.
    const tail = await producer.transaction();
    await tail.send({ topic: 'out', acks: -1, messages: [{ partition: 0, value: 'tail' }] });
    await tail.commit();

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: 'check', retry: RETRY });
    clients.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'out', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor(() => seen.length >= 7, 20_000, 'committed records consumed');
    expect(seen.sort()).toEqual(['r1-p0', 'r1-p1', 'r1-p2', 'r2-p0', 'r2-p1', 'r2-p2', 'tail']);
  });
});
