// SASL settings of a SASL_PLAINTEXT or SASL_SSL listener, from Kafka's config names. Read at
// startup; a bad value is one ConfigError naming where it came from.
//
//   sasl.enabled.mechanisms   (or listener.name.<listener>.sasl.enabled.mechanisms)
//       Default in Brook: SCRAM-SHA-256,SCRAM-SHA-512,PLAIN (Kafka's default, GSSAPI, is not
//       implemented and is refused).
//   listener.name.<listener>.plain.sasl.jaas.config
//       org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="secret";
//       Its user_<name> options are PLAIN users. SCRAM users (`brook user add`) pass PLAIN too.
//   listener.name.<listener>.oauthbearer.sasl.jaas.config
//       org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required
//         unsecuredValidatorPrincipalClaimName="sub" unsecuredValidatorScopeClaimName="scope"
//         unsecuredValidatorRequiredScope="a b" unsecuredValidatorAllowableClockSkewMs="0";
//       Unsecured tokens only (Kafka's default validator); a JWKS-validating setup is refused.
//   listener.name.<listener>.scram-sha-256.sasl.jaas.config (and -512)
//       org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="...";
//   The username/password (OAUTHBEARER: unsecuredLoginStringClaim_sub) of a mechanism's entry are
//   what the broker itself sends on that listener when it is the inter-broker listener.

import type { BrokerListenerSasl } from '../broker.js';
import { ConfigError } from './config.js';

/** Names read here (also as listener.name.<listener>.<name>; jaas as listener.name.<l>.<mechanism>.<name>). */
export const SASL_CONFIG_NAMES = ['sasl.enabled.mechanisms', 'sasl.jaas.config'] as const;

/** Kafka names accepted without effect. */
export const SASL_IGNORED_NAMES = [
  'sasl.kerberos.service.name',
  'sasl.login.class',
  'sasl.login.callback.handler.class',
  'sasl.server.callback.handler.class',
] as const;

/** Mechanism prefixes of listener.name.<listener>.<mechanism>.<name>. */
export const SASL_MECHANISM_PREFIXES = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer', 'gssapi'] as const;

/** A JAAS configuration entry: "<LoginModule> <flag> key=value ...;" -> its options. */
export function parseJaas(text: string): { module: string; options: Map<string, string> } {
  const s = text.trim();
  const head = /^([A-Za-z0-9_.$]+)\s+(required|requisite|sufficient|optional)\b/.exec(s);
  if (!head) throw new Error('expected "<LoginModule class> required key="value" ...;"');
  let rest = s.slice(head[0].length).trim();
  if (!rest.endsWith(';')) throw new Error('a JAAS entry ends with ";"');
  rest = rest.slice(0, -1);
  const options = new Map<string, string>();
  const opt = /\s*([A-Za-z0-9_.-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s"]+)\s*/y;
  let at = 0;
  while (at < rest.length) {
    opt.lastIndex = at;
    const m = opt.exec(rest);
    if (!m) throw new Error(`cannot read the options at "${rest.slice(at, at + 20)}"`);
    options.set(m[1]!, m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!);
    at = opt.lastIndex;
  }
  return { module: head[1]!, options };
}

/** The SASL settings of listener `listener` (a SASL_* listener). */
export function listenerSasl(listener: string, values: Record<string, string>, origin: (name: string) => string = (n) => n): BrokerListenerSasl {
  const prefix = `listener.name.${listener.toLowerCase()}.`;
  const mechName = values[prefix + 'sasl.enabled.mechanisms'] !== undefined ? prefix + 'sasl.enabled.mechanisms' : 'sasl.enabled.mechanisms';
  const out: BrokerListenerSasl = {};
  if (values[mechName] !== undefined) {
    const mechanisms = values[mechName]!.split(',').map((m) => m.trim().toUpperCase()).filter((m) => m !== '');
    if (mechanisms.length === 0) throw new ConfigError(`${origin(mechName)}: ${mechName} is empty: enable at least one SASL mechanism for listener ${listener}`);
    if (mechanisms.includes('GSSAPI')) throw new ConfigError(`${origin(mechName)}: ${mechName}: GSSAPI (Kerberos) is not implemented by Brook (use SCRAM-SHA-256, SCRAM-SHA-512, PLAIN or OAUTHBEARER)`);
    out.mechanisms = mechanisms;
  }
  const jaas = (mech: string): { module: string; options: Map<string, string> } | undefined => {
    const name = `${prefix}${mech}.sasl.jaas.config`;
    if (values[name] === undefined) return undefined;
    try {
      return parseJaas(values[name]!);
    } catch (err) {
      throw new ConfigError(`${origin(name)}: ${name} is not a JAAS entry: ${(err as Error).message}`);
    }
  };
  const plain = jaas('plain');
  if (plain) {
    const users: Record<string, string> = {};
    for (const [k, v] of plain.options) if (k.startsWith('user_') && k.length > 5) users[k.slice(5)] = v;
    out.plainUsers = users;
  }
  const oauth = jaas('oauthbearer');
  if (oauth) {
    const o = oauth.options;
    const skew = o.get('unsecuredValidatorAllowableClockSkewMs');
    if (skew !== undefined && !/^\d+$/.test(skew)) throw new ConfigError(`${origin(`${prefix}oauthbearer.sasl.jaas.config`)}: unsecuredValidatorAllowableClockSkewMs must be a whole number of ms`);
    out.oauthbearer = {
      ...(o.has('unsecuredValidatorPrincipalClaimName') ? { principalClaim: o.get('unsecuredValidatorPrincipalClaimName')! } : {}),
      ...(o.has('unsecuredValidatorScopeClaimName') ? { scopeClaim: o.get('unsecuredValidatorScopeClaimName')! } : {}),
      ...(o.has('unsecuredValidatorRequiredScope') ? { requiredScopes: o.get('unsecuredValidatorRequiredScope')!.split(/[\s,]+/).filter((x) => x !== '') } : {}),
      ...(skew !== undefined ? { clockSkewMs: Number(skew) } : {}),
    };
  }
  // username/password in a mechanism's entry: what this broker sends when it connects to the
  // listener itself (the inter-broker listener), as Kafka's broker does.
  for (const mech of ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer']) {
    const entry = mech === 'plain' ? plain : mech === 'oauthbearer' ? oauth : jaas(mech);
    const username = entry?.options.get('username') ?? entry?.options.get('unsecuredLoginStringClaim_sub');
    if (username === undefined) continue;
    const password = entry!.options.get('password');
    out.clientUsers = { ...out.clientUsers, [mech.toUpperCase()]: { username, ...(password !== undefined ? { password } : {}) } };
  }
  for (const cb of [`${prefix}oauthbearer.sasl.server.callback.handler.class`, `${prefix}sasl.server.callback.handler.class`, 'sasl.server.callback.handler.class']) {
    if (values[cb] !== undefined && values[cb]!.trim() !== '') {
      throw new ConfigError(`${origin(cb)}: ${cb}: custom SASL callback handlers (JWKS-validated OAUTHBEARER, ...) are not supported; Brook validates unsecured OAUTHBEARER tokens only`);
    }
  }
  return out;
}
