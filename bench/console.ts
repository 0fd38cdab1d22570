// `npm run bench:console`: the console's page load times of issue 12 with 1,000 topics (2
// partitions each, 10 records each) and 100 consumer groups (each with committed offsets on 20
// partitions), on an in-process broker (memory store) started with its HTTP listener.
//
// For each page: the server's answer time measured with fetch (the whole HTML received), and,
// when Debian's chromium is installed, the browser's navigation time to the load event
// (playwright-core, /usr/bin/chromium). One warm-up, then the median and worst of 5 loads. The
// last stdout line is one JSON object with every figure.

import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startBroker } from '../src/broker.js';
import { KafkaClient, Producer, commitOffsets, createTopics } from '../src/client/index.js';

const TOPICS = Number(process.env.TOPICS ?? 1000);
const GROUPS = Number(process.env.GROUPS ?? 100);
const RUNS = 5;
const CHROMIUM = process.env.BROOK_CHROMIUM ?? '/usr/bin/chromium';

const stats = (xs: number[]): { medianMs: number; maxMs: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { medianMs: Math.round(s[Math.floor(s.length / 2)]! * 10) / 10, maxMs: Math.round(s[s.length - 1]! * 10) / 10 };
};

async function main(): Promise<void> {
  const broker = await startBroker({ host: '127.0.0.1', port: 0, httpPort: 0 });
  const client = new KafkaClient(broker.bootstrap, { clientId: 'bench-console' });
  try {
    const names = Array.from({ length: TOPICS }, (_, i) => `topic-${String(i).padStart(4, '0')}`);
    const t0 = performance.now();
    for (let i = 0; i < names.length; i += 100) await createTopics(client, names.slice(i, i + 100).map((name) => ({ name, partitions: 2 })));
    const producer = new Producer(client, { acks: 1, autoCreate: false });
    await Promise.all(names.map((n) => producer.send(n, Array.from({ length: 10 }, (_, j) => ({ key: Buffer.from(`k${j}`), value: Buffer.from(JSON.stringify({ n, j })) })))));
    for (let g = 0; g < GROUPS; g++) {
      const offsets = [];
      for (let k = 0; k < 10; k++) for (const partition of [0, 1]) offsets.push({ topic: names[(g * 10 + k) % TOPICS]!, partition, offset: 1n });
      await commitOffsets(client, `group-${String(g).padStart(3, '0')}`, offsets);
    }
    const setupMs = Math.round(performance.now() - t0);

    const pages: Record<string, string> = {
      'topics page (first 100 of 1,000)': '/console/topics',
      'topics page (500 at once, the cap)': '/console/topics?limit=500',
      'groups page (first 50 of 100)': '/console/groups',
      'groups page (all 100)': '/console/groups?limit=100',
      'topic page': '/console/topics/topic-0500',
      'message browser (10 records)': '/console/topics/topic-0500/messages?partition=0&offset=0',
      'group page': '/console/groups/group-050',
      'API /api/topics?limit=500': '/api/topics?limit=500',
      'API /api/groups?limit=100': '/api/groups?limit=100',
    };
    const server: Record<string, { medianMs: number; maxMs: number; bytes: number }> = {};
    for (const [label, path] of Object.entries(pages)) {
      let bytes = 0;
      const times: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const s = performance.now();
        const res = await fetch(`${broker.httpUrl}${path}`);
        const body = await res.text();
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
        bytes = body.length;
        if (i > 0) times.push(performance.now() - s);
      }
      server[label] = { ...stats(times), bytes };
    }

    let browser: Record<string, { medianMs: number; maxMs: number }> | string = `no chromium at ${CHROMIUM}`;
    if (existsSync(CHROMIUM)) {
      const { chromium } = await import('playwright-core');
      const b = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
      try {
        const page = await b.newPage();
        browser = {};
        for (const [label, path] of Object.entries(pages)) {
          if (path.startsWith('/api/')) continue;
          const times: number[] = [];
          for (let i = 0; i <= RUNS; i++) {
            await page.goto(`${broker.httpUrl}${path}`, { waitUntil: 'load' });
            // Runs in the page (a string: this project compiles without the DOM types).
            const nav = Number(await page.evaluate("(() => { const e = performance.getEntriesByType('navigation')[0]; return e.loadEventEnd - e.startTime; })()"));
            if (i > 0) times.push(nav);
          }
          browser[label] = stats(times);
        }
      } finally {
        await b.close();
      }
    }
    for (const [label, s] of Object.entries(server)) {
      const bs = typeof browser === 'string' ? undefined : browser[label];
      console.log(`${label.padEnd(38)} server ${String(s.medianMs).padStart(7)} ms median (max ${s.maxMs}), ${Math.round(s.bytes / 1024)} KiB${bs ? `; browser load ${bs.medianMs} ms median (max ${bs.maxMs})` : ''}`);
    }
    console.log(JSON.stringify({ topics: TOPICS, partitions: TOPICS * 2, groups: GROUPS, setupMs, server, browser }));
  } finally {
    client.close();
    await broker.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
