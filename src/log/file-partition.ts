// One partition of the file store: a directory `<topic>-<partition>/` holding segments,
// `partition.metadata` (the owning topic id), `leader-epoch-checkpoint` and, once DeleteRecords
// raised it, `log-start-offset-checkpoint`.
//
// The log start offset file uses the format of Kafka's per-log-dir checkpoint of the same name
// ("0", entry count, "topic partition offset" lines) with the one entry of this partition. Kafka
// keeps one such file per log directory; Brook keeps it in the partition directory so that it
// comes and goes with the partition (like leader-epoch-checkpoint), with no stale entries for a
// deleted and recreated topic.

import fs from 'node:fs';
import path from 'node:path';
import { assignOffsets, readTxnMarker } from '../../protocol/records/batch.js';
import { BATCH_HEADER_SIZE } from '../../protocol/records/constants.js';
import { batchHeaderProblem, readBatchHeader, type BatchHeader } from '../../protocol/records/header.js';
import { applyBatchToProducerState, checkAppendable, checkFollowerBatches, findRecord, LogStoreError, retentionCount } from './common.js';
import { assignBatchEpochs, assignEpoch, epochView, latestEpochEntry, truncateEpochsFromEnd, type EpochEntry } from './epoch-cache.js';
import {
  AbortedLookup,
  CleanedTransactions,
  DEFAULT_SEGMENT_INDEX_BYTES,
  NO_PASS,
  OffsetMap,
  canJoinGroup,
  cleanBatch,
  planPass,
  sliceCost,
  type CleanBatchContext,
  type CleanedBatch,
  type CompactionConfig,
  type CompactionResult,
  type GroupableSegment,
  type SegmentGroup,
} from './cleaner.js';
import {
  ProducerStateManager,
  decodeProducerSnapshot,
  decodeTxnIndex,
  encodeTxnIndexEntry,
  type AbortedTxn,
} from './producer-state.js';
import { fsyncDir, removeTempFiles, writeFileAtomic, writeTempFileAsync, fsyncDirAsync, writeFully } from './fs-util.js';
import { BatchScanner, OffsetIndex, Segment, SegmentCache, SEGMENT_LOG_FILE, TimeIndex, storageError, writeWholeFile, type ScanOutcome, type TailCut } from './segment.js';
import { holdsData, moveAside } from './stray.js';
import type { AppendInfo, AppendOptions, LogConfig, PartitionLog, ReadResult, StoreOptions, TimestampLookup } from './types.js';

export const PARTITION_METADATA_FILE = 'partition.metadata';
export const LEADER_EPOCH_FILE = 'leader-epoch-checkpoint';
export const LOG_START_OFFSET_FILE = 'log-start-offset-checkpoint';
/** Where the last compaction pass ended (Kafka's cleaner-offset-checkpoint, per partition here). */
export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';
/** Producer-state snapshots `<offset>.snapshot` (Kafka's name and format); the newest few are kept. */
/** Wait before retrying a failed write or fsync of a partition (retryLater). */
const IO_RETRY_MS = 1000;

export const SNAPSHOT_FILE = /^(\d{20})\.snapshot$/;
const SNAPSHOTS_KEPT = 2;

/** Files of segments taken out of the log, removed after file.delete.delay.ms (Kafka's suffixes). */
export const DELETED_SUFFIX = '.deleted';
/** A compaction rewrite being written. */
export const CLEANED_SUFFIX = '.cleaned';
/** A complete compaction rewrite being swapped in. */
export const SWAP_SUFFIX = '.swap';

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The offset after the last whole batch of a (synced, complete) log file based at `base`. */
function nextOffsetOfFile(file: string, base: bigint): bigint {
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  try {
    const scanner = new BatchScanner(fd, size);
    let next = base;
    for (let pos = 0; pos < size; ) {
      const h = scanner.header(pos);
      if (h === undefined || batchHeaderProblem(h, size - pos) !== undefined) break;
      next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      pos += h.sizeInBytes;
    }
    return next;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The offset and time indexes of a compaction rewrite, built as its batches are written (the
 * density rule of Segment's own indexing: an entry for a batch once more than index.interval.bytes
 * were written since the last one, a final time entry for the largest timestamp), so that the
 * swap need not walk the new segment to index it.
 */
class RewriteIndexes {
  private readonly offsetIndex = new OffsetIndex();
  private readonly timeIndex = new TimeIndex();
  private maxTimestamp = -1n;
  private offsetOfMaxTimestamp = -1n;
  private sinceEntry = 0;

  constructor(
    private readonly base: bigint,
    private readonly interval: number,
  ) {}

  add(pos: number, h: BatchHeader): void {
    const last = h.baseOffset + BigInt(h.lastOffsetDelta);
    if (h.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = h.maxTimestamp;
      this.offsetOfMaxTimestamp = last;
    }
    if (this.sinceEntry > this.interval) {
      this.offsetIndex.append(Number(last - this.base), pos);
      if (this.maxTimestamp > this.timeIndex.lastTimestamp()) this.timeIndex.append(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.base));
      this.sinceEntry = 0;
    }
    this.sinceEntry += h.sizeInBytes;
  }

  /** Writes `<base>.index` and `<base>.timeindex` for the rewrite, synced. */
  write(indexPath: string, timeIndexPath: string): void {
    if (this.maxTimestamp > this.timeIndex.lastTimestamp()) this.timeIndex.append(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.base));
    writeWholeFile(indexPath, this.offsetIndex.data());
    writeWholeFile(timeIndexPath, this.timeIndex.data());
  }
}

/**
 * fdatasync of a file being written, started off the event loop between compaction slices so
 * that the sync before its swap finds little left to write. Closing waits for a running one.
 */
class BackgroundSync {
  private running = false;
  private closeWhenDone = false;

  constructor(readonly fd: number) {}

  kick(): void {
    if (this.running || this.closeWhenDone) return;
    this.running = true;
    fs.fdatasync(this.fd, () => {
      this.running = false;
      if (this.closeWhenDone) fs.close(this.fd, () => {});
    });
  }

  close(): void {
    if (this.running) this.closeWhenDone = true;
    else fs.closeSync(this.fd);
  }
}

function offsetFileName(offset: bigint, ext: string): string {
  return offset.toString().padStart(20, '0') + ext;
}

export interface PartitionContext {
  cache: SegmentCache;
  now: () => number;
  logger?: StoreOptions['logger'];
  /** The store was closed cleanly last time: active segments are not CRC-checked and cut at open. */
  cleanShutdown?: boolean;
}

export function readPartitionTopicId(dir: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, PARTITION_METADATA_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const m = /^topic_id:\s*(\S+)\s*$/m.exec(text);
  return m?.[1];
}

function formatEpochCheckpoint(entries: readonly EpochEntry[]): string {
  return `0\n${entries.length}\n${entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join('')}`;
}

function parseEpochCheckpoint(text: string): EpochEntry[] | undefined {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines[0]?.trim() !== '0') return undefined;
  const n = Number(lines[1]);
  if (!Number.isInteger(n) || n < 0 || lines.length !== n + 2) return undefined;
  const out: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
    if (m === null) return undefined;
    out.push({ epoch: Number(m[1]), startOffset: BigInt(m[2]!) });
  }
  return out;
}

function formatLogStartCheckpoint(topic: string, partition: number, offset: bigint): string {
  return `0\n1\n${topic} ${partition} ${offset}\n`;
}

function parseLogStartCheckpoint(text: string, topic: string, partition: number): bigint | undefined {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 3 || lines[0]!.trim() !== '0' || lines[1]!.trim() !== '1') return undefined;
  const m = /^\s*(\S+)\s+(\d+)\s+(\d+)\s*$/.exec(lines[2]!);
  if (m === null || m[1] !== topic || Number(m[2]) !== partition) return undefined;
  return BigInt(m[3]!);
}

/** A batch located in the log: its segment, file position and header. */
interface Located {
  segIndex: number;
  pos: number;
  header: BatchHeader;
}

export class FilePartitionLog implements PartitionLog {
  private segments: Segment[] = [];
  private leo = 0n;
  /** First offset still in the log: the first segment's base unless DeleteRecords raised it. */
  private lso = 0n;
  private epoch = 0;
  /** The leader-epoch history as leader-epoch-checkpoint holds it (epoch-cache.ts: epoch 0 from offset 0 implicit). */
  private epochEntries: EpochEntry[] = [];
  /**
   * Bumped by every truncation: work that gave the event loop a turn (a compaction pass, an fsync,
   * a snapshot write) checks it, since the log it started on may be gone.
   */
  private truncations = 0;
  private unflushedMessages = 0;
  // Writes (issue 8): an append changes memory only and queues its bytes; pumpWrites() writes the
  // queue off the event loop, one write at a time, and `written` is the end of what the files
  // hold: readers (through the replica manager's high watermark) never go past it, and produces
  // are answered when it covers them (whenWritten). `writeFault` is a failed write's error until
  // a retry works.
  private written = 0n;
  /** Where the last read ended (see fromReadHint). Segments replaced or deleted drop out of it by identity. */
  private readHint: { seg: Segment; offset: bigint; pos: number } | undefined;
  private pumping = false;
  private pumpScheduled = false;
  private writeFault: LogStoreError | undefined;
  /** The retry after a failed write or fsync (retryLater), and whether syncs wait for it. */
  private retryTimer: NodeJS.Timeout | undefined;
  private syncBackoff = false;
  private writeWaiters: Array<{ upTo: bigint; resolve: () => void; reject: (err: Error) => void }> = [];
  private writtenListeners: Array<() => void> = [];
  /** Rolled segments whose fsync, index files and snapshot are still to be written (finishSealed). */
  private sealed: Array<{ seg: Segment; snapshot: { offset: bigint; data: Buffer } | undefined }> = [];
  // Group commit (flush.messages): a sync covers what was written before it started (sealed
  // segments finished first). One fsync runs at a time; appends meanwhile are covered by the next,
  // which starts when it ends (off the event loop). whenDurable() waits on `waiters`.
  private synced = 0n;
  private syncing = false;
  private syncAgain = false;
  private waiters: Array<{ upTo: bigint; resolve: () => void; reject: (err: Error) => void }> = [];
  private idleWaiters: Array<() => void> = [];
  /** The error of the last failed fsync, until one succeeds (logged once, not per retry). */
  private syncFault: string | undefined;
  /** Largest batch maxTimestamp in the log (-1 if none) and the lastOffset of its batch. */
  private maxTs = -1n;
  private maxTsBatchLastOffset = -1n;
  /** When the active segment got its first batch (ctx.now() clock). */
  private activeSince = 0;
  private gone: string | undefined;
  readonly producerState = new ProducerStateManager();
  /** Offset of the newest snapshot written or loaded (-1 if none). */
  private lastSnapshotOffset = -1n;

  private constructor(
    private readonly ctx: PartitionContext,
    readonly dir: string,
    readonly topic: string,
    readonly partition: number,
    public config: LogConfig,
  ) {}

  /**
   * Creates the directory of a new, empty partition. A stale directory in the way is removed if it
   * holds no data and moved aside (stray) if it does. If creation fails (EMFILE, ENOSPC) nothing is
   * left behind and a STORAGE_ERROR is thrown.
   */
  static create(ctx: PartitionContext, dir: string, topic: string, partition: number, topicId: string, config: LogConfig): FilePartitionLog {
    const log = new FilePartitionLog(ctx, dir, topic, partition, config);
    try {
      FilePartitionLog.clearStaleDir(ctx, dir, topic, partition);
      fs.mkdirSync(dir);
    } catch (err) {
      throw storageError(`cannot create partition directory ${dir}`, err);
    }
    try {
      writeFileAtomic(path.join(dir, PARTITION_METADATA_FILE), `version: 0\ntopic_id: ${topicId}\n`);
      log.segments.push(ctx.cache.withDescriptors(() => Segment.create(dir, 0n)));
      ctx.cache.use(log.active);
      fsyncDir(dir);
      fsyncDir(path.dirname(dir));
    } catch (err) {
      for (const seg of log.segments) {
        ctx.cache.forget(seg);
        seg.close();
      }
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // an empty leftover: removed (it holds no data) at the next open or create
      }
      throw storageError(`cannot create partition directory ${dir}`, err);
    }
    return log;
  }

  private static clearStaleDir(ctx: PartitionContext, dir: string, topic: string, partition: number): void {
    if (!fs.existsSync(dir)) return;
    if (holdsData(dir)) {
      const to = moveAside(dir, topic, partition);
      ctx.logger?.warn({ dir, movedTo: to }, 'moved aside a stale partition directory that holds data (stray); delete it when it is not needed');
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Opens an existing partition directory, recovering its last segment. */
  static open(ctx: PartitionContext, dir: string, topic: string, partition: number, config: LogConfig): FilePartitionLog {
    const log = new FilePartitionLog(ctx, dir, topic, partition, config);
    log.load();
    return log;
  }

  private warn(obj: object, msg: string): void {
    this.ctx.logger?.warn({ topic: this.topic, partition: this.partition, dir: this.dir, ...obj }, msg);
  }

  /** The one line that says what recovery cut from the active segment: offsets, batches, bytes. */
  private warnCut(seg: Segment, scan: ScanOutcome, cut: TailCut): void {
    const offsets = cut.toOffset !== undefined ? `offsets ${cut.fromOffset}-${cut.toOffset}` : `from offset ${cut.fromOffset}`;
    this.warn(
      {
        segment: seg.logPath,
        reason: scan.problem,
        cleanShutdown: this.ctx.cleanShutdown === true,
        validBytes: scan.validBytes,
        truncatedBytes: cut.bytes,
        fromOffset: cut.fromOffset,
        toOffset: cut.toOffset,
        batches: cut.batches,
        records: cut.records,
      },
      `truncated corrupt or incomplete tail of log segment: ${cut.bytes} bytes, ${offsets} (${cut.batches} batches, ${cut.records} records)`,
    );
  }

  private load(): void {
    removeTempFiles(this.dir);
    this.recoverSwaps();
    const bases: bigint[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const m = SEGMENT_LOG_FILE.exec(name);
      if (m !== null) bases.push(BigInt(m[1]!));
    }
    bases.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // Index files whose .log is gone are leftovers.
    const baseSet = new Set(bases.map((b) => b.toString().padStart(20, '0')));
    for (const name of fs.readdirSync(this.dir)) {
      const m = /^(\d{20})\.(index|timeindex|txnindex)$/.exec(name);
      if (m !== null && !baseSet.has(m[1]!)) fs.rmSync(path.join(this.dir, name), { force: true });
    }

    let lastEpochInLog: number | undefined;
    if (bases.length === 0) {
      this.segments.push(this.ctx.cache.withDescriptors(() => Segment.create(this.dir, 0n)));
      this.ctx.cache.use(this.active);
      fsyncDir(this.dir);
    } else {
      for (const base of bases.slice(0, -1)) {
        const { seg, rebuilt } = Segment.openInactive(this.dir, base, this.config.indexIntervalBytes);
        if (rebuilt !== undefined) this.warn({ segment: seg.logPath, reason: rebuilt }, 'rebuilt indexes of log segment');
        this.segments.push(seg);
      }
      const lastBase = bases[bases.length - 1]!;
      const { seg, scan, cut } = this.ctx.cache.withDescriptors(() =>
        Segment.openActive(this.dir, lastBase, this.config.indexIntervalBytes, this.ctx.cleanShutdown === true),
      );
      if (cut !== undefined) this.warnCut(seg, scan, cut);
      this.segments.push(seg);
      this.ctx.cache.use(seg);
      lastEpochInLog = scan.lastEpoch;
      this.leo = scan.lastOffset !== undefined ? scan.lastOffset + 1n : lastBase;
      this.written = this.leo;
      this.synced = this.leo;
      // segment.ms for a reopened active segment counts from the time of opening (record
      // timestamps are producer clocks and not comparable with now()).
      this.activeSince = this.ctx.now();
    }

    this.lso = this.segments[0]!.base;
    const lsoFile = path.join(this.dir, LOG_START_OFFSET_FILE);
    if (fs.existsSync(lsoFile)) {
      const saved = parseLogStartCheckpoint(fs.readFileSync(lsoFile, 'utf8'), this.topic, this.partition);
      if (saved === undefined) {
        this.warn({ file: lsoFile }, 'ignoring malformed log-start-offset-checkpoint');
      } else if (saved > this.lso) {
        if (saved > this.leo) {
          // The log lost a tail the checkpoint had covered: the start cannot pass the end, and
          // the file must not hide offsets that will be assigned again.
          this.warn({ file: lsoFile, logStartOffset: saved, logEndOffset: this.leo }, 'log-start-offset-checkpoint is past the end of the log');
          writeFileAtomic(lsoFile, formatLogStartCheckpoint(this.topic, this.partition, this.leo));
        }
        this.lso = saved < this.leo ? saved : this.leo;
        // Segments whose deletion was interrupted by a crash go now.
        this.dropSegmentsBelow(this.lso);
      }
    }
    this.recomputeMaxTimestamp();

    const file = path.join(this.dir, LEADER_EPOCH_FILE);
    if (fs.existsSync(file)) {
      const entries = parseEpochCheckpoint(fs.readFileSync(file, 'utf8'));
      if (entries === undefined) this.warn({ file }, 'ignoring malformed leader-epoch-checkpoint');
      else this.epochEntries = entries;
      // Entries past the log end: a tail lost in a crash after a leader's bump (the batches appended
      // before it were not in the files yet), or a crash between a truncation and the checkpoint's
      // rewrite. They go, from the file too, before new data could make them look valid; the
      // newest of their epochs is kept, starting at the log end, so that a leader's epoch never
      // goes back across a restart (a follower's next truncateTo at its log end drops it).
      const kept = truncateEpochsFromEnd(this.epochEntries, this.leo + 1n);
      if (kept !== undefined) {
        const newest = Math.max(...this.epochEntries.slice(kept.length).map((e) => e.epoch));
        const fixed = assignEpoch(kept, newest, this.leo) ?? kept;
        this.warn({ file, logEndOffset: this.leo, entries: this.epochEntries.length, kept: fixed.length }, 'leader-epoch-checkpoint had entries past the log end');
        this.writeEpochEntries(fixed);
      }
      this.reconcileEpochs(file);
    }
    for (const e of this.epochEntries) if (e.epoch > this.epoch) this.epoch = e.epoch;
    // Never behind an epoch already stamped on stored data (e.g. if the checkpoint was lost).
    if (lastEpochInLog !== undefined && lastEpochInLog > this.epoch) this.epoch = lastEpochInLog;
    this.loadProducerState();
  }

  /**
   * A checkpoint ahead of the data: an entry (E, S) whose first batch at or after S carries an epoch
   * older than E. In a log that is whole the batches after S carry E or later (leaders stamp their
   * epoch, followers assign the epochs of the batches they store), so this is a crash between a
   * truncation whose cut never reached the disk and the epochs a follower append then assigned
   * (the cut is synced first, but a failed or interrupted one leaves the old data). The history
   * from that entry on is rebuilt from the batches' epochs (Kafka's assign over them).
   */
  private reconcileEpochs(file: string): void {
    for (let i = 0; i < this.epochEntries.length; i++) {
      const e = this.epochEntries[i]!;
      if (e.startOffset < this.lso || e.startOffset >= this.leo) continue;
      let entries = this.epochEntries.slice(0, i);
      try {
        const loc = this.locate(e.startOffset);
        const found = loc?.header.partitionLeaderEpoch ?? -1;
        if (found < 0 || found >= e.epoch) continue;
        for (let si = loc!.segIndex, pos = loc!.pos; si < this.segments.length; si++, pos = 0) {
          const seg = this.segments[si]!;
          this.ctx.cache.use(seg);
          const scanner = new BatchScanner(seg.fd!, seg.fileSize);
          for (let h = seg.headerAt(scanner, pos); h !== undefined && pos < seg.size; h = pos < seg.size ? seg.headerAt(scanner, pos) : undefined) {
            entries = assignEpoch(entries, h.partitionLeaderEpoch, h.baseOffset) ?? entries;
            pos += h.sizeInBytes;
          }
        }
      } catch {
        return; // damaged data: left to the readers' CORRUPT_MESSAGE
      }
      this.warn({ file, epoch: e.epoch, startOffset: e.startOffset, entries: this.epochEntries.length, rebuilt: entries.length }, 'leader-epoch-checkpoint was ahead of the log; rebuilt from the batches');
      this.writeEpochEntries(entries);
      return;
    }
  }

  /**
   * Rebuilds the producer state: the newest valid snapshot at or below the log end, then every
   * batch after it (headers only; control batches are read whole for their marker). Aborted
   * transactions come from the segments' .txnindex files; entries at or past the scan start are
   * dropped from them first and re-added by the scan, so a crash between a marker's append and
   * its index entry neither loses nor doubles it.
   */
  private loadProducerState(): void {
    const snapshots: bigint[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const m = SNAPSHOT_FILE.exec(name);
      if (m === null) continue;
      const offset = BigInt(m[1]!);
      // A snapshot past the end describes data that was lost with a torn tail.
      if (offset > this.leo) fs.rmSync(path.join(this.dir, name), { force: true });
      else snapshots.push(offset);
    }
    snapshots.sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    let scanFrom = this.segments[0]!.base;
    for (const offset of snapshots) {
      if (offset < this.segments[0]!.base) break;
      const file = path.join(this.dir, offsetFileName(offset, '.snapshot'));
      const entries = decodeProducerSnapshot(fs.readFileSync(file));
      if (entries === undefined) {
        this.warn({ file }, 'ignoring corrupt producer state snapshot');
        continue;
      }
      this.producerState.restore(entries);
      scanFrom = offset;
      this.lastSnapshotOffset = offset;
      break;
    }

    const kept: AbortedTxn[] = [];
    for (const seg of this.segments) {
      const file = this.txnIndexPath(seg.base);
      if (!fs.existsSync(file)) continue;
      const entries = decodeTxnIndex(fs.readFileSync(file));
      const keep = entries.filter((t) => t.lastOffset < scanFrom);
      if (keep.length !== entries.length) {
        if (keep.length === 0) fs.rmSync(file, { force: true });
        else writeFileAtomic(file, Buffer.concat(keep.map(encodeTxnIndexEntry)));
      }
      kept.push(...keep.filter((t) => t.lastOffset >= this.lso));
    }
    this.producerState.loadAborted(kept);

    if (scanFrom >= this.leo) return;
    for (let si = this.segmentIndexFor(scanFrom); si < this.segments.length; si++) {
      const seg = this.segments[si]!;
      if (seg.size === 0) continue;
      this.ctx.cache.use(seg);
      // After a truncation batches kept may still be queued: headerAt/batchAt read them from the queue.
      const scanner = new BatchScanner(seg.fd!, seg.fileSize);
      let pos = si === this.segmentIndexFor(scanFrom) ? seg.offsetIndex!.lookup(seg.rel(scanFrom)) : 0;
      for (;;) {
        const h = pos < seg.size ? seg.headerAt(scanner, pos) : undefined;
        if (h === undefined) {
          if (pos < seg.size) this.warn({ segment: seg.logPath, position: pos }, 'producer state scan stopped at a damaged batch');
          break;
        }
        const last = h.baseOffset + BigInt(h.lastOffsetDelta);
        if (last >= scanFrom && h.producerId >= 0n) {
          const marker = h.isControl ? readTxnMarker(seg.batchAt(pos, h.sizeInBytes)) : undefined;
          const aborted = this.producerState.apply(h, h.baseOffset, last, marker);
          if (aborted !== undefined) this.appendTxnIndex(seg.base, aborted);
        }
        pos += h.sizeInBytes;
      }
    }
  }

  private txnIndexPath(base: bigint): string {
    return path.join(this.dir, offsetFileName(base, '.txnindex'));
  }

  /** Appends an aborted transaction to the .txnindex of the segment holding its marker. */
  private appendTxnIndex(segmentBase: bigint, txn: AbortedTxn): void {
    fs.appendFileSync(this.txnIndexPath(segmentBase), encodeTxnIndexEntry(txn));
  }

  /** .txnindex entries whose write failed (the marker itself is in the log); retried in order. */
  private pendingTxnIndex: Array<{ segmentBase: bigint; txn: AbortedTxn }> = [];

  /**
   * Records an aborted transaction whose ABORT marker was just appended. The marker is in the log
   * and the producer state has it, so a failed index write does not fail the append: the entry is
   * retried before the next snapshot, and no snapshot is written past it meanwhile (recovery then
   * scans from an older snapshot and re-derives the entry from the marker).
   */
  private indexAborted(segmentBase: bigint, txn: AbortedTxn): void {
    this.pendingTxnIndex.push({ segmentBase, txn });
    this.writePendingTxnIndex();
  }

  /** Writes the pending .txnindex entries; false if one still fails. */
  private writePendingTxnIndex(): boolean {
    while (this.pendingTxnIndex.length > 0) {
      const e = this.pendingTxnIndex[0]!;
      try {
        if (this.segments.some((s) => s.base === e.segmentBase)) this.appendTxnIndex(e.segmentBase, e.txn);
      } catch (err) {
        this.warn({ err: (err as Error).message, producerId: e.txn.producerId }, 'writing the aborted-transaction index failed; will retry');
        return false;
      }
      this.pendingTxnIndex.shift();
    }
    return true;
  }

  /**
   * Writes `<logEndOffset>.snapshot` and keeps only the newest few snapshots. Skipped when the log
   * is empty or a snapshot at the log end exists already (Kafka skips unchanged snapshots too):
   * closing a broker with many idle partitions costs no writes.
   */
  snapshotProducerState(): void {
    if (this.gone !== undefined || this.leo === 0n || this.leo === this.lastSnapshotOffset) return;
    if (!this.writePendingTxnIndex()) return;
    writeFileAtomic(path.join(this.dir, offsetFileName(this.leo, '.snapshot')), this.producerState.snapshot());
    this.lastSnapshotOffset = this.leo;
    this.pruneSnapshots();
  }

  /** Keeps only the newest SNAPSHOTS_KEPT snapshot files. */
  private pruneSnapshots(): void {
    const all: bigint[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const m = SNAPSHOT_FILE.exec(name);
      if (m !== null) all.push(BigInt(m[1]!));
    }
    all.sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    for (const offset of all.slice(SNAPSHOTS_KEPT)) fs.rmSync(path.join(this.dir, offsetFileName(offset, '.snapshot')), { force: true });
  }

  get logStartOffset(): bigint {
    return this.lso;
  }

  get logEndOffset(): bigint {
    return this.leo;
  }

  get leaderEpoch(): number {
    return this.epoch;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private checkUsable(): void {
    if (this.gone !== undefined) {
      throw new LogStoreError(this.gone === 'deleted' ? 'UNKNOWN_TOPIC_OR_PARTITION' : 'STORAGE_ERROR', `${this.topic}-${this.partition} is ${this.gone}`);
    }
  }

  append(batches: readonly Buffer[], opts?: AppendOptions): AppendInfo {
    this.checkWritable();
    const headers = batches.map((b) => checkAppendable(b));
    const first = this.leo;
    for (let i = 0; i < batches.length; i++) {
      const buf = batches[i]!;
      const h = headers[i]!;
      const base = this.leo;
      assignOffsets(buf, base, this.epoch);
      this.storeBatch(buf, h, base, base + BigInt(h.lastOffsetDelta));
    }
    if (opts?.writeThrough === true) {
      const seg = this.active;
      try {
        this.ctx.cache.use(seg);
        seg.writeQueuedSync();
      } catch (err) {
        const e = storageError(`write to ${seg.logPath} failed`, err);
        this.onWriteFailed(e);
        throw e;
      }
      this.onWritten(this.leo);
    } else {
      this.pumpWrites();
    }
    this.maybeFlush();
    return { baseOffset: first, lastOffset: this.leo - 1n, logStartOffset: this.logStartOffset };
  }

  /**
   * A follower's append (PartitionLog.appendAsFollower): the leader's batches with their offsets and
   * epochs. The epochs they bring go to leader-epoch-checkpoint first (a synced write, only when the
   * history changes: a new leader's first batches), so a failure there appends nothing; the bytes
   * then take the path of leader appends (write queue, rolls, producer state, .txnindex).
   */
  appendAsFollower(batches: readonly Buffer[]): AppendInfo {
    this.checkWritable();
    const headers = checkFollowerBatches(batches, this.leo);
    if (headers.length === 0) return { baseOffset: this.leo, lastOffset: this.leo - 1n, logStartOffset: this.lso };
    const entries = assignBatchEpochs(this.epochEntries, headers);
    if (entries !== undefined) {
      try {
        this.writeEpochEntries(entries);
      } catch (err) {
        throw storageError(`cannot write ${LEADER_EPOCH_FILE} of ${this.topic}-${this.partition}`, err);
      }
      this.epoch = latestEpochEntry(entries).epoch;
    }
    for (let i = 0; i < batches.length; i++) {
      const h = headers[i]!;
      this.storeBatch(batches[i]!, h, h.baseOffset, h.baseOffset + BigInt(h.lastOffsetDelta));
    }
    this.pumpWrites();
    this.maybeFlush();
    return { baseOffset: headers[0]!.baseOffset, lastOffset: this.leo - 1n, logStartOffset: this.lso };
  }

  private checkWritable(): void {
    this.checkUsable();
    if (this.writeFault !== undefined) {
      // The queue is not growing while the disk refuses it: retried now (the answer of this append
      // is the error; once a write works again appends are taken again).
      this.pumpWrites();
      throw this.writeFault;
    }
  }

  /**
   * One batch at [base, last] into the active segment (rolled first when due: the only step that
   * can fail, STORAGE_ERROR, before anything changes), in memory: the bytes reach the file off the
   * event loop (pumpWrites).
   */
  private storeBatch(buf: Buffer, h: BatchHeader, base: bigint, last: bigint): void {
    this.maybeRoll(buf.length, base, last);
    const seg = this.active;
    const wasEmpty = seg.size === 0;
    seg.append(buf, last, h.maxTimestamp, this.config.indexIntervalBytes);
    if (wasEmpty) this.activeSince = this.ctx.now();
    this.leo = last + 1n;
    this.unflushedMessages += h.recordCount;
    if (h.maxTimestamp > this.maxTs) {
      this.maxTs = h.maxTimestamp;
      this.maxTsBatchLastOffset = last;
    }
    const aborted = applyBatchToProducerState(this.producerState, buf, h, base, last);
    if (aborted !== undefined) this.indexAborted(seg.base, aborted);
  }

  private maybeFlush(): void {
    if (this.unflushedMessages >= this.config.flushIntervalMessages) {
      // Kafka's flush after N messages, off the event loop; with flush.messages=1 the producer's
      // answer waits for it (whenDurable).
      this.unflushedMessages = 0;
      this.requestSync();
    }
  }

  private writeEpochEntries(entries: EpochEntry[]): void {
    writeFileAtomic(path.join(this.dir, LEADER_EPOCH_FILE), formatEpochCheckpoint(entries));
    this.epochEntries = entries;
  }

  /** End of the batches in the files (readers' limit); logEndOffset also counts queued ones. */
  get writtenEndOffset(): bigint {
    return this.written;
  }

  /**
   * Writes the active segment's queue off the event loop, one write at a time per partition:
   * everything appended while one runs goes in the next (one pwritev). When a write ends the
   * written end moves, waiters are answered, and the next write starts. Each write holds one of
   * the store's IO slots (SegmentCache.withIoSlot: descriptors stay bounded). A failed write
   * (ENOSPC, EIO, ...) answers STORAGE_ERROR to the produces waiting on it and keeps the bytes
   * queued; it is retried a second later or by the next append or flush() (appends are refused
   * until then, so the queue stays bounded).
   */
  private pumpWrites(): void {
    // Started after the current task: the appends of one request (and of anything else running
    // now) go out in one write, and a flush() or close() right after an append writes it itself.
    if (this.pumpScheduled || this.pumping || this.gone !== undefined) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.startPump();
    });
  }

  private startPump(): void {
    if (this.pumping || this.gone !== undefined) return this.settleIdle();
    const seg = this.active;
    if (seg.queuedWrites === 0 || seg.writing) return this.settleIdle();
    this.pumping = true;
    this.ctx.cache.withIoSlot((release) => {
      const seg = this.active;
      if (this.gone !== undefined || seg.queuedWrites === 0 || seg.writing) {
        // Written meanwhile (a roll, flush or close wrote the queue on the calling thread).
        release();
        this.pumping = false;
        return this.settleIdle();
      }
      try {
        this.ctx.cache.use(seg); // reopens the log if the segment cache closed it while idle
      } catch (err) {
        release();
        this.pumping = false;
        this.onWriteFailed(storageError(`cannot open ${seg.logPath}`, err));
        return this.settleIdle();
      }
      seg.writeQueuedAsync((err, endOffset) => {
        release();
        this.pumping = false;
        if (this.gone !== undefined) return this.settleIdle();
        // A truncation took the segment out of the log meanwhile: what it wrote is gone with it.
        if (!this.segments.includes(seg)) {
          if (this.active.queuedWrites > 0) this.pumpWrites();
          else this.settleIdle();
          return;
        }
        if (err !== undefined) {
          this.onWriteFailed(err);
          return this.settleIdle();
        }
        if (endOffset !== undefined) this.onWritten(endOffset);
        if (this.active.queuedWrites > 0) this.pumpWrites();
        else this.settleIdle();
      });
    });
  }

  private onWriteFailed(err: LogStoreError): void {
    const waiting = this.writeWaiters.splice(0);
    // Produces waiting on it are told (and the broker logs it once per partition); a write nobody
    // waits for (acks=0) is logged here.
    if (waiting.length === 0 && this.writeFault?.message !== err.message) this.warn({ err: err.message }, 'write to the log failed; it is retried');
    this.writeFault = err;
    this.retryLater();
    for (const w of waiting) w.reject(err);
    // fsync waiters past the written end wait on this write too.
    this.failWaiters(err, this.written);
  }

  /**
   * After a failed write or fsync: one retry of both in IO_RETRY_MS (a real-time timer that does not
   * keep the process alive; an append or flush() retries sooner), instead of a tight loop against
   * a full or broken disk.
   */
  private retryLater(): void {
    if (this.retryTimer !== undefined || this.gone !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.gone !== undefined) return;
      this.syncBackoff = false;
      this.pumpWrites();
      if (this.sealed.length > 0 || this.waiters.length > 0 || this.syncAgain) this.requestSync();
    }, IO_RETRY_MS);
    this.retryTimer.unref();
  }

  /** Everything before `endOffset` is in the files. */
  private onWritten(endOffset: bigint): void {
    if (endOffset <= this.written) return;
    this.written = endOffset;
    this.writeFault = undefined;
    let n = 0;
    while (n < this.writeWaiters.length && this.writeWaiters[n]!.upTo <= endOffset) n++;
    for (const w of this.writeWaiters.splice(0, n)) w.resolve();
    for (const l of this.writtenListeners) l();
    // An fsync asked for while these bytes were on their way can run now.
    if (this.syncAgain && !this.syncing) this.requestSync();
  }

  /**
   * Resolves once everything appended so far is in the log files (the page cache), as a produce
   * with acks 1/-1 is answered on Kafka; rejects with the STORAGE_ERROR of a failed write.
   */
  whenWritten(): Promise<void> {
    if (this.gone !== undefined || this.written >= this.leo) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.writeWaiters.push({ upTo: this.leo, resolve, reject });
      this.pumpWrites();
    });
  }

  /** Calls `listener` whenever the written end moves (fetches parked on the partition wake up). */
  onWrittenEnd(listener: () => void): void {
    this.writtenListeners.push(listener);
  }

  private maybeRoll(batchSize: number, baseOffset: bigint, lastOffset: bigint): void {
    const seg = this.active;
    if (seg.size === 0) return;
    const full = seg.size + batchSize > this.config.segmentBytes;
    const old = this.ctx.now() - this.activeSince > this.config.segmentMs;
    if (!full && !old && seg.canHold(lastOffset)) return;
    // A segment a truncation cut while a write ran cannot be sealed until that write ends (its
    // queue cannot be written before): it grows past segment.bytes a little instead.
    if (seg.fenced && seg.canHold(lastOffset)) return;
    // A follower batch after a gap starts the new segment at its own base (Kafka rolls at the
    // batch's first offset), so that its offsets fit the segment's 32-bit relative ones.
    this.rollActive(baseOffset > this.leo ? baseOffset : this.leo);
  }

  /**
   * Seals the active segment and starts a new one at the log end. The old segment's queue is
   * written first (on the calling thread: at most what arrived during one write), so the log is
   * whole before a later segment exists; its fsync, index files and the producer-state snapshot
   * follow off the event loop (finishSealed), and until then it keeps its indexes in memory.
   * A failure (EMFILE, ENOSPC: STORAGE_ERROR) leaves the old one active.
   */
  private rollActive(nextBase = this.leo): void {
    const seg = this.active;
    this.ctx.cache.use(seg);
    seg.writeQueuedSync();
    this.onWritten(this.leo);
    const next = this.ctx.cache.withDescriptors(() => Segment.create(this.dir, nextBase));
    this.segments.push(next);
    this.ctx.cache.use(next);
    // Kafka snapshots producer state at every roll: recovery then scans only the active segment.
    // The state is taken now (it is the state at the new base) and written with the old segment.
    let snapshot: { offset: bigint; data: Buffer } | undefined;
    if (this.leo !== this.lastSnapshotOffset && this.writePendingTxnIndex()) snapshot = { offset: this.leo, data: this.producerState.snapshot() };
    this.sealed.push({ seg, snapshot });
    this.unflushedMessages = 0; // the sealed segment's fsync covers it
    this.requestSync();
  }

  /**
   * Makes sealed segments final, oldest first: log fsync, index files, then the segment counts as
   * inactive; then the snapshot taken at its roll and a directory fsync. A failure leaves it sealed
   * (indexes in memory, retried by the next sync or at close) and rejects.
   */
  private async finishSealed(): Promise<void> {
    while (this.sealed.length > 0) {
      const entry = this.sealed[0]!;
      const { seg, snapshot } = entry;
      if (this.gone !== undefined) return;
      if (this.segments.includes(seg)) {
        await seg.writeIndexFilesAsync();
        // flush()/close() may have finished it meanwhile, or it was deleted (retention).
        if (this.gone !== undefined || this.sealed[0] !== entry) continue;
        if (this.segments.includes(seg)) {
          seg.deactivate();
          if (seg.loaded) this.ctx.cache.use(seg); // counted as inactive from now on
        }
      }
      this.sealed.shift();
      if (snapshot !== undefined && snapshot.offset > this.lastSnapshotOffset) {
        try {
          // Written and synced off the event loop under a temp name, renamed on it: a truncation
          // meanwhile (the snapshot may describe cut data) drops it instead, with no moment at
          // which a stale snapshot could be on disk next to new data.
          const truncations = this.truncations;
          const tmp = await writeTempFileAsync(this.dir, snapshot.data);
          if (this.gone !== undefined || this.truncations !== truncations) {
            fs.rmSync(tmp, { force: true });
            if (this.gone !== undefined) return;
          } else {
            fs.renameSync(tmp, path.join(this.dir, offsetFileName(snapshot.offset, '.snapshot')));
            this.lastSnapshotOffset = snapshot.offset;
            this.pruneSnapshots();
          }
        } catch (err) {
          // A snapshot is an optimisation (recovery scans from an older one).
          this.warn({ err: (err as Error).message }, 'producer state snapshot failed');
        }
      }
      await fsyncDirAsync(this.dir);
    }
  }

  /**
   * Resolves once an fsync covers everything appended so far (at once when one does already);
   * rejects with the STORAGE_ERROR of a failed write or fsync. Starts that fsync if none is due.
   */
  whenDurable(): Promise<void> {
    if (this.gone !== undefined || this.synced >= this.leo) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ upTo: this.leo, resolve, reject });
      this.requestSync();
    });
  }

  /** Resolves when no write or fsync of this partition is running or queued (close waits for them). */
  whenSyncIdle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private busy(): boolean {
    if (this.gone !== undefined) return this.pumping || this.syncing;
    return this.pumping || this.pumpScheduled || this.syncing || (this.writeFault === undefined && this.active.queuedWrites > 0);
  }

  private settleIdle(): void {
    if (this.busy()) return;
    for (const idle of this.idleWaiters.splice(0)) idle();
  }

  /**
   * An fsync of what is written (sealed segments finished first, then the active segment's log),
   * now or right after the running one. Bytes still on their way to the file are covered by the
   * next one, started when they are written (onWritten).
   */
  private requestSync(): void {
    this.syncBackoff = false;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    if (this.gone !== undefined) return;
    this.syncing = true;
    this.ctx.cache.withIoSlot((release) => this.runSync(release));
  }

  private runSync(release: () => void): void {
    this.syncAgain = this.written < this.leo;
    const upTo = this.written;
    const seg = this.active;
    const truncations = this.truncations;
    this.finishSealed()
      .then(() => new Promise<void>((resolve, reject) => seg.syncAsync((err) => (err ? reject(err) : resolve()))))
      .then(
        () => {
          if (this.syncFault !== undefined) this.ctx.logger?.info({ topic: this.topic, partition: this.partition, dir: this.dir }, 'fsync works again');
          this.syncFault = undefined;
          // After a truncation this fsync covered a log that is not there any more: the next one counts.
          if (this.truncations === truncations) this.markSynced(upTo);
          else this.syncAgain = true;
        },
        (err: Error) => {
          if (this.gone !== undefined) return;
          if (this.truncations !== truncations) {
            // The segment it synced was taken out by a truncation (its file renamed): no fault.
            this.syncAgain = true;
            return;
          }
          if (this.syncFault !== err.message) this.warn({ err: err.message }, 'fsync failed');
          this.syncFault = err.message;
          // Every waiting produce fails (the fault may cover later appends too); the next
          // append past flush.messages tries again.
          this.failWaiters(err, this.synced);
          this.syncAgain = false;
          this.syncBackoff = true;
          this.retryLater();
        },
      )
      .finally(() => {
        release();
        this.syncing = false;
        if (this.gone === undefined && !this.syncBackoff) {
          const wanted = this.syncAgain || this.waiters.length > 0 || this.sealed.length > 0;
          if (wanted && (this.sealed.length > 0 || this.synced < this.written)) {
            this.syncAgain = false;
            this.requestSync();
            return;
          }
          // Appends still on their way to the file: onWritten() starts the next one.
          this.syncAgain = wanted && this.synced < this.leo;
        }
        this.settleIdle();
      });
  }

  /** Everything before `upTo` is on disk: its waiters are answered. */
  private markSynced(upTo: bigint): void {
    if (upTo <= this.synced) return;
    this.synced = upTo;
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.upTo <= upTo) n++;
    for (const w of this.waiters.splice(0, n)) w.resolve();
  }

  /** Fails the fsync waiters past `from` (all of them by default). */
  private failWaiters(err: Error, from = -1n): void {
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.upTo <= from) n++;
    for (const w of this.waiters.splice(n)) w.reject(err);
  }

  /** Index of the segment with the largest base <= offset (0 if offset precedes them all). */
  private segmentIndexFor(offset: bigint): number {
    let lo = 0;
    let hi = this.segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.base <= offset) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo - 1);
  }

  /**
   * The batch containing `offset`, or the first batch after it if `offset` falls in a gap;
   * undefined at/after the end of the log.
   */
  private locate(offset: bigint): Located | undefined {
    const hinted = this.fromReadHint(offset);
    if (hinted !== undefined) return hinted;
    for (let si = this.segmentIndexFor(offset); si < this.segments.length; si++) {
      const seg = this.segments[si]!;
      this.ctx.cache.use(seg);
      const scanner = new BatchScanner(seg.fd!, seg.fileSize);
      let pos = this.startPosition(seg, scanner, offset);
      while (pos < seg.fileSize) {
        const h = this.headerAt(seg, scanner, pos);
        if (h.baseOffset + BigInt(h.lastOffsetDelta) >= offset) return { segIndex: si, pos, header: h };
        pos += h.sizeInBytes;
      }
    }
    return undefined;
  }

  /**
   * A consumer's next Fetch usually starts where its last one ended: read() remembers that place
   * (segment, next offset, position) and the next read at that offset starts there after checking
   * the batch header, instead of an index lookup and a walk of the batches after the index entry.
   * The batch there is the first ending at or after the offset (the one before it ended just
   * before), also when compaction left a gap.
   */
  private fromReadHint(offset: bigint): Located | undefined {
    const hint = this.readHint;
    if (hint === undefined || hint.offset !== offset || hint.pos >= hint.seg.fileSize) return undefined;
    const segIndex = this.segments.indexOf(hint.seg);
    if (segIndex < 0) return undefined;
    this.ctx.cache.use(hint.seg);
    const h = new BatchScanner(hint.seg.fd!, hint.seg.fileSize, BATCH_HEADER_SIZE).header(hint.pos);
    if (h === undefined || h.baseOffset < offset || batchHeaderProblem(h, hint.seg.fileSize - hint.pos) !== undefined) return undefined;
    return { segIndex, pos: hint.pos, header: h };
  }

  // ---- damaged segments (issue 8, robust storage) ----

  /**
   * Where to start walking `seg` for `offset`: the position of the offset index's floor entry,
   * checked against the batch there (an entry names the batch that ends at its offset). A wrong
   * entry would skip batches or read from inside one, so then the segment's indexes are rebuilt
   * from the log (logged) and looked up again. If instead the index is right and the batch it names
   * is damaged, a later entry still leads to the batches after it; an offset that can only be
   * reached through the damage is CORRUPT_MESSAGE.
   */
  private startPosition(seg: Segment, scanner: BatchScanner, offset: bigint): number {
    const idx = seg.offsetIndex!;
    const i = idx.floorIndex(seg.rel(offset));
    if (i < 0) return 0;
    const check = this.checkIndexEntry(seg, scanner, i);
    if (check === undefined) return idx.position(i);
    if (check.damaged && this.onBatchBoundary(seg, scanner, i)) {
      for (let j = i + 1; j < idx.count; j++) {
        if (this.checkIndexEntry(seg, scanner, j) !== undefined) continue;
        if (scanner.header(idx.position(j))!.baseOffset <= offset) return idx.position(j);
        break;
      }
      throw this.corrupt(seg, idx.position(i), check.problem);
    }
    const reason = `offset index entry ${i} (${idx.relOffset(i)}, ${idx.position(i)}): ${check.problem}`;
    if (seg.active) throw this.corrupt(seg, idx.position(i), reason);
    seg.rebuildIndexes();
    this.warn({ segment: seg.logPath, reason }, 'rebuilt indexes of log segment');
    return seg.offsetIndex!.lookup(seg.rel(offset));
  }

  /** undefined if offset index entry `i` names a sane batch ending at its offset; else what is wrong. */
  private checkIndexEntry(seg: Segment, scanner: BatchScanner, i: number): { damaged: boolean; problem: string } | undefined {
    const idx = seg.offsetIndex!;
    const pos = idx.position(i);
    const h = scanner.header(pos);
    const problem = h === undefined ? 'no batch header there' : batchHeaderProblem(h, seg.fileSize - pos);
    if (problem !== undefined) return { damaged: true, problem };
    const last = h!.baseOffset + BigInt(h!.lastOffsetDelta);
    if (last !== seg.base + BigInt(idx.relOffset(i))) return { damaged: false, problem: `the batch there ends at offset ${last}` };
    return undefined;
  }

  /**
   * Walks batch headers from the previous good index entry (or the segment start) to entry `i`:
   * true if a batch starts exactly there (the entry is right), false if the walk passes it (the
   * entry points inside a batch). Damage on the way is CORRUPT_MESSAGE.
   */
  private onBatchBoundary(seg: Segment, scanner: BatchScanner, i: number): boolean {
    const idx = seg.offsetIndex!;
    const target = idx.position(i);
    let pos = 0;
    for (let j = i - 1; j >= 0; j--) {
      if (this.checkIndexEntry(seg, scanner, j) === undefined) {
        pos = idx.position(j);
        break;
      }
    }
    while (pos < target) pos += this.headerAt(seg, scanner, pos).sizeInBytes;
    return pos === target;
  }

  /**
   * The header of the batch at `pos` (< seg.size). Anything that is not a whole, sane batch there
   * is damage: CORRUPT_MESSAGE (Kafka's answer to a batch it cannot read), never a silent skip to
   * the next segment while the high watermark says the offsets exist.
   */
  private headerAt(seg: Segment, scanner: BatchScanner, pos: number): BatchHeader {
    const h = scanner.header(pos);
    const problem = h === undefined ? `${seg.fileSize - pos} bytes at the end are not a batch header` : batchHeaderProblem(h, seg.fileSize - pos);
    if (problem !== undefined) throw this.corrupt(seg, pos, problem);
    return h!;
  }

  private corrupt(seg: Segment, pos: number, problem: string): LogStoreError {
    return new LogStoreError('CORRUPT_MESSAGE', `corrupt record batch at position ${pos} of ${seg.logPath}: ${problem}`);
  }

  read(offset: bigint, maxBytes: number, minOneBatch: boolean, maxOffset?: bigint): ReadResult {
    const chunks: Buffer[] = [];
    let bytes = 0;
    if (this.gone !== undefined || offset >= this.leo) return { chunks, bytes };
    // The broker reads below the high watermark (the written end). A direct reader of the store
    // (tests, tools) sees every append: the queue goes to the file first.
    if ((maxOffset ?? this.leo) > this.written) this.writeQueueNow();
    const start = this.locate(offset);
    if (start === undefined) return { chunks, bytes };
    let pos = start.pos;
    let hintSeg: Segment | undefined;
    let hintPos = 0;
    let hintOffset = 0n;
    // One read per segment of at most the remaining byte budget (or the whole first batch under
    // minOneBatch), then whole batches are cut out of it; a partial batch at the end is dropped.
    for (let si = start.segIndex; si < this.segments.length; si++, pos = 0) {
      const seg = this.segments[si]!;
      this.ctx.cache.use(seg);
      let want = Math.min(Math.max(0, maxBytes - bytes), seg.fileSize - pos);
      if (minOneBatch && chunks.length === 0 && si === start.segIndex) want = Math.max(want, start.header.sizeInBytes);
      if (want <= 0) break;
      const data = seg.readRange(pos, want);
      let at = 0;
      let stop = false;
      while (at < data.length) {
        // Checked against the end of the segment, not of this read: a batch cut by the read size is
        // normal, one that does not parse is damage. Batches before it are returned; a read that
        // starts at it fails (CORRUPT_MESSAGE) instead of skipping what the high watermark covers.
        const h = data.length - at < BATCH_HEADER_SIZE ? undefined : readBatchHeader(data, at);
        const damage =
          h === undefined
            ? pos + data.length === seg.fileSize
              ? `${data.length - at} bytes at the end are not a batch header`
              : undefined
            : batchHeaderProblem(h, seg.fileSize - pos - at);
        if (damage !== undefined) {
          if (chunks.length === 0) throw this.corrupt(seg, pos + at, damage);
          stop = true;
          break;
        }
        if (h === undefined) {
          stop = true;
          break;
        }
        if (
          h.sizeInBytes > data.length - at ||
          (maxOffset !== undefined && h.baseOffset >= maxOffset) ||
          (bytes + h.sizeInBytes > maxBytes && !(minOneBatch && chunks.length === 0))
        ) {
          stop = true;
          break;
        }
        chunks.push(data.subarray(at, at + h.sizeInBytes));
        bytes += h.sizeInBytes;
        at += h.sizeInBytes;
        hintSeg = seg;
        hintPos = pos + at;
        hintOffset = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      }
      if (stop || pos + want < seg.fileSize || bytes >= maxBytes) break;
    }
    if (hintSeg !== undefined) this.readHint = { seg: hintSeg, offset: hintOffset, pos: hintPos };
    return { chunks, bytes };
  }

  private readBatch(loc: Located): Buffer {
    const seg = this.segments[loc.segIndex]!;
    this.ctx.cache.use(seg);
    return seg.readRange(loc.pos, loc.header.sizeInBytes);
  }

  offsetForTimestamp(ts: bigint): TimestampLookup | undefined {
    if (this.gone !== undefined) return undefined;
    this.writeQueueNow();
    for (let si = 0; si < this.segments.length; si++) {
      const seg = this.segments[si]!;
      if (seg.maxTimestamp < ts) continue;
      this.ctx.cache.use(seg);
      // Every batch up to the one named by the last time-index entry <= ts has maxTimestamp <= ts
      // (and only that batch can equal it), so scanning may start there.
      const rel = seg.timeIndex!.lookup(ts);
      const scanner = new BatchScanner(seg.fd!, seg.fileSize);
      let pos = rel === undefined ? 0 : this.startPosition(seg, scanner, seg.base + BigInt(rel));
      while (pos < seg.fileSize) {
        const h = this.headerAt(seg, scanner, pos);
        if (h.maxTimestamp >= ts) {
          const batch = seg.readRange(pos, h.sizeInBytes);
          const hit = findRecord(batch, (t) => t >= ts, (hh) => hh.baseOffset, this.lso);
          if (hit !== undefined) return { offset: hit.offset, timestamp: hit.timestamp, leaderEpoch: h.partitionLeaderEpoch };
        }
        pos += h.sizeInBytes;
      }
    }
    return undefined;
  }

  maxTimestamp(): TimestampLookup | undefined {
    if (this.gone !== undefined) return undefined;
    if (this.maxTsBatchLastOffset < this.lso && this.maxTs >= 0n) this.rescanMaxTimestampFromStart();
    if (this.maxTs < 0n) return undefined;
    this.writeQueueNow();
    const max = this.maxTs;
    const loc = this.locate(this.maxTsBatchLastOffset);
    if (loc === undefined) return undefined;
    const batch = this.readBatch(loc);
    const hit = findRecord(batch, (t) => t === max, (h) => h.baseOffset + BigInt(h.lastOffsetDelta), this.lso);
    return {
      offset: hit?.offset ?? loc.header.baseOffset + BigInt(loc.header.lastOffsetDelta),
      timestamp: max,
      leaderEpoch: loc.header.partitionLeaderEpoch,
    };
  }

  bumpLeaderEpoch(epoch: number): void {
    this.checkUsable();
    if (!Number.isInteger(epoch) || epoch <= this.epoch) return;
    const entries = assignEpoch(this.epochEntries, epoch, this.leo);
    if (entries !== undefined) this.writeEpochEntries(entries);
    this.epoch = epoch;
  }

  // ---- truncation (issue 10: a follower's log) ----

  /**
   * PartitionLog.truncateTo. The order keeps every crash point recoverable to the log before or
   * after: producer snapshots past the new end removed, segments past the cut retired (renamed
   * `.deleted`, then removed after file.delete.delay.ms), the cut segment cut and synced (a write
   * running into it is cut again when it ends, before anything else is written), then the epoch
   * checkpoint (load() drops entries past the log end a crash left), the log start and cleaner
   * checkpoints, and the producer state rebuilt (loadProducerState: the newest snapshot at or
   * below the new end, the .txnindex entries before it, the batches after it, queued ones included).
   */
  truncateTo(offset: bigint): void {
    this.checkUsable();
    if (offset < 0n) throw new RangeError(`cannot truncate ${this.topic}-${this.partition} to a negative offset (${offset})`);
    if (offset >= this.leo) {
      const entries = truncateEpochsFromEnd(this.epochEntries, this.leo);
      if (entries !== undefined) {
        this.writeEpochEntries(entries);
        this.epoch = latestEpochEntry(entries).epoch;
      }
      return;
    }
    if (offset < this.segments[0]!.base) {
      this.truncateFullyAndStartAt(offset);
      return;
    }
    const si = this.segmentIndexFor(offset);
    const seg = this.segments[si]!;
    const { pos, end, lastEpoch } = this.cutPoint(seg, offset);
    this.truncations++;
    try {
      this.removeSnapshotsFrom(end + 1n);
      this.ctx.cache.use(seg);
      if (!seg.active) {
        this.ctx.cache.forget(seg);
        seg.reactivate();
      }
      const after = this.segments.slice(si + 1);
      this.sealed = this.sealed.filter((e) => e.seg !== seg && !after.includes(e.seg));
      if (after.length > 0) {
        this.segments.splice(si + 1);
        this.retireSegments(after);
      }
      const cutErr = seg.truncate(pos, end);
      if (cutErr !== undefined) this.warn({ err: cutErr.message }, 'cutting the log file failed; it is retried before anything more is written to it');
      this.ctx.cache.use(seg);
    } catch (err) {
      throw storageError(`cannot truncate ${this.topic}-${this.partition} to offset ${offset}`, err);
    }
    this.leo = end;
    if (this.written > end) this.written = end;
    if (this.synced > end) this.synced = end;
    this.readHint = undefined;
    if (seg.size === 0) this.activeSince = this.ctx.now();
    const entries = truncateEpochsFromEnd(this.epochEntries, end);
    if (entries !== undefined) this.writeEpochEntries(entries);
    const latest = latestEpochEntry(this.epochEntries).epoch;
    this.epoch = lastEpoch !== undefined && lastEpoch > latest ? lastEpoch : latest;
    if (this.lso > end) {
      this.lso = end;
      writeFileAtomic(path.join(this.dir, LOG_START_OFFSET_FILE), formatLogStartCheckpoint(this.topic, this.partition, end));
    }
    if (this.cleanerCheckpoint() > end) writeFileAtomic(path.join(this.dir, CLEANER_CHECKPOINT_FILE), formatLogStartCheckpoint(this.topic, this.partition, end));
    this.pendingTxnIndex = []; // re-derived by the scan (no snapshot is written past a pending entry)
    this.producerState.clear();
    this.lastSnapshotOffset = -1n;
    this.loadProducerState();
    this.recomputeMaxTimestamp();
    this.afterTruncation();
  }

  /**
   * PartitionLog.truncateFullyAndStartAt: the epoch checkpoint cleared and the producer snapshots
   * removed first, then every segment retired and an empty one created at `offset` (a crash in
   * between leaves no segment: the log reopens empty), then the log start and cleaner checkpoints
   * removed (the first segment's base is the log start).
   */
  truncateFullyAndStartAt(offset: bigint): void {
    this.checkUsable();
    if (offset < 0n) throw new RangeError(`cannot start ${this.topic}-${this.partition} at a negative offset (${offset})`);
    this.truncations++;
    try {
      this.writeEpochEntries([]);
      this.removeSnapshotsFrom(0n);
      const old = this.segments.splice(0);
      this.sealed = [];
      this.retireSegments(old);
      const seg = this.ctx.cache.withDescriptors(() => Segment.create(this.dir, offset));
      this.segments.push(seg);
      this.ctx.cache.use(seg);
      fsyncDir(this.dir);
      fs.rmSync(path.join(this.dir, LOG_START_OFFSET_FILE), { force: true });
      fs.rmSync(path.join(this.dir, CLEANER_CHECKPOINT_FILE), { force: true });
    } catch (err) {
      throw storageError(`cannot truncate ${this.topic}-${this.partition} fully to start at offset ${offset}`, err);
    }
    this.leo = offset;
    this.lso = offset;
    this.written = offset;
    this.synced = offset;
    this.epoch = 0;
    this.readHint = undefined;
    this.activeSince = this.ctx.now();
    this.unflushedMessages = 0;
    this.writeFault = undefined;
    this.pendingTxnIndex = [];
    this.producerState.clear();
    this.lastSnapshotOffset = -1n;
    this.recomputeMaxTimestamp();
    this.afterTruncation();
  }

  /**
   * Where `offset` cuts `seg` (whose base is <= offset): the position of the first batch ending at
   * or after it (the segment's size if none), the end of the batches before it (the segment's base
   * if none) and the epoch of the last of them. The walk starts at the last offset-index entry
   * naming a batch that ends before `offset`; queued batches are read from the queue.
   */
  private cutPoint(seg: Segment, offset: bigint): { pos: number; end: bigint; lastEpoch: number | undefined } {
    this.ctx.cache.use(seg);
    const idx = seg.offsetIndex!;
    const i = offset > seg.base ? idx.floorIndex(seg.rel(offset - 1n)) : -1;
    let pos = i >= 0 ? idx.position(i) : 0;
    let end = seg.base;
    let lastEpoch: number | undefined;
    const scanner = new BatchScanner(seg.fd!, seg.fileSize);
    while (pos < seg.size) {
      const h = seg.headerAt(scanner, pos);
      if (h === undefined) throw this.corrupt(seg, pos, 'not a whole batch');
      const last = h.baseOffset + BigInt(h.lastOffsetDelta);
      if (last >= offset) break;
      end = last + 1n;
      lastEpoch = h.partitionLeaderEpoch;
      pos += h.sizeInBytes;
    }
    return { pos, end, lastEpoch };
  }

  /** Removes the producer snapshots at or above `from` (they describe cut data). */
  private removeSnapshotsFrom(from: bigint): void {
    for (const name of fs.readdirSync(this.dir)) {
      const m = SNAPSHOT_FILE.exec(name);
      if (m !== null && BigInt(m[1]!) >= from) fs.rmSync(path.join(this.dir, name), { force: true });
    }
  }

  /**
   * After a truncation: waiters for cut offsets wait for the new end instead (answered once it is
   * written or synced), and the batches kept that are still queued are written.
   */
  private afterTruncation(): void {
    for (const w of this.writeWaiters) if (w.upTo > this.leo) w.upTo = this.leo;
    for (const w of this.waiters) if (w.upTo > this.leo) w.upTo = this.leo;
    let n = 0;
    while (n < this.writeWaiters.length && this.writeWaiters[n]!.upTo <= this.written) n++;
    for (const w of this.writeWaiters.splice(0, n)) w.resolve();
    n = 0;
    while (n < this.waiters.length && this.waiters[n]!.upTo <= this.synced) n++;
    for (const w of this.waiters.splice(0, n)) w.resolve();
    if (this.waiters.length > 0) this.requestSync();
    this.pumpWrites();
    this.settleIdle();
  }

  deleteRecordsBefore(offset: bigint): bigint {
    this.checkUsable();
    const target = offset > this.leo ? this.leo : offset;
    if (target <= this.lso) return this.lso;
    // Durable first: a crash before the files are gone leaves them to be dropped at open.
    writeFileAtomic(path.join(this.dir, LOG_START_OFFSET_FILE), formatLogStartCheckpoint(this.topic, this.partition, target));
    this.lso = target;
    this.producerState.onLogStartOffset(target);
    if (this.dropSegmentsBelow(target) > 0) this.recomputeMaxTimestamp();
    return this.lso;
  }

  enforceRetention(nowMs: number): number {
    if (this.gone !== undefined) return 0;
    // The active segment counts only when it holds data (Kafka never deletes an empty last one).
    const last = this.segments.length - 1;
    const candidates = this.active.size === 0 ? this.segments.slice(0, last) : this.segments;
    const units = candidates.map((seg) => ({ size: seg.size, largestTimestamp: this.largestTimestamp(seg) }));
    const n = retentionCount(this.config, nowMs, units);
    if (n === 0) return 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += units[i]!.size;
    // All of the log is due: roll so that an empty active segment remains at the log end.
    if (n === this.segments.length) this.rollActive();
    const newStart = this.segments[n]!.base;
    if (newStart > this.lso) {
      this.lso = newStart;
      this.producerState.onLogStartOffset(newStart);
    }
    if (this.dropSegmentsBelow(newStart) > 0) this.recomputeMaxTimestamp();
    this.ctx.logger?.info({ topic: this.topic, partition: this.partition, segments: n, bytes, logStartOffset: this.lso }, 'deleted segments past retention');
    return bytes;
  }

  /**
   * Deletes the segments holding only offsets below `offset` (those followed by a segment whose
   * base is <= offset); the active segment always stays. Returns how many went.
   */
  private dropSegmentsBelow(offset: bigint): number {
    let n = 0;
    while (n < this.segments.length - 1 && this.segments[n + 1]!.base <= offset) n++;
    if (n === 0) return 0;
    this.retireSegments(this.segments.splice(0, n));
    return n;
  }

  private recomputeMaxTimestamp(): void {
    this.maxTs = -1n;
    this.maxTsBatchLastOffset = -1n;
    for (const s of this.segments) {
      if (s.maxTimestamp > this.maxTs) {
        this.maxTs = s.maxTimestamp;
        this.maxTsBatchLastOffset = s.offsetOfMaxTimestamp;
      }
    }
  }

  /**
   * The largest timestamp sat in a batch below the log start offset (in the segment straddling
   * it): walks that segment's batch headers from the start on and takes the other segments'
   * maxima. Lazy, so opening a log never pays for it.
   */
  private rescanMaxTimestampFromStart(): void {
    this.writeQueueNow();
    let best = -1n;
    let bestLast = -1n;
    const start = this.locate(this.lso);
    if (start !== undefined && start.segIndex === 0) {
      const seg = this.segments[0]!;
      this.ctx.cache.use(seg);
      const scanner = new BatchScanner(seg.fd!, seg.fileSize);
      for (let pos = start.pos; ; ) {
        const h = scanner.header(pos);
        if (h === undefined || batchHeaderProblem(h, seg.fileSize - pos) !== undefined) break;
        if (h.maxTimestamp > best) {
          best = h.maxTimestamp;
          bestLast = h.baseOffset + BigInt(h.lastOffsetDelta);
        }
        pos += h.sizeInBytes;
      }
    }
    for (let si = 1; si < this.segments.length; si++) {
      const s = this.segments[si]!;
      if (s.maxTimestamp > best) {
        best = s.maxTimestamp;
        bestLast = s.offsetOfMaxTimestamp;
      }
    }
    this.maxTs = best;
    this.maxTsBatchLastOffset = bestLast;
  }

  // ---- compaction (issue 8; the rules are in cleaner.ts) ----

  /**
   * Finishes or drops what a compaction pass, retention or DeleteRecords left when the process
   * died (Kafka's LogLoader does the same with the same suffixes):
   * - `*.deleted`: files of segments taken out of the log, waiting for file.delete.delay.ms: removed;
   * - `*.cleaned`: an unfinished rewrite (the originals are intact): removed;
   * - `<base>.log.swap`: a complete, synced rewrite of the segments from `base` on (one or several
   *   merged) whose swap did not finish: the replaced segments still there (bases after `base` up
   *   to the rewrite's last offset; the one at `base` is overwritten) are removed, with the
   *   rewrite's `<base>.txnindex.swap` when it is still there, and the rewrite becomes `<base>.log`.
   * - a `.txnindex.swap` whose `.log.swap` never came: removed.
   */
  private recoverSwaps(): void {
    for (const name of fs.readdirSync(this.dir)) {
      if (name.endsWith(DELETED_SUFFIX) || name.endsWith(CLEANED_SUFFIX)) fs.rmSync(path.join(this.dir, name), { force: true });
    }
    const swaps = fs
      .readdirSync(this.dir)
      .filter((n) => /^\d{20}\.log\.swap$/.test(n))
      .sort();
    for (const name of swaps) {
      const base = BigInt(name.slice(0, 20));
      const swap = path.join(this.dir, name);
      const next = nextOffsetOfFile(swap, base);
      const replaced = fs.readdirSync(this.dir).filter((n) => {
        const m = /^(\d{20})\.(log|index|timeindex|txnindex)$/.exec(n);
        return m !== null && BigInt(m[1]!) > base && BigInt(m[1]!) < next;
      });
      // .log files first: index files a crash leaves behind are leftovers at open.
      for (const n of replaced.sort((x, y) => Number(y.endsWith('.log')) - Number(x.endsWith('.log')))) fs.rmSync(path.join(this.dir, n), { force: true });
      const prefix = name.slice(0, 20);
      fs.rmSync(path.join(this.dir, `${prefix}.index`), { force: true });
      fs.rmSync(path.join(this.dir, `${prefix}.timeindex`), { force: true });
      const txnSwap = `${this.txnIndexPath(base)}${SWAP_SUFFIX}`;
      if (fs.existsSync(txnSwap)) {
        // Not yet renamed: the .txnindex there is the replaced segment's.
        fs.rmSync(this.txnIndexPath(base), { force: true });
        if (fs.statSync(txnSwap).size > 0) fs.renameSync(txnSwap, this.txnIndexPath(base));
        else fs.rmSync(txnSwap, { force: true });
      }
      fs.renameSync(swap, path.join(this.dir, `${prefix}.log`));
      fsyncDir(this.dir);
      this.warn({ segment: `${prefix}.log`, replacedSegments: replaced.filter((n) => n.endsWith('.log')) }, 'completed an interrupted compaction swap');
    }
    for (const name of fs.readdirSync(this.dir)) {
      if (/^\d{20}\.txnindex\.swap$/.test(name)) fs.rmSync(path.join(this.dir, name), { force: true });
    }
  }

  private cleanerCheckpoint(): bigint {
    const file = path.join(this.dir, CLEANER_CHECKPOINT_FILE);
    if (!fs.existsSync(file)) return 0n;
    return parseLogStartCheckpoint(fs.readFileSync(file, 'utf8'), this.topic, this.partition) ?? 0n;
  }

  /**
   * Batches of a segment with their headers, read one at a time. The caller may give the event
   * loop a turn between two batches (compaction slices): the segment's fd is looked up again after
   * every batch, since the segment cache may have closed it meanwhile.
   */
  private *segmentBatches(seg: Segment): Generator<{ batch: Buffer; header: BatchHeader }> {
    this.ctx.cache.use(seg);
    let fd = seg.fd!;
    let scanner = new BatchScanner(fd, seg.size);
    for (let pos = 0; ; ) {
      if (pos >= seg.size) return;
      // A damaged batch stops the pass (CORRUPT_MESSAGE): a rewrite of what came before it would drop the rest.
      const h = this.headerAt(seg, scanner, pos);
      const batch = seg.readRange(pos, h.sizeInBytes);
      pos += h.sizeInBytes;
      yield { batch, header: h };
      this.ctx.cache.use(seg);
      if (seg.fd !== fd) {
        fd = seg.fd!;
        scanner = new BatchScanner(fd, seg.size);
      }
    }
  }

  /** Largest record timestamp of a segment, else its file's modification time (as Kafka). */
  private largestTimestamp(seg: Segment): number {
    return seg.maxTimestamp >= 0n ? Number(seg.maxTimestamp) : fs.statSync(seg.logPath).mtimeMs;
  }

  private compacting = false;

  /** One compaction pass at once, to its end (tests, and the memory-store-like callers). */
  compact(nowMs: number, cfg: CompactionConfig): CompactionResult {
    // Segments rolled moments ago are made final here rather than skipped (compactSteps, the
    // broker's cleaner, skips them until their files are written off the event loop).
    if (this.gone === undefined && this.sealed.length > 0) this.completeWrites();
    const steps = this.compactSteps(nowMs, cfg);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /**
   * One compaction pass if one is due (see cleaner.ts), in slices: the generator yields after
   * about `sliceBytes` of log read, so the caller can give the event loop a turn between slices.
   * Whole inactive segments below the last stable offset and older than min.compaction.lag.ms are
   * cleanable. They are cleaned in groups of consecutive segments that fit one segment together
   * (cleaner.ts canJoinGroup, Kafka's groupSegmentsBySize, with the group's size measured after
   * cleaning: segments this pass or earlier ones shrank are merged): each group with a change (or
   * of more than one segment) is streamed to `<base>.log.cleaned`, synced, and swapped in for the
   * group (replaceSegments: crash-safe at every step). Appends go on meanwhile (the
   * active segment is never cleaned); a group that retention or DeleteRecords took a segment of
   * meanwhile is left as it is.
   */
  *compactSteps(nowMs: number, cfg: CompactionConfig, sliceBytes = 4 * 1024 * 1024): Generator<void, CompactionResult, void> {
    if (this.gone !== undefined || this.compacting) return NO_PASS;
    const stable = this.producerState.firstUnstableOffset() ?? this.leo;
    const checkpoint = this.cleanerCheckpoint();
    // The inactive segments; the active one is never cleaned.
    // Sealed segments still being finished (rollActive) wait for their index files.
    let inactive = 0;
    while (inactive < this.segments.length - 1 && !this.segments[inactive]!.active) inactive++;
    const units = this.segments.slice(0, inactive).map((seg, i) => ({ end: this.segments[i + 1]!.base, size: seg.size, largestTimestamp: this.largestTimestamp(seg) }));
    const plan = planPass(units, stable, checkpoint > this.lso ? checkpoint : this.lso, nowMs, cfg);
    if (plan === undefined) return NO_PASS;
    const { n, cleanableEnd, firstDirty } = plan;
    const segs = this.segments.slice(0, n);
    const truncations = this.truncations;
    const ends = units.slice(0, n).map((u) => u.end);

    this.compacting = true;
    let cleanedFile: string | undefined;
    try {
      const aborted = new AbortedLookup(this.producerState.abortedList());
      const map = new OffsetMap();
      let sinceYield = 0;
      for (let i = 0; i < segs.length; i++) {
        if (ends[i]! <= firstDirty || !this.segments.includes(segs[i]!)) continue;
        for (const { batch } of this.segmentBatches(segs[i]!)) {
          try {
            map.addBatch(batch, firstDirty, cleanableEnd, aborted);
          } catch (err) {
            // A batch the cleaner cannot decode (a codec this runtime lacks) is kept as it is.
            this.warn({ err: (err as Error).message }, 'compaction skipped an undecodable batch');
          }
          sinceYield += sliceCost(batch.length);
          if (sinceYield >= sliceBytes) {
            sinceYield = 0;
            yield;
            if (this.gone !== undefined || this.truncations !== truncations) return NO_PASS;
          }
        }
      }
      const result: CompactionResult = { ran: true, bytesBefore: 0, bytesAfter: 0, recordsBefore: 0, recordsAfter: 0, cleanedTo: cleanableEnd };
      const ctx: CleanBatchContext = {
        map,
        txns: new CleanedTransactions(this.producerState.abortedList()),
        producers: this.producerState.lastRecords(),
        cleanableEnd,
        nowMs,
        deleteRetentionMs: cfg.deleteRetentionMs,
      };
      const maxIndexBytes = cfg.segmentIndexBytes ?? DEFAULT_SEGMENT_INDEX_BYTES;
      const groupable = (seg: Segment): GroupableSegment => ({ base: seg.base, size: seg.size, indexBytes: fileSize(seg.indexPath), timeIndexBytes: fileSize(seg.timeIndexPath) });
      const released: AbortedTxn[] = [];
      for (let next = 0; next < segs.length; ) {
        const first = segs[next++]!;
        if (!this.segments.includes(first)) continue;
        cleanedFile = `${first.logPath}${CLEANED_SUFFIX}`;
        const out = new BackgroundSync(fs.openSync(cleanedFile, 'w'));
        const indexes = new RewriteIndexes(first.base, this.config.indexIntervalBytes);
        const group: Segment[] = [];
        const sizes: SegmentGroup = { base: first.base, logBytes: 0, indexBytes: 0, timeIndexBytes: 0 };
        let changed = false;
        let written = 0;
        const retainedAborted: AbortedTxn[] = [];
        const releasedAborted: AbortedTxn[] = [];
        try {
          for (let seg: Segment | undefined = first; seg !== undefined; ) {
            group.push(seg);
            const g = groupable(seg);
            sizes.indexBytes += g.indexBytes;
            sizes.timeIndexBytes += g.timeIndexBytes;
            for (const { batch, header } of this.segmentBatches(seg)) {
              result.bytesBefore += batch.length;
              let c: CleanedBatch;
              try {
                c = cleanBatch(batch, ctx);
              } catch {
                c = { batch, recordsBefore: header.recordCount, recordsAfter: header.recordCount };
              }
              if (c.retainedAborted !== undefined) retainedAborted.push(c.retainedAborted);
              if (c.releasedAborted !== undefined) releasedAborted.push(c.releasedAborted);
              result.recordsBefore += c.recordsBefore;
              result.recordsAfter += c.recordsAfter;
              if (c.batch !== batch) changed = true;
              if (c.batch !== null) {
                writeFully(out.fd, c.batch, written);
                indexes.add(written, c.batch === batch ? header : readBatchHeader(c.batch));
                written += c.batch.length;
                result.bytesAfter += c.batch.length;
              }
              sinceYield += sliceCost(batch.length);
              if (sinceYield >= sliceBytes) {
                sinceYield = 0;
                out.kick();
                yield;
                if (this.gone !== undefined || this.truncations !== truncations) return NO_PASS;
              }
            }
            // Kafka's groupSegmentsBySize, with this group's size as cleaning left it: the next
            // segment joins when it fits even if cleaning removes nothing from it.
            sizes.logBytes = written;
            seg = undefined;
            if (next < segs.length) {
              const cand = segs[next]!;
              const candLast = next + 1 < segs.length ? segs[next + 1]!.base - 1n : cleanableEnd - 1n;
              if (this.segments.includes(cand) && canJoinGroup(sizes, groupable(cand), candLast, this.config.segmentBytes, maxIndexBytes)) {
                seg = cand;
                next++;
              }
            }
          }
          // Several segments are merged into one even when no batch changed.
          if (group.length > 1) changed = true;
          if (changed) fs.fsyncSync(out.fd);
        } finally {
          out.close();
        }
        const i = this.segments.indexOf(first);
        const intact = i >= 0 && group.every((seg, k) => this.segments[i + k] === seg);
        if (!changed || !intact) {
          fs.rmSync(cleanedFile, { force: true });
        } else {
          this.replaceSegments(i, group, cleanedFile, retainedAborted, indexes);
          released.push(...releasedAborted);
        }
        cleanedFile = undefined;
      }
      this.producerState.forgetAborted(released);
      writeFileAtomic(path.join(this.dir, CLEANER_CHECKPOINT_FILE), formatLogStartCheckpoint(this.topic, this.partition, cleanableEnd));
      this.recomputeMaxTimestamp();
      return result;
    } finally {
      if (cleanedFile !== undefined) fs.rmSync(cleanedFile, { force: true });
      this.compacting = false;
    }
  }

  /**
   * Replaces the consecutive inactive segments `group` (from index `i`) with the synced rewrite
   * `cleaned` (based at the first one's base), crash-safely, as Kafka's replaceSegments:
   *   1. the rewrite's `.txnindex` (its aborted transactions, possibly none) as `<base>.txnindex.swap`,
   *      then the rewrite as `<base>.log.swap`: from here on recovery completes the swap;
   *   2. the replaced segments' files renamed `.deleted` (removed after file.delete.delay.ms);
   *   3. the index files (built while the rewrite was written), the `.txnindex.swap` and then the
   *      `.log.swap` renamed to their names.
   * A kill -9 before 1 leaves the originals (the `.cleaned` file is removed at open), after it the
   * rewrite (recoverSwaps, which rebuilds its indexes); either way every offset is readable.
   */
  private replaceSegments(i: number, group: readonly Segment[], cleaned: string, aborted: readonly AbortedTxn[], indexes: RewriteIndexes): void {
    const base = group[0]!.base;
    const logPath = group[0]!.logPath;
    const swap = `${logPath}${SWAP_SUFFIX}`;
    const txnSwap = `${this.txnIndexPath(base)}${SWAP_SUFFIX}`;
    // The newest original's modification time (Kafka keeps the last one's): retention of data without timestamps goes by it.
    const mtime = Math.max(...group.map((seg) => fs.statSync(seg.logPath).mtimeMs)) / 1000;
    fs.utimesSync(cleaned, mtime, mtime);
    writeFileAtomic(txnSwap, Buffer.concat(aborted.map(encodeTxnIndexEntry)));
    fs.renameSync(cleaned, swap);
    fsyncDir(this.dir);
    this.retireSegments(group);
    // Index files next to the .swap are removed by recovery (rebuilt from the log).
    indexes.write(group[0]!.indexPath, group[0]!.timeIndexPath);
    if (aborted.length > 0) fs.renameSync(txnSwap, this.txnIndexPath(base));
    else fs.rmSync(txnSwap, { force: true });
    fs.renameSync(swap, logPath);
    fsyncDir(this.dir);
    this.segments.splice(i, group.length, Segment.openInactive(this.dir, base, this.config.indexIntervalBytes).seg);
  }

  // ---- deleted segments and file.delete.delay.ms ----

  /** Timers removing files of deleted segments (cancelled when the partition is closed or deleted). */
  private readonly deleteTimers = new Set<ReturnType<typeof setTimeout>>();

  /**
   * Takes segments out of the log (retention, DeleteRecords, compaction): closes them and renames
   * their files `<name>.deleted`, the .log first (index files a crash leaves behind are leftovers
   * at open). The files are removed file.delete.delay.ms later (Kafka's asynchronous segment
   * deletion; 0: right away), off the event loop; what a restart finds is removed at open.
   */
  private retireSegments(segs: readonly Segment[]): void {
    const files: string[] = [];
    for (const seg of segs) {
      this.ctx.cache.forget(seg);
      seg.close();
      for (const file of [seg.logPath, seg.indexPath, seg.timeIndexPath, this.txnIndexPath(seg.base)]) {
        try {
          fs.renameSync(file, `${file}${DELETED_SUFFIX}`);
          files.push(`${file}${DELETED_SUFFIX}`);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    }
    fsyncDir(this.dir);
    // Off the event loop: freeing a large file takes a while. A failure leaves it for the next open.
    const remove = (): void => {
      for (const f of files) fs.rm(f, { force: true }, () => {});
    };
    const delay = this.config.fileDeleteDelayMs;
    if (!(delay > 0)) {
      remove();
      return;
    }
    const timer = setTimeout(() => {
      this.deleteTimers.delete(timer);
      remove();
    }, Math.min(delay, 2 ** 31 - 1));
    timer.unref();
    this.deleteTimers.add(timer);
  }

  /** fsync of the active segment's log (its indexes are rebuilt by recovery after a crash). */
  flush(): void {
    if (this.gone !== undefined) return;
    this.completeWrites();
    this.active.flush();
    this.unflushedMessages = 0;
    this.markSynced(this.leo);
  }

  /**
   * The active segment's queue written on the calling thread, for readers that need the whole log
   * in the file. A failure is left to the queue's own retry: the reader sees the written part.
   */
  private writeQueueNow(): void {
    if (this.written >= this.leo || this.writeFault !== undefined) return;
    try {
      this.ctx.cache.use(this.active);
      this.active.writeQueuedSync();
      this.onWritten(this.leo);
    } catch {
      // the queue's own write reports it
    }
  }

  /**
   * On the calling thread: the queue written and the sealed segments made final (index files;
   * their snapshots are skipped: recovery scans from an older one). For flush() and close().
   */
  private completeWrites(): void {
    const seg = this.active;
    if (seg.queuedWrites > 0) {
      this.ctx.cache.use(seg);
      seg.writeQueuedSync();
    }
    this.onWritten(this.leo);
    for (const { seg: s } of this.sealed.splice(0)) {
      if (!this.segments.includes(s)) continue;
      s.writeIndexFiles();
      s.deactivate();
      if (s.loaded) this.ctx.cache.use(s);
    }
  }

  /**
   * Flushes, writes the active segment's index files (the next clean start reads them instead of
   * walking the log) and releases every fd; the object is unusable afterwards.
   */
  close(): void {
    if (this.gone !== undefined) return;
    try {
      this.completeWrites();
      this.active.writeIndexFiles();
      this.markSynced(this.leo);
      // A clean shutdown leaves a snapshot at the log end: nothing to scan at the next open.
      this.snapshotProducerState();
    } finally {
      this.release('closed');
    }
  }

  /** Releases fds before the directory is removed; the object is unusable afterwards. */
  markDeleted(): void {
    if (this.gone !== undefined) return;
    this.release('deleted');
  }

  private release(state: string): void {
    // Files of deleted segments not removed yet go at the next open (as Kafka's after a restart).
    for (const t of this.deleteTimers) clearTimeout(t);
    this.deleteTimers.clear();
    const err = new LogStoreError(state === 'deleted' ? 'UNKNOWN_TOPIC_OR_PARTITION' : 'STORAGE_ERROR', `${this.topic}-${this.partition} is ${state}`);
    this.failWaiters(err);
    for (const w of this.writeWaiters.splice(0)) w.reject(err);
    for (const s of this.segments) {
      this.ctx.cache.forget(s);
      s.close();
    }
    this.gone = state;
    this.sealed = [];
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const idle of this.idleWaiters.splice(0)) idle();
  }

  // ---- OffsetForLeaderEpoch / DescribeLogDirs (issue 8) ----

  /**
   * leader-epoch-checkpoint holds the history (epoch-cache.ts: leaders' bumps, epochs of follower
   * batches); epoch 0 from offset 0 is implicit. An entry hides earlier ones starting at the same
   * offset or later (Kafka's assign), and the cut at the log
   * start is applied here rather than to the file, so DeleteRecords and retention need not
   * rewrite it. If the checkpoint was lost while the data carries a newer epoch (load() keeps
   * that epoch), its start is unknown and the log end stands in for it.
   */
  leaderEpochEntries(): Array<{ epoch: number; startOffset: bigint }> {
    return epochView(this.epochEntries, this.lso, this.leo, this.epoch);
  }

  sizeInBytes(): number {
    let bytes = 0;
    for (const s of this.segments) bytes += s.size;
    return bytes;
  }
}
