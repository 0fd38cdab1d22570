// Every group API (keys 8-16 but 15's neighbours, 42, 47) at every version Brook advertises,
// against a real broker on a real socket, encoded with the generated codecs: classic and flexible
// encodings alike. The version ranges come from HANDLERS, so a widened range gets swept (and a
// missing case fails). Each version works on its own group ids.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import type { Broker } from '../../src/broker.js';
import { RawClient } from '../../src/client/raw-client.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { rawClient, startTestBroker } from '../helpers/broker.js';
import {
  consumerAssignment,
  consumerSubscription,
  groupApis as A,
  rawCommit,
  rawFetchOffsets,
  rawJoinAndSync,
} from '../helpers/groups.js';

const TOPIC = 'gs';
const OTHER = 'gs-other';
const GROUP_KEYS = [8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 47];

let broker: Broker;
let client: RawClient;
const extraClients: RawClient[] = [];

const SUB = consumerSubscription([TOPIC]);
const SUB_RR = consumerSubscription([TOPIC], Buffer.from('rr'));
const ASG = consumerAssignment({ [TOPIC]: [0, 1, 2] });
const selfAssign = (members: Array<{ memberId: string }>) => members.map((m) => ({ memberId: m.memberId, assignment: ASG }));

async function connect(): Promise<RawClient> {
  const c = await rawClient(broker);
  extraClients.push(c);
  return c;
}

async function describeOne(groupId: string) {
  const r = await client.request(A.describeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
  return r.groups[0]!;
}

beforeAll(async () => {
  broker = await startTestBroker();
  client = await rawClient(broker);
  for (const name of [TOPIC, OTHER]) expect(broker.topics.create(name, 3, 1, {}).errorCode).toBe(ErrorCode.NONE);
});

afterAll(async () => {
  for (const c of extraClients) c.close();
  client?.close();
  await broker?.close();
});

/** One exchange (or a few) per API and version. */
const cases: Record<number, (v: number) => Promise<void>> = {
  // ------------------------------------------------------------------ FindCoordinator
  async 10(v) {
    if (v < 4) {
      const r = await client.request(A.findCoordinator, v, { key: `fc-${v}`, keyType: 0 });
      expect(r.errorCode).toBe(ErrorCode.NONE);
      expect(r.nodeId).toBe(1);
      expect(r.host).toBe(broker.host);
      expect(r.port).toBe(broker.port);
      if (v >= 1) {
        // Key type 1: the transaction coordinator (this broker, issue 7); unknown types are refused.
        const t = await client.request(A.findCoordinator, v, { key: 'txn', keyType: 1 });
        expect(t.errorCode).toBe(ErrorCode.NONE);
        expect(t.nodeId).toBe(1);
        expect(t.port).toBe(broker.port);
        const bad = await client.request(A.findCoordinator, v, { key: 'x', keyType: 7 });
        expect(bad.errorCode).toBe(ErrorCode.INVALID_REQUEST);
      }
      return;
    }
    const r = await client.request(A.findCoordinator, v, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect(r.coordinators).toEqual([
      expect.objectContaining({ key: 'a', nodeId: 1, host: broker.host, port: broker.port, errorCode: ErrorCode.NONE }),
      expect.objectContaining({ key: 'b', nodeId: 1, host: broker.host, port: broker.port, errorCode: ErrorCode.NONE }),
    ]);
    const t = await client.request(A.findCoordinator, v, { keyType: 1, coordinatorKeys: ['t1'] });
    expect(t.coordinators).toEqual([expect.objectContaining({ key: 't1', nodeId: 1, port: broker.port, errorCode: ErrorCode.NONE })]);
  },

  // ------------------------------------------------------------------ JoinGroup
  async 11(v) {
    const groupId = `join-v${v}`;
    const req = (memberId: string, extra: Record<string, unknown> = {}) => ({
      groupId,
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 10000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [
        { name: 'range', metadata: SUB },
        { name: 'roundrobin', metadata: SUB_RR },
      ],
      reason: 'sweep',
      ...extra,
    });
    let r = await client.request(A.joinGroup, v, req(''));
    if (v >= 4) {
      // KIP-394: the id comes first, then the member joins with it.
      expect(r.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
      expect(r.memberId).toMatch(/^brook-raw-/);
      expect(r.generationId).toBe(-1);
      r = await client.request(A.joinGroup, v, req(r.memberId));
    }
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.generationId).toBe(1);
    expect(r.leader).toBe(r.memberId);
    expect(r.memberId).toMatch(/^brook-raw-/);
    expect(r.protocolName).toBe('range');
    if (v >= 7) expect(r.protocolType).toBe('consumer');
    if (v >= 9) expect(r.skipAssignment).toBe(false);
    // The leader gets every member's metadata for the chosen protocol.
    expect(r.members.map((m) => ({ id: m.memberId, md: Buffer.from(m.metadata) }))).toEqual([{ id: r.memberId, md: SUB }]);
    expect((await describeOne(groupId)).groupState).toBe('CompletingRebalance');

    // A session timeout below group.min.session.timeout.ms (6000) is refused.
    const bad = await client.request(A.joinGroup, v, { ...req(''), groupId: `${groupId}-bad`, sessionTimeoutMs: 1000 });
    expect(bad.errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    // An unknown member id for a group that does not exist.
    const unknown = await client.request(A.joinGroup, v, req('nobody', { groupId: `${groupId}-none` }));
    expect(unknown.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // A protocol type the group does not use.
    const other = await client.request(A.joinGroup, v, { ...req(''), protocolType: 'connect' });
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    if (v >= 5) {
      // A static member joins at once (no member-id round trip), and the leader sees its instance id.
      const s = await client.request(A.joinGroup, v, { ...req(''), groupId: `${groupId}-static`, groupInstanceId: 'inst-1' });
      expect(s.errorCode).toBe(ErrorCode.NONE);
      expect(s.memberId).toMatch(/^inst-1-/);
      expect(s.members).toEqual([expect.objectContaining({ memberId: s.memberId, groupInstanceId: 'inst-1' })]);
    }
  },

  // ------------------------------------------------------------------ SyncGroup
  async 14(v) {
    const groupId = `sync-v${v}`;
    // A static member (v5 join) where SyncGroup can name it (v3+); a dynamic one joins with v3 (no member-id round trip).
    const j = await client.request(A.joinGroup, v >= 3 ? 5 : 3, {
      groupId,
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 10000,
      memberId: '',
      groupInstanceId: v >= 3 ? 'sync-inst' : null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: SUB }],
    });
    expect(j.errorCode).toBe(ErrorCode.NONE);
    const base = {
      groupId,
      generationId: j.generationId,
      memberId: j.memberId,
      groupInstanceId: v >= 3 ? 'sync-inst' : null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: j.memberId, assignment: ASG }],
    };
    if (v >= 5) {
      const wrong = await client.request(A.syncGroup, v, { ...base, protocolName: 'roundrobin' });
      expect(wrong.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      // From v5 both are required (Kafka: SyncGroupRequest.areMandatoryProtocolTypeAndNamePresent).
      const missing = await client.request(A.syncGroup, v, { ...base, protocolType: null });
      expect(missing.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const stale = await client.request(A.syncGroup, v, { ...base, generationId: j.generationId + 1 });
    expect(stale.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    const s = await client.request(A.syncGroup, v, base);
    expect(s.errorCode).toBe(ErrorCode.NONE);
    expect(Buffer.from(s.assignment)).toEqual(ASG);
    if (v >= 5) {
      expect(s.protocolType).toBe('consumer');
      expect(s.protocolName).toBe('range');
    }
    expect((await describeOne(groupId)).groupState).toBe('Stable');
    // A Stable group answers a repeated SyncGroup with the member's assignment.
    const again = await client.request(A.syncGroup, v, { ...base, assignments: [] });
    expect(again.errorCode).toBe(ErrorCode.NONE);
    expect(Buffer.from(again.assignment)).toEqual(ASG);
    if (v >= 3) {
      const fenced = await client.request(A.syncGroup, v, { ...base, memberId: 'someone-else' });
      expect(fenced.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    }
    const unknown = await client.request(A.syncGroup, v, { ...base, groupId: `${groupId}-none` });
    expect(unknown.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  },

  // ------------------------------------------------------------------ Heartbeat
  async 12(v) {
    const groupId = `hb-v${v}`;
    const staticId = v >= 3 ? 'hb-inst' : null;
    const m = await rawJoinAndSync(client, groupId, { groupInstanceId: staticId });
    const hb = (extra: Record<string, unknown> = {}) =>
      client.request(A.heartbeat, v, { groupId, generationId: m.generationId, memberId: m.memberId, groupInstanceId: staticId, ...extra });
    expect((await hb()).errorCode).toBe(ErrorCode.NONE);
    expect((await hb({ generationId: m.generationId + 5 })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await hb({ memberId: 'nobody', groupInstanceId: null })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await hb({ groupId: `${groupId}-none` })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await hb({ groupId: '' })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    if (v >= 3) {
      expect((await hb({ memberId: 'nobody' })).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
      expect((await hb({ groupInstanceId: 'unknown-inst' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  },

  // ------------------------------------------------------------------ OffsetCommit
  async 8(v) {
    const simple = `oc-simple-v${v}`;
    const partition = (p: number, offset: bigint) => ({
      partitionIndex: p,
      committedOffset: offset,
      committedLeaderEpoch: 4,
      commitTimestamp: v === 1 ? 1_700_000_000_000n : -1n,
      committedMetadata: `md-${v}`,
    });
    // A standalone ("simple") commit: no generation, no member (v0 has neither field).
    const r = await client.request(A.offsetCommit, v, {
      groupId: simple,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [
        { name: TOPIC, partitions: [partition(0, 11n), partition(2, 22n)] },
        { name: 'no-such-topic', partitions: [partition(0, 1n)] },
        { name: OTHER, partitions: [partition(9, 1n)] },
      ],
    });
    expect(r.topics).toEqual([
      { name: TOPIC, partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE }, { partitionIndex: 2, errorCode: ErrorCode.NONE }] },
      { name: 'no-such-topic', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
      { name: OTHER, partitions: [{ partitionIndex: 9, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
    ]);
    const f = await client.request(A.offsetFetch, 7, { groupId: simple, topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2] }], requireStable: false });
    expect(f.topics[0]!.partitions).toEqual([
      { partitionIndex: 0, committedOffset: 11n, committedLeaderEpoch: v >= 6 ? 4 : -1, metadata: `md-${v}`, errorCode: ErrorCode.NONE },
      { partitionIndex: 1, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE },
      { partitionIndex: 2, committedOffset: 22n, committedLeaderEpoch: v >= 6 ? 4 : -1, metadata: `md-${v}`, errorCode: ErrorCode.NONE },
    ]);
    // Metadata over offset.metadata.max.bytes (4096).
    const big = await client.request(A.offsetCommit, v, {
      groupId: simple,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [{ name: TOPIC, partitions: [{ ...partition(1, 5n), committedMetadata: 'x'.repeat(4097) }] }],
    });
    expect(big.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_METADATA_TOO_LARGE);

    if (v === 0) return;
    // A member's commit carries its generation (v9: the "member epoch", the generation here).
    const groupId = `oc-member-v${v}`;
    const staticId = v >= 7 ? 'oc-inst' : null;
    const m = await rawJoinAndSync(client, groupId, { groupInstanceId: staticId, assign: selfAssign });
    const commit = (extra: Record<string, unknown>) =>
      client.request(A.offsetCommit, v, {
        groupId,
        generationIdOrMemberEpoch: m.generationId,
        memberId: m.memberId,
        groupInstanceId: staticId,
        retentionTimeMs: -1n,
        topics: [{ name: TOPIC, partitions: [partition(1, 33n)] }],
        ...extra,
      });
    const code = (resp: { topics: Array<{ partitions: Array<{ errorCode: number }> }> }) => resp.topics[0]!.partitions[0]!.errorCode;
    expect(code(await commit({}))).toBe(ErrorCode.NONE);
    expect((await rawFetchOffsets(client, groupId, TOPIC, [1]))[1]).toBe(33n);
    expect(code(await commit({ generationIdOrMemberEpoch: m.generationId + 1 }))).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(code(await commit({ memberId: 'nobody', groupInstanceId: null }))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // Without member id and generation, only an empty group takes commits.
    expect(code(await commit({ memberId: '', generationIdOrMemberEpoch: -1, groupInstanceId: null }))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    if (v >= 7) expect(code(await commit({ memberId: 'nobody' }))).toBe(ErrorCode.FENCED_INSTANCE_ID);
    if (v >= 2 && v <= 4) expect(code(await commit({ retentionTimeMs: 60_000n }))).toBe(ErrorCode.NONE);
    // A generation for a group that does not exist: GROUP_ID_NOT_FOUND from v9, as in Kafka.
    expect(code(await commit({ groupId: `${groupId}-none`, groupInstanceId: null }))).toBe(
      v >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION,
    );
  },

  // ------------------------------------------------------------------ OffsetFetch
  async 9(v) {
    const groupId = `of-v${v}`;
    await rawCommit(client, groupId, TOPIC, { 0: 5n, 1: 7n }, { leaderEpoch: 3, metadata: 'meta' });
    const p = (partitionIndex: number, committedOffset: bigint, epoch: number, metadata: string) => ({
      partitionIndex,
      committedOffset,
      committedLeaderEpoch: epoch,
      metadata,
      errorCode: ErrorCode.NONE,
    });
    const epoch = (e: number) => (v >= 5 ? e : -1);
    const want = [p(0, 5n, epoch(3), 'meta'), p(1, 7n, epoch(3), 'meta'), p(2, -1n, -1, '')];
    if (v < 8) {
      const r = await client.request(A.offsetFetch, v, { groupId, topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2] }], requireStable: v >= 7 });
      expect(r.topics).toEqual([{ name: TOPIC, partitions: want }]);
      if (v >= 2) expect(r.errorCode).toBe(ErrorCode.NONE);
      if (v >= 2) {
        // Null topics: every partition the group has an offset for.
        const all = await client.request(A.offsetFetch, v, { groupId, topics: null });
        expect(all.topics).toEqual([{ name: TOPIC, partitions: want.slice(0, 2) }]);
        const none = await client.request(A.offsetFetch, v, { groupId: `${groupId}-none`, topics: null });
        expect(none.errorCode).toBe(ErrorCode.NONE);
        expect(none.topics).toEqual([]);
      }
      const unknown = await client.request(A.offsetFetch, v, { groupId: `${groupId}-none`, topics: [{ name: TOPIC, partitionIndexes: [0] }] });
      expect(unknown.topics).toEqual([{ name: TOPIC, partitions: [p(0, -1n, -1, '')] }]);
      return;
    }
    // v8+: several groups at once (KIP-709); v9 adds member id/epoch (null/-1 for admin reads).
    const other = `${groupId}-b`;
    await rawCommit(client, other, OTHER, { 2: 9n });
    const r = await client.request(A.offsetFetch, v, {
      requireStable: true,
      groups: [
        { groupId, memberId: null, memberEpoch: -1, topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2] }] },
        { groupId: other, memberId: null, memberEpoch: -1, topics: null },
        { groupId: `${groupId}-none`, memberId: null, memberEpoch: -1, topics: null },
      ],
    });
    expect(r.groups).toEqual([
      { groupId, errorCode: ErrorCode.NONE, topics: [{ name: TOPIC, partitions: want }] },
      { groupId: other, errorCode: ErrorCode.NONE, topics: [{ name: OTHER, partitions: [p(2, 9n, -1, '')] }] },
      { groupId: `${groupId}-none`, errorCode: ErrorCode.NONE, topics: [] },
    ]);
  },

  // ------------------------------------------------------------------ LeaveGroup
  async 13(v) {
    const groupId = `leave-v${v}`;
    const m = await rawJoinAndSync(client, groupId, { assign: selfAssign });
    expect((await describeOne(groupId)).groupState).toBe('Stable');
    if (v < 3) {
      const unknown = await client.request(A.leaveGroup, v, { groupId, memberId: 'nobody' });
      expect(unknown.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
      const r = await client.request(A.leaveGroup, v, { groupId, memberId: m.memberId });
      expect(r.errorCode).toBe(ErrorCode.NONE);
    } else {
      // v3+: a batch, answered per member (KIP-345); v5 carries a reason.
      const s = await rawJoinAndSync(await connect(), `${groupId}-static`, { groupInstanceId: 'leave-inst', assign: selfAssign });
      expect(s.memberId).toMatch(/^leave-inst-/);
      const r = await client.request(A.leaveGroup, v, {
        groupId,
        members: [
          { memberId: m.memberId, groupInstanceId: null, reason: 'done' },
          { memberId: 'nobody', groupInstanceId: null, reason: null },
        ],
      });
      expect(r.errorCode).toBe(ErrorCode.NONE);
      expect(r.members).toEqual([
        { memberId: m.memberId, groupInstanceId: null, errorCode: ErrorCode.NONE },
        { memberId: 'nobody', groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID },
      ]);
      // An administrative removal by group.instance.id alone (admin removeMembersFromConsumerGroup).
      const byInstance = await client.request(A.leaveGroup, v, {
        groupId: `${groupId}-static`,
        members: [{ memberId: '', groupInstanceId: 'leave-inst', reason: null }],
      });
      expect(byInstance.members).toEqual([{ memberId: '', groupInstanceId: 'leave-inst', errorCode: ErrorCode.NONE }]);
      expect((await describeOne(`${groupId}-static`)).groupState).toBe('Empty');
    }
    // The only member left: the group is Empty at the next generation.
    const d = await describeOne(groupId);
    expect(d.groupState).toBe('Empty');
    expect(d.members).toEqual([]);
    const hb = await client.request(A.heartbeat, 0, { groupId, generationId: m.generationId, memberId: m.memberId });
    expect(hb.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  },

  // ------------------------------------------------------------------ DescribeGroups
  async 15(v) {
    const groupId = `desc-v${v}`;
    const m = await rawJoinAndSync(client, groupId, { groupInstanceId: 'desc-inst', protocols: [{ name: 'range', metadata: SUB }], assign: selfAssign });
    const r = await client.request(A.describeGroups, v, { groups: [groupId, `${groupId}-none`], includeAuthorizedOperations: true });
    const [g, none] = r.groups;
    expect(g).toMatchObject({ errorCode: ErrorCode.NONE, groupId, groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    expect(g!.members).toHaveLength(1);
    const member = g!.members[0]!;
    expect(member).toMatchObject({ memberId: m.memberId, clientId: 'brook-raw', clientHost: '/127.0.0.1', groupInstanceId: v >= 4 ? 'desc-inst' : null });
    expect(Buffer.from(member.memberMetadata)).toEqual(SUB);
    expect(Buffer.from(member.memberAssignment)).toEqual(ASG);
    if (v >= 3) {
      // READ | DELETE | DESCRIBE when asked for; "not provided" (INT32_MIN) otherwise.
      expect(g!.authorizedOperations).toBe((1 << 3) | (1 << 6) | (1 << 8));
      const noOps = await client.request(A.describeGroups, v, { groups: [groupId], includeAuthorizedOperations: false });
      expect(noOps.groups[0]!.authorizedOperations).toBe(-2147483648);
    }
    // Unknown groups are Dead with no members, no error (as Kafka).
    expect(none).toMatchObject({ errorCode: ErrorCode.NONE, groupId: `${groupId}-none`, groupState: 'Dead', protocolType: '', protocolData: '', members: [] });
  },

  // ------------------------------------------------------------------ ListGroups
  async 16(v) {
    const stable = `list-stable-v${v}`;
    const empty = `list-empty-v${v}`;
    await rawJoinAndSync(client, stable, { assign: selfAssign });
    await rawCommit(client, empty, TOPIC, { 0: 1n });
    const r = await client.request(A.listGroups, v, {});
    expect(r.errorCode).toBe(ErrorCode.NONE);
    const byId = new Map(r.groups.map((g) => [g.groupId, g]));
    expect(byId.get(stable)).toMatchObject({ protocolType: 'consumer', ...(v >= 4 ? { groupState: 'Stable' } : {}), ...(v >= 5 ? { groupType: 'classic' } : {}) });
    expect(byId.get(empty)).toMatchObject({ protocolType: '', ...(v >= 4 ? { groupState: 'Empty' } : {}), ...(v >= 5 ? { groupType: 'classic' } : {}) });
    if (v >= 4) {
      // States match case-insensitively.
      const s = await client.request(A.listGroups, v, { statesFilter: ['stable'], typesFilter: [] });
      const ids = s.groups.map((g) => g.groupId);
      expect(ids).toContain(stable);
      expect(ids).not.toContain(empty);
      expect(s.groups.every((g) => g.groupState === 'Stable')).toBe(true);
    }
    if (v >= 5) {
      const classic = await client.request(A.listGroups, v, { statesFilter: [], typesFilter: ['Classic'] });
      expect(classic.groups.map((g) => g.groupId)).toEqual(expect.arrayContaining([stable, empty]));
      const consumer = await client.request(A.listGroups, v, { statesFilter: [], typesFilter: ['consumer'] });
      expect(consumer.groups).toEqual([]);
    }
  },

  // ------------------------------------------------------------------ DeleteGroups
  async 42(v) {
    const empty = `del-empty-v${v}`;
    const busy = `del-busy-v${v}`;
    await rawCommit(client, empty, TOPIC, { 0: 3n, 1: 4n });
    await rawJoinAndSync(client, busy, { assign: selfAssign });
    const r = await client.request(A.deleteGroups, v, { groupsNames: [empty, busy, `del-none-v${v}`] });
    expect(r.results).toEqual([
      { groupId: empty, errorCode: ErrorCode.NONE },
      { groupId: busy, errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: `del-none-v${v}`, errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    // The deleted group's offsets went with it.
    expect(await rawFetchOffsets(client, empty, TOPIC, [0, 1])).toEqual({ 0: -1n, 1: -1n });
    expect((await describeOne(empty)).groupState).toBe('Dead');
    const again = await client.request(A.deleteGroups, v, { groupsNames: [empty] });
    expect(again.results).toEqual([{ groupId: empty, errorCode: ErrorCode.GROUP_ID_NOT_FOUND }]);
  },

  // ------------------------------------------------------------------ OffsetDelete
  async 47(v) {
    const simple = `odel-simple-v${v}`;
    await rawCommit(client, simple, TOPIC, { 0: 1n, 1: 2n });
    const r = await client.request(A.offsetDelete, v, {
      groupId: simple,
      topics: [
        { name: TOPIC, partitions: [{ partitionIndex: 0 }] },
        { name: 'no-such-topic', partitions: [{ partitionIndex: 0 }] },
      ],
    });
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.topics).toEqual([
      { name: TOPIC, partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE }] },
      { name: 'no-such-topic', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
    ]);
    expect(await rawFetchOffsets(client, simple, TOPIC, [0, 1])).toEqual({ 0: -1n, 1: 2n });

    // A Stable consumer group subscribed to TOPIC keeps that topic's offsets; others may go.
    const busy = `odel-busy-v${v}`;
    const m = await rawJoinAndSync(client, busy, { protocols: [{ name: 'range', metadata: SUB }], assign: selfAssign });
    const commit = await client.request(A.offsetCommit, 8, {
      groupId: busy,
      generationIdOrMemberEpoch: m.generationId,
      memberId: m.memberId,
      topics: [
        { name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1n }] },
        { name: OTHER, partitions: [{ partitionIndex: 0, committedOffset: 1n }] },
      ],
    });
    expect(commit.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    const d = await client.request(A.offsetDelete, v, {
      groupId: busy,
      topics: [
        { name: TOPIC, partitions: [{ partitionIndex: 0 }] },
        { name: OTHER, partitions: [{ partitionIndex: 0 }] },
      ],
    });
    expect(d.errorCode).toBe(ErrorCode.NONE);
    expect(d.topics).toEqual([
      { name: TOPIC, partitions: [{ partitionIndex: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC }] },
      { name: OTHER, partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE }] },
    ]);
    expect(await rawFetchOffsets(client, busy, TOPIC, [0])).toEqual({ 0: 1n });
    expect(await rawFetchOffsets(client, busy, OTHER, [0])).toEqual({ 0: -1n });

    const none = await client.request(A.offsetDelete, v, { groupId: `odel-none-v${v}`, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] });
    expect(none.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  },
};

describe('every group API at every advertised version', () => {
  it('has a case for every group handler, and the group handlers are the ones versions-sweep leaves out', () => {
    expect(Object.keys(cases).map(Number).sort((a, b) => a - b)).toEqual(GROUP_KEYS);
    for (const k of GROUP_KEYS) expect(HANDLERS.some((h) => h.api.apiKey === k)).toBe(true);
  });
  for (const h of HANDLERS.filter((x) => GROUP_KEYS.includes(x.api.apiKey))) {
    for (let v = h.minVersion; v <= h.maxVersion; v++) {
      it(`${h.api.name} v${v}`, async () => {
        await cases[h.api.apiKey]!(v);
      });
    }
  }
});

describe('two members on separate connections (deferred JoinGroup/SyncGroup answers)', () => {
  // Oldest and newest encodings of the membership APIs: [JoinGroup, SyncGroup, Heartbeat, LeaveGroup].
  for (const [jv, sv, hv, lv] of [
    [0, 0, 0, 0],
    [9, 5, 4, 5],
  ] as const) {
    it(`a second member rebalances the group; the leader assigns both (JoinGroup v${jv}, SyncGroup v${sv}, Heartbeat v${hv}, LeaveGroup v${lv})`, async () => {
      const groupId = `pair-${jv}`;
      const c1 = await connect();
      const c2 = await connect();
      const join = async (c: RawClient, memberId: string) => {
        const body = {
          groupId,
          sessionTimeoutMs: 10000,
          rebalanceTimeoutMs: 10000,
          memberId,
          groupInstanceId: null,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: SUB }],
        };
        let r = await c.request(A.joinGroup, jv, body);
        if (r.errorCode === ErrorCode.MEMBER_ID_REQUIRED) r = await c.request(A.joinGroup, jv, { ...body, memberId: r.memberId });
        return r;
      };
      const sync = (c: RawClient, generationId: number, memberId: string, assignments: Array<{ memberId: string; assignment: Buffer }>) =>
        c.request(A.syncGroup, sv, { groupId, generationId, memberId, protocolType: 'consumer', protocolName: 'range', assignments });

      const a1 = await join(c1, '');
      expect(a1.generationId).toBe(1);
      expect((await sync(c1, 1, a1.memberId, [{ memberId: a1.memberId, assignment: ASG }])).errorCode).toBe(ErrorCode.NONE);

      // B's join waits for the rebalance; A learns of it from its heartbeat and rejoins.
      const b1 = join(c2, '');
      let hb = ErrorCode.NONE as number;
      for (let i = 0; i < 100 && hb === ErrorCode.NONE; i++) {
        hb = (await c1.request(A.heartbeat, hv, { groupId, generationId: 1, memberId: a1.memberId })).errorCode;
        if (hb === ErrorCode.NONE) await new Promise((r) => setTimeout(r, 20));
      }
      expect(hb).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
      const [a2, b2] = await Promise.all([join(c1, a1.memberId), b1]);
      expect(a2.errorCode).toBe(ErrorCode.NONE);
      expect(b2.errorCode).toBe(ErrorCode.NONE);
      expect(a2.generationId).toBe(2);
      expect(b2.generationId).toBe(2);
      expect(b2.leader).toBe(a2.leader);
      const [leader, leaderConn, follower, followerConn] = a2.leader === a2.memberId ? [a2, c1, b2, c2] : [b2, c2, a2, c1];
      expect(leader.members.map((m) => m.memberId).sort()).toEqual([a2.memberId, b2.memberId].sort());
      expect(follower.members).toEqual([]);

      const forLeader = consumerAssignment({ [TOPIC]: [0, 1] });
      const forFollower = consumerAssignment({ [TOPIC]: [2] });
      // The follower's SyncGroup waits until the leader's arrives.
      const fSync = sync(followerConn, 2, follower.memberId, []);
      const lSync = await sync(leaderConn, 2, leader.memberId, [
        { memberId: leader.memberId, assignment: forLeader },
        { memberId: follower.memberId, assignment: forFollower },
      ]);
      expect(lSync.errorCode).toBe(ErrorCode.NONE);
      expect(Buffer.from(lSync.assignment)).toEqual(forLeader);
      const fs = await fSync;
      expect(fs.errorCode).toBe(ErrorCode.NONE);
      expect(Buffer.from(fs.assignment)).toEqual(forFollower);

      // The leader leaves: the follower is told to rejoin and forms generation 3 alone, leading.
      const leave = lv >= 3
        ? await leaderConn.request(A.leaveGroup, lv, { groupId, members: [{ memberId: leader.memberId, groupInstanceId: null }] })
        : await leaderConn.request(A.leaveGroup, lv, { groupId, memberId: leader.memberId });
      expect(leave.errorCode).toBe(ErrorCode.NONE);
      const fhb = await followerConn.request(A.heartbeat, hv, { groupId, generationId: 2, memberId: follower.memberId });
      expect(fhb.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
      const f3 = await join(followerConn, follower.memberId);
      expect(f3).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 3, leader: follower.memberId });
    });
  }
});

describe('static membership (KIP-345) over the wire', () => {
  // A static member restarting (empty member id, same group.instance.id) takes over its old
  // member id without a rebalance; the old id is fenced. Before JoinGroup v9 a returning leader
  // is told the old leader id (so it does not reassign); from v9 (KIP-814) it learns that it
  // leads, with skip_assignment set and the members' metadata (Kafka: supportSkippingAssignment =
  // version >= 9 in KafkaApis.handleJoinGroupRequest).
  for (let v = 5; v <= 9; v++) {
    it(`a static leader rejoining with an empty member id keeps its generation and assignment (JoinGroup v${v})`, async () => {
      const groupId = `static-v${v}`;
      const instance = `si-${v}`;
      const c = await connect();
      const join = (memberId: string) =>
        c.request(A.joinGroup, v, {
          groupId,
          sessionTimeoutMs: 10000,
          rebalanceTimeoutMs: 10000,
          memberId,
          groupInstanceId: instance,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: SUB }],
        });
      const first = await join('');
      expect(first).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, leader: first.memberId });
      const sync = (memberId: string) =>
        c.request(A.syncGroup, 3, { groupId, generationId: 1, memberId, groupInstanceId: instance, assignments: memberId === first.memberId ? [{ memberId, assignment: ASG }] : [] });
      expect((await sync(first.memberId)).errorCode).toBe(ErrorCode.NONE);

      const again = await join('');
      expect(again.errorCode).toBe(ErrorCode.NONE);
      expect(again.memberId).not.toBe(first.memberId);
      expect(again.memberId).toMatch(new RegExp(`^${instance}-`));
      expect(again.generationId).toBe(1);
      expect(again.protocolName).toBe('range');
      if (v >= 9) {
        expect(again.leader).toBe(again.memberId);
        expect(again.skipAssignment).toBe(true);
        expect(again.members.map((m) => ({ id: m.memberId, inst: m.groupInstanceId, md: Buffer.from(m.metadata) }))).toEqual([{ id: again.memberId, inst: instance, md: SUB }]);
      } else {
        expect(again.leader).toBe(first.memberId);
        expect(again.members).toEqual([]);
      }
      // No rebalance: the new id syncs into the same generation and keeps the assignment.
      const s = await sync(again.memberId);
      expect(s.errorCode).toBe(ErrorCode.NONE);
      expect(Buffer.from(s.assignment)).toEqual(ASG);
      const hb = (memberId: string) => c.request(A.heartbeat, 3, { groupId, generationId: 1, memberId, groupInstanceId: instance });
      expect((await hb(again.memberId)).errorCode).toBe(ErrorCode.NONE);
      expect((await hb(first.memberId)).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
      const d = await describeOne(groupId);
      expect(d.groupState).toBe('Stable');
      expect(d.members.map((m) => [m.memberId, m.groupInstanceId])).toEqual([[again.memberId, instance]]);
    });
  }
});

describe('version-dependent errors', () => {
  // Kafka answers GROUP_ID_NOT_FOUND from OffsetCommit v9 on (OffsetMetadataManager.validateOffsetCommit),
  // ILLEGAL_GENERATION before; the handler maps it.
  it('OffsetCommit v9 with a generation for an unknown group -> GROUP_ID_NOT_FOUND', async () => {
    const r = await client.request(A.offsetCommit, 9, {
      groupId: 'oc-v9-no-group',
      generationIdOrMemberEpoch: 1,
      memberId: 'm',
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1n }] }],
    });
    expect(r.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });
});
