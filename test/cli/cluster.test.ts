// `brook cluster describe`, `brook --help` / per-command help and the exit codes for usage errors
// and unreachable brokers, against a real broker spawned by `brook start` (the same binary).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_DIST, hasDist, runCli, spawnCli, startCliBroker, type CliBroker } from '../helpers/cli.js';
import { kafkaFor } from '../helpers/broker.js';

let broker: CliBroker;
let dir: string;
let b: string[];

beforeAll(async () => {
  if (!hasDist) return;
  dir = mkdtempSync(join(tmpdir(), 'brook-cli-cluster-'));
  broker = await startCliBroker(dir, ['--set', 'num.partitions=2']);
  b = ['-b', broker.bootstrap];
});

afterAll(async () => {
  await broker?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function table(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

describe.skipIf(!hasDist)(`brook cluster and help${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('cluster describe: cluster id, controller and brokers as kafkajs sees them (table and JSON)', async () => {
    const admin = kafkaFor(broker.bootstrap).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'cl-a' }, { topic: 'cl-b', numPartitions: 3 }] });
      const kc = await admin.describeCluster();
      const r = await runCli(['cluster', 'describe', ...b]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = r.stdout.split('\n');
      expect(out[0]).toBe(`Cluster id:  ${kc.clusterId}`);
      expect(out[1]).toBe(`Controller:  ${kc.controller}`);
      expect(out[2]).toBe('Topics:      2 (5 partitions, internal topics not counted)');
      expect(table(out.slice(5).join('\n'))).toEqual([
        ['BROKER', 'HOST', 'PORT', 'RACK', 'CONTROLLER'],
        [String(kc.brokers[0]!.nodeId), kc.brokers[0]!.host, String(kc.brokers[0]!.port), '-', 'yes'],
      ]);
      const j = JSON.parse((await runCli(['cluster', 'describe', '--json', '--api-versions', ...b])).stdout);
      expect(j).toMatchObject({
        clusterId: kc.clusterId,
        controllerId: kc.controller,
        brokers: [{ nodeId: kc.brokers[0]!.nodeId, host: broker.host, port: broker.port, rack: null }],
        topics: 2,
        partitions: 5,
      });
      expect(j.apiVersions).toContainEqual({ apiKey: 0, name: 'Produce', minVersion: 0, maxVersion: 11 });
      expect(j.apiVersions).toContainEqual({ apiKey: 18, name: 'ApiVersions', minVersion: 0, maxVersion: 4 });
    } finally {
      await admin.disconnect();
    }
  });

  it('an unreachable broker is exit 1 with one line; a malformed -b is exit 2', async () => {
    const r = await runCli(['cluster', 'describe', '-b', '127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^brook cluster describe: no broker reachable \(could not connect to 127\.0\.0\.1:1: connect ECONNREFUSED/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const bad = await runCli(['cluster', 'describe', '-b', 'localhost:99999']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a port');
  });

  it('-b falls back to $BROOK_BOOTSTRAP_SERVER', async () => {
    const r = await runCli(['topic', 'list', '--json'], { env: { BROOK_BOOTSTRAP_SERVER: broker.bootstrap } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['cl-a', 'cl-b']));
  });

  it('brook --help lists every command and the exit codes; each command has its own help (exit 0)', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['start', 'topic', 'produce', 'consume', 'group', 'cluster']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    expect(r.stdout).toContain('Exit codes:');
    expect(r.stdout).toContain('3  not found');
    const topic = await runCli(['topic', '--help']);
    expect(topic.code).toBe(0);
    for (const sub of ['create', 'list', 'describe', 'delete', 'alter']) expect(topic.stdout).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    const group = await runCli(['group', '--help']);
    for (const sub of ['list', 'describe', 'reset-offsets', 'delete']) expect(group.stdout).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    for (const args of [['produce'], ['consume'], ['topic', 'create'], ['group', 'reset-offsets'], ['cluster', 'describe']]) {
      const h = await runCli([...args, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain('--bootstrap-server');
      expect(h.stdout).toContain('Examples:');
    }
  });

  it('output into a closed pipe (brook ... | head) is not an error', async () => {
    for (const args of [['topic', 'describe', '--help'], ['topic', 'list', ...b]]) {
      const c = spawnCli(args);
      c.child.stdout!.destroy();
      const { code } = await c.exited;
      expect(code).toBe(0);
      expect(c.stderr()).toBe('');
    }
  });

  it('usage errors are exit 2: unknown command, unknown option, missing argument', async () => {
    const unknown = await runCli(['nosuch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'nosuch'");
    expect((await runCli(['topic', 'list', '--nope'])).code).toBe(2);
    expect((await runCli(['group', 'describe'])).code).toBe(2);
    expect((await runCli([])).code).toBe(2);
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
