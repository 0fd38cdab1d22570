// Helpers for consumer-group tests: raw group API codecs and a raw "join + sync" member, the
// consumer protocol's subscription/assignment bytes (kafkajs' encoding, which is Kafka's), fast
// kafkajs consumer settings, describeGroups polling, and a kafkajs consumer in a child process
// (so that a test can SIGKILL it: its sockets die without a LeaveGroup).
//
// Free of test-framework imports, like broker.ts.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssignerProtocol,
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type ConsumerRunConfig,
  type EachMessagePayload,
  type GroupDescription,
  type Kafka,
} from 'kafkajs';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { clientApi, type RawClient } from '../../src/client/raw-client.js';

// ---------------------------------------------------------------------------------------------
// Raw group API codecs

export const groupApis = {
  offsetCommit: clientApi(G.OffsetCommitApi, G.encodeOffsetCommitRequest, G.decodeOffsetCommitResponse),
  offsetFetch: clientApi(G.OffsetFetchApi, G.encodeOffsetFetchRequest, G.decodeOffsetFetchResponse),
  findCoordinator: clientApi(G.FindCoordinatorApi, G.encodeFindCoordinatorRequest, G.decodeFindCoordinatorResponse),
  joinGroup: clientApi(G.JoinGroupApi, G.encodeJoinGroupRequest, G.decodeJoinGroupResponse),
  heartbeat: clientApi(G.HeartbeatApi, G.encodeHeartbeatRequest, G.decodeHeartbeatResponse),
  leaveGroup: clientApi(G.LeaveGroupApi, G.encodeLeaveGroupRequest, G.decodeLeaveGroupResponse),
  syncGroup: clientApi(G.SyncGroupApi, G.encodeSyncGroupRequest, G.decodeSyncGroupResponse),
  describeGroups: clientApi(G.DescribeGroupsApi, G.encodeDescribeGroupsRequest, G.decodeDescribeGroupsResponse),
  listGroups: clientApi(G.ListGroupsApi, G.encodeListGroupsRequest, G.decodeListGroupsResponse),
  deleteGroups: clientApi(G.DeleteGroupsApi, G.encodeDeleteGroupsRequest, G.decodeDeleteGroupsResponse),
  offsetDelete: clientApi(G.OffsetDeleteApi, G.encodeOffsetDeleteRequest, G.decodeOffsetDeleteResponse),
};

// ---------------------------------------------------------------------------------------------
// Consumer protocol bytes

/** ConsumerProtocolSubscription (version 0) for these topics. */
export function consumerSubscription(topics: string[], userData: Buffer = Buffer.alloc(0)): Buffer {
  return AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData });
}

/** ConsumerProtocolAssignment (version 0). */
export function consumerAssignment(assignment: Record<string, number[]>, userData: Buffer = Buffer.alloc(0)): Buffer {
  return AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData });
}

/** The topic partitions of a ConsumerProtocolAssignment (empty for empty bytes). */
export function decodeConsumerAssignment(bytes: Buffer): Record<string, number[]> {
  if (bytes.length === 0) return {};
  const a = AssignerProtocol.MemberAssignment.decode(bytes);
  return a ? a.assignment : {};
}

/** "topic/partition" keys of an assignment, sorted. */
export function assignmentKeys(assignment: Record<string, number[]>): string[] {
  return Object.entries(assignment)
    .flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`))
    .sort();
}

// ---------------------------------------------------------------------------------------------
// A raw group member

export interface RawMember {
  memberId: string;
  generationId: number;
  leader: string;
  protocolName: string | null;
  assignment: Buffer;
}

export interface RawJoinOptions {
  groupInstanceId?: string | null;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  protocols?: Array<{ name: string; metadata: Buffer }>;
  /** Assignment the member gives itself when it leads (default: nothing assigned). */
  assign?: (members: Array<{ memberId: string; metadata: Buffer }>) => Array<{ memberId: string; assignment: Buffer }>;
  /** Existing member id (rejoin). */
  memberId?: string;
  joinVersion?: number;
  syncVersion?: number;
}

/**
 * JoinGroup (v5 by default: the member-id-required round trip when dynamic) and SyncGroup (v3)
 * for a "consumer" member. Throws on any error. Other members must rejoin concurrently (on their
 * own connections) for a rebalance to complete.
 */
export async function rawJoinAndSync(client: RawClient, groupId: string, opts: RawJoinOptions = {}): Promise<RawMember> {
  const joinVersion = opts.joinVersion ?? 5;
  const syncVersion = opts.syncVersion ?? 3;
  const protocols = opts.protocols ?? [{ name: 'range', metadata: consumerSubscription(['t']) }];
  const join = (memberId: string) =>
    client.request(groupApis.joinGroup, joinVersion, {
      groupId,
      sessionTimeoutMs: opts.sessionTimeoutMs ?? 10000,
      rebalanceTimeoutMs: opts.rebalanceTimeoutMs ?? 10000,
      memberId,
      groupInstanceId: opts.groupInstanceId ?? null,
      protocolType: 'consumer',
      protocols,
      reason: null,
    });
  let j = await join(opts.memberId ?? '');
  if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) j = await join(j.memberId);
  if (j.errorCode !== ErrorCode.NONE) throw new Error(`JoinGroup ${groupId}: error ${j.errorCode}`);
  const leads = j.leader === j.memberId;
  const assignments = leads && opts.assign ? opts.assign(j.members.map((m) => ({ memberId: m.memberId, metadata: Buffer.from(m.metadata) }))) : [];
  const s = await client.request(groupApis.syncGroup, syncVersion, {
    groupId,
    generationId: j.generationId,
    memberId: j.memberId,
    groupInstanceId: opts.groupInstanceId ?? null,
    protocolType: 'consumer',
    protocolName: j.protocolName,
    assignments,
  });
  if (s.errorCode !== ErrorCode.NONE) throw new Error(`SyncGroup ${groupId}: error ${s.errorCode}`);
  return { memberId: j.memberId, generationId: j.generationId, leader: j.leader, protocolName: j.protocolName, assignment: Buffer.from(s.assignment) };
}

/** A simple (generation -1, no member) OffsetCommit v8 of `offsets` ({ partition: offset }); throws on errors. */
export async function rawCommit(
  client: RawClient,
  groupId: string,
  topic: string,
  offsets: Record<number, bigint>,
  extra: { leaderEpoch?: number; metadata?: string | null } = {},
): Promise<void> {
  const r = await client.request(groupApis.offsetCommit, 8, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: topic,
        partitions: Object.entries(offsets).map(([p, o]) => ({
          partitionIndex: Number(p),
          committedOffset: o,
          committedLeaderEpoch: extra.leaderEpoch ?? -1,
          committedMetadata: extra.metadata ?? null,
        })),
      },
    ],
  });
  for (const t of r.topics) for (const p of t.partitions) if (p.errorCode !== ErrorCode.NONE) throw new Error(`commit ${t.name}/${p.partitionIndex}: error ${p.errorCode}`);
}

/** Committed offsets of one group and topic through OffsetFetch v7 ({ partition: offset }, -1 when none). */
export async function rawFetchOffsets(client: RawClient, groupId: string, topic: string, partitions: number[]): Promise<Record<number, bigint>> {
  const r = await client.request(groupApis.offsetFetch, 7, { groupId, topics: [{ name: topic, partitionIndexes: partitions }], requireStable: false });
  if (r.errorCode !== ErrorCode.NONE) throw new Error(`OffsetFetch ${groupId}: error ${r.errorCode}`);
  const out: Record<number, bigint> = {};
  for (const p of r.topics[0]?.partitions ?? []) out[p.partitionIndex] = p.committedOffset;
  return out;
}

// ---------------------------------------------------------------------------------------------
// kafkajs

/**
 * Consumer settings that keep rebalances quick: short long-polls, frequent heartbeats, the
 * smallest session timeout the broker accepts (group.min.session.timeout.ms = 6000).
 */
export function fastConsumerConfig(groupId: string, extra: Partial<ConsumerConfig> = {}): ConsumerConfig {
  return {
    groupId,
    sessionTimeout: 6000,
    rebalanceTimeout: 3000,
    heartbeatInterval: 100,
    maxWaitTimeInMs: 100,
    retry: { retries: 10, initialRetryTime: 50, maxRetryTime: 500 },
    ...extra,
  };
}

/** Partitions per member of a Stable group ("topic/partition" keys), from describeGroups. */
export function describedAssignments(group: GroupDescription): Map<string, string[]> {
  return new Map(group.members.map((m) => [m.memberId, assignmentKeys(decodeConsumerAssignment(m.memberAssignment))]));
}

/** Describes one group. */
export async function describeGroup(admin: Admin, groupId: string): Promise<GroupDescription> {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups.find((x) => x.groupId === groupId);
  if (!g) throw new Error(`describeGroups did not return ${groupId}`);
  return g;
}

/**
 * Polls describeGroups until the group is Stable with `members` members whose assignments cover
 * `partitions` ("topic/partition" keys) exactly once between them; resolves with the description.
 */
export async function waitForStableAssignment(
  admin: Admin,
  groupId: string,
  members: number,
  partitions: string[],
  timeoutMs = 10000,
): Promise<{ group: GroupDescription; assignments: Map<string, string[]> }> {
  const want = [...partitions].sort().join(',');
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let i = 0; i < 10000; i++) {
    const group = await describeGroup(admin, groupId);
    const assignments = describedAssignments(group);
    const all = [...assignments.values()].flat().sort();
    last = `${group.state} members=${group.members.length} ${JSON.stringify([...assignments.values()])}`;
    if (group.state === 'Stable' && group.members.length === members && all.join(',') === want) return { group, assignments };
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`group ${groupId} not Stable with ${members} members covering ${want} within ${timeoutMs} ms (last: ${last})`);
}

/** "topic/partition" keys for partitions 0..n-1 of a topic. */
export function partitionKeys(topic: string, n: number): string[] {
  return Array.from({ length: n }, (_, p) => `${topic}/${p}`).sort();
}

// ---------------------------------------------------------------------------------------------
// A kafkajs consumer in a child process

export interface ChildConsumer {
  readonly child: ChildProcess;
  /** Lines the child printed so far (JSON events: {ev:'join', memberId, assignment} | {ev:'msg', p, o} | {ev:'ready'}). */
  events(): Array<Record<string, unknown>>;
  /** Resolves with the first event matching `pred` (rejects after timeoutMs or if the child exits). */
  waitEvent(pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running; removes the script. */
  kill(): Promise<void>;
}

const KAFKAJS_PATH = createRequire(import.meta.url).resolve('kafkajs');

/**
 * Runs a kafkajs consumer (fastConsumerConfig settings) for `groupId` on `topic` in a child
 * process. It prints one JSON line per event on stdout: GROUP_JOIN events with the member id and
 * assignment, and every message as {ev:'msg', p, o}. It never commits unless `autoCommit`.
 */
export function startChildConsumer(
  bootstrap: string,
  groupId: string,
  topic: string,
  opts: { autoCommit?: boolean; sessionTimeout?: number; clientId?: string } = {},
): ChildConsumer {
  const dir = mkdtempSync(join(tmpdir(), 'brook-child-consumer-'));
  const script = join(dir, 'consumer.cjs');
  const config = fastConsumerConfig(groupId, { sessionTimeout: opts.sessionTimeout ?? 6000 });
  writeFileSync(
    script,
    `'use strict';
const { Kafka, logLevel } = require(${JSON.stringify(KAFKAJS_PATH)});
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const kafka = new Kafka({ clientId: ${JSON.stringify(opts.clientId ?? 'brook-child')}, brokers: [${JSON.stringify(bootstrap)}], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 50 } });
const consumer = kafka.consumer(${JSON.stringify(config)});
consumer.on(consumer.events.GROUP_JOIN, (e) => out({ ev: 'join', memberId: e.payload.memberId, isLeader: e.payload.isLeader, assignment: e.payload.memberAssignment }));
(async () => {
  await consumer.connect();
  await consumer.subscribe({ topic: ${JSON.stringify(topic)}, fromBeginning: true });
  await consumer.run({ autoCommit: ${opts.autoCommit === true}, eachMessage: async ({ partition, message }) => out({ ev: 'msg', p: partition, o: message.offset }) });
  out({ ev: 'ready' });
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(3); });
// A safety net: never outlive the test run by much.
setTimeout(() => process.exit(4), 120000).unref();
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }> = [];
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      events.push(e);
      for (const w of [...waiters]) {
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    events: () => events,
    stderr: () => err,
    exited,
    waitEvent(pred, timeoutMs = 10000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`child consumer: no matching event within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
        const w = {
          pred,
          resolve: (e: Record<string, unknown>) => {
            clearTimeout(t);
            resolve(e);
          },
        };
        waiters.push(w);
        void exited.then(({ code, signal }) => {
          if (!waiters.includes(w)) return;
          clearTimeout(t);
          reject(new Error(`child consumer exited (code ${code}, signal ${signal}); stderr: ${err}`));
        });
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// An in-process kafkajs consumer with bookkeeping

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
}

export interface TrackedConsumer {
  readonly consumer: Consumer;
  /** Every message delivered to eachMessage, in order. */
  readonly messages: ConsumedMessage[];
  /** GROUP_JOIN payloads, in order (memberAssignment: { topic: partitions }). */
  readonly joins: Array<{ memberId: string; isLeader: boolean; memberAssignment: Record<string, number[]>; at: number }>;
  /** The member id and assignment ("topic/partition" keys) of the last GROUP_JOIN. */
  current(): { memberId: string; partitions: string[] } | undefined;
  /** Disconnects (LeaveGroup), at most once; errors and a stuck disconnect (after 5 s) are ignored. */
  disconnect(): Promise<void>;
}

/**
 * Connects a kafkajs consumer (fastConsumerConfig + `config`), subscribes to `topics` from the
 * beginning and runs it with eachMessage recording every message (or with `run` options given).
 */
export async function startTrackedConsumer(
  kafka: Kafka,
  groupId: string,
  topics: string[],
  config: Partial<ConsumerConfig> = {},
  run: Omit<ConsumerRunConfig, 'eachMessage'> & { onMessage?: (m: ConsumedMessage) => void | Promise<void> } = {},
): Promise<TrackedConsumer> {
  const consumer = kafka.consumer(fastConsumerConfig(groupId, config));
  const messages: ConsumedMessage[] = [];
  const joins: TrackedConsumer['joins'] = [];
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    joins.push({ memberId: e.payload.memberId, isLeader: e.payload.isLeader, memberAssignment: e.payload.memberAssignment as Record<string, number[]>, at: Date.now() });
  });
  await consumer.connect();
  for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
  const { onMessage, ...runConfig } = run;
  await consumer.run({
    ...runConfig,
    ...(runConfig.eachBatch
      ? {}
      : {
          eachMessage: async ({ topic, partition, message }: EachMessagePayload) => {
            const m = { topic, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, value: message.value?.toString('utf8') ?? null };
            messages.push(m);
            await onMessage?.(m);
          },
        }),
  });
  let disconnecting: Promise<void> | undefined;
  return {
    consumer,
    messages,
    joins,
    current() {
      const j = joins[joins.length - 1];
      return j && { memberId: j.memberId, partitions: assignmentKeys(j.memberAssignment) };
    },
    disconnect() {
      disconnecting ??= Promise.race([consumer.disconnect().catch(() => {}), new Promise<void>((r) => setTimeout(r, 5000).unref())]);
      return disconnecting;
    },
  };
}
