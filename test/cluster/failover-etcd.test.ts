// Failure tests of a three-broker cluster (issue 10): real etcd, brokers as processes of the built
// CLI with durable data directories, a kafkajs producer writing with acks=-1 and
// min.insync.replicas=2 while brokers are killed (-9), restarted, or etcd itself is restarted.
// After each scenario the brokers are stopped and every replica's files are read back: nothing
// the producer saw acknowledged is missing, and the replicas of each partition are byte-identical.

import { afterEach, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { decodeBatches } from '../../protocol/records/index.js';
import { openFileStore } from '../../src/log/file-store.js';
import { DEFAULT_LOG_CONFIG } from '../../src/log/types.js';
import { hasDist, NO_DIST } from '../helpers/cli.js';
import { ProcessCluster } from '../helpers/cluster.js';
import { hasEtcd, NO_ETCD, skipWithoutEtcd } from '../helpers/etcd.js';

const CONFIG = {
  'broker.session.timeout.ms': '2000',
  'replica.lag.time.max.ms': '3000',
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '200',
  'auto.leader.rebalance.enable': 'false',
};
const TOPIC = 'orders';
const PARTITIONS = 3;

let cluster: ProcessCluster | undefined;

afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

function kafkaFor(c: ProcessCluster): Kafka {
  return new Kafka({
    clientId: 'failover-test',
    brokers: c.bootstrap,
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    requestTimeout: 5000,
    connectionTimeout: 1000,
  });
}

async function createTopic(c: ProcessCluster): Promise<void> {
  const admin = kafkaFor(c).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Writes numbered messages with acks=-1 until stopped, one loop per partition, and remembers which
 * ones were acknowledged. Each send() goes to one partition: kafkajs 2.2.4 keeps, across the
 * retries of one send(), the answers of brokers that already answered, so when a partition's
 * leader moves to such a broker its messages are never sent and send() still resolves (seen here;
 * tulios/kafkajs#1798). One partition per send() keeps that client bug out of the count.
 */
class Load {
  readonly acked = new Set<string>();
  failures = 0;
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly producer: Producer) {}

  start(): void {
    this.done = Promise.all(
      Array.from({ length: PARTITIONS }, async (_, partition) => {
        let n = 0;
        while (!this.stopped) {
          const batch = Array.from({ length: 10 }, () => `p${partition}-${n++}`);
          try {
            await this.producer.send({ topic: TOPIC, acks: -1, timeout: 5000, messages: batch.map((v) => ({ partition, value: v })) });
            for (const v of batch) this.acked.add(v);
          } catch {
            this.failures++;
          }
        }
      }),
    ).then(() => {});
  }

  /** Resolves once `count` more messages were acknowledged. */
  async progress(count: number, timeoutMs = 30_000): Promise<void> {
    const target = this.acked.size + count;
    const end = Date.now() + timeoutMs;
    while (this.acked.size < target) {
      if (Date.now() > end) throw new Error(`no progress: ${this.acked.size}/${target} acknowledged, ${this.failures} failed sends`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** Every replica's records of every partition, read from the stopped brokers' files. */
function readReplicas(c: ProcessCluster): Map<number, Array<{ bytes: Buffer; values: string[] }>> {
  const out = new Map<number, Array<{ bytes: Buffer; values: string[] }>>();
  for (const b of c.brokers.values()) {
    const store = openFileStore(b.dataDir, { logConfig: DEFAULT_LOG_CONFIG, nodeId: b.nodeId });
    try {
      const parts: Array<{ bytes: Buffer; values: string[] }> = [];
      for (let p = 0; p < PARTITIONS; p++) {
        const log = store.partition(TOPIC, p);
        if (!log) {
          parts.push({ bytes: Buffer.alloc(0), values: [] });
          continue;
        }
        const bytes = Buffer.concat(log.read(log.logStartOffset, 1 << 30, true).chunks);
        const values = decodeBatches(bytes).flatMap((batch) => batch.records.map((r) => r.value?.toString() ?? ''));
        parts.push({ bytes, values });
      }
      out.set(b.nodeId, parts);
    } finally {
      store.close();
    }
  }
  return out;
}

/** Stops the load, lets followers catch up, stops every broker cleanly and checks the files. */
async function verify(c: ProcessCluster, load: Load): Promise<void> {
  await load.stop();
  expect(load.acked.size).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, 3000));
  for (const id of c.brokers.keys()) await c.stopBroker(id, 'SIGTERM');
  const replicas = readReplicas(c);
  const all = new Set<string>();
  for (let p = 0; p < PARTITIONS; p++) {
    const copies = [...replicas.values()].map((parts) => parts[p]!);
    for (const v of copies[0]!.values) all.add(v);
    for (const copy of copies.slice(1)) expect(copy.bytes.equals(copies[0]!.bytes), `replicas of partition ${p} differ`).toBe(true);
  }
  const missing = [...load.acked].filter((v) => !all.has(v));
  if (missing.length > 0 && process.env.BROOK_DEBUG_FAILOVER) {
    for (const [id, parts] of replicas) {
      parts.forEach((part, p) => {
        const batches = decodeBatches(part.bytes);
        process.stderr.write(`broker ${id} p${p}: ${part.values.length} records; batches ${batches.map((b) => `${b.header.baseOffset}@e${b.header.partitionLeaderEpoch}[${b.records.map((r) => r.value?.toString()).join(',')}]`).join(' ')}\n`);
      });
    }
    for (const id of c.brokers.keys()) process.stderr.write(`--- broker ${id}\n${c.logs(id).split('\n').filter((l) => /truncat|elected|ISR|leader|controller|session/i.test(l)).join('\n')}\n`);
  }
  expect(missing, `acknowledged messages lost: ${missing.slice(0, 10).join(', ')}`).toEqual([]);
}

async function leaderOf(c: ProcessCluster, partition: number): Promise<number> {
  const admin = kafkaFor(c).admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    return md.topics[0]!.partitions.find((p) => p.partitionId === partition)!.leader;
  } finally {
    await admin.disconnect();
  }
}

describe.skipIf(skipWithoutEtcd || !hasDist)(`three brokers and etcd as processes (${!hasEtcd ? NO_ETCD : !hasDist ? NO_DIST : 'etcd + built CLI'})`, () => {
  async function scenario(fault: (c: ProcessCluster, load: Load) => Promise<void>): Promise<void> {
    cluster = await ProcessCluster.start(3, { config: CONFIG });
    await createTopic(cluster);
    const producer = kafkaFor(cluster).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const load = new Load(producer);
    load.start();
    try {
      await load.progress(200);
      await fault(cluster, load);
      await load.progress(200);
    } finally {
      await load.stop();
      await producer.disconnect().catch(() => {});
    }
    await verify(cluster, load);
  }

  it('kill -9 of a partition leader under load', async () => {
    await scenario(async (c) => {
      const leader = await leaderOf(c, 0);
      await c.stopBroker(leader, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      await c.startBroker(leader);
    });
  }, 120_000);

  it('kill -9 of a follower under load', async () => {
    await scenario(async (c) => {
      const leader = await leaderOf(c, 0);
      const follower = [1, 2, 3].find((id) => id !== leader)!;
      await c.stopBroker(follower, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 3000));
      await c.startBroker(follower);
    });
  }, 120_000);

  it('kill -9 of the controller under load', async () => {
    await scenario(async (c) => {
      const admin = kafkaFor(c).admin();
      await admin.connect();
      const { controller } = await admin.describeCluster();
      await admin.disconnect();
      await c.stopBroker(controller!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 3000));
      await c.startBroker(controller!);
    });
  }, 120_000);

  it('a rolling restart of all three brokers under load', async () => {
    await scenario(async (c, load) => {
      for (const id of [1, 2, 3]) {
        await c.stopBroker(id, 'SIGTERM');
        await c.startBroker(id);
        await load.progress(50);
      }
    });
  }, 180_000);

  it('etcd restarted under load', async () => {
    await scenario(async (c, load) => {
      await c.etcd.restart('SIGKILL');
      await load.progress(50);
    });
  }, 120_000);
});
