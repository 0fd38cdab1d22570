// Issue 8: log compaction as a contract over both stores (latest value per key at its original
// offset, tombstones and delete.retention.ms, the dirty ratio and compaction lags, codecs kept,
// aborted transactions dropped and open ones untouched), a model-based test over random
// produce/tombstone/compact sequences, and the file store's crash-safe segment swap. Then the gaps
// closed as Kafka does them: the last batch of each producer kept empty (its sequence survives a
// rebuild of the producer state from the log), keyless records dropped, KIP-534 delete horizons
// for tombstones and transaction markers, slices in both stores, segments merged up to
// segment.bytes (with a kill -9 at every step of a merging pass), file.delete.delay.ms.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import {
  BatchAttribute,
  ControlRecordType,
  Compression,
  decodeBatches,
  encodeControlBatch,
  encodeRecordBatch,
  readBatchHeader,
  type DecodedBatch,
} from '../../protocol/records/index.js';
import { groupSegmentsBySize, type CompactionConfig } from '../../src/log/cleaner.js';
import { waitFor } from '../helpers/broker.js';
import { openFileStore } from '../../src/log/file-store.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogConfig, type LogStore, type PartitionLog } from '../../src/log/types.js';
import { tempStores } from './helpers.js';

const { stores, tmpDir: tmp } = tempStores('brook-compact-');

const COMPACT = { cleanupPolicy: 'compact' };
// Small segments so the file store has inactive segments to clean.
const SMALL = { segmentBytes: 400 };

interface Harness {
  name: string;
  open(cfg?: Partial<LogConfig>, dir?: string): { store: LogStore; log: PartitionLog; dir?: string };
}

function topic(store: LogStore): PartitionLog {
  if (!store.getTopic('t')) store.createTopic({ name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } });
  return store.partition('t', 0)!;
}

const harnesses: Harness[] = [
  {
    name: 'memory',
    open: (cfg = {}) => {
      const store = createMemoryStore({ logConfig: { ...DEFAULT_LOG_CONFIG, ...COMPACT, ...cfg } });
      stores.push(store);
      return { store, log: topic(store) };
    },
  },
  {
    name: 'file',
    open: (cfg = {}, dir = tmp()) => {
      const store = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, ...COMPACT, ...SMALL, ...cfg } });
      stores.push(store);
      return { store, log: topic(store), dir };
    },
  },
];

const EAGER: CompactionConfig = { deleteRetentionMs: 1e12, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, minCleanableDirtyRatio: 0 };

interface Rec {
  key: string | null;
  value: string | null;
}

function put(log: PartitionLog, recs: Rec[], opts: { ts?: number; compression?: Compression; producer?: { id: bigint; seq: number; txn: boolean } } = {}): bigint {
  const ts = BigInt(opts.ts ?? 1000);
  const b = encodeRecordBatch({
    compression: opts.compression ?? Compression.NONE,
    baseTimestamp: ts,
    producerId: opts.producer?.id ?? -1n,
    producerEpoch: opts.producer ? 0 : -1,
    baseSequence: opts.producer?.seq ?? -1,
    isTransactional: opts.producer?.txn ?? false,
    records: recs.map((r) => ({
      key: r.key === null ? null : Buffer.from(r.key),
      value: r.value === null ? null : Buffer.from(r.value),
      timestamp: ts,
    })),
  });
  return log.append([b]).baseOffset;
}

interface Stored {
  offset: bigint;
  key: string | null;
  value: string | null;
}

function readAll(log: PartitionLog): { records: Stored[]; codecs: number[]; controls: number } {
  const records: Stored[] = [];
  const codecs: number[] = [];
  let controls = 0;
  let next = log.logStartOffset;
  while (next < log.logEndOffset) {
    const { chunks } = log.read(next, 1 << 20, true);
    if (chunks.length === 0) break;
    for (const batch of decodeBatches(Buffer.concat(chunks))) {
      next = batch.header.baseOffset + BigInt(batch.header.lastOffsetDelta) + 1n;
      if (batch.header.isControl) {
        controls++;
        continue;
      }
      codecs.push(batch.header.compression);
      for (const r of batch.records) records.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null });
    }
  }
  return { records, codecs, controls };
}

/** Rolls the file store's active segment by appending filler until a new segment starts. */
function roll(log: PartitionLog): void {
  const before = log.logEndOffset;
  for (let i = 0; i < 20 && log.read(before, 1 << 20, true).chunks.length === 0; i++) put(log, [{ key: `filler-${i}`, value: 'x'.repeat(300) }]);
  // The file store finishes a rolled segment (fsync, index files) off the event loop and its
  // cleaner waits for that; flush() does it now.
  log.flush();
}

describe.each(harnesses)('compaction contract ($name store)', (h) => {
  it('keeps the latest record per key at its original offset; a second pass has nothing to do', () => {
    const { log } = h.open();
    const offsets = new Map<string, bigint>();
    for (let round = 0; round < 6; round++) {
      for (const k of ['a', 'b', 'c']) offsets.set(k, put(log, [{ key: k, value: `${k}${round}` }]));
    }
    put(log, [{ key: 'z', value: 'tail' }]); // after this, the file store rolls
    roll(log);
    const r = log.compact(10_000, EAGER);
    expect(r.ran).toBe(true);
    expect(r.recordsAfter).toBeLessThan(r.recordsBefore);
    const { records } = readAll(log);
    for (const k of ['a', 'b', 'c']) {
      const kept = records.filter((x) => x.key === k);
      expect(kept).toEqual([{ offset: offsets.get(k), key: k, value: `${k}5` }]);
    }
    const all = records.map((x) => x.offset);
    expect([...all].sort((x, y) => (x < y ? -1 : 1))).toEqual(all);
    expect(log.compact(20_000, EAGER).ran).toBe(false);
    // Appends continue at the end.
    expect(put(log, [{ key: 'a', value: 'new' }])).toBe(log.logEndOffset - 1n);
  });

  it('keeps the codec of each batch it rewrites', () => {
    const { log } = h.open();
    const codecs = [Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.NONE];
    for (const c of codecs) put(log, [{ key: 'k', value: `old-${c}` }, { key: `only-${c}`, value: 'v' }], { compression: c });
    put(log, [{ key: 'k', value: 'latest' }]);
    roll(log);
    log.compact(10_000, EAGER);
    const { records, codecs: after } = readAll(log);
    expect(records.filter((x) => x.key === 'k').map((x) => x.value)).toEqual(['latest']);
    for (const c of codecs) expect(records.some((x) => x.key === `only-${c}`)).toBe(true);
    expect(after.slice(0, 4)).toEqual(codecs);
  });

  it('tombstones stay until delete.retention.ms has passed, then go', () => {
    const { log } = h.open();
    put(log, [{ key: 'a', value: '1' }], { ts: 1000 });
    put(log, [{ key: 'a', value: null }], { ts: 1000 });
    put(log, [{ key: 'b', value: '1' }], { ts: 1000 });
    roll(log);
    log.compact(2000, { ...EAGER, deleteRetentionMs: 5000 });
    expect(readAll(log).records.filter((x) => x.key === 'a')).toEqual([{ offset: 1n, key: 'a', value: null }]);
    put(log, [{ key: 'c', value: '1' }], { ts: 9000 });
    roll(log);
    log.compact(10_000, { ...EAGER, deleteRetentionMs: 5000 });
    expect(readAll(log).records.filter((x) => x.key === 'a')).toEqual([]);
    expect(readAll(log).records.some((x) => x.key === 'b')).toBe(true);
  });

  it('honours min.cleanable.dirty.ratio, min.compaction.lag.ms and max.compaction.lag.ms', () => {
    const { log } = h.open();
    for (let i = 0; i < 4; i++) put(log, [{ key: 'k', value: `v${i}` }], { ts: 1000 });
    roll(log);
    // Data younger than min.compaction.lag.ms is not cleanable.
    expect(log.compact(1500, { ...EAGER, minCompactionLagMs: 1000 }).ran).toBe(false);
    // A ratio above 1 is never reached...
    expect(log.compact(5000, { ...EAGER, minCleanableDirtyRatio: 1.1 }).ran).toBe(false);
    // ...unless the oldest dirty data is past max.compaction.lag.ms.
    expect(log.compact(5000, { ...EAGER, minCleanableDirtyRatio: 1.1, maxCompactionLagMs: 1000 }).ran).toBe(true);
    expect(readAll(log).records.filter((x) => x.key === 'k').map((x) => x.value)).toEqual(['v3']);
  });

  it('drops records of aborted transactions, keeps markers, leaves an open transaction alone', () => {
    const { log } = h.open();
    put(log, [{ key: 'a', value: 'committed' }]);
    put(log, [{ key: 'a', value: 'aborted' }, { key: 'x', value: 'aborted' }], { producer: { id: 7n, seq: 0, txn: true } });
    log.append([encodeControlBatch({ type: ControlRecordType.ABORT, producerId: 7n, producerEpoch: 0, coordinatorEpoch: 0, timestamp: 1000n })]);
    const plain = put(log, [{ key: 'b', value: 'plain' }]);
    roll(log);
    const open = put(log, [{ key: 'b', value: 'open' }], { producer: { id: 8n, seq: 0, txn: true } });
    roll(log);
    log.compact(10_000, EAGER);
    const { records, controls } = readAll(log);
    expect(records.filter((x) => x.key === 'a').map((x) => x.value)).toEqual(['committed']);
    expect(records.some((x) => x.key === 'x')).toBe(false);
    expect(controls).toBe(1);
    // The open transaction (at and past the LSO) is untouched, and so is 'b' before it.
    expect(records.filter((x) => x.key === 'b')).toEqual([
      { offset: plain, key: 'b', value: 'plain' },
      { offset: open, key: 'b', value: 'open' },
    ]);
  });

  it('model: random produce/tombstone/compact sequences keep exactly the latest record per key below the cleaned offset', () => {
    let seed = h.name === 'memory' ? 7 : 11;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let run = 0; run < 5; run++) {
      const { log } = h.open();
      const produced: Stored[] = [];
      let cleanedTo = 0n;
      let now = 1000;
      for (let step = 0; step < 120; step++) {
        const op = rnd(10);
        if (op < 8) {
          const n = 1 + rnd(3);
          const recs: Rec[] = Array.from({ length: n }, () => {
            const key = `k${rnd(6)}`;
            return { key, value: rnd(5) === 0 ? null : `v${step}-${rnd(100)}` };
          });
          const base = put(log, recs, { ts: now, compression: rnd(2) === 0 ? Compression.NONE : Compression.GZIP });
          recs.forEach((r, i) => produced.push({ offset: base + BigInt(i), key: r.key, value: r.value }));
        } else {
          now += 100;
          const r = log.compact(now, EAGER);
          if (r.ran) cleanedTo = r.cleanedTo;
        }
      }
      const { records } = readAll(log);
      const latest = new Map<string, Stored>();
      for (const p of produced) latest.set(p.key!, p);
      // Offsets only grow, and every stored record is one that was produced, unchanged.
      const byOffset = new Map(produced.map((p) => [p.offset, p]));
      for (let i = 1; i < records.length; i++) expect(records[i]!.offset > records[i - 1]!.offset).toBe(true);
      for (const r of records) expect(byOffset.get(r.offset)).toEqual(r);
      // The latest record of every key is there (tombstones too: delete.retention.ms is long).
      for (const l of latest.values()) expect(records.find((r) => r.offset === l.offset)).toEqual(l);
      // Below the cleaned offset, nothing superseded (by a record also below it) is left.
      for (const r of records) {
        if (r.offset >= cleanedTo) continue;
        const superseded = produced.some((p) => p.key === r.key && p.offset > r.offset && p.offset < cleanedTo);
        expect(superseded).toBe(false);
      }
    }
  });
});

describe('compaction in slices (the broker drives compactSteps between other work)', () => {
  it.each(harnesses.map((h) => [h.name, h] as const))('%s store: appends, reads and DeleteRecords between slices', (_n, h) => {
    const { log } = h.open();
    for (let round = 0; round < 30; round++) for (const k of ['a', 'b', 'c']) put(log, [{ key: k, value: `${k}${round}` }]);
    roll(log);
    const steps = log.compactSteps(10_000, EAGER, 200);
    let slices = 0;
    let r = steps.next();
    const during: bigint[] = [];
    while (!r.done) {
      slices++;
      during.push(put(log, [{ key: 'a', value: `during-${slices}` }]));
      if (slices === 2) log.deleteRecordsBefore(3n);
      expect(log.read(log.logStartOffset, 1 << 20, true).chunks.length).toBeGreaterThan(0);
      r = steps.next();
    }
    expect(r.value.ran).toBe(true);
    // Both stores work in slices (issue 8: the memory store used to clean in one step).
    expect(slices).toBeGreaterThan(2);
    const { records } = readAll(log);
    // The records written during the pass are all there, after the compacted ones.
    for (const o of during) expect(records.some((x) => x.offset === o)).toBe(true);
    expect(records.filter((x) => x.key === 'b').map((x) => x.value)).toEqual(['b29']);
    for (let i = 1; i < records.length; i++) expect(records[i]!.offset > records[i - 1]!.offset).toBe(true);
    expect(log.logStartOffset).toBe(3n);
  });
});

describe('compaction slices interleaved with other work (model)', () => {
  it.each(harnesses.map((h) => [h.name, h] as const))('%s store: appends and DeleteRecords at random slices; every read is what was produced', (_n, h) => {
    let seed = h.name === 'memory' ? 3 : 5;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let run = 0; run < 4; run++) {
      const { log } = h.open();
      const produced = new Map<bigint, Stored>();
      const write = (key: string, ts: number) => {
        const value = `${key}-${produced.size}-${'p'.repeat(rnd(80))}`;
        produced.set(put(log, [{ key, value }], { ts }), { offset: 0n, key, value });
      };
      for (let i = 0; i < 60; i++) write(`k${rnd(8)}`, 1000 + i);
      roll(log);
      const check = () => {
        const { records } = readAll(log);
        for (let i = 1; i < records.length; i++) expect(records[i]!.offset > records[i - 1]!.offset).toBe(true);
        for (const r of records) {
          const p = produced.get(r.offset);
          // fillers written by roll() are not in `produced`
          if (p !== undefined) expect({ key: r.key, value: r.value }).toEqual({ key: p.key, value: p.value });
        }
        return records;
      };
      const steps = log.compactSteps(T, EAGER, 300);
      for (let r = steps.next(); !r.done; r = steps.next()) {
        if (rnd(3) === 0) write(`k${rnd(8)}`, 5000);
        if (rnd(6) === 0) log.deleteRecordsBefore(log.logStartOffset + BigInt(rnd(4)));
        check();
      }
      const records = check();
      // After the pass the latest record of every key (unless DeleteRecords took it) is there.
      const latest = new Map<string, bigint>();
      for (const [o, p] of produced) if (!latest.has(p.key!) || latest.get(p.key!)! < o) latest.set(p.key!, o);
      for (const [k, o] of latest) if (o >= log.logStartOffset) expect(records.some((r) => r.offset === o && r.key === k)).toBe(true);
    }
  });
});

describe('compaction in the file store', () => {
  function filled(dir: string) {
    const { store, log } = harnesses[1]!.open({}, dir);
    for (let round = 0; round < 5; round++) for (const k of ['a', 'b']) put(log, [{ key: k, value: `${k}${round}` }]);
    roll(log);
    return { store, log };
  }

  it('never touches the active segment', () => {
    const { log } = harnesses[1]!.open();
    for (let i = 0; i < 3; i++) put(log, [{ key: 'k', value: `v${i}` }]);
    expect(log.compact(10_000, EAGER).ran).toBe(false);
    expect(readAll(log).records).toHaveLength(3);
  });

  it('the cleaned state survives a restart (checkpoint), and a leftover .log.cleaned is dropped', () => {
    const dir = tmp();
    const a = filled(dir);
    expect(a.log.compact(10_000, EAGER).ran).toBe(true);
    const before = readAll(a.log).records;
    a.store.close();
    fs.writeFileSync(path.join(dir, 't-0', '00000000000000000000.log.cleaned'), Buffer.from('half a rewrite'));
    const b = harnesses[1]!.open({}, dir);
    expect(readAll(b.log).records).toEqual(before);
    expect(fs.existsSync(path.join(dir, 't-0', '00000000000000000000.log.cleaned'))).toBe(false);
    expect(b.log.compact(20_000, EAGER).ran).toBe(false); // nothing dirty since the checkpoint
  });

  it('kill -9 between the swap file and its rename: the swap is completed at open', () => {
    // Two identical logs; one is compacted, its rewritten first segment becomes the other's
    // .log.swap, as a crash right after the rename to .swap would leave it.
    const cleanDir = tmp();
    const crashDir = tmp();
    const c = filled(cleanDir);
    const x = filled(crashDir);
    c.log.compact(10_000, EAGER);
    const expected = readAll(c.log).records;
    c.store.close();
    x.store.close();
    const seg = '00000000000000000000.log';
    fs.copyFileSync(path.join(cleanDir, 't-0', seg), path.join(crashDir, 't-0', `${seg}.swap`));
    const reopened = harnesses[1]!.open({}, crashDir);
    const got = readAll(reopened.log).records;
    expect(fs.existsSync(path.join(crashDir, 't-0', `${seg}.swap`))).toBe(false);
    // The first segment now holds what the compacted copy's first segment holds; the rest is as produced.
    const secondBase = BigInt(fs.readdirSync(path.join(crashDir, 't-0')).filter((f) => f.endsWith('.log')).sort()[1]!.slice(0, 20));
    expect(got.filter((r) => r.offset < secondBase)).toEqual(expected.filter((r) => r.offset < secondBase));
    expect(got.filter((r) => r.offset < secondBase).length).toBeLessThan(Number(secondBase));
    expect(readBatchHeader(reopened.log.read(reopened.log.logStartOffset, 1 << 20, true).chunks[0]!).magic).toBe(2);
  });
});

// ---- issue 8, compaction gaps closed as Kafka does them (LogCleaner.Cleaner.cleanInto,
// MemoryRecords.filterTo, CleanedTransactionMetadata, KIP-534, groupSegmentsBySize, LogLoader) ----

/** Every stored batch from the log start, decoded (empty and control batches included). */
function rawBatches(log: PartitionLog): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  let next = log.logStartOffset;
  while (next < log.logEndOffset) {
    const { chunks } = log.read(next, 1 << 20, true);
    if (chunks.length === 0) break;
    for (const b of decodeBatches(Buffer.concat(chunks))) {
      out.push(b);
      next = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
    }
  }
  return out;
}

// Pass times on the real clock: a segment a pass emptied has no timestamp and counts by its
// file's modification time (as in Kafka), which a made-up clock could be behind.
const T = Date.now() + 60_000;

const producerBatch = (log: PartitionLog, producerId: bigint, baseSequence: number, lastOffsetDelta: number) =>
  log.producerState.check({ producerId, producerEpoch: 0, baseSequence, lastOffsetDelta, maxTimestamp: 1000n, isTransactional: false, isControl: false });

describe.each(harnesses)('compaction keeps what Kafka keeps ($name store)', (h) => {
  it("keeps a producer's last batch, emptied, with its offsets and sequence; drops its earlier emptied batches", () => {
    const { log } = h.open();
    put(log, [{ key: 'a', value: 'p5' }, { key: 'b', value: 'p5' }], { producer: { id: 5n, seq: 0, txn: false } }); // 0-1: P5's last batch
    put(log, [{ key: 'c', value: 'p6' }], { producer: { id: 6n, seq: 0, txn: false } }); // 2: not P6's last
    put(log, [{ key: 'c', value: 'p6-again' }], { producer: { id: 6n, seq: 1, txn: false } }); // 3
    put(log, [{ key: 'a', value: 'x' }, { key: 'b', value: 'y' }, { key: 'c', value: 'z' }]); // 4-6 supersede them all
    roll(log);
    expect(log.compact(T, EAGER).ran).toBe(true);
    const byBase = new Map(rawBatches(log).map((b) => [b.header.baseOffset, b]));
    const p5 = byBase.get(0n)!;
    expect(p5.records).toEqual([]);
    expect(p5.header).toMatchObject({ recordCount: 0, lastOffsetDelta: 1, producerId: 5n, producerEpoch: 0, baseSequence: 0 });
    expect(byBase.has(2n)).toBe(false);
    expect(byBase.get(3n)!.header).toMatchObject({ recordCount: 0, producerId: 6n, baseSequence: 1 });
    // Readers skip it: the latest values are all there.
    expect(readAll(log).records.filter((r) => r.offset < 7n).map((r) => r.value)).toEqual(['x', 'y', 'z']);
    // The producers' state is what it was: their next sequences follow, a retry is a duplicate.
    expect(producerBatch(log, 5n, 0, 1).kind).toBe('duplicate');
    expect(producerBatch(log, 5n, 2, 0).kind).toBe('append');
  });

  it('a partly cleaned batch keeps its lastOffsetDelta (the last sequence stays known)', () => {
    const { log } = h.open();
    put(log, [{ key: 'a', value: '1' }, { key: 'b', value: '1' }], { producer: { id: 5n, seq: 0, txn: false } });
    put(log, [{ key: 'b', value: '2' }]);
    roll(log);
    log.compact(T, EAGER);
    const first = rawBatches(log)[0]!;
    expect(first.records.map((r) => r.key!.toString())).toEqual(['a']);
    expect(first.header).toMatchObject({ baseOffset: 0n, lastOffsetDelta: 1, recordCount: 1, baseSequence: 0 });
  });

  it('drops records without a key (a topic switched to compact)', () => {
    const { log } = h.open();
    put(log, [{ key: null, value: 'keyless' }, { key: 'a', value: '1' }]);
    put(log, [{ key: null, value: 'keyless too' }]);
    roll(log);
    log.compact(T, EAGER);
    const { records } = readAll(log);
    expect(records.filter((r) => r.key === null)).toEqual([]);
    expect(records.find((r) => r.key === 'a')?.value).toBe('1');
  });

  it('KIP-534: a tombstone goes delete.retention.ms after the pass that first kept it, however old its data', () => {
    const { log } = h.open();
    const cfg = { ...EAGER, deleteRetentionMs: 5000 };
    put(log, [{ key: 'a', value: '1' }], { ts: 1000 });
    put(log, [{ key: 'a', value: null }, { key: 'b', value: '1' }], { ts: 1000 }); // offsets 1-2
    roll(log);
    const now = T; // the data is decades old; delete.retention.ms counts from this pass
    log.compact(now, cfg);
    const tomb = rawBatches(log).find((b) => b.header.baseOffset === 1n)!;
    expect(tomb.records.map((r) => [r.key!.toString(), r.value?.toString() ?? null])).toEqual([
      ['a', null],
      ['b', '1'],
    ]);
    // The pass stored the delete horizon in the batch; record timestamps are what they were.
    expect(tomb.header.attributes & BatchAttribute.HAS_DELETE_HORIZON_MS).not.toBe(0);
    expect(tomb.header.baseTimestamp).toBe(BigInt(now + 5000));
    expect(tomb.records.map((r) => r.timestamp)).toEqual([1000n, 1000n]);
    put(log, [{ key: 'c', value: '1' }], { ts: 2000 });
    roll(log);
    log.compact(now + 4999, cfg);
    expect(readAll(log).records.filter((r) => r.key === 'a')).toEqual([{ offset: 1n, key: 'a', value: null }]);
    put(log, [{ key: 'd', value: '1' }], { ts: 3000 });
    roll(log);
    log.compact(now + 5000, cfg);
    const { records } = readAll(log);
    expect(records.filter((r) => r.key === 'a')).toEqual([]);
    expect(records.find((r) => r.key === 'b')).toEqual({ offset: 2n, key: 'b', value: '1' });
    // The horizon stays on the batch that kept 'b'.
    expect(rawBatches(log).find((b) => b.header.baseOffset === 1n)!.header.hasDeleteHorizonMs).toBe(true);
  });

  it('KIP-534: an ABORT marker stays while records of its transaction do, then goes delete.retention.ms after the pass that found none', () => {
    const { log } = h.open();
    const cfg = { ...EAGER, deleteRetentionMs: 5000 };
    put(log, [{ key: 'a', value: 'committed' }]);
    put(log, [{ key: 'a', value: 'aborted' }], { producer: { id: 7n, seq: 0, txn: true } }); // 1
    log.append([encodeControlBatch({ type: ControlRecordType.ABORT, producerId: 7n, producerEpoch: 0, coordinatorEpoch: 0, timestamp: 1000n })]); // 2
    // P7 writes on: the aborted batch is not its last one.
    put(log, [{ key: 'p7', value: 'later' }], { producer: { id: 7n, seq: 1, txn: false } });
    roll(log);
    const controls = () => rawBatches(log).filter((b) => b.header.isControl);
    log.compact(T + 10_000, cfg);
    expect(readAll(log).records.some((r) => r.value === 'aborted')).toBe(false);
    expect(controls()).toHaveLength(1);
    expect(controls()[0]!.header.hasDeleteHorizonMs).toBe(false);
    expect(log.producerState.abortedTransactions(0n, log.logEndOffset)).toEqual([{ producerId: 7n, firstOffset: 1n }]);
    put(log, [{ key: 'z', value: '1' }]);
    roll(log);
    // Nothing of the transaction is left: the marker gets its horizon, the aborted entry goes.
    log.compact(T + 20_000, cfg);
    expect(controls()).toHaveLength(1);
    expect(controls()[0]!.header.baseTimestamp).toBe(BigInt(T + 25_000));
    expect(log.producerState.abortedTransactions(0n, log.logEndOffset)).toEqual([]);
    put(log, [{ key: 'z', value: '2' }]);
    roll(log);
    log.compact(T + 24_999, cfg);
    expect(controls()).toHaveLength(1);
    put(log, [{ key: 'z', value: '3' }]);
    roll(log);
    log.compact(T + 25_000, cfg);
    expect(controls()).toHaveLength(0);
    expect(readAll(log).records.find((r) => r.key === 'a')?.value).toBe('committed');
  });
});

describe('compaction: producer state rebuilt from the log after a restart (file store)', () => {
  it("a producer whose records all went still has its sequence and duplicates detected", () => {
    const dir = tmp();
    const a = harnesses[1]!.open({}, dir);
    put(a.log, [{ key: 'a', value: 'p' }, { key: 'b', value: 'p' }], { producer: { id: 5n, seq: 0, txn: false } }); // 0-1
    put(a.log, [{ key: 'c', value: 'p' }, { key: 'd', value: 'p' }], { producer: { id: 5n, seq: 2, txn: false } }); // 2-3, P5's last
    put(a.log, [{ key: 'a', value: 'x' }, { key: 'b', value: 'x' }, { key: 'd', value: 'x' }]); // supersede all but c
    roll(a.log);
    expect(a.log.compact(T, EAGER).ran).toBe(true);
    a.store.close();
    // No snapshot: the state comes from the log alone (a lost or corrupt snapshot, an older log).
    for (const f of fs.readdirSync(path.join(dir, 't-0'))) if (f.endsWith('.snapshot')) fs.rmSync(path.join(dir, 't-0', f));
    const b = harnesses[1]!.open({}, dir);
    // The retry of P5's last batch is a duplicate (answered with its offsets, not appended again).
    const dup = producerBatch(b.log, 5n, 2, 1);
    expect(dup).toMatchObject({ kind: 'duplicate', firstOffset: 2n, lastOffset: 3n });
    // Its next sequence is accepted, a gap is not.
    expect(producerBatch(b.log, 5n, 4, 0).kind).toBe('append');
    expect(producerBatch(b.log, 5n, 6, 0)).toMatchObject({ kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect(b.log.producerState.describe()).toEqual([expect.objectContaining({ producerId: 5n, producerEpoch: 0, lastSequence: 3 })]);
  });

  it('an ABORT marker removed by compaction leaves no .txnindex entry behind', () => {
    const dir = tmp();
    const a = harnesses[1]!.open({}, dir);
    const cfg = { ...EAGER, deleteRetentionMs: 0 };
    put(a.log, [{ key: 'a', value: 'aborted' }], { producer: { id: 7n, seq: 0, txn: true } });
    a.log.append([encodeControlBatch({ type: ControlRecordType.ABORT, producerId: 7n, producerEpoch: 0, coordinatorEpoch: 0, timestamp: 1000n })]);
    put(a.log, [{ key: 'p7', value: 'later' }], { producer: { id: 7n, seq: 1, txn: false } });
    roll(a.log);
    for (let i = 0; i < 3; i++) {
      a.log.compact(T + i, cfg);
      put(a.log, [{ key: 'z', value: `${i}` }]);
      roll(a.log);
    }
    expect(rawBatches(a.log).filter((x) => x.header.isControl)).toHaveLength(0);
    a.store.close();
    const b = harnesses[1]!.open({}, dir);
    expect(b.log.producerState.abortedList()).toEqual([]);
  });
});

describe('groupSegmentsBySize (Kafka: cleaned segments merged up to segment.bytes)', () => {
  const seg = (base: number, size: number, idx = 0) => ({ base: BigInt(base), size, indexBytes: idx, timeIndexBytes: idx });
  const bases = (groups: Array<Array<{ base: bigint }>>) => groups.map((g) => g.map((s) => Number(s.base)));

  it('groups consecutive segments while their sizes add up to at most segment.bytes', () => {
    const segs = [seg(0, 300), seg(10, 300), seg(20, 500), seg(30, 100), seg(40, 1000), seg(50, 0)];
    expect(bases(groupSegmentsBySize(segs, 1000, 1 << 20, 60n))).toEqual([[0, 10], [20, 30], [40, 50]]);
  });

  it('and while each index stays within segment.index.bytes', () => {
    const segs = [seg(0, 1, 400), seg(10, 1, 400), seg(20, 1, 400)];
    expect(bases(groupSegmentsBySize(segs, 1000, 800, 30n))).toEqual([[0, 10], [20]]);
  });

  it('and while the offsets fit one segment (int32 relative offsets)', () => {
    const segs = [seg(0, 1), seg(2 ** 31, 1), seg(2 ** 31 + 10, 0)];
    // The first segment's offsets reach 2^31 - 1: the second would be 2^31 + ... past the first base.
    expect(bases(groupSegmentsBySize(segs, 1000, 1 << 20, 2n ** 31n + 20n))).toEqual([[0], [2 ** 31, 2 ** 31 + 10]]);
  });
});

describe('compaction in the file store: merging, file.delete.delay.ms, crashes', () => {
  const logFiles = (dir: string) => fs.readdirSync(path.join(dir, 't-0')).filter((f) => /^\d{20}\.log$/.test(f)).sort();

  /** A log of many small segments whose cleaning leaves little: 12 versions of 4 keys. */
  function manySegments(dir: string, cfg: Partial<LogConfig> = {}) {
    const { store, log } = harnesses[1]!.open({ segmentBytes: 300, fileDeleteDelayMs: 0, ...cfg }, dir);
    const produced: Stored[] = [];
    for (let round = 0; round < 12; round++) {
      for (const k of ['a', 'b', 'c', 'd']) {
        const value = `${k}-${round}-${'v'.repeat(60)}`;
        produced.push({ offset: put(log, [{ key: k, value }]), key: k, value });
      }
    }
    roll(log);
    produced.push({ offset: log.logEndOffset - 1n, key: 'filler-0', value: 'x'.repeat(300) });
    return { store, log, produced };
  }

  it('merges consecutive segments that fit one segment once cleaned (segment.bytes), offsets and latest values kept', () => {
    const dir = tmp();
    const { log, produced } = manySegments(dir);
    const segmentsBefore = logFiles(dir).length;
    log.compact(T, EAGER);
    const after = logFiles(dir);
    expect(after.length).toBeLessThan(segmentsBefore / 4);
    const { records } = readAll(log);
    for (const k of ['a', 'b', 'c', 'd']) expect(records.filter((r) => r.key === k)).toEqual([produced.filter((p) => p.key === k).at(-1)]);
    for (let i = 1; i < records.length; i++) expect(records[i]!.offset > records[i - 1]!.offset).toBe(true);
    // Every inactive segment still fits segment.bytes; the merged ones are read through their rebuilt indexes.
    for (const f of after.slice(0, -1)) expect(fs.statSync(path.join(dir, 't-0', f)).size).toBeLessThanOrEqual(300);
    for (const r of records) expect(decodeBatches(Buffer.concat(log.read(r.offset, 1 << 20, true).chunks))[0]!.records.some((x) => x.offset === r.offset)).toBe(true);
    // A second pass over the merged segments (new data made it due) keeps them merged.
    put(log, [{ key: 'e', value: 'new' }]);
    roll(log);
    log.compact(T + 10_000, EAGER);
    expect(logFiles(dir).length).toBeLessThanOrEqual(after.length + 2);
  });

  it('file.delete.delay.ms: segments taken out by retention and compaction stay as .deleted until the delay is over, and a restart removes them', async () => {
    const dir = tmp();
    const { store, log } = manySegments(dir, { fileDeleteDelayMs: 60_000 });
    log.compact(T, EAGER);
    const deleted = () => fs.readdirSync(path.join(dir, 't-0')).filter((f) => f.endsWith('.deleted'));
    expect(deleted().some((f) => f.endsWith('.log.deleted'))).toBe(true);
    expect(readAll(log).records.length).toBeGreaterThan(0);
    store.close();
    const again = harnesses[1]!.open({ segmentBytes: 300, fileDeleteDelayMs: 60_000 }, dir);
    expect(deleted()).toEqual([]);
    // Retention renames too; with a short delay the files go by themselves.
    again.store.setTopicConfigs('t', { 'cleanup.policy': 'compact,delete', 'retention.bytes': '1', 'file.delete.delay.ms': '30' });
    expect(again.log.enforceRetention(Date.now())).toBeGreaterThan(0);
    expect(deleted().length).toBeGreaterThan(0);
    await waitFor(() => deleted().length === 0, 5000, 10, 'the delayed deletion');
  });

  it('file.delete.delay.ms=0 removes the files right away (off the event loop)', async () => {
    const dir = tmp();
    const { log } = manySegments(dir, { fileDeleteDelayMs: 0 });
    log.compact(T, EAGER);
    await waitFor(() => fs.readdirSync(path.join(dir, 't-0')).every((f) => !f.endsWith('.deleted')), 5000, 10, 'the removal');
  });

  it('kill -9 at any step of a merging pass leaves a readable log with nothing lost, finished at the next open', () => {
    const dir = tmp();
    const { store, log, produced } = manySegments(dir);
    put(log, [{ key: 'a', value: 'last-a' }]);
    produced.push({ offset: log.logEndOffset - 1n, key: 'a', value: 'last-a' });
    roll(log);
    produced.push({ offset: log.logEndOffset - 1n, key: 'filler-0', value: 'x'.repeat(300) });
    const leo = log.logEndOffset;
    // The directory as a kill -9 would leave it, before every rename, removal and file write of the pass.
    const copies: string[] = [];
    let copying = false;
    const snapshot = () => {
      if (copying) return;
      copying = true;
      const to = tmp();
      fs.cpSync(dir, to, { recursive: true, filter: (src) => path.basename(src) !== '.lock' });
      copies.push(to);
      copying = false;
    };
    const spies = (['renameSync', 'rmSync', 'writeFileSync', 'utimesSync'] as const).map((name) => {
      const real = fs[name] as (...args: unknown[]) => unknown;
      return vi.spyOn(fs, name).mockImplementation(((...args: unknown[]) => {
        snapshot();
        return real(...args);
      }) as never);
    });
    const segmentsBefore = logFiles(dir).length;
    try {
      expect(log.compact(T + 10_000, EAGER).ran).toBe(true);
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect(logFiles(dir).length).toBeLessThan(segmentsBefore / 4);
    // Among the states: a complete merged rewrite (.swap) next to the segments it replaces.
    const swapStates = copies.filter((c) => {
      const names = fs.readdirSync(path.join(c, 't-0'));
      return names.some((n) => n.endsWith('.log.swap')) && names.filter((n) => /^\d{20}\.log$/.test(n)).length > 3;
    });
    expect(swapStates.length).toBeGreaterThan(0);
    expect(copies.length).toBeGreaterThan(8);
    const expected = readAll(log).records;
    store.close();
    const byOffset = new Map(produced.map((p) => [p.offset, p]));
    const latest = new Map<string, Stored>();
    for (const p of produced) latest.set(p.key!, p);
    for (const copy of copies) {
      const { store: s, log: l } = harnesses[1]!.open({ segmentBytes: 300, fileDeleteDelayMs: 0 }, copy);
      const names = fs.readdirSync(path.join(copy, 't-0'));
      expect(names.filter((n) => /\.(swap|cleaned|deleted)$/.test(n))).toEqual([]);
      expect(l.logEndOffset).toBe(leo);
      const { records } = readAll(l);
      for (const r of records) expect(byOffset.get(r.offset)).toEqual(r);
      for (let i = 1; i < records.length; i++) expect(records[i]!.offset > records[i - 1]!.offset).toBe(true);
      for (const want of latest.values()) expect(records).toContainEqual(want);
      // The next pass ends where the uninterrupted one did.
      l.compact(T + 10_000, EAGER);
      expect(readAll(l).records).toEqual(expected);
      s.close();
    }
  });
});
