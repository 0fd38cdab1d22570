// Issue 12: the HTTP listener's /metrics, /healthz and /readyz. Counters move with real kafkajs
// traffic (produce, consume with a group, an error), the scrape-time gauges match the broker's
// state (log end offsets, consumer lag, group members, connections), and the whole output parses
// as the Prometheus text format.

import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker.js';
import { kafkaFor } from '../helpers/broker.js';

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format strictly: every line is a comment, blank, or a sample. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const s = samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s.length === 0 ? undefined : s.reduce((n, x) => n + x.value, 0);
}

async function scrape(b: Broker): Promise<Sample[]> {
  const r = await fetch(`${b.httpUrl}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
  const { samples, types } = parseExposition(await r.text());
  // Every family has a TYPE line.
  for (const s of samples) {
    const family = s.name.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(s.name) || types.has(family), s.name).toBe(true);
  }
  return samples;
}

describe('HTTP listener and metrics', () => {
  it('is off by default', async () => {
    broker = await startBroker();
    expect(broker.httpUrl).toBeNull();
    expect(broker.metrics).toBeNull();
  });

  it('counters move with kafkajs traffic; gauges match the broker; the output parses', async () => {
    broker = await startBroker({ httpPort: 0 });
    expect(broker.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const kafka = kafkaFor(broker);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'm', numPartitions: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'm', messages: [{ key: `k${i}`, value: `value-${i}`, partition: i % 2 }] });
    await producer.send({ topic: 'm', messages: Array.from({ length: 20 }, (_, i) => ({ value: `batch-${i}`, partition: 0 })) });
    // A Metadata error: a topic that does not exist, without auto-creation.
    await admin.fetchTopicMetadata({ topics: ['no-such-topic'] }).catch(() => {});

    let samples = await scrape(broker);
    expect(value(samples, 'brook_topic_messages_in_total', { topic: 'm' })).toBe(30);
    expect(value(samples, 'brook_topic_bytes_in_total', { topic: 'm' })).toBeGreaterThan(30 * 7);
    expect(value(samples, 'brook_requests_total', { api: 'Produce' })).toBe(11);
    expect(value(samples, 'brook_request_duration_seconds_count', { api: 'Produce' })).toBe(11);
    // Latency is kept per API and version: each version's +Inf bucket equals its count.
    const produceCounts = samples.filter((s) => s.name === 'brook_request_duration_seconds_count' && s.labels.api === 'Produce');
    expect(produceCounts.length).toBeGreaterThanOrEqual(1);
    for (const c of produceCounts) {
      expect(c.labels.version).toMatch(/^\d+$/);
      expect(value(samples, 'brook_request_duration_seconds_bucket', { api: 'Produce', version: c.labels.version!, le: '+Inf' })).toBe(c.value);
      expect(value(samples, 'brook_requests_total', { api: 'Produce', version: c.labels.version! })).toBe(c.value);
    }
    expect(value(samples, 'brook_errors_total', { api: 'Metadata', error: 'UNKNOWN_TOPIC_OR_PARTITION' })).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'brook_log_end_offset', { topic: 'm', partition: '0' })).toBe(25);
    expect(value(samples, 'brook_log_end_offset', { topic: 'm', partition: '1' })).toBe(5);
    expect(value(samples, 'brook_log_size_bytes', { topic: 'm' })).toBeGreaterThan(0);
    expect(value(samples, 'brook_connections', { listener: 'PLAINTEXT' })).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'brook_under_replicated_partitions')).toBe(0);
    expect(value(samples, 'brook_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name.startsWith('brook_nodejs_eventloop_lag'))).toBe(true);
    // GC durations: the family is there (its samples appear after the first collection).
    expect(await (await fetch(`${broker.httpUrl}/metrics`)).text()).toContain('# TYPE brook_nodejs_gc_duration_seconds histogram');

    // A group reads partition 0 only as far as it commits: lag = high watermark - committed.
    const consumer = kafka.consumer({ groupId: 'g' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'm', fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachMessage: async () => {
          if (++seen === 30) resolve();
        },
      });
    });
    await consumer.commitOffsets([
      { topic: 'm', partition: 0, offset: '20' },
      { topic: 'm', partition: 1, offset: '5' },
    ]);
    samples = await scrape(broker);
    expect(value(samples, 'brook_topic_bytes_out_total', { topic: 'm' })).toBeGreaterThan(0);
    expect(value(samples, 'brook_consumer_lag', { group: 'g', topic: 'm', partition: '0' })).toBe(5);
    expect(value(samples, 'brook_consumer_lag', { group: 'g', topic: 'm', partition: '1' })).toBe(0);
    expect(value(samples, 'brook_group_members', { group: 'g', state: 'Stable' })).toBe(1);
    await consumer.disconnect();
    await producer.disconnect();
    // A deleted topic's traffic series go.
    await admin.deleteTopics({ topics: ['m'] });
    await admin.disconnect();
    samples = await scrape(broker);
    expect(value(samples, 'brook_topic_messages_in_total', { topic: 'm' })).toBeUndefined();
    expect(value(samples, 'brook_log_end_offset', { topic: 'm' })).toBeUndefined();
  });

  it('/healthz and /readyz answer; an unknown path is 404; the control API shares the port when asked', async () => {
    broker = await startBroker({ httpPort: 0 });
    expect(await (await fetch(`${broker.httpUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${broker.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect((await fetch(`${broker.httpUrl}/nope`)).status).toBe(404);
    expect((await fetch(`${broker.httpUrl}/faults`)).status).toBe(404);
    await broker.close();

    const { freePort } = await import('../../bench/proc.js');
    const port = await freePort();
    broker = await startBroker({ httpPort: port, controlPort: port });
    expect(broker.controlUrl).toBe(broker.httpUrl);
    expect((await fetch(`${broker.httpUrl}/faults`)).status).toBe(200);
    expect((await fetch(`${broker.httpUrl}/metrics`)).status).toBe(200);
  });

  it('a secured broker (a SASL listener) asks for HTTP Basic credentials of a SCRAM or PLAIN user; the probes stay open', async () => {
    const { credentialFromPassword } = await import('../../src/security/scram.js');
    broker = await startBroker({
      httpPort: 0,
      listeners: [
        { name: 'PLAINTEXT', port: 0 },
        { name: 'SASL_PLAINTEXT', protocol: 'SASL_PLAINTEXT', port: 0, sasl: { plainUsers: { ops: 'ops-secret' } } },
      ],
    });
    await broker.scram.alter([{ user: 'alice', mechanism: 'SCRAM-SHA-256', credential: await credentialFromPassword('SCRAM-SHA-256', 'alice-secret') }]);
    const get = (path: string, auth?: string) => fetch(`${broker!.httpUrl}${path}`, auth ? { headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } } : {});
    const none = await get('/metrics');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="brook"/);
    expect((await get('/metrics', 'alice:wrong')).status).toBe(401);
    expect((await get('/metrics', 'nobody:x')).status).toBe(401);
    expect((await get('/metrics', 'alice:alice-secret')).status).toBe(200);
    expect((await get('/metrics', 'ops:ops-secret')).status).toBe(200);
    expect((await get('/console', 'alice:wrong')).status).toBe(401);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
  });

  it('bound to loopback, it refuses requests naming another host (DNS rebinding)', async () => {
    broker = await startBroker({ httpPort: 0 });
    const { request } = await import('node:http');
    const port = Number(new URL(broker.httpUrl!).port);
    const status = (host: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const r = request({ host: '127.0.0.1', port, path: '/metrics', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        r.on('error', reject);
        r.end();
      });
    expect(await status('evil.example.com')).toBe(421);
    expect(await status(`evil.example.com:${port}`)).toBe(421);
    expect(await status(`127.0.0.1:${port}`)).toBe(200);
    expect(await status(`localhost:${port}`)).toBe(200);
    expect(await status(`[::1]:${port}`)).toBe(200);
  });
});
