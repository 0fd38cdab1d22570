// The follower's replica fetcher (issue 10), after Kafka's ReplicaFetcherManager,
// AbstractFetcherThread, ReplicaFetcherThread and RemoteLeaderEndPoint:
// - one fetcher per leader broker: one connection, at most one request in flight, every partition
//   this broker follows on that leader in one Fetch (replica id = our broker id, read_uncommitted,
//   fetch offset = our log end, our log start, current leader epoch, v12+ last fetched epoch,
//   v13+ topic ids; the newest version the leader serves, v12 for topics without an id);
// - a partition taken on with a new leader or epoch goes through truncation before fetching:
//   with a Fetch v12+ leader, truncation on fetch (KIP-595's diverging epoch in the answer); with
//   an older one, or when the follower did not know the leader's epoch (KIP-279: ask again),
//   OffsetForLeaderEpoch v3+. The cut itself is followerTruncation (replication.ts);
// - data is appended as it is (offsets and epochs kept); the next fetch of a partition goes out
//   once the last append is written (PartitionLog.whenWritten), so the fetch offset the leader
//   takes as our log end never counts bytes still on their way to the files;
// - OFFSET_OUT_OF_RANGE: Kafka's handleOutOfRangeError (leader's end below ours: cut to it;
//   leader's start above our end: start over at it);
// - errors: FENCED_LEADER_EPOCH (our epoch is stale) and local append failures stop the partition
//   until setPartitions gives it a new leader or epoch; everything else (UNKNOWN_LEADER_EPOCH,
//   NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID, storage errors at the
//   leader, corrupt batches) backs the partition off replica.fetch.backoff.ms and retries, as
//   Kafka does (the leader may not have taken on the new metadata yet); a connection failure
//   closes the connection and backs the whole fetcher off.
// Not done: fetch sessions (KIP-227; Brook declines them), quotas/throttling.

import { ErrorCode, errorName } from '../../protocol/errors.js';
import type { FetchResponsePartitionData } from '../../protocol/generated/01-fetch.js';
import { batchLastOffset, readBatchHeader, splitFetchedBatches } from '../../protocol/records/index.js';
import { Apis } from '../client/apis.js';
import { Connection, type ConnectionOptions } from '../client/connection.js';
import type { Logger } from '../common/logger.js';
import type { AppendInfo } from '../log/types.js';
import { followerTruncation, UNDEFINED_EPOCH_END, type EpochEnd } from './replication.js';

/**
 * The follower's view of a local partition log: the members of PartitionLog the fetcher uses.
 * appendAsFollower, truncateTo and truncateFullyAndStartAt are the follower appends of issue 10;
 * the rest exist on PartitionLog today.
 */
export interface FollowerLog {
  readonly logStartOffset: bigint;
  readonly logEndOffset: bigint;
  /** (epoch, start offset) ascending, as PartitionLog.leaderEpochEntries. */
  leaderEpochEntries(): Array<{ epoch: number; startOffset: bigint }>;
  /** Appends the leader's batches as they are (offsets, epochs); first baseOffset >= logEndOffset. */
  appendAsFollower(batches: readonly Buffer[]): AppendInfo;
  /** Removes every offset >= `offset` (no-op at or past the end). */
  truncateTo(offset: bigint): void;
  /** Empties the log: log start = log end = `offset`. */
  truncateFullyAndStartAt(offset: bigint): void;
  /** Raises the log start (never lowers it, capped at the log end): the leader's log start. */
  deleteRecordsBefore(offset: bigint): bigint;
  /** Resolves once everything appended is in the files; rejects with a storage error. */
  whenWritten(): Promise<void>;
}

export interface FetcherPartition {
  topic: string;
  partition: number;
  /** base64url Uuid; the zero Uuid (or '') makes the fetcher use Fetch v12 with topic names. */
  topicId: string;
  leaderId: number;
  leaderEpoch: number;
}

export interface ReplicaFetcherOptions {
  /** replica.fetch.wait.max.ms (500). */
  maxWaitMs?: number;
  /** replica.fetch.min.bytes (1). */
  minBytes?: number;
  /** replica.fetch.response.max.bytes (10 MiB). */
  maxBytes?: number;
  /** replica.fetch.max.bytes (1 MiB). */
  partitionMaxBytes?: number;
  /** replica.fetch.backoff.ms (1000). */
  backoffMs?: number;
  /** replica.socket.timeout.ms (30000): a request's timeout (a Fetch gets maxWaitMs on top). */
  requestTimeoutMs?: number;
  /**
   * Highest Fetch version used (Kafka's inter.broker.protocol.version); below 12 truncation goes
   * through OffsetForLeaderEpoch only. Default: the newest the leader serves.
   */
  fetchMaxVersion?: number;
}

export interface ReplicaFetcherDeps {
  /** TLS and SASL of the inter-broker listener (inter.broker.listener.name), if it has them. */
  security?: Pick<ConnectionOptions, 'tls' | 'sasl'>;
  /** Our broker id: the Fetch replica id. */
  nodeId: number;
  /** A broker's address, from cluster metadata (undefined: unknown now, retried after a back-off). */
  brokerAddress(id: number): { host: string; port: number } | undefined;
  localLog(topic: string, partition: number): FollowerLog | undefined;
  /**
   * After each fetch of a partition that answered data (possibly none), once the appended data is
   * written: the leader's high watermark and log start. The caller sets the follower HW =
   * min(leaderHighWatermark, local log end). The fetcher has already raised the local log start to
   * the leader's (Kafka's maybeIncrementLogStartOffset).
   */
  onFetched(topic: string, partition: number, leaderHighWatermark: bigint, leaderLogStartOffset: bigint): void;
  /**
   * A partition error, informational: called when a partition's error changes (not on every retry).
   * The partition is 'failed' (not fetched until setPartitions gives it a new leader or epoch) for
   * FENCED_LEADER_EPOCH and local storage errors, otherwise retried after the back-off.
   */
  onError?(topic: string, partition: number, errorCode: number): void;
  /**
   * The follower's own high watermark, where Kafka cuts the log when the leader cannot place the
   * follower's epoch (an undefined OffsetForLeaderEpoch answer). Without it: the last one this
   * fetcher saw (min of the leader's and our log end), else the log start.
   */
  highWatermark?(topic: string, partition: number): bigint | undefined;
  logger: Logger;
  options?: ReplicaFetcherOptions;
}

export type FetcherPartitionState = 'truncating' | 'fetching' | 'failed';

export interface FetcherPartitionDescription {
  topic: string;
  partition: number;
  leaderId: number;
  leaderEpoch: number;
  state: FetcherPartitionState;
  /** The last error seen (0 once a fetch succeeds again). */
  errorCode: number;
}

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** ListOffsets special timestamps. */
const LATEST = -1n;
const EARLIEST = -2n;
/** Fetch v12 is the first with last_fetched_epoch and diverging_epoch (truncation on fetch). */
const TRUNCATION_ON_FETCH_VERSION = 12;
const TOPIC_IDS_VERSION = 13;
/** Fetch v15 moved the replica id into ReplicaState (KIP-903). */
const REPLICA_STATE_VERSION = 15;

// ---------------------------------------------------------------------------------------------
// The follower's leader-epoch cache, read from the log

/** Epoch entries that cover data: those starting below the log end (Kafka's follower cache holds only the epochs of appended batches). */
function epochsWithData(log: FollowerLog): Array<{ epoch: number; startOffset: bigint }> {
  const leo = log.logEndOffset;
  return log.leaderEpochEntries().filter((e) => e.startOffset < leo && e.epoch >= 0);
}

/** The epoch of the last batch in the log, -1 if none: the Fetch v12+ last_fetched_epoch. */
export function lastFetchedEpoch(log: FollowerLog): number {
  const entries = epochsWithData(log);
  return entries.length === 0 ? -1 : entries[entries.length - 1]!.epoch;
}

/** Kafka's LeaderEpochFileCache.endOffsetFor over the follower's own epochs (its log end ends the latest). */
export function ownEndOffsetFor(log: FollowerLog): (epoch: number) => EpochEnd {
  const entries = epochsWithData(log);
  const leo = log.logEndOffset;
  return (epoch) => {
    if (epoch < 0 || entries.length === 0) return UNDEFINED_EPOCH_END;
    if (entries[entries.length - 1]!.epoch === epoch) return { epoch, endOffset: leo };
    const higher = entries.findIndex((e) => e.epoch > epoch);
    if (higher < 0) return UNDEFINED_EPOCH_END;
    if (higher === 0) return { epoch, endOffset: entries[0]!.startOffset };
    return { epoch: entries[higher - 1]!.epoch, endOffset: entries[higher]!.startOffset };
  };
}

// ---------------------------------------------------------------------------------------------
// One partition's Fetch answer (no error code), as plain steps on a log

export type FetchedOutcome =
  /** Data appended (possibly none): wait for the write, then report the HW and log start. */
  | { kind: 'appended'; batches: number; lastOffset: bigint | undefined }
  /** A diverging epoch: the log was cut at `truncateTo`; `done` false: ask again with OffsetForLeaderEpoch. */
  | { kind: 'diverged'; truncateTo: bigint; done: boolean }
  /** Corrupt data from the leader: retry after the back-off. */
  | { kind: 'corrupt'; message: string }
  /** The local append failed, or the leader's data cannot follow our log: stop the partition. */
  | { kind: 'failed'; errorCode: number; message: string };

/**
 * Applies one partition's answer with error NONE (ReplicaFetcherThread.processPartitionData and
 * AbstractFetcherThread's truncation on fetch): a diverging epoch cuts the log with
 * followerTruncation (no data comes with it and its HW is not used); otherwise the whole batches
 * are appended as they are, a truncated last batch left out. `hw` is the follower's high
 * watermark, used only when the leader's diverging epoch is undefined.
 */
export function applyFetchedData(log: FollowerLog, data: Pick<FetchResponsePartitionData, 'divergingEpoch' | 'records'>, hw: bigint): FetchedOutcome {
  const d = data.divergingEpoch;
  if (d !== undefined && (d.epoch >= 0 || d.endOffset >= 0n)) {
    const leo = log.logEndOffset;
    const t = followerTruncation({ epoch: d.epoch, endOffset: d.endOffset }, ownEndOffsetFor(log), leo, hw);
    if (t.truncateTo < leo) log.truncateTo(t.truncateTo);
    return { kind: 'diverged', truncateTo: t.truncateTo, done: t.done };
  }
  const split = splitFetchedBatches(data.records);
  // Kafka's follower append validates every batch before appending any (CorruptRecordException).
  if (split.problem !== undefined) return { kind: 'corrupt', message: split.problem };
  let batches = split.batches;
  const leo = log.logEndOffset;
  // The leader answers from the batch holding the fetch offset: one ending below our end is ours already.
  while (batches.length > 0 && batchLastOffset(readBatchHeader(batches[0]!)) < leo) batches = batches.slice(1);
  if (batches.length === 0) return { kind: 'appended', batches: 0, lastOffset: undefined };
  const base = readBatchHeader(batches[0]!).baseOffset;
  if (base < leo) {
    // A batch straddling our end: only right for an empty log whose start lies inside the leader's
    // batch (a DeleteRecords or out-of-range reset mid-batch); Kafka then starts the log at the
    // batch (Partition.appendRecordsToFollowerOrFutureReplica, UnexpectedAppendOffsetException).
    if (log.logStartOffset !== leo) {
      return { kind: 'failed', errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, message: `the leader's batch at offset ${base} straddles the log end ${leo}` };
    }
    try {
      log.truncateFullyAndStartAt(base);
    } catch (err) {
      return { kind: 'failed', errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: (err as Error).message };
    }
  }
  try {
    const info = log.appendAsFollower(ownCopy(batches));
    return { kind: 'appended', batches: batches.length, lastOffset: info.lastOffset };
  } catch (err) {
    return { kind: 'failed', errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: (err as Error).message };
  }
}

/**
 * The batches copied into one buffer of their own: the fetched ones are views of a response
 * frame, itself possibly a view of a larger socket read, which a store keeping them (the memory
 * store) would otherwise hold on to whole.
 */
function ownCopy(batches: readonly Buffer[]): Buffer[] {
  let total = 0;
  for (const b of batches) total += b.length;
  const own = Buffer.allocUnsafe(total);
  let at = 0;
  return batches.map((b) => {
    b.copy(own, at);
    const view = own.subarray(at, at + b.length);
    at += b.length;
    return view;
  });
}

/**
 * What an OFFSET_OUT_OF_RANGE leads to (AbstractFetcherThread.fetchOffsetAndTruncate), given the
 * leader's log end and, when asked, its log start: cut to the leader's end when it is below ours
 * (an unclean leader: our data beyond it goes); start over at the leader's start when our end is
 * below it; otherwise nothing to change (fetch again from our end).
 */
export function outOfRangeAction(ownLeo: bigint, leaderEnd: bigint, leaderStart?: bigint): { truncateTo: bigint } | { startAt: bigint } | 'ask-start' | 'none' {
  if (leaderEnd < ownLeo) return { truncateTo: leaderEnd };
  if (leaderStart === undefined) return 'ask-start';
  return leaderStart > ownLeo ? { startAt: leaderStart } : 'none';
}

// ---------------------------------------------------------------------------------------------
// Per-partition state

class PartitionState {
  readonly key: string;
  state: FetcherPartitionState = 'truncating';
  /** Truncating because the partition was just taken on ('initial') or KIP-279 asks again ('ask'). */
  truncation: 'initial' | 'ask' = 'initial';
  /** Date.now() before which the partition is not fetched (back-off). */
  delayedUntil = 0;
  errorCode: number = ErrorCode.NONE;
  /** The follower HW as of the last fetch: min(leader HW, log end). */
  lastHw: bigint | undefined;

  constructor(readonly p: FetcherPartition) {
    this.key = partitionKey(p.topic, p.partition);
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

// ---------------------------------------------------------------------------------------------
// One leader: one connection, one loop

class LeaderFetcher {
  readonly partitions = new Map<string, PartitionState>();
  private conn: Connection | undefined;
  private closed = false;
  private wakeUp: (() => void) | undefined;
  private connectFailing = false;
  private readonly done: Promise<void>;
  private readonly log: Logger;

  constructor(
    readonly leaderId: number,
    private readonly deps: ReplicaFetcherDeps,
    private readonly o: Required<Omit<ReplicaFetcherOptions, 'fetchMaxVersion'>> & { fetchMaxVersion?: number },
  ) {
    this.log = deps.logger.child({ fetcher: `leader-${leaderId}` });
    this.done = this.run();
  }

  add(ps: PartitionState): void {
    this.partitions.set(ps.key, ps);
    this.wake();
  }

  remove(key: string): void {
    this.partitions.delete(key);
    this.wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.conn?.close();
    this.wake();
    await this.done;
  }

  private wake(): void {
    this.wakeUp?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      this.wakeUp = done;
      if (Number.isFinite(ms)) timer = setTimeout(done, Math.max(0, ms));
    });
  }

  private current(ps: PartitionState): boolean {
    return !this.closed && this.partitions.get(ps.key) === ps;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        await this.round();
      } catch (err) {
        if (this.closed) break;
        // A transport error or a malformed answer: every partition waits (Kafka backs off all the
        // partitions of the failed request) and the next round reconnects.
        // One warning until a connection works again.
        if (this.connectFailing) this.log.debug({ err: (err as Error).message }, 'replica fetch from leader failed again');
        else this.log.warn({ err: (err as Error).message }, 'replica fetch from leader failed; reconnecting after back-off');
        this.connectFailing = true;
        this.conn?.close();
        this.conn = undefined;
        await this.sleep(this.o.backoffMs);
      }
    }
    this.conn?.close();
    this.conn = undefined;
  }

  private async round(): Promise<void> {
    const active = [...this.partitions.values()].filter((p) => p.state !== 'failed');
    if (active.length === 0) {
      await this.sleep(Infinity);
      return;
    }
    const conn = await this.connection();
    if (conn === undefined) return;
    const now = Date.now();
    const truncating = active.filter((p) => p.state === 'truncating' && p.delayedUntil <= now);
    if (truncating.length > 0) await this.truncate(conn, truncating);
    const ready = [...this.partitions.values()].filter((p) => p.state === 'fetching' && p.delayedUntil <= Date.now());
    if (ready.length > 0) {
      await this.fetch(conn, ready);
      return;
    }
    if ([...this.partitions.values()].some((p) => p.state === 'truncating' && p.delayedUntil <= Date.now())) return;
    let next = Infinity;
    for (const p of this.partitions.values()) if (p.state !== 'failed') next = Math.min(next, p.delayedUntil);
    await this.sleep(next - Date.now());
  }

  private async connection(): Promise<Connection | undefined> {
    if (this.conn !== undefined && !this.conn.closed) return this.conn;
    this.conn = undefined;
    const addr = this.deps.brokerAddress(this.leaderId);
    if (addr === undefined) {
      this.noteConnectFailure(`leader ${this.leaderId} has no known address`);
      await this.sleep(this.o.backoffMs);
      return undefined;
    }
    try {
      const conn = await Connection.open(addr.host, addr.port, {
        ...this.deps.security,
        clientId: `broker-${this.deps.nodeId}-fetcher-${this.leaderId}`,
        softwareName: 'brook-replica-fetcher',
        requestTimeoutMs: this.o.requestTimeoutMs,
        connectTimeoutMs: this.o.requestTimeoutMs,
      });
      if (this.closed) {
        conn.close();
        return undefined;
      }
      if (this.connectFailing) this.log.info({ leader: conn.address }, 'replica fetcher connected to leader again');
      this.connectFailing = false;
      this.conn = conn;
      return conn;
    } catch (err) {
      this.noteConnectFailure((err as Error).message);
      await this.sleep(this.o.backoffMs);
      return undefined;
    }
  }

  /** One warning when the leader becomes unreachable, debug lines while it stays so. */
  private noteConnectFailure(message: string): void {
    if (this.closed) return;
    if (this.connectFailing) this.log.debug({ err: message }, 'replica fetcher still cannot reach leader');
    else this.log.warn({ err: message }, 'replica fetcher cannot reach leader; retrying after back-off');
    this.connectFailing = true;
  }

  private fetchVersionCap(parts: readonly PartitionState[]): number {
    const idsKnown = parts.every((p) => p.p.topicId !== '' && p.p.topicId !== ZERO_UUID);
    return Math.min(this.o.fetchMaxVersion ?? Infinity, idsKnown ? Infinity : TOPIC_IDS_VERSION - 1);
  }

  private backOff(ps: PartitionState, errorCode: number): void {
    ps.delayedUntil = Date.now() + this.o.backoffMs;
    this.noteError(ps, errorCode);
  }

  private fail(ps: PartitionState, errorCode: number, message: string): void {
    ps.state = 'failed';
    this.log.error({ topic: ps.p.topic, partition: ps.p.partition, leaderEpoch: ps.p.leaderEpoch, error: errorName(errorCode), err: message }, 'replica fetcher stopped fetching the partition until its leader or epoch changes');
    this.noteError(ps, errorCode);
  }

  private noteError(ps: PartitionState, errorCode: number): void {
    if (ps.errorCode === errorCode) return;
    ps.errorCode = errorCode;
    if (errorCode === ErrorCode.NONE) return;
    try {
      this.deps.onError?.(ps.p.topic, ps.p.partition, errorCode);
    } catch (err) {
      this.log.error({ err }, 'replica fetcher onError callback threw');
    }
  }

  private localLog(ps: PartitionState): FollowerLog | undefined {
    const log = this.deps.localLog(ps.p.topic, ps.p.partition);
    if (log === undefined) this.fail(ps, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'no local log for the partition');
    return log;
  }

  private hwOf(ps: PartitionState, log: FollowerLog): bigint {
    return this.deps.highWatermark?.(ps.p.topic, ps.p.partition) ?? ps.lastHw ?? log.logStartOffset;
  }

  // ---- truncation before fetching (AbstractFetcherThread.maybeTruncate) ----

  private async truncate(conn: Connection, all: PartitionState[]): Promise<void> {
    const parts = all.filter((p) => this.current(p)); // removed while connecting: nothing to do
    const fetchVersion = conn.version(Apis.fetch, { maxVersion: this.fetchVersionCap(parts) });
    const ask: Array<{ ps: PartitionState; log: FollowerLog; epoch: number; leo: bigint }> = [];
    for (const ps of parts) {
      const log = this.localLog(ps);
      if (log === undefined) continue;
      const epoch = lastFetchedEpoch(log);
      // No batch, nothing to compare: fetch from the log end. Taken on with a Fetch v12+ leader:
      // the leader checks our last epoch on the first fetch (truncation on fetch).
      if (epoch < 0 || (ps.truncation === 'initial' && fetchVersion !== undefined && fetchVersion >= TRUNCATION_ON_FETCH_VERSION)) {
        ps.state = 'fetching';
        continue;
      }
      ask.push({ ps, log, epoch, leo: log.logEndOffset });
    }
    if (ask.length === 0) return;
    if (conn.version(Apis.offsetForLeaderEpoch) === undefined) {
      // A leader without OffsetForLeaderEpoch v3+: nothing can place our epochs; Kafka's answer for
      // an undefined epoch is the high watermark.
      for (const a of ask) this.applyEpochEnd(a.ps, a.log, UNDEFINED_EPOCH_END);
      return;
    }
    const byTopic = new Map<string, Array<{ partition: number; currentLeaderEpoch: number; leaderEpoch: number }>>();
    for (const a of ask) {
      const list = byTopic.get(a.ps.p.topic) ?? [];
      list.push({ partition: a.ps.p.partition, currentLeaderEpoch: a.ps.p.leaderEpoch, leaderEpoch: a.epoch });
      byTopic.set(a.ps.p.topic, list);
    }
    const resp = await conn.request(Apis.offsetForLeaderEpoch, {
      replicaId: this.deps.nodeId,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    });
    const answers = new Map<string, { errorCode: number; leaderEpoch: number; endOffset: bigint }>();
    for (const t of resp.topics) for (const p of t.partitions) answers.set(partitionKey(t.topic, p.partition), p);
    for (const a of ask) {
      // Answers for a partition removed, re-taken or moved meanwhile are ignored (Kafka: the epoch changed).
      if (!this.current(a.ps) || a.ps.state !== 'truncating' || a.log.logEndOffset !== a.leo) continue;
      const r = answers.get(a.ps.key);
      if (r === undefined) {
        this.backOff(a.ps, ErrorCode.UNKNOWN_SERVER_ERROR);
        continue;
      }
      if (r.errorCode === ErrorCode.NONE) this.applyEpochEnd(a.ps, a.log, { epoch: r.leaderEpoch, endOffset: r.endOffset });
      else this.partitionError(a.ps, r.errorCode, 'OffsetForLeaderEpoch');
    }
  }

  private applyEpochEnd(ps: PartitionState, log: FollowerLog, leader: EpochEnd): void {
    const leo = log.logEndOffset;
    const t = followerTruncation(leader, ownEndOffsetFor(log), leo, this.hwOf(ps, log));
    if (t.truncateTo < leo) {
      try {
        log.truncateTo(t.truncateTo);
      } catch (err) {
        this.fail(ps, ErrorCode.KAFKA_STORAGE_ERROR, `truncation failed: ${(err as Error).message}`);
        return;
      }
      this.log.info({ topic: ps.p.topic, partition: ps.p.partition, leaderEpoch: ps.p.leaderEpoch, from: leo, to: t.truncateTo, leaderEnd: leader }, 'follower log truncated');
    }
    if (t.done) ps.state = 'fetching';
    else ps.truncation = 'ask';
  }

  // ---- fetching (AbstractFetcherThread.maybeFetch / processFetchRequest) ----

  private async fetch(conn: Connection, all: PartitionState[]): Promise<void> {
    const parts = all.filter((p) => this.current(p));
    interface Sent {
      ps: PartitionState;
      log: FollowerLog;
      fetchOffset: bigint;
    }
    const sent: Sent[] = [];
    for (const ps of parts) {
      const log = this.localLog(ps);
      if (log !== undefined) sent.push({ ps, log, fetchOffset: log.logEndOffset });
    }
    if (sent.length === 0) return;
    const maxVersion = this.fetchVersionCap(parts);
    const byTopic = new Map<string, Sent[]>();
    for (const s of sent) {
      const list = byTopic.get(s.ps.p.topic) ?? [];
      list.push(s);
      byTopic.set(s.ps.p.topic, list);
    }
    const { nodeId } = this.deps;
    const resp = await conn.request(
      Apis.fetch,
      (version) => ({
        clusterId: null,
        replicaId: version < REPLICA_STATE_VERSION ? nodeId : -1,
        replicaState: { replicaId: nodeId, replicaEpoch: -1n },
        maxWaitMs: this.o.maxWaitMs,
        minBytes: this.o.minBytes,
        maxBytes: this.o.maxBytes,
        isolationLevel: 0,
        // No fetch session (KIP-227): session 0 with the final epoch asks for a full fetch.
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, list]) => ({
          topic,
          topicId: list[0]!.ps.p.topicId,
          partitions: list.map((s) => ({
            partition: s.ps.p.partition,
            currentLeaderEpoch: s.ps.p.leaderEpoch,
            fetchOffset: s.fetchOffset,
            lastFetchedEpoch: version >= TRUNCATION_ON_FETCH_VERSION ? lastFetchedEpoch(s.log) : -1,
            logStartOffset: s.log.logStartOffset,
            partitionMaxBytes: this.o.partitionMaxBytes,
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      }),
      { maxVersion, timeoutMs: this.o.requestTimeoutMs + this.o.maxWaitMs },
    );
    if (resp.errorCode !== ErrorCode.NONE) {
      // A request-level error (a fetch session error): every partition backs off.
      for (const s of sent) if (this.current(s.ps)) this.backOff(s.ps, resp.errorCode);
      return;
    }
    const byName = new Map<string, Sent>();
    const byId = new Map<string, Sent>();
    for (const s of sent) {
      byName.set(partitionKey(s.ps.p.topic, s.ps.p.partition), s);
      byId.set(partitionKey(s.ps.p.topicId, s.ps.p.partition), s);
    }
    const written: Array<{ s: Sent; data: FetchResponsePartitionData }> = [];
    const outOfRange: Sent[] = [];
    for (const t of resp.responses) {
      for (const data of t.partitions) {
        // v13+ answers carry topic ids and empty names.
        const s = t.topic !== '' ? byName.get(partitionKey(t.topic, data.partitionIndex)) : byId.get(partitionKey(t.topicId, data.partitionIndex));
        if (s === undefined) continue;
        // Ignore an answer for a partition removed, re-taken, failed or moved meanwhile.
        if (!this.current(s.ps) || s.ps.state !== 'fetching' || s.log.logEndOffset !== s.fetchOffset) continue;
        if (data.errorCode === ErrorCode.NONE) {
          if (this.applyData(s.ps, s.log, data)) written.push({ s, data });
        } else if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          outOfRange.push(s);
        } else {
          this.partitionError(s.ps, data.errorCode, 'Fetch');
        }
      }
    }
    // The next fetch of a partition reports its log end to the leader as written: wait for it.
    const results = await Promise.allSettled(written.map((w) => w.s.log.whenWritten()));
    results.forEach((r, i) => {
      const { s, data } = written[i]!;
      if (!this.current(s.ps) || s.ps.state !== 'fetching') return;
      if (r.status === 'rejected') {
        this.fail(s.ps, ErrorCode.KAFKA_STORAGE_ERROR, `writing fetched data failed: ${(r.reason as Error)?.message ?? String(r.reason)}`);
        return;
      }
      this.fetched(s.ps, s.log, data);
    });
    // Out of range: ask the leader for its ends (after the writes above, so a connection lost on
    // the way leaves no append unreported).
    for (const s of outOfRange) {
      if (this.current(s.ps) && s.ps.state === 'fetching' && s.log.logEndOffset === s.fetchOffset) await this.handleOutOfRange(conn, s.ps, s.log);
    }
  }

  /** Applies an error-free partition answer; true when it was data to report once written. */
  private applyData(ps: PartitionState, log: FollowerLog, data: FetchResponsePartitionData): boolean {
    const out = applyFetchedData(log, data, this.hwOf(ps, log));
    switch (out.kind) {
      case 'appended':
        this.noteError(ps, ErrorCode.NONE);
        return true;
      case 'diverged':
        this.log.info(
          { topic: ps.p.topic, partition: ps.p.partition, leaderEpoch: ps.p.leaderEpoch, divergingEpoch: data.divergingEpoch, to: out.truncateTo },
          'follower log truncated at the leader\'s diverging epoch',
        );
        if (!out.done) {
          ps.state = 'truncating';
          ps.truncation = 'ask';
        }
        return false;
      case 'corrupt':
        // Kafka: "Found invalid messages during fetch", retried after the back-off.
        this.log.error({ topic: ps.p.topic, partition: ps.p.partition, err: out.message }, 'replica fetcher got a corrupt batch from the leader; retrying after back-off');
        this.backOff(ps, ErrorCode.CORRUPT_MESSAGE);
        return false;
      case 'failed':
        this.fail(ps, out.errorCode, out.message);
        return false;
    }
  }

  private fetched(ps: PartitionState, log: FollowerLog, data: FetchResponsePartitionData): void {
    const leo = log.logEndOffset;
    ps.lastHw = data.highWatermark < leo ? data.highWatermark : leo;
    try {
      if (data.logStartOffset > log.logStartOffset) log.deleteRecordsBefore(data.logStartOffset);
    } catch (err) {
      this.fail(ps, ErrorCode.KAFKA_STORAGE_ERROR, `raising the log start failed: ${(err as Error).message}`);
      return;
    }
    try {
      this.deps.onFetched(ps.p.topic, ps.p.partition, data.highWatermark, data.logStartOffset);
    } catch (err) {
      this.log.error({ err, topic: ps.p.topic, partition: ps.p.partition }, 'replica fetcher onFetched callback threw');
    }
  }

  /** A partition error of Fetch, OffsetForLeaderEpoch or ListOffsets (AbstractFetcherThread.processFetchRequest). */
  private partitionError(ps: PartitionState, errorCode: number, api: string): void {
    if (errorCode === ErrorCode.FENCED_LEADER_EPOCH) {
      // Our epoch is older than the leader's: metadata will bring the new one (onPartitionFenced).
      this.fail(ps, errorCode, `${api}: the leader has a newer epoch than ${ps.p.leaderEpoch}`);
      return;
    }
    this.log.debug({ topic: ps.p.topic, partition: ps.p.partition, api, error: errorName(errorCode) }, 'replica fetch partition error; retrying after back-off');
    this.backOff(ps, errorCode);
  }

  // ---- OFFSET_OUT_OF_RANGE (AbstractFetcherThread.handleOutOfRangeError / fetchOffsetAndTruncate) ----

  private async handleOutOfRange(conn: Connection, ps: PartitionState, log: FollowerLog): Promise<void> {
    const end = await this.listOffset(conn, ps, LATEST);
    if (end === undefined || !this.current(ps)) return;
    const leo = log.logEndOffset;
    let action = outOfRangeAction(leo, end);
    if (action === 'ask-start') {
      const start = await this.listOffset(conn, ps, EARLIEST);
      if (start === undefined || !this.current(ps) || log.logEndOffset !== leo) return;
      action = outOfRangeAction(leo, end, start);
    }
    try {
      if (action === 'none' || action === 'ask-start') {
        // Nothing to change: back off rather than ask again at once (the leader keeps failing us).
        this.backOff(ps, ErrorCode.OFFSET_OUT_OF_RANGE);
      } else if ('truncateTo' in action) {
        this.log.warn({ topic: ps.p.topic, partition: ps.p.partition, leaderEpoch: ps.p.leaderEpoch, from: leo, to: action.truncateTo }, 'follower log end is past the leader\'s: truncating to it (data beyond it is lost)');
        log.truncateTo(action.truncateTo);
      } else {
        this.log.info({ topic: ps.p.topic, partition: ps.p.partition, from: leo, to: action.startAt }, 'follower log end is below the leader\'s log start: starting over at it');
        log.truncateFullyAndStartAt(action.startAt);
      }
    } catch (err) {
      this.fail(ps, ErrorCode.KAFKA_STORAGE_ERROR, `out-of-range reset failed: ${(err as Error).message}`);
    }
  }

  /** ListOffsets for one partition as a replica; undefined after a partition error (handled). */
  private async listOffset(conn: Connection, ps: PartitionState, timestamp: bigint): Promise<bigint | undefined> {
    const resp = await conn.request(Apis.listOffsets, {
      replicaId: this.deps.nodeId,
      isolationLevel: 0,
      timeoutMs: this.o.requestTimeoutMs,
      topics: [{ name: ps.p.topic, partitions: [{ partitionIndex: ps.p.partition, currentLeaderEpoch: ps.p.leaderEpoch, timestamp, maxNumOffsets: 1 }] }],
    });
    const r = resp.topics.find((t) => t.name === ps.p.topic)?.partitions.find((p) => p.partitionIndex === ps.p.partition);
    if (!this.current(ps)) return undefined;
    if (r === undefined) {
      this.backOff(ps, ErrorCode.UNKNOWN_SERVER_ERROR);
      return undefined;
    }
    if (r.errorCode !== ErrorCode.NONE) {
      this.partitionError(ps, r.errorCode, 'ListOffsets');
      return undefined;
    }
    return r.offset;
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * The fetchers of this broker: one per leader broker, fed by setPartitions (Kafka's
 * ReplicaFetcherManager with num.replica.fetchers = 1).
 */
export class ReplicaFetcherManager {
  private readonly fetchers = new Map<number, LeaderFetcher>();
  private readonly assigned = new Map<string, PartitionState>();
  private readonly closing = new Set<Promise<void>>();
  private readonly o: Required<Omit<ReplicaFetcherOptions, 'fetchMaxVersion'>> & { fetchMaxVersion?: number };
  private closed = false;

  constructor(private readonly deps: ReplicaFetcherDeps) {
    const o = deps.options ?? {};
    this.o = {
      maxWaitMs: o.maxWaitMs ?? 500,
      minBytes: o.minBytes ?? 1,
      maxBytes: o.maxBytes ?? 10 * 1024 * 1024,
      partitionMaxBytes: o.partitionMaxBytes ?? 1024 * 1024,
      backoffMs: o.backoffMs ?? 1000,
      requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
      fetchMaxVersion: o.fetchMaxVersion,
    };
  }

  /**
   * The partitions this broker follows, with their leader and epoch (the whole desired set).
   * Partitions not listed stop being fetched; one whose leader, epoch or topic id changed starts
   * over (truncation first); one unchanged keeps its state (a failed one stays failed).
   */
  setPartitions(partitions: readonly FetcherPartition[]): void {
    if (this.closed) return;
    const want = new Map<string, FetcherPartition>();
    for (const p of partitions) {
      if (p.leaderId === this.deps.nodeId || p.leaderId < 0) continue; // led here, or no leader: nothing to fetch
      want.set(partitionKey(p.topic, p.partition), p);
    }
    for (const [key, ps] of this.assigned) {
      const w = want.get(key);
      if (w !== undefined && w.leaderId === ps.p.leaderId && w.leaderEpoch === ps.p.leaderEpoch && w.topicId === ps.p.topicId) continue;
      this.fetchers.get(ps.p.leaderId)?.remove(key);
      this.assigned.delete(key);
    }
    for (const [key, w] of want) {
      if (this.assigned.has(key)) continue;
      const ps = new PartitionState({ ...w });
      this.assigned.set(key, ps);
      let f = this.fetchers.get(w.leaderId);
      if (f === undefined) {
        f = new LeaderFetcher(w.leaderId, this.deps, this.o);
        this.fetchers.set(w.leaderId, f);
      }
      f.add(ps);
    }
    // Idle fetchers go (Kafka's shutdownIdleFetcherThreads).
    for (const [id, f] of this.fetchers) {
      if (f.partitions.size > 0) continue;
      this.fetchers.delete(id);
      const p = f.close().finally(() => this.closing.delete(p));
      this.closing.add(p);
    }
  }

  describe(): FetcherPartitionDescription[] {
    return [...this.assigned.values()].map((ps) => ({
      topic: ps.p.topic,
      partition: ps.p.partition,
      leaderId: ps.p.leaderId,
      leaderEpoch: ps.p.leaderEpoch,
      state: ps.state,
      errorCode: ps.errorCode,
    }));
  }

  /** Stops every fetcher: connections closed, in-flight requests dropped, no timers left. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.fetchers.values()].map((f) => f.close());
    this.fetchers.clear();
    this.assigned.clear();
    await Promise.all([...all, ...this.closing]);
  }
}
