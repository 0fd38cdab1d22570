// The live tail over Server-Sent Events (src/http/console/live-tail.ts), read with a raw node:http
// client while kafkajs produces: records arrive as events whose ids are cursors, a reconnect with
// Last-Event-ID resumes without loss or duplicates, keepalive comments flow, a client that goes
// away ends its fetch loop (its parked Fetch, its Kafka connection and its slot go), the number of
// streams is bounded (503), and a client that stops reading stops the fetching.

import { request, type IncomingMessage } from 'node:http';
import type { Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import { apiRoutes } from '../../src/http/api.js';
import { ConsoleData } from '../../src/http/console/data.js';
import { LiveTails } from '../../src/http/console/live-tail.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { kafkaFor, startTestBroker, waitFor } from '../helpers/broker.js';

type Json = Record<string, any>;

interface SseEvent {
  event: string;
  id: string | null;
  data: Json;
}

interface Stream {
  status: number;
  headers: IncomingMessage['headers'];
  /** Every event so far (a non-2xx answer: its JSON body as one event "answer"). */
  events: SseEvent[];
  comments: string[];
  res: IncomingMessage;
  /** Resolves once `check` holds for the events received. */
  until(check: (events: SseEvent[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Opens an event stream with a raw HTTP client and parses the events as they come. */
function openStream(base: string, path: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      let buf = '';
      let waiters: Array<() => void> = [];
      res.setEncoding('utf8');
      const ok = res.statusCode === 200;
      res.on('data', (chunk: string) => {
        buf += chunk;
        if (!ok) return;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let ev: SseEvent | null = null;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) (ev ??= { event: 'message', id: null, data: {} }).event = line.slice(7);
            else if (line.startsWith('id: ')) (ev ??= { event: 'message', id: null, data: {} }).id = line.slice(4);
            else if (line.startsWith('data: ')) (ev ??= { event: 'message', id: null, data: {} }).data = JSON.parse(line.slice(6)) as Json;
          }
          if (ev) events.push(ev);
        }
        for (const w of waiters) w();
      });
      res.on('end', () => {
        if (!ok) events.push({ event: 'answer', id: null, data: JSON.parse(buf) as Json });
        for (const w of waiters) w();
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        res,
        until: (check, what, timeoutMs = 15_000) =>
          new Promise<void>((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events).slice(0, 2000)}`)), timeoutMs);
            const test = (): void => {
              if (check(events)) {
                clearTimeout(timer);
                waiters = waiters.filter((w) => w !== test);
                done();
              }
            };
            waiters.push(test);
            test();
          }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const values = (events: SseEvent[]): string[] => events.filter((e) => e.event === 'message').flatMap((e) => e.data.records.map((r: Json) => r.value.text as string));

async function metric(base: string, line: RegExp): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m === undefined ? 0 : Number(m.split(' ').pop());
}

let broker: Broker;
let producer: Producer;

beforeAll(async () => {
  broker = await startTestBroker({ httpPort: 0, consoleLiveTails: 3 });
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 2 }, { topic: 'resume' }, { topic: 'slots' }, { topic: 'flood' }] });
  await admin.disconnect();
  producer = kafka.producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await broker?.close();
});

const parkedFetches = (): Promise<number> => metric(broker.httpUrl!, /^brook_purgatory_size\{kind="fetch"\}/);

describe('live tail over Server-Sent Events', () => {
  // A closed stream's slot is free once its parked Fetch has ended (the loop returns first).
  afterEach(async () => {
    await waitFor(async () => (await parkedFetches()) === 0, 10_000, 20, 'no stream left');
  });

  it('pushes records produced after it opened, each event id the cursor after it', async () => {
    await producer.send({ topic: 'events', messages: [{ partition: 0, value: 'before' }] });
    const s = await openStream(broker.httpUrl!, '/api/topics/events/tail/stream');
    try {
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      await s.until((e) => e.some((x) => x.event === 'ready'), 'ready');
      // Opened at the end: the record written before is not sent.
      expect(s.events[0]).toEqual({ event: 'ready', id: '0:1,1:0', data: { topic: 'events', cursor: '0:1,1:0' } });
      await producer.send({ topic: 'events', messages: [{ partition: 1, key: 'k', value: JSON.stringify({ n: 1 }), headers: { h: 'v' } }] });
      await producer.send({ topic: 'events', messages: [{ partition: 0, value: 'second' }] });
      await s.until((e) => values(e).length >= 2, 'two records');
      const msgs = s.events.filter((e) => e.event === 'message');
      // In offset order within a partition; partitions may come in any order.
      expect(values(s.events).sort()).toEqual(['second', '{\n  "n": 1\n}']);
      const first = msgs.flatMap((m) => m.data.records).find((r: Json) => r.partition === 1);
      expect(first).toMatchObject({ partition: 1, offset: 0, key: { kind: 'text', text: 'k' }, value: { kind: 'json' }, headers: [{ key: 'h', value: { text: 'v' } }] });
      expect(msgs.at(-1)!.id).toBe('0:2,1:1');
      for (const m of msgs) expect(m.data.cursor).toBe(m.id);
    } finally {
      s.close();
    }
  });

  it('resumes from Last-Event-ID after a reconnect: nothing lost, nothing twice', async () => {
    const s = await openStream(broker.httpUrl!, '/api/topics/resume/tail/stream');
    await s.until((e) => e.some((x) => x.event === 'ready'), 'ready');
    const start = s.events[0]!.id!;
    expect(start).toBe('0:0');
    await producer.send({ topic: 'resume', messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.send({ topic: 'resume', messages: [{ value: 'c' }] });
    await s.until((e) => values(e).length === 3, 'a, b, c');
    const lastId = s.events.filter((e) => e.id !== null).at(-1)!.id!;
    expect(lastId).toBe('0:3');
    s.close();
    // Written while no one listened.
    await producer.send({ topic: 'resume', messages: [{ value: 'd' }, { value: 'e' }] });
    // What an EventSource sends when it reconnects (the header wins over ?cursor=).
    const again = await openStream(broker.httpUrl!, '/api/topics/resume/tail/stream?cursor=0:0', { 'last-event-id': lastId });
    try {
      await again.until((e) => values(e).length >= 2, 'd, e');
      expect(again.events[0]).toMatchObject({ event: 'ready', id: '0:3' });
      expect(values(again.events)).toEqual(['d', 'e']);
      await producer.send({ topic: 'resume', messages: [{ value: 'f' }] });
      await again.until((e) => values(e).length >= 3, 'f');
      expect(values(again.events)).toEqual(['d', 'e', 'f']);
    } finally {
      again.close();
    }
    // ?cursor= alone (a page that paused) starts there.
    const fromStart = await openStream(broker.httpUrl!, `/api/topics/resume/tail/stream?cursor=${start}`);
    try {
      await fromStart.until((e) => values(e).length >= 6, 'a to f');
      expect(values(fromStart.events)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    } finally {
      fromStart.close();
    }
  });

  it('refuses a bad cursor or an unknown topic before streaming', async () => {
    const bad = await openStream(broker.httpUrl!, '/api/topics/resume/tail/stream', { 'last-event-id': 'nonsense' });
    expect(bad.status).toBe(400);
    await bad.until((e) => e.length === 1, 'answer');
    expect(bad.events[0]!.data.error).toMatch(/cursor/);
    const missing = await openStream(broker.httpUrl!, '/api/topics/no-such-topic/tail/stream');
    expect(missing.status).toBe(404);
    // The loopback Host check covers the stream too.
    const rebound = await openStream(broker.httpUrl!, '/api/topics/resume/tail/stream', { host: 'evil.example' });
    expect(rebound.status).toBe(421);
    rebound.close();
  });

  it('bounds the streams per broker (503 past the limit) and frees a slot when a client goes away', async () => {
    const base = broker.httpUrl!;
    const purgatory = parkedFetches;
    const connections = (): Promise<number> => metric(base, /^brook_connections\{/);
    const before = await connections();
    const open = await Promise.all([0, 1, 2].map(() => openStream(base, '/api/topics/slots/tail/stream')));
    try {
      for (const s of open) await s.until((e) => e.some((x) => x.event === 'ready'), 'ready');
      // Each idle stream is one long poll parked in the broker, on a connection of its own.
      await waitFor(async () => (await purgatory()) === 3, 10_000, 50, 'three parked fetches');
      const during = await connections();
      const perStream = (during - before) / 3;
      expect(perStream).toBeGreaterThanOrEqual(1);
      const refused = await openStream(base, '/api/topics/slots/tail/stream');
      expect(refused.status).toBe(503);
      await refused.until((e) => e.length === 1, 'answer');
      expect(refused.events[0]!.data.error).toMatch(/3 live tails are open/);

      // One client goes away: its parked Fetch ends, its connection closes, its slot frees.
      open[0]!.close();
      await waitFor(async () => (await purgatory()) === 2, 10_000, 50, 'the parked fetch ended');
      await waitFor(async () => (await connections()) === during - perStream, 10_000, 50, 'its connections closed');
      const next = await openStream(base, '/api/topics/slots/tail/stream');
      expect(next.status).toBe(200);
      await next.until((e) => e.some((x) => x.event === 'ready'), 'ready');
      open[0] = next;
      // The others still stream.
      await producer.send({ topic: 'slots', messages: [{ value: 'still here' }] });
      for (const s of open) await s.until((e) => values(e).includes('still here'), 'record');
    } finally {
      for (const s of open) s.close();
    }
    await waitFor(async () => (await purgatory()) === 0 && (await connections()) === before, 10_000, 50, 'every stream gone');
  });
});

describe('live tail streams on a server of their own (keepalive, disconnect, back-pressure)', () => {
  let server: HttpServer;
  let data: ConsoleData;
  let tails: LiveTails;

  beforeAll(async () => {
    data = new ConsoleData(broker.bootstrap, null);
    // A max wait far longer than the test waits: the loop ends because the client went away.
    tails = new LiveTails({ maxStreams: 2, keepaliveMs: 50, maxWaitMs: 120_000 });
    server = await startHttpServer('127.0.0.1', 0, [apiRoutes(data, { liveTails: tails })]);
  });

  afterAll(async () => {
    await server?.close();
    data?.close();
  });

  it('sends keepalive comments while idle', async () => {
    const s = await openStream(server.url, '/api/topics/slots/tail/stream');
    try {
      await s.until((e) => e.length > 0, 'ready');
      await waitFor(() => s.comments.length >= 2, 10_000, 20, 'keepalive comments');
      expect(s.comments[0]).toBe('keepalive');
    } finally {
      s.close();
    }
    await waitFor(() => tails.active === 0, 10_000, 20, 'stream ended');
  });

  it('a client that goes away ends the fetch loop: no more fetching, no timers left', async () => {
    const s = await openStream(server.url, '/api/topics/slots/tail/stream');
    await s.until((e) => e.length > 0, 'ready');
    expect(tails.active).toBe(1);
    s.close();
    // The slot is given back when the loop has returned (finally: timer cleared, client closed).
    await waitFor(() => tails.active === 0, 10_000, 20, 'loop ended');
    // Its parked Fetch (max wait 120 s) ended with its connection: nothing is parked.
    expect(await metric(broker.httpUrl!, /^brook_purgatory_size\{kind="fetch"\}/)).toBe(0);
  });

  it('a client that does not read stops the fetching until its socket drains, then gets everything in order', async () => {
    const s = await openStream(server.url, '/api/topics/flood/tail/stream');
    try {
      await s.until((e) => e.length > 0, 'ready');
      s.res.pause();
      // About 32 MB of events: more than the socket buffers of both ends hold.
      const big = (i: number): string => `${String(i).padStart(5, '0')}${'x'.repeat(64 * 1024 - 5)}`;
      const total = 500;
      for (let i = 0; i < total; i += 10) {
        await producer.send({ topic: 'flood', messages: Array.from({ length: 10 }, (_, j) => ({ value: big(i + j) })) });
      }
      await waitFor(() => tails.stalled === 1, 20_000, 20, 'the stream waits for drain');
      // While it waits nothing is fetched: no long poll is parked for it.
      expect(await metric(broker.httpUrl!, /^brook_purgatory_size\{kind="fetch"\}/)).toBe(0);
      s.res.resume();
      await s.until((e) => values(e).length >= total, 'every record', 60_000);
      const got = values(s.events).map((v) => Number(v.slice(0, 5)));
      expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
      expect(tails.stalled).toBe(0);
    } finally {
      s.close();
    }
  }, 90_000);
});

describe('a live tail stream and partitions added to its topic', () => {
  it('follows partitions created after it opened, from their start', async () => {
    const data = new ConsoleData(broker.bootstrap, null);
    const tails = new LiveTails({ maxStreams: 1, maxWaitMs: 200, partitionCheckMs: 100 });
    const server = await startHttpServer('127.0.0.1', 0, [apiRoutes(data, { liveTails: tails })]);
    const admin = kafkaFor(broker).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'growing', numPartitions: 1 }] });
      const s = await openStream(server.url, '/api/topics/growing/tail/stream');
      try {
        await s.until((e) => e.some((x) => x.event === 'ready'), 'ready');
        expect(s.events[0]!.data.cursor).toBe('0:0');
        await admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 3 }] });
        // Written to the new partitions before the stream has looked for them: still seen.
        await producer.send({ topic: 'growing', messages: [{ value: 'p1', partition: 1 }, { value: 'p2', partition: 2 }, { value: 'p0', partition: 0 }] });
        await s.until((e) => values(e).length >= 3, 'records of all three partitions');
        expect(values(s.events).sort()).toEqual(['p0', 'p1', 'p2']);
        const last = s.events[s.events.length - 1]!;
        expect(last.id!.split(',').sort()).toEqual(['0:1', '1:1', '2:1']);
      } finally {
        s.close();
      }
      await waitFor(() => tails.active === 0, 10_000, 20, 'stream ended');
    } finally {
      await admin.disconnect();
      await server.close();
      data.close();
    }
  });
});
