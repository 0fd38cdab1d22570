// The classic group coordinator: JoinGroup/SyncGroup/Heartbeat/LeaveGroup membership with
// rebalances, static membership (KIP-345), the member-id-required join (KIP-394), committed
// offsets with expiration (KIP-211), and the admin calls (Describe/List/DeleteGroups,
// OffsetDelete). Behaviour follows Kafka's classic coordinator; the places where Brook differs on
// purpose are marked "Brook:".
//
// Concurrency: every operation and every timer callback of a group runs in that group's serial
// queue, so nothing interleaves mid-operation. JoinGroup and SyncGroup answers are deferred:
// their promises resolve when the rebalance completes or the leader syncs.
//
// Ownership: a single node serves every group, loaded at construction. A cluster broker creates
// the coordinator with ownership 'explicit' and serves only the groups of the __consumer_offsets
// partitions it leads (Kafka's onElection / onResignation): other groups answer NOT_COORDINATOR,
// groups of a partition still loading COORDINATOR_LOAD_IN_PROGRESS (checked in the group's queue,
// after the closed check, like Kafka's validateGroupStatus). Loading is synchronous (the store's
// reads are), so the loading state is only visible to requests made while it runs.
//
// Persistence (GroupPersistence): storeGroup when the leader's assignment completes a generation
// (SyncGroup, the state Kafka writes), when a rebalance ends with no members (the group becomes
// Empty at a new generation), and when a static member replaces its member id without a
// rebalance; storeOffsets on each accepted OffsetCommit; deleteOffsets/deleteGroup for expired,
// deleted or topic-less offsets and for removed groups.

import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/errors.js';
import type { Clock, Timer } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { BrokerConfig } from '../config/config.js';
import { coordinatorWriteError } from './coordinator-errors.js';
import { ClassicGroup, Member, type JoinCallback, type Protocol, type SyncCallback } from './group.js';
import { SerialQueues } from './serial-queue.js';
import type {
  CommittedOffset,
  DescribedGroup,
  GroupCoordinatorApi,
  GroupPersistence,
  GroupState,
  HeartbeatInput,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupInput,
  LeaveGroupResult,
  ListedGroup,
  OffsetCommitInput,
  OffsetCommitResult,
  OffsetFetchInput,
  OffsetFetchResult,
  SyncGroupInput,
  SyncGroupResult,
  TxnOffsetCommitInput,
} from './types.js';

export interface GroupCoordinatorConfig {
  /** group.initial.rebalance.delay.ms */
  initialRebalanceDelayMs: number;
  /** offsets.retention.minutes, in ms */
  offsetsRetentionMs: number;
  /** group.max.size */
  groupMaxSize: number;
  /** group.min.session.timeout.ms */
  minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  maxSessionTimeoutMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** offset.metadata.max.bytes (Kafka default 4096) */
  offsetMetadataMaxBytes?: number;
}

export interface GroupCoordinatorOptions {
  clock: Clock;
  /**
   * Clock of group.initial.rebalance.delay.ms, a delay that only batches joins (default `clock`).
   * The broker passes one bounded by real time, so a ManualClock never advanced cannot hold a
   * first join (issue 9); session and rebalance timeouts stay on `clock`.
   */
  delayClock?: Clock;
  persistence: GroupPersistence;
  config: GroupCoordinatorConfig;
  logger: Logger;
  /** Whether a topic partition exists (OffsetCommit/OffsetDelete answer UNKNOWN_TOPIC_OR_PARTITION otherwise). */
  topicExists?: (topic: string, partition: number) => boolean;
  /** The __consumer_offsets partition of a group (transaction markers are per partition). */
  partitionFor?: (groupId: string) => number;
  /**
   * Which __consumer_offsets partitions this coordinator serves. 'all' (default, a single node):
   * every partition, everything loaded at construction. 'explicit' (a cluster): none until
   * onElection(partition) loads one; onResignation(partition) unloads it. Requests for a group of
   * a partition not owned answer NOT_COORDINATOR. Needs `partitionFor` and
   * `persistence.loadPartition`.
   */
  ownership?: 'all' | 'explicit';
}

/** JoinGroup input with the JoinGroup v9+ flag (KIP-814); absent = false (pre-v9 behaviour). */
export type ClassicJoinGroupInput = JoinGroupInput & { supportSkippingAssignment?: boolean };

/** How long a brand-new member's first JoinGroup may wait in a rebalance (Kafka: 5 minutes). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;
export const DEFAULT_OFFSET_METADATA_MAX_BYTES = 4096;

const EMPTY = Buffer.alloc(0);
const NONE = ErrorCode.NONE;

function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [], skipAssignment: false };
}

function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

function once<T>(fn: (v: T) => void): (v: T) => void {
  let done = false;
  return (v) => {
    if (done) return;
    done = true;
    fn(v);
  };
}

function copyProtocols(protocols: Array<{ name: string; metadata: Buffer }>): Protocol[] {
  return protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
}

export class GroupCoordinator implements GroupCoordinatorApi {
  private readonly clock: Clock;
  private readonly delayClock: Clock;
  private readonly persistence: GroupPersistence;
  private readonly cfg: Required<GroupCoordinatorConfig>;
  private readonly log: Logger;
  private readonly topicExists: (topic: string, partition: number) => boolean;
  private readonly partitionFor: ((groupId: string) => number) | undefined;
  private readonly groups = new Map<string, ClassicGroup>();
  /** Transactional offset commits waiting for their marker: group -> producer id -> "partition:topic" -> offset. */
  private readonly pendingTxn = new Map<string, Map<bigint, Map<string, CommittedOffset>>>();
  private readonly queues = new SerialQueues();
  private retentionTimer: Timer | null = null;
  private closed = false;
  /** Explicit ownership: only the partitions in `owned` are served. */
  private readonly explicit: boolean;
  private readonly owned = new Set<number>();
  private readonly loading = new Set<number>();
  /** Coordinator (leader) epoch last seen per partition: older elections/resignations are ignored. */
  private readonly epochs = new Map<number, number>();

  constructor(opts: GroupCoordinatorOptions) {
    this.clock = opts.clock;
    this.delayClock = opts.delayClock ?? opts.clock;
    this.persistence = opts.persistence;
    this.cfg = { offsetMetadataMaxBytes: DEFAULT_OFFSET_METADATA_MAX_BYTES, ...opts.config };
    this.log = opts.logger;
    this.topicExists = opts.topicExists ?? (() => true);
    this.partitionFor = opts.partitionFor;
    this.explicit = opts.ownership === 'explicit';
    if (this.explicit) {
      if (opts.partitionFor === undefined) throw new Error('explicit ownership needs partitionFor');
      if (opts.persistence.loadPartition === undefined) throw new Error('explicit ownership needs a persistence with loadPartition');
    } else {
      this.load();
    }
    this.scheduleRetentionCheck();
  }

  /** The coordinator settings from broker configs (Kafka names and defaults). */
  static defaultsFrom(config: BrokerConfig): GroupCoordinatorConfig {
    return {
      initialRebalanceDelayMs: config.int('group.initial.rebalance.delay.ms'),
      offsetsRetentionMs: config.int('offsets.retention.minutes') * 60_000,
      groupMaxSize: config.int('group.max.size'),
      minSessionTimeoutMs: config.int('group.min.session.timeout.ms'),
      maxSessionTimeoutMs: config.int('group.max.session.timeout.ms'),
      offsetsRetentionCheckIntervalMs: config.int('offsets.retention.check.interval.ms'),
      offsetMetadataMaxBytes: config.int('offset.metadata.max.bytes'),
    };
  }

  // ---------------------------------------------------------------- JoinGroup

  joinGroup(input: ClassicJoinGroupInput): Promise<JoinGroupResult> {
    if (this.closed) return Promise.resolve(joinError(input.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (input.groupId === '') return Promise.resolve(joinError(input.memberId, ErrorCode.INVALID_GROUP_ID));
    return new Promise((resolve) => {
      const respond = once(resolve);
      this.queues
        .run(input.groupId, () => this.doJoin(input, respond))
        .catch((e: unknown) => {
          this.log.error({ err: e, groupId: input.groupId }, 'JoinGroup failed');
          respond(joinError(input.memberId, ErrorCode.UNKNOWN_SERVER_ERROR));
        });
    });
  }

  private doJoin(input: ClassicJoinGroupInput, respond: JoinCallback): void {
    if (this.closed) return respond(joinError(input.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const owner = this.ownership(input.groupId);
    if (owner !== NONE) return respond(joinError(input.memberId, owner));
    if (input.sessionTimeoutMs < this.cfg.minSessionTimeoutMs || input.sessionTimeoutMs > this.cfg.maxSessionTimeoutMs) {
      return respond(joinError(input.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const isUnknownMember = input.memberId === '';
    let group = this.groups.get(input.groupId);
    if (!group) {
      // A group is created by a join without member id; a member id for a missing group is unknown.
      if (!isUnknownMember) return respond(joinError(input.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = new ClassicGroup(input.groupId, 'Empty', this.clock.now());
      this.groups.set(input.groupId, group);
      this.log.info({ groupId: input.groupId, protocolType: input.protocolType }, 'group created');
    }

    if (!this.acceptJoiningMember(group, input.memberId)) {
      this.dropMember(group, input.memberId);
      respond(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    } else if (isUnknownMember) {
      this.joinNewMember(group, input, respond);
    } else {
      this.joinExistingMember(group, input, respond);
    }

    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  /** Room for the member: existing members always, new ones up to group.max.size. */
  private acceptJoiningMember(group: ClassicGroup, memberId: string): boolean {
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        // Counting members that already rejoined lets the last ones to rejoin be kicked out
        // when group.max.size was lowered.
        return (group.get(memberId)?.awaitingJoin != null) || group.numAwaitingJoin() < this.cfg.groupMaxSize;
      case 'CompletingRebalance':
      case 'Stable':
        return group.has(memberId) || group.size < this.cfg.groupMaxSize;
    }
  }

  private joinNewMember(group: ClassicGroup, input: ClassicJoinGroupInput, respond: JoinCallback): void {
    if (group.is('Dead')) return respond(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(input.protocolType, input.protocols.map((p) => p.name))) {
      return respond(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const newMemberId = `${input.groupInstanceId ?? input.clientId}-${randomUUID()}`;
    if (input.groupInstanceId !== null) {
      const oldMemberId = group.staticMembers.get(input.groupInstanceId);
      if (oldMemberId !== undefined) this.updateStaticMemberAndRebalance(group, oldMemberId, newMemberId, input, respond);
      else this.addMemberAndRebalance(group, newMemberId, input, respond);
    } else if (input.requireKnownMemberId) {
      // KIP-394: hand out the id and expect the member back with it before the session times out.
      const timer = this.groupTimer(group, input.sessionTimeoutMs, () => {
        if (!group.isPending(newMemberId)) return;
        this.log.debug({ groupId: group.groupId, memberId: newMemberId }, 'pending member expired');
        this.dropMember(group, newMemberId);
      });
      group.pendingMembers.set(newMemberId, timer);
      respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(group, newMemberId, input, respond);
    }
  }

  private joinExistingMember(group: ClassicGroup, input: ClassicJoinGroupInput, respond: JoinCallback): void {
    const memberId = input.memberId;
    if (group.is('Dead')) return respond(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(input.protocolType, input.protocols.map((p) => p.name))) {
      return respond(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (group.isPending(memberId)) {
      // Brook: Kafka throws (UNKNOWN_SERVER_ERROR) for a pending id sent with an instance id;
      // pending ids are only handed to dynamic members, so the request is invalid.
      if (input.groupInstanceId !== null) return respond(joinError(memberId, ErrorCode.INVALID_REQUEST));
      return this.addMemberAndRebalance(group, memberId, input, respond);
    }
    const error = this.validateCurrentMember(group, memberId, input.groupInstanceId);
    if (error !== NONE) return respond(joinError(memberId, error));

    const member = group.get(memberId)!;
    const protocols = copyProtocols(input.protocols);
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(group, member, protocols, input, respond, 'member rejoined during PreparingRebalance');
        break;
      case 'CompletingRebalance':
        if (member.matches(protocols)) {
          // Same metadata (it probably missed the JoinGroup response): answer the current generation.
          respond(this.currentGenerationResult(group, memberId, group.isLeader(memberId)));
        } else {
          this.updateMemberAndRebalance(group, member, protocols, input, respond, 'member changed metadata during CompletingRebalance');
        }
        break;
      case 'Stable':
        if (group.isLeader(memberId)) {
          // A leader's JoinGroup always rebalances: it may have seen changes that do not show in
          // member metadata (e.g. new partitions of subscribed topics).
          this.updateMemberAndRebalance(group, member, protocols, input, respond, 'leader rejoined');
        } else if (!member.matches(protocols)) {
          this.updateMemberAndRebalance(group, member, protocols, input, respond, 'member changed metadata');
        } else {
          respond(this.currentGenerationResult(group, memberId, false));
        }
        break;
      default:
        respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private currentGenerationResult(group: ClassicGroup, memberId: string, withMembers: boolean): JoinGroupResult {
    return {
      errorCode: NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId,
      members: withMembers ? group.currentMemberMetadata() : [],
      skipAssignment: false,
    };
  }

  private addMemberAndRebalance(group: ClassicGroup, memberId: string, input: ClassicJoinGroupInput, respond: JoinCallback): void {
    group.pendingMembers.get(memberId)?.cancel();
    const member = new Member(
      memberId,
      input.groupInstanceId,
      input.clientId,
      input.clientHost,
      input.rebalanceTimeoutMs,
      input.sessionTimeoutMs,
      input.protocolType,
      copyProtocols(input.protocols),
    );
    member.isNew = true;
    // Lets the initial delayed join wait a little longer for more members.
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, respond);
    // A new member cannot heartbeat before its join completes; its join may wait this long.
    this.armSession(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.log.debug({ groupId: group.groupId, memberId, groupInstanceId: input.groupInstanceId }, 'member added');
    this.maybePrepareRebalance(group, `adding member ${memberId}`);
  }

  private updateMemberAndRebalance(
    group: ClassicGroup,
    member: Member,
    protocols: Protocol[],
    input: ClassicJoinGroupInput,
    respond: JoinCallback,
    reason: string,
  ): void {
    this.setJoinCallback(group, member, protocols, input.rebalanceTimeoutMs, input.sessionTimeoutMs, respond);
    this.maybePrepareRebalance(group, reason);
  }

  /**
   * Brook: a JoinGroup replacing one still waiting (a client that gave up and retried) answers
   * the old one with REBALANCE_IN_PROGRESS; Kafka drops it silently, which here would leave a
   * promise pending forever.
   */
  private setJoinCallback(group: ClassicGroup, member: Member, protocols: Protocol[], rebalanceTimeoutMs: number, sessionTimeoutMs: number, respond: JoinCallback | null): void {
    if (member.awaitingJoin && respond) group.invokeJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    group.updateMember(member, protocols, rebalanceTimeoutMs, sessionTimeoutMs, respond);
  }

  /** A known group.instance.id joins with an empty member id: it takes over the member (KIP-345). */
  private updateStaticMemberAndRebalance(
    group: ClassicGroup,
    oldMemberId: string,
    newMemberId: string,
    input: ClassicJoinGroupInput,
    respond: JoinCallback,
  ): void {
    const instanceId = input.groupInstanceId!;
    const currentLeader = group.leaderId;
    const fenced = { join: joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID), sync: syncError(ErrorCode.FENCED_INSTANCE_ID) };
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId, fenced);
    this.armSession(group, member, member.sessionTimeoutMs);
    const old = { protocols: member.protocols, rebalanceTimeoutMs: member.rebalanceTimeoutMs, sessionTimeoutMs: member.sessionTimeoutMs };
    group.updateMember(member, copyProtocols(input.protocols), input.rebalanceTimeoutMs, input.sessionTimeoutMs, respond);
    this.log.debug({ groupId: group.groupId, groupInstanceId: instanceId, oldMemberId, newMemberId, state: group.state }, 'static member replaced');

    switch (group.state) {
      case 'Stable': {
        if (group.selectProtocol() !== group.protocolName) {
          this.maybePrepareRebalance(group, `static member ${instanceId} rejoined with a change of protocol`);
          return;
        }
        // The selected protocol stays: keep the generation and persist the new member id.
        try {
          this.persistence.storeGroup(group.snapshot());
        } catch (e) {
          this.log.warn({ err: e, groupId: group.groupId }, 'storing group failed; reverting static member');
          group.updateMember(member, old.protocols, old.rebalanceTimeoutMs, old.sessionTimeoutMs, null);
          group.replaceStaticMember(instanceId, newMemberId, oldMemberId, fenced);
          this.armSession(group, member, member.sessionTimeoutMs);
          respond({
            ...joinError('', coordinatorWriteError(e)),
            generationId: group.generationId,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            leader: currentLeader ?? '',
          });
          return;
        }
        if (input.supportSkippingAssignment) {
          // v9+ (KIP-814): a static leader learns it leads, but must not compute a new assignment.
          const isLeader = group.isLeader(newMemberId);
          group.invokeJoin(member, { ...this.currentGenerationResult(group, newMemberId, isLeader), skipAssignment: isLeader });
        } else {
          // Before v9: answer the old leader id so that a returning leader does not think it leads
          // (a stable group would not distribute its new assignment anyway).
          group.invokeJoin(member, { ...this.currentGenerationResult(group, newMemberId, false), leader: currentLeader ?? '' });
        }
        return;
      }
      case 'CompletingRebalance':
        // The leader may already assign to the old member id: start over.
        this.prepareRebalance(group, `static member ${instanceId} rejoined during CompletingRebalance`);
        return;
      case 'PreparingRebalance':
        return;
      default:
        throw new Error(`group ${group.groupId} in state ${group.state} cannot have static member ${instanceId}`);
    }
  }

  // ---------------------------------------------------------------- rebalance

  private maybePrepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: ClassicGroup, reason: string): void {
    // Members waiting for their assignment must rejoin.
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.removeSyncExpiration(group);

    const wasEmpty = group.is('Empty');
    const rebalanceTimeoutMs = group.rebalanceTimeoutMs();
    group.transitionTo('PreparingRebalance', this.clock.now());
    this.log.info({ groupId: group.groupId, generationId: group.generationId, members: group.size, reason }, 'group rebalancing');

    if (wasEmpty) {
      const delay = this.cfg.initialRebalanceDelayMs;
      if (delay > 0) {
        this.scheduleInitialJoin(group, delay, Math.max(rebalanceTimeoutMs - delay, 0));
      } else {
        // Every member of a formerly empty group is a joiner waiting right now: with no delay
        // the first generation forms at once.
        this.completeJoin(group);
      }
    } else {
      this.scheduleJoin(group, rebalanceTimeoutMs);
      this.tryCompleteJoin(group);
    }
  }

  /**
   * The first rebalance of an empty group waits group.initial.rebalance.delay.ms, again each
   * time new members arrived meanwhile, up to the rebalance timeout (Kafka's InitialDelayedJoin).
   */
  private scheduleInitialJoin(group: ClassicGroup, delayMs: number, remainingMs: number): void {
    group.joinTimer?.cancel();
    group.joinPhase = { kind: 'initial', delayMs, remainingMs };
    group.joinTimer = this.groupTimer(group, delayMs, () => {
      const phase = group.joinPhase;
      if (!group.is('PreparingRebalance') || phase?.kind !== 'initial') return;
      if (group.newMemberAdded && phase.remainingMs !== 0) {
        group.newMemberAdded = false;
        const delay = Math.min(this.cfg.initialRebalanceDelayMs, phase.remainingMs);
        const remaining = Math.max(phase.remainingMs - phase.delayMs, 0);
        this.scheduleInitialJoin(group, delay, remaining);
      } else {
        this.completeJoin(group);
      }
    }, this.delayClock);
  }

  /** Members have the rebalance timeout to rejoin; the phase ends earlier once all have. */
  private scheduleJoin(group: ClassicGroup, timeoutMs: number): void {
    group.joinTimer?.cancel();
    group.joinPhase = { kind: 'rejoin' };
    group.joinTimer = this.groupTimer(group, timeoutMs, () => {
      if (group.is('PreparingRebalance')) this.completeJoin(group);
    });
  }

  private tryCompleteJoin(group: ClassicGroup): void {
    if (group.is('PreparingRebalance') && group.joinPhase?.kind === 'rejoin' && group.hasAllMembersJoined()) {
      this.completeJoin(group);
    }
  }

  /** Ends the join phase: drops dynamic members that did not rejoin and forms the next generation. */
  private completeJoin(group: ClassicGroup): void {
    group.joinTimer?.cancel();
    group.joinTimer = null;
    group.joinPhase = null;

    for (const m of [...group.members.values()]) {
      if (!m.awaitingJoin && !m.isStatic) {
        m.sessionTimer?.cancel();
        group.remove(m.memberId);
        this.log.debug({ groupId: group.groupId, memberId: m.memberId }, 'member removed: did not rejoin in time');
      }
    }
    if (group.is('Dead')) return;

    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      // Nobody rejoined (only static members that did not come back): wait for session
      // timeouts to remove them.
      this.log.warn({ groupId: group.groupId }, 'rebalance could not complete: no member rejoined');
      this.scheduleJoin(group, group.rebalanceTimeoutMs());
      return;
    }

    const now = this.clock.now();
    group.initNextGeneration(now);
    if (group.is('Empty')) {
      this.log.info({ groupId: group.groupId, generationId: group.generationId }, 'group emptied');
      this.storeGroupQuietly(group);
      return;
    }
    this.log.info({ groupId: group.groupId, generationId: group.generationId, members: group.size, protocol: group.protocolName }, 'group rebalanced');
    for (const m of group.members.values()) {
      group.invokeJoin(m, this.currentGenerationResult(group, m.memberId, group.isLeader(m.memberId)));
      this.armSession(group, m, m.sessionTimeoutMs);
      m.isNew = false;
      group.pendingSyncMembers.add(m.memberId);
    }
    this.schedulePendingSync(group);
  }

  /** Members that got the JoinGroup answer have the rebalance timeout to send SyncGroup. */
  private schedulePendingSync(group: ClassicGroup): void {
    group.syncTimer?.cancel();
    const generationId = group.generationId;
    group.syncTimer = this.groupTimer(group, group.rebalanceTimeoutMs(), () => {
      group.syncTimer = null;
      if (generationId !== group.generationId) return;
      if (!group.is('CompletingRebalance') && !group.is('Stable')) return;
      if (group.pendingSyncMembers.size === 0) return;
      const late = [...group.pendingSyncMembers];
      for (const id of late) {
        const m = group.get(id);
        m?.sessionTimer?.cancel();
        group.remove(id);
      }
      this.log.debug({ groupId: group.groupId, members: late }, 'members removed: no SyncGroup in time');
      this.prepareRebalance(group, 'members did not sync in time');
    });
  }

  private removePendingSync(group: ClassicGroup, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) {
      group.syncTimer?.cancel();
      group.syncTimer = null;
    }
  }

  private removeSyncExpiration(group: ClassicGroup): void {
    group.pendingSyncMembers.clear();
    group.syncTimer?.cancel();
    group.syncTimer = null;
  }

  private resetAndPropagateAssignmentError(group: ClassicGroup, errorCode: number): void {
    for (const m of group.members.values()) m.assignment = EMPTY;
    this.propagateAssignment(group, errorCode);
  }

  private propagateAssignment(group: ClassicGroup, errorCode: number): void {
    for (const m of group.members.values()) {
      const result: SyncGroupResult =
        errorCode === NONE
          ? { errorCode, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment }
          : syncError(errorCode);
      // The session restarts once the member has its answer.
      if (group.invokeSync(m, result)) this.armSession(group, m, m.sessionTimeoutMs);
    }
  }

  // ---------------------------------------------------------------- sessions

  private armSession(group: ClassicGroup, member: Member, timeoutMs: number): void {
    member.sessionTimer?.cancel();
    member.sessionTimer = this.groupTimer(group, timeoutMs, () => {
      if (group.get(member.memberId) !== member) return;
      if (member.hasSatisfiedHeartbeat()) return;
      this.log.debug({ groupId: group.groupId, memberId: member.memberId }, 'member session expired');
      this.removeMemberAndUpdateGroup(group, member);
    });
  }

  private removeMemberAndUpdateGroup(group: ClassicGroup, member: Member): void {
    // A new member may time out while its JoinGroup waits: UNKNOWN_MEMBER_ID makes it retry.
    group.invokeJoin(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    // Brook: a SyncGroup still waiting for a removed member is answered (Kafka leaves it).
    group.invokeSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    member.sessionTimer?.cancel();
    group.remove(member.memberId);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, `member ${member.memberId} removed`);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        break;
      default:
        break;
    }
  }

  /** Removes a member or a pending member id without the rebalance a departure causes. */
  private dropMember(group: ClassicGroup, memberId: string): void {
    group.pendingMembers.get(memberId)?.cancel();
    const member = group.get(memberId);
    if (member) {
      group.invokeJoin(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
      group.invokeSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      member.sessionTimer?.cancel();
    }
    group.remove(memberId);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  /** FENCED_INSTANCE_ID when the instance id maps to another member id; UNKNOWN_MEMBER_ID when unknown. */
  private validateCurrentMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return group.has(memberId) ? NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // ---------------------------------------------------------------- SyncGroup

  syncGroup(input: SyncGroupInput): Promise<SyncGroupResult> {
    if (this.closed) return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (input.groupId === '') return Promise.resolve(syncError(ErrorCode.INVALID_GROUP_ID));
    return new Promise((resolve) => {
      const respond = once(resolve);
      this.queues
        .run(input.groupId, () => this.doSync(input, respond))
        .catch((e: unknown) => {
          this.log.error({ err: e, groupId: input.groupId }, 'SyncGroup failed');
          respond(syncError(ErrorCode.UNKNOWN_SERVER_ERROR));
        });
    });
  }

  private doSync(input: SyncGroupInput, respond: SyncCallback): void {
    if (this.closed) return respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const owner = this.ownership(input.groupId);
    if (owner !== NONE) return respond(syncError(owner));
    const group = this.groups.get(input.groupId);
    if (!group) return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.is('Dead')) return respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    let error = this.validateCurrentMember(group, input.memberId, input.groupInstanceId);
    if (error === NONE) {
      if (input.generationId !== group.generationId) error = ErrorCode.ILLEGAL_GENERATION;
      else if (input.protocolType !== null && input.protocolType !== group.protocolType) error = ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
      else if (input.protocolName !== null && input.protocolName !== group.protocolName) error = ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    }
    if (error !== NONE) return respond(syncError(error));

    const member = group.get(input.memberId)!;
    switch (group.state) {
      case 'Empty':
        return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance': {
        // Brook: a second SyncGroup while one waits answers the first (Kafka drops it).
        group.invokeSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = respond;
        this.removePendingSync(group, member.memberId);
        if (!group.isLeader(member.memberId)) return;

        const given = new Map(input.assignments.map((a) => [a.memberId, a.assignment]));
        const missing = [...group.members.keys()].filter((id) => !given.has(id));
        if (missing.length > 0) {
          this.log.debug({ groupId: group.groupId, generationId: group.generationId, missing }, 'empty assignments for members the leader left out');
        }
        for (const m of group.members.values()) m.assignment = Buffer.from(given.get(m.memberId) ?? EMPTY);
        try {
          this.persistence.storeGroup(group.snapshot());
        } catch (e) {
          this.log.warn({ err: e, groupId: group.groupId }, 'storing group assignment failed');
          this.resetAndPropagateAssignmentError(group, coordinatorWriteError(e));
          this.maybePrepareRebalance(group, 'storing the assignment failed');
          return;
        }
        this.propagateAssignment(group, NONE);
        group.transitionTo('Stable', this.clock.now());
        this.log.debug({ groupId: group.groupId, generationId: group.generationId }, 'group stable');
        return;
      }
      case 'Stable':
        this.removePendingSync(group, member.memberId);
        respond({ errorCode: NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
        this.armSession(group, member, member.sessionTimeoutMs);
        return;
      default:
        return respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
  }

  // ---------------------------------------------------------------- Heartbeat

  heartbeat(input: HeartbeatInput): Promise<number> {
    if (this.closed) return Promise.resolve(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (input.groupId === '') return Promise.resolve(ErrorCode.INVALID_GROUP_ID);
    return this.queues.run(input.groupId, () => {
      if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      const owner = this.ownership(input.groupId);
      // As Kafka: a heartbeat to a group still loading is answered blindly.
      if (owner === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return NONE;
      if (owner !== NONE) return owner;
      const group = this.groups.get(input.groupId);
      if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      const error = this.validateCurrentMember(group, input.memberId, input.groupInstanceId);
      if (error !== NONE) return error;
      if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
      const member = group.get(input.memberId)!;
      switch (group.state) {
        case 'PreparingRebalance':
          // The heartbeat still counts; it tells the member to rejoin.
          this.armSession(group, member, member.sessionTimeoutMs);
          return ErrorCode.REBALANCE_IN_PROGRESS;
        case 'CompletingRebalance':
        case 'Stable':
          // Members may heartbeat between their JoinGroup and SyncGroup answers.
          this.armSession(group, member, member.sessionTimeoutMs);
          return NONE;
        default:
          return ErrorCode.UNKNOWN_MEMBER_ID;
      }
    });
  }

  // ---------------------------------------------------------------- LeaveGroup

  leaveGroup(input: LeaveGroupInput): Promise<LeaveGroupResult> {
    if (this.closed) return Promise.resolve({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] });
    if (input.groupId === '') return Promise.resolve({ errorCode: ErrorCode.INVALID_GROUP_ID, members: [] });
    return this.queues.run(input.groupId, (): LeaveGroupResult => {
      if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
      const owner = this.ownership(input.groupId);
      if (owner !== NONE) return { errorCode: owner, members: [] };
      const answer = (m: LeaveGroupInput['members'][number], errorCode: number) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode });
      const group = this.groups.get(input.groupId);
      if (!group) return { errorCode: NONE, members: input.members.map((m) => answer(m, ErrorCode.UNKNOWN_MEMBER_ID)) };
      if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
      const members = input.members.map((m) => {
        if (m.memberId === '') {
          // Administrative removal by group.instance.id alone.
          const current = m.groupInstanceId === null ? undefined : group.staticMembers.get(m.groupInstanceId);
          if (current === undefined) return answer(m, ErrorCode.UNKNOWN_MEMBER_ID);
          this.leave(group, current, m.reason);
          return answer(m, NONE);
        }
        if (group.isPending(m.memberId)) {
          this.dropMember(group, m.memberId);
          return answer(m, NONE);
        }
        const error = this.validateCurrentMember(group, m.memberId, m.groupInstanceId);
        if (error === NONE) this.leave(group, m.memberId, m.reason);
        return answer(m, error);
      });
      return { errorCode: NONE, members };
    });
  }

  private leave(group: ClassicGroup, memberId: string, reason: string | null): void {
    const member = group.get(memberId);
    if (!member) return;
    this.log.debug({ groupId: group.groupId, memberId, reason }, 'member left');
    this.removeMemberAndUpdateGroup(group, member);
  }

  // ---------------------------------------------------------------- OffsetCommit

  commitOffsets(input: OffsetCommitInput): Promise<OffsetCommitResult> {
    const all = (errorCode: number): OffsetCommitResult => ({
      topics: input.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
    });
    if (this.closed) return Promise.resolve(all(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    return this.queues.run(input.groupId, () => {
      if (this.closed) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      const now = this.clock.now();
      const errors = new Map<string, number>();
      const key = (topic: string, partition: number) => `${partition}:${topic}`;
      const known: Array<{ topic: string; p: OffsetCommitInput['topics'][number]['partitions'][number] }> = [];
      for (const t of input.topics) {
        for (const p of t.partitions) {
          if (this.topicExists(t.name, p.partitionIndex)) known.push({ topic: t.name, p });
          else errors.set(key(t.name, p.partitionIndex), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        }
      }
      const result = (): OffsetCommitResult => ({
        topics: input.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(key(t.name, p.partitionIndex)) ?? NONE })),
        })),
      });
      if (known.length === 0) return result();
      const owner = this.ownership(input.groupId);
      if (owner !== NONE) {
        for (const { topic, p } of known) errors.set(key(topic, p.partitionIndex), owner);
        return result();
      }

      let group = this.groups.get(input.groupId);
      let groupError: number;
      if (!group) {
        if (input.generationId < 0) {
          // Not using group management: a "simple" group that only stores offsets.
          group = new ClassicGroup(input.groupId, 'Empty', now);
          this.groups.set(input.groupId, group);
          groupError = NONE;
        } else {
          // Kafka >= OffsetCommit v9 says GROUP_ID_NOT_FOUND here; older versions ILLEGAL_GENERATION.
          groupError = ErrorCode.ILLEGAL_GENERATION;
        }
      } else {
        groupError = this.validateOffsetCommit(group, input);
      }
      if (groupError !== NONE || !group) {
        for (const { topic, p } of known) errors.set(key(topic, p.partitionIndex), groupError);
        return result();
      }

      if (group.is('Stable') || group.is('PreparingRebalance')) {
        // A member's commit keeps its session alive.
        const member = group.get(input.memberId);
        if (member) this.armSession(group, member, member.sessionTimeoutMs);
      }

      const expireTimestamp = input.retentionTimeMs === -1n ? -1 : now + Number(input.retentionTimeMs);
      const accepted: CommittedOffset[] = [];
      for (const { topic, p } of known) {
        if (p.committedMetadata !== null && p.committedMetadata.length > this.cfg.offsetMetadataMaxBytes) {
          errors.set(key(topic, p.partitionIndex), ErrorCode.OFFSET_METADATA_TOO_LARGE);
          continue;
        }
        accepted.push({
          topic,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata ?? '',
          // v1 carries an explicit commit timestamp; -1 means "now".
          commitTimestamp: p.commitTimestamp === -1n ? now : Number(p.commitTimestamp),
          expireTimestamp,
        });
      }
      if (accepted.length > 0) {
        try {
          this.persistence.storeOffsets(group.groupId, accepted);
          for (const o of accepted) group.putOffset(o);
        } catch (e) {
          this.log.warn({ err: e, groupId: group.groupId }, 'storing offsets failed');
          for (const o of accepted) errors.set(key(o.topic, o.partition), coordinatorWriteError(e));
        }
      }
      return result();
    });
  }

  private validateOffsetCommit(group: ClassicGroup, input: OffsetCommitInput): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Admin clients and consumers without group management commit with generation -1 to an empty group.
    if (input.generationId < 0 && group.is('Empty')) return NONE;
    if (input.generationId >= 0 || input.memberId !== '' || input.groupInstanceId !== null) {
      const error = this.validateCurrentMember(group, input.memberId, input.groupInstanceId);
      if (error !== NONE) return error;
      if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!group.is('Empty')) {
      // Without member id and generation, only an empty group takes commits.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    // The member has the generation from its JoinGroup answer but no assignment yet.
    if (group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    return NONE;
  }

  // ---------------------------------------------------------------- TxnOffsetCommit

  /**
   * TxnOffsetCommit (the transaction coordinator has verified the producer): like Kafka, a missing
   * group is created as a simple group for generation -1 commits; members are checked when the
   * request names one (v3+); no rebalance-state check. The offsets are written in the producer's
   * transactional batch and stay invisible until the COMMIT marker (onTxnMarker).
   */
  txnCommitOffsets(input: TxnOffsetCommitInput): Promise<OffsetCommitResult> {
    const all = (errorCode: number): OffsetCommitResult => ({
      topics: input.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
    });
    if (this.closed) return Promise.resolve(all(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (input.groupId === '') return Promise.resolve(all(ErrorCode.INVALID_GROUP_ID));
    return this.queues.run(input.groupId, () => {
      if (this.closed) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      const owner = this.ownership(input.groupId);
      if (owner !== NONE) return all(owner);
      const now = this.clock.now();
      let group = this.groups.get(input.groupId);
      if (!group) {
        if (input.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
        group = new ClassicGroup(input.groupId, 'Empty', now);
        this.groups.set(input.groupId, group);
      } else if (group.is('Dead')) {
        return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      } else if (!(input.generationId < 0 && group.is('Empty')) && (input.generationId >= 0 || input.memberId !== '' || input.groupInstanceId !== null)) {
        const error = this.validateCurrentMember(group, input.memberId, input.groupInstanceId);
        if (error !== NONE) return all(error);
        if (input.generationId !== group.generationId) return all(ErrorCode.ILLEGAL_GENERATION);
      }
      const errors = new Map<string, number>();
      const key = (topic: string, partition: number) => `${partition}:${topic}`;
      const accepted: CommittedOffset[] = [];
      for (const t of input.topics) {
        for (const p of t.partitions) {
          if (!this.topicExists(t.name, p.partitionIndex)) {
            errors.set(key(t.name, p.partitionIndex), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          } else if (p.committedMetadata !== null && p.committedMetadata.length > this.cfg.offsetMetadataMaxBytes) {
            errors.set(key(t.name, p.partitionIndex), ErrorCode.OFFSET_METADATA_TOO_LARGE);
          } else {
            accepted.push({
              topic: t.name,
              partition: p.partitionIndex,
              offset: p.committedOffset,
              leaderEpoch: p.committedLeaderEpoch,
              metadata: p.committedMetadata ?? '',
              commitTimestamp: now,
              expireTimestamp: -1,
            });
          }
        }
      }
      if (accepted.length > 0) {
        try {
          if (this.persistence.storeTxnOffsets === undefined) throw new Error('persistence has no transactional offsets');
          this.persistence.storeTxnOffsets(group.groupId, input.producerId, input.producerEpoch, accepted);
          for (const o of accepted) this.addPending(group.groupId, input.producerId, o);
        } catch (e) {
          this.log.warn({ err: e, groupId: group.groupId }, 'storing transactional offsets failed');
          for (const o of accepted) errors.set(key(o.topic, o.partition), coordinatorWriteError(e));
        }
      }
      return {
        topics: input.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(key(t.name, p.partitionIndex)) ?? NONE })),
        })),
      };
    });
  }

  private addPending(groupId: string, producerId: bigint, o: CommittedOffset): void {
    let byProducer = this.pendingTxn.get(groupId);
    if (!byProducer) this.pendingTxn.set(groupId, (byProducer = new Map()));
    let offsets = byProducer.get(producerId);
    if (!offsets) byProducer.set(producerId, (offsets = new Map()));
    offsets.set(`${o.partition}:${o.topic}`, o);
  }

  private hasPending(groupId: string, topic: string, partition: number): boolean {
    for (const offsets of this.pendingTxn.get(groupId)?.values() ?? []) if (offsets.has(`${partition}:${topic}`)) return true;
    return false;
  }

  /**
   * A transaction marker reached __consumer_offsets partition `partition` (called synchronously
   * by the marker path): the producer's pending offsets of the groups there become committed on
   * COMMIT and are dropped on ABORT.
   */
  onTxnMarker(partition: number, producerId: bigint, commit: boolean): void {
    // Not served here: the partition's next load reads the marker from the log.
    if (this.explicit && !this.owned.has(partition)) return;
    const applied = this.persistence.completeTxn?.(partition, producerId, commit) ?? [];
    const now = this.clock.now();
    for (const a of applied) {
      let group = this.groups.get(a.groupId);
      if (!group) {
        group = new ClassicGroup(a.groupId, 'Empty', now);
        this.groups.set(a.groupId, group);
      }
      if (!group.is('Dead')) group.putOffset({ ...a.offset });
    }
    for (const [groupId, byProducer] of this.pendingTxn) {
      if (this.persistencePartitionFor(groupId) !== partition) continue;
      byProducer.delete(producerId);
      if (byProducer.size === 0) this.pendingTxn.delete(groupId);
    }
  }

  private persistencePartitionFor(groupId: string): number | undefined {
    return this.partitionFor?.(groupId);
  }

  // ---------------------------------------------------------------- OffsetFetch

  fetchOffsets(input: OffsetFetchInput): Promise<OffsetFetchResult> {
    if (this.closed) return Promise.resolve({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] });
    return this.queues.run(input.groupId, (): OffsetFetchResult => {
      if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
      const owner = this.ownership(input.groupId);
      if (owner !== NONE) return { errorCode: owner, topics: [] };
      const group = this.groups.get(input.groupId);
      const missing = (partitionIndex: number) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: NONE });
      const unstable = (partitionIndex: number) => ({ ...missing(partitionIndex), errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
      if (input.topics === null) {
        if (!group || group.is('Dead')) return { errorCode: NONE, topics: [] };
        const topics: OffsetFetchResult['topics'] = [];
        for (const [name, byPartition] of group.offsets) {
          topics.push({
            name,
            partitions: [...byPartition.values()].map((o) =>
              input.requireStable && this.hasPending(input.groupId, name, o.partition)
                ? unstable(o.partition)
                : {
                    partitionIndex: o.partition,
                    committedOffset: o.offset,
                    committedLeaderEpoch: o.leaderEpoch,
                    metadata: o.metadata,
                    errorCode: NONE,
                  },
            ),
          });
        }
        return { errorCode: NONE, topics };
      }
      // require_stable: a partition with a pending transactional commit answers
      // UNSTABLE_OFFSET_COMMIT (retriable) until the marker lands; else pending offsets are invisible.
      return {
        errorCode: NONE,
        topics: input.topics.map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((partition) => {
            if (input.requireStable && this.hasPending(input.groupId, t.name, partition)) return unstable(partition);
            const o = group && !group.is('Dead') ? group.offset(t.name, partition) : undefined;
            if (!o) return missing(partition);
            return { partitionIndex: partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: NONE };
          }),
        })),
      };
    });
  }

  // ---------------------------------------------------------------- admin

  describeGroups(groupIds: string[]): Promise<DescribedGroup[]> {
    return Promise.all(
      groupIds.map((groupId) => {
        const dead: DescribedGroup = { errorCode: NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
        if (this.closed) return Promise.resolve({ ...dead, groupState: '', errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE });
        return this.queues.run(groupId, (): DescribedGroup => {
          const owner = this.ownership(groupId);
          if (owner !== NONE) return { ...dead, groupState: '', errorCode: owner };
          const group = this.groups.get(groupId);
          if (!group) return dead;
          // Member metadata and assignments are shown for a Stable group only, as Kafka does.
          const protocol = group.is('Stable') ? group.protocolName : null;
          return {
            errorCode: NONE,
            groupId,
            groupState: group.state,
            protocolType: group.protocolType ?? '',
            protocolData: protocol ?? '',
            members: [...group.members.values()].map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              memberMetadata: protocol === null ? EMPTY : m.metadata(protocol),
              memberAssignment: protocol === null ? EMPTY : m.assignment,
            })),
          };
        });
      }),
    );
  }

  listGroups(statesFilter: string[], typesFilter: string[]): Promise<ListedGroup[]> {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((t) => t.toLowerCase()));
    const out: ListedGroup[] = [];
    // Every group here is a classic group; any other type filter matches nothing.
    if (types.size > 0 && !types.has('classic')) return Promise.resolve(out);
    for (const g of this.groups.values()) {
      if (this.ownership(g.groupId) !== NONE) continue;
      if (states.size > 0 && !states.has(g.state.toLowerCase())) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: 'classic' });
    }
    return Promise.resolve(out);
  }

  deleteGroups(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    return Promise.all(
      groupIds.map((groupId) => {
        if (this.closed) return Promise.resolve({ groupId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE });
        return this.queues.run(groupId, () => {
          const owner = this.ownership(groupId);
          if (owner !== NONE) return { groupId, errorCode: owner };
          const group = this.groups.get(groupId);
          if (!group || group.is('Dead')) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
          if (!group.is('Empty')) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
          const removed = group.removeOffsets(group.allOffsets());
          this.removeGroup(group, removed);
          return { groupId, errorCode: NONE };
        });
      }),
    );
  }

  deleteOffsets(
    groupId: string,
    topics: Array<{ name: string; partitions: number[] }>,
  ): Promise<{ errorCode: number; topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }> }> {
    if (this.closed) return Promise.resolve({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] });
    return this.queues.run(groupId, () => {
      const owner = this.ownership(groupId);
      if (owner !== NONE) return { errorCode: owner, topics: [] };
      const group = this.groups.get(groupId);
      if (!group || group.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
      const subscriptionMatters = !group.is('Empty');
      if (subscriptionMatters && !group.isConsumerGroup()) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };

      const eligible: Array<{ topic: string; partition: number }> = [];
      const answer = topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((partitionIndex) => {
          let errorCode: number = NONE;
          if (!this.topicExists(t.name, partitionIndex)) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          else if (subscriptionMatters && group.isSubscribedToTopic(t.name)) errorCode = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC;
          else eligible.push({ topic: t.name, partition: partitionIndex });
          return { partitionIndex, errorCode };
        }),
      }));
      this.cleanupOffsets(group, group.removeOffsets(eligible));
      return { errorCode: NONE, topics: answer };
    });
  }

  onTopicDeleted(topic: string): void {
    for (const groupId of [...this.groups.keys()]) {
      this.queues
        .run(groupId, () => {
          const group = this.groups.get(groupId);
          const byPartition = group?.offsets.get(topic);
          if (!group || !byPartition) return;
          const removed = group.removeOffsets([...byPartition.keys()].map((partition) => ({ topic, partition })));
          this.cleanupOffsets(group, removed);
        })
        .catch((e: unknown) => this.log.error({ err: e, groupId, topic }, 'removing offsets of a deleted topic failed'));
    }
  }

  /**
   * Removes offsets past retention; an Empty group left without offsets goes away (Dead).
   * Runs every offsets.retention.check.interval.ms; resolves with the number of offsets removed.
   */
  expireOffsets(now: number = this.clock.now()): Promise<number> {
    const runs = [...this.groups.keys()].map((groupId) =>
      this.queues.run(groupId, () => {
        const group = this.groups.get(groupId);
        if (!group) return 0;
        // Partitions with a pending transactional commit do not expire (Kafka skips them too).
        const due = group.expiredOffsets(now, this.cfg.offsetsRetentionMs).filter((o) => !this.hasPending(group.groupId, o.topic, o.partition));
        const removed = group.removeOffsets(due);
        this.cleanupOffsets(group, removed);
        return removed.length;
      }),
    );
    return Promise.all(runs).then((counts) => {
      const total = counts.reduce((a, b) => a + b, 0);
      if (total > 0) this.log.debug({ offsets: total }, 'expired offsets removed');
      return total;
    });
  }

  /** Tombstones removed offsets; an Empty group without offsets left is removed as well. */
  private cleanupOffsets(group: ClassicGroup, removed: CommittedOffset[]): void {
    if (group.is('Empty') && !group.hasOffsets()) {
      this.removeGroup(group, removed);
      return;
    }
    if (removed.length === 0) return;
    try {
      this.persistence.deleteOffsets(group.groupId, removed.map((o) => ({ topic: o.topic, partition: o.partition })));
    } catch (e) {
      this.log.warn({ err: e, groupId: group.groupId }, 'writing offset tombstones failed');
    }
  }

  /** Dead: drops the group, its timers and (durably) its metadata and these offsets. */
  private removeGroup(group: ClassicGroup, removedOffsets: CommittedOffset[]): void {
    group.transitionTo('Dead', this.clock.now());
    this.cancelTimers(group);
    for (const m of group.members.values()) {
      group.invokeJoin(m, joinError(m.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      group.invokeSync(m, syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    this.log.info({ groupId: group.groupId, offsets: removedOffsets.length }, 'group deleted');
    try {
      this.persistence.deleteGroup(group.groupId, removedOffsets.map((o) => ({ topic: o.topic, partition: o.partition })));
    } catch (e) {
      this.log.warn({ err: e, groupId: group.groupId }, 'writing group tombstone failed');
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Stops timers. JoinGroup/SyncGroup requests still waiting are answered
   * COORDINATOR_NOT_AVAILABLE: clients keep their member id and generation, look the coordinator
   * up again and retry, which is what they do for a coordinator that moved or went away.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.retentionTimer?.cancel();
    this.retentionTimer = null;
    for (const group of this.groups.values()) {
      this.cancelTimers(group);
      for (const m of group.members.values()) {
        group.invokeJoin(m, joinError(m.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
        group.invokeSync(m, syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      }
    }
  }

  /** The state of a group, undefined when there is none (tests, diagnostics). */
  groupState(groupId: string): GroupState | undefined {
    return this.groups.get(groupId)?.state;
  }

  /** A copy of a group's current snapshot (tests, diagnostics). */
  groupSnapshot(groupId: string): ReturnType<ClassicGroup['snapshot']> | undefined {
    return this.groups.get(groupId)?.snapshot();
  }

  private cancelTimers(group: ClassicGroup): void {
    group.joinTimer?.cancel();
    group.joinTimer = null;
    group.syncTimer?.cancel();
    group.syncTimer = null;
    for (const m of group.members.values()) {
      m.sessionTimer?.cancel();
      m.sessionTimer = null;
    }
    for (const t of group.pendingMembers.values()) t?.cancel();
  }

  private storeGroupQuietly(group: ClassicGroup): void {
    try {
      this.persistence.storeGroup(group.snapshot());
    } catch (e) {
      // As in Kafka: an empty generation that failed to persist is harmless (no members in it).
      this.log.warn({ err: e, groupId: group.groupId }, 'storing empty group failed');
    }
  }

  /** A timer whose callback runs in the group's queue, and never after cancel or group removal. */
  private groupTimer(group: ClassicGroup, ms: number, fn: () => void, clock: Clock = this.clock): Timer {
    let live = true;
    const t = clock.setTimeout(() => {
      if (!live) return;
      this.queues
        .run(group.groupId, () => {
          if (!live) return;
          live = false;
          if (this.closed || this.groups.get(group.groupId) !== group) return;
          fn();
        })
        .catch((e: unknown) => this.log.error({ err: e, groupId: group.groupId }, 'group timer failed'));
    }, ms);
    return {
      cancel: () => {
        live = false;
        t.cancel();
      },
    };
  }

  private scheduleRetentionCheck(): void {
    if (this.closed) return;
    this.retentionTimer = this.clock.setTimeout(() => {
      this.retentionTimer = null;
      if (this.closed) return;
      this.expireOffsets().catch((e: unknown) => this.log.error({ err: e }, 'offset expiration failed'));
      this.scheduleRetentionCheck();
    }, this.cfg.offsetsRetentionCheckIntervalMs);
  }

  // ---------------------------------------------------------------- ownership

  /**
   * Whether this coordinator serves `groupId` (checked in the group's queue, after the closed
   * check, as Kafka's validateGroupStatus): COORDINATOR_LOAD_IN_PROGRESS while its partition
   * loads, NOT_COORDINATOR when the partition is not owned here, else NONE.
   */
  private ownership(groupId: string): number {
    if (!this.explicit) return NONE;
    const p = this.partitionFor!(groupId);
    if (this.loading.has(p)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return this.owned.has(p) ? NONE : ErrorCode.NOT_COORDINATOR;
  }

  /** Whether the groups of __consumer_offsets partition `partition` are served here. */
  ownsPartition(partition: number): boolean {
    return !this.explicit || this.owned.has(partition);
  }

  /** Whether any partition is loading (Kafka's ListGroups answers COORDINATOR_LOAD_IN_PROGRESS then). */
  isLoading(): boolean {
    return this.loading.size > 0;
  }

  /** False when `coordinatorEpoch` is older than one already seen for the partition (Kafka's maybeUpdateCoordinatorEpoch). */
  private acceptEpoch(partition: number, coordinatorEpoch: number | undefined): boolean {
    if (coordinatorEpoch === undefined) return true;
    const current = this.epochs.get(partition);
    if (current !== undefined && coordinatorEpoch < current) return false;
    this.epochs.set(partition, coordinatorEpoch);
    return true;
  }

  /**
   * This broker became leader of __consumer_offsets partition `partition` (at leader epoch
   * `coordinatorEpoch`): its groups, offsets and pending transactional offsets are replayed from
   * the log and served from now on (members must heartbeat within their session timeout,
   * counted from now). Nothing happens for a partition already owned, for an epoch older than
   * one seen, after close(), or in 'all' mode (everything is loaded already). If the replay
   * fails the partition stays unowned (NOT_COORDINATOR) and the error is logged.
   */
  onElection(partition: number, coordinatorEpoch?: number): void {
    if (!this.explicit || this.closed) return;
    if (!this.acceptEpoch(partition, coordinatorEpoch)) {
      this.log.info({ partition, coordinatorEpoch, current: this.epochs.get(partition) }, 'not loading group state: an older coordinator epoch');
      return;
    }
    if (this.owned.has(partition) || this.loading.has(partition)) return;
    this.loading.add(partition);
    let loaded: ReturnType<GroupPersistence['load']>;
    try {
      loaded = this.persistence.loadPartition!(partition);
    } catch (e) {
      this.loading.delete(partition);
      this.log.error({ err: e, partition, coordinatorEpoch }, 'loading group state failed; the partition is not served');
      return;
    }
    // A resignation or close while loading wins (only reachable if loading ever yields).
    if (!this.loading.delete(partition) || this.closed) return;
    this.owned.add(partition);
    const n = this.install(loaded, (groupId) => this.partitionFor!(groupId) === partition);
    this.log.info({ partition, coordinatorEpoch, groups: n.groups, members: n.members }, 'elected group coordinator for offsets partition');
  }

  /**
   * This broker no longer leads __consumer_offsets partition `partition`: its groups are
   * dropped from memory (timers cancelled; JoinGroup/SyncGroup requests still waiting are
   * answered NOT_COORDINATOR so that clients look the coordinator up again; members are not
   * removed and nothing is written). Ignored for an epoch older than one seen and in 'all' mode.
   */
  onResignation(partition: number, coordinatorEpoch?: number): void {
    if (!this.explicit) return;
    if (!this.acceptEpoch(partition, coordinatorEpoch)) {
      this.log.info({ partition, coordinatorEpoch, current: this.epochs.get(partition) }, 'not unloading group state: an older coordinator epoch');
      return;
    }
    const wasServed = this.owned.delete(partition);
    this.loading.delete(partition);
    let groups = 0;
    const now = this.clock.now();
    for (const group of [...this.groups.values()]) {
      if (this.partitionFor!(group.groupId) !== partition) continue;
      this.unloadGroup(group, now);
      groups++;
    }
    for (const groupId of [...this.pendingTxn.keys()]) {
      if (this.partitionFor!(groupId) === partition) this.pendingTxn.delete(groupId);
    }
    this.persistence.unloadPartition?.(partition);
    if (wasServed || groups > 0) this.log.info({ partition, coordinatorEpoch, groups }, 'resigned as group coordinator for offsets partition');
  }

  /** Kafka's onGroupUnloaded: waiting requests answered NOT_COORDINATOR, timers stopped, group gone. */
  private unloadGroup(group: ClassicGroup, now: number): void {
    this.cancelTimers(group);
    this.removeSyncExpiration(group);
    group.joinTimer = null;
    group.joinPhase = null;
    group.pendingMembers.clear();
    for (const m of group.members.values()) {
      group.invokeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
      group.invokeSync(m, syncError(ErrorCode.NOT_COORDINATOR));
    }
    group.transitionTo('Dead', now);
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
  }

  /** Rebuilds groups and offsets from persistence: groups with members come back Stable. */
  private load(): void {
    const n = this.install(this.persistence.load(), () => true);
    if (n.groups > 0) this.log.debug({ groups: n.groups, members: n.members }, 'group state loaded');
  }

  /**
   * Puts loaded groups, offsets and pending offsets in memory (only those `mine` accepts; a
   * group already in memory is kept, as Kafka's loadGroup does), arms the members' sessions and
   * rebalances groups over group.max.size.
   */
  private install(loaded: ReturnType<GroupPersistence['load']>, mine: (groupId: string) => boolean): { groups: number; members: number } {
    const now = this.clock.now();
    const { groups, offsets, pending } = loaded;
    const fresh = new Map<string, ClassicGroup>();
    for (const p of pending ?? []) if (mine(p.groupId)) this.addPending(p.groupId, p.producerId, p.offset);
    for (const snap of groups) {
      if (!mine(snap.groupId) || this.groups.has(snap.groupId)) continue;
      const group = new ClassicGroup(snap.groupId, snap.members.length > 0 ? 'Stable' : 'Empty', snap.stateTimestamp);
      group.generationId = snap.generationId;
      group.protocolType = snap.protocolType === '' ? null : snap.protocolType;
      group.protocolName = snap.protocolName;
      for (const m of snap.members) {
        const member = new Member(
          m.memberId,
          m.groupInstanceId,
          m.clientId,
          m.clientHost,
          m.rebalanceTimeoutMs,
          m.sessionTimeoutMs,
          group.protocolType ?? '',
          copyProtocols(m.protocols),
          Buffer.from(m.assignment),
        );
        group.add(member, null);
      }
      group.protocolType = snap.protocolType === '' ? null : snap.protocolType;
      if (snap.leaderId !== null && group.has(snap.leaderId)) group.leaderId = snap.leaderId;
      group.subscribedTopics = group.computeSubscribedTopics();
      this.groups.set(group.groupId, group);
      fresh.set(group.groupId, group);
    }
    for (const [groupId, list] of offsets) {
      if (!mine(groupId)) continue;
      let group = this.groups.get(groupId);
      if (!group) {
        // Offsets without group metadata: a simple (offsets-only) group.
        group = new ClassicGroup(groupId, 'Empty', now);
        this.groups.set(groupId, group);
        fresh.set(groupId, group);
      }
      if (fresh.get(groupId) !== group) continue;
      for (const o of list) group.putOffset({ ...o });
    }
    let members = 0;
    for (const group of fresh.values()) {
      // Members must heartbeat again within their session timeout, counted from now.
      for (const m of group.members.values()) {
        this.armSession(group, m, m.sessionTimeoutMs);
        members++;
      }
      if (group.size > this.cfg.groupMaxSize) {
        this.prepareRebalance(group, `loaded group is over capacity (${this.cfg.groupMaxSize})`);
      }
    }
    return { groups: fresh.size, members };
  }
}
