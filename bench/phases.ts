// The measured phases: broker startup, pipelined Produce, Fetch of everything, and the replay of
// the same traffic against the loopback sink.

import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../protocol/errors.js';
import { CreateTopicsApi, decodeCreateTopicsResponse, encodeCreateTopicsRequest } from '../protocol/generated/19-create-topics.js';
import { FetchApi, decodeFetchResponse, encodeFetchRequest } from '../protocol/generated/01-fetch.js';
import { MetadataApi, decodeMetadataResponse, encodeMetadataRequest } from '../protocol/generated/03-metadata.js';
import { ProduceApi, decodeProduceResponse, encodeProduceRequest } from '../protocol/generated/00-produce.js';
import { Reader } from '../protocol/primitives/reader.js';
import {
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  RECORD_COUNT_OFFSET,
} from '../protocol/records/constants.js';
import { encodeRecordBatch, verifyBatchCrc } from '../protocol/records/batch.js';
import { RawClient, clientApi } from '../src/client/raw-client.js';
import { PipelinedConn } from './pipeline.js';
import { HOST, clockTicks, machineTicks, procStat, rssBytes, sleep, spawnBroker, type Child, type ProcStat } from './proc.js';

export const CLIENT_ID = 'brook-bench';
export const PRODUCE_VERSION = 7;
export const FETCH_VERSION = 11;
const METADATA_VERSION = 12;
const CREATE_TOPICS_VERSION = 5;

const Produce = clientApi(ProduceApi, encodeProduceRequest, decodeProduceResponse);
const Fetch = clientApi(FetchApi, encodeFetchRequest, decodeFetchResponse);
const Metadata = clientApi(MetadataApi, encodeMetadataRequest, decodeMetadataResponse);
const CreateTopics = clientApi(CreateTopicsApi, encodeCreateTopicsRequest, decodeCreateTopicsResponse);

export class BenchFailure extends Error {}

/** Throughput and CPU figures of one measured phase. */
export interface PhaseResult {
  msgs: number;
  seconds: number;
  msgsPerSec: number;
  /** Record value bytes per second / 1e6. */
  payloadMBps: number;
  /** Bytes on the socket (both directions) per second / 1e6. */
  wireMBps: number;
  requests: number;
  /** CPU of the server process (broker or sink) per message. */
  serverCpuUsPerMsg: number;
  serverCpuSeconds: number;
  /** Share of the server CPU spent in the kernel (stime / (utime + stime)). */
  serverSysShare: number;
  /** Minor page faults of the server process per message. */
  serverMinorFaultsPerMsg: number;
  /** CPU of this load-generator process per message. */
  clientCpuUsPerMsg: number;
  /**
   * CPU used by other processes on the machine during the phase, as a share of all CPUs
   * (a contaminated measurement when well above 0).
   */
  otherCpuShare: number;
  /** Time the hypervisor took from this VM during the phase (share of all CPUs, /proc/stat steal). */
  stealShare: number;
}

/** A CPU/wall-clock stopwatch over one server process and this process. */
class Meter {
  private readonly t0 = performance.now();
  private readonly server0: ProcStat;
  private readonly client0 = process.cpuUsage();
  private readonly machine0 = machineTicks();

  constructor(private readonly pid: number) {
    this.server0 = procStat(pid);
  }

  stop(msgs: number, valueBytes: number, wireBytes: number, requests: number): PhaseResult {
    const seconds = (performance.now() - this.t0) / 1000;
    const s1 = procStat(this.pid);
    const user = s1.user - this.server0.user;
    const sys = s1.sys - this.server0.sys;
    const serverCpuSeconds = (user + sys) / clockTicks();
    const c = process.cpuUsage(this.client0);
    const clientCpu = (c.user + c.system) / 1e6;
    const m1 = machineTicks();
    const machine = (m1.busy - this.machine0.busy) / clockTicks();
    const steal = (m1.steal - this.machine0.steal) / clockTicks();
    const other = Math.max(0, machine - serverCpuSeconds - clientCpu);
    return {
      msgs,
      seconds: round(seconds, 3),
      msgsPerSec: Math.round(msgs / seconds),
      payloadMBps: round((msgs * valueBytes) / seconds / 1e6, 1),
      wireMBps: round(wireBytes / seconds / 1e6, 1),
      requests,
      serverCpuUsPerMsg: round((serverCpuSeconds * 1e6) / msgs, 3),
      serverCpuSeconds: round(serverCpuSeconds, 2),
      serverSysShare: user + sys > 0 ? round(sys / (user + sys), 2) : 0,
      serverMinorFaultsPerMsg: round((s1.minorFaults - this.server0.minorFaults) / msgs, 3),
      clientCpuUsPerMsg: round((clientCpu * 1e6) / msgs, 3),
      otherCpuShare: round(other / (seconds * cpus().length), 2),
      stealShare: round(steal / (seconds * cpus().length), 2),
    };
  }
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Races a promise against a deadline. */
function within<T>(p: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchFailure(`${what} did not finish within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// startup

/**
 * Connects (retrying every 3 ms) until a Metadata request is answered. Resolves with the
 * milliseconds since `t0` (performance.now() taken just before spawning).
 */
export async function waitReady(child: Child, port: number, t0: number, timeoutMs = 30000): Promise<number> {
  const deadline = t0 + timeoutMs;
  for (let attempt = 0; attempt < 100000 && performance.now() < deadline; attempt++) {
    if (!child.running) throw new BenchFailure(`broker exited (${child.exitCode}) before answering:\n${child.output()}`);
    let client: RawClient;
    try {
      client = await RawClient.connect(HOST, port, CLIENT_ID);
    } catch {
      await sleep(3);
      continue;
    }
    try {
      const md = await within(
        client.request(Metadata, METADATA_VERSION, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
        Math.max(1, (deadline - performance.now()) / 1000),
        'first Metadata request',
      );
      if (md.brokers.length === 0) throw new BenchFailure('Metadata response lists no broker');
      return performance.now() - t0;
    } finally {
      client.close();
    }
  }
  throw new BenchFailure(`broker did not answer Metadata within ${timeoutMs} ms:\n${child.output()}`);
}

export interface StartSample {
  readyMs: number;
  idleRssBytes: number;
}

/** Spawns a broker, waits for its first Metadata answer, reads its idle RSS and stops it. */
export async function startOnce(port: number, dataDir: string | undefined, settleMs = 500): Promise<StartSample> {
  const t0 = performance.now();
  const child = spawnBroker({ port, dataDir });
  try {
    const readyMs = await waitReady(child, port, t0);
    await sleep(settleMs);
    return { readyMs, idleRssBytes: rssBytes(child.pid) };
  } finally {
    const code = await child.stop();
    if (code !== 0) throw new BenchFailure(`broker exit code ${code} after the startup probe:\n${child.output()}`);
  }
}

// ---------------------------------------------------------------------------------------------
// topic

export async function createTopic(admin: RawClient, topic: string, partitions: number): Promise<void> {
  const resp = await within(
    admin.request(CreateTopics, CREATE_TOPICS_VERSION, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30000,
      validateOnly: false,
    }),
    30,
    'CreateTopics',
  );
  const t = resp.topics[0];
  if (!t || t.errorCode !== ErrorCode.NONE) {
    throw new BenchFailure(`CreateTopics ${topic}: error ${t?.errorCode} ${t?.errorMessage ?? ''}`);
  }
  const md = await admin.request(Metadata, METADATA_VERSION, {
    topics: [{ name: topic }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  const mt = md.topics.find((x) => x.name === topic);
  if (!mt || mt.errorCode !== ErrorCode.NONE || mt.partitions.length !== partitions) {
    throw new BenchFailure(`Metadata after CreateTopics: ${topic} has ${mt?.partitions.length} partitions, error ${mt?.errorCode}`);
  }
}

// ---------------------------------------------------------------------------------------------
// produce

export interface ProducePlan {
  topic: string;
  partitions: number;
  valueBytes: number;
  msgs: number;
  batch: number;
  conns: number;
  inFlight: number;
  timeoutS: number;
}

export interface ProduceOutcome {
  result: PhaseResult;
  /** Records per partition acknowledged by the broker. */
  perPartition: number[];
  /** The prepared batch (what every Produce request carries). */
  batchBytes: number;
  requestFrameBytes: number;
  responseFrameBytes: number;
  /** One prepared request frame per partition (reused by the loopback replay). */
  templates: Buffer[];
}

/** The prepared Produce v7 request frames, one per partition, all carrying the same batch. */
export function prepareProduce(admin: RawClient, plan: ProducePlan): { templates: Buffer[]; batch: Buffer } {
  const value = randomBytes(plan.valueBytes);
  const records = Array.from({ length: plan.batch }, () => ({ key: null, value }));
  const batch = encodeRecordBatch({ records });
  const templates = Array.from({ length: plan.partitions }, (_, p) =>
    admin.encode(Produce, PRODUCE_VERSION, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30000,
      topicData: [{ name: plan.topic, partitionData: [{ index: p, records: batch }] }],
    }).frame,
  );
  return { templates, batch };
}

/**
 * Sends ceil(msgs / batch) Produce requests, round-robin over the partitions, keeping at most
 * `inFlight` outstanding on each of `conns` connections. Every response must carry error 0.
 */
export async function runProduce(port: number, pid: number, admin: RawClient, plan: ProducePlan): Promise<ProduceOutcome> {
  const { templates, batch } = prepareProduce(admin, plan);
  const requests = Math.ceil(plan.msgs / plan.batch);
  const msgs = requests * plan.batch;
  const perPartition = new Array<number>(plan.partitions).fill(0);
  // Requests of one connection are appended in order: base offsets rise per connection.
  const lastBase = Array.from({ length: plan.conns }, () => new Array<bigint>(plan.partitions).fill(-1n));
  const conns = await Promise.all(Array.from({ length: plan.conns }, () => PipelinedConn.connect(HOST, port)));
  let responseFrameBytes = 0;

  const meter = new Meter(pid);
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        let next = 0;
        let done = 0;
        let failed = false;
        const fail = (err: Error): void => {
          if (failed) return;
          failed = true;
          reject(err);
        };
        const onResponse = (ci: number, frame: Buffer, bodyOffset: number): void => {
          if (failed) return;
          responseFrameBytes = frame.length;
          const r = new Reader(frame, bodyOffset);
          const resp = decodeProduceResponse(r, PRODUCE_VERSION);
          r.complete();
          const parts = resp.responses.flatMap((t) => t.partitionResponses);
          if (parts.length !== 1) return fail(new BenchFailure(`Produce response with ${parts.length} partitions (expected 1)`));
          const p = parts[0]!;
          if (p.errorCode !== ErrorCode.NONE) {
            return fail(new BenchFailure(`Produce to partition ${p.index} failed: error ${p.errorCode} ${p.errorMessage ?? ''}`));
          }
          const last = lastBase[ci]!;
          if (p.index < 0 || p.index >= plan.partitions || p.baseOffset <= last[p.index]!) {
            return fail(new BenchFailure(`Produce to partition ${p.index}: base offset ${p.baseOffset} not above ${last[p.index]}`));
          }
          last[p.index] = p.baseOffset;
          perPartition[p.index]! += plan.batch;
          if (++done === requests) resolve();
        };
        const handlers = conns.map((_, ci) => (frame: Buffer, bodyOffset: number) => onResponse(ci, frame, bodyOffset));
        const fill = (ci: number): void => {
          const c = conns[ci]!;
          while (!failed && c.inFlight < plan.inFlight && next < requests) {
            const i = next++;
            c.send(templates[i % plan.partitions]!, handlers[ci]!);
          }
        };
        conns.forEach((c, ci) => {
          c.failWith(fail);
          c.onIdle = () => fill(ci);
        });
        conns.forEach((c, ci) => c.corked(() => fill(ci)));
      }),
      plan.timeoutS,
      'produce phase',
    );
  } finally {
    for (const c of conns) c.close();
  }
  const wire = conns.reduce((s, c) => s + c.bytesOut + c.bytesIn, 0);
  const result = meter.stop(msgs, plan.valueBytes, wire, requests);
  return {
    result,
    perPartition,
    batchBytes: batch.length,
    requestFrameBytes: templates[0]!.length,
    responseFrameBytes,
    templates,
  };
}

// ---------------------------------------------------------------------------------------------
// fetch

export interface FetchPlan {
  topic: string;
  valueBytes: number;
  /** Records expected per partition (what produce got acknowledged). */
  perPartition: number[];
  /** Records per batch and bytes per batch, as produced. */
  batch: number;
  batchBytes: number;
  conns: number;
  partitionMaxBytes: number;
  maxBytes: number;
  verifyCrc: boolean;
  timeoutS: number;
}

export interface FetchOutcome {
  result: PhaseResult;
  /** Per connection, the (request frame bytes, response frame bytes) of every Fetch, in order. */
  exchanges: Array<Array<[number, number]>>;
}

/**
 * Reads every partition from offset 0 to its end with Fetch v11 (one request in flight per
 * connection, each connection owning a share of the partitions). Checks that offsets are
 * contiguous, that every batch is the one produced (size, count, CRC) and the totals.
 */
export async function runFetch(port: number, pid: number, admin: RawClient, plan: FetchPlan): Promise<FetchOutcome> {
  const partitions = plan.perPartition.length;
  const expectedMsgs = plan.perPartition.reduce((a, b) => a + b, 0);
  const expectedBatches = Math.ceil(expectedMsgs / plan.batch);
  const conns = await Promise.all(Array.from({ length: plan.conns }, () => PipelinedConn.connect(HOST, port)));
  const exchanges: Array<Array<[number, number]>> = conns.map(() => []);
  let msgs = 0;
  let requests = 0;

  const one = (c: PipelinedConn, frame: Buffer): Promise<{ frame: Buffer; bodyOffset: number }> =>
    new Promise((resolve, reject) => {
      c.failWith(reject);
      c.send(frame, (f, bodyOffset) => resolve({ frame: f, bodyOffset }));
    });

  const consume = async (ci: number): Promise<void> => {
    const c = conns[ci]!;
    const mine = Array.from({ length: partitions }, (_, p) => p).filter((p) => p % plan.conns === ci);
    const next = new Map<number, bigint>(mine.map((p) => [p, 0n]));
    const end = (p: number): bigint => BigInt(plan.perPartition[p]!);
    // Bounded: every useful response moves at least one partition forward by a batch.
    const limit = expectedBatches + 100;
    for (let i = 0; i < limit; i++) {
      const open = mine.filter((p) => next.get(p)! < end(p));
      if (open.length === 0) return;
      const frame = admin.encode(Fetch, FETCH_VERSION, {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: plan.maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: plan.topic,
            partitions: open.map((p) => ({
              partition: p,
              currentLeaderEpoch: -1,
              fetchOffset: next.get(p)!,
              logStartOffset: -1n,
              partitionMaxBytes: plan.partitionMaxBytes,
            })),
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      }).frame;
      const { frame: resp, bodyOffset } = await one(c, frame);
      requests++;
      exchanges[ci]!.push([frame.length, resp.length]);
      const r = new Reader(resp, bodyOffset);
      const fr = decodeFetchResponse(r, FETCH_VERSION);
      r.complete();
      if (fr.errorCode !== ErrorCode.NONE) throw new BenchFailure(`Fetch error ${fr.errorCode}`);
      let progressed = false;
      for (const t of fr.responses) {
        for (const pd of t.partitions) {
          const p = pd.partitionIndex;
          if (!next.has(p)) throw new BenchFailure(`Fetch answered partition ${p} that was not asked for`);
          if (pd.errorCode !== ErrorCode.NONE) throw new BenchFailure(`Fetch partition ${p}: error ${pd.errorCode}`);
          if (pd.highWatermark !== end(p)) {
            throw new BenchFailure(`partition ${p}: high watermark ${pd.highWatermark}, produced ${end(p)} (data lost or duplicated)`);
          }
          const buf = pd.records ?? Buffer.alloc(0);
          let pos = 0;
          let first = true;
          let offset = next.get(p)!;
          while (pos + BATCH_HEADER_SIZE <= buf.length) {
            const total = LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
            if (pos + total > buf.length) break; // partial batch at the size limit
            const base = buf.readBigInt64BE(pos);
            if (base !== offset) throw new BenchFailure(`partition ${p}: batch at offset ${base}, expected ${offset}`);
            const count = buf.readInt32BE(pos + RECORD_COUNT_OFFSET);
            const lastDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
            if (buf[pos + MAGIC_OFFSET] !== 2 || count !== plan.batch || lastDelta !== plan.batch - 1 || total !== plan.batchBytes) {
              throw new BenchFailure(`partition ${p} offset ${base}: batch differs from the produced one (count ${count}, ${total} bytes)`);
            }
            if ((first || plan.verifyCrc) && !verifyBatchCrc(buf.subarray(pos, pos + total))) {
              throw new BenchFailure(`partition ${p} offset ${base}: CRC mismatch`);
            }
            first = false;
            offset = base + BigInt(count);
            msgs += count;
            pos += total;
          }
          if (offset > end(p)) throw new BenchFailure(`partition ${p}: read past the produced end (${offset} > ${end(p)})`);
          if (offset > next.get(p)!) progressed = true;
          next.set(p, offset);
        }
      }
      if (!progressed) throw new BenchFailure(`Fetch made no progress (offsets ${[...next].map(([p, o]) => `${p}:${o}`).join(' ')})`);
    }
    throw new BenchFailure(`fetch did not reach the end within ${limit} requests`);
  };

  const meter = new Meter(pid);
  try {
    await within(Promise.all(conns.map((_, ci) => consume(ci))), plan.timeoutS, 'fetch phase');
  } finally {
    for (const c of conns) c.close();
  }
  const wire = conns.reduce((s, c) => s + c.bytesOut + c.bytesIn, 0);
  const result = meter.stop(msgs, plan.valueBytes, wire, requests);
  if (msgs !== expectedMsgs) throw new BenchFailure(`fetched ${msgs} messages, produced ${expectedMsgs}`);
  return { result, exchanges };
}

// ---------------------------------------------------------------------------------------------
// loopback replay

/**
 * Replays the produce traffic against the sink: the same prepared frames, the same number of
 * requests, connections and requests in flight; the sink answers each with a frame of the
 * Produce response's size.
 */
export async function replayProduce(
  port: number,
  pid: number,
  plan: ProducePlan,
  templates: Buffer[],
  responseFrameBytes: number,
): Promise<PhaseResult> {
  const requests = Math.ceil(plan.msgs / plan.batch);
  const conns = await Promise.all(Array.from({ length: plan.conns }, () => PipelinedConn.connect(HOST, port)));
  const replyBytes = responseFrameBytes - 4;
  const meter = new Meter(pid);
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        let next = 0;
        let done = 0;
        const onResponse = (frame: Buffer): void => {
          if (frame.length !== responseFrameBytes) reject(new BenchFailure(`sink answered ${frame.length} bytes`));
          if (++done === requests) resolve();
        };
        const fill = (c: PipelinedConn): void => {
          while (c.inFlight < plan.inFlight && next < requests) {
            const i = next++;
            c.send(templates[i % templates.length]!, onResponse, replyBytes);
          }
        };
        for (const c of conns) {
          c.failWith(reject);
          c.onIdle = () => fill(c);
        }
        for (const c of conns) c.corked(() => fill(c));
      }),
      plan.timeoutS,
      'loopback produce replay',
    );
  } finally {
    for (const c of conns) c.close();
  }
  const wire = conns.reduce((s, c) => s + c.bytesOut + c.bytesIn, 0);
  return meter.stop(requests * plan.batch, plan.valueBytes, wire, requests);
}

/** Replays the recorded Fetch exchanges (request and response sizes, one in flight per connection). */
export async function replayFetch(
  port: number,
  pid: number,
  exchanges: Array<Array<[number, number]>>,
  msgs: number,
  valueBytes: number,
  timeoutS: number,
): Promise<PhaseResult> {
  const conns = await Promise.all(exchanges.map(() => PipelinedConn.connect(HOST, port)));
  const meter = new Meter(pid);
  let requests = 0;
  try {
    const run = async (ci: number): Promise<void> => {
      const c = conns[ci]!;
      for (const [reqBytes, respBytes] of exchanges[ci]!) {
        const frame = Buffer.alloc(reqBytes);
        frame.writeInt32BE(reqBytes - 4, 0);
        const got = await new Promise<number>((resolve, reject) => {
          c.failWith(reject);
          c.send(frame, (f) => resolve(f.length), respBytes - 4);
        });
        if (got !== respBytes) throw new BenchFailure(`sink answered ${got} bytes, expected ${respBytes}`);
        requests++;
      }
    };
    await within(Promise.all(conns.map((_, ci) => run(ci))), timeoutS, 'loopback fetch replay');
  } finally {
    for (const c of conns) c.close();
  }
  const wire = conns.reduce((s, c) => s + c.bytesOut + c.bytesIn, 0);
  return meter.stop(msgs, valueBytes, wire, requests);
}
