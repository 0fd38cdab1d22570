// `brook topic create|list|describe|delete|alter` against a real broker, checked with kafkajs:
// table and --json output, exit codes (0 ok, 1 error, 2 usage, 3 not found).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, type Admin, type Kafka, type Producer } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { startWithKafkajs, type KafkajsFixture } from '../helpers/broker.js';
import { NO_DIST, hasDist, runCli } from '../helpers/cli.js';

let fixture: KafkajsFixture | undefined;
let broker: Broker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let b: string[];

beforeAll(async () => {
  fixture = await startWithKafkajs();
  ({ broker, kafka, admin, producer } = fixture);
  b = ['-b', broker.bootstrap];
});

afterAll(async () => {
  await fixture?.close();
});

async function topicConfig(topic: string, name: string): Promise<string | undefined> {
  const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }] });
  return r.resources[0]?.configEntries.find((c) => c.configName === name)?.configValue;
}

/** Rows of a table (header first), split on runs of two or more spaces. */
function table(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

describe.skipIf(!hasDist)(`brook topic${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('create: makes the topic with its partitions and configs, prints a table', async () => {
    const r = await runCli(['topic', 'create', 'tc-orders', '-p', '3', '-c', 'retention.ms=3600000', '-c', 'cleanup.policy=compact', ...b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = table(r.stdout);
    expect(rows[0]).toEqual(['TOPIC', 'STATUS', 'PARTITIONS', 'REPLICATION-FACTOR', 'TOPIC-ID']);
    expect(rows[1]!.slice(0, 4)).toEqual(['tc-orders', 'created', '3', '1']);
    const md = await admin.fetchTopicMetadata({ topics: ['tc-orders'] });
    expect(md.topics[0]!.partitions).toHaveLength(3);
    expect(await topicConfig('tc-orders', 'retention.ms')).toBe('3600000');
    expect(await topicConfig('tc-orders', 'cleanup.policy')).toBe('compact');
  });

  it('create --json: one object per topic; the broker default partition count when -p is left out', async () => {
    const r = await runCli(['topic', 'create', 'tc-json-a', 'tc-json-b', '--json', ...b]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ name: 'tc-json-a', status: 'created', partitions: 1, replicationFactor: 1, error: null });
    expect(out[0].topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(out[1]).toMatchObject({ name: 'tc-json-b', status: 'created' });
    expect((await admin.listTopics()).sort()).toEqual(expect.arrayContaining(['tc-json-a', 'tc-json-b']));
  });

  it('create: an existing topic is exit 1 (TOPIC_ALREADY_EXISTS), or 0 with --if-not-exists', async () => {
    await admin.createTopics({ topics: [{ topic: 'tc-exists', numPartitions: 2 }] });
    const r = await runCli(['topic', 'create', 'tc-exists', ...b]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('TOPIC_ALREADY_EXISTS');
    const ok = await runCli(['topic', 'create', 'tc-exists', '--if-not-exists', '--json', ...b]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)[0]).toMatchObject({ name: 'tc-exists', status: 'exists' });
  });

  it('create: an invalid config is exit 1 with the broker\'s reason; --validate-only creates nothing', async () => {
    const bad = await runCli(['topic', 'create', 'tc-bad', '-c', 'cleanup.policy=sometimes', ...b]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('INVALID_CONFIG');
    const v = await runCli(['topic', 'create', 'tc-validate', '-p', '2', '--validate-only', ...b]);
    expect(v.code).toBe(0);
    expect(table(v.stdout)[1]!.slice(0, 2)).toEqual(['tc-validate', 'valid']);
    expect(await admin.listTopics()).not.toContain('tc-validate');
    expect(await admin.listTopics()).not.toContain('tc-bad');
  });

  it('create: usage errors are exit 2', async () => {
    expect((await runCli(['topic', 'create', ...b])).code).toBe(2);
    expect((await runCli(['topic', 'create', 'x', '-p', 'zero', ...b])).code).toBe(2);
    expect((await runCli(['topic', 'create', 'x', '-c', 'novalue', ...b])).code).toBe(2);
    expect((await runCli(['topic', 'create', 'x', '-b', 'host:notaport'])).code).toBe(2);
  });

  it('list: table and --json agree with kafkajs; internal topics only with --internal', async () => {
    await admin.createTopics({ topics: [{ topic: 'tl-one', numPartitions: 4 }] });
    // A group commit creates __consumer_offsets.
    await admin.setOffsets({ groupId: 'tl-group', topic: 'tl-one', partitions: [{ partition: 0, offset: '0' }] });
    const r = await runCli(['topic', 'list', ...b]);
    expect(r.code).toBe(0);
    const rows = table(r.stdout);
    expect(rows[0]).toEqual(['TOPIC', 'PARTITIONS', 'REPLICATION-FACTOR']);
    expect(rows).toContainEqual(['tl-one', '4', '1']);
    expect(rows.map((x) => x[0])).not.toContain('__consumer_offsets');
    const j = await runCli(['topic', 'list', '--json', ...b]);
    const list = JSON.parse(j.stdout) as Array<{ name: string; partitions: number; internal: boolean }>;
    const names = list.map((t) => t.name);
    expect(names).toEqual([...names].sort());
    expect(new Set(names)).toEqual(new Set((await admin.listTopics()).filter((t) => !t.startsWith('__'))));
    expect(list.find((t) => t.name === 'tl-one')).toMatchObject({ partitions: 4, internal: false });
    const all = JSON.parse((await runCli(['topic', 'list', '--internal', '--json', ...b])).stdout) as Array<{ name: string; internal: boolean }>;
    expect(all.find((t) => t.name === '__consumer_offsets')).toMatchObject({ internal: true });
  });

  it('describe: partitions with leader, replicas, ISR and offsets, and the configs set on the topic', async () => {
    await admin.createTopics({ topics: [{ topic: 'td-topic', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
    await producer.send({ topic: 'td-topic', messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 1 }] });
    const r = await runCli(['topic', 'describe', 'td-topic', ...b]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Topic: td-topic {2}Id: \S{22} {2}Partitions: 2 {2}Replication-factor: 1$/);
    expect(lines[1]).toBe('Configs: retention.ms=7200000');
    const rows = table(lines.slice(2).join('\n'));
    expect(rows).toEqual([
      ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'LOG-START-OFFSET', 'END-OFFSET', 'RECORDS'],
      ['0', '1', '1', '1', '0', '2', '2'],
      ['1', '1', '1', '1', '0', '1', '1'],
    ]);
    const j = JSON.parse((await runCli(['topic', 'describe', 'td-topic', '--json', ...b])).stdout);
    expect(j).toHaveLength(1);
    expect(j[0]).toMatchObject({ name: 'td-topic', partitionCount: 2, replicationFactor: 1, internal: false });
    expect(j[0].partitions[0]).toMatchObject({ partition: 0, leader: 1, replicas: [1], isr: [1], logStartOffset: 0, endOffset: 2 });
    expect(j[0].configs).toEqual([{ name: 'retention.ms', value: '7200000', source: 'DYNAMIC_TOPIC_CONFIG', isDefault: false, readOnly: false, isSensitive: false }]);
    const all = JSON.parse((await runCli(['topic', 'describe', 'td-topic', '--all-configs', '--json', ...b])).stdout);
    expect(all[0].configs.length).toBeGreaterThan(10);
    expect(all[0].configs.find((c: { name: string }) => c.name === 'cleanup.policy')).toMatchObject({ value: 'delete', isDefault: true });
  });

  it('describe: a missing topic is exit 3; the others are still described', async () => {
    await admin.createTopics({ topics: [{ topic: 'td-present' }] });
    const r = await runCli(['topic', 'describe', 'td-present', 'td-missing', '--json', ...b]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('topic "td-missing" not found');
    expect(JSON.parse(r.stdout).map((t: { name: string }) => t.name)).toEqual(['td-present']);
  });

  it('delete: removes topics (exit 0); a missing one is exit 3, or 0 with --if-exists', async () => {
    await admin.createTopics({ topics: [{ topic: 'tdel-a' }, { topic: 'tdel-b' }] });
    const r = await runCli(['topic', 'delete', 'tdel-a', 'tdel-b', ...b]);
    expect(r.code).toBe(0);
    expect(table(r.stdout)).toEqual([
      ['TOPIC', 'STATUS'],
      ['tdel-a', 'deleted'],
      ['tdel-b', 'deleted'],
    ]);
    const topics = await admin.listTopics();
    expect(topics).not.toContain('tdel-a');
    expect(topics).not.toContain('tdel-b');
    const missing = await runCli(['topic', 'delete', 'tdel-a', '--json', ...b]);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)[0]).toMatchObject({ name: 'tdel-a', status: 'not found', error: { code: 'UNKNOWN_TOPIC_OR_PARTITION' } });
    expect((await runCli(['topic', 'delete', 'tdel-a', '--if-exists', ...b])).code).toBe(0);
  });

  it('alter: adds partitions and sets and removes configs, seen by kafkajs', async () => {
    await admin.createTopics({ topics: [{ topic: 'ta-topic', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    const r = await runCli(['topic', 'alter', 'ta-topic', '-p', '4', '-c', 'retention.ms=60000', '-d', 'cleanup.policy', ...b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(table(r.stdout)).toEqual([
      ['CHANGE', 'RESULT'],
      ['partitions', '1 -> 4'],
      ['retention.ms', 'set to 60000'],
      ['cleanup.policy', 'reset to default'],
    ]);
    const md = await admin.fetchTopicMetadata({ topics: ['ta-topic'] });
    expect(md.topics[0]!.partitions).toHaveLength(4);
    expect(await topicConfig('ta-topic', 'retention.ms')).toBe('60000');
    expect(await topicConfig('ta-topic', 'cleanup.policy')).toBe('delete');
    const j = await runCli(['topic', 'alter', 'ta-topic', '-c', 'retention.ms=120000', '--json', ...b]);
    expect(JSON.parse(j.stdout)).toEqual({ name: 'ta-topic', validateOnly: false, partitions: { before: 4, after: 4 }, configsSet: { 'retention.ms': '120000' }, configsDeleted: [] });
    expect(await topicConfig('ta-topic', 'retention.ms')).toBe('120000');
  });

  it('alter: shrinking is exit 1, a bad config exit 1, nothing to change exit 2, a missing topic exit 3', async () => {
    await admin.createTopics({ topics: [{ topic: 'ta-errors', numPartitions: 3 }] });
    const shrink = await runCli(['topic', 'alter', 'ta-errors', '-p', '2', ...b]);
    expect(shrink.code).toBe(1);
    expect(shrink.stderr).toContain('can only add partitions');
    const bad = await runCli(['topic', 'alter', 'ta-errors', '-c', 'retention.ms=soon', ...b]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('INVALID_CONFIG');
    expect((await runCli(['topic', 'alter', 'ta-errors', ...b])).code).toBe(2);
    const missing = await runCli(['topic', 'alter', 'ta-nope', '-p', '5', ...b]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('topic "ta-nope" not found');
    expect((await admin.fetchTopicMetadata({ topics: ['ta-errors'] })).topics[0]!.partitions).toHaveLength(3);
  });
});
