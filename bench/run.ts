// `npm run bench`: Brook's own load generator. See bench/README.md.
//
// The broker runs as a separate child process (`node dist/src/cli/brook.cjs start ...`, the bundled command), once with
// --memory and once with --data-dir <tmp>, so that its CPU time can be read from /proc. For each
// record size: pipelined raw Produce v7 of prepared batches, then Fetch v11 of everything, then
// the same traffic replayed against a trivial loopback sink (the floor cost of moving the bytes
// through Node sockets). Plus startup time and RSS, and consumer-group join / rebalance times
// with kafkajs consumers (bench/group.ts). Table first, one JSON object as the last line.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RawClient } from '../src/client/raw-client.js';
import { defaultGroupConfigs, runGroupPhase, type GroupResult } from './group.js';
import { parseOptions, type Options, type Store } from './options.js';
import {
  BenchFailure,
  CLIENT_ID,
  FETCH_VERSION,
  PRODUCE_VERSION,
  createTopic,
  replayFetch,
  replayProduce,
  round,
  runFetch,
  runProduce,
  startOnce,
  waitReady,
  type FetchOutcome,
  type PhaseResult,
  type ProduceOutcome,
  type ProducePlan,
} from './phases.js';
import { HOST, clockTicks, freePort, killAll, rssBytes, sleep, spawnBroker, spawnSink } from './proc.js';

interface StartupFigures {
  store: Store;
  samplesMs: number[];
  medianMs: number;
  idleRssMB: number;
}

interface BrokerRun {
  store: Store;
  valueBytes: number;
  idleRssMB: number;
  rssAfterProduceMB?: number;
  rssAfterFetchMB?: number;
  produce?: PhaseResult & { batchBytes: number; requestFrameBytes: number };
  fetch?: PhaseResult & { responseFrameBytesAvg: number };
}

interface LoopbackRun {
  valueBytes: number;
  produce: PhaseResult;
  fetch?: PhaseResult;
}

const MB = 1024 * 1024;
const log = (s: string): void => void process.stderr.write(s + '\n');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Data directories of file-store brokers, removed at exit even after a failure. */
const dataDirs = new Set<string>();

function newDataDir(opts: Options): string {
  const dir = mkdtempSync(join(opts.tmpDir ?? tmpdir(), 'brook-bench-'));
  dataDirs.add(dir);
  return dir;
}

function cleanup(): void {
  killAll();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
}

async function measureStartup(opts: Options, store: Store): Promise<StartupFigures> {
  const samples: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < opts.starts; i++) {
    const dir = store === 'file' ? newDataDir(opts) : undefined;
    try {
      const s = await startOnce(await freePort(), dir);
      samples.push(round(s.readyMs, 1));
      rss.push(s.idleRssBytes);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }
  const f = { store, samplesMs: samples, medianMs: round(median(samples), 1), idleRssMB: round(median(rss) / MB, 1) };
  log(`startup ${store}: median ${f.medianMs} ms (${samples.join(', ')}), idle RSS ${f.idleRssMB} MiB`);
  return f;
}

async function brokerRun(
  opts: Options,
  store: Store,
  valueBytes: number,
  msgs: number,
): Promise<{ run: BrokerRun; produce?: ProduceOutcome; fetch?: FetchOutcome; plan: ProducePlan }> {
  const port = await freePort();
  const dir = store === 'file' ? newDataDir(opts) : undefined;
  const profName = `broker-${store}-${valueBytes}B-${Date.now()}`;
  const nodeArgs = [
    ...opts.brokerNodeArgs,
    ...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir, '--cpu-prof-name', `${profName}.cpuprofile`] : []),
  ];
  const outputFile = opts.brokerOutputDir ? join(opts.brokerOutputDir, `${profName}.log`) : undefined;
  // Phase windows on the CLOCK_MONOTONIC µs scale of V8 profiles (profile-summary --phase).
  const windows: Record<string, [number, number]> = {};
  const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
  const t0 = performance.now();
  const child = spawnBroker({ port, dataDir: dir, nodeArgs, outputFile });
  const topic = `bench-${store}-${valueBytes}b`;
  const plan: ProducePlan = {
    topic,
    partitions: opts.partitions,
    valueBytes,
    msgs,
    batch: opts.batch,
    conns: opts.conns,
    inFlight: opts.inFlight,
    timeoutS: opts.timeoutS,
  };
  let admin: RawClient | undefined;
  try {
    await waitReady(child, port, t0);
    await sleep(300);
    const run: BrokerRun = { store, valueBytes, idleRssMB: round(rssBytes(child.pid) / MB, 1) };
    admin = await RawClient.connect(HOST, port, CLIENT_ID);
    await createTopic(admin, topic, opts.partitions);
    let produce: ProduceOutcome | undefined;
    let fetch: FetchOutcome | undefined;
    if (!opts.skip.has('produce')) {
      log(`${store} ${valueBytes} B: producing ${msgs} messages ...`);
      const w0 = nowUs();
      produce = await runProduce(port, child.pid, admin, plan);
      windows['produce'] = [w0, nowUs()];
      run.produce = { ...produce.result, batchBytes: produce.batchBytes, requestFrameBytes: produce.requestFrameBytes };
      run.rssAfterProduceMB = round(rssBytes(child.pid) / MB, 1);
      log(`  produce: ${fmtInt(produce.result.msgsPerSec)} msgs/s, broker ${produce.result.serverCpuUsPerMsg} µs/msg`);
    }
    if (produce && !opts.skip.has('fetch')) {
      const w0 = nowUs();
      fetch = await runFetch(port, child.pid, admin, {
        topic,
        valueBytes,
        perPartition: produce.perPartition,
        batch: opts.batch,
        batchBytes: produce.batchBytes,
        conns: opts.fetchConns,
        partitionMaxBytes: opts.partitionMaxBytes,
        maxBytes: opts.maxBytes,
        verifyCrc: opts.verifyCrc,
        timeoutS: opts.timeoutS,
      });
      windows['fetch'] = [w0, nowUs()];
      const all = fetch.exchanges.flat();
      run.fetch = { ...fetch.result, responseFrameBytesAvg: Math.round(all.reduce((s, [, b]) => s + b, 0) / Math.max(1, all.length)) };
      run.rssAfterFetchMB = round(rssBytes(child.pid) / MB, 1);
      log(`  fetch:   ${fmtInt(fetch.result.msgsPerSec)} msgs/s, broker ${fetch.result.serverCpuUsPerMsg} µs/msg`);
    }
    return { run, produce, fetch, plan };
  } finally {
    admin?.close();
    const code = await child.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (opts.cpuProfDir) writeFileSync(join(opts.cpuProfDir, `${profName}.phases.json`), JSON.stringify(windows) + '\n');
    if (code !== 0) throw new BenchFailure(`broker exited with ${code}:\n${child.output()}`);
    if (child.output() && !opts.brokerNodeArgs.length) log(`broker ${store} ${valueBytes} B wrote (log level warn):\n${child.output()}`);
  }
}

async function loopbackRun(plan: ProducePlan, produce: ProduceOutcome, fetch: FetchOutcome | undefined, opts: Options): Promise<LoopbackRun> {
  const { child, port } = await spawnSink();
  try {
    const p = await replayProduce(port, child.pid, plan, produce.templates, produce.responseFrameBytes);
    log(`  loopback ${plan.valueBytes} B produce replay: ${p.payloadMBps} MB/s, sink ${p.serverCpuUsPerMsg} µs/msg`);
    let f: PhaseResult | undefined;
    if (fetch) {
      f = await replayFetch(port, child.pid, fetch.exchanges, fetch.result.msgs, plan.valueBytes, opts.timeoutS);
      log(`  loopback ${plan.valueBytes} B fetch replay:   ${f.payloadMBps} MB/s, sink ${f.serverCpuUsPerMsg} µs/msg`);
    }
    return { valueBytes: plan.valueBytes, produce: p, fetch: f };
  } finally {
    await child.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// output

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}

function sizeLabel(b: number): string {
  return b % 1024 === 0 ? `${b / 1024} KiB` : `${b} B`;
}

function phaseRow(phase: string, who: string, valueBytes: number, r: PhaseResult, rss?: number): string[] {
  return [
    phase,
    who,
    sizeLabel(valueBytes),
    fmtInt(r.msgs),
    r.seconds.toFixed(2),
    fmtInt(r.msgsPerSec),
    r.payloadMBps.toFixed(1),
    r.wireMBps.toFixed(1),
    r.serverCpuUsPerMsg.toFixed(3),
    (r.serverSysShare * 100).toFixed(0),
    r.clientCpuUsPerMsg.toFixed(3),
    (r.otherCpuShare * 100).toFixed(0),
    rss === undefined ? '' : rss.toFixed(0),
  ];
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2), process.env);
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const started = performance.now();
  log(
    `brook bench: node ${process.version}, ${cpus().length} CPUs, CLK_TCK ${clockTicks()}; ${opts.partitions} partitions, ` +
      `batches of ${opts.batch} records, ${opts.conns} conn(s) x ${opts.inFlight} in flight` +
      (opts.quick ? ' (quick)' : ''),
  );

  const startup: StartupFigures[] = [];
  if (!opts.skip.has('startup')) for (const store of opts.stores) startup.push(await measureStartup(opts, store));

  const runs: BrokerRun[] = [];
  const loopback: LoopbackRun[] = [];
  if (!opts.skip.has('produce')) {
    for (let i = 0; i < opts.sizes.length; i++) {
      const valueBytes = opts.sizes[i]!;
      let replay: { plan: ProducePlan; produce: ProduceOutcome; fetch?: FetchOutcome } | undefined;
      for (const store of opts.stores) {
        const r = await brokerRun(opts, store, valueBytes, opts.msgs[i]!);
        runs.push(r.run);
        if (!replay && r.produce) replay = { plan: r.plan, produce: r.produce, fetch: r.fetch };
      }
      if (replay && !opts.skip.has('loopback')) loopback.push(await loopbackRun(replay.plan, replay.produce, replay.fetch, opts));
    }
  }

  let group: GroupResult[] = [];
  if (!opts.skip.has('group')) {
    group = await runGroupPhase({
      partitions: opts.partitions,
      consumers: 4,
      repeats: opts.groupRuns,
      configs: defaultGroupConfigs(),
      timeoutS: Math.min(opts.timeoutS, 120),
    });
  }

  // ---- table ----
  const out: string[] = [];
  out.push('');
  out.push(
    `Brook bench — node ${process.version}, ${cpus().length} CPUs; topic of ${opts.partitions} partitions; ` +
      `Produce v${PRODUCE_VERSION} acks=1, ${opts.batch} records/batch, ${opts.conns} conn x ${opts.inFlight} in flight; ` +
      `Fetch v${FETCH_VERSION}, ${opts.fetchConns} conn, 1 MiB/partition`,
  );
  if (startup.length) {
    out.push('');
    out.push(
      table([
        ['startup', 'store', '', 'median ms', 'samples ms', 'idle RSS MiB'],
        ...startup.map((s) => ['spawn -> Metadata', s.store, '', s.medianMs.toFixed(1), s.samplesMs.map((x) => x.toFixed(0)).join(' '), s.idleRssMB.toFixed(1)]),
      ]),
    );
  }
  if (runs.length) {
    const rows: string[][] = [
      ['phase', 'server', 'value', 'msgs', 'seconds', 'msgs/s', 'MB/s', 'wire MB/s', 'server CPU µs/msg', 'sys %', 'client CPU µs/msg', 'other %', 'RSS MiB'],
    ];
    for (let i = 0; i < opts.sizes.length; i++) {
      const size = opts.sizes[i]!;
      for (const r of runs.filter((x) => x.valueBytes === size)) {
        if (r.produce) rows.push(phaseRow('produce', `brook ${r.store}`, size, r.produce, r.rssAfterProduceMB));
        if (r.fetch) rows.push(phaseRow('fetch', `brook ${r.store}`, size, r.fetch, r.rssAfterFetchMB));
      }
      const lb = loopback.find((x) => x.valueBytes === size);
      if (lb) {
        rows.push(phaseRow('produce', 'loopback sink', size, lb.produce));
        if (lb.fetch) rows.push(phaseRow('fetch', 'loopback sink', size, lb.fetch));
      }
    }
    out.push('');
    out.push(table(rows));
    out.push('');
    out.push(
      'MB/s = record value bytes / 1e6 per second; wire MB/s = all socket bytes both ways. Server CPU = utime+stime of the ' +
        'broker (or sink) process from /proc during the phase, sys % its kernel share; client CPU = this load generator; other % = CPU of other processes (share of all CPUs: ' +
        'above ~5% the figures are contaminated). RSS after the phase.',
    );
    const idle = runs.map((r) => `${r.store} ${sizeLabel(r.valueBytes)} ${r.idleRssMB}`).join(', ');
    out.push(`Idle RSS of the phase brokers before traffic (MiB): ${idle}`);
  }
  if (group.length) {
    const ms = (xs: number[]): string => xs.map((x) => String(x)).join(' ');
    out.push('');
    out.push(
      table([
        ['group config', 'heartbeat / maxWait ms', 'broker', 'join median ms', 'join samples', 'leave median ms', 'leave samples', 'disconnect->LeaveGroup ms'],
        ...group.map((g) => [
          g.config.name,
          `${g.config.heartbeatIntervalMs}${g.config.heartbeatMs === undefined ? '*' : ''} / ${g.config.maxWaitTimeMs}${g.config.maxWaitMs === undefined ? '*' : ''}`,
          g.config.brokerSet.length ? g.config.brokerSet.join(' ') : 'defaults',
          g.joinMedianMs.toFixed(0),
          ms(g.samples.map((s) => s.joinMs)),
          g.leaveMedianMs.toFixed(0),
          ms(g.samples.map((s) => s.leaveMs)),
          ms(g.samples.map((s) => s.disconnectToLeaveMs)),
        ]),
      ]),
    );
    out.push('');
    out.push(
      `Consumer groups: ${opts.partitions} partitions, 4 kafkajs consumers in one group, fresh memory-store broker per config, ` +
        `${opts.groupRuns} run(s) each (* = kafkajs default). join = consumers start connecting -> group Stable with every partition ` +
        'owned exactly once (GROUP_JOIN events + DescribeGroups); leave = LeaveGroup sent by one member -> the 3 others own every partition. ' +
        'kafkajs heartbeats (and so learns of a rebalance) only between fetch long-polls, so maxWait (default 5000 ms), not the ' +
        'heartbeat interval, bounds both figures; Brook group.initial.rebalance.delay.ms defaults to 100 (Kafka: 3000), extended while members arrive.',
    );
    for (const g of group) for (const a of g.anomalies) out.push(`group ${g.config.name}: ${a}`);
  }
  out.push(`Total bench time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(out.join('\n') + '\n');

  const json = {
    bench: 'brook',
    version: pkg.version,
    node: process.version,
    cpus: cpus().length,
    clkTck: clockTicks(),
    config: {
      quick: opts.quick,
      partitions: opts.partitions,
      recordsPerBatch: opts.batch,
      produceVersion: PRODUCE_VERSION,
      fetchVersion: FETCH_VERSION,
      acks: 1,
      conns: opts.conns,
      inFlight: opts.inFlight,
      fetchConns: opts.fetchConns,
      partitionMaxBytes: opts.partitionMaxBytes,
      maxBytes: opts.maxBytes,
      sizes: opts.sizes,
      msgs: opts.msgs,
      starts: opts.starts,
      groupRuns: opts.groupRuns,
    },
    startup,
    runs,
    loopback,
    group,
    totalSeconds: round((performance.now() - started) / 1000, 1),
  };
  process.stdout.write(JSON.stringify(json) + '\n');
}

process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanup();
    process.stderr.write(`\nbench interrupted (${sig})\n`);
    process.exit(130);
  });
}
main().then(
  () => process.exit(0),
  (err: unknown) => {
    cleanup();
    const e = err as Error;
    process.stderr.write(`\nBENCH FAILED: ${e instanceof BenchFailure ? e.message : (e?.stack ?? String(err))}\n`);
    process.stdout.write(JSON.stringify({ bench: 'brook', error: e?.message ?? String(err) }) + '\n');
    process.exit(1);
  },
);
