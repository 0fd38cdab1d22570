// The live tail as Server-Sent Events (issue 12): GET /api/topics/:topic/tail/stream answers
// text/event-stream and pushes new records of every partition as they are appended. Each stream
// reads through a Kafka client of its own (ConsoleData.openClient: the broker answers a
// connection's requests in order, so a parked long poll must not sit in front of the console's
// other requests) with long-poll Fetches (max wait `maxWaitMs`, min bytes 1): the broker parks the
// Fetch until an append, so an idle stream costs one parked request, not a loop.
//
// Events (the data is JSON on one line):
//   event: ready   id: <cursor>   data: {"topic","cursor"}           once, when the stream opens
//   (message)      id: <cursor>   data: {"cursor","records":[...]}   at most EVENT_RECORDS records
//   event: problem                data: {"error"}                    then the stream ends
//   ": keepalive" comment lines every `keepaliveMs`.
// The id of every event is the cursor ("partition:offset,...", each partition's next offset) right
// after what was sent, so an EventSource that reconnects sends it back as Last-Event-ID and resumes
// exactly there: nothing lost, nothing twice. The cursor can also be given as ?cursor= (a page that
// paused and resumes); without either each partition starts at its end now.
//
// Partitions added to the topic meanwhile are looked for every `partitionCheckMs` and followed
// from their start.
//
// Bounds: at most `maxStreams` streams open at once per broker (503 past it; the page falls back
// to polling /tail); a socket that does not drain stops the fetching until 'drain'; a client that
// goes away (or the server closing) closes the stream's Kafka client, which ends its parked Fetch
// at once, and the loop, its keepalive timer and its slot go with it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Fetcher, type KafkaClient, type TopicPartition } from '../../client/index.js';
import { HttpError, toJson, type HttpAnswer } from '../server.js';
import { type ConsoleData, formatCursor, shownRecord } from './data.js';

export interface LiveTailOptions {
  /** Streams open at once on this broker (default 16); past it a new one gets 503. */
  maxStreams?: number;
  /** A comment line this often keeps an idle stream open through proxies (default 15 000 ms). */
  keepaliveMs?: number;
  /** Max wait of each long-poll Fetch (default 5 000 ms). */
  maxWaitMs?: number;
  /** How often a stream looks for partitions added to its topic (default 30 000 ms). */
  partitionCheckMs?: number;
}

export const DEFAULT_MAX_LIVE_TAILS = 16;
/** Records per event (a poll with more sends several events, each with its own cursor). */
export const EVENT_RECORDS = 50;
/** What EventSource waits before reconnecting (its `retry:` field). */
const RETRY_MS = 1000;
/** Bytes fetched per poll (each record then cut to the display limits). */
const FETCH_BYTES = 1024 * 1024;

function event(name: string | null, id: string | null, data: unknown): string {
  return `${name !== null ? `event: ${name}\n` : ''}${id !== null ? `id: ${id}\n` : ''}data: ${toJson(data)}\n\n`;
}

export class LiveTails {
  private open = 0;
  private waiting = 0;
  readonly maxStreams: number;
  readonly keepaliveMs: number;
  readonly maxWaitMs: number;
  readonly partitionCheckMs: number;

  constructor(opts: LiveTailOptions = {}) {
    this.maxStreams = opts.maxStreams ?? DEFAULT_MAX_LIVE_TAILS;
    if (!Number.isInteger(this.maxStreams) || this.maxStreams < 0) throw new Error(`the most live tails must be an integer >= 0, not ${String(opts.maxStreams)}`);
    this.keepaliveMs = opts.keepaliveMs ?? 15_000;
    this.maxWaitMs = opts.maxWaitMs ?? 5_000;
    this.partitionCheckMs = opts.partitionCheckMs ?? 30_000;
  }

  /** Streams open now (a slot is held from the request until its loop has ended). */
  get active(): number {
    return this.open;
  }

  /** Streams whose socket is not draining: they fetch nothing until it does. */
  get stalled(): number {
    return this.waiting;
  }

  /** Checks the topic and the cursor (404, 400 before any stream starts), then answers the stream. */
  async start(data: ConsoleData, topic: string, req: IncomingMessage, url: URL): Promise<HttpAnswer> {
    if (this.open >= this.maxStreams) {
      throw new HttpError(503, `${this.maxStreams} live tails are open on this broker already: close one, or poll /api/topics/<topic>/tail`);
    }
    this.open++;
    let handedOver = false;
    try {
      const last = req.headers['last-event-id'];
      const cursor = typeof last === 'string' && last.trim() !== '' ? last.trim() : url.searchParams.get('cursor');
      const { tps, positions } = await data.tailStart(topic, cursor, true);
      // Nothing to fetch from would make every poll answer at once: a busy loop.
      if (tps.length === 0) throw new HttpError(503, `no partition of topic "${topic}" has a leader now`);
      const client = data.openClient();
      handedOver = true;
      return {
        status: 200,
        body: '',
        contentType: 'text/event-stream; charset=utf-8',
        headers: { 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
        stream: (res) => void this.run(client, topic, tps, positions, res),
      };
    } finally {
      if (!handedOver) this.open--;
    }
  }

  private async run(client: KafkaClient, topic: string, tps: TopicPartition[], positions: Map<number, bigint>, res: ServerResponse): Promise<void> {
    let closed = false;
    let wake: (() => void) | null = null;
    let ended: () => void = () => {};
    const gone = new Promise<null>((resolve) => {
      ended = () => resolve(null);
    });
    const onClose = (): void => {
      closed = true;
      // Ends the parked Fetch now (its connection closes) rather than at its max wait; the loop
      // does not wait for the Fetch's answer either.
      client.close();
      ended();
      wake?.();
    };
    res.on('close', onClose);
    if (res.destroyed) onClose();
    // Back-pressure: a write the socket did not take waits for 'drain' (or the end) before anything
    // else is fetched or written.
    const write = async (chunk: string): Promise<void> => {
      if (closed || res.write(chunk)) return;
      let done: () => void = () => {};
      this.waiting++;
      try {
        await new Promise<void>((resolve) => {
          done = resolve;
          wake = resolve;
          res.once('drain', resolve);
        });
      } finally {
        this.waiting--;
        wake = null;
        res.off('drain', done);
      }
    };
    const keepalive = setInterval(() => {
      if (!closed && !res.writableNeedDrain) res.write(': keepalive\n\n');
    }, this.keepaliveMs);
    try {
      const start = formatCursor(positions);
      await write(`retry: ${RETRY_MS}\n` + event('ready', start, { topic, cursor: start }));
      const fetcher = new Fetcher(client, { maxWaitMs: this.maxWaitMs, minBytes: 1, maxBytes: FETCH_BYTES, partitionMaxBytes: 256 * 1024, resetPolicy: 'latest' });
      fetcher.assign(tps.map((tp) => ({ ...tp, offset: positions.get(tp.partition)! })));
      let checked = Date.now();
      while (!closed) {
        if (Date.now() - checked >= this.partitionCheckMs) {
          // Partitions added since the stream opened are followed from their start (every
          // record in them is new to this stream).
          checked = Date.now();
          const t = await client.topic(topic, { refresh: true });
          const added = t.partitions.filter((p) => p.leader >= 0 && !positions.has(p.partition));
          if (added.length > 0) {
            for (const p of added) {
              positions.set(p.partition, 0n);
              tps.push({ topic, partition: p.partition });
            }
            fetcher.assign([...fetcher.assigned(), ...added.map((p) => ({ topic, partition: p.partition, offset: 0n }))]);
          }
        }
        const polled = fetcher.poll();
        polled.catch(() => {}); // left behind when the client goes away: its failure is no news
        const got = await Promise.race([polled, gone]);
        if (got === null) break;
        for (let i = 0; i < got.length && !closed; i += EVENT_RECORDS) {
          const chunk = got.slice(i, i + EVENT_RECORDS);
          for (const r of chunk) positions.set(r.partition, r.offset + 1n);
          if (i + EVENT_RECORDS >= got.length) {
            // After the last record of a poll: the fetcher's positions (past transaction markers too).
            for (const tp of tps) {
              const pos = fetcher.position(topic, tp.partition);
              if (pos !== undefined) positions.set(tp.partition, pos);
            }
          }
          const cursor = formatCursor(positions);
          await write(event(null, cursor, { cursor, records: chunk.map(shownRecord) }));
        }
      }
    } catch (err) {
      if (!closed) await write(event('problem', null, { error: (err as Error)?.message ?? String(err) })).catch(() => {});
    } finally {
      clearInterval(keepalive);
      res.off('close', onClose);
      client.close();
      this.open--;
      if (!res.writableEnded) res.end();
    }
  }
}
