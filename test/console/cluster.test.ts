// A console on one broker of a cluster shows the whole cluster: it reads through Brook's own
// client from its broker's bootstrap address, then follows the metadata like any client (three
// in-process brokers sharing an in-memory metadata store).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { createMemoryMetadataStore } from '../../src/cluster/metadata/index.js';
import type { ClusterMetadataStore } from '../../src/cluster/metadata/store.js';
import { waitFor } from '../helpers/cluster.js';

type Json = Record<string, any>;

const brokers: Broker[] = [];
let meta: ClusterMetadataStore;

beforeAll(async () => {
  meta = createMemoryMetadataStore();
  for (let id = 1; id <= 3; id++) {
    brokers.push(await startBroker({ host: '127.0.0.1', port: 0, nodeId: id, metadata: meta, httpPort: id === 3 ? 0 : undefined, config: { 'broker.session.timeout.ms': '2000' } }));
  }
  await waitFor(() => brokers.every((b) => b.clusterNode!.brokers().length === 3));
}, 30_000);

afterAll(async () => {
  for (const b of [...brokers].reverse()) await b.close();
  await meta?.close();
});

describe('console on one broker of three', () => {
  it('lists every broker, partitions led anywhere, and records from every leader', async () => {
    const kafka = new Kafka({ clientId: 'console-cluster', brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 6, replicationFactor: 3 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'spread', messages: [0, 1, 2, 3, 4, 5].map((p) => ({ partition: p, value: `p${p}` })) });
    await producer.disconnect();

    const base = brokers[2]!.httpUrl!;
    const get = async (path: string): Promise<Json> => (await (await fetch(`${base}${path}`)).json()) as Json;
    const c = await get('/api/cluster');
    expect(c.brokers.map((b: Json) => b.nodeId)).toEqual([1, 2, 3]);
    const t = await get('/api/topics/spread');
    expect(new Set(t.partitions.map((p: Json) => p.leader)).size).toBe(3);
    expect(t.partitions.map((p: Json) => p.latestOffset)).toEqual([1, 1, 1, 1, 1, 1]);
    for (const p of t.partitions) expect(p.sizeBytes).toBeGreaterThan(0);
    for (let p = 0; p < 6; p++) {
      const m = await get(`/api/topics/spread/messages?partition=${p}&offset=0`);
      expect(m.records.map((r: Json) => r.value.text)).toEqual([`p${p}`]);
    }
    expect((await get('/api/topics?q=spread')).topics[0]).toMatchObject({ partitions: 6, replicationFactor: 3, messages: 6 });
  }, 30_000);
});
