// Broker configuration with Kafka's names, types, defaults and validation.
//
// A broker config has up to four values, highest precedence first (Kafka's DynamicBrokerConfig):
//   DYNAMIC_BROKER_CONFIG          AlterConfigs on BROKER "<node.id>"    persisted in the data dir
//   DYNAMIC_DEFAULT_BROKER_CONFIG  AlterConfigs on BROKER "" (cluster)   persisted in the data dir
//   STATIC_BROKER_CONFIG           server.properties, --set, CLI flags
//   DEFAULT_CONFIG                 the definition's default
// Only the configs Kafka marks reconfigurable may get dynamic values (`dynamic` below, from
// DynamicBrokerConfig.AllDynamicConfigs: the log configs that are a topic config's primary broker
// synonym, producer.id.expiration.ms, transaction.partition.verification.enable, ...).
//
// Topic configs (LogConfig) inherit from broker configs, their "synonyms" (Kafka's
// ServerTopicConfigSynonyms): retention.ms <- log.retention.ms <- log.retention.minutes <-
// log.retention.hours. A topic's value is its override, else the first synonym with a value (units
// converted), else LogConfig's default.

import type { LogConfig } from '../log/types.js';
import type { DynamicConfigPersistence } from './dynamic-store.js';
import {
  atLeast,
  authorizerClass,
  gzipLevel,
  listOf,
  metadataVersion,
  oneOf,
  parseValue,
  principalList,
  printValue,
  range,
  throttledReplicas,
  type ConfigType,
  type Validator,
} from './validate.js';

export type { ConfigType } from './validate.js';

/** Kafka's ConfigType codes as used by DescribeConfigs v3+ (UNKNOWN = 0). */
export const CONFIG_TYPE_CODE: Record<ConfigType, number> = {
  BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9,
};

/** Where a value comes from (DescribeConfigs' ConfigSource, without the _CONFIG suffix). */
export type ConfigSourceName = 'DYNAMIC_TOPIC' | 'DYNAMIC_BROKER' | 'DYNAMIC_DEFAULT_BROKER' | 'STATIC_BROKER' | 'DEFAULT';

/** Kafka's update modes (DynamicBrokerConfig.dynamicConfigUpdateModes). */
export type DynamicMode = 'cluster-wide' | 'per-broker';

export interface BrokerConfigDef {
  name: string;
  type: ConfigType;
  default: string | null;
  doc: string;
  /** Set when Kafka lets AlterConfigs change it (read-only otherwise). */
  dynamic?: DynamicMode;
  validator?: Validator;
}

const H = 3600000;
const LONG_MAX = '9223372036854775807';
const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'];
const CW = 'cluster-wide' as const;

/** Broker configs Brook knows. Values are strings, as in server.properties. */
export const BROKER_CONFIG_DEFS: readonly BrokerConfigDef[] = [
  { name: 'node.id', type: 'INT', default: '1', validator: atLeast(0), doc: 'Id of this broker.' },
  { name: 'broker.id', type: 'INT', default: '1', validator: atLeast(0), doc: 'Alias of node.id.' },
  // Kafka can change listeners per broker at run time; Brook binds its listener once.
  { name: 'listeners', type: 'STRING', default: 'PLAINTEXT://127.0.0.1:9092', doc: 'Listener the broker binds.' },
  { name: 'advertised.listeners', type: 'STRING', default: null, doc: 'Address clients are told to use (defaults to the listener).' },
  { name: 'log.dirs', type: 'STRING', default: './data', doc: 'Directory holding the log data.' },
  { name: 'num.partitions', type: 'INT', default: '1', validator: atLeast(1), doc: 'Default partition count of new topics.' },
  { name: 'default.replication.factor', type: 'INT', default: '1', validator: atLeast(1), doc: 'Default replication factor of new topics (at most the number of live brokers).' },
  { name: 'offsets.topic.replication.factor', type: 'SHORT', default: '3', validator: atLeast(1), doc: 'Replication factor of __consumer_offsets in a cluster (capped by the live brokers when it is created).' },
  { name: 'transaction.state.log.replication.factor', type: 'SHORT', default: '3', validator: atLeast(1), doc: 'Replication factor of __transaction_state in a cluster (capped by the live brokers when it is created).' },
  { name: 'offsets.commit.timeout.ms', type: 'INT', default: '5000', validator: atLeast(1), doc: 'In a cluster, how long an offset commit waits for the offsets partition\'s ISR before it is answered COORDINATOR_NOT_AVAILABLE.' },
  { name: 'replica.high.watermark.checkpoint.interval.ms', type: 'LONG', default: '5000', validator: atLeast(1), doc: 'How often a cluster member saves its partitions\' high watermarks (replication-offset-checkpoint).' },
  { name: 'replica.lag.time.max.ms', type: 'LONG', default: '30000', validator: atLeast(1), doc: 'A follower that has not caught up with the leader for this long leaves the ISR.' },
  { name: 'broker.rack', type: 'STRING', default: null, doc: 'This broker\'s rack: in Metadata, for rack-aware replica placement, and for consumers\' reads from followers (replica.selector.class).' },
  { name: 'replica.selector.class', type: 'STRING', default: null, validator: oneOf('org.apache.kafka.common.replica.RackAwareReplicaSelector', 'org.apache.kafka.common.replica.LeaderSelector'), doc: 'KIP-392: with RackAwareReplicaSelector a leader sends a consumer that gives its client.rack (Fetch v11+) to an in-sync follower in that rack; unset or LeaderSelector: consumers read from leaders. Followers answer consumers\' fetches either way.' },
  { name: 'replica.fetch.wait.max.ms', type: 'INT', default: '500', validator: atLeast(0), doc: 'Longest wait of a follower fetch for new data.' },
  { name: 'replica.fetch.max.bytes', type: 'INT', default: '1048576', validator: atLeast(0), doc: 'Bytes a follower fetch asks for per partition.' },
  { name: 'replica.fetch.response.max.bytes', type: 'INT', default: '10485760', validator: atLeast(0), doc: 'Bytes a follower fetch asks for in all.' },
  { name: 'replica.fetch.backoff.ms', type: 'INT', default: '1000', validator: atLeast(0), doc: 'Pause of a follower after a failed fetch.' },
  { name: 'auto.leader.rebalance.enable', type: 'BOOLEAN', default: 'true', doc: 'The controller moves leadership back to preferred replicas periodically.' },
  { name: 'leader.imbalance.check.interval.seconds', type: 'LONG', default: '300', validator: atLeast(1), doc: 'Period of the preferred-leader check.' },
  { name: 'broker.session.timeout.ms', type: 'INT', default: '9000', validator: atLeast(1000), doc: 'Lease of a broker in the metadata store (etcd): a broker silent this long is taken out of the cluster (rounded up to seconds).' },
  { name: 'auto.create.topics.enable', type: 'BOOLEAN', default: 'true', doc: 'Create topics on first use by Metadata or Produce.' },
  { name: 'delete.topic.enable', type: 'BOOLEAN', default: 'true', doc: 'Allow DeleteTopics.' },
  { name: 'message.max.bytes', type: 'INT', default: '1048588', validator: atLeast(0), dynamic: CW, doc: 'Largest record batch accepted (topic: max.message.bytes).' },
  { name: 'max.connections', type: 'INT', default: '2147483647', validator: atLeast(0), doc: 'Open client connections the broker accepts over all listeners; past it new ones are closed (Kafka holds them in the accept backlog).' },
  { name: 'max.connections.per.ip', type: 'INT', default: '2147483647', validator: atLeast(0), doc: 'Open connections accepted from one client address; past it new ones are closed.' },
  { name: 'max.connections.per.ip.overrides', type: 'STRING', default: '', doc: 'Per-address exceptions to max.connections.per.ip: "address:count,..." (IP addresses).' },
  { name: 'inter.broker.listener.name', type: 'STRING', default: null, doc: 'The listener brokers of a cluster use between themselves (replication, transaction markers); default: the one named by security.inter.broker.protocol, else the first PLAINTEXT one.' },
  { name: 'security.inter.broker.protocol', type: 'STRING', default: null, validator: oneOf('PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'), doc: 'Names the inter-broker listener by its security protocol (the listener of that name), when inter.broker.listener.name is not set.' },
  { name: 'sasl.mechanism.inter.broker.protocol', type: 'STRING', default: null, doc: 'SASL mechanism brokers use on a SASL inter-broker listener (default: the listener\'s first enabled one); the credentials are the username/password of that mechanism\'s JAAS entry on the listener.' },
  { name: 'connections.max.reauth.ms', type: 'LONG', default: '0', validator: atLeast(0), doc: 'SASL sessions last this long (KIP-368: clients re-authenticate before; a request after it closes the connection). 0: no limit but the credential\'s own (OAUTHBEARER exp).' },
  { name: 'connection.failed.authentication.delay.ms', type: 'INT', default: '100', validator: atLeast(0), doc: 'A failed SASL authentication is answered, and its connection closed, after this delay.' },
  { name: 'sasl.server.max.receive.size', type: 'INT', default: '524288', validator: atLeast(1), doc: 'Largest frame accepted from a SASL client before it has authenticated; larger ones close the connection.' },
  { name: 'quota.window.num', type: 'INT', default: '11', validator: atLeast(1), doc: 'Samples a client quota rate is measured over (KIP-13).' },
  { name: 'quota.window.size.seconds', type: 'INT', default: '1', validator: atLeast(1), doc: 'Length of one client quota sample.' },
  { name: 'controller.quota.window.num', type: 'INT', default: '11', validator: atLeast(1), doc: 'Samples of the controller_mutation_rate quota (KIP-599): its burst is this many windows of the rate.' },
  { name: 'controller.quota.window.size.seconds', type: 'INT', default: '1', validator: atLeast(1), doc: 'Length of one controller_mutation_rate sample.' },
  // Authorization (issue 11): off unless authorizer.class.name names one of Kafka's ACL authorizers.
  { name: 'authorizer.class.name', type: 'STRING', default: '', validator: authorizerClass(), doc: 'The ACL authorizer: org.apache.kafka.metadata.authorizer.StandardAuthorizer or kafka.security.authorizer.AclAuthorizer (the same in Brook); empty: no authorization.' },
  { name: 'super.users', type: 'STRING', default: null, validator: principalList(), doc: 'Principals allowed everything, semicolon-separated: "User:admin;User:CN=broker,O=Example".' },
  { name: 'allow.everyone.if.no.acl.found', type: 'BOOLEAN', default: 'false', doc: 'With an authorizer, allow access to a resource no ACL applies to (default: deny).' },
  { name: 'socket.request.max.bytes', type: 'INT', default: '104857600', validator: atLeast(1), doc: 'Largest request frame accepted.' },
  // Read-only, as in Kafka (not in DynamicBrokerConfig.AllDynamicConfigs).
  { name: 'fetch.max.bytes', type: 'INT', default: '57671680', validator: atLeast(1024), doc: 'Largest Fetch response: caps the request\'s max_bytes and min_bytes (KIP-541); also the response bytes a connection may have waiting to be written before it is no longer read.' },
  { name: 'log.segment.bytes', type: 'INT', default: '1073741824', validator: atLeast(14), dynamic: CW, doc: 'Segment file size before rolling (topic: segment.bytes).' },
  { name: 'log.roll.ms', type: 'LONG', default: null, dynamic: CW, doc: 'Segment age before rolling; overrides log.roll.hours (topic: segment.ms).' },
  { name: 'log.roll.hours', type: 'INT', default: '168', validator: atLeast(1), doc: 'Segment age before rolling, in hours.' },
  { name: 'log.roll.jitter.ms', type: 'LONG', default: null, dynamic: CW, doc: 'Random jitter subtracted from the roll time (topic: segment.jitter.ms; accepted, not applied).' },
  { name: 'log.roll.jitter.hours', type: 'INT', default: '0', validator: atLeast(0), doc: 'Roll jitter in hours.' },
  { name: 'log.retention.ms', type: 'LONG', default: null, dynamic: CW, doc: 'Retention time; overrides minutes/hours (topic: retention.ms).' },
  { name: 'log.retention.minutes', type: 'INT', default: null, doc: 'Retention time in minutes; overrides hours.' },
  { name: 'log.retention.hours', type: 'INT', default: '168', doc: 'Retention time in hours.' },
  { name: 'log.retention.bytes', type: 'LONG', default: '-1', dynamic: CW, doc: 'Retention size per partition (topic: retention.bytes).' },
  { name: 'log.retention.check.interval.ms', type: 'LONG', default: '300000', validator: atLeast(1), doc: 'How often partitions are checked for data past retention.ms / retention.bytes.' },
  { name: 'log.index.interval.bytes', type: 'INT', default: '4096', validator: atLeast(0), dynamic: CW, doc: 'Bytes between offset index entries (topic: index.interval.bytes).' },
  { name: 'log.index.size.max.bytes', type: 'INT', default: '10485760', validator: atLeast(4), dynamic: CW, doc: 'Largest offset index file (topic: segment.index.bytes): bounds the indexes of segments the log cleaner merges into one; segments are not rolled on it.' },
  { name: 'log.flush.interval.messages', type: 'LONG', default: LONG_MAX, validator: atLeast(1), dynamic: CW, doc: 'fsync after this many messages; 1 = before acknowledging (topic: flush.messages).' },
  { name: 'log.flush.interval.ms', type: 'LONG', default: null, dynamic: CW, doc: 'fsync after this long (topic: flush.ms; accepted, not applied).' },
  { name: 'log.flush.scheduler.interval.ms', type: 'LONG', default: LONG_MAX, doc: 'Default of log.flush.interval.ms.' },
  { name: 'log.message.timestamp.type', type: 'STRING', default: 'CreateTime', validator: oneOf('CreateTime', 'LogAppendTime'), dynamic: CW, doc: 'CreateTime or LogAppendTime (topic: message.timestamp.type).' },
  { name: 'log.message.timestamp.difference.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), dynamic: CW, doc: 'Deprecated (topic: message.timestamp.difference.max.ms; accepted, not applied).' },
  { name: 'log.message.timestamp.before.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), dynamic: CW, doc: 'Topic: message.timestamp.before.max.ms (accepted, not applied).' },
  { name: 'log.message.timestamp.after.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), dynamic: CW, doc: 'Topic: message.timestamp.after.max.ms (accepted, not applied).' },
  { name: 'log.message.format.version', type: 'STRING', default: '3.0-IV1', validator: metadataVersion, doc: 'Deprecated; ignored since inter-broker protocol 3.0, as in Kafka.' },
  { name: 'log.message.downconversion.enable', type: 'BOOLEAN', default: 'true', dynamic: CW, doc: 'Topic: message.downconversion.enable (accepted; Brook always down-converts for Fetch v0-3).' },
  { name: 'log.cleanup.policy', type: 'LIST', default: 'delete', validator: listOf('compact', 'delete'), dynamic: CW, doc: 'Default cleanup policy (topic: cleanup.policy).' },
  { name: 'log.cleaner.backoff.ms', type: 'LONG', default: '15000', validator: atLeast(0), dynamic: CW, doc: 'How often the log cleaner looks for partitions to compact.' },
  { name: 'log.cleaner.delete.retention.ms', type: 'LONG', default: '86400000', validator: atLeast(0), dynamic: CW, doc: 'Tombstone retention (topic: delete.retention.ms).' },
  { name: 'log.cleaner.min.compaction.lag.ms', type: 'LONG', default: '0', validator: atLeast(0), dynamic: CW, doc: 'Topic: min.compaction.lag.ms.' },
  { name: 'log.cleaner.max.compaction.lag.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(1), dynamic: CW, doc: 'Topic: max.compaction.lag.ms.' },
  { name: 'log.cleaner.min.cleanable.ratio', type: 'DOUBLE', default: '0.5', validator: range(0, 1), dynamic: CW, doc: 'Topic: min.cleanable.dirty.ratio.' },
  { name: 'log.segment.delete.delay.ms', type: 'LONG', default: '60000', validator: atLeast(0), dynamic: CW, doc: 'How long files of deleted segments (retention, DeleteRecords, compaction) stay as .deleted before removal (topic: file.delete.delay.ms).' },
  { name: 'log.preallocate', type: 'BOOLEAN', default: 'false', dynamic: CW, doc: 'Topic: preallocate (accepted, not applied).' },
  { name: 'log.local.retention.ms', type: 'LONG', default: '-2', validator: atLeast(-2), dynamic: CW, doc: 'Tiered storage (topic: local.retention.ms; accepted, no tiered storage).' },
  { name: 'log.local.retention.bytes', type: 'LONG', default: '-2', validator: atLeast(-2), dynamic: CW, doc: 'Tiered storage (topic: local.retention.bytes; accepted, no tiered storage).' },
  { name: 'compression.type', type: 'STRING', default: 'producer', validator: oneOf(...COMPRESSION_TYPES), dynamic: CW, doc: 'Broker compression type (accepted; Brook stores batches as produced).' },
  { name: 'compression.gzip.level', type: 'INT', default: '-1', validator: gzipLevel, dynamic: CW, doc: 'Topic: compression.gzip.level (accepted, not applied).' },
  { name: 'compression.lz4.level', type: 'INT', default: '9', validator: range(1, 17), dynamic: CW, doc: 'Topic: compression.lz4.level (accepted, not applied).' },
  { name: 'compression.zstd.level', type: 'INT', default: '3', validator: range(-131072, 22), dynamic: CW, doc: 'Topic: compression.zstd.level (accepted, not applied).' },
  { name: 'min.insync.replicas', type: 'INT', default: '1', validator: atLeast(1), dynamic: CW, doc: 'Minimum in-sync replicas for acks=all (capped by the replica count).' },
  { name: 'unclean.leader.election.enable', type: 'BOOLEAN', default: 'false', dynamic: CW, doc: 'Elect an out-of-sync replica when no in-sync one is live (may lose data).' },
  { name: 'group.initial.rebalance.delay.ms', type: 'INT', default: '100', doc: 'Delay of the first rebalance of an empty group, extended by the same again while members keep joining, up to the rebalance timeout (Kafka: 3000; Brook: 100, long enough for clients started together to form one generation).' },
  { name: 'offsets.topic.num.partitions', type: 'INT', default: '50', validator: atLeast(1), doc: 'Partitions of the internal __consumer_offsets topic (fixed once created).' },
  { name: 'transaction.state.log.num.partitions', type: 'INT', default: '50', validator: atLeast(1), doc: 'Partitions of the internal __transaction_state topic (fixed once created).' },
  { name: 'transaction.state.log.segment.bytes', type: 'INT', default: '104857600', validator: atLeast(1), doc: 'Segment size of __transaction_state.' },
  { name: 'transaction.max.timeout.ms', type: 'INT', default: '900000', validator: atLeast(1), doc: 'Largest transaction.timeout.ms a transactional producer may ask for.' },
  { name: 'transactional.id.expiration.ms', type: 'INT', default: '604800000', validator: atLeast(1), doc: 'A transactional id without transaction status updates for this long expires.' },
  { name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', type: 'INT', default: '10000', validator: atLeast(1), doc: 'How often transactions past their timeout are looked for and aborted.' },
  { name: 'transaction.remove.expired.transaction.cleanup.interval.ms', type: 'INT', default: '3600000', validator: atLeast(1), doc: 'How often expired transactional ids are removed.' },
  { name: 'producer.id.expiration.ms', type: 'INT', default: '86400000', validator: atLeast(1), dynamic: CW, doc: 'Producer state of an idle producer (no open transaction) is dropped from a partition after this.' },
  { name: 'producer.id.expiration.check.interval.ms', type: 'INT', default: '600000', validator: atLeast(1), doc: 'How often idle producer state is looked for.' },
  { name: 'transaction.partition.verification.enable', type: 'BOOLEAN', default: 'true', dynamic: CW, doc: 'Refuse transactional produce to partitions not added to the transaction (KIP-890).' },
  { name: 'offsets.retention.minutes', type: 'INT', default: '10080', validator: atLeast(1), doc: 'Committed offsets of empty groups expire after this.' },
  { name: 'offsets.retention.check.interval.ms', type: 'LONG', default: '600000', validator: atLeast(1), doc: 'How often expired committed offsets are looked for.' },
  { name: 'offset.metadata.max.bytes', type: 'INT', default: '4096', doc: 'Longest metadata string accepted with a committed offset.' },
  { name: 'group.min.session.timeout.ms', type: 'INT', default: '6000', doc: 'Smallest session timeout a group member may ask for.' },
  { name: 'group.max.session.timeout.ms', type: 'INT', default: '1800000', doc: 'Largest session timeout a group member may ask for.' },
  { name: 'group.max.size', type: 'INT', default: '2147483647', validator: atLeast(1), doc: 'Most members a classic consumer group may have.' },
  { name: 'queued.max.requests', type: 'INT', default: '500', validator: atLeast(1), doc: 'Requests in flight per connection before reading pauses.' },
  { name: 'queued.max.request.bytes', type: 'LONG', default: '104857600', doc: 'Bytes of requests read and not yet answered, over all connections (and on each one), before the broker stops reading requests.' },
  { name: 'connections.max.idle.ms', type: 'LONG', default: '600000', doc: 'Idle connections are closed after this.' },
];

export interface TopicConfigDef {
  name: string;
  type: ConfigType;
  /** LogConfig's default: the value when no broker synonym has one (or there is none). */
  default: string;
  validator?: Validator;
  /**
   * Broker configs this topic config inherits from, highest precedence first (Kafka's
   * ServerTopicConfigSynonyms; the first is the "primary" one DescribeConfigs lists from).
   * Names ending in .hours / .minutes are converted to milliseconds.
   */
  synonyms: readonly string[];
  doc: string;
  /** message.format.version: the broker value is ignored (inter-broker protocol >= 3.0). */
  ignoreBrokerValue?: boolean;
}

/**
 * Every topic config Kafka 3.x accepts (LogConfig, in its definition order), deprecated ones
 * included. Each is validated with Kafka's type and range and described; the ones Brook does not
 * act on are accepted and stored (README lists which).
 */
export const TOPIC_CONFIG_DEFS: readonly TopicConfigDef[] = [
  { name: 'segment.bytes', type: 'INT', default: '1073741824', validator: atLeast(14), synonyms: ['log.segment.bytes'], doc: 'Segment file size.' },
  { name: 'segment.ms', type: 'LONG', default: '604800000', validator: atLeast(1), synonyms: ['log.roll.ms', 'log.roll.hours'], doc: 'Roll a segment after this long.' },
  { name: 'segment.jitter.ms', type: 'LONG', default: '0', validator: atLeast(0), synonyms: ['log.roll.jitter.ms', 'log.roll.jitter.hours'], doc: 'Random jitter of segment.ms.' },
  { name: 'segment.index.bytes', type: 'INT', default: '10485760', validator: atLeast(4), synonyms: ['log.index.size.max.bytes'], doc: 'Offset index size.' },
  { name: 'flush.messages', type: 'LONG', default: LONG_MAX, validator: atLeast(1), synonyms: ['log.flush.interval.messages'], doc: 'fsync after this many messages.' },
  { name: 'flush.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), synonyms: ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'], doc: 'fsync after this long.' },
  { name: 'retention.bytes', type: 'LONG', default: '-1', synonyms: ['log.retention.bytes'], doc: 'Retention size per partition.' },
  { name: 'retention.ms', type: 'LONG', default: '604800000', validator: atLeast(-1), synonyms: ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'], doc: 'Retention time.' },
  { name: 'max.message.bytes', type: 'INT', default: '1048588', validator: atLeast(0), synonyms: ['message.max.bytes'], doc: 'Largest record batch.' },
  { name: 'index.interval.bytes', type: 'INT', default: '4096', validator: atLeast(0), synonyms: ['log.index.interval.bytes'], doc: 'Bytes between index entries.' },
  { name: 'delete.retention.ms', type: 'LONG', default: '86400000', validator: atLeast(0), synonyms: ['log.cleaner.delete.retention.ms'], doc: 'Tombstone retention of compacted topics.' },
  { name: 'min.compaction.lag.ms', type: 'LONG', default: '0', validator: atLeast(0), synonyms: ['log.cleaner.min.compaction.lag.ms'], doc: 'Minimum age before compaction.' },
  { name: 'max.compaction.lag.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(1), synonyms: ['log.cleaner.max.compaction.lag.ms'], doc: 'Maximum age before compaction.' },
  { name: 'file.delete.delay.ms', type: 'LONG', default: '60000', validator: atLeast(0), synonyms: ['log.segment.delete.delay.ms'], doc: 'Delay before removing the files of deleted segments.' },
  { name: 'min.cleanable.dirty.ratio', type: 'DOUBLE', default: '0.5', validator: range(0, 1), synonyms: ['log.cleaner.min.cleanable.ratio'], doc: 'Dirty ratio that triggers compaction.' },
  { name: 'cleanup.policy', type: 'LIST', default: 'delete', validator: listOf('compact', 'delete'), synonyms: ['log.cleanup.policy'], doc: 'delete, compact or both.' },
  { name: 'unclean.leader.election.enable', type: 'BOOLEAN', default: 'false', synonyms: ['unclean.leader.election.enable'], doc: 'Allow out-of-sync leaders.' },
  { name: 'min.insync.replicas', type: 'INT', default: '1', validator: atLeast(1), synonyms: ['min.insync.replicas'], doc: 'Minimum in-sync replicas for acks=all.' },
  { name: 'compression.type', type: 'STRING', default: 'producer', validator: oneOf(...COMPRESSION_TYPES), synonyms: ['compression.type'], doc: 'Final compression of the topic.' },
  { name: 'compression.gzip.level', type: 'INT', default: '-1', validator: gzipLevel, synonyms: ['compression.gzip.level'], doc: 'gzip level.' },
  { name: 'compression.lz4.level', type: 'INT', default: '9', validator: range(1, 17), synonyms: ['compression.lz4.level'], doc: 'lz4 level.' },
  { name: 'compression.zstd.level', type: 'INT', default: '3', validator: range(-131072, 22), synonyms: ['compression.zstd.level'], doc: 'zstd level.' },
  { name: 'preallocate', type: 'BOOLEAN', default: 'false', synonyms: ['log.preallocate'], doc: 'Preallocate segment files.' },
  { name: 'message.format.version', type: 'STRING', default: '3.0-IV1', validator: metadataVersion, synonyms: ['log.message.format.version'], ignoreBrokerValue: true, doc: 'Deprecated; ignored since 3.0.' },
  { name: 'message.timestamp.type', type: 'STRING', default: 'CreateTime', validator: oneOf('CreateTime', 'LogAppendTime'), synonyms: ['log.message.timestamp.type'], doc: 'CreateTime or LogAppendTime.' },
  { name: 'message.timestamp.difference.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), synonyms: ['log.message.timestamp.difference.max.ms'], doc: 'Deprecated timestamp skew bound.' },
  { name: 'message.timestamp.before.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), synonyms: ['log.message.timestamp.before.max.ms'], doc: 'Largest timestamp lag behind the broker.' },
  { name: 'message.timestamp.after.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), synonyms: ['log.message.timestamp.after.max.ms'], doc: 'Largest timestamp lead over the broker.' },
  { name: 'leader.replication.throttled.replicas', type: 'LIST', default: '', validator: throttledReplicas('leader.replication.throttled.replicas'), synonyms: [], doc: 'Throttled leader replicas.' },
  { name: 'follower.replication.throttled.replicas', type: 'LIST', default: '', validator: throttledReplicas('follower.replication.throttled.replicas'), synonyms: [], doc: 'Throttled follower replicas.' },
  { name: 'message.downconversion.enable', type: 'BOOLEAN', default: 'true', synonyms: ['log.message.downconversion.enable'], doc: 'Down-convert for old consumers.' },
  { name: 'remote.storage.enable', type: 'BOOLEAN', default: 'false', synonyms: [], doc: 'Tiered storage (not available).' },
  { name: 'local.retention.ms', type: 'LONG', default: '-2', validator: atLeast(-2), synonyms: ['log.local.retention.ms'], doc: 'Local retention with tiered storage.' },
  { name: 'local.retention.bytes', type: 'LONG', default: '-2', validator: atLeast(-2), synonyms: ['log.local.retention.bytes'], doc: 'Local retention with tiered storage.' },
  { name: 'remote.log.copy.disable', type: 'BOOLEAN', default: 'false', synonyms: [], doc: 'Tiered storage (not available).' },
  { name: 'remote.log.delete.on.disable', type: 'BOOLEAN', default: 'false', synonyms: [], doc: 'Tiered storage (not available).' },
];

export const BROKER_DEF: ReadonlyMap<string, BrokerConfigDef> = new Map(BROKER_CONFIG_DEFS.map((d) => [d.name, d]));
export const TOPIC_DEF: ReadonlyMap<string, TopicConfigDef> = new Map(TOPIC_CONFIG_DEFS.map((d) => [d.name, d]));

/**
 * Kafka's DynamicBrokerConfig.brokerConfigSynonyms: the names one broker config may be given by,
 * highest precedence first (log.retention.hours -> [log.retention.ms, .minutes, .hours]).
 */
export function brokerSynonyms(name: string): string[] {
  for (const group of [
    ['log.roll.ms', 'log.roll.hours'],
    ['log.roll.jitter.ms', 'log.roll.jitter.hours'],
    ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  ]) {
    if (group.includes(name)) return group;
  }
  if (name === 'log.flush.interval.ms') return ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'];
  return [name];
}

/** Converts a broker synonym's value into the topic config's unit (hours/minutes -> ms). */
function synonymToTopicValue(synonym: string, value: string): string {
  if (synonym.endsWith('.hours')) return String(BigInt(value.trim()) * BigInt(H));
  if (synonym.endsWith('.minutes')) return String(BigInt(value.trim()) * 60000n);
  return value;
}

/** A value as Kafka prints it after parsing (known configs), or as given. */
function normalized(def: { name: string; type: ConfigType; validator?: Validator } | undefined, value: string): string {
  if (!def) return value;
  const p = parseValue(def.name, def.type, value);
  return p.ok ? printValue(p.value, def.type) : value;
}

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  /** Where the value came from, in DescribeConfigs terms. */
  source: ConfigSourceName;
}

/** The two levels AlterConfigs on a BROKER resource writes: "" (cluster default) and "<node.id>". */
export type DynamicLevel = 'cluster-default' | 'broker';

export class BrokerConfig {
  /** Static values (file, --set, flags); unknown names are kept as Kafka keeps custom configs. */
  private readonly values = new Map<string, string>();
  private readonly dynamicValues: Record<DynamicLevel, Map<string, string>> = {
    'cluster-default': new Map(),
    broker: new Map(),
  };
  /** topicDefault() results, recomputed after any change. */
  private readonly inherited = new Map<string, { value: string | null; synonyms: readonly ConfigEntry[] }>();
  private readonly changeListeners: Array<() => void> = [];
  private persistence: DynamicConfigPersistence | null = null;

  constructor(values: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(values)) this.set(k, v);
  }

  /** Sets a static value (startup); throws ConfigError for a value Kafka would refuse. */
  set(name: string, value: string): void {
    const def = BROKER_DEF.get(name);
    if (def) {
      const p = parseValue(name, def.type, value, def.validator);
      if (!p.ok) throw new ConfigError(p.message);
      value = printValue(p.value, def.type);
    }
    // Unknown names are kept (Kafka logs them as unused); they do not affect behaviour.
    this.values.set(name, value);
    this.changed();
  }

  /** Set statically (file, --set, flags). */
  isSet(name: string): boolean {
    return this.values.has(name);
  }

  /** The effective value: dynamic per-broker > dynamic cluster default > static > default. */
  get(name: string): string | null {
    return (
      this.dynamicValues.broker.get(name) ??
      this.dynamicValues['cluster-default'].get(name) ??
      this.values.get(name) ??
      BROKER_DEF.get(name)?.default ??
      null
    );
  }

  /** Source of the effective value. */
  source(name: string): ConfigSourceName {
    if (this.dynamicValues.broker.has(name)) return 'DYNAMIC_BROKER';
    if (this.dynamicValues['cluster-default'].has(name)) return 'DYNAMIC_DEFAULT_BROKER';
    if (this.values.has(name)) return 'STATIC_BROKER';
    return 'DEFAULT';
  }

  int(name: string): number {
    const v = this.get(name);
    if (v === null) throw new ConfigError(`config ${name} has no value`);
    return Number(v);
  }

  bool(name: string): boolean {
    return this.get(name) === 'true';
  }

  get nodeId(): number {
    return this.isSet('node.id') || !this.isSet('broker.id') ? this.int('node.id') : this.int('broker.id');
  }

  // ---- dynamic configs -----------------------------------------------------------------------

  /** The dynamic values of one level (a copy). */
  dynamic(level: DynamicLevel): Record<string, string> {
    return Object.fromEntries(this.dynamicValues[level]);
  }

  /** Names of every broker config with a value somewhere: Brook's definitions, then custom ones. */
  names(): string[] {
    const custom = new Set<string>();
    for (const m of [this.dynamicValues.broker, this.dynamicValues['cluster-default'], this.values]) {
      for (const k of m.keys()) if (!BROKER_DEF.has(k)) custom.add(k);
    }
    return [...BROKER_CONFIG_DEFS.map((d) => d.name), ...custom];
  }

  /**
   * Replaces the dynamic configs of one level (values already validated by validateBrokerUpdate),
   * persisted first (a failed write changes nothing), then applied: listeners (the log store's
   * per-partition LogConfig) are told.
   */
  setDynamic(level: DynamicLevel, configs: Record<string, string>): void {
    const next = new Map(Object.entries(configs).map(([k, v]) => [k, normalized(BROKER_DEF.get(k), v)]));
    if (this.persistence) {
      const other: DynamicLevel = level === 'broker' ? 'cluster-default' : 'broker';
      const all = { [level]: Object.fromEntries(next), [other]: this.dynamic(other) } as Record<DynamicLevel, Record<string, string>>;
      this.persistence.save(all['cluster-default'], all.broker);
    }
    this.dynamicValues[level] = next;
    this.changed();
  }

  /** Calls `fn` after every change of a value (dynamic updates). */
  onChange(fn: () => void): void {
    this.changeListeners.push(fn);
  }

  /**
   * Loads the persisted dynamic configs and writes every later change through `persistence`.
   * As Kafka's DynamicBrokerConfig.fromPersistentProps, values that are no longer valid or no
   * longer dynamic are dropped with a warning instead of failing the start.
   */
  attachPersistence(persistence: DynamicConfigPersistence, warn: (msg: string, detail: object) => void = () => {}): void {
    const loaded = persistence.load();
    for (const level of ['cluster-default', 'broker'] as const) {
      const kept: Record<string, string> = {};
      for (const [k, v] of Object.entries(loaded[level === 'broker' ? 'broker' : 'clusterDefault'])) {
        const err = checkDynamicValue(k, v, level === 'broker');
        if (err) warn('ignoring a persisted dynamic broker config', { level, name: k, reason: err });
        else kept[k] = v;
      }
      this.dynamicValues[level] = new Map(Object.entries(kept).map(([k, v]) => [k, normalized(BROKER_DEF.get(k), v)]));
    }
    this.persistence = persistence;
    this.changed();
  }

  /** A copy with one level's dynamic values replaced (to validate an update before applying it). */
  withDynamic(level: DynamicLevel, configs: Record<string, string>): BrokerConfig {
    const c = new BrokerConfig();
    for (const [k, v] of this.values) c.values.set(k, v);
    c.dynamicValues['cluster-default'] = new Map(this.dynamicValues['cluster-default']);
    c.dynamicValues.broker = new Map(this.dynamicValues.broker);
    c.dynamicValues[level] = new Map(Object.entries(configs).map(([k, v]) => [k, normalized(BROKER_DEF.get(k), v)]));
    return c;
  }

  private changed(): void {
    this.inherited.clear();
    for (const fn of this.changeListeners) fn();
  }

  // ---- synonyms (DescribeConfigs) ------------------------------------------------------------

  /**
   * Kafka's ConfigHelper.configSynonyms: every value the given names have, level by level
   * (dynamic per-broker, dynamic default, static, default), each level in synonym order; then
   * everything before the first entry named `name` is dropped. So retention.ms (primary broker
   * synonym log.retention.ms) lists log.retention.hours only after a log.retention.ms value, and
   * nothing at all when only log.retention.hours has one.
   */
  configSynonyms(name: string, synonyms: readonly string[] = brokerSynonyms(name)): ConfigEntry[] {
    const out: ConfigEntry[] = [];
    const levels: Array<[ConfigSourceName, (k: string) => string | null | undefined]> = [
      ['DYNAMIC_BROKER', (k) => this.dynamicValues.broker.get(k)],
      ['DYNAMIC_DEFAULT_BROKER', (k) => this.dynamicValues['cluster-default'].get(k)],
      ['STATIC_BROKER', (k) => this.values.get(k)],
      ['DEFAULT', (k) => BROKER_DEF.get(k)?.default],
    ];
    for (const [source, lookup] of levels) {
      for (const s of synonyms) {
        const v = lookup(s);
        if (v !== undefined && v !== null) out.push({ name: s, value: v, source });
      }
    }
    const first = out.findIndex((e) => e.name === name);
    return first < 0 ? [] : out.slice(first);
  }

  // ---- topic configs -------------------------------------------------------------------------

  /**
   * The value of a topic config from broker settings alone (Kafka's KafkaConfig.extractLogConfigMap:
   * the first synonym with a value, converted to the topic's unit; retention below 0 is -1), and
   * the synonyms DescribeConfigs lists for it. Memoised: the produce path asks on every append.
   */
  topicDefault(name: string): { value: string | null; synonyms: readonly ConfigEntry[] } {
    let known = this.inherited.get(name);
    if (known === undefined) this.inherited.set(name, (known = this.resolveTopicDefault(name)));
    return known;
  }

  private resolveTopicDefault(name: string): { value: string | null; synonyms: readonly ConfigEntry[] } {
    const def = TOPIC_DEF.get(name);
    if (!def) return { value: null, synonyms: [] };
    let value: string | null = null;
    if (!def.ignoreBrokerValue) {
      for (const s of def.synonyms) {
        const v = this.get(s);
        if (v === null) continue;
        value = normalized(def, synonymToTopicValue(s, v));
        break;
      }
    }
    if (name === 'retention.ms' && value !== null && BigInt(value) < 0n) value = '-1';
    const primary = def.synonyms[0];
    return { value: value ?? def.default, synonyms: primary === undefined ? [] : this.configSynonyms(primary) };
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
      fileDeleteDelayMs: n('file.delete.delay.ms'),
    };
  }
}

// ---- validation of changes ----------------------------------------------------------------------

/** An AlterConfigs / CreateTopics outcome: a Kafka error name and its message. */
export interface ConfigProblem {
  error: 'INVALID_CONFIG' | 'INVALID_REQUEST';
  message: string;
}

/** Scala's Set.toString, which Kafka's messages print. */
const scalaSet = (names: string[]): string => `Set(${names.join(', ')})`;

/** Why one persisted dynamic broker value cannot be applied, or null. */
function checkDynamicValue(name: string, value: string, perBroker: boolean): string | null {
  const def = BROKER_DEF.get(name);
  if (!def) return null;
  if (!def.dynamic) return 'not dynamically updatable';
  if (!perBroker && def.dynamic === 'per-broker') return 'per-broker config at the cluster default level';
  const p = parseValue(name, def.type, value, def.validator);
  return p.ok ? null : p.message;
}

/**
 * Kafka's DynamicBrokerConfig.validateConfigs plus the reconfiguration check, for the complete new
 * set of dynamic values of one level: configs Kafka cannot change at run time are refused
 * ("Cannot update these configs dynamically"), per-broker ones at the cluster level, then every
 * known value is parsed and range-checked. Names Kafka does not define are custom configs and
 * pass, as in Kafka. Failures are INVALID_REQUEST, as Kafka's ConfigAdminManager answers them
 * (KAFKA-13609 keeps that code for compatibility).
 */
export function validateBrokerUpdate(config: BrokerConfig, level: DynamicLevel, configs: Record<string, string>): ConfigProblem | null {
  const names = Object.keys(configs);
  const fixed = names.filter((n) => BROKER_DEF.has(n) && !BROKER_DEF.get(n)!.dynamic);
  if (fixed.length > 0) return { error: 'INVALID_REQUEST', message: `Cannot update these configs dynamically: ${scalaSet(fixed)}` };
  for (const n of names) {
    const def = BROKER_DEF.get(n);
    if (!def) continue;
    const p = parseValue(n, def.type, configs[n]!, def.validator);
    if (!p.ok) return { error: 'INVALID_REQUEST', message: p.message };
  }
  if (level === 'cluster-default') {
    const perBroker = names.filter((n) => BROKER_DEF.get(n)?.dynamic === 'per-broker');
    if (perBroker.length > 0) {
      return { error: 'INVALID_REQUEST', message: `Cannot update these configs at default cluster level, broker id must be specified: ${scalaSet(perBroker)}` };
    }
  }
  // DynamicLogConfig.validateReconfiguration: local (tiered) retention within total retention.
  const next = config.withDynamic(level, configs);
  const retentionMs = BigInt(next.topicDefault('retention.ms').value!);
  const localMs = BigInt(next.get('log.local.retention.ms')!);
  const retentionBytes = BigInt(next.get('log.retention.bytes')!);
  const localBytes = BigInt(next.get('log.local.retention.bytes')!);
  const badMs = retentionMs !== -1n && localMs !== -2n && (localMs === -1n || localMs > retentionMs);
  const badBytes = retentionBytes > -1n && localBytes !== -2n && (localBytes === -1n || localBytes > retentionBytes);
  if (badMs || badBytes) return { error: 'INVALID_REQUEST', message: 'Invalid dynamic configuration' };
  return null;
}

/**
 * Kafka's LogConfig.validate for a topic's complete set of overrides, as the controller runs it
 * (CreateTopics, AlterConfigs, IncrementalAlterConfigs): unknown names, then every value in
 * LogConfig's definition order, then the rules across values on top of the broker defaults
 * (min.compaction.lag.ms <= max.compaction.lag.ms; remote storage needs tiered storage, which
 * Brook does not have). All failures are INVALID_CONFIG with Kafka's message.
 */
export function validateTopicConfigs(config: BrokerConfig, configs: Record<string, string>): ConfigProblem | null {
  for (const name of Object.keys(configs)) {
    if (!TOPIC_DEF.has(name)) return { error: 'INVALID_CONFIG', message: `Unknown topic config name: ${name}` };
  }
  const parsed = new Map<string, ReturnType<typeof parseValue>>();
  for (const def of TOPIC_CONFIG_DEFS) {
    const raw = configs[def.name];
    if (raw === undefined) continue;
    const p = parseValue(def.name, def.type, raw, def.validator);
    if (!p.ok) return { error: 'INVALID_CONFIG', message: p.message };
    parsed.set(def.name, p);
  }
  const long = (name: string): bigint => {
    const p = parsed.get(name);
    return p?.ok ? (p.value as bigint) : BigInt(config.topicDefault(name).value!);
  };
  const minLag = long('min.compaction.lag.ms');
  const maxLag = long('max.compaction.lag.ms');
  if (minLag > maxLag) {
    return { error: 'INVALID_CONFIG', message: `conflict topic config setting min.compaction.lag.ms (${minLag}) > max.compaction.lag.ms (${maxLag})` };
  }
  const remote = parsed.get('remote.storage.enable');
  if (remote?.ok && remote.value === true) {
    return { error: 'INVALID_CONFIG', message: 'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.' };
  }
  return null;
}

/** Topic overrides as stored: each value as Kafka prints it after parsing ("TRUE" -> "true"). */
export function normalizeTopicConfigs(configs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(configs).map(([k, v]) => [k, normalized(TOPIC_DEF.get(k), v)]));
}

/** A topic override as DescribeConfigs prints it. */
export function describeTopicValue(name: string, value: string): string {
  return normalized(TOPIC_DEF.get(name), value);
}
