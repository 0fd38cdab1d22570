// Cluster admin APIs between in-process brokers sharing one in-memory metadata store (issue 10):
// partition reassignment (KIP-455) with kafkajs's admin and raw requests, ElectLeaders (preferred
// and unclean) sent to a broker that is not the controller, DescribeLogDirs on leaders and
// followers, and topics and partitions created with manual assignments.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { startBroker, type Broker } from '../../src/broker.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';
import { createMemoryMetadataStore, openMetadataStore } from '../../src/cluster/metadata/index.js';
import type { ClusterMetadataStore, MetadataEvent, TopicRecord } from '../../src/cluster/metadata/store.js';
import { hasEtcd, NO_ETCD, skipWithoutEtcd, TestEtcd } from '../helpers/etcd.js';
import { waitFor } from '../helpers/cluster.js';

let brokers: Broker[] = [];
let meta: ClusterMetadataStore | undefined;
let producers: Producer[] = [];
let clients: RawClient[] = [];

const BASE = {
  'broker.session.timeout.ms': '1000',
  'replica.lag.time.max.ms': '1500',
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '100',
  'auto.leader.rebalance.enable': 'false',
};

const electApi = clientApi(G.ElectLeadersApi, G.encodeElectLeadersRequest, G.decodeElectLeadersResponse);
const alterApi = clientApi(G.AlterPartitionReassignmentsApi, G.encodeAlterPartitionReassignmentsRequest, G.decodeAlterPartitionReassignmentsResponse);
const listApi = clientApi(G.ListPartitionReassignmentsApi, G.encodeListPartitionReassignmentsRequest, G.decodeListPartitionReassignmentsResponse);
const logDirsApi = clientApi(G.DescribeLogDirsApi, G.encodeDescribeLogDirsRequest, G.decodeDescribeLogDirsResponse);
const metadataApi = clientApi(G.MetadataApi, G.encodeMetadataRequest, G.decodeMetadataResponse);
const fetchApi = clientApi(G.FetchApi, G.encodeFetchRequest, G.decodeFetchResponse);

async function startNode(id: number, rack?: string, extra: Record<string, string> = {}): Promise<Broker> {
  const b = await startBroker({ host: '127.0.0.1', port: 0, nodeId: id, metadata: meta!, config: { ...BASE, ...(rack === undefined ? {} : { 'broker.rack': rack }), ...extra } });
  brokers.push(b);
  return b;
}

/** The metadata store of the next cluster (the in-process one unless a test says otherwise). */
let makeStore: () => Promise<ClusterMetadataStore> = async () => createMemoryMetadataStore();

async function startCluster(n: number): Promise<Broker[]> {
  meta = await makeStore();
  const out: Broker[] = [];
  for (let id = 1; id <= n; id++) out.push(await startNode(id));
  await waitFor(() => out.every((b) => b.clusterNode!.brokers().length === n), 15_000, 'registration');
  return out;
}

async function stopNode(b: Broker): Promise<void> {
  await b.close();
  brokers = brokers.filter((x) => x !== b);
}


function kafkaFor(bs: Broker[]): Kafka {
  return new Kafka({ clientId: 'admin-test', brokers: bs.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
}

async function raw(b: Broker): Promise<RawClient> {
  const c = await RawClient.connect(b.host, b.port);
  clients.push(c);
  return c;
}

async function withAdmin<T>(bs: Broker[], fn: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = kafkaFor(bs).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates a topic with a manual assignment (CreateTopics replica_assignment). */
async function createAssigned(bs: Broker[], topic: string, assignment: number[][]): Promise<void> {
  await withAdmin(bs, (admin) => admin.createTopics({ topics: [{ topic, replicaAssignment: assignment.map((replicas, partition) => ({ partition, replicas })) }] }));
}

async function produce(bs: Broker[], topic: string, partition: number, values: string[]): Promise<void> {
  const p = kafkaFor(bs).producer({ allowAutoTopicCreation: false });
  await p.connect();
  producers.push(p);
  for (const value of values) await p.send({ topic, acks: -1, messages: [{ partition, value }] });
}

const leaderOf = (bs: Broker[], topic: string, p: number): Broker | undefined => bs.find((b) => b.replicas.roleOf(topic, p)?.kind === 'leader');
const stateOf = (b: Broker, topic: string, p: number) => b.clusterNode!.partition(topic, p);

function storedBytes(b: Broker, topic: string, p: number): Buffer {
  const log = b.store.partition(topic, p)!;
  return Buffer.concat(log.read(log.logStartOffset, 1 << 30, true).chunks);
}

type ElectResponse = Awaited<ReturnType<typeof G.decodeElectLeadersResponse>>;
const electResults = (r: ElectResponse) => r.replicaElectionResults.flatMap((t) => t.partitionResult.map((p) => [t.topic, p.partitionId, p.errorCode]));

async function elect(c: RawClient, electionType: number, topicPartitions: Array<{ topic: string; partitions: number[] }> | null, version = 2): Promise<ElectResponse> {
  return c.request(electApi, version, { electionType, topicPartitions, timeoutMs: 10_000 });
}

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  for (const p of producers) await p.disconnect().catch(() => {});
  producers = [];
  for (const b of brokers.reverse()) await b.close();
  brokers = [];
  await meta?.close();
  meta = undefined;
});

const MOVE = 'moves a partition from [1,2,3] to [2,3,4]: in progress until 4 is in sync, then the leader moves, 1 drops out, the data is byte-identical on 4';

async function moveScenario(): Promise<void> {
  const bs = await startCluster(3);
  await createAssigned(bs, 'move', [[1, 2, 3]]);
  const values = Array.from({ length: 40 }, (_, i) => `m${i}`);
  await produce(bs, 'move', 0, values);
  expect(leaderOf(bs, 'move', 0)?.config.nodeId).toBe(1);
  const [b1] = bs;
  const b4 = await startNode(4);
  await waitFor(() => brokers.every((b) => b.clusterNode!.brokers().length === 4), 15_000, 'broker 4 registered');
  // Hold broker 4's fetches from the leader so the reassignment is seen in progress.
  const hold = b1!.faults.failRequests('Fetch', 'NOT_LEADER_OR_FOLLOWER', { clientId: 'broker-4-fetcher-1', count: null });
  const events: MetadataEvent[] = [];
  const watch = meta!.watch('topics', 1, { onEvents: (es) => events.push(...es), onError: () => {} });
  try {
    await withAdmin(bs, (admin) => admin.alterPartitionReassignments({ topics: [{ topic: 'move', partitionAssignment: [{ partition: 0, replicas: [2, 3, 4] }] }] }));
    const listed = await withAdmin(bs, (admin) => admin.listPartitionReassignments({}));
    expect(listed.topics).toEqual([{ name: 'move', partitions: [{ partition: 0, replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] }] }]);
    // Broker 4 follows already (and its fetches are refused); the leader is still 1.
    await waitFor(() => b4.replicas.roleOf('move', 0)?.kind === 'follower', 5000, 'broker 4 follows');
    expect(stateOf(b4, 'move', 0).state?.leader).toBe(1);
    // A second request while it runs: a partition that does not exist, a dead broker, an empty list.
    const c = await raw(bs[2]!);
    const bad = await c.request(alterApi, 0, {
      timeoutMs: 1000,
      topics: [
        { name: 'move', partitions: [{ partitionIndex: 3, replicas: [1, 2] }, { partitionIndex: 0, replicas: [2, 3, 9] }] },
        { name: 'nope', partitions: [{ partitionIndex: 0, replicas: [1] }, { partitionIndex: 1, replicas: null }] },
        { name: 'move', partitions: [] },
      ],
    });
    expect(bad.responses.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.errorCode]))).toEqual([
      ['move', 3, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['move', 0, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['nope', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['nope', 1, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS],
    ]);
  } finally {
    b1!.faults.clear(hold.id);
  }
  // 4 catches up and joins the ISR; the controller elects 2 (first of the target in the ISR),
  // takes 1 out of the ISR and shrinks the replica set to the target.
  await waitFor(() => bs.every((b) => JSON.stringify(stateOf(b, 'move', 0).replicas) === '[2,3,4]'), 15_000, 'reassignment completed');
  const after = await withAdmin(bs, (admin) => admin.listPartitionReassignments({}));
  expect(after.topics).toEqual([]);
  const st = stateOf(b4, 'move', 0).state!;
  expect(st.leader).toBe(2);
  expect([...st.isr].sort()).toEqual([2, 3, 4]);
  await waitFor(() => leaderOf(brokers, 'move', 0)?.config.nodeId === 2, 5000, 'broker 2 leads');
  // Broker 1 no longer hosts the partition.
  await waitFor(() => b1!.replicas.roleOf('move', 0) === undefined, 5000, 'broker 1 stops its replica');
  // The store saw the in-progress record before the final one.
  watch.cancel();
  const records = events.filter((e) => e.path.kind === 'topic' && e.path.name === 'move' && e.type === 'put').map((e) => e.value as TopicRecord);
  expect(records.map((r) => [r.assignments[0], r.reassigning ?? null])).toEqual([
    [[1, 2, 3], null],
    [[2, 3, 4, 1], { '0': { adding: [4], removing: [1] } }],
    [[2, 3, 4], null],
  ]);
  // Nothing lost, byte-identical on the new replica; clients find the new leader.
  const b2 = bs[1]!;
  await waitFor(() => b4.store.partition('move', 0)!.logEndOffset === 40n, 5000, 'broker 4 has everything');
  expect(storedBytes(b4, 'move', 0).equals(storedBytes(b2, 'move', 0))).toBe(true);
  // Broker 1, removed, deleted its copy (as Kafka deletes a stray replica's log).
  expect(b1!.store.partition('move', 0)!.logEndOffset).toBe(0n);
  expect(storedBytes(b1!, 'move', 0).length).toBe(0);
  await produce(bs, 'move', 0, ['after']);
  expect((await b2.records('move', 0)).map((r) => r.value!.toString())).toEqual([...values, 'after']);
  const md = await withAdmin(bs, (admin) => admin.fetchTopicMetadata({ topics: ['move'] }));
  expect(md.topics[0]!.partitions[0]).toMatchObject({ leader: 2, replicas: [2, 3, 4] });
}

describe('partition reassignment (AlterPartitionReassignments / ListPartitionReassignments)', () => {
  it(MOVE, moveScenario);

  it('cancels an in-progress reassignment: back to the original replicas, the added one stops', async () => {
    const bs = await startCluster(4);
    await createAssigned(bs, 'undo', [[1, 2, 3]]);
    await produce(bs, 'undo', 0, ['a', 'b']);
    const hold = bs[0]!.faults.failRequests('Fetch', 'NOT_LEADER_OR_FOLLOWER', { clientId: 'broker-4-fetcher-1', count: null });
    const c = await raw(bs[1]!);
    const start = await c.request(alterApi, 0, { timeoutMs: 1000, topics: [{ name: 'undo', partitions: [{ partitionIndex: 0, replicas: [1, 2, 4] }] }] });
    expect(start.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    const listed = await c.request(listApi, 0, { timeoutMs: 1000, topics: [{ name: 'undo', partitionIndexes: [0, 1] }, { name: 'nope', partitionIndexes: [0] }] });
    expect(listed.topics).toEqual([{ name: 'undo', partitions: [{ partitionIndex: 0, replicas: [1, 2, 4, 3], addingReplicas: [4], removingReplicas: [3] }] }]);
    await waitFor(() => bs[3]!.replicas.roleOf('undo', 0)?.kind === 'follower', 5000, 'broker 4 follows');
    const cancel = await c.request(alterApi, 0, { timeoutMs: 1000, topics: [{ name: 'undo', partitions: [{ partitionIndex: 0, replicas: null }] }] });
    expect(cancel.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    expect((await c.request(listApi, 0, { timeoutMs: 1000, topics: null })).topics).toEqual([]);
    expect(stateOf(bs[1]!, 'undo', 0).replicas).toEqual([1, 2, 3]);
    await waitFor(() => bs.every((b) => JSON.stringify(stateOf(b, 'undo', 0).replicas) === '[1,2,3]'), 5000, 'every broker sees the cancel');
    await waitFor(() => bs[3]!.replicas.roleOf('undo', 0) === undefined, 5000, 'broker 4 stops its replica');
    bs[0]!.faults.clear(hold.id);
    // Cancelling again: nothing in progress.
    const again = await c.request(alterApi, 0, { timeoutMs: 1000, topics: [{ name: 'undo', partitions: [{ partitionIndex: 0, replicas: null }] }] });
    expect(again.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    expect(stateOf(bs[0]!, 'undo', 0).state).toMatchObject({ leader: 1 });
    await produce(bs, 'undo', 0, ['c']);
    expect((await bs[0]!.records('undo', 0)).map((r) => r.value!.toString())).toEqual(['a', 'b', 'c']);
  });
});

describe('rack-aware placement (broker.rack)', () => {
  it('CreateTopics and CreatePartitions put each partition on both racks; Metadata reports the racks', async () => {
    meta = await makeStore();
    const rackOf: Record<number, string> = { 1: 'east', 2: 'east', 3: 'west', 4: 'west' };
    const bs: Broker[] = [];
    for (const id of [1, 2, 3, 4]) bs.push(await startNode(id, rackOf[id]));
    await waitFor(() => bs.every((b) => b.clusterNode!.brokers().length === 4), 15_000, 'registration');
    await withAdmin(bs, async (admin) => {
      await admin.createTopics({ topics: [{ topic: 'racked', numPartitions: 8, replicationFactor: 2 }] });
      await admin.createPartitions({ topicPartitions: [{ topic: 'racked', count: 12 }] });
      const md = await admin.fetchTopicMetadata({ topics: ['racked'] });
      const parts = md.topics[0]!.partitions;
      expect(parts).toHaveLength(12);
      for (const p of parts) expect(p.replicas.map((b) => rackOf[b]).sort()).toEqual(['east', 'west']);
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3, 4]);
    });
    const c = await raw(bs[0]!);
    const md = await c.request(metadataApi, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(md.brokers.map((b) => [b.nodeId, b.rack]).sort()).toEqual([[1, 'east'], [2, 'east'], [3, 'west'], [4, 'west']]);
  });
});

describe('consumers reading from followers (KIP-392)', () => {
  const SELECTOR = { 'replica.selector.class': 'org.apache.kafka.common.replica.RackAwareReplicaSelector' };

  it('the leader sends a kafkajs consumer with a rackId to the in-sync follower in its rack, which serves it', async () => {
    meta = await makeStore();
    const racks: Record<number, string> = { 1: 'east', 2: 'west', 3: 'north' };
    const bs: Broker[] = [];
    for (const id of [1, 2, 3]) bs.push(await startNode(id, racks[id], SELECTOR));
    await waitFor(() => bs.every((b) => b.clusterNode!.brokers().length === 3), 15_000, 'registration');
    await createAssigned(bs, 'nearby', [[1, 2, 3]]);
    const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
    await produce(bs, 'nearby', 0, values);
    const west = bs[1]!;
    await waitFor(() => west.replicas.roleOf('nearby', 0)?.hw === 20n, 10_000, 'the west follower has the high watermark');

    // The leader answers a Fetch v11 from a consumer in the west with the west follower, and no records.
    const c = await raw(bs[0]!);
    const fetchBody = (rackId: string) => ({
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'nearby', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId,
    });
    const toWest = await c.request(fetchApi, 11, fetchBody('west'));
    const p = toWest.responses[0]!.partitions[0]!;
    expect([p.errorCode, p.preferredReadReplica, p.records?.length ?? 0, p.highWatermark]).toEqual([ErrorCode.NONE, 2, 0, 20n]);
    // The leader's own rack, an unknown rack or none: the leader serves it.
    for (const rackId of ['east', 'south', '']) {
      const r = (await c.request(fetchApi, 11, fetchBody(rackId))).responses[0]!.partitions[0]!;
      expect([r.preferredReadReplica, (r.records?.length ?? 0) > 0], rackId).toEqual([-1, true]);
    }
    // The follower serves a consumer's Fetch v11 itself; before v11 it is not the leader.
    const w = await raw(west);
    const fromWest = (await w.request(fetchApi, 11, fetchBody('west'))).responses[0]!.partitions[0]!;
    expect([fromWest.errorCode, (fromWest.records?.length ?? 0) > 0, fromWest.highWatermark]).toEqual([ErrorCode.NONE, true, 20n]);
    const old = (await w.request(fetchApi, 10, fetchBody(''))).responses[0]!.partitions[0]!;
    expect(old.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);

    // kafkajs with rackId 'west' reads everything, its fetches going to the west broker.
    const fetchedFrom = new Set<string>();
    const consumer = kafkaFor(bs).consumer({ groupId: 'west-readers', rackId: 'west', maxWaitTimeInMs: 100 });
    consumer.on(consumer.events.REQUEST, (e) => {
      if (e.payload.apiName === 'Fetch') fetchedFrom.add(e.payload.broker);
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'nearby', fromBeginning: true });
      const got: string[] = [];
      await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
      await waitFor(() => got.length >= 20, 20_000, 'all records');
      // New records reach it through the follower too (its long poll wakes on the follower's HW).
      await produce(bs, 'nearby', 0, ['late']);
      await waitFor(() => got.includes('late'), 20_000, 'the late record');
      expect(got).toEqual([...values, 'late']);
      expect(fetchedFrom.has(west.bootstrap)).toBe(true);
    } finally {
      await consumer.disconnect();
    }
  });
});

describe('reassignments that need no new replica', () => {
  it('a reorder and a shrink complete at once; a preferred election then moves leadership to the new first replica', async () => {
    const bs = await startCluster(3);
    await createAssigned(bs, 'shape', [[1, 2, 3], [1, 2, 3]]);
    await produce(bs, 'shape', 0, ['a']);
    await produce(bs, 'shape', 1, ['b']);
    const c = await raw(bs[1]!);
    const r = await c.request(alterApi, 0, { timeoutMs: 1000, topics: [{ name: 'shape', partitions: [{ partitionIndex: 0, replicas: [3, 1, 2] }, { partitionIndex: 1, replicas: [1, 2] }] }] });
    expect(r.responses[0]!.partitions.map((p) => p.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    // Partition 0 is reordered at once (nothing added or removed); partition 1 drops 3 as soon as the controller sees it.
    expect(stateOf(bs[1]!, 'shape', 0).replicas).toEqual([3, 1, 2]);
    await waitFor(() => bs.every((b) => JSON.stringify(stateOf(b, 'shape', 1).replicas) === '[1,2]'), 10_000, 'shrink completed');
    expect((await c.request(listApi, 0, { timeoutMs: 1000, topics: null })).topics).toEqual([]);
    expect([...stateOf(bs[1]!, 'shape', 1).state!.isr].sort()).toEqual([1, 2]);
    await waitFor(() => bs[2]!.replicas.roleOf('shape', 1) === undefined, 5000, 'broker 3 stops its replica of partition 1');
    // ... and deletes its copy of it; partition 0, still its, keeps its record.
    expect(bs[2]!.store.partition('shape', 1)!.logEndOffset).toBe(0n);
    expect(bs[2]!.store.partition('shape', 0)!.logEndOffset).toBe(1n);
    // Leadership stays on 1 (in the target) until a preferred election moves partition 0 to 3.
    expect(stateOf(bs[1]!, 'shape', 0).state?.leader).toBe(1);
    const moved = await elect(c, 0, [{ topic: 'shape', partitions: [0, 1] }]);
    expect(electResults(moved)).toEqual([
      ['shape', 0, ErrorCode.NONE],
      ['shape', 1, ErrorCode.ELECTION_NOT_NEEDED],
    ]);
    await waitFor(() => bs[2]!.replicas.roleOf('shape', 0)?.kind === 'leader', 5000, 'broker 3 leads partition 0');
    await produce(bs, 'shape', 0, ['c']);
    expect((await bs[2]!.records('shape', 0)).map((x) => x.value!.toString())).toEqual(['a', 'c']);
  });
});

describe('ElectLeaders', () => {
  it('preferred: not needed while the preferred replica leads; not available while it is down; moves leadership back once it is in sync', async () => {
    const bs = await startCluster(3);
    await createAssigned(bs, 'pref', [[1, 2, 3], [2, 3, 1]]);
    await produce(bs, 'pref', 0, ['x', 'y']);
    // Sent to a broker that is not the controller.
    const other = bs.find((b) => !b.clusterNode!.controller.isActive && b.config.nodeId !== 1)!;
    const c = await raw(other);
    const notNeeded = await elect(c, 0, [{ topic: 'pref', partitions: [0, 1, 7] }, { topic: 'nope', partitions: [0] }]);
    expect(notNeeded.errorCode).toBe(ErrorCode.NONE);
    expect(electResults(notNeeded)).toEqual([
      ['pref', 0, ErrorCode.ELECTION_NOT_NEEDED],
      ['pref', 1, ErrorCode.ELECTION_NOT_NEEDED],
      ['pref', 7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['nope', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    // All partitions: nothing to report.
    expect((await elect(c, 0, null)).replicaElectionResults).toEqual([]);
    // Broker 1 goes away: partition 0 moves to 2.
    await stopNode(bs[0]!);
    const rest = bs.slice(1);
    await waitFor(() => stateOf(other, 'pref', 0).state?.leader === 2, 10_000, 'failover to 2');
    const unavailable = await elect(c, 0, [{ topic: 'pref', partitions: [0] }]);
    expect(electResults(unavailable)).toEqual([['pref', 0, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE]]);
    await produce(rest, 'pref', 0, ['z']);
    // Broker 1 comes back (empty, memory store), catches up and rejoins the ISR.
    const back = await startNode(1);
    await waitFor(() => (stateOf(other, 'pref', 0).state?.isr ?? []).includes(1), 15_000, 'broker 1 back in the ISR');
    const epoch = stateOf(other, 'pref', 0).state!.leaderEpoch;
    const moved = await elect(c, 0, null, 1);
    expect(moved.errorCode).toBe(ErrorCode.NONE);
    expect(electResults(moved)).toEqual([['pref', 0, ErrorCode.NONE]]);
    // Answered once this broker's metadata has the new leader.
    expect(stateOf(other, 'pref', 0).state).toMatchObject({ leader: 1, leaderEpoch: epoch + 1 });
    await waitFor(() => back.replicas.roleOf('pref', 0)?.kind === 'leader', 5000, 'broker 1 leads again');
    await produce([...rest, back], 'pref', 0, ['w']);
    expect((await back.records('pref', 0)).map((r) => r.value!.toString())).toEqual(['x', 'y', 'z', 'w']);
    // v0 (always preferred): nothing more to do.
    expect(electResults(await elect(c, 0, [{ topic: 'pref', partitions: [0] }], 0))).toEqual([['pref', 0, ErrorCode.ELECTION_NOT_NEEDED]]);
  });

  it('unclean: not needed while the leader is live; with no live replica nothing to elect; an out-of-sync live replica is elected only when asked', async () => {
    const bs = await startCluster(3);
    // Replicas on 1 and 2 only; requests go to 3.
    await createAssigned(bs, 'dirty', [[1, 2]]);
    const [b1, b2, b3] = bs as [Broker, Broker, Broker];
    await produce(bs, 'dirty', 0, ['one']);
    const c = await raw(b3);
    expect(electResults(await elect(c, 1, [{ topic: 'dirty', partitions: [0] }]))).toEqual([['dirty', 0, ErrorCode.ELECTION_NOT_NEEDED]]);
    // 2 goes down and leaves the ISR; 1 takes more writes; then 1 goes down: nobody in the ISR is
    // live and unclean.leader.election.enable is false, so the partition is offline.
    await stopNode(b2);
    await waitFor(() => JSON.stringify(stateOf(b3, 'dirty', 0).state?.isr) === '[1]', 10_000, 'ISR shrinks to 1');
    await produce([b1, b3], 'dirty', 0, ['two']);
    await stopNode(b1);
    await waitFor(() => stateOf(b3, 'dirty', 0).state?.leader === -1, 10_000, 'partition offline');
    expect(electResults(await elect(c, 1, [{ topic: 'dirty', partitions: [0] }]))).toEqual([['dirty', 0, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE]]);
    // 2 comes back empty: still offline (it is not in the ISR) until an unclean election is asked for.
    const b2again = await startNode(2);
    await waitFor(() => b3.clusterNode!.brokers().length === 2, 10_000, 'broker 2 registered');
    expect(stateOf(b3, 'dirty', 0).state).toMatchObject({ leader: -1, isr: [1] });
    expect(electResults(await elect(c, 0, [{ topic: 'dirty', partitions: [0] }]))).toEqual([['dirty', 0, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE]]);
    const r = await elect(c, 1, [{ topic: 'dirty', partitions: [0] }]);
    expect(electResults(r)).toEqual([['dirty', 0, ErrorCode.NONE]]);
    expect(stateOf(b3, 'dirty', 0).state).toMatchObject({ leader: 2, isr: [2] });
    await waitFor(() => b2again.replicas.roleOf('dirty', 0)?.kind === 'leader', 5000, 'broker 2 leads');
    // Unclean: what only 1 had is gone; the partition takes writes again.
    await produce([b2again, b3], 'dirty', 0, ['three']);
    expect((await b2again.records('dirty', 0)).map((x) => x.value!.toString())).toEqual(['three']);
  });
});

describe('DescribeLogDirs and manual assignments in a cluster', () => {
  it('each broker lists the replicas it hosts, followers included, with offset_lag 0; CreateTopics and CreatePartitions place replicas as asked', async () => {
    const bs = await startCluster(3);
    await createAssigned(bs, 'placed', [[1, 2], [2, 3]]);
    await withAdmin(bs, async (admin) => {
      await admin.createPartitions({ topicPartitions: [{ topic: 'placed', count: 3, assignments: [[3, 1]] }] });
      // Unknown broker, duplicates, mixed replication factors: refused.
      await expect(admin.createPartitions({ topicPartitions: [{ topic: 'placed', count: 4, assignments: [[3, 9]] }] })).rejects.toThrow();
      await expect(admin.createPartitions({ topicPartitions: [{ topic: 'placed', count: 4, assignments: [[3, 3]] }] })).rejects.toThrow();
      await expect(admin.createTopics({ topics: [{ topic: 'mixed', replicaAssignment: [{ partition: 0, replicas: [1, 2] }, { partition: 1, replicas: [1] }] }] })).rejects.toThrow();
      const md = await admin.fetchTopicMetadata({ topics: ['placed'] });
      expect(md.topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId).map((p) => [p.partitionId, p.leader, p.replicas])).toEqual([
        [0, 1, [1, 2]],
        [1, 2, [2, 3]],
        [2, 3, [3, 1]],
      ]);
    });
    for (let p = 0; p < 3; p++) await produce(bs, 'placed', p, [`v${p}`, `w${p}`]);
    const hosted: Record<number, number[]> = { 1: [0, 2], 2: [0, 1], 3: [1, 2] };
    for (const b of bs) {
      const id = b.config.nodeId;
      await waitFor(() => hosted[id]!.every((p) => b.store.partition('placed', p)!.logEndOffset === 2n), 5000, `broker ${id} caught up`);
      const c = await raw(b);
      const r = await c.request(logDirsApi, 4, { topics: [{ topic: 'placed', partitions: [0, 1, 2] }] });
      const parts = r.results[0]!.topics.flatMap((t) => t.partitions);
      expect(parts.map((p) => p.partitionIndex)).toEqual(hosted[id]);
      for (const p of parts) {
        expect(p.offsetLag).toBe(0n);
        expect(p.isFutureKey).toBe(false);
        // Leader and follower hold the same bytes.
        expect(p.partitionSize).toBe(BigInt(storedBytes(b, 'placed', p.partitionIndex).length));
        expect(p.partitionSize).toBeGreaterThan(0n);
      }
    }
  });
});

describe.skipIf(skipWithoutEtcd)(`with a real etcd as the metadata store (${hasEtcd ? 'etcd' : NO_ETCD})`, () => {
  let etcd: TestEtcd | undefined;
  beforeAll(async () => {
    etcd = await TestEtcd.start();
    makeStore = () => openMetadataStore(`etcd://${etcd!.endpoint}/admin-test`);
  }, 30_000);
  afterAll(async () => {
    makeStore = async () => createMemoryMetadataStore();
    await etcd?.destroy();
  });
  it(MOVE, moveScenario, 60_000);
});
