// The kafkajs admin API over consumer groups (listGroups, describeGroups, deleteGroups,
// fetchOffsets/setOffsets/resetOffsets, and deleteTopics taking committed offsets along), and
// kcat (librdkafka) as a group consumer whose commits kafkajs sees.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssignerProtocol, type Admin, type Kafka, type Producer } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { NO_KCAT, hasKcat, kafkaFor, runKcat, startTestBroker, waitFor } from '../helpers/broker.js';
import {
  decodeConsumerAssignment,
  describeGroup,
  partitionKeys,
  rawCommit,
  startTrackedConsumer,
  waitForStableAssignment,
  type TrackedConsumer,
} from '../helpers/groups.js';
import { rawClient } from '../helpers/broker.js';

let broker: Broker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
const consumers: TrackedConsumer[] = [];

beforeEach(async () => {
  broker = await startTestBroker();
  kafka = kafkaFor(broker);
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
  await producer?.disconnect().catch(() => {});
  await admin?.disconnect().catch(() => {});
  await broker?.close();
});

async function topicWith(topic: string, partitions: number, perPartition: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  for (let p = 0; p < partitions; p++) {
    if (perPartition > 0) await producer.send({ topic, messages: Array.from({ length: perPartition }, (_, i) => ({ partition: p, key: `k${i}`, value: `p${p}-${i}` })) });
  }
}

async function track(groupId: string, topics: string[]): Promise<TrackedConsumer> {
  const c = await startTrackedConsumer(kafka, groupId, topics);
  consumers.push(c);
  return c;
}

async function committed(groupId: string, topic: string): Promise<string[]> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return t!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}

describe('kafkajs admin over groups', () => {
  it('listGroups, describeGroups (state, members, protocol), deleteGroups refused while members exist and accepted after they leave', async () => {
    const topic = 'adm';
    await topicWith(topic, 2, 5);
    const c = await track('adm', [topic]);
    await waitForStableAssignment(admin, 'adm', 1, partitionKeys(topic, 2));
    await waitFor(() => c.messages.length >= 10, 5000, 20, '10 messages');
    await waitFor(async () => (await committed('adm', topic)).join() === '5,5', 5000, 50, 'committed');
    const raw = await rawClient(broker);
    await rawCommit(raw, 'adm-simple', topic, { 0: 1n });
    raw.close();

    const listed = (await admin.listGroups()).groups.sort((a, b) => a.groupId.localeCompare(b.groupId));
    expect(listed).toEqual([
      { groupId: 'adm', protocolType: 'consumer' },
      { groupId: 'adm-simple', protocolType: '' },
    ]);

    const { groups } = await admin.describeGroups(['adm', 'adm-simple', 'adm-none']);
    const [g, simple, none] = groups;
    expect(g).toMatchObject({ groupId: 'adm', state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner', errorCode: 0 });
    expect(g!.members).toHaveLength(1);
    const m = g!.members[0]!;
    expect(m).toMatchObject({ memberId: c.current()!.memberId, clientId: 'brook-e2e', clientHost: '/127.0.0.1' });
    expect(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics).toEqual([topic]);
    expect(decodeConsumerAssignment(m.memberAssignment)).toEqual({ [topic]: [0, 1] });
    expect(simple).toMatchObject({ groupId: 'adm-simple', state: 'Empty', protocolType: '', members: [] });
    expect(none).toMatchObject({ groupId: 'adm-none', state: 'Dead', members: [] });

    // NON_EMPTY_GROUP while the member is there: kafkajs throws and names the group.
    const err = await admin.deleteGroups(['adm']).then(
      () => null,
      (e: unknown) => e as { name: string; groups?: Array<{ groupId: string; errorCode: number; error?: { type: string } }> },
    );
    expect(err).not.toBeNull();
    expect(err!.name).toBe('KafkaJSDeleteGroupsError');
    expect(err!.groups).toEqual([expect.objectContaining({ groupId: 'adm', errorCode: 68, error: expect.objectContaining({ type: 'NON_EMPTY_GROUP' }) })]);
    expect((await describeGroup(admin, 'adm')).state).toBe('Stable');

    await c.disconnect();
    await waitFor(async () => (await describeGroup(admin, 'adm')).state === 'Empty', 5000, 50, 'adm Empty');
    expect(await admin.deleteGroups(['adm', 'adm-simple'])).toEqual([
      { groupId: 'adm', errorCode: 0 },
      { groupId: 'adm-simple', errorCode: 0 },
    ]);
    expect((await admin.listGroups()).groups).toEqual([]);
    expect(await committed('adm', topic)).toEqual(['-1', '-1']);
    expect((await describeGroup(admin, 'adm')).state).toBe('Dead');
  });

  it('setOffsets on an idle group (refused while a member runs); a new consumer starts there', { timeout: 20000 }, async () => {
    const topic = 'set';
    await topicWith(topic, 2, 10);
    const c = await track('set', [topic]);
    await waitFor(() => c.messages.length >= 20, 5000, 20, '20 messages');
    await expect(admin.setOffsets({ groupId: 'set', topic, partitions: [{ partition: 0, offset: '3' }] })).rejects.toThrow(/no running instances/);
    await c.disconnect();

    // kafkajs' setOffsets joins the group with a paused consumer of its own and commits by seeking.
    await admin.setOffsets({ groupId: 'set', topic, partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '8' }] });
    expect(await committed('set', topic)).toEqual(['3', '8']);
    expect((await describeGroup(admin, 'set')).state).toBe('Empty');

    const next = await track('set', [topic]);
    await waitFor(() => next.messages.length >= 9, 5000, 20, '9 messages');
    await new Promise((r) => setTimeout(r, 300));
    expect(next.messages.map((m) => `${m.partition}@${m.offset}`).sort()).toEqual([
      ...Array.from({ length: 7 }, (_, i) => `0@${3 + i}`),
      '1@8',
      '1@9',
    ].sort());
  });

  it('resetOffsets to the earliest: a new consumer reads everything again', { timeout: 20000 }, async () => {
    const topic = 'reset';
    await topicWith(topic, 2, 5);
    const c = await track('reset', [topic]);
    await waitFor(async () => (await committed('reset', topic)).join() === '5,5', 5000, 50, 'committed at the end');
    await c.disconnect();

    await admin.resetOffsets({ groupId: 'reset', topic, earliest: true });
    // kafkajs commits the "earliest" sentinel (-2) itself; consumers resolve it.
    expect(await committed('reset', topic)).toEqual(['-2', '-2']);
    const again = await track('reset', [topic]);
    await waitFor(() => again.messages.length >= 10, 5000, 20, 'everything re-read');
    await new Promise((r) => setTimeout(r, 300));
    expect(again.messages).toHaveLength(10);
    await waitFor(async () => (await committed('reset', topic)).join() === '5,5', 5000, 50, 'committed at the end again');
  });

  it('deleteTopics removes the committed offsets: a recreated topic of the same name has none', async () => {
    const topic = 'doomed';
    await topicWith(topic, 3, 4);
    await topicWith('kept', 1, 2);
    const c = await track('dt', [topic, 'kept']);
    await waitFor(async () => (await committed('dt', topic)).join() === '4,4,4' && (await committed('dt', 'kept')).join() === '2', 5000, 50, 'committed');
    await c.disconnect();

    await admin.deleteTopics({ topics: [topic] });
    // Only the other topic's offsets are left (fetchOffsets without topics asks for all of them).
    await waitFor(async () => (await admin.fetchOffsets({ groupId: 'dt' })).every((t) => t.topic !== topic), 5000, 50, 'offsets of the deleted topic gone');
    // (kafkajs reports the empty metadata string as null.)
    expect(await admin.fetchOffsets({ groupId: 'dt' })).toEqual([{ topic: 'kept', partitions: [{ partition: 0, offset: '2', metadata: null }] }]);

    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    expect(await committed('dt', topic)).toEqual(['-1', '-1', '-1']);
    expect(await committed('dt', 'kept')).toEqual(['2']);
  });

  it('deleteTopics of a group\'s only topic: the Empty group without offsets goes away', async () => {
    const topic = 'only';
    await topicWith(topic, 1, 3);
    const c = await track('only', [topic]);
    await waitFor(async () => (await committed('only', topic)).join() === '3', 5000, 50, 'committed');
    await c.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await waitFor(async () => (await admin.listGroups()).groups.length === 0, 5000, 50, 'group removed');
    expect((await describeGroup(admin, 'only')).state).toBe('Dead');
  });
});

describe('kcat (librdkafka) as a group consumer', () => {
  it.skipIf(!hasKcat)('reads a kafkajs-produced topic with -G; its commits show in admin.fetchOffsets; a second run resumes after them', async () => {
    if (!hasKcat) throw new Error(NO_KCAT);
    const topic = 'kc';
    await topicWith(topic, 3, 10);
    const args = (n: number) => [
      '-b', broker.bootstrap,
      '-G', 'kcat-group',
      '-c', String(n),
      '-f', '%p %o\\n',
      '-X', 'auto.offset.reset=earliest',
      '-X', 'session.timeout.ms=6000',
      '-X', 'heartbeat.interval.ms=500',
      '-q',
      topic,
    ];
    const first = await runKcat(args(30), undefined, 12000);
    expect(first.signal, first.stderr).toBeNull();
    expect(first.code, first.stderr).toBe(0);
    const read = first.stdout.trim().split('\n').sort();
    const all = [0, 1, 2].flatMap((p) => Array.from({ length: 10 }, (_, o) => `${p} ${o}`)).sort();
    expect(read).toEqual(all);
    // librdkafka commits on close: kafkajs sees the offsets.
    await waitFor(async () => (await committed('kcat-group', topic)).join() === '10,10,10', 5000, 50, 'kcat commits visible');
    const d = await describeGroup(admin, 'kcat-group');
    expect(d.state).toBe('Empty');
    expect(d.protocolType).toBe('consumer');

    await producer.send({ topic, messages: [0, 1, 2].map((p) => ({ partition: p, value: `late-${p}` })) });
    const second = await runKcat(args(3), undefined, 12000);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim().split('\n').sort()).toEqual(['0 10', '1 10', '2 10']);
    await waitFor(async () => (await committed('kcat-group', topic)).join() === '11,11,11', 5000, 50, 'second commits visible');
  });
});
