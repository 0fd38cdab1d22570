// Issue 8: configuration changes with a real client (kafkajs 2.2.4: AlterConfigs v0-1,
// DescribeConfigs v0-2). alterConfigs on a topic, then describeConfigs shows the value with its
// source; a broker-level change (kafkajs cannot name the cluster-wide "" resource: it refuses empty
// names, so the per-broker resource "1") drives retention of a topic without an override under the
// ManualClock; validate_only and refusals come back as kafkajs errors; everything survives a
// restart of a file-store broker.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, Partitioners, type Admin } from 'kafkajs';
import { ManualClock } from '../../src/common/clock.js';
import type { Broker } from '../../src/broker.js';
import { kafkaFor, startTestBroker } from '../helpers/broker.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function broker(opts: Parameters<typeof startTestBroker>[0]): Promise<Broker> {
  const b = await startTestBroker(opts);
  cleanups.push(() => b.close());
  return b;
}

async function adminFor(b: Broker): Promise<Admin> {
  const admin = kafkaFor(b).admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  return admin;
}

/** DescribeConfigs through kafkajs: name -> [value, source, synonym names]. */
async function described(admin: Admin, type: ConfigResourceTypes, name: string, configNames: string[]) {
  const r = await admin.describeConfigs({ resources: [{ type, name, configNames }], includeSynonyms: true });
  const entries = r.resources[0]!.configEntries as Array<{ configName: string; configValue: string; configSource: number; configSynonyms: Array<{ configName: string }> }>;
  return Object.fromEntries(entries.map((e) => [e.configName, [e.configValue, e.configSource, e.configSynonyms.map((s) => s.configName)]]));
}

const TOPIC_CONFIG = 1;
const DYNAMIC_BROKER_CONFIG = 2;
const DEFAULT_CONFIG = 5;

describe('config changes end to end (kafkajs)', () => {
  it('alterConfigs on a topic, then describeConfigs shows the value and its source', async () => {
    const b = await broker({});
    const admin = await adminFor(b);
    await admin.createTopics({ topics: [{ topic: 'cfg', numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '1048576' }] }] });
    // validate_only changes nothing.
    await admin.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg', configEntries: [{ name: 'retention.ms', value: '1000' }] }] });
    expect((await described(admin, ConfigResourceTypes.TOPIC, 'cfg', ['retention.ms']))['retention.ms']).toEqual(['604800000', DEFAULT_CONFIG, []]);
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg', configEntries: [{ name: 'retention.ms', value: '1000' }, { name: 'cleanup.policy', value: 'compact,delete' }] }],
    });
    const d = await described(admin, ConfigResourceTypes.TOPIC, 'cfg', ['retention.ms', 'cleanup.policy', 'segment.bytes']);
    expect(d).toEqual({
      'retention.ms': ['1000', TOPIC_CONFIG, ['retention.ms']],
      'cleanup.policy': ['compact,delete', TOPIC_CONFIG, ['cleanup.policy', 'log.cleanup.policy']],
      // AlterConfigs replaces the whole set: segment.bytes went back to the default.
      'segment.bytes': ['1073741824', DEFAULT_CONFIG, ['log.segment.bytes']],
    });
    // Refusals are kafkajs errors (kafkajs shows its own text for the code, not the broker's message).
    await expect(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg', configEntries: [{ name: 'retention.ms', value: '-7' }] }] }),
    ).rejects.toMatchObject({ type: 'INVALID_CONFIG' });
    await expect(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: 'num.partitions', value: '4' }] }] }),
    ).rejects.toMatchObject({ type: 'INVALID_REQUEST' });
    expect((await described(admin, ConfigResourceTypes.TOPIC, 'cfg', ['retention.ms']))['retention.ms']![0]).toBe('1000');
  });

  it('a broker-level log.retention.ms drives retention of a topic without an override', async () => {
    const clock = new ManualClock(Date.now());
    const b = await broker({ clock });
    const admin = await adminFor(b);
    await admin.createTopics({ topics: [{ topic: 'inherits', numPartitions: 1 }, { topic: 'keeps', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '-1' }] }] });
    const producer = kafkaFor(b).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    for (let i = 0; i < 5; i++) {
      await producer.send({ topic: 'inherits', messages: [{ value: `v${i}` }] });
      await producer.send({ topic: 'keeps', messages: [{ value: `v${i}` }] });
    }
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: 'log.retention.ms', value: '1000' }] }] });
    const broker1 = await described(admin, ConfigResourceTypes.BROKER, '1', ['log.retention.ms', 'log.retention.hours']);
    expect(broker1['log.retention.ms']).toEqual(['1000', DYNAMIC_BROKER_CONFIG, ['log.retention.ms', 'log.retention.hours']]);
    expect(broker1['log.retention.hours']).toEqual(['168', DEFAULT_CONFIG, ['log.retention.hours']]);
    const topic = await described(admin, ConfigResourceTypes.TOPIC, 'inherits', ['retention.ms']);
    expect(topic['retention.ms']).toEqual(['1000', DYNAMIC_BROKER_CONFIG, ['log.retention.ms', 'log.retention.hours']]);
    clock.advance(301_000); // past retention.ms and one log.retention.check.interval.ms
    const [inherits] = await admin.fetchTopicOffsets('inherits');
    expect([inherits!.low, inherits!.high]).toEqual(['5', '5']);
    const [keeps] = await admin.fetchTopicOffsets('keeps');
    expect([keeps!.low, keeps!.high]).toEqual(['0', '5']);
  });

  it('dynamic values survive a restart of a file-store broker', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'brook-configs-e2e-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let b = await broker({ dataDir });
    let admin = await adminFor(b);
    await admin.createTopics({ topics: [{ topic: 'durable', numPartitions: 1 }] });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'durable', configEntries: [{ name: 'max.message.bytes', value: '2048' }] },
        { type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: 'log.retention.bytes', value: '1000000' }] },
      ],
    });
    await admin.disconnect();
    await b.close();
    b = await broker({ dataDir });
    admin = await adminFor(b);
    const d = await described(admin, ConfigResourceTypes.TOPIC, 'durable', ['max.message.bytes', 'retention.bytes']);
    expect(d['max.message.bytes']).toEqual(['2048', TOPIC_CONFIG, ['max.message.bytes', 'message.max.bytes']]);
    expect(d['retention.bytes']).toEqual(['1000000', DYNAMIC_BROKER_CONFIG, ['log.retention.bytes', 'log.retention.bytes']]);
    // The topic override is enforced after the restart.
    const producer = kafkaFor(b, { retry: { retries: 0 } }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await expect(producer.send({ topic: 'durable', messages: [{ value: 'x'.repeat(4096) }] })).rejects.toThrow(/larger than the max message size/);
  });
});
