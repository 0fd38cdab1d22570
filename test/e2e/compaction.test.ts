// Issue 8: a compacted topic with real clients: kafkajs writes several versions of each key, the
// broker's cleaner (log.cleaner.backoff.ms) compacts the inactive segments, and kcat reads back
// one record per key with its latest value, at its original offset.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { NO_KCAT, hasKcat, kafkaFor, runKcat, startTestBroker, waitFor } from '../helpers/broker.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!hasKcat).each([
  ['memory', false],
  ['file', true],
])(`compacted topic end to end (%s store; ${hasKcat ? 'kcat' : NO_KCAT})`, (_name, durable) => {
  it('kcat reads one record per key, the latest, after the cleaner ran', async () => {
    let dataDir: string | undefined;
    if (durable) {
      dataDir = mkdtempSync(join(tmpdir(), 'brook-compact-e2e-'));
      cleanups.push(() => rmSync(dataDir!, { recursive: true, force: true }));
    }
    const b: Broker = await startTestBroker({ dataDir, config: { 'log.cleaner.backoff.ms': '50' } });
    cleanups.push(() => b.close());
    const kafka = kafkaFor(b);
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({
      topics: [{ topic: 'table', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '2048' }] }],
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    for (let round = 0; round < 20; round++) {
      await producer.send({ topic: 'table', messages: ['k0', 'k1', 'k2', 'k3', 'k4'].map((key) => ({ key, value: `${key}-v${round}` })) });
    }
    // A record larger than a segment: everything before it is in inactive segments now.
    await producer.send({ topic: 'table', messages: [{ key: 'big', value: 'x'.repeat(4096) }] });
    const log = b.store.partition('table', 0)!;
    const end = log.logEndOffset;
    // The cleaner runs every 50 ms: wait until the 20 batches of the keys are down to the last one.
    const batches = () => log.read(log.logStartOffset, 1 << 22, true).chunks.length;
    await waitFor(() => batches() <= 2, 10_000, 50, 'a compaction pass');
    const r = await runKcat(['-C', '-b', b.bootstrap, '-t', 'table', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %k=%s\\n']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').filter((l) => !l.includes('=xxxx'));
    expect(lines).toEqual(['k0', 'k1', 'k2', 'k3', 'k4'].map((k, i) => `${95 + i} ${k}=${k}-v19`));
    expect(log.logEndOffset).toBe(end);
  });
});
