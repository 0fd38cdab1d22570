// Issue 8: kafkajs admin.deleteTopicRecords (DeleteRecords) end to end on both stores: the log start
// moves, consumers starting from the beginning (or from a committed offset now below the start)
// begin at the new start, errors reach the client, and with the file store the new start survives
// a restart. DescribeLogDirs and OffsetForLeaderEpoch over the wire on the file store (kafkajs
// sends neither; librdkafka 2.0.2 does not send OffsetForLeaderEpoch either).

import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { clientApi, type RawClient } from '../../src/client/raw-client.js';
import { ErrorCode } from '../../protocol/errors.js';
import * as G from '../../protocol/generated/index.js';
import { kafkaFor, rawClient, startTestBroker, waitFor } from '../helpers/broker.js';
import { rawCommit, startTrackedConsumer, type TrackedConsumer } from '../helpers/groups.js';

const describeLogDirsApi = clientApi(G.DescribeLogDirsApi, G.encodeDescribeLogDirsRequest, G.decodeDescribeLogDirsResponse);
const offsetForLeaderEpochApi = clientApi(G.OffsetForLeaderEpochApi, G.encodeOffsetForLeaderEpochRequest, G.decodeOffsetForLeaderEpochResponse);

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // best effort: the next cleanup still runs
    }
  }
});

function tmpDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'brook-e2e-admin-log-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function open(dataDir?: string): Promise<{ broker: Broker; kafka: Kafka }> {
  const broker = await startTestBroker(dataDir === undefined ? {} : { dataDir });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await broker.close();
  };
  cleanups.push(close);
  return { broker, kafka: kafkaFor(broker) };
}

async function consume(kafka: Kafka, groupId: string, topic: string, expected: number): Promise<TrackedConsumer> {
  const c = await startTrackedConsumer(kafka, groupId, [topic]);
  cleanups.push(() => c.disconnect());
  await waitFor(() => c.messages.length >= expected, 10000, 20, `${expected} messages for ${groupId}`);
  return c;
}

const seen = (c: TrackedConsumer) => c.messages.map((m) => `${m.partition}@${m.offset}=${m.value}`).sort();

const TOPIC = 'purge';

/** 10 records on partition 0 (in 5 batches of 2), 4 on partition 1 (one batch). */
async function seed(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < 10; i += 2) {
    await producer.send({ topic: TOPIC, messages: [0, 1].map((d) => ({ partition: 0, value: `a${i + d}` })) });
  }
  await producer.send({ topic: TOPIC, messages: [0, 1, 2, 3].map((i) => ({ partition: 1, value: `b${i}` })) });
  await producer.disconnect();
}

describe.each(['memory', 'file'] as const)('kafkajs admin.deleteTopicRecords (%s store)', (store) => {
  it('moves the log start: fetchTopicOffsets, fresh and out-of-range consumers start there, errors reach the client', async () => {
    const dataDir = store === 'file' ? tmpDataDir() : undefined;
    const { broker, kafka } = await open(dataDir);
    await seed(kafka);
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.fetchTopicMetadata({ topics: [TOPIC] }); // kafkajs finds leaders in metadata it holds

    // A group whose committed offsets will fall below the new start.
    const raw = await rawClient(broker);
    await rawCommit(raw, 'committed-early', TOPIC, { 0: 2n, 1: 1n });
    raw.close();

    // Offset 5 is inside the third batch (offsets 4-5): the start is exact, not a batch boundary.
    await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '-1' }] });
    const offsets = (await admin.fetchTopicOffsets(TOPIC)).sort((a, b) => a.partition - b.partition);
    expect(offsets.map(({ partition, low, high }) => ({ partition, low, high }))).toEqual([
      { partition: 0, low: '5', high: '10' },
      { partition: 1, low: '4', high: '4' },
    ]);

    const want = ['0@5=a5', '0@6=a6', '0@7=a7', '0@8=a8', '0@9=a9'];
    const fresh = await consume(kafka, 'fresh', TOPIC, want.length);
    const early = await consume(kafka, 'committed-early', TOPIC, want.length);
    // A new record on the emptied partition is read at the offset after the old end.
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({ topic: TOPIC, messages: [{ partition: 1, value: 'b4' }] });
    await waitFor(() => fresh.messages.length >= 6 && early.messages.length >= 6, 10000, 20, 'the record after the purge');
    expect(seen(fresh)).toEqual([...want, '1@4=b4'].sort());
    expect(seen(early)).toEqual([...want, '1@4=b4'].sort());

    // Kafka's errors, as kafkajs reports them per partition.
    const err = await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '11' }] }).catch((e: unknown) => e);
    // kafkajs' retrier wraps the non-retriable KafkaJSDeleteTopicRecordsError (its `cause`).
    expect(err).toMatchObject({ name: 'KafkaJSNonRetriableError', cause: { name: 'KafkaJSDeleteTopicRecordsError' } });
    const cause = (err as { cause: { partitions: Array<{ partition: number; error: { type: string } }> } }).cause;
    expect(cause.partitions.map((p) => [p.partition, p.error.type])).toEqual([[0, 'OFFSET_OUT_OF_RANGE']]);
    // A smaller offset than the start changes nothing (kafkajs only warns).
    await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '1' }] });
    expect((await admin.fetchTopicOffsets(TOPIC)).find((p) => p.partition === 0)!.low).toBe('5');
  });
});

describe('file store', () => {
  it('keeps the new log start across a restart; DescribeLogDirs and OffsetForLeaderEpoch report the data dir and the epoch end', async () => {
    const dataDir = tmpDataDir();
    const first = await open(dataDir);
    await seed(first.kafka);
    const admin = first.kafka.admin();
    await admin.connect();
    // kafkajs finds the leaders in metadata it already holds (KafkaJSTopicMetadataNotLoaded otherwise).
    await admin.fetchTopicMetadata({ topics: [TOPIC] });
    await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '7' }, { partition: 1, offset: '2' }] });
    await admin.disconnect();
    await first.broker.close();

    const { broker, kafka } = await open(dataDir);
    const admin2 = kafka.admin();
    await admin2.connect();
    cleanups.push(() => admin2.disconnect());
    const offsets = (await admin2.fetchTopicOffsets(TOPIC)).sort((a, b) => a.partition - b.partition);
    expect(offsets.map(({ partition, low, high }) => ({ partition, low, high }))).toEqual([
      { partition: 0, low: '7', high: '10' },
      { partition: 1, low: '2', high: '4' },
    ]);
    const c = await consume(kafka, 'after-restart', TOPIC, 5);
    expect(seen(c)).toEqual(['0@7=a7', '0@8=a8', '0@9=a9', '1@2=b2', '1@3=b3']);

    const raw: RawClient = await rawClient(broker);
    cleanups.push(() => raw.close());
    const dirs = await raw.request(describeLogDirsApi, 4, { topics: [{ topic: TOPIC, partitions: [0, 1] }] });
    expect(dirs.errorCode).toBe(ErrorCode.NONE);
    expect(dirs.results).toHaveLength(1);
    const d = dirs.results[0]!;
    expect(d.errorCode).toBe(ErrorCode.NONE);
    expect(realpathSync(d.logDir)).toBe(realpathSync(dataDir));
    expect(d.totalBytes).toBeGreaterThan(0n);
    expect(d.usableBytes).toBeGreaterThan(0n);
    expect(d.usableBytes).toBeLessThanOrEqual(d.totalBytes);
    // One segment per partition, nothing dropped from it: the whole .log file is counted.
    const sizes = d.topics[0]!.partitions.map((p) => [p.partitionIndex, p.partitionSize > 0n, p.offsetLag, p.isFutureKey]);
    expect(d.topics[0]!.name).toBe(TOPIC);
    expect(sizes).toEqual([
      [0, true, 0n, false],
      [1, true, 0n, false],
    ]);

    // A single node keeps every partition at epoch 0: it ends at the log end offset.
    const epochs = await raw.request(offsetForLeaderEpochApi, 4, {
      replicaId: -1,
      topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }, { partition: 1, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
    });
    expect(epochs.topics[0]!.partitions.map((p) => [p.partition, p.errorCode, p.leaderEpoch, p.endOffset])).toEqual([
      [0, ErrorCode.NONE, 0, 10n],
      [1, ErrorCode.NONE, 0, 4n],
    ]);
  });
});
