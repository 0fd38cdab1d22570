// Issue 7: idempotent and transactional producers over real sockets with kafkajs, read by
// read_committed and read_uncommitted consumers, on both stores and across restarts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Partitioners, type Kafka } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { kafkaFor, startTestBroker, waitFor } from '../helpers/broker.js';
import { NO_DIST, hasDist, startCliBroker } from '../helpers/cli.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // best effort
    }
  }
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'brook-txn-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function broker(opts: Parameters<typeof startTestBroker>[0] = {}): Promise<Broker> {
  const b = await startTestBroker(opts);
  cleanups.push(() => b.close());
  return b;
}

async function createTopic(kafka: Kafka, topic: string, numPartitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
  await admin.disconnect();
}

/** Reads every value of `topic` from the beginning with the given isolation, until `count` or timeout. */
async function consumeValues(kafka: Kafka, topic: string, readUncommitted: boolean, count: number, timeoutMs = 8000): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `reader-${Math.random().toString(36).slice(2)}`, readUncommitted, maxWaitTimeInMs: 100 });
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
  try {
    await waitFor(() => values.length >= count, timeoutMs, 20, `${count} values`).catch(() => undefined);
    // A little longer: nothing more may arrive.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await consumer.disconnect();
  }
  return values;
}

describe.each([
  ['memory', false],
  ['file', true],
])('transactions (%s store)', (_name, durable) => {
  it('idempotent producer: sends are accepted and read once', async () => {
    const b = await broker(durable ? { dataDir: tempDir() } : {});
    const kafka = kafkaFor(b);
    await createTopic(kafka, 'idem', 2);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let i = 0; i < 20; i++) await producer.send({ topic: 'idem', messages: [{ key: `k${i}`, value: `v${i}` }] });
    await producer.disconnect();
    const values = await consumeValues(kafka, 'idem', true, 20);
    expect(values.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
  });

  it('commit is visible to read_committed, abort is not; read_uncommitted sees both', async () => {
    const b = await broker(durable ? { dataDir: tempDir() } : {});
    const kafka = kafkaFor(b);
    await createTopic(kafka, 'tx', 1);
    const producer = kafka.producer({ transactionalId: 'tx-1', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const t1 = await producer.transaction();
    await t1.send({ topic: 'tx', messages: [{ value: 'c1' }, { value: 'c2' }] });
    await t1.commit();
    const t2 = await producer.transaction();
    await t2.send({ topic: 'tx', messages: [{ value: 'a1' }] });
    await t2.abort();
    const t3 = await producer.transaction();
    await t3.send({ topic: 'tx', messages: [{ value: 'c3' }] });
    await t3.commit();
    await producer.disconnect();
    expect(await consumeValues(kafka, 'tx', false, 3)).toEqual(['c1', 'c2', 'c3']);
    expect(await consumeValues(kafka, 'tx', true, 4)).toEqual(['c1', 'c2', 'a1', 'c3']);
  });

  it('an open transaction holds back read_committed until it commits', async () => {
    const b = await broker(durable ? { dataDir: tempDir() } : {});
    const kafka = kafkaFor(b);
    await createTopic(kafka, 'held', 1);
    const plain = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await plain.connect();
    const producer = kafka.producer({ transactionalId: 'tx-held', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const t = await producer.transaction();
    await t.send({ topic: 'held', messages: [{ value: 'in-txn' }] });
    await plain.send({ topic: 'held', messages: [{ value: 'after' }] });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    // read_committed LATEST is the LSO (the transaction's first offset), the high watermark is 2.
    const committed = await admin.fetchTopicOffsets('held');
    expect(committed[0]!.high).toBe('0');
    await t.commit();
    const after = await admin.fetchTopicOffsets('held');
    expect(after[0]!.high).toBe('3');
    expect(await consumeValues(kafka, 'held', false, 2)).toEqual(['in-txn', 'after']);
    await plain.disconnect();
    await producer.disconnect();
  });

  it('sendOffsets commits consumer offsets with the transaction, abort drops them', async () => {
    const b = await broker(durable ? { dataDir: tempDir() } : {});
    const kafka = kafkaFor(b);
    await createTopic(kafka, 'in', 1);
    await createTopic(kafka, 'out', 1);
    const producer = kafka.producer({ transactionalId: 'tx-offsets', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());

    const t1 = await producer.transaction();
    await t1.send({ topic: 'out', messages: [{ value: 'x' }] });
    await t1.sendOffsets({ consumerGroupId: 'g-txn', topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '5' }] }] });
    await t1.abort();
    let offsets = await admin.fetchOffsets({ groupId: 'g-txn', topics: ['in'] });
    expect(offsets[0]!.partitions[0]!.offset).toBe('-1');

    const t2 = await producer.transaction();
    await t2.send({ topic: 'out', messages: [{ value: 'y' }] });
    await t2.sendOffsets({ consumerGroupId: 'g-txn', topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '7' }] }] });
    await t2.commit();
    offsets = await admin.fetchOffsets({ groupId: 'g-txn', topics: ['in'] });
    expect(offsets[0]!.partitions[0]!.offset).toBe('7');
    await producer.disconnect();
  });

  it('a second producer with the same transactional id fences the first', async () => {
    const b = await broker(durable ? { dataDir: tempDir() } : {});
    const kafka = kafkaFor(b);
    await createTopic(kafka, 'fence', 1);
    const p1 = kafka.producer({ transactionalId: 'tx-fence', maxInFlightRequests: 1, idempotent: true, retry: { retries: 1, initialRetryTime: 20 } });
    await p1.connect();
    const t1 = await p1.transaction();
    await t1.send({ topic: 'fence', messages: [{ value: 'zombie' }] });
    const p2 = kafka.producer({ transactionalId: 'tx-fence', maxInFlightRequests: 1, idempotent: true });
    await p2.connect();
    // kafkajs sends InitProducerId with the first transaction(): it aborts p1's open
    // transaction and fences p1 (epoch bump).
    const t2 = await p2.transaction();
    await expect(t1.commit()).rejects.toThrow();
    await t2.send({ topic: 'fence', messages: [{ value: 'ok' }] });
    await t2.commit();
    expect(await consumeValues(kafka, 'fence', false, 1)).toEqual(['ok']);
    await p2.disconnect();
    await p1.disconnect().catch(() => undefined);
  });
});

describe('retries and crashes', () => {
  it('a Produce whose response is lost is retried by the idempotent producer and stored once', async () => {
    const b = await broker();
    const kafka = kafkaFor(b, { retry: { retries: 5, initialRetryTime: 20 } });
    await createTopic(kafka, 'lost', 1);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: 'lost', messages: [{ value: 'first' }] });
    b.faults.dropResponses(0, 2); // the next two Produce requests are appended, then their responses are lost
    await producer.send({ topic: 'lost', messages: [{ value: 'retried' }] });
    expect(b.faults.pendingDrops(0)).toBe(0);
    await producer.send({ topic: 'lost', messages: [{ value: 'last' }] });
    await producer.disconnect();
    expect(await consumeValues(kafka, 'lost', true, 3)).toEqual(['first', 'retried', 'last']);
  });

  it('without idempotence the same lost response duplicates the record (the hook really drops it)', async () => {
    const b = await broker();
    const kafka = kafkaFor(b, { retry: { retries: 5, initialRetryTime: 20 } });
    await createTopic(kafka, 'dup', 1);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    b.faults.dropResponses(0, 1);
    await producer.send({ topic: 'dup', messages: [{ value: 'twice' }] });
    await producer.disconnect();
    expect(await consumeValues(kafka, 'dup', true, 2)).toEqual(['twice', 'twice']);
  });

  it('a transaction open across a clean broker restart commits afterwards', async () => {
    const dataDir = tempDir();
    const first = await startTestBroker({ dataDir });
    const port = first.port;
    let b: Broker = first;
    cleanups.push(() => b.close());
    const kafka = kafkaFor(b, { retry: { retries: 10, initialRetryTime: 50 } });
    await createTopic(kafka, 'restart-tx', 1);
    const producer = kafka.producer({ transactionalId: 'tx-restart', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const t1 = await producer.transaction();
    await t1.send({ topic: 'restart-tx', messages: [{ value: 'committed-before' }] });
    await t1.commit();
    const t2 = await producer.transaction();
    await t2.send({ topic: 'restart-tx', messages: [{ value: 'across' }] });
    await first.close();
    b = await startTestBroker({ dataDir, port });
    // The coordinator reloaded the Ongoing transaction and the partition its open transaction.
    expect(b.txns.get('tx-restart')?.state).toBe('Ongoing');
    await t2.send({ topic: 'restart-tx', messages: [{ value: 'after-restart' }] });
    await t2.commit();
    await producer.disconnect();
    expect(await consumeValues(kafka, 'restart-tx', false, 3)).toEqual(['committed-before', 'across', 'after-restart']);
  });
});

describe.skipIf(!hasDist)(`kill -9 mid-transaction (${hasDist ? 'CLI' : NO_DIST})`, () => {
  it('after a restart the open transaction holds the LSO until the coordinator aborts it at its timeout; committed data stays', async () => {
    const dataDir = tempDir();
    const args = ['--set', 'transaction.abort.timed.out.transaction.cleanup.interval.ms=200'];
    const first = await startCliBroker(dataDir, args);
    cleanups.push(() => first.kill());
    const kafka1 = kafkaFor(first.bootstrap, { retry: { retries: 3, initialRetryTime: 50 } });
    await createTopic(kafka1, 'crash-tx', 1);
    const producer = kafka1.producer({ transactionalId: 'tx-crash', transactionTimeout: 3000, maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const t1 = await producer.transaction();
    await t1.send({ topic: 'crash-tx', messages: [{ value: 'c1' }, { value: 'c2' }] });
    await t1.commit();
    const t2 = await producer.transaction();
    await t2.send({ topic: 'crash-tx', messages: [{ value: 'open-1' }, { value: 'open-2' }] });
    first.child.kill('SIGKILL');
    await first.exited;
    await producer.disconnect().catch(() => undefined);

    const second = await startCliBroker(dataDir, args);
    cleanups.push(() => second.kill());
    const kafka2 = kafkaFor(second.bootstrap);
    const admin = kafka2.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    // Recovered producer state: the open transaction (offsets 3-4) holds read_committed at 3.
    const held = await admin.fetchTopicOffsets('crash-tx');
    expect(held[0]!.high).toBe('3');
    // The coordinator aborts it once transaction.timeout.ms (3 s) has passed: LSO = end.
    await waitFor(async () => (await admin.fetchTopicOffsets('crash-tx'))[0]!.high === '6', 15000, 100, 'timeout abort');
    expect(await consumeValues(kafka2, 'crash-tx', false, 2)).toEqual(['c1', 'c2']);
    expect(await consumeValues(kafka2, 'crash-tx', true, 4)).toEqual(['c1', 'c2', 'open-1', 'open-2']);
    // The same transactional id can start again (fenced epoch bumped by the abort).
    const again = kafka2.producer({ transactionalId: 'tx-crash', maxInFlightRequests: 1, idempotent: true });
    await again.connect();
    const t3 = await again.transaction();
    await t3.send({ topic: 'crash-tx', messages: [{ value: 'c3' }] });
    await t3.commit();
    await again.disconnect();
    expect(await consumeValues(kafka2, 'crash-tx', false, 3)).toEqual(['c1', 'c2', 'c3']);
  });
});
