// The console's JSON API (issue 12), a route group of Brook's HTTP listener. Everything is read
// and written through Brook's own Kafka client against the broker's own PLAINTEXT listener
// (src/http/console/data.ts), so it shows the whole cluster. Lists are paged, records come a page
// at a time with each key/value/header cut to a display limit.
//
//   GET    /api/cluster                            brokers, controller, counts, throughput
//   GET    /api/topics?offset=&limit=&q=           a page of topics (limit <= 500, default 100)
//   POST   /api/topics                             {"name","partitions","replicationFactor","configs"}
//   GET    /api/topics/:topic                      configs, partitions (offsets, leader, replicas, ISR, size)
//   DELETE /api/topics/:topic
//   GET    /api/topics/:topic/messages?partition=&offset=|timestamp=&limit=&q=
//   POST   /api/topics/:topic/messages             {"key","value","headers":{...},"partition"}
//   POST   /api/topics/:topic/configs              {"set":{"name":"value"},"delete":["name"]} (IncrementalAlterConfigs)
//   GET    /api/topics/:topic/tail?cursor=&limit=   records after a cursor (the live tail's fallback polls it)
//   GET    /api/topics/:topic/tail/stream?cursor=   the live tail as Server-Sent Events (live-tail.ts)
//   GET    /api/groups?offset=&limit=&q=           a page of groups with state and total lag
//   GET    /api/groups/:group                      members, assignments, lag per partition
//   DELETE /api/groups/:group                      DeleteGroups (409 NON_EMPTY_GROUP while it has members)
//   POST   /api/groups/:group/reset-offsets        {"topic","to":"earliest|latest|offset|timestamp","offset","timestamp"}
//
// Errors are {"error": "..."}: 400 bad input, 404 unknown, 409 a group with members, 503 the
// cluster unreachable or no PLAINTEXT listener.

import type { IncomingMessage } from 'node:http';
import { ConsoleData, MAX_RECORDS, intParam, pageOf, statusOf, timestampOf } from './console/data.js';
import { LiveTails, type LiveTailOptions } from './console/live-tail.js';
import { HttpError, checkSameOrigin, readBody, type HttpAnswer, type RouteGroup } from './server.js';

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'the body must be a JSON object');
  }
}

/** "/a/b%2Fc" -> ["a", "b/c"] (names may hold any character a topic or group id may). */
export function segments(pathname: string, prefix: string): string[] {
  const rest = pathname.slice(prefix.length);
  return rest === '' || rest === '/' ? [] : rest.replace(/^\//, '').replace(/\/$/, '').split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new HttpError(400, `bad path segment "${s}"`);
    }
  });
}

const ok = (body: unknown, status = 200): HttpAnswer => ({ status, body, headers: { 'cache-control': 'no-store' } });

/** The console's data for a request: one for everyone, or per logged-in user (a secured broker). */
export type ConsoleSource = ConsoleData | ((req: IncomingMessage) => ConsoleData);

/** The console's API; one per broker (the live tails' limit counts that broker's streams). */
export function apiRoutes(source: ConsoleSource, opts: { liveTails?: LiveTailOptions | LiveTails } = {}): RouteGroup {
  const tails = opts.liveTails instanceof LiveTails ? opts.liveTails : new LiveTails(opts.liveTails);
  return async (req, url) => {
    if (url.pathname !== '/api' && !url.pathname.startsWith('/api/')) return undefined;
    try {
      checkSameOrigin(req);
      return await answer(typeof source === 'function' ? source(req) : source, req, url, tails);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(statusOf(err), (err as Error)?.message ?? String(err));
    }
  };
}

async function answer(data: ConsoleData, req: IncomingMessage, url: URL, tails: LiveTails): Promise<HttpAnswer | undefined> {
  {
    const method = req.method ?? 'GET';
    const [kind, name, sub, leaf, ...more] = segments(url.pathname, '/api');
    if (more.length > 0) return undefined;
    if (leaf !== undefined) {
      if (kind === 'topics' && name !== undefined && sub === 'tail' && leaf === 'stream' && method === 'GET') return tails.start(data, name, req, url);
      throw new HttpError(404, `no route ${method} ${url.pathname}`);
    }
    const q = url.searchParams.get('q') ?? '';
    switch (kind) {
      case 'cluster':
        if (method === 'GET' && name === undefined) return ok(await data.cluster());
        break;
      case 'topics':
        if (name === undefined) {
          if (method === 'GET') return ok(await data.topics(pageOf(url, 100), q, url.searchParams.get('internal') !== 'false'));
          if (method === 'POST') return ok(await data.createTopic(await jsonBody(req)), 201);
        } else if (sub === undefined) {
          if (method === 'GET') return ok(await data.topic(name));
          if (method === 'DELETE') return ok(await data.deleteTopic(name));
        } else if (sub === 'messages') {
          if (method === 'GET') return ok(await data.messages(name, messageQuery(url)));
          if (method === 'POST') return ok(await data.produce(name, await jsonBody(req)), 201);
        } else if (sub === 'configs' && method === 'POST') {
          return ok(await data.alterTopicConfigs(name, await jsonBody(req)));
        } else if (sub === 'tail' && method === 'GET') {
          return ok(await data.tail(name, url.searchParams.get('cursor'), Math.min(intParam(url, 'limit') ?? 50, MAX_RECORDS)));
        }
        break;
      case 'groups':
        if (name === undefined) {
          if (method === 'GET') return ok(await data.groups(pageOf(url, 100), q));
        } else if (sub === undefined) {
          if (method === 'GET') return ok(await data.group(name));
          if (method === 'DELETE') return ok(await data.deleteGroup(name));
        } else if (sub === 'reset-offsets' && method === 'POST') {
          return ok(await data.resetOffsets(name, await jsonBody(req)));
        }
        break;
      default:
        break;
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  }
}

/** ?partition=&offset=|timestamp=&limit=&q= of the message browser. */
export function messageQuery(url: URL): { partition: number; offset?: bigint; timestamp?: bigint; limit: number; q: string } {
  const partition = intParam(url, 'partition') ?? 0;
  if (partition < 0) throw new HttpError(400, 'partition must be >= 0');
  const o = url.searchParams.get('offset');
  const ts = url.searchParams.get('timestamp');
  const offset = o !== null && o !== '' ? (/^\d+$/.test(o.trim()) ? BigInt(o.trim()) : badOffset(o)) : undefined;
  const timestamp = ts !== null && ts !== '' ? timestampOf(ts) : undefined;
  return {
    partition,
    ...(offset !== undefined ? { offset } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
    limit: Math.min(intParam(url, 'limit') ?? 50, MAX_RECORDS),
    q: url.searchParams.get('q') ?? '',
  };
}

function badOffset(o: string): never {
  throw new HttpError(400, `offset must be an integer >= 0, not "${o}"`);
}
