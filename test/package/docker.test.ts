// The Docker image's entrypoint and healthcheck (src/cli/docker-*.mjs), run here as plain processes: this
// machine has no Docker engine, so the image itself is not built in tests (README "Docker" says
// how to try it). The entrypoint maps BROOK_CFG_* and BROOK_* variables to `brook start` options
// in its own process; the healthcheck answers 0 only when a broker answers ApiVersions.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigResourceTypes } from 'kafkajs';
import { kafkaFor, metadata, metadataApi, rawClient, waitFor } from '../helpers/broker.js';
import { hasDist, NO_DIST } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRYPOINT = join(ROOT, 'src', 'cli', 'docker-entrypoint.mjs');
const HEALTHCHECK = join(ROOT, 'src', 'cli', 'docker-healthcheck.mjs');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Environment without the caller's BROOK_* variables, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BROOK_')) env[k] = v;
  return { ...env, ...extra };
}

interface Started {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startEntrypoint(env: Record<string, string>, args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [ENTRYPOINT, ...args], { env: envWith(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`entrypoint did not start within 15 s\n${err}`));
    }, 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      if (err.includes('brook started')) {
        clearTimeout(timer);
        resolve({ child, stderr: () => err, exited });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`entrypoint exited before starting (code ${code}, signal ${signal})\n${err}`));
    });
  });
}

function healthcheck(port: number): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [HEALTHCHECK], { env: envWith({ BROOK_PORT: String(port) }), encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, stderr: r.stderr };
}

describe.skipIf(!hasDist)(`container entrypoint and healthcheck, outside Docker${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  const dirs: string[] = [];
  let running: Started | undefined;
  let server: Server | undefined;

  afterEach(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    if (running) await running.exited;
    running = undefined;
    if (server) await new Promise((r) => server!.close(r));
    server = undefined;
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('BROOK_CFG_* become broker configs and BROOK_ADVERTISED_HOST is what Metadata advertises', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'brook-entry-'));
    dirs.push(dataDir);
    running = await startEntrypoint(
      {
        BROOK_HOST: '127.0.0.1',
        BROOK_PORT: String(port),
        BROOK_DATA_DIR: dataDir,
        BROOK_ADVERTISED_HOST: 'brook-in-a-container',
        BROOK_CFG_LOG_RETENTION_MS: '1000',
        BROOK_CFG_NUM_PARTITIONS: '3',
        BROOK_LOG_LEVEL: 'info',
      },
      [],
    );
    const client = await rawClient({ host: '127.0.0.1', port });
    try {
      const md = await metadata(client, []);
      expect(md.brokers.map((b) => [b.host, b.port])).toEqual([['brook-in-a-container', port]]);
      // num.partitions=3 from BROOK_CFG_NUM_PARTITIONS: an auto-created topic gets 3.
      // (The first answer may be LEADER_NOT_AVAILABLE while the topic is created, as in Kafka.)
      await client.request(metadataApi, 12, { topics: [{ name: 'auto-created' }], allowAutoTopicCreation: true });
      const partitions = await waitFor(async () => (await metadata(client, ['auto-created'])).topics[0]?.partitions.length || undefined);
      expect(partitions).toBe(3);
    } finally {
      client.close();
    }
    // The data went to BROOK_DATA_DIR (a file store, not memory).
    expect(running.stderr()).toContain(dataDir);
    running.child.kill('SIGTERM');
    expect(await running.exited).toEqual({ code: 0, signal: null });
  });

  it('arguments after the image name win over the environment; kafkajs reads the configs back', async () => {
    const port = await freePort();
    running = await startEntrypoint(
      {
        BROOK_HOST: '127.0.0.1',
        BROOK_PORT: String(port),
        BROOK_ADVERTISED_HOST: '127.0.0.1',
        BROOK_CFG_LOG_RETENTION_MS: '1000',
        BROOK_CFG_LOG_SEGMENT_BYTES: '1048576',
        BROOK_LOG_LEVEL: 'info',
      },
      ['--memory', '--set', 'log.segment.bytes=2097152'],
    );
    const admin = kafkaFor(`127.0.0.1:${port}`).admin();
    await admin.connect();
    try {
      const r = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['log.retention.ms', 'log.segment.bytes'] }],
        includeSynonyms: false,
      });
      const values = Object.fromEntries(r.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
      expect(values).toEqual({ 'log.retention.ms': '1000', 'log.segment.bytes': '2097152' });
    } finally {
      await admin.disconnect();
    }
    expect(running.stderr()).toContain('(memory)');
  });

  it('advertises localhost by default (a client on the Docker host through -p 9092:9092)', async () => {
    const port = await freePort();
    running = await startEntrypoint({ BROOK_HOST: '127.0.0.1', BROOK_PORT: String(port), BROOK_LOG_LEVEL: 'info' }, ['--memory']);
    const client = await rawClient({ host: '127.0.0.1', port });
    try {
      expect((await metadata(client, [])).brokers.map((b) => [b.host, b.port])).toEqual([['localhost', port]]);
    } finally {
      client.close();
    }
  });

  it('the healthcheck passes while a broker answers and fails otherwise', async () => {
    const port = await freePort();
    expect(healthcheck(port).status).toBe(1); // nothing listening
    running = await startEntrypoint(
      { BROOK_HOST: '127.0.0.1', BROOK_PORT: String(port), BROOK_ADVERTISED_HOST: '127.0.0.1', BROOK_LOG_LEVEL: 'info' },
      ['--memory'],
    );
    expect(healthcheck(port)).toEqual({ status: 0, stderr: '' });
    running.child.kill('SIGTERM');
    await running.exited;
    expect(healthcheck(port).status).toBe(1);

    // A port that accepts and closes without speaking Kafka is not healthy either.
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
    const silent = healthcheck(port);
    expect(silent.status).toBe(1);
    expect(silent.stderr).toContain('unhealthy');
  });
});
