// The cluster as clients see it: this broker's identity and advertised address, the broker list,
// the controller and each partition's leader, replicas and ISR. A single node is its own
// controller and leads everything; in a cluster (issue 10) the answers come from the broker's
// metadata cache (ClusterNode).

import type { ClusterNode } from './cluster-node.js';

export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
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

  constructor(
    private readonly localClusterId: string,
    nodeId: number,
    private readonly advertisedHost: string | null,
    private readonly advertisedPort: number | null,
    rack: string | null = null,
  ) {
    this.self = { nodeId, host: advertisedHost ?? '127.0.0.1', port: advertisedPort ?? 0, rack };
  }

  /** Called when the listener is bound: the advertised address defaults to the bound one. */
  bound(host: string, port: number): void {
    this.self = {
      ...this.self,
      host: this.advertisedHost ?? host,
      port: this.advertisedPort ?? port,
    };
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

  /** Live brokers (registered in the metadata store), by node id. */
  brokers(): BrokerEndpoint[] {
    return this.node ? this.node.brokers() : [this.self];
  }

  broker(nodeId: number): BrokerEndpoint | undefined {
    return this.brokers().find((b) => b.nodeId === nodeId);
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
