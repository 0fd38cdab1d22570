// The three-node cluster scenarios of `npm run compat` (issue 10): for each client that supports
// them, a fresh etcd and three CLI brokers (test/helpers/cluster.ts), then
// `run.sh cluster <bootstrap-list>`. The client drives its scenario and asks this side for the
// faults over a line protocol: it prints a control line on stdout, this side does it and answers
// one JSON line on the client's stdin.
//
//   {"control":"kill-leader","topic":T,"partition":P}   -> {"killed":<node id>}  (kill -9)
//   {"control":"kill-coordinator","group":G}            -> {"killed":<node id>}  (kill -9 of the
//                                                          leader of G's __consumer_offsets partition, found with FindCoordinator)
//   {"control":"restart"}                                -> {"restarted":[ids]}   (every killed broker
//                                                          started again on its port and data; answered once every partition's ISR is full again)
//
// Any other JSON line with a "scenario" is a result row, as in `run.sh scenarios`. Leaders and
// coordinators are looked up with Brook's own client, independently of the client under test.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KafkaClient } from '../src/client/client.js';
import { ProcessCluster } from '../test/helpers/cluster.js';
import { hasEtcd, NO_ETCD } from '../test/helpers/etcd.js';

/** Fast failure detection for a test (a broker's lease of 2 s instead of 9 s); Kafka's names. */
export const CLUSTER_CONFIG: Record<string, string> = {
  'broker.session.timeout.ms': '2000',
  'replica.lag.time.max.ms': '3000',
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '200',
  'auto.leader.rebalance.enable': 'false',
};

export interface ClusterRow {
  scenario: string;
  status: string;
  detail: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withClient<T>(c: ProcessCluster, fn: (k: KafkaClient) => Promise<T>): Promise<T> {
  // Only the live brokers: a killed one in the bootstrap list would cost a connect timeout.
  const live = [...c.brokers.values()].filter((b) => b.proc && b.proc.child.exitCode === null && b.proc.child.signalCode === null);
  const k = new KafkaClient(live.map((b) => `127.0.0.1:${b.port}`), { retries: 20, retryBackoffMs: 200, requestTimeoutMs: 5000 });
  try {
    return await fn(k);
  } finally {
    k.close();
  }
}

/** Polls until every partition of every topic has its full replica set in sync. */
async function waitFullIsr(c: ProcessCluster, timeoutMs: number): Promise<string | null> {
  const end = Date.now() + timeoutMs;
  let lagging = 'no metadata';
  while (Date.now() < end) {
    try {
      const md = await withClient(c, (k) => k.metadata(null));
      const behind = md.topics.flatMap((t) => t.partitions.filter((p) => p.isr.length < p.replicas.length || p.leader < 0).map((p) => `${t.name}-${p.partition} isr [${p.isr}] of [${p.replicas}]`));
      if (md.brokers.length === c.brokers.size && behind.length === 0) return null;
      lagging = `${md.brokers.length} brokers; ${behind.length} partitions behind: ${behind.slice(0, 3).join(', ')}`;
    } catch (e) {
      lagging = String(e);
    }
    await sleep(250);
  }
  return lagging;
}

async function handle(c: ProcessCluster, msg: Record<string, unknown>, killed: Set<number>, events: string[]): Promise<Record<string, unknown>> {
  switch (msg.control) {
    case 'kill-leader': {
      const topic = String(msg.topic);
      const partition = Number(msg.partition);
      const leader = await withClient(c, async (k) => (await k.metadata([topic])).topics[0]?.partitions.find((p) => p.partition === partition)?.leader ?? -1);
      if (leader < 0) return { error: `no leader for ${topic}-${partition}` };
      await c.stopBroker(leader, 'SIGKILL');
      killed.add(leader);
      events.push(`kill -9 broker ${leader} (leader of ${topic}-${partition})`);
      return { killed: leader };
    }
    case 'kill-coordinator': {
      const group = String(msg.group);
      const node = await withClient(c, (k) => k.coordinatorId(group, 0, true));
      await c.stopBroker(node, 'SIGKILL');
      killed.add(node);
      events.push(`kill -9 broker ${node} (coordinator of ${group})`);
      return { killed: node };
    }
    case 'restart': {
      const ids = [...killed].sort();
      for (const id of ids) await c.startBroker(id);
      killed.clear();
      const lag = await waitFullIsr(c, 60_000);
      events.push(`restarted ${ids.join(',')}${lag ? ` (ISR not full after 60 s: ${lag})` : ''}`);
      return lag ? { restarted: ids, error: `ISR not full after 60 s: ${lag}` } : { restarted: ids };
    }
    default:
      return { error: `unknown control ${String(msg.control)}` };
  }
}

/**
 * Runs `run.sh cluster` of one client against a fresh three-broker cluster. On a failed row (or
 * with BROOK_COMPAT_KEEP_LOGS=1) the brokers' and the client's logs are kept in a temp directory,
 * named in the last row's detail.
 */
export async function runClusterScenarios(script: string, timeoutMs: number): Promise<ClusterRow[]> {
  if (!hasEtcd) return [{ scenario: 'cluster', status: 'fail', detail: NO_ETCD }];
  const t0 = Date.now();
  let cluster: ProcessCluster;
  try {
    cluster = await ProcessCluster.start(3, { config: CLUSTER_CONFIG });
  } catch (e) {
    return [{ scenario: 'cluster', status: 'fail', detail: `cluster did not start: ${String(e).slice(0, 300)}` }];
  }
  const rows: ClusterRow[] = [];
  const events: string[] = [];
  let stderr = '';
  try {
    const child = spawn('bash', [script, 'cluster', cluster.bootstrap.join(',')], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {});
    const killed = new Set<number>();
    let queue = Promise.resolve();
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const t = line.trim();
      if (!t.startsWith('{')) return;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(t) as Record<string, unknown>;
      } catch {
        return;
      }
      if (typeof msg.control === 'string') {
        queue = queue.then(async () => {
          let answer: Record<string, unknown>;
          try {
            answer = await handle(cluster, msg, killed, events);
          } catch (e) {
            answer = { error: String(e) };
          }
          if (child.stdin.writable) child.stdin.write(`${JSON.stringify(answer)}\n`);
        });
      } else if (typeof msg.scenario === 'string') {
        rows.push({ scenario: msg.scenario, status: String(msg.status), detail: String(msg.detail ?? '') });
      }
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        stderr += `\ntimed out after ${timeoutMs} ms`;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, timeoutMs);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    await queue;
    if (code !== 0 || rows.length === 0) {
      rows.push({ scenario: 'cluster', status: 'fail', detail: `run.sh cluster exited ${code} after ${Date.now() - t0} ms: ${stderr.trim().split('\n').slice(-5).join(' | ')}` });
    }
  } finally {
    if (rows.some((r) => r.status === 'fail') || process.env.BROOK_COMPAT_KEEP_LOGS === '1') {
      const dir = mkdtempSync(join(tmpdir(), 'brook-compat-cluster-logs-'));
      for (const id of cluster.brokers.keys()) writeFileSync(join(dir, `broker-${id}.log`), cluster.logs(id));
      writeFileSync(join(dir, 'client-stderr.log'), stderr);
      writeFileSync(join(dir, 'events.log'), events.join('\n'));
      const last = rows.at(-1)!;
      last.detail += ` [logs: ${dir}]`;
    }
    await cluster.destroy();
  }
  process.stderr.write(`compat: cluster: ${events.join('; ')}\n`);
  return rows;
}
