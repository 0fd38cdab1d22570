// The controller's decisions as pure functions (issue 10): where a new topic's replicas go and
// who leads a partition after a broker dies, shuts down, or a reassignment or preferred-leader
// election runs. They follow Kafka's ZooKeeper-era controller (AdminUtils'
// assignReplicasToBrokersRackUnaware and -RackAware, PartitionLeaderElectionAlgorithms) so that a Brook cluster
// places and moves leaders as Kafka would; the controller (controller.ts) and ElectLeaders
// (cluster-node.ts) call them.
//
// Replica lists are in assignment order; the first replica is the partition's preferred leader.

import { ErrorCode } from '../../protocol/errors.js';
import type { PartitionState } from './metadata/store.js';

/** Kafka's InvalidReplicationFactor / InvalidPartitions, with its message. */
export class AssignmentError extends Error {
  constructor(
    readonly code: 'INVALID_REPLICATION_FACTOR' | 'INVALID_PARTITIONS',
    message: string,
  ) {
    super(message);
  }
}

export interface AssignOptions {
  /**
   * Where the first partition's first replica goes, and the initial shift of the followers
   * (Kafka picks both at random unless a fixed start index is given; tests fix it).
   */
  startIndex?: number;
  nextReplicaShift?: number;
  /** First partition id (CreatePartitions adds partitions after the existing ones). */
  startPartitionId?: number;
  /** Random source for the defaults (Math.random). */
  random?: () => number;
  /**
   * broker.rack of the brokers. When any broker has one the placement is Kafka's rack-aware one
   * (replicas of a partition on as many racks as possible); a broker without a rack then counts
   * as one more rack (Kafka's ZooKeeper-era rule refuses a mix, KRaft's accepts it).
   */
  racks?: ReadonlyMap<number, string | null>;
}

/**
 * Replicas for partitions startPartitionId .. startPartitionId + numPartitions - 1 over `brokers`
 * (Kafka's AdminUtils): the first replica walks the broker list round robin from startIndex, the
 * followers follow it at a shift that grows by one each time the partitions wrap around the list,
 * so leaders and followers both spread evenly. Without racks the list is `brokers` as given and
 * the followers are the next brokers along (rack-unaware). With racks (any broker has one) it is
 * the rack-aware rule: the list alternates between racks (racks in name order, brokers by id
 * within a rack), the shift is scaled by the number of racks, and each further replica is the next
 * one along whose rack has no replica yet, unless every rack has one (rack-unaware, with one rack,
 * is the same walk).
 */
export function assignReplicas(brokers: readonly number[], numPartitions: number, replicationFactor: number, opts: AssignOptions = {}): number[][] {
  const n = brokers.length;
  if (numPartitions <= 0) throw new AssignmentError('INVALID_PARTITIONS', 'Number of partitions must be larger than 0.');
  if (replicationFactor <= 0) throw new AssignmentError('INVALID_REPLICATION_FACTOR', 'Replication factor must be larger than 0.');
  if (replicationFactor > n) {
    throw new AssignmentError('INVALID_REPLICATION_FACTOR', `Replication factor: ${replicationFactor} larger than available brokers: ${n}.`);
  }
  const racked = opts.racks !== undefined && brokers.some((b) => (opts.racks!.get(b) ?? null) !== null);
  const rackOf = (b: number): string => (racked ? (opts.racks!.get(b) ?? NO_RACK) : '');
  const arranged = racked ? rackAlternated(brokers, rackOf) : brokers;
  const numRacks = new Set(brokers.map(rackOf)).size;
  const random = opts.random ?? Math.random;
  const startIndex = opts.startIndex ?? Math.floor(random() * n);
  let shift = opts.nextReplicaShift ?? (opts.startIndex !== undefined ? opts.startIndex : Math.floor(random() * n));
  const start = opts.startPartitionId ?? 0;
  const out: number[][] = [];
  for (let p = start; p < start + numPartitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const first = (p + startIndex) % n;
    const leader = arranged[first]!;
    const replicas = [leader];
    const racksWith = new Set([rackOf(leader)]);
    let k = 0;
    while (replicas.length < replicationFactor) {
      const b = arranged[(first + 1 + ((shift * numRacks + k) % (n - 1))) % n]!;
      k++;
      // Skip a broker already chosen, or one in a rack that has a replica while another has none.
      if (replicas.includes(b) || (racksWith.has(rackOf(b)) && racksWith.size < numRacks)) continue;
      replicas.push(b);
      racksWith.add(rackOf(b));
    }
    out.push(replicas);
  }
  return out;
}

/** A broker without broker.rack, among brokers with one (a name no configured rack can have). */
const NO_RACK = '\u0000no rack';

/** Kafka's getRackAlternatedBrokerList: one broker of each rack in turn (racks by name, ids ascending). */
function rackAlternated(brokers: readonly number[], rackOf: (b: number) => string): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of [...brokers].sort((x, y) => x - y)) {
    const list = byRack.get(rackOf(b));
    if (list === undefined) byRack.set(rackOf(b), [b]);
    else list.push(b);
  }
  const lists = [...byRack.keys()].sort().map((r) => byRack.get(r)!);
  const out: number[] = [];
  for (let i = 0; out.length < brokers.length; i++) for (const list of lists) if (i < list.length) out.push(list[i]!);
  return out;
}

/**
 * A partition's leader and ISR after an election. An undefined leader means no replica can lead:
 * after electOffline the partition goes offline (leader -1, the ISR as returned, never empty in
 * Kafka's writes); after the other elections nothing is changed (Kafka leaves the partition as it
 * is and, for a controlled shutdown, reports it as still led by the broker).
 */
export interface Election {
  leader: number | undefined;
  isr: number[];
  /** The leader came from outside the ISR (unclean.leader.election.enable): data may be lost. */
  unclean: boolean;
}

/**
 * A partition whose leader is gone (or a new one): the first replica in assignment order that is
 * live and in the ISR; the ISR keeps its live members. With `allowUnclean` and no such replica,
 * the first live replica, alone in the ISR.
 */
export function electOffline(assignment: readonly number[], isr: readonly number[], live: ReadonlySet<number>, allowUnclean = false): Election {
  const liveIsr = isr.filter((b) => live.has(b));
  const leader = assignment.find((b) => live.has(b) && isr.includes(b));
  if (leader !== undefined) return { leader, isr: liveIsr, unclean: false };
  if (allowUnclean) {
    const any = assignment.find((b) => live.has(b));
    if (any !== undefined) return { leader: any, isr: [any], unclean: true };
  }
  return { leader: undefined, isr: liveIsr.length > 0 ? liveIsr : [...isr], unclean: false };
}

/** A partition being reassigned: the first replica of the target list that is live and in the ISR. */
export function electReassignment(target: readonly number[], isr: readonly number[], live: ReadonlySet<number>): Election {
  const leader = target.find((b) => live.has(b) && isr.includes(b));
  return { leader, isr: [...isr], unclean: false };
}

/**
 * Preferred-leader election: the first assigned replica, if it is live and in the ISR; otherwise
 * undefined (nothing changes). The ISR is kept.
 */
export function electPreferred(assignment: readonly number[], isr: readonly number[], live: ReadonlySet<number>): Election | undefined {
  const preferred = assignment[0];
  if (preferred === undefined || !live.has(preferred) || !isr.includes(preferred)) return undefined;
  return { leader: preferred, isr: [...isr], unclean: false };
}

/**
 * Controlled shutdown of `shuttingDown` brokers: the first replica that is live, in the ISR and
 * not shutting down; the ISR loses the shutting-down brokers.
 */
export function electControlledShutdown(
  assignment: readonly number[],
  isr: readonly number[],
  live: ReadonlySet<number>,
  shuttingDown: ReadonlySet<number>,
): Election {
  const leader = assignment.find((b) => live.has(b) && isr.includes(b) && !shuttingDown.has(b));
  const rest = isr.filter((b) => !shuttingDown.has(b));
  return { leader, isr: rest, unclean: false };
}

// ---- ElectLeaders (key 43) ----

export interface ElectionResult {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
}

export type ReassignmentResult = ElectionResult;

export const PREFERRED_ELECTION = 0;
export const UNCLEAN_ELECTION = 1;

/**
 * The state an ElectLeaders election writes, or the error code when there is nothing to elect or
 * nobody to elect (see ClusterNode.electLeaders).
 */
export function electionFor(type: number, assignment: readonly number[], cur: PartitionState, live: ReadonlySet<number>): PartitionState | number {
  if (type === UNCLEAN_ELECTION) {
    if (cur.leader !== -1 && live.has(cur.leader) && assignment.includes(cur.leader)) return ErrorCode.ELECTION_NOT_NEEDED;
    const e = electOffline(assignment, cur.isr.filter((b) => assignment.includes(b)), live, true);
    if (e.leader === undefined) return ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE;
    return { leader: e.leader, leaderEpoch: cur.leaderEpoch + 1, isr: e.isr, partitionEpoch: cur.partitionEpoch + 1 };
  }
  if (cur.leader === assignment[0]) return ErrorCode.ELECTION_NOT_NEEDED;
  const e = electPreferred(assignment, cur.isr, live);
  if (e?.leader === undefined) return ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
  return { leader: e.leader, leaderEpoch: cur.leaderEpoch + 1, isr: e.isr, partitionEpoch: cur.partitionEpoch + 1 };
}

/** Kafka's texts: ELECTION_NOT_NEEDED carries the error's default message; failed elections say which strategy failed. */
export function electionErrorMessage(code: number, topic: string, partition: number, type: number): string | null {
  if (code === ErrorCode.ELECTION_NOT_NEEDED) return 'Leader election not needed for topic partition.';
  if (code === ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE || code === ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE) {
    return `Failed to elect leader for partition ${topic}-${partition} under strategy ${type === UNCLEAN_ELECTION ? 'OfflinePartitionLeaderElectionStrategy(true)' : 'PreferredReplicaPartitionLeaderElectionStrategy'}`;
  }
  return null;
}
