// Consumer groups in a three-broker in-process cluster (issue 10): the group coordinator is the
// leader of the group's __consumer_offsets partition; when that broker stops, another broker
// becomes leader, loads the group's offsets, and a kafkajs consumer carries on from its last
// commit without reading anything twice.

import { afterEach, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { createMemoryMetadataStore } from '../../src/cluster/metadata/index.js';
import type { ClusterMetadataStore } from '../../src/cluster/metadata/store.js';
import { OFFSETS_TOPIC, partitionForGroup } from '../../src/group/offsets-log.js';
import { waitFor } from '../helpers/cluster.js';

let brokers: Broker[] = [];
let meta: ClusterMetadataStore | undefined;
const consumers: Consumer[] = [];

const CONFIG = {
  'broker.session.timeout.ms': '1000',
  'replica.lag.time.max.ms': '2000',
  'replica.fetch.wait.max.ms': '50',
  'replica.fetch.backoff.ms': '100',
  'offsets.topic.num.partitions': '5',
  'group.initial.rebalance.delay.ms': '0',
};


function kafkaFor(bs: Broker[]): Kafka {
  return new Kafka({ clientId: 'groups-cluster', brokers: bs.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
}

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.disconnect().catch(() => {});
  for (const b of brokers.reverse()) await b.close();
  brokers = [];
  await meta?.close();
  meta = undefined;
});

describe('consumer groups in a three-broker cluster', () => {
  it('a kafkajs group resumes from its last commit after its coordinator stops', async () => {
    meta = createMemoryMetadataStore();
    for (let id = 1; id <= 3; id++) brokers.push(await startBroker({ host: '127.0.0.1', port: 0, nodeId: id, metadata: meta, config: CONFIG }));
    const bs = [...brokers];
    await waitFor(() => bs.every((b) => b.clusterNode!.brokers().length === 3));
    const kafka = kafkaFor(bs);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'g', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] });
    const producer = kafka.producer();
    await producer.connect();
    const produce = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i += 10) {
        const p = (i / 10) % 3;
        await producer.send({ topic: 'g', acks: -1, messages: Array.from({ length: 10 }, (_, j) => ({ partition: p, value: `v${i + j}` })) });
      }
    };
    await produce(0, 300);

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: 'cg', retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'g', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor(() => seen.length >= 300, 20_000, 'first 300 consumed');
    // Everything consumed is committed (kafkajs commits after each batch).
    await waitFor(async () => {
      const offs = await admin.fetchOffsets({ groupId: 'cg', topics: ['g'] });
      return offs[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0) === 300;
    }, 20_000, 'offsets committed');

    // Stop the group's coordinator: the leader of its __consumer_offsets partition.
    const offsetsPartitions = bs[0]!.store.getTopic(OFFSETS_TOPIC)!.numPartitions;
    const p = partitionForGroup('cg', offsetsPartitions);
    const coordinator = bs.find((b) => b.replicas.roleOf(OFFSETS_TOPIC, p)?.kind === 'leader')!;
    expect(coordinator).toBeDefined();
    await admin.disconnect();
    await coordinator.close();
    brokers = brokers.filter((b) => b !== coordinator);
    const rest = bs.filter((b) => b !== coordinator);
    await waitFor(() => rest.some((b) => b.replicas.roleOf(OFFSETS_TOPIC, p)?.kind === 'leader'), 10_000, 'new coordinator');
    const newCoordinator = rest.find((b) => b.replicas.roleOf(OFFSETS_TOPIC, p)?.kind === 'leader')!;
    // The new coordinator loaded the group's commits.
    const loaded = await newCoordinator.groups.fetchOffsets({ groupId: 'cg', topics: null, requireStable: false });
    expect(loaded.topics.flatMap((t) => t.partitions).reduce((n, x) => n + Number(x.committedOffset), 0)).toBe(300);

    await produce(300, 600);
    await waitFor(() => new Set(seen).size >= 600, 30_000, 'all 600 consumed');
    await consumer.stop();
    expect(new Set(seen).size).toBe(600);
    // Nothing read twice: every commit was on the ISR before it was answered.
    expect(seen.length).toBe(600);
    await producer.disconnect();
  }, 90_000);
});
