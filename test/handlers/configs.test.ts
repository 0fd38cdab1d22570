// Issue 8: configuration changes. DescribeConfigs (32), AlterConfigs (33) and
// IncrementalAlterConfigs (44) through the real broker on a real socket: Kafka's sources and
// synonym order (ConfigHelper), its value rules and messages (LogConfig / ConfigDef), which broker
// configs are dynamic (DynamicBrokerConfig), the request checks (ConfigAdminManager), persistence
// across a restart and broker-level changes reaching existing partitions.

import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { startBroker, type Broker, type BrokerOptions } from '../../src/broker.js';
import { ManualClock } from '../../src/common/clock.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';
import { TOPIC_CONFIG_DEFS } from '../../src/config/config.js';
import { DYNAMIC_CONFIGS_FILE } from '../../src/config/dynamic-store.js';

const CreateTopics = clientApi(G.CreateTopicsApi, G.encodeCreateTopicsRequest, G.decodeCreateTopicsResponse);
const DescribeConfigs = clientApi(G.DescribeConfigsApi, G.encodeDescribeConfigsRequest, G.decodeDescribeConfigsResponse);
const AlterConfigs = clientApi(G.AlterConfigsApi, G.encodeAlterConfigsRequest, G.decodeAlterConfigsResponse);
const Incremental = clientApi(G.IncrementalAlterConfigsApi, G.encodeIncrementalAlterConfigsRequest, G.decodeIncrementalAlterConfigsResponse);

const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;
/** ConfigSource codes. */
const S = { TOPIC: 1, DYNAMIC_BROKER: 2, DYNAMIC_DEFAULT: 3, STATIC: 4, DEFAULT: 5 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options: BrokerOptions = {}): Promise<{ broker: Broker; c: RawClient }> {
  const broker = await startBroker(options);
  const c = await RawClient.connect(broker.host, broker.port);
  cleanups.push(async () => {
    c.close();
    await broker.close();
  });
  return { broker, c };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'brook-configs-'));
  cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function create(c: RawClient, name: string, configs: Array<{ name: string; value: string | null }> = []) {
  const r = await c.request(CreateTopics, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, configs }], timeoutMs: 1000 });
  return r.topics[0]!;
}

type Described = { name: string; value: string | null; configSource: number; readOnly: boolean; isSensitive: boolean; configType: number; synonyms: Array<{ name: string; value: string | null; source: number }> };

async function describeOne(c: RawClient, resourceType: number, resourceName: string, keys: string[] | null, version = 4) {
  const r = await c.request(DescribeConfigs, version, { resources: [{ resourceType, resourceName, configurationKeys: keys }], includeSynonyms: true, includeDocumentation: true });
  return r.results[0]!;
}

async function describe1(c: RawClient, resourceType: number, resourceName: string, key: string): Promise<Described> {
  const r = await describeOne(c, resourceType, resourceName, [key]);
  expect(r.errorCode).toBe(ErrorCode.NONE);
  return r.configs[0] as Described;
}

const syn = (d: Described) => d.synonyms.map((s) => [s.name, s.value, s.source]);

async function alter(c: RawClient, resources: Array<{ resourceType: number; resourceName: string; configs: Array<{ name: string; value: string | null }> }>, validateOnly = false) {
  const r = await c.request(AlterConfigs, 2, { resources, validateOnly });
  return r.responses.map((x) => [x.errorCode, x.errorMessage]);
}

async function incremental(
  c: RawClient,
  resources: Array<{ resourceType: number; resourceName: string; configs: Array<{ name: string; configOperation: number; value: string | null }> }>,
  validateOnly = false,
) {
  const r = await c.request(Incremental, 1, { resources, validateOnly });
  return r.responses.map((x) => [x.errorCode, x.errorMessage]);
}

const partitionConfig = (b: Broker, topic: string) => (b.store.partition(topic, 0) as unknown as { config: { retentionMs: number; retentionBytes: number; segmentBytes: number; cleanupPolicy: string } }).config;

describe('DescribeConfigs: sources and synonyms as Kafka (ConfigHelper)', () => {
  it('lists synonyms from the primary broker name down, level by level', async () => {
    const { c } = await start({ config: { 'log.retention.hours': '5' } });
    await create(c, 't');
    // Only log.retention.hours set: the value follows it, but nothing from the primary synonym
    // (log.retention.ms) down has a value, so no synonym and DEFAULT_CONFIG.
    let d = await describe1(c, TOPIC, 't', 'retention.ms');
    expect([d.value, d.configSource, syn(d)]).toEqual(['18000000', S.DEFAULT, []]);
    // A cluster-wide dynamic log.retention.ms: DYNAMIC_DEFAULT_BROKER_CONFIG, then the rest.
    expect(await alter(c, [{ resourceType: BROKER, resourceName: '', configs: [{ name: 'log.retention.ms', value: '60000' }] }])).toEqual([[0, null]]);
    d = await describe1(c, TOPIC, 't', 'retention.ms');
    expect([d.value, d.configSource]).toEqual(['60000', S.DYNAMIC_DEFAULT]);
    expect(syn(d)).toEqual([
      ['log.retention.ms', '60000', S.DYNAMIC_DEFAULT],
      ['log.retention.hours', '5', S.STATIC],
      ['log.retention.hours', '168', S.DEFAULT],
    ]);
    // A per-broker value wins over the cluster default.
    expect(await alter(c, [{ resourceType: BROKER, resourceName: '1', configs: [{ name: 'log.retention.ms', value: '30000' }] }])).toEqual([[0, null]]);
    d = await describe1(c, TOPIC, 't', 'retention.ms');
    expect([d.value, d.configSource, syn(d)[0]]).toEqual(['30000', S.DYNAMIC_BROKER, ['log.retention.ms', '30000', S.DYNAMIC_BROKER]]);
    // A topic override comes first.
    expect(await alter(c, [{ resourceType: TOPIC, resourceName: 't', configs: [{ name: 'retention.ms', value: ' 1000 ' }] }])).toEqual([[0, null]]);
    d = await describe1(c, TOPIC, 't', 'retention.ms');
    expect([d.value, d.configSource]).toEqual(['1000', S.TOPIC]);
    expect(syn(d).map((s) => s[0])).toEqual(['retention.ms', 'log.retention.ms', 'log.retention.ms', 'log.retention.hours', 'log.retention.hours']);
    // Unset segment.ms: log.roll.hours has only its default, below the primary log.roll.ms.
    d = await describe1(c, TOPIC, 't', 'segment.ms');
    expect([d.value, d.configSource, syn(d)]).toEqual(['604800000', S.DEFAULT, []]);
    // A one-name synonym shows its default.
    d = await describe1(c, TOPIC, 't', 'cleanup.policy');
    expect([d.value, d.configSource, syn(d)]).toEqual(['delete', S.DEFAULT, [['log.cleanup.policy', 'delete', S.DEFAULT]]]);
    // No broker synonym at all.
    d = await describe1(c, TOPIC, 't', 'remote.storage.enable');
    expect([d.value, d.configSource, syn(d)]).toEqual(['false', S.DEFAULT, []]);
  });

  it('answers in the order asked; an empty or null key list means every config', async () => {
    const { c } = await start();
    await create(c, 'o');
    const r = await describeOne(c, TOPIC, 'o', ['segment.bytes', 'no.such', 'cleanup.policy', 'retention.ms', 'segment.bytes']);
    expect(r.configs.map((x) => x.name)).toEqual(['segment.bytes', 'cleanup.policy', 'retention.ms']);
    const all = await describeOne(c, TOPIC, 'o', []);
    expect(all.configs.map((x) => x.name)).toEqual(TOPIC_CONFIG_DEFS.map((d) => d.name));
    expect((await describeOne(c, TOPIC, 'o', null)).configs).toHaveLength(TOPIC_CONFIG_DEFS.length);
    const many = await c.request(DescribeConfigs, 4, {
      resources: [
        { resourceType: BROKER, resourceName: '1', configurationKeys: ['num.partitions'] },
        { resourceType: TOPIC, resourceName: 'o', configurationKeys: ['retention.ms'] },
        { resourceType: TOPIC, resourceName: 'missing', configurationKeys: null },
        { resourceType: TOPIC, resourceName: 'bad/name', configurationKeys: null },
        { resourceType: BROKER, resourceName: 'x', configurationKeys: null },
      ],
    });
    expect(many.results.map((x) => [x.resourceType, x.resourceName, x.errorCode])).toEqual([
      [BROKER, '1', 0],
      [TOPIC, 'o', 0],
      [TOPIC, 'missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [TOPIC, 'bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION],
      [BROKER, 'x', ErrorCode.INVALID_REQUEST],
    ]);
  });

  it('describes every topic config Kafka 3.x accepts, deprecated ones included, with types', async () => {
    const { c } = await start();
    await create(c, 'all');
    const r = await describeOne(c, TOPIC, 'all', null);
    const byName = new Map((r.configs as Described[]).map((x) => [x.name, x]));
    for (const name of [
      'message.timestamp.difference.max.ms',
      'message.format.version',
      'segment.jitter.ms',
      'flush.ms',
      'leader.replication.throttled.replicas',
      'follower.replication.throttled.replicas',
      'message.downconversion.enable',
      'local.retention.ms',
      'local.retention.bytes',
      'remote.storage.enable',
      'message.timestamp.before.max.ms',
      'message.timestamp.after.max.ms',
      'compression.zstd.level',
      'min.cleanable.dirty.ratio',
    ]) {
      expect(byName.has(name), name).toBe(true);
    }
    expect(byName.get('message.format.version')).toMatchObject({ value: '3.0-IV1', configType: 2 });
    expect(byName.get('min.cleanable.dirty.ratio')).toMatchObject({ value: '0.5', configType: 6 });
    expect(byName.get('flush.ms')).toMatchObject({ value: '9223372036854775807', configType: 5 });
    expect(byName.get('leader.replication.throttled.replicas')).toMatchObject({ value: '', configType: 7 });
    expect(byName.get('local.retention.ms')).toMatchObject({ value: '-2', configSource: S.DEFAULT });
    expect(byName.get('delete.retention.ms')!.synonyms).toEqual([{ name: 'log.cleaner.delete.retention.ms', value: '86400000', source: S.DEFAULT }]);
  });

  it('broker resources: "<id>" lists every config with read_only from Kafka\'s dynamic list; "" only the cluster defaults', async () => {
    const { c } = await start({ config: { 'log.retention.ms': '7200000', 'log.retention.hours': '3', 'my.custom': 'x' } });
    const all = await describeOne(c, BROKER, '1', null);
    const byName = new Map((all.configs as Described[]).map((x) => [x.name, x]));
    expect(byName.get('log.retention.ms')).toMatchObject({ value: '7200000', readOnly: false, configSource: S.STATIC });
    expect(syn(byName.get('log.retention.ms')!)).toEqual([
      ['log.retention.ms', '7200000', S.STATIC],
      ['log.retention.hours', '3', S.STATIC],
      ['log.retention.hours', '168', S.DEFAULT],
    ]);
    expect(byName.get('log.retention.hours')).toMatchObject({ readOnly: true, configSource: S.STATIC });
    expect(syn(byName.get('log.retention.hours')!)).toEqual([
      ['log.retention.hours', '3', S.STATIC],
      ['log.retention.hours', '168', S.DEFAULT],
    ]);
    expect(byName.get('num.partitions')).toMatchObject({ value: '1', readOnly: true, configSource: S.DEFAULT });
    expect(byName.get('log.roll.ms')).toMatchObject({ value: null, readOnly: false, configSource: S.DEFAULT });
    // A custom (unknown) config: Kafka cannot type it, so it is sensitive.
    expect(byName.get('my.custom')).toMatchObject({ value: null, isSensitive: true, configType: 0, readOnly: true, configSource: S.STATIC });
    expect((await describeOne(c, BROKER, '', null)).configs).toEqual([]);
    await alter(c, [{ resourceType: BROKER, resourceName: '', configs: [{ name: 'log.cleanup.policy', value: 'compact' }] }]);
    await alter(c, [{ resourceType: BROKER, resourceName: '1', configs: [{ name: 'log.cleanup.policy', value: 'delete' }] }]);
    const dflt = await describeOne(c, BROKER, '', null);
    expect(dflt.configs.map((x) => [x.name, x.value, x.configSource, x.synonyms.map((s) => [s.name, s.value, s.source])])).toEqual([
      ['log.cleanup.policy', 'compact', S.DYNAMIC_DEFAULT, [['log.cleanup.policy', 'compact', S.DYNAMIC_DEFAULT]]],
    ]);
    const mine = await describe1(c, BROKER, '1', 'log.cleanup.policy');
    expect([mine.value, mine.configSource, syn(mine)]).toEqual([
      'delete',
      S.DYNAMIC_BROKER,
      [
        ['log.cleanup.policy', 'delete', S.DYNAMIC_BROKER],
        ['log.cleanup.policy', 'compact', S.DYNAMIC_DEFAULT],
        ['log.cleanup.policy', 'delete', S.DEFAULT],
      ],
    ]);
    // v0 has is_default instead of a source.
    const v0 = await c.request(DescribeConfigs, 0, { resources: [{ resourceType: BROKER, resourceName: '1', configurationKeys: ['num.partitions', 'log.cleanup.policy'] }] });
    expect(v0.results[0]!.configs.map((x) => [x.name, x.isDefault])).toEqual([
      ['num.partitions', true],
      ['log.cleanup.policy', false],
    ]);
  });
});

describe('topic config validation (Kafka\'s LogConfig types, ranges and messages)', () => {
  const cases: Array<[string, string, string]> = [
    ['retention.ms', '-2', 'Invalid value -2 for configuration retention.ms: Value must be at least -1'],
    ['retention.ms', 'soon', 'Invalid value soon for configuration retention.ms: Not a number of type LONG'],
    ['segment.bytes', '13', 'Invalid value 13 for configuration segment.bytes: Value must be at least 14'],
    ['segment.bytes', '2147483648', 'Invalid value 2147483648 for configuration segment.bytes: Not a number of type INT'],
    ['min.cleanable.dirty.ratio', '-0.1', 'Invalid value -0.1 for configuration min.cleanable.dirty.ratio: Value must be at least 0'],
    ['min.cleanable.dirty.ratio', 'half', 'Invalid value half for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE'],
    ['cleanup.policy', 'compact,remove', 'Invalid value remove for configuration cleanup.policy: String must be one of: compact, delete'],
    ['compression.type', 'brotli', 'Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer'],
    ['message.timestamp.type', 'BrokerTime', 'Invalid value BrokerTime for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime'],
    ['preallocate', 'yes', 'Invalid value yes for configuration preallocate: Expected value to be either true or false'],
    ['compression.gzip.level', '0', 'Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1'],
    ['message.format.version', '9.9', 'Invalid value 9.9 for configuration message.format.version: Version 9.9 is not a valid version'],
    ['local.retention.ms', '-3', 'Invalid value -3 for configuration local.retention.ms: Value must be at least -2'],
    ['no.such.config', '1', 'Unknown topic config name: no.such.config'],
    ['remote.storage.enable', 'true', 'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.'],
  ];
  it('CreateTopics, AlterConfigs and IncrementalAlterConfigs refuse the same values with the same message', async () => {
    const { c } = await start();
    await create(c, 'v');
    for (const [name, value, message] of cases) {
      expect(await create(c, 'never', [{ name, value }]), name).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: message });
      expect(await alter(c, [{ resourceType: TOPIC, resourceName: 'v', configs: [{ name, value }] }]), name).toEqual([[ErrorCode.INVALID_CONFIG, message]]);
      expect(await incremental(c, [{ resourceType: TOPIC, resourceName: 'v', configs: [{ name, configOperation: SET, value }] }]), name).toEqual([[ErrorCode.INVALID_CONFIG, message]]);
    }
    // Across values, on top of the broker defaults.
    expect(await alter(c, [{ resourceType: TOPIC, resourceName: 'v', configs: [{ name: 'min.compaction.lag.ms', value: '10' }, { name: 'max.compaction.lag.ms', value: '5' }] }])).toEqual([
      [ErrorCode.INVALID_CONFIG, 'conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)'],
    ]);
    expect(broker0Configs(await describeOne(c, TOPIC, 'v', null))).toEqual([]);
  });

  it('accepts what Kafka accepts, stores it as Kafka prints it', async () => {
    const { broker, c } = await start();
    const ok: Array<[string, string, string]> = [
      ['retention.ms', '-1', '-1'],
      ['retention.bytes', '-5', '-5'],
      ['segment.bytes', '14', '14'],
      ['min.cleanable.dirty.ratio', '1', '1.0'],
      ['cleanup.policy', 'compact , delete', 'compact,delete'],
      ['preallocate', 'TRUE', 'true'],
      ['message.format.version', '2.8', '2.8'],
      ['message.timestamp.difference.max.ms', '+1000', '1000'],
      ['leader.replication.throttled.replicas', '0:1,1:1', '0:1,1:1'],
      ['follower.replication.throttled.replicas', '*', '*'],
      ['compression.gzip.level', '-1', '-1'],
      ['compression.zstd.level', '-5', '-5'],
      ['message.downconversion.enable', 'false', 'false'],
      ['local.retention.bytes', '-2', '-2'],
      ['segment.jitter.ms', '100', '100'],
      ['flush.ms', '1000', '1000'],
    ];
    const created = await create(c, 'ok', ok.map(([name, value]) => ({ name, value })));
    expect(created.errorCode).toBe(ErrorCode.NONE);
    const d = await describeOne(c, TOPIC, 'ok', ok.map(([n]) => n));
    expect(d.configs.map((x) => [x.name, x.value, x.configSource])).toEqual(ok.map(([n, , shown]) => [n, shown, S.TOPIC]));
    expect(partitionConfig(broker, 'ok')).toMatchObject({ retentionMs: -1, retentionBytes: -5, segmentBytes: 14, cleanupPolicy: 'compact,delete' });
  });
});

/** The overrides in a described topic (DYNAMIC_TOPIC_CONFIG entries). */
function broker0Configs(r: { configs: Array<{ name: string; configSource: number }> }): string[] {
  return r.configs.filter((x) => x.configSource === S.TOPIC).map((x) => x.name);
}

describe('AlterConfigs / IncrementalAlterConfigs on broker resources (DynamicBrokerConfig rules)', () => {
  it('refuses configs Kafka cannot change at run time and bad values with INVALID_REQUEST', async () => {
    const { broker, c } = await start();
    const one = async (resourceName: string, configs: Array<{ name: string; value: string }>, resourceType = BROKER) =>
      (await alter(c, [{ resourceType, resourceName, configs }]))[0];
    expect(await one('1', [{ name: 'num.partitions', value: '3' }, { name: 'log.retention.hours', value: '1' }])).toEqual([
      ErrorCode.INVALID_REQUEST,
      'Cannot update these configs dynamically: Set(num.partitions, log.retention.hours)',
    ]);
    expect(await one('', [{ name: 'log.retention.ms', value: 'soon' }])).toEqual([ErrorCode.INVALID_REQUEST, 'Invalid value soon for configuration log.retention.ms: Not a number of type LONG']);
    expect(await one('', [{ name: 'log.segment.bytes', value: '10' }])).toEqual([ErrorCode.INVALID_REQUEST, 'Invalid value 10 for configuration log.segment.bytes: Value must be at least 14']);
    expect(await one('2', [])).toEqual([ErrorCode.INVALID_REQUEST, 'Unexpected broker id, expected 1, but received 2']);
    expect(await one('one', [])).toEqual([ErrorCode.INVALID_REQUEST, 'Node id must be an integer, but it is: one']);
    // DynamicLogConfig.validateReconfiguration: local retention -1 under a finite retention.
    expect(await one('1', [{ name: 'log.local.retention.ms', value: '-1' }])).toEqual([ErrorCode.INVALID_REQUEST, 'Invalid dynamic configuration']);
    expect(await one('1', [], 8)).toEqual([ErrorCode.INVALID_REQUEST, 'Unknown resource type 8']);
    expect(broker.config.dynamic('broker')).toEqual({});
    expect(broker.config.dynamic('cluster-default')).toEqual({});
    // Custom names pass, as in Kafka.
    expect(await alter(c, [{ resourceType: BROKER, resourceName: '1', configs: [{ name: 'my.plugin.setting', value: 'x' }] }])).toEqual([[0, null]]);
    expect(broker.config.dynamic('broker')).toEqual({ 'my.plugin.setting': 'x' });
  });

  it('incremental operations at the broker levels: APPEND/SUBTRACT on LIST configs only', async () => {
    const { broker, c } = await start();
    expect(
      await incremental(c, [
        { resourceType: BROKER, resourceName: '', configs: [{ name: 'log.cleanup.policy', configOperation: APPEND, value: 'compact' }] },
        { resourceType: BROKER, resourceName: '1', configs: [{ name: 'log.retention.ms', configOperation: APPEND, value: '1' }] },
        { resourceType: BROKER, resourceName: '1', configs: [{ name: 'nope', configOperation: SUBTRACT, value: '1' }] },
      ]),
    ).toEqual([
      [0, null],
      [ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.'],
      [ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.'],
    ]);
    expect(broker.config.get('log.cleanup.policy')).toBe('delete,compact');
    expect(await incremental(c, [{ resourceType: BROKER, resourceName: '1', configs: [{ name: 'log.retention.ms', configOperation: APPEND, value: '1' }] }])).toEqual([
      [ErrorCode.INVALID_CONFIG, 'Config value append is not allowed for config key: log.retention.ms'],
    ]);
    expect(await incremental(c, [{ resourceType: BROKER, resourceName: '1', configs: [{ name: 'nope', configOperation: SUBTRACT, value: '1' }] }])).toEqual([
      [ErrorCode.INVALID_CONFIG, 'Unknown config name: nope'],
    ]);
    expect(
      await incremental(c, [
        { resourceType: BROKER, resourceName: '', configs: [{ name: 'log.cleanup.policy', configOperation: SUBTRACT, value: 'delete' }, { name: 'message.max.bytes', configOperation: SET, value: '2000000' }] },
      ]),
    ).toEqual([[0, null]]);
    expect(broker.config.dynamic('cluster-default')).toEqual({ 'log.cleanup.policy': 'compact', 'message.max.bytes': '2000000' });
    expect(await incremental(c, [{ resourceType: BROKER, resourceName: '', configs: [{ name: 'log.cleanup.policy', configOperation: DELETE, value: null }] }])).toEqual([[0, null]]);
    expect(broker.config.dynamic('cluster-default')).toEqual({ 'message.max.bytes': '2000000' });
  });

  it('checks requests as ConfigAdminManager does: duplicate names, null values', async () => {
    const { c } = await start();
    await create(c, 'p');
    expect(
      await alter(c, [
        { resourceType: TOPIC, resourceName: 'p', configs: [{ name: 'retention.ms', value: '1' }, { name: 'retention.ms', value: '2' }] },
        { resourceType: BROKER, resourceName: '', configs: [{ name: 'log.retention.ms', value: null }, { name: 'log.retention.bytes', value: null }] },
      ]),
    ).toEqual([
      [ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys'],
      [ErrorCode.INVALID_REQUEST, 'Null value not supported for : log.retention.ms, log.retention.bytes'],
    ]);
    expect(
      await incremental(c, [
        { resourceType: TOPIC, resourceName: 'p', configs: [{ name: 'retention.ms', configOperation: SET, value: null }] },
        { resourceType: TOPIC, resourceName: '', configs: [] },
        { resourceType: 8, resourceName: '1', configs: [] },
        { resourceType: 99, resourceName: 'x', configs: [] },
      ]),
    ).toEqual([
      [ErrorCode.INVALID_REQUEST, 'Null value not supported for : retention.ms'],
      [ErrorCode.INVALID_REQUEST, 'Default topic resources are not allowed.'],
      [ErrorCode.INVALID_REQUEST, 'BROKER_LOGGER resources are not supported: Brook has no log4j loggers'],
      [ErrorCode.INVALID_REQUEST, 'Unknown resource type 99'],
    ]);
  });
});

describe('broker-level changes take effect', () => {
  it('a cluster-wide log.retention.ms drives retention of topics without an override', async () => {
    const clock = new ManualClock(Date.now());
    const { broker, c } = await start({ clock });
    await create(c, 'inherit');
    await create(c, 'own', [{ name: 'retention.ms', value: '-1' }]);
    const Produce = clientApi(G.ProduceApi, G.encodeProduceRequest, G.decodeProduceResponse);
    const { encodeRecordBatch } = await import('../../protocol/records/index.js');
    for (const topic of ['inherit', 'own']) {
      const records = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x'), headers: [], timestamp: BigInt(clock.now()) }] });
      const r = await c.request(Produce, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
      expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    }
    expect(partitionConfig(broker, 'inherit').retentionMs).toBe(604800000);
    expect(await alter(c, [{ resourceType: BROKER, resourceName: '', configs: [{ name: 'log.retention.ms', value: '1000' }] }])).toEqual([[0, null]]);
    expect(partitionConfig(broker, 'inherit').retentionMs).toBe(1000);
    expect(partitionConfig(broker, 'own').retentionMs).toBe(-1);
    clock.advance(301_000); // past retention and one log.retention.check.interval.ms
    expect(broker.store.partition('inherit', 0)!.logStartOffset).toBe(1n);
    expect(broker.store.partition('own', 0)!.logStartOffset).toBe(0n);
    // Topics created afterwards inherit it too; message.max.bytes applies to produce at once.
    await create(c, 'later');
    expect(partitionConfig(broker, 'later').retentionMs).toBe(1000);
    expect(await incremental(c, [{ resourceType: BROKER, resourceName: '1', configs: [{ name: 'message.max.bytes', configOperation: SET, value: '50' }] }])).toEqual([[0, null]]);
    const big = encodeRecordBatch({ records: [{ key: null, value: Buffer.alloc(100), headers: [], timestamp: BigInt(clock.now()) }] });
    const r = await c.request(Produce, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'later', partitionData: [{ index: 0, records: big }] }] });
    expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });
});

describe('persistence (file store)', () => {
  it('dynamic broker values and topic overrides survive a restart with their sources', async () => {
    const dataDir = tempDir();
    let { broker, c } = await start({ dataDir });
    await create(c, 'kept', [{ name: 'segment.bytes', value: '1048576' }]);
    expect(
      await alter(c, [
        { resourceType: BROKER, resourceName: '', configs: [{ name: 'log.retention.ms', value: '120000' }] },
        { resourceType: BROKER, resourceName: '1', configs: [{ name: 'log.retention.bytes', value: '4096000' }] },
        { resourceType: TOPIC, resourceName: 'kept', configs: [{ name: 'cleanup.policy', value: 'compact,delete' }] },
      ]),
    ).toEqual([
      [0, null],
      [0, null],
      [0, null],
    ]);
    // validate_only writes nothing.
    expect(await alter(c, [{ resourceType: BROKER, resourceName: '', configs: [{ name: 'log.retention.ms', value: '1' }] }], true)).toEqual([[0, null]]);
    await cleanups.pop()!(); // close the first broker
    ({ broker, c } = await start({ dataDir }));
    const d = await describeOne(c, TOPIC, 'kept', ['retention.ms', 'retention.bytes', 'cleanup.policy', 'segment.bytes']);
    expect(d.configs.map((x) => [x.name, x.value, x.configSource])).toEqual([
      ['retention.ms', '120000', S.DYNAMIC_DEFAULT],
      ['retention.bytes', '4096000', S.DYNAMIC_BROKER],
      ['cleanup.policy', 'compact,delete', S.TOPIC],
      ['segment.bytes', '1073741824', S.DEFAULT],
    ]);
    // And the reopened partitions use them.
    expect(partitionConfig(broker, 'kept')).toMatchObject({ retentionMs: 120000, retentionBytes: 4096000, cleanupPolicy: 'compact,delete', segmentBytes: 1073741824 });
  });

  it('a failed write of the broker config file answers KAFKA_STORAGE_ERROR and changes nothing', async () => {
    const dataDir = tempDir();
    const { broker, c } = await start({ dataDir });
    const real = fs.renameSync;
    const rename = vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if (String(to).endsWith(DYNAMIC_CONFIGS_FILE)) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      real(from, to);
    });
    cleanups.push(() => rename.mockRestore());
    const r = await alter(c, [{ resourceType: BROKER, resourceName: '', configs: [{ name: 'log.retention.ms', value: '1000' }] }]);
    expect(r[0]![0]).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(broker.config.get('log.retention.ms')).toBeNull();
    expect(broker.config.dynamic('cluster-default')).toEqual({});
  });

  it('drops persisted values that are no longer valid or dynamic, as Kafka does, and keeps the rest', async () => {
    const dataDir = tempDir();
    writeFileSync(
      join(dataDir, DYNAMIC_CONFIGS_FILE),
      JSON.stringify({ version: 1, clusterDefault: { 'num.partitions': '9', 'log.retention.ms': 'soon', 'log.retention.bytes': '100' }, brokers: { '1': { 'log.segment.bytes': '2048' }, '2': { 'log.segment.bytes': '4096' } } }),
    );
    const { broker } = await start({ dataDir });
    expect(broker.config.dynamic('cluster-default')).toEqual({ 'log.retention.bytes': '100' });
    expect(broker.config.dynamic('broker')).toEqual({ 'log.segment.bytes': '2048' });
    expect(broker.config.get('num.partitions')).toBe('1');
  });
});
