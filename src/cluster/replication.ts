// The leader's side of a replicated partition as plain state (issue 10): follower positions, the
// high watermark, ISR shrink and expand, and the min.insync.replicas checks of acks=-1 produces,
// with Kafka's rules (Partition.scala, Replica.scala, DelayedProduce.scala; notes on each rule
// below). Time comes in as arguments, so the rules are tested without a clock or sockets. Not used
// by the single-node broker yet: the replica manager will keep one per led partition.

/** What the leader knows of one follower (Kafka's ReplicaState). */
export interface FollowerState {
  /** The follower's log end offset: its last fetch offset (-1 before its first fetch to this leader). */
  leo: bigint;
  /** The leader's LEO when that fetch was read, and the fetch's time. */
  lastFetchLeaderLeo: bigint;
  lastFetchTimeMs: number;
  /** The last time the follower had read everything the leader had. */
  lastCaughtUpTimeMs: number;
}

export interface LeaderStateOptions {
  leaderId: number;
  /** Every replica of the partition (assignment order), the leader included. */
  replicas: readonly number[];
  isr: readonly number[];
  /** min.insync.replicas of the topic. */
  minInsyncReplicas: number;
  /** The leader's LEO when its current epoch began (followers must reach it to join the ISR). */
  leaderEpochStartOffset: bigint;
  nowMs: number;
  /** This broker led the partition before this epoch (follower positions are then kept as known). */
  wasLeader?: boolean;
  previous?: ReadonlyMap<number, FollowerState>;
}

export type AppendCheck = 'ok' | 'NOT_ENOUGH_REPLICAS';
export type ProduceWait = 'waiting' | 'done' | 'NOT_ENOUGH_REPLICAS_AFTER_APPEND';

export class LeaderPartitionState {
  readonly leaderId: number;
  private replicaList: number[];
  private isrSet: Set<number>;
  readonly followers = new Map<number, FollowerState>();
  readonly leaderEpochStartOffset: bigint;
  minInsyncReplicas: number;

  /**
   * A leader elected (or re-elected with a new epoch): every follower record is reset. In the ISR
   * it counts as caught up now, outside it never; its position is unknown unless this broker led
   * the partition before (Replica.resetReplicaState).
   */
  constructor(o: LeaderStateOptions) {
    this.leaderId = o.leaderId;
    this.replicaList = [...o.replicas];
    this.isrSet = new Set(o.isr.filter((r) => o.replicas.includes(r)));
    this.minInsyncReplicas = o.minInsyncReplicas;
    this.leaderEpochStartOffset = o.leaderEpochStartOffset;
    for (const r of o.replicas) {
      if (r === o.leaderId) continue;
      const known = o.wasLeader ? o.previous?.get(r) : undefined;
      this.followers.set(r, {
        leo: known?.leo ?? -1n,
        lastFetchLeaderLeo: -1n,
        lastFetchTimeMs: 0,
        lastCaughtUpTimeMs: this.isrSet.has(r) ? o.nowMs : 0,
      });
    }
  }

  /** Every replica of the partition (assignment order), the leader included. */
  get replicas(): readonly number[] {
    return this.replicaList;
  }

  /**
   * The replica set changed within the leader epoch (a reassignment adds replicas, or a replaced
   * or cancelled one drops replicas it had added): new followers start unknown and out of sync,
   * the others keep what the leader knows of them; dropped ones are forgotten.
   */
  setReplicas(replicas: readonly number[]): void {
    this.replicaList = [...replicas];
    for (const id of [...this.followers.keys()]) if (!replicas.includes(id)) this.followers.delete(id);
    for (const id of [...this.isrSet]) if (!replicas.includes(id)) this.isrSet.delete(id);
    for (const r of replicas) {
      if (r === this.leaderId || this.followers.has(r)) continue;
      this.followers.set(r, { leo: -1n, lastFetchLeaderLeo: -1n, lastFetchTimeMs: 0, lastCaughtUpTimeMs: 0 });
    }
  }

  get isr(): number[] {
    return this.replicas.filter((r) => this.isrSet.has(r));
  }

  /** min(min.insync.replicas, replica count): a partition with fewer replicas can still take acks=-1. */
  get effectiveMinIsr(): number {
    return Math.min(this.minInsyncReplicas, this.replicas.length);
  }

  /**
   * A Fetch from follower `id` at `fetchOffset` (taken as its LEO), read when the leader's LEO was
   * `leaderLeo`. Caught up if it asked for everything the leader had, or at least everything the
   * leader had at its previous fetch (a follower keeping pace with a steady stream of produces
   * never quite reaches the live LEO). Returns false for a replica not in the partition.
   */
  recordFetch(id: number, fetchOffset: bigint, leaderLeo: bigint, nowMs: number): boolean {
    const f = this.followers.get(id);
    if (f === undefined) return false;
    if (fetchOffset >= leaderLeo) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
    else if (fetchOffset >= f.lastFetchLeaderLeo) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
    f.leo = fetchOffset;
    f.lastFetchLeaderLeo = leaderLeo;
    f.lastFetchTimeMs = nowMs;
    return true;
  }

  /** At the leader's LEO, or caught up within replica.lag.time.max.ms (ReplicaState.isCaughtUp). */
  isCaughtUp(id: number, leaderLeo: bigint, nowMs: number, lagMaxMs: number): boolean {
    const f = this.followers.get(id);
    if (f === undefined) return false;
    return f.leo === leaderLeo || nowMs - f.lastCaughtUpTimeMs <= lagMaxMs;
  }

  /**
   * The high watermark after any change (Partition.maybeIncrementLeaderHW): the leader's LEO,
   * lowered to the LEO of every follower in the ISR and of every caught-up live follower (so one
   * catching up can reach the HW and join). It never goes back, stays within [logStart, LEO], and
   * (Kafka 3.7+, KAFKA-15583) does not move while the ISR is below the effective min ISR.
   */
  highWatermark(current: bigint, leaderLeo: bigint, logStartOffset: bigint, live: ReadonlySet<number>, nowMs: number, lagMaxMs: number): bigint {
    if (this.isrSet.size < this.effectiveMinIsr) return current;
    let hw = leaderLeo;
    for (const [id, f] of this.followers) {
      const counts = this.isrSet.has(id) || (live.has(id) && this.isCaughtUp(id, leaderLeo, nowMs, lagMaxMs));
      if (counts && f.leo < hw) hw = f.leo;
    }
    if (hw < logStartOffset) hw = logStartOffset;
    return hw > current ? hw : current;
  }

  /** ISR members (never the leader) that are no longer caught up: the shrink to propose (Partition.getOutOfSyncReplicas). */
  outOfSync(leaderLeo: bigint, nowMs: number, lagMaxMs: number): number[] {
    return this.isr.filter((id) => id !== this.leaderId && !this.isCaughtUp(id, leaderLeo, nowMs, lagMaxMs));
  }

  /**
   * Whether follower `id` may join the ISR (Partition.isFollowerInSync): not in it yet, live, at or
   * past the high watermark and inside the current leader epoch.
   */
  canJoinIsr(id: number, hw: bigint, live: ReadonlySet<number>): boolean {
    const f = this.followers.get(id);
    return f !== undefined && !this.isrSet.has(id) && !this.removing.has(id) && live.has(id) && f.leo >= hw && f.leo >= this.leaderEpochStartOffset;
  }

  /**
   * Replicas a reassignment is removing: they stay replicas (and in the ISR if they are) until it
   * completes, but never join the ISR again. Once the controller has taken one out at completion,
   * the new leader may learn of the smaller replica set only after the new ISR, and must not add
   * the leaving replica back in between (Kafka's controller sends the target replica set then).
   */
  private removing = new Set<number>();

  setRemoving(ids: readonly number[]): void {
    this.removing = new Set(ids);
  }

  /** Adopts a committed ISR (the leader always stays in it). */
  setIsr(isr: readonly number[]): void {
    this.isrSet = new Set(isr.filter((r) => this.replicaList.includes(r)));
    this.isrSet.add(this.leaderId);
  }

  /** Before appending an acks=-1 produce (Partition.appendRecordsToLeader). */
  checkAppend(acks: number): AppendCheck {
    return acks === -1 && this.isrSet.size < this.effectiveMinIsr ? 'NOT_ENOUGH_REPLICAS' : 'ok';
  }

  /**
   * A parked acks=-1 produce whose last offset is `lastOffset` (Partition.checkEnoughReplicasReachOffset):
   * done once the high watermark passes it; if by then the ISR has fallen below the effective min
   * ISR the answer is NOT_ENOUGH_REPLICAS_AFTER_APPEND (the data is committed all the same). An ISR
   * shrink alone does not end the wait: the leader's loss or the request timeout does.
   */
  produceWait(lastOffset: bigint, hw: bigint): ProduceWait {
    if (hw <= lastOffset) return 'waiting';
    return this.isrSet.size < this.effectiveMinIsr ? 'NOT_ENOUGH_REPLICAS_AFTER_APPEND' : 'done';
  }
}

// ---- the follower's side: truncation after a leader change (KIP-101 / KIP-279) ----

/** An (epoch, end offset) answer of OffsetForLeaderEpoch or of a leader-epoch cache; -1/-1 is undefined. */
export interface EpochEnd {
  epoch: number;
  endOffset: bigint;
}

export const UNDEFINED_EPOCH_END: EpochEnd = { epoch: -1, endOffset: -1n };

/**
 * Where a follower cuts its log given the leader's answer for the follower's latest epoch
 * (AbstractFetcherThread.getOffsetTruncationState). `own(epoch)` is the follower's own
 * endOffsetFor over its leader-epoch cache. `done` false: the follower did not know the leader's
 * epoch, so it cuts to its own end of the epoch before and asks again (KIP-279: successive leader
 * changes). An undefined answer cuts to the high watermark.
 */
export function followerTruncation(
  leader: EpochEnd,
  own: (epoch: number) => EpochEnd,
  ownLeo: bigint,
  highWatermark: bigint,
): { truncateTo: bigint; done: boolean } {
  const min = (...xs: bigint[]): bigint => xs.reduce((a, b) => (b < a ? b : a));
  if (leader.endOffset < 0n) return { truncateTo: min(highWatermark, ownLeo), done: true };
  if (leader.epoch < 0) return { truncateTo: min(leader.endOffset, ownLeo), done: true };
  const mine = own(leader.epoch);
  if (mine.epoch < 0 || mine.endOffset < 0n) return { truncateTo: min(leader.endOffset, ownLeo), done: true };
  if (mine.epoch === leader.epoch) return { truncateTo: min(leader.endOffset, mine.endOffset, ownLeo), done: true };
  return { truncateTo: min(mine.endOffset, ownLeo), done: false };
}

/**
 * The leader's check of a follower Fetch (v12+) that carries the epoch of its last fetched batch
 * (Partition.readRecords): OFFSET_OUT_OF_RANGE when the leader cannot place that epoch or the
 * offset is below its log start; a diverging epoch (no records; the follower truncates with
 * followerTruncation) when the leader's log ends that epoch earlier or in an older epoch; else read.
 */
export function checkLastFetchedEpoch(
  lastFetchedEpoch: number,
  fetchOffset: bigint,
  leaderEndOffsetFor: (epoch: number) => EpochEnd,
  logStartOffset: bigint,
): 'read' | 'OFFSET_OUT_OF_RANGE' | { diverging: EpochEnd } {
  if (lastFetchedEpoch < 0) return 'read';
  const end = leaderEndOffsetFor(lastFetchedEpoch);
  if (end.epoch < 0 || end.endOffset < 0n || fetchOffset < logStartOffset) return 'OFFSET_OUT_OF_RANGE';
  if (end.epoch < lastFetchedEpoch || end.endOffset < fetchOffset) return { diverging: end };
  return 'read';
}
