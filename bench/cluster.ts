// `npm run bench:cluster`: the replication figures of issue 10, on this machine.
//
//   1. acks=1 produce throughput on one node (the baseline), and acks=-1 (all) on a three-broker
//      cluster with a replication factor of 3 and min.insync.replicas=2: the ratio is the goal
//      (>= 0.6). Both with ../shared/tools/kbench.py (librdkafka), the same message count, size
//      and partition count; the cluster topic is created first with brook's CLI.
//   2. End-to-end latency at a steady rate (kbench e2e) on the cluster, acks=-1.
//   3. Failover: a kafkajs producer sends one acks=-1 message at a time to a one-partition topic;
//      its leader is killed with SIGKILL; the figure is the time from the kill until the send in
//      flight (retried by the client) is acknowledged by the new leader. Expected: about
//      broker.session.timeout.ms (the etcd lease) plus the client's retry back-off.
//
// Everything runs on 127.0.0.1: etcd (Debian's etcd-server) and the brokers as processes of the
// built CLI. The machine's cores are shared by every process, so the cluster's three brokers and
// etcd compete with the client for CPU where the single node does not: say so with the figures.
// The last stdout line is one JSON object with every figure.

import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import type { ProcessCluster as ProcessClusterType } from '../test/helpers/cluster.js';

const KBENCH = fileURLToPath(new URL('../../../shared/tools/kbench.py', import.meta.url));
const BROOK = fileURLToPath(new URL('../src/cli/brook.cjs', import.meta.url));
// The test helpers (compiled next to this file by tsc) find the CLI through BROOK_CLI_MAIN.
process.env.BROOK_CLI_MAIN ??= fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const { startCliBroker } = await import('../test/helpers/cli.js');
const { ProcessCluster } = await import('../test/helpers/cluster.js');
type ProcessCluster = ProcessClusterType;

interface Options {
  num: number;
  size: number;
  partitions: number;
  rate: number;
  duration: number;
  sessionMs: number[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { num: 500_000, size: 100, partitions: 8, rate: 1000, duration: 10, sessionMs: [9000, 2000] };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--num':
        o.num = Number(v);
        i++;
        break;
      case '--size':
        o.size = Number(v);
        i++;
        break;
      case '--partitions':
        o.partitions = Number(v);
        i++;
        break;
      case '--rate':
        o.rate = Number(v);
        i++;
        break;
      case '--duration':
        o.duration = Number(v);
        i++;
        break;
      case '--session-ms':
        o.sessionMs = String(v).split(',').map(Number);
        i++;
        break;
      case '--quick':
        o.num = 50_000;
        o.duration = 3;
        o.sessionMs = [2000];
        break;
      case '--help':
        process.stdout.write('npm run bench:cluster -- [--num N] [--size B] [--partitions P] [--rate R] [--duration S] [--session-ms 9000,2000] [--quick]\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return o;
}

function log(msg: string): void {
  process.stderr.write(`[bench:cluster] ${msg}\n`);
}

/** Runs kbench; its last stdout line is its JSON result. */
function kbench(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', [KBENCH, ...args], { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`kbench ${args[0]} failed: ${err.message}\n${stderr}`));
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`kbench printed no JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}

function brookCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BROOK, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`brook ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

async function singleNode(o: Options): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'brook-bench-single-'));
  const b = await startCliBroker(dir);
  try {
    await brookCli(['topic', 'create', 'single', '-p', String(o.partitions), '-b', b.bootstrap]);
    log(`single node: produce ${o.num} x ${o.size} B, acks=1`);
    return await kbench(['produce', '-b', b.bootstrap, '-t', 'single', '-p', String(o.partitions), '-n', String(o.num), '-s', String(o.size), '--acks', '1', '--broker-pid', String(b.child.pid)]);
  } finally {
    await b.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function cluster(o: Options): Promise<{ produce: Record<string, unknown>; e2e: Record<string, unknown> }> {
  const c = await ProcessCluster.start(3);
  try {
    const bootstrap = c.bootstrap.join(',');
    await brookCli(['topic', 'create', 'replicated', '-p', String(o.partitions), '-r', '3', '--config', 'min.insync.replicas=2', '-b', bootstrap]);
    log(`cluster: produce ${o.num} x ${o.size} B, acks=all, replication factor 3, min.insync.replicas=2`);
    const produce = await kbench(['produce', '-b', bootstrap, '-t', 'replicated', '-p', String(o.partitions), '-n', String(o.num), '-s', String(o.size), '--acks', 'all']);
    await brookCli(['topic', 'create', 'e2e', '-p', '1', '-r', '3', '--config', 'min.insync.replicas=2', '-b', bootstrap]);
    log(`cluster: end-to-end latency at ${o.rate} msg/s for ${o.duration} s, acks=all`);
    const e2e = await kbench(['e2e', '-b', bootstrap, '-t', 'e2e', '-p', '1', '--rate', String(o.rate), '--duration', String(o.duration), '--acks', 'all']);
    return { produce, e2e };
  } finally {
    await c.destroy();
  }
}

async function failover(sessionMs: number): Promise<Record<string, unknown>> {
  const c = await ProcessCluster.start(3, { config: { 'broker.session.timeout.ms': String(sessionMs), 'auto.leader.rebalance.enable': 'false' } });
  try {
    const bootstrap = c.bootstrap;
    await brookCli(['topic', 'create', 'failover', '-p', '1', '-r', '3', '--config', 'min.insync.replicas=2', '-b', bootstrap.join(',')]);
    const kafka = new Kafka({ clientId: 'bench-failover', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 500 }, requestTimeout: 5000, connectionTimeout: 1000 });
    const admin = kafka.admin();
    await admin.connect();
    const md = await admin.fetchTopicMetadata({ topics: ['failover'] });
    await admin.disconnect();
    const leader = md.topics[0]!.partitions[0]!.leader;
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    let killedAt = 0;
    let recoveredAt = 0;
    let sent = 0;
    const stopAt = Date.now() + 60_000;
    let killing: Promise<void> | undefined;
    while (Date.now() < stopAt) {
      if (sent === 200 && killing === undefined) {
        killedAt = Date.now();
        killing = c.stopBroker(leader, 'SIGKILL');
      }
      await producer.send({ topic: 'failover', acks: -1, messages: [{ value: `m${sent}` }] });
      sent++;
      if (killedAt > 0 && recoveredAt === 0) {
        recoveredAt = Date.now();
        break;
      }
    }
    await killing;
    await producer.disconnect();
    const ms = recoveredAt > 0 ? recoveredAt - killedAt : null;
    log(`failover with broker.session.timeout.ms=${sessionMs}: ${ms} ms from kill -9 of the leader to the next acknowledged acks=-1 send`);
    return { sessionTimeoutMs: sessionMs, failoverMs: ms, goalMs: Math.ceil(sessionMs / 1000) * 1000 + 1000 };
  } finally {
    await c.destroy();
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const single = await singleNode(o);
  const { produce, e2e } = await cluster(o);
  const ratio = typeof single.msgs_per_s === 'number' && typeof produce.msgs_per_s === 'number' ? Math.round((produce.msgs_per_s / single.msgs_per_s) * 100) / 100 : null;
  const failovers = [];
  for (const s of o.sessionMs) failovers.push(await failover(s));
  const table = [
    ['single node, acks=1', `${single.msgs_per_s} msg/s`, `p50/p99 ${JSON.stringify(single.latency_ms)}`],
    ['3 brokers, RF 3, acks=all', `${produce.msgs_per_s} msg/s`, `ratio ${ratio} (goal >= 0.6)`],
    [`e2e at ${o.rate} msg/s, 3 replicas`, `latency ms ${JSON.stringify(e2e.latency_ms)}`, `${e2e.received}/${e2e.sent} received`],
    ...failovers.map((f) => [`failover, lease ${f.sessionTimeoutMs} ms`, `${f.failoverMs} ms`, `goal <= ${f.goalMs} ms`]),
  ];
  for (const row of table) process.stdout.write(`${row.join('  |  ')}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'cluster', cores: os.cpus().length, options: o, single, cluster: produce, ratio, e2e, failovers })}\n`);
}

main().catch((err: Error) => {
  process.stdout.write(`${JSON.stringify({ bench: 'cluster', error: err.message })}\n`);
  process.exit(1);
});
