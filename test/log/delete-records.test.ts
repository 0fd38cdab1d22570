// PartitionLog.deleteRecordsBefore (Kafka DeleteRecords semantics) against both stores, plus
// file-store persistence of the log start offset.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOG_START_OFFSET_FILE } from '../../src/log/file-partition.js';
import { openFileStore } from '../../src/log/file-store.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { LogStoreError } from '../../src/log/common.js';
import { DEFAULT_LOG_CONFIG, type LogConfig, type LogStore, type PartitionLog, type TopicMetadata } from '../../src/log/types.js';
import { baseOffsetOf, batchOf, captureLogger, lastOffsetOf, makeBatch } from './helpers.js';

let tmpDirs: string[] = [];
let openStores: LogStore[] = [];

afterEach(() => {
  for (const s of openStores) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
  openStores = [];
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  tmpDirs = [];
  vi.restoreAllMocks();
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-delrec-'));
  tmpDirs.push(d);
  return d;
}

type Opener = (o?: { logConfig?: Partial<LogConfig>; logger?: ReturnType<typeof captureLogger>['logger'] }) => LogStore;

function memoryOpener(): Opener {
  return (o = {}) => {
    const s = createMemoryStore({ logConfig: { ...DEFAULT_LOG_CONFIG, ...o.logConfig }, logger: o.logger });
    openStores.push(s);
    return s;
  };
}

function fileOpener(dir = tmpDir()): Opener {
  return (o = {}) => {
    const s = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, ...o.logConfig }, logger: o.logger });
    openStores.push(s);
    return s;
  };
}

let seq = 0;
function meta(name: string, configs: Record<string, string> = {}): TopicMetadata {
  seq++;
  const id = Buffer.alloc(16);
  id.writeUInt32BE(seq, 12);
  id[0] = 0x41;
  return { name, topicId: id.toString('base64url'), numPartitions: 1, replicationFactor: 1, configs };
}

function withTopic(store: LogStore, name = 'events', configs: Record<string, string> = {}): PartitionLog {
  store.createTopic(meta(name, configs));
  return store.partition(name, 0)!;
}

/** Appends `batches` batches of `per` records each (timestamps 1000 + offset). */
function fill(p: PartitionLog, batches: number, per: number, valueSize = 8): void {
  for (let i = 0; i < batches; i++) {
    const start = Number(p.logEndOffset);
    p.append([makeBatch({ timestamps: Array.from({ length: per }, (_, j) => 1000 + start + j), valueSize })]);
  }
}

function allBatches(p: PartitionLog, from = p.logStartOffset): Buffer[] {
  return p.read(from, 1 << 30, true).chunks;
}

function segmentFiles(dir: string, topic = 'events'): string[] {
  return fs
    .readdirSync(path.join(dir, `${topic}-0`))
    .filter((f) => f.endsWith('.log'))
    .sort();
}

describe.each([
  ['memory', memoryOpener],
  ['file', () => fileOpener()],
] as const)('deleteRecordsBefore: %s', (_name, makeOpener) => {
  it('raises logStartOffset and returns it; reads start at the batch holding it', () => {
    const store = makeOpener()();
    const p = withTopic(store);
    fill(p, 5, 4); // batches at 0, 4, 8, 12, 16
    expect(p.deleteRecordsBefore(8n)).toBe(8n);
    expect(p.logStartOffset).toBe(8n);
    expect(p.logEndOffset).toBe(20n);
    expect(allBatches(p).map(baseOffsetOf)).toEqual([8n, 12n, 16n]);
    // Appends go on; AppendInfo reports the new start.
    const info = p.append([batchOf(2)]);
    expect(info).toEqual({ baseOffset: 20n, lastOffset: 21n, logStartOffset: 8n });
  });

  it('never lowers the start; negative and smaller offsets change nothing', () => {
    const p = withTopic(makeOpener()());
    fill(p, 3, 2);
    expect(p.deleteRecordsBefore(4n)).toBe(4n);
    expect(p.deleteRecordsBefore(2n)).toBe(4n);
    expect(p.deleteRecordsBefore(4n)).toBe(4n);
    expect(p.deleteRecordsBefore(-1n)).toBe(4n);
    expect(p.logStartOffset).toBe(4n);
  });

  it('is capped at logEndOffset; deleting everything leaves an empty log that keeps its offsets', () => {
    const p = withTopic(makeOpener()());
    fill(p, 3, 3);
    expect(p.deleteRecordsBefore(1000n)).toBe(9n);
    expect(p.logStartOffset).toBe(9n);
    expect(p.logEndOffset).toBe(9n);
    expect(p.read(9n, 1 << 20, true).chunks).toEqual([]);
    expect(p.offsetForTimestamp(0n)).toBeUndefined();
    const info = p.append([batchOf(1, 5000)]);
    expect(info.baseOffset).toBe(9n);
    expect(allBatches(p).map(baseOffsetOf)).toEqual([9n]);
    expect(p.offsetForTimestamp(0n)?.offset).toBe(9n);
  });

  it('on an empty log is a no-op at 0', () => {
    const p = withTopic(makeOpener()());
    expect(p.deleteRecordsBefore(5n)).toBe(0n);
    expect(p.logStartOffset).toBe(0n);
  });

  it('keeps a batch that straddles the new start; reading at the start returns it whole', () => {
    const p = withTopic(makeOpener()());
    fill(p, 3, 4); // 0-3, 4-7, 8-11
    expect(p.deleteRecordsBefore(6n)).toBe(6n);
    const chunks = p.read(6n, 1 << 20, true).chunks;
    expect(chunks.map(baseOffsetOf)).toEqual([4n, 8n]);
    expect(lastOffsetOf(chunks[0]!)).toBe(7n);
  });

  it('timestamp lookups answer offsets at or after the start', () => {
    const p = withTopic(makeOpener()());
    fill(p, 3, 4); // timestamps 1000+offset
    p.deleteRecordsBefore(6n);
    expect(p.offsetForTimestamp(0n)).toMatchObject({ offset: 6n, timestamp: 1006n });
    expect(p.offsetForTimestamp(1005n)).toMatchObject({ offset: 6n, timestamp: 1006n });
    expect(p.offsetForTimestamp(1009n)).toMatchObject({ offset: 9n, timestamp: 1009n });
    expect(p.maxTimestamp()).toMatchObject({ offset: 11n, timestamp: 1011n });
  });

  it('the largest timestamp is recomputed from what remains', () => {
    const p = withTopic(makeOpener()());
    p.append([makeBatch({ timestamps: [9000, 9001] })]);
    p.append([makeBatch({ timestamps: [100, 101] })]);
    p.append([makeBatch({ timestamps: [200, 201] })]);
    expect(p.maxTimestamp()).toMatchObject({ offset: 1n, timestamp: 9001n });
    p.deleteRecordsBefore(2n);
    expect(p.maxTimestamp()).toMatchObject({ offset: 5n, timestamp: 201n });
  });

  it('a LogAppendTime batch straddling the start answers with the start', () => {
    const p = withTopic(makeOpener()());
    p.append([makeBatch({ timestamps: [500, 500, 500, 500], logAppendTime: true })]);
    p.deleteRecordsBefore(2n);
    expect(p.offsetForTimestamp(0n)).toMatchObject({ offset: 2n, timestamp: 500n });
  });

  it('throws on a deleted partition', () => {
    const store = makeOpener()();
    const p = withTopic(store);
    fill(p, 1, 1);
    store.deleteTopic('events');
    expect(() => p.deleteRecordsBefore(1n)).toThrow(LogStoreError);
  });

  it('a recreated topic starts again at 0', () => {
    const store = makeOpener()();
    const p = withTopic(store);
    fill(p, 2, 2);
    p.deleteRecordsBefore(3n);
    store.deleteTopic('events');
    const q = withTopic(store);
    expect(q.logStartOffset).toBe(0n);
    fill(q, 1, 1);
    expect(allBatches(q).map(baseOffsetOf)).toEqual([0n]);
  });
});

describe('deleteRecordsBefore: file store', () => {
  const small = { segmentBytes: 400 };

  it('deletes whole segments below the start, keeps the one holding it', () => {
    const dir = tmpDir();
    const store = fileOpener(dir)({ logConfig: small });
    const p = withTopic(store);
    fill(p, 12, 2, 60); // ~200-byte batches, two per segment
    const before = segmentFiles(dir);
    expect(before.length).toBeGreaterThanOrEqual(6);
    const bases = before.map((f) => BigInt(f.slice(0, 20)));
    const target = bases[3]! + 1n; // inside the fourth segment
    expect(p.deleteRecordsBefore(target)).toBe(target);
    const after = segmentFiles(dir);
    expect(after).toEqual(before.slice(3));
    // Index files of the deleted segments went too: renamed .deleted with the .log, removed after
    // file.delete.delay.ms (60 s by default).
    const leftovers = fs.readdirSync(path.join(dir, 'events-0')).filter((f) => /^\d{20}\./.test(f) && BigInt(f.slice(0, 20)) < bases[3]!);
    expect(leftovers.filter((f) => !f.endsWith('.deleted'))).toEqual([]);
    expect(leftovers.filter((f) => f.endsWith('.log.deleted'))).toHaveLength(3);
    expect(allBatches(p)[0]!.readBigInt64BE(0)).toBe(bases[3]);
  });

  it('never deletes the active segment', () => {
    const dir = tmpDir();
    const store = fileOpener(dir)({ logConfig: small });
    const p = withTopic(store);
    fill(p, 5, 2, 60);
    p.deleteRecordsBefore(p.logEndOffset);
    expect(segmentFiles(dir)).toHaveLength(1);
    expect(p.logStartOffset).toBe(10n);
    fill(p, 1, 1);
    expect(allBatches(p).map(baseOffsetOf)).toEqual([10n]);
  });

  it('persists the start across reopen, also inside a straddling batch', () => {
    const dir = tmpDir();
    const open = fileOpener(dir);
    let store = open();
    let p = withTopic(store);
    fill(p, 3, 4);
    p.deleteRecordsBefore(6n);
    store.close();
    store = open();
    p = store.partition('events', 0)!;
    expect(p.logStartOffset).toBe(6n);
    expect(p.logEndOffset).toBe(12n);
    expect(p.read(6n, 1 << 20, true).chunks.map(baseOffsetOf)).toEqual([4n, 8n]);
    expect(p.offsetForTimestamp(0n)?.offset).toBe(6n);
    expect(fs.readFileSync(path.join(dir, 'events-0', LOG_START_OFFSET_FILE), 'utf8')).toBe('0\n1\nevents 0 6\n');
  });

  it('after reopen the largest timestamp ignores batches below the start', () => {
    const dir = tmpDir();
    const open = fileOpener(dir);
    let store = open();
    const p = withTopic(store);
    p.append([makeBatch({ timestamps: [9000, 9001] })]);
    p.append([makeBatch({ timestamps: [100, 101] })]);
    p.deleteRecordsBefore(2n);
    store.close();
    store = open();
    const q = store.partition('events', 0)!;
    expect(q.maxTimestamp()).toMatchObject({ offset: 3n, timestamp: 101n });
    q.append([makeBatch({ timestamps: [50] })]);
    expect(q.maxTimestamp()).toMatchObject({ offset: 3n, timestamp: 101n });
    q.append([makeBatch({ timestamps: [500] })]);
    expect(q.maxTimestamp()).toMatchObject({ offset: 5n, timestamp: 500n });
  });

  it('survives a crash without close()', async () => {
    const dir = tmpDir();
    const open = fileOpener(dir);
    const store = open({ logConfig: small });
    const p = withTopic(store);
    fill(p, 8, 2, 60);
    await store.whenSyncIdle();
    p.deleteRecordsBefore(9n);
    // no close: a second store over the same directory sees what the first wrote
    openStores = openStores.filter((s) => s !== store);
    const again = open({ logConfig: small }).partition('events', 0)!;
    expect(again.logStartOffset).toBe(9n);
    expect(again.logEndOffset).toBe(16n);
    store.close(); // release the abandoned fds
  });

  it('drops at open the segments a crash left behind after the checkpoint was written', () => {
    const dir = tmpDir();
    const open = fileOpener(dir);
    const crashed = open({ logConfig: small });
    const p = withTopic(crashed);
    fill(p, 10, 2, 60);
    const before = segmentFiles(dir);
    const target = BigInt(before[2]!.slice(0, 20));
    // The process "dies" after the checkpoint (written through a temp file and a rename): no
    // segment file is renamed to .deleted or removed.
    const realRename = fs.renameSync;
    const rm = vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if (path.basename(String(from)).startsWith('.tmp-')) return realRename(from, to);
      throw new Error('killed');
    });
    expect(() => p.deleteRecordsBefore(target)).toThrow('killed');
    rm.mockRestore();
    expect(segmentFiles(dir)).toEqual(before);
    openStores = openStores.filter((s) => s !== crashed);
    const q = open({ logConfig: small }).partition('events', 0)!;
    expect(q.logStartOffset).toBe(target);
    expect(segmentFiles(dir)).toEqual(before.slice(2));
    expect(allBatches(q)[0]!.readBigInt64BE(0)).toBe(target);
    crashed.close(); // release the abandoned fds
  });

  it('a malformed checkpoint is ignored with a warning', () => {
    const dir = tmpDir();
    const open = fileOpener(dir);
    let store = open();
    const p = withTopic(store);
    fill(p, 2, 2);
    p.deleteRecordsBefore(2n);
    store.close();
    fs.writeFileSync(path.join(dir, 'events-0', LOG_START_OFFSET_FILE), 'garbage\n');
    const cap = captureLogger();
    store = open({ logger: cap.logger });
    expect(store.partition('events', 0)!.logStartOffset).toBe(0n);
    expect(cap.warns.map((w) => w.msg)).toContain('ignoring malformed log-start-offset-checkpoint');
  });

  it('a checkpoint past a lost tail is capped at the end of the log and rewritten', () => {
    const dir = tmpDir();
    const open = fileOpener(dir);
    let store = open();
    const p = withTopic(store);
    fill(p, 3, 2); // 0-5
    p.deleteRecordsBefore(6n);
    store.close();
    // Pretend the disk kept the checkpoint but lost the last batch (power loss).
    const logFile = path.join(dir, 'events-0', segmentFiles(dir)[0]!);
    const size = fs.statSync(logFile).size;
    fs.truncateSync(logFile, size - 10);
    const cap = captureLogger();
    store = open({ logger: cap.logger });
    const q = store.partition('events', 0)!;
    expect(q.logEndOffset).toBe(4n);
    expect(q.logStartOffset).toBe(4n);
    fill(q, 2, 2); // 4-7 again
    store.close();
    store = open();
    expect(store.partition('events', 0)!.logStartOffset).toBe(4n);
    expect(allBatches(store.partition('events', 0)!).map(baseOffsetOf)).toEqual([4n, 6n]);
  });
});

describe('deleteRecordsBefore: file store agrees with the memory store', () => {
  it('on random appends, deletions, reopens and lookups across small segments', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return seed % n;
    };
    const dir = tmpDir();
    const cfg = { logConfig: { segmentBytes: 600, indexIntervalBytes: 100 } };
    const mem = withTopic(memoryOpener()(cfg));
    let fileStore = fileOpener(dir)(cfg);
    let file = withTopic(fileStore);
    const compare = (): void => {
      expect(file.logStartOffset).toBe(mem.logStartOffset);
      expect(file.logEndOffset).toBe(mem.logEndOffset);
      for (const at of [mem.logStartOffset, mem.logStartOffset + 1n, (mem.logStartOffset + mem.logEndOffset) / 2n]) {
        if (at >= mem.logEndOffset) continue;
        const a = mem.read(at, 700, true).chunks.map(baseOffsetOf);
        const b = file.read(at, 700, true).chunks.map(baseOffsetOf);
        // the file store may return fewer batches (one read per segment), never different ones
        expect(a.slice(0, b.length)).toEqual(b);
        expect(b[0]).toBe(a[0]);
      }
      for (const ts of [0n, BigInt(rand(3000)), BigInt(rand(3000)), 5000n]) {
        expect(file.offsetForTimestamp(ts)).toEqual(mem.offsetForTimestamp(ts));
      }
      expect(file.maxTimestamp()).toEqual(mem.maxTimestamp());
    };
    for (let step = 0; step < 400; step++) {
      const op = rand(10);
      if (op < 6) {
        const n = 1 + rand(4);
        const timestamps = Array.from({ length: n }, () => rand(3000));
        const logAppendTime = rand(8) === 0;
        mem.append([makeBatch({ timestamps, logAppendTime })]);
        file.append([makeBatch({ timestamps, logAppendTime })]);
      } else if (op < 9) {
        const target = mem.logStartOffset + BigInt(rand(Number(mem.logEndOffset - mem.logStartOffset) + 3)) - 1n;
        expect(file.deleteRecordsBefore(target)).toBe(mem.deleteRecordsBefore(target));
      } else {
        fileStore.close();
        fileStore = fileOpener(dir)(cfg);
        file = fileStore.partition('events', 0)!;
      }
      compare();
    }
    expect(mem.logStartOffset).toBeGreaterThan(0n);
  });
});
