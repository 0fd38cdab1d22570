// Issue 7: producer state, as a contract over both stores (duplicates, gaps, fencing, markers,
// LSO, aborted transactions, expiry, DeleteRecords) plus the file store's rebuild at open: from a
// snapshot, from the log alone, after a torn tail, with a corrupt snapshot, and with a lost
// .txnindex entry.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { ControlRecordType, encodeControlBatch, encodeRecordBatch } from '../../protocol/records/index.js';
import { openFileStore } from '../../src/log/file-store.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { ProducerStateManager, decodeProducerSnapshot, decodeTxnIndex, encodeProducerSnapshot, lastSequenceOf, type ProducerBatch } from '../../src/log/producer-state.js';
import { DEFAULT_LOG_CONFIG, type LogConfig, type LogStore, type PartitionLog } from '../../src/log/types.js';
import { tempStores } from './helpers.js';

const { stores, tmpDir: tmp } = tempStores('brook-pstate-');

interface Harness {
  name: string;
  open(logConfig?: Partial<LogConfig>): { store: LogStore; log: PartitionLog };
}

function create(store: LogStore): PartitionLog {
  if (!store.getTopic('t')) store.createTopic({ name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', numPartitions: 1, replicationFactor: 1, configs: {} });
  return store.partition('t', 0)!;
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
      const store = openFileStore(tmp(), { logConfig: { ...DEFAULT_LOG_CONFIG, ...cfg } });
      stores.push(store);
      return { store, log: create(store) };
    },
  },
];

interface Spec {
  pid: bigint;
  epoch?: number;
  seq: number;
  n?: number;
  txn?: boolean;
  ts?: bigint;
}

function dataBatch(s: Spec): Buffer {
  const n = s.n ?? 1;
  const ts = s.ts ?? 1_000n;
  return encodeRecordBatch({
    producerId: s.pid,
    producerEpoch: s.epoch ?? 0,
    baseSequence: s.seq,
    isTransactional: s.txn ?? false,
    baseTimestamp: ts,
    records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${s.seq + i}`), timestamp: ts })),
  });
}

function fields(s: Spec): ProducerBatch {
  return {
    producerId: s.pid,
    producerEpoch: s.epoch ?? 0,
    baseSequence: s.seq,
    lastOffsetDelta: (s.n ?? 1) - 1,
    maxTimestamp: s.ts ?? 1_000n,
    isTransactional: s.txn ?? false,
    isControl: false,
  };
}

/** The replica manager's path: check, then append unless duplicate/error. */
function produce(log: PartitionLog, s: Spec): { code: number; base: bigint } {
  const c = log.producerState.check(fields(s));
  if (c.kind === 'error') return { code: c.errorCode, base: -1n };
  if (c.kind === 'duplicate') return { code: ErrorCode.NONE, base: c.firstOffset };
  return { code: ErrorCode.NONE, base: log.append([dataBatch(s)]).baseOffset };
}

function marker(log: PartitionLog, pid: bigint, epoch: number, commit: boolean, coordinatorEpoch = 0): number {
  const code = log.producerState.checkMarker(pid, epoch, coordinatorEpoch);
  if (code !== ErrorCode.NONE) return code;
  log.append([encodeControlBatch({ type: commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT, producerId: pid, producerEpoch: epoch, coordinatorEpoch, timestamp: 2_000n })]);
  return ErrorCode.NONE;
}

describe.each(harnesses)('producer state contract ($name store)', (h) => {
  it('answers a duplicate of any of the last five batches with its first offset, once appended', () => {
    const { log } = h.open();
    const bases: bigint[] = [];
    for (let i = 0; i < 6; i++) bases.push(produce(log, { pid: 7n, seq: i * 2, n: 2 }).base);
    const end = log.logEndOffset;
    // Batches 1..5 are remembered, batch 0 (the sixth from the end) is not.
    for (let i = 1; i < 6; i++) expect(produce(log, { pid: 7n, seq: i * 2, n: 2 })).toEqual({ code: ErrorCode.NONE, base: bases[i] });
    expect(log.logEndOffset).toBe(end);
    expect(produce(log, { pid: 7n, seq: 0, n: 2 }).code).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('refuses gaps and stale epochs; a new epoch restarts at 0; unknown producers take any sequence', () => {
    const { log } = h.open();
    expect(produce(log, { pid: 1n, seq: 40 }).code).toBe(ErrorCode.NONE); // unknown here: accepted
    expect(produce(log, { pid: 1n, seq: 42 }).code).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(produce(log, { pid: 1n, seq: 41 }).code).toBe(ErrorCode.NONE);
    expect(produce(log, { pid: 1n, seq: 5, epoch: 1 }).code).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(produce(log, { pid: 1n, seq: 0, epoch: 1 }).code).toBe(ErrorCode.NONE);
    expect(produce(log, { pid: 1n, seq: 42, epoch: 0 }).code).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('wraps sequences past int32 max to 0', () => {
    const { log } = h.open();
    expect(lastSequenceOf({ baseSequence: 0x7ffffffe, lastOffsetDelta: 1 })).toBe(0x7fffffff);
    expect(produce(log, { pid: 3n, seq: 0x7ffffffe, n: 2 }).code).toBe(ErrorCode.NONE);
    expect(produce(log, { pid: 3n, seq: 0 }).code).toBe(ErrorCode.NONE);
  });

  it('tracks open transactions: LSO, markers, aborted transactions, fencing by marker epoch', () => {
    const { log } = h.open();
    produce(log, { pid: 9n, seq: 0 }); // offset 0, plain
    expect(produce(log, { pid: 5n, seq: 0, txn: true }).base).toBe(1n);
    expect(produce(log, { pid: 6n, seq: 0, txn: true }).base).toBe(2n);
    expect(log.producerState.firstUnstableOffset()).toBe(1n);
    // A plain write from a producer inside its transaction is refused.
    expect(produce(log, { pid: 5n, seq: 1 }).code).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(marker(log, 5n, 0, false)).toBe(ErrorCode.NONE); // abort at offset 3
    expect(log.producerState.firstUnstableOffset()).toBe(2n);
    expect(log.producerState.abortedTransactions(0n, 10n)).toEqual([{ producerId: 5n, firstOffset: 1n }]);
    expect(log.producerState.abortedList()[0]).toMatchObject({ lastOffset: 3n, lastStableOffset: 2n });
    expect(marker(log, 6n, 0, true)).toBe(ErrorCode.NONE);
    expect(log.producerState.firstUnstableOffset()).toBeUndefined();
    // Range rule: lastOffset >= fetch offset and firstOffset < upper bound.
    expect(log.producerState.abortedTransactions(4n, 10n)).toEqual([]);
    expect(log.producerState.abortedTransactions(0n, 1n)).toEqual([]);
    // A marker with a higher epoch (timeout abort) fences the old epoch.
    produce(log, { pid: 6n, seq: 1, txn: true });
    expect(marker(log, 6n, 1, false)).toBe(ErrorCode.NONE);
    expect(produce(log, { pid: 6n, seq: 2, txn: true }).code).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(marker(log, 6n, 0, true)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(marker(log, 6n, 1, true, -5)).toBe(ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  });

  it('a marker without a transaction here adds no aborted entry', () => {
    const { log } = h.open();
    expect(marker(log, 11n, 0, false)).toBe(ErrorCode.NONE);
    expect(log.producerState.abortedList()).toEqual([]);
  });

  it('expires idle producers without an open transaction', () => {
    const { log } = h.open();
    produce(log, { pid: 1n, seq: 0, ts: 1_000n });
    produce(log, { pid: 2n, seq: 0, ts: 1_000n, txn: true });
    expect(log.producerState.expire(1_500, 1_000)).toBe(0);
    expect(log.producerState.expire(2_000, 1_000)).toBe(1);
    expect(log.producerState.describe().map((p) => p.producerId)).toEqual([2n]);
    // After expiry the producer is unknown again: any sequence.
    expect(produce(log, { pid: 1n, seq: 77 }).code).toBe(ErrorCode.NONE);
  });

  it('DeleteRecords drops aborted transactions and producers below the new start', () => {
    const { log } = h.open();
    produce(log, { pid: 5n, seq: 0, txn: true });
    marker(log, 5n, 0, false);
    produce(log, { pid: 8n, seq: 0 });
    log.deleteRecordsBefore(2n);
    expect(log.producerState.abortedList()).toEqual([]);
    expect(log.producerState.describe().map((p) => p.producerId)).toEqual([8n]);
  });
});

describe('file store: producer state across reopen', () => {
  function open(dir: string, cfg: Partial<LogConfig> = {}) {
    const store = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, ...cfg } });
    stores.push(store);
    return { store, log: create(store) };
  }

  function fill(log: PartitionLog): void {
    for (let i = 0; i < 4; i++) produce(log, { pid: 1n, seq: i });
    produce(log, { pid: 2n, seq: 0, txn: true });
    produce(log, { pid: 3n, seq: 0, txn: true });
    marker(log, 2n, 0, false);
    produce(log, { pid: 4n, seq: 0, txn: true }); // left open
  }

  function expectRebuilt(log: PartitionLog): void {
    // Duplicate of the last batch is still recognised; the next sequence continues.
    expect(produce(log, { pid: 1n, seq: 3 })).toEqual({ code: ErrorCode.NONE, base: 3n });
    expect(produce(log, { pid: 1n, seq: 5 }).code).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(log.producerState.firstUnstableOffset()).toBe(5n); // pid 3's transaction
    expect(log.producerState.abortedTransactions(0n, 100n)).toEqual([{ producerId: 2n, firstOffset: 4n }]);
    expect(log.producerState.hasOpenTransaction(4n)).toBe(true);
  }

  it('after a clean close: from the snapshot at the log end', () => {
    const dir = tmp();
    const a = open(dir);
    fill(a.log);
    a.store.close();
    const files = fs.readdirSync(path.join(dir, 't-0'));
    expect(files).toContain('00000000000000000008.snapshot');
    expect(files).toContain('00000000000000000000.txnindex');
    expectRebuilt(open(dir).log);
  });

  it('after kill -9 (no close): from the log alone', async () => {
    const dir = tmp();
    const a = open(dir);
    fill(a.log);
    await a.store.whenSyncIdle(); // acknowledged: written
    // No close: nothing but the appended bytes (and the .txnindex entry) exist.
    expect(fs.readdirSync(path.join(dir, 't-0')).some((f) => f.endsWith('.snapshot'))).toBe(false);
    const b = openFileStore(dir, { logConfig: DEFAULT_LOG_CONFIG });
    stores.push(b);
    expectRebuilt(b.partition('t', 0)!);
  });

  it('after kill -9 with segment rolls: from the newest roll snapshot plus the segments after it', async () => {
    const dir = tmp();
    const a = open(dir, { segmentBytes: 300 });
    fill(a.log);
    await a.store.whenSyncIdle(); // acknowledged: written, and the rolls' snapshots too
    const pdir = path.join(dir, 't-0');
    const snaps = fs.readdirSync(pdir).filter((f) => f.endsWith('.snapshot'));
    expect(snaps.length).toBeGreaterThan(0);
    const b = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, segmentBytes: 300 } });
    stores.push(b);
    expectRebuilt(b.partition('t', 0)!);
  });

  it('a .txnindex entry lost in a crash after the marker is re-derived from the log, once', async () => {
    const dir = tmp();
    const a = open(dir);
    fill(a.log);
    await a.store.whenSyncIdle();
    const pdir = path.join(dir, 't-0');
    for (const f of fs.readdirSync(pdir)) if (f.endsWith('.txnindex')) fs.rmSync(path.join(pdir, f));
    const b = openFileStore(dir, { logConfig: DEFAULT_LOG_CONFIG });
    stores.push(b);
    expectRebuilt(b.partition('t', 0)!);
    expect(decodeTxnIndex(fs.readFileSync(path.join(pdir, '00000000000000000000.txnindex')))).toHaveLength(1);
    b.close();
    const c = open(dir);
    expect(c.log.producerState.abortedList()).toHaveLength(1);
    c.store.close();
    // Reopened again without a snapshot: the scan must not add the entry a second time.
    for (const f of fs.readdirSync(pdir)) if (f.endsWith('.snapshot')) fs.rmSync(path.join(pdir, f));
    const d = open(dir);
    expect(d.log.producerState.abortedList()).toHaveLength(1);
    expect(decodeTxnIndex(fs.readFileSync(path.join(pdir, '00000000000000000000.txnindex')))).toHaveLength(1);
  });

  it('ignores a corrupt snapshot and one past a torn tail', () => {
    const dir = tmp();
    const a = open(dir);
    fill(a.log);
    a.store.close();
    const pdir = path.join(dir, 't-0');
    const snap = path.join(pdir, '00000000000000000008.snapshot');
    const bytes = fs.readFileSync(snap);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(snap, bytes);
    // And a snapshot from "the future" (its data was lost with a torn tail).
    fs.writeFileSync(path.join(pdir, '00000000000000000099.snapshot'), encodeProducerSnapshot([]));
    expectRebuilt(open(dir).log);
    expect(fs.existsSync(path.join(pdir, '00000000000000000099.snapshot'))).toBe(false);
  });

  it('snapshot codec round-trips and rejects damage', () => {
    const m = new ProducerStateManager();
    m.apply(fields({ pid: 5n, seq: 10, n: 3 }), 100n, 102n);
    m.apply(fields({ pid: 6n, seq: 0, txn: true }), 103n, 103n);
    const buf = m.snapshot();
    const entries = decodeProducerSnapshot(buf)!;
    expect(entries).toEqual([
      { producerId: 5n, epoch: 0, lastSequence: 12, lastOffset: 102n, offsetDelta: 2, timestamp: 1_000n, coordinatorEpoch: -1, currentTxnFirstOffset: -1n },
      { producerId: 6n, epoch: 0, lastSequence: 0, lastOffset: 103n, offsetDelta: 0, timestamp: 1_000n, coordinatorEpoch: -1, currentTxnFirstOffset: 103n },
    ]);
    expect(buf.length).toBe(6 + 4 + 2 * 46);
    const bad = Buffer.from(buf);
    bad[20] ^= 1;
    expect(decodeProducerSnapshot(bad)).toBeUndefined();
    const restored = new ProducerStateManager();
    restored.restore(entries);
    expect(restored.check(fields({ pid: 5n, seq: 10, n: 3 }))).toEqual({ kind: 'duplicate', firstOffset: 100n, lastOffset: 102n, timestamp: 1_000n });
    expect(restored.firstUnstableOffset()).toBe(103n);
  });
});
