// Issue 10 (replication): the log operations of a follower replica, as a contract over both stores
// (appendAsFollower, truncateTo, truncateFullyAndStartAt; Kafka's UnifiedLog.appendAsFollower,
// truncateTo and truncateFullyAndStartAt), plus the file store's persistence of them: restarts,
// kill -9 (a second store opened on the directory without closing the first), and truncation while
// writes are queued or running.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { ControlRecordType, encodeControlBatch, encodeRecordBatch } from '../../protocol/records/index.js';
import { InvalidBatchError, UnexpectedAppendOffsetError } from '../../src/log/common.js';
import { LEADER_EPOCH_FILE } from '../../src/log/file-partition.js';
import { openFileStore } from '../../src/log/file-store.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogConfig, type LogStore, type PartitionLog } from '../../src/log/types.js';
import { baseOffsetOf, captureLogger, tempStores } from './helpers.js';

const { stores, tmpDir } = tempStores('brook-follower-', { restoreMocks: true });

function create(store: LogStore): PartitionLog {
  if (!store.getTopic('t')) store.createTopic({ name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', numPartitions: 1, replicationFactor: 1, configs: {} });
  return store.partition('t', 0)!;
}

interface Harness {
  name: 'memory' | 'file';
  open(cfg?: Partial<LogConfig>): { store: LogStore; log: PartitionLog; dir?: string };
}

const harnesses: Harness[] = [
  {
    name: 'memory',
    open: (cfg = {}) => {
      const store = createMemoryStore({ logConfig: { ...DEFAULT_LOG_CONFIG, ...cfg } });
      stores.push(store);
      return { store, log: create(store) };
    },
  },
  {
    name: 'file',
    open: (cfg = {}) => {
      const dir = tmpDir();
      const store = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, ...cfg } });
      stores.push(store);
      return { store, log: create(store), dir };
    },
  },
];

function reopen(dir: string, cfg: Partial<LogConfig> = {}): PartitionLog {
  const store = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, ...cfg } });
  stores.push(store);
  return store.partition('t', 0)!;
}

interface Spec {
  /** Records (default 3). */
  n?: number;
  pid?: bigint;
  producerEpoch?: number;
  seq?: number;
  txn?: boolean;
  ts?: bigint;
}

/** A batch as a leader stored it: its own offsets and partition leader epoch, a valid CRC. */
function leaderBatch(base: bigint, epoch: number, s: Spec = {}): Buffer {
  const n = s.n ?? 3;
  const ts = s.ts ?? 1_000n + base;
  return encodeRecordBatch({
    baseOffset: base,
    partitionLeaderEpoch: epoch,
    producerId: s.pid ?? -1n,
    producerEpoch: s.producerEpoch ?? (s.pid === undefined ? -1 : 0),
    baseSequence: s.seq ?? -1,
    isTransactional: s.txn ?? false,
    baseTimestamp: ts,
    records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${base + BigInt(i)}`), timestamp: ts + BigInt(i) })),
  });
}

function marker(base: bigint, epoch: number, pid: bigint, commit: boolean): Buffer {
  return encodeControlBatch({
    baseOffset: base,
    partitionLeaderEpoch: epoch,
    type: commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT,
    producerId: pid,
    producerEpoch: 0,
    coordinatorEpoch: 1,
    timestamp: 5_000n + base,
  });
}

const entries = (p: PartitionLog) => p.leaderEpochEntries().map((e) => [e.epoch, e.startOffset]);
const readAll = (p: PartitionLog, from = p.logStartOffset) => p.read(from, 1 << 24, true).chunks;
const offsets = (p: PartitionLog, from?: bigint) => readAll(p, from).map(baseOffsetOf);
const bytesOf = (chunks: Buffer[]) => Buffer.concat(chunks);

/** Three leader batches of three records: 0..2 epoch 0, 3..5 epoch 2, 6..8 epoch 5. */
function threeEpochs(): Buffer[] {
  return [leaderBatch(0n, 0), leaderBatch(3n, 2), leaderBatch(6n, 5)];
}

describe.each(harnesses)('follower log ($name store)', (h) => {
  describe('appendAsFollower', () => {
    it('stores the leader batches byte for byte: offsets and partition leader epochs kept', async () => {
      const { log } = h.open();
      const input = threeEpochs();
      const copies = input.map((b) => Buffer.from(b));
      const info = log.appendAsFollower(input);
      expect(info).toEqual({ baseOffset: 0n, lastOffset: 8n, logStartOffset: 0n });
      expect(log.logEndOffset).toBe(9n);
      await log.whenWritten();
      expect(log.writtenEndOffset).toBe(9n);
      expect(bytesOf(readAll(log)).equals(bytesOf(copies))).toBe(true);
      // The epoch history follows the batches (Kafka's assign on the follower path).
      expect(entries(log)).toEqual([
        [0, 0n],
        [2, 3n],
        [5, 6n],
      ]);
      expect(log.leaderEpoch).toBe(5);
      // Timestamp lookups answer with the batch's own epoch.
      expect(log.offsetForTimestamp(1_004n)).toMatchObject({ offset: 4n, leaderEpoch: 2 });
    });

    it('accepts a gap (a compacted leader log) and moves the log end past the last batch', () => {
      const { log } = h.open();
      log.appendAsFollower([leaderBatch(0n, 1, { n: 2 })]);
      const info = log.appendAsFollower([leaderBatch(10n, 1, { n: 2 }), leaderBatch(20n, 3, { n: 1 })]);
      expect(info).toEqual({ baseOffset: 10n, lastOffset: 20n, logStartOffset: 0n });
      expect(log.logEndOffset).toBe(21n);
      expect(offsets(log)).toEqual([0n, 10n, 20n]);
      expect(offsets(log, 5n)).toEqual([10n, 20n]);
      expect(entries(log)).toEqual([
        [1, 0n],
        [3, 20n],
      ]);
    });

    it('refuses out of order offsets and damaged batches with a clear error, appending nothing', () => {
      const { log } = h.open();
      log.appendAsFollower([leaderBatch(0n, 0)]);
      const below = (): unknown => log.appendAsFollower([leaderBatch(2n, 0)]);
      expect(below).toThrow(UnexpectedAppendOffsetError);
      expect(below).toThrow(/out of order offsets: first offset 2 is below the log end offset 3/);
      try {
        below();
      } catch (err) {
        expect(err).toMatchObject({ code: 'ERR_UNEXPECTED_APPEND_OFFSET', firstOffset: 2n, lastOffset: 4n });
      }
      // Overlapping batches within one append: none of them is stored.
      expect(() => log.appendAsFollower([leaderBatch(3n, 0), leaderBatch(5n, 0)])).toThrow(/batch 1 starts at 5, after a batch ending at 5/);
      const damaged = leaderBatch(3n, 0);
      damaged[damaged.length - 1] ^= 0xff;
      expect(() => log.appendAsFollower([leaderBatch(3n, 0), damaged])).toThrow(InvalidBatchError);
      expect(() => log.appendAsFollower([damaged])).toThrow(/CRC-32C/);
      expect(log.logEndOffset).toBe(3n);
      expect(offsets(log)).toEqual([0n]);
      expect(entries(log)).toEqual([[0, 0n]]);
      // The log end itself is fine.
      expect(log.appendAsFollower([leaderBatch(3n, 0)]).baseOffset).toBe(3n);
    });

    it('feeds the producer state as leader appends do: sequences, open transactions, aborted ones', () => {
      const { log } = h.open();
      log.appendAsFollower([
        leaderBatch(0n, 0, { pid: 7n, seq: 0 }), // 0..2
        leaderBatch(3n, 0, { pid: 8n, seq: 0, txn: true, n: 2 }), // 3..4
        marker(5n, 0, 8n, false), // ABORT at 5
        leaderBatch(6n, 0, { pid: 9n, seq: 0, txn: true, n: 1 }), // 6, left open
      ]);
      const p7 = log.producerState.describe().find((p) => p.producerId === 7n);
      expect(p7?.lastSequence).toBe(2);
      expect(log.producerState.abortedTransactions(0n, 100n)).toEqual([{ producerId: 8n, firstOffset: 3n }]);
      expect(log.producerState.firstUnstableOffset()).toBe(6n);
      expect(log.producerState.hasOpenTransaction(9n)).toBe(true);
    });

    it('leaves bumpLeaderEpoch to the leader: the epoch starts at the log end and leader appends carry it', () => {
      const { log } = h.open();
      log.appendAsFollower(threeEpochs());
      log.bumpLeaderEpoch(4); // older than the history's latest: ignored
      expect(log.leaderEpoch).toBe(5);
      log.bumpLeaderEpoch(7);
      expect(entries(log)).toEqual([
        [0, 0n],
        [2, 3n],
        [5, 6n],
        [7, 9n],
      ]);
      log.append([leaderBatch(0n, -1, { n: 1 })]);
      const last = readAll(log, 9n)[0]!;
      expect(baseOffsetOf(last)).toBe(9n);
      expect(last.readInt32BE(12)).toBe(7);
    });
  });

  describe('truncateTo', () => {
    it('inside a batch: that batch goes too, the log ends where the batches kept end (Kafka cuts at the batch)', async () => {
      const { log } = h.open();
      log.appendAsFollower(threeEpochs());
      await log.whenWritten();
      log.truncateTo(4n);
      expect(log.logEndOffset).toBe(3n);
      expect(log.writtenEndOffset).toBe(3n);
      expect(offsets(log)).toEqual([0n]);
      expect(log.read(3n, 1 << 20, true).chunks).toEqual([]);
      expect(entries(log)).toEqual([[0, 0n]]);
      expect(log.leaderEpoch).toBe(0);
      expect(log.maxTimestamp()).toMatchObject({ offset: 2n, timestamp: 1_002n });
      expect(log.offsetForTimestamp(1_003n)).toBeUndefined();
      // The follower fetches from its new end and appends the new leader's batches there.
      log.appendAsFollower([leaderBatch(3n, 6, { n: 2 })]);
      expect(log.logEndOffset).toBe(5n);
      expect(entries(log)).toEqual([
        [0, 0n],
        [6, 3n],
      ]);
      await log.whenWritten();
      expect(offsets(log)).toEqual([0n, 3n]);
    });

    it('at a batch boundary, and not at all at or past the log end (except the epoch history)', () => {
      const { log } = h.open();
      log.appendAsFollower(threeEpochs());
      log.truncateTo(9n);
      log.truncateTo(100n);
      expect(log.logEndOffset).toBe(9n);
      expect(entries(log)).toEqual([
        [0, 0n],
        [2, 3n],
        [5, 6n],
      ]);
      log.truncateTo(6n);
      expect(log.logEndOffset).toBe(6n);
      expect(offsets(log)).toEqual([0n, 3n]);
      expect(entries(log)).toEqual([
        [0, 0n],
        [2, 3n],
      ]);
      expect(log.leaderEpoch).toBe(2);
      // A leader's epoch assigned at its log end with nothing appended goes with a truncation at
      // the end (Kafka: "we may have a conflicting epoch entry at the end of the log").
      log.bumpLeaderEpoch(8);
      expect(entries(log).at(-1)).toEqual([8, 6n]);
      log.truncateTo(6n);
      expect(entries(log)).toEqual([
        [0, 0n],
        [2, 3n],
      ]);
      expect(log.leaderEpoch).toBe(2);
      expect(log.logEndOffset).toBe(6n);
    });

    it('across segments: the segments past the cut go, the one cut is active again', async () => {
      const size = leaderBatch(30n, 0).length; // the largest of them (value and timestamp varints grow)
      const { log, dir } = h.open({ segmentBytes: size * 2, indexIntervalBytes: 1 });
      for (let i = 0; i < 10; i++) log.appendAsFollower([leaderBatch(BigInt(i * 3), i < 5 ? 1 : 2)]); // 0..29, 5 segments of 2
      await log.whenWritten();
      const logFiles = () => fs.readdirSync(path.join(dir!, 't-0')).filter((f) => f.endsWith('.log'));
      if (dir !== undefined) expect(logFiles()).toHaveLength(5);
      log.truncateTo(10n); // inside 9..11, in the segment 6..11
      expect(log.logEndOffset).toBe(9n);
      expect(offsets(log)).toEqual([0n, 3n, 6n]);
      if (dir !== undefined) expect(logFiles()).toEqual(['00000000000000000000.log', '00000000000000000006.log']);
      expect(entries(log)).toEqual([[1, 0n]]);
      expect(log.maxTimestamp()).toMatchObject({ offset: 8n, timestamp: 1_008n });
      // Appends go on in the segment cut, rolling again when it is full.
      for (let i = 3; i < 7; i++) log.appendAsFollower([leaderBatch(BigInt(i * 3), 3)]);
      await log.whenWritten();
      expect(log.logEndOffset).toBe(21n);
      expect(offsets(log)).toEqual([0n, 3n, 6n, 9n, 12n, 15n, 18n]);
      expect(log.offsetForTimestamp(1_013n)).toMatchObject({ offset: 13n, leaderEpoch: 3 });
      if (dir !== undefined) expect(logFiles()).toEqual(['00000000000000000000.log', '00000000000000000006.log', '00000000000000000012.log', '00000000000000000018.log']);
    });

    it('below the first stored offset: truncated fully, starting at the offset (Kafka)', () => {
      const size = leaderBatch(0n, 0).length;
      const { log } = h.open({ segmentBytes: size });
      log.appendAsFollower(threeEpochs());
      log.deleteRecordsBefore(3n); // the first batch (segment) goes
      log.truncateTo(1n);
      expect(log.logStartOffset).toBe(1n);
      expect(log.logEndOffset).toBe(1n);
      expect(log.writtenEndOffset).toBe(1n);
      expect(readAll(log)).toEqual([]);
      expect(entries(log)).toEqual([[0, 1n]]);
      log.appendAsFollower([leaderBatch(1n, 9, { n: 1 })]);
      expect(offsets(log)).toEqual([1n]);
      expect(entries(log)).toEqual([[9, 1n]]);
    });

    it('below the log start inside the stored data: the log start comes down to the new end', () => {
      const { log } = h.open();
      log.appendAsFollower(threeEpochs());
      log.deleteRecordsBefore(4n); // inside 3..5: that batch stays stored
      log.truncateTo(5n);
      expect(log.logEndOffset).toBe(3n);
      expect(log.logStartOffset).toBe(3n);
      expect(readAll(log)).toEqual([]);
      log.appendAsFollower([leaderBatch(3n, 4, { n: 1 })]);
      expect(offsets(log)).toEqual([3n]);
      expect(log.logStartOffset).toBe(3n);
    });

    it('rolls the producer state back: sequences, open transactions and aborted ones cut away', () => {
      const { log } = h.open();
      log.appendAsFollower([
        leaderBatch(0n, 0, { pid: 7n, seq: 0 }), // 0..2
        leaderBatch(3n, 0, { pid: 8n, seq: 0, txn: true, n: 1 }), // 3
        marker(4n, 0, 8n, false), // ABORT at 4
        leaderBatch(5n, 0, { pid: 7n, seq: 3 }), // 5..7
        leaderBatch(8n, 0, { pid: 9n, seq: 0, txn: true, n: 1 }), // 8
        marker(9n, 0, 9n, false), // ABORT at 9
        leaderBatch(10n, 0, { pid: 10n, seq: 0, txn: true, n: 1 }), // 10, open
      ]);
      expect(log.producerState.abortedTransactions(0n, 100n)).toHaveLength(2);
      expect(log.producerState.firstUnstableOffset()).toBe(10n);

      log.truncateTo(9n); // the second ABORT and the open transaction go
      expect(log.producerState.abortedTransactions(0n, 100n)).toEqual([{ producerId: 8n, firstOffset: 3n }]);
      // pid 9's transaction is open again (its marker went), pid 10's is gone.
      expect(log.producerState.hasOpenTransaction(10n)).toBe(false);
      expect(log.producerState.hasOpenTransaction(9n)).toBe(true);
      expect(log.producerState.firstUnstableOffset()).toBe(8n);

      log.truncateTo(5n); // pid 7's second batch goes: its last sequence is 2 again
      const p7 = log.producerState.describe().find((p) => p.producerId === 7n);
      expect(p7?.lastSequence).toBe(2);
      const next = { producerId: 7n, producerEpoch: 0, lastOffsetDelta: 0, maxTimestamp: 0n, isTransactional: false, isControl: false };
      expect(log.producerState.check({ ...next, baseSequence: 3 }).kind).toBe('append');
      expect(log.producerState.check({ ...next, baseSequence: 6 })).toMatchObject({ kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
      expect(log.producerState.hasOpenTransaction(9n)).toBe(false);
      expect(log.producerState.firstUnstableOffset()).toBeUndefined();
      expect(log.producerState.abortedTransactions(0n, 100n)).toEqual([{ producerId: 8n, firstOffset: 3n }]);

      log.truncateTo(4n); // the first ABORT goes: pid 8's transaction is open again, nothing aborted
      expect(log.producerState.abortedTransactions(0n, 100n)).toEqual([]);
      expect(log.producerState.firstUnstableOffset()).toBe(3n);
    });
    it('a compaction pass between slices gives up when the log is truncated (Kafka aborts cleaning)', () => {
      const { log } = h.open({ cleanupPolicy: 'compact', segmentBytes: 400 });
      const keyed = (base: bigint, key: string) =>
        encodeRecordBatch({ baseOffset: base, partitionLeaderEpoch: 1, baseTimestamp: 1_000n, records: [{ key: Buffer.from(key), value: Buffer.from(`${key}${base}`), timestamp: 1_000n }] });
      for (let i = 0n; i < 60n; i++) log.appendAsFollower([keyed(i, ['a', 'b', 'c'][Number(i % 3n)]!)]);
      log.flush();
      const before = readAll(log).map((b) => Buffer.from(b));
      const steps = log.compactSteps(10_000, { deleteRetentionMs: 1e12, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, minCleanableDirtyRatio: 0 }, 100);
      expect(steps.next().done).toBe(false);
      log.truncateTo(30n);
      let r = steps.next();
      while (!r.done) r = steps.next();
      expect(r.value.ran).toBe(false);
      expect(log.logEndOffset).toBe(30n);
      // Nothing was rewritten: every batch below the cut is still there as it was.
      expect(bytesOf(readAll(log)).equals(bytesOf(before.slice(0, 30)))).toBe(true);
    });
  });

  describe('truncateFullyAndStartAt', () => {
    it('empties the log at the offset: no data, no producers, the epoch history cleared', async () => {
      const { log } = h.open();
      log.appendAsFollower([leaderBatch(0n, 3, { pid: 7n, seq: 0, txn: true })]);
      log.truncateFullyAndStartAt(50n);
      expect(log.logStartOffset).toBe(50n);
      expect(log.logEndOffset).toBe(50n);
      expect(log.writtenEndOffset).toBe(50n);
      await log.whenWritten();
      await log.whenDurable();
      expect(readAll(log)).toEqual([]);
      expect(log.producerState.describe()).toEqual([]);
      expect(log.producerState.firstUnstableOffset()).toBeUndefined();
      expect(entries(log)).toEqual([[0, 50n]]);
      expect(log.leaderEpoch).toBe(0);
      // A gap after it is accepted too (the leader's log start can fall before its first batch).
      log.appendAsFollower([leaderBatch(52n, 2, { n: 1 })]);
      expect(log.logEndOffset).toBe(53n);
      expect(offsets(log)).toEqual([52n]);
      expect(entries(log)).toEqual([
        [0, 50n],
        [2, 52n],
      ]);
      // Below the new start is out of order.
      expect(() => log.appendAsFollower([leaderBatch(40n, 2, { n: 1 })])).toThrow(UnexpectedAppendOffsetError);
    });
  });
});

describe('file store: persistence of follower logs', () => {
  const cfg = (segmentBytes = DEFAULT_LOG_CONFIG.segmentBytes): Partial<LogConfig> => ({ segmentBytes, indexIntervalBytes: 1 });

  function fill(log: PartitionLog): void {
    log.appendAsFollower([
      leaderBatch(0n, 1, { pid: 7n, seq: 0 }), // 0..2
      leaderBatch(3n, 1, { pid: 8n, seq: 0, txn: true, n: 1 }), // 3
      marker(4n, 2, 8n, false), // ABORT at 4
      leaderBatch(5n, 2, { pid: 7n, seq: 3 }), // 5..7
      leaderBatch(8n, 4, { pid: 9n, seq: 0, txn: true, n: 1 }), // 8, open
    ]);
  }

  function state(log: PartitionLog) {
    return {
      logEndOffset: log.logEndOffset,
      logStartOffset: log.logStartOffset,
      leaderEpoch: log.leaderEpoch,
      entries: entries(log),
      offsets: offsets(log),
      producers: log.producerState
        .describe()
        .map((p) => [p.producerId, p.lastSequence, p.currentTxnStartOffset])
        .sort((a, b) => Number((a[0] as bigint) - (b[0] as bigint))),
      aborted: log.producerState.abortedTransactions(0n, 1000n),
      unstable: log.producerState.firstUnstableOffset(),
    };
  }

  it.each([
    ['one segment', DEFAULT_LOG_CONFIG.segmentBytes],
    ['a segment per batch', 1],
  ])('a restart and a kill -9 after truncateTo give the same log, epochs and producer state (%s)', async (_name, segmentBytes) => {
    const dir = tmpDir();
    const s = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, ...cfg(segmentBytes) } });
    stores.push(s);
    const log = create(s);
    fill(log);
    await log.whenWritten();
    log.snapshotProducerState(); // a snapshot past the cut must not come back
    log.truncateTo(6n);
    const after = state(log);
    expect(after).toMatchObject({
      logEndOffset: 5n,
      leaderEpoch: 2,
      entries: [
        [1, 0n],
        [2, 4n],
      ],
      offsets: [0n, 3n, 4n],
      aborted: [{ producerId: 8n, firstOffset: 3n }],
      unstable: undefined,
    });
    await log.whenWritten();
    // kill -9: a second store on the directory, the first never closed.
    expect(state(reopen(dir, cfg(segmentBytes)))).toEqual(after);
    // A clean restart.
    s.close();
    expect(state(reopen(dir, cfg(segmentBytes)))).toEqual(after);
  });

  it('truncateFullyAndStartAt survives a restart, and a kill -9', async () => {
    const dir = tmpDir();
    const s = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, ...cfg(1) } });
    stores.push(s);
    const log = create(s);
    fill(log);
    log.deleteRecordsBefore(3n);
    await log.whenWritten();
    log.truncateFullyAndStartAt(100n);
    log.appendAsFollower([leaderBatch(100n, 6, { n: 2 })]);
    await log.whenWritten();
    const after = state(log);
    expect(after).toMatchObject({ logStartOffset: 100n, logEndOffset: 102n, entries: [[6, 100n]], producers: [], offsets: [100n] });
    expect(state(reopen(dir, cfg(1)))).toEqual(after);
    s.close();
    expect(state(reopen(dir, cfg(1)))).toEqual(after);
    expect(fs.readdirSync(path.join(dir, 't-0')).filter((f) => f.endsWith('.log'))).toEqual(['00000000000000000100.log']);
  });

  it('the follower-derived epoch history is persisted; entries a crash left past the log end are dropped at open', async () => {
    const dir = tmpDir();
    const s = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, ...cfg() } });
    stores.push(s);
    const log = create(s);
    log.appendAsFollower(threeEpochs());
    await log.whenWritten();
    s.close();
    const q = reopen(dir);
    expect(entries(q)).toEqual([
      [0, 0n],
      [2, 3n],
      [5, 6n],
    ]);
    expect(q.leaderEpoch).toBe(5);
    // A crash between a cut and the checkpoint's rewrite (or a lost tail after a leader's bump):
    // entries past the end in the file. They go; the newest epoch stays, starting at the end.
    const file = path.join(dir, 't-0', LEADER_EPOCH_FILE);
    fs.writeFileSync(file, '0\n4\n2 3\n5 6\n7 12\n8 15\n');
    const r = reopen(dir);
    expect(entries(r)).toEqual([
      [0, 0n],
      [2, 3n],
      [5, 6n],
      [8, 9n],
    ]);
    expect(r.leaderEpoch).toBe(8);
    expect(fs.readFileSync(file, 'utf8')).toBe('0\n3\n2 3\n5 6\n8 9\n');
    // An epoch a leader assigned at the end itself is kept as it is.
    fs.writeFileSync(file, '0\n3\n2 3\n5 6\n9 9\n');
    expect(entries(reopen(dir)).at(-1)).toEqual([9, 9n]);
    expect(fs.readFileSync(file, 'utf8')).toBe('0\n3\n2 3\n5 6\n9 9\n');
  });

  it('truncation while writes are queued: no cut byte reaches the file', async () => {
    const { log, dir } = harnesses[1]!.open();
    const a = leaderBatch(0n, 0);
    log.appendAsFollower([a]);
    await log.whenWritten();
    log.appendAsFollower([leaderBatch(3n, 1), leaderBatch(6n, 1)]); // queued, not written yet
    const waiting = log.whenWritten();
    log.truncateTo(5n);
    await waiting; // answered at the new end
    await log.whenWritten();
    const file = path.join(dir!, 't-0', '00000000000000000000.log');
    expect(fs.readFileSync(file).equals(a)).toBe(true);
    const b = leaderBatch(3n, 2, { n: 1 });
    log.appendAsFollower([b]);
    await log.whenWritten();
    expect(fs.readFileSync(file).equals(Buffer.concat([a, b]))).toBe(true);
    expect(reopen(dir!).logEndOffset).toBe(4n);
  });

  it('truncation while a write runs: the write is cut when it ends, before the next one, and a restart agrees', async () => {
    const { log, dir } = harnesses[1]!.open();
    const file = path.join(dir!, 't-0', '00000000000000000000.log');
    const a = leaderBatch(0n, 0);
    const b = leaderBatch(3n, 1);
    const c = leaderBatch(6n, 1);
    log.appendAsFollower([a]);
    await log.whenWritten();
    // Hold the next write on the threadpool side: it lands only after the truncation.
    const real = fs.writev as (...args: unknown[]) => void;
    let landed: (() => void) | undefined;
    let writes = 0;
    vi.spyOn(fs, 'writev').mockImplementation(((...args: unknown[]) => {
      writes++;
      if (landed === undefined && writes === 1) {
        landed = () => real.apply(fs, args);
        return;
      }
      real.apply(fs, args);
    }) as never);
    log.appendAsFollower([b, c]);
    await vi.waitFor(() => expect(landed).toBeDefined());
    log.truncateTo(4n); // cuts b and c while the write of both is running
    expect(log.logEndOffset).toBe(3n);
    expect(log.writtenEndOffset).toBe(3n);
    const d = leaderBatch(3n, 2, { n: 2 });
    log.appendAsFollower([d]); // queued behind the running write
    expect(writes).toBe(1);
    landed!(); // the old write lands: b and c in the file for a moment
    await log.whenWritten();
    expect(writes).toBe(2);
    expect(fs.readFileSync(file).equals(Buffer.concat([a, d]))).toBe(true);
    expect(bytesOf(readAll(log)).equals(Buffer.concat([a, d]))).toBe(true);
    vi.restoreAllMocks();
    const q = reopen(dir!);
    expect(q.logEndOffset).toBe(5n);
    expect(entries(q)).toEqual([
      [0, 0n],
      [2, 3n],
    ]);
  });

  it('a write held across a truncation into an earlier segment lands in the retired file, never in the log', async () => {
    const size = leaderBatch(0n, 0).length;
    const { log, dir } = harnesses[1]!.open({ segmentBytes: size });
    log.appendAsFollower([leaderBatch(0n, 0), leaderBatch(3n, 0)]);
    await log.whenWritten();
    const real = fs.writev as (...args: unknown[]) => void;
    let landed: (() => void) | undefined;
    vi.spyOn(fs, 'writev').mockImplementation(((...args: unknown[]) => {
      if (landed === undefined) {
        landed = () => real.apply(fs, args);
        return;
      }
      real.apply(fs, args);
    }) as never);
    log.appendAsFollower([leaderBatch(6n, 0)]); // rolls: segment 6, its write held
    await vi.waitFor(() => expect(landed).toBeDefined());
    log.truncateTo(2n);
    expect(log.logEndOffset).toBe(0n);
    landed!();
    await log.whenWritten();
    const e = leaderBatch(0n, 1, { n: 1 });
    log.appendAsFollower([e]);
    await log.whenWritten();
    vi.restoreAllMocks();
    const logs = fs.readdirSync(path.join(dir!, 't-0')).filter((f) => f.endsWith('.log'));
    expect(logs).toEqual(['00000000000000000000.log']);
    const q = reopen(dir!, { segmentBytes: size });
    expect(q.logEndOffset).toBe(1n);
    expect(bytesOf(readAll(q)).equals(e)).toBe(true);
  });

  /** A follower log of threeEpochs() whose cut by truncateTo(3) fails; then a batch of epoch 7 appended at 3. */
  async function failedCut(): Promise<{ dir: string; log: PartitionLog; file: string; before: Buffer[]; d: Buffer; heal(): void; warns: Array<{ msg: string }> }> {
    const dir = tmpDir();
    const { warns, logger } = captureLogger();
    const s = openFileStore(dir, { logConfig: DEFAULT_LOG_CONFIG, logger });
    stores.push(s);
    const log = create(s);
    const before = threeEpochs();
    log.appendAsFollower(before.map((b) => Buffer.from(b)));
    await log.whenWritten();
    const realTruncate = fs.ftruncateSync;
    let failing = true;
    vi.spyOn(fs, 'ftruncateSync').mockImplementation(((fd: number, len?: number) => {
      if (failing) throw Object.assign(new Error('EIO: injected fault, ftruncate'), { code: 'EIO' });
      return realTruncate(fd, len);
    }) as never);
    log.truncateTo(3n);
    const d = leaderBatch(3n, 7, { n: 1 });
    log.appendAsFollower([d]);
    await expect(log.whenWritten()).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    return { dir, log, file: path.join(dir, 't-0', '00000000000000000000.log'), before, d, heal: () => (failing = false), warns };
  }

  it('a cut that fails stays due: nothing is written until it works, then the cut and the new batches', async () => {
    const { dir, log, file, before, d, heal, warns } = await failedCut();
    expect(log.logEndOffset).toBe(4n);
    expect(warns.map((w) => w.msg)).toContain('cutting the log file failed; it is retried before anything more is written to it');
    expect(fs.readFileSync(file).equals(Buffer.concat(before))).toBe(true); // nothing new in the file
    heal();
    log.flush(); // retries: the cut, then the queue
    expect(fs.readFileSync(file).equals(Buffer.concat([before[0]!, d]))).toBe(true);
    await log.whenWritten();
    vi.restoreAllMocks();
    const q = reopen(dir);
    expect(q.logEndOffset).toBe(4n);
    expect(entries(q)).toEqual([
      [0, 0n],
      [7, 3n],
    ]);
  });

  it('kill -9 while a cut is due: the log as before the truncation, its epoch history rebuilt from the batches', async () => {
    const { dir, file, before } = await failedCut();
    expect(fs.readFileSync(file).equals(Buffer.concat(before))).toBe(true);
    // The checkpoint, rewritten for epoch 7 at 3, is ahead of the data left on disk.
    expect(fs.readFileSync(path.join(dir, 't-0', LEADER_EPOCH_FILE), 'utf8')).toBe('0\n1\n7 3\n');
    vi.restoreAllMocks();
    const crashed = captureLogger();
    const c = openFileStore(dir, { logConfig: DEFAULT_LOG_CONFIG, logger: crashed.logger });
    stores.push(c);
    const q = c.partition('t', 0)!;
    expect(q.logEndOffset).toBe(9n);
    expect(bytesOf(readAll(q)).equals(Buffer.concat(before))).toBe(true);
    expect(entries(q)).toEqual([
      [0, 0n],
      [2, 3n],
      [5, 6n],
    ]);
    expect(q.leaderEpoch).toBe(5);
    expect(crashed.warns.map((w) => w.msg)).toEqual(['leader-epoch-checkpoint was ahead of the log; rebuilt from the batches']);
  });

  it('a cut still due when the store closes is made by the close (a clean restart never sees cut batches)', async () => {
    const dir = tmpDir();
    const s = openFileStore(dir, { logConfig: DEFAULT_LOG_CONFIG, logger: captureLogger().logger });
    stores.push(s);
    const log = create(s);
    const before = threeEpochs();
    log.appendAsFollower(before.map((b) => Buffer.from(b)));
    await log.whenWritten();
    const spy = vi.spyOn(fs, 'ftruncateSync').mockImplementationOnce(() => {
      throw Object.assign(new Error('EIO: injected fault, ftruncate'), { code: 'EIO' });
    });
    log.truncateTo(3n);
    expect(spy).toHaveBeenCalledTimes(1);
    await s.whenSyncIdle();
    s.close();
    expect(fs.statSync(path.join(dir, 't-0', '00000000000000000000.log')).size).toBe(before[0]!.length);
    const q = reopen(dir);
    expect(q.logEndOffset).toBe(3n);
    expect(entries(q)).toEqual([[0, 0n]]);
  });
});
