// TLS settings of an SSL listener, from Kafka's config names (PEM only). Read at startup: a missing
// file, a wrong key password or an unsupported store type is one ConfigError before anything is
// bound. Each name may be given for one listener as listener.name.<listener, lower case>.<name>,
// which wins over the plain name (Kafka's listener-prefixed configs).
//
// Keystore: ssl.keystore.location (one PEM file: the private key and the certificate chain) or
// inline ssl.keystore.key + ssl.keystore.certificate.chain; ssl.key.password for an encrypted key.
// Truststore (CA certificates for client certificates): ssl.truststore.location or inline
// ssl.truststore.certificates. ssl.client.auth = none | requested | required.

import { readFileSync } from 'node:fs';
import type { SecureVersion, TlsOptions } from 'node:tls';
import { ConfigError } from './config.js';
import { nodeTls } from '../common/builtins.js';

/** The ssl.* names Brook reads (Kafka's SslConfigs / BrokerSecurityConfigs). */
export const SSL_CONFIG_NAMES = [
  'ssl.keystore.type',
  'ssl.keystore.location',
  'ssl.keystore.password',
  'ssl.keystore.key',
  'ssl.keystore.certificate.chain',
  'ssl.key.password',
  'ssl.truststore.type',
  'ssl.truststore.location',
  'ssl.truststore.password',
  'ssl.truststore.certificates',
  'ssl.client.auth',
  'ssl.enabled.protocols',
  'ssl.cipher.suites',
  'ssl.protocol',
] as const;

/** Kafka names accepted without effect (JVM-specific). */
export const SSL_IGNORED_NAMES = [
  'ssl.endpoint.identification.algorithm',
  'ssl.keymanager.algorithm',
  'ssl.trustmanager.algorithm',
  'ssl.secure.random.implementation',
  'ssl.provider',
  'ssl.principal.mapping.rules',
  'ssl.engine.factory.class',
] as const;

export type ClientAuth = 'none' | 'requested' | 'required';

export interface ListenerTls {
  /** Options for tls.createServer. */
  options: TlsOptions;
  clientAuth: ClientAuth;
}

const PROTOCOLS: Record<string, SecureVersion> = { 'TLSV1': 'TLSv1', 'TLSV1.1': 'TLSv1.1', 'TLSV1.2': 'TLSv1.2', 'TLSV1.3': 'TLSv1.3' };

/**
 * The TLS options of listener `listener` from the configs. `origin(name)` says where a value
 * came from (for messages). Throws a ConfigError naming the problem.
 */
export function listenerTls(listener: string, values: Record<string, string>, origin: (name: string) => string = (n) => n): ListenerTls {
  const prefix = `listener.name.${listener.toLowerCase()}.`;
  const nameOf = (name: string): string => (values[prefix + name] !== undefined ? prefix + name : name);
  const get = (name: string): string | undefined => {
    const v = values[nameOf(name)];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const at = (name: string): string => origin(nameOf(name));
  const pemText = (v: string): string => v.replace(/\\n/g, '\n');
  const readPem = (name: string, path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`${at(name)}: cannot read ${name} ${path} for listener ${listener}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  for (const store of ['keystore', 'truststore']) {
    const type = get(`ssl.${store}.type`);
    if (type !== undefined && type.toUpperCase() !== 'PEM') {
      throw new ConfigError(`${at(`ssl.${store}.type`)}: ssl.${store}.type ${type} is not supported for listener ${listener}: Brook reads PEM only (set ssl.${store}.type=PEM; convert with openssl)`);
    }
  }

  // Keystore: the broker's key and certificate chain.
  const location = get('ssl.keystore.location');
  const inlineKey = get('ssl.keystore.key');
  const inlineChain = get('ssl.keystore.certificate.chain');
  let key: string;
  let cert: string;
  if (location !== undefined) {
    if (inlineKey !== undefined || inlineChain !== undefined) {
      throw new ConfigError(`${at('ssl.keystore.location')}: give either ssl.keystore.location or ssl.keystore.key with ssl.keystore.certificate.chain for listener ${listener}, not both`);
    }
    key = cert = readPem('ssl.keystore.location', location);
  } else if (inlineKey !== undefined && inlineChain !== undefined) {
    key = pemText(inlineKey);
    cert = pemText(inlineChain);
  } else {
    throw new ConfigError(
      `listener ${listener} uses SSL but has no keystore: set ssl.keystore.location (a PEM file with the private key and certificate chain) or ssl.keystore.key and ssl.keystore.certificate.chain${inlineKey !== undefined || inlineChain !== undefined ? ' (both)' : ''}`,
    );
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new ConfigError(`${at(location !== undefined ? 'ssl.keystore.location' : 'ssl.keystore.key')}: no PEM private key for listener ${listener}`);
  if (!/-----BEGIN CERTIFICATE-----/.test(cert)) throw new ConfigError(`${at(location !== undefined ? 'ssl.keystore.location' : 'ssl.keystore.certificate.chain')}: no PEM certificate for listener ${listener}`);
  const passphrase = get('ssl.key.password');

  // Truststore: CAs of client certificates.
  const trustLocation = get('ssl.truststore.location');
  const trustInline = get('ssl.truststore.certificates');
  const ca = trustLocation !== undefined ? readPem('ssl.truststore.location', trustLocation) : trustInline !== undefined ? pemText(trustInline) : undefined;
  if (ca !== undefined && !/-----BEGIN CERTIFICATE-----/.test(ca)) throw new ConfigError(`${at(trustLocation !== undefined ? 'ssl.truststore.location' : 'ssl.truststore.certificates')}: no PEM certificate for listener ${listener}`);

  const authValue = (get('ssl.client.auth') ?? 'none').toLowerCase();
  if (authValue !== 'none' && authValue !== 'requested' && authValue !== 'required') {
    throw new ConfigError(`${at('ssl.client.auth')}: Invalid value ${authValue} for configuration ssl.client.auth: String must be one of: required, requested, none`);
  }
  const clientAuth = authValue as ClientAuth;
  if (clientAuth !== 'none' && ca === undefined) {
    throw new ConfigError(`${at('ssl.client.auth')}: ssl.client.auth=${clientAuth} on listener ${listener} needs the CA certificates of clients: set ssl.truststore.location or ssl.truststore.certificates`);
  }

  const versions: SecureVersion[] = [];
  for (const p of (get('ssl.enabled.protocols') ?? 'TLSv1.2,TLSv1.3').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const v = PROTOCOLS[p.toUpperCase()];
    if (v === undefined) throw new ConfigError(`${at('ssl.enabled.protocols')}: unknown TLS protocol ${p} in ssl.enabled.protocols (use TLSv1.2, TLSv1.3)`);
    versions.push(v);
  }
  const order = Object.values(PROTOCOLS);
  versions.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const ciphers = get('ssl.cipher.suites');

  const options: TlsOptions = {
    key,
    cert,
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(ca !== undefined ? { ca } : {}),
    minVersion: versions[0],
    maxVersion: versions[versions.length - 1],
    ...(ciphers !== undefined ? { ciphers: ciphers.split(',').map((s) => s.trim()).join(':') } : {}),
    requestCert: clientAuth !== 'none',
    rejectUnauthorized: clientAuth === 'required',
  };
  // Fails now on a wrong key password, a key not matching the certificate, bad PEM.
  try {
    nodeTls().createSecureContext(options);
  } catch (err) {
    const msg = (err as Error).message;
    const hint = /bad decrypt|bad password|interrupted or cancelled/i.test(msg) ? ' (wrong or missing ssl.key.password?)' : '';
    throw new ConfigError(`listener ${listener}: the keystore cannot be used: ${msg}${hint}`);
  }
  return { options, clientAuth };
}
