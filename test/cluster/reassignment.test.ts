// Reassignment (KIP-455) and ElectLeaders decisions as pure functions (src/cluster/reassignment.ts,
// electionFor in src/cluster/cluster-node.ts, decide in src/cluster/controller.ts) against Kafka's
// rules (ReplicaAssignment.reassignTo, KafkaController.validateReplicas / onPartitionReassignment /
// processReplicaLeaderElection).
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { electionFor } from '../../src/cluster/cluster-node.js';
import { decide } from '../../src/cluster/controller.js';
import type { TopicRecord } from '../../src/cluster/metadata/store.js';
import {
  buildReassignment,
  completeReassignment,
  fullAssignment,
  originReplicas,
  reassignTo,
  targetReplicas,
  validateTarget,
  withAssignment,
} from '../../src/cluster/reassignment.js';

const idle = (replicas: number[]) => ({ replicas, adding: [], removing: [] });
const live = (...ids: number[]) => new Set(ids);

describe('reassignment plans', () => {
  it('target ∪ original, target first; adding and removing as Kafka computes them', () => {
    const a = reassignTo(idle([1, 2, 3]), [2, 3, 4]);
    expect(a).toEqual({ replicas: [2, 3, 4, 1], adding: [4], removing: [1] });
    // The original replicas are the full set minus the added ones, in the full set's order (as
    // Kafka derives them: the original order is not kept).
    expect(originReplicas(a)).toEqual([2, 3, 1]);
    expect(targetReplicas(a)).toEqual([2, 3, 4]);
    // A new target replaces the one in progress, from the original replicas.
    expect(reassignTo(a, [1, 5])).toEqual({ replicas: [1, 5, 2, 3], adding: [5], removing: [2, 3] });
    expect(reassignTo(a, [1, 2, 4])).toEqual({ replicas: [1, 2, 4, 3], adding: [4], removing: [3] });
    // Reordering only: nothing to add or remove.
    expect(reassignTo(idle([1, 2, 3]), [3, 2, 1])).toEqual(idle([3, 2, 1]));
  });

  it('cancel goes back to the original replicas; nothing to cancel is undefined', () => {
    const a = reassignTo(idle([1, 2, 3]), [2, 3, 4]);
    expect(buildReassignment(a, null)).toEqual(idle([2, 3, 1]));
    expect(buildReassignment(reassignTo(idle([1, 2, 3]), [1, 2, 4]), null)).toEqual(idle([1, 2, 3]));
    expect(buildReassignment(idle([1, 2, 3]), null)).toBeUndefined();
    expect(buildReassignment(idle([1, 2, 3]), [1, 2])).toEqual({ replicas: [1, 2, 3], adding: [], removing: [3] });
  });

  it("validates targets in Kafka's order", () => {
    const cur = idle([1, 2, 3]);
    expect(validateTarget([], cur, live(1, 2, 3))?.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(validateTarget([1, 1], cur, live(1, 2, 3))?.errorMessage).toMatch(/Duplicate/);
    expect(validateTarget([1, -2], cur, live(1, 2, 3))?.errorMessage).toMatch(/Invalid broker id/);
    // Only added replicas must be live: a dead original replica may stay.
    expect(validateTarget([1, 4], cur, live(1, 2))?.errorMessage).toMatch(/not alive/);
    expect(validateTarget([3, 1], cur, live(1))).toBeUndefined();
    // A partition that does not exist: every replica counts as added.
    expect(validateTarget([5], undefined, live(1))?.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(validateTarget([1], undefined, live(1))).toBeUndefined();
  });

  it('topic records carry the reassignment per partition and drop it when done', () => {
    const t: TopicRecord = { name: 't', topicId: 'x', assignments: [[1, 2, 3], [2, 3, 1]] };
    const moving = withAssignment(t, 0, reassignTo(fullAssignment(t, 0)!, [2, 3, 4]));
    expect(moving).toEqual({ ...t, assignments: [[2, 3, 4, 1], [2, 3, 1]], reassigning: { '0': { adding: [4], removing: [1] } } });
    expect(fullAssignment(moving, 0)).toEqual({ replicas: [2, 3, 4, 1], adding: [4], removing: [1] });
    expect(fullAssignment(moving, 2)).toBeUndefined();
    expect(withAssignment(moving, 0, idle([2, 3, 4]))).toEqual({ ...t, assignments: [[2, 3, 4], [2, 3, 1]] });
  });

  it('completes once the target is in the ISR: a target leader if needed, the removed replicas out of the ISR, an epoch bump', () => {
    const a = reassignTo(idle([1, 2, 3]), [2, 3, 4]);
    const st = { leader: 1, leaderEpoch: 4, isr: [1, 2, 3], partitionEpoch: 9 };
    expect(completeReassignment(a, st, live(1, 2, 3, 4))).toBe('wait');
    expect(completeReassignment(a, { ...st, isr: [1, 2, 3, 4] }, live(1, 2, 3, 4))).toEqual({ state: { leader: 2, leaderEpoch: 5, isr: [2, 3, 4], partitionEpoch: 10 } });
    // 2 is not live: the next target replica in the ISR.
    expect(completeReassignment(a, { ...st, isr: [1, 2, 3, 4] }, live(1, 3, 4))).toEqual({ state: { leader: 3, leaderEpoch: 5, isr: [2, 3, 4], partitionEpoch: 10 } });
    // The leader stays when it is a target replica; removed replicas already out of the ISR: nothing to write.
    expect(completeReassignment(a, { leader: 3, leaderEpoch: 4, isr: [3, 2, 4], partitionEpoch: 9 }, live(1, 2, 3, 4))).toEqual({ state: undefined });
    expect(completeReassignment(a, { leader: 3, leaderEpoch: 4, isr: [3, 2, 4, 1], partitionEpoch: 9 }, live(1, 2, 3, 4))).toEqual({ state: { leader: 3, leaderEpoch: 5, isr: [3, 2, 4], partitionEpoch: 10 } });
  });
});

describe('the controller after a reassignment changed the replica set', () => {
  it('replicas no longer assigned leave the ISR; a leader no longer assigned is replaced', () => {
    // Cancelled while 4 (an added replica) was in the ISR.
    expect(decide([1, 2, 3], { leader: 1, leaderEpoch: 2, isr: [1, 2, 3, 4], partitionEpoch: 5 }, live(1, 2, 3, 4), false, false)).toEqual({ leader: 1, leaderEpoch: 2, isr: [1, 2, 3], partitionEpoch: 6 });
    // ... and leading (a preferred election made it leader): the first assigned ISR replica takes over.
    expect(decide([1, 2, 3], { leader: 4, leaderEpoch: 2, isr: [4, 2, 3], partitionEpoch: 5 }, live(1, 2, 3, 4), false, false)).toEqual({ leader: 2, leaderEpoch: 3, isr: [2, 3], partitionEpoch: 6 });
    // Nothing to change.
    expect(decide([1, 2, 3], { leader: 1, leaderEpoch: 2, isr: [1, 2, 3], partitionEpoch: 5 }, live(1, 2, 3), false, false)).toBeUndefined();
  });
});

describe('ElectLeaders decisions', () => {
  const st = (leader: number, isr: number[]) => ({ leader, leaderEpoch: 3, isr, partitionEpoch: 7 });
  it('preferred: not needed, not available, or the preferred replica with the ISR kept', () => {
    expect(electionFor(0, [1, 2, 3], st(1, [1, 2, 3]), live(1, 2, 3))).toBe(ErrorCode.ELECTION_NOT_NEEDED);
    expect(electionFor(0, [1, 2, 3], st(2, [2, 3]), live(1, 2, 3))).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
    expect(electionFor(0, [1, 2, 3], st(2, [1, 2, 3]), live(2, 3))).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
    expect(electionFor(0, [1, 2, 3], st(2, [2, 3, 1]), live(1, 2, 3))).toEqual({ leader: 1, leaderEpoch: 4, isr: [2, 3, 1], partitionEpoch: 8 });
  });
  it('unclean: not needed while the leader is live; an ISR replica first; any live replica alone otherwise', () => {
    expect(electionFor(1, [1, 2, 3], st(2, [2]), live(1, 2, 3))).toBe(ErrorCode.ELECTION_NOT_NEEDED);
    expect(electionFor(1, [1, 2, 3], st(-1, [1]), live())).toBe(ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
    expect(electionFor(1, [1, 2, 3], st(1, [1, 3]), live(2, 3))).toEqual({ leader: 3, leaderEpoch: 4, isr: [3], partitionEpoch: 8 });
    expect(electionFor(1, [1, 2, 3], st(-1, [1]), live(3, 2))).toEqual({ leader: 2, leaderEpoch: 4, isr: [2], partitionEpoch: 8 });
  });
});
