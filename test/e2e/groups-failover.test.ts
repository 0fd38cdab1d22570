// A member that dies without LeaveGroup: a kafkajs consumer in a child process is SIGKILLed (its
// sockets close, no LeaveGroup is sent). Like Kafka, the coordinator does not react to the closed
// connection; the member's partitions move to the others once its session times out.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Partitioners, type Admin, type Kafka } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { kafkaFor, startTestBroker, waitFor } from '../helpers/broker.js';
import {
  assignmentKeys,
  describeGroup,
  partitionKeys,
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
