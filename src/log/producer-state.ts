// Per-partition producer state, the partition side of idempotence and transactions (Kafka's
// ProducerStateManager / ProducerAppendInfo / ProducerStateEntry, in our own code).
//
// For every producer id that wrote to the partition it keeps the epoch, the sequence and offset
// ranges of its last five batches (max.in.flight.requests.per.connection = 5, so a retried batch is
// always among them), the coordinator epoch of its last marker and the first offset of its open
// transaction. From that it decides a client batch's fate before anything is appended:
//   - epoch lower than the producer's           -> INVALID_PRODUCER_EPOCH
//   - same epoch, same first/last sequence as one of the cached batches
//                                               -> duplicate: answered with that batch's offsets,
//                                                  not appended again
//   - new epoch: sequence must start at 0 (KIP-360 bumps reset sequences), unless the producer is
//     unknown here (no epoch yet: retention or DeleteRecords may have removed its batches, so any
//     sequence is accepted, as Kafka does since KIP-360; Kafka no longer answers UNKNOWN_PRODUCER_ID)
//   - same epoch: sequence must follow the last one (int32 wraps to 0)
//                                               -> else OUT_OF_ORDER_SEQUENCE_NUMBER
//   - a non-transactional batch from a producer with an open transaction -> INVALID_TXN_STATE
// Markers (COMMIT/ABORT control batches written by the transaction coordinator) close the
// producer's open transaction; a marker from an older coordinator epoch is
// TRANSACTION_COORDINATOR_FENCED. Aborted transactions are kept as (producer, first offset, last
// offset, last stable offset) entries, the content of Kafka's .txnindex files, for READ_COMMITTED
// fetches. The first offset of the oldest open transaction bounds the last stable offset.
//
// The state is plain data: the stores feed it every appended batch (apply) and rebuild it at open
// from a snapshot (Kafka's .snapshot format, see encodeProducerSnapshot) plus the log after it.

import { ErrorCode } from '../../protocol/errors.js';
import { crc32c } from '../../protocol/records/crc.js';
import type { BatchProducerFields } from '../../protocol/records/batch.js';

/** Batches remembered per producer for duplicate detection (Kafka's NUM_BATCHES_TO_RETAIN). */
export const BATCHES_TO_RETAIN = 5;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
const INT32_MAX = 0x7fffffff;

/** The producer fields of a batch header (protocol/records reads them from stored bytes). */
export type ProducerBatch = BatchProducerFields;

/** A COMMIT/ABORT marker's content (control record key type and marker value). */
export interface TxnMarker {
  commit: boolean;
  coordinatorEpoch: number;
}

export interface AbortedTxn {
  producerId: bigint;
  firstOffset: bigint;
  /** Offset of the ABORT marker. */
  lastOffset: bigint;
  /** The partition's last stable offset once this transaction completed. */
  lastStableOffset: bigint;
}

export type ProducerCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; firstOffset: bigint; lastOffset: bigint; timestamp: bigint }
  | { kind: 'error'; errorCode: number; message: string };

interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: bigint;
  lastOffset: bigint;
  timestamp: bigint;
}

/** What DescribeProducers reports for one producer. */
export interface ProducerInfo {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: bigint;
  coordinatorEpoch: number;
  /** First offset of the open transaction, -1 if none. */
  currentTxnStartOffset: bigint;
}

class ProducerEntry {
  epoch = NO_PRODUCER_EPOCH;
  batches: BatchMetadata[] = [];
  coordinatorEpoch = -1;
  lastTimestamp = -1n;
  /** -1n when no transaction is open. */
  currentTxnFirstOffset = -1n;

  constructor(readonly producerId: bigint) {}

  get lastSeq(): number {
    return this.batches.length === 0 ? NO_SEQUENCE : this.batches[this.batches.length - 1]!.lastSeq;
  }

  get lastOffset(): bigint {
    return this.batches.length === 0 ? -1n : this.batches[this.batches.length - 1]!.lastOffset;
  }

  findDuplicate(b: ProducerBatch): BatchMetadata | undefined {
    if (b.producerEpoch !== this.epoch) return undefined;
    const last = lastSequenceOf(b);
    return this.batches.find((m) => m.firstSeq === b.baseSequence && m.lastSeq === last);
  }
}

/** Sequence of a batch's last record, wrapping past int32 max like Kafka. */
export function lastSequenceOf(b: Pick<ProducerBatch, 'baseSequence' | 'lastOffsetDelta'>): number {
  if (b.baseSequence < 0) return b.baseSequence;
  const next = b.baseSequence + b.lastOffsetDelta;
  return next > INT32_MAX ? next - INT32_MAX - 1 : next;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

export class ProducerStateManager {
  private readonly producers = new Map<bigint, ProducerEntry>();
  /** Open transactions: producer id -> first offset, in the order they began (offsets ascend). */
  private readonly ongoing = new Map<bigint, bigint>();
  /** Aborted transactions, ascending by lastOffset (markers are appended in offset order). */
  private aborted: AbortedTxn[] = [];

  get size(): number {
    return this.producers.size;
  }

  /** Decides a client batch (producerId >= 0) before it is appended. */
  check(b: ProducerBatch): ProducerCheck {
    const entry = this.producers.get(b.producerId);
    if (entry === undefined) {
      // A producer unknown to this partition: any sequence is accepted (see the file header).
      return { kind: 'append' };
    }
    const dup = entry.findDuplicate(b);
    if (dup !== undefined) return { kind: 'duplicate', firstOffset: dup.firstOffset, lastOffset: dup.lastOffset, timestamp: dup.timestamp };
    if (b.producerEpoch < entry.epoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `Epoch of producer ${b.producerId} is ${b.producerEpoch}, which is smaller than the last seen epoch ${entry.epoch}`,
      };
    }
    if (b.producerEpoch !== entry.epoch) {
      if (b.baseSequence !== 0 && entry.epoch !== NO_PRODUCER_EPOCH) {
        return {
          kind: 'error',
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `Invalid sequence number for new epoch of producer ${b.producerId}: ${b.producerEpoch} (request epoch), ${b.baseSequence} (seq. number), ${entry.epoch} (current producer epoch)`,
        };
      }
    } else if (entry.epoch !== NO_PRODUCER_EPOCH && !inSequence(entry.lastSeq, b.baseSequence)) {
      // With no batch retained at this epoch (only a marker was seen) the next sequence is 0.
      return {
        kind: 'error',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `Out of order sequence number for producer ${b.producerId} at offset ${entry.lastOffset + 1n}: ${b.baseSequence} (incoming seq. number), ${entry.lastSeq} (current end sequence number)`,
      };
    }
    if (!b.isTransactional && entry.currentTxnFirstOffset >= 0n) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_TXN_STATE,
        message: `Expected transactional write from producer ${b.producerId} at offset ${entry.lastOffset + 1n} in partition with an open transaction`,
      };
    }
    return { kind: 'append' };
  }

  /** Checks a marker before it is appended: a stale coordinator epoch is fenced. */
  checkMarker(producerId: bigint, producerEpoch: number, coordinatorEpoch: number): number {
    const entry = this.producers.get(producerId);
    if (entry === undefined) return ErrorCode.NONE;
    if (producerEpoch < entry.epoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (coordinatorEpoch < entry.coordinatorEpoch) return ErrorCode.TRANSACTION_COORDINATOR_FENCED;
    return ErrorCode.NONE;
  }

  /**
   * Records an appended batch at [firstOffset, lastOffset]. `marker` is set for COMMIT/ABORT
   * control batches. `lastStableAfter` is called for an abort to compute the entry's LSO.
   * Returns the aborted transaction an ABORT marker completed (for the store's txn index).
   */
  apply(b: ProducerBatch, firstOffset: bigint, lastOffset: bigint, marker?: TxnMarker): AbortedTxn | undefined {
    if (b.producerId < 0n) return undefined;
    let entry = this.producers.get(b.producerId);
    if (entry === undefined) {
      entry = new ProducerEntry(b.producerId);
      this.producers.set(b.producerId, entry);
    }
    if (b.producerEpoch !== entry.epoch) {
      // A new epoch starts a new sequence space: forget the old batches.
      entry.epoch = b.producerEpoch;
      entry.batches = [];
    }
    entry.lastTimestamp = b.maxTimestamp;
    if (b.isControl) {
      if (marker === undefined) return undefined;
      const txnFirst = entry.currentTxnFirstOffset;
      entry.currentTxnFirstOffset = -1n;
      entry.coordinatorEpoch = marker.coordinatorEpoch;
      this.ongoing.delete(b.producerId);
      // Only an abort of a transaction that wrote here goes to the index (as Kafka's .txnindex).
      if (marker.commit || txnFirst < 0n) return undefined;
      let lso = lastOffset + 1n;
      for (const first of this.ongoing.values()) {
        lso = first;
        break;
      }
      const txn: AbortedTxn = { producerId: b.producerId, firstOffset: txnFirst, lastOffset, lastStableOffset: lso };
      this.aborted.push(txn);
      return txn;
    }
    if (b.baseSequence >= 0) {
      entry.batches.push({ firstSeq: b.baseSequence, lastSeq: lastSequenceOf(b), firstOffset, lastOffset, timestamp: b.maxTimestamp });
      if (entry.batches.length > BATCHES_TO_RETAIN) entry.batches.shift();
    }
    if (b.isTransactional && entry.currentTxnFirstOffset < 0n) {
      entry.currentTxnFirstOffset = firstOffset;
      this.ongoing.set(b.producerId, firstOffset);
    }
    return undefined;
  }

  /** First offset of the oldest open transaction, or undefined. */
  firstUnstableOffset(): bigint | undefined {
    for (const first of this.ongoing.values()) return first;
    return undefined;
  }

  /**
   * Aborted transactions overlapping [fetchOffset, upperBound): lastOffset >= fetchOffset and
   * firstOffset < upperBound (Kafka's collectAbortedTxns).
   */
  abortedTransactions(fetchOffset: bigint, upperBound: bigint): Array<{ producerId: bigint; firstOffset: bigint }> {
    const out: Array<{ producerId: bigint; firstOffset: bigint }> = [];
    // First entry with lastOffset >= fetchOffset.
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.aborted[mid]!.lastOffset < fetchOffset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.aborted.length; i++) {
      const t = this.aborted[i]!;
      if (t.firstOffset < upperBound) out.push({ producerId: t.producerId, firstOffset: t.firstOffset });
    }
    return out;
  }

  /** Every aborted transaction known (file store: what its .txnindex files hold). */
  abortedList(): readonly AbortedTxn[] {
    return this.aborted;
  }

  /** Adds aborted transactions read from an index at open (ascending, before any apply). */
  loadAborted(entries: readonly AbortedTxn[]): void {
    this.aborted.push(...entries);
    this.aborted.sort((a, b) => (a.lastOffset < b.lastOffset ? -1 : a.lastOffset > b.lastOffset ? 1 : 0));
    // The same entry twice (two index files naming it, after an interrupted compaction swap) counts once.
    this.aborted = this.aborted.filter((t, i, all) => i === 0 || t.lastOffset !== all[i - 1]!.lastOffset || t.producerId !== all[i - 1]!.producerId);
  }

  /**
   * For every producer: the last offset of its last data batch (-1 when none is known at its
   * current epoch, e.g. only a marker was written since a bump) and its epoch. The log cleaner
   * keeps that batch, or the marker carrying that epoch, even when it empties it (Kafka's
   * lastRecordsOfActiveProducers), so this state can be rebuilt from the log.
   */
  lastRecords(): Map<bigint, { lastDataOffset: bigint; producerEpoch: number }> {
    const out = new Map<bigint, { lastDataOffset: bigint; producerEpoch: number }>();
    for (const e of this.producers.values()) out.set(e.producerId, { lastDataOffset: e.lastOffset, producerEpoch: e.epoch });
    return out;
  }

  /**
   * Forgets aborted transactions the log cleaner removed with their marker (no record of theirs is
   * left in the log, so no fetch needs them).
   */
  forgetAborted(gone: readonly AbortedTxn[]): void {
    if (gone.length === 0) return;
    const key = (t: AbortedTxn): string => `${t.producerId}:${t.firstOffset}:${t.lastOffset}`;
    const drop = new Set(gone.map(key));
    this.aborted = this.aborted.filter((t) => !drop.has(key(t)));
  }

  /** The producers, for DescribeProducers. */
  describe(): ProducerInfo[] {
    return [...this.producers.values()].map((e) => ({
      producerId: e.producerId,
      producerEpoch: e.epoch,
      lastSequence: e.lastSeq,
      lastTimestamp: e.lastTimestamp,
      coordinatorEpoch: e.coordinatorEpoch,
      currentTxnStartOffset: e.currentTxnFirstOffset,
    }));
  }

  /** Epoch of a producer here, or undefined if unknown. */
  epochOf(producerId: bigint): number | undefined {
    return this.producers.get(producerId)?.epoch;
  }

  /** True if the producer has an open transaction in this partition. */
  hasOpenTransaction(producerId: bigint): boolean {
    return this.ongoing.has(producerId);
  }

  /**
   * Removes producers idle for at least `expirationMs` (by their last batch timestamp, as Kafka)
   * that have no open transaction. Returns how many went.
   */
  expire(nowMs: number, expirationMs: number): number {
    let n = 0;
    const now = BigInt(nowMs);
    const ms = BigInt(expirationMs);
    for (const [id, e] of this.producers) {
      if (e.currentTxnFirstOffset < 0n && now - e.lastTimestamp >= ms) {
        this.producers.delete(id);
        n++;
      }
    }
    return n;
  }

  /**
   * The log start moved to `logStartOffset` (DeleteRecords, retention): aborted transactions that
   * ended below it go, and so do producers whose last batch lies below it (Kafka evicts them too).
   */
  onLogStartOffset(logStartOffset: bigint): void {
    let drop = 0;
    while (drop < this.aborted.length && this.aborted[drop]!.lastOffset < logStartOffset) drop++;
    if (drop > 0) this.aborted = this.aborted.slice(drop);
    for (const [id, e] of this.producers) {
      if (e.currentTxnFirstOffset < 0n && e.lastOffset >= 0n && e.lastOffset < logStartOffset) this.producers.delete(id);
    }
  }

  clear(): void {
    this.producers.clear();
    this.ongoing.clear();
    this.aborted = [];
  }

  // ---- snapshots ----

  /** Kafka's producer snapshot (version 1): only each producer's last batch is kept. */
  snapshot(): Buffer {
    return encodeProducerSnapshot([...this.producers.values()].map(toSnapshotEntry));
  }

  /** Replaces the producer entries with a snapshot's (aborted transactions are kept). */
  restore(entries: readonly SnapshotEntry[]): void {
    this.producers.clear();
    this.ongoing.clear();
    const open: Array<[bigint, bigint]> = [];
    for (const s of entries) {
      const e = new ProducerEntry(s.producerId);
      e.epoch = s.epoch;
      e.coordinatorEpoch = s.coordinatorEpoch;
      e.lastTimestamp = s.timestamp;
      e.currentTxnFirstOffset = s.currentTxnFirstOffset;
      if (s.lastSequence >= 0 && s.lastOffset >= 0n) {
        const firstOffset = s.lastOffset - BigInt(s.offsetDelta);
        let firstSeq = s.lastSequence - s.offsetDelta;
        if (firstSeq < 0) firstSeq += INT32_MAX + 1;
        e.batches.push({ firstSeq, lastSeq: s.lastSequence, firstOffset, lastOffset: s.lastOffset, timestamp: s.timestamp });
      }
      this.producers.set(s.producerId, e);
      if (s.currentTxnFirstOffset >= 0n) open.push([s.producerId, s.currentTxnFirstOffset]);
    }
    open.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    for (const [id, first] of open) this.ongoing.set(id, first);
  }
}

export interface SnapshotEntry {
  producerId: bigint;
  epoch: number;
  lastSequence: number;
  lastOffset: bigint;
  offsetDelta: number;
  timestamp: bigint;
  coordinatorEpoch: number;
  currentTxnFirstOffset: bigint;
}

function toSnapshotEntry(e: ProducerEntry): SnapshotEntry {
  const last = e.batches[e.batches.length - 1];
  return {
    producerId: e.producerId,
    epoch: e.epoch,
    lastSequence: last?.lastSeq ?? NO_SEQUENCE,
    lastOffset: last?.lastOffset ?? -1n,
    offsetDelta: last === undefined ? 0 : Number(last.lastOffset - last.firstOffset),
    timestamp: e.lastTimestamp,
    coordinatorEpoch: e.coordinatorEpoch,
    currentTxnFirstOffset: e.currentTxnFirstOffset,
  };
}

// Kafka's ProducerSnapshot v1: version int16, crc uint32 (CRC-32C of everything after it), then an
// int32-counted array of (producerId int64, epoch int16, lastSequence int32, lastOffset int64,
// offsetDelta int32, timestamp int64, coordinatorEpoch int32, currentTxnFirstOffset int64).
const SNAPSHOT_VERSION = 1;
const SNAPSHOT_ENTRY_SIZE = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
const SNAPSHOT_HEADER = 2 + 4;

export function encodeProducerSnapshot(entries: readonly SnapshotEntry[]): Buffer {
  const buf = Buffer.alloc(SNAPSHOT_HEADER + 4 + entries.length * SNAPSHOT_ENTRY_SIZE);
  buf.writeInt16BE(SNAPSHOT_VERSION, 0);
  buf.writeInt32BE(entries.length, SNAPSHOT_HEADER);
  let at = SNAPSHOT_HEADER + 4;
  for (const e of entries) {
    buf.writeBigInt64BE(e.producerId, at);
    buf.writeInt16BE(e.epoch, at + 8);
    buf.writeInt32BE(e.lastSequence, at + 10);
    buf.writeBigInt64BE(e.lastOffset, at + 14);
    buf.writeInt32BE(e.offsetDelta, at + 22);
    buf.writeBigInt64BE(e.timestamp, at + 26);
    buf.writeInt32BE(e.coordinatorEpoch, at + 34);
    buf.writeBigInt64BE(e.currentTxnFirstOffset, at + 38);
    at += SNAPSHOT_ENTRY_SIZE;
  }
  buf.writeUInt32BE(crc32c(buf.subarray(SNAPSHOT_HEADER)), 2);
  return buf;
}

/** Parses a snapshot file; undefined if it is not a valid v1 snapshot (bad CRC, short, ...). */
export function decodeProducerSnapshot(buf: Buffer): SnapshotEntry[] | undefined {
  if (buf.length < SNAPSHOT_HEADER + 4) return undefined;
  if (buf.readInt16BE(0) !== SNAPSHOT_VERSION) return undefined;
  if (crc32c(buf.subarray(SNAPSHOT_HEADER)) !== buf.readUInt32BE(2)) return undefined;
  const n = buf.readInt32BE(SNAPSHOT_HEADER);
  if (n < 0 || buf.length !== SNAPSHOT_HEADER + 4 + n * SNAPSHOT_ENTRY_SIZE) return undefined;
  const out: SnapshotEntry[] = [];
  let at = SNAPSHOT_HEADER + 4;
  for (let i = 0; i < n; i++) {
    out.push({
      producerId: buf.readBigInt64BE(at),
      epoch: buf.readInt16BE(at + 8),
      lastSequence: buf.readInt32BE(at + 10),
      lastOffset: buf.readBigInt64BE(at + 14),
      offsetDelta: buf.readInt32BE(at + 22),
      timestamp: buf.readBigInt64BE(at + 26),
      coordinatorEpoch: buf.readInt32BE(at + 34),
      currentTxnFirstOffset: buf.readBigInt64BE(at + 38),
    });
    at += SNAPSHOT_ENTRY_SIZE;
  }
  return out;
}

// Kafka's .txnindex entry: version int16 (0), producerId int64, firstOffset int64, lastOffset
// int64, lastStableOffset int64.
export const TXN_INDEX_ENTRY_SIZE = 34;

export function encodeTxnIndexEntry(t: AbortedTxn): Buffer {
  const b = Buffer.alloc(TXN_INDEX_ENTRY_SIZE);
  b.writeInt16BE(0, 0);
  b.writeBigInt64BE(t.producerId, 2);
  b.writeBigInt64BE(t.firstOffset, 10);
  b.writeBigInt64BE(t.lastOffset, 18);
  b.writeBigInt64BE(t.lastStableOffset, 26);
  return b;
}

/** Parses whole entries (a torn tail entry is ignored). */
export function decodeTxnIndex(buf: Buffer): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (let at = 0; at + TXN_INDEX_ENTRY_SIZE <= buf.length; at += TXN_INDEX_ENTRY_SIZE) {
    if (buf.readInt16BE(at) !== 0) break;
    out.push({
      producerId: buf.readBigInt64BE(at + 2),
      firstOffset: buf.readBigInt64BE(at + 10),
      lastOffset: buf.readBigInt64BE(at + 18),
      lastStableOffset: buf.readBigInt64BE(at + 26),
    });
  }
  return out;
}
