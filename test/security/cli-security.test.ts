// Issue 11: the client commands reach secured brokers with Kafka's client properties
// (--command-config / -X: security.protocol, ssl.truststore.location, sasl.mechanism,
// sasl.jaas.config), over SASL_PLAINTEXT and SASL_SSL with SCRAM and PLAIN, and fail with one
// line and exit code 1 on a wrong password.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker.js';
import { credentialFromPassword } from '../../src/security/scram.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { hasDist, NO_DIST, runCli } from '../helpers/cli.js';

let pki: TestPki;
let dir: string;
let broker: Broker;
const port = (name: string): number => broker.listeners.find((l) => l.name === name)!.port;

beforeAll(async () => {
  pki = makePki();
  dir = pki.dir;
  const key = pki.pem('server.key');
  const cert = pki.pem('server.crt');
  broker = await startBroker({
    listeners: [
      { name: 'SASL_PLAINTEXT', protocol: 'SASL_PLAINTEXT', sasl: { mechanisms: ['SCRAM-SHA-512', 'PLAIN', 'OAUTHBEARER'], plainUsers: { admin: 'admin-secret' } } },
      { name: 'SASL_SSL', protocol: 'SASL_SSL', tls: { key, cert }, sasl: { mechanisms: ['SCRAM-SHA-256'] } },
    ],
    config: { 'connection.failed.authentication.delay.ms': '0' },
  });
  await broker.scram.alter([
    { user: 'alice', mechanism: 'SCRAM-SHA-512', credential: await credentialFromPassword('SCRAM-SHA-512', 'alice-secret') },
    { user: 'alice', mechanism: 'SCRAM-SHA-256', credential: await credentialFromPassword('SCRAM-SHA-256', 'alice-secret') },
  ]);
  writeFileSync(
    join(dir, 'scram-ssl.properties'),
    [
      'security.protocol=SASL_SSL',
      `ssl.truststore.location=${pki.path('ca.crt')}`,
      'sasl.mechanism=SCRAM-SHA-256',
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";',
    ].join('\n'),
  );
});
afterAll(async () => {
  await broker?.close();
  pki?.remove();
});

describe.skipIf(!hasDist)(`client commands on secured listeners${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('SASL_SSL with SCRAM-SHA-256 from --command-config: create and list a topic', async () => {
    const b = ['-b', `127.0.0.1:${port('SASL_SSL')}`, '--command-config', join(dir, 'scram-ssl.properties')];
    const created = await runCli(['topic', 'create', 'secured', '--partitions', '2', ...b]);
    expect(created.code, created.stderr).toBe(0);
    const listed = await runCli(['topic', 'list', '--json', ...b]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('secured');
  });

  it('SASL_PLAINTEXT with -X properties: SCRAM-SHA-512, PLAIN and an unsecured OAUTHBEARER token', async () => {
    const b = ['-b', `127.0.0.1:${port('SASL_PLAINTEXT')}`, '-X', 'security.protocol=SASL_PLAINTEXT'];
    for (const extra of [
      ['-X', 'sasl.mechanism=SCRAM-SHA-512', '-X', 'sasl.username=alice', '-X', 'sasl.password=alice-secret'],
      ['-X', 'sasl.mechanism=PLAIN', '-X', 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret";'],
      ['-X', 'sasl.mechanism=OAUTHBEARER', '-X', 'sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="carol";'],
    ]) {
      const r = await runCli(['cluster', 'describe', ...b, ...extra]);
      expect(r.code, `${extra.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });

  it('a wrong password or no SASL at all ends with exit code 1 and one line, without the password', async () => {
    const wrong = await runCli(['topic', 'list', '-b', `127.0.0.1:${port('SASL_PLAINTEXT')}`, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanism=SCRAM-SHA-512', '-X', 'sasl.username=alice', '-X', 'sasl.password=not-it-123']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/SASL_AUTHENTICATION_FAILED|Authentication failed/);
    expect(wrong.stderr).not.toContain('not-it-123');
    const plain = await runCli(['topic', 'list', '-b', `127.0.0.1:${port('SASL_PLAINTEXT')}`, '--timeout', '3000']);
    expect(plain.code).toBe(1);
    const bad = await runCli(['topic', 'list', '-b', `127.0.0.1:${port('SASL_PLAINTEXT')}`, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanism=GSSAPI']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/sasl.mechanism GSSAPI is not supported/);
  });
});
