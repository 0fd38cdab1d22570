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
import { readFully, writeFully } from './fs-util.js';

export const OFFSET_INDEX_ENTRY = 8;
export const TIME_INDEX_ENTRY = 12;

export function segmentFileName(base: bigint, ext: '.log' | '.index' | '.timeindex'): string {
  return base.toString().padStart(20, '0') + ext;
}

export const SEGMENT_LOG_FILE = /^(\d{20})\.log$/;

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

  /** Creates the (empty) files of a new active segment. */
  static create(dir: string, base: bigint): Segment {
    const seg = new Segment(dir, base);
    seg.fd = fs.openSync(seg.logPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
    seg.indexFd = fs.openSync(seg.indexPath, 'w+');
    seg.timeIndexFd = fs.openSync(seg.timeIndexPath, 'w+');
    seg.offsetIndex = new OffsetIndex();
    seg.timeIndex = new TimeIndex();
    seg.active = true;
    return seg;
  }

  /**
   * Opens an existing segment as the active one: walks every batch (header sanity, CRC-32C,
   * offsets increasing), truncates the file after the last good batch, rebuilds both indexes.
   */
  static recoverActive(dir: string, base: bigint, indexIntervalBytes: number): { seg: Segment; scan: ScanOutcome; fileSize: number } {
    const seg = new Segment(dir, base);
    seg.fd = openRw(seg.logPath);
    const fileSize = fs.fstatSync(seg.fd).size;
    const scan = seg.scanAndIndex(fileSize, true, indexIntervalBytes);
    if (scan.validBytes < fileSize) fs.ftruncateSync(seg.fd, scan.validBytes);
    seg.size = scan.validBytes;
    seg.indexFd = openRw(seg.indexPath);
    seg.timeIndexFd = openRw(seg.timeIndexPath);
    seg.rewriteIndexFiles();
    seg.active = true;
    return { seg, scan, fileSize };
  }

  /**
   * Opens an inactive segment's metadata: file sizes and the time index's last entry. If an index
   * file is missing or malformed both indexes are rebuilt from the log (returns the reason).
   * Leaves no fd open.
   */
  static openInactive(dir: string, base: bigint, indexIntervalBytes: number): { seg: Segment; rebuilt?: string } {
    const seg = new Segment(dir, base);
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

  /** Appends one batch (the active segment only). On a write error the file is cut back. */
  append(batch: Buffer, lastOffset: bigint, maxTimestamp: bigint, indexIntervalBytes: number): void {
    const pos = this.size;
    const oBefore = this.offsetIndex!.count;
    const tBefore = this.timeIndex!.count;
    try {
      writeFully(this.fd!, batch, pos);
    } catch (err) {
      try {
        fs.ftruncateSync(this.fd!, pos);
      } catch {
        // the original error is the interesting one
      }
      throw new LogStoreError('STORAGE_ERROR', `write to ${this.logPath} failed: ${(err as Error).message}`);
    }
    this.size = pos + batch.length;
    this.dirty = true;
    this.indexBatch(pos, batch.length, lastOffset, maxTimestamp, indexIntervalBytes);
    if (this.offsetIndex!.count > oBefore) {
      writeFully(this.indexFd!, this.offsetIndex!.tail(oBefore), oBefore * OFFSET_INDEX_ENTRY);
    }
    if (this.timeIndex!.count > tBefore) {
      writeFully(this.timeIndexFd!, this.timeIndex!.tail(tBefore), tBefore * TIME_INDEX_ENTRY);
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

  /** Turns the active segment into an inactive one: final time-index entry, fsync, index fds closed. */
  deactivate(): void {
    const tBefore = this.timeIndex!.count;
    if (this.finalizeTimeIndex()) {
      writeFully(this.timeIndexFd!, this.timeIndex!.tail(tBefore), tBefore * TIME_INDEX_ENTRY);
      this.dirty = true;
    }
    this.flush();
    this.closeIndexFds();
    this.active = false;
  }

  /** Makes fd and indexes available for reads (inactive segments load lazily). */
  load(): void {
    if (this.fd !== undefined) return;
    this.fd = fs.openSync(this.logPath, 'r');
    this.offsetIndex = new OffsetIndex(fs.readFileSync(this.indexPath));
    this.timeIndex = new TimeIndex(fs.readFileSync(this.timeIndexPath));
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

  constructor(private readonly max = 128) {}

  /** Loads `seg` for reading and marks it most recently used. */
  use(seg: Segment): void {
    seg.load();
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
