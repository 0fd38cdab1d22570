// Issue 9: `brook start` as a user meets it: a start that cannot happen (bad config, bad log level,
// port in use, data directory locked, binary --config, wildcard advertised host, a listener name twice)
// is one line on stderr and exit code 1, no stack; unknown config names warn like Kafka or fail with
// --strict; logs are readable text with --log-format text and JSON otherwise; topics created and
// deleted and group changes are logged at info.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, NO_DIST, hasDist, runCli, startCliBroker } from '../helpers/cli.js';
import { kafkaFor } from '../helpers/broker.js';

const dir = mkdtempSync(join(tmpdir(), 'brook-cli-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `brook start` expecting it to refuse: exit 1 and exactly one stderr line, returned. */
async function refused(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await runCli(['start', '--port', '0', ...args], { env, timeoutMs: 15000 });
  expect(r.signal, r.stderr).toBeNull();
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
  return lines[0]!;
}

function jsonLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!hasDist)(`brook start: configuration and messages${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('cluster flags: a malformed --metadata, an unreachable etcd, and --manual-clock in a cluster are one line and exit 1', async () => {
    expect(await refused(['--memory', '--metadata', 'foo'])).toBe('brook: --metadata: expected etcd://host:port[,host:port...][/cluster], got "foo"');
    expect(await refused(['--memory', '--node-id', '2', '--metadata', 'etcd://127.0.0.1:1'])).toMatch(/^brook: failed to start: etcd unreachable \(127\.0\.0\.1:1\)/);
    expect(await refused(['--memory', '--manual-clock', '--metadata', 'etcd://127.0.0.1:1'])).toBe('brook: --manual-clock is for a single node; a cluster runs on real time (leases)');
    const r = await runCli(['start', '--node-id', 'x']);
    expect(r.code).toBe(2);
  });

  it('bad values exit 1 with one line naming the setting', async () => {
    expect(await refused(['--memory', '--set', 'num.partitions=0'])).toBe(
      'brook: --set num.partitions: Invalid value 0 for configuration num.partitions: Value must be at least 1',
    );
    expect(await refused(['--memory', '--set', 'default.replication.factor=2'])).toMatch(/^brook: --set default.replication.factor: .*1 broker/);
    expect(await refused(['--memory', '--set', 'compression.type=brotli'])).toMatch(/String must be one of/);
    expect(await refused(['--memory'], { BROOK_CFG_AUTO_CREATE_TOPICS_ENABLE: 'maybe' })).toBe(
      'brook: environment BROOK_CFG_AUTO_CREATE_TOPICS_ENABLE: Invalid value maybe for configuration auto.create.topics.enable: Expected value to be either true or false',
    );
  });

  it('config files: errors name the file and line; binary and missing files are refused', async () => {
    const f = join(dir, 'server.properties');
    writeFileSync(f, '# Brook\nnum.partitions=2\nlog.message.timestamp.type=Whenever\n');
    expect(await refused(['--memory', '--config', f])).toBe(
      `brook: ${f}:3: Invalid value Whenever for configuration log.message.timestamp.type: String must be one of: CreateTime, LogAppendTime`,
    );
    const gz = join(dir, 'server.properties.gz');
    writeFileSync(gz, gzipSync('num.partitions=2\n'));
    expect(await refused(['--memory', '--config', gz])).toBe(`brook: config file ${gz}: binary content, not a properties file (expected key=value lines)`);
    expect(await refused(['--memory', '--config', process.execPath])).toMatch(/bytes is too large for a properties file$/);
    expect(await refused(['--memory', '--config', join(dir, 'nope.properties')])).toBe(`brook: config file ${join(dir, 'nope.properties')}: no such file`);
  });

  it('--strict refuses unknown names; without it they are warned about as Kafka does', async () => {
    expect(await refused(['--memory', '--strict', '--set', 'nmu.partitions=3'])).toBe(
      "brook: --strict: The configuration 'nmu.partitions' was supplied but isn't a known config. (did you mean num.partitions?) [--set nmu.partitions]",
    );
    const b = await startCliBroker(join(dir, 'warn'), ['--set', 'nmu.partitions=3', '--set', 'zookeeper.connect=zk:2181']);
    try {
      const lines = jsonLines(b.stderr());
      expect(lines.find((l) => l.level === 40)?.msg).toBe(
        "The configuration 'nmu.partitions' was supplied but isn't a known config. (did you mean num.partitions?) [--set nmu.partitions]",
      );
      expect(lines.find((l) => l.msg === 'Kafka configs accepted without effect in Brook')?.configs).toEqual(['zookeeper.connect']);
    } finally {
      await b.kill();
    }
  });

  it('bad log level or format: exit 1, one line', async () => {
    expect(await refused(['--memory', '--log-level', 'loud'])).toBe(
      "brook: unknown log level 'loud' (--log-level or BROOK_LOG_LEVEL): use fatal, error, warn, info, debug, trace, silent",
    );
    const r = await runCli(['start', '--memory', '--port', '0'], { env: { BROOK_LOG_LEVEL: 'verbose' } });
    expect([r.code, r.stderr]).toEqual([1, "brook: unknown log level 'verbose' (--log-level or BROOK_LOG_LEVEL): use fatal, error, warn, info, debug, trace, silent\n"]);
    expect(await refused(['--memory', '--log-format', 'xml'])).toMatch(/unknown log format 'xml'/);
  });

  it('listeners: a wildcard host is never advertised; a listener name given twice is refused', async () => {
    expect(await refused(['--memory', '--host', '0.0.0.0'])).toMatch(/^brook: --host: the listener host 0.0.0.0 .* --advertised-host/);
    expect(await refused(['--memory', '--set', 'advertised.listeners=PLAINTEXT://0.0.0.0:9092'])).toMatch(/nonroutable meta-address 0.0.0.0/);
    expect(await refused(['--memory', '--set', 'listeners=PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0'])).toMatch(/names listener PLAINTEXT twice/);
    // With an advertised host a wildcard listener works, and Metadata gives that host.
    const b = await startCliBroker(join(dir, 'wild'), ['--host', '0.0.0.0', '--advertised-host', '127.0.0.1']);
    try {
      const started = jsonLines(b.stderr()).find((l) => l.msg === 'brook started')!;
      expect(started.listener).toMatch(/^0\.0\.0\.0:\d+$/);
      expect(started.advertised).toBe(`127.0.0.1:${b.port}`);
      const admin = kafkaFor(`127.0.0.1:${b.port}`).admin();
      await admin.connect();
      try {
        const cluster = await admin.describeCluster();
        expect(cluster.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: b.port }]);
      } finally {
        await admin.disconnect();
      }
    } finally {
      await b.kill();
    }
  });

  it('port in use and data directory locked: exit 1, one line', async () => {
    const b = await startCliBroker(join(dir, 'locked'));
    try {
      expect(await refused(['--memory', '--host', '127.0.0.1', '--port', String(b.port)])).toBe(
        `brook: cannot listen on 127.0.0.1:${b.port}: the address is already in use (another broker? pick another --port, or 0 for any free port)`,
      );
      expect(await refused(['--data-dir', join(dir, 'locked')])).toMatch(/^brook: cannot open the data directory: data directory .* is in use by another broker/);
      // The HTTP listener's or the control endpoint's port taken: the message names that flag.
      expect(await refused(['--memory', '--http-port', String(b.port)])).toBe(
        `brook: cannot listen on 127.0.0.1:${b.port} (--http-port): the address is already in use (pick another --http-port, or 0 for any free port)`,
      );
      expect(await refused(['--memory', '--control-port', String(b.port)])).toBe(
        `brook: cannot listen on 127.0.0.1:${b.port} (--control-port): the address is already in use (pick another --control-port, or 0 for any free port)`,
      );
    } finally {
      await b.kill();
    }
  });

  it('--log-format text: readable lines; topic and group changes at info', async () => {
    const child = spawn(process.execPath, [CLI_MAIN, 'start', '--memory', '--host', '127.0.0.1', '--port', '0', '--log-format', 'text'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const check = (): void => {
          const m = /^\d\d:\d\d:\d\d\.\d{3} INFO  brook started listener=127\.0\.0\.1:(\d+) /m.exec(err);
          if (m) resolve(Number(m[1]));
        };
        child.stderr!.on('data', check);
        void exited.then(() => reject(new Error(`exited: ${err}`)));
      });
      expect(err).not.toContain('{"level"');
      const kafka = kafkaFor(`127.0.0.1:${port}`);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'logged', numPartitions: 2 }] });
      const consumer = kafka.consumer({ groupId: 'logged-group' });
      await consumer.connect();
      await consumer.subscribe({ topic: 'logged', fromBeginning: true });
      let joined!: () => void;
      const isJoined = new Promise<void>((r) => (joined = r));
      consumer.on(consumer.events.GROUP_JOIN, () => joined());
      await consumer.run({ eachMessage: async () => {} });
      await isJoined;
      await consumer.disconnect();
      await admin.deleteGroups(['logged-group']);
      await admin.deleteTopics({ topics: ['logged'] });
      await admin.disconnect();
      const want = [
        /INFO  topic created topic=logged partitions=2/,
        /INFO  group created groupId=logged-group/,
        /INFO  group rebalancing groupId=logged-group/,
        /INFO  group rebalanced groupId=logged-group generationId=1 members=1/,
        /INFO  group emptied groupId=logged-group/,
        /INFO  group deleted groupId=logged-group/,
        /INFO  topic deleted topic=logged/,
      ];
      await expect.poll(() => want.filter((w) => !w.test(err)).map(String), { timeout: 10000 }).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });
});
