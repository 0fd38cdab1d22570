// The checks `brook start` runs on its configuration before anything is opened, so that a bad
// setting is one message naming where it came from instead of a broker that starts and then fails
// requests. Values are parsed with the same rules AlterConfigs uses (validate.ts via the config
// definitions); on top come the rules across values, the listener rules and Kafka's handling of
// names it does not know: logged as "supplied but isn't a known config", or refused with --strict.

import { BROKER_DEF, BrokerConfig, ConfigError, TOPIC_DEF, validateTopicConfigs } from './config.js';
import type { ConfigSetting } from './properties.js';
import { atLeast, parseValue, type ConfigType, type Validator } from './validate.js';
import { listenerTls, SSL_CONFIG_NAMES, SSL_IGNORED_NAMES, type ListenerTls } from './tls.js';
import { listenerSasl, SASL_CONFIG_NAMES, SASL_IGNORED_NAMES, SASL_MECHANISM_PREFIXES } from './sasl.js';
import type { BrokerListenerSasl } from '../broker.js';
import type { SecurityProtocol } from '../server/connection.js';

/**
 * Kafka broker configs Brook accepts without acting on them (the ones Kafka's sample
 * server.properties files, its Docker images and Testcontainers set), type-checked as Kafka does.
 * They are reported once at startup, not as unknown.
 */
const KAFKA_ONLY: ReadonlyArray<{ name: string; type: ConfigType; validator?: Validator }> = [
  { name: 'process.roles', type: 'LIST' },
  { name: 'controller.quorum.voters', type: 'LIST' },
  { name: 'controller.quorum.bootstrap.servers', type: 'LIST' },
  { name: 'controller.listener.names', type: 'STRING' },
  { name: 'num.network.threads', type: 'INT', validator: atLeast(1) },
  { name: 'num.io.threads', type: 'INT', validator: atLeast(1) },
  { name: 'num.recovery.threads.per.data.dir', type: 'INT', validator: atLeast(1) },
  { name: 'num.replica.fetchers', type: 'INT' },
  { name: 'background.threads', type: 'INT', validator: atLeast(1) },
  { name: 'socket.send.buffer.bytes', type: 'INT' },
  { name: 'socket.receive.buffer.bytes', type: 'INT' },
  { name: 'transaction.state.log.min.isr', type: 'INT', validator: atLeast(1) },
  { name: 'log.cleaner.enable', type: 'BOOLEAN' },
  { name: 'log.cleaner.threads', type: 'INT', validator: atLeast(0) },
  { name: 'log.cleaner.dedupe.buffer.size', type: 'LONG' },
  { name: 'log.cleaner.io.buffer.size', type: 'INT', validator: atLeast(0) },
  { name: 'metadata.log.dir', type: 'STRING' },
  { name: 'zookeeper.connect', type: 'STRING' },
  { name: 'zookeeper.connection.timeout.ms', type: 'INT' },
  { name: 'zookeeper.session.timeout.ms', type: 'INT' },
  { name: 'confluent.support.metrics.enable', type: 'BOOLEAN' },
  ...SSL_IGNORED_NAMES.map((name) => ({ name, type: 'STRING' as ConfigType })),
  ...SASL_IGNORED_NAMES.map((name) => ({ name, type: 'STRING' as ConfigType })),
];
const KAFKA_ONLY_DEF = new Map(KAFKA_ONLY.map((d) => [d.name, d]));

/** Read by `brook start` itself rather than by the broker's config. */
const START_ONLY: ReadonlyArray<{ name: string; type: ConfigType }> = [
  { name: 'log.dir', type: 'STRING' },
  { name: 'listener.security.protocol.map', type: 'LIST' },
  // TLS of SSL listeners (checked by listenerTls), also as listener.name.<listener>.<name>.
  ...SSL_CONFIG_NAMES.map((name) => ({ name, type: (name === 'ssl.enabled.protocols' || name === 'ssl.cipher.suites' ? 'LIST' : 'STRING') as ConfigType })),
  // SASL of SASL_* listeners (checked by listenerSasl), also listener- and mechanism-prefixed.
  ...SASL_CONFIG_NAMES.map((name) => ({ name, type: (name === 'sasl.enabled.mechanisms' ? 'LIST' : 'PASSWORD') as ConfigType })),
];
const START_ONLY_DEF = new Map(START_ONLY.map((d) => [d.name, d]));

const LISTENER_PREFIXED = new RegExp(`^listener\\.name\\.[^.]+\\.(?:(?:${SASL_MECHANISM_PREFIXES.join('|')})\\.)?(ssl\\..*|sasl\\..*)$`);

/** Brokers in a Brook cluster: one, until replication exists. */
export const BROKER_COUNT = 1;

export interface StartupConfig {
  /** The effective static values (file < environment < --set), by name. */
  values: Record<string, string>;
  /** Where each value came from. */
  origins: Record<string, string>;
  /** Lines to log as warnings (unknown names, a name set twice in one file). */
  warnings: string[];
  /** Kafka configs given that Brook does not act on. */
  ignored: string[];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** "did you mean ..." for a name nobody knows, or a note for a topic config given to the broker. */
function hint(name: string): string {
  const topic = TOPIC_DEF.get(name);
  if (topic) {
    const broker = topic.synonyms[0];
    return broker ? ` (${name} is a topic config; the broker default is ${broker})` : ` (${name} is a topic config)`;
  }
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const known of [...BROKER_DEF.keys(), ...KAFKA_ONLY_DEF.keys(), ...START_ONLY_DEF.keys()]) {
    const d = editDistance(name, known);
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(name.length / 6)) ? ` (did you mean ${best}?)` : '';
}

/**
 * Merges settings (later ones win: pass file, then environment, then --set) and checks them:
 * every known value against its type and range, then the rules across values. Throws a
 * ConfigError naming the origin (file and line, environment variable or --set) of the first
 * problem. Unknown names are warnings, or with `strict` one ConfigError listing them all.
 */
export function checkStartupConfig(settings: readonly ConfigSetting[], opts: { strict?: boolean; clustered?: boolean } = {}): StartupConfig {
  const values: Record<string, string> = {};
  const origins: Record<string, string> = {};
  const warnings: string[] = [];
  const from = new Map<string, ConfigSetting>();
  for (const s of settings) {
    const before = from.get(s.name);
    if (before?.file !== undefined && before.file === s.file) {
      warnings.push(`${s.origin}: ${s.name} is also set at line ${before.line}; the last value is used`);
    }
    from.set(s.name, s);
    values[s.name] = s.value;
    origins[s.name] = s.origin;
  }

  const unknown: string[] = [];
  const ignored: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    // listener.name.<listener>.ssl.* / .sasl.* / .<mechanism>.sasl.*: a listener's own value.
    const base = LISTENER_PREFIXED.exec(name)?.[1];
    const def = BROKER_DEF.get(name) ?? KAFKA_ONLY_DEF.get(name) ?? START_ONLY_DEF.get(name) ?? (base !== undefined ? (KAFKA_ONLY_DEF.get(base) ?? START_ONLY_DEF.get(base) ?? BROKER_DEF.get(base)) : undefined);
    if (def) {
      const p = parseValue(name, def.type, value, (def as { validator?: Validator }).validator);
      if (!p.ok) throw new ConfigError(`${origins[name]}: ${p.message}`);
      if (KAFKA_ONLY_DEF.has(name) || (base !== undefined && KAFKA_ONLY_DEF.has(base))) ignored.push(name);
      continue;
    }
    unknown.push(`The configuration '${name}' was supplied but isn't a known config.${hint(name)} [${origins[name]}]`);
  }
  if (unknown.length > 0 && opts.strict) throw new ConfigError(`--strict: ${unknown.join('; ')}`);
  warnings.push(...unknown);

  // Rules across values, on the config the broker will run with.
  checkConfigRules(values, (name) => (origins[name] ? `${origins[name]}: ` : ''), opts.clustered === true);
  return { values, origins, warnings, ignored };
}

/**
 * The rules across values (startBroker runs them too): default.replication.factor within the
 * brokers, node.id = broker.id, session timeout bounds, compaction lags, one data directory.
 * `at(name)` prefixes a message with where the value came from.
 */
export function checkConfigRules(values: Record<string, string>, at: (name: string) => string = () => '', clustered = false): void {
  const known = Object.fromEntries(Object.entries(values).filter(([k]) => BROKER_DEF.has(k)));
  const config = new BrokerConfig(known);
  const rf = config.int('default.replication.factor');
  // A cluster's broker count is only known at run time: CreateTopics checks it then.
  if (rf > BROKER_COUNT && !clustered) {
    throw new ConfigError(
      `${at('default.replication.factor')}Invalid value ${rf} for configuration default.replication.factor: the cluster has ${BROKER_COUNT} broker, so no topic could be created with it`,
    );
  }
  if (values['node.id'] !== undefined && values['broker.id'] !== undefined && config.int('node.id') !== config.int('broker.id')) {
    throw new ConfigError(`${at('broker.id')}broker.id (${config.int('broker.id')}) and node.id (${config.int('node.id')}) must be equal: set one of them`);
  }
  const minSession = config.int('group.min.session.timeout.ms');
  const maxSession = config.int('group.max.session.timeout.ms');
  if (minSession > maxSession) {
    throw new ConfigError(`${at('group.min.session.timeout.ms')}group.min.session.timeout.ms (${minSession}) is larger than group.max.session.timeout.ms (${maxSession})`);
  }
  const topicRules = validateTopicConfigs(config, {});
  if (topicRules) throw new ConfigError(`${at('log.cleaner.min.compaction.lag.ms')}${topicRules.message.replace('topic config setting ', 'broker config setting log.cleaner.')}`);
  const dirs = (values['log.dirs'] ?? values['log.dir'] ?? '').split(',').map((d) => d.trim()).filter((d) => d !== '');
  if (dirs.length > 1) {
    const name = values['log.dirs'] !== undefined ? 'log.dirs' : 'log.dir';
    throw new ConfigError(`${at(name)}${name} lists ${dirs.length} directories; Brook keeps its data in one (give one directory)`);
  }
}

// ---- listeners -----------------------------------------------------------------------------------

export interface Endpoint {
  name: string;
  /** '' when the listener names no host (Kafka: every interface). */
  host: string;
  port: number;
}

/** Hosts that mean "every interface": fine to bind, meaningless to a client. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '0:0:0:0:0:0:0:0';
}

/** Kafka's default listener.security.protocol.map. */
const DEFAULT_PROTOCOL_MAP = 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL';

/** "NAME://host:port,..." -> endpoints (Kafka's listener syntax; IPv6 hosts in brackets). */
export function parseEndpoints(config: string, value: string, origin: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const item of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([A-Za-z0-9_]+):\/\/(\[[0-9A-Fa-f:.]+\]|[^:[\]/]*):(\d+)$/.exec(item);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port > 65535) throw new ConfigError(`${origin}: ${config} entry '${item}' is not NAME://host:port (for example PLAINTEXT://127.0.0.1:9092)`);
    out.push({ name: m[1]!.toUpperCase(), host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  return out;
}

export interface ListenerFlags {
  host?: string;
  port?: number;
  advertisedHost?: string;
  advertisedPort?: number;
}


/** One listener `brook start` binds. */
export interface PlannedListener {
  /** The listener name (PLAINTEXT, SSL, INTERNAL...). */
  name: string;
  protocol: SecurityProtocol;
  host: string;
  port: number;
  advertisedHost?: string;
  advertisedPort?: number;
  /** SSL and SASL_SSL listeners: the TLS settings. */
  tls?: ListenerTls;
  /** SASL_PLAINTEXT and SASL_SSL listeners: the SASL settings. */
  sasl?: BrokerListenerSasl;
}

export interface ListenerPlan {
  /** The first listener's (the flags' one). */
  host: string;
  port: number;
  advertisedHost?: string;
  advertisedPort?: number;
  /** Every listener, in the order of `listeners`. */
  listeners: PlannedListener[];
}

/** listener.security.protocol.map as a map (Kafka's default when unset). */
export function protocolMap(values: Record<string, string>, origins: Record<string, string> = {}): Map<string, string> {
  const map = new Map<string, string>();
  for (const pair of (values['listener.security.protocol.map'] ?? DEFAULT_PROTOCOL_MAP).split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const [n, p] = pair.split(':').map((s) => s.trim().toUpperCase());
    if (!n || !p) throw new ConfigError(`${origins['listener.security.protocol.map'] ?? 'listener.security.protocol.map'}: listener.security.protocol.map entry '${pair}' is not NAME:PROTOCOL`);
    if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(p)) {
      throw new ConfigError(`${origins['listener.security.protocol.map'] ?? 'listener.security.protocol.map'}: unknown security protocol ${p} for listener ${n} (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)`);
    }
    map.set(n, p);
  }
  return map;
}

/**
 * The listeners `brook start` binds and the addresses they advertise, from listeners /
 * advertised.listeners / listener.security.protocol.map and the flags (which win, for the first
 * listener). Refused: a listener name given twice, a name without a security protocol, an
 * unusable SASL setting (GSSAPI, a custom callback handler), an advertised name that is not a listener, an SSL listener
 * without a usable keystore, and an advertised wildcard host: as Kafka, 0.0.0.0 (or ::) is never
 * given to clients, so a wildcard listener needs an advertised host.
 */
export function resolveListeners(startup: Pick<StartupConfig, 'values' | 'origins'>, flags: ListenerFlags = {}): ListenerPlan {
  const { values, origins } = startup;
  const listeners = values['listeners'] !== undefined ? parseEndpoints('listeners', values['listeners'], origins['listeners']!) : [];
  const advertised = values['advertised.listeners'] !== undefined ? parseEndpoints('advertised.listeners', values['advertised.listeners'], origins['advertised.listeners']!) : [];
  for (const [config, list] of [['listeners', listeners], ['advertised.listeners', advertised]] as const) {
    const seen = new Set<string>();
    for (const l of list) {
      if (seen.has(l.name)) throw new ConfigError(`${origins[config]}: ${config} names listener ${l.name} twice: each listener name must be unique`);
      seen.add(l.name);
    }
  }
  if (listeners.length === 0) listeners.push({ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 });
  const map = protocolMap(values, origins);
  const names = listeners.map((l) => l.name);
  for (const adv of advertised) {
    if (!names.includes(adv.name)) {
      throw new ConfigError(`${origins['advertised.listeners']}: advertised.listeners names ${adv.name}, which is not a listener (listeners: ${names.join(', ')})`);
    }
  }
  const out: PlannedListener[] = [];
  listeners.forEach((listener, i) => {
    const protocol = map.get(listener.name);
    if (protocol === undefined) throw new ConfigError(`${origins['listeners'] ?? 'listeners'}: No security protocol defined for listener ${listener.name} (see listener.security.protocol.map)`);
    const adv = advertised.find((a) => a.name === listener.name);
    const f: ListenerFlags = i === 0 ? flags : {};
    // An empty listener host binds every interface (Kafka); the flags win over the configs.
    const host = f.host ?? (listener.host === '' ? '0.0.0.0' : listener.host);
    const port = f.port ?? listener.port;
    const advertisedHost = f.advertisedHost ?? (adv && adv.host !== '' ? adv.host : undefined);
    const advertisedPort = f.advertisedPort ?? adv?.port;
    const where = (flag: string, config: string): string => (f[flag as keyof ListenerFlags] !== undefined ? `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : origins[config] ?? config);
    if (advertisedHost !== undefined) checkAdvertisedHost(advertisedHost, where('advertisedHost', 'advertised.listeners'));
    else if (isWildcardHost(host)) {
      throw new ConfigError(
        `${where('host', 'listeners')}: the listener host ${host} accepts connections on every interface but cannot be advertised to clients: give the address clients should use with --advertised-host (or advertised.listeners)`,
      );
    }
    const tls = protocol === 'SSL' || protocol === 'SASL_SSL' ? listenerTls(listener.name, values, (n) => origins[n] ?? n) : undefined;
    const sasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL' ? listenerSasl(listener.name, values, (n) => origins[n] ?? n) : undefined;
    out.push({ name: listener.name, protocol: protocol as SecurityProtocol, host, port, advertisedHost, advertisedPort, ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) });
  });
  const first = out[0]!;
  return { host: first.host, port: first.port, advertisedHost: first.advertisedHost, advertisedPort: first.advertisedPort, listeners: out };
}

/** Kafka's rule: a wildcard address is never advertised. */
export function checkAdvertisedHost(host: string, origin = 'advertised.listeners'): void {
  if (isWildcardHost(host)) throw new ConfigError(`${origin}: advertised.listeners cannot use the nonroutable meta-address ${host}. Use a routable IP address.`);
}
