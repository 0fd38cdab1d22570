// Consumer groups end to end with kafkajs against an in-process broker on real sockets:
// partitions are shared out disjointly, a stable group reads every message exactly once, a clean
// leave and a new member rebalance at once, and separate groups each read everything.
// Session-timeout behaviour (a member that dies) is in groups-failover.test.ts, offsets across
// restarts in groups-offsets.test.ts, the admin API and kcat in groups-admin.test.ts.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { kafkaFor, startTestBroker, waitFor } from '../helpers/broker.js';
import {
  describeGroup,
  partitionKeys,
  startTrackedConsumer,
  waitForStableAssignment,
  type ConsumedMessage,
  type TrackedConsumer,
} from '../helpers/groups.js';

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
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
  await producer?.disconnect().catch(() => {});
  await admin?.disconnect().catch(() => {});
  await broker?.close();
});

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
}

async function consumer(groupId: string, topics: string[], config: Parameters<typeof startTrackedConsumer>[3] = {}): Promise<TrackedConsumer> {
  const c = await startTrackedConsumer(kafka, groupId, topics, config);
  consumers.push(c);
  return c;
}

/** Produces `n` keyed messages (key-i / value-i) in batches of 50; returns the high watermark per partition. */
async function produce(topic: string, n: number, prefix = 'm'): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    const messages = Array.from({ length: Math.min(50, n - i) }, (_, j) => ({ key: `key-${i + j}`, value: `${prefix}-${i + j}` }));
    await producer.send({ topic, messages });
  }
}

async function highWatermarks(topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
}

const keyOf = (m: ConsumedMessage) => `${m.partition}@${m.offset}`;

/** Every (partition, offset) below the high watermarks, sorted. */
function allPositions(hw: Map<number, number>): string[] {
  const out: string[] = [];
  for (const [p, h] of hw) for (let o = 0; o < h; o++) out.push(`${p}@${o}`);
  return out.sort();
}

describe('partition assignment and delivery', () => {
  it('3 consumers on 6 partitions: disjoint assignments covering the topic, every message read exactly once, offsets committed', async () => {
    const topic = 'g-exactly-once';
    const groupId = 'g1';
    await createTopic(topic, 6);
    const cs = [await consumer(groupId, [topic]), await consumer(groupId, [topic]), await consumer(groupId, [topic])];

    // Everyone has joined and the group is Stable before anything is produced.
    const { group, assignments } = await waitForStableAssignment(admin, groupId, 3, partitionKeys(topic, 6));
    expect(group.protocolType).toBe('consumer');
    expect(group.protocol).toBe('RoundRobinAssigner');
    for (const parts of assignments.values()) expect(parts).toHaveLength(2);
    // Each consumer's own view (its last GROUP_JOIN) is what the coordinator describes.
    await waitFor(() => cs.every((c) => c.current() && assignments.has(c.current()!.memberId)), 5000, 20, 'GROUP_JOIN of every consumer in the described generation');
    for (const c of cs) expect(c.current()!.partitions).toEqual(assignments.get(c.current()!.memberId));
    const joinsBefore = cs.map((c) => c.joins.length);

    const N = 600;
    await produce(topic, N);
    const hw = await highWatermarks(topic);
    expect([...hw.values()].reduce((a, b) => a + b, 0)).toBe(N);

    await waitFor(() => cs.reduce((a, c) => a + c.messages.length, 0) >= N, 10000, 20, `${N} messages consumed`);
    // No rebalance in the middle: nobody joined again.
    expect(cs.map((c) => c.joins.length)).toEqual(joinsBefore);

    const seen = cs.flatMap((c) => c.messages.map(keyOf));
    expect(seen).toHaveLength(N); // no duplicates (and none missing, below)
    expect([...seen].sort()).toEqual(allPositions(hw));
    // Each consumer read only its own partitions, and the values are the produced ones.
    for (const c of cs) {
      const mine = new Set(c.current()!.partitions);
      for (const m of c.messages) expect(mine.has(`${topic}/${m.partition}`)).toBe(true);
    }
    expect(new Set(cs.flatMap((c) => c.messages.map((m) => m.value))).size).toBe(N);

    // Auto-commit after each batch: the committed offsets reach the high watermarks.
    await waitFor(async () => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return t!.partitions.every((p) => Number(p.offset) === hw.get(p.partition));
    }, 5000, 50, 'committed offsets at the high watermarks');
  });

  it('a new member triggers redistribution: 1 -> 2 -> 3 members, each time disjoint and complete', async () => {
    const topic = 'g-grow';
    const groupId = 'g-grow';
    await createTopic(topic, 6);
    const all = partitionKeys(topic, 6);
    const a = await consumer(groupId, [topic]);
    await waitForStableAssignment(admin, groupId, 1, all);
    await waitFor(() => a.current()?.partitions.length === 6, 5000, 20, 'first consumer owns all 6');

    const b = await consumer(groupId, [topic]);
    const two = await waitForStableAssignment(admin, groupId, 2, all);
    expect([...two.assignments.values()].map((p) => p.length)).toEqual([3, 3]);
    await waitFor(() => a.current()?.partitions.length === 3 && b.current()?.partitions.length === 3, 5000, 20, 'both see 3 partitions');
    expect([...a.current()!.partitions, ...b.current()!.partitions].sort()).toEqual(all);

    const c = await consumer(groupId, [topic]);
    await waitForStableAssignment(admin, groupId, 3, all);
    await waitFor(() => [a, b, c].every((x) => x.current()?.partitions.length === 2), 5000, 20, 'all three see 2 partitions');
    expect([a, b, c].flatMap((x) => x.current()!.partitions).sort()).toEqual(all);

    // The grown group consumes: everything produced now arrives, once.
    await produce(topic, 120);
    await waitFor(() => [a, b, c].reduce((n, x) => n + x.messages.length, 0) >= 120, 10000, 20, '120 messages');
    expect(new Set([a, b, c].flatMap((x) => x.messages.map(keyOf))).size).toBe(120);
  });

  it('a clean leave (disconnect) rebalances at once: the remaining member owns everything long before the session timeout', async () => {
    const topic = 'g-leave';
    const groupId = 'g-leave';
    await createTopic(topic, 4);
    const all = partitionKeys(topic, 4);
    // A session timeout far beyond the test's patience: only the LeaveGroup can explain a quick rebalance.
    const config = { sessionTimeout: 30000, rebalanceTimeout: 30000 };
    const a = await consumer(groupId, [topic], config);
    const b = await consumer(groupId, [topic], config);
    await waitForStableAssignment(admin, groupId, 2, all);
    await waitFor(() => a.current()?.partitions.length === 2 && b.current()?.partitions.length === 2, 5000, 20, 'both joined');

    const t0 = Date.now();
    await b.disconnect();
    const { assignments } = await waitForStableAssignment(admin, groupId, 1, all, 8000);
    await waitFor(() => a.current()?.partitions.length === 4, 5000, 20, 'the remaining member owns all partitions');
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(5000);
    expect([...assignments.keys()]).toEqual([a.current()!.memberId]);

    // It consumes every partition now.
    await produce(topic, 100);
    await waitFor(() => a.messages.length >= 100, 10000, 20, '100 messages on the remaining member');
    expect(new Set(a.messages.map((m) => m.partition)).size).toBe(4);

    // The last one leaving empties the group (its offsets stay).
    await a.disconnect();
    await waitFor(async () => (await describeGroup(admin, groupId)).state === 'Empty', 5000, 50, 'group Empty');
    expect((await describeGroup(admin, groupId)).members).toEqual([]);
  });
});

describe('queue within a group, pub/sub across groups', () => {
  it('two groups on one topic each read everything; the two members of one group share it', async () => {
    const topic = 'g-pubsub';
    await createTopic(topic, 4);
    const all = partitionKeys(topic, 4);
    const q1 = await consumer('queue', [topic]);
    const q2 = await consumer('queue', [topic]);
    const solo = await consumer('solo', [topic]);
    await waitForStableAssignment(admin, 'queue', 2, all);
    await waitForStableAssignment(admin, 'solo', 1, all);
    await waitFor(() => q1.current()?.partitions.length === 2 && q2.current()?.partitions.length === 2, 5000, 20, 'queue members joined');

    const N = 200;
    await produce(topic, N);
    const hw = await highWatermarks(topic);
    await waitFor(() => q1.messages.length + q2.messages.length >= N && solo.messages.length >= N, 10000, 20, 'both groups read everything');

    const queue = [...q1.messages, ...q2.messages].map(keyOf);
    expect(queue).toHaveLength(N);
    expect([...queue].sort()).toEqual(allPositions(hw));
    expect(solo.messages.map(keyOf).sort()).toEqual(allPositions(hw));
    // Both members got a share (2 partitions each, and 200 keyed messages hit every partition).
    expect(q1.messages.length).toBeGreaterThan(0);
    expect(q2.messages.length).toBeGreaterThan(0);
    const q1Parts = new Set(q1.messages.map((m) => m.partition));
    for (const m of q2.messages) expect(q1Parts.has(m.partition)).toBe(false);

    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).sort();
    expect(groups).toEqual(['queue', 'solo']);
  });
});

describe('concurrency and churn', () => {
  it('8 consumers joining at the same time form one generation with 2 partitions each', async () => {
    const topic = 'g-crowd';
    const groupId = 'g-crowd';
    await createTopic(topic, 16);
    const cs = await Promise.all(Array.from({ length: 8 }, () => consumer(groupId, [topic])));
    const { assignments } = await waitForStableAssignment(admin, groupId, 8, partitionKeys(topic, 16), 12000);
    for (const parts of assignments.values()) expect(parts).toHaveLength(2);
    await waitFor(() => cs.every((c) => c.current() && assignments.has(c.current()!.memberId) && c.current()!.partitions.length === 2), 5000, 20, 'every consumer in the last generation');
    expect(new Set(cs.map((c) => c.current()!.memberId)).size).toBe(8);
  });

  it('members joining and leaving while messages flow: every message is read at least once, and the commits end at the high watermarks', { timeout: 30000 }, async () => {
    const topic = 'g-churn';
    const groupId = 'g-churn';
    await createTopic(topic, 6);
    const all = partitionKeys(topic, 6);
    const cs: TrackedConsumer[] = [await consumer(groupId, [topic])];
    await waitForStableAssignment(admin, groupId, 1, all);

    let produced = 0;
    let producing = true;
    const production = (async () => {
      for (let round = 0; producing && round < 200; round++) {
        await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: `r${round}-${i}`, value: `r${round}-${i}` })) });
        produced += 10;
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await pause(400);
    cs.push(await consumer(groupId, [topic]));
    await pause(400);
    cs.push(await consumer(groupId, [topic]));
    await pause(600);
    await cs[1]!.disconnect();
    await pause(400);
    cs.push(await consumer(groupId, [topic]));
    await pause(600);
    producing = false;
    await production;
    expect(produced).toBeGreaterThan(100);

    const live = [cs[0]!, cs[2]!, cs[3]!];
    await waitForStableAssignment(admin, groupId, 3, all, 10000);
    const hw = await highWatermarks(topic);
    expect([...hw.values()].reduce((a, b) => a + b, 0)).toBe(produced);
    const want = allPositions(hw);
    await waitFor(() => new Set(cs.flatMap((c) => c.messages.map(keyOf))).size >= want.length, 15000, 50, 'every message read at least once');
    expect([...new Set(cs.flatMap((c) => c.messages.map(keyOf)))].sort()).toEqual(want);
    await waitFor(async () => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return t!.partitions.every((p) => Number(p.offset) === hw.get(p.partition));
    }, 5000, 50, 'committed offsets at the high watermarks');
    await waitFor(() => live.every((c) => c.current()?.partitions.length === 2), 5000, 20, 'the three live members hold 2 partitions each');
  });
});
