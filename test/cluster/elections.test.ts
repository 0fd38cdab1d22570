// The controller's placement and election rules (src/cluster/elections.ts) against Kafka's own
// expectations (AdminTest.testReplicaAssignment, PartitionLeaderElectionAlgorithms).
import { describe, expect, it } from 'vitest';
import {
  AssignmentError,
  assignReplicas,
  electControlledShutdown,
  electOffline,
  electPreferred,
  electReassignment,
} from '../../src/cluster/elections.js';

describe('replica assignment (Kafka rack-unaware rule)', () => {
  it("matches Kafka's expected assignment of 10 partitions x 3 replicas over brokers 0-4 with start index 0", () => {
    expect(assignReplicas([0, 1, 2, 3, 4], 10, 3, { startIndex: 0 })).toEqual([
      [0, 1, 2],
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 0],
      [4, 0, 1],
      [0, 2, 3],
      [1, 3, 4],
      [2, 4, 0],
      [3, 0, 1],
      [4, 1, 2],
    ]);
  });

  it('refuses a replication factor of 0 or above the broker count, and no partitions, with Kafka messages', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof AssignmentError ? `${e.code}: ${e.message}` : String(e);
      }
      return 'no error';
    };
    expect(err(() => assignReplicas([0, 1, 2, 3, 4], 10, 0))).toBe('INVALID_REPLICATION_FACTOR: Replication factor must be larger than 0.');
    expect(err(() => assignReplicas([0, 1, 2, 3, 4], 10, 6))).toBe('INVALID_REPLICATION_FACTOR: Replication factor: 6 larger than available brokers: 5.');
    expect(err(() => assignReplicas([0, 1], 0, 1))).toBe('INVALID_PARTITIONS: Number of partitions must be larger than 0.');
  });

  it('spreads leaders and replicas evenly, never twice on one broker, for any start', () => {
    for (let start = 0; start < 3; start++) {
      for (const rf of [1, 2, 3]) {
        const a = assignReplicas([10, 11, 12], 9, rf, { startIndex: start });
        for (const r of a) expect(new Set(r).size).toBe(rf);
        const leaders = new Map<number, number>();
        const all = new Map<number, number>();
        for (const r of a) {
          leaders.set(r[0]!, (leaders.get(r[0]!) ?? 0) + 1);
          for (const b of r) all.set(b, (all.get(b) ?? 0) + 1);
        }
        expect([...leaders.values()]).toEqual([3, 3, 3]);
        expect([...all.values()]).toEqual([3 * rf, 3 * rf, 3 * rf]);
      }
    }
  });

  it('adding partitions continues the pattern from startPartitionId', () => {
    const all = assignReplicas([0, 1, 2, 3, 4], 10, 3, { startIndex: 0 });
    expect(assignReplicas([0, 1, 2, 3, 4], 4, 3, { startIndex: 0, nextReplicaShift: 1, startPartitionId: 6 })).toEqual(all.slice(6, 10));
  });

  it('random starts stay within the broker list', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 50; i++) {
      for (const r of assignReplicas([1, 2, 3], 6, 3, { random })) expect([...r].sort()).toEqual([1, 2, 3]);
    }
  });
});

describe('replica assignment (Kafka rack-aware rule)', () => {
  const racks = (m: Record<number, string | null>) => new Map(Object.entries(m).map(([k, v]) => [Number(k), v]));
  // Kafka's AdminRackAwareTest.testGetRackAlternatedBrokerListAndAssignReplicasToBrokers.
  const SIX = { 0: 'rack1', 1: 'rack3', 2: 'rack3', 3: 'rack2', 4: 'rack2', 5: 'rack1' };

  it("places replicas as Kafka's test expects (brokers alternating between racks)", () => {
    expect(assignReplicas([0, 1, 2, 3, 4, 5], 7, 3, { startIndex: 0, racks: racks(SIX) })).toEqual([
      [0, 3, 1],
      [3, 1, 5],
      [1, 5, 4],
      [5, 4, 2],
      [4, 2, 0],
      [2, 0, 3],
      [0, 4, 2],
    ]);
  });

  it('puts every partition on as many racks as it can, leaders spread evenly', () => {
    const rackOf = { 0: 'rack1', 1: 'rack2', 2: 'rack2', 3: 'rack3', 4: 'rack3', 5: 'rack1' } as Record<number, string>;
    for (const startIndex of [0, 1, 2, 3, 4, 5, undefined]) {
      const a = assignReplicas([0, 1, 2, 3, 4, 5], 12, 3, { startIndex, racks: racks(rackOf) });
      for (const replicas of a) {
        expect(new Set(replicas).size).toBe(3);
        expect(new Set(replicas.map((b) => rackOf[b])).size).toBe(3);
      }
      const leaders = new Map<number, number>();
      for (const r of a) leaders.set(r[0]!, (leaders.get(r[0]!) ?? 0) + 1);
      expect([...leaders.values()]).toEqual([2, 2, 2, 2, 2, 2]);
    }
    // More replicas than racks: every rack first, then the rest without repeating a broker.
    for (const replicas of assignReplicas([0, 1, 2, 3], 4, 3, { startIndex: 0, racks: racks({ 0: 'a', 1: 'a', 2: 'b', 3: 'b' }) })) {
      expect(new Set(replicas).size).toBe(3);
      expect(new Set(replicas.map((b) => (b < 2 ? 'a' : 'b'))).size).toBe(2);
    }
  });

  it('without racks (or all null) it is the rack-unaware rule; brokers without a rack among others count as one more rack', () => {
    const plain = assignReplicas([0, 1, 2, 3, 4], 10, 3, { startIndex: 0 });
    expect(assignReplicas([0, 1, 2, 3, 4], 10, 3, { startIndex: 0, racks: racks({ 0: null, 1: null, 2: null, 3: null, 4: null }) })).toEqual(plain);
    for (const replicas of assignReplicas([1, 2, 3], 6, 2, { startIndex: 0, racks: racks({ 1: 'r1', 2: 'r1', 3: null }) })) {
      // Two "racks" (r1 and none): each partition has a replica on broker 3 and one on r1.
      expect(replicas.filter((b) => b === 3)).toHaveLength(1);
    }
  });
});

describe('leader elections (Kafka PartitionLeaderElectionAlgorithms)', () => {
  const live = (...b: number[]) => new Set(b);

  it('offline partition: first replica in assignment order that is live and in the ISR; ISR keeps its live members', () => {
    expect(electOffline([1, 2, 3], [1, 2, 3], live(2, 3))).toEqual({ leader: 2, isr: [2, 3], unclean: false });
    expect(electOffline([1, 2, 3], [3, 2], live(2, 3))).toEqual({ leader: 2, isr: [3, 2], unclean: false }); // assignment order, not ISR order
    expect(electOffline([1, 2, 3], [1, 3], live(2, 3))).toEqual({ leader: 3, isr: [3], unclean: false }); // 2 is live but not in the ISR
  });

  it('offline partition with no live ISR member: no leader (the ISR keeps its last member), unless unclean election is allowed', () => {
    expect(electOffline([1, 2, 3], [1], live(2, 3))).toEqual({ leader: undefined, isr: [1], unclean: false });
    expect(electOffline([1, 2, 3], [1], live(3, 2), true)).toEqual({ leader: 2, isr: [2], unclean: true });
    expect(electOffline([1, 2, 3], [1], live(), true)).toEqual({ leader: undefined, isr: [1], unclean: false });
  });

  it('reassignment: first live ISR member of the target replicas', () => {
    expect(electReassignment([4, 5, 1], [1, 4, 5], live(1, 4, 5))).toEqual({ leader: 4, isr: [1, 4, 5], unclean: false });
    expect(electReassignment([4, 5, 1], [1, 5], live(1, 4, 5))).toMatchObject({ leader: 5 });
    expect(electReassignment([4, 5], [1], live(1, 4, 5))).toMatchObject({ leader: undefined });
  });

  it('preferred: the first assigned replica only if it is live and in the ISR', () => {
    expect(electPreferred([2, 1, 3], [1, 2, 3], live(1, 2, 3))).toEqual({ leader: 2, isr: [1, 2, 3], unclean: false });
    expect(electPreferred([2, 1, 3], [1, 3], live(1, 2, 3))).toBeUndefined();
    expect(electPreferred([2, 1, 3], [1, 2, 3], live(1, 3))).toBeUndefined();
  });

  it('controlled shutdown: first live ISR replica not shutting down; the ISR loses the shutting-down brokers', () => {
    expect(electControlledShutdown([1, 2, 3], [1, 2, 3], live(1, 2, 3), live(1))).toEqual({ leader: 2, isr: [2, 3], unclean: false });
    expect(electControlledShutdown([1, 2, 3], [1], live(1, 2, 3), live(1))).toEqual({ leader: undefined, isr: [], unclean: false });
  });
});
