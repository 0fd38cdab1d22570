// Issue 12: `brook dev`, the CLI's dev mode: a broker in memory with the HTTP listener (console,
// metrics, health) on by default, on 127.0.0.1:8080 or any free port when that one is taken;
// --data-dir keeps data on disk, --no-http turns the listener off.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, NO_DIST, hasDist } from '../helpers/cli.js';
import { kafkaFor } from '../helpers/broker.js';

const dir = mkdtempSync(join(tmpdir(), 'brook-cli-dev-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Dev {
  bootstrap: string;
  console: string | null;
  metrics: string | null;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Runs `brook dev ...` in `cwd` until its banner line, which it parses. */
async function dev(args: string[], cwd: string): Promise<Dev> {
  const child = spawn(process.execPath, [CLI_MAIN, 'dev', '--port', '0', '--log-format', 'json', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const banner = await new Promise<RegExpExecArray>((resolve, reject) => {
    const check = (): void => {
      const m = /^brook dev: bootstrap (\S+)(?: · console at (\S+))?(?: · metrics at (\S+))?$/m.exec(err);
      if (m) resolve(m);
    };
    child.stderr!.on('data', check);
    void exited.then(() => reject(new Error(`brook dev exited: ${err}`)));
  });
  return {
    bootstrap: banner[1]!,
    console: banner[2] ?? null,
    metrics: banner[3] ?? null,
    stderr: () => err,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Holds 127.0.0.1:8080 for the test (or leaves it to whoever already holds it). */
async function hold8080(): Promise<Server | null> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(null));
    s.listen({ host: '127.0.0.1', port: 8080, exclusive: true }, () => resolve(s));
  });
}

describe.skipIf(!hasDist)(`brook dev${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('serves the console on another free port when 8080 is taken, keeps data in memory, and stops on SIGTERM', async () => {
    const held = await hold8080();
    const cwd = mkdtempSync(join(dir, 'mem-'));
    const d = await dev([], cwd);
    try {
      expect(d.console).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console$/);
      expect(d.console).not.toContain(':8080/');
      expect(d.metrics).toBe(d.console!.replace(/\/console$/, '/metrics'));
      expect(d.stderr()).toContain("the console's usual port is taken: using any free port");
      // A kafkajs producer's message shows on the console and in the metrics.
      const kafka = kafkaFor(d.bootstrap);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: 'dev-topic', messages: [{ value: 'hello from dev' }] });
      await producer.disconnect();
      const base = d.console!.replace(/\/console$/, '');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const page = await fetch(`${base}/console/topics/dev-topic/messages`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('hello from dev');
      expect(await (await fetch(d.metrics!)).text()).toMatch(/^brook_topic_messages_in_total\{topic="dev-topic"\} 1$/m);
      // Nothing on disk: no ./data in the working directory.
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      expect(await d.stop()).toBe(0);
      await new Promise<void>((resolve) => (held ? held.close(() => resolve()) : resolve()));
    }
  });

  it('--data-dir keeps data across restarts; --no-http has no HTTP listener', async () => {
    const cwd = mkdtempSync(join(dir, 'disk-'));
    const data = join(cwd, 'dev-data');
    let d = await dev(['--data-dir', data, '--http-port', '0'], cwd);
    try {
      expect(d.console).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console$/);
      const admin = kafkaFor(d.bootstrap).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 2 }] });
      await admin.disconnect();
    } finally {
      expect(await d.stop()).toBe(0);
    }
    expect(existsSync(data)).toBe(true);
    d = await dev(['--data-dir', data, '--no-http'], cwd);
    try {
      expect(d.console).toBeNull();
      expect(d.metrics).toBeNull();
      expect(d.stderr()).not.toMatch(/"http":/);
      const admin = kafkaFor(d.bootstrap).admin();
      await admin.connect();
      expect(await admin.listTopics()).toContain('kept');
      await admin.disconnect();
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });
});
