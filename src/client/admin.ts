// Admin operations over KafkaClient: topics, configs, offsets lookups, groups and the cluster.
// Batch operations return a result per item (topic or group) instead of throwing, so a caller can
// report partial failures; lookups that must all succeed throw.

import { ErrorCode } from '../../protocol/errors.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { ZERO_UUID } from '../../protocol/primitives/uuid.js';
import {
  decodeConsumerProtocolAssignment,
  type ConsumerProtocolAssignment,
} from '../../protocol/generated/data/consumer-protocol-assignment.js';
import {
  decodeConsumerProtocolSubscription,
  type ConsumerProtocolSubscription,
} from '../../protocol/generated/data/consumer-protocol-subscription.js';
import { Apis } from './apis.js';
import type { KafkaClient, TopicPartition } from './client.js';
import { KafkaError, NotFoundError } from './errors.js';

export interface ItemResult {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

// -----------------------------------------------------------------------------------------------
// Topics

export interface NewTopic {
  name: string;
  /** Omitted: the broker's num.partitions (CreateTopics v4+; 1 before). */
  partitions?: number;
  /** Omitted: the broker's default.replication.factor (CreateTopics v4+; 1 before). */
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface CreatedTopic extends ItemResult {
  topicId: string | null;
  partitions: number;
  replicationFactor: number;
}

export async function createTopics(client: KafkaClient, topics: NewTopic[], opts: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<CreatedTopic[]> {
  return client.withRetry('CreateTopics', async () => {
    const conn = await client.controller();
    const r = await conn.request(Apis.createTopics, (v) => ({
      topics: topics.map((t) => ({
        name: t.name,
        // KIP-464 (v4): -1 asks for the broker defaults.
        numPartitions: t.partitions ?? (v >= 4 ? -1 : 1),
        replicationFactor: t.replicationFactor ?? (v >= 4 ? -1 : 1),
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: opts.timeoutMs ?? client.requestTimeoutMs,
      validateOnly: opts.validateOnly ?? false,
    }));
    if (r.topics.some((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)) throw new KafkaError(ErrorCode.NOT_CONTROLLER, 'CreateTopics');
    return topics.map((t) => {
      const res = r.topics.find((x) => x.name === t.name);
      return {
        name: t.name,
        errorCode: res?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
        errorMessage: res?.errorMessage ?? (res ? null : 'no result for this topic'),
        topicId: res && res.topicId !== ZERO_UUID ? res.topicId : null,
        partitions: res && res.numPartitions > 0 ? res.numPartitions : (t.partitions ?? -1),
        replicationFactor: res && res.replicationFactor > 0 ? res.replicationFactor : (t.replicationFactor ?? -1),
      };
    });
  });
}

export async function deleteTopics(client: KafkaClient, names: string[], opts: { timeoutMs?: number } = {}): Promise<ItemResult[]> {
  return client.withRetry('DeleteTopics', async () => {
    const conn = await client.controller();
    const r = await conn.request(Apis.deleteTopics, {
      topics: names.map((name) => ({ name, topicId: ZERO_UUID })),
      topicNames: names,
      timeoutMs: opts.timeoutMs ?? client.requestTimeoutMs,
    });
    if (r.responses.some((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)) throw new KafkaError(ErrorCode.NOT_CONTROLLER, 'DeleteTopics');
    for (const n of names) client.invalidate(n);
    return names.map((name) => {
      const res = r.responses.find((x) => x.name === name);
      return { name, errorCode: res?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: res?.errorMessage ?? null };
    });
  });
}

export async function createPartitions(client: KafkaClient, topics: Array<{ name: string; count: number }>, opts: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<ItemResult[]> {
  return client.withRetry('CreatePartitions', async () => {
    const conn = await client.controller();
    const r = await conn.request(Apis.createPartitions, {
      topics: topics.map((t) => ({ name: t.name, count: t.count, assignments: null })),
      timeoutMs: opts.timeoutMs ?? client.requestTimeoutMs,
      validateOnly: opts.validateOnly ?? false,
    });
    if (r.results.some((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)) throw new KafkaError(ErrorCode.NOT_CONTROLLER, 'CreatePartitions');
    for (const t of topics) client.invalidate(t.name);
    return topics.map((t) => {
      const res = r.results.find((x) => x.name === t.name);
      return { name: t.name, errorCode: res?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: res?.errorMessage ?? null };
    });
  });
}

// -----------------------------------------------------------------------------------------------
// Configs

export const ResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** Kafka's ConfigSource names (DescribeConfigs v1+). */
export const CONFIG_SOURCES: Readonly<Record<number, string>> = {
  0: 'UNKNOWN',
  1: 'DYNAMIC_TOPIC_CONFIG',
  2: 'DYNAMIC_BROKER_CONFIG',
  3: 'DYNAMIC_DEFAULT_BROKER_CONFIG',
  4: 'STATIC_BROKER_CONFIG',
  5: 'DEFAULT_CONFIG',
  6: 'DYNAMIC_BROKER_LOGGER_CONFIG',
  7: 'CLIENT_METRICS_CONFIG',
  8: 'GROUP_CONFIG',
};

export interface ConfigEntry {
  name: string;
  value: string | null;
  source: string;
  isDefault: boolean;
  readOnly: boolean;
  isSensitive: boolean;
}

export async function describeConfigs(
  client: KafkaClient,
  resourceType: number,
  resourceName: string,
  keys: string[] | null = null,
): Promise<ConfigEntry[]> {
  return client.withRetry('DescribeConfigs', async () => {
    // A broker's configs are answered by that broker only.
    const conn = resourceType === ResourceType.BROKER ? await client.broker(Number(resourceName)) : await client.any();
    const r = await conn.request(Apis.describeConfigs, { resources: [{ resourceType, resourceName, configurationKeys: keys }], includeSynonyms: false, includeDocumentation: false });
    const res = r.results[0];
    if (!res) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'DescribeConfigs', 'empty answer');
    if (res.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new NotFoundError(`topic "${resourceName}" not found`);
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `DescribeConfigs ${resourceName}`, res.errorMessage);
    return res.configs
      .map((c) => {
        const source = c.configSource >= 0 ? (CONFIG_SOURCES[c.configSource] ?? `SOURCE_${c.configSource}`) : c.isDefault ? 'DEFAULT_CONFIG' : 'UNKNOWN';
        return { name: c.name, value: c.value, source, isDefault: source === 'DEFAULT_CONFIG', readOnly: c.readOnly, isSensitive: c.isSensitive };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  });
}

export const ConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface ConfigChange {
  name: string;
  op: number;
  value: string | null;
}

export async function alterConfigs(client: KafkaClient, resourceType: number, resourceName: string, changes: ConfigChange[], validateOnly = false): Promise<void> {
  await client.withRetry('IncrementalAlterConfigs', async () => {
    const conn = resourceType === ResourceType.BROKER ? await client.broker(Number(resourceName)) : await client.any();
    const r = await conn.request(Apis.incrementalAlterConfigs, {
      resources: [{ resourceType, resourceName, configs: changes.map((c) => ({ name: c.name, configOperation: c.op, value: c.value })) }],
      validateOnly,
    });
    const res = r.responses[0];
    if (!res) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'IncrementalAlterConfigs', 'empty answer');
    if (res.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new NotFoundError(`topic "${resourceName}" not found`);
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `altering configs of ${resourceName}`, res.errorMessage);
  });
}

// -----------------------------------------------------------------------------------------------
// Offsets

export const EARLIEST = -2n;
export const LATEST = -1n;

export interface OffsetAnswer {
  offset: bigint;
  timestamp: bigint;
}

/**
 * ListOffsets for each partition: `at` is EARLIEST, LATEST or a timestamp in ms (the first offset
 * whose timestamp is at or after it; -1 when there is none). isolationLevel 1 (read_committed)
 * makes LATEST the last stable offset.
 */
export async function listOffsets(
  client: KafkaClient,
  partitions: TopicPartition[],
  at: bigint | ((tp: TopicPartition) => bigint),
  isolationLevel = 0,
): Promise<Map<string, OffsetAnswer>> {
  const out = new Map<string, OffsetAnswer>();
  const timestampOf = typeof at === 'function' ? at : () => at;
  await client.withRetry('ListOffsets', async () => {
    const todo = partitions.filter((tp) => !out.has(tpKey(tp.topic, tp.partition)));
    const groups = await client.byLeader(todo);
    await Promise.all(
      [...groups].map(async ([leader, tps]) => {
        const conn = await client.broker(leader);
        const byTopic = new Map<string, number[]>();
        for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
        const r = await conn.request(Apis.listOffsets, {
          replicaId: -1,
          isolationLevel,
          timeoutMs: client.requestTimeoutMs,
          topics: [...byTopic].map(([name, ps]) => ({
            name,
            partitions: ps.map((partition) => ({ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: timestampOf({ topic: name, partition }), maxNumOffsets: 1 })),
          })),
        });
        let failure: KafkaError | undefined;
        for (const t of r.topics) {
          for (const p of t.partitions) {
            if (p.errorCode === ErrorCode.NONE) out.set(tpKey(t.name, p.partitionIndex), { offset: p.offset, timestamp: p.timestamp });
            else if (p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && !failure) failure = new KafkaError(p.errorCode, `ListOffsets ${t.name}/${p.partitionIndex}`);
            else failure ??= new KafkaError(p.errorCode, `ListOffsets ${t.name}/${p.partitionIndex}`);
          }
        }
        if (failure) throw failure;
      }),
    );
  });
  return out;
}

// -----------------------------------------------------------------------------------------------
// Cluster

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>;
}

export async function describeCluster(client: KafkaClient): Promise<ClusterDescription> {
  const conn = await client.any();
  if (conn.version(Apis.describeCluster) !== undefined) {
    const r = await conn.request(Apis.describeCluster, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, 'DescribeCluster', r.errorMessage);
    return {
      clusterId: r.clusterId,
      controllerId: r.controllerId,
      brokers: r.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.nodeId - b.nodeId),
    };
  }
  const md = await client.metadata([]);
  return { clusterId: md.clusterId, controllerId: md.controllerId, brokers: [...md.brokers].sort((a, b) => a.nodeId - b.nodeId) };
}

// -----------------------------------------------------------------------------------------------
// Groups

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  state: string | null;
  type: string | null;
  coordinator: number;
}

/** Every group of every broker (ListGroups asks one coordinator at a time). */
export async function listGroups(client: KafkaClient): Promise<ListedGroup[]> {
  const brokers = await client.brokerList();
  const lists = await Promise.all(
    brokers.map(async (b) =>
      client.withRetry('ListGroups', async () => {
        const conn = await client.broker(b.nodeId);
        const r = await conn.request(Apis.listGroups, { statesFilter: [], typesFilter: [] });
        if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `ListGroups on broker ${b.nodeId}`);
        const v = conn.version(Apis.listGroups)!;
        return r.groups.map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          state: v >= 4 ? g.groupState : null,
          type: v >= 5 ? g.groupType : null,
          coordinator: b.nodeId,
        }));
      }),
    ),
  );
  return lists.flat().sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Partitions from the member's assignment (consumer protocol only). */
  assignment: TopicPartition[];
}

export interface GroupDescription {
  groupId: string;
  errorCode: number;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMemberDescription[];
  coordinator: number;
}

/** Reads consumer-protocol bytes: int16 version, then the body of that version (newer versions read as our newest, ignoring the rest). */
export function readConsumerAssignment(bytes: Buffer | null): TopicPartition[] {
  if (!bytes || bytes.length < 2) return [];
  const r = new Reader(bytes);
  const version = r.int16();
  if (version < 0) return [];
  let a: ConsumerProtocolAssignment;
  try {
    a = decodeConsumerProtocolAssignment(r, Math.min(version, 3));
  } catch {
    return [];
  }
  if (r.error !== undefined) return [];
  return a.assignedPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

export function readConsumerSubscription(bytes: Buffer | null): string[] {
  if (!bytes || bytes.length < 2) return [];
  const r = new Reader(bytes);
  const version = r.int16();
  if (version < 0) return [];
  let s: ConsumerProtocolSubscription;
  try {
    s = decodeConsumerProtocolSubscription(r, Math.min(version, 3));
  } catch {
    return [];
  }
  if (r.error !== undefined) return [];
  return s.topics;
}

export async function describeGroups(client: KafkaClient, groupIds: string[]): Promise<GroupDescription[]> {
  const out = new Map<string, GroupDescription>();
  await Promise.all(
    groupIds.map((groupId) =>
      client.withRetry('DescribeGroups', async (attempt) => {
        const coordinator = await client.coordinatorId(groupId, 0, attempt > 0);
        const conn = await client.broker(coordinator);
        const r = await conn.request(Apis.describeGroups, { groups: [groupId], includeAuthorizedOperations: false });
        const g = r.groups[0];
        if (!g) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'DescribeGroups', 'empty answer');
        if (g.errorCode === ErrorCode.NOT_COORDINATOR || g.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE || g.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
          throw new KafkaError(g.errorCode, `DescribeGroups ${groupId}`);
        }
        const consumer = g.protocolType === 'consumer' || g.protocolType === '';
        out.set(groupId, {
          groupId,
          errorCode: g.errorCode,
          state: g.groupState,
          protocolType: g.protocolType,
          protocol: g.protocolData,
          coordinator,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            assignment: consumer ? readConsumerAssignment(m.memberAssignment) : [],
          })),
        });
      }),
    ),
  );
  return groupIds.map((id) => out.get(id)!);
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

/**
 * A group's committed offsets: for `partitions`, or all of them (null). Partitions without a
 * commit are left out. Throws on group-level errors.
 */
export async function fetchOffsets(client: KafkaClient, groupId: string, partitions: TopicPartition[] | null, purpose?: string): Promise<CommittedOffset[]> {
  return client.withRetry('OffsetFetch', async (attempt) => {
    const conn = await client.coordinator(groupId, purpose, attempt > 0);
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions ?? []) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    const topics = partitions === null ? null : [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    // OffsetFetch v1 cannot ask for all topics (null arrives in v2).
    const r = await conn.request(Apis.offsetFetch, { groupId, topics, groups: [{ groupId, memberId: null, memberEpoch: -1, topics }], requireStable: true }, partitions === null ? { minVersion: 2 } : {});
    const v = conn.version(Apis.offsetFetch, partitions === null ? { minVersion: 2 } : {})!;
    let errorCode: number;
    let list: Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; metadata: string | null; errorCode: number }> }>;
    if (v >= 8) {
      const g = r.groups.find((x) => x.groupId === groupId) ?? r.groups[0];
      errorCode = g?.errorCode ?? ErrorCode.NONE;
      list = g?.topics ?? [];
    } else {
      errorCode = r.errorCode;
      list = r.topics;
    }
    if (errorCode !== ErrorCode.NONE) throw new KafkaError(errorCode, `OffsetFetch for group "${groupId}"`);
    const out: CommittedOffset[] = [];
    for (const t of list) {
      for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) throw new KafkaError(p.errorCode, `OffsetFetch ${t.name}/${p.partitionIndex} for group "${groupId}"`);
        if (p.committedOffset < 0n) continue;
        out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.metadata });
      }
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  });
}

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: bigint;
  metadata?: string | null;
}

export interface CommitMember {
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
}

/**
 * OffsetCommit. Without `member` this is an admin commit (generation -1, no member id) that the
 * coordinator accepts only while the group has no members. Returns the first per-partition error
 * as a thrown KafkaError.
 */
export async function commitOffsets(client: KafkaClient, groupId: string, offsets: OffsetToCommit[], member?: CommitMember, purpose?: string): Promise<void> {
  if (offsets.length === 0) return;
  await client.withRetry('OffsetCommit', async (attempt) => {
    const conn = await client.coordinator(groupId, purpose, attempt > 0);
    const byTopic = new Map<string, OffsetToCommit[]>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    const r = await conn.request(Apis.offsetCommit, {
      groupId,
      generationIdOrMemberEpoch: member?.generationId ?? -1,
      memberId: member?.memberId ?? '',
      groupInstanceId: member?.groupInstanceId ?? null,
      retentionTimeMs: -1n,
      topics: [...byTopic].map(([name, os]) => ({
        name,
        partitions: os.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: o.metadata ?? null })),
      })),
    });
    for (const t of r.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) throw new KafkaError(p.errorCode, `OffsetCommit ${t.name}/${p.partitionIndex} for group "${groupId}"`);
      }
    }
  });
}

export async function deleteGroups(client: KafkaClient, groupIds: string[]): Promise<ItemResult[]> {
  const out = new Map<string, ItemResult>();
  await Promise.all(
    groupIds.map((groupId) =>
      client.withRetry('DeleteGroups', async (attempt) => {
        const conn = await client.coordinator(groupId, undefined, attempt > 0);
        const r = await conn.request(Apis.deleteGroups, { groupsNames: [groupId] });
        const res = r.results.find((x) => x.groupId === groupId) ?? r.results[0];
        const code = res?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
          throw new KafkaError(code, `DeleteGroups ${groupId}`);
        }
        out.set(groupId, { name: groupId, errorCode: code, errorMessage: null });
      }),
    ),
  );
  return groupIds.map((id) => out.get(id)!);
}

// -----------------------------------------------------------------------------------------------
// SCRAM users (KIP-554)

/** SCRAM mechanism numbers of DescribeUserScramCredentials / AlterUserScramCredentials. */
export const ScramMechanismType: Readonly<Record<string, number>> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };

export function scramMechanismName(type: number): string {
  return Object.keys(ScramMechanismType).find((k) => ScramMechanismType[k] === type) ?? `UNKNOWN(${type})`;
}

export interface ScramUserDescription {
  user: string;
  errorCode: number;
  errorMessage: string | null;
  credentials: Array<{ mechanism: string; iterations: number }>;
}

/** Users' SCRAM mechanisms and iterations; null asks for every user. Per-user errors are in the results. */
export async function describeUserScramCredentials(client: KafkaClient, users: string[] | null): Promise<ScramUserDescription[]> {
  const conn = await client.any();
  const r = await conn.request(Apis.describeUserScramCredentials, { users: users === null ? null : users.map((name) => ({ name })) });
  if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, 'DescribeUserScramCredentials', r.errorMessage);
  return r.results.map((u) => ({
    user: u.user,
    errorCode: u.errorCode,
    errorMessage: u.errorMessage,
    credentials: u.credentialInfos.map((c) => ({ mechanism: scramMechanismName(c.mechanism), iterations: c.iterations })),
  }));
}

export interface ScramUpsertion {
  user: string;
  mechanism: number;
  iterations: number;
  salt: Buffer;
  /** Hi(password, salt, iterations): the client salts, the password never travels. */
  saltedPassword: Buffer;
}

/** Upserts and deletes SCRAM credentials; one result per user named. */
export async function alterUserScramCredentials(
  client: KafkaClient,
  changes: { upsertions?: ScramUpsertion[]; deletions?: Array<{ user: string; mechanism: number }> },
): Promise<ItemResult[]> {
  const conn = await client.controller();
  const r = await conn.request(Apis.alterUserScramCredentials, {
    deletions: (changes.deletions ?? []).map((d) => ({ name: d.user, mechanism: d.mechanism })),
    upsertions: (changes.upsertions ?? []).map((u) => ({ name: u.user, mechanism: u.mechanism, iterations: u.iterations, salt: u.salt, saltedPassword: u.saltedPassword })),
  });
  return r.results.map((x) => ({ name: x.user, errorCode: x.errorCode, errorMessage: x.errorMessage }));
}

// -----------------------------------------------------------------------------------------------
// Log dirs

/**
 * Sizes in bytes of a topic's partitions as each broker holds them (DescribeLogDirs to every
 * broker): partition -> node id -> bytes. A broker that cannot answer is left out.
 */
export async function partitionSizes(client: KafkaClient, topic: string): Promise<Map<number, Map<number, bigint>>> {
  const out = new Map<number, Map<number, bigint>>();
  const t = await client.topic(topic);
  const brokers = await client.brokerList();
  await Promise.all(
    brokers.map(async (b) => {
      try {
        const conn = await client.broker(b.nodeId);
        const r = await conn.request(Apis.describeLogDirs, { topics: [{ topic, partitions: t.partitions.map((p) => p.partition) }] });
        for (const dir of r.results) {
          if (dir.errorCode !== ErrorCode.NONE) continue;
          for (const dt of dir.topics) {
            if (dt.name !== topic) continue;
            for (const p of dt.partitions) {
              if (p.isFutureKey) continue;
              let m = out.get(p.partitionIndex);
              if (!m) out.set(p.partitionIndex, (m = new Map()));
              m.set(b.nodeId, (m.get(b.nodeId) ?? 0n) + p.partitionSize);
            }
          }
        }
      } catch {
        // An unreachable broker or one without DescribeLogDirs: no size from it.
      }
    }),
  );
  return out;
}
