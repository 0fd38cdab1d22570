// The web console in a real headless browser: Debian's chromium (.ci/run installs it) driven by
// playwright-core (never downloads a browser: executablePath points at the system one). Pages
// load without console errors, show what a kafkajs producer wrote, create a topic, produce, tail,
// and reset a group's offsets so that a kafkajs consumer re-reads from there. Each page's
// screenshot is saved under test-artifacts/console/ (gitignored).
//
// Skipped when chromium is absent locally (like the kcat tests); in CI (CI set) it fails instead.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import { kafkaFor, startTestBroker, waitFor } from '../helpers/broker.js';

export const CHROMIUM = process.env.BROOK_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');

describe.skipIf(!hasChromium && !process.env.CI)('web console in headless chromium', () => {
  let broker: Broker;
  let base: string;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    broker = await startTestBroker({ httpPort: 0 });
    base = broker.httpUrl!;
    const kafka = kafkaFor(broker);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'shop', numPartitions: 1 }, { topic: 'live' }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'shop',
      messages: [
        { key: 'order-1', value: JSON.stringify({ id: 1, item: 'tea', qty: 2 }), headers: { origin: 'kafkajs' } },
        { key: 'blob', value: Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x7f, 0x80]) },
        { key: 'html', value: '<img src=x onerror=alert(1)>' },
        { key: 'order-2', value: JSON.stringify({ id: 2, item: 'cake' }) },
        { key: 'order-3', value: 'last' },
      ],
    });
    await producer.disconnect();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await broker?.close();
  });

  beforeEach(async () => {
    problems = [];
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
  });

  afterEach(async () => {
    await page.close();
    expect(problems).toEqual([]);
  });

  async function open(path: string, shot: string): Promise<void> {
    const res = await page.goto(`${base}${path}`);
    expect(res?.status(), path).toBe(200);
    await page.screenshot({ path: join(ARTIFACTS, `${shot}.png`), fullPage: true });
  }

  it('loads every page without errors, with headings and navigation', async () => {
    await open('/console', 'overview');
    expect(await page.locator('h1').textContent()).toBe('Cluster overview');
    await expect.poll(() => page.locator('table tbody tr').count()).toBe(1);
    expect(await page.locator('nav[aria-label="Main"] a[aria-current="page"]').textContent()).toBe('Overview');
    // The throughput chart draws its first reading at once (the page's own read is the first).
    await expect.poll(() => page.locator('#line-in').getAttribute('points'), { timeout: 5000 }).toMatch(/^\d/);
    expect(await page.locator('#throughput-chart').getAttribute('aria-label')).toMatch(/over the last 1 readings/);
    await open('/console/topics', 'topics');
    await open('/console/topics/shop', 'topic');
    await open('/console/topics/shop/messages?partition=0&offset=0', 'messages');
    await open('/console/topics/shop/delete', 'delete-topic');
    await open('/console/topics/live/tail', 'tail');
    await open('/console/groups', 'groups');
    // Every table header cell says what it heads.
    for (const path of ['/console', '/console/topics', '/console/topics/shop', '/console/groups']) {
      await page.goto(`${base}${path}`);
      expect(await page.locator('thead th:not([scope])').count(), path).toBe(0);
      expect(await page.locator('h1').count(), path).toBe(1);
      // Every form control has a label.
      const unlabeled = await page.$$eval('input:not([type=hidden]):not([type=radio]), select, textarea', (els) =>
        els.filter((e) => !(e as HTMLInputElement).labels?.length && !e.getAttribute('aria-label')).map((e) => e.outerHTML),
      );
      expect(unlabeled, path).toEqual([]);
    }
    // An unknown topic is a 404 page, not an error in the browser.
    const res = await page.goto(`${base}/console/topics/nope`);
    expect(res?.status()).toBe(404);
    expect(await page.locator('[role=alert]').textContent()).toContain('nope');
    // The browser reports that 404 as a failed resource: the one expected problem.
    expect(problems).toEqual([expect.stringContaining('404')]);
    problems = [];
  });

  it('shows what a kafkajs producer wrote: the topic list and the messages (JSON pretty-printed, binary as hex, HTML escaped)', async () => {
    await page.goto(`${base}/console/topics`);
    const row = page.locator('tbody tr', { has: page.locator('th', { hasText: /^shop$/ }) });
    expect(await row.locator('td').allTextContents()).toEqual(['1', '1', '5', 'messages · tail']);

    await page.goto(`${base}/console/topics/shop`);
    const p0 = await page.locator('tbody').first().locator('tr').first().locator('th, td').allTextContents();
    // partition, earliest, latest, messages, leader, replicas, ISR, size
    expect(p0.slice(0, 4)).toEqual(['0', '0', '5', '5']);
    expect(p0[5]).toBe(p0[4]);
    expect(p0[6]).toBe(p0[4]);
    expect(p0[7]).toMatch(/^\d+ B$/);

    await page.goto(`${base}/console/topics/shop/messages?partition=0&offset=0`);
    const rows = page.locator('table[aria-label=Records] tbody tr');
    expect(await rows.count()).toBe(5);
    const values = await rows.locator('td:nth-child(4) pre').allTextContents();
    expect(values[0]).toBe('{\n  "id": 1,\n  "item": "tea",\n  "qty": 2\n}');
    expect(values[1]).toBe('00 01 fe ff 7f 80');
    expect(values[2]).toBe('<img src=x onerror=alert(1)>'); // shown as text, never run (no dialog, no error)
    expect(await rows.nth(0).locator('td:nth-child(4) .kind').textContent()).toBe('json');
    expect(await rows.nth(1).locator('td:nth-child(4) .kind').textContent()).toBe('hex');
    expect(await rows.nth(0).locator('td:nth-child(5)').textContent()).toContain('origin');
    expect(await page.locator('img').count()).toBe(0);

    // Search within the page, from the form, by keyboard.
    await page.getByLabel('Search in this page').fill('cake');
    await page.getByLabel('Search in this page').press('Enter');
    await page.waitForURL(/q=cake/);
    expect(await rows.count()).toBe(1);
    expect(await rows.locator('th').textContent()).toBe('0:3');

    // By time: the epoch is the first record.
    await page.goto(`${base}/console/topics/shop/messages?partition=0&timestamp=0&limit=1`);
    expect(await rows.locator('th').textContent()).toBe('0:0');
    await page.screenshot({ path: join(ARTIFACTS, 'messages-by-time.png'), fullPage: true });
  });

  it('creates a topic from the UI (keyboard only) that kafkajs then sees, and deletes it after confirmation', async () => {
    await page.goto(`${base}/console/topics`);
    await page.getByLabel('Name', { exact: true }).focus();
    await page.keyboard.type('made-in-ui');
    await page.keyboard.press('Tab');
    await page.keyboard.type('3');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/topics\/made-in-ui/);
    expect(await page.locator('[role=status]').textContent()).toContain('made-in-ui created with 3 partition(s)');
    expect(await page.locator('tbody').first().locator('tr').count()).toBe(3);
    await page.screenshot({ path: join(ARTIFACTS, 'topic-created.png'), fullPage: true });
    const admin = kafkaFor(broker).admin();
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: ['made-in-ui'] });
      expect(md.topics[0]!.partitions).toHaveLength(3);

      await page.getByRole('link', { name: 'Delete topic…' }).click();
      await page.getByLabel("Type the topic's name to confirm").fill('wrong');
      await page.getByRole('button', { name: 'Delete topic' }).click();
      expect(await page.locator('[role=alert]').textContent()).toContain('confirm');
      // The refusal is on the confirmation page itself: the form is still there.
      expect(await page.getByLabel("Type the topic's name to confirm").count()).toBe(1);
      expect(problems).toEqual([expect.stringContaining('400')]);
      problems = [];
      await page.goto(`${base}/console/topics/made-in-ui/delete`);
      await page.getByLabel("Type the topic's name to confirm").fill('made-in-ui');
      await page.getByRole('button', { name: 'Delete topic' }).click();
      await page.waitForURL(/\/console\/topics\?notice=/);
      expect(await page.locator('[role=status]').textContent()).toContain('deleted');
      await waitFor(async () => !(await admin.listTopics()).includes('made-in-ui'), 5000, 50, 'topic deleted');
    } finally {
      await admin.disconnect();
    }
  });

  it('produces from the form and the live tail shows new records', async () => {
    await page.goto(`${base}/console/topics/live/tail`);
    await page.locator('#tail[data-ready="1"]').waitFor();
    // Pushed by the server (Server-Sent Events), not polled.
    expect(await page.locator('#tail').getAttribute('data-mode')).toBe('stream');
    const producer = kafkaFor(broker).producer();
    await producer.connect();
    try {
      await producer.send({ topic: 'live', messages: [{ key: 'k', value: JSON.stringify({ live: true }) }] });
      await page.locator('#tail-rows tr').first().waitFor();
      expect(await page.locator('#tail-rows tr td pre').nth(1).textContent()).toBe('{\n  "live": true\n}');
      expect(await page.locator('#tail-status').textContent()).toMatch(/Received 1 record/);
      await page.screenshot({ path: join(ARTIFACTS, 'tail-live.png'), fullPage: true });
      // Pause, a record meanwhile, resume: it comes once, after the first.
      await page.getByRole('button', { name: 'Pause' }).click();
      expect(await page.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed')).toBe('true');
      await producer.send({ topic: 'live', messages: [{ key: 'k2', value: 'while paused' }] });
      await page.getByRole('button', { name: 'Resume' }).click();
      await expect.poll(() => page.locator('#tail-rows tr').count(), { timeout: 10_000 }).toBe(2);
      expect(await page.locator('#tail-rows tr th').allTextContents()).toEqual(['0:1', '0:0']);
    } finally {
      await producer.disconnect();
    }

    await page.goto(`${base}/console/topics/live/messages`);
    await page.getByLabel('Key', { exact: true }).fill('from-ui');
    await page.getByLabel('Value (text; JSON stays as typed)').fill('{"made":"in the browser"}');
    await page.getByLabel('Headers, one').fill('trace: abc');
    await page.getByRole('button', { name: 'Produce' }).click();
    await page.waitForURL(/offset=2/);
    expect(await page.locator('[role=status]').textContent()).toContain('offset 2');
    const row = page.locator('table[aria-label=Records] tbody tr').first();
    expect(await row.locator('th').textContent()).toBe('0:2');
    expect(await row.locator('td:nth-child(4) pre').textContent()).toBe('{\n  "made": "in the browser"\n}');
    expect(await row.locator('td:nth-child(5)').textContent()).toContain('trace');
  });

  it('the live tail falls back to polling when the broker refuses another stream', async () => {
    // consoleLiveTails: 0 refuses every stream (503), as a broker at its limit does.
    const small = await startTestBroker({ httpPort: 0, consoleLiveTails: 0 });
    const producer = kafkaFor(small).producer();
    try {
      const admin = kafkaFor(small).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'fallback' }] });
      await admin.disconnect();
      await producer.connect();
      await producer.send({ topic: 'fallback', messages: [{ value: 'old' }] });
      await page.goto(`${small.httpUrl!}/console/topics/fallback/tail`);
      await page.locator('#tail[data-ready="1"]').waitFor({ timeout: 10_000 }).catch(async (e: unknown) => {
        throw new Error(`${String(e)}; status: ${await page.locator('#tail-status').textContent()}`);
      });
      expect(await page.locator('#tail').getAttribute('data-mode')).toBe('poll');
      await producer.send({ topic: 'fallback', messages: [{ value: 'polled' }] });
      await page.locator('#tail-rows tr').first().waitFor();
      expect(await page.locator('#tail-rows tr td:nth-child(4) pre').textContent()).toBe('polled');
      expect(await page.locator('#tail-rows tr').count()).toBe(1);
    } finally {
      await producer.disconnect();
      await small.close();
    }
    // The refused stream is reported by the browser; nothing else.
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p).toMatch(/503|EventSource/);
    problems = [];
  });

  it('sets a topic config from the topic page (the broker\'s reason shown for a bad value) and deletes it', async () => {
    await page.goto(`${base}/console/topics/shop`);
    await page.getByLabel('Config name').fill('retention.ms');
    await page.getByLabel('Value', { exact: true }).fill('abc');
    await page.getByRole('button', { name: 'Set config' }).click();
    await page.waitForLoadState();
    expect(await page.locator('[role=alert]').textContent()).toMatch(/INVALID_CONFIG.*retention\.ms/);
    // What was typed stays in the form.
    expect(await page.getByLabel('Config name').inputValue()).toBe('retention.ms');
    expect(await page.getByLabel('Value', { exact: true }).inputValue()).toBe('abc');
    await page.screenshot({ path: join(ARTIFACTS, 'topic-config-refused.png'), fullPage: true });
    expect(problems).toEqual([expect.stringContaining('400')]);
    problems = [];

    await page.getByLabel('Value', { exact: true }).fill('3600000');
    await page.getByRole('button', { name: 'Set config' }).click();
    await page.waitForURL(/notice=/);
    expect(await page.locator('[role=status]').textContent()).toContain('Config retention.ms set to 3600000.');
    const cfgRow = page.locator('table[aria-labelledby=configs] tbody tr', { has: page.locator('th', { hasText: /^retention\.ms$/ }) });
    expect((await cfgRow.locator('td').allTextContents()).slice(0, 2)).toEqual(['3600000', 'DYNAMIC_TOPIC_CONFIG']);
    const admin = kafkaFor(broker).admin();
    await admin.connect();
    try {
      const described = async (): Promise<string | undefined> =>
        (await admin.describeConfigs({ resources: [{ type: 2, name: 'shop', configNames: ['retention.ms'] }], includeSynonyms: false })).resources[0]!.configEntries[0]!.configValue;
      expect(await described()).toBe('3600000');
      // "edit" fills the form with the current value.
      await cfgRow.getByRole('link', { name: 'Edit retention.ms' }).click();
      expect(await page.getByLabel('Value', { exact: true }).inputValue()).toBe('3600000');
      // The row's delete button: back to the default.
      await page.getByRole('button', { name: 'Delete retention.ms (back to the default)' }).click();
      await page.waitForURL(/notice=/);
      expect(await page.locator('[role=status]').textContent()).toContain('Config retention.ms deleted');
      expect((await cfgRow.locator('td').allTextContents())[1]).toBe('DEFAULT_CONFIG');
      expect(await described()).toBe('604800000');
    } finally {
      await admin.disconnect();
    }
  });

  it('deletes a consumer group after confirmation; with members the broker\'s refusal is shown', async () => {
    const kafka = kafkaFor(broker);
    const consumer = kafka.consumer({ groupId: 'ui-doomed' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'shop', fromBeginning: true });
    let seen = 0;
    await consumer.run({
      eachMessage: async () => {
        seen++;
      },
    });
    try {
      await waitFor(() => seen >= 5, 20_000, 50, 'consumed');
      await page.goto(`${base}/console/groups/ui-doomed`);
      await page.getByRole('link', { name: 'Delete group…' }).click();
      await page.waitForURL(/\/delete$/);
      expect(await page.locator('h1').textContent()).toBe('Delete consumer group ui-doomed?');
      await page.getByLabel("Type the group's id to confirm").fill('ui-doomed');
      await page.getByRole('button', { name: 'Delete group' }).click();
      await page.waitForLoadState();
      expect(await page.locator('[role=alert]').textContent()).toContain('NON_EMPTY_GROUP');
      await page.screenshot({ path: join(ARTIFACTS, 'group-delete-refused.png'), fullPage: true });
      expect(problems).toEqual([expect.stringContaining('409')]);
      problems = [];
    } finally {
      await consumer.disconnect();
    }
    await page.goto(`${base}/console/groups/ui-doomed/delete`);
    await page.screenshot({ path: join(ARTIFACTS, 'group-delete.png'), fullPage: true });
    await page.getByLabel("Type the group's id to confirm").fill('ui-doomed');
    await page.getByRole('button', { name: 'Delete group' }).click();
    await page.waitForURL(/\/console\/groups\?notice=/);
    expect(await page.locator('[role=status]').textContent()).toContain('Group ui-doomed deleted.');
    expect(await page.locator('tbody th', { hasText: 'ui-doomed' }).count()).toBe(0);
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('ui-doomed');
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('resets a group\'s offsets from the UI and a kafkajs consumer re-reads from there', async () => {
    const kafka = kafkaFor(broker);
    const readAll = async (expected: number): Promise<{ offsets: string[]; consumer: Consumer }> => {
      const consumer = kafka.consumer({ groupId: 'ui-group' });
      await consumer.connect();
      await consumer.subscribe({ topic: 'shop', fromBeginning: true });
      const offsets: string[] = [];
      await consumer.run({
        eachMessage: async ({ message }) => {
          offsets.push(message.offset);
        },
      });
      await waitFor(() => offsets.length >= expected, 20_000, 50, `${expected} records`);
      return { offsets, consumer };
    };
    const first = await readAll(5);
    expect(first.offsets).toEqual(['0', '1', '2', '3', '4']);

    // With a member the form is not offered.
    await page.goto(`${base}/console/groups/ui-group`);
    await waitFor(async () => {
      await page.reload();
      return (await page.locator('h2 + table tbody tr').count()) > 0;
    }, 10_000, 100, 'member shown');
    expect(await page.getByRole('button', { name: 'Reset offsets' }).count()).toBe(0);
    expect(await page.getByText('only while the group has no members').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'group-stable.png'), fullPage: true });
    await first.consumer.disconnect();

    await page.goto(`${base}/console/groups`);
    const row = page.locator('tbody tr', { has: page.locator('th', { hasText: 'ui-group' }) });
    expect(await row.locator('td').allTextContents()).toEqual(['Empty', '0', '0', expect.any(String)]);

    await page.goto(`${base}/console/groups/ui-group`);
    await page.screenshot({ path: join(ARTIFACTS, 'group.png'), fullPage: true });
    await page.getByLabel('Topic', { exact: true }).selectOption('shop');
    await page.getByRole('radio', { name: 'offset' }).check();
    await page.getByLabel('Offset', { exact: true }).fill('2');
    await page.getByRole('button', { name: 'Reset offsets' }).click();
    await page.waitForURL(/notice=/);
    expect(await page.locator('[role=status]').textContent()).toContain('1 partition(s) reset');
    const lagRow = page.locator('table', { has: page.locator('th', { hasText: 'Committed offset' }) }).locator('tbody tr').first();
    expect(await lagRow.locator('td').allTextContents()).toEqual(['0', '2', '5', '3', '-']);

    const again = await readAll(3);
    expect(again.offsets).toEqual(['2', '3', '4']);
    await again.consumer.disconnect();
  }, 60_000);
});
