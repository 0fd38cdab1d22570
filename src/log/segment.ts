// One log segment of the file store: `<base>.log` (stored batches back to back, exact bytes),
// `<base>.index` (sparse offset index) and `<base>.timeindex` (sparse time index), where <base>
// is the segment's base offset as 20 zero-padded digits.
//
// Offset index entry (8 bytes): relative offset int32 (lastOffset of the indexed batch minus the
// segment base), file position int32 (start of that batch).
// Time index entry (12 bytes): timestamp int64 (largest batch maxTimestamp so far in the segment),
// relative offset int32 (lastOffset of the batch that first reached it). Timestamps are strictly
// increasing across entries.
//
// An entry is added for a batch when more than indexIntervalBytes were written since the last
// entry. When a segment stops being active it gets a final time-index entry for its largest
// timestamp, so an inactive segment's largest timestamp is its time index's last entry.
//
// Open files (issue 8, "three open files per partition"): the active segment's indexes live in
// memory and its index files are written (and synced) only when it is rolled, before the next
// segment exists, and at a clean close; after a crash recovery rebuilds them from the log anyway.
// An append touches memory only (indexes, size) and queues the batch; FilePartitionLog writes the
// queue to the .log off the event loop (writeQueuedAsync: one pwritev on the libuv threadpool for
// everything queued while the previous write ran), and flush.messages fsyncs it there too
// (syncAsync, shared by the appends that arrive while one runs: group commit). Bytes past
// `fileSize` are not in the file yet: readers are kept below it (FilePartitionLog bounds reads by
// the written end), and writeQueuedSync() puts everything in the file at once where a caller needs
// the file complete (roll, close, flush, reads of direct store users). Each segment holds at
// most one fd, its .log, and SegmentCache bounds those across the store: an idle partition's
// active segment is closed like an inactive one and reopened on its next append or read.

import fs from 'node:fs';
import path from 'node:path';
import { verifyBatchCrc } from '../../protocol/records/batch.js';
import { BATCH_HEADER_SIZE } from '../../protocol/records/constants.js';
import { batchHeaderProblem, readBatchHeader, type BatchHeader } from '../../protocol/records/header.js';
import { INT32_MAX, LogStoreError } from './common.js';
import { readFully, writeFileAtomic, writeFileAtomicAsync, writeFully } from './fs-util.js';

export const OFFSET_INDEX_ENTRY = 8;
export const TIME_INDEX_ENTRY = 12;

export function segmentFileName(base: bigint, ext: '.log' | '.index' | '.timeindex'): string {
  return base.toString().padStart(20, '0') + ext;
}

export const SEGMENT_LOG_FILE = /^(\d{20})\.log$/;

/** A STORAGE_ERROR naming what failed and why (the errno text of `err`). */
export function storageError(what: string, err: unknown): LogStoreError {
  if (err instanceof LogStoreError) return err;
  const out = new LogStoreError('STORAGE_ERROR', `${what}: ${(err as Error)?.message ?? String(err)}`);
  out.cause = err;
  return out;
}

/** A batch appended in memory and not yet (known to be) in the file. */
interface QueuedWrite {
  pos: number;
  buf: Buffer;
  /** lastOffset + 1 of the batch. */
  endOffset: bigint;
}

/** Growable in-memory copy of an index file. */
class EntryBuffer {
  protected buf: Buffer;
  count: number;

  constructor(
    protected readonly entrySize: number,
    initial?: Buffer,
  ) {
    if (initial !== undefined) {
      this.count = Math.floor(initial.length / entrySize);
      this.buf = initial;
    } else {
      this.count = 0;
      this.buf = Buffer.alloc(entrySize * 64);
    }
  }

  protected slot(): number {
    const need = (this.count + 1) * this.entrySize;
    if (need > this.buf.length) {
      const grown = Buffer.alloc(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.count * this.entrySize);
      this.buf = grown;
    }
    return this.count++ * this.entrySize;
  }

  /** The bytes of all entries. */
  data(): Buffer {
    return this.buf.subarray(0, this.count * this.entrySize);
  }

  /** The bytes of entries from `from` on. */
  tail(from: number): Buffer {
    return this.buf.subarray(from * this.entrySize, this.count * this.entrySize);
  }

  /** Forgets entries from `count` on (undoing a failed append). */
  truncateTo(count: number): void {
    if (count < this.count) this.count = count;
  }
}

export class OffsetIndex extends EntryBuffer {
  constructor(initial?: Buffer) {
    super(OFFSET_INDEX_ENTRY, initial);
  }

  append(relOffset: number, position: number): void {
    const at = this.slot();
    this.buf.writeInt32BE(relOffset, at);
    this.buf.writeInt32BE(position, at + 4);
  }

  relOffset(i: number): number {
    return this.buf.readInt32BE(i * OFFSET_INDEX_ENTRY);
  }

  position(i: number): number {
    return this.buf.readInt32BE(i * OFFSET_INDEX_ENTRY + 4);
  }

  /** Position of the last entry whose relative offset <= relOffset, or 0 (segment start). */
  lookup(relOffset: number): number {
    const i = this.floorIndex(relOffset);
    return i < 0 ? 0 : this.position(i);
  }

  /** Index of the last entry whose relative offset <= relOffset, or -1 (scan from the segment start). */
  floorIndex(relOffset: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.relOffset(mid) <= relOffset) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /**
   * Why these entries cannot index a log of `logSize` bytes, if they cannot: relative offsets and
   * positions must both increase strictly, and positions lie inside the log.
   */
  problem(logSize: number): string | undefined {
    for (let i = 0; i < this.count; i++) {
      const rel = this.relOffset(i);
      const pos = this.position(i);
      if (rel < 0 || pos < 0 || pos >= logSize) return `offset index entry ${i} (${rel}, ${pos}) lies outside the log`;
      if (i > 0 && (rel <= this.relOffset(i - 1) || pos <= this.position(i - 1))) return `offset index entry ${i} (${rel}, ${pos}) does not increase`;
    }
    return undefined;
  }
}

export class TimeIndex extends EntryBuffer {
  constructor(initial?: Buffer) {
    super(TIME_INDEX_ENTRY, initial);
  }

  append(timestamp: bigint, relOffset: number): void {
    const at = this.slot();
    this.buf.writeBigInt64BE(timestamp, at);
    this.buf.writeInt32BE(relOffset, at + 8);
  }

  timestamp(i: number): bigint {
    return this.buf.readBigInt64BE(i * TIME_INDEX_ENTRY);
  }

  relOffset(i: number): number {
    return this.buf.readInt32BE(i * TIME_INDEX_ENTRY + 8);
  }

  lastTimestamp(): bigint {
    return this.count === 0 ? -1n : this.timestamp(this.count - 1);
  }

  /** Relative offset of the last entry whose timestamp <= ts, or undefined if there is none. */
  lookup(ts: bigint): number | undefined {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamp(mid) <= ts) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : this.relOffset(lo - 1);
  }

  /** Why these entries are not a valid time index, if they are not (timestamps strictly increase). */
  problem(): string | undefined {
    for (let i = 0; i < this.count; i++) {
      const rel = this.relOffset(i);
      if (rel < 0) return `time index entry ${i} has a negative offset`;
      if (i > 0 && (this.timestamp(i) <= this.timestamp(i - 1) || rel < this.relOffset(i - 1))) return `time index entry ${i} does not increase`;
    }
    return undefined;
  }
}

/** Windowed reader over a segment file for walking batch headers without a syscall per batch. */
export class BatchScanner {
  private readonly win: Buffer;
  private winStart = 0;
  private winLen = 0;

  constructor(
    private readonly fd: number,
    private readonly end: number,
    windowSize = 16 * 1024,
  ) {
    this.win = Buffer.allocUnsafe(windowSize);
  }

  /**
   * Bytes [pos, pos+n), or undefined if the data ends first. The view is only valid until the
   * next call.
   */
  view(pos: number, n: number): Buffer | undefined {
    if (pos + n > this.end) return undefined;
    if (pos >= this.winStart && pos + n <= this.winStart + this.winLen) {
      return this.win.subarray(pos - this.winStart, pos - this.winStart + n);
    }
    if (n > this.win.length) {
      const big = Buffer.allocUnsafe(n);
      return readFully(this.fd, big, 0, n, pos) === n ? big : undefined;
    }
    const want = Math.min(this.win.length, this.end - pos);
    this.winStart = pos;
    this.winLen = readFully(this.fd, this.win, 0, want, pos);
    if (this.winLen < n) return undefined;
    return this.win.subarray(0, n);
  }

  /** Header of the batch at `pos`, or undefined if fewer than BATCH_HEADER_SIZE bytes remain. */
  header(pos: number): BatchHeader | undefined {
    const v = this.view(pos, BATCH_HEADER_SIZE);
    return v === undefined ? undefined : readBatchHeader(v);
  }
}

export interface ScanOutcome {
  /** Bytes of valid batches from the segment start. */
  validBytes: number;
  /** Why scanning stopped before the end of the file, if it did. */
  problem?: string;
  /** lastOffset / partitionLeaderEpoch of the last valid batch, if any. */
  lastOffset?: bigint;
  lastEpoch?: number;
}

/** What recovery cut from the end of an active segment (for the warning that says so). */
export interface TailCut {
  /** First offset no longer in the log (the log end offset after the cut). */
  fromOffset: bigint;
  /** Last offset named by a structurally sane batch header in the cut bytes, if any. */
  toOffset?: bigint;
  /** Batches and records the cut bytes seem to hold (headers walked without CRC checks). */
  batches: number;
  records: number;
  bytes: number;
}

/** Index density used when an index is rebuilt on a read path (it only affects lookup speed). */
const REBUILD_INDEX_INTERVAL = 4096;

function openRw(file: string): number {
  return fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
}

export class Segment {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  /** Bytes in the .log file. */
  size = 0;
  /** Largest batch maxTimestamp in the segment (-1 if none) and the lastOffset of its batch. */
  maxTimestamp = -1n;
  offsetOfMaxTimestamp = -1n;

  /**
   * Open log fd, or undefined while the segment cache has it closed (SegmentCache.use opens it):
   * read-write for the active segment, read-only for an inactive one loaded for reads.
   */
  fd: number | undefined;
  /**
   * The indexes: always in memory for the active segment (its only up-to-date copy: the files are
   * written when it is rolled or closed), loaded with the fd for an inactive one.
   */
  offsetIndex: OffsetIndex | undefined;
  timeIndex: TimeIndex | undefined;

  active = false;
  private bytesSinceIndexEntry = 0;
  /** Writes to the file so far, and how many of them the last completed fsync covers (the log is dirty while they differ). */
  private writes = 0;
  private syncedWrites = 0;
  /** The index files hold exactly the in-memory indexes (active segment: nothing appended since they were written or read). */
  private indexFilesCurrent = false;
  /** Index density to rebuild with (the partition's index.interval.bytes as last seen). */
  private indexInterval = REBUILD_INDEX_INTERVAL;
  /** Bytes known to be in the file; `size` also counts the queued ones. */
  fileSize = 0;
  /** Appended batches not yet written to the file, in position order. */
  private queued: QueuedWrite[] = [];
  /** The fd a writeQueuedAsync is using, and the one to close when it ends (the cache let go of it). */
  private ioFd: number | undefined;
  private closeAfterIo: number | undefined;
  /**
   * Set by a truncation (truncate): the file must be cut to this length before anything more is
   * written to it. A write running when the truncation came may still put cut bytes in the file:
   * the cut then waits for it to end (and no other write starts meanwhile: `fenced`); also kept
   * when the cut itself failed, for the next write to retry.
   */
  private cutAt: number | undefined;
  /** Bumped by every truncate(): an index-file write started before one does not count as current. */
  private truncations = 0;

  constructor(
    readonly dir: string,
    readonly base: bigint,
  ) {
    this.logPath = path.join(dir, segmentFileName(base, '.log'));
    this.indexPath = path.join(dir, segmentFileName(base, '.index'));
    this.timeIndexPath = path.join(dir, segmentFileName(base, '.timeindex'));
  }

  get loaded(): boolean {
    return this.fd !== undefined;
  }

  /**
   * Creates the (empty) log file of a new active segment and leaves it open; its index files are
   * first written when it is rolled or closed. If the file cannot be made (EMFILE, ENOSPC) a
   * STORAGE_ERROR is thrown and nothing is left behind.
   */
  static create(dir: string, base: bigint): Segment {
    const seg = new Segment(dir, base);
    try {
      seg.fd = fs.openSync(seg.logPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
    } catch (err) {
      seg.discard();
      throw storageError(`cannot create segment ${seg.logPath}`, err);
    }
    seg.offsetIndex = new OffsetIndex();
    seg.timeIndex = new TimeIndex();
    seg.active = true;
    return seg;
  }

  /**
   * Opens the last segment of a partition as the active one, leaving its fd open.
   *
   * After a clean shutdown (Kafka's .kafka_cleanshutdown) close() left index files that describe
   * the whole log: they are read, and only the batches from the last indexed one to the end of the
   * file are walked (headers, no CRCs), as Kafka loads a cleanly closed log without recovery. If
   * the files do not fit the log, or after any other start, every batch is walked to rebuild the
   * indexes in memory. After an unclean shutdown every batch is checked (header sanity, CRC-32C,
   * offsets increasing) and the file is cut after the last good one (`cut` says what went); after
   * a clean one only headers are checked, so a flipped bit in one record does not cost every batch
   * after it (consumers check CRCs), and if the headers do not hold together even so the unclean
   * recovery runs after all (`verified`).
   */
  static openActive(
    dir: string,
    base: bigint,
    indexIntervalBytes: number,
    cleanShutdown: boolean,
  ): { seg: Segment; scan: ScanOutcome; fileSize: number; cut?: TailCut; verified: boolean } {
    const seg = new Segment(dir, base);
    try {
      seg.fd = openRw(seg.logPath);
      const fileSize = fs.fstatSync(seg.fd).size;
      seg.active = true;
      if (cleanShutdown) {
        const scan = seg.loadIndexFiles(fileSize, indexIntervalBytes);
        if (scan !== undefined) {
          seg.size = fileSize;
          seg.fileSize = fileSize;
          return { seg, scan, fileSize, verified: false };
        }
      }
      let verified = !cleanShutdown;
      let scan = seg.scanAndIndex(fileSize, verified, indexIntervalBytes);
      if (!verified && scan.validBytes < fileSize) {
        verified = true;
        scan = seg.scanAndIndex(fileSize, true, indexIntervalBytes);
      }
      let cut: TailCut | undefined;
      if (scan.validBytes < fileSize) {
        cut = seg.describeTail(scan, fileSize);
        fs.ftruncateSync(seg.fd, scan.validBytes);
      }
      seg.size = scan.validBytes;
      seg.fileSize = scan.validBytes;
      return { seg, scan, fileSize, cut, verified };
    } catch (err) {
      seg.discardFd();
      throw err;
    }
  }

  /**
   * The active segment's indexes from the files a clean close wrote, completed by walking the
   * batches from the last indexed one to `end`. undefined (nothing changed that matters: the caller
   * rebuilds everything) when the files are missing, malformed, or do not match the log.
   */
  private loadIndexFiles(end: number, indexIntervalBytes: number): ScanOutcome | undefined {
    let offsetIndex: OffsetIndex;
    let timeIndex: TimeIndex;
    let timeIndexBytes: number;
    try {
      const o = fs.readFileSync(this.indexPath);
      const t = fs.readFileSync(this.timeIndexPath);
      if (o.length % OFFSET_INDEX_ENTRY !== 0 || t.length % TIME_INDEX_ENTRY !== 0) return undefined;
      offsetIndex = new OffsetIndex(o);
      timeIndex = new TimeIndex(t);
      timeIndexBytes = t.length;
    } catch {
      return undefined;
    }
    if (offsetIndex.problem(end) !== undefined || timeIndex.problem() !== undefined) return undefined;
    const entries = offsetIndex.count;
    // The walk starts at the last indexed batch, which must end at the entry's offset.
    let pos = entries === 0 ? 0 : offsetIndex.position(entries - 1);
    const indexedLast = entries === 0 ? undefined : this.base + BigInt(offsetIndex.relOffset(entries - 1));
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.indexInterval = indexIntervalBytes;
    this.bytesSinceIndexEntry = 0;
    this.maxTimestamp = timeIndex.lastTimestamp();
    this.offsetOfMaxTimestamp = timeIndex.count === 0 ? -1n : this.base + BigInt(timeIndex.relOffset(timeIndex.count - 1));
    const scanner = new BatchScanner(this.fd!, end, 64 * 1024);
    const out: ScanOutcome = { validBytes: pos };
    let next = this.base;
    while (pos < end) {
      const h = scanner.header(pos);
      if (h === undefined || batchHeaderProblem(h, end - pos) !== undefined || h.baseOffset < next) return undefined;
      const last = h.baseOffset + BigInt(h.lastOffsetDelta);
      if (out.lastOffset === undefined && indexedLast !== undefined && last !== indexedLast) return undefined;
      if (last - this.base > BigInt(INT32_MAX)) return undefined;
      // The indexed batch itself gets no second entry: bytesSinceIndexEntry is 0 before it.
      this.indexBatch(pos, h.sizeInBytes, last, h.maxTimestamp, indexIntervalBytes);
      pos += h.sizeInBytes;
      next = last + 1n;
      out.validBytes = pos;
      out.lastOffset = last;
      out.lastEpoch = h.partitionLeaderEpoch;
    }
    if (indexedLast !== undefined && out.lastOffset === undefined) return undefined;
    // A time index naming offsets the log does not hold is not this log's.
    if (timeIndex.count > 0 && (out.lastOffset === undefined || this.offsetOfMaxTimestamp > out.lastOffset)) return undefined;
    // The files need no rewrite if the walk added nothing and they end with the final time entry.
    this.indexFilesCurrent = offsetIndex.count === entries && timeIndex.count * TIME_INDEX_ENTRY === timeIndexBytes && this.maxTimestamp === timeIndex.lastTimestamp();
    return out;
  }

  /** Walks the headers of the bytes recovery is about to cut, to say what they held. */
  private describeTail(scan: ScanOutcome, end: number): TailCut {
    const fromOffset = scan.lastOffset !== undefined ? scan.lastOffset + 1n : this.base;
    const out: TailCut = { fromOffset, batches: 0, records: 0, bytes: end - scan.validBytes };
    const scanner = new BatchScanner(this.fd!, end, 64 * 1024);
    for (let pos = scan.validBytes; pos < end; ) {
      const h = scanner.header(pos);
      if (h === undefined || batchHeaderProblem(h, end - pos) !== undefined || h.baseOffset < fromOffset) break;
      out.batches++;
      out.records += h.recordCount;
      out.toOffset = h.baseOffset + BigInt(h.lastOffsetDelta);
      pos += h.sizeInBytes;
    }
    return out;
  }

  /**
   * Opens an inactive segment's metadata: file sizes and the time index's last entry. If an index
   * file is missing or malformed both indexes are rebuilt from the log (returns the reason).
   * Leaves no fd open.
   */
  static openInactive(dir: string, base: bigint, indexIntervalBytes: number): { seg: Segment; rebuilt?: string } {
    const seg = new Segment(dir, base);
    seg.indexInterval = indexIntervalBytes;
    seg.size = fs.statSync(seg.logPath).size;
    seg.fileSize = seg.size;
    const problem = seg.indexProblem();
    if (problem === undefined) {
      const tsize = fs.statSync(seg.timeIndexPath).size;
      if (tsize >= TIME_INDEX_ENTRY) {
        const last = Buffer.alloc(TIME_INDEX_ENTRY);
        const fd = fs.openSync(seg.timeIndexPath, 'r');
        try {
          readFully(fd, last, 0, TIME_INDEX_ENTRY, tsize - TIME_INDEX_ENTRY);
        } finally {
          fs.closeSync(fd);
        }
        seg.maxTimestamp = last.readBigInt64BE(0);
        seg.offsetOfMaxTimestamp = base + BigInt(last.readInt32BE(8));
      }
      return { seg };
    }
    seg.fd = fs.openSync(seg.logPath, 'r');
    try {
      seg.scanAndIndex(seg.size, false, indexIntervalBytes);
      seg.finalizeTimeIndex();
      fs.writeFileSync(seg.indexPath, seg.offsetIndex!.data());
      fs.writeFileSync(seg.timeIndexPath, seg.timeIndex!.data());
    } finally {
      seg.unload();
    }
    return { seg, rebuilt: problem };
  }

  private indexProblem(): string | undefined {
    let isize: number;
    let tsize: number;
    try {
      isize = fs.statSync(this.indexPath).size;
      tsize = fs.statSync(this.timeIndexPath).size;
    } catch {
      return 'index file missing';
    }
    if (isize % OFFSET_INDEX_ENTRY !== 0) return 'offset index size is not a whole number of entries';
    if (tsize % TIME_INDEX_ENTRY !== 0) return 'time index size is not a whole number of entries';
    if (isize > 0) {
      const last = Buffer.alloc(OFFSET_INDEX_ENTRY);
      const fd = fs.openSync(this.indexPath, 'r');
      try {
        readFully(fd, last, 0, OFFSET_INDEX_ENTRY, isize - OFFSET_INDEX_ENTRY);
      } finally {
        fs.closeSync(fd);
      }
      if (last.readInt32BE(4) >= this.size || last.readInt32BE(0) < 0) return 'offset index points past the log';
    }
    return undefined;
  }

  /**
   * Walks batches from position 0 to `end`, rebuilding the in-memory indexes and the max
   * timestamp; stops at the first batch that fails the checks.
   */
  private scanAndIndex(end: number, verifyCrc: boolean, indexIntervalBytes: number): ScanOutcome {
    this.indexInterval = indexIntervalBytes;
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.maxTimestamp = -1n;
    this.offsetOfMaxTimestamp = -1n;
    this.bytesSinceIndexEntry = 0;
    const scanner = new BatchScanner(this.fd!, end, 1024 * 1024);
    const out: ScanOutcome = { validBytes: 0 };
    let next = this.base;
    let pos = 0;
    while (pos < end) {
      const h = scanner.header(pos);
      if (h === undefined) {
        out.problem = `incomplete batch header at position ${pos}`;
        break;
      }
      const problem = batchHeaderProblem(h, end - pos);
      if (problem !== undefined) {
        out.problem = `${problem} at position ${pos}`;
        break;
      }
      if (h.baseOffset < next) {
        out.problem = `batch at position ${pos} has baseOffset ${h.baseOffset}, expected >= ${next}`;
        break;
      }
      const last = h.baseOffset + BigInt(h.lastOffsetDelta);
      if (last - this.base > BigInt(INT32_MAX)) {
        out.problem = `batch at position ${pos} has offset ${last} too far from segment base ${this.base}`;
        break;
      }
      if (verifyCrc) {
        const whole = scanner.view(pos, h.sizeInBytes);
        if (whole === undefined || !verifyBatchCrc(whole)) {
          out.problem = `CRC mismatch in batch at position ${pos} (offset ${h.baseOffset})`;
          break;
        }
      }
      this.indexBatch(pos, h.sizeInBytes, last, h.maxTimestamp, indexIntervalBytes);
      pos += h.sizeInBytes;
      next = last + 1n;
      out.validBytes = pos;
      out.lastOffset = last;
      out.lastEpoch = h.partitionLeaderEpoch;
    }
    return out;
  }

  /** Index bookkeeping for one batch stored at `pos` (shared by append and rebuild). */
  private indexBatch(pos: number, size: number, lastOffset: bigint, maxTimestamp: bigint, indexIntervalBytes: number): void {
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = lastOffset;
    }
    if (this.bytesSinceIndexEntry > indexIntervalBytes) {
      this.offsetIndex!.append(Number(lastOffset - this.base), pos);
      if (this.maxTimestamp > this.timeIndex!.lastTimestamp()) {
        this.timeIndex!.append(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.base));
      }
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += size;
  }

  /**
   * Adds the final time-index entry for the segment's largest timestamp (in memory). On the
   * active segment (before its index files are written) this is an ordinary entry: timestamps
   * still increase, and it names the batch that first reached its timestamp.
   */
  private finalizeTimeIndex(): boolean {
    if (this.maxTimestamp > this.timeIndex!.lastTimestamp()) {
      this.timeIndex!.append(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.base));
      return true;
    }
    return false;
  }

  /** true if a batch of `size` bytes ending at `lastOffset` still fits this segment's framing. */
  canHold(lastOffset: bigint): boolean {
    return lastOffset - this.base <= BigInt(INT32_MAX);
  }

  /**
   * Appends one batch to the active segment in memory: position, indexes and size move now, and the
   * bytes are queued for the file (writeQueuedAsync / writeQueuedSync). No I/O, cannot fail.
   */
  append(batch: Buffer, lastOffset: bigint, maxTimestamp: bigint, indexIntervalBytes: number): void {
    this.indexInterval = indexIntervalBytes;
    const pos = this.size;
    this.indexBatch(pos, batch.length, lastOffset, maxTimestamp, indexIntervalBytes);
    this.queued.push({ pos, buf: batch, endOffset: lastOffset + 1n });
    this.size = pos + batch.length;
    this.indexFilesCurrent = false;
  }

  // ---- truncation (issue 10: a follower's log) ----

  /** The queued batch starting at `pos`, if one does (the queue is in position order). */
  private queuedAt(pos: number): QueuedWrite | undefined {
    let lo = 0;
    let hi = this.queued.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queued[mid]!.pos < pos) lo = mid + 1;
      else hi = mid;
    }
    const q = this.queued[lo];
    return q !== undefined && q.pos === pos ? q : undefined;
  }

  /**
   * The header of the batch at `pos` (< size), from the file through `scanner` (bounded by
   * fileSize) or from the queue past it; undefined if no whole, sane batch is there.
   */
  headerAt(scanner: BatchScanner, pos: number): BatchHeader | undefined {
    if (pos >= this.fileSize) {
      const q = this.queuedAt(pos);
      return q === undefined ? undefined : readBatchHeader(q.buf);
    }
    const h = scanner.header(pos);
    return h === undefined || batchHeaderProblem(h, this.fileSize - pos) !== undefined ? undefined : h;
  }

  /** The whole batch at `pos` (file or queue; the segment must be loaded). */
  batchAt(pos: number, length: number): Buffer {
    if (pos >= this.fileSize) {
      const q = this.queuedAt(pos);
      if (q !== undefined) return q.buf;
    }
    return this.readRange(pos, length);
  }

  /**
   * An inactive segment (loaded: SegmentCache.use) a truncation cut into becomes the active one
   * again: its fd reopened read-write, its indexes kept in memory from now on (its index files
   * are written again at its next roll or a clean close).
   */
  reactivate(): void {
    if (this.active) return;
    this.discardFd();
    this.fd = fs.openSync(this.logPath, fs.constants.O_RDWR);
    this.active = true;
    this.fileSize = this.size;
    this.indexFilesCurrent = false;
  }

  /**
   * Cuts the active segment at `pos` (the start of the first batch that goes, or its size), where
   * the batches kept end at `endOffset` (Kafka's LogSegment.truncateTo): index entries naming cut
   * batches go, the largest timestamp is found again (the last time-index entry kept, then the
   * batches after the last offset-index entry kept), queued cut batches are dropped, and the file
   * is cut and synced. While a write runs the cut waits for it (`fenced`: no other write starts;
   * readers stay below fileSize, lowered now). A cut that fails stays due (returned, for a warning).
   */
  truncate(pos: number, endOffset: bigint): LogStoreError | undefined {
    const idx = this.offsetIndex!;
    const tidx = this.timeIndex!;
    let n = idx.count;
    while (n > 0 && idx.position(n - 1) >= pos) n--;
    idx.truncateTo(n);
    let t = tidx.count;
    while (t > 0 && this.base + BigInt(tidx.relOffset(t - 1)) >= endOffset) t--;
    tidx.truncateTo(t);
    this.maxTimestamp = t > 0 ? tidx.timestamp(t - 1) : -1n;
    this.offsetOfMaxTimestamp = t > 0 ? this.base + BigInt(tidx.relOffset(t - 1)) : -1n;
    const from = n > 0 ? idx.position(n - 1) : 0;
    const scanner = new BatchScanner(this.fd!, this.fileSize);
    for (let p = from; p < pos; ) {
      const h = this.headerAt(scanner, p);
      if (h === undefined) throw new LogStoreError('CORRUPT_MESSAGE', `corrupt record batch at position ${p} of ${this.logPath}`);
      if (h.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = h.maxTimestamp;
        this.offsetOfMaxTimestamp = h.baseOffset + BigInt(h.lastOffsetDelta);
      }
      p += h.sizeInBytes;
    }
    this.bytesSinceIndexEntry = pos - from;
    this.queued = this.queued.filter((q) => q.pos < pos);
    this.size = pos;
    this.indexFilesCurrent = false;
    this.truncations++;
    if (this.ioFd !== undefined) {
      // The running write ends at the cut at most (what it wrote below it counts, once it ends).
      this.cutAt = this.cutAt === undefined ? pos : Math.min(this.cutAt, pos);
      if (this.fileSize > pos) this.fileSize = pos;
      return undefined;
    }
    const target = Math.min(this.fileSize, pos);
    this.fileSize = target;
    this.cutAt = this.cutAt === undefined ? target : Math.min(this.cutAt, target);
    try {
      this.cutFile(this.fd!, this.cutAt);
    } catch (err) {
      // Still due: nothing is written to the file before it is done (the next write, sync or not,
      // tries it again first and fails until it works), so a crash meanwhile finds the log as it
      // was before the truncation, never cut batches next to new ones.
      return storageError(`cannot truncate ${this.logPath}`, err);
    }
    return undefined;
  }

  /** Batches appended and not yet written to the file. */
  get queuedWrites(): number {
    return this.queued.length;
  }

  /** true while a writeQueuedAsync is running (its fd stays open until it ends). */
  get writing(): boolean {
    return this.ioFd !== undefined;
  }

  /**
   * Writes everything queued to the file off the event loop (pwritev on the threadpool, repeated
   * for short writes; the fd must be open: SegmentCache.use). `done` gets the end offset written
   * up to, or the STORAGE_ERROR; after a failure the bytes stay queued and the next write starts
   * over from `fileSize` (a half-written batch past it is never read: readers stop at the written
   * end, and recovery cuts a torn tail). The fd is kept open while it runs even if the segment cache
   * lets go of the segment meanwhile (closed when it ends).
   */
  writeQueuedAsync(done: (err: LogStoreError | undefined, endOffset: bigint | undefined) => void): void {
    const batch = this.queued.slice();
    if (batch.length === 0 || this.fd === undefined || this.ioFd !== undefined) {
      process.nextTick(done, undefined, undefined);
      return;
    }
    if (this.cutAt !== undefined) {
      try {
        this.cutFile(this.fd, this.cutAt);
      } catch (err) {
        process.nextTick(done, storageError(`cannot truncate ${this.logPath}`, err), undefined);
        return;
      }
    }
    const fd = this.fd;
    this.ioFd = fd;
    const start = batch[0]!.pos;
    const last = batch[batch.length - 1]!;
    const end = last.pos + last.buf.length;
    let bufs = batch.map((q) => q.buf);
    const finish = (err: unknown): void => {
      this.ioFd = undefined;
      // A truncation came while this write ran: its bytes past the cut are cut now, before any
      // other write (and before the fd may close), and it reports only what it wrote below the cut.
      let cutErr: LogStoreError | undefined;
      let written = end;
      if (this.cutAt !== undefined) {
        const target = err === undefined ? Math.min(end, this.cutAt) : Math.min(this.fileSize, this.cutAt);
        try {
          this.cutFile(fd, target);
        } catch (e) {
          cutErr = storageError(`cannot truncate ${this.logPath}`, e);
          this.cutAt = Math.min(this.fileSize, target);
        }
        written = target;
      }
      if (this.closeAfterIo === fd) {
        this.closeAfterIo = undefined;
        try {
          fs.closeSync(fd);
        } catch {
          // the descriptor is gone either way
        }
      }
      if (cutErr !== undefined) {
        done(cutErr, undefined);
        return;
      }
      // A writeQueuedSync meanwhile may have written these bytes already: then this is no failure.
      if (err !== undefined && this.fileSize < end) {
        done(storageError(`write to ${this.logPath} failed`, err), undefined);
        return;
      }
      this.markWritten(written);
      let endOffset: bigint | undefined;
      for (const q of batch) if (q.pos + q.buf.length <= written) endOffset = q.endOffset;
      done(undefined, endOffset);
    };
    const step = (pos: number): void => {
      fs.writev(fd, bufs, pos, (err, n) => {
        if (err) return finish(err);
        pos += n;
        if (pos >= end) return finish(undefined);
        // A short write: skip what went and write the rest.
        let skip = n;
        while (skip > 0 && skip >= bufs[0]!.length) skip -= bufs.shift()!.length;
        if (skip > 0) bufs[0] = bufs[0]!.subarray(skip);
        step(pos);
      });
    };
    step(start);
  }

  /** true while a write that a truncation cut into is still running: nothing else may write the file until it ends. */
  get fenced(): boolean {
    return this.cutAt !== undefined && this.ioFd !== undefined;
  }

  /** Cuts the log file to `length` and syncs the cut (a crash must not bring cut batches back). */
  private cutFile(fd: number, length: number): void {
    fs.ftruncateSync(fd, length);
    fs.fdatasyncSync(fd);
    this.cutAt = undefined;
    if (this.fileSize > length) this.fileSize = length;
  }

  /**
   * Writes everything queued to the file now, on the calling thread (the fd must be open). Bytes a
   * running writeQueuedAsync is writing are written again at the same place: the same bytes, so
   * whichever lands last is right. Throws STORAGE_ERROR (the bytes stay queued).
   */
  writeQueuedSync(): void {
    if (this.cutAt !== undefined && this.queued.length === 0 && !this.fenced) {
      // A cut still due (it failed at the truncation) is made before anyone counts on the file.
      const fd = this.fd;
      let own: number | undefined;
      try {
        own = fd === undefined ? fs.openSync(this.logPath, fs.constants.O_RDWR) : undefined;
        this.cutFile((fd ?? own)!, this.cutAt);
      } catch (err) {
        throw storageError(`cannot truncate ${this.logPath}`, err);
      } finally {
        if (own !== undefined) fs.closeSync(own);
      }
    }
    if (this.queued.length === 0) return;
    if (this.fenced) throw new LogStoreError('STORAGE_ERROR', `${this.logPath} waits for a write a truncation cut into`);
    try {
      if (this.cutAt !== undefined) this.cutFile(this.fd!, this.cutAt);
      for (const q of this.queued) writeFully(this.fd!, q.buf, q.pos);
    } catch (err) {
      throw storageError(`write to ${this.logPath} failed`, err);
    }
    this.markWritten(this.size);
  }

  /** The file holds everything before `end`: drops the queued batches that are in it. */
  private markWritten(end: number): void {
    if (end <= this.fileSize) return;
    this.fileSize = end;
    let n = 0;
    while (n < this.queued.length && this.queued[n]!.pos + this.queued[n]!.buf.length <= end) n++;
    if (n > 0) this.queued.splice(0, n);
    this.writes++;
  }

  /**
   * fsync of the log file when it was written since the last flush: one fsync, whatever the
   * indexes did (the active segment's are rebuilt by recovery after a crash, and written with an
   * fsync of their own at a roll or clean close). If the segment cache closed the fd meanwhile, a
   * fresh fd is synced: fsync writes back the file's dirty pages whichever fd wrote them. Only what
   * is in the file is synced: writeQueuedSync() first where the queue must be covered.
   */
  flush(): void {
    const upTo = this.writes;
    if (upTo === this.syncedWrites) return;
    try {
      if (this.fd !== undefined) {
        fs.fsyncSync(this.fd);
      } else {
        const fd = fs.openSync(this.logPath, 'r');
        try {
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
    } catch (err) {
      throw storageError(`cannot fsync ${this.logPath}`, err);
    }
    if (upTo > this.syncedWrites) this.syncedWrites = upTo;
  }

  /**
   * fsync of the log file off the event loop (libuv threadpool: open, fsync, close), for the group
   * commit of flush.messages and for rolls. It goes through an fd of its own, never `fd`: the
   * segment cache may close that one while the fsync runs and a later open may reuse its number.
   * `done` is called once, when everything written to the file before this call is on disk or
   * with the STORAGE_ERROR; nothing written means no I/O. A roll or close meanwhile does not
   * matter: the file stays (a deleted one stays readable through the open fd).
   */
  syncAsync(done: (err: LogStoreError | undefined) => void): void {
    const upTo = this.writes;
    if (upTo === this.syncedWrites) {
      process.nextTick(done, undefined);
      return;
    }
    fs.open(this.logPath, 'r', (openErr, fd) => {
      if (openErr) {
        done(storageError(`cannot fsync ${this.logPath}`, openErr));
        return;
      }
      fs.fsync(fd, (syncErr) => {
        fs.close(fd, () => {
          if (syncErr) {
            done(storageError(`cannot fsync ${this.logPath}`, syncErr));
            return;
          }
          if (upTo > this.syncedWrites) this.syncedWrites = upTo;
          done(undefined);
        });
      });
    });
  }

  /**
   * Makes the active segment's files final: the queue written, the log synced, the index files
   * written from memory (with the final time-index entry) and synced. A clean close calls it so
   * that the next start can read them instead of walking the log. Nothing is written when the
   * files are current. Throws STORAGE_ERROR; the segment stays active and usable either way.
   */
  writeIndexFiles(): void {
    this.writeQueuedSync();
    this.flush();
    if (this.indexFilesCurrent) return;
    this.finalizeTimeIndex();
    try {
      writeWholeFile(this.indexPath, this.offsetIndex!.data());
      writeWholeFile(this.timeIndexPath, this.timeIndex!.data());
    } catch (err) {
      throw storageError(`cannot write the indexes of ${this.logPath}`, err);
    }
    this.indexFilesCurrent = true;
  }

  /**
   * writeIndexFiles() off the event loop, for a segment a roll has sealed (no more appends; its
   * queue written by the roll): log fsync, then each index file written to a temp file, synced and
   * renamed over (a crash leaves the old file or none, and a missing one is rebuilt at the next
   * open). The caller deactivates the segment when it resolves. Rejects with STORAGE_ERROR.
   */
  async writeIndexFilesAsync(): Promise<void> {
    if (this.queued.length > 0) throw new LogStoreError('STORAGE_ERROR', `${this.logPath} still has unwritten batches`);
    const truncations = this.truncations;
    await new Promise<void>((resolve, reject) => this.syncAsync((err) => (err ? reject(err) : resolve())));
    // Closed meanwhile (deleted), or truncated (active again): nothing to finish here.
    if (this.indexFilesCurrent || this.offsetIndex === undefined || this.truncations !== truncations) return;
    this.finalizeTimeIndex();
    // Copies: the arrays behind the indexes are replaced as they grow, never written in place
    // once sealed, but a copy keeps that an implementation detail.
    const o = Buffer.from(this.offsetIndex!.data());
    const t = Buffer.from(this.timeIndex!.data());
    try {
      await writeFileAtomicAsync(this.indexPath, o);
      await writeFileAtomicAsync(this.timeIndexPath, t);
    } catch (err) {
      throw storageError(`cannot write the indexes of ${this.logPath}`, err);
    }
    // Files written from indexes a truncation changed since are not current (rewritten at the next roll or close).
    if (this.truncations === truncations) this.indexFilesCurrent = true;
  }

  /** Turns the active segment into an inactive one, after writeIndexFiles() (no I/O). */
  deactivate(): void {
    this.active = false;
    // Unloaded meanwhile: its indexes are in the files now and load again on use.
    if (this.fd === undefined) this.unload();
  }

  /**
   * Makes fd and indexes available for reads: an active segment whose fd the segment cache closed
   * gets it back (its indexes never left memory); an inactive one is loaded lazily. Index files
   * whose entries do not hold together (not increasing, pointing outside the log, unreadable) are
   * rebuilt from the log; returns why when that happened.
   */
  load(): string | undefined {
    if (this.fd !== undefined) return undefined;
    if (this.active) {
      // No O_CREAT: a log file that vanished is an error, not an empty file to write at `size` into.
      this.fd = fs.openSync(this.logPath, fs.constants.O_RDWR);
      return undefined;
    }
    this.fd = fs.openSync(this.logPath, 'r');
    let problem: string | undefined;
    try {
      this.offsetIndex = new OffsetIndex(fs.readFileSync(this.indexPath));
      this.timeIndex = new TimeIndex(fs.readFileSync(this.timeIndexPath));
      problem = this.offsetIndex.problem(this.size) ?? this.timeIndex.problem();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.discardFd();
        throw storageError(`cannot read the indexes of ${this.logPath}`, err);
      }
      problem = `index file missing: ${(err as Error).message}`;
    }
    if (problem !== undefined) {
      try {
        this.rebuildIndexes();
      } catch (err) {
        this.discardFd();
        this.offsetIndex = undefined;
        this.timeIndex = undefined;
        throw storageError(`cannot rebuild the indexes of ${this.logPath} (${problem})`, err);
      }
    }
    return problem;
  }

  /**
   * Rebuilds the indexes of a loaded inactive segment from its batch headers (no CRC checks) and
   * rewrites the index files (best effort: if that fails the rebuilt indexes still serve from
   * memory). The scan stops at a broken batch; the indexes then cover the log before it.
   */
  rebuildIndexes(): void {
    if (this.active) return;
    const maxTimestamp = this.maxTimestamp;
    const offsetOfMaxTimestamp = this.offsetOfMaxTimestamp;
    this.scanAndIndex(this.size, false, this.indexInterval);
    this.finalizeTimeIndex();
    // A scan cut short by a broken batch must not lower what the segment is known to hold.
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = offsetOfMaxTimestamp;
    }
    try {
      writeFileAtomic(this.indexPath, this.offsetIndex!.data());
      writeFileAtomic(this.timeIndexPath, this.timeIndex!.data());
    } catch {
      // the in-memory indexes are right; the files are checked again at the next load
    }
  }

  /**
   * Closes the fd (the segment cache's eviction). An inactive segment also lets go of its indexes;
   * the active one keeps them (they are its only up-to-date copy) and reopens its fd on next use.
   */
  unload(): void {
    this.discardFd();
    if (this.active) return;
    this.offsetIndex = undefined;
    this.timeIndex = undefined;
  }

  close(): void {
    this.discardFd();
    this.offsetIndex = undefined;
    this.timeIndex = undefined;
    this.active = false;
  }

  /** Closes whatever a failed create() opened and removes its file. */
  private discard(): void {
    this.discardFd();
    try {
      fs.rmSync(this.logPath, { force: true });
    } catch {
      // best effort: an empty leftover segment file is harmless
    }
  }

  /** Closes the fd without throwing (Linux releases it even when close reports an error). */
  private discardFd(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    if (fd === this.ioFd) {
      // A write is using it: closed when that ends.
      this.closeAfterIo = fd;
      return;
    }
    try {
      fs.closeSync(fd);
    } catch {
      // nothing to do: the descriptor is gone either way
    }
  }

  /** Reads `length` bytes at `pos` into a fresh buffer (must be loaded). */
  readRange(pos: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    const n = readFully(this.fd!, out, 0, length, pos);
    if (n !== length) {
      throw new LogStoreError('STORAGE_ERROR', `short read from ${this.logPath}: ${n} of ${length} bytes at ${pos}`);
    }
    return out;
  }

  /** A relative offset for index lookups, clamped into int32 range. */
  rel(offset: bigint): number {
    const d = offset - this.base;
    if (d <= 0n) return 0;
    return d > BigInt(INT32_MAX) ? INT32_MAX : Number(d);
  }
}

/** Replaces a file's contents in place and fsyncs it (see Segment.writeIndexFiles for why in place is safe). */
export function writeWholeFile(file: string, data: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    writeFully(fd, data, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Asynchronous file operations in flight at once per store (SegmentCache.withIoSlot): libuv's
 * default threadpool size, so more would only wait there, holding descriptors.
 */
export const IO_SLOTS = 4;

/** Most inactive segments loaded at once by default: each holds its indexes in memory. */
export const DEFAULT_MAX_LOADED_INACTIVE = 128;

function outOfDescriptors(err: unknown): boolean {
  const errno = err instanceof LogStoreError ? err.cause : err;
  const code = (errno as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * Every open segment file of a store, bounded: an LRU over the segments whose log fd is open,
 * active and inactive alike, of at most `maxOpen` (one fd each: index files are never held open).
 * Using a segment opens its fd if the cache had closed it; going over the budget closes the least
 * recently used one: an idle partition's active segment keeps its indexes in memory and reopens
 * its log on the next append or read, an inactive segment is unloaded (fd and indexes). Inactive
 * segments loaded at once are further bounded by `maxInactive` (their indexes' memory).
 */
export class SegmentCache {
  // Two LRUs (Map insertion order) so the inactive bound never has to search; each value is the
  // use tick, to find the least recently used of the two heads.
  private readonly activeLru = new Map<Segment, number>();
  private readonly inactiveLru = new Map<Segment, number>();
  private tick = 0;
  private ioInFlight = 0;
  private readonly ioQueue: Array<(release: () => void) => void> = [];
  readonly maxOpen: number;
  readonly maxInactive: number;

  constructor(
    maxOpen = 1024,
    /** Told when loading a segment found its index files broken and rebuilt them (logged). */
    private readonly onIndexRebuilt?: (seg: Segment, reason: string) => void,
    maxInactive = DEFAULT_MAX_LOADED_INACTIVE,
  ) {
    this.maxOpen = Math.max(1, Math.floor(maxOpen));
    this.maxInactive = Math.max(1, Math.min(this.maxOpen, Math.floor(maxInactive)));
  }

  /**
   * Runs `start` when one of the store's IO_SLOTS is free (at once if one is), first come first
   * served; `start` gets the slot's release, to be called exactly once when its work ends. Every
   * asynchronous file operation of the store (a partition's write, or its fsync and roll files)
   * holds a slot: a write keeps its segment's fd open even when the LRU closes it meanwhile and an
   * fsync opens an fd of its own, so the descriptors in use stay within maxOpen + IO_SLOTS however
   * many partitions have work queued.
   */
  withIoSlot(start: (release: () => void) => void): void {
    if (this.ioInFlight < IO_SLOTS) {
      this.ioInFlight++;
      start(this.releaseIoSlot);
    } else {
      this.ioQueue.push(start);
    }
  }

  private readonly releaseIoSlot = (): void => {
    const next = this.ioQueue.shift();
    if (next !== undefined) next(this.releaseIoSlot);
    else this.ioInFlight--;
  };

  /** Segments with an open fd. */
  get openCount(): number {
    return this.activeLru.size + this.inactiveLru.size;
  }

  /**
   * Opens `seg`'s fd if needed (loading an inactive segment's indexes) and marks it most recently
   * used; a segment whose fd is open already (just created or recovered) is counted from now on.
   * Throws STORAGE_ERROR if the file cannot be opened.
   */
  use(seg: Segment): void {
    if (!seg.loaded) {
      let rebuilt: string | undefined;
      try {
        rebuilt = this.withDescriptors(() => seg.load());
      } catch (err) {
        throw storageError(`cannot open ${seg.logPath}`, err);
      }
      if (rebuilt !== undefined) this.onIndexRebuilt?.(seg, rebuilt);
    }
    this.activeLru.delete(seg);
    this.inactiveLru.delete(seg);
    (seg.active ? this.activeLru : this.inactiveLru).set(seg, ++this.tick);
    while (this.inactiveLru.size > this.maxInactive) this.evict(this.inactiveLru);
    while (this.openCount > this.maxOpen) this.evictOldest();
  }

  /**
   * Runs `open`; if the process is out of descriptors (EMFILE/ENFILE: the budget was set above
   * what sockets and other files leave) half of the cached fds are closed and it is tried once more.
   */
  withDescriptors<T>(open: () => T): T {
    try {
      return open();
    } catch (err) {
      if (!outOfDescriptors(err) || this.openCount === 0) throw err;
      for (let n = Math.ceil(this.openCount / 2); n > 0; n--) this.evictOldest();
      return open();
    }
  }

  forget(seg: Segment): void {
    this.activeLru.delete(seg);
    this.inactiveLru.delete(seg);
  }

  private evictOldest(): void {
    const a = this.activeLru.entries().next();
    const i = this.inactiveLru.entries().next();
    if (a.done && i.done) return;
    this.evict(a.done ? this.inactiveLru : i.done ? this.activeLru : a.value[1] < i.value[1] ? this.activeLru : this.inactiveLru);
  }

  private evict(lru: Map<Segment, number>): void {
    const oldest = lru.keys().next().value as Segment;
    lru.delete(oldest);
    oldest.unload();
  }
}
