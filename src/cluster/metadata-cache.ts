// A broker's copy of the cluster metadata (issue 10): brokers, topics, partition states, topic
// configs and the controller, loaded from the metadata store in one consistent read and kept up
// to date by a watch from the revision after it (Kafka's ZK-era MetadataCache, fed by watches
// instead of UpdateMetadata requests). Listeners hear about each batch of changes after it is
// applied; a watch that falls behind etcd's compaction point reloads everything.

import type { Logger } from '../common/logger.js';
import type { WatchHandle } from './metadata/kv.js';
import type {
  BrokerRegistration,
  ClusterMetadataStore,
  MetadataEvent,
  PartitionState,
  TopicRecord,
  Versioned,
} from './metadata/store.js';

export interface MetadataChanges {
  brokers: boolean;
  controller: boolean;
  /** Topics created, deleted, grown or with new configs. */
  topics: Set<string>;
  /** Partition states that changed, as "topic\0partition". */
  partitions: Set<string>;
  /** True after a full (re)load: everything may have changed. */
  reload: boolean;
}

export type MetadataChangeListener = (changes: MetadataChanges) => void;

const pkey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class MetadataCache {
  readonly brokers = new Map<number, BrokerRegistration>();
  readonly topics = new Map<string, Versioned<TopicRecord>>();
  private readonly states = new Map<string, Versioned<PartitionState>>();
  readonly topicConfigs = new Map<string, Record<string, string>>();
  controller: { nodeId: number; epoch: number } | undefined;
  /** The last store revision applied. */
  revision = 0;
  private watch: WatchHandle | undefined;
  private readonly listeners: MetadataChangeListener[] = [];
  private readonly revisionWaiters: Array<{ revision: number; resolve: () => void }> = [];
  private closed = false;

  constructor(
    private readonly store: ClusterMetadataStore,
    private readonly logger: Logger,
  ) {}

  onChange(l: MetadataChangeListener): void {
    this.listeners.push(l);
  }

  /** Loads everything and starts watching. */
  async start(): Promise<void> {
    await this.reload();
  }

  private async reload(): Promise<void> {
    this.watch?.cancel();
    const snap = await this.store.snapshot();
    if (this.closed) return;
    this.brokers.clear();
    this.topics.clear();
    this.states.clear();
    this.topicConfigs.clear();
    this.controller = undefined;
    const changes = emptyChanges();
    changes.reload = true;
    for (const e of snap.events) this.apply(e, changes);
    this.revision = snap.revision;
    this.emit(changes);
    this.watch = this.store.watch('all', snap.revision + 1, {
      onEvents: (events) => {
        const c = emptyChanges();
        for (const e of events) {
          this.apply(e, c);
          if (e.revision > this.revision) this.revision = e.revision;
        }
        this.emit(c);
      },
      onError: (err) => {
        if (this.closed) return;
        this.logger.warn({ err: err.message, code: err.code }, 'metadata watch ended; reloading the cluster metadata');
        const retry = (): void => {
          if (this.closed) return;
          this.reload().catch((e: Error) => {
            this.logger.warn({ err: e.message }, 'metadata reload failed; retrying');
            setTimeout(retry, 1000).unref();
          });
        };
        retry();
      },
    });
  }

  private apply(e: MetadataEvent, c: MetadataChanges): void {
    const p = e.path;
    switch (p.kind) {
      case 'broker':
        if (e.type === 'put') this.brokers.set(p.nodeId, e.value as BrokerRegistration);
        else this.brokers.delete(p.nodeId);
        c.brokers = true;
        break;
      case 'topic':
        if (e.type === 'put') this.topics.set(p.name, { value: e.value as TopicRecord, modRevision: e.revision });
        else {
          this.topics.delete(p.name);
          for (const k of [...this.states.keys()]) if (k.startsWith(`${p.name}\u0000`)) this.states.delete(k);
        }
        c.topics.add(p.name);
        break;
      case 'partition':
        if (e.type === 'put') this.states.set(pkey(p.topic, p.partition), { value: e.value as PartitionState, modRevision: e.revision });
        else this.states.delete(pkey(p.topic, p.partition));
        c.partitions.add(pkey(p.topic, p.partition));
        break;
      case 'config':
        if (p.entityType === 'topic') {
          if (e.type === 'put') this.topicConfigs.set(p.name, e.value as Record<string, string>);
          else this.topicConfigs.delete(p.name);
          c.topics.add(p.name);
        }
        break;
      case 'controller':
        // The controller epoch is the key's create revision; a put on an existing key keeps it.
        if (e.type === 'put') {
          const nodeId = (e.value as { nodeId: number }).nodeId;
          if (this.controller?.nodeId !== nodeId) this.controller = { nodeId, epoch: e.revision };
        } else this.controller = undefined;
        c.controller = true;
        break;
      default:
        break;
    }
  }

  private emit(c: MetadataChanges): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (err) {
        this.logger.error({ err: (err as Error).message, stack: (err as Error).stack }, 'metadata listener failed');
      }
    }
    for (let i = this.revisionWaiters.length - 1; i >= 0; i--) {
      const w = this.revisionWaiters[i]!;
      if (this.revision >= w.revision) {
        this.revisionWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Resolves once the cache has applied `revision` (a write of this broker's, seen by its watch), or after `timeoutMs`. */
  waitForRevision(revision: number, timeoutMs = 10_000): Promise<boolean> {
    if (this.revision >= revision || this.closed) return Promise.resolve(this.revision >= revision);
    return new Promise((resolve) => {
      const w = {
        revision,
        resolve: () => {
          clearTimeout(t);
          resolve(true);
        },
      };
      const t = setTimeout(() => {
        const i = this.revisionWaiters.indexOf(w);
        if (i >= 0) this.revisionWaiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      this.revisionWaiters.push(w);
    });
  }

  partitionState(topic: string, partition: number): Versioned<PartitionState> | undefined {
    return this.states.get(pkey(topic, partition));
  }

  liveBrokerIds(): Set<number> {
    return new Set(this.brokers.keys());
  }

  close(): void {
    this.closed = true;
    this.watch?.cancel();
    for (const w of this.revisionWaiters.splice(0)) w.resolve();
  }
}

function emptyChanges(): MetadataChanges {
  return { brokers: false, controller: false, topics: new Set(), partitions: new Set(), reload: false };
}

export { pkey as partitionKey };
