// The cluster as clients see it: this broker's identity and advertised address, the broker list
// and the controller. A single node is its own controller; the replication issue extends this.

export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export class ClusterView {
  /** Filled in once the listener is bound (the port may be ephemeral). */
  private self: BrokerEndpoint;

  constructor(
    readonly clusterId: string,
    nodeId: number,
    private readonly advertisedHost: string | null,
    private readonly advertisedPort: number | null,
  ) {
    this.self = { nodeId, host: advertisedHost ?? '127.0.0.1', port: advertisedPort ?? 0, rack: null };
  }

  /** Called when the listener is bound: the advertised address defaults to the bound one. */
  bound(host: string, port: number): void {
    this.self = {
      ...this.self,
      host: this.advertisedHost ?? host,
      port: this.advertisedPort ?? port,
    };
  }

  get nodeId(): number {
    return this.self.nodeId;
  }

  get controllerId(): number {
    return this.self.nodeId;
  }

  get local(): BrokerEndpoint {
    return this.self;
  }

  brokers(): BrokerEndpoint[] {
    return [this.self];
  }

  /** Leader of a partition: this node, until replication exists. */
  leaderOf(_topic: string, _partition: number): number {
    return this.self.nodeId;
  }
}
