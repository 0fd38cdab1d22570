// Broker configuration with Kafka's names, types and defaults.
//
// Sources, lowest to highest precedence: built-in defaults, a server.properties file, `--set`
// overrides and explicit CLI flags. Every definition here is also what DescribeConfigs reports for
// the broker resource; topic-level configs name the broker config they inherit from (Kafka's
// "synonyms": e.g. topic retention.ms <- log.retention.ms <- log.retention.hours).

import { readFileSync } from 'node:fs';
import type { LogConfig } from '../log/types.js';

export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD';

/** Kafka's ConfigType codes as used by DescribeConfigs v3+. */
export const CONFIG_TYPE_CODE: Record<ConfigType, number> = {
  BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9,
};

export interface BrokerConfigDef {
  name: string;
  type: ConfigType;
  default: string | null;
  doc: string;
  readOnly?: boolean;
}

const H = 3600000;

/** Broker configs Brook understands. Values are strings, as in server.properties. */
export const BROKER_CONFIG_DEFS: readonly BrokerConfigDef[] = [
  { name: 'node.id', type: 'INT', default: '1', doc: 'Id of this broker.', readOnly: true },
  { name: 'broker.id', type: 'INT', default: '1', doc: 'Alias of node.id.', readOnly: true },
  { name: 'listeners', type: 'STRING', default: 'PLAINTEXT://127.0.0.1:9092', doc: 'Listener the broker binds.', readOnly: true },
  { name: 'advertised.listeners', type: 'STRING', default: null, doc: 'Address clients are told to use (defaults to the listener).', readOnly: true },
  { name: 'log.dirs', type: 'STRING', default: './data', doc: 'Directory holding the log data.', readOnly: true },
  { name: 'num.partitions', type: 'INT', default: '1', doc: 'Default partition count of new topics.' },
  { name: 'default.replication.factor', type: 'INT', default: '1', doc: 'Default replication factor of new topics.' },
  { name: 'auto.create.topics.enable', type: 'BOOLEAN', default: 'true', doc: 'Create topics on first use by Metadata or Produce.', readOnly: true },
  { name: 'delete.topic.enable', type: 'BOOLEAN', default: 'true', doc: 'Allow DeleteTopics.', readOnly: true },
  { name: 'message.max.bytes', type: 'INT', default: '1048588', doc: 'Largest record batch accepted.' },
  { name: 'socket.request.max.bytes', type: 'INT', default: '104857600', doc: 'Largest request frame accepted.', readOnly: true },
  { name: 'log.segment.bytes', type: 'INT', default: '1073741824', doc: 'Segment file size before rolling.' },
  { name: 'log.roll.ms', type: 'LONG', default: null, doc: 'Segment age before rolling (overrides log.roll.hours).' },
  { name: 'log.roll.hours', type: 'INT', default: '168', doc: 'Segment age before rolling, in hours.' },
  { name: 'log.retention.ms', type: 'LONG', default: null, doc: 'Retention time (overrides minutes/hours).' },
  { name: 'log.retention.minutes', type: 'INT', default: null, doc: 'Retention time in minutes.' },
  { name: 'log.retention.hours', type: 'INT', default: '168', doc: 'Retention time in hours.' },
  { name: 'log.retention.bytes', type: 'LONG', default: '-1', doc: 'Retention size per partition.' },
  { name: 'log.retention.check.interval.ms', type: 'LONG', default: '300000', doc: 'How often partitions are checked for data past retention.ms / retention.bytes.' },
  { name: 'log.index.interval.bytes', type: 'INT', default: '4096', doc: 'Bytes between offset index entries.' },
  { name: 'log.flush.interval.messages', type: 'LONG', default: '9223372036854775807', doc: 'fsync after this many messages (1 = before acknowledging).' },
  { name: 'log.message.timestamp.type', type: 'STRING', default: 'CreateTime', doc: 'CreateTime or LogAppendTime.' },
  { name: 'log.cleanup.policy', type: 'LIST', default: 'delete', doc: 'Default cleanup policy.' },
  { name: 'compression.type', type: 'STRING', default: 'producer', doc: 'Broker compression type (only "producer" is supported).' },
  { name: 'min.insync.replicas', type: 'INT', default: '1', doc: 'Minimum in-sync replicas for acks=all.' },
  { name: 'group.initial.rebalance.delay.ms', type: 'INT', default: '0', doc: 'Delay of the first rebalance of an empty group (Kafka: 3000; Brook dev default 0).' },
  { name: 'offsets.topic.num.partitions', type: 'INT', default: '50', doc: 'Partitions of the internal __consumer_offsets topic (fixed once created).', readOnly: true },
  { name: 'transaction.state.log.num.partitions', type: 'INT', default: '50', doc: 'Partitions of the internal __transaction_state topic (fixed once created).', readOnly: true },
  { name: 'transaction.state.log.segment.bytes', type: 'INT', default: '104857600', doc: 'Segment size of __transaction_state.', readOnly: true },
  { name: 'transaction.max.timeout.ms', type: 'INT', default: '900000', doc: 'Largest transaction.timeout.ms a transactional producer may ask for.' },
  { name: 'transactional.id.expiration.ms', type: 'INT', default: '604800000', doc: 'A transactional id without transaction status updates for this long expires.' },
  { name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', type: 'INT', default: '10000', doc: 'How often transactions past their timeout are looked for and aborted.' },
  { name: 'transaction.remove.expired.transaction.cleanup.interval.ms', type: 'INT', default: '3600000', doc: 'How often expired transactional ids are removed.' },
  { name: 'producer.id.expiration.ms', type: 'INT', default: '86400000', doc: 'Producer state of an idle producer (no open transaction) is dropped from a partition after this.' },
  { name: 'producer.id.expiration.check.interval.ms', type: 'INT', default: '600000', doc: 'How often idle producer state is looked for.' },
  { name: 'transaction.partition.verification.enable', type: 'BOOLEAN', default: 'true', doc: 'Refuse transactional produce to partitions not added to the transaction (KIP-890).' },
  { name: 'offsets.retention.minutes', type: 'INT', default: '10080', doc: 'Committed offsets of empty groups expire after this.' },
  { name: 'offsets.retention.check.interval.ms', type: 'LONG', default: '600000', doc: 'How often expired committed offsets are looked for.' },
  { name: 'offset.metadata.max.bytes', type: 'INT', default: '4096', doc: 'Longest metadata string accepted with a committed offset.' },
  { name: 'group.min.session.timeout.ms', type: 'INT', default: '6000', doc: 'Smallest session timeout a group member may ask for.' },
  { name: 'group.max.session.timeout.ms', type: 'INT', default: '1800000', doc: 'Largest session timeout a group member may ask for.' },
  { name: 'group.max.size', type: 'INT', default: '2147483647', doc: 'Most members a classic consumer group may have.' },
  { name: 'queued.max.requests', type: 'INT', default: '500', doc: 'Requests in flight per connection before reading pauses.' },
  { name: 'queued.max.request.bytes', type: 'LONG', default: '104857600', doc: 'Request bytes buffered per connection before reading pauses.' },
  { name: 'connections.max.idle.ms', type: 'LONG', default: '600000', doc: 'Idle connections are closed after this.' },
];

export interface TopicConfigDef {
  name: string;
  type: ConfigType;
  /** Broker configs this topic config inherits from, most specific first. */
  synonyms: string[];
  /** Used when no synonym has a value. */
  fallback: string | null;
}

/** Topic-level configs (DescribeConfigs on a topic; CreateTopics configs). */
export const TOPIC_CONFIG_DEFS: readonly TopicConfigDef[] = [
  { name: 'cleanup.policy', type: 'LIST', synonyms: ['log.cleanup.policy'], fallback: 'delete' },
  { name: 'compression.type', type: 'STRING', synonyms: ['compression.type'], fallback: 'producer' },
  { name: 'retention.ms', type: 'LONG', synonyms: ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'], fallback: '604800000' },
  { name: 'retention.bytes', type: 'LONG', synonyms: ['log.retention.bytes'], fallback: '-1' },
  { name: 'segment.bytes', type: 'INT', synonyms: ['log.segment.bytes'], fallback: '1073741824' },
  { name: 'segment.ms', type: 'LONG', synonyms: ['log.roll.ms', 'log.roll.hours'], fallback: '604800000' },
  { name: 'segment.index.bytes', type: 'INT', synonyms: [], fallback: '10485760' },
  { name: 'index.interval.bytes', type: 'INT', synonyms: ['log.index.interval.bytes'], fallback: '4096' },
  { name: 'flush.messages', type: 'LONG', synonyms: ['log.flush.interval.messages'], fallback: '9223372036854775807' },
  { name: 'max.message.bytes', type: 'INT', synonyms: ['message.max.bytes'], fallback: '1048588' },
  { name: 'message.timestamp.type', type: 'STRING', synonyms: ['log.message.timestamp.type'], fallback: 'CreateTime' },
  { name: 'min.insync.replicas', type: 'INT', synonyms: ['min.insync.replicas'], fallback: '1' },
  { name: 'unclean.leader.election.enable', type: 'BOOLEAN', synonyms: [], fallback: 'false' },
  { name: 'delete.retention.ms', type: 'LONG', synonyms: [], fallback: '86400000' },
  { name: 'min.compaction.lag.ms', type: 'LONG', synonyms: [], fallback: '0' },
  { name: 'max.compaction.lag.ms', type: 'LONG', synonyms: [], fallback: '9223372036854775807' },
  { name: 'min.cleanable.dirty.ratio', type: 'DOUBLE', synonyms: [], fallback: '0.5' },
  { name: 'file.delete.delay.ms', type: 'LONG', synonyms: [], fallback: '60000' },
  { name: 'preallocate', type: 'BOOLEAN', synonyms: [], fallback: 'false' },
];

const BROKER_DEF = new Map(BROKER_CONFIG_DEFS.map((d) => [d.name, d]));
export const TOPIC_DEF = new Map(TOPIC_CONFIG_DEFS.map((d) => [d.name, d]));

/** Converts a broker synonym's value into the topic config's unit (hours/minutes -> ms). */
function synonymToTopicValue(synonym: string, value: string): string {
  if (synonym.endsWith('.hours')) return String(BigInt(value) * BigInt(H));
  if (synonym.endsWith('.minutes')) return String(BigInt(value) * 60000n);
  return value;
}

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  /** Where the value came from, in DescribeConfigs terms. */
  source: 'DEFAULT' | 'STATIC_BROKER' | 'DYNAMIC_TOPIC';
}

export class BrokerConfig {
  /** Explicitly set values (file, --set, flags). */
  private readonly values = new Map<string, string>();
  /** topicDefault() results: derived from `values`, recomputed only after a set(). */
  private readonly inherited = new Map<string, { value: string | null; synonyms: readonly ConfigEntry[] }>();

  constructor(values: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(values)) this.set(k, v);
  }

  set(name: string, value: string): void {
    const def = BROKER_DEF.get(name);
    if (def) validateValue(name, def.type, value);
    // Unknown names are kept (Kafka logs them as unused); they do not affect behaviour.
    this.values.set(name, value);
    this.inherited.clear();
  }

  isSet(name: string): boolean {
    return this.values.has(name);
  }

  get(name: string): string | null {
    return this.values.get(name) ?? BROKER_DEF.get(name)?.default ?? null;
  }

  int(name: string): number {
    const v = this.get(name);
    if (v === null) throw new ConfigError(`config ${name} has no value`);
    return Number(v);
  }

  bool(name: string): boolean {
    return this.get(name) === 'true';
  }

  /** All broker configs with their sources, for DescribeConfigs. */
  entries(): ConfigEntry[] {
    return BROKER_CONFIG_DEFS.map((d) => ({
      name: d.name,
      value: this.get(d.name),
      source: this.values.has(d.name) ? 'STATIC_BROKER' : 'DEFAULT',
    }));
  }

  get nodeId(): number {
    return this.isSet('node.id') || !this.isSet('broker.id') ? this.int('node.id') : this.int('broker.id');
  }

  /**
   * The effective value of a topic config from broker settings alone, with its synonym chain.
   * Memoised: the produce path asks for it on every append.
   */
  topicDefault(name: string): { value: string | null; synonyms: readonly ConfigEntry[] } {
    let known = this.inherited.get(name);
    if (known === undefined) this.inherited.set(name, (known = this.resolveTopicDefault(name)));
    return known;
  }

  private resolveTopicDefault(name: string): { value: string | null; synonyms: readonly ConfigEntry[] } {
    const def = TOPIC_DEF.get(name);
    if (!def) return { value: null, synonyms: [] };
    const synonyms: ConfigEntry[] = [];
    let value: string | null = null;
    for (const s of def.synonyms) {
      const set = this.values.get(s);
      const dflt = BROKER_DEF.get(s)?.default ?? null;
      if (set !== undefined) {
        synonyms.push({ name: s, value: set, source: 'STATIC_BROKER' });
        value ??= synonymToTopicValue(s, set);
      } else if (dflt !== null) {
        synonyms.push({ name: s, value: dflt, source: 'DEFAULT' });
        value ??= synonymToTopicValue(s, dflt);
      }
    }
    return { value: value ?? def.fallback, synonyms };
  }

  /** Effective value of a topic config, given the topic's overrides. */
  topicValue(overrides: Record<string, string>, name: string): string | null {
    return overrides[name] ?? this.topicDefault(name).value;
  }

  /** The broker's log settings; the store applies each topic's overrides on top. */
  logConfig(): LogConfig {
    const n = (k: string): number => {
      const v = this.topicDefault(k).value;
      const x = Number(v);
      return x > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : x;
    };
    return {
      segmentBytes: n('segment.bytes'),
      segmentMs: n('segment.ms'),
      flushIntervalMessages: n('flush.messages'),
      indexIntervalBytes: n('index.interval.bytes'),
      retentionMs: n('retention.ms'),
      retentionBytes: n('retention.bytes'),
      cleanupPolicy: this.topicDefault('cleanup.policy').value ?? 'delete',
    };
  }
}

export function validateValue(name: string, type: ConfigType, value: string): void {
  const bad = (): never => {
    throw new ConfigError(`invalid value ${JSON.stringify(value)} for ${name} (${type})`);
  };
  switch (type) {
    case 'BOOLEAN':
      if (value !== 'true' && value !== 'false') bad();
      break;
    case 'INT':
    case 'SHORT':
    case 'LONG':
      if (!/^-?\d+$/.test(value.trim())) bad();
      break;
    case 'DOUBLE':
      if (Number.isNaN(Number(value))) bad();
      break;
    default:
      break;
  }
}

/** Validates a topic config override (CreateTopics, AlterConfigs). Returns an error text or null. */
export function checkTopicConfig(name: string, value: string | null): string | null {
  const def = TOPIC_DEF.get(name);
  if (!def) return `Unknown topic config name: ${name}`;
  if (value === null) return null;
  try {
    validateValue(name, def.type, value);
  } catch (e) {
    return (e as Error).message;
  }
  if (name === 'message.timestamp.type' && value !== 'CreateTime' && value !== 'LogAppendTime') {
    return `Invalid value ${value} for configuration message.timestamp.type`;
  }
  if (name === 'cleanup.policy' && !value.split(',').every((p) => ['delete', 'compact'].includes(p.trim()))) {
    return `Invalid value ${value} for configuration cleanup.policy`;
  }
  return null;
}

/** Parses Java-properties-style text (key=value or key: value, # and ! comments). */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/\\\r?\n\s*/g, '').split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
    else out[line] = '';
  }
  return out;
}

export function loadPropertiesFile(path: string): Record<string, string> {
  return parseProperties(readFileSync(path, 'utf8'));
}
