// npm run bench:txn — transaction and producer-state figures (issue 7), against a broker child
// process on 127.0.0.1:
//
//   commit   kafkajs transactional producer: `--txns` transactions (after 20 warm-up ones) of 10
//            messages each to an 8-partition topic, for each store. Per transaction: the time of
//            commit() alone (AddPartitions already done by the sends; EndTxn = PrepareCommit,
//            markers, CompleteCommit) and of the whole transaction (transaction(), send(10),
//            commit()). p50 / p99 / max in ms.
//   recovery file store: `--producers` idempotent producers (ids from InitProducerId) write
//            `--messages` messages in all, in batches of 50 (Produce v7, acks=1, each producer to
//            one of 8 partitions). Then the broker is killed with SIGKILL (no snapshot at the log
//            end: the producer state is rebuilt from the whole log), restarted, and the time from
//            spawn to the first answered Metadata request is taken; then once more after a clean
//            stop (snapshots at the log end: nothing to scan). Correctness after the kill: every
//            producer is listed by DescribeProducers, and a resent last batch is answered as a
//            duplicate (same base offset, nothing appended).
//
// The last stdout line is one JSON object with every figure.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import * as G from '../protocol/generated/index.js';
import { encodeRecordBatch } from '../protocol/records/index.js';
import { RawClient, clientApi } from '../src/client/raw-client.js';
import { HOST, freePort, killAll, spawnBroker, type Child } from './proc.js';
import { createTopic, waitReady } from './phases.js';

const Produce = clientApi(G.ProduceApi, G.encodeProduceRequest, G.decodeProduceResponse);
const InitProducerId = clientApi(G.InitProducerIdApi, G.encodeInitProducerIdRequest, G.decodeInitProducerIdResponse);
const DescribeProducers = clientApi(G.DescribeProducersApi, G.encodeDescribeProducersRequest, G.decodeDescribeProducersResponse);

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const TXNS = flag('--txns', 200);
const PRODUCERS = flag('--producers', 1000);
const MESSAGES = flag('--messages', 1_000_000);
const PARTITIONS = 8;
const BATCH = 50;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

async function start(dataDir: string | undefined): Promise<{ child: Child; port: number; readyMs: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawnBroker({ port, dataDir });
  const readyMs = await waitReady(child, port, t0, 600_000);
  return { child, port, readyMs };
}

async function commitPhase(store: 'memory' | 'file') {
  const dir = store === 'file' ? mkdtempSync(join(tmpdir(), 'brook-bench-txn-')) : undefined;
  const b = await start(dir);
  try {
    const kafka = new Kafka({ clientId: 'bench-txn', brokers: [`${HOST}:${b.port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'txn-bench', numPartitions: PARTITIONS }] });
    await admin.disconnect();
    const producer = kafka.producer({ transactionalId: 'bench', maxInFlightRequests: 1, idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const commit: number[] = [];
    const whole: number[] = [];
    for (let i = 0; i < TXNS + 20; i++) {
      const t0 = performance.now();
      const t = await producer.transaction();
      await t.send({ topic: 'txn-bench', messages: Array.from({ length: 10 }, (_, j) => ({ key: `k${j}`, value: `txn-${i}-${j}` })) });
      const t1 = performance.now();
      await t.commit();
      const t2 = performance.now();
      if (i >= 20) {
        commit.push(t2 - t1);
        whole.push(t2 - t0);
      }
    }
    await producer.disconnect();
    return {
      store,
      txns: TXNS,
      commitMs: { p50: r2(pct(commit, 50)), p99: r2(pct(commit, 99)), max: r2(Math.max(...commit)) },
      transactionMs: { p50: r2(pct(whole, 50)), p99: r2(pct(whole, 99)), max: r2(Math.max(...whole)) },
    };
  } finally {
    await b.child.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

async function recoveryPhase() {
  const dir = mkdtempSync(join(tmpdir(), 'brook-bench-recovery-'));
  try {
    let b = await start(dir);
    let client = await RawClient.connect(HOST, b.port, 'bench-txn');
    await createTopic(client, 'recovery', PARTITIONS);
    const producers: Array<{ id: bigint; seq: number; partition: number; last?: { batch: Buffer; base: bigint } }> = [];
    for (let i = 0; i < PRODUCERS; i++) {
      const r = await client.request(InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 });
      producers.push({ id: r.producerId, seq: 0, partition: i % PARTITIONS });
    }
    const perProducer = Math.ceil(MESSAGES / PRODUCERS);
    const value = Buffer.alloc(100, 0x61);
    const t0 = performance.now();
    let sent = 0;
    const inFlight = new Set<Promise<void>>();
    for (let round = 0; round * BATCH < perProducer; round++) {
      for (const p of producers) {
        const n = Math.min(BATCH, perProducer - round * BATCH);
        const batch = encodeRecordBatch({ producerId: p.id, producerEpoch: 0, baseSequence: p.seq, records: Array.from({ length: n }, () => ({ key: null, value })) });
        p.seq += n;
        sent += n;
        const req = client
          .request(Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 30000, topicData: [{ name: 'recovery', partitionData: [{ index: p.partition, records: batch }] }] })
          .then((res) => {
            const part = res.responses[0].partitionResponses[0];
            if (part.errorCode !== 0) throw new Error(`produce error ${part.errorCode}`);
            p.last = { batch, base: part.baseOffset };
          });
        inFlight.add(req);
        void req.finally(() => inFlight.delete(req));
        if (inFlight.size >= 64) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
    const produceS = (performance.now() - t0) / 1000;
    client.close();

    // kill -9: no snapshot at the log end.
    b.child.proc.kill('SIGKILL');
    await new Promise((r) => b.child.proc.once('exit', r));
    b = await start(dir);
    const afterKillMs = b.readyMs;
    client = await RawClient.connect(HOST, b.port, 'bench-txn');
    const described = await client.request(DescribeProducers, 0, { topics: [{ name: 'recovery', partitionIndexes: Array.from({ length: PARTITIONS }, (_, i) => i) }] });
    const listed = described.topics[0].partitions.reduce((n: number, p: { activeProducers: unknown[] }) => n + p.activeProducers.length, 0);
    const p0 = producers[0]!;
    const dup = await client.request(Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 30000, topicData: [{ name: 'recovery', partitionData: [{ index: p0.partition, records: p0.last!.batch }] }] });
    const dupOk = dup.responses[0].partitionResponses[0].errorCode === 0 && dup.responses[0].partitionResponses[0].baseOffset === p0.last!.base;
    client.close();
    await b.child.stop();
    b = await start(dir);
    const afterCleanMs = b.readyMs;
    await b.child.stop();
    if (listed !== PRODUCERS || !dupOk) throw new Error(`recovery check failed: ${listed} producers listed, duplicate answered ${dupOk ? 'right' : 'wrong'}`);
    return {
      producers: PRODUCERS,
      messages: sent,
      produceS: r2(produceS),
      readyAfterKill9Ms: Math.round(afterKillMs),
      readyAfterCleanStopMs: Math.round(afterCleanMs),
      producersListedAfterKill9: listed,
      duplicateAfterKill9Answered: dupOk,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = { bench: 'brook-txn' };
  try {
    out['commit'] = [await commitPhase('memory'), await commitPhase('file')];
    for (const c of out['commit'] as Array<Record<string, unknown>>) console.error(JSON.stringify(c));
    out['recovery'] = await recoveryPhase();
    console.error(JSON.stringify(out['recovery']));
  } catch (err) {
    out['error'] = (err as Error).message;
    killAll();
    console.log(JSON.stringify(out));
    process.exit(1);
  }
  console.log(JSON.stringify(out));
}

void main();
