// `npm run compat`: every stock client in compat-tests/<client>/ against a fresh Brook, then
// cross-client pairs; prints the matrix (with durations), writes RESULTS.md (without, so an
// unchanged outcome leaves the tracked file unchanged), ends with "N passed, N failed".
// The contract each client folder follows is in compat-tests/README.md.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker, type Broker } from '../src/broker.js';
import { runClusterScenarios } from './cluster.js';
import { withSecureBroker } from './security.js';

type Status = 'pass' | 'fail' | 'skip' | 'known';
interface Result {
  client: string;
  scenario: string;
  status: Status;
  detail: string;
}

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '../../compat-tests');
const SCENARIO_TIMEOUT_MS = Number(process.env.BROOK_COMPAT_TIMEOUT_MS ?? 240_000);
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Cross-client pairs: producer, codec, consumer. */
const PAIRS: Array<[string, string, string]> = [
  ['kcat', 'lz4', 'kafkajs'],
  ['kafkajs', 'gzip', 'kcat'],
  ['kafka-python', 'none', 'sarama'],
  ['confluent-kafka-python', 'snappy', 'kafka-python'],
  ['sarama', 'snappy', 'confluent-kafka-python'],
  ['kafka-go', 'gzip', 'kafkajs'],
  ['kafkajs', 'none', 'kafka-go'],
];

/** Clients with `run.sh cluster` (three brokers and etcd, leader and coordinator kills: cluster.ts). */
const CLUSTER_CLIENTS = ['kafkajs', 'confluent-kafka-python', 'kafka-python'];

/**
 * Clients with `run.sh security <spec.json>` (SSL, SASL PLAIN and SCRAM against one broker with
 * SSL, SASL_PLAINTEXT and SASL_SSL listeners: security.ts).
 */
const SECURITY_CLIENTS = ['kafkajs', 'kcat', 'confluent-kafka-python', 'kafka-python'];

/**
 * Pairs that cannot work because of a documented client limitation (FINDINGS.md): reported as
 * `known` with the reason, after checking the producer side still works.
 */
const PAIR_LIMITS: Array<{ consumer: string; codecs: string[]; reason: string }> = [
  { consumer: 'kafkajs', codecs: ['snappy', 'lz4', 'zstd'], reason: 'kafkajs ships only the gzip codec (KafkaJSNotImplemented), see FINDINGS.md' },
];

function clients(only: string[]): string[] {
  return readdirSync(HERE)
    .filter((d) => statSync(join(HERE, d)).isDirectory() && existsSync(join(HERE, d, 'run.sh')))
    .filter((d) => only.length === 0 || only.includes(d))
    .sort();
}

/**
 * Runs a client script without blocking the event loop: the broker under test lives in this
 * process, so a synchronous spawn would freeze it while the client waits for answers.
 */
function sh(script: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\ntimed out after ${timeoutMs} ms`;
      try {
        process.kill(-child.pid!, 'SIGKILL'); // the whole process group: bash and the client
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ code: -1, stdout, stderr: `${stderr}\n${err.message}` });
    });
  });
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

function parseJsonLines(out: string): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const line of out.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      rows.push(JSON.parse(t) as Record<string, unknown>);
    } catch {
      // not a result line
    }
  }
  return rows;
}

async function withBroker<T>(fn: (b: Broker) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'brook-compat-'));
  const broker = await startBroker({ dataDir: dir, logLevel: process.env.BROOK_COMPAT_LOG_LEVEL ?? 'silent' });
  try {
    return await fn(broker);
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function install(client: string): Promise<string | null> {
  if (process.env.BROOK_COMPAT_NO_INSTALL === '1') return null;
  const script = join(HERE, client, 'install.sh');
  if (!existsSync(script)) return null;
  const r = await sh(script, [], 900_000);
  return r.code === 0 ? null : `install.sh exited ${r.code}: ${lastLines(r.stderr || r.stdout)}`;
}

/**
 * A client that cannot be installed (or whose runner says it is missing) is a failure, not a
 * skip: the matrix would otherwise pass with a whole client silently absent. `skip` stays for a
 * scenario the installed client genuinely does not support.
 */
async function runClient(client: string): Promise<{ results: Result[]; installed: boolean }> {
  const installError = await install(client);
  if (installError) {
    const results: Result[] = [{ client, scenario: 'install', status: 'fail', detail: `client cannot be installed: ${installError}` }];
    process.stderr.write(`compat: ${client}: FAILED to install: ${installError}\n`);
    return { results, installed: false };
  }
  return withBroker(async (broker) => {
    const t0 = Date.now();
    const r = await sh(join(HERE, client, 'run.sh'), ['scenarios', broker.bootstrap], SCENARIO_TIMEOUT_MS);
    const rows = parseJsonLines(r.stdout).filter((x) => typeof x.scenario === 'string');
    const results = rows.map((x) => ({
      client,
      scenario: String(x.scenario),
      status: (['pass', 'fail', 'skip', 'known'].includes(String(x.status)) ? x.status : 'fail') as Status,
      detail: String(x.detail ?? ''),
    }));
    // A runner reporting itself as not runnable means the client is missing: a failure.
    const missing = results.some((x) => x.scenario === 'runner' && x.status !== 'pass');
    for (const x of results) if (x.scenario === 'runner' && x.status !== 'pass') x.status = 'fail';
    if (r.code !== 0 || results.length === 0) {
      results.push({ client, scenario: 'runner', status: 'fail', detail: `run.sh exited ${r.code} after ${Date.now() - t0} ms: ${lastLines(r.stderr || r.stdout)}` });
    }
    process.stderr.write(`compat: ${client}: ${results.filter((x) => x.status === 'pass').length}/${results.length} passed (${Date.now() - t0} ms)\n`);
    return { results, installed: !missing };
  });
}

async function runPair(producer: string, codec: string, consumer: string, available: Set<string>): Promise<Result> {
  const scenario = `cross: ${producer} -(${codec})-> ${consumer}`;
  const client = `${producer}→${consumer}`;
  const missing = [producer, consumer].filter((c) => !available.has(c));
  if (missing.length) return { client, scenario, status: 'fail', detail: `not run: ${missing.join(', ')} not installed` };
  return withBroker(async (broker) => {
    const topic = `cross-${codec}`;
    const created = broker.topics.create(topic, 3, 1, {});
    if (created.errorCode !== 0) return { client, scenario, status: 'fail', detail: `create topic: ${created.errorMessage}` };
    const p = await sh(join(HERE, producer, 'run.sh'), ['produce', broker.bootstrap, topic, codec], 120_000);
    const pj = parseJsonLines(p.stdout).at(-1);
    if (!pj?.ok) return { client, scenario, status: 'fail', detail: `produce: ${String(pj?.error ?? lastLines(p.stderr || p.stdout))}` };
    const limit = PAIR_LIMITS.find((l) => l.consumer === consumer && l.codecs.includes(codec));
    const c = await sh(join(HERE, consumer, 'run.sh'), ['consume', broker.bootstrap, topic, '20'], 120_000);
    const cj = parseJsonLines(c.stdout).at(-1);
    if (limit && !cj?.ok) return { client, scenario, status: 'known', detail: `produced; ${limit.reason}` };
    if (!cj?.ok) return { client, scenario, status: 'fail', detail: `consume: ${String(cj?.error ?? lastLines(c.stderr || c.stdout))}` };
    const got = new Set((cj.messages as Array<{ key: string; value: string }>).map((m) => `${m.key}=${m.value}`));
    const want = Array.from({ length: 20 }, (_, i) => `k${i}=v${i}-${codec}`);
    const missing = want.filter((w) => !got.has(w));
    return missing.length === 0
      ? { client, scenario, status: 'pass', detail: `${got.size} messages` }
      : { client, scenario, status: 'fail', detail: `missing ${missing.length}: ${missing.slice(0, 3).join(', ')}` };
  });
}

/** Rows of a runner's stdout as results; a row with an unknown status is a failure. */
function resultRows(client: string, stdout: string): Result[] {
  return parseJsonLines(stdout)
    .filter((x) => typeof x.scenario === 'string')
    .map((x) => ({
      client,
      scenario: String(x.scenario),
      status: (['pass', 'fail', 'skip', 'known'].includes(String(x.status)) ? x.status : 'fail') as Status,
      detail: String(x.detail ?? ''),
    }));
}

/**
 * The security phase: one broker with SSL, SASL_PLAINTEXT and SASL_SSL listeners (security.ts)
 * for every client in SECURITY_CLIENTS, each running `run.sh security <spec.json>`.
 */
async function runSecurityPhase(names: string[], available: Set<string>): Promise<Result[]> {
  const results: Result[] = [];
  try {
    await withSecureBroker(async (secure) => {
      for (const client of names) {
        const t0 = Date.now();
        if (!available.has(client)) {
          results.push({ client, scenario: 'security', status: 'fail', detail: `not run: ${client} not installed` });
          continue;
        }
        const r = await sh(join(HERE, client, 'run.sh'), ['security', secure.specFor(client)], SCENARIO_TIMEOUT_MS);
        const rows = resultRows(client, r.stdout);
        if (r.code !== 0 || rows.length === 0) {
          rows.push({ client, scenario: 'security', status: 'fail', detail: `run.sh security exited ${r.code} after ${Date.now() - t0} ms: ${lastLines(r.stderr || r.stdout)}` });
        }
        results.push(...rows);
        process.stderr.write(`compat: ${client} security: ${rows.filter((x) => x.status === 'pass').length}/${rows.length} passed (${Date.now() - t0} ms)\n`);
      }
    });
  } catch (err) {
    for (const client of names) results.push({ client, scenario: 'security', status: 'fail', detail: `secured broker: ${(err as Error).message}` });
  }
  return results;
}

/** A runner's per-scenario duration at the end of a detail: "(12 ms)", "(0.0 s)". */
const TIMING = /\s*\(\d+(?:\.\d+)? ?(?:ms|s)\)$/;

/**
 * The matrix as markdown. `timings: false` (RESULTS.md, a tracked file) leaves out per-run
 * durations so that a run with the same outcome leaves the file unchanged.
 */
function matrix(results: Result[], timings: boolean): string {
  const detail = (d: string): string => (timings ? d : d.replace(TIMING, ''));
  const clientsSeen = [...new Set(results.map((r) => r.client))];
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  const mark: Record<Status, string> = { pass: 'pass', fail: '**FAIL**', skip: 'skip', known: 'known' };
  const own = results.filter((r) => !r.scenario.startsWith('cross: '));
  const ownClients = clientsSeen.filter((c) => own.some((r) => r.client === c));
  const ownScenarios = scenarios.filter((s) => !s.startsWith('cross: '));
  const lines = [`| scenario | ${ownClients.join(' | ')} |`, `|---|${ownClients.map(() => '---').join('|')}|`];
  for (const s of ownScenarios) {
    const cells = ownClients.map((c) => {
      const r = own.find((x) => x.client === c && x.scenario === s);
      return r ? mark[r.status] : '';
    });
    lines.push(`| ${s} | ${cells.join(' | ')} |`);
  }
  const cross = results.filter((r) => r.scenario.startsWith('cross: '));
  if (cross.length) {
    lines.push('', '| cross-client | result | detail |', '|---|---|---|');
    for (const r of cross) lines.push(`| ${r.scenario.slice(7)} | ${mark[r.status]} | ${detail(r.detail)} |`);
  }
  const notes = results.filter((r) => r.status !== 'pass' && !r.scenario.startsWith('cross: '));
  if (notes.length) {
    lines.push('', '| client | scenario | status | detail |', '|---|---|---|---|');
    for (const r of notes) lines.push(`| ${r.client} | ${r.scenario} | ${r.status} | ${detail(r.detail).replace(/\|/g, '\\|').slice(0, 300)} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const names = clients(only);
  const results: Result[] = [];
  const t0 = Date.now();
  const available = new Set<string>();
  for (const c of names) {
    const r = await runClient(c);
    results.push(...r.results);
    if (r.installed) available.add(c);
  }
  for (const c of names.filter((n) => CLUSTER_CLIENTS.includes(n))) {
    const t1 = Date.now();
    const rows = available.has(c)
      ? await runClusterScenarios(join(HERE, c, 'run.sh'), SCENARIO_TIMEOUT_MS)
      : [{ scenario: 'cluster', status: 'fail', detail: `not run: ${c} not installed` }];
    for (const x of rows) {
      const status = (['pass', 'fail', 'skip', 'known'].includes(x.status) ? x.status : 'fail') as Status;
      results.push({ client: c, scenario: x.scenario, status, detail: x.detail });
    }
    process.stderr.write(`compat: ${c} cluster: ${rows.filter((x) => x.status === 'pass').length}/${rows.length} passed (${Date.now() - t1} ms)\n`);
  }
  const security = names.filter((n) => SECURITY_CLIENTS.includes(n));
  if (security.length) results.push(...(await runSecurityPhase(security, available)));
  for (const [p, codec, c] of PAIRS) {
    if (only.length && !(only.includes(p) && only.includes(c))) continue;
    if (!CODECS.includes(codec)) continue;
    results.push(await runPair(p, codec, c, available));
  }
  const passed = results.filter((r) => r.status === 'pass').length;
  const failed = results.filter((r) => r.status === 'fail').length;
  const skipped = results.filter((r) => r.status === 'skip' || r.status === 'known').length;
  const seconds = ((Date.now() - t0) / 1000).toFixed(0);
  if (only.length === 0) {
    // No date or durations in the tracked file: they are printed below instead.
    writeFileSync(
      join(HERE, 'RESULTS.md'),
      `# compat-tests results\n\nGenerated by \`npm run compat\`. ` +
        `pass = works; known = client limitation documented in FINDINGS.md; skip = the client has no such feature; ` +
        `a client that cannot be installed is a failure.\n\n${matrix(results, false)}\n\n${passed} passed, ${failed} failed, ${skipped} skipped\n`,
    );
  }
  process.stdout.write(`${matrix(results, true)}\n\n`);
  process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped (${seconds} s)\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
