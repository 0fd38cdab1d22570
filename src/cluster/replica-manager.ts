// The partition data path on the leader: validated appends and reads, plus the wait list that
// long-poll Fetch requests park on until data arrives (Kafka's fetch purgatory).
//
// On a single node the high watermark is the log end offset; the replication issue will move it.
// The last stable offset is the first offset of the oldest open transaction (capped by the high
// watermark); READ_COMMITTED reads stop there and carry the aborted transactions they cover.
//
// Idempotence and transactions: a client batch with a producer id is checked against the
// partition's producer state before it is appended (duplicates are answered with the offsets they
// got the first time, see src/log/producer-state.ts). A transactional batch must belong to a
// transaction that added this partition (KIP-890 verification, asked of the transaction
// coordinator through `TxnVerifier`). Markers (COMMIT/ABORT control batches) are appended by the
// transaction coordinator through writeTxnMarker().

import { ErrorCode } from '../../protocol/errors.js';
import { ControlRecordType } from '../../protocol/records/constants.js';
import {
  encodeControlBatch,
  repairMaxTimestamp,
  stampLogAppendTime,
  validateRecordKeys,
  validateRecords,
} from '../../protocol/records/batch.js';
import { every, realTimeBounded, type Clock, type Timer } from '../common/clock.js';
import type { BrokerConfig } from '../config/config.js';
import type { LogStore, PartitionLog, ReadResult } from '../log/types.js';
import type { ProducerInfo } from '../log/producer-state.js';
import { cleanupPolicyIncludes } from '../log/common.js';
import { DEFAULT_COMPACTION_CONFIG, DEFAULT_SEGMENT_INDEX_BYTES, type CompactionConfig, type CompactionResult } from '../log/cleaner.js';
import { LeaderPartitionState, checkLastFetchedEpoch, type EpochEnd, type FollowerState } from './replication.js';
import { readHwCheckpoint, writeHwCheckpoint } from './hw-checkpoint.js';

export interface ProduceResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
  /** Offset of the last record appended (acks=-1 waits until the high watermark passes it); not encoded. */
  lastOffset?: bigint;
}

export interface PartitionRead {
  /** KIP-392: the replica the consumer should fetch this partition from instead (no records then). */
  preferredReadReplica?: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  records: ReadResult | null;
  /** READ_COMMITTED: aborted transactions overlapping the records returned; else null. */
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }> | null;
  /** A follower's fetch (v12+) whose last fetched epoch ends earlier on the leader: truncate to this. */
  divergingEpoch?: EpochEnd;
}

/**
 * What the replica manager needs from the cluster when replication is on (issue 10): this
 * broker's id, the live brokers, and a way to publish a new ISR of a partition it leads. Absent on
 * a single node, where every partition is led here and the high watermark is the written end.
 */
export interface ReplicationHooks {
  nodeId: number;
  liveBrokers(): ReadonlySet<number>;
  /**
   * Publishes `isr` for a partition this broker leads at `leaderEpoch` (compare-and-swap on the
   * partition's state, as Kafka's leaders did in ZooKeeper); true once committed, false when the
   * state moved on (another leader epoch: the metadata watch brings it).
   */
  proposeIsr(topic: string, partition: number, leaderEpoch: number, isr: number[]): Promise<boolean>;
  /** The data directory holding the high-watermark checkpoint (durable stores only). */
  checkpointDir?: string;
  /** broker.rack of a live broker (null: none, or not live); for replica.selector.class. */
  rackOf?(nodeId: number): string | null;
}

/** The consumer side of a Fetch (v11+, KIP-392): its rack, and that followers may serve it. */
export interface FetchClient {
  /** Fetch v11+ from a consumer: a follower may answer it (up to its high watermark). */
  followerReads: boolean;
  /** The consumer's client.rack ('' none). */
  rack: string;
}

/** A partition's place in replication on this broker (cluster mode only). */
export interface LeaderAndIsr {
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  /** Replicas a reassignment in progress is removing (they do not join the ISR again). */
  removing?: number[];
}

interface ProduceWaiter {
  required: bigint;
  done(errorCode: number): void;
}

interface LeaderRole {
  kind: 'leader';
  leaderEpoch: number;
  state: LeaderPartitionState;
  hw: bigint;
  isrInflight: boolean;
  waiters: ProduceWaiter[];
}

interface FollowerRole {
  kind: 'follower';
  leaderId: number;
  leaderEpoch: number;
  hw: bigint;
}

type Role = LeaderRole | FollowerRole;

/** replica.selector.class values (KIP-392): Kafka's two selectors. */
export const RACK_AWARE_SELECTOR = 'org.apache.kafka.common.replica.RackAwareReplicaSelector';
export const LEADER_SELECTOR = 'org.apache.kafka.common.replica.LeaderSelector';

export const READ_UNCOMMITTED = 0;
export const READ_COMMITTED = 1;

/**
 * Asks the transaction coordinator whether a transactional batch may be appended: the producer's
 * ongoing transaction (transactional id, producer id and epoch) must include the partition.
 * Returns an error code (NONE when it may).
 */
export type TxnVerifier = (transactionalId: string | null, producerId: bigint, producerEpoch: number, topic: string, partition: number) => number;

/** Listener of markers written to a partition (the group coordinator watches __consumer_offsets). */
export type MarkerListener = (topic: string, partition: number, producerId: bigint, commit: boolean) => void;

/** The result of a partition produce that appended nothing. */
export function failedProduce(errorCode: number, errorMessage: string | null = null, logStartOffset = -1n): ProduceResult {
  return { errorCode, errorMessage, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset };
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** How Kafka's produce path reports a failed KIP-890 verification (ReplicaManager). */
function verificationError(code: number, produceVersion: number): number {
  switch (code) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.TRANSACTION_ABORTABLE:
      return produceVersion >= 11 ? ErrorCode.TRANSACTION_ABORTABLE : ErrorCode.INVALID_TXN_STATE;
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    default:
      return code;
  }
}

export class ReplicaManager {
  private readonly waiters = new Map<string, Set<() => void>>();
  private closing = false;
  private verifier: TxnVerifier | undefined;
  private readonly markerListeners: MarkerListener[] = [];
  /** Producer expiry and retention checks (cancelled at shutdown). */
  private readonly periodic: Timer[] = [];
  private cleanerTimer: { cancel(): void } | undefined;
  /** Long-poll deadlines: the injected clock or real time, whichever comes first (issue 9). */
  private readonly waitClock: Clock;
  /** Cluster mode: replication hooks and each hosted partition's role (issue 10). */
  private replication: ReplicationHooks | undefined;
  private readonly roles = new Map<string, Role>();

  constructor(
    private readonly store: LogStore,
    private readonly config: BrokerConfig,
    private readonly clock: Clock,
  ) {
    this.waitClock = realTimeBounded(clock);
    this.periodic.push(
      every(clock, () => config.int('producer.id.expiration.check.interval.ms'), () => this.expireProducers()),
      every(clock, () => config.int('log.retention.check.interval.ms'), () => this.enforceRetention()),
    );
    this.scheduleCompaction();
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.store.partition(topic, partition);
  }

  /** Partition logs whose written-end listener wakes parked fetches (notifyWhenWritten). */
  private readonly writtenHooks = new WeakSet<PartitionLog>();

  /** Installs the transaction coordinator's verification of transactional appends. */
  setTxnVerifier(verifier: TxnVerifier): void {
    this.verifier = verifier;
  }

  onMarker(listener: MarkerListener): void {
    this.markerListeners.push(listener);
  }

  /** The last stable offset: first offset of the oldest open transaction, else the high watermark. */
  lastStableOffset(log: PartitionLog): bigint {
    const hw = this.highWatermark(log);
    const unstable = log.producerState.firstUnstableOffset();
    if (unstable === undefined || unstable >= hw) return hw;
    return unstable < log.logStartOffset ? log.logStartOffset : unstable;
  }

  /** The partition's producers (DescribeProducers). */
  describeProducers(log: PartitionLog): ProducerInfo[] {
    return log.producerState.describe();
  }

  /**
   * High watermark: on a single node, the end of what is in the log's files; in a cluster, the
   * leader's (what every ISR replica has, within what is in this broker's files) or, on a
   * follower, the leader's as last fetched, capped by the local log end.
   */
  highWatermark(log: PartitionLog): bigint {
    if (this.replication === undefined) return log.writtenEndOffset;
    const role = this.roles.get(key(log.topic, log.partition));
    return role === undefined ? log.logStartOffset : role.hw;
  }

  /** The partition's current leader epoch: the cluster's on a replicated partition, else the log's. */
  leaderEpochOf(log: PartitionLog): number {
    if (this.replication === undefined) return log.leaderEpoch;
    return this.roles.get(key(log.topic, log.partition))?.leaderEpoch ?? log.leaderEpoch;
  }

  /** NONE when this broker leads the partition (always on a single node), else NOT_LEADER_OR_FOLLOWER. */
  leaderError(topic: string, partition: number): number {
    if (this.replication === undefined) return ErrorCode.NONE;
    return this.roles.get(key(topic, partition))?.kind === 'leader' ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }

  get clustered(): boolean {
    return this.replication !== undefined;
  }

  // ---- replication (issue 10) ----

  /** Turns on cluster mode: from now on partitions are served only as their role allows. */
  enableReplication(hooks: ReplicationHooks): void {
    this.replication = hooks;
    const lag = (): number => this.config.int('replica.lag.time.max.ms');
    this.periodic.push(every(this.clock, () => Math.max(1, Math.floor(lag() / 2)), () => this.maybeShrinkIsrs()));
    if (hooks.checkpointDir !== undefined) {
      this.savedHw = readHwCheckpoint(hooks.checkpointDir);
      this.periodic.push(every(this.clock, () => this.config.int('replica.high.watermark.checkpoint.interval.ms'), () => void this.checkpointHighWatermarks()));
    }
  }

  /** High watermarks read from the checkpoint at start: a partition's first role starts there. */
  private savedHw = new Map<string, bigint>();
  private checkpointing: Promise<void> | undefined;

  /**
   * Writes the high watermark of every hosted partition to the data directory (Kafka's
   * replication-offset-checkpoint), off the event loop; one write at a time. A failure is logged
   * and the next period tries again.
   */
  checkpointHighWatermarks(): Promise<void> {
    const dir = this.replication?.checkpointDir;
    if (dir === undefined) return Promise.resolve();
    const entries = [...this.roles].map(([k, r]) => {
      const [topic, p] = k.split('\u0000');
      return { topic: topic!, partition: Number(p), hw: r.hw };
    });
    const run = (): Promise<void> =>
      writeHwCheckpoint(dir, entries).catch((err: Error) => this.storageLog?.warn({ err: err.message }, 'writing the high-watermark checkpoint failed'));
    this.checkpointing = (this.checkpointing ?? Promise.resolve()).then(run);
    return this.checkpointing;
  }

  /** A partition's HW before its first role here: the checkpoint's, within the log. */
  private initialHw(k: string, log: PartitionLog): bigint {
    const saved = this.savedHw.get(k);
    if (saved === undefined || saved < log.logStartOffset) return log.logStartOffset;
    return saved > log.logEndOffset ? log.logEndOffset : saved;
  }

  /** This broker leads the partition at `info.leaderEpoch` (a new epoch, or an ISR change of the current one). */
  becomeLeader(topic: string, partition: number, info: LeaderAndIsr): void {
    const log = this.store.partition(topic, partition);
    const hooks = this.replication;
    if (!log || !hooks) return;
    const k = key(topic, partition);
    const prev = this.roles.get(k);
    if (prev?.kind === 'leader' && prev.leaderEpoch === info.leaderEpoch) {
      if (!sameList(prev.state.replicas, info.replicas)) prev.state.setReplicas(info.replicas);
      prev.state.setRemoving(info.removing ?? []);
      prev.state.setIsr(info.isr);
      this.updateHighWatermark(topic, partition, log, prev);
      return;
    }
    log.bumpLeaderEpoch(info.leaderEpoch);
    const meta = this.store.getTopic(topic);
    const minIsr = Number(this.config.topicValue(meta?.configs ?? {}, 'min.insync.replicas') ?? 1);
    const state = new LeaderPartitionState({
      leaderId: hooks.nodeId,
      replicas: info.replicas,
      isr: info.isr,
      minInsyncReplicas: Number.isFinite(minIsr) ? minIsr : 1,
      leaderEpochStartOffset: log.logEndOffset,
      nowMs: this.clock.now(),
      wasLeader: prev?.kind === 'leader',
      previous: prev?.kind === 'leader' ? (prev.state.followers as ReadonlyMap<number, FollowerState>) : undefined,
    });
    state.setRemoving(info.removing ?? []);
    const hw = prev?.hw ?? this.initialHw(k, log);
    const role: LeaderRole = { kind: 'leader', leaderEpoch: info.leaderEpoch, state, hw: hw > log.logEndOffset ? log.logEndOffset : hw, isrInflight: false, waiters: prev?.kind === 'leader' ? prev.waiters : [] };
    this.roles.set(k, role);
    this.hookWrittenEnd(log, topic, partition);
    this.updateHighWatermark(topic, partition, log, role);
    this.notify(topic, partition);
    this.leadershipChanged(topic, partition, true, info.leaderEpoch);
  }

  /** This broker follows `leaderId` (-1: the partition is offline) at `leaderEpoch`. */
  becomeFollower(topic: string, partition: number, leaderId: number, leaderEpoch: number): void {
    const log = this.store.partition(topic, partition);
    if (!log || !this.replication) return;
    const k = key(topic, partition);
    const prev = this.roles.get(k);
    if (prev?.kind === 'follower' && prev.leaderEpoch === leaderEpoch && prev.leaderId === leaderId) return;
    if (prev?.kind === 'leader') for (const w of prev.waiters.splice(0)) w.done(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const hw = prev?.hw ?? this.initialHw(k, log);
    this.roles.set(k, { kind: 'follower', leaderId, leaderEpoch, hw: hw > log.logEndOffset ? log.logEndOffset : hw });
    this.notify(topic, partition);
    if (prev?.kind === 'leader') this.leadershipChanged(topic, partition, false, leaderEpoch);
  }

  /** The partition is no longer hosted here (reassigned away, topic deleted). */
  stopReplica(topic: string, partition: number): void {
    const k = key(topic, partition);
    const prev = this.roles.get(k);
    if (!prev) return;
    if (prev.kind === 'leader') for (const w of prev.waiters.splice(0)) w.done(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.roles.delete(k);
    this.notify(topic, partition);
    if (prev.kind === 'leader') this.leadershipChanged(topic, partition, false, prev.leaderEpoch);
  }

  private readonly leadershipListeners: Array<(topic: string, partition: number, leader: boolean, leaderEpoch: number) => void> = [];

  /**
   * Told when this broker becomes leader of a partition at a new epoch, and when it stops leading
   * one (the coordinators load and unload the partitions of their internal topics).
   */
  onLeadershipChange(listener: (topic: string, partition: number, leader: boolean, leaderEpoch: number) => void): void {
    this.leadershipListeners.push(listener);
  }

  private leadershipChanged(topic: string, partition: number, leader: boolean, leaderEpoch: number): void {
    for (const l of this.leadershipListeners) l(topic, partition, leader, leaderEpoch);
  }

  /** Roles of hosted partitions (tests, DescribeLogDirs, metrics). */
  roleOf(topic: string, partition: number): { kind: 'leader' | 'follower'; leaderEpoch: number; hw: bigint; isr?: number[]; replicas?: readonly number[] } | undefined {
    const r = this.roles.get(key(topic, partition));
    if (!r) return undefined;
    return r.kind === 'leader' ? { kind: r.kind, leaderEpoch: r.leaderEpoch, hw: r.hw, isr: r.state.isr, replicas: r.state.replicas } : { kind: r.kind, leaderEpoch: r.leaderEpoch, hw: r.hw };
  }

  /** A follower's fetch answered by the leader: its high watermark, capped by our log end. */
  followerFetched(topic: string, partition: number, leaderHw: bigint): void {
    const role = this.roles.get(key(topic, partition));
    const log = this.store.partition(topic, partition);
    if (role?.kind !== 'follower' || !log) return;
    // The fetcher moves the log start itself (Kafka's maybeIncrementLogStartOffset).
    const hw = leaderHw < log.logEndOffset ? leaderHw : log.logEndOffset;
    const moved = hw > role.hw;
    role.hw = hw;
    // Consumers fetching from this follower (KIP-392) read up to its high watermark: wake them.
    if (moved) this.notify(topic, partition);
  }

  /**
   * acks=-1: resolves once the high watermark passes `lastOffset` (NONE, or
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR fell below min.insync.replicas meanwhile), the
   * leadership is lost (NOT_LEADER_OR_FOLLOWER) or `timeoutMs` passes (REQUEST_TIMED_OUT): Kafka's
   * DelayedProduce. Undefined on a single node (the local append is the whole ISR).
   */
  whenReplicated(topic: string, partition: number, lastOffset: bigint, timeoutMs: number): Promise<number> | undefined {
    if (this.replication === undefined) return undefined;
    const role = this.roles.get(key(topic, partition));
    if (role?.kind !== 'leader') return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const now = produceWaitCode(role, lastOffset);
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const timer = this.waitClock.setTimeout(() => {
        const i = role.waiters.indexOf(w);
        if (i >= 0) role.waiters.splice(i, 1);
        resolve(ErrorCode.REQUEST_TIMED_OUT);
      }, Math.max(0, timeoutMs));
      const w: ProduceWaiter = {
        required: lastOffset,
        done: (code) => {
          timer.cancel();
          resolve(code);
        },
      };
      role.waiters.push(w);
    });
  }

  private hookWrittenEnd(log: PartitionLog, topic: string, partition: number): void {
    if (this.writtenHooks.has(log)) return;
    this.writtenHooks.add(log);
    log.onWrittenEnd(() => this.progress(topic, partition, log));
  }

  /** The log's written end moved (or an append landed in memory): the HW may move; wake readers. */
  private progress(topic: string, partition: number, log: PartitionLog): void {
    const role = this.replication ? this.roles.get(key(topic, partition)) : undefined;
    if (role?.kind === 'leader') this.updateHighWatermark(topic, partition, log, role);
    this.notify(topic, partition);
  }

  /** Recomputes a led partition's HW (Partition.maybeIncrementLeaderHW) and completes what it unblocks. */
  private updateHighWatermark(topic: string, partition: number, log: PartitionLog, role: LeaderRole): void {
    const live = this.replication!.liveBrokers();
    const lag = this.config.int('replica.lag.time.max.ms');
    const leo = log.writtenEndOffset;
    const hw = role.state.highWatermark(role.hw, leo, log.logStartOffset, live, this.clock.now(), lag);
    const moved = hw > role.hw;
    if (moved) role.hw = hw;
    if (role.waiters.length > 0) {
      for (let i = role.waiters.length - 1; i >= 0; i--) {
        const w = role.waiters[i]!;
        const code = produceWaitCode(role, w.required);
        if (code !== undefined) {
          role.waiters.splice(i, 1);
          w.done(code);
        }
      }
    }
    if (moved) this.notify(topic, partition);
  }

  /** ISR shrink check of every led partition (every replica.lag.time.max.ms / 2). */
  private maybeShrinkIsrs(): void {
    if (!this.replication) return;
    const lag = this.config.int('replica.lag.time.max.ms');
    const now = this.clock.now();
    for (const [k, role] of this.roles) {
      if (role.kind !== 'leader' || role.isrInflight) continue;
      const [topic, p] = k.split('\u0000');
      const log = this.store.partition(topic!, Number(p));
      if (!log) continue;
      const out = role.state.outOfSync(log.logEndOffset, now, lag);
      if (out.length === 0) continue;
      const isr = role.state.isr.filter((b) => !out.includes(b));
      this.storageLog?.info({ topic, partition: Number(p), isr: role.state.isr, newIsr: isr, outOfSync: out }, 'shrinking the ISR');
      this.proposeIsr(topic!, Number(p), role, isr);
    }
  }

  private proposeIsr(topic: string, partition: number, role: LeaderRole, isr: number[]): void {
    role.isrInflight = true;
    this.isrChanged?.(isr.length < role.state.isr.length ? 'shrink' : 'expand');
    this.replication!.proposeIsr(topic, partition, role.leaderEpoch, isr).then(
      (ok) => {
        role.isrInflight = false;
        if (!ok || this.roles.get(key(topic, partition)) !== role) return;
        role.state.setIsr(isr);
        const log = this.store.partition(topic, partition);
        if (log) this.updateHighWatermark(topic, partition, log, role);
      },
      (err: Error) => {
        role.isrInflight = false;
        this.storageLog?.warn({ topic, partition, err: err.message }, 'ISR change failed; will retry');
      },
    );
  }

  /**
   * The leader's side of a follower Fetch (replica id >= 0): records the follower's position (its
   * fetch offset is its log end), moves the HW, proposes the follower for the ISR once it has
   * caught up, and reads up to the log end. Kafka's Partition.fetchRecords for followers.
   */
  private readForFollower(log: PartitionLog, role: LeaderRole, replicaId: number, offset: bigint, maxBytes: number, minOneBatch: boolean, lastFetchedEpoch: number): PartitionRead {
    const topic = log.topic;
    const partition = log.partition;
    const fail = (errorCode: number): PartitionRead => ({ errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: null, abortedTransactions: null });
    if (!role.state.replicas.includes(replicaId)) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const base = (): Omit<PartitionRead, 'errorCode' | 'records'> => ({ highWatermark: role.hw, lastStableOffset: this.lastStableOffset(log), logStartOffset: log.logStartOffset, abortedTransactions: null });
    const check = checkLastFetchedEpoch(lastFetchedEpoch, offset, (e) => {
      const r = this.endOffsetForEpoch(log, e);
      return { epoch: r.leaderEpoch, endOffset: r.endOffset };
    }, log.logStartOffset);
    if (check === 'OFFSET_OUT_OF_RANGE') return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, ...base(), records: null };
    if (check !== 'read') return { errorCode: ErrorCode.NONE, ...base(), records: { chunks: [], bytes: 0 }, divergingEpoch: check.diverging };
    const leo = log.logEndOffset;
    if (offset < log.logStartOffset || offset > leo) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, ...base(), records: null };
    let records: ReadResult;
    try {
      records = offset >= leo ? { chunks: [], bytes: 0 } : log.read(offset, maxBytes, minOneBatch, leo);
    } catch (err) {
      return fail(this.storageFailure(topic, partition, 'read', err));
    }
    const now = this.clock.now();
    role.state.recordFetch(replicaId, offset, leo, now);
    this.updateHighWatermark(topic, partition, log, role);
    if (!role.isrInflight && role.state.canJoinIsr(replicaId, role.hw, this.replication!.liveBrokers())) {
      const isr = [...role.state.isr, replicaId];
      this.storageLog?.info({ topic, partition, isr: role.state.isr, newIsr: isr }, 'expanding the ISR');
      this.proposeIsr(topic, partition, role, isr);
    }
    return { errorCode: ErrorCode.NONE, ...base(), records };
  }

  /**
   * Wakes the fetches parked on the partition once what was just appended is readable: at once
   * when it is in the files already, else from the log's written-end listener (registered once
   * per partition log, so an append adds no promise or closure of its own).
   */
  private notifyWhenWritten(log: PartitionLog, topic: string, partition: number): void {
    if (log.writtenEndOffset >= log.logEndOffset) {
      this.progress(topic, partition, log);
      return;
    }
    if (this.replication) return this.hookWrittenEnd(log, topic, partition);
    if (this.writtenHooks.has(log)) return;
    this.writtenHooks.add(log);
    log.onWrittenEnd(() => this.notify(topic, partition));
  }

  /**
   * Appends a COMMIT or ABORT marker for the producer (transaction coordinator only). Returns an
   * error code: UNKNOWN_TOPIC_OR_PARTITION for a partition that is gone (its transaction is over
   * with it), a fencing error for a stale producer or coordinator epoch.
   */
  writeTxnMarker(topic: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch: number): number {
    const log = this.store.partition(topic, partition);
    if (!log) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const notLeader = this.leaderError(topic, partition);
    if (notLeader !== ErrorCode.NONE) return notLeader;
    const fenced = log.producerState.checkMarker(producerId, producerEpoch, coordinatorEpoch);
    if (fenced !== ErrorCode.NONE) return fenced;
    const batch = encodeControlBatch({
      type: commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT,
      producerId,
      producerEpoch,
      coordinatorEpoch,
      timestamp: BigInt(this.clock.now()),
    });
    log.append([batch], { writeThrough: true });
    for (const l of this.markerListeners) l(topic, partition, producerId, commit);
    this.notifyWhenWritten(log, topic, partition);
    return ErrorCode.NONE;
  }

  /** Drops idle producers' state (producer.id.expiration.ms) from every partition. */
  expireProducers(): number {
    const ms = this.config.int('producer.id.expiration.ms');
    const now = this.clock.now();
    let n = 0;
    for (const t of this.store.listTopics()) {
      for (let p = 0; p < t.numPartitions; p++) n += this.store.partition(t.name, p)?.producerState.expire(now, ms) ?? 0;
    }
    return n;
  }

  /**
   * Retention on every partition (log.retention.check.interval.ms): data past retention.ms or
   * retention.bytes of topics whose cleanup.policy includes "delete" goes, the log start moves.
   * A partition that fails (disk error) is logged and skipped; the others go on. Returns bytes removed.
   */
  enforceRetention(): number {
    const now = this.clock.now();
    let bytes = 0;
    for (const t of this.store.listTopics()) {
      for (let p = 0; p < t.numPartitions; p++) {
        const log = this.store.partition(t.name, p);
        if (!log) continue;
        try {
          bytes += log.enforceRetention(now);
        } catch (err) {
          this.retentionErrors?.({ topic: t.name, partition: p, err });
        }
      }
    }
    return bytes;
  }

  /**
   * Log compaction on every partition whose cleanup.policy includes "compact": one pass each where
   * one is due (cleaner.ts), synchronously (tests and tools). The broker's timer uses
   * runCompaction(), which gives the event loop a turn between slices.
   */
  compactLogs(): Array<{ topic: string; partition: number; result: CompactionResult }> {
    const out: Array<{ topic: string; partition: number; result: CompactionResult }> = [];
    for (const { topic, partition, steps } of this.compactionPasses()) {
      try {
        for (;;) {
          const r = steps.next();
          if (r.done) {
            if (r.value.ran) out.push({ topic, partition, result: r.value });
            break;
          }
        }
      } catch (err) {
        this.retentionErrors?.({ topic, partition, err });
      }
    }
    return out;
  }

  private *compactionPasses(): Generator<{ topic: string; partition: number; steps: Generator<void, CompactionResult, void> }> {
    const now = this.clock.now();
    for (const t of this.store.listTopics()) {
      const policy = this.config.topicValue(t.configs, 'cleanup.policy') ?? 'delete';
      if (!cleanupPolicyIncludes(policy, 'compact')) continue;
      const cfg = this.compactionConfig(t.configs);
      for (let p = 0; p < t.numPartitions; p++) {
        const log = this.store.partition(t.name, p);
        if (log) yield { topic: t.name, partition: p, steps: log.compactSteps(now, cfg) };
      }
    }
  }

  /**
   * The cleaner's run: the partitions' passes one after another, each in slices of a few MiB with
   * a setImmediate between them, so produce and fetch requests are served during a pass (the
   * bench reports the event loop's delay). Resolves when every partition is done.
   */
  runCompaction(): Promise<void> {
    const passes = this.compactionPasses();
    return new Promise((resolve) => {
      let current: { topic: string; partition: number; steps: Generator<void, CompactionResult, void> } | undefined;
      const step = (): void => {
        for (;;) {
          if (this.closing) return resolve();
          if (current === undefined) {
            const next = passes.next();
            if (next.done) return resolve();
            current = next.value;
          }
          try {
            const r = current.steps.next();
            if (!r.done) {
              setImmediate(step);
              return;
            }
            if (r.value.ran) this.compactionDone?.(current.topic, current.partition, r.value);
          } catch (err) {
            this.retentionErrors?.({ topic: current.topic, partition: current.partition, err });
          }
          current = undefined;
        }
      };
      step();
    });
  }

  private compactionConfig(overrides: Record<string, string>): CompactionConfig {
    const num = (name: string, dflt: number): number => {
      const v = Number(this.config.topicValue(overrides, name));
      return Number.isFinite(v) ? Math.min(v, Number.MAX_SAFE_INTEGER) : dflt;
    };
    return {
      deleteRetentionMs: num('delete.retention.ms', DEFAULT_COMPACTION_CONFIG.deleteRetentionMs),
      minCompactionLagMs: num('min.compaction.lag.ms', DEFAULT_COMPACTION_CONFIG.minCompactionLagMs),
      maxCompactionLagMs: num('max.compaction.lag.ms', DEFAULT_COMPACTION_CONFIG.maxCompactionLagMs),
      minCleanableDirtyRatio: num('min.cleanable.dirty.ratio', DEFAULT_COMPACTION_CONFIG.minCleanableDirtyRatio),
      segmentIndexBytes: num('segment.index.bytes', DEFAULT_SEGMENT_INDEX_BYTES),
    };
  }

  private scheduleCompaction(): void {
    if (this.closing) return;
    const every = Number(this.config.get('log.cleaner.backoff.ms') ?? 15_000);
    this.cleanerTimer = this.clock.setTimeout(() => {
      this.cleanerTimer = undefined;
      // The next run is scheduled when this one is over: runs never overlap.
      void this.runCompaction().then(() => this.scheduleCompaction());
    }, every);
  }

  /** Told about every compaction pass (the broker logs them). */
  compactionDone: ((topic: string, partition: number, result: CompactionResult) => void) | undefined;

  /** Where retention failures are reported (the broker's logger). */
  retentionErrors: ((e: { topic: string; partition: number; err: unknown }) => void) | undefined;


  /**
   * Validates and appends one partition's records from a Produce request. `produceVersion`
   * decides version-dependent rules (zstd needs v7+); converted legacy message sets pass 3.
   */
  append(topic: string, partition: number, records: Buffer | null, produceVersion: number, transactionalId: string | null = null, acks = 1): ProduceResult {
    const meta = this.store.getTopic(topic);
    const log = meta ? this.store.partition(topic, partition) : undefined;
    if (!meta || !log) return failedProduce(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (this.replication) {
      const role = this.roles.get(key(topic, partition));
      if (role?.kind !== 'leader') return failedProduce(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      // Partition.appendRecordsToLeader: acks=-1 with the ISR below min.insync.replicas appends nothing.
      if (role.state.checkAppend(acks) === 'NOT_ENOUGH_REPLICAS') {
        return failedProduce(ErrorCode.NOT_ENOUGH_REPLICAS, `The size of the current ISR ${role.state.isr.length} is insufficient to satisfy the min.isr requirement of ${role.state.effectiveMinIsr} for partition ${topic}-${partition}`, log.logStartOffset);
      }
    }
    if (records === null || records.length === 0) {
      return failedProduce(ErrorCode.INVALID_RECORD, 'Produce request contained no records');
    }
    const maxBytes = Number(this.config.topicValue(meta.configs, 'max.message.bytes'));
    const v = validateRecords(records, { maxBatchBytes: maxBytes, apiVersion: produceVersion });
    if (!v.ok) return failedProduce(v.errorCode, v.message, log.logStartOffset);
    if (cleanupPolicyIncludes(this.config.topicValue(meta.configs, 'cleanup.policy') ?? 'delete', 'compact')) {
      // LogValidator: a compacted topic refuses records without a key.
      const keys = validateRecordKeys(v.batches, `${topic}-${partition}`);
      if (keys !== undefined) return failedProduce(keys.errorCode, keys.message, log.logStartOffset);
    }
    if (v.producerId >= 0n) {
      if (
        v.isTransactional &&
        this.verifier !== undefined &&
        transactionalId !== null &&
        !log.producerState.hasOpenTransaction(v.producerId) &&
        this.config.bool('transaction.partition.verification.enable')
      ) {
        const err = verificationError(this.verifier(transactionalId, v.producerId, v.producerEpoch, topic, partition), produceVersion);
        if (err !== ErrorCode.NONE) {
          return failedProduce(err, err === ErrorCode.INVALID_TXN_STATE ? 'Partition was not added to the transaction' : null, log.logStartOffset);
        }
      }
      const h = v.headers[0]!;
      const check = log.producerState.check({
        producerId: v.producerId,
        producerEpoch: v.producerEpoch,
        baseSequence: v.baseSequence,
        lastOffsetDelta: h.lastOffsetDelta,
        maxTimestamp: h.maxTimestamp,
        isTransactional: v.isTransactional,
        isControl: false,
      });
      if (check.kind === 'error') return failedProduce(check.errorCode, check.message, log.logStartOffset);
      if (check.kind === 'duplicate') {
        // A retry of a batch already in the log: answered as the first time, not appended again.
        const logAppendTime = this.config.topicValue(meta.configs, 'message.timestamp.type') === 'LogAppendTime';
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          baseOffset: check.firstOffset,
          logAppendTimeMs: logAppendTime ? check.timestamp : -1n,
          logStartOffset: log.logStartOffset,
        };
      }
    }
    // Views into the request frame: the file store keeps them queued until they are written (a
    // frame's memory is never reused), the memory store copies what it keeps. Offsets (and LogAppendTime) are patched into these bytes in place.
    const batches = v.batches;
    let logAppendTimeMs = -1n;
    if (this.config.topicValue(meta.configs, 'message.timestamp.type') === 'LogAppendTime') {
      logAppendTimeMs = BigInt(this.clock.now());
      for (const b of batches) stampLogAppendTime(b, logAppendTimeMs);
    } else {
      for (const b of batches) repairMaxTimestamp(b);
    }
    let info: ReturnType<PartitionLog['append']>;
    try {
      info = log.append(batches);
    } catch (err) {
      // The store leaves no part of a failed batch behind: the producer may retry.
      return failedProduce(this.storageFailure(topic, partition, 'append', err), (err as Error)?.message ?? null, log.logStartOffset);
    }
    this.storageOk(topic, partition, 'append');
    this.notifyWhenWritten(log, topic, partition);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      baseOffset: info.baseOffset,
      logAppendTimeMs,
      logStartOffset: info.logStartOffset,
      lastOffset: info.lastOffset,
    };
  }

  /**
   * For a successful produce with acks 1/-1: undefined when its answer may go at once (everything
   * appended to the partition is in its files: memory store, or the write was quick), else a
   * promise of the partition's outcome once the append is stored: written to the log files (the
   * page cache, as Kafka answers acks=1) or, for a topic with flush.messages=1 (Kafka's "fsync
   * before acknowledging"), fsynced. Both run off the event loop and are shared by the produces
   * that arrive meanwhile (one write, one fsync: group commit), so other connections and
   * partitions carry on. A failed write or fsync is KAFKA_STORAGE_ERROR (logged once, as
   * storageFailure does); the next produce tries again.
   */
  whenStored(topic: string, partition: number): Promise<{ errorCode: number; errorMessage: string | null }> | undefined {
    const log = this.store.partition(topic, partition);
    if (!log) return undefined;
    // flush.messages=1 (the topic's, else the broker's): the partition's effective config has it.
    const fsync = this.store.durable && log.config.flushIntervalMessages === 1;
    if (!fsync && log.writtenEndOffset >= log.logEndOffset) return undefined;
    // A failed write is logged as the failed append it is (one line per partition and error).
    const op = fsync ? 'fsync' : 'append';
    return (fsync ? log.whenDurable() : log.whenWritten()).then(
      () => {
        this.storageOk(topic, partition, op);
        return { errorCode: ErrorCode.NONE, errorMessage: null };
      },
      (err: unknown) => ({ errorCode: this.storageFailure(topic, partition, op, err), errorMessage: (err as Error)?.message ?? null }),
    );
  }

  /**
   * Reads one partition for Fetch. `maxBytes` is the budget left in the response; with
   * `minOneBatch` the first batch is returned whole even above the budget (KIP-74).
   */
  read(
    topic: string,
    partition: number,
    offset: bigint,
    maxBytes: number,
    minOneBatch: boolean,
    isolationLevel = READ_UNCOMMITTED,
    replicaId = -1,
    lastFetchedEpoch = -1,
    client?: FetchClient,
  ): PartitionRead {
    const log = this.store.partition(topic, partition);
    if (!log) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: null, abortedTransactions: null };
    }
    let preferred: number | undefined;
    if (this.replication) {
      const role = this.roles.get(key(topic, partition));
      // A consumer's Fetch v11+ may be answered by a follower (KIP-392), up to its high watermark.
      const servable = role?.kind === 'leader' || (role?.kind === 'follower' && replicaId < 0 && client?.followerReads === true);
      if (!servable) {
        return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: null, abortedTransactions: isolationLevel === READ_COMMITTED ? [] : null };
      }
      if (role.kind === 'leader' && replicaId >= 0) return this.readForFollower(log, role, replicaId, offset, maxBytes, minOneBatch, lastFetchedEpoch);
      if (role.kind === 'leader' && replicaId < 0 && client !== undefined && client.rack !== '') preferred = this.preferredReadReplica(role, client.rack, offset);
    }
    const hw = this.highWatermark(log);
    const lso = this.lastStableOffset(log);
    const committed = isolationLevel === READ_COMMITTED;
    const base = { highWatermark: hw, lastStableOffset: lso, logStartOffset: log.logStartOffset };
    // KIP-392: another replica serves this consumer; it is told which, and nothing is read here.
    if (preferred !== undefined) return { preferredReadReplica: preferred, errorCode: ErrorCode.NONE, ...base, records: null, abortedTransactions: committed ? [] : null };
    // Out of range below the log start or past the high watermark; in a cluster past the log end
    // only (a consumer may be ahead of a new leader's HW for a moment: it reads nothing meanwhile).
    if (offset < log.logStartOffset || offset > (this.replication ? log.logEndOffset : hw)) {
      return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, ...base, records: null, abortedTransactions: committed ? [] : null };
    }
    const limit = committed ? lso : hw;
    if (offset >= limit) return { errorCode: ErrorCode.NONE, ...base, records: { chunks: [], bytes: 0 }, abortedTransactions: committed ? [] : null };
    let records: ReadResult;
    try {
      records = log.read(offset, maxBytes, minOneBatch, limit);
    } catch (err) {
      // As Kafka's readFromLocalLog: the error, unknown offsets, no records.
      const errorCode = this.storageFailure(topic, partition, 'read', err);
      return { errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: null, abortedTransactions: committed ? [] : null };
    }
    this.storageOk(topic, partition, 'read');
    // Kafka bounds the aborted transactions by the end of what it read (at most the LSO).
    const aborted = committed && records.bytes > 0 ? log.producerState.abortedTransactions(offset, limit) : committed ? [] : null;
    return { errorCode: ErrorCode.NONE, ...base, records, abortedTransactions: aborted };
  }

  /**
   * KIP-392, Kafka's RackAwareReplicaSelector under replica.selector.class: for a consumer in
   * `rack`, the in-sync follower in that rack that has `offset` (the most caught up), unless the
   * leader is in that rack too or none is; undefined: the leader serves it.
   */
  private preferredReadReplica(role: LeaderRole, rack: string, offset: bigint): number | undefined {
    if (this.config.get('replica.selector.class') !== RACK_AWARE_SELECTOR || this.replication?.rackOf === undefined) return undefined;
    const rackOf = this.replication.rackOf;
    if (rackOf(this.replication.nodeId) === rack) return undefined;
    const isr = new Set(role.state.isr);
    let best: { id: number; leo: bigint; caughtUp: number } | undefined;
    for (const [id, f] of role.state.followers) {
      if (!isr.has(id) || f.leo < offset || rackOf(id) !== rack) continue;
      if (best === undefined || f.leo > best.leo || (f.leo === best.leo && f.lastCaughtUpTimeMs > best.caughtUp)) best = { id, leo: f.leo, caughtUp: f.lastCaughtUpTimeMs };
    }
    return best?.id;
  }

  /**
   * Resolves when any of the given partitions gets an append, after `timeoutMs`, at shutdown, or
   * when `signal` aborts (the Fetch's connection closed: nobody is left to answer, so its waiter
   * and timer go now instead of at the deadline). Kafka's purgatory keeps a DelayedFetch until it
   * completes or expires and then drops the answer; ending it at once means clients that time out
   * and reconnect cannot pile up waiters and timers for max_wait_ms each. The deadline is met on
   * the injected clock or in real time, whichever comes first: a ManualClock never advanced
   * cannot hold a client's Fetch (and so its consumer's disconnect) forever. Resolves true when
   * the deadline was reached.
   */
  waitForAppend(partitions: ReadonlyArray<readonly [string, number]>, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.closing || timeoutMs <= 0 || signal?.aborted) return Promise.resolve(timeoutMs <= 0);
    return new Promise((resolve) => {
      const keys = partitions.map(([t, p]) => key(t, p));
      let timer: { cancel(): void } | undefined;
      let timedOut = false;
      const wake = (): void => {
        timer?.cancel();
        for (const k of keys) {
          const set = this.waiters.get(k);
          set?.delete(wake);
          if (set?.size === 0) this.waiters.delete(k);
        }
        this.parked.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve(timedOut);
      };
      for (const k of keys) {
        let set = this.waiters.get(k);
        if (!set) this.waiters.set(k, (set = new Set()));
        set.add(wake);
      }
      this.parked.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
      timer = this.waitClock.setTimeout(() => {
        timedOut = true;
        wake();
      }, timeoutMs);
    });
  }

  /** Every parked long poll (woken at shutdown). */
  private readonly parked = new Set<() => void>();

  /** Long polls parked now (tests: none may outlive its connection). */
  get parkedFetches(): number {
    return this.parked.size;
  }

  /** acks=-1 produces waiting for the ISR (the produce purgatory). */
  get parkedProduces(): number {
    let n = 0;
    for (const role of this.roles.values()) if (role.kind === 'leader') n += role.waiters.length;
    return n;
  }

  /** Told of each ISR change a led partition proposes (metrics). */
  isrChanged: ((kind: 'shrink' | 'expand') => void) | undefined;

  /** Partitions with at least one parked long poll. */
  get parkedPartitions(): number {
    return this.waiters.size;
  }

  /** True once shutdown() ran: a long poll must answer now instead of parking again. */
  get isShuttingDown(): boolean {
    return this.closing;
  }

  private notify(topic: string, partition: number): void {
    const set = this.waiters.get(key(topic, partition));
    if (!set) return;
    for (const wake of [...set]) wake();
  }

  /** Wakes every parked Fetch so in-flight requests finish promptly at shutdown. */
  shutdown(): void {
    this.closing = true;
    for (const t of this.periodic.splice(0)) t.cancel();
    this.cleanerTimer?.cancel();
    this.cleanerTimer = undefined;
    for (const wake of [...this.parked]) wake();
    for (const role of this.roles.values()) if (role.kind === 'leader') for (const w of role.waiters.splice(0)) w.done(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  }

  // ---- storage faults (issue 8, robust storage) ----

  /** Where storage faults of partitions are logged (the broker's logger). */
  storageLog: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void } | undefined;
  /** Partitions (and operation) whose last attempt failed, with the error text logged for it. */
  private readonly faulted = new Map<string, string>();

  /**
   * The Kafka error for a store failure on one partition: a damaged batch is CORRUPT_MESSAGE,
   * a partition deleted meanwhile UNKNOWN_TOPIC_OR_PARTITION, anything else (ENOSPC, EIO, EMFILE,
   * a broken index) KAFKA_STORAGE_ERROR, as Kafka answers a KafkaStorageException. Only that
   * partition fails; the connection and the other partitions carry on. Logged once per partition,
   * operation and fault (not once per retry), and once more when it works again.
   */
  storageFailure(topic: string, partition: number, op: string, err: unknown): number {
    const code = (err as { code?: unknown })?.code;
    if (code === 'UNKNOWN_TOPIC_OR_PARTITION') return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const errorCode = code === 'CORRUPT_MESSAGE' ? ErrorCode.CORRUPT_MESSAGE : ErrorCode.KAFKA_STORAGE_ERROR;
    const message = (err as Error)?.message ?? String(err);
    const k = `${key(topic, partition)}\u0000${op}`;
    if (this.faulted.get(k) !== message) {
      this.faulted.set(k, message);
      const known = code === 'STORAGE_ERROR' || code === 'CORRUPT_MESSAGE' || (typeof code === 'string' && /^E[A-Z]+$/.test(code));
      this.storageLog?.warn(
        { topic, partition, op, errorCode: errorCode === ErrorCode.CORRUPT_MESSAGE ? 'CORRUPT_MESSAGE' : 'KAFKA_STORAGE_ERROR', err: message, stack: known ? undefined : (err as Error)?.stack },
        `${op} failed on ${topic}-${partition}: ${message}`,
      );
    }
    return errorCode;
  }

  /** Records a success after a logged failure of the same partition and operation. */
  storageOk(topic: string, partition: number, op: string): void {
    if (this.faulted.size === 0) return;
    if (this.faulted.delete(`${key(topic, partition)}\u0000${op}`)) this.storageLog?.info({ topic, partition, op }, `${op} works again on ${topic}-${partition}`);
  }

  // ---- DeleteRecords / OffsetForLeaderEpoch / log dirs (issue 8) ----

  /**
   * DeleteRecords on one partition, as Kafka's Partition.deleteRecordsOnLeader and
   * UnifiedLog.maybeIncrementLogStartOffset: POLICY_VIOLATION unless cleanup.policy includes
   * "delete"; offset -1 means the high watermark; a negative offset or one past the high watermark
   * is OFFSET_OUT_OF_RANGE; a smaller offset than the log start changes nothing. The low watermark
   * answered is the log start offset afterwards (one replica: nobody else to wait for, so
   * timeout_ms plays no part). Internal topics are the caller's check (Kafka refuses them with
   * INVALID_TOPIC_EXCEPTION after the existence check). A store failure is KAFKA_STORAGE_ERROR with
   * the error returned for logging.
   */
  deleteRecords(topic: string, partition: number, offset: bigint): { errorCode: number; lowWatermark: bigint; error?: unknown } {
    const meta = this.store.getTopic(topic);
    const log = meta ? this.store.partition(topic, partition) : undefined;
    if (!meta || !log) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1n };
    const policy = this.config.topicValue(meta.configs, 'cleanup.policy') ?? 'delete';
    if (!cleanupPolicyIncludes(policy, 'delete')) return { errorCode: ErrorCode.POLICY_VIOLATION, lowWatermark: -1n };
    const hw = this.highWatermark(log);
    const target = offset === -1n ? hw : offset;
    if (target < 0n || target > hw) return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1n };
    const before = log.logStartOffset;
    let lowWatermark: bigint;
    try {
      lowWatermark = log.deleteRecordsBefore(target);
    } catch (error) {
      const gone = (error as { code?: unknown }).code === 'UNKNOWN_TOPIC_OR_PARTITION';
      return { errorCode: gone ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.KAFKA_STORAGE_ERROR, lowWatermark: -1n, error: gone ? undefined : error };
    }
    // A long-poll Fetch parked below the new start answers OFFSET_OUT_OF_RANGE now, not at its deadline.
    if (lowWatermark > before) this.notify(topic, partition);
    return { errorCode: ErrorCode.NONE, lowWatermark };
  }

  /**
   * OffsetForLeaderEpoch's answer for one partition (the caller checks current_leader_epoch), by
   * Kafka's LeaderEpochFileCache.endOffsetFor over the partition's epoch history: -1 (undefined)
   * asks nothing; the current epoch ends at the log end offset; an older one ends where the next
   * higher known epoch starts, answered with the largest known epoch <= it, or with itself when it
   * is older than every known epoch (the data is gone: the end is the first known start); an
   * epoch above every known one is undefined. Undefined is -1/-1 with no error
   * (UnifiedLog.endOffsetForEpoch answers None, Partition leaves the defaults).
   */
  endOffsetForEpoch(log: PartitionLog, leaderEpoch: number): { leaderEpoch: number; endOffset: bigint } {
    const UNDEFINED = { leaderEpoch: -1, endOffset: -1n };
    if (leaderEpoch === -1) return UNDEFINED;
    const entries = log.leaderEpochEntries();
    const latest = entries[entries.length - 1];
    if (latest !== undefined && latest.epoch === leaderEpoch) return { leaderEpoch, endOffset: this.replication ? log.logEndOffset : this.highWatermark(log) };
    const higher = entries.findIndex((e) => e.epoch > leaderEpoch);
    if (higher < 0) return UNDEFINED;
    const floor = higher > 0 ? entries[higher - 1]! : undefined;
    return { leaderEpoch: floor?.epoch ?? leaderEpoch, endOffset: entries[higher]!.startOffset };
  }

  /**
   * DescribeLogDirs: the store's one log directory with the size of each partition in it (all of
   * them, or those in `wanted`; unknown ones are left out, as Kafka filters its logs by the set
   * asked for). In a cluster, the partitions this broker is a replica of (leader or follower);
   * a replica reassigned away is no longer listed. offset_lag is Kafka's
   * (ReplicaManager.getLogEndOffsetLag) for a replica that is not a future one: max(HW − LEO, 0)
   * of the local log, so 0 on a leader (HW <= LEO) and on a follower (its HW is the leader's capped
   * by its own LEO); is_future false (no replica moves between directories). An unreadable volume
   * is KAFKA_STORAGE_ERROR for the directory.
   */
  describeLogDirs(wanted: ReadonlyMap<string, ReadonlySet<number>> | null): LogDirDescription[] {
    let space: { totalBytes: bigint; usableBytes: bigint };
    try {
      space = this.store.logDirSpace();
    } catch {
      return [{ errorCode: ErrorCode.KAFKA_STORAGE_ERROR, logDir: this.store.logDir, totalBytes: -1n, usableBytes: -1n, topics: [] }];
    }
    const topics: LogDirDescription['topics'] = [];
    for (const t of this.store.listTopics()) {
      const want = wanted === null ? undefined : wanted.get(t.name);
      if (wanted !== null && want === undefined) continue;
      const partitions: LogDirDescription['topics'][number]['partitions'] = [];
      for (let p = 0; p < t.numPartitions; p++) {
        if (want !== undefined && !want.has(p)) continue;
        // In a cluster only the replicas this broker hosts (leader or follower) are its logs.
        if (this.replication !== undefined && !this.roles.has(key(t.name, p))) continue;
        const log = this.store.partition(t.name, p);
        if (!log) continue;
        const lag = this.highWatermark(log) - log.logEndOffset;
        partitions.push({ partitionIndex: p, partitionSize: BigInt(log.sizeInBytes()), offsetLag: lag > 0n ? lag : 0n, isFutureKey: false });
      }
      if (partitions.length > 0) topics.push({ name: t.name, partitions });
    }
    return [{ errorCode: ErrorCode.NONE, logDir: this.store.logDir, ...space, topics }];
  }
}

/** One log directory as DescribeLogDirs reports it (issue 8). */
export interface LogDirDescription {
  errorCode: number;
  logDir: string;
  totalBytes: bigint;
  usableBytes: bigint;
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; partitionSize: bigint; offsetLag: bigint; isFutureKey: boolean }> }>;
}

/** The answer of a parked acks=-1 produce now, or undefined while it must wait. */
function produceWaitCode(role: LeaderRole, lastOffset: bigint): number | undefined {
  const w = role.state.produceWait(lastOffset, role.hw);
  if (w === 'waiting') return undefined;
  return w === 'done' ? ErrorCode.NONE : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
