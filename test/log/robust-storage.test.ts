// Issue 8, "Robust storage": regression tests for the file store's storage-fault and corruption
// defects. Faults are injected through the `fs` default export the store uses (vi.spyOn); damage is
// done to the files between a close and an open.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_COMPACTION_CONFIG } from '../../src/log/cleaner.js';
import { LogStoreError } from '../../src/log/common.js';
import { CLEAN_SHUTDOWN_FILE, openFileStore, type FileStoreOptions } from '../../src/log/file-store.js';
import { DEFAULT_LOG_CONFIG, type LogConfig, type LogStore, type TopicMetadata } from '../../src/log/types.js';
import { MAGIC_OFFSET } from '../../protocol/records/constants.js';
import { baseOffsetOf, batchOf, captureLogger, tempStores } from './helpers.js';

const { stores, tmpDir } = tempStores('brook-robust-', { restoreMocks: true });

interface Open {
  logConfig?: Partial<LogConfig>;
  logger?: FileStoreOptions['logger'];
  clusterId?: string;
}

function open(dir: string, o: Open = {}): LogStore {
  const s = openFileStore(dir, { logConfig: { ...DEFAULT_LOG_CONFIG, ...o.logConfig }, logger: o.logger, clusterId: o.clusterId });
  stores.push(s);
  return s;
}

let seq = 0;
function topicMeta(name: string, numPartitions = 1): TopicMetadata {
  const id = Buffer.alloc(16);
  id.writeUInt32BE(++seq, 12);
  id[0] = 0x41;
  return { name, topicId: id.toString('base64url'), numPartitions, replicationFactor: 1, configs: {} };
}

const offsets = (chunks: Buffer[]): bigint[] => chunks.map(baseOffsetOf);

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${syscall}`), { code, syscall });
}

type Faultable = 'writeSync' | 'openSync' | 'ftruncateSync';

/** Makes `fs[method]` throw `code` whenever `when(args)` is true; the rest go through. */
function fault(method: Faultable, when: (args: unknown[]) => boolean, code = 'ENOSPC') {
  const real = fs[method] as (...a: unknown[]) => unknown;
  return vi.spyOn(fs, method).mockImplementation(((...args: unknown[]) => {
    if (when(args)) throw errno(code, method);
    return real.apply(fs, args);
  }) as never);
}

const HAS_PROC_FD = fs.existsSync('/proc/self/fd');
function fdPath(fd: unknown): string {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd as number}`);
  } catch {
    return '';
  }
}

function storageCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LogStoreError);
    return (err as LogStoreError).code;
  }
  return undefined;
}

const SEG0 = '00000000000000000000';

describe('a failed write leaves nothing half-visible and loses nothing acknowledged (issue 8)', () => {
  type WritevCb = (err: NodeJS.ErrnoException | null, n: number) => void;
  /**
   * Makes the log's async writes (fs.writev) misbehave: `plan(call)` says what the n-th write does:
   * 'ok', 'fail' (`code`), or 'short' (writes half of the first buffer and reports that).
   */
  function writevFaults(plan: (call: number) => 'ok' | 'fail' | 'short', code = 'ENOSPC', only?: (fd: number) => boolean) {
    const real = fs.writev as (...a: unknown[]) => void;
    let calls = 0;
    return vi.spyOn(fs, 'writev').mockImplementation(((fd: number, bufs: Buffer[], pos: number, cb: WritevCb) => {
      if (only !== undefined && !only(fd)) return real.call(fs, fd, bufs, pos, cb);
      const what = plan(++calls);
      if (what === 'fail') return setImmediate(() => cb(errno(code, 'writev'), 0));
      if (what === 'short') return real.call(fs, fd, [bufs[0]!.subarray(0, Math.max(1, bufs[0]!.length >> 1))], pos, cb);
      return real.call(fs, fd, bufs, pos, cb);
    }) as never);
  }

  async function rejection(p: Promise<unknown>): Promise<string | undefined> {
    try {
      await p;
    } catch (err) {
      expect(err).toBeInstanceOf(LogStoreError);
      return (err as LogStoreError).code;
    }
    return undefined;
  }

  it('a failed write: its waiters get STORAGE_ERROR, readers never see it, appends are refused until a retry works, and it lands whole', async () => {
    const dir = tmpDir();
    const { warns, logger } = captureLogger();
    const s = open(dir, { logConfig: { indexIntervalBytes: 1 }, logger });
    s.createTopic(topicMeta('t'));
    const p = s.partition('t', 0)!;
    const first = batchOf(3, 100);
    p.append([first]);
    await p.whenWritten();
    expect(p.writtenEndOffset).toBe(3n);

    writevFaults((n) => (n === 1 ? 'short' : 'fail'));
    const second = batchOf(2, 200);
    expect(p.append([second]).baseOffset).toBe(3n);
    expect(await rejection(p.whenWritten())).toBe('STORAGE_ERROR');
    // Half of it may be in the file, none of it is below the written end (the high watermark).
    expect(p.writtenEndOffset).toBe(3n);
    expect(offsets(p.read(0n, 1 << 20, true, p.writtenEndOffset).chunks)).toEqual([0n]);
    // While the disk refuses, appends are refused (the queue does not grow) and each retries.
    expect(storageCode(() => p.append([batchOf(1, 250)]))).toBe('STORAGE_ERROR');
    expect(p.logEndOffset).toBe(5n);

    vi.restoreAllMocks();
    p.flush(); // retries now (an append, or a timer after a second, would too)
    expect(p.writtenEndOffset).toBe(5n);
    expect(p.append([batchOf(4, 400)]).baseOffset).toBe(5n);
    await p.whenWritten();
    expect(offsets(p.read(0n, 1 << 20, true, p.writtenEndOffset).chunks)).toEqual([0n, 3n, 5n]);
    expect(fs.statSync(path.join(dir, 't-0', `${SEG0}.log`)).size).toBe(first.length + second.length + batchOf(4, 400).length);

    // kill -9 (no close): everything written is there.
    const q = open(dir, { logConfig: { indexIntervalBytes: 1 } }).partition('t', 0)!;
    expect(q.logEndOffset).toBe(9n);
    expect(offsets(q.read(0n, 1 << 20, true).chunks)).toEqual([0n, 3n, 5n]);
    expect(q.offsetForTimestamp(401n)?.offset).toBe(6n);
  });

  it('kill -9 after a failed write: the torn tail is cut at the next open, every acknowledged batch stays', async () => {
    const dir = tmpDir();
    const s = open(dir);
    s.createTopic(topicMeta('t'));
    const p = s.partition('t', 0)!;
    p.append([batchOf(3, 100)]);
    await p.whenWritten();
    writevFaults((n) => (n === 1 ? 'short' : 'fail'));
    p.append([batchOf(2, 200)]);
    expect(await rejection(p.whenWritten())).toBe('STORAGE_ERROR');
    vi.restoreAllMocks();
    const { warns, logger } = captureLogger();
    const q = open(dir, { logger }).partition('t', 0)!;
    expect(q.logEndOffset).toBe(3n);
    expect(offsets(q.read(0n, 1 << 20, true).chunks)).toEqual([0n]);
    expect(warns.map((w) => w.msg)).toEqual([expect.stringMatching(/truncated corrupt or incomplete tail/)]);
    expect(q.append([batchOf(1)]).baseOffset).toBe(3n);
  });

  it('a failed index write after a roll: appends go on, the sealed segment is retried and whole after a restart', async () => {
    const dir = tmpDir();
    const size = batchOf(2).length;
    const cfg = { indexIntervalBytes: 1, segmentBytes: size * 3 };
    const { warns, logger } = captureLogger();
    const s = open(dir, { logConfig: cfg, logger });
    s.createTopic(topicMeta('t'));
    const p = s.partition('t', 0)!;
    const realRename = fs.promises.rename;
    let failures = 0;
    vi.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
      if (String(to).endsWith('.index') && failures === 0) {
        failures++;
        throw errno('ENOSPC', 'rename');
      }
      return realRename(from, to);
    });
    p.append([batchOf(2, 100), batchOf(2, 200), batchOf(2, 300)]);
    expect(p.append([batchOf(2, 400)]).baseOffset).toBe(6n); // rolls
    await s.whenSyncIdle();
    expect(failures).toBe(1);
    expect(warns.some((w) => /fsync failed|cannot write the indexes/.test(`${w.msg} ${JSON.stringify(w.obj)}`))).toBe(true);
    expect(p.append([batchOf(2, 500)]).baseOffset).toBe(8n);
    await p.whenWritten();
    expect(offsets(p.read(0n, 1 << 20, true).chunks)).toEqual([0n, 2n, 4n, 6n, 8n]);
    vi.restoreAllMocks();
    p.flush(); // retries the sealed segment's index files
    expect(fs.existsSync(path.join(dir, 't-0', `${SEG0}.index`))).toBe(true);

    // kill -9: the rolled segment's index files are whole, the active one is recovered from its log.
    const again = captureLogger();
    const q = open(dir, { logConfig: cfg, logger: again.logger }).partition('t', 0)!;
    expect(again.warns).toEqual([]);
    expect(q.logEndOffset).toBe(10n);
    expect(offsets(q.read(0n, 1 << 20, true).chunks)).toEqual([0n, 2n, 4n, 6n, 8n]);
    expect(q.offsetForTimestamp(301n)?.offset).toBe(5n);
    expect(q.offsetForTimestamp(401n)?.offset).toBe(7n);
  });

  it('kill -9 before a sealed segment got its index files: they are rebuilt at the next open', async () => {
    const dir = tmpDir();
    const size = batchOf(2).length;
    const cfg = { indexIntervalBytes: 1, segmentBytes: size * 3 };
    const s = open(dir, { logConfig: cfg });
    s.createTopic(topicMeta('t'));
    const p = s.partition('t', 0)!;
    vi.spyOn(fs.promises, 'rename').mockImplementation(async () => {
      throw errno('EIO', 'rename');
    });
    p.append([batchOf(2, 100), batchOf(2, 200), batchOf(2, 300), batchOf(2, 400)]);
    await p.whenWritten();
    await s.whenSyncIdle();
    vi.restoreAllMocks();
    expect(fs.existsSync(path.join(dir, 't-0', `${SEG0}.index`))).toBe(false);
    const { warns, logger } = captureLogger();
    const q = open(dir, { logConfig: cfg, logger }).partition('t', 0)!;
    expect(warns.map((w) => w.msg)).toEqual(['rebuilt indexes of log segment']);
    expect(offsets(q.read(0n, 1 << 20, true).chunks)).toEqual([0n, 2n, 4n, 6n]);
    expect(q.offsetForTimestamp(301n)?.offset).toBe(5n);
  });

  it('a segment roll that cannot open files (EMFILE) keeps the active segment; appends work once descriptors are free', () => {
    const dir = tmpDir();
    const size = batchOf(2).length;
    const s = open(dir, { logConfig: { segmentBytes: size * 2 } });
    s.createTopic(topicMeta('t'));
    const p = s.partition('t', 0)!;
    p.append([batchOf(2), batchOf(2)]);
    // The third batch needs a new segment at offset 4.
    fault('openSync', (args) => String(args[0]).includes('00000000000000000004.'), 'EMFILE');
    expect(storageCode(() => p.append([batchOf(2)]))).toBe('STORAGE_ERROR');
    vi.restoreAllMocks();
    expect(p.logEndOffset).toBe(4n);
    expect(fs.readdirSync(path.join(dir, 't-0')).filter((f) => f.startsWith('00000000000000000004'))).toEqual([]);
    expect(p.append([batchOf(2)]).baseOffset).toBe(4n);
    expect(p.append([batchOf(2)]).baseOffset).toBe(6n);
    expect(offsets(p.read(0n, 1 << 20, true).chunks)).toEqual([0n, 2n, 4n, 6n]);
    s.close();
    expect(offsets(open(dir).partition('t', 0)!.read(0n, 1 << 20, true).chunks)).toEqual([0n, 2n, 4n, 6n]);
  });
});

describe('storage errors stay with the partition they hit (issue 8)', () => {
  it.skipIf(!HAS_PROC_FD)('ENOSPC on one partition fails its appends only, reads go on, and it works again once space is freed', async () => {
    const dir = tmpDir();
    const s = open(dir);
    s.createTopic(topicMeta('full'));
    s.createTopic(topicMeta('other'));
    const full = s.partition('full', 0)!;
    const other = s.partition('other', 0)!;
    full.append([batchOf(2)]);
    await full.whenWritten();
    const inFull = (fd: unknown) => fdPath(fd).includes(`${path.sep}full-0${path.sep}`);
    const real = fs.writev as (...a: unknown[]) => void;
    vi.spyOn(fs, 'writev').mockImplementation(((fd: number, bufs: Buffer[], pos: number, cb: (e: Error | null, n: number) => void) => {
      if (inFull(fd)) return setImmediate(() => cb(errno('ENOSPC', 'writev'), 0));
      return real.call(fs, fd, bufs, pos, cb);
    }) as never);
    fault('writeSync', (args) => inFull(args[0]));
    full.append([batchOf(1)]);
    await expect(full.whenWritten()).rejects.toThrow(/ENOSPC/);
    for (let i = 0; i < 3; i++) expect(storageCode(() => full.append([batchOf(1)]))).toBe('STORAGE_ERROR');
    expect(other.append([batchOf(3)]).baseOffset).toBe(0n);
    await other.whenWritten();
    expect(offsets(other.read(0n, 1 << 20, true, other.writtenEndOffset).chunks)).toEqual([0n]);
    expect(offsets(full.read(0n, 1 << 20, true, full.writtenEndOffset).chunks)).toEqual([0n]);
    vi.restoreAllMocks();
    full.flush(); // retries now (an append, or a timer after a second, would too)
    expect(full.append([batchOf(1)]).baseOffset).toBe(3n);
    await full.whenWritten();
    expect(offsets(full.read(0n, 1 << 20, true, full.writtenEndOffset).chunks)).toEqual([0n, 2n, 3n]);
  });

  it('createTopic at the open-file limit leaves no partition directory behind', () => {
    const dir = tmpDir();
    const s = open(dir);
    fault('openSync', (args) => String(args[0]).includes(`${path.sep}many-2${path.sep}`), 'EMFILE');
    expect(storageCode(() => s.createTopic(topicMeta('many', 4)))).toBe('STORAGE_ERROR');
    vi.restoreAllMocks();
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('many'))).toEqual([]);
    expect(s.getTopic('many')).toBeUndefined();
    s.createTopic(topicMeta('many', 4));
    expect(s.partition('many', 3)!.append([batchOf(1)]).baseOffset).toBe(0n);
  });

  it('createPartitions at the open-file limit leaves the topic as it was', () => {
    const dir = tmpDir();
    const s = open(dir);
    s.createTopic(topicMeta('grow', 1));
    fault('openSync', (args) => String(args[0]).includes(`${path.sep}grow-2${path.sep}`), 'EMFILE');
    expect(storageCode(() => s.createPartitions('grow', 3))).toBe('STORAGE_ERROR');
    vi.restoreAllMocks();
    expect(s.getTopic('grow')!.numPartitions).toBe(1);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('grow')).sort()).toEqual(['grow-0']);
    s.createPartitions('grow', 3);
    expect(s.partition('grow', 2)).toBeDefined();
  });
});

describe('data that no topic owns is kept aside, never deleted (issue 8: lost metadata files)', () => {
  function seed(dir: string, name = 't', partitions = 1): Buffer[] {
    const s = open(dir);
    s.createTopic(topicMeta(name, partitions));
    for (let p = 0; p < partitions; p++) s.partition(name, p)!.append([batchOf(2), batchOf(3)]);
    s.close();
    return Array.from({ length: partitions }, (_, p) => fs.readFileSync(path.join(dir, `${name}-${p}`, `${SEG0}.log`)));
  }

  const strayDirs = (dir: string) => fs.readdirSync(dir).filter((f) => /-\d+\.[0-9a-f]{32}-stray$/.test(f));

  it('a lost partition.metadata: the directory is placed by its name and keeps its data', () => {
    const dir = tmpDir();
    seed(dir);
    const file = path.join(dir, 't-0', 'partition.metadata');
    const before = fs.readFileSync(file, 'utf8');
    fs.rmSync(file);
    const { warns, logger } = captureLogger();
    const p = open(dir, { logger }).partition('t', 0)!;
    expect(p.logEndOffset).toBe(5n);
    expect(offsets(p.read(0n, 1 << 20, true).chunks)).toEqual([0n, 2n]);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(warns.map((w) => w.msg)).toEqual([expect.stringMatching(/partition\.metadata was missing/)]);
    expect(strayDirs(dir)).toEqual([]);
  });

  it('a lost topic file: the partitions are moved aside as stray directories with their data, and logged', () => {
    const dir = tmpDir();
    const [data0, data1] = seed(dir, 't', 2);
    fs.rmSync(path.join(dir, '__brook_topics', 't.json'));
    const { warns, logger } = captureLogger();
    const s = open(dir, { logger });
    expect(s.getTopic('t')).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 't-0'))).toBe(false);
    const stray = strayDirs(dir).sort();
    expect(stray.length).toBe(2);
    const kept = stray.map((d) => fs.readFileSync(path.join(dir, d, `${SEG0}.log`)));
    expect(kept).toEqual(expect.arrayContaining([data0, data1]));
    expect(warns.filter((w) => /moved aside/.test(w.msg)).length).toBe(2);
    expect(warns.some((w) => /stray partition directories/.test(w.msg) && JSON.stringify(w.obj).includes(stray[0]!))).toBe(true);
    // A new topic of the same name starts empty next to them; they stay across restarts.
    s.createTopic(topicMeta('t', 1));
    expect(s.partition('t', 0)!.logEndOffset).toBe(0n);
    s.close();
    const again = captureLogger();
    open(dir, { logger: again.logger });
    expect(strayDirs(dir).sort()).toEqual(stray);
    expect(again.warns.map((w) => w.msg)).toEqual([expect.stringMatching(/stray partition directories/)]);
  });

  it('a directory of another topic id (an older topic of the same name) is moved aside, not deleted', () => {
    const dir = tmpDir();
    const [data] = seed(dir);
    const file = path.join(dir, '__brook_topics', 't.json');
    const stored = JSON.parse(fs.readFileSync(file, 'utf8'));
    stored.topicId = topicMeta('unused').topicId;
    fs.writeFileSync(file, JSON.stringify(stored));
    const s = open(dir, { logger: captureLogger().logger });
    expect(s.partition('t', 0)!.logEndOffset).toBe(0n);
    const [stray] = strayDirs(dir);
    expect(fs.readFileSync(path.join(dir, stray!, `${SEG0}.log`))).toEqual(data);
  });

  it('empty leftovers of an interrupted create are removed', () => {
    const dir = tmpDir();
    const s = open(dir);
    s.createTopic(topicMeta('half', 2));
    s.close();
    fs.rmSync(path.join(dir, '__brook_topics', 'half.json'));
    open(dir, { logger: captureLogger().logger });
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('half'))).toEqual([]);
  });

  it('deleteTopic removes everything; a deletion interrupted after its first rename is finished at open', () => {
    const dir = tmpDir();
    seed(dir, 'gone', 2);
    const s = open(dir);
    s.deleteTopic('gone');
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('gone'))).toEqual([]);
    s.close();

    // A crash after the first partition directory was renamed: the topic file is still there.
    seed(dir, 'gone', 2);
    fs.renameSync(path.join(dir, 'gone-0'), path.join(dir, `gone-0.${'ab'.repeat(16)}-delete`));
    const { warns, logger } = captureLogger();
    const q = open(dir, { logger });
    expect(q.getTopic('gone')).toBeUndefined();
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('gone'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, '__brook_topics', 'gone.json'))).toBe(false);
    expect(warns.map((w) => w.msg)).toEqual([expect.stringMatching(/finished the deletion/)]);
  });

  it('a lost meta.properties next to data refuses to open instead of making a new cluster id', () => {
    const dir = tmpDir();
    const s = open(dir, { clusterId: 'AAAAAAAAAAAAAAAAAAAAAA' });
    s.createTopic(topicMeta('t'));
    s.close();
    fs.rmSync(path.join(dir, 'meta.properties'));
    expect(() => open(dir)).toThrow(/meta\.properties is missing but .* holds data/);
    expect(fs.existsSync(path.join(dir, 'meta.properties'))).toBe(false);
    // The lock was released: naming the cluster id restores it.
    const r = open(dir, { clusterId: 'AAAAAAAAAAAAAAAAAAAAAA' });
    expect(r.clusterId).toBe('AAAAAAAAAAAAAAAAAAAAAA');
    expect(r.getTopic('t')).toBeDefined();
    r.close();
    expect(open(dir).clusterId).toBe('AAAAAAAAAAAAAAAAAAAAAA');
  });
});

describe('damaged segments are detected, never skipped (issue 8)', () => {
  const size = batchOf(2).length;
  const cfg = { segmentBytes: size * 4, indexIntervalBytes: 1 };

  /** Three segments of four 2-record batches each (offsets 0-23); closed cleanly. */
  function seed(dir: string): void {
    const s = open(dir, { logConfig: cfg });
    s.createTopic(topicMeta('d'));
    const p = s.partition('d', 0)!;
    for (let i = 0; i < 12; i++) p.append([batchOf(2, 1000 + 10 * i)]);
    s.close();
  }

  function readCode(fn: () => unknown): string | undefined {
    try {
      fn();
    } catch (err) {
      return (err as LogStoreError).code;
    }
    return undefined;
  }

  it('a corrupt batch header in an older segment is CORRUPT_MESSAGE where it is reached; the rest stays readable', () => {
    const dir = tmpDir();
    seed(dir);
    const file = path.join(dir, 'd-0', `${SEG0}.log`);
    const bytes = fs.readFileSync(file);
    bytes[size + MAGIC_OFFSET] = 7; // the second batch (offsets 2-3)
    fs.writeFileSync(file, bytes);
    const p = open(dir, { logConfig: cfg }).partition('d', 0)!;
    expect(p.logEndOffset).toBe(24n);
    // Before the damage: what precedes it.
    expect(offsets(p.read(0n, 1 << 20, true).chunks)).toEqual([0n]);
    // At the damage: an error, not the next segment's data (offset 8) as before.
    expect(readCode(() => p.read(2n, 1 << 20, true))).toBe('CORRUPT_MESSAGE');
    expect(readCode(() => p.read(3n, 1 << 20, true))).toBe('CORRUPT_MESSAGE');
    // After it: the offset index still leads to the intact batches.
    expect(offsets(p.read(4n, 1 << 20, true).chunks)).toEqual([4n, 6n, 8n, 10n, 12n, 14n, 16n, 18n, 20n, 22n]);
    expect(offsets(p.read(8n, 1 << 20, true).chunks)[0]).toBe(8n);
    expect(p.offsetForTimestamp(1031n)?.offset).toBe(7n);
  });

  it('garbage after the last batch of an older segment is CORRUPT_MESSAGE for offsets behind it', () => {
    const dir = tmpDir();
    seed(dir);
    const file = path.join(dir, 'd-0', `${SEG0}.log`);
    const bytes = fs.readFileSync(file);
    bytes.fill(0, size * 3); // the last batch of the segment zeroed (offsets 6-7)
    fs.writeFileSync(file, bytes);
    const p = open(dir, { logConfig: cfg }).partition('d', 0)!;
    expect(readCode(() => p.read(6n, 1 << 20, true))).toBe('CORRUPT_MESSAGE');
    expect(offsets(p.read(0n, 1 << 20, true).chunks)).toEqual([0n, 2n, 4n]);
  });

  it('compaction stops at a damaged batch instead of rewriting the segment without what follows it', () => {
    const dir = tmpDir();
    seed(dir);
    const file = path.join(dir, 'd-0', `${SEG0}.log`);
    const bytes = fs.readFileSync(file);
    bytes[size + MAGIC_OFFSET] = 7;
    fs.writeFileSync(file, bytes);
    const s = open(dir, { logConfig: cfg });
    s.setTopicConfigs('d', { 'cleanup.policy': 'compact' });
    const p = s.partition('d', 0)!;
    expect(readCode(() => p.compact(Date.now(), { ...DEFAULT_COMPACTION_CONFIG, minCleanableDirtyRatio: 0 }))).toBe('CORRUPT_MESSAGE');
    expect(fs.readFileSync(file)).toEqual(bytes);
    expect(offsets(p.read(4n, 1 << 20, true).chunks)[0]).toBe(4n);
  });

  it('an .index entry pointing inside a batch is detected, the index rebuilt and logged, and reads are right', () => {
    const dir = tmpDir();
    seed(dir);
    const idx = path.join(dir, 'd-0', `${SEG0}.index`);
    const good = fs.readFileSync(idx);
    const bad = Buffer.from(good);
    bad.writeInt32BE(size * 2 + 7, 8 + 4); // entry 1 (offset 5) now points 7 bytes into batch 2
    fs.writeFileSync(idx, bad);
    const { warns, logger } = captureLogger();
    const p = open(dir, { logConfig: cfg, logger }).partition('d', 0)!;
    expect(offsets(p.read(4n, 1 << 20, true).chunks).slice(0, 3)).toEqual([4n, 6n, 8n]);
    expect(offsets(p.read(5n, 1 << 20, true).chunks)[0]).toBe(4n);
    expect(warns.map((w) => w.msg)).toEqual(['rebuilt indexes of log segment']);
    expect(fs.readFileSync(idx)).toEqual(good);
  });

  it('an .index entry pointing outside the log is found when the segment loads and the index rebuilt', () => {
    const dir = tmpDir();
    seed(dir);
    const idx = path.join(dir, 'd-0', `${SEG0}.index`);
    const good = fs.readFileSync(idx);
    const bad = Buffer.from(good);
    bad.writeInt32BE(0x7ffffff0, 8 + 4); // a middle entry far past the end (only the last is checked at open)
    fs.writeFileSync(idx, bad);
    const { warns, logger } = captureLogger();
    const p = open(dir, { logConfig: cfg, logger }).partition('d', 0)!;
    expect(warns).toEqual([]);
    expect(offsets(p.read(5n, 1 << 20, true).chunks).slice(0, 2)).toEqual([4n, 6n]);
    expect(warns.map((w) => w.msg)).toEqual(['rebuilt indexes of log segment']);
    expect(JSON.stringify(warns[0]!.obj)).toMatch(/outside the log/);
    expect(fs.readFileSync(idx)).toEqual(good);
  });
});

describe('recovery only after an unclean shutdown (issue 8: clean-shutdown marker)', () => {
  function seed(dir: string, clean: boolean): { file: string; sizes: number[] } {
    const s = open(dir);
    s.createTopic(topicMeta('r'));
    const batches = [batchOf(3), batchOf(2), batchOf(4)];
    s.partition('r', 0)!.append(batches);
    if (clean) s.close();
    else s.flush(); // then abandoned, as by kill -9
    return { file: path.join(dir, 'r-0', `${SEG0}.log`), sizes: batches.map((b) => b.length) };
  }

  it('writes .kafka_cleanshutdown at a clean close and removes it at open', () => {
    const dir = tmpDir();
    const s = open(dir);
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false);
    s.close();
    expect(CLEAN_SHUTDOWN_FILE).toBe('.kafka_cleanshutdown');
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(true);
    open(dir);
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false);
  });

  it('after a clean shutdown a flipped bit in the active segment cuts nothing', () => {
    const dir = tmpDir();
    const { file, sizes } = seed(dir, true);
    const bytes = fs.readFileSync(file);
    bytes[sizes[0]! + sizes[1]! - 3]! ^= 0x10; // a record byte of the middle batch
    fs.writeFileSync(file, bytes);
    const { warns, logger } = captureLogger();
    const p = open(dir, { logger }).partition('r', 0)!;
    expect(warns).toEqual([]);
    expect(p.logEndOffset).toBe(9n);
    expect(offsets(p.read(0n, 1 << 20, true).chunks)).toEqual([0n, 3n, 5n]);
    expect(fs.statSync(file).size).toBe(bytes.length);
  });

  it('after an unclean shutdown the tail is cut at the first bad batch and the warning says which offsets and bytes went', () => {
    const dir = tmpDir();
    const { file, sizes } = seed(dir, false);
    const bytes = fs.readFileSync(file);
    bytes[sizes[0]! + sizes[1]! - 3]! ^= 0x10;
    fs.writeFileSync(file, bytes);
    const { warns, logger } = captureLogger();
    const p = open(dir, { logger }).partition('r', 0)!;
    expect(p.logEndOffset).toBe(3n);
    expect(fs.statSync(file).size).toBe(sizes[0]);
    expect(warns.length).toBe(1);
    expect(warns[0]!.msg).toBe(`truncated corrupt or incomplete tail of log segment: ${sizes[1]! + sizes[2]!} bytes, offsets 3-8 (2 batches, 6 records)`);
    expect(warns[0]!.obj).toMatchObject({ fromOffset: 3n, toOffset: 8n, batches: 2, records: 6, truncatedBytes: sizes[1]! + sizes[2]!, cleanShutdown: false });
    expect(JSON.stringify(warns[0]!.obj, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).toMatch(/CRC mismatch/);
  });

  it('after a clean shutdown a torn tail (the marker lied) is still cut', () => {
    const dir = tmpDir();
    const { file, sizes } = seed(dir, true);
    fs.truncateSync(file, sizes[0]! + sizes[1]! + 10);
    const { warns, logger } = captureLogger();
    const p = open(dir, { logger }).partition('r', 0)!;
    expect(p.logEndOffset).toBe(5n);
    expect(warns.length).toBe(1);
    expect(warns[0]!.obj).toMatchObject({ cleanShutdown: true, truncatedBytes: 10 });
  });
});
