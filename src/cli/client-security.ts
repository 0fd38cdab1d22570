// How the client commands reach a secured broker: Kafka's client properties, from the file given
// with --command-config (the flag Kafka's own tools take) and --command-property key=value pairs
// (which win).
//
//   security.protocol        PLAINTEXT (default), SSL, SASL_PLAINTEXT, SASL_SSL
//   ssl.truststore.location  CA certificates (PEM) the broker's certificate must chain to
//                            (also ssl.ca.location, librdkafka's name); without one, the system CAs
//   ssl.keystore.location    a PEM file with the client's key and certificate (ssl.client.auth)
//   ssl.key.password         its key's password
//   ssl.endpoint.identification.algorithm   "" turns off host name verification (default https)
//   sasl.mechanism           PLAIN (Kafka's default), SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER
//   sasl.jaas.config         ... PlainLoginModule|ScramLoginModule required username="u" password="p";
//                            (OAuthBearerLoginModule: unsecuredLoginStringClaim_sub="u")
//   sasl.username / sasl.password   librdkafka's names, instead of the JAAS entry

import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ConnectionOptions } from '../client/connection.js';
import { readPropertiesFile } from '../config/properties.js';
import { parseJaas } from '../config/sasl.js';
import type { ClientSaslConfig } from '../security/sasl/client.js';
import { UsageError } from './common.js';

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];

/** The connection's TLS and SASL options from Kafka client properties. */
export function securityFromProperties(props: Record<string, string>, where = 'client properties'): Pick<ConnectionOptions, 'tls' | 'sasl'> {
  const protocol = (props['security.protocol'] ?? 'PLAINTEXT').trim().toUpperCase();
  if (!PROTOCOLS.includes(protocol)) throw new UsageError(`${where}: security.protocol ${protocol} is not one of ${PROTOCOLS.join(', ')}`);
  const out: Pick<ConnectionOptions, 'tls' | 'sasl'> = {};
  const read = (name: string): string => {
    const path = props[name]!.trim();
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`${where}: cannot read ${name} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const tls: TlsConnectionOptions = {};
    const trust = props['ssl.truststore.location'] !== undefined ? 'ssl.truststore.location' : props['ssl.ca.location'] !== undefined ? 'ssl.ca.location' : undefined;
    if (trust) tls.ca = read(trust);
    if (props['ssl.truststore.certificates']) tls.ca = props['ssl.truststore.certificates'].replace(/\\n/g, '\n');
    if (props['ssl.keystore.location'] !== undefined) {
      const pem = read('ssl.keystore.location');
      tls.key = pem;
      tls.cert = pem;
      if (props['ssl.key.password'] !== undefined) tls.passphrase = props['ssl.key.password'];
    }
    if (props['ssl.endpoint.identification.algorithm'] !== undefined && props['ssl.endpoint.identification.algorithm'].trim() === '') {
      tls.checkServerIdentity = () => undefined;
    }
    out.tls = tls;
  }
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanism = (props['sasl.mechanism'] ?? 'PLAIN').trim().toUpperCase();
    if (!MECHANISMS.includes(mechanism)) throw new UsageError(`${where}: sasl.mechanism ${mechanism} is not supported (${MECHANISMS.join(', ')})`);
    const sasl: ClientSaslConfig = { mechanism: mechanism as ClientSaslConfig['mechanism'] };
    if (props['sasl.jaas.config'] !== undefined) {
      let options: Map<string, string>;
      try {
        options = parseJaas(props['sasl.jaas.config']).options;
      } catch (err) {
        throw new UsageError(`${where}: sasl.jaas.config is not a JAAS entry: ${(err as Error).message}`);
      }
      const user = options.get('username') ?? options.get('unsecuredLoginStringClaim_sub');
      if (user !== undefined) sasl.username = user;
      if (options.has('password')) sasl.password = options.get('password')!;
    }
    if (props['sasl.username'] !== undefined) sasl.username = props['sasl.username'];
    if (props['sasl.password'] !== undefined) sasl.password = props['sasl.password'];
    if (sasl.username === undefined) throw new UsageError(`${where}: SASL ${mechanism} needs a user: sasl.jaas.config with username="..." (or sasl.username)`);
    if (mechanism !== 'OAUTHBEARER' && sasl.password === undefined) throw new UsageError(`${where}: SASL ${mechanism} needs a password: sasl.jaas.config with password="..." (or sasl.password)`);
    out.sasl = sasl;
  }
  return out;
}

/** --command-config file, then --command-property pairs. */
export function clientSecurity(file: string | undefined, pairs: readonly string[] = []): Pick<ConnectionOptions, 'tls' | 'sasl'> {
  const props: Record<string, string> = {};
  if (file !== undefined) {
    let settings;
    try {
      settings = readPropertiesFile(file);
    } catch (err) {
      throw new UsageError(`--command-config: ${(err as Error).message}`);
    }
    for (const s of settings) props[s.name] = s.value;
  }
  for (const kv of pairs) {
    const i = kv.indexOf('=');
    props[kv.slice(0, i).trim()] = kv.slice(i + 1);
  }
  return securityFromProperties(props, file ?? '--command-property');
}
