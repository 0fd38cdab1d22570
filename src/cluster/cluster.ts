// The cluster as clients see it: this broker's identity and advertised address, the broker list,
// the controller and each partition's leader, replicas and ISR. A single node is its own
// controller and leads everything; in a cluster (issue 10) the answers come from the broker's
// metadata cache (ClusterNode).

import type { SecurityProtocol } from '../server/connection.js';
import type { ClusterNode } from './cluster-node.js';

/** One listener's advertised address. */
export interface ListenerEndpoint {
  listener: string;
  host: string;
  port: number;
}

/**
 * A broker as clients see it. host/port is its first PLAINTEXT listener's address (the one brokers use
 * between themselves); `endpoints` has every listener's (absent: a broker registered before
 * listeners had names, reachable at host/port whatever the listener).
 */
export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  endpoints?: ListenerEndpoint[];
}

/** A listener of this broker: its name and the address it advertises (null: the bound one). */
export interface LocalListener {
  name: string;
  advertisedHost: string | null;
  advertisedPort: number | null;
  /** Default PLAINTEXT. The first PLAINTEXT listener is the one other brokers use. */
  protocol?: SecurityProtocol;
}

/**
 * The broker as seen through listener `listener`: host/port of that listener, or undefined when
 * it has no such listener (Kafka leaves such brokers out of the answer). No listener: the first.
 */
export function endpointFor(b: BrokerEndpoint, listener: string | undefined): BrokerEndpoint | undefined {
  if (listener === undefined || b.endpoints === undefined || b.endpoints.length === 0) return b;
  const e = b.endpoints.find((x) => x.listener === listener);
  return e === undefined ? undefined : { nodeId: b.nodeId, host: e.host, port: e.port, rack: b.rack, endpoints: b.endpoints };
}

export interface PartitionInfo {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  /** Replicas whose broker is not live. */
  offline: number[];
}

export class ClusterView {
  /** Filled in once the listener is bound (the port may be ephemeral). */
  private self: BrokerEndpoint;
  private node: ClusterNode | undefined;

  private readonly listeners: LocalListener[];
  /** The listener other brokers use (host/port of the registration): the inter-broker one. */
  private readonly primary: number;

  constructor(
    private readonly localClusterId: string,
    nodeId: number,
    advertisedHost: string | null,
    advertisedPort: number | null,
    rack: string | null = null,
    /** Every listener, first one first (default: one PLAINTEXT listener with the address above). */
    listeners?: LocalListener[],
    /** The inter-broker listener's name (default: the first PLAINTEXT one). */
    interBroker?: string,
  ) {
    this.listeners = listeners ?? [{ name: 'PLAINTEXT', advertisedHost, advertisedPort }];
    const named = interBroker === undefined ? -1 : this.listeners.findIndex((l) => l.name === interBroker);
    this.primary = named >= 0 ? named : Math.max(0, this.listeners.findIndex((l) => (l.protocol ?? 'PLAINTEXT') === 'PLAINTEXT'));
    const first = this.listeners[this.primary]!;
    this.self = {
      nodeId,
      host: first.advertisedHost ?? '127.0.0.1',
      port: first.advertisedPort ?? 0,
      rack,
      endpoints: this.listeners.map((l) => ({ listener: l.name, host: l.advertisedHost ?? '127.0.0.1', port: l.advertisedPort ?? 0 })),
    };
  }

  /**
   * Called when a listener is bound: its advertised address defaults to the bound one. No name:
   * the first PLAINTEXT listener.
   */
  bound(host: string, port: number, name?: string): void {
    const i = name === undefined ? this.primary : this.listeners.findIndex((l) => l.name === name);
    const l = this.listeners[i];
    if (l === undefined) return;
    const ep = { listener: l.name, host: l.advertisedHost ?? host, port: l.advertisedPort ?? port };
    const endpoints = [...(this.self.endpoints ?? [])];
    endpoints[i] = ep;
    this.self = { ...this.self, endpoints, ...(i === this.primary ? { host: ep.host, port: ep.port } : {}) };
  }

  /** This broker as clients of listener `listener` see it. */
  localFor(listener: string | undefined): BrokerEndpoint {
    return endpointFor(this.self, listener) ?? this.self;
  }

  /** Cluster mode: answers come from the cluster metadata from now on. */
  attach(node: ClusterNode): void {
    this.node = node;
  }

  get clustered(): boolean {
    return this.node !== undefined;
  }

  get clusterNode(): ClusterNode | undefined {
    return this.node;
  }

  get clusterId(): string {
    return this.node?.clusterId || this.localClusterId;
  }

  get nodeId(): number {
    return this.self.nodeId;
  }

  get controllerId(): number {
    return this.node ? this.node.controllerId : this.self.nodeId;
  }

  get local(): BrokerEndpoint {
    return this.self;
  }

  /**
   * Live brokers (registered in the metadata store), by node id, with the addresses of listener
   * `listener` (Kafka answers a client with the endpoints of the listener it connected through;
   * brokers without that listener are left out). No listener: every broker's first PLAINTEXT
   * address (the one brokers use between themselves).
   */
  brokers(listener?: string): BrokerEndpoint[] {
    const all = this.node ? this.node.brokers() : [this.self];
    const out: BrokerEndpoint[] = [];
    for (const b of all) {
      const e = endpointFor(b, listener);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  broker(nodeId: number, listener?: string): BrokerEndpoint | undefined {
    return this.brokers(listener).find((b) => b.nodeId === nodeId);
  }

  /** Leader of a partition: -1 when it has none. */
  leaderOf(topic: string, partition: number): number {
    return this.node ? (this.node.partition(topic, partition).state?.leader ?? -1) : this.self.nodeId;
  }

  /** Whether the cluster metadata has the partition (a single node: always; it checks its store). */
  hasPartition(topic: string, partition: number): boolean {
    if (!this.node) return true;
    const { state, replicas } = this.node.partition(topic, partition);
    return state !== undefined || replicas.length > 0;
  }

  /** A partition as Metadata describes it; `localEpoch` is the log's (single node). */
  partitionInfo(topic: string, partition: number, localEpoch: number): PartitionInfo {
    if (!this.node) {
      const me = [this.self.nodeId];
      return { leader: this.self.nodeId, leaderEpoch: localEpoch, replicas: me, isr: me, offline: [] };
    }
    const { state, replicas } = this.node.partition(topic, partition);
    const live = this.node.cache.brokers;
    const leader = state !== undefined && live.has(state.leader) ? state.leader : -1;
    return {
      leader,
      leaderEpoch: state?.leaderEpoch ?? -1,
      replicas,
      isr: state?.isr ?? [],
      offline: replicas.filter((r) => !live.has(r)),
    };
  }
}
