// Throwaway certificates for TLS tests, made with openssl: a CA, a broker certificate for
// 127.0.0.1/localhost, and client certificates whose subject becomes the connection's principal.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OPENSSL = '/usr/bin/openssl';

export interface TestPki {
  dir: string;
  /** PEM text of a file in the directory. */
  pem(name: string): string;
  path(name: string): string;
  /** Issues `<name>.key` / `<name>.crt` for the subject (e.g. "/O=Brook Test/CN=alice"). */
  client(name: string, subject: string): { key: string; cert: string };
  /** ssl.keystore.location (broker key + chain) and ssl.truststore.location (the CA). */
  brokerSettings(): string[];
  remove(): void;
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'brook-pki-'));
  const path = (name: string): string => join(dir, name);
  const pem = (name: string): string => readFileSync(path(name), 'utf8');
  const openssl = (...args: string[]): void => {
    execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const issue = (name: string, subject: string, ext?: string): void => {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(Math.floor(Math.random() * 1e9)), '-days', '2', '-out', `${name}.crt`];
    if (ext) {
      writeFileSync(path(`${name}.ext`), ext);
      args.push('-extfile', `${name}.ext`);
    }
    openssl(...args);
  };
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Brook Test CA');
  issue('server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  writeFileSync(path('broker.pem'), pem('server.key') + pem('server.crt') + pem('ca.crt'));
  return {
    dir,
    pem,
    path,
    client(name, subject) {
      issue(name, subject);
      return { key: pem(`${name}.key`), cert: pem(`${name}.crt`) };
    },
    brokerSettings: () => [`ssl.keystore.location=${path('broker.pem')}`, `ssl.truststore.location=${path('ca.crt')}`],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
