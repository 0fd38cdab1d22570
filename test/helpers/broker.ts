// Shared helpers for end-to-end tests: an in-process broker per test, a kafkajs client factory,
// a raw Fetch reader (any Fetch version Brook serves), a Metadata look-up and a kcat runner.
//
// Keep this file small and free of test-framework imports so that other suites (groups, compat)
// can reuse it.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Kafka, logLevel, type Admin, type KafkaConfig, type Producer, type ProducerConfig } from 'kafkajs';
import { startBroker, type Broker, type BrokerOptions } from '../../src/broker.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';
import { ErrorCode } from '../../protocol/errors.js';
import { FetchApi, decodeFetchResponse, encodeFetchRequest } from '../../protocol/generated/01-fetch.js';
import { MetadataApi, decodeMetadataResponse, encodeMetadataRequest, type MetadataResponse } from '../../protocol/generated/03-metadata.js';
import { ProduceApi, decodeProduceResponse, encodeProduceRequest } from '../../protocol/generated/00-produce.js';
import { ApiVersionsApi, decodeApiVersionsResponse, encodeApiVersionsRequest } from '../../protocol/generated/18-api-versions.js';
import { decodeBatches, type RecordHeader } from '../../protocol/records/index.js';

// ---------------------------------------------------------------------------------------------
// Brokers and clients

/** Starts an in-process broker on an ephemeral port, silent, memory store unless dataDir is set. */
export function startTestBroker(options: BrokerOptions = {}): Promise<Broker> {
  return startBroker({ host: '127.0.0.1', port: 0, ...options });
}

/** A test broker with a connected kafkajs admin and producer; close() disconnects and stops it all. */
export interface KafkajsFixture {
  broker: Broker;
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  close(): Promise<void>;
}

export async function startWithKafkajs(options: BrokerOptions = {}, producerConfig: ProducerConfig = {}): Promise<KafkajsFixture> {
  const broker = await startTestBroker(options);
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  const producer = kafka.producer(producerConfig);
  try {
    await admin.connect();
    await producer.connect();
  } catch (err) {
    await broker.close();
    throw err;
  }
  return {
    broker,
    kafka,
    admin,
    producer,
    async close() {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      await broker.close();
    },
  };
}

/** A kafkajs client for a broker: no logging, quick retries. */
export function kafkaFor(bootstrap: string | Broker, extra: Partial<KafkaConfig> = {}): Kafka {
  const b = typeof bootstrap === 'string' ? bootstrap : bootstrap.bootstrap;
  return new Kafka({
    clientId: 'brook-e2e',
    brokers: [b],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 50 },
    ...extra,
  });
}

/** A raw client connected to a broker. */
export function rawClient(broker: { host: string; port: number }): Promise<RawClient> {
  return RawClient.connect(broker.host, broker.port);
}

export const fetchApi = clientApi(FetchApi, encodeFetchRequest, decodeFetchResponse);
export const metadataApi = clientApi(MetadataApi, encodeMetadataRequest, decodeMetadataResponse);
export const produceApi = clientApi(ProduceApi, encodeProduceRequest, decodeProduceResponse);
export const apiVersionsApi = clientApi(ApiVersionsApi, encodeApiVersionsRequest, decodeApiVersionsResponse);

/** The API ranges a broker advertises (ApiVersions v3), by api key. */
export async function advertisedApis(client: RawClient): Promise<Map<number, { min: number; max: number }>> {
  const r = await client.request(apiVersionsApi, 3, { clientSoftwareName: 'brook-e2e', clientSoftwareVersion: '0' });
  if (r.errorCode !== ErrorCode.NONE) throw new Error(`ApiVersions error ${r.errorCode}`);
  return new Map(r.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
}

// ---------------------------------------------------------------------------------------------
// Metadata

/** Metadata v12 for the given topics (no auto-creation), or all topics with `null`. */
export async function metadata(client: RawClient, topics: string[] | null): Promise<MetadataResponse> {
  return client.request(metadataApi, 12, {
    topics: topics === null ? null : topics.map((name) => ({ name })),
    allowAutoTopicCreation: false,
  });
}

/** The topic id of an existing topic (throws if Metadata reports an error). */
export async function topicId(client: RawClient, topic: string): Promise<string> {
  const md = await metadata(client, [topic]);
  const t = md.topics[0];
  if (!t || t.errorCode !== ErrorCode.NONE) throw new Error(`metadata for ${topic}: error ${t?.errorCode}`);
  return t.topicId;
}

// ---------------------------------------------------------------------------------------------
// Raw fetch

export interface FetchedRecord {
  offset: bigint;
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  timestamp: bigint;
  /** Compression codec of the batch the record came in. */
  compression: number;
}

export interface FetchAllOptions {
  /** Fetch version (4-17; default 11, as kafkajs). From v13 the topic is named by id. */
  version?: number;
  /** Topic id for v13+ (looked up through Metadata when missing). */
  topicId?: string;
  /** Per-request partition max bytes (default 1 MiB; small values exercise the loop). */
  partitionMaxBytes?: number;
  /** Stop at this offset instead of the high watermark. */
  untilOffset?: bigint;
}

export interface FetchAllResult {
  records: FetchedRecord[];
  highWatermark: bigint;
  logStartOffset: bigint;
}

/**
 * Fetches a partition from `fromOffset` up to its high watermark (read once, at the first answer)
 * with max_wait 0, decoding every batch; records below `fromOffset` in the first batch are dropped.
 * Throws on any partition error.
 */
export async function fetchAllDetailed(
  client: RawClient,
  topic: string,
  partition: number,
  fromOffset: bigint = 0n,
  opts: FetchAllOptions = {},
): Promise<FetchAllResult> {
  const version = opts.version ?? 11;
  const id = version >= 13 ? (opts.topicId ?? (await topicId(client, topic))) : undefined;
  const out: FetchedRecord[] = [];
  let next = fromOffset;
  let stopAt: bigint | undefined = opts.untilOffset;
  let logStartOffset = -1n;
  let hw = -1n;
  for (let round = 0; round < 10000; round++) {
    const resp = await client.request(fetchApi, version, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 64 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, topicId: id, partitions: [{ partition, fetchOffset: next, partitionMaxBytes: opts.partitionMaxBytes ?? 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    if (resp.errorCode !== ErrorCode.NONE) throw new Error(`fetch ${topic}/${partition} v${version}: top-level error ${resp.errorCode}`);
    const p = resp.responses[0]?.partitions[0];
    if (!p) throw new Error(`fetch ${topic}/${partition} v${version}: empty response`);
    if (p.errorCode !== ErrorCode.NONE) throw new Error(`fetch ${topic}/${partition}@${next} v${version}: error ${p.errorCode}`);
    hw = p.highWatermark;
    logStartOffset = p.logStartOffset;
    stopAt ??= hw;
    if (next >= stopAt) break;
    const batches = decodeBatches(p.records ?? Buffer.alloc(0));
    if (batches.length === 0) throw new Error(`fetch ${topic}/${partition}@${next} v${version}: no batch below the high watermark ${hw}`);
    for (const b of batches) {
      for (const r of b.records) {
        if (r.offset < next || r.offset >= stopAt) continue;
        out.push({
          offset: r.offset,
          partition,
          key: r.key && Buffer.from(r.key),
          value: r.value && Buffer.from(r.value),
          headers: r.headers.map((h) => ({ key: h.key, value: h.value && Buffer.from(h.value) })),
          timestamp: r.timestamp,
          compression: b.header.compression,
        });
      }
      const end = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
      if (end > next) next = end;
    }
  }
  return { records: out, highWatermark: hw, logStartOffset };
}

/** `fetchAllDetailed(...).records`. */
export async function fetchAll(
  client: RawClient,
  topic: string,
  partition: number,
  fromOffset: bigint = 0n,
  opts: FetchAllOptions = {},
): Promise<FetchedRecord[]> {
  return (await fetchAllDetailed(client, topic, partition, fromOffset, opts)).records;
}

/** The high watermark of a partition (a Fetch v11 at offset 0 with max_wait 0). */
export async function highWatermark(client: RawClient, topic: string, partition: number): Promise<bigint> {
  return (await fetchAllDetailed(client, topic, partition, 0n, { untilOffset: 0n })).highWatermark;
}

// ---------------------------------------------------------------------------------------------
// Misc

/** Polls `check` until it returns a truthy value or the deadline passes (then throws). */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 5000, intervalMs = 20, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---------------------------------------------------------------------------------------------
// kcat

function findKcat(): string | null {
  // BROOK_TEST_NO_KCAT=1 runs the suite as if kcat were missing (checks the skip paths).
  if (process.env.BROOK_TEST_NO_KCAT === '1') return null;
  for (const p of ['/usr/bin/kcat', '/usr/local/bin/kcat', '/usr/bin/kafkacat']) if (existsSync(p)) return p;
  try {
    const p = execFileSync('sh', ['-c', 'command -v kcat || command -v kafkacat'], { encoding: 'utf8' }).trim();
    return p || null;
  } catch {
    return null;
  }
}

export const kcatPath = findKcat();
export const hasKcat = kcatPath !== null;
export const NO_KCAT = 'kcat is not installed (apt-get install kcat; CI installs it in .ci/run)';

export interface KcatResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs kcat with `args` (stdin from `input`), killed after `timeoutMs`. Resolves with the outcome;
 * it never rejects on a non-zero exit (callers assert on `code`).
 */
export function runKcat(args: string[], input?: string | Buffer, timeoutMs = 10000): Promise<KcatResult> {
  if (!kcatPath) return Promise.reject(new Error(NO_KCAT));
  return new Promise((resolve, reject) => {
    const child = spawn(kcatPath, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    child.stdin.on('error', () => {});
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}
