// State of one classic group: members, static-member mapping, pending members, protocol
// bookkeeping, committed offsets and the explicit state machine. No timers and no I/O here:
// the coordinator (src/group/coordinator.ts) drives transitions and owns timers and persistence.

import { Reader } from '../../protocol/primitives/reader.js';
import { decodeConsumerProtocolSubscription } from '../../protocol/generated/data/consumer-protocol-subscription.js';
import type { Timer } from '../common/clock.js';
import type {
  CommittedOffset,
  GroupSnapshot,
  GroupState,
  JoinGroupResult,
  MemberSnapshot,
  SyncGroupResult,
} from './types.js';

export type JoinCallback = (result: JoinGroupResult) => void;
export type SyncCallback = (result: SyncGroupResult) => void;

/** The protocol type of Kafka consumers (ConsumerProtocol.PROTOCOL_TYPE). */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

/** States a group may move to each state from (Kafka's validPreviousStates). */
const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Empty: ['PreparingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export class IllegalGroupTransition extends Error {}

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export class Member {
  /** Set while a JoinGroup of this member waits for the rebalance to complete. */
  awaitingJoin: JoinCallback | null = null;
  /** Set while a SyncGroup of this member waits for the leader's assignment. */
  awaitingSync: SyncCallback | null = null;
  /** Joined in the current rebalance for the first time: its join may time out. */
  isNew = false;
  /** Session (or new-member join) expiry. */
  sessionTimer: Timer | null = null;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: Protocol[],
    public assignment: Buffer = Buffer.alloc(0),
  ) {}

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  /** Distinct protocol names, in preference order. */
  protocolNames(): string[] {
    return [...new Set(this.protocols.map((p) => p.name))];
  }

  metadata(protocol: string): Buffer {
    const p = this.protocols.find((x) => x.name === protocol);
    if (!p) throw new Error(`member ${this.memberId} does not support protocol ${protocol}`);
    return p.metadata;
  }

  /** Same protocols, same order, same metadata bytes. */
  matches(protocols: Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata));
  }

  /** The member's most preferred protocol among the candidates. */
  vote(candidates: Set<string>): string {
    const p = this.protocols.find((x) => candidates.has(x.name));
    if (!p) throw new Error(`member ${this.memberId} supports none of the candidate protocols`);
    return p.name;
  }

  /**
   * Whether an expiring session timer should leave the member alone. Members waiting in a
   * rebalance count as alive, except new members whose very first join has not completed.
   */
  hasSatisfiedHeartbeat(): boolean {
    if (this.isNew) return false;
    return this.awaitingJoin !== null || this.awaitingSync !== null;
  }

  snapshot(): MemberSnapshot {
    return {
      memberId: this.memberId,
      groupInstanceId: this.groupInstanceId,
      clientId: this.clientId,
      clientHost: this.clientHost,
      rebalanceTimeoutMs: this.rebalanceTimeoutMs,
      sessionTimeoutMs: this.sessionTimeoutMs,
      protocols: this.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      assignment: this.assignment,
    };
  }
}

/** What the join phase is waiting on: the first rebalance's delay, or members rejoining. */
export type JoinPhase = { kind: 'initial'; delayMs: number; remainingMs: number } | { kind: 'rejoin' };

export class ClassicGroup {
  private stateValue: GroupState;
  stateTimestamp: number;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;

  /** Insertion-ordered: the first member is the fallback leader. */
  readonly members = new Map<string, Member>();
  /** group.instance.id -> member id. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, with their expiry timers. */
  readonly pendingMembers = new Map<string, Timer | null>();
  /** Members that received the JoinGroup response of this generation but have not synced yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** Per protocol name: how many members support it. */
  private readonly supportedProtocols = new Map<string, number>();
  /** A member joined during the initial delayed join (lets it be extended). */
  newMemberAdded = false;
  /** Topics the consumer members subscribe to; null when unknown (treated as "all"). */
  subscribedTopics: Set<string> | null = null;

  /** topic -> partition -> committed offset, in commit order. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();

  joinTimer: Timer | null = null;
  joinPhase: JoinPhase | null = null;
  syncTimer: Timer | null = null;

  constructor(readonly groupId: string, initialState: GroupState, now: number) {
    this.stateValue = initialState;
    this.stateTimestamp = now;
  }

  get state(): GroupState {
    return this.stateValue;
  }

  is(state: GroupState): boolean {
    return this.stateValue === state;
  }

  transitionTo(target: GroupState, now: number): void {
    if (!VALID_PREVIOUS[target].includes(this.stateValue)) {
      throw new IllegalGroupTransition(`group ${this.groupId}: cannot move from ${this.stateValue} to ${target}`);
    }
    this.stateValue = target;
    this.stateTimestamp = now;
  }

  /** A rebalance can start from Stable, CompletingRebalance or Empty. */
  canRebalance(): boolean {
    return VALID_PREVIOUS.PreparingRebalance.includes(this.stateValue);
  }

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): Member | undefined {
    return this.members.get(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  isPending(memberId: string): boolean {
    return this.pendingMembers.has(memberId);
  }

  isConsumerGroup(): boolean {
    return this.protocolType === CONSUMER_PROTOCOL_TYPE;
  }

  numAwaitingJoin(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.awaitingJoin) n++;
    return n;
  }

  /** Every member has rejoined and no MEMBER_ID_REQUIRED member is still expected. */
  hasAllMembersJoined(): boolean {
    return this.numAwaitingJoin() === this.members.size && this.pendingMembers.size === 0;
  }

  /** The largest rebalance timeout of the members (0 without members). */
  rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  add(member: Member, callback: JoinCallback | null): void {
    if (member.groupInstanceId !== null) {
      if (this.staticMembers.has(member.groupInstanceId)) {
        throw new Error(`static member ${member.groupInstanceId} is already in group ${this.groupId}`);
      }
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.countProtocols(member, 1);
    member.awaitingJoin = callback;
    this.pendingMembers.delete(member.memberId);
  }

  /** Removes a member (or a pending member id). The caller answers its callbacks and stops its timers. */
  remove(memberId: string): Member | undefined {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      this.countProtocols(member, -1);
      if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.isLeader(memberId)) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? null : next.value;
    }
    this.pendingMembers.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    return member;
  }

  updateMember(member: Member, protocols: Protocol[], rebalanceTimeoutMs: number, sessionTimeoutMs: number, callback: JoinCallback | null): void {
    this.countProtocols(member, -1);
    member.protocols = protocols;
    this.countProtocols(member, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    member.awaitingJoin = callback;
  }

  /** Gives a static member a new member id; the old id's waiting requests are fenced. */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string, fenced: { join: JoinGroupResult; sync: SyncGroupResult }): Member {
    const member = this.members.get(oldMemberId);
    if (!member) throw new Error(`cannot replace unknown member ${oldMemberId}`);
    this.members.delete(oldMemberId);
    this.invokeJoin(member, { ...fenced.join, memberId: oldMemberId });
    this.invokeSync(member, fenced.sync);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    this.staticMembers.set(groupInstanceId, newMemberId);
    return member;
  }

  /** Answers a waiting JoinGroup; false when none waits. */
  invokeJoin(member: Member, result: JoinGroupResult): boolean {
    const cb = member.awaitingJoin;
    if (!cb) return false;
    member.awaitingJoin = null;
    cb(result);
    return true;
  }

  /** Answers a waiting SyncGroup; false when none waits. */
  invokeSync(member: Member, result: SyncGroupResult): boolean {
    const cb = member.awaitingSync;
    if (!cb) return false;
    member.awaitingSync = null;
    cb(result);
    return true;
  }

  /**
   * Keeps the current leader if it rejoined, otherwise elects any rejoined member. False when
   * the group has no leader (no members) or nobody rejoined.
   */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader?.awaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  /** Protocols supported by every member. */
  candidateProtocols(): Set<string> {
    const out = new Set<string>();
    for (const [name, count] of this.supportedProtocols) if (count === this.members.size) out.add(name);
    return out;
  }

  /** Each member votes for its preferred candidate; most votes wins (ties: first to reach it). */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`cannot select a protocol for empty group ${this.groupId}`);
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    let best = '';
    let bestVotes = 0;
    for (const m of this.members.values()) {
      const p = m.vote(candidates);
      const v = (votes.get(p) ?? 0) + 1;
      votes.set(p, v);
      if (v > bestVotes) {
        best = p;
        bestVotes = v;
      }
    }
    return best;
  }

  /** Whether a member with this protocol type and these protocols may join. */
  supportsProtocols(protocolType: string, protocolNames: string[]): boolean {
    if (this.is('Empty')) return protocolType !== '' && protocolNames.length > 0;
    return this.protocolType === protocolType && protocolNames.some((n) => (this.supportedProtocols.get(n) ?? 0) === this.members.size);
  }

  /** Next generation: CompletingRebalance with a selected protocol, or Empty without members. */
  initNextGeneration(now: number): void {
    this.generationId += 1;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance', now);
    } else {
      this.protocolName = null;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('Empty', now);
    }
    this.pendingSyncMembers.clear();
  }

  /** Every member's metadata for the selected protocol (the leader's JoinGroup response). */
  currentMemberMetadata(): JoinGroupResult['members'] {
    const protocol = this.protocolName;
    if (protocol === null || this.is('Dead') || this.is('PreparingRebalance')) {
      throw new Error(`no member metadata for group ${this.groupId} in state ${this.state}`);
    }
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata(protocol) }));
  }

  /**
   * Union of the topics the members subscribe to, when the group runs the consumer protocol:
   * each member's metadata is a ConsumerProtocolSubscription (int16 version, then the struct; its
   * v0 fields prefix every version, so v0 is what is read). null when unknown or unparsable.
   */
  computeSubscribedTopics(): Set<string> | null {
    if (!this.isConsumerGroup()) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const parsed = parseSubscribedTopics(m.metadata(this.protocolName));
      if (parsed === null) return null;
      for (const t of parsed) topics.add(t);
    }
    return topics;
  }

  /** Unknown subscriptions count as subscribed, to be safe. */
  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }

  // ---- offsets ----

  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  putOffset(o: CommittedOffset): void {
    let byPartition = this.offsets.get(o.topic);
    if (!byPartition) {
      byPartition = new Map();
      this.offsets.set(o.topic, byPartition);
    }
    byPartition.set(o.partition, o);
  }

  allOffsets(): CommittedOffset[] {
    const out: CommittedOffset[] = [];
    for (const byPartition of this.offsets.values()) out.push(...byPartition.values());
    return out;
  }

  hasOffsets(): boolean {
    return this.offsets.size > 0;
  }

  /** Removes these partitions' offsets; returns the ones that existed. */
  removeOffsets(partitions: Array<{ topic: string; partition: number }>): CommittedOffset[] {
    const removed: CommittedOffset[] = [];
    for (const { topic, partition } of partitions) {
      const byPartition = this.offsets.get(topic);
      const o = byPartition?.get(partition);
      if (!byPartition || !o) continue;
      byPartition.delete(partition);
      if (byPartition.size === 0) this.offsets.delete(topic);
      removed.push(o);
    }
    return removed;
  }

  /**
   * Offsets past retention (Kafka 2.1+, KIP-211). Empty groups with a protocol type count
   * retention from the moment they became empty; simple groups (no protocol type) and topics a
   * stable consumer group no longer subscribes to count from the commit. An explicit expire
   * timestamp (OffsetCommit v2-v4 retention time) wins.
   */
  expiredOffsets(now: number, retentionMs: number): CommittedOffset[] {
    let base: ((o: CommittedOffset) => number) | null = null;
    let skipTopics: Set<string> = new Set();
    if (this.protocolType !== null && this.is('Empty')) {
      base = () => this.stateTimestamp;
    } else if (this.protocolType === CONSUMER_PROTOCOL_TYPE && this.subscribedTopics !== null && this.is('Stable')) {
      base = (o) => o.commitTimestamp;
      skipTopics = this.subscribedTopics;
    } else if (this.protocolType === null) {
      base = (o) => o.commitTimestamp;
    }
    if (base === null) return [];
    const expired: CommittedOffset[] = [];
    for (const o of this.allOffsets()) {
      if (skipTopics.has(o.topic)) continue;
      const isExpired = o.expireTimestamp < 0 ? now - base(o) >= retentionMs : now >= o.expireTimestamp;
      if (isExpired) expired.push(o);
    }
    return expired;
  }

  snapshot(): GroupSnapshot {
    return {
      groupId: this.groupId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      generationId: this.generationId,
      leaderId: this.leaderId,
      stateTimestamp: this.stateTimestamp,
      members: [...this.members.values()].map((m) => m.snapshot()),
    };
  }

  private countProtocols(member: Member, delta: number): void {
    for (const name of member.protocolNames()) {
      const n = (this.supportedProtocols.get(name) ?? 0) + delta;
      if (n === 0) this.supportedProtocols.delete(name);
      else this.supportedProtocols.set(name, n);
    }
  }
}

/** Topics of a ConsumerProtocolSubscription, or null when the bytes do not parse. */
export function parseSubscribedTopics(metadata: Buffer): string[] | null {
  const r = new Reader(metadata);
  const version = r.int16();
  if (r.error !== undefined || version < 0) return null;
  const sub = decodeConsumerProtocolSubscription(r, 0);
  if (r.error !== undefined) return null;
  return sub.topics;
}
