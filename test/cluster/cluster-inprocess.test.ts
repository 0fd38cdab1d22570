// Three in-process brokers sharing one in-memory metadata store (issue 10): registration,
// metadata, topic creation through the cluster, leadership spread, and produce/fetch routed by
// stock clients.

import { afterEach, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { createMemoryMetadataStore } from '../../src/cluster/metadata/index.js';
import type { ClusterMetadataStore } from '../../src/cluster/metadata/store.js';
import { waitFor } from '../helpers/cluster.js';

let brokers: Broker[] = [];
let meta: ClusterMetadataStore | undefined;

async function startCluster(n: number, config: Record<string, string> = {}): Promise<Broker[]> {
  meta = createMemoryMetadataStore();
  for (let id = 1; id <= n; id++) {
    brokers.push(await startBroker({ host: '127.0.0.1', port: 0, nodeId: id, metadata: meta, config: { 'broker.session.timeout.ms': '2000', ...config } }));
  }
  // Every broker sees every other one.
  await waitFor(() => brokers.every((b) => b.clusterNode!.brokers().length === n));
  return brokers;
}


function kafkaFor(bs: Broker[]): Kafka {
  return new Kafka({ clientId: 'cluster-test', brokers: bs.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
}

afterEach(async () => {
  for (const b of brokers.reverse()) await b.close();
  brokers = [];
  await meta?.close();
  meta = undefined;
});

describe('three in-process brokers', () => {
  it('register, elect one controller and list each other in Metadata', async () => {
    const bs = await startCluster(3);
    const admin = kafkaFor(bs).admin();
    await admin.connect();
    try {
      const d = await admin.describeCluster();
      expect(d.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
      expect([1, 2, 3]).toContain(d.controller);
      const controllers = bs.filter((b) => b.clusterNode!.controller.isActive);
      expect(controllers).toHaveLength(1);
      expect(controllers[0]!.clusterNode!.controller.isActive).toBe(true);
    } finally {
      await admin.disconnect();
    }
  });

  it('creates a topic with replicas on every broker and spreads the leaders', async () => {
    const bs = await startCluster(3);
    const admin = kafkaFor(bs).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 't1', numPartitions: 6, replicationFactor: 3 }] });
      const md = await admin.fetchTopicMetadata({ topics: ['t1'] });
      const parts = md.topics[0]!.partitions;
      expect(parts).toHaveLength(6);
      for (const p of parts) {
        expect([...p.replicas].sort()).toEqual([1, 2, 3]);
        expect(p.isr.length).toBeGreaterThanOrEqual(1);
        expect(p.replicas).toContain(p.leader);
      }
      expect(new Set(parts.map((p) => p.leader)).size).toBe(3);
      // Every broker holds the topic in its own log store.
      for (const b of bs) expect(b.store.getTopic('t1')?.numPartitions).toBe(6);
      // Too many replicas for the live brokers.
      await expect(admin.createTopics({ topics: [{ topic: 't2', numPartitions: 1, replicationFactor: 4 }] })).rejects.toThrow();
    } finally {
      await admin.disconnect();
    }
  });

  it('routes acks=1 produce and consume of RF=1 partitions to their leaders', async () => {
    const bs = await startCluster(3);
    const kafka = kafkaFor(bs);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'r1', numPartitions: 3, replicationFactor: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    for (let p = 0; p < 3; p++) await producer.send({ topic: 'r1', acks: 1, messages: [{ partition: p, value: `v${p}` }] });
    await producer.disconnect();
    // Each partition's data is on its leader only.
    for (let p = 0; p < 3; p++) {
      const leader = bs.find((b) => b.replicas.roleOf('r1', p)?.kind === 'leader')!;
      expect(leader).toBeDefined();
      const recs = await leader.records('r1', p);
      expect(recs.map((r) => r.value?.toString())).toEqual([`v${p}`]);
    }
  });

  it('deletes a topic on every broker', async () => {
    const bs = await startCluster(3);
    const admin = kafkaFor(bs).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'gone', numPartitions: 2, replicationFactor: 2 }] });
      await admin.deleteTopics({ topics: ['gone'] });
      await waitFor(() => bs.every((b) => b.store.getTopic('gone') === undefined));
    } finally {
      await admin.disconnect();
    }
  });
});
