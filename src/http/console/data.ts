// What the console shows, read through Brook's own Kafka client (src/client) from the broker's own
// PLAINTEXT listener: a console on one broker of a cluster sees the whole cluster, exactly as a
// client would. Every answer is bounded: pages of topics and groups, a page of records with each
// key, value and header cut to a display limit.

import type { ConnectionOptions } from '../../client/connection.js';
import { ErrorCode, errorName } from '../../../protocol/errors.js';
import {
  EARLIEST,
  Fetcher,
  KafkaClient,
  KafkaError,
  LATEST,
  NotFoundError,
  Producer,
  commitOffsets,
  createTopics,
  deleteTopics,
  describeCluster,
  describeConfigs,
  describeGroups,
  fetchOffsets,
  listGroups,
  listOffsets,
  partitionSizes,
  ResourceType,
  ConfigOp,
  alterConfigs,
  deleteGroups,
  tpKey,
  type ConsumedRecord,
  type TopicMetadata,
  type TopicPartition,
} from '../../client/index.js';
import { HttpError } from '../server.js';

/** Display limits: a shown key/value/header keeps this many bytes (the size says how many there were). */
export const SHOWN_TEXT_BYTES = 64 * 1024;
export const SHOWN_HEX_BYTES = 4 * 1024;
export const MAX_PAGE = 500;
export const MAX_RECORDS = 200;
/** A page of records stops once the shown text passes this many characters. */
export const SHOWN_PAGE_BYTES = 8 * 1024 * 1024;
/** Bytes fetched per partition per round when browsing (records past it wait for the next page). */
const BROWSE_FETCH_BYTES = 4 * 1024 * 1024;

export interface Shown {
  /** null (absent), text (UTF-8), json (parsed and pretty-printed), hex (binary). */
  kind: 'null' | 'text' | 'json' | 'hex';
  text: string;
  /** Bytes of the original. */
  size: number;
  truncated: boolean;
}

/** How bytes are shown: JSON pretty-printed, valid UTF-8 text as is, anything else as hex. */
export function show(b: Buffer | Uint8Array | null): Shown {
  if (b === null) return { kind: 'null', text: '', size: 0, truncated: false };
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const size = buf.length;
  const head = buf.subarray(0, SHOWN_TEXT_BYTES);
  let text: string | undefined;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head);
  } catch {
    // A cut in the middle of a character is still text: retry without the last 3 bytes.
    if (size > SHOWN_TEXT_BYTES) {
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - 3));
      } catch {
        text = undefined;
      }
    }
  }
  // Control characters other than whitespace mean binary.
  if (text !== undefined && !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) {
    if (size <= SHOWN_TEXT_BYTES) {
      const t = text.trimStart();
      if (t.startsWith('{') || t.startsWith('[')) {
        try {
          return { kind: 'json', text: JSON.stringify(JSON.parse(text), null, 2), size, truncated: false };
        } catch {
          // not JSON after all
        }
      }
    }
    return { kind: 'text', text, size, truncated: size > SHOWN_TEXT_BYTES };
  }
  const hb = buf.subarray(0, SHOWN_HEX_BYTES);
  const lines: string[] = [];
  for (let i = 0; i < hb.length; i += 16) {
    lines.push(
      hb
        .subarray(i, i + 16)
        .toString('hex')
        .replace(/(..)(?!$)/g, '$1 '),
    );
  }
  return { kind: 'hex', text: lines.join('\n'), size, truncated: size > SHOWN_HEX_BYTES };
}

export interface ShownRecord {
  partition: number;
  offset: bigint;
  timestamp: bigint;
  timestampType: string;
  key: Shown;
  value: Shown;
  headers: Array<{ key: string; value: Shown }>;
}

export function shownRecord(r: ConsumedRecord): ShownRecord {
  return {
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    timestampType: r.timestampType,
    key: show(r.key),
    value: show(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: show(h.value) })),
  };
}

export interface Page {
  offset: number;
  limit: number;
}

/** ?offset=&limit= with limit capped at MAX_PAGE. */
export function pageOf(url: URL, defaultLimit: number): Page {
  const offset = intParam(url, 'offset') ?? 0;
  const limit = Math.min(intParam(url, 'limit') ?? defaultLimit, MAX_PAGE);
  if (offset < 0 || limit < 1) throw new HttpError(400, 'offset must be >= 0 and limit >= 1');
  return { offset, limit };
}

export function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new HttpError(400, `${name} must be an integer, not "${v}"`);
  return n;
}

/** HTTP status for an error from the client: 404 not found, 400 a refused request, 503 unreachable. */
export function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof KafkaError) {
    switch (err.code) {
      case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      case ErrorCode.GROUP_ID_NOT_FOUND:
        return 404;
      case ErrorCode.NON_EMPTY_GROUP:
        return 409;
      case ErrorCode.TOPIC_AUTHORIZATION_FAILED:
      case ErrorCode.GROUP_AUTHORIZATION_FAILED:
      case ErrorCode.CLUSTER_AUTHORIZATION_FAILED:
        return 403;
      default:
        return err.retriable ? 503 : 400;
    }
  }
  if ((err as { retriable?: boolean })?.retriable === true) return 503;
  return 500;
}

function check(code: number, what: string, message: string | null): void {
  if (code !== ErrorCode.NONE) throw new HttpError(code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? 404 : 400, `${what}: ${message ?? errorName(code)}`);
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class ConsoleData {
  private client: KafkaClient | undefined;
  private lastTotals: { at: number; bytesIn: number; bytesOut: number; messagesIn: number } | undefined;

  /**
   * @param bootstrap the broker's own PLAINTEXT address, or null when it has none (the console
   *   then answers 503).
   * @param totals this broker's counters (metrics on), for the throughput figure.
   */
  constructor(
    private readonly bootstrap: string | null,
    private readonly totals: (() => { bytesIn: number; bytesOut: number; messagesIn: number }) | null,
    /** TLS and SASL of the listener it reads through (a secured broker: as the logged-in user). */
    private readonly security: Pick<ConnectionOptions, 'tls' | 'sasl'> = {},
  ) {}

  get metricsOn(): boolean {
    return this.totals !== null;
  }

  private get address(): string {
    if (this.bootstrap === null) {
      throw new HttpError(503, 'the console reads the cluster through a PLAINTEXT listener and this broker has none (add one, e.g. on 127.0.0.1)');
    }
    return this.bootstrap;
  }

  get kafka(): KafkaClient {
    this.client ??= new KafkaClient(this.address, { clientId: 'brook-console', requestTimeoutMs: 15_000, retries: 3, ...this.security });
    return this.client;
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  /**
   * A client of its own (the same listener and login) for a caller that parks long polls on it:
   * the broker answers a connection's requests in order, so a long-poll Fetch on the shared client
   * would hold up every other request of the console behind it. The caller closes it.
   */
  openClient(): KafkaClient {
    return new KafkaClient(this.address, { clientId: 'brook-console-tail', requestTimeoutMs: 15_000, retries: 3, ...this.security });
  }

  // ---------------------------------------------------------------------------------------------
  // Cluster

  async cluster() {
    const [d, md] = await Promise.all([describeCluster(this.kafka), this.kafka.metadata(null)]);
    const topics = md.topics.filter((t) => t.errorCode === ErrorCode.NONE);
    return {
      clusterId: d.clusterId,
      controllerId: d.controllerId,
      brokers: d.brokers,
      topicCount: topics.length,
      partitionCount: topics.reduce((n, t) => n + t.partitions.length, 0),
      underReplicatedPartitions: topics.reduce((n, t) => n + t.partitions.filter((p) => p.isr.length < p.replicas.length).length, 0),
      throughput: this.throughput(),
    };
  }

  /**
   * This broker's bytes in/out and records in per second since the previous call (null on the
   * first call or with metrics off). Counters of this broker only: other brokers have their own.
   */
  throughput(): { bytesInPerSec: number; bytesOutPerSec: number; messagesInPerSec: number; intervalMs: number; broker: 'this' } | null {
    if (this.totals === null) return null;
    const now = { at: Date.now(), ...this.totals() };
    const prev = this.lastTotals;
    this.lastTotals = now;
    if (prev === undefined || now.at <= prev.at) return null;
    const s = (now.at - prev.at) / 1000;
    const rate = (a: number, b: number): number => Math.round(((a - b) / s) * 10) / 10;
    return {
      bytesInPerSec: rate(now.bytesIn, prev.bytesIn),
      bytesOutPerSec: rate(now.bytesOut, prev.bytesOut),
      messagesInPerSec: rate(now.messagesIn, prev.messagesIn),
      intervalMs: now.at - prev.at,
      broker: 'this',
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Topics

  /** A page of topics (by name; `filter` a substring), with partition and record counts for that page only. */
  async topics(page: Page, filter = '', includeInternal = true) {
    const md = await this.kafka.metadata(null);
    const all = md.topics.filter((t) => t.errorCode === ErrorCode.NONE && (includeInternal || !t.isInternal) && t.name.includes(filter)).sort(byName);
    const slice = all.slice(page.offset, page.offset + page.limit);
    const counts = await this.messageCounts(slice);
    return {
      total: all.length,
      offset: page.offset,
      limit: page.limit,
      topics: slice.map((t) => ({
        name: t.name,
        internal: t.isInternal,
        partitions: t.partitions.length,
        replicationFactor: t.partitions[0]?.replicas.length ?? 0,
        messages: counts.get(t.name) ?? null,
      })),
    };
  }

  /** Records per topic: latest minus earliest offset over its partitions (compaction and transaction markers make it an upper bound). */
  private async messageCounts(topics: TopicMetadata[]): Promise<Map<string, bigint>> {
    const tps = topics.flatMap((t) => t.partitions.filter((p) => p.leader >= 0).map((p) => ({ topic: t.name, partition: p.partition })));
    if (tps.length === 0) return new Map();
    const [lo, hi] = await Promise.all([listOffsets(this.kafka, tps, EARLIEST), listOffsets(this.kafka, tps, LATEST)]);
    const out = new Map<string, bigint>();
    for (const tp of tps) {
      const k = tpKey(tp.topic, tp.partition);
      const n = (hi.get(k)?.offset ?? 0n) - (lo.get(k)?.offset ?? 0n);
      out.set(tp.topic, (out.get(tp.topic) ?? 0n) + (n > 0n ? n : 0n));
    }
    return out;
  }

  async topic(name: string) {
    const t = await this.kafka.topic(name, { refresh: true });
    const tps = t.partitions.filter((p) => p.leader >= 0).map((p) => ({ topic: name, partition: p.partition }));
    const [lo, hi, configs, sizes] = await Promise.all([
      listOffsets(this.kafka, tps, EARLIEST),
      listOffsets(this.kafka, tps, LATEST),
      describeConfigs(this.kafka, ResourceType.TOPIC, name),
      partitionSizes(this.kafka, name),
    ]);
    return {
      name,
      topicId: t.topicId,
      internal: t.isInternal,
      partitions: t.partitions.map((p) => {
        const k = tpKey(name, p.partition);
        return {
          partition: p.partition,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
          earliestOffset: lo.get(k)?.offset ?? null,
          latestOffset: hi.get(k)?.offset ?? null,
          /** The leader's copy. */
          sizeBytes: sizes.get(p.partition)?.get(p.leader) ?? null,
        };
      }),
      configs: configs.map((c) => ({ name: c.name, value: c.isSensitive ? null : c.value, source: c.source, isDefault: c.isDefault, readOnly: c.readOnly, sensitive: c.isSensitive })),
    };
  }

  async createTopic(body: { name?: unknown; partitions?: unknown; replicationFactor?: unknown; configs?: unknown }) {
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    if (name === '') throw new HttpError(400, 'a topic needs a name');
    const num = (v: unknown, what: string): number | undefined => {
      if (v === undefined || v === null || v === '') return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new HttpError(400, `${what} must be a positive integer, not "${String(v)}"`);
      return n;
    };
    const configs: Record<string, string> = {};
    if (body.configs !== undefined && body.configs !== null) {
      if (typeof body.configs !== 'object' || Array.isArray(body.configs)) throw new HttpError(400, 'configs must be an object of strings');
      for (const [k, v] of Object.entries(body.configs)) configs[k] = String(v);
    }
    const partitions = num(body.partitions, 'partitions');
    const replicationFactor = num(body.replicationFactor, 'replicationFactor');
    const [r] = await createTopics(this.kafka, [{ name, ...(partitions ? { partitions } : {}), ...(replicationFactor ? { replicationFactor } : {}), configs }]);
    check(r!.errorCode, `creating topic "${name}"`, r!.errorMessage);
    return { name, partitions: r!.partitions, replicationFactor: r!.replicationFactor, topicId: r!.topicId };
  }

  /**
   * Sets and deletes (back to the default) dynamic configs of a topic in one
   * IncrementalAlterConfigs, as Kafka's tools and UIs do; the broker validates the values and its
   * message comes back as a 400. Answers the topic's configs after the change.
   */
  async alterTopicConfigs(name: string, body: { set?: unknown; delete?: unknown; validateOnly?: unknown }) {
    const changes: Array<{ name: string; op: number; value: string | null }> = [];
    if (body.set !== undefined && body.set !== null) {
      if (typeof body.set !== 'object' || Array.isArray(body.set)) throw new HttpError(400, 'set must be an object of config names to values');
      for (const [k, v] of Object.entries(body.set)) {
        if (v === null || typeof v === 'object') throw new HttpError(400, `the value of ${k} must be a string, not ${JSON.stringify(v)}`);
        changes.push({ name: configName(k), op: ConfigOp.SET, value: String(v) });
      }
    }
    if (body.delete !== undefined && body.delete !== null) {
      if (!Array.isArray(body.delete)) throw new HttpError(400, 'delete must be an array of config names');
      for (const k of body.delete) changes.push({ name: configName(String(k)), op: ConfigOp.DELETE, value: null });
    }
    if (changes.length === 0) throw new HttpError(400, 'nothing to change: give set {"name": "value"} and/or delete ["name"]');
    const names = new Set(changes.map((c) => c.name));
    if (names.size !== changes.length) throw new HttpError(400, 'each config may be named once');
    await alterConfigs(this.kafka, ResourceType.TOPIC, name, changes, body.validateOnly === true);
    const configs = await describeConfigs(this.kafka, ResourceType.TOPIC, name);
    return {
      name,
      changed: changes.map((c) => ({ name: c.name, op: c.op === ConfigOp.SET ? 'set' : 'delete', value: c.value })),
      configs: configs.map((c) => ({ name: c.name, value: c.isSensitive ? null : c.value, source: c.source, isDefault: c.isDefault, readOnly: c.readOnly, sensitive: c.isSensitive })),
    };
  }

  async deleteTopic(name: string) {
    const [r] = await deleteTopics(this.kafka, [name]);
    check(r!.errorCode, `deleting topic "${name}"`, r!.errorMessage);
    return { deleted: name };
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  /**
   * A page of records of one partition from `offset` (or the first at/after `timestamp`, or the
   * last `limit` when neither is given). `q` keeps records whose key, value or a header contains
   * it (within the scanned range: at most `limit` records read).
   */
  async messages(topic: string, opts: { partition: number; offset?: bigint; timestamp?: bigint; limit: number; q?: string }) {
    const limit = Math.min(Math.max(opts.limit, 1), MAX_RECORDS);
    const t = await this.kafka.topic(topic);
    if (!t.partitions.some((p) => p.partition === opts.partition)) throw new HttpError(404, `partition ${opts.partition} of topic "${topic}" not found (it has ${t.partitions.length})`);
    const tp = [{ topic, partition: opts.partition }];
    const k = tpKey(topic, opts.partition);
    const [lo, hi] = await Promise.all([listOffsets(this.kafka, tp, EARLIEST), listOffsets(this.kafka, tp, LATEST)]);
    const earliest = lo.get(k)!.offset;
    const latest = hi.get(k)!.offset;
    let from: bigint;
    if (opts.timestamp !== undefined) {
      const at = await listOffsets(this.kafka, tp, opts.timestamp);
      const o = at.get(k)!.offset;
      from = o < 0n ? latest : o;
    } else if (opts.offset !== undefined) {
      from = opts.offset;
    } else {
      from = latest - BigInt(limit);
    }
    if (from < earliest) from = earliest;
    if (from > latest) from = latest;
    const q = opts.q ?? '';
    const read = await this.read(topic, opts.partition, from, latest, limit, q);
    return {
      topic,
      partition: opts.partition,
      earliestOffset: earliest,
      latestOffset: latest,
      from,
      /** Where the next page starts. */
      next: read.next,
      scanned: read.scanned,
      query: q,
      records: read.records,
    };
  }

  /**
   * Up to `limit` records of a partition from `from`, stopping at `end` or once the shown text
   * passes SHOWN_PAGE_BYTES. Records are turned into their shown form as they arrive (a page never
   * holds more than the display limits of each record, whatever the records' sizes); with `q`
   * only those containing it are kept.
   */
  private async read(topic: string, partition: number, from: bigint, end: bigint, limit: number, q: string): Promise<{ records: ShownRecord[]; next: bigint; scanned: number }> {
    const records: ShownRecord[] = [];
    let next = from;
    let scanned = 0;
    let shownBytes = 0;
    if (from >= end) return { records, next, scanned };
    const has = (b: Buffer | Uint8Array | null): boolean => b !== null && Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes(q);
    const matches = (r: ConsumedRecord): boolean => q === '' || has(r.key) || has(r.value) || r.headers.some((h) => h.key.includes(q) || has(h.value));
    const fetcher = new Fetcher(this.kafka, { maxWaitMs: 0, minBytes: 0, maxBytes: BROWSE_FETCH_BYTES, partitionMaxBytes: BROWSE_FETCH_BYTES, resetPolicy: 'earliest' });
    fetcher.assign([{ topic, partition, offset: from }]);
    let full = false;
    // Bounded rounds: transaction markers and aborted batches move the position without records.
    for (let round = 0; round < 20 && !full && next < end; round++) {
      const got = await fetcher.poll();
      for (const r of got) {
        if (scanned >= limit || r.offset >= end || shownBytes >= SHOWN_PAGE_BYTES) {
          full = true;
          break;
        }
        scanned++;
        next = r.offset + 1n;
        if (!matches(r)) continue;
        const s = shownRecord(r);
        shownBytes += s.key.text.length + s.value.text.length + s.headers.reduce((n, h) => n + h.key.length + h.value.text.length, 0);
        records.push(s);
      }
      if (scanned >= limit) full = true;
      const pos = fetcher.position(topic, partition) ?? next;
      if (!full && pos > next) next = pos < end ? pos : end;
      else if (got.length === 0 && round > 2) break;
    }
    return { records, next, scanned };
  }

  async produce(topic: string, body: { partition?: unknown; key?: unknown; value?: unknown; headers?: unknown }) {
    const str = (v: unknown): Buffer | null => (v === undefined || v === null ? null : Buffer.from(String(v), 'utf8'));
    const headers: Array<{ key: string; value: Buffer | null }> = [];
    if (body.headers !== undefined && body.headers !== null) {
      if (typeof body.headers !== 'object' || Array.isArray(body.headers)) throw new HttpError(400, 'headers must be an object of strings');
      for (const [hk, hv] of Object.entries(body.headers)) headers.push({ key: hk, value: str(hv) });
    }
    let partition: number | undefined;
    if (body.partition !== undefined && body.partition !== null && body.partition !== '') {
      partition = Number(body.partition);
      if (!Number.isInteger(partition) || partition < 0) throw new HttpError(400, `partition must be an integer >= 0, not "${String(body.partition)}"`);
    }
    await this.kafka.topic(topic); // 404 for an unknown topic (no auto-creation from the console)
    const producer = new Producer(this.kafka, { autoCreate: false });
    const key = body.key === '' ? null : str(body.key);
    const [r] = await producer.send(topic, [{ key, value: str(body.value), headers, ...(partition !== undefined ? { partition } : {}) }]);
    return { topic, partition: r!.partition, offset: r!.baseOffset };
  }

  /**
   * Records after a cursor ("p:offset,p:offset"; none: each partition's end now), at most `limit`
   * in all: the live tail polls this.
   */
  async tail(topic: string, cursor: string | null, limit: number) {
    const { tps, positions } = await this.tailStart(topic, cursor);
    const records: ConsumedRecord[] = [];
    if (cursor) {
      const fetcher = new Fetcher(this.kafka, { maxWaitMs: 0, minBytes: 0, maxBytes: BROWSE_FETCH_BYTES, partitionMaxBytes: 256 * 1024, resetPolicy: 'latest' });
      fetcher.assign(tps.map((tp) => ({ ...tp, offset: positions.get(tp.partition)! })));
      // In offset order per partition: a cut at `limit` leaves each partition's cursor right after
      // the last record returned.
      const got = await fetcher.poll();
      const kept = got.slice(0, limit);
      records.push(...kept);
      for (const tp of tps) {
        const pos = fetcher.position(topic, tp.partition);
        const dropped = got.slice(kept.length).some((r) => r.partition === tp.partition);
        if (!dropped) {
          if (pos !== undefined) positions.set(tp.partition, pos);
        } else {
          const last = kept.filter((r) => r.partition === tp.partition).pop();
          if (last) positions.set(tp.partition, last.offset + 1n);
        }
      }
      records.sort((x, y) => (x.timestamp < y.timestamp ? -1 : x.timestamp > y.timestamp ? 1 : 0));
    }
    return {
      topic,
      cursor: formatCursor(positions),
      records: records.map(shownRecord),
    };
  }

  /**
   * Where a tail starts: the cursor's offsets, and each partition it does not name (none named:
   * every partition) at its end now. Partitions without a leader are left out.
   */
  async tailStart(topic: string, cursor: string | null, refresh = false): Promise<{ tps: TopicPartition[]; positions: Map<number, bigint> }> {
    const positions = parseCursor(cursor);
    const t = await this.kafka.topic(topic, { refresh });
    const tps = t.partitions.filter((p) => p.leader >= 0).map((p) => ({ topic, partition: p.partition }));
    const missing = tps.filter((tp) => !positions.has(tp.partition));
    if (missing.length > 0) {
      const ends = await listOffsets(this.kafka, missing, LATEST);
      for (const tp of missing) positions.set(tp.partition, ends.get(tpKey(topic, tp.partition))?.offset ?? 0n);
    }
    return { tps, positions };
  }

  // ---------------------------------------------------------------------------------------------
  // Groups

  /** A page of groups (by id) with state, member count and total lag (computed for that page only). */
  async groups(page: Page, filter = '') {
    const all = (await listGroups(this.kafka)).filter((g) => g.groupId.includes(filter));
    const slice = all.slice(page.offset, page.offset + page.limit);
    const described = slice.length > 0 ? await describeGroups(this.kafka, slice.map((g) => g.groupId)) : [];
    const lags = await Promise.all(
      described.map(async (d) => {
        try {
          return (await this.lag(d.groupId, d.members.flatMap((m) => m.assignment))).reduce((n, r) => n + (r.lag ?? 0n), 0n);
        } catch {
          return null;
        }
      }),
    );
    return {
      total: all.length,
      offset: page.offset,
      limit: page.limit,
      groups: slice.map((g, i) => ({
        groupId: g.groupId,
        protocolType: g.protocolType,
        state: described[i]?.state ?? g.state ?? '',
        members: described[i]?.members.length ?? 0,
        coordinator: g.coordinator,
        totalLag: lags[i] ?? null,
      })),
    };
  }

  /** Committed offset, log end offset and lag per partition (committed or assigned). */
  private async lag(groupId: string, assigned: TopicPartition[]) {
    const committed = await fetchOffsets(this.kafka, groupId, null);
    const keys = new Map<string, TopicPartition>();
    for (const c of committed) keys.set(tpKey(c.topic, c.partition), { topic: c.topic, partition: c.partition });
    for (const tp of assigned) keys.set(tpKey(tp.topic, tp.partition), tp);
    const live: TopicPartition[] = [];
    for (const tp of keys.values()) {
      try {
        const t = await this.kafka.topic(tp.topic);
        if (t.partitions.some((p) => p.partition === tp.partition)) live.push(tp);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    const ends = live.length > 0 ? await listOffsets(this.kafka, live, LATEST) : new Map<string, { offset: bigint }>();
    const offsets = new Map(committed.map((c) => [tpKey(c.topic, c.partition), c.offset]));
    return [...keys.values()]
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
      .map((tp) => {
        const k = tpKey(tp.topic, tp.partition);
        const current = offsets.get(k) ?? null;
        const end = ends.get(k)?.offset ?? null;
        return { topic: tp.topic, partition: tp.partition, committedOffset: current, logEndOffset: end, lag: current !== null && end !== null ? (end > current ? end - current : 0n) : null };
      });
  }

  async group(groupId: string) {
    const [d] = await describeGroups(this.kafka, [groupId]);
    if (d!.errorCode !== ErrorCode.NONE && d!.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) throw new KafkaError(d!.errorCode, `group "${groupId}"`);
    const rows = d!.errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? [] : await this.lag(groupId, d!.members.flatMap((m) => m.assignment));
    if (rows.length === 0 && d!.members.length === 0 && (d!.state === 'Dead' || d!.errorCode === ErrorCode.GROUP_ID_NOT_FOUND)) throw new HttpError(404, `group "${groupId}" not found`);
    const owner = new Map<string, string>();
    for (const m of d!.members) for (const tp of m.assignment) owner.set(tpKey(tp.topic, tp.partition), m.memberId);
    return {
      groupId,
      state: d!.state,
      protocolType: d!.protocolType,
      protocol: d!.protocol,
      coordinator: d!.coordinator,
      /** Kafka resets offsets only while a group has no members. */
      resettable: d!.members.length === 0 && (d!.state === 'Empty' || d!.state === 'Dead'),
      members: d!.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, host: m.clientHost, assignment: m.assignment })),
      offsets: rows.map((r) => ({ ...r, memberId: owner.get(tpKey(r.topic, r.partition)) ?? null })),
      totalLag: rows.reduce((n, r) => n + (r.lag ?? 0n), 0n),
    };
  }

  /** Deletes a group (DeleteGroups): its committed offsets go; refused (409 NON_EMPTY_GROUP) while it has members. */
  async deleteGroup(groupId: string) {
    const [r] = await deleteGroups(this.kafka, [groupId]);
    if (r!.errorCode !== ErrorCode.NONE) throw new KafkaError(r!.errorCode, `deleting group "${groupId}"`, r!.errorMessage);
    return { deleted: groupId };
  }

  /**
   * Resets a group's committed offsets for a topic's partitions (or every committed partition
   * when no topic is named) to earliest, latest, an offset or the first offset at/after a
   * timestamp, each kept within [log start, log end]. Refused (409) while the group has members.
   */
  async resetOffsets(groupId: string, body: { topic?: unknown; to?: unknown; offset?: unknown; timestamp?: unknown }) {
    const to = String(body.to ?? '');
    if (!['earliest', 'latest', 'offset', 'timestamp'].includes(to)) throw new HttpError(400, 'to must be earliest, latest, offset or timestamp');
    const big = (v: unknown, what: string): bigint => {
      const s = String(v ?? '').trim();
      if (!/^-?\d+$/.test(s)) throw new HttpError(400, `${what} must be an integer, not "${s}"`);
      return BigInt(s);
    };
    const target = to === 'offset' ? big(body.offset, 'offset') : to === 'timestamp' ? timestampOf(body.timestamp) : 0n;
    const [d] = await describeGroups(this.kafka, [groupId]);
    if (d!.errorCode !== ErrorCode.NONE && d!.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) throw new KafkaError(d!.errorCode, `group "${groupId}"`);
    if (d!.members.length > 0 || (d!.state !== 'Empty' && d!.state !== 'Dead')) {
      throw new HttpError(409, `group "${groupId}" is ${d!.state} with ${d!.members.length} member(s): stop its consumers first (offsets can only be reset while a group has no members)`);
    }
    const topic = typeof body.topic === 'string' && body.topic.trim() !== '' ? body.topic.trim() : null;
    let tps: TopicPartition[];
    if (topic !== null) {
      const t = await this.kafka.topic(topic);
      tps = t.partitions.map((p) => ({ topic, partition: p.partition }));
    } else {
      const committed = d!.errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? [] : await fetchOffsets(this.kafka, groupId, null);
      tps = [];
      for (const c of committed) {
        try {
          const t = await this.kafka.topic(c.topic);
          if (t.partitions.some((p) => p.partition === c.partition)) tps.push({ topic: c.topic, partition: c.partition });
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
        }
      }
      if (tps.length === 0) throw new HttpError(400, `group "${groupId}" has no committed offsets: name a topic`);
    }
    const [lo, hi] = await Promise.all([listOffsets(this.kafka, tps, EARLIEST), listOffsets(this.kafka, tps, LATEST)]);
    const byTime = to === 'timestamp' ? await listOffsets(this.kafka, tps, target) : undefined;
    const plan = tps.map((tp) => {
      const k = tpKey(tp.topic, tp.partition);
      const min = lo.get(k)!.offset;
      const max = hi.get(k)!.offset;
      let o = to === 'earliest' ? min : to === 'latest' ? max : to === 'offset' ? target : byTime!.get(k)!.offset;
      if (o < 0n) o = max; // no record at/after the timestamp: the end, as Kafka's tool does
      if (o < min) o = min;
      if (o > max) o = max;
      return { ...tp, offset: o };
    });
    await commitOffsets(
      this.kafka,
      groupId,
      plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })),
    );
    return { groupId, offsets: plan };
  }
}

/** A tail's cursor, "partition:offset,..." (null or empty: none). */
export function parseCursor(cursor: string | null | undefined): Map<number, bigint> {
  const positions = new Map<number, bigint>();
  if (cursor) {
    if (cursor.length > 64 * 1024) throw new HttpError(400, 'cursor too long');
    for (const part of cursor.split(',')) {
      const m = /^(\d{1,9}):(\d{1,19})$/.exec(part.trim());
      if (!m) throw new HttpError(400, `cursor must be "partition:offset,...", not "${cursor.slice(0, 200)}"`);
      positions.set(Number(m[1]), BigInt(m[2]!));
    }
  }
  return positions;
}

/** "p:o,p:o" by partition. */
export function formatCursor(positions: Map<number, bigint>): string {
  return [...positions].sort((a, b) => a[0] - b[0]).map(([p, o]) => `${p}:${o}`).join(',');
}

function configName(k: string): string {
  const n = k.trim();
  if (n === '' || n.length > 255 || !/^[A-Za-z0-9._-]+$/.test(n)) throw new HttpError(400, `not a config name: "${k.slice(0, 100)}"`);
  return n;
}

/** A timestamp in ms, or an ISO date-time (a datetime-local field's value is read as UTC). */
export function timestampOf(v: unknown): bigint {
  const s = String(v ?? '').trim();
  if (/^\d+$/.test(s)) return BigInt(s);
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s) ? `${s}Z` : s;
  const ms = Date.parse(iso);
  if (s === '' || Number.isNaN(ms)) throw new HttpError(400, `timestamp must be milliseconds since the epoch or an ISO date-time, not "${s}"`);
  return BigInt(ms);
}
