// The README's console screenshots, taken from a broker with demo data (JSON orders with keys and
// headers, a consumer group behind by a few records, traffic for the throughput chart) in headless
// chromium. Every run checks that each page shows that data and saves its screenshot under
// test-artifacts/console/readme/; `npm run screenshots` (BROOK_UPDATE_SCREENSHOTS=1) writes them
// to test/console/screenshots/, where the README shows them from. A last check: every image the
// README names exists.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Consumer, Producer } from 'kafkajs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import { kafkaFor, startTestBroker, waitFor } from '../helpers/broker.js';

const CHROMIUM = process.env.BROOK_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const COMMITTED = join(process.cwd(), 'test', 'console', 'screenshots');
const OUT = process.env.BROOK_UPDATE_SCREENSHOTS ? COMMITTED : join(process.cwd(), 'test-artifacts', 'console', 'readme');

const ITEMS = ['tea', 'cake', 'scones', 'jam', 'butter', 'bread', 'honey', 'milk'];

describe.skipIf(!hasChromium && !process.env.CI)('README screenshots of the console', () => {
  let broker: Broker;
  let base: string;
  let browser: Browser;
  let page: Page;
  let producer: Producer;
  let consumer: Consumer;
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    broker = await startTestBroker({ httpPort: 0 });
    base = broker.httpUrl!;
    const kafka = kafkaFor(broker);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'orders', numPartitions: 3 },
        { topic: 'payments', numPartitions: 2 },
        { topic: 'clicks', numPartitions: 6 },
        { topic: 'customers', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      ],
    });
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'orders',
      messages: Array.from({ length: 24 }, (_, i) => ({
        key: `customer-${(i % 5) + 1}`,
        value: JSON.stringify({ order: 1000 + i, item: ITEMS[i % ITEMS.length], qty: (i % 3) + 1, paid: i % 4 !== 0 }),
        headers: { source: 'web-shop', 'trace-id': `4bf92f35${String(i).padStart(4, '0')}` },
      })),
    });
    await producer.send({ topic: 'customers', messages: [1, 2, 3, 4, 5].map((n) => ({ key: `customer-${n}`, value: JSON.stringify({ name: `Customer ${n}`, tier: n % 2 ? 'gold' : 'basic' }) })) });
    await producer.send({ topic: 'payments', messages: Array.from({ length: 10 }, (_, i) => ({ key: `order-${1000 + i}`, value: `paid ${(i + 1) * 3}.50 EUR` })) });
    // A group that has read the orders so far and then stopped fetching: stable, one member, behind.
    consumer = kafka.consumer({ groupId: 'billing' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    let seen = 0;
    await consumer.run({ autoCommitInterval: 100, eachMessage: async () => void seen++ });
    await waitFor(() => seen >= 24, 20_000, 50, '24 orders read');
    consumer.pause([{ topic: 'orders' }]);
    await new Promise((r) => setTimeout(r, 300)); // the auto-commit of the last offsets
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await consumer?.disconnect();
    await producer?.disconnect();
    await broker?.close();
  });

  async function shot(path: string, name: string, shows: string[]): Promise<void> {
    const res = await page.goto(`${base}${path}`);
    expect(res?.status(), path).toBe(200);
    const text = await page.locator('main').innerText();
    for (const s of shows) expect(text, path).toContain(s);
    await page.screenshot({ path: join(OUT, `${name}.png`) });
  }

  it('overview with traffic in the throughput chart', async () => {
    // Traffic while the page takes its readings (every 3 s): the chart has a line to draw.
    await page.goto(`${base}/console`);
    const until = Date.now() + 7000;
    let n = 0;
    while (Date.now() < until) {
      await producer.send({ topic: 'clicks', messages: Array.from({ length: 50 }, (_, i) => ({ key: `session-${i % 7}`, value: `{"page":"/item/${n++ % 40}"}` })) });
      await new Promise((r) => setTimeout(r, 100));
    }
    await expect.poll(() => page.locator('#throughput-chart').getAttribute('aria-label'), { timeout: 10_000 }).toMatch(/over the last [3-9] readings/);
    expect(await page.locator('main').innerText()).toContain('Cluster overview');
    await page.screenshot({ path: join(OUT, 'overview.png') });
  }, 30_000);

  it('topics, a topic, its messages, the groups and a group', async () => {
    await shot('/console/topics', 'topics', ['orders', 'payments', 'clicks', 'customers']);
    await shot('/console/topics/orders', 'topic', ['Partitions', 'cleanup.policy']);
    await shot('/console/topics/orders/messages?partition=0&offset=0&limit=6', 'messages', ['"item": ', 'web-shop']);
    // The group is behind by the orders produced after it paused.
    await producer.send({ topic: 'orders', messages: Array.from({ length: 7 }, (_, i) => ({ key: `customer-${i + 1}`, value: JSON.stringify({ order: 2000 + i, item: 'tea', qty: 1, paid: true }) })) });
    await waitFor(async () => (await (await fetch(`${base}/api/groups/billing`)).json() as { state?: string }).state === 'Stable', 10_000, 100, 'billing stable');
    await shot('/console/groups', 'groups', ['billing', 'Stable']);
    await shot('/console/groups/billing', 'group', ['billing', 'orders']);
    expect(problems).toEqual([]);
  }, 30_000);

  it('live tail shows records as they are produced', async () => {
    await page.goto(`${base}/console/topics/payments/tail`);
    await page.locator('#tail[data-ready="1"]').waitFor();
    for (let i = 0; i < 6; i++) await producer.send({ topic: 'payments', messages: [{ key: `order-${2000 + i}`, value: JSON.stringify({ amount: 4.5 + i, currency: 'EUR' }) }] });
    await expect.poll(() => page.locator('#tail-rows tr').count(), { timeout: 10_000 }).toBe(6);
    await page.screenshot({ path: join(OUT, 'tail.png') });
    expect(problems).toEqual([]);
  });

  it('the README shows only screenshots that exist', () => {
    const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
    const images = [...readme.matchAll(/\]\(([^)\s]+\.png)\)/g)].map((m) => m[1]!);
    expect(images).toEqual(expect.arrayContaining(['overview', 'topics', 'topic', 'messages', 'groups', 'group', 'tail'].map((n) => `test/console/screenshots/${n}.png`)));
    for (const img of images) expect(existsSync(join(process.cwd(), img)), img).toBe(true);
  });
});
