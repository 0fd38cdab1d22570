// Replication between three in-process brokers sharing one in-memory metadata store (issue 10):
// followers copy the leader's log byte for byte, acks=-1 waits for the ISR, min.insync.replicas
// refuses or flags writes, a stopped leader's partitions move to an in-sync follower with nothing
// acknowledged lost, and a stopped follower leaves and rejoins the ISR.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { createMemoryMetadataStore } from '../../src/cluster/metadata/index.js';
import type { ClusterMetadataStore } from '../../src/cluster/metadata/store.js';
import { waitFor } from '../helpers/cluster.js';

let brokers: Broker[] = [];
let meta: ClusterMetadataStore | undefined;
let producers: Producer[] = [];

const BASE = {
  'broker.session.timeout.ms': '1000',
  'replica.lag.time.max.ms': '1500',
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '100',
};

async function startCluster(n: number, config: Record<string, string> = {}): Promise<Broker[]> {
  meta = createMemoryMetadataStore();
  for (let id = 1; id <= n; id++) brokers.push(await startBroker({ host: '127.0.0.1', port: 0, nodeId: id, metadata: meta, config: { ...BASE, ...config } }));
  await waitFor(() => brokers.every((b) => b.clusterNode!.brokers().length === n));
  return brokers;
}


function kafkaFor(bs: Broker[]): Kafka {
  return new Kafka({ clientId: 'replication-test', brokers: bs.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
}

async function producerFor(bs: Broker[]): Promise<Producer> {
  const p = kafkaFor(bs).producer({ allowAutoTopicCreation: false });
  await p.connect();
  producers.push(p);
  return p;
}

async function createTopic(bs: Broker[], topic: string, partitions: number, rf: number, configs: Record<string, string> = {}): Promise<void> {
  const admin = kafkaFor(bs).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: rf, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }] });
  } finally {
    await admin.disconnect();
  }
}

const leaderOf = (bs: Broker[], topic: string, p: number): Broker | undefined => bs.find((b) => b.replicas.roleOf(topic, p)?.kind === 'leader');

/** The stored batches of a partition on one broker, as one buffer (byte-identical replicas compare equal). */
function storedBytes(b: Broker, topic: string, p: number): Buffer {
  const log = b.store.partition(topic, p)!;
  const r = log.read(log.logStartOffset, 1 << 30, true);
  return Buffer.concat(r.chunks);
}

afterEach(async () => {
  for (const p of producers) await p.disconnect().catch(() => {});
  producers = [];
  for (const b of brokers.reverse()) await b.close();
  brokers = [];
  await meta?.close();
  meta = undefined;
});

describe('replication between three in-process brokers', () => {
  it('copies the leader log byte for byte to every follower; acks=-1 answers once the ISR has it', async () => {
    const bs = await startCluster(3);
    await createTopic(bs, 'rep', 3, 3, { 'min.insync.replicas': '2' });
    const producer = await producerFor(bs);
    for (let i = 0; i < 30; i++) {
      await producer.send({ topic: 'rep', acks: -1, messages: [{ partition: i % 3, key: `k${i}`, value: `v${i}` }] });
    }
    for (let p = 0; p < 3; p++) {
      const leader = leaderOf(bs, 'rep', p)!;
      expect(leader.replicas.roleOf('rep', p)!.isr!.sort()).toEqual([1, 2, 3]);
      // acks=-1 answered: the leader's HW covers all 10 records of the partition.
      expect(leader.replicas.roleOf('rep', p)!.hw).toBe(10n);
      await waitFor(() => bs.every((b) => b.store.partition('rep', p)!.logEndOffset === 10n), 5000, 'followers caught up');
      const ref = storedBytes(leader, 'rep', p);
      for (const b of bs) expect(storedBytes(b, 'rep', p).equals(ref)).toBe(true);
      // Followers refuse consumers.
      const follower = bs.find((b) => b !== leader)!;
      expect(follower.replicas.read('rep', p, 0n, 1000, true).errorCode).toBe(6);
    }
  });

  it('moves leadership to an in-sync follower when the leader stops; nothing acknowledged is lost', async () => {
    const bs = await startCluster(3);
    await createTopic(bs, 'fo', 1, 3, { 'min.insync.replicas': '2' });
    const producer = await producerFor(bs);
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      await producer.send({ topic: 'fo', acks: -1, messages: [{ value: `a${i}` }] });
      acked.push(`a${i}`);
    }
    const old = leaderOf(bs, 'fo', 0)!;
    const oldEpoch = old.replicas.roleOf('fo', 0)!.leaderEpoch;
    await old.close();
    brokers = brokers.filter((b) => b !== old);
    const rest = bs.filter((b) => b !== old);
    await waitFor(() => leaderOf(rest, 'fo', 0) !== undefined, 10_000, 'new leader');
    const now = leaderOf(rest, 'fo', 0)!;
    expect(now.replicas.roleOf('fo', 0)!.leaderEpoch).toBeGreaterThan(oldEpoch);
    // The producer finds the new leader by itself and goes on.
    for (let i = 20; i < 30; i++) {
      await producer.send({ topic: 'fo', acks: -1, messages: [{ value: `a${i}` }] });
      acked.push(`a${i}`);
    }
    const recs = await now.records('fo', 0);
    expect(recs.map((r) => r.value!.toString())).toEqual(acked);
    await waitFor(() => rest.every((b) => b.store.partition('fo', 0)!.logEndOffset === 30n), 5000, 'the other replica caught up');
    expect(storedBytes(rest[0]!, 'fo', 0).equals(storedBytes(rest[1]!, 'fo', 0))).toBe(true);
  });

  it('min.insync.replicas: a follower down leaves the ISR and writes go on; with two down acks=-1 is refused, acks=1 is not', async () => {
    const bs = await startCluster(3, { 'auto.leader.rebalance.enable': 'false' });
    await createTopic(bs, 'mi', 1, 3, { 'min.insync.replicas': '2' });
    const producer = await producerFor(bs);
    await producer.send({ topic: 'mi', acks: -1, messages: [{ value: 'x' }] });
    const leader = leaderOf(bs, 'mi', 0)!;
    const followers = bs.filter((b) => b !== leader);
    await followers[0]!.close();
    brokers = brokers.filter((b) => b !== followers[0]);
    await waitFor(() => leader.replicas.roleOf('mi', 0)!.isr!.length === 2, 10_000, 'ISR shrink');
    await producer.send({ topic: 'mi', acks: -1, messages: [{ value: 'y' }] });
    await followers[1]!.close();
    brokers = brokers.filter((b) => b !== followers[1]);
    await waitFor(() => leader.replicas.roleOf('mi', 0)!.isr!.length === 1, 10_000, 'ISR shrink to the leader');
    // Kafka's append check: NOT_ENOUGH_REPLICAS (19), nothing appended.
    const before = leader.store.partition('mi', 0)!.logEndOffset;
    const p2 = kafkaFor([leader]).producer({ retry: { retries: 0 } });
    await p2.connect();
    producers.push(p2);
    await expect(p2.send({ topic: 'mi', acks: -1, messages: [{ value: 'z' }] })).rejects.toThrow(/NOT_ENOUGH_REPLICAS|replicas/i);
    expect(leader.store.partition('mi', 0)!.logEndOffset).toBe(before);
    await p2.send({ topic: 'mi', acks: 1, messages: [{ value: 'w' }] });
    expect(leader.store.partition('mi', 0)!.logEndOffset).toBe(before + 1n);
  });

  it('a restarted cluster starts from the checkpointed high watermarks, not from the log start', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'brook-hwcp-'));
    try {
      meta = createMemoryMetadataStore();
      const start = async (id: number): Promise<Broker> =>
        startBroker({ host: '127.0.0.1', port: 0, nodeId: id, metadata: meta, dataDir: path.join(root, `b${id}`), config: { ...BASE, 'auto.leader.rebalance.enable': 'false' } });
      for (let id = 1; id <= 3; id++) brokers.push(await start(id));
      await waitFor(() => brokers.every((b) => b.clusterNode!.brokers().length === 3));
      await createTopic(brokers, 'hw', 1, 3);
      const producer = await producerFor(brokers);
      for (let i = 0; i < 10; i++) await producer.send({ topic: 'hw', acks: -1, messages: [{ partition: 0, value: `v${i}` }] });
      await producer.disconnect();
      producers = [];
      await waitFor(() => brokers.every((b) => b.replicas.roleOf('hw', 0)!.hw === 10n), 5000, 'every replica knows HW 10');
      for (const b of brokers.splice(0)) await b.close();
      // Back one at a time: each takes its first role from the checkpoint before any fetch.
      const b1 = await start(1);
      brokers.push(b1);
      await waitFor(() => b1.replicas.roleOf('hw', 0) !== undefined, 5000, 'a role for the partition');
      expect(b1.replicas.roleOf('hw', 0)!.hw).toBe(10n);
    } finally {
      for (const b of brokers.splice(0)) await b.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
