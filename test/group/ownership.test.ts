// GroupCoordinator with explicit ownership of __consumer_offsets partitions (a cluster broker
// serves the groups of the partitions it leads: Kafka's onElection / onResignation), over a real
// memory store and the real OffsetsLog. State is written by a coordinator owning every partition
// (a single node), then read back by one that owns only what it was elected for.
// Reference: /work/notes/kafka-replication.md 5.3; Kafka 3.6 GroupCoordinator.validateGroupStatus,
// onGroupUnloaded, GroupMetadataManager.loadGroupsAndOffsets / removeGroupsAndOffsets.

import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { randomUuid } from '../../protocol/primitives/uuid.js';
import { encodeRecordBatch } from '../../protocol/records/index.js';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { GroupCoordinator, type ClassicJoinGroupInput, type GroupCoordinatorConfig } from '../../src/group/coordinator.js';
import { OFFSETS_TOPIC, OffsetsLog, partitionForGroup } from '../../src/group/offsets-log.js';
import { encodeOffsetCommitKey, encodeOffsetCommitValue } from '../../src/group/offsets-records.js';
import type { GroupPersistence, JoinGroupResult, OffsetCommitInput, SyncGroupResult } from '../../src/group/types.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogStore } from '../../src/log/types.js';

const PARTITIONS = 5;
const CONFIG: GroupCoordinatorConfig = {
  initialRebalanceDelayMs: 0,
  offsetsRetentionMs: 7 * 24 * 3600_000,
  groupMaxSize: 1000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1800000,
  offsetsRetentionCheckIntervalMs: 600000,
};
const SESSION = 10_000;
const REBALANCE = 30_000;
const NOT_COORDINATOR = ErrorCode.NOT_COORDINATOR;

/** The first ids "<prefix>-<n>" whose partitions are all different. */
function idsInDistinctPartitions(prefix: string, count: number): string[] {
  const out: string[] = [];
  const used = new Set<number>();
  for (let n = 0; out.length < count; n++) {
    const id = `${prefix}-${n}`;
    const p = partitionForGroup(id, PARTITIONS);
    if (used.has(p)) continue;
    used.add(p);
    out.push(id);
  }
  return out;
}
const [G1, G2, G3] = idsInDistinctPartitions('group', 3) as [string, string, string];
const P1 = partitionForGroup(G1, PARTITIONS);
const P2 = partitionForGroup(G2, PARTITIONS);
const P3 = partitionForGroup(G3, PARTITIONS);

let open: GroupCoordinator[] = [];
afterEach(() => {
  for (const c of open) c.close();
  open = [];
});

function newStore(): LogStore {
  return createMemoryStore({ logConfig: DEFAULT_LOG_CONFIG });
}

function offsetsLog(store: LogStore, logger = { warn: (): void => {}, info: (): void => {} }): OffsetsLog {
  return new OffsetsLog({
    store,
    topics: {
      get: (name) => store.getTopic(name),
      createInternal: (name, numPartitions, configs) => {
        store.createTopic({ name, topicId: randomUuid(), numPartitions, replicationFactor: 1, configs });
      },
    },
    numPartitions: PARTITIONS,
    logger,
    now: () => 1_700_000_000_000,
  });
}

function coordinator(persistence: GroupPersistence & { partitionFor(g: string): number }, ownership: 'all' | 'explicit', clock = new ManualClock()): GroupCoordinator {
  const c = new GroupCoordinator({
    clock,
    persistence,
    config: CONFIG,
    logger: silentLogger(),
    topicExists: () => true,
    partitionFor: (g) => persistence.partitionFor(g),
    ownership,
  });
  open.push(c);
  return c;
}

function join(groupId: string, o: Partial<ClassicJoinGroupInput> = {}): ClassicJoinGroupInput {
  return {
    groupId,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from([1]) }],
    sessionTimeoutMs: SESSION,
    rebalanceTimeoutMs: REBALANCE,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: false,
    reason: null,
    ...o,
  };
}

function commit(groupId: string, offset: bigint, o: Partial<OffsetCommitInput> = {}): OffsetCommitInput {
  return {
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: 1, commitTimestamp: -1n, committedMetadata: 'm' }] }],
    ...o,
  };
}

async function fetched(c: GroupCoordinator, groupId: string, requireStable = false): Promise<{ errorCode: number; offsets: Array<[string, number, bigint, number]> }> {
  const r = await c.fetchOffsets({ groupId, topics: null, requireStable });
  return { errorCode: r.errorCode, offsets: r.topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.committedOffset, p.errorCode] as [string, number, bigint, number])) };
}

/** Whether a promise is still pending after the microtask queue drained. */
async function isPending(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return !done;
}

/**
 * Single node writes: G1 a Stable group (one member, generation 1) with committed offset 10 and
 * a pending transactional offset on t-1; G2 and G3 simple groups with offsets 20 and 30.
 */
async function writeState(store: LogStore): Promise<{ memberId: string; generationId: number }> {
  const c = coordinator(offsetsLog(store), 'all');
  const joined = await c.joinGroup(join(G1));
  expect(joined.errorCode).toBe(ErrorCode.NONE);
  const synced = await c.syncGroup({
    groupId: G1,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: joined.memberId, assignment: Buffer.from([7]) }],
  });
  expect(synced.errorCode).toBe(ErrorCode.NONE);
  expect(c.groupState(G1)).toBe('Stable');
  const member = { generationId: joined.generationId, memberId: joined.memberId };
  const r1 = await c.commitOffsets(commit(G1, 10n, member));
  expect(r1.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
  const tx = await c.txnCommitOffsets({
    groupId: G1,
    producerId: 1000n,
    producerEpoch: 0,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 11n, committedLeaderEpoch: 1, committedMetadata: null }] }],
  });
  expect(tx.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
  expect((await c.commitOffsets(commit(G2, 20n))).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
  expect((await c.commitOffsets(commit(G3, 30n))).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
  c.close();
  return member;
}

/** Every group API for `groupId` answers `code` (ListGroups does not list it). */
async function expectAllAnswer(c: GroupCoordinator, groupId: string, code: number, member: { memberId: string; generationId: number }): Promise<void> {
  expect((await c.joinGroup(join(groupId))).errorCode).toBe(code);
  expect((await c.joinGroup(join(groupId, { memberId: member.memberId }))).errorCode).toBe(code);
  const sync = await c.syncGroup({ groupId, generationId: member.generationId, memberId: member.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  expect(sync.errorCode).toBe(code);
  expect(await c.heartbeat({ groupId, generationId: member.generationId, memberId: member.memberId, groupInstanceId: null })).toBe(code);
  expect(await c.leaveGroup({ groupId, members: [{ memberId: member.memberId, groupInstanceId: null, reason: null }] })).toEqual({ errorCode: code, members: [] });
  expect((await c.commitOffsets(commit(groupId, 99n, member))).topics[0]!.partitions[0]!.errorCode).toBe(code);
  expect((await c.commitOffsets(commit(groupId, 99n))).topics[0]!.partitions[0]!.errorCode).toBe(code);
  expect(await c.fetchOffsets({ groupId, topics: null, requireStable: false })).toEqual({ errorCode: code, topics: [] });
  expect(await c.fetchOffsets({ groupId, topics: [{ name: 't', partitionIndexes: [0] }], requireStable: true })).toEqual({ errorCode: code, topics: [] });
  const [described] = await c.describeGroups([groupId]);
  expect(described).toMatchObject({ errorCode: code, groupId, groupState: '', members: [] });
  expect(await c.deleteGroups([groupId])).toEqual([{ groupId, errorCode: code }]);
  expect(await c.deleteOffsets(groupId, [{ name: 't', partitions: [0] }])).toEqual({ errorCode: code, topics: [] });
  const tx = await c.txnCommitOffsets({
    groupId,
    producerId: 2000n,
    producerEpoch: 0,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: 1, committedMetadata: null }] }],
  });
  expect(tx.topics[0]!.partitions[0]!.errorCode).toBe(code);
  expect((await c.listGroups([], [])).map((g) => g.groupId)).not.toContain(groupId);
}

function logEnd(store: LogStore, p: number): bigint {
  return store.partition(OFFSETS_TOPIC, p)?.logEndOffset ?? 0n;
}

describe('GroupCoordinator: explicit ownership', () => {
  it('the test groups live in three different partitions', () => {
    expect(new Set([P1, P2, P3]).size).toBe(3);
  });

  it('serves nothing before onElection, and nothing is read or written for unowned groups', async () => {
    const store = newStore();
    const member = await writeState(store);
    const ends = [P1, P2, P3].map((p) => logEnd(store, p));
    const c = coordinator(offsetsLog(store), 'explicit');
    for (const g of [G1, G2, G3]) await expectAllAnswer(c, g, NOT_COORDINATOR, member);
    expect(await c.listGroups([], [])).toEqual([]);
    expect(c.groupState(G1)).toBeUndefined();
    expect([P1, P2, P3].map((p) => logEnd(store, p))).toEqual(ends);
  });

  it('onElection(p) brings back the groups of p: offsets, a Stable group and its member, pending transactional offsets', async () => {
    const store = newStore();
    const member = await writeState(store);
    const c = coordinator(offsetsLog(store), 'explicit');
    c.onElection(P1, 1);

    expect(await fetched(c, G1)).toEqual({ errorCode: ErrorCode.NONE, offsets: [['t', 0, 10n, ErrorCode.NONE]] });
    // The transactional offset stays pending (no marker in the log): invisible, UNSTABLE with require_stable.
    const stable = await c.fetchOffsets({ groupId: G1, topics: [{ name: 't', partitionIndexes: [0, 1] }], requireStable: true });
    expect(stable.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode])).toEqual([
      [0, 10n, ErrorCode.NONE],
      [1, -1n, ErrorCode.UNSTABLE_OFFSET_COMMIT],
    ]);
    const [described] = await c.describeGroups([G1]);
    expect(described).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Stable', protocolData: 'range' });
    expect(described!.members.map((m) => [m.memberId, [...m.memberAssignment]])).toEqual([[member.memberId, [7]]]);
    // The loaded member is a member: it heartbeats and commits at its generation.
    expect(await c.heartbeat({ groupId: G1, generationId: member.generationId, memberId: member.memberId, groupInstanceId: null })).toBe(ErrorCode.NONE);
    expect((await c.commitOffsets(commit(G1, 12n, member))).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    expect((await c.listGroups([], [])).map((g) => [g.groupId, g.groupState])).toEqual([[G1, 'Stable']]);

    // Groups of other partitions are still not served.
    await expectAllAnswer(c, G2, NOT_COORDINATOR, member);
    await expectAllAnswer(c, G3, NOT_COORDINATOR, member);

    c.onElection(P2, 1);
    expect(await fetched(c, G2)).toEqual({ errorCode: ErrorCode.NONE, offsets: [['t', 0, 20n, ErrorCode.NONE]] });
    expect((await c.listGroups([], [])).map((g) => g.groupId).sort()).toEqual([G1, G2].sort());
    await expectAllAnswer(c, G3, NOT_COORDINATOR, member);

    // A marker for an owned partition completes the pending offsets; one for an unowned partition is ignored.
    c.onTxnMarker(P3, 1000n, true);
    c.onTxnMarker(P1, 1000n, true);
    expect((await fetched(c, G1, true)).offsets).toEqual([
      ['t', 0, 12n, ErrorCode.NONE],
      ['t', 1, 11n, ErrorCode.NONE],
    ]);
  });

  it('what an elected coordinator writes is what the next one loads', async () => {
    const store = newStore();
    await writeState(store);
    const clock = new ManualClock();
    const b = coordinator(offsetsLog(store), 'explicit', clock);
    b.onElection(P2, 1);
    expect((await b.commitOffsets(commit(G2, 21n))).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(await b.deleteGroups([G2])).toEqual([{ groupId: G2, errorCode: ErrorCode.NONE }]);
    b.onResignation(P2, 1);
    const c = coordinator(offsetsLog(store), 'explicit');
    c.onElection(P2, 2);
    // G2 was deleted (tombstones in P2): gone after the next load.
    expect(await fetched(c, G2)).toEqual({ errorCode: ErrorCode.NONE, offsets: [] });
    expect(c.groupState(G2)).toBeUndefined();
  });

  it('onResignation(p): NOT_COORDINATOR again, parked JoinGroup and SyncGroup answered NOT_COORDINATOR, members not fenced, nothing written', async () => {
    const store = newStore();
    const m1 = await writeState(store);
    const clock = new ManualClock();
    const c = coordinator(offsetsLog(store), 'explicit', clock);
    c.onElection(P1, 1);
    c.onElection(P3, 1);

    // A new member joins the Stable group: the rebalance waits for m1 to rejoin, so the join is parked.
    const parkedJoin = c.joinGroup(join(G1));
    expect(await isPending(parkedJoin)).toBe(true);
    expect(c.groupState(G1)).toBe('PreparingRebalance');
    const ends = [P1, P2, P3].map((p) => logEnd(store, p));

    c.onResignation(P1, 1);
    const answered: JoinGroupResult = await parkedJoin;
    expect(answered.errorCode).toBe(NOT_COORDINATOR);
    await expectAllAnswer(c, G1, NOT_COORDINATOR, m1);
    expect(c.groupState(G1)).toBeUndefined();
    expect([P1, P2, P3].map((p) => logEnd(store, p))).toEqual(ends);
    // The other owned partition is untouched.
    expect(await fetched(c, G3)).toEqual({ errorCode: ErrorCode.NONE, offsets: [['t', 0, 30n, ErrorCode.NONE]] });

    // Timers of the unloaded group are gone: long past every session and rebalance timeout,
    // re-election finds m1 still the Stable group's member at its generation.
    clock.advance(10 * REBALANCE);
    c.onElection(P1, 2);
    expect(c.groupState(G1)).toBe('Stable');
    expect(await c.heartbeat({ groupId: G1, generationId: m1.generationId, memberId: m1.memberId, groupInstanceId: null })).toBe(ErrorCode.NONE);
  });

  it('onResignation answers a SyncGroup parked in CompletingRebalance with NOT_COORDINATOR', async () => {
    const store = newStore();
    const m1 = await writeState(store);
    const c = coordinator(offsetsLog(store), 'explicit');
    c.onElection(P1, 1);
    const second = c.joinGroup(join(G1));
    const first = await c.joinGroup(join(G1, { memberId: m1.memberId }));
    const follower = await second;
    expect(c.groupState(G1)).toBe('CompletingRebalance');
    const followerId = first.leader === first.memberId ? follower.memberId : first.memberId;
    const parkedSync: Promise<SyncGroupResult> = c.syncGroup({
      groupId: G1,
      generationId: first.generationId,
      memberId: followerId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    expect(await isPending(parkedSync)).toBe(true);
    c.onResignation(P1);
    expect((await parkedSync).errorCode).toBe(NOT_COORDINATOR);
  });

  it('elections and resignations of an older coordinator epoch are ignored; a second election of an owned partition changes nothing', async () => {
    const store = newStore();
    const m1 = await writeState(store);
    const c = coordinator(offsetsLog(store), 'explicit');
    c.onElection(P1, 5);
    c.onResignation(P1, 4);
    expect(await fetched(c, G1)).toEqual({ errorCode: ErrorCode.NONE, offsets: [['t', 0, 10n, ErrorCode.NONE]] });
    // Still the same in-memory group (a rebalance in progress survives a re-election).
    const parked = c.joinGroup(join(G1));
    c.onElection(P1, 6);
    expect(c.groupState(G1)).toBe('PreparingRebalance');
    c.onResignation(P1, 6);
    expect((await parked).errorCode).toBe(NOT_COORDINATOR);
    c.onElection(P1, 5);
    await expectAllAnswer(c, G1, NOT_COORDINATOR, m1);
    c.onElection(P1, 7);
    expect(c.groupState(G1)).toBe('Stable');
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS while a partition loads (a heartbeat is answered blindly), NOT_COORDINATOR for the others', async () => {
    const store = newStore();
    const m1 = await writeState(store);
    const log = offsetsLog(store);
    const during: Array<Promise<unknown>> = [];
    let c: GroupCoordinator | undefined;
    const persistence: GroupPersistence & { partitionFor(g: string): number } = {
      partitionFor: (g) => log.partitionFor(g),
      load: () => log.load(),
      loadPartition: (p) => {
        during.push(
          c!.fetchOffsets({ groupId: G1, topics: null, requireStable: false }).then((r) => r.errorCode),
          c!.joinGroup(join(G1)).then((r) => r.errorCode),
          c!.heartbeat({ groupId: G1, generationId: m1.generationId, memberId: m1.memberId, groupInstanceId: null }),
          c!.fetchOffsets({ groupId: G2, topics: null, requireStable: false }).then((r) => r.errorCode),
          Promise.resolve(c!.isLoading()),
        );
        return log.loadPartition(p);
      },
      unloadPartition: (p) => log.unloadPartition(p),
      storeGroup: (g) => log.storeGroup(g),
      storeOffsets: (g, o) => log.storeOffsets(g, o),
      storeTxnOffsets: (g, pid, e, o) => log.storeTxnOffsets(g, pid, e, o),
      completeTxn: (p, pid, commitIt) => log.completeTxn(p, pid, commitIt),
      deleteOffsets: (g, p) => log.deleteOffsets(g, p),
      deleteGroup: (g, p) => log.deleteGroup(g, p),
    };
    c = coordinator(persistence, 'explicit');
    c.onElection(P1, 1);
    expect(await Promise.all(during)).toEqual([
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      ErrorCode.NONE,
      NOT_COORDINATOR,
      true,
    ]);
    expect(c.isLoading()).toBe(false);
    expect((await fetched(c, G1)).errorCode).toBe(ErrorCode.NONE);
  });

  it('a failed load leaves the partition unserved', async () => {
    const store = newStore();
    const m1 = await writeState(store);
    const log = offsetsLog(store);
    let fail = true;
    const persistence = Object.assign(Object.create(log) as OffsetsLog, {
      loadPartition: (p: number) => {
        if (fail) throw new Error('disk on fire');
        return log.loadPartition(p);
      },
    });
    const c = coordinator(persistence, 'explicit');
    c.onElection(P1, 1);
    await expectAllAnswer(c, G1, NOT_COORDINATOR, m1);
    fail = false;
    c.onElection(P1, 1);
    expect((await fetched(c, G1)).offsets).toEqual([['t', 0, 10n, ErrorCode.NONE]]);
  });

  it('a write refused with NOT_LEADER_OR_FOLLOWER answers NOT_COORDINATOR and leaves memory as it was', async () => {
    const store = newStore();
    const m1 = await writeState(store);
    const log = offsetsLog(store);
    const notLeader = Object.assign(new Error('not the leader'), { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    let refuse = false;
    const persistence = Object.assign(Object.create(log) as OffsetsLog, {
      storeOffsets: (g: string, o: Parameters<OffsetsLog['storeOffsets']>[1]) => {
        if (refuse) throw notLeader;
        log.storeOffsets(g, o);
      },
      loadPartition: (p: number) => log.loadPartition(p),
    });
    const c = coordinator(persistence, 'explicit');
    c.onElection(P1, 1);
    refuse = true;
    expect((await c.commitOffsets(commit(G1, 77n, m1))).topics[0]!.partitions[0]!.errorCode).toBe(NOT_COORDINATOR);
    expect((await fetched(c, G1)).offsets).toEqual([['t', 0, 10n, ErrorCode.NONE]]);
    // A plain storage error stays COORDINATOR_NOT_AVAILABLE (as on a single node).
    persistence.storeOffsets = () => {
      throw new Error('EIO');
    };
    expect((await c.commitOffsets(commit(G1, 78n, m1))).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await fetched(c, G1)).offsets).toEqual([['t', 0, 10n, ErrorCode.NONE]]);
  });

  it("in 'all' mode (single node) everything is served from the start and onElection/onResignation change nothing", async () => {
    const store = newStore();
    await writeState(store);
    const c = coordinator(offsetsLog(store), 'all');
    c.onResignation(P1, 1);
    c.onElection(P1, 1);
    expect(c.ownsPartition(P1)).toBe(true);
    expect((await fetched(c, G1)).offsets).toEqual([['t', 0, 10n, ErrorCode.NONE]]);
    expect((await c.listGroups([], [])).map((g) => g.groupId).sort()).toEqual([G1, G2, G3].sort());
  });

  it('explicit ownership needs a partition function and a persistence that loads one partition', () => {
    const store = newStore();
    const log = offsetsLog(store);
    expect(() => new GroupCoordinator({ clock: new ManualClock(), persistence: log, config: CONFIG, logger: silentLogger(), ownership: 'explicit' })).toThrow(/partitionFor/);
    const noPartitionLoad: GroupPersistence = { load: () => log.load(), storeGroup: () => {}, storeOffsets: () => {}, deleteOffsets: () => {}, deleteGroup: () => {} };
    expect(
      () => new GroupCoordinator({ clock: new ManualClock(), persistence: noPartitionLoad, config: CONFIG, logger: silentLogger(), ownership: 'explicit', partitionFor: () => 0 }),
    ).toThrow(/loadPartition/);
  });
});

describe('OffsetsLog.loadPartition', () => {
  it('replays only the partition itself: records of groups owned elsewhere are skipped (legacy placement)', () => {
    const store = newStore();
    const warns: string[] = [];
    const writer = offsetsLog(store);
    writer.storeOffsets(G1, [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: -1 }]);
    // An older Brook's record of G1 in G2's partition.
    const ts = 1_700_000_000_000n;
    const value = encodeOffsetCommitValue({ topic: 't', partition: 5, offset: 9n, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: -1 });
    store.partition(OFFSETS_TOPIC, P2)!.append([encodeRecordBatch({ baseTimestamp: ts, records: [{ key: encodeOffsetCommitKey(G1, 't', 5), value, timestamp: ts }] })], { writeThrough: true });

    const log = offsetsLog(store, { warn: (_o, msg) => void warns.push(msg), info: () => {} });
    const p2 = log.loadPartition(P2);
    expect(p2.groups).toEqual([]);
    expect([...p2.offsets.keys()]).toEqual([]);
    expect(warns).toContain('skipped offsets log records of groups owned by another partition');
    const p1 = log.loadPartition(P1);
    expect(p1.offsets.get(G1)!.map((o) => [o.partition, o.offset])).toEqual([[0, 1n]]);
    // Nothing was moved: the legacy move is the full load's business.
    expect(store.partition(OFFSETS_TOPIC, P1)!.logEndOffset).toBe(1n);
    // The full load still counts the foreign record (and moves it to the owner).
    const full = offsetsLog(store).load();
    expect(full.offsets.get(G1)!.map((o) => [o.partition, o.offset]).sort()).toEqual([[0, 1n], [5, 9n]]);
  });

  it('a write to a partition not loaded replays that partition first (deletions know its keys)', () => {
    const store = newStore();
    const writer = offsetsLog(store);
    writer.storeOffsets(G1, [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: -1 }]);
    const log = offsetsLog(store);
    log.loadPartition(P2);
    log.deleteGroup(G1, []);
    expect(offsetsLog(store).load().offsets.has(G1)).toBe(false);
  });
});
