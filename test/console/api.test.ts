// The console's JSON API (src/http/api.ts) with plain fetch against a real broker: what a kafkajs
// producer and consumer group did shows up, topics are created and deleted, records are produced
// and browsed (JSON pretty-printed, binary as hex, search, by timestamp), offsets reset only for a
// group without members, outputs stay bounded, and bad input gets a 4xx.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import { MAX_PAGE, MAX_RECORDS, SHOWN_TEXT_BYTES, show } from '../../src/http/console/data.js';
import { esc } from '../../src/http/console/html.js';
import { kafkaFor, startTestBroker, waitFor } from '../helpers/broker.js';

type Json = Record<string, any>;

let broker: Broker;
let base: string;

async function api(path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const { json, ...rest } = init;
  const res = await fetch(`${base}${path}`, json === undefined ? rest : { ...rest, method: rest.method ?? 'POST', headers: { 'content-type': 'application/json', ...(rest.headers as Record<string, string> | undefined) }, body: JSON.stringify(json) });
  return { status: res.status, body: (await res.json()) as Json };
}

beforeAll(async () => {
  broker = await startTestBroker({ httpPort: 0 });
  base = broker.httpUrl!;
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }, { topic: 'plain' }, { topic: 'big' }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: 'orders',
    messages: [
      { partition: 0, key: 'k1', value: JSON.stringify({ id: 1, item: 'tea' }), headers: { source: 'test' } },
      { partition: 0, key: 'k2', value: Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x10]) },
      { partition: 0, key: null, value: '<script>alert(1)</script>' },
      { partition: 1, key: 'k3', value: 'plain text' },
    ],
  });
  await producer.disconnect();
});

afterAll(async () => {
  await broker?.close();
});

describe('console API', () => {
  it('describes the cluster', async () => {
    const { status, body } = await api('/api/cluster');
    expect(status).toBe(200);
    expect(body.brokers).toHaveLength(1);
    expect(body.brokers[0].port).toBe(broker.port);
    expect(body.controllerId).toBe(body.brokers[0].nodeId);
    expect(body.topicCount).toBeGreaterThanOrEqual(2);
    expect(body.partitionCount).toBeGreaterThanOrEqual(3);
    // The second read has a rate (the first one only starts the interval).
    const again = await api('/api/cluster');
    expect(again.body.throughput).not.toBeNull();
    expect(again.body.throughput.bytesInPerSec).toBeGreaterThanOrEqual(0);
  });

  it('lists topics with partition and message counts, paged and filtered', async () => {
    const { body } = await api('/api/topics?q=orders');
    expect(body.total).toBe(1);
    expect(body.topics).toEqual([{ name: 'orders', internal: false, partitions: 2, replicationFactor: 1, messages: 4 }]);
    const one = await api('/api/topics?limit=1');
    expect(one.body.topics).toHaveLength(1);
    expect(one.body.total).toBeGreaterThanOrEqual(2);
    const capped = await api('/api/topics?limit=100000');
    expect(capped.body.limit).toBe(MAX_PAGE);
    expect((await api('/api/topics?limit=x')).status).toBe(400);
  });

  it('describes a topic: partitions with offsets, leader, replicas, ISR and size; configs', async () => {
    const { status, body } = await api('/api/topics/orders');
    expect(status).toBe(200);
    expect(body.partitions.map((p: Json) => [p.partition, p.earliestOffset, p.latestOffset])).toEqual([
      [0, 0, 3],
      [1, 0, 1],
    ]);
    expect(body.partitions[0].leader).toBe(body.partitions[0].replicas[0]);
    expect(body.partitions[0].isr).toEqual(body.partitions[0].replicas);
    expect(body.partitions[0].sizeBytes).toBeGreaterThan(0);
    expect(body.configs.find((c: Json) => c.name === 'cleanup.policy')?.value).toBe('delete');
    expect((await api('/api/topics/nope')).status).toBe(404);
  });

  it('browses records: JSON pretty-printed, binary as hex, headers, search within the page', async () => {
    const { body } = await api('/api/topics/orders/messages?partition=0&offset=0');
    expect(body.records.map((r: Json) => r.offset)).toEqual([0, 1, 2]);
    const [json, bin, text] = body.records;
    expect(json.value).toEqual({ kind: 'json', text: JSON.stringify({ id: 1, item: 'tea' }, null, 2), size: 21, truncated: false });
    expect(json.key).toMatchObject({ kind: 'text', text: 'k1' });
    expect(json.headers).toEqual([{ key: 'source', value: { kind: 'text', text: 'test', size: 4, truncated: false } }]);
    expect(bin.value).toMatchObject({ kind: 'hex', text: '00 01 fe ff 10' });
    expect(text.key.kind).toBe('null');
    expect(body.next).toBe(3);

    const found = await api('/api/topics/orders/messages?partition=0&offset=0&q=tea');
    expect(found.body.scanned).toBe(3);
    expect(found.body.records.map((r: Json) => r.offset)).toEqual([0]);

    const paged = await api('/api/topics/orders/messages?partition=0&offset=1&limit=1');
    expect(paged.body.records.map((r: Json) => r.offset)).toEqual([1]);
    expect(paged.body.next).toBe(2);

    // No offset: the last page.
    const last = await api('/api/topics/orders/messages?partition=0&limit=2');
    expect(last.body.records.map((r: Json) => r.offset)).toEqual([1, 2]);

    // By timestamp: a time after everything is the end; the epoch is the start.
    expect((await api('/api/topics/orders/messages?partition=0&timestamp=0')).body.from).toBe(0);
    expect((await api(`/api/topics/orders/messages?partition=0&timestamp=${Date.now() + 3_600_000}`)).body.records).toEqual([]);

    expect((await api('/api/topics/orders/messages?partition=7')).status).toBe(404);
    expect((await api('/api/topics/orders/messages?offset=abc')).status).toBe(400);
    expect((await api(`/api/topics/orders/messages?partition=0&limit=${MAX_RECORDS * 10}`)).status).toBe(200);
  });

  it('produces a record that a browse then shows', async () => {
    const r = await api('/api/topics/plain/messages', { json: { key: 'a', value: '{"x":[1,2]}', headers: { h: 'v' }, partition: 0 } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ topic: 'plain', partition: 0, offset: 0 });
    const { body } = await api('/api/topics/plain/messages?partition=0&offset=0');
    expect(body.records[0].value).toMatchObject({ kind: 'json', text: '{\n  "x": [\n    1,\n    2\n  ]\n}' });
    expect(body.records[0].headers[0]).toMatchObject({ key: 'h', value: { text: 'v' } });
    expect((await api('/api/topics/missing-topic/messages', { json: { value: 'x' } })).status).toBe(404);
    expect((await api('/api/topics/plain/messages', { json: { value: 'x', partition: 9 } })).status).toBe(404);
  });

  it('tails a topic from a cursor', async () => {
    const first = await api('/api/topics/plain/tail');
    expect(first.body.records).toEqual([]);
    expect(first.body.cursor).toBe('0:1');
    await api('/api/topics/plain/messages', { json: { value: 'tail me' } });
    const next = await api(`/api/topics/plain/tail?cursor=${first.body.cursor}`);
    expect(next.body.records.map((r: Json) => r.value.text)).toEqual(['tail me']);
    expect(next.body.cursor).toBe('0:2');
    expect((await api('/api/topics/plain/tail?cursor=bad')).status).toBe(400);
    // A cut at `limit` resumes right after the last record returned.
    for (const v of ['a', 'b', 'c']) await api('/api/topics/plain/messages', { json: { value: v } });
    const two = await api(`/api/topics/plain/tail?cursor=${next.body.cursor}&limit=2`);
    expect(two.body.records.map((r: Json) => r.value.text)).toEqual(['a', 'b']);
    expect(two.body.cursor).toBe('0:4');
    const rest = await api(`/api/topics/plain/tail?cursor=${two.body.cursor}&limit=2`);
    expect(rest.body.records.map((r: Json) => r.value.text)).toEqual(['c']);
  });

  it('keeps big records to the display limits', async () => {
    const producer = kafkaFor(broker).producer();
    await producer.connect();
    await producer.send({ topic: 'big', messages: [{ value: 'x'.repeat(300_000) }, { value: Buffer.alloc(500_000, 0xff) }] });
    await producer.disconnect();
    const res = await fetch(`${base}/api/topics/big/messages?partition=0&offset=0`);
    const text = await res.text();
    expect(text.length).toBeLessThan(SHOWN_TEXT_BYTES + 20_000);
    const body = JSON.parse(text) as Json;
    expect(body.records.map((r: Json) => [r.value.kind, r.value.size, r.value.truncated])).toEqual([
      ['text', 300_000, true],
      ['hex', 500_000, true],
    ]);
  });

  it('creates and deletes topics; refuses bad input', async () => {
    const c = await api('/api/topics', { json: { name: 'made-by-api', partitions: 3, configs: { 'retention.ms': '60000' } } });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ name: 'made-by-api', partitions: 3 });
    const d = await api('/api/topics/made-by-api');
    expect(d.body.partitions).toHaveLength(3);
    expect(d.body.configs.find((x: Json) => x.name === 'retention.ms')).toMatchObject({ value: '60000', source: 'DYNAMIC_TOPIC_CONFIG' });
    expect((await api('/api/topics', { json: { name: 'made-by-api' } })).status).toBe(400);
    expect((await api('/api/topics', { json: { name: '' } })).status).toBe(400);
    expect((await api('/api/topics', { json: { name: 'x', partitions: -1 } })).status).toBe(400);
    expect((await api('/api/topics', { method: 'POST', body: 'not json', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await api('/api/topics/made-by-api', { method: 'DELETE' })).status).toBe(200);
    await waitFor(async () => (await api('/api/topics/made-by-api')).status === 404, 5000, 50, 'topic gone');
    expect((await api('/api/topics/made-by-api', { method: 'DELETE' })).status).toBe(404);
  });

  it('shows groups with lag and resets offsets only when the group has no members', async () => {
    const kafka = kafkaFor(broker);
    const consumer = kafka.consumer({ groupId: 'api-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    let seen = 0;
    await consumer.run({
      eachMessage: async () => {
        seen++;
      },
    });
    await waitFor(() => seen >= 4, 15000, 50, 'consumed');
    await waitFor(async () => (await api('/api/groups/api-group')).body.state === 'Stable', 10000, 100, 'stable');
    const live = await api('/api/groups/api-group');
    expect(live.body.members).toHaveLength(1);
    expect(live.body.resettable).toBe(false);
    const refused = await api('/api/groups/api-group/reset-offsets', { json: { to: 'earliest', topic: 'orders' } });
    expect(refused.status).toBe(409);
    await consumer.disconnect();

    const list = await api('/api/groups');
    expect(list.body.groups.find((g: Json) => g.groupId === 'api-group')).toMatchObject({ state: 'Empty', members: 0, totalLag: 0 });

    const reset = await api('/api/groups/api-group/reset-offsets', { json: { to: 'offset', offset: '1', topic: 'orders' } });
    expect(reset.status).toBe(200);
    expect(reset.body.offsets).toEqual([
      { topic: 'orders', partition: 0, offset: 1 },
      { topic: 'orders', partition: 1, offset: 1 },
    ]);
    const after = await api('/api/groups/api-group');
    expect(after.body.offsets.map((o: Json) => [o.partition, o.committedOffset, o.lag])).toEqual([
      [0, 1, 2],
      [1, 1, 0],
    ]);
    expect(after.body.totalLag).toBe(2);
    const early = await api('/api/groups/api-group/reset-offsets', { json: { to: 'earliest' } });
    expect(early.body.offsets.map((o: Json) => o.offset)).toEqual([0, 0]);
    expect((await api('/api/groups/api-group/reset-offsets', { json: { to: 'sideways' } })).status).toBe(400);
    expect((await api('/api/groups/no-such-group')).status).toBe(404);
  });

  it('sets and deletes dynamic topic configs (IncrementalAlterConfigs), with the broker\'s reason for a bad value', async () => {
    const set = await api('/api/topics/plain/configs', { json: { set: { 'retention.ms': '120000', 'cleanup.policy': 'compact' } } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.changed).toEqual([
      { name: 'retention.ms', op: 'set', value: '120000' },
      { name: 'cleanup.policy', op: 'set', value: 'compact' },
    ]);
    const cfg = async (name: string): Promise<Json | undefined> => (await api('/api/topics/plain')).body.configs.find((c: Json) => c.name === name);
    expect(await cfg('retention.ms')).toMatchObject({ value: '120000', source: 'DYNAMIC_TOPIC_CONFIG' });
    // kafkajs (another client) sees the change too.
    const admin = kafkaFor(broker).admin();
    await admin.connect();
    try {
      const d = await admin.describeConfigs({ resources: [{ type: 2, name: 'plain', configNames: ['retention.ms'] }], includeSynonyms: false });
      expect(d.resources[0]!.configEntries[0]!.configValue).toBe('120000');
    } finally {
      await admin.disconnect();
    }
    // A bad value: 400 with the broker's message; nothing changed.
    const bad = await api('/api/topics/plain/configs', { json: { set: { 'retention.ms': 'abc' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/INVALID_CONFIG/);
    expect(bad.body.error).toMatch(/retention\.ms/);
    expect(await cfg('retention.ms')).toMatchObject({ value: '120000' });
    // Delete: back to the default.
    const del = await api('/api/topics/plain/configs', { json: { delete: ['retention.ms', 'cleanup.policy'] } });
    expect(del.status).toBe(200);
    expect(del.body.configs.find((c: Json) => c.name === 'retention.ms')).toMatchObject({ source: 'DEFAULT_CONFIG' });
    expect(await cfg('cleanup.policy')).toMatchObject({ value: 'delete', isDefault: true });
    // Bad requests.
    expect((await api('/api/topics/plain/configs', { json: {} })).status).toBe(400);
    expect((await api('/api/topics/plain/configs', { json: { set: { 'bad name!': '1' } } })).status).toBe(400);
    expect((await api('/api/topics/plain/configs', { json: { set: { 'retention.ms': '1' }, delete: ['retention.ms'] } })).status).toBe(400);
    expect((await api('/api/topics/plain/configs', { json: { delete: 'retention.ms' } })).status).toBe(400);
    expect((await api('/api/topics/no-such-topic/configs', { json: { set: { 'retention.ms': '1' } } })).status).toBe(404);
    // Another origin may not change configs.
    const evil = await api('/api/topics/plain/configs', { json: { set: { 'retention.ms': '1' } }, headers: { origin: 'http://evil.example' } as Record<string, string> });
    expect(evil.status).toBe(403);
  });

  it('deletes a consumer group; one with members gets the broker\'s NON_EMPTY_GROUP', async () => {
    const kafka = kafkaFor(broker);
    const consumer = kafka.consumer({ groupId: 'doomed-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    let seen = 0;
    await consumer.run({
      eachMessage: async () => {
        seen++;
      },
    });
    try {
      await waitFor(() => seen >= 4, 15000, 50, 'consumed');
      await waitFor(async () => (await api('/api/groups/doomed-group')).body.members?.length === 1, 10000, 100, 'member');
      const refused = await api('/api/groups/doomed-group', { method: 'DELETE' });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatch(/NON_EMPTY_GROUP/);
    } finally {
      await consumer.disconnect();
    }
    await waitFor(async () => (await api('/api/groups/doomed-group')).body.members?.length === 0, 10000, 100, 'no members');
    const evil = await api('/api/groups/doomed-group', { method: 'DELETE', headers: { 'sec-fetch-site': 'cross-site' } });
    expect(evil.status).toBe(403);
    const deleted = await api('/api/groups/doomed-group', { method: 'DELETE' });
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body).toEqual({ deleted: 'doomed-group' });
    expect((await api('/api/groups/doomed-group')).status).toBe(404);
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('doomed-group');
    } finally {
      await admin.disconnect();
    }
    expect((await api('/api/groups/doomed-group', { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses changes posted by a page of another origin (no credentials: CSRF)', async () => {
    const evil = await api('/api/topics', { json: { name: 'csrf-topic' }, headers: { 'content-type': 'text/plain', origin: 'http://evil.example' } as Record<string, string> });
    expect(evil.status).toBe(403);
    const form = await fetch(`${base}/console/topics`, { method: 'POST', body: 'name=csrf-topic', headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' } });
    expect(form.status).toBe(403);
    expect((await api('/api/topics/csrf-topic')).status).toBe(404);
    // The same origin (what the console's own forms send) passes.
    const same = await fetch(`${base}/console/topics`, { method: 'POST', body: 'name=same-origin-topic', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'sec-fetch-site': 'same-origin' } });
    expect(same.status).toBe(303);
    expect(same.headers.get('location')).toMatch(/^\/console\/topics\/same-origin-topic\?notice=/);
  });

  it('answers unknown paths with 404', async () => {
    expect((await api('/api/nothing')).status).toBe(404);
    expect((await api('/api/topics/orders/else')).status).toBe(404);
  });
});

describe('how values are shown', () => {
  it('cuts long text and binary to the display limits and escapes HTML', () => {
    const long = show(Buffer.alloc(SHOWN_TEXT_BYTES + 10, 'a'));
    expect(long).toMatchObject({ kind: 'text', size: SHOWN_TEXT_BYTES + 10, truncated: true });
    expect(long.text.length).toBe(SHOWN_TEXT_BYTES);
    const bin = show(Buffer.alloc(100_000, 0));
    expect(bin.kind).toBe('hex');
    expect(bin.truncated).toBe(true);
    expect(bin.text.length).toBeLessThan(20_000);
    expect(show(Buffer.from('{"a":')).kind).toBe('text');
    expect(esc('<a href="x">\'&')).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;');
  });
});

describe('console on a broker without a PLAINTEXT listener', () => {
  it('SSL only: answers 503 saying it needs one', async () => {
    const { makePki } = await import('../helpers/certs.js');
    const pki = makePki();
    const b = await startTestBroker({ httpPort: 0, listeners: [{ name: 'SSL', protocol: 'SSL', host: '127.0.0.1', port: 0, tls: { key: pki.pem('server.key'), cert: pki.pem('server.crt') } }] });
    try {
      const res = await fetch(`${b.httpUrl}/api/cluster`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as Json).error).toMatch(/PLAINTEXT listener/);
      const page = await fetch(`${b.httpUrl}/console`);
      expect(page.status).toBe(503);
      expect(await page.text()).toContain('PLAINTEXT listener');
    } finally {
      await b.close();
      pki.remove();
    }
  });

  it('SASL only: the console reads as the user logged in over HTTP, so the ACLs apply to it', async () => {
    const { credentialFromPassword } = await import('../../src/security/scram.js');
    const b = await startTestBroker({
      httpPort: 0,
      listeners: [{ name: 'SASL_PLAINTEXT', protocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 0, sasl: { mechanisms: ['SCRAM-SHA-512'] } }],
      config: { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'super.users': 'User:alice' },
    });
    try {
      await b.scram.alter(
        await Promise.all(['alice', 'bob'].map(async (user) => ({ user, mechanism: 'SCRAM-SHA-512' as const, credential: await credentialFromPassword('SCRAM-SHA-512', `${user}-secret`) }))),
      );
      const as = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${user}-secret`).toString('base64')}` });
      expect((await fetch(`${b.httpUrl}/api/topics`)).status).toBe(401);
      const created = await fetch(`${b.httpUrl}/api/topics`, { method: 'POST', headers: { ...as('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'alices', partitions: 1 }) });
      expect(created.status, await created.clone().text()).toBe(201);
      const names = async (user: string): Promise<string[]> => {
        const r = await fetch(`${b.httpUrl}/api/topics`, { headers: as(user) });
        expect(r.status).toBe(200);
        return ((await r.json()) as { topics: Array<{ name: string }> }).topics.map((t) => t.name);
      };
      expect(await names('alice')).toContain('alices');
      // bob has no ACLs: Metadata leaves the topic out, so his console does too.
      expect(await names('bob')).not.toContain('alices');
      const denied = await fetch(`${b.httpUrl}/api/topics`, { method: 'POST', headers: { ...as('bob'), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bobs', partitions: 1 }) });
      expect(denied.status).toBeGreaterThanOrEqual(400);
      expect(await names('alice')).not.toContain('bobs');
      // The live tail stream: the same login; it reads as that user too (bob may not read the topic).
      expect((await fetch(`${b.httpUrl}/api/topics/alices/tail/stream`)).status).toBe(401);
      const stream = await fetch(`${b.httpUrl}/api/topics/alices/tail/stream`, { headers: as('alice') });
      expect(stream.status).toBe(200);
      const reader = stream.body!.getReader();
      let text = '';
      while (!text.includes('\n\n')) text += Buffer.from((await reader.read()).value!).toString('utf8');
      expect(text).toContain('event: ready');
      await reader.cancel();
      expect((await fetch(`${b.httpUrl}/api/topics/alices/tail/stream`, { headers: as('bob') })).status).toBeGreaterThanOrEqual(400);
    } finally {
      await b.close();
    }
  });
});
