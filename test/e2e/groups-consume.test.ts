// kafkajs consumer features over a Brook group: eachBatch with manual resolveOffset and
// commitOffsetsIfNecessary, autoCommit off with explicit commitOffsets, seek back to re-read,
// and pause/resume of a topic.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Admin, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { kafkaFor, startTestBroker, waitFor } from '../helpers/broker.js';
import { partitionKeys, startTrackedConsumer, waitForStableAssignment, type TrackedConsumer } from '../helpers/groups.js';

let broker: Broker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
const consumers: TrackedConsumer[] = [];

beforeEach(async () => {
  broker = await startTestBroker();
  kafka = kafkaFor(broker);
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
  await producer?.disconnect().catch(() => {});
  await admin?.disconnect().catch(() => {});
  await broker?.close();
});

async function topicWith(topic: string, partitions: number, perPartition: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  for (let p = 0; p < partitions; p++) {
    if (perPartition > 0) await producer.send({ topic, messages: Array.from({ length: perPartition }, (_, i) => ({ partition: p, value: `p${p}-${i}` })) });
  }
}

async function committed(groupId: string, topic: string): Promise<number[]> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return t!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
}

async function track(groupId: string, topics: string[], run: Parameters<typeof startTrackedConsumer>[4] = {}): Promise<TrackedConsumer> {
  const c = await startTrackedConsumer(kafka, groupId, topics, {}, run);
  consumers.push(c);
  return c;
}

describe('kafkajs consumer features', () => {
  it('eachBatch: manual resolveOffset + commitOffsetsIfNecessary commit exactly what was resolved; unresolved messages come again', async () => {
    const topic = 'batch';
    const groupId = 'batch';
    await topicWith(topic, 1, 40);
    const deliveries: number[][] = [];
    const commitsSeen: number[][] = [];
    await track(groupId, [topic], {
      eachBatchAutoResolve: false,
      autoCommitThreshold: 1,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }: EachBatchPayload) => {
        const offsets = batch.messages.map((m) => Number(m.offset));
        deliveries.push(offsets);
        // The first batch: only its first 10 messages are processed.
        const upTo = deliveries.length === 1 ? 10 : Infinity;
        for (const m of batch.messages) {
          if (Number(m.offset) >= upTo) break;
          resolveOffset(m.offset);
        }
        await commitOffsetsIfNecessary();
        await heartbeat();
        commitsSeen.push(await committed(groupId, topic));
      },
    });
    await waitFor(() => commitsSeen.at(-1)?.[0] === 40, 10000, 20, 'everything committed');
    expect(deliveries[0]).toEqual(Array.from({ length: 40 }, (_, i) => i));
    // The commit inside the first batch was visible right away, at the first unresolved offset.
    expect(commitsSeen[0]).toEqual([10]);
    // Redelivery starts at the first unresolved message; 10-39 arrive twice in total, 0-9 once.
    expect(deliveries[1]![0]).toBe(10);
    const count = new Map<number, number>();
    for (const o of deliveries.flat()) count.set(o, (count.get(o) ?? 0) + 1);
    for (let o = 0; o < 40; o++) expect(count.get(o)).toBe(o < 10 ? 1 : 2);
  });

  it('autoCommit: false commits nothing by itself; consumer.commitOffsets does, and a restarted consumer starts there', async () => {
    const topic = 'manual';
    const groupId = 'manual';
    await topicWith(topic, 2, 20);
    const c = await track(groupId, [topic], { autoCommit: false });
    await waitFor(() => c.messages.length >= 40, 10000, 20, '40 messages');
    await new Promise((r) => setTimeout(r, 300));
    expect(await committed(groupId, topic)).toEqual([-1, -1]);

    await c.consumer.commitOffsets([
      { topic, partition: 0, offset: '15' },
      { topic, partition: 1, offset: '5' },
    ]);
    expect(await committed(groupId, topic)).toEqual([15, 5]);
    await c.disconnect();
    // Disconnecting commits nothing either.
    expect(await committed(groupId, topic)).toEqual([15, 5]);

    const again = await track(groupId, [topic], { autoCommit: false });
    await waitFor(() => again.messages.length >= 20, 10000, 20, '20 messages re-read');
    await new Promise((r) => setTimeout(r, 300));
    const got = again.messages.map((m) => `${m.partition}@${m.offset}`).sort();
    const want = [...Array.from({ length: 5 }, (_, i) => `0@${15 + i}`), ...Array.from({ length: 15 }, (_, i) => `1@${5 + i}`)].sort();
    expect(got).toEqual(want);
  });

  it('seek to an earlier offset re-reads from there, and the commit follows', async () => {
    const topic = 'seek';
    const groupId = 'seek';
    await topicWith(topic, 1, 20);
    const c = await track(groupId, [topic]);
    await waitFor(() => c.messages.length >= 20, 10000, 20, '20 messages');
    await waitFor(async () => (await committed(groupId, topic))[0] === 20, 5000, 50, 'committed 20');

    c.consumer.seek({ topic, partition: 0, offset: '5' });
    await waitFor(() => c.messages.length >= 35, 10000, 20, 're-read 5..19');
    await new Promise((r) => setTimeout(r, 300));
    expect(c.messages.slice(20).map((m) => Number(m.offset))).toEqual(Array.from({ length: 15 }, (_, i) => 5 + i));
    await waitFor(async () => (await committed(groupId, topic))[0] === 20, 5000, 50, 'committed 20 again');
  });

  it('pause stops delivery of a topic while others flow; resume restarts it where it stopped', async () => {
    const a = 'paused';
    const b = 'flowing';
    const groupId = 'pause';
    await topicWith(a, 1, 0);
    await topicWith(b, 1, 0);
    const c = await track(groupId, [a, b]);
    await waitForStableAssignment(admin, groupId, 1, [...partitionKeys(a, 1), ...partitionKeys(b, 1)]);
    await waitFor(() => c.current()?.partitions.length === 2, 5000, 20, 'joined');

    await producer.send({ topic: a, messages: [{ value: 'a0' }] });
    await waitFor(() => c.messages.some((m) => m.value === 'a0'), 5000, 20, 'a0 delivered');

    c.consumer.pause([{ topic: a }]);
    expect(c.consumer.paused()).toEqual([{ topic: a, partitions: [0] }]);
    await producer.send({ topic: a, messages: [{ value: 'a1' }, { value: 'a2' }] });
    await producer.send({ topic: b, messages: [{ value: 'b0' }] });
    await waitFor(() => c.messages.some((m) => m.value === 'b0'), 5000, 20, 'b0 delivered while a is paused');
    await new Promise((r) => setTimeout(r, 700));
    expect(c.messages.filter((m) => m.topic === a).map((m) => m.value)).toEqual(['a0']);

    c.consumer.resume([{ topic: a }]);
    await waitFor(() => c.messages.filter((m) => m.topic === a).length >= 3, 5000, 20, 'a1, a2 after resume');
    expect(c.messages.filter((m) => m.topic === a).map((m) => m.value)).toEqual(['a0', 'a1', 'a2']);
  });
});
