// Durable LogStore in a Kafka-like directory layout:
//
//   <dir>/meta.properties                    cluster.id, node.id, version
//   <dir>/__brook_topics/<topic>.json        topic metadata (written atomically)
//   <dir>/<topic>-<partition>/
//       00000000000000000000.log             stored batches back to back
//       00000000000000000000.index           sparse offset index    (the active segment's: written
//       00000000000000000000.timeindex       sparse time index       when it is rolled or closed)
//       partition.metadata                   topic id of the owning topic
//       leader-epoch-checkpoint              epoch history ("0", count, "epoch startOffset" lines)
//       log-start-offset-checkpoint          after DeleteRecords: "0", "1", "topic partition offset"
//
// A topic exists iff its JSON file exists. Creation writes partition directories first and the
// JSON last. Deletion first renames the partition directories to `<topic>-<p>.<uuid>-delete`
// (from the first rename on the deletion is decided: an interrupted one is finished at open), then
// removes the JSON, then the directories. At open, a partition directory that belongs to no topic,
// to a partition beyond the topic's count, or to another topic id is removed if it holds no data
// (a crashed create) and otherwise moved aside as `<topic>-<p>.<uuid>-stray` and logged, never
// deleted (Kafka's stray logs); one whose partition.metadata is lost is placed by its name.
// A lost meta.properties next to existing data stops the store from opening (Kafka refuses an
// unformatted log dir too) rather than inventing a new cluster id.
//
// `.kafka_cleanshutdown` (Kafka's name) is written when the store closes cleanly and removed when
// it opens: without it the active segments are CRC-checked and cut at the first bad batch.

import fs from 'node:fs';
import path from 'node:path';
import { randomUuid } from '../../protocol/primitives/uuid.js';
import { effectiveLogConfig, LogStoreError, TopicCatalog, validateTopicName, type CatalogEntry } from './common.js';
import { lockDataDir } from './dir-lock.js';
import { FilePartitionLog, PARTITION_METADATA_FILE, readPartitionTopicId } from './file-partition.js';
import { fsyncDir, removeTempFiles, writeFileAtomic } from './fs-util.js';
import { SEGMENT_LOG_FILE, SegmentCache, storageError } from './segment.js';
import { DELETE_DIR, DELETE_SUFFIX, STRAY_DIR, holdsData, moveAside, suffixedDirName } from './stray.js';
import type { LogConfig, LogStore, PartitionLog, StoreOptions, TopicMetadata } from './types.js';

export const META_PROPERTIES = 'meta.properties';
export const TOPICS_DIR = '__brook_topics';
/** Kafka's LogLoader.CleanShutdownFile: present only between a clean close and the next open. */
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';

export interface FileStoreOptions extends StoreOptions {
  /** Cluster id to write on first open; if the directory already has one it must match. */
  clusterId?: string;
  /** node.id to write on first open (default 1); if the directory already has one it must match. */
  nodeId?: number;
  /**
   * Most segment files open at once, active and inactive segments together (one fd each).
   * Default: half the process's open-file limit (the rest is for sockets and other files), or
   * 1024 where the limit is unknown. Inactive segments loaded at once (fd + indexes in memory) are
   * further capped at 128.
   */
  maxOpenSegments?: number;
  /** The process's soft open-file limit (tests); default: "Max open files" in /proc/self/limits. */
  openFileLimit?: number;
}

/** Descriptors to leave for sockets, the directory lock, snapshots and the runtime. */
export const FD_MARGIN = 256;

/** The soft limit on the "Max open files" line of /proc/<pid>/limits, undefined if unlimited or absent. */
export function parseOpenFileLimit(limitsText: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limitsText);
  return m === null || m[1] === 'unlimited' ? undefined : Number(m[1]);
}

function readOpenFileLimit(): number | undefined {
  try {
    return parseOpenFileLimit(fs.readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined; // not Linux
  }
}

/** Default segment-file budget for an open-file limit: half of it, at least 16. */
export function defaultMaxOpenSegments(openFileLimit: number | undefined): number {
  return openFileLimit === undefined ? 1024 : Math.max(16, Math.floor(openFileLimit / 2));
}

export interface FileLogStore extends LogStore {
  readonly dir: string;
  readonly nodeId: number;
}

type FileTopic = CatalogEntry<FilePartitionLog>;

interface StoredTopic {
  version: 1;
  name: string;
  topicId: string;
  numPartitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

/**
 * true if `dir` holds something a Brook store wrote besides meta.properties: topic files, partition
 * directories (stray and being deleted included) or the producer id block.
 */
function holdsStoreData(dir: string): boolean {
  const topicsDir = path.join(dir, TOPICS_DIR);
  if (fs.existsSync(topicsDir) && fs.readdirSync(topicsDir).some((f) => f.endsWith('.json'))) return true;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== TOPICS_DIR && /-\d+(\.[0-9a-f]{32}-(stray|delete))?$/.test(entry.name)) {
      const names = fs.readdirSync(path.join(dir, entry.name));
      if (names.some((n) => n === PARTITION_METADATA_FILE || SEGMENT_LOG_FILE.test(n))) return true;
    }
    if (entry.isFile() && entry.name === 'producer-id-block') return true;
  }
  return false;
}

function readMetaProperties(dir: string, opts: FileStoreOptions): { clusterId: string; nodeId: number } {
  const file = path.join(dir, META_PROPERTIES);
  if (!fs.existsSync(file)) {
    // Kafka refuses a log dir without meta.properties ("have you run kafka-storage.sh to format
    // the directory?"). Brook formats an empty directory by itself, but a new cluster id next to
    // old data would silently make a different cluster of it (clients, offsets, ids): refuse,
    // unless the caller names the cluster id to restore.
    if (opts.clusterId === undefined && holdsStoreData(dir)) {
      throw new LogStoreError(
        'STORAGE_ERROR',
        `${file} is missing but ${dir} holds data: refusing to start with a new cluster id. Restore the file ` +
          `(lines "version=1", "cluster.id=<the cluster id in the broker's earlier startup lines>", "node.id=<node id>"), ` +
          `or move the data away to start a new cluster there`,
      );
    }
    const clusterId = opts.clusterId ?? randomUuid();
    const nodeId = opts.nodeId ?? 1;
    writeFileAtomic(file, `#Written by Brook\nversion=1\ncluster.id=${clusterId}\nnode.id=${nodeId}\n`);
    return { clusterId, nodeId };
  }
  const props = parseProperties(fs.readFileSync(file, 'utf8'));
  const clusterId = props.get('cluster.id');
  const nodeIdText = props.get('node.id');
  if (clusterId === undefined || clusterId === '') throw new LogStoreError('STORAGE_ERROR', `${file} has no cluster.id`);
  const nodeId = nodeIdText === undefined ? opts.nodeId ?? 1 : Number(nodeIdText);
  if (!Number.isInteger(nodeId)) throw new LogStoreError('STORAGE_ERROR', `${file} has an invalid node.id`);
  if (opts.clusterId !== undefined && opts.clusterId !== clusterId) {
    throw new LogStoreError('STORAGE_ERROR', `${dir} belongs to cluster ${clusterId}, not ${opts.clusterId}`);
  }
  if (opts.nodeId !== undefined && opts.nodeId !== nodeId) {
    throw new LogStoreError('STORAGE_ERROR', `${dir} belongs to node ${nodeId}, not ${opts.nodeId}`);
  }
  return { clusterId, nodeId };
}

function parseStoredTopic(file: string, text: string): TopicMetadata {
  let v: Partial<StoredTopic>;
  try {
    v = JSON.parse(text) as Partial<StoredTopic>;
  } catch (err) {
    throw new LogStoreError('STORAGE_ERROR', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (
    typeof v.name !== 'string' ||
    typeof v.topicId !== 'string' ||
    !Number.isInteger(v.numPartitions) ||
    !Number.isInteger(v.replicationFactor) ||
    typeof v.configs !== 'object' ||
    v.configs === null
  ) {
    throw new LogStoreError('STORAGE_ERROR', `${file} is not a Brook topic file`);
  }
  return {
    name: v.name,
    topicId: v.topicId,
    numPartitions: v.numPartitions!,
    replicationFactor: v.replicationFactor!,
    configs: { ...v.configs },
  };
}

class FileStore implements FileLogStore {
  readonly durable = true;
  readonly clusterId: string;
  readonly nodeId: number;
  private readonly topics = new TopicCatalog<FilePartitionLog>();
  private readonly topicsDir: string;
  private readonly cache: SegmentCache;
  private readonly now: () => number;
  private closed = false;
  private readonly unlock: () => void;
  /** The last close was clean (the marker was there at open): no CRC recovery while loading. */
  private cleanShutdown = false;

  constructor(
    readonly dir: string,
    private readonly opts: FileStoreOptions,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.unlock = lockDataDir(dir, {
      onLost: (reason) => opts.logger?.warn({ dir }, reason),
      onWait: (message) => opts.logger?.info({ dir }, message),
    });
    this.topicsDir = path.join(dir, TOPICS_DIR);
    const openFileLimit = opts.openFileLimit ?? readOpenFileLimit();
    this.cache = new SegmentCache(opts.maxOpenSegments ?? defaultMaxOpenSegments(openFileLimit), (seg, reason) =>
      opts.logger?.warn({ segment: seg.logPath, reason }, 'rebuilt indexes of log segment'),
    );
    this.now = opts.now ?? Date.now;
    try {
      const meta = readMetaProperties(dir, opts);
      this.clusterId = meta.clusterId;
      this.nodeId = meta.nodeId;
      fs.mkdirSync(this.topicsDir, { recursive: true });
      removeTempFiles(this.topicsDir);
      removeTempFiles(dir);
      const marker = path.join(dir, CLEAN_SHUTDOWN_FILE);
      this.cleanShutdown = fs.existsSync(marker);
      this.loadTopics();
      // Kafka too deletes the marker once the logs are loaded, before anything is appended.
      this.cleanShutdown = false;
      fs.rmSync(marker, { force: true });
      fsyncDir(dir);
    } catch (err) {
      this.release();
      this.unlock();
      throw err;
    }
    let partitions = 0;
    for (const t of this.topics.entries()) partitions += t.partitions.length;
    const maxOpenSegments = this.cache.maxOpen;
    opts.logger?.info({ dir, clusterId: this.clusterId, topics: this.topics.size, partitions, maxOpenSegments, openFileLimit }, 'opened log store');
    // Every partition's active segment wants one fd; beyond the budget the cache keeps cycling them.
    if (openFileLimit !== undefined && (partitions + FD_MARGIN > openFileLimit || (opts.maxOpenSegments === undefined && partitions > maxOpenSegments))) {
      const wanted = Math.max(2 * partitions, partitions + FD_MARGIN);
      opts.logger?.warn(
        { dir, openFileLimit, partitions, maxOpenSegments },
        `open-file limit ${openFileLimit} is low for ${partitions} partitions: at most ${maxOpenSegments} segment files stay open, ` +
          `the least recently used are closed and reopened on their next produce or fetch; raise the limit (ulimit -n) to ${wanted} or more to keep them open`,
      );
    }
  }

  private get ctx() {
    return { cache: this.cache, now: this.now, logger: this.opts.logger, cleanShutdown: this.cleanShutdown };
  }

  /** Releases the fds of every partition opened so far (a failed open). */
  private release(): void {
    for (const t of this.topics.entries()) {
      for (const p of t.partitions) {
        try {
          p.markDeleted();
        } catch {
          // already failing
        }
      }
    }
  }

  private topicFile(name: string): string {
    return path.join(this.topicsDir, `${name}.json`);
  }

  private partitionDir(name: string, partition: number): string {
    return path.join(this.dir, `${name}-${partition}`);
  }

  private loadTopics(): void {
    for (const file of fs.readdirSync(this.topicsDir)) {
      if (!file.endsWith('.json')) continue;
      const full = path.join(this.topicsDir, file);
      const meta = parseStoredTopic(full, fs.readFileSync(full, 'utf8'));
      if (`${meta.name}.json` !== file) throw new LogStoreError('STORAGE_ERROR', `${full} describes topic ${meta.name}`);
      this.topics.add(meta, []);
    }

    this.finishInterruptedDeletes();
    this.placePartitionDirs();

    for (const t of this.topics.entries()) {
      const cfg = effectiveLogConfig(this.opts.logConfig, t.meta.configs);
      for (let p = 0; p < t.meta.numPartitions; p++) {
        const pdir = this.partitionDir(t.meta.name, p);
        if (fs.existsSync(pdir)) {
          t.partitions.push(FilePartitionLog.open(this.ctx, pdir, t.meta.name, p, cfg));
        } else {
          this.opts.logger?.warn({ dir: pdir }, 'partition directory missing; starting it empty');
          t.partitions.push(FilePartitionLog.create(this.ctx, pdir, t.meta.name, p, t.meta.topicId, cfg));
        }
      }
    }
  }

  // ---- directories the store cannot place (issue 8, robust storage) ----

  /**
   * `-delete` directories are partitions of a topic whose deletion had begun. If the topic file
   * still names that topic id the process died before removing it: the deletion is finished
   * (topic file first, then the topic's directories, renamed or not).
   */
  private finishInterruptedDeletes(): void {
    const doomed: string[] = [];
    const ids = new Set<string>();
    for (const entry of fs.readdirSync(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !DELETE_DIR.test(entry.name)) continue;
      const full = path.join(this.dir, entry.name);
      const id = readPartitionTopicId(full);
      if (id !== undefined) ids.add(id);
      doomed.push(full);
    }
    for (const t of [...this.topics.entries()]) {
      if (!ids.has(t.meta.topicId)) continue;
      fs.rmSync(this.topicFile(t.meta.name), { force: true });
      fsyncDir(this.topicsDir);
      this.topics.remove(t.meta.name);
      for (let p = 0; p < t.meta.numPartitions; p++) {
        const pdir = this.partitionDir(t.meta.name, p);
        if (readPartitionTopicId(pdir) === t.meta.topicId) doomed.push(pdir);
      }
      this.opts.logger?.warn({ topic: t.meta.name, topicId: t.meta.topicId }, 'finished the deletion of a topic interrupted by a crash');
    }
    for (const d of doomed) fs.rmSync(d, { recursive: true, force: true });
    if (doomed.length > 0) fsyncDir(this.dir);
  }

  /**
   * Partition directories whose topic cannot be found: a crashed create leaves empty ones (removed);
   * any with data (a lost or foreign topic file, another topic id) is moved aside as
   * `<name>-<p>.<uuid>-stray` and logged, never deleted. A directory whose partition.metadata is
   * lost is placed by its name: Brook writes that file before the directory can hold data, so a
   * matching name and partition number are the topic's own (the file is written again).
   */
  private placePartitionDirs(): void {
    const stray: string[] = [];
    for (const entry of fs.readdirSync(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === TOPICS_DIR) continue;
      if (STRAY_DIR.test(entry.name)) {
        stray.push(entry.name);
        continue;
      }
      const m = /^(.+)-(\d+)$/.exec(entry.name);
      if (m === null) continue;
      try {
        validateTopicName(m[1]!);
      } catch {
        continue; // not something this store created
      }
      const topic = this.topics.get(m[1]!);
      const partition = Number(m[2]);
      const full = path.join(this.dir, entry.name);
      const ownerId = readPartitionTopicId(full);
      if (topic !== undefined && partition < topic.meta.numPartitions) {
        if (ownerId === topic.meta.topicId) continue;
        if (ownerId === undefined) {
          writeFileAtomic(path.join(full, PARTITION_METADATA_FILE), `version: 0\ntopic_id: ${topic.meta.topicId}\n`);
          this.opts.logger?.warn({ dir: full, topicId: topic.meta.topicId }, 'partition.metadata was missing or unreadable; written again from the topic');
          continue;
        }
      }
      const why = topic === undefined ? 'no topic file names it' : ownerId !== topic.meta.topicId ? `it belongs to topic id ${ownerId}, not ${topic.meta.topicId}` : 'the topic has fewer partitions';
      if (!holdsData(full)) {
        this.opts.logger?.warn({ dir: full, topicId: ownerId, reason: why }, 'removed an empty partition directory that belongs to no current topic');
        fs.rmSync(full, { recursive: true, force: true });
        continue;
      }
      const to = moveAside(full, m[1]!, partition);
      stray.push(path.basename(to));
      this.opts.logger?.warn({ dir: full, movedTo: to, topicId: ownerId, reason: why }, 'moved aside a partition directory that belongs to no current topic (stray); its data is kept');
    }
    if (stray.length > 0) {
      this.opts.logger?.warn({ dir: this.dir, strayDirs: stray.sort() }, 'stray partition directories (data no topic owns) are kept; delete them when they are not needed');
    }
  }

  private writeTopic(meta: TopicMetadata): void {
    const stored: StoredTopic = {
      version: 1,
      name: meta.name,
      topicId: meta.topicId,
      numPartitions: meta.numPartitions,
      replicationFactor: meta.replicationFactor,
      configs: meta.configs,
    };
    writeFileAtomic(this.topicFile(meta.name), JSON.stringify(stored, null, 2) + '\n');
  }

  private checkOpen(): void {
    if (this.closed) throw new LogStoreError('STORAGE_ERROR', `log store ${this.dir} is closed`);
  }

  private mustGet(name: string): FileTopic {
    this.checkOpen();
    return this.topics.mustGet(name);
  }

  listTopics(): TopicMetadata[] {
    return this.topics.list();
  }

  getTopic(name: string): TopicMetadata | undefined {
    return this.topics.meta(name);
  }

  getTopicById(topicId: string): TopicMetadata | undefined {
    return this.topics.metaById(topicId);
  }

  createTopic(meta: TopicMetadata): void {
    this.checkOpen();
    const m = this.topics.checkNew(meta);
    const cfg = effectiveLogConfig(this.opts.logConfig, m.configs);
    const partitions: FilePartitionLog[] = [];
    try {
      for (let p = 0; p < m.numPartitions; p++) {
        partitions.push(FilePartitionLog.create(this.ctx, this.partitionDir(m.name, p), m.name, p, m.topicId, cfg));
      }
      this.writeTopic(m);
    } catch (err) {
      this.discardNewPartitions(partitions);
      throw storageError(`cannot create topic ${m.name}`, err);
    }
    this.topics.add(m, partitions);
  }

  /** Undoes the partitions of a failed create: fds released, directories (empty) removed. */
  private discardNewPartitions(partitions: readonly FilePartitionLog[]): void {
    for (const p of partitions) {
      p.markDeleted();
      try {
        fs.rmSync(p.dir, { recursive: true, force: true });
      } catch (err) {
        // Empty, so removed at the next open (or by the next create of the same name).
        this.opts.logger?.warn({ dir: p.dir, err: (err as Error).message }, 'could not remove the directory of a partition whose creation failed');
      }
    }
  }

  /**
   * Renames the partition directories to `-delete` names first: from the first rename on, the
   * deletion is decided (an open finishes it), so the topic file can go and the directories after
   * it without a crash ever leaving data that no topic owns. If not even one directory can be
   * renamed nothing changed (STORAGE_ERROR); failures after that are logged and left to the next
   * open to finish.
   */
  deleteTopic(name: string): void {
    const t = this.mustGet(name);
    const doomed: string[] = [];
    let failure: unknown;
    for (const p of t.partitions) {
      const to = path.join(this.dir, suffixedDirName(name, p.partition, DELETE_SUFFIX));
      try {
        fs.renameSync(p.dir, to);
        doomed.push(to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        if (doomed.length === 0) throw storageError(`cannot delete topic ${name}`, err);
        failure ??= err;
      }
    }
    fsyncDir(this.dir);
    this.topics.remove(name);
    for (const p of t.partitions) p.markDeleted();
    try {
      fs.rmSync(this.topicFile(name), { force: true });
      fsyncDir(this.topicsDir);
      for (const d of doomed) fs.rmSync(d, { recursive: true, force: true });
    } catch (err) {
      failure ??= err;
    }
    fsyncDir(this.dir);
    if (failure !== undefined) {
      this.opts.logger?.warn({ topic: name, err: (failure as Error).message }, 'topic deleted, but some of its files remain until the next start');
    }
  }

  createPartitions(name: string, total: number): void {
    const t = this.mustGet(name);
    if (!Number.isInteger(total) || total < t.meta.numPartitions) {
      throw new LogStoreError('INVALID_PARTITIONS', `topic ${name} has ${t.meta.numPartitions} partitions; cannot change to ${total}`);
    }
    if (total === t.meta.numPartitions) return;
    const cfg = effectiveLogConfig(this.opts.logConfig, t.meta.configs);
    const added: FilePartitionLog[] = [];
    try {
      for (let p = t.meta.numPartitions; p < total; p++) {
        added.push(FilePartitionLog.create(this.ctx, this.partitionDir(name, p), name, p, t.meta.topicId, cfg));
      }
      this.writeTopic({ ...t.meta, numPartitions: total });
    } catch (err) {
      this.discardNewPartitions(added);
      throw storageError(`cannot add partitions to topic ${name}`, err);
    }
    t.partitions.push(...added);
    t.meta.numPartitions = total;
  }

  setBrokerLogConfig(logConfig: LogConfig): void {
    this.opts.logConfig = logConfig;
    for (const t of this.topics.entries()) {
      const cfg = effectiveLogConfig(logConfig, t.meta.configs);
      for (const p of t.partitions) p.config = cfg;
    }
  }

  setTopicConfigs(name: string, configs: Record<string, string>): void {
    const t = this.mustGet(name);
    const next = { ...configs };
    this.writeTopic({ ...t.meta, configs: next });
    t.meta.configs = next;
    const cfg = effectiveLogConfig(this.opts.logConfig, next);
    for (const p of t.partitions) p.config = cfg;
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    if (this.closed) return undefined;
    return this.topics.get(topic)?.partitions[partition];
  }

  flush(): void {
    this.checkOpen();
    for (const t of this.topics.entries()) for (const p of t.partitions) p.flush();
  }

  async whenSyncIdle(): Promise<void> {
    const running: Array<Promise<void>> = [];
    for (const t of this.topics.entries()) for (const p of t.partitions) running.push(p.whenSyncIdle());
    await Promise.all(running);
  }

  /**
   * Closes every partition (flush, snapshot) and, if all of that worked, writes the clean-shutdown
   * marker; the directory lock goes last, so no other broker opens the directory while this one is
   * still writing.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let first: unknown;
    for (const t of this.topics.entries()) {
      for (const p of t.partitions) {
        try {
          p.close();
        } catch (err) {
          first ??= err;
        }
      }
    }
    if (first === undefined) {
      try {
        writeFileAtomic(path.join(this.dir, CLEAN_SHUTDOWN_FILE), '');
      } catch (err) {
        first = err;
      }
    }
    this.unlock();
    if (first !== undefined) throw first;
  }

  // ---- DescribeLogDirs (issue 8) ----

  get logDir(): string {
    return this.dir;
  }

  /** Kafka reports the volume's total and usable space (Java FileStore); statfs gives the same. */
  logDirSpace(): { totalBytes: bigint; usableBytes: bigint } {
    const st = fs.statfsSync(this.dir, { bigint: true });
    return { totalBytes: st.blocks * st.bsize, usableBytes: st.bavail * st.bsize };
  }
}

/**
 * Opens (creating if needed) a durable log store in `dir`. Recovers the last segment of every
 * partition; see the header comment for the layout.
 */
export function openFileStore(dir: string, opts: FileStoreOptions): FileLogStore {
  return new FileStore(path.resolve(dir), opts);
}
