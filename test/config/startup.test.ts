// Issue 9: the checks `brook start` runs before anything opens: properties files with file:line
// origins, BROOK_CFG_* environment names, values against Kafka's types and ranges (the same
// validators AlterConfigs uses), unknown names (Kafka's warning, or refused with --strict), rules
// across values, and the listener rules (one PLAINTEXT listener; a wildcard host is never advertised).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatLogLine } from '../../src/common/logger.js';
import { ConfigError } from '../../src/config/config.js';
import { parsePropertiesText, readPropertiesFile, settingsFromArgs, settingsFromEnv, type ConfigSetting } from '../../src/config/properties.js';
import { checkStartupConfig, resolveListeners } from '../../src/config/startup.js';
import { startBroker } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'brook-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const set = (...kv: string[]): ConfigSetting[] => settingsFromArgs(kv);
const problem = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('no ConfigError');
};

describe('properties files', () => {
  it('parses Java properties syntax with line numbers', () => {
    const text = [
      '# comment',
      '! also a comment',
      'num.partitions=3',
      '  log.retention.hours : 12  ',
      'listeners PLAINTEXT://127.0.0.1:9093',
      'log.dirs=/var/lib/\\',
      '    brook',
      'key\\=with\\:escapes=v\\u0041\\t',
      'empty.value',
    ].join('\r\n');
    expect(parsePropertiesText(text, 'f').map((s) => [s.name, s.value, s.origin])).toEqual([
      ['num.partitions', '3', 'f:3'],
      ['log.retention.hours', '12', 'f:4'],
      ['listeners', 'PLAINTEXT://127.0.0.1:9093', 'f:5'],
      ['log.dirs', '/var/lib/brook', 'f:6'],
      ['key=with:escapes', 'vA', 'f:8'],
      ['empty.value', '', 'f:9'],
    ]);
    expect(problem(() => parsePropertiesText('a=\\u12G4', 'f'))).toBe('f:1: malformed \\uXXXX escape');
  });

  it('refuses binary, missing and directory files, naming them', () => {
    const bin = join(dir, 'bin.properties');
    writeFileSync(bin, Buffer.from([0x6e, 0x75, 0x6d, 0x3d, 0x00, 0x01, 0xff]));
    expect(problem(() => readPropertiesFile(bin))).toBe(`config file ${bin}: binary content, not a properties file (expected key=value lines)`);
    const latin = join(dir, 'latin.properties');
    writeFileSync(latin, Buffer.from([0x61, 0x3d, 0xe9, 0xe9, 0xe9]));
    expect(problem(() => readPropertiesFile(latin))).toMatch(/binary content/);
    expect(problem(() => readPropertiesFile(join(dir, 'missing')))).toBe(`config file ${join(dir, 'missing')}: no such file`);
    expect(problem(() => readPropertiesFile(dir))).toMatch(/is a directory/);
  });

  it('names the file and line of a bad value', () => {
    const f = join(dir, 'server.properties');
    writeFileSync(f, 'num.partitions=3\n\n# retention\nlog.cleanup.policy=forever\n');
    expect(problem(() => checkStartupConfig(readPropertiesFile(f)))).toBe(
      `${f}:4: Invalid value forever for configuration log.cleanup.policy: String must be one of: compact, delete`,
    );
  });

  it('warns about a name set twice in one file', () => {
    const r = checkStartupConfig(parsePropertiesText('num.partitions=2\nnum.partitions=4\n', 'f'));
    expect(r.values['num.partitions']).toBe('4');
    expect(r.warnings).toEqual(['f:2: num.partitions is also set at line 1; the last value is used']);
  });
});

describe('environment', () => {
  it('maps BROOK_CFG_* as Kafka images map KAFKA_*', () => {
    const env = { BROOK_CFG_NUM_PARTITIONS: '3', BROOK_CFG_LOG_CLEANER_BACKOFF_MS: ' 10 ', BROOK_CFG_A__B___C: 'x', BROOK_CFG_: 'y', OTHER: 'z' };
    expect(settingsFromEnv(env).map((s) => [s.name, s.value, s.origin])).toEqual([
      ['a_b-c', 'x', 'environment BROOK_CFG_A__B___C'],
      ['log.cleaner.backoff.ms', '10', 'environment BROOK_CFG_LOG_CLEANER_BACKOFF_MS'],
      ['num.partitions', '3', 'environment BROOK_CFG_NUM_PARTITIONS'],
    ]);
  });
});

describe('values', () => {
  it("checks Kafka's types and ranges, naming the origin", () => {
    expect(problem(() => checkStartupConfig(set('num.partitions=0')))).toBe('--set num.partitions: Invalid value 0 for configuration num.partitions: Value must be at least 1');
    expect(problem(() => checkStartupConfig(set('auto.create.topics.enable=yes')))).toMatch(/Expected value to be either true or false/);
    expect(problem(() => checkStartupConfig(set('compression.type=brotli')))).toMatch(/String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer/);
    expect(problem(() => checkStartupConfig(set('log.message.timestamp.type=Now')))).toMatch(/String must be one of: CreateTime, LogAppendTime/);
    expect(problem(() => checkStartupConfig(set('log.segment.bytes=1GB')))).toMatch(/Not a number of type INT/);
    expect(problem(() => checkStartupConfig(set('log.retention.ms=1h')))).toMatch(/Not a number of type LONG/);
    expect(problem(() => checkStartupConfig(set('log.cleaner.min.cleanable.ratio=2')))).toMatch(/Value must be no more than 1/);
    expect(problem(() => checkStartupConfig(set('node.id=-1')))).toMatch(/Value must be at least 0/);
    // Kafka configs Brook does not act on are still type-checked.
    expect(problem(() => checkStartupConfig(set('offsets.topic.replication.factor=0')))).toMatch(/offsets.topic.replication.factor: Value must be at least 1/);
    const env = settingsFromEnv({ BROOK_CFG_NUM_PARTITIONS: 'three' });
    expect(problem(() => checkStartupConfig(env))).toBe('environment BROOK_CFG_NUM_PARTITIONS: Invalid value three for configuration num.partitions: Not a number of type INT');
  });

  it('checks the rules across values', () => {
    expect(problem(() => checkStartupConfig(set('default.replication.factor=3')))).toMatch(/^--set default.replication.factor: .*the cluster has 1 broker/);
    expect(problem(() => checkStartupConfig(set('default.replication.factor=0')))).toMatch(/Value must be at least 1/);
    expect(problem(() => checkStartupConfig(set('node.id=1', 'broker.id=2')))).toMatch(/broker.id \(2\) and node.id \(1\) must be equal/);
    expect(problem(() => checkStartupConfig(set('group.min.session.timeout.ms=5000', 'group.max.session.timeout.ms=4000')))).toMatch(/larger than group.max.session.timeout.ms/);
    expect(problem(() => checkStartupConfig(set('log.cleaner.min.compaction.lag.ms=10', 'log.cleaner.max.compaction.lag.ms=5')))).toMatch(/min.compaction.lag.ms \(10\) > max.compaction.lag.ms \(5\)/);
    expect(problem(() => checkStartupConfig(set('log.dirs=/a,/b')))).toMatch(/log.dirs lists 2 directories/);
    expect(checkStartupConfig(set('default.replication.factor=1', 'node.id=4', 'broker.id=4')).warnings).toEqual([]);
  });

  it("unknown names: Kafka's warning with a hint, or refused with strict", () => {
    const r = checkStartupConfig(set('nmu.partitions=3', 'retention.ms=5', 'totally.made.up=1', 'zookeeper.connect=zk:2181', 'num.io.threads=8'));
    expect(r.warnings).toEqual([
      "The configuration 'nmu.partitions' was supplied but isn't a known config. (did you mean num.partitions?) [--set nmu.partitions]",
      "The configuration 'retention.ms' was supplied but isn't a known config. (retention.ms is a topic config; the broker default is log.retention.ms) [--set retention.ms]",
      "The configuration 'totally.made.up' was supplied but isn't a known config. [--set totally.made.up]",
    ]);
    expect(r.ignored).toEqual(['zookeeper.connect', 'num.io.threads']);
    expect(problem(() => checkStartupConfig(set('nmu.partitions=3', 'zookeeper.connect=zk:2181'), { strict: true }))).toBe(
      "--strict: The configuration 'nmu.partitions' was supplied but isn't a known config. (did you mean num.partitions?) [--set nmu.partitions]",
    );
    expect(checkStartupConfig(set('num.partitions=3', 'process.roles=broker,controller'), { strict: true }).warnings).toEqual([]);
  });
});

describe('listeners', () => {
  const plan = (kv: string[], flags = {}) => resolveListeners(checkStartupConfig(set(...kv)), flags);

  it('one PLAINTEXT listener, flags winning over configs', () => {
    expect(plan([])).toEqual({
      host: '127.0.0.1',
      port: 9092,
      advertisedHost: undefined,
      advertisedPort: undefined,
      listeners: [{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092, advertisedHost: undefined, advertisedPort: undefined }],
    });
    expect(plan(['listeners=PLAINTEXT://localhost:9093', 'advertised.listeners=PLAINTEXT://broker:19093'])).toMatchObject({ host: 'localhost', port: 9093, advertisedHost: 'broker', advertisedPort: 19093 });
    expect(plan(['listeners=PLAINTEXT://[::1]:9093'])).toMatchObject({ host: '::1', port: 9093 });
    expect(plan(['listeners=PLAINTEXT://localhost:9093'], { host: '127.0.0.1', port: 0 })).toMatchObject({ host: '127.0.0.1', port: 0 });
    expect(plan(['listeners=INTERNAL://127.0.0.1:9093', 'listener.security.protocol.map=INTERNAL:PLAINTEXT'])).toMatchObject({ port: 9093 });
  });

  it('never advertises a wildcard address', () => {
    expect(problem(() => plan([], { host: '0.0.0.0' }))).toMatch(/^--host: the listener host 0.0.0.0 .* --advertised-host/);
    expect(problem(() => plan(['listeners=PLAINTEXT://:9092']))).toMatch(/^--set listeners: the listener host 0.0.0.0/);
    expect(problem(() => plan(['listeners=PLAINTEXT://[::]:9092']))).toMatch(/listener host ::/);
    expect(plan(['listeners=PLAINTEXT://0.0.0.0:9092'], { advertisedHost: 'broker' })).toMatchObject({ host: '0.0.0.0', advertisedHost: 'broker' });
    expect(problem(() => plan(['advertised.listeners=PLAINTEXT://0.0.0.0:9092']))).toBe(
      '--set advertised.listeners: advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.',
    );
    expect(problem(() => plan([], { advertisedHost: '::' }))).toMatch(/^--advertised-host: .*nonroutable/);
  });

  it('several listeners, each advertised by name; the flags set the first', () => {
    const p = plan(
      ['listeners=INTERNAL://a:9092,EXTERNAL://b:9093', 'advertised.listeners=EXTERNAL://ext:19093', 'listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT'],
      { port: 0 },
    );
    expect(p.listeners.map((l) => [l.name, l.protocol, l.host, l.port, l.advertisedHost, l.advertisedPort])).toEqual([
      ['INTERNAL', 'PLAINTEXT', 'a', 0, undefined, undefined],
      ['EXTERNAL', 'PLAINTEXT', 'b', 9093, 'ext', 19093],
    ]);
    expect(p).toMatchObject({ host: 'a', port: 0 });
  });

  it('refuses repeated names, SASL, unknown protocols and malformed listeners', () => {
    expect(problem(() => plan(['listeners=PLAINTEXT://a:9092,PLAINTEXT://b:9093']))).toMatch(/listeners names listener PLAINTEXT twice/);
    expect(problem(() => plan(['advertised.listeners=PLAINTEXT://a:9092,PLAINTEXT://b:9093']))).toMatch(/advertised.listeners names listener PLAINTEXT twice/);
    expect(problem(() => plan(['listeners=SASL_PLAINTEXT://a:9092', 'sasl.enabled.mechanisms=GSSAPI']))).toMatch(/GSSAPI \(Kerberos\) is not implemented/);
    expect(problem(() => plan(['listeners=X://a:9092', 'listener.security.protocol.map=X:TLS']))).toMatch(/unknown security protocol TLS for listener X/);
    expect(problem(() => plan(['listeners=INTERNAL://a:9092']))).toMatch(/No security protocol defined for listener INTERNAL/);
    expect(problem(() => plan(['listeners=PLAINTEXT://a:9092', 'advertised.listeners=OTHER://b:9092']))).toMatch(/names OTHER, which is not a listener/);
    expect(problem(() => plan(['listeners=localhost:9092']))).toMatch(/'localhost:9092' is not NAME:\/\/host:port/);
    expect(problem(() => plan(['listeners=PLAINTEXT://a:99999']))).toMatch(/is not NAME:\/\/host:port/);
  });

  it('startBroker checks the same rules across values', async () => {
    await expect(startBroker({ config: { 'default.replication.factor': '3' } })).rejects.toThrow(/the cluster has 1 broker/);
    await expect(startBroker({ config: { 'num.partitions': '0' } })).rejects.toThrow(/Value must be at least 1/);
  });

  it('startBroker refuses to advertise a wildcard host too', async () => {
    await expect(startBroker({ host: '0.0.0.0' })).rejects.toThrow(/cannot be advertised/);
    await expect(startBroker({ advertisedHost: '0.0.0.0' })).rejects.toThrow(/nonroutable meta-address/);
  });

  it('a failed listen releases the data directory', async () => {
    const first = await startBroker({ memory: true });
    try {
      const data = join(dir, 'busy-port');
      await expect(startBroker({ dataDir: data, port: first.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      // The lock was released: another process could open the directory now.
      const { existsSync } = await import('node:fs');
      expect(existsSync(join(data, '.lock'))).toBe(false);
    } finally {
      await first.close();
    }
  });
});

describe('text log lines', () => {
  it('formats pino JSON as one readable line', () => {
    const t = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
    const line = JSON.stringify({ level: 40, time: t, name: 'brook', msg: 'hello', topic: 't 1', n: 3, err: { type: 'Error', message: 'boom', stack: 'x', code: 'EIO' } });
    expect(formatLogLine(line)).toBe('03:04:05.006 WARN  hello topic="t 1" n=3 err="boom (EIO)"\n');
    expect(formatLogLine('not json')).toBe('not json\n');
  });
});
