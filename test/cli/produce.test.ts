// `brook produce` against a real broker: what it writes is read back with kafkajs and with a raw
// Fetch (compression codec, headers, partitions, timestamps); output, exit codes.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import type { RawClient } from '../../src/client/raw-client.js';
import { Compression } from '../../protocol/records/index.js';
import { fetchAll, hasKcat, highWatermark, rawClient, runKcat, startWithKafkajs, waitFor, type KafkajsFixture } from '../helpers/broker.js';
import { NO_DIST, hasDist, runCli } from '../helpers/cli.js';

let fixture: KafkajsFixture | undefined;
let broker: Broker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let raw: RawClient;
let b: string[];
let dir: string;

beforeAll(async () => {
  fixture = await startWithKafkajs({}, { createPartitioner: Partitioners.DefaultPartitioner });
  ({ broker, kafka, admin, producer } = fixture);
  raw = await rawClient(broker);
  b = ['-b', broker.bootstrap];
  dir = mkdtempSync(join(tmpdir(), 'brook-cli-produce-'));
});

afterAll(async () => {
  raw?.close();
  await fixture?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every record of a topic via kafkajs (a fresh group from the beginning), until `n` arrived. */
async function readWithKafkajs(topic: string, n: number): Promise<Array<{ partition: number; offset: string; key: string | null; value: string | null; headers: Record<string, string> }>> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Math.random()}`, maxWaitTimeInMs: 100, sessionTimeout: 6000, heartbeatInterval: 100, rebalanceTimeout: 3000 });
  const got: Array<{ partition: number; offset: string; key: string | null; value: string | null; headers: Record<string, string> }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        got.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
      },
    });
    await waitFor(() => got.length >= n, 15000, 20, `${n} records from ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return got.sort((x, y) => x.partition - y.partition || Number(x.offset) - Number(y.offset));
}

function table(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

describe.skipIf(!hasDist)(`brook produce${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('values as arguments with a key and headers: kafkajs reads them; the table tells partition and offsets', async () => {
    await admin.createTopics({ topics: [{ topic: 'p-args', numPartitions: 3 }] });
    const r = await runCli(['produce', '-t', 'p-args', '-k', 'user-1', '-H', 'source=cli', '-H', 'v=2', 'hello', 'world', ...b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = await readWithKafkajs('p-args', 2);
    // The key decides the partition exactly as kafkajs' (Java-compatible) default partitioner does.
    const [meta] = await producer.send({ topic: 'p-args', messages: [{ key: 'user-1', value: 'from-kafkajs' }] });
    expect(got.map((m) => [m.partition, m.offset, m.key, m.value, m.headers])).toEqual([
      [meta!.partition, '0', 'user-1', 'hello', { source: 'cli', v: '2' }],
      [meta!.partition, '1', 'user-1', 'world', { source: 'cli', v: '2' }],
    ]);
    expect(table(r.stdout)).toEqual([
      ['TOPIC', 'PARTITION', 'RECORDS', 'FIRST-OFFSET', 'LAST-OFFSET'],
      ['p-args', String(meta!.partition), '2', '0', '1'],
    ]);
  });

  it('keyed lines from stdin go to the partitions the Java/kafkajs partitioner picks', async () => {
    await admin.createTopics({ topics: [{ topic: 'p-keys', numPartitions: 5 }, { topic: 'p-keys-js', numPartitions: 5 }] });
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}-${'x'.repeat(i % 7)}`);
    const input = keys.map((k, i) => `${k}:value-${i}`).join('\n') + '\n';
    const r = await runCli(['produce', '-t', 'p-keys', '-K', ':', '--json', ...b], { input });
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.records).toBe(40);
    const js = await producer.send({ topic: 'p-keys-js', messages: keys.map((k) => ({ key: k, value: 'v' })) });
    const want = new Map<number, number>();
    for (const m of js) want.set(m.partition, 0);
    const got = await readWithKafkajs('p-keys', 40);
    for (let p = 0; p < 5; p++) {
      const fromJs = (await fetchAll(raw, 'p-keys-js', p)).map((x) => x.key!.toString());
      expect(got.filter((m) => m.partition === p).map((m) => m.key)).toEqual(fromJs);
    }
    expect(got.find((m) => m.key === keys[3])!.value).toBe('value-3');
    expect(summary.partitions.reduce((n: number, p: { records: number }) => n + p.records, 0)).toBe(40);
  });

  it('a file of many lines with an explicit partition; --json counts and offsets; progress stays off without a terminal', async () => {
    await admin.createTopics({ topics: [{ topic: 'p-file', numPartitions: 2 }] });
    const n = 20000;
    const file = join(dir, 'lines.txt');
    writeFileSync(file, Array.from({ length: n }, (_, i) => `line ${i} ${'y'.repeat(50)}`).join('\n'));
    const r = await runCli(['produce', '-t', 'p-file', '-p', '1', '-f', file, '--json', ...b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ topic: 'p-file', records: n, acks: -1, partitions: [{ partition: 1, records: n, firstOffset: 0, lastOffset: n - 1 }] });
    expect(await highWatermark(raw, 'p-file', 1)).toBe(BigInt(n));
    expect(await highWatermark(raw, 'p-file', 0)).toBe(0n);
    const records = await fetchAll(raw, 'p-file', 1);
    expect(records[0]!.value!.toString()).toBe(`line 0 ${'y'.repeat(50)}`);
    expect(records[n - 1]!.value!.toString()).toBe(`line ${n - 1} ${'y'.repeat(50)}`);
  });

  it.each([
    ['gzip', Compression.GZIP],
    ['snappy', Compression.SNAPPY],
    ['lz4', Compression.LZ4],
    ['zstd', Compression.ZSTD],
  ])('--compression %s: batches are stored with that codec and read back intact', async (name, codec) => {
    const topic = `p-codec-${name}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const values = Array.from({ length: 50 }, (_, i) => `${name} record ${i} `.repeat(10));
    const r = await runCli(['produce', '-t', topic, '-z', name, '-q', ...b], { input: values.join('\n') });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const records = await fetchAll(raw, topic, 0);
    expect(records.map((x) => x.value!.toString())).toEqual(values);
    expect(new Set(records.map((x) => x.compression))).toEqual(new Set([codec]));
    // kafkajs ships only the gzip codec (the others need plugins); librdkafka reads them all.
    if (codec === Compression.GZIP) expect((await readWithKafkajs(topic, 50)).map((m) => m.value)).toEqual(values);
    if (hasKcat) {
      const k = await runKcat(['-b', broker.bootstrap, '-C', '-t', topic, '-e', '-q', '-f', '%s\n']);
      expect(k.code).toBe(0);
      expect(k.stdout).toBe(values.map((v) => v + '\n').join(''));
    }
  });

  it('JSON lines: keys, values, headers (object or array), partition and timestamp; base64 encoding', async () => {
    await admin.createTopics({ topics: [{ topic: 'p-json', numPartitions: 2 }] });
    const input = [
      JSON.stringify({ key: 'a', value: 'one', headers: { h: 'x' }, partition: 1, timestamp: 1700000000000 }),
      JSON.stringify({ key: null, value: { nested: [1, 2] }, headers: [{ key: 'h', value: 'y' }, { key: 'h', value: 'z' }], partition: 1 }),
      JSON.stringify({ value: null, partition: 0 }),
    ].join('\n');
    const r = await runCli(['produce', '-t', 'p-json', '--format', 'json', ...b], { input });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const p1 = await fetchAll(raw, 'p-json', 1);
    expect(p1.map((x) => [x.key?.toString() ?? null, x.value?.toString() ?? null])).toEqual([
      ['a', 'one'],
      [null, '{"nested":[1,2]}'],
    ]);
    expect(p1[0]!.timestamp).toBe(1700000000000n);
    expect(p1[0]!.headers.map((h) => [h.key, h.value?.toString()])).toEqual([['h', 'x']]);
    expect(p1[1]!.headers.map((h) => [h.key, h.value?.toString()])).toEqual([
      ['h', 'y'],
      ['h', 'z'],
    ]);
    const p0 = await fetchAll(raw, 'p-json', 0);
    expect(p0.map((x) => x.value)).toEqual([null]);

    const bin = Buffer.from([0, 1, 2, 255, 254]);
    const r2 = await runCli(['produce', '-t', 'p-json', '--format', 'json', '--encoding', 'base64', ...b], {
      input: JSON.stringify({ key: Buffer.from('k').toString('base64'), value: bin.toString('base64'), partition: 0 }),
    });
    expect(r2.code).toBe(0);
    const last = (await fetchAll(raw, 'p-json', 0)).at(-1)!;
    expect(last.key!.toString()).toBe('k');
    expect(Buffer.compare(last.value!, bin)).toBe(0);
  });

  it('--delimiter splits records on another string; a trailing record without delimiter is sent too', async () => {
    await admin.createTopics({ topics: [{ topic: 'p-delim', numPartitions: 1 }] });
    const r = await runCli(['produce', '-t', 'p-delim', '-D', '\\0', '-q', ...b], { input: 'multi\nline\0second\0third' });
    expect(r.code).toBe(0);
    expect((await fetchAll(raw, 'p-delim', 0)).map((x) => x.value!.toString())).toEqual(['multi\nline', 'second', 'third']);
  });

  it('--acks 0 sends without answers (offsets unknown) and --acks 1 with them', async () => {
    await admin.createTopics({ topics: [{ topic: 'p-acks', numPartitions: 1 }] });
    const r0 = await runCli(['produce', '-t', 'p-acks', '--acks', '0', '--json', 'a', 'b', 'c', ...b]);
    expect(r0.code).toBe(0);
    expect(JSON.parse(r0.stdout).partitions).toEqual([{ partition: 0, records: 3, firstOffset: null, lastOffset: null }]);
    await waitFor(async () => (await highWatermark(raw, 'p-acks', 0)) === 3n, 5000, 20, 'acks=0 records');
    const r1 = await runCli(['produce', '-t', 'p-acks', '--acks', '1', '--json', 'd', ...b]);
    expect(JSON.parse(r1.stdout).partitions).toEqual([{ partition: 0, records: 1, firstOffset: 3, lastOffset: 3 }]);
  });

  it('a missing topic is auto-created like a Java producer would, unless --no-auto-create (exit 3)', async () => {
    const no = await runCli(['produce', '-t', 'p-missing', '--no-auto-create', 'x', ...b]);
    expect(no.code).toBe(3);
    expect(no.stderr).toContain('topic "p-missing" not found');
    expect(await admin.listTopics()).not.toContain('p-missing');
    const yes = await runCli(['produce', '-t', 'p-auto', 'x', ...b]);
    expect(yes.code).toBe(0);
    expect(await admin.listTopics()).toContain('p-auto');
  });

  it('errors: bad JSON names the record (exit 1), a missing key separator (exit 1), a partition out of range (exit 3), bad flags (exit 2)', async () => {
    await admin.createTopics({ topics: [{ topic: 'p-err', numPartitions: 2 }] });
    const json = await runCli(['produce', '-t', 'p-err', '--format', 'json', ...b], { input: '{"value":"ok"}\n{not json}\n' });
    expect(json.code).toBe(1);
    expect(json.stderr).toContain('stdin record 2: not JSON');
    const sep = await runCli(['produce', '-t', 'p-err', '-K', '=', ...b], { input: 'a=1\nno separator\n' });
    expect(sep.code).toBe(1);
    expect(sep.stderr).toContain('stdin record 2: no key separator');
    const part = await runCli(['produce', '-t', 'p-err', '-p', '7', 'x', ...b]);
    expect(part.code).toBe(3);
    expect(part.stderr).toContain('partition 7 of topic "p-err" not found');
    expect((await runCli(['produce', '-t', 'p-err', '--acks', '2', 'x', ...b])).code).toBe(2);
    expect((await runCli(['produce', '-t', 'p-err', '-z', 'brotli', 'x', ...b])).code).toBe(2);
    expect((await runCli(['produce', 'x', ...b])).code).toBe(2); // no --topic
    const nofile = await runCli(['produce', '-t', 'p-err', '-f', join(dir, 'nope.txt'), ...b]);
    expect(nofile.code).toBe(1);
    expect(nofile.stderr).toContain('cannot read');
  });

  it('an unreachable broker is exit 1 with one line, quickly', async () => {
    const r = await runCli(['produce', '-t', 'x', 'v', '-b', '127.0.0.1:1', '--timeout', '2000']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('no broker reachable');
  });
});
