// The broker's Prometheus metrics (issue 12), on prom-client with one registry per broker (several
// brokers may share a process). Counters and histograms move on the request path; the rest is read
// from the broker when /metrics is scraped (log sizes and offsets, groups and consumer lag,
// connections, purgatories), so an unscraped broker pays only for the counters.
//
// Names follow Prometheus conventions (brook_ prefix, base units, _total for counters); the README
// lists them with the Kafka JMX metric each stands for.

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { ErrorCode } from '../../protocol/errors.js';

/** What the scrape-time metrics read from the broker. */
export interface MetricsSources {
  listeners(): Array<{ listener: string; connections: number; inFlight: number }>;
  /** Partitions this broker has a log for. */
  partitions(): Array<{
    topic: string;
    partition: number;
    sizeBytes: number;
    logStartOffset: bigint;
    logEndOffset: bigint;
    /** Leader here: its high watermark and whether fewer replicas than assigned are in sync. */
    leader?: { highWatermark: bigint; underReplicated: boolean; isr: number };
  }>;
  purgatory(): { produce: number; fetch: number };
  /** Groups with their members and, per committed partition, the lag to the high watermark. */
  groups(): Promise<Array<{ group: string; state: string; members: number; lag: Array<{ topic: string; partition: number; lag: bigint }> }>>;
}

const API_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A metric prom-client's registry formats from values computed at scrape time. */
class ScrapeMetric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly values: () => Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>,
  ) {}

  get(): { name: string; help: string; type: string; aggregator: 'sum'; values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }> } {
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values: this.values() };
  }
}

interface RequestStat {
  api: string;
  version: number;
  count: number;
  seconds: number;
  /** Observations per bucket (not cumulative; summed at scrape). */
  buckets: Float64Array;
}

interface TopicStat {
  bytesIn: number;
  messagesIn: number;
  bytesOut: number;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly isrShrinks: Counter;
  readonly isrExpands: Counter;
  // The request path only adds to plain numbers in maps with cheap keys; prom-client reads them
  // when scraped (its own counters hash their labels on every call: ~15 % of a produce's broker
  // CPU in the benchmark, against under 5 % this way).
  private readonly requestStats = new Map<number, RequestStat>();
  private readonly errorStats = new Map<number, { api: string; error: string; count: number }>();
  private readonly topicStats = new Map<string, TopicStat>();

  /** Bytes in and out and records in over every topic since start (the console's throughput figure). */
  totals(): { bytesIn: number; bytesOut: number; messagesIn: number } {
    let bytesIn = 0;
    let bytesOut = 0;
    let messagesIn = 0;
    for (const t of this.topicStats.values()) {
      bytesIn += t.bytesIn;
      bytesOut += t.bytesOut;
      messagesIn += t.messagesIn;
    }
    return { bytesIn, bytesOut, messagesIn };
  }

  constructor(sources: MetricsSources, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const reg = (m: ScrapeMetric): void => this.registry.registerMetric(m as never);
    reg(
      new ScrapeMetric('brook_requests_total', 'Requests handled, by API and version (Kafka: RequestsPerSec).', 'counter', () =>
        [...this.requestStats.values()].map((r) => ({ value: r.count, labels: { api: r.api, version: r.version } })),
      ),
    );
    reg(
      new ScrapeMetric('brook_request_duration_seconds', 'Time from a request being read to its response being ready, by API and version (Kafka: TotalTimeMs).', 'histogram', () => {
        const out: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }> = [];
        for (const r of this.requestStats.values()) {
          const { api, version } = r;
          let cumulative = 0;
          API_BUCKETS.forEach((le, i) => {
            cumulative += r.buckets[i]!;
            out.push({ metricName: 'brook_request_duration_seconds_bucket', labels: { api, version, le }, value: cumulative });
          });
          out.push({ metricName: 'brook_request_duration_seconds_bucket', labels: { api, version, le: '+Inf' }, value: r.count });
          out.push({ metricName: 'brook_request_duration_seconds_sum', labels: { api, version }, value: r.seconds });
          out.push({ metricName: 'brook_request_duration_seconds_count', labels: { api, version }, value: r.count });
        }
        return out;
      }),
    );
    reg(
      new ScrapeMetric('brook_errors_total', 'Error codes in responses, by API and error (Kafka: ErrorsPerSec).', 'counter', () =>
        [...this.errorStats.values()].map((e) => ({ value: e.count, labels: { api: e.api, error: e.error } })),
      ),
    );
    const perTopic = (name: string, help: string, pick: (t: TopicStat) => number): void =>
      reg(new ScrapeMetric(name, help, 'counter', () => [...this.topicStats].map(([topic, t]) => ({ value: pick(t), labels: { topic } }))));
    perTopic('brook_topic_bytes_in_total', 'Bytes of record batches appended by producers, by topic (Kafka: BytesInPerSec).', (t) => t.bytesIn);
    perTopic('brook_topic_messages_in_total', 'Records appended by producers, by topic (Kafka: MessagesInPerSec).', (t) => t.messagesIn);
    perTopic('brook_topic_bytes_out_total', 'Bytes of record batches sent to consumers, by topic (Kafka: BytesOutPerSec).', (t) => t.bytesOut);
    this.isrShrinks = new Counter({ name: 'brook_isr_shrinks_total', help: 'ISR shrinks proposed by partitions led here (Kafka: IsrShrinksPerSec).', registers });
    this.isrExpands = new Counter({ name: 'brook_isr_expands_total', help: 'ISR expansions proposed by partitions led here (Kafka: IsrExpandsPerSec).', registers });

    new Gauge({
      name: 'brook_connections',
      help: 'Open client connections, by listener (Kafka: connection-count).',
      labelNames: ['listener'],
      registers,
      collect() {
        this.reset();
        for (const l of sources.listeners()) this.set({ listener: l.listener }, l.connections);
      },
    });
    new Gauge({
      name: 'brook_requests_in_flight',
      help: 'Requests read and not yet answered, by listener.',
      labelNames: ['listener'],
      registers,
      collect() {
        this.reset();
        for (const l of sources.listeners()) this.set({ listener: l.listener }, l.inFlight);
      },
    });
    new Gauge({
      name: 'brook_purgatory_size',
      help: 'Requests waiting in a purgatory: produce (acks=all for the ISR) and fetch (long polls) (Kafka: PurgatorySize).',
      labelNames: ['kind'],
      registers,
      collect() {
        const p = sources.purgatory();
        this.set({ kind: 'produce' }, p.produce);
        this.set({ kind: 'fetch' }, p.fetch);
      },
    });
    // One pass over the partitions feeds every per-partition gauge of a scrape.
    let snapshot: ReturnType<MetricsSources['partitions']> = [];
    let snapshotAt = -1;
    const parts = (): ReturnType<MetricsSources['partitions']> => {
      const now = Date.now();
      if (now - snapshotAt > 100) {
        snapshot = sources.partitions();
        snapshotAt = now;
      }
      return snapshot;
    };
    const perPartition = (name: string, help: string, value: (p: ReturnType<MetricsSources['partitions']>[number]) => number | bigint | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers,
        collect() {
          this.reset();
          for (const p of parts()) {
            const v = value(p);
            if (v !== undefined) this.set({ topic: p.topic, partition: String(p.partition) }, Number(v));
          }
        },
      });
    };
    perPartition('brook_log_size_bytes', 'Bytes of stored batches, by partition (Kafka: Log Size).', (p) => p.sizeBytes);
    perPartition('brook_log_start_offset', 'First offset of a partition (Kafka: LogStartOffset).', (p) => p.logStartOffset);
    perPartition('brook_log_end_offset', 'Offset the next record of a partition gets (Kafka: LogEndOffset).', (p) => p.logEndOffset);
    perPartition('brook_partition_high_watermark', 'High watermark of the partitions led here.', (p) => p.leader?.highWatermark);
    perPartition('brook_partition_in_sync_replicas', 'In-sync replicas of the partitions led here (Kafka: InSyncReplicasCount).', (p) => p.leader?.isr);
    new Gauge({
      name: 'brook_under_replicated_partitions',
      help: 'Partitions led here with fewer in-sync replicas than assigned (Kafka: UnderReplicatedPartitions).',
      registers,
      collect() {
        this.set(parts().filter((p) => p.leader?.underReplicated).length);
      },
    });

    // Groups and lag: one read per scrape for both gauges.
    let groupsRead: Promise<Awaited<ReturnType<MetricsSources['groups']>>> | undefined;
    const groups = (): Promise<Awaited<ReturnType<MetricsSources['groups']>>> => {
      groupsRead ??= sources.groups().finally(() => setTimeout(() => (groupsRead = undefined), 100).unref());
      return groupsRead;
    };
    new Gauge({
      name: 'brook_group_members',
      help: 'Members of each consumer group, with its state as a label.',
      labelNames: ['group', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const g of await groups()) this.set({ group: g.group, state: g.state }, g.members);
      },
    });
    new Gauge({
      name: 'brook_consumer_lag',
      help: 'High watermark minus the committed offset, by group and partition (Kafka tools: LAG).',
      labelNames: ['group', 'topic', 'partition'],
      registers,
      async collect() {
        this.reset();
        for (const g of await groups()) for (const l of g.lag) this.set({ group: g.group, topic: l.topic, partition: String(l.partition) }, Number(l.lag));
      },
    });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'brook_' });
  }

  /** One request answered: its API, version, time from read to response and the error codes in it. */
  request(apiKey: number, api: string, version: number, seconds: number, response: unknown): void {
    const key = apiKey * 256 + version;
    let r = this.requestStats.get(key);
    if (r === undefined) this.requestStats.set(key, (r = { api, version, count: 0, seconds: 0, buckets: new Float64Array(API_BUCKETS.length) }));
    r.count++;
    r.seconds += seconds;
    let i = 0;
    while (i < API_BUCKETS.length && seconds > API_BUCKETS[i]!) i++;
    if (i < API_BUCKETS.length) r.buckets[i]!++;
    if (response !== null && typeof response === 'object') this.countErrors(apiKey, api, response as Record<string, unknown>, 0);
  }

  /** Error codes anywhere in a response (Kafka counts each one: ErrorsPerSec per error). */
  private countErrors(apiKey: number, api: string, o: Record<string, unknown>, depth: number): void {
    for (const k in o) {
      const v = o[k];
      if (k === 'errorCode') {
        if (typeof v === 'number' && v !== 0) {
          const key = apiKey * 100_000 + v + 1000;
          const e = this.errorStats.get(key);
          if (e === undefined) this.errorStats.set(key, { api, error: errorName(v), count: 1 });
          else e.count++;
        }
      } else if (depth < 4 && Array.isArray(v)) {
        for (const x of v) if (x !== null && typeof x === 'object' && !Buffer.isBuffer(x)) this.countErrors(apiKey, api, x as Record<string, unknown>, depth + 1);
      }
    }
  }

  private topic(topic: string): TopicStat {
    let t = this.topicStats.get(topic);
    if (t === undefined) this.topicStats.set(topic, (t = { bytesIn: 0, messagesIn: 0, bytesOut: 0 }));
    return t;
  }

  produced(topic: string, bytes: number, messages: number): void {
    const t = this.topic(topic);
    t.bytesIn += bytes;
    t.messagesIn += messages;
  }

  fetched(topic: string, bytes: number): void {
    if (bytes > 0) this.topic(topic).bytesOut += bytes;
  }

  /** A topic deleted: its series go (a recreated topic starts from zero, as Kafka's meters). */
  topicDeleted(topic: string): void {
    this.topicStats.delete(topic);
  }

  /** The text exposition format. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

const ERROR_NAMES = new Map(Object.entries(ErrorCode).map(([k, v]) => [v as number, k]));
function errorName(code: number): string {
  return ERROR_NAMES.get(code) ?? String(code);
}
