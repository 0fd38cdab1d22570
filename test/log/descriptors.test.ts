// Issue 8, "Robust storage": three open files per partition exhausted a 1,024-descriptor limit at
// about 300 partitions, and flush.messages=1 did three fsyncs per produce. Now each segment holds
// at most one fd (its .log; the active segment's indexes live in memory and are written at a roll
// or a clean close), the segment cache bounds those fds across the store, active segments included,
// and an append with flush.messages=1 does one fsync.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { defaultMaxOpenSegments, openFileStore, parseOpenFileLimit, type FileStoreOptions } from '../../src/log/file-store.js';
import { DEFAULT_LOG_CONFIG, type LogConfig, type LogStore, type TopicMetadata } from '../../src/log/types.js';
import { baseOffsetOf, batchOf, captureLogger, lastOffsetOf, tempStores } from './helpers.js';
import { IO_SLOTS } from '../../src/log/segment.js';

const { stores, tmpDir } = tempStores('brook-fds-', { restoreMocks: true });

function open(dir: string, logConfig: Partial<LogConfig> = {}, o: Partial<FileStoreOptions> = {}): LogStore {
  const s = openFileStore(dir, { ...o, logConfig: { ...DEFAULT_LOG_CONFIG, ...logConfig } });
  stores.push(s);
  return s;
}

let seq = 0;
function topicMeta(name: string, numPartitions = 1, configs: Record<string, string> = {}): TopicMetadata {
  const id = Buffer.alloc(16);
  id.writeUInt32BE(++seq, 12);
  id[0] = 0x42;
  return { name, topicId: id.toString('base64url'), numPartitions, replicationFactor: 1, configs };
}

const HAS_PROC_FD = fs.existsSync('/proc/self/fd');

function fdTarget(fd: string): string {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return '';
  }
}

/** Open descriptors of this process on files under `dir`. */
function openFilesUnder(dir: string): string[] {
  return fs
    .readdirSync('/proc/self/fd')
    .map(fdTarget)
    .filter((t) => t.startsWith(dir + path.sep));
}

const offsets = (chunks: Buffer[]): bigint[] => chunks.map(baseOffsetOf);

describe.skipIf(!HAS_PROC_FD)('descriptors stay bounded (issue 8: three open files per partition)', () => {
  it('400 partitions under a budget of 64 files: producing to every partition, reading, reopening', async () => {
    const dir = tmpDir();
    const budget = 64;
    const size = batchOf(2).length;
    // Small segments, so that partitions roll and have inactive segments to read as well.
    const cfg = { segmentBytes: size * 3, indexIntervalBytes: size };
    let s = open(dir, cfg, { maxOpenSegments: budget });
    const topics = ['a', 'b', 'c', 'd'];
    for (const t of topics) s.createTopic(topicMeta(t, 100));
    let peak = openFilesUnder(dir).length;
    const sample = (): void => {
      peak = Math.max(peak, openFilesUnder(dir).length);
    };
    sample();
    for (let round = 0; round < 5; round++) {
      for (const t of topics) {
        for (let p = 0; p < 100; p++) {
          expect(s.partition(t, p)!.append([batchOf(2, 1000 * round + p)]).baseOffset).toBe(BigInt(2 * round));
          if (p % 10 === 0) sample();
        }
      }
    }
    // Every partition rolled: 5 batches of which 3 fit a segment.
    expect(fs.readdirSync(path.join(dir, 'a-0')).filter((f) => f.endsWith('.log')).length).toBe(2);
    for (const t of topics) {
      for (let p = 0; p < 100; p++) {
        const part = s.partition(t, p)!;
        expect(offsets(part.read(0n, 1 << 20, true).chunks)).toEqual([0n, 2n, 4n, 6n, 8n]);
        expect(offsets(part.read(7n, 1 << 20, true).chunks)).toEqual([6n, 8n]);
        expect(part.offsetForTimestamp(BigInt(1000 + p))?.offset).toBe(2n);
        if (p % 10 === 0) sample();
      }
    }
    // The budget counts .log files; reading an inactive segment's indexes opens one more file for a
    // moment at most, and each of the IO_SLOTS writes or fsyncs off the event loop holds one.
    await s.whenSyncIdle();
    sample();
    expect(peak).toBeLessThanOrEqual(budget + IO_SLOTS + 1);
    expect(peak).toBeGreaterThan(budget / 2);

    s.close();
    expect(openFilesUnder(dir)).toEqual([]);

    // A clean start of 400 partitions keeps within the budget too, and so does an unclean one.
    s = open(dir, cfg, { maxOpenSegments: budget });
    expect(openFilesUnder(dir).length).toBeLessThanOrEqual(budget + 1);
    for (const t of topics) for (let p = 0; p < 100; p++) expect(s.partition(t, p)!.append([batchOf(1, 9000)]).baseOffset).toBe(10n);
    expect(openFilesUnder(dir).length).toBeLessThanOrEqual(budget + IO_SLOTS + 1);
    await s.whenSyncIdle(); // the produces' answers wait for their writes
    expect(openFilesUnder(dir).length).toBeLessThanOrEqual(budget + 1);
    s = open(dir, cfg, { maxOpenSegments: budget }); // the other one abandoned, as by kill -9
    for (const t of topics) {
      for (let p = 0; p < 100; p += 7) {
        const part = s.partition(t, p)!;
        expect(part.logEndOffset).toBe(11n);
        expect(offsets(part.read(0n, 1 << 20, true).chunks)).toEqual([0n, 2n, 4n, 6n, 8n, 10n]);
      }
    }
  });

  it("an idle partition's active segment is closed and reopened on its next append or read", async () => {
    const dir = tmpDir();
    const s = open(dir, {}, { maxOpenSegments: 2 });
    s.createTopic(topicMeta('t', 3));
    const parts = [0, 1, 2].map((p) => s.partition('t', p)!);
    parts.forEach((p, i) => p.append([batchOf(2, 100 * i)]));
    await s.whenSyncIdle(); // writes keep their fd open until they end
    const logOf = (p: number): string => path.join(dir, `t-${p}`, '00000000000000000000.log');
    expect(openFilesUnder(dir).sort()).toEqual([logOf(1), logOf(2)]);
    expect(parts[0]!.append([batchOf(3, 50)]).baseOffset).toBe(2n);
    await s.whenSyncIdle();
    expect(openFilesUnder(dir).sort()).toEqual([logOf(0), logOf(2)]);
    expect(offsets(parts[1]!.read(0n, 1 << 20, true).chunks)).toEqual([0n]);
    expect(openFilesUnder(dir).sort()).toEqual([logOf(0), logOf(1)]);
    expect(parts[2]!.offsetForTimestamp(200n)?.offset).toBe(0n);
    // Nothing written while closed was lost: a kill -9 and a reopen see all of it.
    const q = open(dir).partition('t', 0)!;
    expect(offsets(q.read(0n, 1 << 20, true).chunks)).toEqual([0n, 2n]);
    expect(q.logEndOffset).toBe(5n);
  });

  it('out of descriptors (EMFILE) on a reopen: the cache closes half of its files and tries again', async () => {
    const dir = tmpDir();
    const s = open(dir, {}, { maxOpenSegments: 4 });
    s.createTopic(topicMeta('t', 6));
    for (let p = 0; p < 6; p++) s.partition('t', p)!.append([batchOf(1)]);
    await s.whenSyncIdle();
    expect(openFilesUnder(dir).length).toBe(4); // t-0 and t-1 closed
    const real = fs.openSync;
    let refused = 0;
    vi.spyOn(fs, 'openSync').mockImplementation(((...args: Parameters<typeof fs.openSync>) => {
      if (String(args[0]).includes(`${path.sep}t-0${path.sep}`) && refused++ === 0) {
        throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      }
      return real(...args);
    }) as never);
    const p0 = s.partition('t', 0)!;
    expect(p0.append([batchOf(1)]).baseOffset).toBe(1n);
    await p0.whenWritten(); // the write reopens the log
    expect(refused).toBe(2);
    expect(openFilesUnder(dir).length).toBe(3); // two closed to make room, then t-0 opened
  });
});

describe('flush.messages=1 (issue 8: three fsyncs per produce)', () => {
  // The fsync runs off the event loop (fs.fsync through an fd of its own) and is shared by the
  // appends made while one is pending (group commit).
  it.skipIf(!HAS_PROC_FD)('an append does one fsync, of the log file, off the event loop', async () => {
    const dir = tmpDir();
    const s = open(dir, { indexIntervalBytes: 1 });
    s.createTopic(topicMeta('sync', 1, { 'flush.messages': '1' }));
    const p = s.partition('sync', 0)!;
    p.append([batchOf(2)]);
    await p.whenDurable();
    const synced: string[] = [];
    const real = fs.fsync;
    vi.spyOn(fs, 'fsync').mockImplementation(((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      synced.push(fdTarget(String(fd)));
      return real(fd, cb);
    }) as typeof fs.fsync);
    const syncSpy = vi.spyOn(fs, 'fsyncSync');
    // Index entries are added on each of these (interval 1 byte): still one fsync each.
    for (let i = 0; i < 5; i++) {
      p.append([batchOf(3, 100 * i)]);
      await p.whenDurable();
    }
    expect(synced).toEqual(Array(5).fill(path.join(dir, 'sync-0', '00000000000000000000.log')));
    // Appends made while one is pending share the next fsync.
    synced.length = 0;
    for (let i = 0; i < 10; i++) p.append([batchOf(1, 1000 + i)]);
    await p.whenDurable();
    expect(synced.length).toBeGreaterThanOrEqual(1);
    expect(synced.length).toBeLessThanOrEqual(2);
    expect(syncSpy).not.toHaveBeenCalled();
  });

  it('a pending fsync survives the cache closing the log fd (its own fd)', async () => {
    const dir = tmpDir();
    const s = open(dir, { flushIntervalMessages: 1 }, { maxOpenSegments: 1 });
    s.createTopic(topicMeta('y', 2));
    const p0 = s.partition('y', 0)!;
    const p1 = s.partition('y', 1)!;
    p0.append([batchOf(2)]); // fsync of y-0 pending
    p1.append([batchOf(2)]); // closes y-0's log fd
    await Promise.all([p0.whenDurable(), p1.whenDurable()]);
    p0.append([batchOf(1)]);
    await p0.whenDurable();
    expect(p0.logEndOffset).toBe(3n);
  });

  it('the fsync reaches a log whose fd the cache closed meanwhile (store flush)', () => {
    const dir = tmpDir();
    const s = open(dir, {}, { maxOpenSegments: 1 });
    s.createTopic(topicMeta('x', 2));
    s.partition('x', 0)!.append([batchOf(2)]);
    s.partition('x', 1)!.append([batchOf(2)]); // closes x-0's log
    const spy = vi.spyOn(fs, 'fsyncSync');
    s.flush();
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockClear();
    s.flush();
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('the active segment after a clean shutdown (issue 8)', () => {
  /** One partition with a ~1 MiB active segment of 2-record batches; closed cleanly. */
  function seed(dir: string): { file: string; batches: number } {
    const s = open(dir);
    s.createTopic(topicMeta('big'));
    const p = s.partition('big', 0)!;
    let batches = 0;
    while (p.logEndOffset < 2n * 4000n) {
      p.append([batchOf(2, 10_000 + batches * 2, 100)]);
      batches++;
    }
    s.close();
    return { file: path.join(dir, 'big-0', '00000000000000000000.log'), batches };
  }

  /** Bytes read from `file` by fs.readSync while `fn` runs. */
  function bytesReadFrom(file: string, fn: () => void): number {
    let bytes = 0;
    const real = fs.readSync;
    const spy = vi.spyOn(fs, 'readSync').mockImplementation(((fd: number, ...rest: unknown[]) => {
      const n = (real as (...a: unknown[]) => number)(fd, ...rest);
      if (fdTarget(String(fd)) === file) bytes += n;
      return n;
    }) as never);
    try {
      fn();
    } finally {
      spy.mockRestore();
    }
    return bytes;
  }

  it.skipIf(!HAS_PROC_FD)('its indexes come from the files close() wrote: only the tail after the last entry is read', () => {
    const dir = tmpDir();
    const { file } = seed(dir);
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(1_000_000);
    let s: LogStore | undefined;
    const read = bytesReadFrom(file, () => {
      s = open(dir);
    });
    expect(read).toBeLessThan(64 * 1024 + 1);
    const p = s!.partition('big', 0)!;
    expect(p.logEndOffset).toBe(8000n);
    expect(offsets(p.read(4001n, 1, true).chunks)).toEqual([4000n]);
    expect(p.offsetForTimestamp(10_000n + 5001n)?.offset).toBe(5001n);
    expect(p.maxTimestamp()?.offset).toBe(7999n);
    expect(p.append([batchOf(1, 30_000)]).baseOffset).toBe(8000n);

    // After an unclean shutdown (no marker) every batch is read and checked.
    const unclean = bytesReadFrom(file, () => {
      open(dir);
    });
    expect(unclean).toBeGreaterThanOrEqual(size);
  });

  it('index files that do not fit the log are not trusted: the log is walked instead, nothing is cut', () => {
    const dir = tmpDir();
    const { file } = seed(dir);
    const idx = file.replace(/\.log$/, '.index');
    const bytes = fs.readFileSync(idx);
    const n = bytes.length / 8;
    bytes.writeInt32BE(bytes.readInt32BE((n - 1) * 8 + 4) + 5, (n - 1) * 8 + 4); // last entry inside a batch
    fs.writeFileSync(idx, bytes);
    const { warns, logger } = captureLogger();
    const p = open(dir, {}, { logger }).partition('big', 0)!;
    expect(warns).toEqual([]);
    expect(p.logEndOffset).toBe(8000n);
    const all = p.read(0n, 1 << 30, true).chunks;
    expect(all.length).toBe(4000);
    expect(lastOffsetOf(all.at(-1)!)).toBe(7999n);
    expect(offsets(p.read(7001n, 1, true).chunks)).toEqual([7000n]);
    expect(p.offsetForTimestamp(10_000n + 6001n)?.offset).toBe(6001n);
  });
});

describe('open-file limit at startup (issue 8)', () => {
  it('reads the soft limit from /proc/self/limits', () => {
    const text = [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max processes             63704                63704                processes ',
      'Max open files            1024                 524288               files     ',
    ].join('\n');
    expect(parseOpenFileLimit(text)).toBe(1024);
    expect(parseOpenFileLimit(text.replace('1024 ', 'unlimited'))).toBeUndefined();
    expect(parseOpenFileLimit('')).toBeUndefined();
    if (fs.existsSync('/proc/self/limits')) expect(parseOpenFileLimit(fs.readFileSync('/proc/self/limits', 'utf8'))).toBeGreaterThan(0);
    expect(defaultMaxOpenSegments(1024)).toBe(512);
    expect(defaultMaxOpenSegments(undefined)).toBe(1024);
  });

  it('warns once when the limit is low for the partitions on disk, saying what the cache will do', () => {
    const dir = tmpDir();
    const s = open(dir);
    s.createTopic(topicMeta('many', 300));
    s.close();
    const low = captureLogger();
    open(dir, {}, { logger: low.logger, openFileLimit: 512 });
    expect(low.warns.length).toBe(1);
    expect(low.warns[0]!.msg).toBe(
      'open-file limit 512 is low for 300 partitions: at most 256 segment files stay open, the least recently used are closed ' +
        'and reopened on their next produce or fetch; raise the limit (ulimit -n) to 600 or more to keep them open',
    );
    expect(low.warns[0]!.obj).toMatchObject({ openFileLimit: 512, partitions: 300, maxOpenSegments: 256 });
    stores.pop()!.close();
    // The example: 300 partitions under 1,024 descriptors need 300 of them now, not 900.
    const enough = captureLogger();
    open(dir, {}, { logger: enough.logger, openFileLimit: 1024 });
    expect(enough.warns).toEqual([]);
  });
});
