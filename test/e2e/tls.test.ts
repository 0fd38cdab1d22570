// Issue 11, step 1: several listeners and TLS. A throwaway CA, broker certificate and client
// certificate are made with openssl at test time; a broker with a PLAINTEXT and an SSL listener
// (configured with Kafka's names through the same path as `brook start`) serves kafkajs on both,
// advertises to each client the endpoints of the listener it came through, records the client
// certificate's name as the principal, refuses a client without a certificate when
// ssl.client.auth=required, and survives garbage and plaintext on the SSL port. Bad TLS configs
// fail the start with one message.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaConfig } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { brokerListeners } from '../../src/cli/start.js';
import { createLogger } from '../../src/common/logger.js';
import { createMemoryMetadataStore } from '../../src/cluster/metadata/index.js';
import { listenerTls } from '../../src/config/tls.js';
import { ConfigError } from '../../src/config/config.js';
import { settingsFromArgs } from '../../src/config/properties.js';
import { checkStartupConfig, resolveListeners } from '../../src/config/startup.js';
import { hasKcat, kafkaFor, NO_KCAT, runKcat } from '../helpers/broker.js';
import { openProbe, requestFrame, seededBytes } from '../helpers/socket.js';
import { CLI_MAIN, hasDist, NO_DIST, runCli, startCliBroker } from '../helpers/cli.js';
import { readResponseHeader } from '../../protocol/framing.js';
import { decodeMetadataResponse } from '../../protocol/generated/03-metadata.js';
import { Reader } from '../../protocol/primitives/reader.js';

const OPENSSL = '/usr/bin/openssl';
const dir = mkdtempSync(join(tmpdir(), 'brook-tls-'));
const f = (name: string): string => join(dir, name);
const pem = (name: string): string => readFileSync(f(name), 'utf8');

function openssl(...args: string[]): void {
  execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A key and a certificate signed by the test CA. */
function issue(name: string, subject: string, ext?: string): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(Math.floor(Math.random() * 1e9)), '-days', '2', '-out', `${name}.crt`];
  if (ext) {
    writeFileSync(f(`${name}.ext`), ext);
    args.push('-extfile', `${name}.ext`);
  }
  openssl(...args);
}

beforeAll(() => {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Brook Test CA');
  issue('server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  issue('client', '/O=Brook Test/CN=client-1');
  // Another CA's client: not trusted by the broker.
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.crt', '-days', '2', '-subj', '/CN=rogue');
  // ssl.keystore.location: key + certificate chain in one PEM file.
  writeFileSync(f('broker.pem'), pem('server.key') + pem('server.crt') + pem('ca.crt'));
  // An encrypted key (ssl.key.password).
  openssl('pkey', '-in', 'server.key', '-aes256', '-passout', 'pass:s3cret', '-out', 'server-enc.key');
  writeFileSync(f('broker-enc.pem'), pem('server-enc.key') + pem('server.crt'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a broker from Kafka-named settings, as `brook start` does. */
async function brokerFrom(settings: string[], logger = createLogger('silent')): Promise<Broker> {
  const startup = checkStartupConfig(settingsFromArgs(settings));
  const plan = resolveListeners(startup, {});
  return startBroker({ listeners: brokerListeners(plan), config: startup.values, memory: true, logger });
}

function planError(settings: string[]): string {
  try {
    resolveListeners(checkStartupConfig(settingsFromArgs(settings)), {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const TWO = ['listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0'];

function listener(b: Broker, name: string): { host: string; port: number } {
  const l = b.listeners.find((x) => x.name === name);
  if (!l) throw new Error(`no listener ${name}`);
  return { host: l.host, port: l.port };
}

function sslClient(b: Broker, ssl: KafkaConfig['ssl'], extra: Partial<KafkaConfig> = {}) {
  const { host, port } = listener(b, 'SSL');
  return kafkaFor(`${host}:${port}`, { ssl, ...extra });
}

async function roundTrip(kafka: ReturnType<typeof kafkaFor>, topic: string, values: string[]): Promise<string[]> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: values.map((value) => ({ value })) });
  } finally {
    await producer.disconnect();
  }
  const consumer = kafka.consumer({ groupId: `g-${topic}-${Math.random()}` });
  const got: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push(message.value!.toString());
            if (got.length >= values.length) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

describe('listeners and TLS', () => {
  it('PLAINTEXT and SSL listeners: kafkajs on both, each told the endpoints of its own listener', async () => {
    const b = await brokerFrom([...TWO, `ssl.keystore.location=${f('broker.pem')}`]);
    try {
      const plain = listener(b, 'PLAINTEXT');
      const ssl = listener(b, 'SSL');
      expect(plain.port).not.toBe(ssl.port);
      expect(b.listeners.map((l) => [l.name, l.protocol])).toEqual([
        ['PLAINTEXT', 'PLAINTEXT'],
        ['SSL', 'SSL'],
      ]);
      const tlsKafka = sslClient(b, { ca: [pem('ca.crt')] });
      const plainKafka = kafkaFor(`${plain.host}:${plain.port}`);

      // Metadata (kafkajs describeCluster reads it) and DescribeCluster through each port.
      for (const [kafka, want] of [
        [tlsKafka, ssl],
        [plainKafka, plain],
      ] as const) {
        const admin = kafka.admin();
        await admin.connect();
        try {
          expect((await admin.describeCluster()).brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: want.port }]);
        } finally {
          await admin.disconnect();
        }
      }
      // Produce and consume (FindCoordinator must answer the SSL endpoint for this to work).
      expect(await roundTrip(tlsKafka, 'over-tls', ['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
      expect(await roundTrip(plainKafka, 'over-plain', ['x', 'y'])).toEqual(['x', 'y']);
      // Both listeners see the same data.
      expect((await b.records('over-tls', 0)).map((r) => r.value?.toString())).toEqual(['a', 'b', 'c']);
    } finally {
      await b.close();
    }
  });

  it('advertised.listeners per listener name', async () => {
    const b = await brokerFrom([
      'listeners=INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0',
      'advertised.listeners=INTERNAL://localhost:19092,EXTERNAL://127.0.0.1:29093',
      'listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:SSL',
      `listener.name.external.ssl.keystore.key=${pem('server.key').replace(/\n/g, '\\n')}`,
      `listener.name.external.ssl.keystore.certificate.chain=${pem('server.crt')}`,
    ]);
    try {
      expect(b.listeners.map((l) => [l.name, l.protocol, l.advertised])).toEqual([
        ['INTERNAL', 'PLAINTEXT', 'localhost:19092'],
        ['EXTERNAL', 'SSL', '127.0.0.1:29093'],
      ]);
      // A client connects to the bound port; Metadata names the advertised address of the listener
      // it came through (read over a raw TLS socket: nobody listens at 29093).
      const ext = b.listeners.find((l) => l.name === 'EXTERNAL')!;
      expect(await metadataOverTls(ext.port)).toEqual([{ nodeId: 1, host: '127.0.0.1', port: 29093 }]);
    } finally {
      await b.close();
    }
  });

  it('ssl.client.auth=required: a trusted client certificate is the principal; no or an untrusted one is refused', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l.startsWith('{')) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const b = await brokerFrom(
      [...TWO, `ssl.keystore.location=${f('broker-enc.pem')}`, 'ssl.key.password=s3cret', `ssl.truststore.location=${f('ca.crt')}`, 'ssl.client.auth=required'],
      createLogger('debug', sink),
    );
    try {
      const withCert = sslClient(b, { ca: [pem('ca.crt')], key: pem('client.key'), cert: pem('client.crt') });
      expect(await roundTrip(withCert, 'mtls', ['m'])).toEqual(['m']);
      const accepted = lines.filter((l) => l.msg === 'connection accepted' && l.listener === 'SSL');
      expect(accepted.length).toBeGreaterThan(0);
      expect(new Set(accepted.map((l) => l.principal))).toEqual(new Set(['CN=client-1,O=Brook Test']));
      // The password is never logged.
      expect(JSON.stringify(lines)).not.toContain('s3cret');

      for (const ssl of [{ ca: [pem('ca.crt')] }, { ca: [pem('ca.crt')], key: pem('rogue.key'), cert: pem('rogue.crt') }]) {
        const admin = sslClient(b, ssl, { retry: { retries: 0 }, connectionTimeout: 3000 }).admin();
        await expect(admin.connect()).rejects.toThrow();
        await admin.disconnect().catch(() => {});
      }
      expect(lines.some((l) => l.msg === 'TLS handshake failed; connection closed')).toBe(true);
      // PLAINTEXT clients are ANONYMOUS.
      const plain = listener(b, 'PLAINTEXT');
      expect(await roundTrip(kafkaFor(`${plain.host}:${plain.port}`), 'plain-anon', ['p'])).toEqual(['p']);
      expect(lines.filter((l) => l.msg === 'connection accepted' && l.listener === 'PLAINTEXT').every((l) => l.principal === 'ANONYMOUS')).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('ssl.client.auth=requested: a client without a certificate is ANONYMOUS', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l.startsWith('{')) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const b = await brokerFrom([...TWO, `ssl.keystore.location=${f('broker.pem')}`, `ssl.truststore.certificates=${pem('ca.crt')}`, 'ssl.client.auth=requested'], createLogger('debug', sink));
    try {
      expect(await roundTrip(sslClient(b, { ca: [pem('ca.crt')] }), 'req-anon', ['r'])).toEqual(['r']);
      const accepted = lines.filter((l) => l.msg === 'connection accepted' && l.listener === 'SSL');
      expect(accepted.length).toBeGreaterThan(0);
      expect(accepted.every((l) => l.principal === 'ANONYMOUS')).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('garbage and a plaintext Kafka request on the SSL port close that connection; the broker keeps serving', async () => {
    const b = await brokerFrom([...TWO, `ssl.keystore.location=${f('broker.pem')}`]);
    try {
      const ssl = listener(b, 'SSL');
      for (const bytes of [seededBytes(11, 4096), requestFrame(18, 0, 1), Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3])]) {
        const probe = await openProbe(ssl.host, ssl.port);
        probe.write(bytes);
        expect(await probe.waitClosed(10000)).toBe(true);
        probe.destroy();
      }
      expect(await roundTrip(sslClient(b, { ca: [pem('ca.crt')] }), 'after-garbage', ['still'])).toEqual(['still']);
    } finally {
      await b.close();
    }
  });

  it('close() does not wait for a TLS handshake that never comes', async () => {
    const b = await brokerFrom([...TWO, `ssl.keystore.location=${f('broker.pem')}`]);
    const ssl = listener(b, 'SSL');
    const silent = await openProbe(ssl.host, ssl.port);
    // Without closing the socket mid-handshake, close() would wait for node:tls's 120 s handshake
    // timeout (past this test's timeout).
    await b.close();
    expect(await silent.waitClosed(10000)).toBe(true);
  });

  it.skipIf(!hasDist)(`brook start: PLAINTEXT and SSL listeners from the configs${hasDist ? '' : ` (${NO_DIST})`}`, async () => {
    const cli = await startCliBroker(join(dir, 'cli-data'), ['--memory', '--set', 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0', '--set', `ssl.keystore.location=${f('broker.pem')}`]);
    try {
      const started = cli.stderr().split('\n').filter((l) => l.includes('brook started')).map((l) => JSON.parse(l) as { listeners: string[] })[0]!;
      const sslLine = started.listeners.find((l) => l.startsWith('SSL://'))!;
      const port = Number(/^SSL:\/\/127\.0\.0\.1:(\d+) \(SSL, advertised 127\.0\.0\.1:\1\)$/.exec(sslLine)?.[1]);
      expect(port).toBeGreaterThan(0);
      expect(port).not.toBe(cli.port);
      const kafka = kafkaFor(`127.0.0.1:${port}`, { ssl: { ca: [pem('ca.crt')] } });
      expect(await roundTrip(kafka, 'cli-tls', ['c'])).toEqual(['c']);
      expect(await roundTrip(kafkaFor(cli.bootstrap), 'cli-plain', ['d'])).toEqual(['d']);
    } finally {
      await cli.kill();
    }
  });

  it.skipIf(!hasKcat)(`kcat round trip over SSL${hasKcat ? '' : ` (${NO_KCAT})`}`, async () => {
    const b = await brokerFrom([...TWO, `ssl.keystore.location=${f('broker.pem')}`]);
    try {
      const ssl = listener(b, 'SSL');
      const common = ['-b', `${ssl.host}:${ssl.port}`, '-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${f('ca.crt')}`];
      const p = await runKcat([...common, '-P', '-t', 'kcat-tls'], 'one\ntwo\n');
      expect(p.code, p.stderr).toBe(0);
      const c = await runKcat([...common, '-C', '-t', 'kcat-tls', '-o', 'beginning', '-e', '-q']);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout).toBe('one\ntwo\n');
      const l = await runKcat([...common, '-L', '-J']);
      expect(l.code, l.stderr).toBe(0);
      expect((JSON.parse(l.stdout) as { brokers: Array<{ name: string }> }).brokers.map((x) => x.name)).toEqual([`127.0.0.1:${ssl.port}`]);
    } finally {
      await b.close();
    }
  });

  it('bad configs are refused with one message', () => {
    expect(planError([...TWO, `ssl.keystore.location=${f('missing.pem')}`])).toMatch(/^--set ssl.keystore.location: cannot read ssl.keystore.location .*missing.pem for listener SSL: ENOENT$/);
    expect(planError([...TWO, 'ssl.keystore.type=JKS', `ssl.keystore.location=${f('broker.pem')}`])).toMatch(/ssl.keystore.type JKS is not supported .*PEM only/);
    expect(planError([...TWO, 'ssl.truststore.type=PKCS12', `ssl.keystore.location=${f('broker.pem')}`])).toMatch(/ssl.truststore.type PKCS12 is not supported/);
    expect(planError(TWO)).toMatch(/listener SSL uses SSL but has no keystore/);
    expect(planError(['listeners=SASL_SSL://127.0.0.1:0'])).toMatch(/listener SASL_SSL uses SSL but has no keystore/);
    expect(planError(['listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0', 'sasl.enabled.mechanisms=GSSAPI'])).toMatch(/GSSAPI \(Kerberos\) is not implemented/);
    expect(planError([...TWO, `ssl.keystore.location=${f('broker-enc.pem')}`])).toMatch(/keystore cannot be used.*ssl.key.password/);
    expect(planError([...TWO, `ssl.keystore.location=${f('broker-enc.pem')}`, 'ssl.key.password=wrong'])).toMatch(/keystore cannot be used/);
    expect(planError([...TWO, `ssl.keystore.location=${f('broker.pem')}`, 'ssl.client.auth=required'])).toMatch(/needs the CA certificates of clients/);
    expect(planError([...TWO, `ssl.keystore.location=${f('broker.pem')}`, 'ssl.client.auth=maybe'])).toMatch(/String must be one of: required, requested, none/);
    expect(planError(['listeners=PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:1'])).toMatch(/names listener PLAINTEXT twice/);
    expect(planError([...TWO, 'advertised.listeners=OTHER://a:1'])).toMatch(/names OTHER, which is not a listener \(listeners: PLAINTEXT, SSL\)/);
    // listener.name.<name>.ssl.* is a known config; other listener-prefixed names are not.
    const startup = checkStartupConfig(settingsFromArgs([`listener.name.ssl.ssl.keystore.location=${f('broker.pem')}`, 'listener.name.ssl.ssl.endpoint.identification.algorithm=']));
    expect(startup.warnings).toEqual([]);
    expect(startup.ignored).toEqual(['listener.name.ssl.ssl.endpoint.identification.algorithm']);
  });

  it('a cluster: each broker registers every listener; clients get the endpoints of theirs; brokers replicate over PLAINTEXT', async () => {
    const meta = createMemoryMetadataStore();
    const tls = listenerTls('SSL', { 'ssl.keystore.location': f('broker.pem') }).options;
    const bs: Broker[] = [];
    try {
      // SSL first: the registration's host/port (what brokers use between themselves) is still the
      // PLAINTEXT listener's.
      for (const nodeId of [1, 2]) {
        bs.push(
          await startBroker({
            nodeId,
            metadata: meta,
            memory: true,
            config: { 'broker.session.timeout.ms': '2000' },
            listeners: [
              { name: 'SSL', protocol: 'SSL', host: '127.0.0.1', port: 0, tls },
              { name: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
            ],
          }),
        );
      }
      const deadline = Date.now() + 10_000;
      while (!bs.every((b) => b.clusterNode!.brokers().length === 2)) {
        if (Date.now() > deadline) throw new Error('brokers did not see each other');
        await new Promise((r) => setTimeout(r, 20));
      }
      const regs = (await meta.listBrokers()).items.map((i) => i.value);
      for (const [i, b] of bs.entries()) {
        const ssl = listener(b, 'SSL');
        const plain = listener(b, 'PLAINTEXT');
        expect(regs[i]).toMatchObject({ nodeId: i + 1, host: '127.0.0.1', port: plain.port, endpoints: [{ listener: 'SSL', host: '127.0.0.1', port: ssl.port }, { listener: 'PLAINTEXT', host: '127.0.0.1', port: plain.port }] });
        expect(b.port).toBe(plain.port);
      }
      const sslKafka = kafkaFor('', { brokers: bs.map((b) => `127.0.0.1:${listener(b, 'SSL').port}`), ssl: { ca: [pem('ca.crt')] }, retry: { retries: 10, initialRetryTime: 100 } });
      const admin = sslKafka.admin();
      await admin.connect();
      try {
        expect((await admin.describeCluster()).brokers.map((x) => x.port).sort()).toEqual(bs.map((b) => listener(b, 'SSL').port).sort());
        await admin.createTopics({ topics: [{ topic: 'replicated', numPartitions: 2, replicationFactor: 2 }], waitForLeaders: true });
      } finally {
        await admin.disconnect();
      }
      expect(await roundTrip(sslKafka, 'replicated', ['1', '2', '3', '4'])).toHaveLength(4);
      const plainAdmin = kafkaFor(`127.0.0.1:${bs[0]!.port}`).admin();
      await plainAdmin.connect();
      try {
        expect((await plainAdmin.describeCluster()).brokers.map((x) => x.port).sort()).toEqual(bs.map((b) => b.port).sort());
      } finally {
        await plainAdmin.disconnect();
      }
      // Followers caught up over the PLAINTEXT listener.
      const deadline2 = Date.now() + 10_000;
      const total = (b: Broker): number => [0, 1].reduce((n, p) => n + Number(b.store.partition('replicated', p)?.logEndOffset ?? 0n), 0);
      while (!bs.every((b) => total(b) === 4)) {
        if (Date.now() > deadline2) throw new Error(`replication did not catch up: ${bs.map(total).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      for (const b of bs.reverse()) await b.close();
      await meta.close();
    }
    // In-process: bad TLS options are refused before anything is opened.
    await expect(startBroker({ listeners: [{ name: 'SSL', protocol: 'SSL', port: 0, tls: { key: 'nope', cert: 'nope' } }] })).rejects.toThrow(/listener SSL: the TLS options cannot be used/);
    // A cluster member without a PLAINTEXT listener is refused.
    await expect(startBroker({ nodeId: 3, metadata: createMemoryMetadataStore(), listeners: [{ name: 'SSL', protocol: 'SSL', port: 0, tls }] })).rejects.toThrow(/needs a listener for the other brokers/);
  });

  it.skipIf(!hasDist)(`brook start refuses bad TLS configs with one line${hasDist ? '' : ` (${NO_DIST})`}`, async () => {
    expect(CLI_MAIN).toBeTruthy();
    for (const [args, want] of [
      [['--set', 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0', '--set', `ssl.keystore.location=${f('nope.pem')}`], /^brook: --set ssl.keystore.location: cannot read/],
      [['--set', 'listeners=SASL_PLAINTEXT://127.0.0.1:0', '--set', 'sasl.enabled.mechanisms=GSSAPI'], /^brook: --set sasl.enabled.mechanisms: sasl.enabled.mechanisms: GSSAPI \(Kerberos\) is not implemented/],
      [['--set', 'listeners=SSL://127.0.0.1:0', '--set', 'ssl.keystore.type=JKS', '--set', 'ssl.keystore.location=x.jks'], /^brook: --set ssl.keystore.type: ssl.keystore.type JKS is not supported/],
    ] as const) {
      const r = await runCli(['start', '--memory', ...args], { timeoutMs: 15000 });
      expect(r.code, r.stderr).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(want);
    }
  });
});

/** Metadata v1 over a raw TLS socket to the port: the brokers it lists. */
function metadataOverTls(port: number): Promise<Array<{ nodeId: number; host: string; port: number }>> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: [pem('ca.crt')] }, () => {
      // Metadata v1, topics: null (-1).
      s.write(requestFrame(3, 1, 7, (w) => w.int32(-1)));
    });
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (all.length >= 4 && all.length >= 4 + all.readInt32BE(0)) {
        s.destroy();
        const r = new Reader(all, 4, 4 + all.readInt32BE(0));
        readResponseHeader(r, false);
        resolve(decodeMetadataResponse(r, 1).brokers.map((x) => ({ nodeId: x.nodeId, host: x.host, port: x.port })));
      }
    });
    s.on('error', reject);
  });
}
