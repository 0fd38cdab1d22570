// The security phase of `npm run compat` (issue 11): one in-process Brook with an SSL, a
// SASL_PLAINTEXT and a SASL_SSL listener, a throwaway CA and server certificate made with openssl,
// a PLAIN (JAAS) user and a SCRAM user for both mechanisms. run.ts gives each client in
// SECURITY_CLIENTS the spec below as a file (`run.sh security <spec.json>`); the client prints
// result rows as `run.sh scenarios` does.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type Broker } from '../src/broker.js';
import { credentialFromPassword } from '../src/security/scram.js';

/** Scenario names shared by every client (README.md). */
export const SECURITY_SCENARIOS = [
  'ssl-produce-consume',
  'sasl-plain',
  'sasl-scram-sha-256',
  'sasl-scram-sha-512',
  'sasl-ssl-scram-sha-256',
  'sasl-ssl-scram-sha-512',
  'sasl-wrong-password',
] as const;

/** What `run.sh security` reads (the file named by its argument). */
export interface SecuritySpec {
  /** "host:port" of each listener, by security protocol. */
  listeners: { SSL: string; SASL_PLAINTEXT: string; SASL_SSL: string };
  /** PEM file of the CA that signed the broker's certificate (SAN IP:127.0.0.1, DNS:localhost). */
  ca: string;
  /** A JAAS (PLAIN) user. */
  plain: { username: string; password: string };
  /** A SCRAM user with credentials for SCRAM-SHA-256 and SCRAM-SHA-512. */
  scram: { username: string; password: string };
  /** Not the password of either user. */
  wrongPassword: string;
  /** One existing single-partition topic per scenario, for this client. */
  topics: Record<string, string>;
}

const OPENSSL = '/usr/bin/openssl';

function makeCertificates(dir: string): { key: string; cert: string; ca: string } {
  const openssl = (...args: string[]): void => {
    execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Brook compat CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(Date.now()), '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt');
  return { key: readFileSync(join(dir, 'server.key'), 'utf8'), cert: readFileSync(join(dir, 'server.crt'), 'utf8'), ca: join(dir, 'ca.crt') };
}

export interface SecureBroker {
  broker: Broker;
  /** Writes the spec for `client` (creating its topics) and returns the file's path. */
  specFor(client: string): string;
}

/** Runs `fn` with a secured broker (memory store), then closes it and removes the certificates. */
export async function withSecureBroker<T>(fn: (b: SecureBroker) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'brook-compat-security-'));
  let broker: Broker | undefined;
  try {
    const { key, cert, ca } = makeCertificates(dir);
    const plain = { username: 'admin', password: 'admin-secret' };
    const scram = { username: 'alice', password: 'alice-secret' };
    const sasl = { mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], plainUsers: { [plain.username]: plain.password } };
    broker = await startBroker({
      memory: true,
      logLevel: process.env.BROOK_COMPAT_LOG_LEVEL ?? 'silent',
      listeners: [
        { name: 'SSL', protocol: 'SSL', tls: { key, cert } },
        { name: 'SASL_PLAINTEXT', protocol: 'SASL_PLAINTEXT', sasl },
        { name: 'SASL_SSL', protocol: 'SASL_SSL', tls: { key, cert }, sasl },
      ],
    });
    await broker.scram.alter(
      await Promise.all((['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).map(async (mechanism) => ({ user: scram.username, mechanism, credential: await credentialFromPassword(mechanism, scram.password) }))),
    );
    const b = broker;
    const endpoint = (name: string): string => {
      const l = b.listeners.find((x) => x.name === name);
      if (!l) throw new Error(`no ${name} listener`);
      return l.advertised;
    };
    const listeners = { SSL: endpoint('SSL'), SASL_PLAINTEXT: endpoint('SASL_PLAINTEXT'), SASL_SSL: endpoint('SASL_SSL') };
    return await fn({
      broker: b,
      specFor(client: string): string {
        const topics: Record<string, string> = {};
        for (const s of SECURITY_SCENARIOS) {
          const topic = `${client}.${s}`;
          const r = b.topics.create(topic, 1, 1, {});
          if (r.errorCode !== 0) throw new Error(`create topic ${topic}: ${r.errorMessage}`);
          topics[s] = topic;
        }
        const spec: SecuritySpec = { listeners, ca, plain, scram, wrongPassword: 'not-the-password', topics };
        const file = join(dir, `${client}.json`);
        writeFileSync(file, JSON.stringify(spec, null, 2));
        return file;
      },
    });
  } finally {
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
