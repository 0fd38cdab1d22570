// `brook group list|describe|reset-offsets|delete` and `brook consume --group` against a real
// broker, cross-checked with kafkajs: commits and lag seen by kafkajs' admin, a reset seen by a
// kafkajs consumer, two CLI members sharing partitions by the range assignor.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { startWithKafkajs, waitFor, type KafkajsFixture } from '../helpers/broker.js';
import { NO_DIST, hasDist, runCli, spawnCli } from '../helpers/cli.js';
import { describeGroup, partitionKeys, startTrackedConsumer, waitForStableAssignment, type TrackedConsumer } from '../helpers/groups.js';

let fixture: KafkajsFixture | undefined;
let broker: Broker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let b: string[];
const consumers: TrackedConsumer[] = [];

beforeAll(async () => {
  fixture = await startWithKafkajs({ config: { 'group.initial.rebalance.delay.ms': '0' } });
  ({ broker, kafka, admin, producer } = fixture);
  b = ['-b', broker.bootstrap];
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
});

afterAll(async () => {
  await fixture?.close();
});

function table(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

async function committed(groupId: string, topic: string): Promise<Record<number, string>> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Object.fromEntries(t!.partitions.map((p) => [p.partition, p.offset]));
}

async function seed(topic: string, partitions: number, perPartition: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  for (let p = 0; p < partitions; p++) {
    await producer.send({ topic, messages: Array.from({ length: perPartition }, (_, i) => ({ partition: p, value: `p${p}-${i}` })) });
  }
}

describe.skipIf(!hasDist)(`brook group${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('consume --group commits what it printed; describe shows offsets and lag per partition (table and JSON), as kafkajs sees them', async () => {
    await seed('g-lag', 1, 10);
    const r = await runCli(['consume', '-t', 'g-lag', '-g', 'g-lag-app', '-c', '4', ...b]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(['p0-0', 'p0-1', 'p0-2', 'p0-3']);
    expect(await committed('g-lag-app', 'g-lag')).toEqual({ 0: '4' });
    await producer.send({ topic: 'g-lag', messages: [{ value: 'late-1' }, { value: 'late-2' }] });

    const d = await runCli(['group', 'describe', 'g-lag-app', ...b]);
    expect(d.code).toBe(0);
    const out = d.stdout.trim().split('\n');
    expect(out[0]).toBe('Group: g-lag-app  State: Empty  Protocol: -  Members: 0  Coordinator: 1  Total lag: 8');
    expect(table(out.slice(1).join('\n'))).toEqual([
      ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
      ['g-lag', '0', '4', '12', '8', '-', '-', '-'],
    ]);
    const j = JSON.parse((await runCli(['group', 'describe', 'g-lag-app', '--json', ...b])).stdout);
    expect(j).toEqual([
      {
        groupId: 'g-lag-app',
        state: 'Empty',
        protocolType: 'consumer',
        protocol: '',
        coordinator: 1,
        members: [],
        offsets: [{ topic: 'g-lag', partition: 0, currentOffset: 4, logEndOffset: 12, lag: 8, memberId: null, host: null, clientId: null }],
        totalLag: 8,
      },
    ]);
    // The same group picks up where it left off.
    const rest = await runCli(['consume', '-t', 'g-lag', '-g', 'g-lag-app', ...b]);
    expect(lines(rest.stdout)).toEqual(['p0-4', 'p0-5', 'p0-6', 'p0-7', 'p0-8', 'p0-9', 'late-1', 'late-2']);
    expect(await committed('g-lag-app', 'g-lag')).toEqual({ 0: '12' });
  });

  it('describe: a live kafkajs group with its member, assignment and lag; --members; a missing group is exit 3', async () => {
    await seed('g-live', 2, 3);
    const c = await startTrackedConsumer(kafka, 'g-live-app', ['g-live'], {}, { autoCommit: true, autoCommitInterval: 50 });
    consumers.push(c);
    await waitForStableAssignment(admin, 'g-live-app', 1, partitionKeys('g-live', 2));
    await waitFor(async () => JSON.stringify(await committed('g-live-app', 'g-live')) === JSON.stringify({ 0: '3', 1: '3' }), 10000, 50, 'kafkajs commits');
    const memberId = c.current()!.memberId;
    const j = JSON.parse((await runCli(['group', 'describe', 'g-live-app', '--json', ...b])).stdout)[0];
    expect(j).toMatchObject({ groupId: 'g-live-app', state: 'Stable', protocolType: 'consumer', totalLag: 0 });
    expect(j.members).toHaveLength(1);
    expect(j.members[0]).toMatchObject({ memberId, clientId: 'brook-e2e', assignment: [{ topic: 'g-live', partition: 0 }, { topic: 'g-live', partition: 1 }] });
    expect(j.offsets.map((o: { partition: number; currentOffset: number; lag: number; memberId: string }) => [o.partition, o.currentOffset, o.lag, o.memberId])).toEqual([
      [0, 3, 0, memberId],
      [1, 3, 0, memberId],
    ]);
    const m = await runCli(['group', 'describe', 'g-live-app', '--members', ...b]);
    const rows = table(m.stdout.trim().split('\n').slice(1).join('\n'));
    expect(rows[0]).toEqual(['MEMBER-ID', 'CLIENT-ID', 'HOST', 'PARTITIONS', 'ASSIGNMENT']);
    expect(rows[1]![0]).toBe(memberId);
    expect(rows[1]!.slice(3)).toEqual(['2', 'g-live/0,g-live/1']);
    const missing = await runCli(['group', 'describe', 'g-nobody', ...b]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('group "g-nobody" not found\n');
  });

  it('list: groups of kafkajs and of the CLI with their state (table and JSON, matching kafkajs)', async () => {
    await seed('g-list', 1, 1);
    await runCli(['consume', '-t', 'g-list', '-g', 'g-list-cli', ...b]);
    const c = await startTrackedConsumer(kafka, 'g-list-js', ['g-list']);
    consumers.push(c);
    await waitForStableAssignment(admin, 'g-list-js', 1, partitionKeys('g-list', 1));
    const r = await runCli(['group', 'list', ...b]);
    expect(r.code).toBe(0);
    const rows = table(r.stdout);
    expect(rows[0]).toEqual(['GROUP', 'STATE', 'PROTOCOL-TYPE', 'COORDINATOR']);
    expect(rows).toContainEqual(['g-list-cli', 'Empty', 'consumer', '1']);
    expect(rows).toContainEqual(['g-list-js', 'Stable', 'consumer', '1']);
    const j = JSON.parse((await runCli(['group', 'list', '--json', ...b])).stdout) as Array<{ groupId: string; state: string }>;
    const fromKafkajs = (await admin.listGroups()).groups.map((g) => g.groupId).sort();
    expect(j.map((g) => g.groupId)).toEqual(fromKafkajs);
  });

  it('reset-offsets: a dry run changes nothing; --execute is seen by kafkajs, whose consumer reads again from there', async () => {
    await seed('g-reset', 2, 3);
    const first = await startTrackedConsumer(kafka, 'g-reset-app', ['g-reset'], {}, { autoCommit: true, autoCommitInterval: 50 });
    consumers.push(first);
    await waitFor(async () => JSON.stringify(await committed('g-reset-app', 'g-reset')) === JSON.stringify({ 0: '3', 1: '3' }), 10000, 50, 'kafkajs commits');
    await first.disconnect();

    const dry = await runCli(['group', 'reset-offsets', 'g-reset-app', '--topic', 'g-reset', '--to-earliest', ...b]);
    expect(dry.code).toBe(0);
    expect(table(dry.stdout)).toEqual([
      ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
      ['g-reset', '0', '3', '0'],
      ['g-reset', '1', '3', '0'],
    ]);
    expect(dry.stderr).toContain('Dry run');
    expect(await committed('g-reset-app', 'g-reset')).toEqual({ 0: '3', 1: '3' });

    const run = await runCli(['group', 'reset-offsets', 'g-reset-app', '--topic', 'g-reset:1', '--shift-by', '-2', '--execute', '--json', ...b]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ groupId: 'g-reset-app', executed: true, offsets: [{ topic: 'g-reset', partition: 1, currentOffset: 3, newOffset: 1 }] });
    expect(await committed('g-reset-app', 'g-reset')).toEqual({ 0: '3', 1: '1' });

    const again = await startTrackedConsumer(kafka, 'g-reset-app', ['g-reset']);
    consumers.push(again);
    await waitFor(() => again.messages.length >= 2, 10000, 20, 'messages after the reset');
    await new Promise((r) => setTimeout(r, 300));
    expect(again.messages.map((m) => `${m.partition}/${m.offset}=${m.value}`)).toEqual(['1/1=p1-1', '1/2=p1-2']);
    await again.disconnect();

    // Clamped to what the partitions hold; --all-topics takes every committed partition.
    const clamp = await runCli(['group', 'reset-offsets', 'g-reset-app', '--all-topics', '--to-offset', '100', '--execute', '--json', ...b]);
    expect(JSON.parse(clamp.stdout).offsets.map((o: { newOffset: number }) => o.newOffset)).toEqual([3, 3]);
    expect(await committed('g-reset-app', 'g-reset')).toEqual({ 0: '3', 1: '3' });
  });

  it('reset-offsets --to-datetime / --by-duration use the record timestamps', async () => {
    await admin.createTopics({ topics: [{ topic: 'g-time', numPartitions: 1 }] });
    const now = Date.now();
    await producer.send({
      topic: 'g-time',
      messages: [
        { value: 'old', timestamp: String(now - 3 * 3_600_000) },
        { value: 'mid', timestamp: String(now - 2 * 3_600_000) },
        { value: 'new', timestamp: String(now - 60_000) },
      ],
    });
    const r = await runCli(['group', 'reset-offsets', 'g-time-app', '--topic', 'g-time', '--to-datetime', new Date(now - 2.5 * 3_600_000).toISOString(), '--execute', ...b]);
    expect(r.code).toBe(0);
    expect(await committed('g-time-app', 'g-time')).toEqual({ 0: '1' });
    await runCli(['group', 'reset-offsets', 'g-time-app', '--topic', 'g-time', '--by-duration', '30m', '--execute', ...b]);
    expect(await committed('g-time-app', 'g-time')).toEqual({ 0: '2' });
    // Nothing that recent: the end.
    await runCli(['group', 'reset-offsets', 'g-time-app', '--topic', 'g-time', '--by-duration', '10s', '--execute', ...b]);
    expect(await committed('g-time-app', 'g-time')).toEqual({ 0: '3' });
    await runCli(['group', 'reset-offsets', 'g-time-app', '--topic', 'g-time', '--by-duration', 'PT2H30M', '--execute', ...b]);
    expect(await committed('g-time-app', 'g-time')).toEqual({ 0: '1' });
  });

  it('reset-offsets refuses an active group (exit 1) and bad combinations (exit 2)', async () => {
    await seed('g-busy', 1, 2);
    const c = await startTrackedConsumer(kafka, 'g-busy-app', ['g-busy'], {}, { autoCommit: true, autoCommitInterval: 50 });
    consumers.push(c);
    await waitFor(async () => (await committed('g-busy-app', 'g-busy'))[0] === '2', 10000, 50, 'kafkajs commits');
    const r = await runCli(['group', 'reset-offsets', 'g-busy-app', '--topic', 'g-busy', '--to-earliest', '--execute', ...b]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is Stable with 1 member(s): stop its consumers first');
    expect(await committed('g-busy-app', 'g-busy')).toEqual({ 0: '2' });
    expect((await runCli(['group', 'reset-offsets', 'g-busy-app', '--topic', 'g-busy', ...b])).code).toBe(2);
    expect((await runCli(['group', 'reset-offsets', 'g-busy-app', '--to-earliest', ...b])).code).toBe(2);
    expect((await runCli(['group', 'reset-offsets', 'g-busy-app', '--topic', 'g-busy', '--to-earliest', '--to-latest', ...b])).code).toBe(2);
    expect((await runCli(['group', 'reset-offsets', 'g-busy-app', '--topic', 'g-busy', '--by-duration', 'soon', ...b])).code).toBe(2);
    const nf = await runCli(['group', 'reset-offsets', 'g-busy-app', '--topic', 'g-nope', '--to-earliest', ...b]);
    expect(nf.code).toBe(1);
  });

  it('delete: an empty group goes (kafkajs no longer lists it); one with members is exit 1; a missing one exit 3 or 0 with --if-exists', async () => {
    await seed('g-del', 1, 1);
    await runCli(['consume', '-t', 'g-del', '-g', 'g-del-empty', ...b]);
    const c = await startTrackedConsumer(kafka, 'g-del-busy', ['g-del']);
    consumers.push(c);
    await waitForStableAssignment(admin, 'g-del-busy', 1, partitionKeys('g-del', 1));
    const r = await runCli(['group', 'delete', 'g-del-empty', 'g-del-busy', ...b]);
    expect(r.code).toBe(1);
    expect(table(r.stdout)).toEqual([
      ['GROUP', 'STATUS'],
      ['g-del-empty', 'deleted'],
      ['g-del-busy', 'has members'],
    ]);
    expect(r.stderr).toContain('group "g-del-busy": NON_EMPTY_GROUP');
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    expect(groups).not.toContain('g-del-empty');
    expect(groups).toContain('g-del-busy');
    const missing = await runCli(['group', 'delete', 'g-del-empty', '--json', ...b]);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toEqual([{ groupId: 'g-del-empty', status: 'not found', error: { code: 'GROUP_ID_NOT_FOUND' } }]);
    expect((await runCli(['group', 'delete', 'g-del-empty', '--if-exists', ...b])).code).toBe(0);
  });

  it('two CLI members of one group split the partitions by ranges, each record is printed once, and both leave on SIGINT', async () => {
    await admin.createTopics({ topics: [{ topic: 'g-share', numPartitions: 4 }] });
    const one = spawnCli(['consume', '-t', 'g-share', '-g', 'g-share-app', '-f', '--format', '{partition}:{value}', '--client-id', 'cli-one', ...b]);
    const two = spawnCli(['consume', '-t', 'g-share', '-g', 'g-share-app', '-f', '--format', '{partition}:{value}', '--client-id', 'cli-two', ...b]);
    try {
      const { assignments } = await waitForStableAssignment(admin, 'g-share-app', 2, partitionKeys('g-share', 4), 20000);
      // Range assignor: two consecutive partitions each.
      expect([...assignments.values()].map((a) => a.join(',')).sort()).toEqual(['g-share/0,g-share/1', 'g-share/2,g-share/3']);
      const group = await describeGroup(admin, 'g-share-app');
      expect(group.protocol).toBe('range');
      expect(group.members.map((m) => m.clientId).sort()).toEqual(['cli-one', 'cli-two']);
      for (let p = 0; p < 4; p++) await producer.send({ topic: 'g-share', messages: [{ partition: p, value: `m${p}a` }, { partition: p, value: `m${p}b` }] });
      const all = (): string[] => [...lines(one.stdout()), ...lines(two.stdout())].sort();
      await waitFor(() => all().length >= 8, 15000, 20, 'eight records between the two members');
      await new Promise((r) => setTimeout(r, 300));
      expect(all()).toEqual(['0:m0a', '0:m0b', '1:m1a', '1:m1b', '2:m2a', '2:m2b', '3:m3a', '3:m3b']);
      // Each member printed only its own partitions.
      for (const c of [one, two]) expect(new Set(lines(c.stdout()).map((l) => Math.floor(Number(l.split(':')[0]) / 2))).size).toBe(1);
      one.child.kill('SIGINT');
      two.child.kill('SIGINT');
      expect((await one.exited).code).toBe(0);
      expect((await two.exited).code).toBe(0);
      expect(await committed('g-share-app', 'g-share')).toEqual({ 0: '2', 1: '2', 2: '2', 3: '2' });
      expect((await describeGroup(admin, 'g-share-app')).state).toBe('Empty');
    } finally {
      one.child.kill('SIGKILL');
      two.child.kill('SIGKILL');
    }
  });
});
