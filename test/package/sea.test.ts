// SLOW (about 5-15 s: builds a 100 MB executable). The single executable (`npm run sea`,
// src/cli/build-sea.mjs) built into a temp folder from the current dist/ (--no-build: it never
// rebuilds dist/ under the other test files), with the Node that runs the tests. It must answer
// --version, start a broker that kafkajs produces to and consumes from (Metadata, Produce, Fetch,
// groups), stop cleanly on SIGTERM, and run the same when copied alone to another folder (no
// node_modules next to it: the native codecs are optional).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaFor } from '../helpers/broker.js';
import { hasDist, NO_DIST } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Running {
  child: ChildProcess;
  bootstrap: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `exe start --memory` on a free port and resolves once it logs "brook started". */
function startExe(exe: string, cwd: string): Promise<Running> {
  const child = spawn(exe, ['start', '--memory', '--host', '127.0.0.1', '--port', '0', '--log-level', 'info'], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the executable did not start within 20 s\n${err}`));
    }, 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      for (const line of err.split('\n')) {
        if (!line.includes('brook started')) continue;
        try {
          const listener = (JSON.parse(line) as { listener?: string }).listener;
          if (!listener) continue;
          clearTimeout(timer);
          resolve({ child, bootstrap: listener, exited });
          return;
        } catch {
          continue;
        }
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the executable exited before starting (code ${code}, signal ${signal})\n${err}`));
    });
  });
}

async function roundTrip(bootstrap: string, topic: string): Promise<{ value: string; brokers: number }> {
  const kafka = kafkaFor(bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  const { brokers } = await admin.describeCluster();
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'k', value: `hello ${topic}` }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `sea-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const value = await new Promise<string>((resolve) => {
    void consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) });
  });
  await consumer.disconnect();
  return { value, brokers: brokers.length };
}

describe.skipIf(!hasDist)(`single executable (slow)${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  let dir = '';
  let exe = '';
  const running: Running[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'brook-sea-'));
    const r = spawnSync(process.execPath, [join(ROOT, 'src', 'cli', 'build-sea.mjs'), '--no-build', '--out', join(dir, 'build')], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 170_000,
    });
    if (r.status !== 0) throw new Error(`build-sea failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    exe = join(dir, 'build', 'brook');
  }, 180_000);

  afterAll(async () => {
    for (const r of running) {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
      await r.exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints the package version and help', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const v = spawnSync(exe, ['--version'], { encoding: 'utf8' });
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const h = spawnSync(exe, ['start', '--help'], { encoding: 'utf8' });
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('Usage: brook start');
    expect(h.stderr).not.toContain('ExperimentalWarning');
  });

  it('serves Metadata, Produce and Fetch to kafkajs and stops on SIGTERM', async () => {
    const b = await startExe(exe, dir);
    running.push(b);
    expect(await roundTrip(b.bootstrap, 'sea-native')).toEqual({ value: 'hello sea-native', brokers: 1 });
    b.child.kill('SIGTERM');
    expect(await b.exited).toEqual({ code: 0, signal: null });
  });

  it('runs alone, copied to a folder without node_modules', async () => {
    const alone = join(dir, 'alone');
    mkdirSync(alone);
    copyFileSync(exe, join(alone, 'brook'));
    spawnSync('chmod', ['755', join(alone, 'brook')]);
    const b = await startExe(join(alone, 'brook'), alone);
    running.push(b);
    expect(await roundTrip(b.bootstrap, 'sea-alone')).toEqual({ value: 'hello sea-alone', brokers: 1 });
    b.child.kill('SIGTERM');
    expect(await b.exited).toEqual({ code: 0, signal: null });
  });
});
