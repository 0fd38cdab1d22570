// Issue 8: retention (retention.ms, retention.bytes, cleanup.policy) as a contract over both
// stores: whole units (segments in the file store, batches in memory) go from the front, offsets
// are kept, the log start moves, appends continue; compacted topics are left alone.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openFileStore } from '../../src/log/file-store.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogConfig, type LogStore, type PartitionLog } from '../../src/log/types.js';
import { batchOf, makeBatch, tempStores } from './helpers.js';

const { stores, tmpDir: tmp } = tempStores('brook-retention-');

interface Harness {
  name: string;
  open(cfg: Partial<LogConfig>, topicConfigs?: Record<string, string>, dir?: string): { store: LogStore; log: PartitionLog; dir?: string };
}

function topic(store: LogStore, configs: Record<string, string>): PartitionLog {
  if (!store.getTopic('t')) store.createTopic({ name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', numPartitions: 1, replicationFactor: 1, configs });
  return store.partition('t', 0)!;
}

// One batch of ~100 bytes per segment in the file store (segment.bytes 150).
const SEGMENT = { segmentBytes: 150 };

const harnesses: Harness[] = [
  {
    name: 'memory',
    open: (cfg, configs = {}) => {
      const store = createMemoryStore({ logConfig: { ...DEFAULT_LOG_CONFIG, ...cfg } });
      stores.push(store);
      return { store, log: topic(store, configs) };
    },
  },
  {
    name: 'file',
    open: (cfg, configs = {}, dir = tmp()) => {
      const store = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, ...SEGMENT, ...cfg } });
      stores.push(store);
      return { store, log: topic(store, configs), dir };
    },
  },
];

/** Appends one single-record batch per timestamp; returns the batch size. */
function fill(log: PartitionLog, timestamps: number[]): number {
  let size = 0;
  for (const ts of timestamps) {
    const b = makeBatch({ timestamps: [ts] });
    size = b.length;
    log.append([b]);
  }
  return size;
}

const firstOffset = (log: PartitionLog): bigint => log.read(log.logStartOffset, 1 << 20, true).chunks[0]!.readBigInt64BE(0);

describe.each(harnesses)('retention contract ($name store)', (h) => {
  it('retention.ms drops the oldest data up to the first unit still young enough; offsets stay', () => {
    const { log } = h.open({ retentionMs: 1000 });
    fill(log, [1000, 2000, 9000, 1500, 10_000]);
    expect(log.enforceRetention(2500)).toBeGreaterThan(0); // ts 1000 is 1500 ms old; ts 2000 only 500
    expect(log.logStartOffset).toBe(1n);
    expect(firstOffset(log)).toBe(1n);
    log.enforceRetention(9500); // ts 2000 goes; ts 9000 is young, so ts 1500 behind it stays (as Kafka)
    expect(log.logStartOffset).toBe(2n);
    expect(log.enforceRetention(9500)).toBe(0);
    // Everything due, the active data included: the log is empty, offsets continue.
    log.enforceRetention(20_000);
    expect(log.logStartOffset).toBe(5n);
    expect(log.logEndOffset).toBe(5n);
    expect(log.read(5n, 1 << 20, true).chunks).toEqual([]);
    expect(log.append([batchOf(2)]).baseOffset).toBe(5n);
    expect(firstOffset(log)).toBe(5n);
  });

  it('retention.bytes keeps the partition at or above the limit, dropping whole units from the front', () => {
    const { log } = h.open({ retentionBytes: -1 });
    const size = fill(log, [1, 2, 3, 4, 5]);
    expect(log.enforceRetention(10)).toBe(0);
    const { log: limited } = h.open({ retentionBytes: 2 * size + 1 }, {}, undefined);
    fill(limited, [1, 2, 3, 4, 5]);
    expect(limited.enforceRetention(10)).toBe(2 * size);
    expect(limited.logStartOffset).toBe(2n);
    expect(limited.enforceRetention(10)).toBe(0);
  });

  it('leaves compacted topics alone; compact,delete obeys retention', () => {
    const { log } = h.open({ retentionMs: 10 }, { 'cleanup.policy': 'compact' });
    fill(log, [1, 2]);
    expect(log.enforceRetention(1_000_000)).toBe(0);
    expect(log.logStartOffset).toBe(0n);
    const { log: both } = h.open({ retentionMs: 10 }, { 'cleanup.policy': 'compact,delete' });
    fill(both, [1, 2]);
    expect(both.enforceRetention(1_000_000)).toBeGreaterThan(0);
    expect(both.logStartOffset).toBe(2n);
  });

  it('topic retention.ms overrides the broker default', () => {
    const { log } = h.open({ retentionMs: 604_800_000 }, { 'retention.ms': '100' });
    fill(log, [1000, 1001]);
    log.enforceRetention(2000);
    expect(log.logStartOffset).toBe(2n);
  });
});

describe('retention in the file store', () => {
  it('deletes whole segment files and the log start survives a reopen', () => {
    const dir = tmp();
    const a = harnesses[1]!.open({ retentionMs: 1000 }, {}, dir);
    fill(a.log, [1000, 2000, 3000, 50_000]);
    const pdir = path.join(dir, 't-0');
    const logs = () => fs.readdirSync(pdir).filter((f) => f.endsWith('.log')).sort();
    expect(logs()).toHaveLength(4);
    a.log.enforceRetention(10_000);
    expect(logs()).toEqual(['00000000000000000003.log']);
    expect(fs.readdirSync(pdir).some((f) => /^0{20}\.(index|timeindex)$/.test(f))).toBe(false);
    a.store.close();
    const b = harnesses[1]!.open({ retentionMs: 1000 }, {}, dir);
    expect(b.log.logStartOffset).toBe(3n);
    expect(b.log.logEndOffset).toBe(4n);
    expect(firstOffset(b.log)).toBe(3n);
  });
});
