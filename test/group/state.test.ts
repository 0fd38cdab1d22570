// Unit tests of the per-group state (src/group/group.ts) and the per-group serial queue.

import { describe, expect, it } from 'vitest';
import { Writer } from '../../protocol/primitives/writer.js';
import { encodeConsumerProtocolSubscription } from '../../protocol/generated/data/consumer-protocol-subscription.js';
import { ClassicGroup, IllegalGroupTransition, Member, parseSubscribedTopics, type Protocol } from '../../src/group/group.js';
import { SerialQueues } from '../../src/group/serial-queue.js';
import type { GroupState } from '../../src/group/types.js';

function subscription(topics: string[], version = 1): Buffer {
  const w = new Writer();
  w.int16(version);
  encodeConsumerProtocolSubscription(w, { topics, userData: null, ownedPartitions: [], generationId: 5, rackId: 'r1' }, version);
  return w.finish();
}

function member(id: string, protocols: Array<string | Protocol>, opts: { instance?: string; rebalance?: number } = {}): Member {
  const ps = protocols.map((p) => (typeof p === 'string' ? { name: p, metadata: subscription(['t']) } : p));
  return new Member(id, opts.instance ?? null, 'client', '/127.0.0.1', opts.rebalance ?? 30000, 10000, 'consumer', ps);
}

const noop = (): void => undefined;

describe('ClassicGroup state machine', () => {
  const ALL: GroupState[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];
  const VALID: Record<GroupState, GroupState[]> = {
    Empty: ['PreparingRebalance', 'Dead'],
    PreparingRebalance: ['CompletingRebalance', 'Empty', 'Dead'],
    CompletingRebalance: ['PreparingRebalance', 'Stable', 'Dead'],
    Stable: ['PreparingRebalance', 'Dead'],
    Dead: ['Dead'],
  };

  for (const from of ALL) {
    for (const to of ALL) {
      const ok = VALID[from].includes(to);
      it(`${from} -> ${to} is ${ok ? 'allowed' : 'rejected'}`, () => {
        const g = new ClassicGroup('g', from, 1);
        if (ok) {
          g.transitionTo(to, 42);
          expect(g.state).toBe(to);
          expect(g.stateTimestamp).toBe(42);
        } else {
          expect(() => g.transitionTo(to, 42)).toThrow(IllegalGroupTransition);
          expect(g.state).toBe(from);
          expect(g.stateTimestamp).toBe(1);
        }
      });
    }
  }

  it('can rebalance only from Empty, Stable and CompletingRebalance', () => {
    for (const s of ALL) expect(new ClassicGroup('g', s, 0).canRebalance()).toBe(['Empty', 'Stable', 'CompletingRebalance'].includes(s));
  });

  it('initNextGeneration: CompletingRebalance with a protocol, or Empty without members', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    g.transitionTo('PreparingRebalance', 1);
    g.add(member('a', ['range']), noop);
    g.pendingSyncMembers.add('a');
    g.initNextGeneration(2);
    expect(g.state).toBe('CompletingRebalance');
    expect(g.generationId).toBe(1);
    expect(g.protocolName).toBe('range');
    expect(g.pendingSyncMembers.size).toBe(0);
    expect(g.subscribedTopics).toEqual(new Set(['t']));

    g.transitionTo('PreparingRebalance', 3);
    g.remove('a');
    g.initNextGeneration(4);
    expect(g.state).toBe('Empty');
    expect(g.generationId).toBe(2);
    expect(g.protocolName).toBeNull();
    expect(g.protocolType).toBe('consumer');
    expect(g.stateTimestamp).toBe(4);
  });
});

describe('ClassicGroup membership', () => {
  it('first member sets protocol type and leader; leader moves to the next member on removal', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    g.add(member('a', ['range']), null);
    g.add(member('b', ['range']), null);
    expect(g.protocolType).toBe('consumer');
    expect(g.leaderId).toBe('a');
    g.remove('a');
    expect(g.leaderId).toBe('b');
    g.remove('b');
    expect(g.leaderId).toBeNull();
  });

  it('supportsProtocols: Empty needs a type and a protocol; otherwise one protocol every member has', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    expect(g.supportsProtocols('', ['range'])).toBe(false);
    expect(g.supportsProtocols('consumer', [])).toBe(false);
    expect(g.supportsProtocols('anything', ['x'])).toBe(true);
    g.transitionTo('PreparingRebalance', 0);
    g.add(member('a', ['range', 'roundrobin']), noop);
    g.add(member('b', ['roundrobin']), noop);
    expect(g.supportsProtocols('consumer', ['roundrobin'])).toBe(true);
    expect(g.supportsProtocols('consumer', ['range'])).toBe(false);
    expect(g.supportsProtocols('connect', ['roundrobin'])).toBe(false);
  });

  it('selectProtocol: each member votes its preferred common protocol; most votes wins', () => {
    const g = new ClassicGroup('g', 'PreparingRebalance', 0);
    g.add(member('a', ['range', 'roundrobin', 'sticky']), noop);
    g.add(member('b', ['roundrobin', 'range']), noop);
    g.add(member('c', ['roundrobin', 'range', 'sticky']), noop);
    expect(g.candidateProtocols()).toEqual(new Set(['range', 'roundrobin']));
    expect(g.selectProtocol()).toBe('roundrobin');
    g.remove('c');
    // 1-1 tie: the first protocol to reach the top count wins (deterministic).
    expect(g.selectProtocol()).toBe('range');
  });

  it('hasAllMembersJoined counts waiting members and pending member ids', () => {
    const g = new ClassicGroup('g', 'PreparingRebalance', 0);
    g.add(member('a', ['range']), noop);
    g.add(member('b', ['range']), null);
    expect(g.hasAllMembersJoined()).toBe(false);
    g.updateMember(g.get('b')!, g.get('b')!.protocols, 1000, 10000, noop);
    expect(g.hasAllMembersJoined()).toBe(true);
    g.pendingMembers.set('p', null);
    expect(g.hasAllMembersJoined()).toBe(false);
    g.remove('p');
    expect(g.hasAllMembersJoined()).toBe(true);
  });

  it('rebalanceTimeoutMs is the largest of the members', () => {
    const g = new ClassicGroup('g', 'PreparingRebalance', 0);
    expect(g.rebalanceTimeoutMs()).toBe(0);
    g.add(member('a', ['range'], { rebalance: 5000 }), null);
    g.add(member('b', ['range'], { rebalance: 9000 }), null);
    expect(g.rebalanceTimeoutMs()).toBe(9000);
  });

  it('maybeElectNewJoinedLeader keeps a rejoined leader, else picks a rejoined member', () => {
    const g = new ClassicGroup('g', 'PreparingRebalance', 0);
    g.add(member('a', ['range']), null);
    g.add(member('b', ['range']), noop);
    expect(g.maybeElectNewJoinedLeader()).toBe(true);
    expect(g.leaderId).toBe('b');
    const empty = new ClassicGroup('e', 'PreparingRebalance', 0);
    expect(empty.maybeElectNewJoinedLeader()).toBe(false);
    const none = new ClassicGroup('n', 'PreparingRebalance', 0);
    none.add(member('a', ['range']), null);
    expect(none.maybeElectNewJoinedLeader()).toBe(false);
  });

  it('replaceStaticMember moves id, leadership and static mapping; fences waiting requests', () => {
    const g = new ClassicGroup('g', 'PreparingRebalance', 0);
    const seen: number[] = [];
    g.add(member('old', ['range'], { instance: 'i1' }), (r) => seen.push(r.errorCode));
    const m = g.replaceStaticMember('i1', 'old', 'new', {
      join: { errorCode: 82, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: '', members: [], skipAssignment: false },
      sync: { errorCode: 82, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) },
    });
    expect(seen).toEqual([82]);
    expect(m.memberId).toBe('new');
    expect(g.has('old')).toBe(false);
    expect(g.leaderId).toBe('new');
    expect(g.staticMembers.get('i1')).toBe('new');
  });

  it('Member.matches compares names, order and bytes', () => {
    const m = member('a', [{ name: 'x', metadata: Buffer.from([1]) }, { name: 'y', metadata: Buffer.from([2]) }]);
    expect(m.matches([{ name: 'x', metadata: Buffer.from([1]) }, { name: 'y', metadata: Buffer.from([2]) }])).toBe(true);
    expect(m.matches([{ name: 'y', metadata: Buffer.from([2]) }, { name: 'x', metadata: Buffer.from([1]) }])).toBe(false);
    expect(m.matches([{ name: 'x', metadata: Buffer.from([9]) }, { name: 'y', metadata: Buffer.from([2]) }])).toBe(false);
    expect(m.matches([{ name: 'x', metadata: Buffer.from([1]) }])).toBe(false);
  });

  it('hasSatisfiedHeartbeat: waiting members count as alive unless new', () => {
    const m = member('a', ['range']);
    expect(m.hasSatisfiedHeartbeat()).toBe(false);
    m.awaitingJoin = noop;
    expect(m.hasSatisfiedHeartbeat()).toBe(true);
    m.isNew = true;
    expect(m.hasSatisfiedHeartbeat()).toBe(false);
    m.isNew = false;
    m.awaitingJoin = null;
    m.awaitingSync = noop;
    expect(m.hasSatisfiedHeartbeat()).toBe(true);
  });
});

describe('subscriptions', () => {
  it('parses ConsumerProtocolSubscription of every version (the v0 prefix)', () => {
    for (const v of [0, 1, 2, 3]) expect(parseSubscribedTopics(subscription(['a', 'b'], v))).toEqual(['a', 'b']);
  });

  it('returns null for garbage or a negative version', () => {
    expect(parseSubscribedTopics(Buffer.from([0, 1, 0]))).toBeNull();
    expect(parseSubscribedTopics(Buffer.alloc(0))).toBeNull();
    const w = new Writer();
    w.int16(-1);
    w.int32(0);
    expect(parseSubscribedTopics(w.finish())).toBeNull();
  });

  it('computeSubscribedTopics: union for consumer groups, null when unknown', () => {
    const g = new ClassicGroup('g', 'PreparingRebalance', 0);
    g.add(member('a', [{ name: 'range', metadata: subscription(['t1']) }]), noop);
    g.add(member('b', [{ name: 'range', metadata: subscription(['t2', 't1']) }]), noop);
    g.initNextGeneration(1);
    expect(g.subscribedTopics).toEqual(new Set(['t1', 't2']));
    expect(g.isSubscribedToTopic('t2')).toBe(true);
    expect(g.isSubscribedToTopic('t3')).toBe(false);

    const bad = new ClassicGroup('b', 'PreparingRebalance', 0);
    bad.add(member('a', [{ name: 'range', metadata: Buffer.from([0]) }]), noop);
    bad.initNextGeneration(1);
    expect(bad.subscribedTopics).toBeNull();
    expect(bad.isSubscribedToTopic('anything')).toBe(true);

    const other = new ClassicGroup('o', 'PreparingRebalance', 0);
    other.add(new Member('a', null, 'c', 'h', 1, 1, 'connect', [{ name: 'v1', metadata: Buffer.from([1]) }]), noop);
    other.initNextGeneration(1);
    expect(other.subscribedTopics).toBeNull();
  });
});

describe('offsets', () => {
  const off = (topic: string, partition: number, commitTimestamp: number, expireTimestamp = -1) => ({
    topic,
    partition,
    offset: 1n,
    leaderEpoch: -1,
    metadata: '',
    commitTimestamp,
    expireTimestamp,
  });

  it('put, read, remove', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    g.putOffset(off('t', 0, 1));
    g.putOffset(off('t', 1, 1));
    g.putOffset(off('u', 0, 1));
    expect(g.allOffsets().map((o) => `${o.topic}-${o.partition}`)).toEqual(['t-0', 't-1', 'u-0']);
    expect(g.removeOffsets([{ topic: 't', partition: 0 }, { topic: 'x', partition: 0 }]).length).toBe(1);
    expect(g.offset('t', 0)).toBeUndefined();
    g.removeOffsets([{ topic: 't', partition: 1 }, { topic: 'u', partition: 0 }]);
    expect(g.hasOffsets()).toBe(false);
    expect(g.offsets.size).toBe(0);
  });

  it('simple group (no protocol type): retention counts from each commit', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    g.putOffset(off('t', 0, 100));
    g.putOffset(off('t', 1, 200));
    expect(g.expiredOffsets(1099, 1000)).toEqual([]);
    expect(g.expiredOffsets(1100, 1000).map((o) => o.partition)).toEqual([0]);
    expect(g.expiredOffsets(1200, 1000).map((o) => o.partition)).toEqual([0, 1]);
  });

  it('empty group with a protocol type: retention counts from when it became empty', () => {
    const g = new ClassicGroup('g', 'Empty', 5000);
    g.protocolType = 'consumer';
    g.putOffset(off('t', 0, 100));
    expect(g.expiredOffsets(5999, 1000)).toEqual([]);
    expect(g.expiredOffsets(6000, 1000).length).toBe(1);
  });

  it('explicit expire timestamp wins', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    g.putOffset(off('t', 0, 100, 150));
    expect(g.expiredOffsets(149, 1000)).toEqual([]);
    expect(g.expiredOffsets(150, 1000).length).toBe(1);
  });

  it('stable consumer group: only topics nobody subscribes to expire', () => {
    const g = new ClassicGroup('g', 'PreparingRebalance', 0);
    g.add(member('a', [{ name: 'range', metadata: subscription(['t']) }]), noop);
    g.initNextGeneration(0);
    g.transitionTo('Stable', 0);
    g.putOffset(off('t', 0, 0));
    g.putOffset(off('old', 0, 0));
    expect(g.expiredOffsets(1000, 1000).map((o) => o.topic)).toEqual(['old']);
    g.transitionTo('PreparingRebalance', 0);
    expect(g.expiredOffsets(1000, 1000)).toEqual([]);
  });
});

describe('SerialQueues', () => {
  it('runs tasks of one key in order; an idle key runs a sync task at once', async () => {
    const q = new SerialQueues();
    const order: string[] = [];
    const p1 = q.run('a', () => {
      order.push('1');
      return 1;
    });
    expect(order).toEqual(['1']);
    expect(await p1).toBe(1);
  });

  it('an async task holds the queue until it settles; other keys are independent', async () => {
    const q = new SerialQueues();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p1 = q.run('a', async () => {
      order.push('a1 start');
      await gate;
      order.push('a1 end');
    });
    const p2 = q.run('a', () => order.push('a2'));
    const p3 = q.run('b', () => order.push('b1'));
    await p3;
    expect(order).toEqual(['a1 start', 'b1']);
    expect(q.busy('a')).toBe(true);
    release();
    await Promise.all([p1, p2]);
    expect(order).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
    expect(q.busy('a')).toBe(false);
  });

  it('a failing task rejects its own promise only', async () => {
    const q = new SerialQueues();
    const p1 = q.run('a', () => {
      throw new Error('boom');
    });
    const p2 = q.run('a', async () => {
      throw new Error('async boom');
    });
    const p3 = q.run('a', () => 'ok');
    await expect(p1).rejects.toThrow('boom');
    await expect(p2).rejects.toThrow('async boom');
    expect(await p3).toBe('ok');
  });

  it('a task queued from inside a running task runs after it', async () => {
    const q = new SerialQueues();
    const order: string[] = [];
    let inner: Promise<unknown> | undefined;
    await q.run('a', () => {
      inner = q.run('a', () => order.push('inner'));
      order.push('outer');
    });
    await inner;
    expect(order).toEqual(['outer', 'inner']);
  });
});
