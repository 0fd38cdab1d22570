// The cluster-level client: bootstrap, a metadata cache, one connection per (broker, purpose),
// leader and coordinator routing, and a retry helper that refreshes metadata when leadership
// moved. Everything above it (admin, producer, consumer, group member) goes through here.

import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives/uuid.js';
import { Apis } from './apis.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { ConnectionError, KafkaError, NotFoundError, retriable } from './errors.js';

export interface BrokerAddress {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionMetadata {
  partition: number;
  errorCode: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: number[];
}

export interface TopicMetadata {
  name: string;
  topicId: string;
  errorCode: number;
  isInternal: boolean;
  partitions: PartitionMetadata[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerAddress[];
  topics: TopicMetadata[];
}

export interface ClientOptions extends ConnectionOptions {
  /** How many times a retriable failure is retried (default 5). */
  retries?: number;
  /** First retry backoff, doubled each time (default 100 ms). */
  retryBackoffMs?: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** "host:port" (IPv6 in brackets) -> host and port; the port defaults to 9092. */
export function parseHostPort(s: string): { host: string; port: number } {
  const t = s.trim();
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(t) ?? /^([^:]+)(?::(\d+))?$/.exec(t);
  if (!m) throw new Error(`not a host:port: "${s}"`);
  const port = m[2] === undefined ? 9092 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a port in "${s}"`);
  return { host: m[1]!, port };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class KafkaClient {
  readonly bootstrap: Array<{ host: string; port: number }>;
  private readonly opts: ClientOptions;
  private readonly brokers = new Map<number, BrokerAddress>();
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly topicCache = new Map<string, TopicMetadata>();
  private bootstrapConn: Promise<Connection> | undefined;
  private closed = false;
  controllerId = -1;
  clusterId: string | null = null;

  constructor(bootstrap: string | string[], opts: ClientOptions = {}) {
    const list = (Array.isArray(bootstrap) ? bootstrap : bootstrap.split(',')).map((s) => s.trim()).filter(Boolean);
    if (list.length === 0) throw new Error('no bootstrap servers given');
    this.bootstrap = list.map(parseHostPort);
    this.opts = opts;
  }

  get retries(): number {
    return this.opts.retries ?? 5;
  }

  get requestTimeoutMs(): number {
    return this.opts.requestTimeoutMs ?? 30_000;
  }

  // ---------------------------------------------------------------------------------------------
  // Connections

  /** A connection to any broker: the bootstrap one, opened on first use (each address tried in turn). */
  any(): Promise<Connection> {
    if (this.closed) return Promise.reject(new ConnectionError('client closed'));
    const cur = this.bootstrapConn;
    if (cur) {
      return cur.then(
        (c) => (c.closed ? this.reopenBootstrap() : c),
        () => this.reopenBootstrap(),
      );
    }
    return this.reopenBootstrap();
  }

  private reopenBootstrap(): Promise<Connection> {
    const p = (async () => {
      const errors: string[] = [];
      // Known brokers first (they may be the only reachable ones after a bootstrap host went away).
      const candidates = [...this.bootstrap, ...[...this.brokers.values()].map((b) => ({ host: b.host, port: b.port }))];
      for (const { host, port } of candidates) {
        try {
          return await Connection.open(host, port, this.opts);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      throw new ConnectionError(`no broker reachable (${errors.join('; ')})`);
    })();
    this.bootstrapConn = p;
    return p;
  }

  /** The connection to broker `nodeId` for `purpose` (the group member keeps its own, so heartbeats never queue behind a long-poll Fetch). */
  async broker(nodeId: number, purpose = 'default'): Promise<Connection> {
    if (this.closed) throw new ConnectionError('client closed');
    const key = `${nodeId}/${purpose}`;
    const existing = this.connections.get(key);
    if (existing) {
      const c = await existing.catch(() => undefined);
      if (c && !c.closed) return c;
      this.connections.delete(key);
    }
    let addr = this.brokers.get(nodeId);
    if (!addr) {
      await this.metadata([]);
      addr = this.brokers.get(nodeId);
      if (!addr) throw new ConnectionError(`broker ${nodeId} is not in the cluster metadata`);
    }
    const p = Connection.open(addr.host, addr.port, this.opts);
    this.connections.set(key, p);
    p.catch(() => {
      if (this.connections.get(key) === p) this.connections.delete(key);
    });
    return p;
  }

  /** Every broker the metadata lists. */
  async brokerList(): Promise<BrokerAddress[]> {
    if (this.brokers.size === 0) await this.metadata([]);
    return [...this.brokers.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  close(): void {
    this.closed = true;
    for (const p of this.connections.values()) p.then((c) => c.close(), () => {});
    this.connections.clear();
    this.bootstrapConn?.then((c) => c.close(), () => {});
  }

  // ---------------------------------------------------------------------------------------------
  // Metadata

  /**
   * Metadata for `topics` (null = all topics, [] = brokers only). Topic errors are returned, not
   * thrown; the caches of brokers and topics are updated.
   */
  async metadata(topics: string[] | null, allowAutoTopicCreation = false): Promise<ClusterMetadata> {
    const conn = await this.any();
    // Before v4 a request cannot refuse auto-creation (brokers that old create named topics when
    // auto.create.topics.enable is on).
    const r = await conn.request(Apis.metadata, {
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: ZERO_UUID })),
      allowAutoTopicCreation,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    this.clusterId = r.clusterId;
    this.controllerId = r.controllerId;
    if (r.brokers.length > 0) {
      this.brokers.clear();
      for (const b of r.brokers) this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
    }
    const out: TopicMetadata[] = r.topics.map((t) => ({
      name: t.name ?? '',
      topicId: t.topicId,
      errorCode: t.errorCode,
      isInternal: t.isInternal,
      partitions: t.partitions
        .map((p) => ({
          partition: p.partitionIndex,
          errorCode: p.errorCode,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offline: p.offlineReplicas,
        }))
        .sort((a, b) => a.partition - b.partition),
    }));
    for (const t of out) {
      if (t.errorCode === ErrorCode.NONE) this.topicCache.set(t.name, t);
      else this.topicCache.delete(t.name);
    }
    return { clusterId: r.clusterId, controllerId: r.controllerId, brokers: [...this.brokers.values()], topics: out };
  }

  /**
   * One topic's metadata, from the cache unless `refresh`. Waits out LEADER_NOT_AVAILABLE (a topic
   * being created); throws NotFoundError for an unknown topic and KafkaError for other errors.
   */
  async topic(name: string, opts: { refresh?: boolean; autoCreate?: boolean } = {}): Promise<TopicMetadata> {
    const cached = this.topicCache.get(name);
    if (cached && !opts.refresh) return cached;
    let backoff = this.opts.retryBackoffMs ?? 100;
    for (let attempt = 0; ; attempt++) {
      const md = await this.metadata([name], opts.autoCreate ?? false);
      const t = md.topics.find((x) => x.name === name) ?? md.topics[0];
      if (!t) throw new NotFoundError(`topic "${name}" not found`);
      if (t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new NotFoundError(`topic "${name}" not found`);
      const leaderless = t.errorCode === ErrorCode.NONE && t.partitions.some((p) => p.leader < 0);
      if (t.errorCode === ErrorCode.NONE && !leaderless) return t;
      const again = t.errorCode === ErrorCode.LEADER_NOT_AVAILABLE || leaderless || new KafkaError(t.errorCode).retriable;
      if (!again || attempt >= this.retries + 5) {
        if (t.errorCode === ErrorCode.NONE) return t;
        throw new KafkaError(t.errorCode, `topic "${name}"`);
      }
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 1000);
    }
  }

  /** Forgets cached topic metadata (after a leadership error). */
  invalidate(topic?: string): void {
    if (topic === undefined) this.topicCache.clear();
    else this.topicCache.delete(topic);
  }

  /** The connection to the leader of a partition (cached metadata). */
  async leader(topic: string, partition: number, purpose?: string): Promise<Connection> {
    const t = await this.topic(topic);
    const p = t.partitions.find((x) => x.partition === partition);
    if (!p) throw new NotFoundError(`partition ${partition} of topic "${topic}" not found (it has ${t.partitions.length})`);
    if (p.leader < 0) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}/${partition}`);
    return this.broker(p.leader, purpose);
  }

  /** Groups partitions by the node id of their leader. */
  async byLeader<T extends TopicPartition>(items: T[]): Promise<Map<number, T[]>> {
    const out = new Map<number, T[]>();
    for (const it of items) {
      const t = await this.topic(it.topic);
      const p = t.partitions.find((x) => x.partition === it.partition);
      if (!p) throw new NotFoundError(`partition ${it.partition} of topic "${it.topic}" not found (it has ${t.partitions.length})`);
      if (p.leader < 0) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${it.topic}/${it.partition}`);
      const list = out.get(p.leader);
      if (list) list.push(it);
      else out.set(p.leader, [it]);
    }
    return out;
  }

  /** The controller (for topic creation and deletion on ZooKeeper-era Kafka; KRaft brokers forward). */
  async controller(): Promise<Connection> {
    if (this.controllerId < 0) await this.metadata([]);
    if (this.controllerId >= 0 && this.brokers.has(this.controllerId)) {
      try {
        return await this.broker(this.controllerId);
      } catch {
        // Fall back to any broker: KRaft brokers advertise a random broker as controller and forward.
      }
    }
    return this.any();
  }

  // ---------------------------------------------------------------------------------------------
  // Coordinators

  private readonly coordinators = new Map<string, number>();

  /** The node id of the coordinator of a group (keyType 0) or transactional id (1). */
  async coordinatorId(key: string, keyType = 0, refresh = false): Promise<number> {
    const cacheKey = `${keyType}:${key}`;
    const cached = this.coordinators.get(cacheKey);
    if (cached !== undefined && !refresh) return cached;
    return this.withRetry(`FindCoordinator for "${key}"`, async () => {
      const conn = await this.any();
      const r = await conn.request(Apis.findCoordinator, { key, keyType, coordinatorKeys: [key] });
      const c = r.coordinators.length > 0 ? r.coordinators[0]! : { errorCode: r.errorCode, errorMessage: r.errorMessage, nodeId: r.nodeId, host: r.host, port: r.port };
      if (c.errorCode !== ErrorCode.NONE) throw new KafkaError(c.errorCode, `FindCoordinator for "${key}"`, c.errorMessage);
      if (!this.brokers.has(c.nodeId)) this.brokers.set(c.nodeId, { nodeId: c.nodeId, host: c.host, port: c.port, rack: null });
      this.coordinators.set(cacheKey, c.nodeId);
      return c.nodeId;
    });
  }

  /** The connection to a group's coordinator. */
  async coordinator(groupId: string, purpose?: string, refresh = false): Promise<Connection> {
    return this.broker(await this.coordinatorId(groupId, 0, refresh), purpose);
  }

  // ---------------------------------------------------------------------------------------------
  // Retries

  /**
   * Runs `fn`, retrying retriable failures with exponential backoff. Leadership and coordinator
   * errors drop the caches first so the next attempt routes afresh.
   */
  async withRetry<T>(_what: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    let backoff = this.opts.retryBackoffMs ?? 100;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (err) {
        if (!retriable(err) || attempt >= this.retries || this.closed) throw err;
        if (err instanceof KafkaError && (err.code === ErrorCode.NOT_COORDINATOR || err.code === ErrorCode.COORDINATOR_NOT_AVAILABLE)) {
          this.coordinators.clear();
        }
        this.invalidate();
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }
}
