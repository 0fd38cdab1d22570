// Issue 8: the store methods behind OffsetForLeaderEpoch and DescribeLogDirs, on both stores:
// leaderEpochEntries() (Kafka's leader-epoch cache: assign replaces entries at the same start,
// truncateFromStart cuts at the log start offset), sizeInBytes(), logDir and logDirSpace().

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LEADER_EPOCH_FILE } from '../../src/log/file-partition.js';
import { openFileStore } from '../../src/log/file-store.js';
import { MEMORY_LOG_DIR, createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogStore, type PartitionLog } from '../../src/log/types.js';
import { batchOf } from './helpers.js';

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
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-epochs-'));
  tmpDirs.push(d);
  return d;
}

function memory(): () => LogStore {
  return () => {
    const s = createMemoryStore({ logConfig: DEFAULT_LOG_CONFIG });
    openStores.push(s);
    return s;
  };
}

function file(dir = tmpDir(), segmentBytes = DEFAULT_LOG_CONFIG.segmentBytes): () => LogStore {
  return () => {
    const s = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, segmentBytes } });
    openStores.push(s);
    return s;
  };
}

function withTopic(store: LogStore, name = 'events'): PartitionLog {
  const id = Buffer.alloc(16, 7);
  id[0] = 0x42;
  store.createTopic({ name, topicId: id.toString('base64url'), numPartitions: 1, replicationFactor: 1, configs: {} });
  return store.partition(name, 0)!;
}

const entries = (p: PartitionLog) => p.leaderEpochEntries().map((e) => [e.epoch, e.startOffset]);

describe.each([
  ['memory', memory],
  ['file', () => file()],
] as const)('leaderEpochEntries / sizeInBytes: %s', (_name, opener) => {
  it('starts with epoch 0 at offset 0 and records each raised epoch where it starts', () => {
    const p = withTopic(opener()());
    expect(entries(p)).toEqual([[0, 0n]]);
    p.append([batchOf(3)]); // 0..2
    p.bumpLeaderEpoch(2);
    expect(entries(p)).toEqual([[0, 0n], [2, 3n]]);
    p.append([batchOf(2)]); // 3..4
    // Two raises with nothing between: the later replaces the earlier (Kafka's assign).
    p.bumpLeaderEpoch(4);
    p.bumpLeaderEpoch(5);
    expect(entries(p)).toEqual([[0, 0n], [2, 3n], [5, 5n]]);
    p.append([batchOf(1)]); // 5
    expect(entries(p)).toEqual([[0, 0n], [2, 3n], [5, 5n]]);
  });

  it('a raise on an empty log replaces epoch 0', () => {
    const p = withTopic(opener()());
    p.bumpLeaderEpoch(3);
    p.append([batchOf(2)]);
    expect(entries(p)).toEqual([[3, 0n]]);
  });

  it('is cut at the log start offset as Kafka truncateFromStart does', () => {
    const p = withTopic(opener()());
    p.append([batchOf(3)]); // 0..2 epoch 0
    p.bumpLeaderEpoch(2);
    p.append([batchOf(2)]); // 3..4 epoch 2
    p.bumpLeaderEpoch(5);
    p.append([batchOf(1)]); // 5 epoch 5
    p.deleteRecordsBefore(1n);
    expect(entries(p)).toEqual([[0, 1n], [2, 3n], [5, 5n]]);
    p.deleteRecordsBefore(3n); // exactly where epoch 2 starts: epoch 0 goes
    expect(entries(p)).toEqual([[2, 3n], [5, 5n]]);
    p.deleteRecordsBefore(4n);
    expect(entries(p)).toEqual([[2, 4n], [5, 5n]]);
    p.deleteRecordsBefore(6n); // everything
    expect(entries(p)).toEqual([[5, 6n]]);
  });

  it('sizeInBytes counts the stored batches, also after a delete', () => {
    const p = withTopic(opener()());
    expect(p.sizeInBytes()).toBe(0);
    const a = batchOf(2);
    const b = batchOf(3);
    const aLen = a.length;
    const bLen = b.length;
    p.append([a]);
    p.append([b]);
    expect(p.sizeInBytes()).toBe(aLen + bLen);
  });
});

describe('file store', () => {
  it('keeps the epoch history across a restart and cuts it at a persisted log start', () => {
    const dir = tmpDir();
    const open = file(dir);
    const s1 = open();
    const p = withTopic(s1);
    p.append([batchOf(3)]);
    p.bumpLeaderEpoch(2);
    p.append([batchOf(2)]);
    p.deleteRecordsBefore(4n);
    s1.close();
    const q = open().partition('events', 0)!;
    expect(entries(q)).toEqual([[2, 4n]]);
  });

  it('a lost leader-epoch-checkpoint: the epoch stamped on the data is kept, starting at the log end', () => {
    const dir = tmpDir();
    const open = file(dir);
    const s1 = open();
    const p = withTopic(s1);
    p.append([batchOf(3)]);
    p.bumpLeaderEpoch(2);
    p.append([batchOf(2)]);
    s1.close();
    fs.rmSync(path.join(dir, 'events-0', LEADER_EPOCH_FILE));
    const q = open().partition('events', 0)!;
    expect(q.leaderEpoch).toBe(2);
    expect(entries(q)).toEqual([[0, 0n], [2, 5n]]);
  });

  it('sizeInBytes is the sum of the .log files; whole segments below the start go', async () => {
    const dir = tmpDir();
    const store = file(dir, 200)();
    const p = withTopic(store);
    for (let i = 0; i < 6; i++) p.append([batchOf(2, 1000, 40)]);
    await store.whenSyncIdle();
    const logs = () => fs.readdirSync(path.join(dir, 'events-0')).filter((f) => f.endsWith('.log'));
    const onDisk = () => logs().reduce((n, f) => n + fs.statSync(path.join(dir, 'events-0', f)).size, 0);
    expect(logs().length).toBeGreaterThan(1);
    expect(p.sizeInBytes()).toBe(onDisk());
    p.deleteRecordsBefore(p.logEndOffset - 1n);
    expect(p.sizeInBytes()).toBe(onDisk());
    expect(logs()).toHaveLength(1);
  });

  it('reports its data directory and the volume space', () => {
    const dir = tmpDir();
    const store = file(dir)();
    expect(store.logDir).toBe(path.resolve(dir));
    const st = fs.statfsSync(dir, { bigint: true });
    const space = store.logDirSpace();
    expect(space.totalBytes).toBe(st.blocks * st.bsize);
    expect(space.usableBytes).toBeGreaterThan(0n);
    expect(space.usableBytes).toBeLessThanOrEqual(space.totalBytes);
  });
});

describe('memory store', () => {
  it('reports the pseudo directory "(memory)" with unknown space', () => {
    const store = memory()();
    expect(store.logDir).toBe(MEMORY_LOG_DIR);
    expect(MEMORY_LOG_DIR).toBe('(memory)');
    expect(store.logDirSpace()).toEqual({ totalBytes: -1n, usableBytes: -1n });
  });
});
