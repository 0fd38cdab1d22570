// Medians over several `npm run bench` outputs (the JSON last line of each file), as a markdown
// table. Phases measured while other processes used more than --max-other of the machine's CPU
// (the bench's "other %" column) are left out of the medians; n says how many samples remain.
//
//   node dist/bench/summarize.js run1.txt run2.txt run3.txt [--max-other 0.05]

import { readFileSync } from 'node:fs';

interface Phase {
  msgs: number;
  msgsPerSec: number;
  payloadMBps: number;
  wireMBps: number;
  serverCpuUsPerMsg: number;
  serverSysShare: number;
  clientCpuUsPerMsg: number;
  otherCpuShare?: number;
}

interface Result {
  error?: string;
  config?: { sizes: number[] };
  startup?: Array<{ store: string; medianMs: number; idleRssMB: number }>;
  runs?: Array<{ store: string; valueBytes: number; idleRssMB: number; rssAfterProduceMB?: number; rssAfterFetchMB?: number; produce?: Phase; fetch?: Phase }>;
  loopback?: Array<{ valueBytes: number; produce: Phase; fetch?: Phase }>;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function main(): void {
  const args = process.argv.slice(2);
  let maxOther = 0.05;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--max-other') maxOther = Number(args[++i]);
    else files.push(args[i]!);
  }
  if (files.length === 0) {
    process.stderr.write('usage: node dist/bench/summarize.js FILE... [--max-other 0.05]\n');
    process.exit(2);
  }
  const results: Result[] = files.map((f) => {
    const lines = readFileSync(f, 'utf8').trim().split('\n');
    const r = JSON.parse(lines[lines.length - 1]!) as Result;
    if (r.error) throw new Error(`${f}: failed run: ${r.error}`);
    return r;
  });

  const out: string[] = [];
  const startups = new Map<string, { ms: number[]; rss: number[] }>();
  for (const r of results) {
    for (const s of r.startup ?? []) {
      const e = startups.get(s.store) ?? { ms: [], rss: [] };
      e.ms.push(s.medianMs);
      e.rss.push(s.idleRssMB);
      startups.set(s.store, e);
    }
  }
  if (startups.size) {
    out.push('| startup (spawn → first Metadata answer) | median ms | idle RSS MiB | runs |', '|---|---:|---:|---:|');
    for (const [store, e] of startups) out.push(`| ${store} | ${median(e.ms).toFixed(0)} | ${median(e.rss).toFixed(1)} | ${e.ms.length} |`);
    out.push('');
  }

  type Row = { key: string; samples: Phase[]; rss: number[]; dropped: number };
  const rows = new Map<string, Row>();
  const add = (key: string, p: Phase | undefined, rss?: number): void => {
    if (!p) return;
    const row = rows.get(key) ?? { key, samples: [], rss: [], dropped: 0 };
    if ((p.otherCpuShare ?? 0) > maxOther) row.dropped++;
    else {
      row.samples.push(p);
      if (rss !== undefined) row.rss.push(rss);
    }
    rows.set(key, row);
  };
  const sizes = results[0]?.config?.sizes ?? [];
  for (const size of sizes) {
    for (const r of results) {
      for (const run of (r.runs ?? []).filter((x) => x.valueBytes === size)) {
        add(`produce | brook ${run.store} | ${size}`, run.produce, run.rssAfterProduceMB);
        add(`fetch | brook ${run.store} | ${size}`, run.fetch, run.rssAfterFetchMB);
      }
      for (const lb of (r.loopback ?? []).filter((x) => x.valueBytes === size)) {
        add(`produce | loopback sink | ${size}`, lb.produce);
        add(`fetch | loopback sink | ${size}`, lb.fetch);
      }
    }
  }
  // Keep the bench's row order: per size, brook stores then loopback, produce before fetch.
  const order = (k: string): string => {
    const [phase, server, size] = k.split(' | ');
    const rank = server === 'brook memory' ? 0 : server === 'brook file' ? 1 : 2;
    return `${size!.padStart(8, '0')} ${rank} ${phase === 'produce' ? 0 : 1}`;
  };
  out.push(
    '| phase | server | value B | msgs/s | MB/s | server CPU µs/msg | sys % | client CPU µs/msg | RSS MiB | n |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const row of [...rows.values()].sort((a, b) => order(a.key).localeCompare(order(b.key)))) {
    const [phase, server, size] = row.key.split(' | ');
    const m = (f: (p: Phase) => number): number => median(row.samples.map(f));
    out.push(
      `| ${phase} | ${server} | ${size} | ${Math.round(m((p) => p.msgsPerSec)).toLocaleString('en-US')} | ${m((p) => p.payloadMBps).toFixed(0)} | ` +
        `${m((p) => p.serverCpuUsPerMsg).toFixed(2)} | ${(m((p) => p.serverSysShare) * 100).toFixed(0)} | ${m((p) => p.clientCpuUsPerMsg).toFixed(2)} | ` +
        `${row.rss.length ? median(row.rss).toFixed(0) : ''} | ${row.samples.length}${row.dropped ? ` (${row.dropped} dropped)` : ''} |`,
    );
  }
  process.stdout.write(out.join('\n') + '\n');
}

main();
