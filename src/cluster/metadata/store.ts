// The cluster metadata store: what Brook's brokers share about the cluster (issue 10), with
// Kafka's ZooKeeper-era design and etcd in ZooKeeper's seat.
//
// Two implementations of `ClusterMetadataStore`, one code path: `KvMetadataStore` over a
// MetadataKv (src/cluster/metadata/kv.ts), which is either
//   - MemoryKv: in process, no network (a single node, the embedded default), or
//   - EtcdKv: a real etcd through its v3 JSON gateway (`--metadata etcd://host:port[,...]`),
//     loaded lazily by openMetadataStore() (src/cluster/metadata/index.ts).
// Both pass the same contract suite (test/cluster/metadata/contract.test.ts).
//
// Key layout (values are JSON; <c> is the cluster name, so several clusters can share one etcd):
//   /brook/<c>/brokers/<nodeId>            BrokerRegistration, attached to the broker's lease:
//                                          the key disappears when the broker stops renewing it
//                                          (crash, partition) or revokes it (clean shutdown).
//                                          Created only if absent: two live brokers cannot hold
//                                          one node id.
//   /brook/<c>/topics/<name>               TopicRecord: id, replica assignment (its length is the
//                                          partition count), and the partitions being reassigned
//                                          (KIP-455: their adding and removing replicas, as Kafka's
//                                          topic znode holds adding_replicas/removing_replicas).
//   /brook/<c>/partitions/<topic>/<p>      PartitionState: leader, leader epoch, ISR, partition
//                                          epoch. Written by compare-and-swap on the key's mod
//                                          revision (Kafka's zkVersion), optionally fenced by the
//                                          controller epoch, so two writers cannot both win.
//   /brook/<c>/configs/<type>/<name>       Dynamic configs: type topic | broker (name '' is the
//                                          cluster-wide broker default, stored as '<default>').
//   /brook/<c>/controller                  { nodeId }, attached to the controller's lease. The
//                                          controller epoch is the key's create revision: it only
//                                          grows, and a write guarded by it fails once another
//                                          broker has taken over (Kafka's controller epoch).
//   /brook/<c>/producer-ids                The producer-id block allocator: the next free id; a
//                                          block is taken by CAS on the key's mod revision.
//   /brook/<c>/security/<ns>/<key>         Security metadata shared by the brokers (ns: scram, acls,
//                                          quotas; key URI-encoded): src/security/store.ts.
//
// Watches deliver typed MetadataEvents in revision order and resume after a disconnect from the
// revision after the last one delivered (EtcdKv does the reconnecting). The usual pattern is
// list-then-watch: read (answers a revision), then watch from that revision + 1.
//
// Limits: etcd refuses a transaction of more than --max-txn-ops operations (128 by default), so
// a topic's partition states are created one CAS per partition (createPartitionState), not in the
// topic's transaction; etcd's default request limit is 1.5 MiB per value.

import type { Compare, KeyValue, MetadataKv, TxnOp, WatchHandle } from './kv.js';
import { MetadataError } from './kv.js';

export interface BrokerRegistration {
  nodeId: number;
  /** The first listener's advertised address (the one brokers use between themselves). */
  host: string;
  port: number;
  rack: string | null;
  /** Every listener's advertised address (absent in registrations of older brokers). */
  endpoints?: { listener: string; host: string; port: number }[];
}

export interface TopicRecord {
  name: string;
  /** Kafka Uuid as base64url (22 chars), as TopicMetadata in src/log/types.ts. */
  topicId: string;
  /**
   * Replica node ids per partition, preferred leader first. While a partition is being reassigned
   * this is the full replica set: the target replicas, then the original ones not in the target.
   */
  assignments: number[][];
  /**
   * Partitions being reassigned (KIP-455), by partition number: the replicas being added (in the
   * target, not in the original set) and removed (in the original set, not in the target). The
   * target is assignments[p] minus removing. Absent or empty: nothing in progress.
   */
  reassigning?: Record<string, PartitionReassignment>;
}

/** An in-progress reassignment of one partition (Kafka's ReplicaAssignment adding/removing). */
export interface PartitionReassignment {
  adding: number[];
  removing: number[];
}

export interface PartitionState {
  /** -1 when no replica is eligible. */
  leader: number;
  leaderEpoch: number;
  isr: number[];
  /** Bumped on every change of this state (Kafka's partition epoch). */
  partitionEpoch: number;
}

export type ConfigEntityType = 'topic' | 'broker';

export interface Versioned<T> {
  value: T;
  /** The key's mod revision: pass it back to write only if nothing changed since. */
  modRevision: number;
}

export interface Snapshot<T> {
  items: Versioned<T>[];
  /** The store revision of the read: watch from revision + 1. */
  revision: number;
}

export type CasResult<T> =
  | { ok: true; modRevision: number }
  /** Someone else wrote first (or the key exists, for a create): here is what is there now. */
  | { ok: false; reason: 'conflict'; current: Versioned<T> | undefined }
  /** The write was guarded by a controller epoch that is no longer current. */
  | { ok: false; reason: 'fenced' };

export interface ProducerIdBlock {
  brokerId: number;
  firstProducerId: bigint;
  size: number;
}

/** A lease held by this process and renewed in the background. */
export interface MetadataSession {
  readonly leaseId: string;
  readonly ttlSeconds: number;
  /** Resolves once the lease is known or presumed expired (keys attached to it are gone). */
  readonly lost: Promise<void>;
  isLost(): boolean;
  /** Revokes the lease (clean shutdown): its keys disappear at once. */
  close(): Promise<void>;
  /** Stops renewing without revoking: the lease runs out as after a crash. */
  stopKeepAlive(): void;
}

export interface ControllerLeadership {
  nodeId: number;
  /** The controller epoch: create revision of the controller key. */
  epoch: number;
  /** Gives up the role (deletes the key if it is still ours). */
  resign(): Promise<void>;
}

export type MetadataPath =
  | { kind: 'broker'; nodeId: number }
  | { kind: 'topic'; name: string }
  | { kind: 'partition'; topic: string; partition: number }
  | { kind: 'config'; entityType: ConfigEntityType; name: string }
  | { kind: 'controller' }
  | { kind: 'producer-ids' };

export interface MetadataEvent {
  type: 'put' | 'delete';
  path: MetadataPath;
  /** The parsed value (null on delete). */
  value: unknown;
  revision: number;
}

/** A security metadata entry (src/security/store.ts); value null in a delete event. */
export interface SecurityEntry {
  ns: string;
  key: string;
  value: unknown;
}

export interface SecurityWatchListener {
  onEvents(events: SecurityEntry[], revision: number): void;
  onError(err: MetadataError): void;
}

export type WatchScope = 'all' | 'brokers' | 'topics' | 'partitions' | 'configs' | 'controller';

export interface MetadataWatchListener {
  onEvents(events: MetadataEvent[]): void;
  onError(err: MetadataError): void;
}

export interface ClusterMetadataStore {
  readonly cluster: string;

  /** A lease of `ttlSeconds`, renewed every third of it until closed or lost. */
  openSession(ttlSeconds: number): Promise<MetadataSession>;

  registerBroker(session: MetadataSession, registration: BrokerRegistration): Promise<CasResult<BrokerRegistration>>;
  listBrokers(): Promise<Snapshot<BrokerRegistration>>;

  /** Creates a topic and its config overrides in one transaction; conflict if it exists. */
  createTopic(topic: TopicRecord, configs?: Record<string, string>): Promise<CasResult<TopicRecord>>;
  getTopic(name: string): Promise<Versioned<TopicRecord> | undefined>;
  listTopics(): Promise<Snapshot<TopicRecord>>;
  /** Replaces the topic record if unchanged since `expectedModRevision` (and, with `guard`, only while that controller holds the role). */
  updateTopic(topic: TopicRecord, expectedModRevision: number, guard?: ControllerLeadership): Promise<CasResult<TopicRecord>>;
  /** Deletes the topic, its partition states and its configs in one transaction. */
  deleteTopic(name: string, expectedModRevision: number): Promise<CasResult<TopicRecord>>;

  getPartitionState(topic: string, partition: number): Promise<Versioned<PartitionState> | undefined>;
  /** A topic's partition states, by partition number. */
  listPartitionStates(topic: string): Promise<Snapshot<PartitionState> & { partitions: number[] }>;
  createPartitionState(
    topic: string,
    partition: number,
    state: PartitionState,
    guard?: ControllerLeadership,
  ): Promise<CasResult<PartitionState>>;
  updatePartitionState(
    topic: string,
    partition: number,
    state: PartitionState,
    expectedModRevision: number,
    guard?: ControllerLeadership,
  ): Promise<CasResult<PartitionState>>;

  getConfigs(entityType: ConfigEntityType, name: string): Promise<Versioned<Record<string, string>> | undefined>;
  /** `expectedModRevision` 0 means "only if absent"; undefined writes unconditionally. */
  setConfigs(
    entityType: ConfigEntityType,
    name: string,
    configs: Record<string, string>,
    expectedModRevision?: number,
  ): Promise<CasResult<Record<string, string>>>;

  /** Takes the next block of `size` producer ids; no id is ever handed out twice. */
  allocateProducerIdBlock(brokerId: number, size: number): Promise<ProducerIdBlock>;

  /** Resolves once this node is the controller (create-if-absent on the lease; waits its turn). */
  campaign(session: MetadataSession, nodeId: number, signal?: AbortSignal): Promise<ControllerLeadership>;
  getController(): Promise<{ nodeId: number; epoch: number } | undefined>;

  watch(scope: WatchScope, fromRevision: number, listener: MetadataWatchListener): WatchHandle;

  /**
   * Everything under the cluster's root in one consistent read, as put events at the read's
   * revision (what a metadata cache loads before watching from revision + 1).
   */
  snapshot(): Promise<{ events: MetadataEvent[]; revision: number }>;

  /** The cluster id (Kafka's /cluster/id): the first broker's candidate is kept by everyone. */
  clusterId(candidate: string): Promise<string>;

  /** Security metadata: every entry, at one revision. */
  listSecurity(): Promise<{ items: SecurityEntry[]; revision: number }>;
  /**
   * Writes (value non-null) and deletes (null) in a namespace; one transaction per 100 changes
   * (etcd's --max-txn-ops). Answers the revision after the last one.
   */
  applySecurity(ns: string, changes: ReadonlyArray<readonly [string, unknown]>): Promise<number>;
  /** Changes to security metadata from `fromRevision` on. */
  watchSecurity(fromRevision: number, listener: SecurityWatchListener): WatchHandle;

  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------

const CAS_RETRY_LIMIT = 1000;

export class KvMetadataStore implements ClusterMetadataStore {
  private readonly root: string;
  private readonly sessions = new Set<KvSession>();

  constructor(
    readonly kv: MetadataKv,
    readonly cluster = 'default',
  ) {
    if (!/^[A-Za-z0-9._-]+$/.test(cluster)) throw new Error(`bad cluster name ${JSON.stringify(cluster)}`);
    this.root = `/brook/${cluster}/`;
  }

  async openSession(ttlSeconds: number): Promise<MetadataSession> {
    const { id, ttlSeconds: ttl } = await this.kv.grantLease(ttlSeconds);
    const s = new KvSession(this.kv, id, ttl, () => this.sessions.delete(s));
    this.sessions.add(s);
    return s;
  }

  async registerBroker(session: MetadataSession, reg: BrokerRegistration): Promise<CasResult<BrokerRegistration>> {
    const key = this.key('brokers', String(reg.nodeId));
    return this.cas<BrokerRegistration>(key, [{ key, target: 'create', equals: 0 }], [{ type: 'put', key, value: JSON.stringify(reg), lease: session.leaseId }]);
  }

  async listBrokers(): Promise<Snapshot<BrokerRegistration>> {
    const r = await this.kv.range(this.key('brokers', ''), { prefix: true });
    const items = r.kvs.map((kv) => versioned<BrokerRegistration>(kv)).sort((a, b) => a.value.nodeId - b.value.nodeId);
    return { items, revision: r.revision };
  }

  async createTopic(topic: TopicRecord, configs: Record<string, string> = {}): Promise<CasResult<TopicRecord>> {
    const key = this.key('topics', topic.name);
    const ops: TxnOp[] = [{ type: 'put', key, value: JSON.stringify(topic) }];
    if (Object.keys(configs).length > 0) ops.push({ type: 'put', key: this.configKey('topic', topic.name), value: JSON.stringify(configs) });
    return this.cas<TopicRecord>(key, [{ key, target: 'create', equals: 0 }], ops);
  }

  async getTopic(name: string): Promise<Versioned<TopicRecord> | undefined> {
    return this.get<TopicRecord>(this.key('topics', name));
  }

  async listTopics(): Promise<Snapshot<TopicRecord>> {
    const r = await this.kv.range(this.key('topics', ''), { prefix: true });
    return { items: r.kvs.map((kv) => versioned<TopicRecord>(kv)), revision: r.revision };
  }

  async updateTopic(topic: TopicRecord, expectedModRevision: number, guard?: ControllerLeadership): Promise<CasResult<TopicRecord>> {
    const key = this.key('topics', topic.name);
    return this.cas<TopicRecord>(key, modGuard(key, expectedModRevision), [{ type: 'put', key, value: JSON.stringify(topic) }], guard);
  }

  async deleteTopic(name: string, expectedModRevision: number): Promise<CasResult<TopicRecord>> {
    const key = this.key('topics', name);
    return this.cas<TopicRecord>(key, [{ key, target: 'mod', equals: expectedModRevision }], [
      { type: 'delete', key },
      { type: 'delete', key: this.key('partitions', name, ''), prefix: true },
      { type: 'delete', key: this.configKey('topic', name) },
    ]);
  }

  async getPartitionState(topic: string, partition: number): Promise<Versioned<PartitionState> | undefined> {
    return this.get<PartitionState>(this.key('partitions', topic, String(partition)));
  }

  async listPartitionStates(topic: string): Promise<Snapshot<PartitionState> & { partitions: number[] }> {
    const prefix = this.key('partitions', topic, '');
    const r = await this.kv.range(prefix, { prefix: true });
    const rows = r.kvs.map((kv) => ({ p: Number(kv.key.slice(prefix.length)), v: versioned<PartitionState>(kv) })).sort((a, b) => a.p - b.p);
    return { items: rows.map((x) => x.v), partitions: rows.map((x) => x.p), revision: r.revision };
  }

  async createPartitionState(
    topic: string,
    partition: number,
    state: PartitionState,
    guard?: ControllerLeadership,
  ): Promise<CasResult<PartitionState>> {
    const key = this.key('partitions', topic, String(partition));
    return this.cas<PartitionState>(key, [{ key, target: 'create', equals: 0 }], [{ type: 'put', key, value: JSON.stringify(state) }], guard);
  }

  async updatePartitionState(
    topic: string,
    partition: number,
    state: PartitionState,
    expectedModRevision: number,
    guard?: ControllerLeadership,
  ): Promise<CasResult<PartitionState>> {
    const key = this.key('partitions', topic, String(partition));
    return this.cas<PartitionState>(key, modGuard(key, expectedModRevision), [{ type: 'put', key, value: JSON.stringify(state) }], guard);
  }

  async getConfigs(entityType: ConfigEntityType, name: string): Promise<Versioned<Record<string, string>> | undefined> {
    return this.get<Record<string, string>>(this.configKey(entityType, name));
  }

  async setConfigs(
    entityType: ConfigEntityType,
    name: string,
    configs: Record<string, string>,
    expectedModRevision?: number,
  ): Promise<CasResult<Record<string, string>>> {
    const key = this.configKey(entityType, name);
    const compare = expectedModRevision === undefined ? [] : modGuard(key, expectedModRevision);
    return this.cas<Record<string, string>>(key, compare, [{ type: 'put', key, value: JSON.stringify(configs) }]);
  }

  async allocateProducerIdBlock(brokerId: number, size: number): Promise<ProducerIdBlock> {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`bad producer id block size ${size}`);
    const key = this.key('producer-ids');
    for (let attempt = 0; attempt < CAS_RETRY_LIMIT; attempt++) {
      const cur = await this.get<{ nextProducerId: string }>(key);
      const first = cur ? BigInt(cur.value.nextProducerId) : 0n;
      const next = first + BigInt(size);
      // Producer ids are int64 in the protocol.
      if (next > 0x7fffffffffffffffn) throw new MetadataError('INTERNAL', 'producer id space exhausted');
      const value = JSON.stringify({ nextProducerId: next.toString(), lastBlock: { brokerId, firstProducerId: first.toString(), size } });
      const r = await this.kv.txn(modGuard(key, cur?.modRevision ?? 0), [{ type: 'put', key, value }]);
      if (r.succeeded) return { brokerId, firstProducerId: first, size };
    }
    throw new MetadataError('UNAVAILABLE', `producer id block: no CAS success after ${CAS_RETRY_LIMIT} attempts`);
  }

  async campaign(session: MetadataSession, nodeId: number, signal?: AbortSignal): Promise<ControllerLeadership> {
    const key = this.key('controller');
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('campaign aborted');
      if (session.isLost()) throw new MetadataError('LEASE_NOT_FOUND', 'session lost before winning the election');
      const r = await this.kv.txn(
        [{ key, target: 'create', equals: 0 }],
        [{ type: 'put', key, value: JSON.stringify({ nodeId }), lease: session.leaseId }],
        [{ type: 'get', key }],
      );
      if (r.succeeded) return this.leadership(nodeId, r.revision);
      const holder = r.results[0]?.[0];
      if (holder && holder.lease === session.leaseId) return this.leadership(nodeId, holder.createRevision);
      if (holder) await this.waitForDelete(key, r.revision + 1, session, signal);
    }
  }

  async getController(): Promise<{ nodeId: number; epoch: number } | undefined> {
    const r = await this.kv.range(this.key('controller'));
    const kv = r.kvs[0];
    return kv ? { nodeId: (JSON.parse(kv.value) as { nodeId: number }).nodeId, epoch: kv.createRevision } : undefined;
  }

  watch(scope: WatchScope, fromRevision: number, listener: MetadataWatchListener): WatchHandle {
    const key = scope === 'all' ? this.root : scope === 'controller' ? this.key('controller') : this.key(scope, '');
    return this.kv.watch(
      key,
      fromRevision,
      {
        onEvents: (events) => {
          const out: MetadataEvent[] = [];
          for (const e of events) {
            const path = this.parsePath(e.kv.key);
            if (!path) continue;
            out.push({ type: e.type, path, value: e.type === 'put' ? JSON.parse(e.kv.value) : null, revision: e.kv.modRevision });
          }
          if (out.length > 0) listener.onEvents(out);
        },
        onError: (err) => listener.onError(err),
      },
      { prefix: scope !== 'controller' },
    );
  }

  async snapshot(): Promise<{ events: MetadataEvent[]; revision: number }> {
    const r = await this.kv.range(this.root, { prefix: true });
    const events: MetadataEvent[] = [];
    for (const kv of r.kvs) {
      const path = this.parsePath(kv.key);
      if (path) events.push({ type: 'put', path, value: JSON.parse(kv.value), revision: kv.modRevision });
    }
    return { events, revision: r.revision };
  }

  async clusterId(candidate: string): Promise<string> {
    const key = this.key('cluster-id');
    const r = await this.kv.txn([{ key, target: 'create', equals: 0 }], [{ type: 'put', key, value: JSON.stringify(candidate) }], [{ type: 'get', key }]);
    if (r.succeeded) return candidate;
    const kv = r.results[0]?.[0];
    return kv ? (JSON.parse(kv.value) as string) : candidate;
  }

  async listSecurity(): Promise<{ items: SecurityEntry[]; revision: number }> {
    const r = await this.kv.range(this.key('security', ''), { prefix: true });
    return { items: r.kvs.map((kv) => ({ ...this.securityPath(kv.key), value: JSON.parse(kv.value) as unknown })), revision: r.revision };
  }

  async applySecurity(ns: string, changes: ReadonlyArray<readonly [string, unknown]>): Promise<number> {
    let revision = 0;
    for (let i = 0; i < changes.length; i += 100) {
      const ops: TxnOp[] = changes.slice(i, i + 100).map(([k, v]) => {
        const key = this.key('security', ns, encodeURIComponent(k));
        return v === null ? { type: 'delete', key } : { type: 'put', key, value: JSON.stringify(v) };
      });
      revision = (await this.kv.txn([], ops)).revision;
    }
    return revision;
  }

  watchSecurity(fromRevision: number, listener: SecurityWatchListener): WatchHandle {
    return this.kv.watch(
      this.key('security', ''),
      fromRevision,
      {
        onEvents: (events) => {
          if (events.length === 0) return;
          listener.onEvents(
            events.map((e) => ({ ...this.securityPath(e.kv.key), value: e.type === 'put' ? (JSON.parse(e.kv.value) as unknown) : null })),
            events[events.length - 1]!.kv.modRevision,
          );
        },
        onError: (err) => listener.onError(err),
      },
      { prefix: true },
    );
  }

  private securityPath(key: string): { ns: string; key: string } {
    const [ns = '', k = ''] = key.slice(this.key('security', '').length).split('/');
    return { ns, key: decodeURIComponent(k) };
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions]) s.stopKeepAlive();
    await this.kv.close();
  }

  // -------------------------------------------------------------------------------------------

  private key(...parts: string[]): string {
    return this.root + parts.join('/');
  }

  private configKey(entityType: ConfigEntityType, name: string): string {
    return this.key('configs', entityType, name === '' ? '<default>' : name);
  }

  private parsePath(key: string): MetadataPath | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const parts = key.slice(this.root.length).split('/');
    switch (parts[0]) {
      case 'brokers':
        return { kind: 'broker', nodeId: Number(parts[1]) };
      case 'topics':
        return { kind: 'topic', name: parts[1] };
      case 'partitions':
        return { kind: 'partition', topic: parts[1], partition: Number(parts[2]) };
      case 'configs':
        return { kind: 'config', entityType: parts[1] as ConfigEntityType, name: parts[2] === '<default>' ? '' : parts[2] };
      case 'controller':
        return { kind: 'controller' };
      case 'producer-ids':
        return { kind: 'producer-ids' };
      default:
        return undefined;
    }
  }

  private async get<T>(key: string): Promise<Versioned<T> | undefined> {
    const r = await this.kv.range(key);
    return r.kvs[0] ? versioned<T>(r.kvs[0]) : undefined;
  }

  /**
   * Runs `ops` if `compare` holds (and the controller epoch, when guarded); otherwise reads the
   * key and the controller key to say which condition failed.
   */
  private async cas<T>(key: string, compare: Compare[], ops: TxnOp[], guard?: ControllerLeadership): Promise<CasResult<T>> {
    const controllerKey = this.key('controller');
    const all = guard ? [...compare, { key: controllerKey, target: 'create' as const, equals: guard.epoch }] : compare;
    const r = await this.kv.txn(all, ops, [
      { type: 'get', key },
      { type: 'get', key: controllerKey },
    ]);
    if (r.succeeded) return { ok: true, modRevision: r.revision };
    const controller = r.results[1]?.[0];
    if (guard && (controller?.createRevision ?? 0) !== guard.epoch) return { ok: false, reason: 'fenced' };
    const cur = r.results[0]?.[0];
    return { ok: false, reason: 'conflict', current: cur ? versioned<T>(cur) : undefined };
  }

  private leadership(nodeId: number, epoch: number): ControllerLeadership {
    const key = this.key('controller');
    return {
      nodeId,
      epoch,
      resign: async () => {
        await this.kv.txn([{ key, target: 'create', equals: epoch }], [{ type: 'delete', key }]);
      },
    };
  }

  /** Waits until `key` is deleted at or after `fromRevision`, the session is lost or `signal` aborts. */
  private waitForDelete(key: string, fromRevision: number, session: MetadataSession, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        handle.cancel();
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => finish(signal?.reason ?? new Error('campaign aborted'));
      const handle = this.kv.watch(key, fromRevision, {
        onEvents: (events) => {
          if (events.some((e) => e.type === 'delete')) finish();
        },
        // Compacted: the key may have changed hands meanwhile; the caller tries again.
        onError: (err) => (err.code === 'COMPACTED' ? finish() : finish(err)),
      });
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      void session.lost.then(() => finish(new MetadataError('LEASE_NOT_FOUND', 'session lost while waiting for the controller role')));
    });
  }
}

function versioned<T>(kv: KeyValue): Versioned<T> {
  return { value: JSON.parse(kv.value) as T, modRevision: kv.modRevision };
}

/** Compare for "the key is at this mod revision" (0: absent). */
function modGuard(key: string, modRevision: number): Compare[] {
  return [{ key, target: 'mod', equals: modRevision }];
}

/**
 * A lease renewed every third of its TTL. It is lost when etcd says the lease is gone, or when no
 * renewal has succeeded for a whole TTL (the lease may have expired on the server; the holder
 * must assume the worst, as a ZooKeeper client does on session expiry).
 */
class KvSession implements MetadataSession {
  readonly lost: Promise<void>;
  private markLost!: () => void;
  private lostFlag = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenewed = Date.now();

  constructor(
    private readonly kv: MetadataKv,
    readonly leaseId: string,
    readonly ttlSeconds: number,
    private readonly onEnd: () => void,
  ) {
    this.lost = new Promise<void>((resolve) => (this.markLost = resolve));
    this.schedule();
  }

  isLost(): boolean {
    return this.lostFlag;
  }

  async close(): Promise<void> {
    this.stopKeepAlive();
    try {
      await this.kv.revokeLease(this.leaseId);
    } finally {
      this.setLost();
    }
  }

  stopKeepAlive(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.onEnd();
  }

  private schedule(): void {
    if (this.stopped || this.lostFlag) return;
    this.timer = setTimeout(() => void this.renew(), Math.max(100, (this.ttlSeconds * 1000) / 3));
    this.timer.unref?.();
  }

  private async renew(): Promise<void> {
    if (this.stopped || this.lostFlag) return;
    try {
      const ttl = await this.kv.keepAliveLease(this.leaseId);
      if (this.stopped) return;
      if (ttl <= 0) {
        this.setLost();
        return;
      }
      this.lastRenewed = Date.now();
    } catch {
      if (Date.now() - this.lastRenewed >= this.ttlSeconds * 1000) {
        this.setLost();
        return;
      }
    }
    this.schedule();
  }

  private setLost(): void {
    if (this.lostFlag) return;
    this.lostFlag = true;
    if (this.timer) clearTimeout(this.timer);
    this.onEnd();
    this.markLost();
  }
}
