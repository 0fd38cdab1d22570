// Issue 11: brokers of a cluster talk to each other over a secured listener
// (inter.broker.listener.name): replication and transaction markers over SASL_SSL with SCRAM, the
// brokers' user from the listener's JAAS entry, SCRAM credentials shared through the cluster
// metadata (created on one broker, known to all); clients stay on a PLAINTEXT listener. Three
// in-process brokers over one in-memory metadata store.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { createMemoryMetadataStore } from '../../src/cluster/metadata/index.js';
import type { ClusterMetadataStore } from '../../src/cluster/metadata/store.js';
import { credentialFromPassword } from '../../src/security/scram.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { waitFor } from '../helpers/cluster.js';

let pki: TestPki;
let tls: { key: string; cert: string; ca: string };
let brokers: Broker[] = [];
let meta: ClusterMetadataStore | undefined;

beforeAll(() => {
  pki = makePki();
  // The listener's truststore (ca) is what a broker trusts when it connects to the others.
  tls = { key: pki.pem('server.key'), cert: pki.pem('server.crt'), ca: pki.pem('ca.crt') };
});
afterAll(() => pki.remove());
afterEach(async () => {
  for (const b of brokers.reverse()) await b.close();
  brokers = [];
  await meta?.close();
  meta = undefined;
});

const BASE = {
  'broker.session.timeout.ms': '1000',
  'replica.lag.time.max.ms': '3000',
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '100',
  'connection.failed.authentication.delay.ms': '0',
  'inter.broker.listener.name': 'INTERNAL',
  'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
};

describe('a cluster whose brokers replicate over SASL_SSL', () => {
  it('replicates acks=all writes and commits transactions once the brokers\' SCRAM user exists', async () => {
    meta = createMemoryMetadataStore();
    for (let id = 1; id <= 3; id++) {
      brokers.push(
        await startBroker({
          nodeId: id,
          metadata: meta,
          config: BASE,
          listeners: [
            { name: 'CLIENT', protocol: 'PLAINTEXT', port: 0 },
            {
              name: 'INTERNAL',
              protocol: 'SASL_SSL',
              port: 0,
              tls,
              sasl: { mechanisms: ['SCRAM-SHA-512'], clientUsers: { 'SCRAM-SHA-512': { username: 'broker', password: 'broker-secret' } } },
            },
          ],
        }),
      );
    }
    await waitFor(() => brokers.every((b) => b.clusterNode!.brokers().length === 3));
    // Registrations carry the INTERNAL address as the one brokers use.
    const internalPort = (b: Broker): number => b.listeners.find((l) => l.name === 'INTERNAL')!.port;
    expect(brokers[0]!.clusterNode!.brokers().map((r) => r.port).sort()).toEqual(brokers.map(internalPort).sort());
    // One broker learns the user; the others see it through the metadata store.
    await brokers[0]!.scram.alter([{ user: 'broker', mechanism: 'SCRAM-SHA-512', credential: await credentialFromPassword('SCRAM-SHA-512', 'broker-secret') }]);
    await waitFor(() => brokers.every((b) => b.scram.get('broker', 'SCRAM-SHA-512') !== undefined), 5000, 'the user on every broker');

    const kafka = new Kafka({ clientId: 'ib', brokers: brokers.map((b) => `127.0.0.1:${b.listeners.find((l) => l.name === 'CLIENT')!.port}`), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'ib', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '3' }] }] });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (let i = 0; i < 12; i++) await producer.send({ topic: 'ib', acks: -1, messages: [{ partition: i % 3, value: `v${i}` }] });
    await producer.disconnect();
    // min.insync.replicas=3 and acks=all: every write reached both followers over SASL_SSL.
    for (const b of brokers) {
      for (let p = 0; p < 3; p++) {
        await waitFor(() => b.store.partition('ib', p)?.logEndOffset === 4n, 10_000, `broker ${b.clusterNode!.nodeId} partition ${p}`);
      }
    }
    // Transaction markers travel between brokers too.
    const tx = kafka.producer({ transactionalId: 'ib-tx', idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await tx.connect();
    const t = await tx.transaction();
    for (let p = 0; p < 3; p++) await t.send({ topic: 'ib', acks: -1, messages: [{ partition: p, value: `tx${p}` }] });
    await t.commit();
    await tx.disconnect();
    for (let p = 0; p < 3; p++) {
      const leader = brokers.find((b) => b.replicas.roleOf('ib', p)?.kind === 'leader')!;
      await waitFor(async () => (await leader.records('ib', p, { isolation: 'read_committed' })).some((r) => r.value?.toString() === `tx${p}`), 10_000, `committed tx on partition ${p}`);
    }
  });

  it('refuses a SASL inter-broker listener without the broker\'s user, and an unknown listener name', async () => {
    await expect(
      startBroker({
        nodeId: 1,
        metadata: createMemoryMetadataStore(),
        config: { 'inter.broker.listener.name': 'INTERNAL' },
        listeners: [{ name: 'INTERNAL', protocol: 'SASL_PLAINTEXT', port: 0, sasl: { mechanisms: ['PLAIN'] } }],
      }),
    ).rejects.toThrow(/give the broker's user as username=/);
    await expect(startBroker({ nodeId: 1, metadata: createMemoryMetadataStore(), config: { 'inter.broker.listener.name': 'NOPE' } })).rejects.toThrow(/inter.broker.listener.name NOPE is not a listener/);
  });
});
