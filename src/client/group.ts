// A simple member of a classic consumer group ("consumer" protocol, range assignor): JoinGroup
// (with the KIP-394 MEMBER_ID_REQUIRED step), SyncGroup (the leader computes the assignment),
// Heartbeat on a timer over its own coordinator connection, OffsetCommit for its generation and
// LeaveGroup on close. A heartbeat that reports a rebalance sets `needsRejoin`; the owner commits
// what it has processed and calls join() again.

import { ErrorCode } from '../../protocol/errors.js';
import { Writer } from '../../protocol/primitives/writer.js';
import { encodeConsumerProtocolAssignment } from '../../protocol/generated/data/consumer-protocol-assignment.js';
import { encodeConsumerProtocolSubscription } from '../../protocol/generated/data/consumer-protocol-subscription.js';
import { commitOffsets, readConsumerAssignment, readConsumerSubscription, type OffsetToCommit } from './admin.js';
import { Apis } from './apis.js';
import { sleep, type KafkaClient, type TopicPartition } from './client.js';
import { ConnectionError, KafkaError, NotFoundError } from './errors.js';

export const RANGE_ASSIGNOR = 'range';
const PURPOSE = 'group';

export interface GroupMemberOptions {
  groupId: string;
  topics: string[];
  /** Default 10 s (Kafka's broker minimum is 6 s). */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to rejoin (default 30 s). */
  rebalanceTimeoutMs?: number;
  /** Default a third of the session timeout. */
  heartbeatIntervalMs?: number;
}

/** ConsumerProtocolSubscription v0 bytes (int16 version, then the body). */
export function encodeSubscription(topics: string[]): Buffer {
  const w = new Writer(64);
  w.int16(0);
  encodeConsumerProtocolSubscription(w, { topics, userData: null }, 0);
  return Buffer.from(w.finish());
}

/** ConsumerProtocolAssignment v0 bytes. */
export function encodeAssignment(partitions: TopicPartition[]): Buffer {
  const byTopic = new Map<string, number[]>();
  for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  const w = new Writer(64);
  w.int16(0);
  encodeConsumerProtocolAssignment(w, { assignedPartitions: [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps.sort((a, b) => a - b) })), userData: null }, 0);
  return Buffer.from(w.finish());
}

/**
 * Kafka's RangeAssignor: per topic, the members subscribed to it in member-id order each take a
 * consecutive range of partitions; the first (partitions % members) take one extra.
 */
export function rangeAssign(members: Array<{ memberId: string; topics: string[] }>, partitionCounts: Map<string, number>): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const n = partitionCounts.get(topic) ?? 0;
    const subscribers = members.filter((m) => m.topics.includes(topic)).map((m) => m.memberId).sort();
    if (n === 0 || subscribers.length === 0) continue;
    const per = Math.floor(n / subscribers.length);
    const extra = n % subscribers.length;
    subscribers.forEach((memberId, i) => {
      const start = per * i + Math.min(i, extra);
      const count = per + (i < extra ? 1 : 0);
      for (let p = start; p < start + count; p++) out.get(memberId)!.push({ topic, partition: p });
    });
  }
  return out;
}

export class GroupMember {
  memberId = '';
  generationId = -1;
  leaderId = '';
  assignment: TopicPartition[] = [];
  /** Set by a heartbeat (or commit) answer that says the group is rebalancing. */
  needsRejoin = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private joining = false;
  private closed = false;
  /** A fatal heartbeat error (e.g. FENCED_INSTANCE_ID), thrown by the next join(). */
  private fatal: Error | undefined;

  constructor(
    private readonly client: KafkaClient,
    private readonly opts: GroupMemberOptions,
  ) {}

  get groupId(): string {
    return this.opts.groupId;
  }

  private get sessionTimeoutMs(): number {
    return this.opts.sessionTimeoutMs ?? 10_000;
  }

  private get rebalanceTimeoutMs(): number {
    return this.opts.rebalanceTimeoutMs ?? 30_000;
  }

  /** Joins (or rejoins) and resolves with this member's partitions once the group is stable. */
  async join(): Promise<TopicPartition[]> {
    if (this.fatal) throw this.fatal;
    this.joining = true;
    try {
      let backoff = 100;
      for (let attempt = 0; ; attempt++) {
        if (this.closed) throw new ConnectionError('group member closed');
        try {
          const done = await this.joinOnce(attempt > 0);
          if (done) {
            this.needsRejoin = false;
            this.startHeartbeats();
            return this.assignment;
          }
        } catch (err) {
          if (!(err instanceof ConnectionError || (err instanceof KafkaError && err.retriable)) || attempt > 20) throw err;
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 2000);
        }
      }
    } finally {
      this.joining = false;
    }
  }

  /** One JoinGroup + SyncGroup; false when the member must simply try again. */
  private async joinOnce(refreshCoordinator: boolean): Promise<boolean> {
    const conn = await this.client.coordinator(this.groupId, PURPOSE, refreshCoordinator);
    const join = await conn.request(
      Apis.joinGroup,
      {
        groupId: this.groupId,
        sessionTimeoutMs: this.sessionTimeoutMs,
        rebalanceTimeoutMs: this.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: RANGE_ASSIGNOR, metadata: encodeSubscription(this.opts.topics) }],
        reason: null,
      },
      { timeoutMs: this.rebalanceTimeoutMs + this.client.requestTimeoutMs },
    );
    switch (join.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.MEMBER_ID_REQUIRED:
        this.memberId = join.memberId;
        return false;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberId = '';
        return false;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        return false;
      default:
        throw new KafkaError(join.errorCode, `JoinGroup "${this.groupId}"`);
    }
    this.memberId = join.memberId;
    this.generationId = join.generationId;
    this.leaderId = join.leader;
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (join.leader === join.memberId) {
      const members = join.members.map((m) => ({ memberId: m.memberId, topics: readConsumerSubscription(m.metadata) }));
      const counts = new Map<string, number>();
      for (const topic of new Set(members.flatMap((m) => m.topics))) {
        try {
          counts.set(topic, (await this.client.topic(topic, { refresh: true })).partitions.length);
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
        }
      }
      assignments = [...rangeAssign(members, counts)].map(([memberId, tps]) => ({ memberId, assignment: encodeAssignment(tps) }));
    }
    const sync = await conn.request(
      Apis.syncGroup,
      {
        groupId: this.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: join.protocolName ?? RANGE_ASSIGNOR,
        assignments,
      },
      { timeoutMs: this.rebalanceTimeoutMs + this.client.requestTimeoutMs },
    );
    switch (sync.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.REBALANCE_IN_PROGRESS:
      case ErrorCode.ILLEGAL_GENERATION:
        return false;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberId = '';
        return false;
      default:
        throw new KafkaError(sync.errorCode, `SyncGroup "${this.groupId}"`);
    }
    this.assignment = readConsumerAssignment(sync.assignment).sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    return true;
  }

  private startHeartbeats(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    const interval = this.opts.heartbeatIntervalMs ?? Math.max(100, Math.floor(this.sessionTimeoutMs / 3));
    const tick = async (): Promise<void> => {
      if (this.closed) return;
      if (!this.joining && !this.needsRejoin) await this.heartbeat();
      if (!this.closed) this.heartbeatTimer = setTimeout(() => void tick(), interval);
    };
    this.heartbeatTimer = setTimeout(() => void tick(), interval);
  }

  private async heartbeat(): Promise<void> {
    try {
      const conn = await this.client.coordinator(this.groupId, PURPOSE);
      const r = await conn.request(Apis.heartbeat, { groupId: this.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: null });
      switch (r.errorCode) {
        case ErrorCode.NONE:
          return;
        case ErrorCode.REBALANCE_IN_PROGRESS:
        case ErrorCode.ILLEGAL_GENERATION:
          this.needsRejoin = true;
          return;
        case ErrorCode.UNKNOWN_MEMBER_ID:
          this.memberId = '';
          this.needsRejoin = true;
          return;
        case ErrorCode.NOT_COORDINATOR:
        case ErrorCode.COORDINATOR_NOT_AVAILABLE:
        case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
          await this.client.coordinatorId(this.groupId, 0, true).catch(() => undefined);
          return;
        default:
          this.fatal = new KafkaError(r.errorCode, `Heartbeat "${this.groupId}"`);
          this.needsRejoin = true;
      }
    } catch {
      // A lost connection is retried at the next tick (a new connection is opened on demand).
    }
  }

  /** Commits offsets for this generation. False (and needsRejoin) if the group moved on meanwhile. */
  async commit(offsets: OffsetToCommit[]): Promise<boolean> {
    try {
      await commitOffsets(this.client, this.groupId, offsets, { generationId: this.generationId, memberId: this.memberId }, PURPOSE);
      return true;
    } catch (err) {
      if (
        err instanceof KafkaError &&
        (err.code === ErrorCode.REBALANCE_IN_PROGRESS || err.code === ErrorCode.ILLEGAL_GENERATION || err.code === ErrorCode.UNKNOWN_MEMBER_ID)
      ) {
        if (err.code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
        this.needsRejoin = true;
        return false;
      }
      throw err;
    }
  }

  /** Stops heartbeats and leaves the group (best effort: the session timeout covers a failure). */
  async leave(): Promise<void> {
    this.closed = true;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.memberId === '') return;
    try {
      const conn = await this.client.coordinator(this.groupId, PURPOSE);
      await conn.request(
        Apis.leaveGroup,
        { groupId: this.groupId, memberId: this.memberId, members: [{ memberId: this.memberId, groupInstanceId: null, reason: 'the consumer is closing' }] },
        { timeoutMs: 5_000 },
      );
    } catch {
      // ignore
    }
  }
}
