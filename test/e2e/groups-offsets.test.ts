// Committed offsets carry a group across restarts: a new consumer in the same group resumes right
// after the last committed offset (re-reading only the uncommitted tail) after a consumer
// restart, after a clean broker restart on the file store, and after the CLI broker is killed
// with SIGKILL; admin.fetchOffsets shows the same offsets.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Partitioners, type Admin, type Kafka } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { kafkaFor, rawClient, startTestBroker, waitFor } from '../helpers/broker.js';
import { NO_DIST, hasDist, startCliBroker } from '../helpers/cli.js';
import { produceApi } from '../helpers/broker.js';
import { ErrorCode } from '../../protocol/errors.js';
import * as G from '../../protocol/generated/index.js';
import { clientApi } from '../../src/client/raw-client.js';
import { encodeRecordBatch } from '../../protocol/records/index.js';
import { OFFSETS_TOPIC, partitionForGroup } from '../../src/group/offsets-log.js';
import { encodeOffsetCommitKey, encodeOffsetCommitValue } from '../../src/group/offsets-records.js';
import {
  consumerAssignment,
  consumerSubscription,
  describeGroup,
  groupApis,
  partitionKeys,
  rawCommit,
  rawFetchOffsets,
  rawJoinAndSync,
  startChildConsumer,
  startTrackedConsumer,
  waitForStableAssignment,
  type TrackedConsumer,
} from '../helpers/groups.js';

let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'brook-e2e-groups-offsets-'));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // best effort
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

interface Client {
  kafka: Kafka;
  admin: Admin;
  produce(topic: string, n: number, prefix: string): Promise<void>;
  consumer(groupId: string, topic: string, config?: Parameters<typeof startTrackedConsumer>[3], run?: Parameters<typeof startTrackedConsumer>[4]): Promise<TrackedConsumer>;
  /** Committed offsets as numbers by partition (-1 = none). */
  committed(groupId: string, topic: string): Promise<Record<number, number>>;
  highWatermarks(topic: string): Promise<Record<number, number>>;
}

async function clientFor(bootstrap: string): Promise<Client> {
  const kafka = kafkaFor(bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const consumers: TrackedConsumer[] = [];
  cleanups.push(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  });
  return {
    kafka,
    admin,
    async produce(topic, n, prefix) {
      for (let i = 0; i < n; i += 50) {
        await producer.send({ topic, messages: Array.from({ length: Math.min(50, n - i) }, (_, j) => ({ key: `k${i + j}`, value: `${prefix}-${i + j}` })) });
      }
    },
    async consumer(groupId, topic, config = {}, run = {}) {
      const c = await startTrackedConsumer(kafka, groupId, [topic], config, run);
      consumers.push(c);
      return c;
    },
    async committed(groupId, topic) {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return Object.fromEntries(t!.partitions.map((p) => [p.partition, Number(p.offset)]));
    },
    async highWatermarks(topic) {
      return Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    },
  };
}

/** Messages of a consumer as sorted "p@o" keys. */
const positions = (c: TrackedConsumer) => c.messages.map((m) => `${m.partition}@${m.offset}`).sort();

/** Every "p@o" from `from[p]` up to `to[p]`, sorted. */
function range(from: Record<number, number>, to: Record<number, number>): string[] {
  const out: string[] = [];
  for (const p of Object.keys(to).map(Number)) for (let o = Math.max(from[p] ?? 0, 0); o < to[p]!; o++) out.push(`${p}@${o}`);
  return out.sort();
}

const total = (r: Record<number, number>) => Object.values(r).reduce((a, b) => a + Math.max(b, 0), 0);

/**
 * Reads a whole topic with autoCommit off and commits half of each partition (the rest is the
 * uncommitted tail); resolves with the committed offsets. The consumer is left disconnected.
 */
async function consumeAndCommitHalf(c: Client, groupId: string, topic: string): Promise<Record<number, number>> {
  const hw = await c.highWatermarks(topic);
  const first = await c.consumer(groupId, topic, {}, { autoCommit: false });
  await waitFor(() => first.messages.length >= total(hw), 10000, 20, 'whole topic read');
  const commit = Object.fromEntries(Object.entries(hw).map(([p, h]) => [p, Math.floor(h / 2)]));
  await first.consumer.commitOffsets(Object.entries(commit).map(([p, o]) => ({ topic, partition: Number(p), offset: String(o) })));
  expect(await c.committed(groupId, topic)).toEqual(commit);
  await first.disconnect();
  return commit;
}

describe('resuming from committed offsets', () => {
  it('after a consumer restart: the new consumer starts at the committed offsets; only the uncommitted tail is read again', async () => {
    const broker = await startTestBroker();
    cleanups.push(() => broker.close());
    const c = await clientFor(broker.bootstrap);
    const topic = 'resume';
    const groupId = 'resume';
    await c.admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await c.produce(topic, 150, 'a');

    const commit = await consumeAndCommitHalf(c, groupId, topic);
    await c.produce(topic, 30, 'b');
    const hw = await c.highWatermarks(topic);

    const second = await c.consumer(groupId, topic);
    const want = range(commit, hw);
    await waitFor(() => second.messages.length >= want.length, 10000, 20, `${want.length} messages after restart`);
    await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
    expect(positions(second)).toEqual(want);
  });

  it('after a clean broker restart on the file store: offsets and group survive; a new consumer resumes', async () => {
    const topic = 'resume-file';
    const groupId = 'resume-file';
    let commit: Record<number, number>;
    {
      const broker = await startTestBroker({ dataDir: dir });
      const c = await clientFor(broker.bootstrap);
      await c.admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      await c.produce(topic, 120, 'a');
      commit = await consumeAndCommitHalf(c, groupId, topic);
      // A simple (standalone) commit for another group.
      const raw = await rawClient(broker);
      await rawCommit(raw, 'simple', topic, { 1: 7n });
      raw.close();
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      await broker.close();
    }
    const broker = await startTestBroker({ dataDir: dir });
    cleanups.push(() => broker.close());
    const c = await clientFor(broker.bootstrap);
    expect(await c.committed(groupId, topic)).toEqual(commit);
    expect((await c.committed('simple', topic))[1]).toBe(7);
    expect((await c.admin.listGroups()).groups.map((g) => g.groupId).sort()).toEqual([groupId, 'simple']);
    expect((await describeGroup(c.admin, groupId)).state).toBe('Empty');

    await c.produce(topic, 30, 'b');
    const hw = await c.highWatermarks(topic);
    const next = await c.consumer(groupId, topic);
    const want = range(commit, hw);
    await waitFor(() => next.messages.length >= want.length, 10000, 20, `${want.length} messages after the broker restart`);
    await new Promise((r) => setTimeout(r, 300));
    expect(positions(next)).toEqual(want);
  });

  it('a broker restart with members still in the group: they are loaded Stable, and leave when they do not come back', async () => {
    const topic = 'resume-members';
    const groupId = 'resume-members';
    {
      const broker = await startTestBroker({ dataDir: dir });
      broker.topics.create(topic, 2, 1, {});
      const raw = await rawClient(broker);
      // A member that will never return; its rebalance timeout bounds how long a newcomer waits.
      await rawJoinAndSync(raw, groupId, {
        sessionTimeoutMs: 6000,
        rebalanceTimeoutMs: 1000,
        // kafkajs' protocol: a newcomer with no protocol in common would be refused (INCONSISTENT_GROUP_PROTOCOL).
        protocols: [{ name: 'RoundRobinAssigner', metadata: consumerSubscription([topic]) }],
        assign: (ms) => ms.map((m) => ({ memberId: m.memberId, assignment: consumerAssignment({ [topic]: [0, 1] }) })),
      });
      raw.close();
      await broker.close();
    }
    const broker = await startTestBroker({ dataDir: dir });
    cleanups.push(() => broker.close());
    const c = await clientFor(broker.bootstrap);
    const loaded = await describeGroup(c.admin, groupId);
    expect(loaded.state).toBe('Stable');
    expect(loaded.members).toHaveLength(1);
    expect(loaded.members[0]!.clientId).toBe('brook-raw');

    // A new consumer triggers a rebalance the absent member misses: it is dropped after the
    // rebalance timeout and the newcomer gets everything.
    const t0 = Date.now();
    const next = await c.consumer(groupId, topic);
    const { assignments } = await waitForStableAssignment(c.admin, groupId, 1, partitionKeys(topic, 2), 10000);
    expect(Date.now() - t0).toBeLessThan(6000);
    await waitFor(() => next.current()?.partitions.length === 2, 5000, 20, 'newcomer assigned');
    expect([...assignments.keys()]).toEqual([next.current()!.memberId]);
  });

  it.skipIf(!hasDist)('after a SIGKILL of the CLI broker (member still in the group): admin.fetchOffsets shows the commits; a new consumer resumes', { timeout: 30000 }, async () => {
    if (!hasDist) throw new Error(NO_DIST);
    const topic = 'resume-kill';
    const groupId = 'resume-kill';
    let hw: Record<number, number>;
    {
      const cli = await startCliBroker(dir);
      cleanups.push(() => cli.kill());
      const c = await clientFor(cli.bootstrap);
      await c.admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      await c.produce(topic, 90, 'a');
      hw = await c.highWatermarks(topic);
      // An auto-committing consumer in another process reads everything.
      const consumer = startChildConsumer(cli.bootstrap, groupId, topic, { autoCommit: true });
      cleanups.push(() => consumer.kill());
      await waitFor(async () => JSON.stringify(await c.committed(groupId, topic)) === JSON.stringify(hw), 15000, 100, 'everything committed');
      expect(consumer.events().filter((e) => e.ev === 'msg')).toHaveLength(90);
      cli.child.kill('SIGKILL');
      expect((await cli.exited).signal).toBe('SIGKILL');
      await consumer.kill();
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    }
    const cli = await startCliBroker(dir);
    cleanups.push(() => cli.kill());
    const c = await clientFor(cli.bootstrap);
    expect(await c.committed(groupId, topic)).toEqual(hw);
    const loaded = await describeGroup(c.admin, groupId);
    expect(loaded.members.map((m) => m.clientId)).toEqual(['brook-child']);

    await c.produce(topic, 30, 'b');
    const hw2 = await c.highWatermarks(topic);
    const next = await c.consumer(groupId, topic);
    const want = range(hw, hw2);
    expect(want).toHaveLength(30);
    // The dead member is dropped after its rebalance timeout (3 s), then the newcomer reads.
    await waitFor(() => next.messages.length >= 30, 15000, 20, '30 new messages');
    await new Promise((r) => setTimeout(r, 300));
    expect(positions(next)).toEqual(want);
    await waitFor(async () => JSON.stringify(await c.committed(groupId, topic)) === JSON.stringify(hw2), 5000, 50, 'new commits');
  });
});

describe('integrity of the durable group state', () => {
  // BUG (src/handlers/00-produce.ts): Produce to __consumer_offsets from an ordinary client was
  // accepted. Kafka refuses appends to internal topics with INVALID_TOPIC_EXCEPTION unless the
  // client id is "__admin_client" (ReplicaManager.appendToLocalLog, internalTopicsAllowed). Here a
  // forged, well-formed OffsetCommit record was appended and silently replaced the group's
  // committed offset at the next restart (live state and durable state disagreed until then).
  it('a client cannot append to __consumer_offsets: forged offset records never reach the group', async () => {
    const groupId = 'forged';
    const topic = 'forged-t';
    const forged = () => {
      const key = encodeOffsetCommitKey(groupId, topic, 0);
      const value = encodeOffsetCommitValue({ topic, partition: 0, offset: 999n, leaderEpoch: -1, metadata: '', commitTimestamp: Date.now(), expireTimestamp: -1 });
      return encodeRecordBatch({ records: [{ key, value, headers: [] }] });
    };
    {
      const broker = await startTestBroker({ dataDir: dir });
      const raw = await rawClient(broker);
      broker.topics.create(topic, 1, 1, {});
      await rawCommit(raw, groupId, topic, { 0: 5n });
      const partition = partitionForGroup(groupId, broker.topics.get(OFFSETS_TOPIC)!.numPartitions);
      const r = await raw.request(produceApi, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: OFFSETS_TOPIC, partitionData: [{ index: partition, records: forged() }] }] });
      expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect(await rawFetchOffsets(raw, groupId, topic, [0])).toEqual({ 0: 5n });
      raw.close();
      await broker.close();
    }
    const broker = await startTestBroker({ dataDir: dir });
    cleanups.push(() => broker.close());
    const raw = await rawClient(broker);
    cleanups.push(() => raw.close());
    expect(await rawFetchOffsets(raw, groupId, topic, [0])).toEqual({ 0: 5n });
  });
});

describe('deletions are durable', () => {
  it('an offset committed with a retention time (OffsetCommit v2) expires, durably; its empty group goes away', async () => {
    const config = { 'offsets.retention.check.interval.ms': '100' };
    const commit = (raw: Awaited<ReturnType<typeof rawClient>>, groupId: string, retentionTimeMs: bigint) =>
      raw.request(groupApis.offsetCommit, 2, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        retentionTimeMs,
        topics: [{ name: 'ret', partitions: [{ partitionIndex: 0, committedOffset: 4n }] }],
      });
    {
      const broker = await startTestBroker({ dataDir: dir, config });
      const raw = await rawClient(broker);
      broker.topics.create('ret', 1, 1, {});
      expect((await commit(raw, 'short', 1500n)).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
      expect((await commit(raw, 'default', -1n)).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
      expect(await rawFetchOffsets(raw, 'short', 'ret', [0])).toEqual({ 0: 4n });
      await waitFor(async () => (await rawFetchOffsets(raw, 'short', 'ret', [0]))[0] === -1n, 8000, 50, 'the short-lived offset expired');
      const listed = await raw.request(groupApis.listGroups, 4, { statesFilter: [] });
      expect(listed.groups.map((g) => g.groupId)).toEqual(['default']);
      raw.close();
      await broker.close();
    }
    const broker = await startTestBroker({ dataDir: dir, config });
    cleanups.push(() => broker.close());
    const raw = await rawClient(broker);
    cleanups.push(() => raw.close());
    expect(await rawFetchOffsets(raw, 'short', 'ret', [0])).toEqual({ 0: -1n });
    expect(await rawFetchOffsets(raw, 'default', 'ret', [0])).toEqual({ 0: 4n });
  });

  it('DeleteGroups, OffsetDelete and a deleted topic\'s offsets stay deleted after a restart; the rest survives', async () => {
    const delOffsets = clientApi(G.OffsetDeleteApi, G.encodeOffsetDeleteRequest, G.decodeOffsetDeleteResponse);
    {
      const broker = await startTestBroker({ dataDir: dir });
      const raw = await rawClient(broker);
      for (const t of ['keep', 'gone']) broker.topics.create(t, 2, 1, {});
      await rawCommit(raw, 'deleted-group', 'keep', { 0: 1n, 1: 2n });
      await rawCommit(raw, 'kept-group', 'keep', { 0: 3n, 1: 4n });
      await rawCommit(raw, 'kept-group', 'gone', { 0: 5n });
      await rawCommit(raw, 'partly', 'keep', { 0: 6n, 1: 7n });
      const d = await raw.request(groupApis.deleteGroups, 2, { groupsNames: ['deleted-group'] });
      expect(d.results[0]!.errorCode).toBe(ErrorCode.NONE);
      const od = await raw.request(delOffsets, 0, { groupId: 'partly', topics: [{ name: 'keep', partitions: [{ partitionIndex: 1 }] }] });
      expect(od.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
      expect(broker.topics.delete('gone').errorCode).toBe(ErrorCode.NONE);
      // The coordinator drops a deleted topic's offsets asynchronously (in each group's queue);
      // a fetch for the group runs after it.
      expect(await rawFetchOffsets(raw, 'kept-group', 'gone', [0])).toEqual({ 0: -1n });
      raw.close();
      await broker.close();
    }
    const broker = await startTestBroker({ dataDir: dir });
    cleanups.push(() => broker.close());
    const raw = await rawClient(broker);
    cleanups.push(() => raw.close());
    broker.topics.create('gone', 2, 1, {});
    expect(await rawFetchOffsets(raw, 'deleted-group', 'keep', [0, 1])).toEqual({ 0: -1n, 1: -1n });
    expect(await rawFetchOffsets(raw, 'kept-group', 'keep', [0, 1])).toEqual({ 0: 3n, 1: 4n });
    expect(await rawFetchOffsets(raw, 'kept-group', 'gone', [0, 1])).toEqual({ 0: -1n, 1: -1n });
    expect(await rawFetchOffsets(raw, 'partly', 'keep', [0, 1])).toEqual({ 0: 6n, 1: -1n });
    const listed = await raw.request(groupApis.listGroups, 4, { statesFilter: [] });
    expect(listed.groups.map((g) => g.groupId).sort()).toEqual(['kept-group', 'partly']);
  });
});
