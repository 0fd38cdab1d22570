// Partition reassignment (KIP-455) as pure functions (issue 10), after Kafka's ZooKeeper-era
// controller (KafkaController.onPartitionReassignment, ReplicaAssignment.reassignTo,
// validateReplicas, maybeBuildReassignment):
//   - starting: the partition's replica set becomes target ∪ original (target first), with the
//     adding (target − original) and removing (original − target) replicas stored next to it;
//     the adding replicas start following the leader and join the ISR as any follower does;
//   - completing, once every target replica is in the ISR: a leader from the target if the current
//     one is not in it or not live (electReassignment), the removing replicas out of the ISR, and
//     the replica set shrunk to the target;
//   - a new target replaces an in-progress one (replicas no longer needed are dropped at once), and
//     a cancel (no target) goes back to the original replicas.
// The IO (the metadata store writes) is in ClusterNode (requests) and the controller (completion).

import { ErrorCode } from '../../protocol/errors.js';
import { electReassignment } from './elections.js';
import type { PartitionReassignment, PartitionState, TopicRecord } from './metadata/store.js';

/** A partition's full replica assignment with its in-progress reassignment (Kafka's ReplicaAssignment). */
export interface FullAssignment {
  /** Every replica: while reassigning, the target first, then the original replicas not in it. */
  replicas: number[];
  adding: number[];
  removing: number[];
}

export function isReassigning(a: FullAssignment): boolean {
  return a.adding.length > 0 || a.removing.length > 0;
}

/** The replicas before the reassignment began. */
export function originReplicas(a: FullAssignment): number[] {
  return a.replicas.filter((r) => !a.adding.includes(r));
}

/** The replicas the reassignment moves to. */
export function targetReplicas(a: FullAssignment): number[] {
  return a.replicas.filter((r) => !a.removing.includes(r));
}

/** The assignment that moves `a`'s original replicas to `target` (ReplicaAssignment.reassignTo). */
export function reassignTo(a: FullAssignment, target: readonly number[]): FullAssignment {
  const origin = new Set(originReplicas(a));
  const wanted = new Set(target);
  const replicas = [...new Set([...target, ...origin])];
  return { replicas, adding: replicas.filter((r) => !origin.has(r)), removing: replicas.filter((r) => !wanted.has(r)) };
}

/** A partition's full assignment as the topic record holds it. */
export function fullAssignment(t: TopicRecord, p: number): FullAssignment | undefined {
  const replicas = t.assignments[p];
  if (replicas === undefined) return undefined;
  const r = t.reassigning?.[String(p)];
  return { replicas: [...replicas], adding: [...(r?.adding ?? [])], removing: [...(r?.removing ?? [])] };
}

/** The topic record with partition p's assignment replaced (its reassignment entry dropped when finished). */
export function withAssignment(t: TopicRecord, p: number, a: FullAssignment): TopicRecord {
  const assignments = t.assignments.map((x, i) => (i === p ? [...a.replicas] : x));
  const reassigning: Record<string, PartitionReassignment> = { ...(t.reassigning ?? {}) };
  if (isReassigning(a)) reassigning[String(p)] = { adding: [...a.adding], removing: [...a.removing] };
  else delete reassigning[String(p)];
  const out: TopicRecord = { ...t, assignments };
  if (Object.keys(reassigning).length > 0) out.reassigning = reassigning;
  else delete out.reassigning;
  return out;
}

export interface ReassignmentProblem {
  errorCode: number;
  errorMessage: string;
}

/**
 * Kafka's checks of a target replica list (KafkaController.validateReplicas): not empty, no
 * duplicates, no negative ids, and every replica it adds is a live broker. `current` is undefined
 * for a partition that does not exist (its replicas all count as added).
 */
export function validateTarget(target: readonly number[], current: FullAssignment | undefined, live: ReadonlySet<number>): ReassignmentProblem | undefined {
  if (target.length === 0) return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'Empty replica list specified in partition reassignment.' };
  if (new Set(target).size !== target.length) {
    return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: `Duplicate replica ids in partition reassignment replica list: [${target.join(', ')}]` };
  }
  if (target.some((b) => b < 0)) return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: `Invalid broker id in replica list: [${target.join(', ')}]` };
  const adding = reassignTo(current ?? { replicas: [], adding: [], removing: [] }, target).adding;
  if (!adding.every((b) => live.has(b))) {
    return {
      errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      errorMessage: `Replica assignment has brokers that are not alive. Replica list: [${adding.join(', ')}], live broker list: [${[...live].sort((a, b) => a - b).join(', ')}]`,
    };
  }
  return undefined;
}

/**
 * The new full assignment for a request: a target replaces whatever is in progress; a cancel
 * (null) of an in-progress reassignment goes back to the original replicas. Undefined: a cancel
 * with nothing in progress (NO_REASSIGNMENT_IN_PROGRESS). Kafka's maybeBuildReassignment.
 */
export function buildReassignment(current: FullAssignment, target: readonly number[] | null): FullAssignment | undefined {
  if (target !== null) return reassignTo(current, target);
  if (!isReassigning(current)) return undefined;
  return reassignTo(current, originReplicas(current));
}

/**
 * The completion step, once every target replica is in the ISR (Kafka's phase B): the partition
 * state to write (undefined when it needs no change: the leader is a live target replica and no
 * removing replica is in the ISR), or 'wait' while the target is not in sync yet or no target
 * replica can lead. A written state bumps the leader epoch (Kafka's controller bumps it when the
 * replica set shrinks).
 */
export function completeReassignment(a: FullAssignment, cur: PartitionState, live: ReadonlySet<number>): { state: PartitionState | undefined } | 'wait' {
  const target = targetReplicas(a);
  if (!target.every((b) => cur.isr.includes(b))) return 'wait';
  const needLeader = !target.includes(cur.leader) || !live.has(cur.leader);
  const leader = needLeader ? electReassignment(target, cur.isr, live).leader : cur.leader;
  if (leader === undefined) return 'wait';
  const isr = cur.isr.filter((b) => !a.removing.includes(b));
  if (!needLeader && isr.length === cur.isr.length) return { state: undefined };
  return { state: { leader, leaderEpoch: cur.leaderEpoch + 1, isr, partitionEpoch: cur.partitionEpoch + 1 } };
}
