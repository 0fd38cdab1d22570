// Interfaces of the classic group coordinator (src/group/coordinator.ts) and of its durable state
// (src/group/offsets-log.ts). Handlers (src/handlers/08..16, 42, 47) translate wire messages to
// these plain inputs and back; Kafka outcomes travel as error codes, never as exceptions.

/** Explicit classic-group states (Kafka's ClassicGroupState). */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface MemberSnapshot {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Protocols the member supports, in its preference order, with their metadata bytes. */
  protocols: Array<{ name: string; metadata: Buffer }>;
  /** Assignment bytes of the current generation (empty until SyncGroup). */
  assignment: Buffer;
}

/** What is persisted for a group (Kafka's GroupMetadataValue, in spirit). */
export interface GroupSnapshot {
  groupId: string;
  protocolType: string | null;
  protocolName: string | null;
  generationId: number;
  leaderId: string | null;
  /** When the group last changed state (ms). */
  stateTimestamp: number;
  members: MemberSnapshot[];
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
  /** -1 when the offset follows the group's retention (offsets.retention.minutes after it empties). */
  expireTimestamp: number;
}

/** A transactional offset commit waiting for its transaction's marker. */
export interface PendingTxnOffsets {
  groupId: string;
  producerId: bigint;
  offset: CommittedOffset;
}

/** Durable group state: an internal log partitioned by group id, replayed at start. Synchronous like the LogStore. */
export interface GroupPersistence {
  /**
   * Replays everything stored: the last snapshot of each live group, its live offsets, and the
   * transactional offset commits still waiting for their marker.
   */
  load(): { groups: GroupSnapshot[]; offsets: Map<string, CommittedOffset[]>; pending?: PendingTxnOffsets[] };
  /**
   * Replays one partition only (a coordinator that owns some partitions: explicit ownership):
   * the groups it owns, their offsets and pending transactional offsets. Required for that mode.
   */
  loadPartition?(partition: number): { groups: GroupSnapshot[]; offsets: Map<string, CommittedOffset[]>; pending?: PendingTxnOffsets[] };
  /** Forgets what loadPartition kept in memory for a partition no longer owned. */
  unloadPartition?(partition: number): void;
  /** Appends a transactional offset commit; pending until completeTxn. Optional for test doubles. */
  storeTxnOffsets?(groupId: string, producerId: bigint, producerEpoch: number, offsets: CommittedOffset[]): void;
  /** A marker of the producer reached offsets partition `partition`; returns the offsets it made live. */
  completeTxn?(partition: number, producerId: bigint, commit: boolean): PendingTxnOffsets[];
  storeGroup(group: GroupSnapshot): void;
  storeOffsets(groupId: string, offsets: CommittedOffset[]): void;
  /** Tombstones for these partitions' offsets. */
  deleteOffsets(groupId: string, partitions: Array<{ topic: string; partition: number }>): void;
  /** Tombstones for the group and every offset it has. */
  deleteGroup(groupId: string, partitions: Array<{ topic: string; partition: number }>): void;
}

export interface JoinGroupInput {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: Array<{ name: string; metadata: Buffer }>;
  sessionTimeoutMs: number;
  /** v0 has none: equals the session timeout. */
  rebalanceTimeoutMs: number;
  clientId: string;
  clientHost: string;
  /** v4+: an unknown member id gets MEMBER_ID_REQUIRED first (KIP-394). */
  requireKnownMemberId: boolean;
  reason: string | null;
  /** v9+ (KIP-814): a static leader rejoining a Stable group may be told to skip assignment. Absent = false. */
  supportSkippingAssignment?: boolean;
}

export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** Filled for the leader only (everyone's subscription metadata), empty for followers. */
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
  /** v9+ KIP-814: true when a static leader rejoins without a rebalance and must not reassign. */
  skipAssignment: boolean;
}

export interface SyncGroupInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v5+: checked against the group's when not null. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveGroupInput {
  groupId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; reason: string | null }>;
}

export interface LeaveGroupResult {
  errorCode: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>;
}

export interface OffsetCommitInput {
  groupId: string;
  /** -1 with an empty member id: a "simple" (standalone) consumer commit. */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v2-v4 retention_time_ms; -1 = broker default. */
  retentionTimeMs: bigint;
  topics: Array<{
    name: string;
    partitions: Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; commitTimestamp: bigint; committedMetadata: string | null }>;
  }>;
}

export interface OffsetCommitResult {
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }>;
}

export interface OffsetFetchInput {
  groupId: string;
  /** null = every partition the group has offsets for. */
  topics: Array<{ name: string; partitionIndexes: number[] }> | null;
  requireStable: boolean;
}

export interface OffsetFetchResult {
  errorCode: number;
  topics: Array<{
    name: string;
    partitions: Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; metadata: string | null; errorCode: number }>;
  }>;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; memberMetadata: Buffer; memberAssignment: Buffer }>;
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: string;
  /** KIP-848 type: always 'classic' here. */
  groupType: string;
}

export interface TxnOffsetCommitInput {
  groupId: string;
  producerId: bigint;
  producerEpoch: number;
  /** v3+; -1 / '' / null before. */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: Array<{
    name: string;
    partitions: Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }>;
  }>;
}

/** What handlers call. Every method runs in the group's serial queue. */
export interface GroupCoordinatorApi {
  /** TxnOffsetCommit: offsets pending until the transaction's COMMIT marker. */
  txnCommitOffsets(input: TxnOffsetCommitInput): Promise<OffsetCommitResult>;
  joinGroup(input: JoinGroupInput): Promise<JoinGroupResult>;
  syncGroup(input: SyncGroupInput): Promise<SyncGroupResult>;
  heartbeat(input: HeartbeatInput): Promise<number>;
  leaveGroup(input: LeaveGroupInput): Promise<LeaveGroupResult>;
  commitOffsets(input: OffsetCommitInput): Promise<OffsetCommitResult>;
  fetchOffsets(input: OffsetFetchInput): Promise<OffsetFetchResult>;
  describeGroups(groupIds: string[]): Promise<DescribedGroup[]>;
  /** statesFilter/typesFilter empty = all; matched case-insensitively like Kafka. */
  listGroups(statesFilter: string[], typesFilter: string[]): Promise<ListedGroup[]>;
  deleteGroups(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number }>>;
  deleteOffsets(groupId: string, topics: Array<{ name: string; partitions: number[] }>): Promise<{
    errorCode: number;
    topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }>;
  }>;
  /** A deleted topic's committed offsets go with it. */
  onTopicDeleted(topic: string): void;
  /** Stops timers (broker shutdown). */
  close(): void;
}
