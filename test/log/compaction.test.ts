// Issue 8: log compaction as a contract over both stores (latest value per key at its original
// offset, tombstones and delete.retention.ms, the dirty ratio and compaction lags, codecs kept,
// aborted transactions dropped and open ones untouched), a model-based test over random
// produce/tombstone/compact sequences, and the file store's crash-safe segment swap.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlRecordType, Compression, decodeBatches, encodeControlBatch, encodeRecordBatch, readBatchHeader } from '../../protocol/records/index.js';
import type { CompactionConfig } from '../../src/log/cleaner.js';
import { openFileStore } from '../../src/log/file-store.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogConfig, type LogStore, type PartitionLog } from '../../src/log/types.js';

const dirs: string[] = [];
const stores: LogStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) {
    try {
      s.close();
    } catch {
      // closed already
    }
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-compact-'));
  dirs.push(d);
  return d;
}

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
    if (h.name === 'file') expect(slices).toBeGreaterThan(2);
    const { records } = readAll(log);
    // The records written during the pass are all there, after the compacted ones.
    for (const o of during) expect(records.some((x) => x.offset === o)).toBe(true);
    expect(records.filter((x) => x.key === 'b').map((x) => x.value)).toEqual(['b29']);
    for (let i = 1; i < records.length; i++) expect(records[i]!.offset > records[i - 1]!.offset).toBe(true);
    // (The memory store cleans in one step: no slice to put DeleteRecords into.)
    expect(log.logStartOffset).toBe(slices >= 2 ? 3n : 0n);
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
