// The transaction coordinator (Kafka's TransactionCoordinator + TransactionStateManager, single
// node): producer ids and epochs per transactional id, Kafka's state machine
// (Empty -> Ongoing -> PrepareCommit/PrepareAbort -> CompleteCommit/CompleteAbort, with
// PrepareEpochFence for zombie fencing), durable in __transaction_state (txn-log.ts).
//
// Every operation on one transactional id runs in that id's serial queue. Each state change is
// written to the log before it takes effect in memory. Markers are written as soon as Prepare* is
// durable, and Complete* once every partition has its marker. On a single node the markers are
// local and synchronous, so all of it happens before EndTxn is answered. In a cluster markers for
// partitions led by other brokers travel as WriteTxnMarkers requests (the writer answers with a
// promise): EndTxn is then answered once Prepare* is durable, as Kafka does, and the markers are
// retried with a back-off, outside the id's queue, until each partition has its marker or is
// gone; only then is Complete* written. Until then the transaction stays Prepare* and the next
// AddPartitionsToTxn/InitProducerId answer CONCURRENT_TRANSACTIONS (clients retry it). A local
// marker that fails (disk error) leaves the transaction in Prepare*; the periodic check retries
// it, and recovery at start completes every Prepare* transaction found in the log (kill -9
// between the two writes).
//
// Ownership: a single node serves every transactional id, loaded at construction. A cluster
// broker creates the coordinator with ownership 'explicit' and serves only the ids of the
// __transaction_state partitions it leads (onElection(partition, leaderEpoch) loads them and
// completes Prepare* transactions; onResignation drops them): other ids answer NOT_COORDINATOR,
// ids of a partition still loading COORDINATOR_LOAD_IN_PROGRESS. Markers carry the partition's
// leader epoch as coordinator epoch (0 on a single node).
//
// Errors follow Kafka (apache/kafka TransactionCoordinator, KafkaApis): unknown transactional id
// or producer id mismatch -> INVALID_PRODUCER_ID_MAPPING; epoch mismatch -> PRODUCER_FENCED
// (INVALID_PRODUCER_EPOCH for the request versions that predate it, mapped by the handlers);
// Prepare* -> CONCURRENT_TRANSACTIONS; InitProducerId of an Ongoing transaction fences it (epoch
// + 1), aborts it and answers CONCURRENT_TRANSACTIONS so the client retries.

import { ErrorCode, errorName } from '../../protocol/errors.js';
import { every, realTimeBounded, type Clock, type Timer } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { coordinatorWriteError } from '../group/coordinator-errors.js';
import { SerialQueues } from '../group/serial-queue.js';
import type { ProducerIdManager } from './producer-ids.js';
import {
  VALID_PREVIOUS,
  type DescribedTxn,
  type InitProducerIdInput,
  type InitProducerIdResult,
  type ListedTxn,
  type MarkerWriter,
  type TxnMetadata,
  type TxnPartitions,
  type TxnPersistence,
  type TxnState,
} from './types.js';

const NONE = ErrorCode.NONE;
/** An epoch at or above this is exhausted: the next bump rotates the producer id (Kafka: Short.MAX - 1). */
const MAX_EPOCH = 32766;
/** Fencing bumps the epoch unless it is already Short.MAX (Kafka's prepareFenceProducerEpoch). */
const SHORT_MAX = 32767;

function fencedEpoch(epoch: number): number {
  return epoch < SHORT_MAX ? epoch + 1 : epoch;
}
/**
 * The coordinator epoch of markers when every partition is owned (a single node); with explicit
 * ownership it is the epoch given to onElection (the __transaction_state leader epoch).
 */
const COORDINATOR_EPOCH = 0;

/** Back-off before a marker round sends its failed markers again (Kafka: retry.backoff.ms, 100), doubling up to the max. */
const MARKER_BACKOFF_MS = 100;
const MARKER_BACKOFF_MAX_MS = 1000;

/** Markers of one Prepare* transaction being sent (see completeTransaction). */
interface MarkerRound {
  m: TxnMetadata;
  coordinatorEpoch: number;
  /** Retries so far (the back-off grows with it). */
  attempt: number;
  cancelled: boolean;
  timer: Timer | undefined;
}

/**
 * What a marker answer means for its partition (Kafka's TransactionMarkerRequestCompletion
 * Handler): 'done' (written; or the partition gone, the marker fenced by a newer producer or
 * coordinator epoch, or not possible in its format: nothing more to do there), else 'retry'
 * (no leader here, not enough replicas, a timeout, a storage error, anything unexpected).
 */
export function markerOutcome(code: number): 'done' | 'retry' {
  switch (code) {
    case ErrorCode.NONE:
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.INVALID_PRODUCER_EPOCH:
    case ErrorCode.TRANSACTION_COORDINATOR_FENCED:
    case ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case ErrorCode.UNSUPPORTED_VERSION:
      return 'done';
    default:
      return 'retry';
  }
}

export interface TxnCoordinatorConfig {
  transactionMaxTimeoutMs: number;
  transactionalIdExpirationMs: number;
  abortTimedOutIntervalMs: number;
  removeExpiredIntervalMs: number;
}

export interface TxnCoordinatorOptions {
  clock: Clock;
  logger: Logger;
  persistence: TxnPersistence;
  producerIds: ProducerIdManager;
  markers: MarkerWriter;
  config: TxnCoordinatorConfig;
  /** Whether a topic partition exists (AddPartitionsToTxn answers UNKNOWN_TOPIC_OR_PARTITION). */
  partitionExists: (topic: string, partition: number) => boolean;
  /** The __consumer_offsets partition of a group (created if needed), for AddOffsetsToTxn. */
  offsetsPartition: (groupId: string) => { topic: string; partition: number };
  /**
   * Cluster mode: resolves (NONE, or the error) once the id's __transaction_state partition has
   * replicated what was written to it so far. Markers of a Prepare* transaction go out only after
   * it (Kafka appends the transaction log with acks=-1 before sending markers), so a coordinator
   * that dies first never leaves markers out for a decision its successor cannot see.
   */
  stateReplicated?: (transactionalId: string) => Promise<number>;
  /**
   * Which __transaction_state partitions this coordinator serves. 'all' (default, a single
   * node): every partition, everything loaded at construction. 'explicit' (a cluster): none
   * until onElection(partition, epoch) loads one; onResignation(partition) unloads it. Requests
   * for a transactional id of a partition not owned answer NOT_COORDINATOR. Needs
   * `persistence.loadPartition` and a partition function (`partitionFor`, else the persistence's).
   */
  ownership?: 'all' | 'explicit';
  /** The __transaction_state partition of a transactional id (default: persistence.partitionFor). */
  partitionFor?: (transactionalId: string) => number;
  /**
   * Timers of marker retries (default: the clock, bounded by real time, so a ManualClock that is
   * not advanced does not hold markers back).
   */
  retryClock?: Clock;
  /** First back-off of a marker retry (default 100 ms), doubling up to `markerRetryBackoffMaxMs` (default 1000). */
  markerRetryBackoffMs?: number;
  markerRetryBackoffMaxMs?: number;
}

/** What handlers call. */
export type TxnCoordinatorApi = Pick<
  TransactionCoordinator,
  'initProducerId' | 'addPartitions' | 'addOffsets' | 'verifyPartitions' | 'verifyOffsets' | 'endTxn' | 'describe' | 'list'
>;

export interface AddPartitionsResult {
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }>;
}

function copyPartitions(m: Map<string, Set<number>>): Map<string, Set<number>> {
  return new Map([...m].map(([t, s]) => [t, new Set(s)]));
}

function listPartitions(m: Map<string, Set<number>>): TxnPartitions[] {
  return [...m].map(([topic, s]) => ({ topic, partitions: [...s].sort((a, b) => a - b) }));
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TxnMetadata>();
  private readonly queues = new SerialQueues();
  /** The timeout-abort and expiry checks (one run per interval, like Kafka's scheduler). */
  private readonly periodic: Timer[] = [];
  private closed = false;
  /** Explicit ownership: only ids of the partitions in `owned` are served. */
  private readonly explicit: boolean;
  private readonly partitionOf: ((transactionalId: string) => number) | undefined;
  private readonly owned = new Set<number>();
  private readonly loading = new Set<number>();
  /** Coordinator (leader) epoch per partition: markers carry it; older elections are ignored. */
  private readonly epochs = new Map<number, number>();
  /** Marker rounds in flight (asynchronous writers), by transactional id. */
  private readonly rounds = new Map<string, MarkerRound>();
  private readonly retryClock: Clock;
  private readonly markerBackoffMs: number;
  private readonly markerBackoffMaxMs: number;

  constructor(private readonly opts: TxnCoordinatorOptions) {
    this.explicit = opts.ownership === 'explicit';
    this.retryClock = opts.retryClock ?? realTimeBounded(opts.clock);
    this.markerBackoffMs = Math.max(1, opts.markerRetryBackoffMs ?? MARKER_BACKOFF_MS);
    this.markerBackoffMaxMs = Math.max(this.markerBackoffMs, opts.markerRetryBackoffMaxMs ?? MARKER_BACKOFF_MAX_MS);
    this.partitionOf = opts.partitionFor ?? opts.persistence.partitionFor?.bind(opts.persistence);
    if (this.explicit) {
      if (this.partitionOf === undefined) throw new Error('explicit ownership needs partitionFor');
      if (opts.persistence.loadPartition === undefined) throw new Error('explicit ownership needs a persistence with loadPartition');
    } else {
      for (const m of opts.persistence.load()) this.txns.set(m.transactionalId, m);
      // Transactions that were deciding when the broker stopped get their markers now.
      for (const m of this.txns.values()) {
        if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') this.completeTransaction(m);
      }
    }
    const { clock, config, logger } = opts;
    this.periodic.push(
      every(clock, () => config.abortTimedOutIntervalMs, () => {
        this.abortTimedOutTransactions().catch((err: unknown) => logger.error({ err }, 'aborting timed-out transactions failed'));
      }),
      every(clock, () => config.removeExpiredIntervalMs, () => {
        this.expireTransactionalIds().catch((err: unknown) => logger.error({ err }, 'expiring transactional ids failed'));
      }),
    );
  }

  private get now(): number {
    return this.opts.clock.now();
  }

  close(): void {
    this.closed = true;
    for (const t of this.periodic.splice(0)) t.cancel();
    for (const r of [...this.rounds.values()]) this.cancelRound(r);
  }

  /** A copy of a transactional id's state (tests, DescribeTransactions). */
  get(transactionalId: string): TxnMetadata | undefined {
    const m = this.txns.get(transactionalId);
    return m === undefined ? undefined : { ...m, partitions: copyPartitions(m.partitions) };
  }

  // ---------------------------------------------------------------- transitions

  /**
   * Moves `m` to `next` durably: the new state is written first and replaces `m` only once the
   * write succeeded. Throws (an illegal transition is a bug; a write error is the caller's).
   * PrepareEpochFence is transient, as in Kafka: it is neither written nor kept, only handed to
   * the PrepareAbort that follows, so a failed abort write leaves the transaction Ongoing at its
   * old epoch, to be fenced again by the next InitProducerId or timeout check.
   */
  private transition(m: TxnMetadata, next: TxnState, change: Partial<TxnMetadata> = {}): TxnMetadata {
    if (!VALID_PREVIOUS[next].includes(m.state)) {
      throw new Error(`illegal transaction state transition ${m.state} -> ${next} for ${m.transactionalId}`);
    }
    const updated: TxnMetadata = { ...m, partitions: copyPartitions(m.partitions), ...change, state: next, txnLastUpdateTimestamp: this.now };
    if (next === 'PrepareEpochFence') return updated;
    this.opts.persistence.store(updated);
    this.txns.set(updated.transactionalId, updated);
    return updated;
  }

  /** Runs `fn` in the id's queue; an unexpected throw (disk) becomes COORDINATOR_NOT_AVAILABLE. */
  private run<T>(id: string, fail: (code: number) => T, fn: () => T): Promise<T> {
    if (this.closed) return Promise.resolve(fail(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    return this.queues.run(id, () => {
      if (this.closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      try {
        return fn();
      } catch (err) {
        this.opts.logger.warn({ err, transactionalId: id }, 'transaction coordinator operation failed');
        return fail(coordinatorWriteError(err));
      }
    });
  }

  // ---------------------------------------------------------------- InitProducerId

  initProducerId(input: InitProducerIdInput): Promise<InitProducerIdResult> {
    const fail = (errorCode: number): InitProducerIdResult => ({ errorCode, producerId: -1n, producerEpoch: -1 });
    const id = input.transactionalId;
    if (id === null) {
      // Idempotent producer: a fresh id at epoch 0; the timeout is not looked at (Java sends
      // Integer.MAX_VALUE).
      if (this.closed) return Promise.resolve(fail(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      try {
        return Promise.resolve({ errorCode: NONE, producerId: this.opts.producerIds.next(), producerEpoch: 0 });
      } catch (err) {
        this.opts.logger.warn({ err }, 'producer id allocation failed');
        return Promise.resolve(fail(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      }
    }
    if (id === '') return Promise.resolve(fail(ErrorCode.INVALID_REQUEST));
    if (input.transactionTimeoutMs <= 0 || input.transactionTimeoutMs > this.opts.config.transactionMaxTimeoutMs) {
      return Promise.resolve(fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT));
    }
    if ((input.producerId < 0n) !== (input.producerEpoch < 0)) return Promise.resolve(fail(ErrorCode.INVALID_REQUEST));
    const expected = input.producerId >= 0n ? { producerId: input.producerId, producerEpoch: input.producerEpoch } : undefined;
    return this.run(id, fail, () => {
      const owner = this.ownership(id);
      if (owner !== NONE) return fail(owner);
      let m = this.txns.get(id);
      if (m === undefined) {
        m = {
          transactionalId: id,
          producerId: this.opts.producerIds.next(),
          previousProducerId: -1n,
          producerEpoch: -1,
          lastProducerEpoch: -1,
          txnTimeoutMs: input.transactionTimeoutMs,
          state: 'Empty',
          partitions: new Map(),
          txnStartTimestamp: -1,
          txnLastUpdateTimestamp: this.now,
        };
      }
      if (expected !== undefined) {
        const ok =
          m.producerEpoch === -1 ||
          expected.producerId === m.producerId ||
          (expected.producerId === m.previousProducerId && expected.producerEpoch >= MAX_EPOCH);
        if (!ok) return fail(ErrorCode.PRODUCER_FENCED);
      }
      switch (m.state) {
        case 'PrepareCommit':
        case 'PrepareAbort':
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
        case 'Ongoing': {
          // Fence the zombie (epoch + 1) and abort its transaction; the client retries.
          const fenced = this.transition(m, 'PrepareEpochFence', { producerEpoch: fencedEpoch(m.producerEpoch), lastProducerEpoch: -1 });
          this.endTransaction(fenced, false);
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
        }
        case 'Empty':
        case 'CompleteCommit':
        case 'CompleteAbort': {
          let producerId = m.producerId;
          let previousProducerId = m.previousProducerId;
          let epoch: number;
          let lastEpoch: number;
          if (m.producerEpoch >= MAX_EPOCH && (expected === undefined || expected.producerEpoch === m.producerEpoch)) {
            previousProducerId = m.producerId;
            producerId = this.opts.producerIds.next();
            lastEpoch = expected !== undefined ? m.producerEpoch : -1;
            epoch = 0;
          } else if (expected === undefined) {
            epoch = m.producerEpoch + 1;
            lastEpoch = -1;
          } else if (m.producerEpoch === -1 || expected.producerEpoch === m.producerEpoch) {
            epoch = m.producerEpoch + 1;
            lastEpoch = m.producerEpoch;
          } else if (expected.producerEpoch === m.lastProducerEpoch) {
            // A retry of a bump that already happened: same answer again.
            epoch = m.producerEpoch;
            lastEpoch = m.lastProducerEpoch;
          } else {
            return fail(ErrorCode.PRODUCER_FENCED);
          }
          const next = this.transition(this.txns.has(id) ? m : { ...m, state: 'Empty' }, 'Empty', {
            producerId,
            previousProducerId,
            producerEpoch: epoch,
            lastProducerEpoch: lastEpoch,
            txnTimeoutMs: input.transactionTimeoutMs,
            partitions: new Map(),
            txnStartTimestamp: -1,
          });
          return { errorCode: NONE, producerId: next.producerId, producerEpoch: next.producerEpoch };
        }
        default:
          return fail(ErrorCode.INVALID_TXN_STATE);
      }
    });
  }

  // ---------------------------------------------------------------- AddPartitionsToTxn / AddOffsetsToTxn

  /** Common validation of an operation by (id, producer id, epoch): an error code or the metadata. */
  private validate(id: string, producerId: bigint, producerEpoch: number): TxnMetadata | number {
    if (id === '') return ErrorCode.INVALID_REQUEST;
    const owner = this.ownership(id);
    if (owner !== NONE) return owner;
    const m = this.txns.get(id);
    if (m === undefined || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (m.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    return m;
  }

  addPartitions(id: string, producerId: bigint, producerEpoch: number, topics: Array<{ name: string; partitions: number[] }>): Promise<AddPartitionsResult> {
    const all = (errorCode: number): AddPartitionsResult => ({
      topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p, errorCode })) })),
    });
    // Unknown partitions fail and the others are not attempted (Kafka's KafkaApis).
    const unknown = topics.some((t) => t.partitions.some((p) => !this.opts.partitionExists(t.name, p)));
    if (unknown) {
      return Promise.resolve({
        topics: topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p,
            errorCode: this.opts.partitionExists(t.name, p) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          })),
        })),
      });
    }
    return this.run(id, all, () => all(this.doAddPartitions(id, producerId, producerEpoch, topics)));
  }

  private doAddPartitions(id: string, producerId: bigint, producerEpoch: number, topics: Array<{ name: string; partitions: number[] }>): number {
    const m = this.validate(id, producerId, producerEpoch);
    if (typeof m === 'number') return m;
    if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (m.state !== 'Ongoing' && m.state !== 'Empty' && m.state !== 'CompleteCommit' && m.state !== 'CompleteAbort') return ErrorCode.INVALID_TXN_STATE;
    const partitions = m.state === 'Ongoing' ? copyPartitions(m.partitions) : new Map<string, Set<number>>();
    let added = false;
    for (const t of topics) {
      let set = partitions.get(t.name);
      for (const p of t.partitions) {
        if (set?.has(p)) continue;
        if (set === undefined) partitions.set(t.name, (set = new Set()));
        set.add(p);
        added = true;
      }
    }
    if (m.state === 'Ongoing' && !added) return NONE;
    this.transition(m, 'Ongoing', {
      partitions,
      txnStartTimestamp: m.state === 'Ongoing' ? m.txnStartTimestamp : this.now,
    });
    return NONE;
  }

  /** AddOffsetsToTxn: adds the group's __consumer_offsets partition to the transaction. */
  addOffsets(id: string, producerId: bigint, producerEpoch: number, groupId: string): Promise<number> {
    let tp: { topic: string; partition: number };
    try {
      tp = this.opts.offsetsPartition(groupId);
    } catch (err) {
      this.opts.logger.warn({ err, groupId }, 'offsets topic unavailable for AddOffsetsToTxn');
      return Promise.resolve(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    return this.run(id, (c) => c, () => this.doAddPartitions(id, producerId, producerEpoch, [{ name: tp.topic, partitions: [tp.partition] }]));
  }

  /**
   * AddPartitionsToTxn v4+ verify_only, and the produce path's KIP-890 check: per partition NONE
   * if it is in the producer's ongoing transaction, else TRANSACTION_ABORTABLE; id/producer
   * errors apply to every partition.
   */
  verifyPartitions(id: string, producerId: bigint, producerEpoch: number, topics: Array<{ name: string; partitions: number[] }>): AddPartitionsResult {
    const per = (f: (topic: string, p: number) => number): AddPartitionsResult => ({
      topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p, errorCode: f(t.name, p) })) })),
    });
    const m = this.validate(id, producerId, producerEpoch);
    if (typeof m === 'number') return per(() => m);
    if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') return per(() => ErrorCode.CONCURRENT_TRANSACTIONS);
    return per((t, p) => (m.state === 'Ongoing' && m.partitions.get(t)?.has(p) ? NONE : ErrorCode.TRANSACTION_ABORTABLE));
  }

  /** TxnOffsetCommit's check: the group's offsets partition must be in the ongoing transaction. */
  verifyOffsets(id: string, producerId: bigint, producerEpoch: number, groupId: string): number {
    if (!this.servesLocally(id)) return NONE;
    let tp: { topic: string; partition: number };
    try {
      tp = this.opts.offsetsPartition(groupId);
    } catch {
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    return this.verifyPartitions(id, producerId, producerEpoch, [{ name: tp.topic, partitions: [tp.partition] }]).topics[0]!.partitions[0]!.errorCode;
  }

  /** One partition's verification (synchronous: the produce path calls it inline). */
  verifyPartition(id: string | null, producerId: bigint, producerEpoch: number, topic: string, partition: number): number {
    if (id === null) return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    if (!this.servesLocally(id)) return NONE;
    return this.verifyPartitions(id, producerId, producerEpoch, [{ name: topic, partitions: [partition] }]).topics[0]!.partitions[0]!.errorCode;
  }

  /**
   * In a cluster an id's coordinator may be another broker: the produce path's and
   * TxnOffsetCommit's KIP-890 checks are then skipped (as in Kafka before 3.6), not answered
   * NOT_COORDINATOR, which clients would retry for ever. Asking the owner (AddPartitionsToTxn
   * verify_only) is not implemented.
   */
  private servesLocally(id: string): boolean {
    if (!this.explicit) return true;
    const p = this.partitionOf!(id);
    return this.owned.has(p) || this.loading.has(p);
  }

  // ---------------------------------------------------------------- EndTxn

  endTxn(id: string, producerId: bigint, producerEpoch: number, commit: boolean): Promise<number> {
    return this.run(id, (c) => c, () => {
      const m = this.validate(id, producerId, producerEpoch);
      if (typeof m === 'number') return m;
      switch (m.state) {
        case 'Ongoing':
          return this.endTransaction(m, commit);
        case 'PrepareCommit':
        case 'PrepareAbort':
          // Markers still being written (a retry after a failure): Kafka has a pending Complete*
          // here and answers CONCURRENT_TRANSACTIONS whichever decision is asked for.
          return ErrorCode.CONCURRENT_TRANSACTIONS;
        case 'CompleteCommit':
          return commit ? NONE : ErrorCode.INVALID_TXN_STATE;
        case 'CompleteAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : NONE;
        default:
          return ErrorCode.INVALID_TXN_STATE;
      }
    });
  }

  /**
   * Ongoing/PrepareEpochFence -> Prepare* (durable) -> markers -> Complete*. Once Prepare* is
   * written the decision stands: the answer is NONE even if markers or Complete* must be retried.
   */
  private endTransaction(m: TxnMetadata, commit: boolean): number {
    const prepared = this.transition(m, commit ? 'PrepareCommit' : 'PrepareAbort');
    this.completeTransaction(prepared);
    return NONE;
  }

  /**
   * Writes the markers of a Prepare* transaction to each of its partitions and, when every one is
   * done with, Complete*. A partition is done with once its marker is written, or when it is gone
   * (UNKNOWN_TOPIC_OR_PARTITION: the writer answers it only for a partition that no longer
   * exists), or fences the marker (a stale producer or coordinator epoch: logged), or cannot take
   * one (UNSUPPORTED_*). A local writer answers synchronously: all of it then happens here, in
   * the caller's queue task, and a throw (disk error) leaves the transaction in Prepare* for the
   * periodic check to retry. A writer that answers with a promise (markers sent to other
   * brokers) makes this a marker round that runs outside the id's queue: partitions answered
   * with a retriable error (NOT_LEADER_OR_FOLLOWER, a timeout, a connection error...) are sent
   * again after a back-off until they are done, and Complete* is written (in the queue) only
   * then. Meanwhile the transaction stays Prepare*, so AddPartitionsToTxn, AddOffsetsToTxn,
   * InitProducerId and EndTxn answer CONCURRENT_TRANSACTIONS (Kafka's TransactionMarkerChannel
   * Manager behaves the same way).
   */
  private completeTransaction(m: TxnMetadata): void {
    if (this.rounds.has(m.transactionalId)) return; // markers already on their way
    const round: MarkerRound = { m, coordinatorEpoch: this.coordinatorEpoch(m.transactionalId), attempt: 0, cancelled: false, timer: undefined };
    const targets: Array<[string, number]> = [];
    for (const [topic, parts] of m.partitions) for (const p of parts) targets.push([topic, p]);
    const gate = this.opts.stateReplicated?.(m.transactionalId);
    if (gate === undefined) {
      this.sendMarkers(round, targets);
      return;
    }
    // Cluster mode: the Prepare* record must be on the ISR first; until then the round is held
    // (the periodic check starts none of its own), and a failed wait leaves the transaction in
    // Prepare* for the periodic check to try again.
    this.rounds.set(m.transactionalId, round);
    void gate.then(
      (code) => {
        if (round.cancelled || this.closed) return;
        if (code === NONE) return this.sendMarkers(round, targets);
        this.opts.logger.warn({ transactionalId: m.transactionalId, errorCode: code, errorName: errorName(code) }, 'transaction state not replicated; markers wait for the periodic retry');
        this.cancelRound(round);
      },
      () => this.cancelRound(round),
    );
  }

  /** One attempt of a marker round on `targets` (see completeTransaction). */
  private sendMarkers(round: MarkerRound, targets: Array<[string, number]>): void {
    const { m } = round;
    const id = m.transactionalId;
    const commit = m.state === 'PrepareCommit';
    const retry: Array<[string, number]> = [];
    const waiting: Array<Promise<void>> = [];
    const settle = (topic: string, p: number, code: number): void => {
      if (markerOutcome(code) === 'retry') {
        retry.push([topic, p]);
        const log = round.attempt === 0 ? this.opts.logger.info.bind(this.opts.logger) : this.opts.logger.debug.bind(this.opts.logger);
        log({ transactionalId: id, topic, partition: p, errorCode: code, errorName: errorName(code), attempt: round.attempt }, 'transaction marker not written yet; retrying');
      } else if (code !== NONE && code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        this.opts.logger.warn({ transactionalId: id, topic, partition: p, errorCode: code, errorName: errorName(code) }, 'transaction marker refused');
      }
    };
    for (const [topic, p] of targets) {
      let result: number | Promise<number>;
      try {
        result = this.opts.markers.writeTxnMarker(topic, p, m.producerId, m.producerEpoch, commit, round.coordinatorEpoch);
      } catch (err) {
        // A local write failed (disk): the periodic check starts over.
        this.opts.logger.warn({ err, transactionalId: id, topic, partition: p }, 'writing a transaction marker failed; will retry');
        this.cancelRound(round);
        return;
      }
      if (typeof result === 'number') {
        settle(topic, p, result);
        continue;
      }
      waiting.push(
        result.then(
          (code) => settle(topic, p, code),
          (err: unknown) => {
            retry.push([topic, p]);
            const log = round.attempt === 0 ? this.opts.logger.info.bind(this.opts.logger) : this.opts.logger.debug.bind(this.opts.logger);
            log({ transactionalId: id, topic, partition: p, err: err instanceof Error ? err.message : String(err), attempt: round.attempt }, 'sending a transaction marker failed; retrying');
          },
        ),
      );
    }
    if (waiting.length === 0 && retry.length === 0) {
      // Everything answered synchronously: completes now, inside the caller's queue task.
      this.finishRound(round);
      return;
    }
    this.rounds.set(id, round);
    void Promise.all(waiting).then(() => {
      if (round.cancelled || this.closed) return;
      if (retry.length > 0) {
        const delay = Math.min(this.markerBackoffMaxMs, this.markerBackoffMs * 2 ** Math.min(round.attempt, 16));
        round.attempt++;
        round.timer = this.retryClock.setTimeout(() => {
          round.timer = undefined;
          if (!round.cancelled && !this.closed) this.sendMarkers(round, retry);
        }, delay);
        return;
      }
      this.run(id, () => undefined, () => {
        if (!round.cancelled) this.finishRound(round);
      }).catch((err: unknown) => this.opts.logger.error({ err, transactionalId: id }, 'completing a transaction failed'));
    });
  }

  /**
   * Every marker of the round is done with: Complete* is written, if the transaction is still the
   * one the round started from and this coordinator still serves it at the round's epoch (else a
   * newer coordinator completes it). A write error leaves it in Prepare* for the periodic check.
   */
  private finishRound(round: MarkerRound): void {
    const { m } = round;
    const id = m.transactionalId;
    if (this.rounds.get(id) === round) this.rounds.delete(id);
    if (this.txns.get(id) !== m || this.ownership(id) !== NONE || this.coordinatorEpoch(id) !== round.coordinatorEpoch) return;
    try {
      this.transition(m, m.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort', { partitions: new Map() });
    } catch (err) {
      this.opts.logger.warn({ err, transactionalId: id }, 'writing the transaction completion failed; will retry');
    }
  }

  /** Stops a marker round (its answers still in flight are ignored). */
  private cancelRound(round: MarkerRound): void {
    round.cancelled = true;
    round.timer?.cancel();
    round.timer = undefined;
    if (this.rounds.get(round.m.transactionalId) === round) this.rounds.delete(round.m.transactionalId);
  }

  /** Whether markers of `transactionalId` are being sent (tests). */
  markersInFlight(transactionalId: string): boolean {
    return this.rounds.has(transactionalId);
  }

  // ---------------------------------------------------------------- timers

  /**
   * Aborts Ongoing transactions past their timeout (fencing the producer with epoch + 1) and
   * retries the markers of Prepare* transactions. Returns how many were aborted.
   */
  async abortTimedOutTransactions(): Promise<number> {
    const now = this.now;
    const due: string[] = [];
    for (const m of this.txns.values()) {
      if ((m.state === 'Ongoing' && m.txnStartTimestamp + m.txnTimeoutMs < now) || m.state === 'PrepareCommit' || m.state === 'PrepareAbort') {
        due.push(m.transactionalId);
      }
    }
    let aborted = 0;
    await Promise.all(
      due.map((id) =>
        this.run(id, () => undefined, () => {
          const m = this.txns.get(id);
          if (m === undefined || this.ownership(id) !== NONE) return;
          if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') {
            this.completeTransaction(m);
          } else if (m.state === 'Ongoing' && m.txnStartTimestamp + m.txnTimeoutMs < this.now) {
            this.opts.logger.info({ transactionalId: id, producerId: m.producerId, timeoutMs: m.txnTimeoutMs }, 'aborting a transaction past its timeout');
            const fenced = this.transition(m, 'PrepareEpochFence', { producerEpoch: fencedEpoch(m.producerEpoch), lastProducerEpoch: -1 });
            this.endTransaction(fenced, false);
            aborted++;
          }
        }),
      ),
    );
    return aborted;
  }

  /** Removes transactional ids idle past transactional.id.expiration.ms. Returns how many. */
  async expireTransactionalIds(): Promise<number> {
    const cutoff = this.now - this.opts.config.transactionalIdExpirationMs;
    const due = [...this.txns.values()]
      .filter((m) => (m.state === 'Empty' || m.state === 'CompleteCommit' || m.state === 'CompleteAbort') && m.txnLastUpdateTimestamp <= cutoff)
      .map((m) => m.transactionalId);
    let n = 0;
    await Promise.all(
      due.map((id) =>
        this.run(id, () => undefined, () => {
          const m = this.txns.get(id);
          if (m === undefined || this.ownership(id) !== NONE || !VALID_PREVIOUS.Dead.includes(m.state) || m.txnLastUpdateTimestamp > this.now - this.opts.config.transactionalIdExpirationMs) return;
          this.opts.persistence.remove(id);
          this.txns.delete(id);
          n++;
        }),
      ),
    );
    return n;
  }

  // ---------------------------------------------------------------- describe / list

  describe(ids: string[]): DescribedTxn[] {
    return ids.map((id): DescribedTxn => {
      const m = this.txns.get(id);
      const base = { transactionalId: id, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] };
      if (this.closed) return { ...base, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
      if (id === '') return { ...base, errorCode: ErrorCode.INVALID_REQUEST };
      const owner = this.ownership(id);
      if (owner !== NONE) return { ...base, errorCode: owner };
      if (m === undefined || m.state === 'Dead') return { ...base, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
      return {
        errorCode: NONE,
        transactionalId: id,
        transactionState: m.state,
        transactionTimeoutMs: m.txnTimeoutMs,
        transactionStartTimeMs: BigInt(m.txnStartTimestamp),
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        topics: listPartitions(m.partitions),
      };
    });
  }

  /**
   * ListTransactions: state names match exactly; durationMs >= 0 keeps transactions running
   * longer. Only ids of owned partitions are listed; while a partition loads the answer is
   * COORDINATOR_LOAD_IN_PROGRESS (Kafka); `errorCode` is absent when NONE.
   */
  list(stateFilters: string[], producerIdFilters: bigint[], durationMs: bigint): { errorCode?: number; transactions: ListedTxn[]; unknownStateFilters: string[] } {
    if (this.loading.size > 0) return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, transactions: [], unknownStateFilters: [] };
    const known = new Set<string>(['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence']);
    const unknownStateFilters = stateFilters.filter((s) => !known.has(s));
    const now = BigInt(this.now);
    const transactions: ListedTxn[] = [];
    for (const m of this.txns.values()) {
      if (m.state === 'Dead' || this.ownership(m.transactionalId) !== NONE) continue;
      if (producerIdFilters.length > 0 && !producerIdFilters.includes(m.producerId)) continue;
      if (stateFilters.length > 0 && !stateFilters.includes(m.state)) continue;
      if (durationMs >= 0n && !(now - BigInt(m.txnStartTimestamp) > durationMs)) continue;
      transactions.push({ transactionalId: m.transactionalId, producerId: m.producerId, transactionState: m.state });
    }
    return { transactions, unknownStateFilters };
  }

  // ---------------------------------------------------------------- ownership

  /**
   * Whether this coordinator serves `transactionalId` (checked in the id's queue, as Kafka's
   * getTransactionState): COORDINATOR_LOAD_IN_PROGRESS while its partition loads,
   * NOT_COORDINATOR when the partition is not owned here, else NONE.
   */
  private ownership(transactionalId: string): number {
    if (!this.explicit) return NONE;
    const p = this.partitionOf!(transactionalId);
    if (this.loading.has(p)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return this.owned.has(p) ? NONE : ErrorCode.NOT_COORDINATOR;
  }

  /** The coordinator epoch markers of `transactionalId` carry. */
  private coordinatorEpoch(transactionalId: string): number {
    if (!this.explicit) return COORDINATOR_EPOCH;
    return this.epochs.get(this.partitionOf!(transactionalId)) ?? COORDINATOR_EPOCH;
  }

  /** Whether the ids of __transaction_state partition `partition` are served here. */
  ownsPartition(partition: number): boolean {
    return !this.explicit || this.owned.has(partition);
  }

  /**
   * This broker became leader of __transaction_state partition `partition` at leader epoch
   * `coordinatorEpoch` (markers carry it): the partition's transactional ids are replayed from
   * the log (replacing what was in memory for it) and served from now on; transactions found in
   * PrepareCommit/PrepareAbort get their markers and Complete* (as Kafka does after a load).
   * Ignored for an epoch older than the partition's last one, for a partition already owned at
   * this epoch, after close(), and in 'all' mode. If the replay fails the partition stays
   * unowned (NOT_COORDINATOR) and the error is logged.
   */
  onElection(partition: number, coordinatorEpoch = COORDINATOR_EPOCH): void {
    if (!this.explicit || this.closed) return;
    const current = this.epochs.get(partition);
    if (current !== undefined && coordinatorEpoch < current) {
      this.opts.logger.info({ partition, coordinatorEpoch, current }, 'not loading transaction state: an older coordinator epoch');
      return;
    }
    if (this.owned.has(partition) && current === coordinatorEpoch) return;
    this.epochs.set(partition, coordinatorEpoch);
    this.loading.add(partition);
    this.owned.delete(partition);
    this.dropPartition(partition);
    let loaded: TxnMetadata[];
    try {
      loaded = this.opts.persistence.loadPartition!(partition);
    } catch (err) {
      this.loading.delete(partition);
      this.opts.logger.error({ err, partition, coordinatorEpoch }, 'loading transaction state failed; the partition is not served');
      return;
    }
    // A resignation while loading wins (only reachable if loading ever yields).
    if (!this.loading.delete(partition)) return;
    const pending: string[] = [];
    for (const m of loaded) {
      if (this.partitionOf!(m.transactionalId) !== partition) continue;
      this.txns.set(m.transactionalId, m);
      if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') pending.push(m.transactionalId);
    }
    this.owned.add(partition);
    this.opts.logger.info({ partition, coordinatorEpoch, transactionalIds: loaded.length, completing: pending.length }, 'elected transaction coordinator for transaction log partition');
    // Served first, then the decided transactions are completed (Kafka sends their markers once
    // the partition is no longer loading).
    for (const id of pending) {
      this.run(id, () => undefined, () => {
        const m = this.txns.get(id);
        if (m !== undefined && this.ownership(id) === NONE && (m.state === 'PrepareCommit' || m.state === 'PrepareAbort')) this.completeTransaction(m);
      }).catch((err: unknown) => this.opts.logger.error({ err, transactionalId: id }, 'completing a loaded transaction failed'));
    }
  }

  /**
   * This broker no longer leads __transaction_state partition `partition`: its transactional ids
   * are dropped from memory (nothing is written; the new leader completes what is in Prepare*).
   * Ignored for an epoch older than the partition's last one and in 'all' mode.
   */
  onResignation(partition: number, coordinatorEpoch?: number): void {
    if (!this.explicit) return;
    const current = this.epochs.get(partition);
    if (coordinatorEpoch !== undefined && current !== undefined && coordinatorEpoch < current) {
      this.opts.logger.info({ partition, coordinatorEpoch, current }, 'not unloading transaction state: an older coordinator epoch');
      return;
    }
    if (coordinatorEpoch !== undefined) this.epochs.set(partition, coordinatorEpoch);
    const wasServed = this.owned.delete(partition);
    this.loading.delete(partition);
    const n = this.dropPartition(partition);
    this.opts.persistence.unloadPartition?.(partition);
    if (wasServed || n > 0) this.opts.logger.info({ partition, coordinatorEpoch, transactionalIds: n }, 'resigned as transaction coordinator for transaction log partition');
  }

  /** Forgets the in-memory state of the partition's transactional ids (and stops their markers); returns how many. */
  private dropPartition(partition: number): number {
    let n = 0;
    for (const r of [...this.rounds.values()]) {
      if (this.partitionOf!(r.m.transactionalId) === partition) this.cancelRound(r);
    }
    for (const id of [...this.txns.keys()]) {
      if (this.partitionOf!(id) !== partition) continue;
      this.txns.delete(id);
      n++;
    }
    return n;
  }
}
