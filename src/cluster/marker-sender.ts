// Transaction markers in a cluster (issue 10): the transaction coordinator's MarkerWriter when
// the partitions of a transaction are led by several brokers (Kafka's TransactionMarkerChannel
// Manager). A partition led here gets its marker from the local replica manager (answered once
// the partition's ISR has it, as Kafka appends markers with acks=-1); one led elsewhere gets it through a WriteTxnMarkers request to its leader, over one connection
// per broker (src/client/connection.ts). Markers asked for in the same turn of the event loop
// are sent to a broker in one request (one entry per transaction, its partitions grouped by
// topic). The answer is the leader's partition error code; the coordinator decides what to retry
// (src/txn/coordinator.ts markerOutcome).
//
// As in Kafka: a partition the cluster metadata no longer has (topic deleted) is answered
// UNKNOWN_TOPIC_OR_PARTITION (the coordinator drops it); a partition with no live leader
// LEADER_NOT_AVAILABLE (retried); a leader that answers UNKNOWN_TOPIC_OR_PARTITION for a partition
// our metadata still has (its metadata lags) NOT_LEADER_OR_FOLLOWER (retried); a leader that does
// not serve WriteTxnMarkers UNSUPPORTED_VERSION (dropped). A connection error or timeout rejects
// the markers of that request (retried).

import { ErrorCode } from '../../protocol/errors.js';
import type { WriteTxnMarkersRequestWritableTxnMarker } from '../../protocol/generated/27-write-txn-markers.js';
import { Apis } from '../client/apis.js';
import { Connection, type ConnectionOptions } from '../client/connection.js';
import { UnsupportedVersionError } from '../client/errors.js';
import type { Logger } from '../common/logger.js';
import type { MarkerWriter } from '../txn/types.js';

export interface MarkerSenderDeps {
  /** TLS and SASL of the inter-broker listener (inter.broker.listener.name), if it has them. */
  security?: Pick<ConnectionOptions, 'tls' | 'sasl'>;
  nodeId: number;
  /** The partition's leader in the cluster metadata, -1 when it has none. */
  leaderOf(topic: string, partition: number): number;
  /** Whether the cluster metadata still has the partition (false once its topic is deleted). */
  partitionExists(topic: string, partition: number): boolean;
  /** A live broker's address, undefined when it is not live. */
  brokerAddress(nodeId: number): { host: string; port: number } | undefined;
  /** Markers of partitions led here (the replica manager; the answer may wait for the ISR). */
  local(): MarkerWriter;
  logger: Logger;
  /** Timeout of one WriteTxnMarkers request (default 35 s: the leader may wait 30 s for its ISR). */
  requestTimeoutMs?: number;
}

interface PendingMarker {
  topic: string;
  partition: number;
  producerId: bigint;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  resolve(code: number): void;
  reject(err: Error): void;
}

interface Peer {
  address: string;
  conn: Promise<Connection> | undefined;
  queue: PendingMarker[];
  flushScheduled: boolean;
}

export class TxnMarkerSender implements MarkerWriter {
  private readonly peers = new Map<number, Peer>();
  private closed = false;
  private readonly timeoutMs: number;

  constructor(private readonly deps: MarkerSenderDeps) {
    this.timeoutMs = deps.requestTimeoutMs ?? 35_000;
  }

  writeTxnMarker(topic: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch: number): number | Promise<number> {
    if (this.closed) return Promise.reject(new Error('the marker sender is closed'));
    const leader = this.deps.leaderOf(topic, partition);
    if (leader === this.deps.nodeId) return this.deps.local().writeTxnMarker(topic, partition, producerId, producerEpoch, commit, coordinatorEpoch);
    if (!this.deps.partitionExists(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const addr = leader < 0 ? undefined : this.deps.brokerAddress(leader);
    if (addr === undefined) return ErrorCode.LEADER_NOT_AVAILABLE;
    const peer = this.peer(leader, `${addr.host}:${addr.port}`);
    return new Promise<number>((resolve, reject) => {
      peer.queue.push({ topic, partition, producerId, producerEpoch, commit, coordinatorEpoch, resolve, reject });
      if (!peer.flushScheduled) {
        peer.flushScheduled = true;
        setImmediate(() => this.flush(leader, peer));
      }
    });
  }

  /** Closes the connections; markers in flight are rejected. */
  close(): void {
    this.closed = true;
    for (const [, peer] of this.peers) {
      for (const m of peer.queue.splice(0)) m.reject(new Error('the marker sender is closed'));
      peer.conn?.then((c) => c.close(), () => {});
    }
    this.peers.clear();
  }

  /** The broker's pool entry; a new address replaces the connection. */
  private peer(nodeId: number, address: string): Peer {
    let peer = this.peers.get(nodeId);
    if (peer !== undefined && peer.address !== address) {
      peer.conn?.then((c) => c.close(), () => {});
      peer.conn = undefined;
      peer.address = address;
    }
    if (peer === undefined) {
      peer = { address, conn: undefined, queue: [], flushScheduled: false };
      this.peers.set(nodeId, peer);
    }
    return peer;
  }

  private connection(nodeId: number, peer: Peer): Promise<Connection> {
    const current = peer.conn;
    if (current !== undefined) {
      return current.then(
        (c) => {
          if (!c.closed) return c;
          if (peer.conn === current) peer.conn = undefined;
          return this.connection(nodeId, peer);
        },
        () => {
          if (peer.conn === current) peer.conn = undefined;
          return this.connection(nodeId, peer);
        },
      );
    }
    const i = peer.address.lastIndexOf(':');
    const host = peer.address.slice(0, i);
    const port = Number(peer.address.slice(i + 1));
    const opening = Connection.open(host, port, {
      ...this.deps.security,
      clientId: `broker-${this.deps.nodeId}-txn-markers`,
      softwareName: 'brook-txn-marker-sender',
      requestTimeoutMs: this.timeoutMs,
      connectTimeoutMs: Math.min(this.timeoutMs, 10_000),
    }).then((c) => {
      if (this.closed) c.close();
      return c;
    });
    peer.conn = opening;
    // A failed open is forgotten at once, so the next round connects again.
    opening.catch(() => {
      if (peer.conn === opening) peer.conn = undefined;
    });
    return opening;
  }

  /** Sends what was queued for the broker: one request, one entry per (producer id, epoch, result, coordinator epoch). */
  private flush(nodeId: number, peer: Peer): void {
    peer.flushScheduled = false;
    const batch = peer.queue.splice(0);
    if (batch.length === 0 || this.closed) {
      for (const m of batch) m.reject(new Error('the marker sender is closed'));
      return;
    }
    // Kafka's response is keyed by producer id: entries of one producer id go in separate requests.
    const requests: Array<Map<string, PendingMarker[]>> = [];
    for (const m of batch) {
      const key = `${m.producerId}:${m.producerEpoch}:${m.commit}:${m.coordinatorEpoch}`;
      let req = requests.find((r) => r.has(key) || ![...r.values()].some((ms) => ms[0]!.producerId === m.producerId));
      if (req === undefined) requests.push((req = new Map()));
      const list = req.get(key);
      if (list === undefined) req.set(key, [m]);
      else list.push(m);
    }
    for (const req of requests) void this.send(nodeId, peer, [...req.values()]);
  }

  private async send(nodeId: number, peer: Peer, entries: PendingMarker[][]): Promise<void> {
    const all = entries.flat();
    const markers: WriteTxnMarkersRequestWritableTxnMarker[] = entries.map((ms) => {
      const byTopic = new Map<string, number[]>();
      for (const m of ms) {
        const list = byTopic.get(m.topic);
        if (list === undefined) byTopic.set(m.topic, [m.partition]);
        else list.push(m.partition);
      }
      const first = ms[0]!;
      return {
        producerId: first.producerId,
        producerEpoch: first.producerEpoch,
        transactionResult: first.commit,
        coordinatorEpoch: first.coordinatorEpoch,
        topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
      };
    });
    let resp;
    try {
      const conn = await this.connection(nodeId, peer);
      resp = await conn.request(Apis.writeTxnMarkers, { markers });
    } catch (err) {
      if (err instanceof UnsupportedVersionError) {
        this.deps.logger.warn({ broker: nodeId, err: err.message }, 'a partition leader does not take WriteTxnMarkers; its markers are dropped');
        for (const m of all) m.resolve(ErrorCode.UNSUPPORTED_VERSION);
        return;
      }
      for (const m of all) m.reject(err as Error);
      return;
    }
    // Answers by (producer id, topic, partition); a partition left out of the answer is retried.
    const codes = new Map<string, number>();
    for (const r of resp.markers) {
      for (const t of r.topics) for (const p of t.partitions) codes.set(`${r.producerId}\u0000${t.name}\u0000${p.partitionIndex}`, p.errorCode);
    }
    for (const m of all) {
      let code = codes.get(`${m.producerId}\u0000${m.topic}\u0000${m.partition}`) ?? ErrorCode.NETWORK_EXCEPTION;
      if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && this.deps.partitionExists(m.topic, m.partition)) code = ErrorCode.NOT_LEADER_OR_FOLLOWER;
      m.resolve(code);
    }
  }
}
