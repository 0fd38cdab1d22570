// Durable LogStore in a Kafka-like directory layout:
//
//   <dir>/meta.properties                    cluster.id, node.id, version
//   <dir>/__brook_topics/<topic>.json        topic metadata (written atomically)
//   <dir>/<topic>-<partition>/
//       00000000000000000000.log             stored batches back to back
//       00000000000000000000.index           sparse offset index
//       00000000000000000000.timeindex       sparse time index
//       partition.metadata                   topic id of the owning topic
//       leader-epoch-checkpoint              epoch history ("0", count, "epoch startOffset" lines)
//       log-start-offset-checkpoint          after DeleteRecords: "0", "1", "topic partition offset"
//
// A topic exists iff its JSON file exists. Creation writes partition directories first and the
// JSON last; deletion removes the JSON first. Partition directories that belong to no topic, to a
// partition beyond the topic's count, or to an older topic with the same name (topic id differs)
// are removed at open, so a crash in the middle of either leaves no visible half-state.

import fs from 'node:fs';
import path from 'node:path';
import { randomUuid } from '../../protocol/primitives/uuid.js';
import { effectiveLogConfig, LogStoreError, TopicCatalog, validateTopicName, type CatalogEntry } from './common.js';
import { lockDataDir } from './dir-lock.js';
import { FilePartitionLog, readPartitionTopicId } from './file-partition.js';
import { fsyncDir, removeTempFiles, writeFileAtomic } from './fs-util.js';
import { SegmentCache } from './segment.js';
import type { LogStore, PartitionLog, StoreOptions, TopicMetadata } from './types.js';

export const META_PROPERTIES = 'meta.properties';
export const TOPICS_DIR = '__brook_topics';

export interface FileStoreOptions extends StoreOptions {
  /** Cluster id to write on first open; if the directory already has one it must match. */
  clusterId?: string;
  /** node.id to write on first open (default 1); if the directory already has one it must match. */
  nodeId?: number;
  /** Most inactive segments kept open (fd + loaded indexes) at once. Default 128. */
  maxOpenSegments?: number;
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

function readMetaProperties(dir: string, opts: FileStoreOptions): { clusterId: string; nodeId: number } {
  const file = path.join(dir, META_PROPERTIES);
  if (!fs.existsSync(file)) {
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

  constructor(
    readonly dir: string,
    private readonly opts: FileStoreOptions,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.unlock = lockDataDir(dir);
    const meta = readMetaProperties(dir, opts);
    this.clusterId = meta.clusterId;
    this.nodeId = meta.nodeId;
    this.topicsDir = path.join(dir, TOPICS_DIR);
    this.cache = new SegmentCache(opts.maxOpenSegments ?? 128);
    this.now = opts.now ?? Date.now;
    fs.mkdirSync(this.topicsDir, { recursive: true });
    removeTempFiles(this.topicsDir);
    removeTempFiles(dir);
    this.loadTopics();
    let partitions = 0;
    for (const t of this.topics.entries()) partitions += t.partitions.length;
    opts.logger?.info({ dir, clusterId: this.clusterId, topics: this.topics.size, partitions }, 'opened log store');
  }

  private get ctx() {
    return { cache: this.cache, now: this.now, logger: this.opts.logger };
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

    // Partition directories: keep those of live topics, drop leftovers of crashed creates/deletes.
    for (const entry of fs.readdirSync(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === TOPICS_DIR) continue;
      const m = /^(.+)-(\d+)$/.exec(entry.name);
      if (m === null) continue;
      const topic = this.topics.get(m[1]!);
      const partition = Number(m[2]);
      const full = path.join(this.dir, entry.name);
      const ownerId = readPartitionTopicId(full);
      if (topic !== undefined && partition < topic.meta.numPartitions && ownerId === topic.meta.topicId) continue;
      try {
        validateTopicName(m[1]!);
      } catch {
        continue; // not something this store created
      }
      this.opts.logger?.warn({ dir: full, topicId: ownerId }, 'removing partition directory that belongs to no current topic');
      fs.rmSync(full, { recursive: true, force: true });
    }

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
      for (const p of partitions) {
        p.markDeleted();
        fs.rmSync(p.dir, { recursive: true, force: true });
      }
      throw err;
    }
    this.topics.add(m, partitions);
  }

  deleteTopic(name: string): void {
    const t = this.mustGet(name);
    // The JSON goes first: from then on the topic no longer exists, even across a crash.
    fs.rmSync(this.topicFile(name), { force: true });
    fsyncDir(this.topicsDir);
    this.topics.remove(name);
    for (const p of t.partitions) {
      p.markDeleted();
      fs.rmSync(p.dir, { recursive: true, force: true });
    }
    fsyncDir(this.dir);
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
      for (const p of added) {
        p.markDeleted();
        fs.rmSync(p.dir, { recursive: true, force: true });
      }
      throw err;
    }
    t.partitions.push(...added);
    t.meta.numPartitions = total;
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlock();
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
