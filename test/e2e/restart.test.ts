// Durability across restarts with the file store: a clean close and reopen in-process (topics,
// ids, partition counts, configs, records, continuing offsets), and the real CLI killed with
// SIGKILL (acknowledged acks=-1 data survives) or stopped with SIGTERM (exit 0, data flushed).

import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompressionTypes, ConfigResourceTypes, ConfigSource, Partitioners, type Kafka } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import type { RawClient } from '../../src/client/raw-client.js';
import { encodeRecordBatch } from '../../protocol/records/index.js';
import {
  fetchAll,
  fetchAllDetailed,
  fetchApi,
  kafkaFor,
  metadata,
  metadataApi,
  rawClient,
  startTestBroker,
  waitFor,
  type FetchedRecord,
} from '../helpers/broker.js';
import { NO_DIST, hasDist, startCliBroker, type CliBroker } from '../helpers/cli.js';

let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'brook-e2e-restart-'));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // best effort: the next cleanup still runs
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const str = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));
const view = (rs: FetchedRecord[]) => rs.map((r) => ({ o: r.offset, k: str(r.key), v: str(r.value), t: r.timestamp, h: r.headers.map((h) => `${h.key}=${str(h.value)}`) }));

async function open(dataDir: string): Promise<{ broker: Broker; raw: RawClient; kafka: Kafka }> {
  const broker = await startTestBroker({ dataDir });
  const raw = await rawClient(broker);
  cleanups.push(async () => {
    raw.close();
    await broker.close();
  });
  return { broker, raw, kafka: kafkaFor(broker) };
}

async function withProducer<T>(kafka: Kafka, fn: (p: ReturnType<Kafka['producer']>) => Promise<T>): Promise<T> {
  const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await p.connect();
  try {
    return await fn(p);
  } finally {
    await p.disconnect();
  }
}

interface Snapshot {
  topics: Map<string, { id: string; partitions: number }>;
  records: Map<string, ReturnType<typeof view>>;
  ends: Map<string, bigint>;
}

async function snapshot(raw: RawClient, names: string[]): Promise<Snapshot> {
  const md = await metadata(raw, null);
  const topics = new Map(md.topics.map((t) => [t.name!, { id: t.topicId, partitions: t.partitions.length }]));
  const records = new Map<string, ReturnType<typeof view>>();
  const ends = new Map<string, bigint>();
  for (const name of names) {
    for (let p = 0; p < (topics.get(name)?.partitions ?? 0); p++) {
      const r = await fetchAllDetailed(raw, name, p);
      records.set(`${name}/${p}`, view(r.records));
      ends.set(`${name}/${p}`, r.highWatermark);
    }
  }
  return { topics, records, ends };
}

describe('file store: close and reopen in-process', () => {
  it('keeps topics (same ids), partition counts, configs and records; new produces continue at the log end', async () => {
    const names = ['events', 'small-segments', 'auto-one'];
    let before: Snapshot;
    {
      const { broker, raw, kafka } = await open(dir);
      const admin = kafka.admin();
      await admin.connect();
      try {
        expect(
          await admin.createTopics({
            topics: [
              { topic: 'events', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }, { name: 'cleanup.policy', value: 'delete' }] },
              // Tiny segments: the log rolls many times, recovery must read them all.
              { topic: 'small-segments', numPartitions: 2, configEntries: [{ name: 'segment.bytes', value: '1024' }, { name: 'max.message.bytes', value: '200000' }] },
            ],
          }),
        ).toBe(true);
        // Partitions added after creation are persisted too.
        await admin.createPartitions({ topicPartitions: [{ topic: 'small-segments', count: 3 }] });
      } finally {
        await admin.disconnect();
      }
      await withProducer(kafka, async (p) => {
        for (let i = 0; i < 30; i++) {
          await p.send({
            topic: 'events',
            acks: -1,
            compression: i % 2 ? CompressionTypes.GZIP : CompressionTypes.None,
            messages: [
              { key: `k${i % 7}`, value: `event-${i}-a`, headers: { i: String(i) }, timestamp: String(1_700_000_000_000 + i) },
              { key: null, value: `event-${i}-b`, timestamp: String(1_700_000_000_000 + i) },
            ],
          });
          await p.send({ topic: 'small-segments', acks: 1, messages: [{ key: `s${i}`, value: 'y'.repeat(100 + i) }] });
        }
        await p.send({ topic: 'auto-one', acks: -1, messages: [{ value: 'auto-created before the restart' }] });
      });
      before = await snapshot(raw, names);
      expect(before.topics.get('events')?.partitions).toBe(3);
      expect(before.topics.get('small-segments')?.partitions).toBe(3);
      expect(before.topics.get('auto-one')?.partitions).toBe(1);
      const total = [...before.records.values()].reduce((n, r) => n + r.length, 0);
      expect(total).toBe(30 * 2 + 30 + 1);
      // Kafka's on-disk layout: <dataDir>/<topic>-<partition>/<base offset>.log; the 1 KiB
      // segments rolled several times.
      const segments = [0, 1, 2].flatMap((p) => readdirSync(join(dir, `small-segments-${p}`)).filter((f) => f.endsWith('.log')));
      expect(segments.length).toBeGreaterThan(3);
      raw.close();
      await broker.close();
    }

    const { broker, raw, kafka } = await open(dir);
    const after = await snapshot(raw, names);
    expect(after.topics).toEqual(before.topics);
    expect(after.records).toEqual(before.records);
    expect(after.ends).toEqual(before.ends);
    expect(broker.topics.get('events')?.configs).toMatchObject({ 'retention.ms': '3600000' });

    const admin = kafka.admin();
    await admin.connect();
    try {
      const cfg = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: 'events', configNames: ['retention.ms', 'cleanup.policy', 'segment.bytes'] },
          { type: ConfigResourceTypes.TOPIC, name: 'small-segments', configNames: ['segment.bytes', 'max.message.bytes', 'retention.ms'] },
        ],
      });
      const entries = (name: string) =>
        Object.fromEntries(
          cfg.resources.find((r) => r.resourceName === name)!.configEntries.map((e) => [e.configName, { v: e.configValue, s: e.configSource }]),
        );
      expect(entries('events')).toEqual({
        'retention.ms': { v: '3600000', s: ConfigSource.TOPIC_CONFIG },
        'cleanup.policy': { v: 'delete', s: ConfigSource.TOPIC_CONFIG },
        'segment.bytes': { v: '1073741824', s: ConfigSource.DEFAULT_CONFIG },
      });
      expect(entries('small-segments')).toEqual({
        'segment.bytes': { v: '1024', s: ConfigSource.TOPIC_CONFIG },
        'max.message.bytes': { v: '200000', s: ConfigSource.TOPIC_CONFIG },
        'retention.ms': { v: '604800000', s: ConfigSource.DEFAULT_CONFIG },
      });
    } finally {
      await admin.disconnect();
    }

    // New produces continue at the old log end of every partition they hit.
    const results = await withProducer(kafka, async (p) => [
      ...(await p.send({ topic: 'events', acks: -1, messages: [0, 1, 2, 3, 4, 5].map((i) => ({ key: `k${i}`, value: `after-${i}` })) })),
      ...(await p.send({ topic: 'small-segments', acks: -1, messages: [{ key: 's0', value: 'after' }] })),
      ...(await p.send({ topic: 'auto-one', acks: -1, messages: [{ value: 'after' }] })),
    ]);
    for (const r of results) {
      expect(r.errorCode).toBe(0);
      expect(BigInt(r.baseOffset!), `${r.topicName}/${r.partition}`).toBe(before.ends.get(`${r.topicName}/${r.partition}`));
    }
    for (const r of results) {
      const recs = await fetchAll(raw, r.topicName, r.partition);
      expect(recs.map((x) => x.offset)).toEqual(recs.map((_, i) => BigInt(i)));
      expect(view(recs.slice(0, Number(before.ends.get(`${r.topicName}/${r.partition}`))))).toEqual(before.records.get(`${r.topicName}/${r.partition}`));
    }
  });
});

describe('file store: a torn tail (crash in the middle of a write)', () => {
  it('drops the partial batch at the end of the active segment and continues at the last whole batch', async () => {
    let end: bigint;
    let values: string[];
    {
      const { broker, raw, kafka } = await open(dir);
      await withProducer(kafka, async (p) => {
        for (let i = 0; i < 10; i++) await p.send({ topic: 'torn', acks: -1, messages: [{ value: `whole-${i}` }] });
      });
      const r = await fetchAllDetailed(raw, 'torn', 0);
      end = r.highWatermark;
      values = r.records.map((x) => str(x.value)!);
      raw.close();
      await broker.close();
    }
    // Append the first half of a valid batch (with a plausible header) to the active segment.
    const pdir = join(dir, 'torn-0');
    const active = readdirSync(pdir).filter((f) => f.endsWith('.log')).sort().at(-1)!;
    const batch = encodeRecordBatch({ baseOffset: end, records: [{ key: null, value: Buffer.from('torn'.repeat(50)) }] });
    appendFileSync(join(pdir, active), batch.subarray(0, Math.floor(batch.length / 2)));

    const { raw, kafka } = await open(dir);
    const r = await fetchAllDetailed(raw, 'torn', 0);
    expect(r.highWatermark).toBe(end);
    expect(r.records.map((x) => str(x.value))).toEqual(values);
    const [res] = await withProducer(kafka, (p) => p.send({ topic: 'torn', acks: -1, messages: [{ value: 'after' }] }));
    expect(BigInt(res!.baseOffset!)).toBe(end);
    expect((await fetchAll(raw, 'torn', 0)).map((x) => str(x.value))).toEqual([...values, 'after']);
  });
});

describe.skipIf(!hasDist)(`the CLI process (${hasDist ? 'dist built' : NO_DIST})`, () => {
  async function cli(extra: string[] = []): Promise<CliBroker> {
    const b = await startCliBroker(dir, extra);
    cleanups.push(() => b.kill());
    return b;
  }

  async function readAll(b: { host: string; port: number }, topic: string, partitions: number): Promise<FetchedRecord[][]> {
    const raw = await rawClient(b);
    try {
      const out: FetchedRecord[][] = [];
      for (let p = 0; p < partitions; p++) out.push(await fetchAll(raw, topic, p));
      return out;
    } finally {
      raw.close();
    }
  }

  it('SIGKILL: every acks=-1 acknowledged record is there after a restart, and offsets continue', async () => {
    const first = await cli();
    const kafka = kafkaFor(first.bootstrap, { retry: { retries: 0 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'crash', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
    await admin.disconnect();

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const acked: Array<{ partition: number; offset: bigint; value: string }> = [];
    // Keep producing; kill the broker in the middle of the stream, after 40 acknowledgements.
    const killAt = 40;
    let sendError: unknown;
    for (let i = 0; i < 200; i++) {
      const value = `crash-${i}`;
      try {
        const [r] = await producer.send({ topic: 'crash', acks: -1, messages: [{ key: `k${i % 5}`, value }] });
        acked.push({ partition: r!.partition, offset: BigInt(r!.baseOffset!), value });
      } catch (err) {
        sendError = err;
        break;
      }
      // Killed asynchronously: the next send is usually already on the wire.
      if (acked.length === killAt) setImmediate(() => first.child.kill('SIGKILL'));
    }
    expect(sendError, 'sends fail once the broker is gone').toBeDefined();
    await producer.disconnect().catch(() => {});
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(killAt);

    const second = await cli();
    const parts = await readAll(second, 'crash', 2);
    for (let p = 0; p < 2; p++) {
      const got = new Map(parts[p]!.map((r) => [r.offset, str(r.value)]));
      // Offsets are dense after recovery.
      expect(parts[p]!.map((r) => r.offset)).toEqual(parts[p]!.map((_, i) => BigInt(i)));
      for (const a of acked.filter((x) => x.partition === p)) expect(got.get(a.offset), `${p}@${a.offset}`).toBe(a.value);
    }
    // The topic config survived the crash too, and new produces append after the recovered end.
    const raw = await rawClient(second);
    try {
      const md = await metadata(raw, ['crash']);
      expect(md.topics[0]!.partitions.length).toBe(2);
    } finally {
      raw.close();
    }
    const k2 = kafkaFor(second.bootstrap);
    const admin2 = k2.admin();
    await admin2.connect();
    const cfg = await admin2.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'crash', configNames: ['retention.ms'] }] });
    await admin2.disconnect();
    expect(cfg.resources[0]!.configEntries[0]!.configValue).toBe('7200000');
    const next = await withProducer(k2, (p) => p.send({ topic: 'crash', acks: -1, messages: [{ key: 'k0', value: 'after-crash' }] }));
    expect(BigInt(next[0]!.baseOffset!)).toBe(BigInt(parts[next[0]!.partition]!.length));
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('SIGTERM: the process exits 0 within a few seconds and the data is on disk', async () => {
    const first = await cli();
    const kafka = kafkaFor(first.bootstrap);
    const sent = await withProducer(kafka, async (p) => {
      const out: string[] = [];
      for (let i = 0; i < 20; i++) {
        const value = `term-${i}`;
        await p.send({ topic: 'graceful', acks: i % 2 ? 1 : -1, messages: [{ value }] });
        out.push(value);
      }
      return out;
    });
    const t0 = Date.now();
    first.child.kill('SIGTERM');
    const exit = await Promise.race([
      first.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8000)),
    ]);
    expect(exit, first.stderr()).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(first.stderr()).toContain('brook stopped');

    // Reopen in-process on the same directory.
    const { raw } = await open(dir);
    const recs = await fetchAll(raw, 'graceful', 0);
    expect(recs.map((r) => str(r.value))).toEqual(sent);
  });

  it('SIGTERM with a consumer long-polling (max_wait 30 s): the process still exits 0 promptly', async () => {
    const b = await cli();
    const c = await rawClient(b);
    try {
      const id = await c.request(metadataApi, 12, { topics: [{ name: 'idle' }], allowAutoTopicCreation: true });
      expect(id.topics[0]!.name).toBe('idle');
      await waitFor(async () => (await metadata(c, ['idle'])).topics[0]!.errorCode === 0, 3000, 20, 'topic idle');
      const parked = c
        .request(fetchApi, 11, {
          replicaId: -1, maxWaitMs: 30_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic: 'idle', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
        })
        .then(() => 'answered', () => 'closed');
      await new Promise((r) => setTimeout(r, 200));
      b.child.kill('SIGTERM');
      const exit = await Promise.race([b.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8000))]);
      expect(exit, b.stderr()).toEqual({ code: 0, signal: null });
      expect(['answered', 'closed']).toContain(await parked);
    } finally {
      c.close();
    }
  });
});
