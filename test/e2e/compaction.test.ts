// Issue 8: a compacted topic with real clients: kafkajs writes several versions of each key, the
// broker's cleaner (log.cleaner.backoff.ms) compacts the inactive segments, and kcat reads back
// one record per key with its latest value, at its original offset. kafkajs gets INVALID_RECORD
// for a record without a key, and an idempotent producer whose records the cleaner removed keeps
// producing in sequence (its last batch stays, empty) while consumers read past that batch.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { decodeBatches } from '../../protocol/records/index.js';
import { NO_KCAT, hasKcat, kafkaFor, runKcat, startTestBroker, waitFor } from '../helpers/broker.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!hasKcat).each([
  ['memory', false],
  ['file', true],
])(`compacted topic end to end (%s store; ${hasKcat ? 'kcat' : NO_KCAT})`, (_name, durable) => {
  it('kcat reads one record per key, the latest, after the cleaner ran', async () => {
    let dataDir: string | undefined;
    if (durable) {
      dataDir = mkdtempSync(join(tmpdir(), 'brook-compact-e2e-'));
      cleanups.push(() => rmSync(dataDir!, { recursive: true, force: true }));
    }
    const b: Broker = await startTestBroker({ dataDir, config: { 'log.cleaner.backoff.ms': '50' } });
    cleanups.push(() => b.close());
    const kafka = kafkaFor(b);
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({
      topics: [{ topic: 'table', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '2048' }] }],
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    for (let round = 0; round < 20; round++) {
      await producer.send({ topic: 'table', messages: ['k0', 'k1', 'k2', 'k3', 'k4'].map((key) => ({ key, value: `${key}-v${round}` })) });
    }
    // A record larger than a segment: everything before it is in inactive segments now.
    await producer.send({ topic: 'table', messages: [{ key: 'big', value: 'x'.repeat(4096) }] });
    const log = b.store.partition('table', 0)!;
    const end = log.logEndOffset;
    // The cleaner runs every 50 ms: wait until the 20 batches of the keys are down to the last one.
    const batches = () => log.read(log.logStartOffset, 1 << 22, true).chunks.length;
    await waitFor(() => batches() <= 2, 10_000, 50, 'a compaction pass');
    const r = await runKcat(['-C', '-b', b.bootstrap, '-t', 'table', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %k=%s\\n']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').filter((l) => !l.includes('=xxxx'));
    expect(lines).toEqual(['k0', 'k1', 'k2', 'k3', 'k4'].map((k, i) => `${95 + i} ${k}=${k}-v19`));
    expect(log.logEndOffset).toBe(end);
  });
});

describe('compacted topics and kafkajs (issue 8)', () => {
  it('a compacted topic refuses records without a key (INVALID_RECORD, as Kafka 2.4+); a delete topic takes them', async () => {
    const b = await startTestBroker();
    cleanups.push(() => b.close());
    const kafka = kafkaFor(b);
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({
      topics: [
        { topic: 'table', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }] },
        { topic: 'events', numPartitions: 1 },
      ],
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const err = await producer.send({ topic: 'table', messages: [{ key: 'k', value: 'keyed' }, { value: 'no key' }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'INVALID_RECORD', retriable: false });
    // Nothing of the refused batch was appended.
    expect(b.store.partition('table', 0)!.logEndOffset).toBe(0n);
    await producer.send({ topic: 'table', messages: [{ key: 'k', value: 'keyed' }] });
    await producer.send({ topic: 'events', messages: [{ value: 'no key' }] });
    expect(b.store.partition('table', 0)!.logEndOffset).toBe(1n);
    expect(b.store.partition('events', 0)!.logEndOffset).toBe(1n);
  });

  it('an idempotent producer whose records the cleaner removed keeps its sequence, across a restart; consumers read past the empty batch', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'brook-compact-e2e-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const config = { 'log.cleaner.backoff.ms': '50' };
    let b: Broker = await startTestBroker({ dataDir, config });
    let closed = false;
    cleanups.push(() => (closed ? undefined : b.close()));
    const port = b.port;
    const kafka = kafkaFor(`127.0.0.1:${port}`, { retry: { retries: 20, initialRetryTime: 50, maxRetryTime: 500 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: 'table', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '1024' }] }],
    });
    await admin.disconnect();
    const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await idem.connect();
    cleanups.push(() => idem.disconnect());
    await idem.send({ topic: 'table', messages: ['a', 'b', 'c'].map((key) => ({ key, value: `idem-${key}` })) });
    const plain = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await plain.connect();
    cleanups.push(() => plain.disconnect());
    await plain.send({ topic: 'table', messages: ['a', 'b', 'c'].map((key) => ({ key, value: `plain-${key}` })) });
    await plain.send({ topic: 'table', messages: [{ key: 'big', value: 'x'.repeat(2048) }] });
    const log = b.store.partition('table', 0)!;
    // The cleaner empties the idempotent producer's batch and keeps it (its last one).
    const first = () => decodeBatches(Buffer.concat(b.store.partition('table', 0)!.read(0n, 1 << 20, true).chunks))[0]!;
    await waitFor(() => first().header.recordCount === 0, 10_000, 50, 'a compaction pass');
    expect(first().header).toMatchObject({ baseOffset: 0n, lastOffsetDelta: 2, baseSequence: 0 });
    expect(first().header.producerId).toBeGreaterThanOrEqual(0n);
    const end = log.logEndOffset;

    const consume = async (groupId: string, until: bigint): Promise<string[]> => {
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
      await consumer.connect();
      const seen: string[] = [];
      let last = -1n;
      await consumer.subscribe({ topic: 'table', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(`${message.offset} ${message.key}=${message.value!.length > 20 ? 'big' : message.value}`);
          last = BigInt(message.offset);
        },
      });
      await waitFor(() => last >= until - 1n, 10_000, 20, 'the consumer to reach the end');
      await consumer.disconnect();
      return seen;
    };
    expect(await consume('g1', end)).toEqual(['3 a=plain-a', '4 b=plain-b', '5 c=plain-c', '6 big=big']);

    // Restart without producer snapshots: the state comes from the log, the empty batch included.
    await b.close();
    closed = true;
    for (const f of readdirSync(join(dataDir, 'table-0'))) if (f.endsWith('.snapshot')) rmSync(join(dataDir, 'table-0', f));
    b = await startTestBroker({ dataDir, config, port });
    closed = false;
    cleanups.push(() => (closed ? undefined : b.close()));
    expect(b.store.partition('table', 0)!.producerState.describe()).toContainEqual(expect.objectContaining({ lastSequence: 2 }));
    // The same producer goes on where it was (sequence 3).
    await idem.send({ topic: 'table', messages: [{ key: 'd', value: 'idem-d' }] });
    expect(await consume('g2', end + 1n)).toEqual(['3 a=plain-a', '4 b=plain-b', '5 c=plain-c', '6 big=big', `${end} d=idem-d`]);
  });
});
