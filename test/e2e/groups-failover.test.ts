// A member that dies without LeaveGroup: a kafkajs consumer in a child process is SIGKILLed (its
// sockets close, no LeaveGroup is sent). Like Kafka, the coordinator does not react to the closed
// connection; the member's partitions move to the others once its session times out.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Partitioners, type Admin, type Kafka } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { ErrorCode } from '../../protocol/errors.js';
import { kafkaFor, rawClient, startTestBroker, waitFor } from '../helpers/broker.js';
import { NO_DIST, hasDist, startCliBroker } from '../helpers/cli.js';
import {
  assignmentKeys,
  consumerSubscription,
  describeGroup,
  groupApis,
  partitionKeys,
  rawJoinAndSync,
  startChildConsumer,
  startTrackedConsumer,
  waitForStableAssignment,
  type ChildConsumer,
  type TrackedConsumer,
} from '../helpers/groups.js';

const SESSION_TIMEOUT = 6000; // group.min.session.timeout.ms: the quickest a dead member can be noticed

let broker: Broker;
let kafka: Kafka;
let admin: Admin;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  broker = await startTestBroker();
  kafka = kafkaFor(broker);
  admin = kafka.admin();
  await admin.connect();
});

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c().catch(() => {})));
  await admin?.disconnect().catch(() => {});
  await broker?.close();
});

function child(groupId: string, topic: string): ChildConsumer {
  const c = startChildConsumer(broker.bootstrap, groupId, topic, { sessionTimeout: SESSION_TIMEOUT });
  cleanups.push(() => c.kill());
  return c;
}

async function local(groupId: string, topic: string): Promise<TrackedConsumer> {
  const c = await startTrackedConsumer(kafka, groupId, [topic], { sessionTimeout: SESSION_TIMEOUT });
  cleanups.push(() => c.disconnect());
  return c;
}

describe('a member killed without LeaveGroup', () => {
  it('loses its partitions to the others after the session timeout (not before), and they consume them', { timeout: 30000 }, async () => {
    const topic = 'fo';
    const groupId = 'fo';
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    const all = partitionKeys(topic, 6);

    const doomed = child(groupId, topic);
    await doomed.waitEvent((e) => e.ev === 'ready');
    const a = await local(groupId, topic);
    const b = await local(groupId, topic);
    const { assignments } = await waitForStableAssignment(admin, groupId, 3, all, 10000);
    await waitFor(() => a.current()?.partitions.length === 2 && b.current()?.partitions.length === 2, 5000, 20, 'local members joined');
    const doomedId = [...assignments.keys()].find((id) => id !== a.current()!.memberId && id !== b.current()!.memberId)!;
    expect(doomedId).toBeDefined();
    const doomedParts = assignments.get(doomedId)!;
    expect(doomedParts).toHaveLength(2);
    // The child sees the same assignment.
    const lastChildJoin = () => doomed.events().filter((e) => e.ev === 'join').at(-1);
    await waitFor(() => lastChildJoin()?.memberId === doomedId && assignmentKeys(lastChildJoin()!.assignment as Record<string, number[]>).length === 2, 5000, 20, 'child joined the 3-member generation');
    expect(assignmentKeys(lastChildJoin()!.assignment as Record<string, number[]>)).toEqual(doomedParts);

    const killedAt = Date.now();
    doomed.child.kill('SIGKILL');
    expect((await doomed.exited).signal).toBe('SIGKILL');

    // Until the session expires the dead member still holds its partitions.
    await new Promise((r) => setTimeout(r, 2000));
    const meanwhile = await describeGroup(admin, groupId);
    expect(meanwhile.members.map((m) => m.memberId)).toContain(doomedId);

    const after = await waitForStableAssignment(admin, groupId, 2, all, SESSION_TIMEOUT + 6000);
    const elapsed = Date.now() - killedAt;
    // The last heartbeat was at most ~heartbeatInterval before the kill.
    expect(elapsed).toBeGreaterThanOrEqual(SESSION_TIMEOUT - 1000);
    expect(elapsed).toBeLessThan(SESSION_TIMEOUT + 6000);
    expect([...after.assignments.keys()].sort()).toEqual([a.current()!.memberId, b.current()!.memberId].sort());
    await waitFor(() => a.current()?.partitions.length === 3 && b.current()?.partitions.length === 3, 5000, 20, 'survivors see 3 partitions each');
    expect([...a.current()!.partitions, ...b.current()!.partitions].sort()).toEqual(all);

    // The survivors consume the dead member's partitions too.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({ topic, messages: doomedParts.map((k) => ({ partition: Number(k.split('/')[1]), value: 'after' })) });
    await waitFor(() => [...a.messages, ...b.messages].filter((m) => m.value === 'after').length === doomedParts.length, 5000, 20, 'messages on the taken-over partitions');
  });

  it('the only member killed: the group becomes Empty after the session timeout and a new consumer takes over', { timeout: 30000 }, async () => {
    const topic = 'fo-solo';
    const groupId = 'fo-solo';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const doomed = child(groupId, topic);
    await doomed.waitEvent((e) => e.ev === 'join');
    await waitForStableAssignment(admin, groupId, 1, partitionKeys(topic, 2));

    const killedAt = Date.now();
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    await waitFor(async () => (await describeGroup(admin, groupId)).state === 'Empty', SESSION_TIMEOUT + 5000, 100, 'group Empty');
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(SESSION_TIMEOUT - 1000);

    const next = await local(groupId, topic);
    await waitForStableAssignment(admin, groupId, 1, partitionKeys(topic, 2));
    await waitFor(() => next.current()?.partitions.length === 2, 5000, 20, 'the new consumer owns both partitions');
  });
});

describe('connection faults and shutdown', () => {
  it('all connections dropped at once: the members reconnect and keep their group; nothing is lost', { timeout: 30000 }, async () => {
    const topic = 'drop';
    const groupId = 'drop';
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
    const all = partitionKeys(topic, 4);
    const a = await local(groupId, topic);
    const b = await local(groupId, topic);
    await waitForStableAssignment(admin, groupId, 2, all);
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ key: `a${i}`, value: `a${i}` })) });
    await waitFor(() => a.messages.length + b.messages.length >= 40, 5000, 20, 'first 40');

    broker.dropConnections();
    await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ key: `b${i}`, value: `b${i}` })) });
    const values = () => new Set([...a.messages, ...b.messages].map((m) => m.value));
    await waitFor(() => values().size >= 80, 10000, 20, 'all 80 after the drop');
    await waitForStableAssignment(admin, groupId, 2, all, 10000);
  });

  it('broker.close() answers a parked JoinGroup and a parked SyncGroup (COORDINATOR_NOT_AVAILABLE) and returns promptly', async () => {
    const sub = consumerSubscription(['t']);
    const join = (c: Awaited<ReturnType<typeof rawClient>>, groupId: string, memberId = '') =>
      c.request(groupApis.joinGroup, 3, {
        groupId,
        sessionTimeoutMs: 10000,
        rebalanceTimeoutMs: 20000,
        memberId,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: sub }],
      });
    const [a1, b1, a2, b2] = await Promise.all([rawClient(broker), rawClient(broker), rawClient(broker), rawClient(broker)]);
    cleanups.push(async () => [a1, b1, a2, b2].forEach((c) => c.close()));

    // Group "pj": A is Stable alone; B's JoinGroup waits for A to rejoin (up to 20 s).
    await rawJoinAndSync(a1, 'pj', { joinVersion: 3, rebalanceTimeoutMs: 20000 });
    const parkedJoin = join(b1, 'pj');
    await waitFor(async () => (await describeGroup(admin, 'pj')).state === 'PreparingRebalance', 5000, 20, 'pj rebalancing');

    // Group "ps": a generation of two whose follower has sent SyncGroup; the leader never does.
    const a = await rawJoinAndSync(a2, 'ps', { joinVersion: 3, rebalanceTimeoutMs: 20000 });
    const bJoin = join(b2, 'ps');
    await waitFor(async () => (await describeGroup(admin, 'ps')).state === 'PreparingRebalance', 5000, 20, 'ps rebalancing');
    const [ja, jb] = await Promise.all([join(a2, 'ps', a.memberId), bJoin]);
    expect(ja.generationId).toBe(2);
    expect(jb.generationId).toBe(2);
    const [follower, followerConn] = ja.leader === ja.memberId ? [jb, b2] : [ja, a2];
    const parkedSync = followerConn.request(groupApis.syncGroup, 3, { groupId: 'ps', generationId: follower.generationId, memberId: follower.memberId, assignments: [] });
    await new Promise((r) => setTimeout(r, 100));

    const t0 = Date.now();
    await broker.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await parkedJoin).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await parkedSync).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});

describe('CLI shutdown with consumers in a rebalance', () => {
  it.skipIf(!hasDist)('SIGTERM while a JoinGroup is parked: the parked member is answered and the process exits 0 promptly', async () => {
    if (!hasDist) throw new Error(NO_DIST);
    const dataDir = mkdtempSync(join(tmpdir(), 'brook-e2e-groups-term-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const cli = await startCliBroker(dataDir);
    cleanups.push(() => cli.kill());
    const [a, b] = await Promise.all([rawClient(cli), rawClient(cli)]);
    cleanups.push(async () => [a, b].forEach((c) => c.close()));
    await rawJoinAndSync(a, 'term', { joinVersion: 3, rebalanceTimeoutMs: 30000 });
    const parked = b.request(groupApis.joinGroup, 3, {
      groupId: 'term',
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 30000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: consumerSubscription(['t']) }],
    });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    cli.child.kill('SIGTERM');
    const exit = await Promise.race([cli.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8000))]);
    expect(exit, cli.stderr()).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    // Answered before the connections close: the client looks the coordinator up again.
    expect((await parked).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});
