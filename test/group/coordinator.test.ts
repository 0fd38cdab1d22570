// GroupCoordinator behaviour (Kafka's classic group protocol) driven by a ManualClock over an
// in-memory GroupPersistence.

import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { Writer } from '../../protocol/primitives/writer.js';
import { encodeConsumerProtocolSubscription } from '../../protocol/generated/data/consumer-protocol-subscription.js';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/logger.js';
import { BrokerConfig } from '../../src/config/config.js';
import { GroupCoordinator, NEW_MEMBER_JOIN_TIMEOUT_MS, type ClassicJoinGroupInput, type GroupCoordinatorConfig } from '../../src/group/coordinator.js';
import type {
  CommittedOffset,
  GroupPersistence,
  GroupSnapshot,
  JoinGroupResult,
  OffsetCommitInput,
} from '../../src/group/types.js';

// ------------------------------------------------------------------ fakes and helpers

function cloneGroup(g: GroupSnapshot): GroupSnapshot {
  return {
    ...g,
    members: g.members.map((m) => ({
      ...m,
      protocols: m.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      assignment: Buffer.from(m.assignment),
    })),
  };
}

class FakePersistence implements GroupPersistence {
  readonly groups = new Map<string, GroupSnapshot>();
  readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  readonly calls: string[] = [];
  failNext: 'storeGroup' | 'storeOffsets' | null = null;

  load(): { groups: GroupSnapshot[]; offsets: Map<string, CommittedOffset[]> } {
    const offsets = new Map<string, CommittedOffset[]>();
    for (const [g, m] of this.offsets) offsets.set(g, [...m.values()].map((o) => ({ ...o })));
    return { groups: [...this.groups.values()].map(cloneGroup), offsets };
  }

  storeGroup(group: GroupSnapshot): void {
    if (this.failNext === 'storeGroup') {
      this.failNext = null;
      throw new Error('disk full');
    }
    this.calls.push(`storeGroup ${group.groupId} gen=${group.generationId} members=${group.members.length}`);
    this.groups.set(group.groupId, cloneGroup(group));
  }

  storeOffsets(groupId: string, offsets: CommittedOffset[]): void {
    if (this.failNext === 'storeOffsets') {
      this.failNext = null;
      throw new Error('disk full');
    }
    this.calls.push(`storeOffsets ${groupId} ${offsets.map((o) => `${o.topic}-${o.partition}@${o.offset}`).join(',')}`);
    let m = this.offsets.get(groupId);
    if (!m) this.offsets.set(groupId, (m = new Map()));
    for (const o of offsets) m.set(`${o.topic}-${o.partition}`, { ...o });
  }

  deleteOffsets(groupId: string, partitions: Array<{ topic: string; partition: number }>): void {
    this.calls.push(`deleteOffsets ${groupId} ${partitions.map((p) => `${p.topic}-${p.partition}`).join(',')}`);
    const m = this.offsets.get(groupId);
    for (const p of partitions) m?.delete(`${p.topic}-${p.partition}`);
    if (m && m.size === 0) this.offsets.delete(groupId);
  }

  deleteGroup(groupId: string, partitions: Array<{ topic: string; partition: number }>): void {
    this.calls.push(`deleteGroup ${groupId} ${partitions.map((p) => `${p.topic}-${p.partition}`).join(',')}`);
    this.groups.delete(groupId);
    this.offsets.delete(groupId);
  }

  compact(): void {}

  take(): string[] {
    return this.calls.splice(0);
  }
}

function subscription(topics: string[], userData = 0): Buffer {
  const w = new Writer();
  w.int16(1);
  encodeConsumerProtocolSubscription(w, { topics, userData: Buffer.from([userData]), ownedPartitions: [], generationId: -1, rackId: null }, 1);
  return w.finish();
}

const SUB = subscription(['t']);
const RANGE = [{ name: 'range', metadata: SUB }];

const DEFAULT_CONFIG: GroupCoordinatorConfig = {
  initialRebalanceDelayMs: 0,
  offsetsRetentionMs: 7 * 24 * 3600_000,
  groupMaxSize: 1000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1800000,
  offsetsRetentionCheckIntervalMs: 600000,
};

let open: GroupCoordinator[] = [];
afterEach(() => {
  for (const c of open) c.close();
  open = [];
});

interface Harness {
  clock: ManualClock;
  persistence: FakePersistence;
  c: GroupCoordinator;
}

function setup(config: Partial<GroupCoordinatorConfig> = {}, opts: { persistence?: FakePersistence; clock?: ManualClock; topicExists?: (t: string, p: number) => boolean } = {}): Harness {
  const clock = opts.clock ?? new ManualClock();
  const persistence = opts.persistence ?? new FakePersistence();
  const c = new GroupCoordinator({
    clock,
    persistence,
    config: { ...DEFAULT_CONFIG, ...config },
    logger: silentLogger(),
    topicExists: opts.topicExists ?? ((t) => !t.startsWith('missing')),
  });
  open.push(c);
  return { clock, persistence, c };
}

function joinInput(o: Partial<ClassicJoinGroupInput> = {}): ClassicJoinGroupInput {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: RANGE,
    sessionTimeoutMs: 10000,
    rebalanceTimeoutMs: 30000,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: false,
    reason: null,
    ...o,
  };
}

/** Lets queued work and promise callbacks run. */
const flush = () => new Promise<void>((r) => setImmediate(r));

/** A promise whose settlement can be checked without awaiting it. */
function track<T>(p: Promise<T>): { p: Promise<T>; done: () => boolean; value: () => T } {
  let done = false;
  let value: T | undefined;
  void p.then((v) => {
    done = true;
    value = v;
  });
  return { p, done: () => done, value: () => value as T };
}

async function sync(c: GroupCoordinator, memberId: string, generationId: number, assignments: Array<{ memberId: string; assignment: Buffer }> = [], o: Partial<Parameters<GroupCoordinator['syncGroup']>[0]> = {}) {
  return c.syncGroup({ groupId: 'g', generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments, ...o });
}

function hb(c: GroupCoordinator, memberId: string, generationId: number, groupInstanceId: string | null = null, groupId = 'g') {
  return c.heartbeat({ groupId, memberId, generationId, groupInstanceId });
}

function commitInput(o: Partial<OffsetCommitInput> & { parts?: Array<[string, number, bigint, (string | null)?]> } = {}): OffsetCommitInput {
  const parts = o.parts ?? [['t', 0, 10n]];
  const byTopic = new Map<string, OffsetCommitInput['topics'][number]['partitions']>();
  for (const [t, p, off, md] of parts) {
    if (!byTopic.has(t)) byTopic.set(t, []);
    byTopic.get(t)!.push({ partitionIndex: p, committedOffset: off, committedLeaderEpoch: 3, commitTimestamp: -1n, committedMetadata: md === undefined ? 'md' : md });
  }
  const { parts: _ignored, ...rest } = o;
  return {
    groupId: 'g',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    ...rest,
  };
}

function codes(r: { topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }> }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of r.topics) for (const p of t.partitions) out[`${t.name}-${p.partitionIndex}`] = p.errorCode;
  return out;
}

/** One member joins a fresh group (delay 0) and syncs: Stable, generation 1. */
async function stableSingle(h: Harness, o: Partial<ClassicJoinGroupInput> = {}): Promise<JoinGroupResult> {
  const j = await h.c.joinGroup(joinInput(o));
  expect(j.errorCode).toBe(ErrorCode.NONE);
  const s = await sync(h.c, j.memberId, j.generationId, [{ memberId: j.memberId, assignment: Buffer.from('A') }], { groupId: o.groupId ?? 'g' });
  expect(s.errorCode).toBe(ErrorCode.NONE);
  return j;
}

/**
 * Forms a Stable group of several members in one generation: the first joins (generation 1 at
 * once with delay 0), the others join and start a rebalance, the first rejoins and leads; the
 * leader assigns `asg-${memberId}` to everyone.
 */
async function stableGroup(h: Harness, inputs: Array<Partial<ClassicJoinGroupInput>>): Promise<JoinGroupResult[]> {
  const first = await h.c.joinGroup(joinInput(inputs[0]));
  expect(first.errorCode).toBe(ErrorCode.NONE);
  let results = [first];
  if (inputs.length > 1) {
    const others = inputs.slice(1).map((o) => track(h.c.joinGroup(joinInput(o))));
    await flush();
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
    const again = track(h.c.joinGroup(joinInput({ ...inputs[0], memberId: first.memberId })));
    await flush();
    results = [await again.p, ...(await Promise.all(others.map((t) => t.p)))];
  }
  const gen = results[0]!.generationId;
  for (const r of results) {
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.generationId).toBe(gen);
  }
  const leader = results.find((r) => r.leader === r.memberId)!;
  expect(leader.memberId).toBe(first.memberId);
  const instance = (r: JoinGroupResult) => inputs[results.indexOf(r)]?.groupInstanceId ?? null;
  const syncs = results.filter((r) => r !== leader).map((r) => track(sync(h.c, r.memberId, gen, [], { groupInstanceId: instance(r) })));
  const assignments = results.map((r) => ({ memberId: r.memberId, assignment: Buffer.from(`asg-${r.memberId}`) }));
  const ls = await sync(h.c, leader.memberId, gen, assignments, { groupInstanceId: instance(leader) });
  expect(ls.errorCode).toBe(ErrorCode.NONE);
  for (const s of syncs) expect((await s.p).errorCode).toBe(ErrorCode.NONE);
  expect(h.c.groupState('g')).toBe('Stable');
  return results;
}

// ------------------------------------------------------------------ JoinGroup

describe('JoinGroup validation', () => {
  it('empty group id -> INVALID_GROUP_ID', async () => {
    const { c } = setup();
    expect((await c.joinGroup(joinInput({ groupId: '' }))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
  });

  it('session timeout outside [min, max] -> INVALID_SESSION_TIMEOUT', async () => {
    const { c } = setup();
    expect((await c.joinGroup(joinInput({ sessionTimeoutMs: 5999 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await c.joinGroup(joinInput({ sessionTimeoutMs: 1800001 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await c.joinGroup(joinInput({ sessionTimeoutMs: 6000 }))).errorCode).toBe(ErrorCode.NONE);
  });

  it('empty protocol list or protocol type -> INCONSISTENT_GROUP_PROTOCOL', async () => {
    const { c } = setup();
    expect((await c.joinGroup(joinInput({ protocols: [] }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.joinGroup(joinInput({ protocolType: '' }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('protocol type mismatch or no common protocol -> INCONSISTENT_GROUP_PROTOCOL', async () => {
    const h = setup();
    await stableSingle(h);
    const other = await h.c.joinGroup(joinInput({ protocolType: 'connect' }));
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(other.memberId).toBe('');
    const noCommon = await h.c.joinGroup(joinInput({ protocols: [{ name: 'roundrobin', metadata: SUB }] }));
    expect(noCommon.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(h.c.groupState('g')).toBe('Stable');
  });

  it('unknown member id -> UNKNOWN_MEMBER_ID (missing group: not created)', async () => {
    const h = setup();
    expect((await h.c.joinGroup(joinInput({ memberId: 'nobody' }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(h.c.groupState('g')).toBeUndefined();
    await stableSingle(h);
    const r = await h.c.joinGroup(joinInput({ memberId: 'nobody' }));
    expect(r.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(r.memberId).toBe('nobody');
  });

  it('group.max.size -> GROUP_MAX_SIZE_REACHED for new members', async () => {
    const h = setup({ groupMaxSize: 2 });
    await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b' }]);
    const r = await h.c.joinGroup(joinInput({ clientId: 'c' }));
    expect(r.errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
    expect(r.memberId).toBe('');
    expect(h.c.groupState('g')).toBe('Stable');
  });

  it('a group is created by the first join (Empty until the rebalance starts)', async () => {
    const h = setup({ initialRebalanceDelayMs: 3000 });
    expect((await h.c.listGroups([], [])).length).toBe(0);
    void h.c.joinGroup(joinInput());
    await flush();
    expect(await h.c.listGroups([], [])).toEqual([{ groupId: 'g', protocolType: 'consumer', groupState: 'PreparingRebalance', groupType: 'classic' }]);
  });
});

describe('JoinGroup: member id required (KIP-394)', () => {
  it('an empty member id gets MEMBER_ID_REQUIRED with a generated id; joining with it proceeds', async () => {
    const h = setup();
    const first = await h.c.joinGroup(joinInput({ requireKnownMemberId: true, clientId: 'consumer-1' }));
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^consumer-1-[0-9a-f-]{36}$/);
    expect(first.generationId).toBe(-1);
    expect(h.c.groupState('g')).toBe('Empty');
    const second = await h.c.joinGroup(joinInput({ requireKnownMemberId: true, clientId: 'consumer-1', memberId: first.memberId }));
    expect(second.errorCode).toBe(ErrorCode.NONE);
    expect(second.memberId).toBe(first.memberId);
    expect(second.leader).toBe(first.memberId);
    expect(second.generationId).toBe(1);
    expect(second.protocolType).toBe('consumer');
    expect(second.protocolName).toBe('range');
    expect(second.members).toEqual([{ memberId: first.memberId, groupInstanceId: null, metadata: SUB }]);
    expect(h.c.groupState('g')).toBe('CompletingRebalance');
  });

  it('a pending member id expires after the session timeout', async () => {
    const h = setup();
    const first = await h.c.joinGroup(joinInput({ requireKnownMemberId: true }));
    h.clock.advance(10000);
    await flush();
    const late = await h.c.joinGroup(joinInput({ requireKnownMemberId: true, memberId: first.memberId }));
    expect(late.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a pending member id keeps a rebalance open until it joins', async () => {
    const h = setup();
    const [a] = await stableGroup(h, [{ clientId: 'a' }]);
    const pend = await h.c.joinGroup(joinInput({ requireKnownMemberId: true, clientId: 'b' }));
    expect(pend.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(h.c.groupState('g')).toBe('Stable');
    // The leader rejoins: the rebalance waits for the pending member too.
    const aj = track(h.c.joinGroup(joinInput({ memberId: a!.memberId })));
    await flush();
    expect(aj.done()).toBe(false);
    const bj = await h.c.joinGroup(joinInput({ requireKnownMemberId: true, clientId: 'b', memberId: pend.memberId }));
    await flush();
    expect(aj.done()).toBe(true);
    expect(bj.generationId).toBe(2);
    expect(aj.value().members.length).toBe(2);
  });

  it('a pending member that never comes back lets the rebalance finish when it expires', async () => {
    const h = setup();
    const [a] = await stableGroup(h, [{ clientId: 'a' }]);
    await h.c.joinGroup(joinInput({ requireKnownMemberId: true, clientId: 'b' }));
    const aj = track(h.c.joinGroup(joinInput({ memberId: a!.memberId })));
    h.clock.advance(9999);
    await flush();
    expect(aj.done()).toBe(false);
    h.clock.advance(1);
    await flush();
    expect(aj.done()).toBe(true);
    expect(aj.value().generationId).toBe(2);
    expect(aj.value().members.map((m) => m.memberId)).toEqual([a!.memberId]);
  });
});

describe('rebalances', () => {
  it('three members: the leader alone gets everyone\'s metadata; SyncGroup distributes assignments', async () => {
    const h = setup({ initialRebalanceDelayMs: 3000 });
    const subs = [subscription(['t'], 1), subscription(['t'], 2), subscription(['t'], 3)];
    const joins = ['a', 'b', 'c'].map((clientId, i) => track(h.c.joinGroup(joinInput({ clientId, protocols: [{ name: 'range', metadata: subs[i]! }] }))));
    await flush();
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
    // Members joined during the initial delay: it is extended once.
    h.clock.advance(3000);
    await flush();
    expect(joins.some((j) => j.done())).toBe(false);
    h.clock.advance(3000);
    await flush();
    const [a, b, c] = await Promise.all(joins.map((j) => j.p));
    for (const r of [a!, b!, c!]) {
      expect(r.errorCode).toBe(ErrorCode.NONE);
      expect(r.generationId).toBe(1);
      expect(r.leader).toBe(a!.memberId);
      expect(r.protocolName).toBe('range');
    }
    expect(a!.members).toEqual([
      { memberId: a!.memberId, groupInstanceId: null, metadata: subs[0] },
      { memberId: b!.memberId, groupInstanceId: null, metadata: subs[1] },
      { memberId: c!.memberId, groupInstanceId: null, metadata: subs[2] },
    ]);
    expect(b!.members).toEqual([]);
    expect(c!.members).toEqual([]);
    expect(h.c.groupState('g')).toBe('CompletingRebalance');
    expect(h.persistence.take()).toEqual([]);

    // Followers wait for the leader.
    const sb = track(sync(h.c, b!.memberId, 1));
    const sc = track(sync(h.c, c!.memberId, 1));
    await flush();
    expect(sb.done() || sc.done()).toBe(false);
    // The leader leaves c out: c gets an empty assignment.
    const sa = await sync(h.c, a!.memberId, 1, [
      { memberId: a!.memberId, assignment: Buffer.from('A') },
      { memberId: b!.memberId, assignment: Buffer.from('B') },
    ]);
    expect(sa).toEqual({ errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('A') });
    expect((await sb.p).assignment).toEqual(Buffer.from('B'));
    expect((await sc.p).assignment).toEqual(Buffer.alloc(0));
    expect(h.c.groupState('g')).toBe('Stable');
    expect(h.persistence.take()).toEqual(['storeGroup g gen=1 members=3']);
    expect(h.persistence.groups.get('g')!.members.map((m) => m.assignment.toString())).toEqual(['A', 'B', '']);

    // In Stable, SyncGroup answers the current assignment.
    expect((await sync(h.c, b!.memberId, 1)).assignment).toEqual(Buffer.from('B'));
  });

  it('initial delay is extended while members keep arriving, up to the rebalance timeout', async () => {
    const h = setup({ initialRebalanceDelayMs: 3000 });
    const a = track(h.c.joinGroup(joinInput({ clientId: 'a', rebalanceTimeoutMs: 10000 })));
    for (const [at, id] of [[2000, 'b'], [4000, 'c'], [7000, 'd'], [9500, 'e']] as const) {
      h.clock.advance(at - (h.clock.now() - Date.UTC(2026, 0, 1)));
      void h.c.joinGroup(joinInput({ clientId: id, rebalanceTimeoutMs: 10000 }));
      await flush();
    }
    h.clock.advance(499);
    await flush();
    expect(a.done()).toBe(false);
    h.clock.advance(1);
    await flush();
    expect(a.done()).toBe(true);
    expect(a.value().members.length).toBe(5);
  });

  it('protocol selection: votes by each member\'s preference among common protocols', async () => {
    const h = setup({ initialRebalanceDelayMs: 100 });
    const p = (names: string[]) => names.map((name) => ({ name, metadata: subscription(['t']) }));
    const joins = [
      h.c.joinGroup(joinInput({ clientId: 'a', protocols: p(['range', 'roundrobin', 'sticky']) })),
      h.c.joinGroup(joinInput({ clientId: 'b', protocols: p(['roundrobin', 'range']) })),
      h.c.joinGroup(joinInput({ clientId: 'c', protocols: p(['sticky', 'roundrobin', 'range']) })),
    ];
    h.clock.advance(200);
    const rs = await Promise.all(joins);
    // Common: range, roundrobin. Votes: a range, b roundrobin, c roundrobin.
    expect(rs.map((r) => r.protocolName)).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
    const leader = rs.find((r) => r.members.length > 0)!;
    expect(leader.members.every((m) => m.metadata.equals(subscription(['t'])))).toBe(true);
  });

  it('a 4th member triggers a rebalance: heartbeats say REBALANCE_IN_PROGRESS, members rejoin, generation +1', async () => {
    const h = setup();
    const [a, b, c] = await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b' }, { clientId: 'c' }]);
    const gen = a!.generationId;
    h.persistence.take();
    const d = track(h.c.joinGroup(joinInput({ clientId: 'd' })));
    await flush();
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
    for (const m of [a!, b!, c!]) expect(await hb(h.c, m.memberId, gen)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    // Commits of the old generation are still accepted while preparing.
    expect(codes(await h.c.commitOffsets(commitInput({ generationId: gen, memberId: b!.memberId })))).toEqual({ 't-0': ErrorCode.NONE });
    // A SyncGroup now is told to rejoin.
    expect((await sync(h.c, b!.memberId, gen)).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoins = [a!, b!].map((m) => track(h.c.joinGroup(joinInput({ memberId: m.memberId }))));
    await flush();
    expect(d.done()).toBe(false);
    const cj = await h.c.joinGroup(joinInput({ memberId: c!.memberId }));
    await flush();
    const all = [...(await Promise.all(rejoins.map((r) => r.p))), cj, await d.p];
    for (const r of all) {
      expect(r.errorCode).toBe(ErrorCode.NONE);
      expect(r.generationId).toBe(gen + 1);
      expect(r.leader).toBe(a!.memberId);
    }
    expect(all.find((r) => r.memberId === a!.memberId)!.members.length).toBe(4);
    // Heartbeats of the old generation are now illegal; of the new one fine (CompletingRebalance).
    expect(await hb(h.c, b!.memberId, gen)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await hb(h.c, b!.memberId, gen + 1)).toBe(ErrorCode.NONE);
    expect(h.persistence.take()).toEqual(['storeOffsets g t-0@10']);
  });

  it('a follower rejoining Stable with the same metadata gets the current generation, no rebalance', async () => {
    const h = setup();
    const [, b] = await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b' }]);
    const r = await h.c.joinGroup(joinInput({ memberId: b!.memberId }));
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.generationId).toBe(b!.generationId);
    expect(r.members).toEqual([]);
    expect(h.c.groupState('g')).toBe('Stable');
  });

  it('a follower with changed metadata, or the leader, triggers a rebalance', async () => {
    const h = setup();
    const [a, b] = await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b' }]);
    void h.c.joinGroup(joinInput({ memberId: b!.memberId, protocols: [{ name: 'range', metadata: subscription(['t', 'u']) }] }));
    await flush();
    expect(h.c.groupState('g')).toBe('PreparingRebalance');

    const h2 = setup();
    const [a2] = await stableGroup(h2, [{ clientId: 'a' }, { clientId: 'b' }]);
    void h2.c.joinGroup(joinInput({ memberId: a2!.memberId }));
    await flush();
    expect(h2.c.groupState('g')).toBe('PreparingRebalance');
    expect(a).toBeDefined();
  });

  it('rejoin in CompletingRebalance with the same metadata answers the generation again (leader gets members)', async () => {
    const h = setup({ initialRebalanceDelayMs: 100 });
    const joins = [h.c.joinGroup(joinInput({ clientId: 'a' })), h.c.joinGroup(joinInput({ clientId: 'b' }))];
    h.clock.advance(200);
    const [a, b] = await Promise.all(joins);
    const again = await h.c.joinGroup(joinInput({ memberId: a!.memberId }));
    expect(again.generationId).toBe(1);
    expect(again.members.length).toBe(2);
    const againB = await h.c.joinGroup(joinInput({ memberId: b!.memberId }));
    expect(againB.members).toEqual([]);
    expect(h.c.groupState('g')).toBe('CompletingRebalance');
    // Changed metadata there: rebalance, and a waiting follower's SyncGroup is told so.
    const sb = track(sync(h.c, b!.memberId, 1));
    await flush();
    void h.c.joinGroup(joinInput({ memberId: a!.memberId, protocols: [{ name: 'range', metadata: subscription(['x']) }] }));
    await flush();
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
    expect((await sb.p).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('session expiry removes a member and rebalances', async () => {
    const h = setup();
    const [a, b] = await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b' }]);
    const gen = a!.generationId;
    // a heartbeats, b does not.
    for (let i = 0; i < 3; i++) {
      h.clock.advance(3000);
      expect(await hb(h.c, a!.memberId, gen)).toBe(ErrorCode.NONE);
    }
    expect(h.c.groupState('g')).toBe('Stable');
    h.clock.advance(1000); // b's session (10 s) ends
    await flush();
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
    expect(await hb(h.c, b!.memberId, gen)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await hb(h.c, a!.memberId, gen)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const r = await h.c.joinGroup(joinInput({ memberId: a!.memberId }));
    expect(r.generationId).toBe(gen + 1);
    expect(r.members.map((m) => m.memberId)).toEqual([a!.memberId]);
  });

  it('the last member expiring leaves the group Empty at a new generation (persisted)', async () => {
    const h = setup();
    const j = await stableSingle(h);
    h.persistence.take();
    h.clock.advance(10000);
    await flush();
    expect(h.c.groupState('g')).toBe('Empty');
    expect(h.persistence.take()).toEqual(['storeGroup g gen=2 members=0']);
    expect(await hb(h.c, j.memberId, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('the rebalance timeout removes members that never rejoin', async () => {
    const h = setup();
    const [a, b] = await stableGroup(h, [{ clientId: 'a', rebalanceTimeoutMs: 20000 }, { clientId: 'b', rebalanceTimeoutMs: 20000 }]);
    const gen = a!.generationId;
    const aj = track(h.c.joinGroup(joinInput({ memberId: a!.memberId, rebalanceTimeoutMs: 20000 })));
    // b keeps heartbeating (it is alive) but never rejoins.
    for (let t = 0; t < 19000; t += 3000) {
      h.clock.advance(3000);
      await flush();
      if (!aj.done()) expect(await hb(h.c, b!.memberId, gen)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    await flush();
    expect(aj.done()).toBe(true);
    expect(aj.value().generationId).toBe(gen + 1);
    expect(aj.value().members.map((m) => m.memberId)).toEqual([a!.memberId]);
    expect(await hb(h.c, b!.memberId, gen)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a new member whose join waits too long is dropped with UNKNOWN_MEMBER_ID', async () => {
    const h = setup();
    const [a] = await stableGroup(h, [{ clientId: 'a', rebalanceTimeoutMs: 600000, sessionTimeoutMs: 600000 }]);
    // a is static-like slow: it never rejoins; the new member waits.
    const n = track(h.c.joinGroup(joinInput({ clientId: 'n', rebalanceTimeoutMs: 600000, sessionTimeoutMs: 600000 })));
    for (let t = 0; t < NEW_MEMBER_JOIN_TIMEOUT_MS; t += 60000) {
      h.clock.advance(60000);
      await hb(h.c, a!.memberId, a!.generationId);
    }
    await flush();
    expect(n.done()).toBe(true);
    expect(n.value().errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('members that never send SyncGroup are removed after the rebalance timeout', async () => {
    const h = setup({ initialRebalanceDelayMs: 100 });
    const joins = [h.c.joinGroup(joinInput({ clientId: 'a' })), h.c.joinGroup(joinInput({ clientId: 'b' }))];
    h.clock.advance(200);
    const [a, b] = await Promise.all(joins);
    // b syncs and waits; the leader a heartbeats but never syncs.
    const sb = track(sync(h.c, b!.memberId, 1));
    for (let t = 0; t < 27000; t += 3000) {
      h.clock.advance(3000);
      expect(await hb(h.c, a!.memberId, 1)).toBe(ErrorCode.NONE);
    }
    expect(sb.done()).toBe(false);
    h.clock.advance(2999);
    await flush();
    expect(h.c.groupState('g')).toBe('CompletingRebalance');
    h.clock.advance(1);
    await flush();
    // a is removed; b is told to rejoin.
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
    expect((await sb.p).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(await hb(h.c, a!.memberId, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const bj = await h.c.joinGroup(joinInput({ memberId: b!.memberId }));
    expect(bj.generationId).toBe(2);
    expect(bj.leader).toBe(b!.memberId);
  });

  it('nobody syncing: everyone is removed and the group becomes Empty', async () => {
    const h = setup({ initialRebalanceDelayMs: 100 });
    const joins = [h.c.joinGroup(joinInput({ clientId: 'a' })), h.c.joinGroup(joinInput({ clientId: 'b' }))];
    h.clock.advance(200);
    await Promise.all(joins);
    h.persistence.take();
    h.clock.advance(30000);
    await flush();
    expect(h.c.groupState('g')).toBe('Empty');
    expect(h.persistence.take()).toEqual(['storeGroup g gen=2 members=0']);
  });

  it('with the default delay 0 the first member forms generation 1 at once; a second member rebalances', async () => {
    const h = setup();
    const a = await h.c.joinGroup(joinInput({ clientId: 'a' }));
    expect(a.generationId).toBe(1);
    const bj = track(h.c.joinGroup(joinInput({ clientId: 'b' })));
    await flush();
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
    // a's SyncGroup for generation 1 is told to rejoin.
    expect((await sync(h.c, a.memberId, 1, [])).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const a2 = await h.c.joinGroup(joinInput({ memberId: a.memberId }));
    expect(a2.generationId).toBe(2);
    expect((await bj.p).generationId).toBe(2);
  });

  it('a duplicate JoinGroup while one waits answers the first with REBALANCE_IN_PROGRESS', async () => {
    const h = setup();
    const [a, b] = await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b' }]);
    const first = track(h.c.joinGroup(joinInput({ memberId: a!.memberId })));
    await flush();
    const second = track(h.c.joinGroup(joinInput({ memberId: a!.memberId })));
    await flush();
    expect(first.done()).toBe(true);
    expect(first.value().errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    await h.c.joinGroup(joinInput({ memberId: b!.memberId }));
    await flush();
    expect(second.value().errorCode).toBe(ErrorCode.NONE);
  });
});

// ------------------------------------------------------------------ SyncGroup / Heartbeat

describe('SyncGroup errors', () => {
  it('unknown group or member, wrong generation, protocol mismatch, empty group id', async () => {
    const h = setup();
    expect((await sync(h.c, 'x', 1)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await sync(h.c, 'x', 1, [], { groupId: '' })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    const j = await h.c.joinGroup(joinInput());
    expect((await sync(h.c, 'x', 1)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await sync(h.c, j.memberId, 2)).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await sync(h.c, j.memberId, 1, [], { protocolType: 'connect' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await sync(h.c, j.memberId, 1, [], { protocolName: 'roundrobin' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const ok = await sync(h.c, j.memberId, 1, [], { protocolType: 'consumer', protocolName: 'range' });
    expect(ok).toEqual({ errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.alloc(0) });
  });

  it('a failed store of the assignment answers COORDINATOR_NOT_AVAILABLE and rebalances', async () => {
    const h = setup();
    const j = await h.c.joinGroup(joinInput());
    h.persistence.failNext = 'storeGroup';
    expect((await sync(h.c, j.memberId, 1, [{ memberId: j.memberId, assignment: Buffer.from('A') }])).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
  });
});

describe('Heartbeat', () => {
  it('errors and states', async () => {
    const h = setup({ initialRebalanceDelayMs: 100 });
    expect(await hb(h.c, 'm', 0)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await hb(h.c, 'm', 0, null, '')).toBe(ErrorCode.INVALID_GROUP_ID);
    const joins = [h.c.joinGroup(joinInput({ clientId: 'a' })), h.c.joinGroup(joinInput({ clientId: 'b' }))];
    await flush();
    h.clock.advance(200);
    const [a, b] = await Promise.all(joins);
    expect(await hb(h.c, 'm', 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await hb(h.c, a!.memberId, 0)).toBe(ErrorCode.ILLEGAL_GENERATION);
    // CompletingRebalance: a normal heartbeat (Kafka answers NONE there).
    expect(await hb(h.c, b!.memberId, 1)).toBe(ErrorCode.NONE);
    await Promise.all([sync(h.c, b!.memberId, 1), sync(h.c, a!.memberId, 1, [])]);
    expect(await hb(h.c, b!.memberId, 1)).toBe(ErrorCode.NONE);
  });

  it('each heartbeat re-arms the session', async () => {
    const h = setup();
    const j = await stableSingle(h);
    for (let i = 0; i < 10; i++) {
      h.clock.advance(9999);
      expect(await hb(h.c, j.memberId, 1)).toBe(ErrorCode.NONE);
    }
    expect(h.c.groupState('g')).toBe('Stable');
  });
});

// ------------------------------------------------------------------ static membership

describe('static membership (KIP-345)', () => {
  it('a restart within the session timeout gets the old assignment without a rebalance', async () => {
    const h = setup();
    const [a, b] = await stableGroup(h, [{ clientId: 'a', groupInstanceId: 'ia' }, { clientId: 'b', groupInstanceId: 'ib' }]);
    expect(a!.memberId).toMatch(/^ia-/);
    const gen = a!.generationId;
    h.persistence.take();
    h.clock.advance(5000);
    const nb = await h.c.joinGroup(joinInput({ clientId: 'b', groupInstanceId: 'ib' }));
    expect(nb.errorCode).toBe(ErrorCode.NONE);
    expect(nb.memberId).not.toBe(b!.memberId);
    expect(nb.generationId).toBe(gen);
    expect(nb.leader).toBe(a!.memberId);
    expect(nb.members).toEqual([]);
    expect(h.c.groupState('g')).toBe('Stable');
    expect(h.persistence.take()).toEqual([`storeGroup g gen=${gen} members=2`]);
    expect(h.persistence.groups.get('g')!.members.map((m) => m.memberId)).toContain(nb.memberId);
    const s = await sync(h.c, nb.memberId, gen, [], { groupInstanceId: 'ib' });
    expect(s.assignment).toEqual(Buffer.from(`asg-${b!.memberId}`));
    // The old member id is fenced.
    expect(await hb(h.c, b!.memberId, gen, 'ib')).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(await hb(h.c, b!.memberId, gen)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await sync(h.c, b!.memberId, gen, [], { groupInstanceId: 'ib' })).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(codes(await h.c.commitOffsets(commitInput({ generationId: gen, memberId: b!.memberId, groupInstanceId: 'ib' })))).toEqual({ 't-0': ErrorCode.FENCED_INSTANCE_ID });
    const leave = await h.c.leaveGroup({ groupId: 'g', members: [{ memberId: b!.memberId, groupInstanceId: 'ib', reason: null }] });
    expect(leave.members[0]!.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(await hb(h.c, nb.memberId, gen, 'ib')).toBe(ErrorCode.NONE);
    expect(h.c.groupState('g')).toBe('Stable');
  });

  it('a restarted static leader: before v9 it is told the old leader id; v9+ it leads with skipAssignment', async () => {
    const h = setup();
    const [a] = await stableGroup(h, [{ clientId: 'a', groupInstanceId: 'ia' }, { clientId: 'b', groupInstanceId: 'ib' }]);
    const old = await h.c.joinGroup(joinInput({ clientId: 'a', groupInstanceId: 'ia' }));
    expect(old.leader).toBe(a!.memberId);
    expect(old.leader).not.toBe(old.memberId);
    expect(old.skipAssignment).toBe(false);
    expect(old.members).toEqual([]);
    const v9 = await h.c.joinGroup(joinInput({ clientId: 'a', groupInstanceId: 'ia', supportSkippingAssignment: true }));
    expect(v9.leader).toBe(v9.memberId);
    expect(v9.skipAssignment).toBe(true);
    expect(v9.members.map((m) => m.groupInstanceId).sort()).toEqual(['ia', 'ib']);
    expect(v9.generationId).toBe(a!.generationId);
    expect(h.c.groupState('g')).toBe('Stable');
  });

  it('a static member whose new protocols change the selected protocol triggers a rebalance', async () => {
    const h = setup();
    await stableGroup(h, [{ clientId: 'a', groupInstanceId: 'ia' }]);
    void h.c.joinGroup(joinInput({ groupInstanceId: 'ia', protocols: [{ name: 'roundrobin', metadata: SUB }, { name: 'range', metadata: SUB }] }));
    await flush();
    expect(h.c.groupState('g')).not.toBe('Stable');
  });

  it('a static member rejoining during CompletingRebalance restarts the rebalance', async () => {
    const h = setup({ initialRebalanceDelayMs: 100 });
    const joins = [h.c.joinGroup(joinInput({ groupInstanceId: 'ia' })), h.c.joinGroup(joinInput({ groupInstanceId: 'ib' }))];
    h.clock.advance(200);
    await Promise.all(joins);
    expect(h.c.groupState('g')).toBe('CompletingRebalance');
    void h.c.joinGroup(joinInput({ groupInstanceId: 'ib' }));
    await flush();
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
  });

  it('a duplicate instance fences the waiting JoinGroup of the old member id', async () => {
    const h = setup();
    const [a, b] = await stableGroup(h, [{ clientId: 'a', groupInstanceId: 'ia' }, { clientId: 'b', groupInstanceId: 'ib' }]);
    const waiting = track(h.c.joinGroup(joinInput({ memberId: a!.memberId, groupInstanceId: 'ia' })));
    await flush();
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
    const dup = track(h.c.joinGroup(joinInput({ groupInstanceId: 'ia' })));
    await flush();
    expect(waiting.value().errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    await h.c.joinGroup(joinInput({ memberId: b!.memberId, groupInstanceId: 'ib' }));
    await flush();
    expect(dup.value().errorCode).toBe(ErrorCode.NONE);
    expect(dup.value().generationId).toBe(a!.generationId + 1);
    // A member id given with another instance's id is fenced.
    expect((await h.c.joinGroup(joinInput({ memberId: a!.memberId, groupInstanceId: 'ia' }))).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect((await h.c.joinGroup(joinInput({ memberId: 'x', groupInstanceId: 'unknown' }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a static member that does not rejoin stays through the rebalance; its session expiry rebalances', async () => {
    const h = setup();
    const [a, b] = await stableGroup(h, [{ clientId: 'a', groupInstanceId: 'ia' }, { clientId: 'b', groupInstanceId: 'ib' }]);
    const gen = a!.generationId;
    const aj = track(h.c.joinGroup(joinInput({ memberId: a!.memberId, groupInstanceId: 'ia' })));
    // b heartbeats through the rebalance but does not rejoin: static members are kept.
    for (let t = 0; t < 30000; t += 3000) {
      h.clock.advance(3000);
      await hb(h.c, b!.memberId, gen, 'ib');
      await flush();
    }
    expect(aj.done()).toBe(true);
    expect(aj.value().generationId).toBe(gen + 1);
    expect(aj.value().members.map((m) => m.memberId).sort()).toEqual([a!.memberId, b!.memberId].sort());
    // Now b stops; after its session timeout it is removed and the group rebalances.
    await Promise.all([sync(h.c, a!.memberId, gen + 1, [], { groupInstanceId: 'ia' })]);
    expect(h.c.groupState('g')).toBe('Stable');
    for (let t = 0; t < 12000; t += 3000) {
      h.clock.advance(3000);
      await hb(h.c, a!.memberId, gen + 1, 'ia');
    }
    await flush();
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
    expect(await hb(h.c, b!.memberId, gen + 1, 'ib')).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

// ------------------------------------------------------------------ LeaveGroup

describe('LeaveGroup', () => {
  it('a member leaving rebalances at once; the others rejoin', async () => {
    const h = setup();
    const [a, b] = await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b' }]);
    const r = await h.c.leaveGroup({ groupId: 'g', members: [{ memberId: b!.memberId, groupInstanceId: null, reason: 'bye' }] });
    expect(r).toEqual({ errorCode: ErrorCode.NONE, members: [{ memberId: b!.memberId, groupInstanceId: null, errorCode: ErrorCode.NONE }] });
    expect(h.c.groupState('g')).toBe('PreparingRebalance');
    const aj = await h.c.joinGroup(joinInput({ memberId: a!.memberId }));
    expect(aj.generationId).toBe(a!.generationId + 1);
    expect(aj.members.map((m) => m.memberId)).toEqual([a!.memberId]);
  });

  it('batched members with per-member errors', async () => {
    const h = setup();
    const [a, b, c] = await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b', groupInstanceId: 'ib' }, { clientId: 'c', groupInstanceId: 'ic' }]);
    const pend = await h.c.joinGroup(joinInput({ requireKnownMemberId: true, clientId: 'p' }));
    const r = await h.c.leaveGroup({
      groupId: 'g',
      members: [
        { memberId: a!.memberId, groupInstanceId: null, reason: null },
        { memberId: 'nobody', groupInstanceId: null, reason: null },
        { memberId: '', groupInstanceId: 'ib', reason: null },
        { memberId: 'stale', groupInstanceId: 'ic', reason: null },
        { memberId: '', groupInstanceId: 'unknown', reason: null },
        { memberId: pend.memberId, groupInstanceId: null, reason: null },
      ],
    });
    expect(r.members.map((m) => m.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_MEMBER_ID,
      ErrorCode.NONE,
      ErrorCode.FENCED_INSTANCE_ID,
      ErrorCode.UNKNOWN_MEMBER_ID,
      ErrorCode.NONE,
    ]);
    const cj = await h.c.joinGroup(joinInput({ memberId: c!.memberId, groupInstanceId: 'ic' }));
    expect(cj.members.map((m) => m.memberId)).toEqual([c!.memberId]);
    expect(b).toBeDefined();
    expect((await h.c.joinGroup(joinInput({ memberId: pend.memberId }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('unknown group: NONE with UNKNOWN_MEMBER_ID per member; empty group id: INVALID_GROUP_ID', async () => {
    const h = setup();
    const r = await h.c.leaveGroup({ groupId: 'nope', members: [{ memberId: 'm', groupInstanceId: null, reason: null }] });
    expect(r).toEqual({ errorCode: ErrorCode.NONE, members: [{ memberId: 'm', groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }] });
    expect((await h.c.leaveGroup({ groupId: '', members: [] })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
  });

  it('the last member leaving makes the group Empty (persisted); a waiting JoinGroup of a leaving member is answered', async () => {
    const h = setup();
    const [a, b] = await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b' }]);
    const aj = track(h.c.joinGroup(joinInput({ memberId: a!.memberId })));
    await flush();
    h.persistence.take();
    await h.c.leaveGroup({ groupId: 'g', members: [{ memberId: a!.memberId, groupInstanceId: null, reason: null }, { memberId: b!.memberId, groupInstanceId: null, reason: null }] });
    await flush();
    expect(aj.value().errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(h.c.groupState('g')).toBe('Empty');
    expect(h.persistence.take()).toEqual([`storeGroup g gen=${a!.generationId + 1} members=0`]);
    expect(await h.c.describeGroups(['g'])).toEqual([{ errorCode: 0, groupId: 'g', groupState: 'Empty', protocolType: 'consumer', protocolData: '', members: [] }]);
  });
});

// ------------------------------------------------------------------ offsets

describe('OffsetCommit', () => {
  it('a simple consumer (generation -1, no member id) creates an Empty group without protocol', async () => {
    const h = setup();
    const r = await h.c.commitOffsets(commitInput({ parts: [['t', 0, 5n], ['t', 1, 6n]] }));
    expect(codes(r)).toEqual({ 't-0': 0, 't-1': 0 });
    expect(await h.c.listGroups([], [])).toEqual([{ groupId: 'g', protocolType: '', groupState: 'Empty', groupType: 'classic' }]);
    expect(h.persistence.take()).toEqual(['storeOffsets g t-0@5,t-1@6']);
    const stored = h.persistence.offsets.get('g')!.get('t-0')!;
    expect(stored).toEqual({ topic: 't', partition: 0, offset: 5n, leaderEpoch: 3, metadata: 'md', commitTimestamp: h.clock.now(), expireTimestamp: -1 });
  });

  it('generation >= 0 for a missing group -> ILLEGAL_GENERATION', async () => {
    const h = setup();
    expect(codes(await h.c.commitOffsets(commitInput({ generationId: 1, memberId: 'm' })))).toEqual({ 't-0': ErrorCode.ILLEGAL_GENERATION });
    expect(h.c.groupState('g')).toBeUndefined();
  });

  it('member commits: checks member, generation and state', async () => {
    const h = setup({ initialRebalanceDelayMs: 100 });
    const joins = [h.c.joinGroup(joinInput({ clientId: 'a' })), h.c.joinGroup(joinInput({ clientId: 'b', groupInstanceId: 'ib' }))];
    h.clock.advance(200);
    const [a, b] = await Promise.all(joins);
    // CompletingRebalance
    expect(codes(await h.c.commitOffsets(commitInput({ generationId: 1, memberId: a!.memberId })))).toEqual({ 't-0': ErrorCode.REBALANCE_IN_PROGRESS });
    await Promise.all([sync(h.c, b!.memberId, 1, [], { groupInstanceId: 'ib' }), sync(h.c, a!.memberId, 1, [])]);
    expect(codes(await h.c.commitOffsets(commitInput({ generationId: 1, memberId: a!.memberId })))).toEqual({ 't-0': 0 });
    expect(codes(await h.c.commitOffsets(commitInput({ generationId: 1, memberId: b!.memberId, groupInstanceId: 'ib' })))).toEqual({ 't-0': 0 });
    expect(codes(await h.c.commitOffsets(commitInput({ generationId: 1, memberId: 'x' })))).toEqual({ 't-0': ErrorCode.UNKNOWN_MEMBER_ID });
    expect(codes(await h.c.commitOffsets(commitInput({ generationId: 2, memberId: a!.memberId })))).toEqual({ 't-0': ErrorCode.ILLEGAL_GENERATION });
    expect(codes(await h.c.commitOffsets(commitInput({ generationId: 1, memberId: 'x', groupInstanceId: 'ib' })))).toEqual({ 't-0': ErrorCode.FENCED_INSTANCE_ID });
    // Without member and generation, only an empty group takes commits.
    expect(codes(await h.c.commitOffsets(commitInput()))).toEqual({ 't-0': ErrorCode.UNKNOWN_MEMBER_ID });
  });

  it('per-partition errors: metadata too large, unknown topic', async () => {
    const h = setup({ offsetMetadataMaxBytes: 10 });
    const r = await h.c.commitOffsets(commitInput({ parts: [['t', 0, 1n, 'x'.repeat(10)], ['t', 1, 1n, 'x'.repeat(11)], ['missing', 0, 1n], ['t', 2, 1n, null]] }));
    expect(codes(r)).toEqual({ 't-0': 0, 't-1': ErrorCode.OFFSET_METADATA_TOO_LARGE, 'missing-0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 't-2': 0 });
    expect(h.persistence.take()).toEqual(['storeOffsets g t-0@1,t-2@1']);
    expect(h.persistence.offsets.get('g')!.get('t-2')!.metadata).toBe('');
  });

  it('the default metadata limit is offset.metadata.max.bytes (4096)', async () => {
    const h = setup();
    const r = await h.c.commitOffsets(commitInput({ parts: [['t', 0, 1n, 'x'.repeat(4096)], ['t', 1, 1n, 'x'.repeat(4097)]] }));
    expect(codes(r)).toEqual({ 't-0': 0, 't-1': ErrorCode.OFFSET_METADATA_TOO_LARGE });
  });

  it('only unknown topics: no group is created', async () => {
    const h = setup();
    expect(codes(await h.c.commitOffsets(commitInput({ parts: [['missing', 0, 1n]] })))).toEqual({ 'missing-0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    expect(h.c.groupState('g')).toBeUndefined();
  });

  it('retention time sets the expire timestamp; a v1 commit timestamp is kept', async () => {
    const h = setup();
    const input = commitInput({ retentionTimeMs: 5000n });
    input.topics[0]!.partitions[0]!.commitTimestamp = 1234n;
    await h.c.commitOffsets(input);
    const o = h.persistence.offsets.get('g')!.get('t-0')!;
    expect(o.commitTimestamp).toBe(1234);
    expect(o.expireTimestamp).toBe(h.clock.now() + 5000);
  });

  it('a failed store answers COORDINATOR_NOT_AVAILABLE and keeps the old offset', async () => {
    const h = setup();
    await h.c.commitOffsets(commitInput({ parts: [['t', 0, 1n]] }));
    h.persistence.failNext = 'storeOffsets';
    expect(codes(await h.c.commitOffsets(commitInput({ parts: [['t', 0, 2n]] })))).toEqual({ 't-0': ErrorCode.COORDINATOR_NOT_AVAILABLE });
    const f = await h.c.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false });
    expect(f.topics[0]!.partitions[0]!.committedOffset).toBe(1n);
  });

  it('a member\'s commit keeps its session alive', async () => {
    const h = setup();
    const j = await stableSingle(h);
    for (let i = 0; i < 5; i++) {
      h.clock.advance(9000);
      expect(codes(await h.c.commitOffsets(commitInput({ generationId: 1, memberId: j.memberId })))).toEqual({ 't-0': 0 });
    }
    expect(h.c.groupState('g')).toBe('Stable');
  });
});

describe('OffsetFetch', () => {
  it('all partitions (null topics) and chosen ones; missing partitions answer -1', async () => {
    const h = setup();
    await h.c.commitOffsets(commitInput({ parts: [['t', 0, 5n], ['t', 1, 6n, null], ['u', 0, 7n]] }));
    const all = await h.c.fetchOffsets({ groupId: 'g', topics: null, requireStable: false });
    expect(all).toEqual({
      errorCode: 0,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: 3, metadata: 'md', errorCode: 0 },
            { partitionIndex: 1, committedOffset: 6n, committedLeaderEpoch: 3, metadata: '', errorCode: 0 },
          ],
        },
        { name: 'u', partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: 3, metadata: 'md', errorCode: 0 }] },
      ],
    });
    const some = await h.c.fetchOffsets({ groupId: 'g', topics: [{ name: 'u', partitionIndexes: [0, 9] }, { name: 'v', partitionIndexes: [0] }], requireStable: true });
    expect(some).toEqual({
      errorCode: 0,
      topics: [
        {
          name: 'u',
          partitions: [
            { partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: 3, metadata: 'md', errorCode: 0 },
            { partitionIndex: 9, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
          ],
        },
        { name: 'v', partitions: [{ partitionIndex: 0, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] },
      ],
    });
  });

  it('unknown group: no offsets, NONE', async () => {
    const h = setup();
    expect(await h.c.fetchOffsets({ groupId: 'nope', topics: null, requireStable: false })).toEqual({ errorCode: 0, topics: [] });
    expect(await h.c.fetchOffsets({ groupId: 'nope', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false })).toEqual({
      errorCode: 0,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] }],
    });
  });
});

// ------------------------------------------------------------------ admin

describe('DescribeGroups / ListGroups', () => {
  it('unknown group: Dead, NONE, no members', async () => {
    const { c } = setup();
    expect(await c.describeGroups(['x'])).toEqual([{ errorCode: 0, groupId: 'x', groupState: 'Dead', protocolType: '', protocolData: '', members: [] }]);
  });

  it('Stable: protocol, member metadata and assignments; other states: members without them', async () => {
    const h = setup({ initialRebalanceDelayMs: 100 });
    const joins = [h.c.joinGroup(joinInput({ clientId: 'a' })), h.c.joinGroup(joinInput({ clientId: 'b', groupInstanceId: 'ib' }))];
    h.clock.advance(200);
    const [a, b] = await Promise.all(joins);
    const [completing] = await h.c.describeGroups(['g']);
    expect(completing!.groupState).toBe('CompletingRebalance');
    expect(completing!.protocolData).toBe('');
    expect(completing!.members.map((m) => [m.memberId, m.memberMetadata.length, m.memberAssignment.length])).toEqual([
      [a!.memberId, 0, 0],
      [b!.memberId, 0, 0],
    ]);
    await Promise.all([
      sync(h.c, b!.memberId, 1, [], { groupInstanceId: 'ib' }),
      sync(h.c, a!.memberId, 1, [
        { memberId: a!.memberId, assignment: Buffer.from('A') },
        { memberId: b!.memberId, assignment: Buffer.from('B') },
      ]),
    ]);
    const [stable] = await h.c.describeGroups(['g']);
    expect(stable).toEqual({
      errorCode: 0,
      groupId: 'g',
      groupState: 'Stable',
      protocolType: 'consumer',
      protocolData: 'range',
      members: [
        { memberId: a!.memberId, groupInstanceId: null, clientId: 'a', clientHost: '/127.0.0.1', memberMetadata: SUB, memberAssignment: Buffer.from('A') },
        { memberId: b!.memberId, groupInstanceId: 'ib', clientId: 'b', clientHost: '/127.0.0.1', memberMetadata: SUB, memberAssignment: Buffer.from('B') },
      ],
    });
  });

  it('ListGroups filters states (case-insensitive) and types (classic only)', async () => {
    const h = setup();
    await stableSingle(h, { groupId: 'g' });
    await h.c.commitOffsets(commitInput({ groupId: 'simple' }));
    const ids = async (s: string[], t: string[]) => (await h.c.listGroups(s, t)).map((g) => g.groupId).sort();
    expect(await ids([], [])).toEqual(['g', 'simple']);
    expect(await ids(['stable'], [])).toEqual(['g']);
    expect(await ids(['EMPTY', 'Dead'], [])).toEqual(['simple']);
    expect(await ids([], ['Classic'])).toEqual(['g', 'simple']);
    expect(await ids([], ['consumer'])).toEqual([]);
    expect(await ids(['stable'], ['classic', 'consumer'])).toEqual(['g']);
  });
});

describe('DeleteGroups', () => {
  it('unknown -> GROUP_ID_NOT_FOUND; with members -> NON_EMPTY_GROUP; empty -> deleted with tombstones', async () => {
    const h = setup();
    await stableSingle(h);
    await h.c.commitOffsets(commitInput({ groupId: 'simple', parts: [['t', 0, 1n], ['u', 1, 2n]] }));
    h.persistence.take();
    const r = await h.c.deleteGroups(['nope', 'g', 'simple']);
    expect(r).toEqual([
      { groupId: 'nope', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      { groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'simple', errorCode: 0 },
    ]);
    expect(h.persistence.take()).toEqual(['deleteGroup simple t-0,u-1']);
    expect((await h.c.describeGroups(['simple']))[0]!.groupState).toBe('Dead');
    expect((await h.c.fetchOffsets({ groupId: 'simple', topics: null, requireStable: false })).topics).toEqual([]);
    expect((await h.c.deleteGroups(['simple']))[0]!.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('an Empty group with a pending member id can be deleted', async () => {
    const h = setup();
    const p = await h.c.joinGroup(joinInput({ requireKnownMemberId: true }));
    expect((await h.c.deleteGroups(['g']))[0]!.errorCode).toBe(0);
    expect((await h.c.joinGroup(joinInput({ memberId: p.memberId }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('OffsetDelete', () => {
  it('unknown group -> GROUP_ID_NOT_FOUND', async () => {
    const h = setup();
    expect(await h.c.deleteOffsets('nope', [{ name: 't', partitions: [0] }])).toEqual({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] });
  });

  it('a consumer group keeps offsets of subscribed topics (GROUP_SUBSCRIBED_TO_TOPIC)', async () => {
    const h = setup();
    const j = await stableSingle(h, { protocols: [{ name: 'range', metadata: subscription(['t']) }] });
    await h.c.commitOffsets(commitInput({ generationId: 1, memberId: j.memberId, parts: [['t', 0, 1n], ['old', 0, 2n]] }));
    h.persistence.take();
    const r = await h.c.deleteOffsets('g', [
      { name: 't', partitions: [0] },
      { name: 'old', partitions: [0, 1] },
      { name: 'missing', partitions: [0] },
    ]);
    expect(r.errorCode).toBe(0);
    expect(codes(r)).toEqual({ 't-0': ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, 'old-0': 0, 'old-1': 0, 'missing-0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    expect(h.persistence.take()).toEqual(['deleteOffsets g old-0']);
    const f = await h.c.fetchOffsets({ groupId: 'g', topics: null, requireStable: false });
    expect(f.topics.map((t) => t.name)).toEqual(['t']);
  });

  it('an Empty group loses the offsets; without offsets left the group goes away', async () => {
    const h = setup();
    await h.c.commitOffsets(commitInput({ parts: [['t', 0, 1n], ['t', 1, 1n]] }));
    h.persistence.take();
    expect(codes(await h.c.deleteOffsets('g', [{ name: 't', partitions: [0] }]))).toEqual({ 't-0': 0 });
    expect(h.persistence.take()).toEqual(['deleteOffsets g t-0']);
    expect(codes(await h.c.deleteOffsets('g', [{ name: 't', partitions: [1] }]))).toEqual({ 't-1': 0 });
    expect(h.persistence.take()).toEqual(['deleteGroup g t-1']);
    expect(h.c.groupState('g')).toBeUndefined();
  });

  it('a non-consumer group with members -> NON_EMPTY_GROUP', async () => {
    const h = setup();
    await stableSingle(h, { protocolType: 'connect', protocols: [{ name: 'v1', metadata: Buffer.from([1]) }] });
    expect(await h.c.deleteOffsets('g', [{ name: 't', partitions: [0] }])).toEqual({ errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] });
  });

  it('unparsable subscriptions count as subscribed to everything', async () => {
    const h = setup();
    const j = await stableSingle(h, { protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0]) }] });
    await h.c.commitOffsets(commitInput({ generationId: 1, memberId: j.memberId, parts: [['x', 0, 1n]] }));
    expect(codes(await h.c.deleteOffsets('g', [{ name: 'x', partitions: [0] }]))).toEqual({ 'x-0': ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC });
  });
});

// ------------------------------------------------------------------ expiration

describe('offset expiration', () => {
  const RET = 60_000;

  it('simple group: offsets expire by commit time; the group goes when none are left', async () => {
    const h = setup({ offsetsRetentionMs: RET });
    await h.c.commitOffsets(commitInput({ parts: [['t', 0, 1n]] }));
    h.clock.advance(30_000);
    await h.c.commitOffsets(commitInput({ parts: [['t', 1, 1n]] }));
    h.persistence.take();
    h.clock.advance(29_999);
    expect(await h.c.expireOffsets()).toBe(0);
    h.clock.advance(1);
    expect(await h.c.expireOffsets()).toBe(1);
    expect(h.persistence.take()).toEqual(['deleteOffsets g t-0']);
    h.clock.advance(30_000);
    expect(await h.c.expireOffsets()).toBe(1);
    expect(h.persistence.take()).toEqual(['deleteGroup g t-1']);
    expect(h.c.groupState('g')).toBeUndefined();
  });

  it('consumer group: retention starts when the group becomes Empty', async () => {
    const h = setup({ offsetsRetentionMs: RET });
    const j = await stableSingle(h, { sessionTimeoutMs: 1_800_000 });
    await h.c.commitOffsets(commitInput({ generationId: 1, memberId: j.memberId }));
    // Stable and subscribed to t: never expires while members are there.
    h.clock.advance(RET * 2 - 10_000);
    await hb(h.c, j.memberId, 1);
    expect(await h.c.expireOffsets()).toBe(0);
    await h.c.leaveGroup({ groupId: 'g', members: [{ memberId: j.memberId, groupInstanceId: null, reason: null }] });
    expect(h.c.groupState('g')).toBe('Empty');
    h.clock.advance(RET - 1);
    expect(await h.c.expireOffsets()).toBe(0);
    h.clock.advance(1);
    expect(await h.c.expireOffsets()).toBe(1);
    expect(h.c.groupState('g')).toBeUndefined();
  });

  it('stable consumer group: offsets of topics nobody subscribes to expire by commit time', async () => {
    const h = setup({ offsetsRetentionMs: RET });
    const j = await stableSingle(h, { sessionTimeoutMs: 1_800_000 });
    await h.c.commitOffsets(commitInput({ generationId: 1, memberId: j.memberId, parts: [['t', 0, 1n], ['gone', 0, 1n]] }));
    h.clock.advance(RET);
    await hb(h.c, j.memberId, 1);
    h.persistence.take();
    expect(await h.c.expireOffsets()).toBe(1);
    expect(h.persistence.take()).toEqual(['deleteOffsets g gone-0']);
  });

  it('an explicit retention time (OffsetCommit v2-v4) wins', async () => {
    const h = setup({ offsetsRetentionMs: RET });
    await h.c.commitOffsets(commitInput({ retentionTimeMs: 1000n }));
    h.clock.advance(999);
    expect(await h.c.expireOffsets()).toBe(0);
    h.clock.advance(1);
    expect(await h.c.expireOffsets()).toBe(1);
  });

  it('runs every offsets.retention.check.interval.ms', async () => {
    const h = setup({ offsetsRetentionMs: RET, offsetsRetentionCheckIntervalMs: 10_000 });
    await h.c.commitOffsets(commitInput());
    h.persistence.take();
    h.clock.advance(60_000);
    await flush();
    expect(h.persistence.take()).toEqual(['deleteGroup g t-0']);
    expect(h.c.groupState('g')).toBeUndefined();
  });

  it('Empty groups without offsets are removed by the check', async () => {
    const h = setup();
    await h.c.joinGroup(joinInput({ requireKnownMemberId: true }));
    expect(h.c.groupState('g')).toBe('Empty');
    await h.c.expireOffsets();
    expect(h.c.groupState('g')).toBeUndefined();
  });
});

describe('onTopicDeleted', () => {
  it('drops that topic\'s offsets from every group; empty groups left without offsets go', async () => {
    const h = setup();
    await h.c.commitOffsets(commitInput({ groupId: 'a', parts: [['t', 0, 1n], ['t', 1, 1n], ['u', 0, 1n]] }));
    await h.c.commitOffsets(commitInput({ groupId: 'b', parts: [['t', 0, 1n]] }));
    h.persistence.take();
    h.c.onTopicDeleted('t');
    await flush();
    expect(h.persistence.take().sort()).toEqual(['deleteGroup b t-0', 'deleteOffsets a t-0,t-1']);
    expect((await h.c.fetchOffsets({ groupId: 'a', topics: null, requireStable: false })).topics.map((t) => t.name)).toEqual(['u']);
    expect(h.c.groupState('b')).toBeUndefined();
  });
});

// ------------------------------------------------------------------ persistence reload

describe('reload from persistence', () => {
  it('groups, members and offsets come back; members that do not heartbeat expire', async () => {
    const persistence = new FakePersistence();
    const clock = new ManualClock();
    const h1 = setup({}, { persistence, clock });
    const [a, b] = await stableGroup(h1, [{ clientId: 'a' }, { clientId: 'b', groupInstanceId: 'ib' }]);
    const gen = a!.generationId;
    await h1.c.commitOffsets(commitInput({ generationId: gen, memberId: a!.memberId, parts: [['t', 0, 42n]] }));
    await h1.c.commitOffsets(commitInput({ groupId: 'simple', parts: [['t', 1, 7n]] }));
    const before = (await h1.c.describeGroups(['g']))[0];
    h1.c.close();

    clock.advance(2000);
    const h2 = setup({}, { persistence, clock });
    expect(await h2.c.describeGroups(['g'])).toEqual([before]);
    expect((await h2.c.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false })).topics[0]!.partitions[0]!.committedOffset).toBe(42n);
    expect((await h2.c.fetchOffsets({ groupId: 'simple', topics: null, requireStable: false })).topics[0]!.partitions[0]!.committedOffset).toBe(7n);
    expect(h2.c.groupState('simple')).toBe('Empty');
    // Sync in Stable gives the stored assignment back; heartbeats work with the old generation.
    expect((await sync(h2.c, b!.memberId, gen, [], { groupInstanceId: 'ib' })).assignment).toEqual(Buffer.from(`asg-${b!.memberId}`));
    expect(await hb(h2.c, a!.memberId, gen)).toBe(ErrorCode.NONE);
    // The static member id is still the instance's: a wrong one is fenced.
    expect(await hb(h2.c, 'other', gen, 'ib')).toBe(ErrorCode.FENCED_INSTANCE_ID);
    // a keeps heartbeating; b does not (its session restarted at load, then at the sync above).
    for (let i = 0; i < 4; i++) {
      clock.advance(3000);
      await hb(h2.c, a!.memberId, gen);
    }
    await flush();
    expect(h2.c.groupState('g')).toBe('PreparingRebalance');
    // Now a stops too: the rebalance ends without members, Empty at a new generation.
    clock.advance(40000);
    await flush();
    expect(h2.c.groupState('g')).toBe('Empty');
    expect(persistence.groups.get('g')!.generationId).toBe(gen + 1);
    expect(persistence.groups.get('g')!.members).toEqual([]);
  });

  it('loaded members expire when they never come back', async () => {
    const persistence = new FakePersistence();
    const clock = new ManualClock();
    const h1 = setup({}, { persistence, clock });
    await stableSingle(h1);
    h1.c.close();
    const h2 = setup({}, { persistence, clock });
    expect(h2.c.groupState('g')).toBe('Stable');
    clock.advance(9999);
    expect(h2.c.groupState('g')).toBe('Stable');
    clock.advance(1);
    await flush();
    expect(h2.c.groupState('g')).toBe('Empty');
  });

  it('an Empty consumer group keeps its state timestamp across restarts (retention from when it emptied)', async () => {
    const persistence = new FakePersistence();
    const clock = new ManualClock();
    const h1 = setup({ offsetsRetentionMs: 60_000 }, { persistence, clock });
    const j = await stableSingle(h1);
    await h1.c.commitOffsets(commitInput({ generationId: 1, memberId: j.memberId }));
    await h1.c.leaveGroup({ groupId: 'g', members: [{ memberId: j.memberId, groupInstanceId: null, reason: null }] });
    h1.c.close();
    clock.advance(59_000);
    const h2 = setup({ offsetsRetentionMs: 60_000 }, { persistence, clock });
    expect(h2.c.groupState('g')).toBe('Empty');
    expect(await h2.c.expireOffsets()).toBe(0);
    clock.advance(1000);
    expect(await h2.c.expireOffsets()).toBe(1);
  });

  it('a loaded group over group.max.size rebalances', async () => {
    const persistence = new FakePersistence();
    const clock = new ManualClock();
    const h1 = setup({}, { persistence, clock });
    await stableGroup(h1, [{ clientId: 'a' }, { clientId: 'b' }]);
    h1.c.close();
    const h2 = setup({ groupMaxSize: 1 }, { persistence, clock });
    expect(h2.c.groupState('g')).toBe('PreparingRebalance');
  });
});

// ------------------------------------------------------------------ queue, close, config

describe('serial queue per group', () => {
  it('concurrent operations on one group run in order, one at a time', async () => {
    const h = setup();
    const ops = [
      h.c.commitOffsets(commitInput({ parts: [['t', 0, 1n]] })),
      h.c.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false }),
      h.c.commitOffsets(commitInput({ parts: [['t', 0, 2n]] })),
      h.c.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false }),
      h.c.deleteGroups(['g']),
      h.c.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false }),
    ] as const;
    const rs = await Promise.all(ops);
    expect(rs[1].topics[0]!.partitions[0]!.committedOffset).toBe(1n);
    expect(rs[3].topics[0]!.partitions[0]!.committedOffset).toBe(2n);
    expect(rs[4]).toEqual([{ groupId: 'g', errorCode: 0 }]);
    expect(rs[5].topics[0]!.partitions[0]!.committedOffset).toBe(-1n);
  });

  it('joins, a leave and heartbeats fired together resolve consistently', async () => {
    const h = setup({ initialRebalanceDelayMs: 50 });
    const joins = Array.from({ length: 5 }, (_, i) => h.c.joinGroup(joinInput({ clientId: `c${i}` })));
    h.clock.advance(100);
    const rs = await Promise.all(joins);
    const gens = new Set(rs.map((r) => r.generationId));
    expect(gens).toEqual(new Set([1]));
    expect(rs.filter((r) => r.members.length === 5).length).toBe(1);
    const leader = rs.find((r) => r.members.length === 5)!;
    const follower = rs.find((r) => r !== leader)!;
    const [leave, hbLeft, hbOther] = await Promise.all([
      h.c.leaveGroup({ groupId: 'g', members: [{ memberId: follower.memberId, groupInstanceId: null, reason: null }] }),
      hb(h.c, follower.memberId, 1),
      hb(h.c, leader.memberId, 1),
    ]);
    expect(leave.members[0]!.errorCode).toBe(0);
    expect(hbLeft).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(hbOther).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('groups are independent', async () => {
    const h = setup({ initialRebalanceDelayMs: 1000 });
    const waiting = track(h.c.joinGroup(joinInput({ groupId: 'slow' })));
    const other = await h.c.commitOffsets(commitInput({ groupId: 'fast' }));
    expect(codes(other)).toEqual({ 't-0': 0 });
    expect(waiting.done()).toBe(false);
  });
});

describe('close', () => {
  it('answers waiting joins and syncs with COORDINATOR_NOT_AVAILABLE, then refuses work; timers stop', async () => {
    const h = setup({ initialRebalanceDelayMs: 100 });
    const joins = [h.c.joinGroup(joinInput({ clientId: 'a' })), h.c.joinGroup(joinInput({ clientId: 'b' }))];
    h.clock.advance(200);
    const [a, b] = await Promise.all(joins);
    const leaderIsA = a!.members.length > 0;
    const follower = leaderIsA ? b! : a!;
    const s = track(sync(h.c, follower.memberId, 1));
    await flush();
    const j = track(h.c.joinGroup(joinInput({ clientId: 'c' })));
    await flush();
    h.persistence.take();
    h.c.close();
    await flush();
    expect(j.value().errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(s.done()).toBe(true);
    expect(s.value().errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect((await h.c.joinGroup(joinInput())).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(await hb(h.c, a!.memberId, 1)).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(codes(await h.c.commitOffsets(commitInput()))).toEqual({ 't-0': ErrorCode.COORDINATOR_NOT_AVAILABLE });
    expect((await h.c.fetchOffsets({ groupId: 'g', topics: null, requireStable: false })).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    h.clock.advance(10 * 3600_000);
    await flush();
    expect(h.persistence.take()).toEqual([]);
  });

  it('a sync waiting in CompletingRebalance at close gets COORDINATOR_NOT_AVAILABLE', async () => {
    const h = setup({ initialRebalanceDelayMs: 100 });
    const joins = [h.c.joinGroup(joinInput({ clientId: 'a' })), h.c.joinGroup(joinInput({ clientId: 'b' }))];
    h.clock.advance(200);
    const rs = await Promise.all(joins);
    const follower = rs.find((r) => r.members.length === 0)!;
    const s = track(sync(h.c, follower.memberId, 1));
    await flush();
    h.c.close();
    await flush();
    expect(s.value().errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});

describe('defaultsFrom', () => {
  it('reads Kafka config names with their defaults', () => {
    expect(GroupCoordinator.defaultsFrom(new BrokerConfig())).toEqual({
      initialRebalanceDelayMs: 100,
      offsetsRetentionMs: 10080 * 60_000,
      groupMaxSize: 2147483647,
      minSessionTimeoutMs: 6000,
      maxSessionTimeoutMs: 1800000,
      offsetsRetentionCheckIntervalMs: 600000,
      offsetMetadataMaxBytes: 4096,
    });
    const cfg = GroupCoordinator.defaultsFrom(
      new BrokerConfig({ 'group.initial.rebalance.delay.ms': '3000', 'offsets.retention.minutes': '1', 'group.max.size': '10', 'group.min.session.timeout.ms': '1000' }),
    );
    expect(cfg.initialRebalanceDelayMs).toBe(3000);
    expect(cfg.offsetsRetentionMs).toBe(60_000);
    expect(cfg.groupMaxSize).toBe(10);
    expect(cfg.minSessionTimeoutMs).toBe(1000);
  });
});

