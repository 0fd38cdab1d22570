// Issue 8: retention with real clients: a topic with retention.ms=1000 is emptied under the
// ManualClock (kafkajs produces, the clock moves past retention and one check interval, and the
// earliest offset reaches the end); a topic without the override keeps everything.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import { ManualClock } from '../../src/common/clock.js';
import type { Broker } from '../../src/broker.js';
import { fetchAll, kafkaFor, rawClient, startTestBroker } from '../helpers/broker.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function broker(opts: Parameters<typeof startTestBroker>[0]): Promise<Broker> {
  const b = await startTestBroker(opts);
  cleanups.push(() => b.close());
  return b;
}

describe.each([
  ['memory', false],
  ['file', true],
])('retention end to end (%s store)', (_name, durable) => {
  it('retention.ms=1000 empties a topic under the ManualClock', async () => {
    // Records carry the producer's wall clock: the manual clock starts there.
    const clock = new ManualClock(Date.now());
    let dataDir: string | undefined;
    if (durable) {
      dataDir = mkdtempSync(join(tmpdir(), 'brook-retention-e2e-'));
      cleanups.push(() => rmSync(dataDir!, { recursive: true, force: true }));
    }
    const b = await broker({ clock, dataDir });
    const kafka = kafkaFor(b);
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'short', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '1000' }] }] });
    await admin.createTopics({ topics: [{ topic: 'long', numPartitions: 1 }] });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    for (let i = 0; i < 20; i++) {
      await producer.send({ topic: 'short', messages: [{ key: `k${i}`, value: `v${i}` }] });
      await producer.send({ topic: 'long', messages: [{ value: `keep${i}` }] });
    }
    const before = await admin.fetchTopicOffsets('short');
    expect(before.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)).toBe(20);
    // Past retention.ms but before the first check (log.retention.check.interval.ms = 5 min): nothing yet.
    clock.advance(10_000);
    expect(await admin.fetchTopicOffsets('short')).toEqual(before);
    clock.advance(300_000);
    const after = await admin.fetchTopicOffsets('short');
    for (const p of after) expect(p.low).toBe(p.high);
    expect(after.map((p) => p.high).sort()).toEqual(before.map((p) => p.high).sort());
    // The topic without an override (7 days) kept everything.
    const long = await admin.fetchTopicOffsets('long');
    expect(long[0]!.low).toBe('0');
    expect(long[0]!.high).toBe('20');
    // New records land at the old end and are read from there.
    await producer.send({ topic: 'short', messages: [{ key: 'k0', value: 'fresh' }] });
    // (A raw Fetch: a kafkajs consumer's long polls would wait on the manual clock.)
    const raw = await rawClient(b);
    cleanups.push(() => raw.close());
    const seen: string[] = [];
    for (const p of after) {
      // From offset 0 is out of range now; from the log start it is the new record only.
      await expect(fetchAll(raw, 'short', p.partition, 0n)).rejects.toThrow(/error 1\b/);
      seen.push(...(await fetchAll(raw, 'short', p.partition, BigInt(p.low))).map((r) => r.value!.toString()));
    }
    expect(seen).toEqual(['fresh']);
  });
});
