// Durable consumer-group state in the internal topic __consumer_offsets, like Kafka's classic
// group coordinator: one record per committed offset or group snapshot (Kafka's key/value formats,
// see offsets-records.ts), appended to the partition owning the group, replayed at start.
//
// Partitioning: abs(Java String.hashCode(groupId)) % partitions, with Kafka's Utils.abs
// (Math.abs, and 0 for Integer.MIN_VALUE; "my-group" -> 12 of 50). Brook before issue 7 masked
// the sign bit instead, so a group with a negative hash code lived in another partition; such
// records are still read, the owning partition's records win over them (every write since goes
// to the owner), and at load the live state of groups found only elsewhere is appended once to
// their owner. When the topic already exists its partition count wins over the configured
// offsets.topic.num.partitions, as in Kafka, so groups keep their partition across restarts.
//
// Writes: each store* call appends one record batch (one record per group snapshot / offset,
// timestamps = now()). Durability is the log store's: the batch is written to the file store's fd
// synchronously (so a kill -9 loses nothing the page cache had) and fsynced per its flush policy.
//
// Compaction: the topic is cleanup.policy=compact, and the broker's log cleaner
// (src/log/cleaner.ts) compacts it like any compacted topic, as Kafka's does: the latest record
// of each key stays, tombstones go after delete.retention.ms, records of aborted transactions go,
// pending transactional records (past the last stable offset) are not touched. Replay keeps the
// last value of each key, so it reads a compacted log to the same state.
//
// Transactional offset commits (TxnOffsetCommit) are appended in a transactional batch carrying
// the producer's id and epoch and stay pending, per partition and producer, until the transaction
// coordinator's marker reaches the partition (completeTxn): COMMIT makes them live, ABORT drops
// them. Replay does the same with the transactional batches and control batches it reads, and
// returns what is still pending.
//
// OffsetsLog keeps the live records of every partition as encoded key/value buffers (deletions
// need the keys of a group's offsets; the migration re-append above needs the values); they are
// built by load() (or lazily by the first write).
//
// A coordinator that owns only some partitions (a cluster: the leader of partition p is the
// coordinator of p's groups) calls loadPartition(p) when elected and unloadPartition(p) when it
// resigns: only p is replayed, only records of groups owned by p count (records of other groups
// found in p are skipped, and nothing is moved: the legacy move above is load()'s), and a write
// to a partition not loaded replays that partition alone first.

import { decodeRecordBatch, encodeRecordBatch, readTxnMarker, verifyBatchCrc } from '../../protocol/records/index.js';
import { forEachStoredBatch } from '../log/replay.js';
import type { LogStore, PartitionLog, TopicMetadata } from '../log/types.js';
import {
  decodeOffsetsRecord,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
} from './offsets-records.js';
import type { CommittedOffset, GroupPersistence, GroupSnapshot, PendingTxnOffsets } from './types.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
/** offsets.topic.num.partitions default. */
export const DEFAULT_OFFSETS_TOPIC_PARTITIONS = 50;
/** offsets.topic.segment.bytes default. */
export const OFFSETS_TOPIC_SEGMENT_BYTES = 104857600;

/** Topic configs of __consumer_offsets, as Kafka creates it. */
export function offsetsTopicConfigs(): Record<string, string> {
  return {
    'cleanup.policy': 'compact',
    'compression.type': 'producer',
    'segment.bytes': String(OFFSETS_TOPIC_SEGMENT_BYTES),
  };
}

/** The largest snapshot batch written. */
const SNAPSHOT_BATCH_BYTES = 1024 * 1024;
/** Rough per-record framing in a batch (length, attributes, deltas, key/value lengths). */
const RECORD_OVERHEAD = 12;
/** Individual warnings per load before they are only counted. */
const MAX_LOAD_WARNINGS = 100;

/** Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, int32 arithmetic. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's partitionFor(groupId): Utils.abs(groupId.hashCode()) % partitions. */
export function partitionForGroup(groupId: string, numPartitions: number): number {
  const h = javaStringHashCode(groupId);
  return (h === -0x80000000 ? 0 : Math.abs(h)) % numPartitions;
}

export interface OffsetsLogTopics {
  get(name: string): TopicMetadata | undefined;
  /**
   * Creates an internal topic in the same LogStore, synchronously: `partitions` partitions,
   * replication factor 1, exactly these configs, without the rules that refuse user-created
   * internal topics. Throws if it cannot.
   */
  createInternal(name: string, partitions: number, configs: Record<string, string>): void;
}

export interface OffsetsLogLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface OffsetsLogOptions {
  store: LogStore;
  topics: OffsetsLogTopics;
  /** offsets.topic.num.partitions (Kafka default 50); the existing topic's count wins. */
  numPartitions: number;
  logger: OffsetsLogLogger;
  now: () => number;
}

interface LiveRecord {
  key: Buffer;
  value: Buffer;
}

interface PartState {
  /** Live records by key bytes (latin1), in first-write order. */
  live: Map<string, LiveRecord>;
  /** groupId -> live offset record keys of that group -> their topic-partition. */
  offsetKeys: Map<string, Map<string, { topic: string; partition: number }>>;
  /** Transactional offset commits waiting for their marker, by producer id. */
  pending: Map<bigint, PendingRecord[]>;
}

interface PendingRecord {
  group: string;
  key: Buffer;
  value: Buffer;
  offset: CommittedOffset;
}

function newPartState(): PartState {
  return { live: new Map(), offsetKeys: new Map(), pending: new Map() };
}

/** What a replay collects: groups and offsets by group (offsets by record key). */
interface Accumulator {
  groups: Map<string, GroupSnapshot>;
  offsets: Map<string, Map<string, CommittedOffset>>;
  bytes: number;
}

function newAccumulator(): Accumulator {
  return { groups: new Map(), offsets: new Map(), bytes: 0 };
}

/** Counts load problems; only the first MAX_LOAD_WARNINGS are logged one by one. */
interface LoadWarner {
  count: number;
  warn(obj: object, msg: string): void;
}

export interface LoadedGroupState {
  groups: GroupSnapshot[];
  offsets: Map<string, CommittedOffset[]>;
  pending: PendingTxnOffsets[];
}

function mapKey(key: Buffer): string {
  return key.toString('latin1');
}


export class OffsetsLog implements GroupPersistence {
  readonly topic = OFFSETS_TOPIC;
  private readonly store: LogStore;
  private readonly topics: OffsetsLogTopics;
  private readonly logger: OffsetsLogLogger;
  private readonly now: () => number;
  private count: number;
  /** Mirror of the live records per partition; undefined until loaded (a partition: until loaded). */
  private parts: Array<PartState | undefined> | undefined;
  /** Partitions are loaded one by one (loadPartition) rather than all at once (load). */
  private explicit = false;

  constructor(opts: OffsetsLogOptions) {
    if (!Number.isInteger(opts.numPartitions) || opts.numPartitions < 1) {
      throw new RangeError(`offsets topic partitions must be a positive integer, got ${opts.numPartitions}`);
    }
    this.store = opts.store;
    this.topics = opts.topics;
    this.logger = opts.logger;
    this.now = opts.now;
    this.count = opts.numPartitions;
    this.resolvePartitionCount(opts.numPartitions);
  }

  /** Partitions of __consumer_offsets used for placing groups. */
  get numPartitions(): number {
    return this.count;
  }

  /** The __consumer_offsets partition that owns `groupId`. */
  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.count);
  }

  private resolvePartitionCount(configured: number): void {
    const existing = this.topics.get(OFFSETS_TOPIC);
    if (existing !== undefined && existing.numPartitions !== this.count) {
      this.logger.warn(
        { topic: OFFSETS_TOPIC, partitions: existing.numPartitions, configured },
        'offsets topic exists with a different partition count than offsets.topic.num.partitions; using the topic',
      );
      this.count = existing.numPartitions;
      this.parts = undefined;
    }
  }

  // ---- load ----

  /**
   * Replays every partition (a node owning all of them): the last snapshot of each live group,
   * its live offsets, and the transactional offset commits still waiting for their marker.
   * Records of a group found in another partition than its owner (older Brooks) count, and are
   * moved to the owner (see the file header).
   */
  load(): LoadedGroupState {
    const started = Date.now();
    this.resolvePartitionCount(this.count);
    this.explicit = false;
    const parts: Array<PartState | undefined> = Array.from({ length: this.count }, newPartState);
    const acc = newAccumulator();
    const seenInOwner = new Set<string>();
    const foreign = new Map<number, Map<string, Buffer>>();
    const warn = this.loadWarner();
    for (let p = 0; p < this.count; p++) this.replay(p, parts, acc, warn, { seenInOwner, foreign });
    this.parts = parts;
    // Keys read only from another partition (older Brooks' placement) are written once to their
    // owner: the live ones with their value, the deleted ones as tombstones, so the owner holds
    // the newest word on them from now on.
    for (const [owner, keys] of foreign) {
      if (keys.size === 0) continue;
      try {
        this.appendToOwner(owner, keys);
      } catch (err) {
        warn.warn({ partition: owner, err: (err as Error).message }, 'could not move offsets log records to their owning partition; will retry at the next start');
      }
    }
    return this.finishLoad(acc, parts, warn, started, undefined);
  }

  /**
   * Replays one partition (a coordinator elected leader of it): the groups it owns, their live
   * offsets and their pending transactional offsets. Only the partition's own records count:
   * records of groups owned by another partition (older Brooks' placement, see the file header)
   * are skipped, and nothing is read from or written to other partitions. Throws if the topic's
   * partition count differs from the one groups were placed with while other partitions are
   * loaded (Kafka refuses such a load too).
   */
  loadPartition(p: number): LoadedGroupState {
    const started = Date.now();
    const existing = this.topics.get(OFFSETS_TOPIC);
    if (existing !== undefined && existing.numPartitions !== this.count) {
      if (this.parts?.some((s) => s !== undefined)) {
        throw new Error(`${OFFSETS_TOPIC} partition count changed from ${this.count} to ${existing.numPartitions} while partitions are loaded`);
      }
      this.resolvePartitionCount(this.count);
    }
    if (!Number.isInteger(p) || p < 0 || p >= this.count) throw new RangeError(`${OFFSETS_TOPIC} has no partition ${p}`);
    if (!this.explicit || this.parts === undefined) {
      this.explicit = true;
      this.parts = new Array<PartState | undefined>(this.count).fill(undefined);
    }
    const parts = this.parts;
    parts[p] = newPartState();
    const acc = newAccumulator();
    const warn = this.loadWarner();
    this.replay(p, parts, acc, warn, undefined);
    return this.finishLoad(acc, parts, warn, started, p);
  }

  /** Drops the in-memory mirror of a partition this node no longer leads. */
  unloadPartition(p: number): void {
    if (this.parts === undefined) return;
    if (!this.explicit) {
      // Leaving "every partition" mode: the others stay as they are.
      this.explicit = true;
    }
    this.parts[p] = undefined;
  }

  private loadWarner(): LoadWarner {
    const w: LoadWarner = {
      count: 0,
      warn: (obj, msg) => {
        w.count++;
        if (w.count <= MAX_LOAD_WARNINGS) this.logger.warn({ topic: OFFSETS_TOPIC, ...obj }, msg);
      },
    };
    return w;
  }

  /**
   * Replays partition `p` into `parts` and `acc`. With `legacy` (every partition is replayed),
   * records of groups owned elsewhere count for their owner and are collected for the move;
   * without it they are skipped.
   */
  private replay(
    p: number,
    parts: Array<PartState | undefined>,
    acc: Accumulator,
    warn: LoadWarner,
    legacy: { seenInOwner: Set<string>; foreign: Map<number, Map<string, Buffer>> } | undefined,
  ): void {
    const log = this.store.partition(OFFSETS_TOPIC, p);
    if (log === undefined) return;
    const here = parts[p]!;
    const start = log.logStartOffset;
    let skippedForeign = 0;
    acc.bytes += forEachStoredBatch(
      log,
      (chunk, h) => {
        if (h.isControl) {
          const marker = readTxnMarker(chunk);
          const recs = here.pending.get(h.producerId);
          here.pending.delete(h.producerId);
          if (marker?.commit && recs !== undefined) {
            for (const r of recs) {
              let byGroup = acc.offsets.get(r.group);
              if (byGroup === undefined) acc.offsets.set(r.group, (byGroup = new Map()));
              const k = mapKey(r.key);
              byGroup.set(k, r.offset);
              this.rememberOffset(here, r.group, k, r.offset.topic, r.offset.partition, r.key, r.value);
            }
          }
          return;
        }
        if (!verifyBatchCrc(chunk)) {
          warn.warn({ partition: p, offset: h.baseOffset }, 'skipping offsets log batch with a CRC mismatch');
          return;
        }
        let records;
        try {
          records = decodeRecordBatch(chunk).records;
        } catch (err) {
          warn.warn({ partition: p, offset: h.baseOffset, err: (err as Error).message }, 'skipping undecodable offsets log batch');
          return;
        }
        for (const rec of records) {
          if (rec.offset < start) continue; // in a batch straddling the log start
          let decoded;
          try {
            decoded = decodeOffsetsRecord(rec.key, rec.value);
          } catch (err) {
            warn.warn({ partition: p, offset: rec.offset, err: (err as Error).message }, 'skipping corrupt or unknown offsets log record');
            continue;
          }
          const owner = partitionForGroup(decoded.group, this.count);
          if (legacy === undefined && owner !== p) {
            skippedForeign++;
            continue;
          }
          if (h.isTransactional) {
            if (decoded.type === 'offset' && decoded.value !== null) {
              let recs = here.pending.get(h.producerId);
              if (recs === undefined) here.pending.set(h.producerId, (recs = []));
              recs.push({ group: decoded.group, key: Buffer.from(rec.key!), value: Buffer.from(rec.value!), offset: decoded.value });
            }
            continue;
          }
          const recordKey = decoded.type === 'group' ? encodeGroupMetadataKey(decoded.group) : encodeOffsetCommitKey(decoded.group, decoded.topic, decoded.partition);
          const ownerKey = mapKey(recordKey);
          if (legacy !== undefined) {
            if (owner !== p) {
              // Older than anything the owner holds for the same key (see the file header).
              if (legacy.seenInOwner.has(ownerKey)) continue;
              let keys = legacy.foreign.get(owner);
              if (keys === undefined) {
                legacy.foreign.set(owner, (keys = new Map()));
                warn.warn({ partition: p, offset: rec.offset, group: decoded.group, owner }, 'offsets log record of a group owned by another partition');
              }
              keys.set(ownerKey, recordKey);
            } else {
              legacy.seenInOwner.add(ownerKey);
              legacy.foreign.get(owner)?.delete(ownerKey);
            }
          }
          const state = parts[owner]!;
          if (decoded.type === 'group') {
            if (decoded.value === null) {
              acc.groups.delete(decoded.group);
              state.live.delete(ownerKey);
            } else {
              acc.groups.set(decoded.group, decoded.value);
              state.live.set(ownerKey, { key: recordKey, value: Buffer.from(rec.value!) });
            }
          } else {
            let byGroup = acc.offsets.get(decoded.group);
            if (decoded.value === null) {
              byGroup?.delete(ownerKey);
              if (byGroup?.size === 0) acc.offsets.delete(decoded.group);
              this.forgetOffset(state, decoded.group, ownerKey);
            } else {
              if (byGroup === undefined) acc.offsets.set(decoded.group, (byGroup = new Map()));
              byGroup.set(ownerKey, decoded.value);
              this.rememberOffset(state, decoded.group, ownerKey, decoded.topic, decoded.partition, recordKey, Buffer.from(rec.value!));
            }
          }
        }
      },
      (offset) => warn.warn({ partition: p, offset }, 'offsets log batch does not advance; stopping the replay of this partition'),
    );
    if (skippedForeign > 0) {
      warn.warn({ partition: p, records: skippedForeign }, 'skipped offsets log records of groups owned by another partition');
    }
  }

  private finishLoad(acc: Accumulator, parts: Array<PartState | undefined>, warn: LoadWarner, started: number, partition: number | undefined): LoadedGroupState {
    let offsetCount = 0;
    const out = new Map<string, CommittedOffset[]>();
    for (const [group, byKey] of acc.offsets) {
      out.set(group, [...byKey.values()]);
      offsetCount += byKey.size;
    }
    if (warn.count > MAX_LOAD_WARNINGS) {
      this.logger.warn({ topic: OFFSETS_TOPIC, skipped: warn.count - MAX_LOAD_WARNINGS }, 'more offsets log problems were not logged individually');
    }
    this.logger.info(
      { topic: OFFSETS_TOPIC, ...(partition === undefined ? {} : { partition }), groups: acc.groups.size, offsets: offsetCount, bytes: acc.bytes, ms: Date.now() - started },
      'loaded consumer group state',
    );
    const pending: PendingTxnOffsets[] = [];
    const states = partition === undefined ? parts : [parts[partition]];
    for (const state of states) {
      if (state === undefined) continue;
      for (const [producerId, recs] of state.pending) {
        for (const r of recs) pending.push({ groupId: r.group, producerId, offset: r.offset });
      }
    }
    return { groups: [...acc.groups.values()], offsets: out, pending };
  }

  /**
   * Appends a transactional offset commit (a transactional batch of the producer); the offsets
   * stay pending until completeTxn().
   */
  storeTxnOffsets(groupId: string, producerId: bigint, producerEpoch: number, offsets: CommittedOffset[]): void {
    if (offsets.length === 0) return;
    const p = this.partitionFor(groupId);
    const state = this.partState(p);
    const log = this.partitionLog(p);
    const ts = BigInt(this.now());
    const recs: PendingRecord[] = offsets.map((o) => ({
      group: groupId,
      key: encodeOffsetCommitKey(groupId, o.topic, o.partition),
      value: encodeOffsetCommitValue(o),
      offset: o,
    }));
    const batch = encodeRecordBatch({
      baseTimestamp: ts,
      producerId,
      producerEpoch,
      baseSequence: -1,
      isTransactional: true,
      records: recs.map((r) => ({ key: r.key, value: r.value, timestamp: ts })),
    });
    log.append([batch], { writeThrough: true });
    let list = state.pending.get(producerId);
    if (list === undefined) state.pending.set(producerId, (list = []));
    list.push(...recs);
  }

  /**
   * A COMMIT/ABORT marker of `producerId` was appended to partition `p`: its pending offsets there
   * become live (commit) or are dropped. Returns the ones that became live.
   */
  completeTxn(p: number, producerId: bigint, commit: boolean): PendingTxnOffsets[] {
    if (!Number.isInteger(p) || p < 0 || p >= this.count) return [];
    // A partition not loaded here has no mirror to update: its next load reads the marker.
    if (this.explicit && this.parts?.[p] === undefined) return [];
    const state = this.partState(p);
    const recs = state.pending.get(producerId);
    state.pending.delete(producerId);
    if (recs === undefined || !commit) return [];
    for (const r of recs) this.rememberOffset(state, r.group, mapKey(r.key), r.offset.topic, r.offset.partition, r.key, r.value);
    return recs.map((r) => ({ groupId: r.group, producerId, offset: r.offset }));
  }

  private rememberOffset(state: PartState, group: string, k: string, topic: string, partition: number, key: Buffer, value: Buffer): void {
    state.live.set(k, { key, value });
    let keys = state.offsetKeys.get(group);
    if (keys === undefined) state.offsetKeys.set(group, (keys = new Map()));
    keys.set(k, { topic, partition });
  }

  private forgetOffset(state: PartState, group: string, k: string): void {
    state.live.delete(k);
    const keys = state.offsetKeys.get(group);
    if (keys === undefined) return;
    keys.delete(k);
    if (keys.size === 0) state.offsetKeys.delete(group);
  }

  /**
   * The mirror of partition `p`: every partition is loaded at the first use unless partitions are
   * loaded one by one (loadPartition), in which case a partition not loaded is replayed alone.
   */
  private partState(p: number): PartState {
    if (this.parts === undefined && !this.explicit) this.load();
    const parts = this.parts!;
    let state = parts[p];
    if (state === undefined) {
      parts[p] = state = newPartState();
      this.replay(p, parts, newAccumulator(), this.loadWarner(), undefined);
    }
    return state;
  }

  // ---- writes ----

  storeGroup(group: GroupSnapshot): void {
    const key = encodeGroupMetadataKey(group.groupId);
    const value = encodeGroupMetadataValue(group);
    this.write(group.groupId, [{ key, value }], (state) => {
      state.live.set(mapKey(key), { key, value });
    });
  }

  storeOffsets(groupId: string, offsets: CommittedOffset[]): void {
    if (offsets.length === 0) return;
    const records = offsets.map((o) => ({
      o,
      key: encodeOffsetCommitKey(groupId, o.topic, o.partition),
      value: encodeOffsetCommitValue(o),
    }));
    this.write(groupId, records, (state) => {
      for (const r of records) this.rememberOffset(state, groupId, mapKey(r.key), r.o.topic, r.o.partition, r.key, r.value);
    });
  }

  deleteOffsets(groupId: string, partitions: Array<{ topic: string; partition: number }>): void {
    if (partitions.length === 0) return;
    const keys = partitions.map((tp) => encodeOffsetCommitKey(groupId, tp.topic, tp.partition));
    this.write(
      groupId,
      keys.map((key) => ({ key, value: null })),
      (state) => {
        for (const key of keys) this.forgetOffset(state, groupId, mapKey(key));
      },
    );
  }

  deleteGroup(groupId: string, partitions: Array<{ topic: string; partition: number }>): void {
    const state = this.partState(this.partitionFor(groupId));
    // The given partitions and any other offset of the group still live here.
    const tombstones = new Map<string, Buffer>();
    for (const tp of partitions) {
      const key = encodeOffsetCommitKey(groupId, tp.topic, tp.partition);
      tombstones.set(mapKey(key), key);
    }
    for (const k of state.offsetKeys.get(groupId)?.keys() ?? []) tombstones.set(k, state.live.get(k)!.key);
    const groupKey = encodeGroupMetadataKey(groupId);
    const records = [...tombstones.values()].map((key) => ({ key, value: null }));
    records.push({ key: groupKey, value: null });
    this.write(groupId, records, (s) => {
      for (const k of tombstones.keys()) this.forgetOffset(s, groupId, k);
      s.live.delete(mapKey(groupKey));
    });
  }

  /**
   * Appends one batch with `records` to the group's partition, then applies `apply` to the
   * in-memory live state (only once the append succeeded).
   */
  private write(groupId: string, records: Array<{ key: Buffer; value: Buffer | null }>, apply: (state: PartState) => void): void {
    const p = this.partitionFor(groupId);
    const state = this.partState(p);
    const log = this.partitionLog(p);
    const ts = BigInt(this.now());
    const batch = encodeRecordBatch({ baseTimestamp: ts, records: records.map((r) => ({ key: r.key, value: r.value, timestamp: ts })) });
    log.append([batch], { writeThrough: true });
    apply(state);
  }

  /**
   * Creates __consumer_offsets with its internal settings if it does not exist (first write, or a
   * client's Metadata request for it: Kafka's auto-creation also uses the coordinator's settings).
   */
  ensureTopic(): void {
    if (this.topics.get(OFFSETS_TOPIC) !== undefined) return;
    try {
      this.topics.createInternal(OFFSETS_TOPIC, this.count, offsetsTopicConfigs());
    } catch (err) {
      if (this.topics.get(OFFSETS_TOPIC) === undefined) throw err;
    }
    this.logger.info({ topic: OFFSETS_TOPIC, partitions: this.count }, 'created the offsets topic');
  }

  /** The partition's log, creating __consumer_offsets on first use. */
  private partitionLog(p: number): PartitionLog {
    let log = this.store.partition(OFFSETS_TOPIC, p);
    if (log !== undefined) return log;
    this.ensureTopic();
    log = this.store.partition(OFFSETS_TOPIC, p);
    if (log === undefined) throw new Error(`${OFFSETS_TOPIC} has no partition ${p}`);
    return log;
  }

  /**
   * Appends the live records of `keys` (tombstones for the deleted ones) to partition `owner`,
   * in batches of at most SNAPSHOT_BATCH_BYTES, and makes them durable.
   */
  private appendToOwner(owner: number, keys: ReadonlyMap<string, Buffer>): void {
    const live = this.parts![owner]!.live;
    const ts = BigInt(this.now());
    const batches: Buffer[] = [];
    let pending: Array<{ key: Buffer; value: Buffer | null; timestamp: bigint }> = [];
    let pendingBytes = 0;
    for (const [k, key] of keys) {
      const value = live.get(k)?.value ?? null;
      const size = key.length + (value?.length ?? 0) + RECORD_OVERHEAD;
      if (pendingBytes > 0 && pendingBytes + size > SNAPSHOT_BATCH_BYTES) {
        batches.push(encodeRecordBatch({ baseTimestamp: ts, records: pending }));
        pending = [];
        pendingBytes = 0;
      }
      pending.push({ key, value, timestamp: ts });
      pendingBytes += size;
    }
    if (pending.length > 0) batches.push(encodeRecordBatch({ baseTimestamp: ts, records: pending }));
    const log = this.partitionLog(owner);
    log.append(batches, { writeThrough: true });
    log.flush();
  }
}
