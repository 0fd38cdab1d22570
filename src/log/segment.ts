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

import fs from 'node:fs';
import path from 'node:path';
import {
  BATCH_HEADER_SIZE,
  batchCrcOk,
  headerProblem,
  readBatchHeader,
  type BatchHeader,
} from './batch-header.js';
import { INT32_MAX, LogStoreError } from './common.js';
import { readFully, writeFileAtomic, writeFully } from './fs-util.js';

export const OFFSET_INDEX_ENTRY = 8;
export const TIME_INDEX_ENTRY = 12;

export function segmentFileName(base: bigint, ext: '.log' | '.index' | '.timeindex'): string {
  return base.toString().padStart(20, '0') + ext;
}

export const SEGMENT_LOG_FILE = /^(\d{20})\.log$/;

/** A STORAGE_ERROR naming what failed and why (the errno text of `err`). */
export function storageError(what: string, err: unknown): LogStoreError {
  if (err instanceof LogStoreError) return err;
  return new LogStoreError('STORAGE_ERROR', `${what}: ${(err as Error)?.message ?? String(err)}`);
}

/** What a failed append restores. */
interface AppendUndo {
  oCount: number;
  tCount: number;
  maxTimestamp: bigint;
  offsetOfMaxTimestamp: bigint;
  bytesSinceIndexEntry: number;
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
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.relOffset(mid) <= relOffset) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : this.position(lo - 1);
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

  /** Open log fd (read-write while active, read-only once loaded for reads). */
  fd: number | undefined;
  offsetIndex: OffsetIndex | undefined;
  timeIndex: TimeIndex | undefined;

  active = false;
  private indexFd: number | undefined;
  private timeIndexFd: number | undefined;
  private bytesSinceIndexEntry = 0;
  private dirty = false;
  /** Index density to rebuild with (the partition's index.interval.bytes as last seen). */
  private indexInterval = REBUILD_INDEX_INTERVAL;

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
   * Creates the (empty) files of a new active segment. If a file cannot be opened (EMFILE, ENOSPC)
   * the ones already made are closed and removed again, and a STORAGE_ERROR is thrown.
   */
  static create(dir: string, base: bigint): Segment {
    const seg = new Segment(dir, base);
    try {
      seg.fd = fs.openSync(seg.logPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
      seg.indexFd = fs.openSync(seg.indexPath, 'w+');
      seg.timeIndexFd = fs.openSync(seg.timeIndexPath, 'w+');
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
   * Opens the last segment of a partition as the active one. After an unclean shutdown every batch
   * is checked (header sanity, CRC-32C, offsets increasing) and the file is cut after the last good
   * one (`cut` says what went). After a clean shutdown (Kafka's .kafka_cleanshutdown) only the
   * headers are walked, without CRCs, as Kafka loads a cleanly closed log without recovery: a
   * flipped bit in one record must not cost every batch after it (consumers check CRCs). If the
   * headers do not hold together even so, the unclean recovery runs after all (`verified`).
   * Both indexes are rebuilt either way.
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
      seg.indexFd = openRw(seg.indexPath);
      seg.timeIndexFd = openRw(seg.timeIndexPath);
      seg.rewriteIndexFiles();
      seg.active = true;
      return { seg, scan, fileSize, cut, verified };
    } catch (err) {
      seg.discardFds();
      throw err;
    }
  }

  /** Walks the headers of the bytes recovery is about to cut, to say what they held. */
  private describeTail(scan: ScanOutcome, end: number): TailCut {
    const fromOffset = scan.lastOffset !== undefined ? scan.lastOffset + 1n : this.base;
    const out: TailCut = { fromOffset, batches: 0, records: 0, bytes: end - scan.validBytes };
    const scanner = new BatchScanner(this.fd!, end, 64 * 1024);
    for (let pos = scan.validBytes; pos < end; ) {
      const h = scanner.header(pos);
      if (h === undefined || headerProblem(h, end - pos) !== undefined || h.baseOffset < fromOffset) break;
      out.batches++;
      out.records += h.recordCount;
      out.toOffset = h.baseOffset + BigInt(h.lastOffsetDelta);
      pos += h.size;
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
      const problem = headerProblem(h, end - pos);
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
        const whole = scanner.view(pos, h.size);
        if (whole === undefined || !batchCrcOk(whole)) {
          out.problem = `CRC mismatch in batch at position ${pos} (offset ${h.baseOffset})`;
          break;
        }
      }
      this.indexBatch(pos, h.size, last, h.maxTimestamp, indexIntervalBytes);
      pos += h.size;
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

  /** Adds the final time-index entry for the segment's largest timestamp (in memory). */
  private finalizeTimeIndex(): boolean {
    if (this.maxTimestamp > this.timeIndex!.lastTimestamp()) {
      this.timeIndex!.append(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.base));
      return true;
    }
    return false;
  }

  private rewriteIndexFiles(): void {
    fs.ftruncateSync(this.indexFd!, 0);
    writeFully(this.indexFd!, this.offsetIndex!.data(), 0);
    fs.ftruncateSync(this.timeIndexFd!, 0);
    writeFully(this.timeIndexFd!, this.timeIndex!.data(), 0);
  }

  /** true if a batch of `size` bytes ending at `lastOffset` still fits this segment's framing. */
  canHold(lastOffset: bigint): boolean {
    return lastOffset - this.base <= BigInt(INT32_MAX);
  }

  /**
   * Appends one batch (the active segment only), all or nothing: if the log write or an index
   * write fails (ENOSPC, EIO, ...) the segment's size, indexes and max timestamp are as before and
   * the files are cut back, so no half-appended batch is ever visible and the next append takes
   * the same position (and its offsets). A cut that fails itself is retried before the next append,
   * which fails until it succeeds. Throws STORAGE_ERROR.
   */
  append(batch: Buffer, lastOffset: bigint, maxTimestamp: bigint, indexIntervalBytes: number): void {
    this.retryPendingCuts();
    this.indexInterval = indexIntervalBytes;
    const pos = this.size;
    const before: AppendUndo = {
      oCount: this.offsetIndex!.count,
      tCount: this.timeIndex!.count,
      maxTimestamp: this.maxTimestamp,
      offsetOfMaxTimestamp: this.offsetOfMaxTimestamp,
      bytesSinceIndexEntry: this.bytesSinceIndexEntry,
    };
    try {
      writeFully(this.fd!, batch, pos);
      this.indexBatch(pos, batch.length, lastOffset, maxTimestamp, indexIntervalBytes);
      if (this.offsetIndex!.count > before.oCount) {
        writeFully(this.indexFd!, this.offsetIndex!.tail(before.oCount), before.oCount * OFFSET_INDEX_ENTRY);
      }
      if (this.timeIndex!.count > before.tCount) {
        writeFully(this.timeIndexFd!, this.timeIndex!.tail(before.tCount), before.tCount * TIME_INDEX_ENTRY);
      }
    } catch (err) {
      this.undoAppend(pos, before);
      throw storageError(`append to ${this.logPath} failed`, err);
    }
    this.size = pos + batch.length;
    this.dirty = true;
  }

  /** File lengths a failed append could not restore yet (log, offset index, time index). */
  private pendingCuts: Array<{ fd: () => number | undefined; length: number }> = [];

  private undoAppend(pos: number, before: AppendUndo): void {
    this.offsetIndex!.truncateTo(before.oCount);
    this.timeIndex!.truncateTo(before.tCount);
    this.maxTimestamp = before.maxTimestamp;
    this.offsetOfMaxTimestamp = before.offsetOfMaxTimestamp;
    this.bytesSinceIndexEntry = before.bytesSinceIndexEntry;
    this.pendingCuts.push(
      { fd: () => this.fd, length: pos },
      { fd: () => this.indexFd, length: before.oCount * OFFSET_INDEX_ENTRY },
      { fd: () => this.timeIndexFd, length: before.tCount * TIME_INDEX_ENTRY },
    );
    try {
      this.retryPendingCuts();
    } catch {
      // retried before the next append; the append's own error is the one to report
    }
  }

  /** Cuts files back to where a failed append found them; throws STORAGE_ERROR if it still cannot. */
  private retryPendingCuts(): void {
    while (this.pendingCuts.length > 0) {
      const c = this.pendingCuts[0]!;
      const fd = c.fd();
      if (fd !== undefined) {
        try {
          fs.ftruncateSync(fd, c.length);
        } catch (err) {
          throw storageError(`cannot cut ${this.logPath} back after a failed append`, err);
        }
      }
      this.pendingCuts.shift();
    }
  }

  /** fsync of the log and index files (when anything was written since the last flush). */
  flush(): void {
    if (!this.dirty) return;
    fs.fsyncSync(this.fd!);
    if (this.indexFd !== undefined) fs.fsyncSync(this.indexFd);
    if (this.timeIndexFd !== undefined) fs.fsyncSync(this.timeIndexFd);
    this.dirty = false;
  }

  /**
   * Turns the active segment into an inactive one: final time-index entry, fsync, index fds closed.
   * On failure (STORAGE_ERROR) the segment stays active and unchanged in memory.
   */
  deactivate(): void {
    this.retryPendingCuts();
    const tBefore = this.timeIndex!.count;
    if (this.finalizeTimeIndex()) {
      try {
        writeFully(this.timeIndexFd!, this.timeIndex!.tail(tBefore), tBefore * TIME_INDEX_ENTRY);
      } catch (err) {
        this.timeIndex!.truncateTo(tBefore);
        throw storageError(`cannot finish the time index of ${this.logPath}`, err);
      }
      this.dirty = true;
    }
    this.flush();
    this.closeIndexFds();
    this.active = false;
  }

  /**
   * Makes fd and indexes available for reads (inactive segments load lazily). Index files whose
   * entries do not hold together (not increasing, pointing outside the log, unreadable) are
   * rebuilt from the log; returns why when that happened.
   */
  load(): string | undefined {
    if (this.fd !== undefined) return undefined;
    this.fd = fs.openSync(this.logPath, 'r');
    let problem: string | undefined;
    try {
      this.offsetIndex = new OffsetIndex(fs.readFileSync(this.indexPath));
      this.timeIndex = new TimeIndex(fs.readFileSync(this.timeIndexPath));
      problem = this.offsetIndex.problem(this.size) ?? this.timeIndex.problem();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.discardFds();
        throw storageError(`cannot read the indexes of ${this.logPath}`, err);
      }
      problem = `index file missing: ${(err as Error).message}`;
    }
    if (problem !== undefined) {
      try {
        this.rebuildIndexes();
      } catch (err) {
        this.discardFds();
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

  /** Releases fd and index memory of an inactive segment. */
  unload(): void {
    if (this.active) return;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.offsetIndex = undefined;
    this.timeIndex = undefined;
  }

  close(): void {
    this.closeIndexFds();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.offsetIndex = undefined;
    this.timeIndex = undefined;
    this.active = false;
  }

  /** Closes whatever a failed create() opened and removes its files. */
  private discard(): void {
    this.discardFds();
    for (const f of [this.logPath, this.indexPath, this.timeIndexPath]) {
      try {
        fs.rmSync(f, { force: true });
      } catch {
        // best effort: an empty leftover segment file is harmless
      }
    }
  }

  /** Closes every fd without throwing (cleanup after a failure). */
  private discardFds(): void {
    for (const fd of [this.fd, this.indexFd, this.timeIndexFd]) {
      if (fd === undefined) continue;
      try {
        fs.closeSync(fd);
      } catch {
        // already failing
      }
    }
    this.fd = undefined;
    this.indexFd = undefined;
    this.timeIndexFd = undefined;
  }

  private closeIndexFds(): void {
    if (this.indexFd !== undefined) fs.closeSync(this.indexFd);
    if (this.timeIndexFd !== undefined) fs.closeSync(this.timeIndexFd);
    this.indexFd = undefined;
    this.timeIndexFd = undefined;
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

/** LRU of loaded inactive segments, bounding open fds and index memory across the store. */
export class SegmentCache {
  private readonly lru = new Map<Segment, true>();

  constructor(
    private readonly max = 128,
    /** Told when loading a segment found its index files broken and rebuilt them (logged). */
    private readonly onIndexRebuilt?: (seg: Segment, reason: string) => void,
  ) {}

  /** Loads `seg` for reading and marks it most recently used. */
  use(seg: Segment): void {
    const rebuilt = seg.load();
    if (rebuilt !== undefined) this.onIndexRebuilt?.(seg, rebuilt);
    if (seg.active) return;
    this.lru.delete(seg);
    this.lru.set(seg, true);
    while (this.lru.size > this.max) {
      const oldest = this.lru.keys().next().value as Segment;
      this.lru.delete(oldest);
      oldest.unload();
    }
  }

  forget(seg: Segment): void {
    this.lru.delete(seg);
  }
}
