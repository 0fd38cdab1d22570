// `brook consume` against a real broker, reading what kafkajs wrote: start positions (beginning,
// end, offset, -N, time), formats (text, JSON lines, templates, encodings), --count, follow mode
// with SIGINT, read_committed over an aborted kafkajs transaction, exit codes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Broker } from '../../src/broker.js';
import { kafkaFor, startTestBroker, startWithKafkajs, waitFor, type KafkajsFixture } from '../helpers/broker.js';
import { NO_DIST, hasDist, runCli, spawnCli } from '../helpers/cli.js';

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
  // c-main: partition 0 holds k0..k4 (values v0..v4, timestamps 1000..5000), partition 1 holds two
  // records with headers.
  await admin.createTopics({ topics: [{ topic: 'c-main', numPartitions: 2 }] });
  await producer.send({
    topic: 'c-main',
    messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, key: `k${i}`, value: `v${i}`, timestamp: String((i + 1) * 1000) })),
  });
  await producer.send({
    topic: 'c-main',
    messages: [
      { partition: 1, key: null, value: 'p1-a', headers: { trace: 't-1', kind: 'x' }, timestamp: '1500' },
      { partition: 1, key: 'kb', value: 'p1-b', timestamp: '6000' },
    ],
  });
});

afterAll(async () => {
  await fixture?.close();
});

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

describe.skipIf(!hasDist)(`brook consume${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('text: every value from the beginning, then exits 0 at the end of the partitions', async () => {
    const r = await runCli(['consume', '-t', 'c-main', ...b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Per-partition order is guaranteed; the interleaving of partitions is not.
    const got = lines(r.stdout);
    expect(got.filter((v) => v.startsWith('v'))).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(got.filter((v) => v.startsWith('p1'))).toEqual(['p1-a', 'p1-b']);
    expect(got).toHaveLength(7);
  });

  it('--json: one JSON object per record with key, value, headers, timestamp and position', async () => {
    const r = await runCli(['consume', '-t', 'c-main', '-p', '1', '--json', ...b]);
    expect(r.code).toBe(0);
    const recs = lines(r.stdout).map((l) => JSON.parse(l));
    expect(recs).toEqual([
      {
        topic: 'c-main',
        partition: 1,
        offset: 0,
        timestamp: 1500,
        timestampType: 'CreateTime',
        key: null,
        value: 'p1-a',
        headers: [
          { key: 'trace', value: 't-1' },
          { key: 'kind', value: 'x' },
        ],
      },
      { topic: 'c-main', partition: 1, offset: 1, timestamp: 6000, timestampType: 'CreateTime', key: 'kb', value: 'p1-b', headers: [] },
    ]);
  });

  it('templates: placeholders, escapes, {header.NAME}, {time}; an unknown placeholder is a usage error', async () => {
    const r = await runCli(['consume', '-t', 'c-main', '-p', '1', '--format', '{partition}:{offset}\\t{key}={value} [{header.trace}] {time}', ...b]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(['1:0\t=p1-a [t-1] 1970-01-01T00:00:01.500Z', '1:1\tkb=p1-b [] 1970-01-01T00:00:06.000Z']);
    const bad = await runCli(['consume', '-t', 'c-main', '--format', '{nope}', ...b]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown placeholder {nope}');
  });

  it('start positions: an offset, -N before the end, the end, a time; --count stops early', async () => {
    const at = await runCli(['consume', '-t', 'c-main', '-p', '0', '-o', '3', ...b]);
    expect(lines(at.stdout)).toEqual(['v3', 'v4']);
    const tail = await runCli(['consume', '-t', 'c-main', '-p', '0', '-o', '-2', '--format', '{key}', ...b]);
    expect(lines(tail.stdout)).toEqual(['k3', 'k4']);
    const end = await runCli(['consume', '-t', 'c-main', '-o', 'end', ...b]);
    expect(end.code).toBe(0);
    expect(end.stdout).toBe('');
    const time = await runCli(['consume', '-t', 'c-main', '-p', '0', '--from-timestamp', '2500', ...b]);
    expect(lines(time.stdout)).toEqual(['v2', 'v3', 'v4']);
    const iso = await runCli(['consume', '-t', 'c-main', '-p', '0', '--from-timestamp', '1970-01-01T00:00:04Z', ...b]);
    expect(lines(iso.stdout)).toEqual(['v3', 'v4']);
    const count = await runCli(['consume', '-t', 'c-main', '-p', '0', '-c', '2', ...b]);
    expect(lines(count.stdout)).toEqual(['v0', 'v1']);
    // Past the end is clamped to the end (nothing to read), before the start to the start.
    expect((await runCli(['consume', '-t', 'c-main', '-p', '0', '-o', '99', ...b])).stdout).toBe('');
  });

  it('--encoding hex and base64 print binary keys and values safely', async () => {
    await admin.createTopics({ topics: [{ topic: 'c-bin', numPartitions: 1 }] });
    const bin = Buffer.from([0, 10, 13, 255]);
    await producer.send({ topic: 'c-bin', messages: [{ key: Buffer.from('kk'), value: bin }] });
    const hex = await runCli(['consume', '-t', 'c-bin', '--format', '{key} {value}', '--encoding', 'hex', ...b]);
    expect(lines(hex.stdout)).toEqual(['6b6b 000a0dff']);
    const b64 = await runCli(['consume', '-t', 'c-bin', '--json', '--encoding', 'base64', ...b]);
    expect(Buffer.from(JSON.parse(b64.stdout).value, 'base64')).toEqual(bin);
  });

  it('several topics at once', async () => {
    await admin.createTopics({ topics: [{ topic: 'c-multi-a', numPartitions: 1 }, { topic: 'c-multi-b', numPartitions: 1 }] });
    await producer.send({ topic: 'c-multi-a', messages: [{ value: 'a1' }] });
    await producer.send({ topic: 'c-multi-b', messages: [{ value: 'b1' }] });
    const r = await runCli(['consume', '-t', 'c-multi-a', 'c-multi-b', '--format', '{topic}={value}', ...b]);
    expect(lines(r.stdout).sort()).toEqual(['c-multi-a=a1', 'c-multi-b=b1']);
  });

  it('--follow prints new records as kafkajs produces them and exits 0 on SIGINT', async () => {
    await admin.createTopics({ topics: [{ topic: 'c-follow', numPartitions: 1 }] });
    await producer.send({ topic: 'c-follow', messages: [{ value: 'before' }] });
    const c = spawnCli(['consume', '-t', 'c-follow', '-f', ...b]);
    try {
      await waitFor(() => c.stdout().includes('before\n'), 10000, 20, 'the first record');
      await producer.send({ topic: 'c-follow', messages: [{ value: 'after-1' }, { value: 'after-2' }] });
      await waitFor(() => c.stdout().includes('after-2\n'), 10000, 20, 'records produced while following');
      c.child.kill('SIGINT');
      const { code } = await c.exited;
      expect(code).toBe(0);
      expect(lines(c.stdout())).toEqual(['before', 'after-1', 'after-2']);
    } finally {
      c.child.kill('SIGKILL');
    }
  });

  it('--follow --count waits for records that do not exist yet; --idle-timeout ends a quiet follow', async () => {
    await admin.createTopics({ topics: [{ topic: 'c-wait', numPartitions: 1 }] });
    const c = spawnCli(['consume', '-t', 'c-wait', '-f', '-c', '2', ...b]);
    try {
      await new Promise((r) => setTimeout(r, 300));
      await producer.send({ topic: 'c-wait', messages: [{ value: 'x' }, { value: 'y' }, { value: 'z' }] });
      const { code } = await c.exited;
      expect(code).toBe(0);
      expect(lines(c.stdout())).toEqual(['x', 'y']);
    } finally {
      c.child.kill('SIGKILL');
    }
    const idle = await runCli(['consume', '-t', 'c-wait', '-o', 'end', '-f', '--idle-timeout', '300ms', ...b]);
    expect(idle.code).toBe(0);
    expect(idle.stdout).toBe('');
  });

  it('--isolation read_committed hides an aborted kafkajs transaction; read_uncommitted shows it', async () => {
    await admin.createTopics({ topics: [{ topic: 'c-txn', numPartitions: 1 }] });
    const tp = kafka.producer({ transactionalId: 'c-txn-producer', maxInFlightRequests: 1, idempotent: true });
    await tp.connect();
    try {
      const t1 = await tp.transaction();
      await t1.send({ topic: 'c-txn', messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
      await t1.abort();
      const t2 = await tp.transaction();
      await t2.send({ topic: 'c-txn', messages: [{ value: 'committed' }] });
      await t2.commit();
    } finally {
      await tp.disconnect();
    }
    const rc = await runCli(['consume', '-t', 'c-txn', '--isolation', 'read_committed', ...b]);
    expect(rc.code).toBe(0);
    expect(lines(rc.stdout)).toEqual(['committed']);
    const ru = await runCli(['consume', '-t', 'c-txn', ...b]);
    expect(lines(ru.stdout)).toEqual(['aborted-1', 'aborted-2', 'committed']);
  });

  it('round trip: consume --json | produce --format json copies keys, values, headers and timestamps', async () => {
    await admin.createTopics({ topics: [{ topic: 'c-copy', numPartitions: 2 }] });
    const out = await runCli(['consume', '-t', 'c-main', '--json', ...b]);
    const cp = await runCli(['produce', '-t', 'c-copy', '--format', 'json', '-q', ...b], { input: out.stdout });
    expect(cp.stderr).toBe('');
    expect(cp.code).toBe(0);
    const back = await runCli(['consume', '-t', 'c-copy', '--json', ...b]);
    const strip = (s: string) =>
      lines(s)
        .map((l) => {
          const { topic: _t, ...rest } = JSON.parse(l);
          return JSON.stringify(rest);
        })
        .sort();
    expect(strip(back.stdout)).toEqual(strip(out.stdout));
  });

  it('a reader that goes away early (| head) ends the command quietly with exit 0', async () => {
    await admin.createTopics({ topics: [{ topic: 'c-epipe', numPartitions: 1 }] });
    const values = Array.from({ length: 20000 }, (_, i) => `record ${i} ${'z'.repeat(100)}`);
    expect((await runCli(['produce', '-t', 'c-epipe', '-q', ...b], { input: values.join('\n') })).code).toBe(0);
    const c = spawnCli(['consume', '-t', 'c-epipe', '-f', ...b]);
    try {
      await waitFor(() => c.stdout().length > 0, 10000, 5, 'the first output');
      c.child.stdout!.destroy();
      const { code } = await c.exited;
      expect(code).toBe(0);
      expect(c.stderr()).toBe('');
    } finally {
      c.child.kill('SIGKILL');
    }
  });

  it('exit codes: a missing topic 3, a missing partition 2, bad options 2', async () => {
    const missing = await runCli(['consume', '-t', 'c-nope', ...b]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('brook consume: topic "c-nope" not found\n');
    const part = await runCli(['consume', '-t', 'c-main', '-p', '9', ...b]);
    expect(part.code).toBe(2);
    expect(part.stderr).toContain('has no partition 9');
    expect((await runCli(['consume', '-t', 'c-main', '-g', 'g', '-p', '0', ...b])).code).toBe(2);
    expect((await runCli(['consume', '-t', 'c-main', '-g', 'g', '-o', '5', ...b])).code).toBe(2);
    expect((await runCli(['consume', '-t', 'c-main', '-o', 'sometime', ...b])).code).toBe(2);
    expect((await runCli(['consume', '-t', 'c-main', '-o', 'end', '--from-beginning', ...b])).code).toBe(2);
    expect((await runCli(['consume', '-t', 'c-main', '-c', '0', ...b])).code).toBe(2);
    expect((await runCli(['consume', ...b])).code).toBe(2);
  });
});

describe.skipIf(!hasDist)(`brook consume --follow across a broker restart${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('keeps following when the broker goes away and comes back on the same address', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dataDir = mkdtempSync(join(tmpdir(), 'brook-cli-restart-'));
    let first: Broker | undefined = await startTestBroker({ dataDir });
    let second: Broker | undefined;
    const port = first.port;
    const k1 = kafkaFor(first);
    const p1 = k1.producer();
    await p1.connect();
    await p1.send({ topic: 'c-restart', messages: [{ value: 'one' }] });
    await p1.disconnect();
    const c = spawnCli(['consume', '-t', 'c-restart', '-f', '-b', first.bootstrap]);
    try {
      await waitFor(() => c.stdout().includes('one\n'), 10000, 20, 'the first record');
      await first.close();
      first = undefined;
      await waitFor(() => c.stderr().includes('retrying'), 10000, 20, 'the consumer to notice');
      second = await startTestBroker({ dataDir, port });
      const p2 = kafkaFor(second).producer();
      await p2.connect();
      await p2.send({ topic: 'c-restart', messages: [{ value: 'two' }] });
      await p2.disconnect();
      await waitFor(() => c.stdout().includes('two\n'), 15000, 20, 'a record written after the restart');
      c.child.kill('SIGINT');
      expect((await c.exited).code).toBe(0);
      expect(lines(c.stdout())).toEqual(['one', 'two']);
    } finally {
      c.child.kill('SIGKILL');
      await first?.close();
      await second?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
