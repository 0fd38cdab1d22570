// Assembles a broker: config, log store, cluster view, topic and replica managers, the dispatch
// table and the TCP server. `startBroker()` is both what the CLI runs and what a test suite calls
// in-process (ephemeral port, memory store, injected clock).
//
// For test suites (issue 9): seeded topics, `reset()` (a fresh broker state on the same port and
// object), fault injection (`faults`, and over HTTP with `controlPort`), and helpers to look at
// topics, records and groups. The per-reset part (topic, replica, group and transaction managers)
// is the "core"; the store, config, listener and fault injector outlive resets.

import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { ErrorCode } from '../protocol/errors.js';
import { resolve } from 'node:path';
import { realTimeBounded, systemClock, type Clock } from './common/clock.js';
import { createLogger, silentLogger, type Logger } from './common/logger.js';
import { nodeTls } from './common/builtins.js';
import { BrokerConfig, ConfigError } from './config/config.js';
import { checkAdvertisedHost, checkConfigRules, isWildcardHost } from './config/startup.js';
import { fileDynamicConfigs } from './config/dynamic-store.js';
import { clusterSecurityStore, fileSecurityStore, memorySecurityStore, type SecurityStore } from './security/store.js';
import { ClientQuotas } from './security/quotas.js';
import { ScramCredentials, scramUserProblem, seedScramUsers, type ScramUser } from './security/scram.js';
import { isSupportedMechanism, SUPPORTED_SASL_MECHANISMS, type SaslMechanismName } from './security/sasl/mechanism.js';
import type { OAuthBearerOptions } from './security/sasl/oauthbearer.js';
import { plainPasswordMatches } from './security/sasl/plain.js';
import type { SecurityProtocol } from './server/connection.js';
import type { SaslDeps } from './server/sasl-authenticator.js';
import { RequestMemory } from './server/request-memory.js';
import type { BrokerMetrics } from './metrics/metrics.js';
import { groupStats, partitionStats } from './metrics/sources.js';
import type { HttpServer } from './http/server.js';
import type { ConnectionOptions } from './client/connection.js';
import type { ClientSaslConfig } from './security/sasl/client.js';
import { AclAuthorizer } from './security/authorizer.js';
import { ClusterView } from './cluster/cluster.js';
// The cluster's modules (membership, controller, replica fetcher, marker sender) load only when a
// broker joins a cluster: a single node's start does not compile them.
import type { ClusterNode } from './cluster/cluster-node.js';
import type { ReplicaFetcherManager } from './cluster/fetcher.js';
import type { TxnMarkerSender } from './cluster/marker-sender.js';
import { MARKER_REPLICATION_TIMEOUT_MS } from './handlers/27-write-txn-markers.js';
import type { ClusterMetadataStore } from './cluster/metadata/store.js';
import { partitionForGroup } from './group/offsets-log.js';
import { ReplicaManager } from './cluster/replica-manager.js';
import { TopicManager } from './cluster/topics.js';
import { GroupCoordinator } from './group/coordinator.js';
import { OffsetsLog } from './group/offsets-log.js';
import { HANDLERS, advertisedRanges, buildHandlerTable } from './handlers/index.js';
import type { RequestContext } from './handlers/types.js';
import { openFileStore } from './log/file-store.js';
import { createMemoryStore } from './log/memory-store.js';
import type { LogStore } from './log/types.js';
import { createProcessor } from './server/dispatcher.js';
import { FaultInjector } from './server/faults.js';
import { TransactionCoordinator } from './txn/coordinator.js';
import { BlockProducerIds, BLOCK_SIZE, FileProducerIds, MemoryProducerIds, type ProducerIdManager } from './txn/producer-ids.js';
import { TXN_TOPIC, TxnStateLog } from './txn/txn-log.js';
import { OFFSETS_TOPIC } from './group/offsets-log.js';
import { Server } from './server/server.js';
import { ConnectionQuota, parsePerIpOverrides } from './server/connection-quota.js';
import type { TlsOptions } from 'node:tls';
// The control endpoint (and node:http with it) is loaded only when asked for: a start without it is
// shorter and smaller.
import type { ControlServer } from './fixture/control-server.js';
import {
  BrokerTopics,
  describeGroup,
  readRecords,
  waitForGroup,
  type GroupDescription,
  type ReadRecordsOptions,
  type StoredRecord,
  type TopicSpec,
  type WaitForGroupOptions,
} from './fixture/helpers.js';

/** One listener of a broker (BrokerOptions.listeners). */
export interface BrokerListener {
  /** Listener name (PLAINTEXT, SSL, INTERNAL...): clients get the endpoints of the one they use. */
  name: string;
  /** Default PLAINTEXT. SSL and SASL_SSL need `tls`, SASL_PLAINTEXT and SASL_SSL take `sasl`. */
  protocol?: SecurityProtocol;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free one. */
  port?: number;
  advertisedHost?: string;
  advertisedPort?: number;
  /**
   * SSL: node:tls server options (key, cert, ca, passphrase, requestCert, rejectUnauthorized,
   * minVersion...). `brook start` builds them from Kafka's ssl.* configs (src/config/tls.ts).
   */
  tls?: TlsOptions;
  /**
   * SASL_PLAINTEXT / SASL_SSL: the mechanisms (default SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN),
   * PLAIN users given by password (Kafka's JAAS user_<name>; SCRAM users also pass PLAIN), and
   * OAUTHBEARER's unsecured-token checks. `brook start` builds it from Kafka's sasl.* configs.
   */
  sasl?: BrokerListenerSasl;
}

export interface BrokerListenerSasl {
  mechanisms?: string[];
  plainUsers?: Record<string, string>;
  oauthbearer?: OAuthBearerOptions;
  /**
   * The broker's own user per mechanism (PLAIN, SCRAM-SHA-256...) when this is the inter-broker
   * listener: it authenticates to the other brokers as this user (sasl.mechanism.inter.broker.protocol).
   */
  clientUsers?: Record<string, { username: string; password?: string }>;
}

/**
 * The listener brokers of a cluster use between themselves (Kafka's rules): inter.broker.listener.name,
 * else the listener named by security.inter.broker.protocol, else (Brook) the first PLAINTEXT one.
 * Undefined on a single node without such settings.
 */
function interBrokerListener(listeners: readonly BrokerListener[], config: BrokerConfig, clustered: boolean): BrokerListener | undefined {
  const byName = config.get('inter.broker.listener.name');
  const byProtocol = config.get('security.inter.broker.protocol');
  if (byName && byProtocol) throw new ConfigError('inter.broker.listener.name and security.inter.broker.protocol should not be set at the same time');
  const wanted = byName ?? byProtocol;
  if (wanted) {
    const l = listeners.find((x) => x.name === wanted.toUpperCase());
    if (l === undefined) throw new ConfigError(`${byName ? 'inter.broker.listener.name' : 'security.inter.broker.protocol'} ${wanted} is not a listener (listeners: ${listeners.map((x) => x.name).join(', ')})`);
    return l;
  }
  const plain = listeners.find((x) => (x.protocol ?? 'PLAINTEXT') === 'PLAINTEXT');
  if (plain === undefined && clustered) {
    throw new ConfigError('a cluster member needs a listener for the other brokers: set inter.broker.listener.name, or give it a PLAINTEXT listener');
  }
  return plain;
}

/** How this broker connects to the others' inter-broker listener: TLS with its own keys and trust, SASL as its JAAS user. */
function interBrokerClient(l: BrokerListener, config: BrokerConfig): Pick<ConnectionOptions, 'tls' | 'sasl'> | undefined {
  const protocol = l.protocol ?? 'PLAINTEXT';
  const out: Pick<ConnectionOptions, 'tls' | 'sasl'> = {};
  if ((protocol === 'SSL' || protocol === 'SASL_SSL') && l.tls) {
    const t = l.tls;
    // Its truststore, else its own chain (a cluster whose brokers share one self-signed certificate).
    out.tls = { ca: t.ca ?? t.cert, key: t.key, cert: t.cert, ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}) };
  }
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanisms: readonly string[] = l.sasl?.mechanisms ?? DEFAULT_SASL_MECHANISMS;
    const mechanism = (config.get('sasl.mechanism.inter.broker.protocol') ?? mechanisms[0]!).toUpperCase();
    if (!mechanisms.includes(mechanism)) throw new ConfigError(`sasl.mechanism.inter.broker.protocol ${mechanism} is not enabled on the inter-broker listener ${l.name} (${mechanisms.join(', ')})`);
    const user = l.sasl?.clientUsers?.[mechanism];
    if (user === undefined) {
      throw new ConfigError(`the inter-broker listener ${l.name} uses SASL ${mechanism}: give the broker's user as username="..." password="..." in listener.name.${l.name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`);
    }
    out.sasl = { mechanism: mechanism as ClientSaslConfig['mechanism'], username: user.username, ...(user.password !== undefined ? { password: user.password } : {}) };
  }
  return out.tls || out.sasl ? out : undefined;
}

/** Brook's default sasl.enabled.mechanisms (Kafka's is GSSAPI, which Brook does not implement). */
export const DEFAULT_SASL_MECHANISMS: readonly SaslMechanismName[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN'];

/** A bound listener (Broker.listeners). */
export interface BoundListener {
  name: string;
  protocol: SecurityProtocol;
  host: string;
  port: number;
  /** The address it advertises, "host:port". */
  advertised: string;
}

export interface BrokerOptions {
  /**
   * Several listeners (PLAINTEXT and SSL), first one first. Replaces host/port/advertisedHost/
   * advertisedPort, which describe a single PLAINTEXT listener.
   */
  listeners?: BrokerListener[];
  /** Listener host (default 127.0.0.1). */
  host?: string;
  /** Listener port; 0 picks a free one (default 0 in-process, 9092 from the CLI). */
  port?: number;
  /** Address advertised to clients in Metadata/FindCoordinator (defaults to the bound one). */
  advertisedHost?: string;
  advertisedPort?: number;
  /** Durable data directory (Kafka's log.dirs). Ignored with `memory`. */
  dataDir?: string;
  /** Keep everything in memory (default true in-process unless dataDir is given). */
  memory?: boolean;
  /** Kafka-named broker configs, e.g. { 'num.partitions': '3' }. */
  config?: Record<string, string>;
  /**
   * Time for group, transaction, retention and producer-expiry timers and record timestamps; a
   * `ManualClock` moves only when advanced (see the README's "Test fixture" for what it moves).
   */
  clock?: Clock;
  logger?: Logger;
  /** Log level when no logger is given ('silent' in-process by default). */
  logLevel?: string;
  /** Topics created at start and again by every `reset()`. */
  topics?: TopicSpec[];
  /** Starts the HTTP control endpoint on 127.0.0.1 at this port (0 = a free one); see `controlUrl`. */
  controlPort?: number;
  /**
   * Starts the HTTP listener (/metrics, /healthz, /readyz, the console) at this port (0 = a free one); see
   * `httpUrl`. Off by default. The same port as `controlPort` serves both on one server.
   */
  httpPort?: number;
  /** Address of the HTTP listener (default 127.0.0.1). */
  httpHost?: string;
  /** Prometheus metrics (default: on with `httpPort`, off without). */
  metrics?: boolean;
  /**
   * The web console and its JSON API on the HTTP listener (/console, /api; default on with
   * `httpPort`). It reads the cluster through this broker's PLAINTEXT listener and answers 503
   * without one.
   */
  console?: boolean;
  /**
   * Live tails (Server-Sent Events streams of the console) open at once on this broker (default
   * 16); past it a new one is answered 503 and the console's page polls instead.
   */
  consoleLiveTails?: number;
  /**
   * Cluster mode (issue 10): the metadata store shared by the cluster's brokers, as
   * `etcd://host:port[,host:port...][/cluster]` or a store object (tests share one in-process
   * store between brokers). Absent: a single node, as always.
   */
  metadata?: string | ClusterMetadataStore;
  /** This broker's id in the cluster (default: the node.id config). */
  nodeId?: number;
  /** broker.rack, advertised in Metadata. */
  rack?: string;
  /**
   * SCRAM users stored at start (salted; the password is not kept) and again by every `reset()`,
   * replacing a stored credential of the same user and mechanism (default SCRAM-SHA-256, 4096
   * iterations). `brook start --add-scram` gives these.
   */
  users?: ScramUser[];
}

export interface Broker {
  /** The first PLAINTEXT listener's bound address (the first listener's without one). */
  readonly host: string;
  readonly port: number;
  /** "host:port" for client bootstrap lists (the address host/port advertise). */
  readonly bootstrap: string;
  /** Every listener, bound. */
  readonly listeners: readonly BoundListener[];
  readonly clusterId: string;
  readonly config: BrokerConfig;
  readonly store: LogStore;
  /** Topics: list, names, describe (partition offsets), create, ensure, delete. */
  readonly topics: BrokerTopics;
  readonly clock: Clock;
  /** The transaction coordinator (tests drive its timers through the clock). Replaced by reset(). */
  readonly txns: TransactionCoordinator;
  /** The partition data path (tests look at its parked long polls). Replaced by reset(). */
  readonly replicas: ReplicaManager;
  /** The group coordinator. Replaced by reset(). */
  readonly groups: GroupCoordinator;
  /**
   * Fault injection: failRequests, addLatency, dropResponses, disconnectOn, pause/resume,
   * pausePartition/resumePartition, dropConnections, rules, clear (README: "Fault injection").
   */
  readonly faults: FaultInjector;
  /** "http://127.0.0.1:<port>" of the HTTP control endpoint, or null without `controlPort`. */
  readonly controlUrl: string | null;
  /** "http://host:port" of the HTTP listener (metrics, health), or null without `httpPort`. */
  readonly httpUrl: string | null;
  /** The Prometheus registry and counters, or null when metrics are off. */
  readonly metrics: BrokerMetrics | null;
  /** Drops every client connection at once (fault injection). */
  dropConnections(): void;
  /**
   * Empties the broker in place for the next test: client connections are closed, then topics
   * (the seeded ones are created again, empty), groups, committed offsets, producer and
   * transaction state, fault rules, pauses and dynamic broker configs go. Same port, same object;
   * the clock keeps its time.
   */
  reset(): Promise<void>;
  /** A partition's records (read_uncommitted by default), decoded. */
  records(topic: string, partition: number, opts?: ReadRecordsOptions): Promise<StoredRecord[]>;
  /** Resolves once the group is in `state` (default Stable) with `members` members; rejects after `timeoutMs` (default 10 s). */
  waitForGroup(groupId: string, opts?: WaitForGroupOptions): Promise<GroupDescription>;
  /** The group's state and members now ('Dead' when it does not exist). */
  describeGroup(groupId: string): Promise<GroupDescription>;
  /** Users' SCRAM credentials (SASL/SCRAM and PLAIN): tests add users with `alter`. */
  readonly scram: ScramCredentials;
  /** Cluster mode: this broker's membership (metadata cache, controller); null on a single node. */
  readonly clusterNode: ClusterNode | null;
  /** Stops accepting, finishes in-flight requests, flushes and closes the log. Idempotent. */
  close(): Promise<void>;
}

/** What reset() replaces: everything that holds topic, group, offset, producer or transaction state. */
interface Core {
  topics: TopicManager;
  replicas: ReplicaManager;
  groups: GroupCoordinator;
  txns: TransactionCoordinator;
}

interface CoreDeps {
  /** Cluster mode: coordinators serve the internal-topic partitions this broker leads. */
  clustered: boolean;
  store: LogStore;
  config: BrokerConfig;
  clock: Clock;
  logger: Logger;
  cluster: ClusterView;
  producerIds: ProducerIdManager;
  /**
   * Cluster mode: the transaction coordinator's markers go to each partition's leader (local
   * ones to this core's replica manager). Absent on a single node: markers are local.
   */
  markerSender?: TxnMarkerSender;
  metrics: BrokerMetrics | null;
}

function buildCore({ clustered, store, config, clock, logger, cluster, producerIds, markerSender, metrics }: CoreDeps): Core {
  const topics = new TopicManager(store, config, () => cluster.brokers().length);
  const replicas = new ReplicaManager(store, config, clock);
  replicas.storageLog = logger;
  if (metrics) replicas.isrChanged = (kind) => (kind === 'shrink' ? metrics.isrShrinks : metrics.isrExpands).inc();
  replicas.retentionErrors = ({ topic, partition, err }) => logger.warn({ topic, partition, err }, 'retention or compaction failed for a partition');
  replicas.compactionDone = (topic, partition, r) =>
    logger.info({ topic, partition, bytesBefore: r.bytesBefore, bytesAfter: r.bytesAfter, recordsBefore: r.recordsBefore, recordsAfter: r.recordsAfter, cleanedTo: r.cleanedTo }, 'compacted');
  const offsetsLog = new OffsetsLog({
    store,
    topics,
    numPartitions: config.int('offsets.topic.num.partitions'),
    logger,
    now: () => clock.now(),
  });
  const groups = new GroupCoordinator({
    clock,
    delayClock: realTimeBounded(clock),
    persistence: offsetsLog,
    config: GroupCoordinator.defaultsFrom(config),
    logger,
    topicExists: (topic, partition) => store.partition(topic, partition) !== undefined,
    partitionFor: (groupId) => offsetsLog.partitionFor(groupId),
    ownership: clustered ? 'explicit' : 'all',
  });
  const txnLog = new TxnStateLog({
    store,
    topics,
    numPartitions: config.int('transaction.state.log.num.partitions'),
    segmentBytes: config.int('transaction.state.log.segment.bytes'),
    logger,
    now: () => clock.now(),
  });
  // Markers on __consumer_offsets complete the group coordinator's pending transactional offsets.
  replicas.onMarker((topic, partition, producerId, commit) => {
    if (topic === OFFSETS_TOPIC) groups.onTxnMarker(partition, producerId, commit);
  });
  /** Cluster mode: the id's __transaction_state partition has replicated everything written so far. */
  const txnStateReplicated = async (id: string): Promise<number> => {
    const p = txnLog.partitionFor(id);
    const log = store.partition(TXN_TOPIC, p);
    if (log === undefined) return ErrorCode.NONE;
    return (await replicas.whenReplicated(TXN_TOPIC, p, log.logEndOffset - 1n, config.int('offsets.commit.timeout.ms'))) ?? ErrorCode.NONE;
  };
  const txns = new TransactionCoordinator({
    clock,
    logger,
    persistence: txnLog,
    producerIds,
    markers: markerSender ?? replicas,
    config: {
      transactionMaxTimeoutMs: config.int('transaction.max.timeout.ms'),
      transactionalIdExpirationMs: config.int('transactional.id.expiration.ms'),
      abortTimedOutIntervalMs: config.int('transaction.abort.timed.out.transaction.cleanup.interval.ms'),
      removeExpiredIntervalMs: config.int('transaction.remove.expired.transaction.cleanup.interval.ms'),
    },
    ownership: clustered ? 'explicit' : 'all',
    partitionExists: (topic, partition) => store.partition(topic, partition) !== undefined,
    offsetsPartition: (groupId) => {
      try {
        offsetsLog.ensureTopic();
      } catch (err) {
        // A cluster creates the topic through the metadata store: the partition is known already
        // (offsets.topic.num.partitions), the topic follows.
        if (!clustered) throw err;
      }
      return { topic: OFFSETS_TOPIC, partition: offsetsLog.partitionFor(groupId) };
    },
    stateReplicated: clustered ? (id) => txnStateReplicated(id) : undefined,
  });
  replicas.setTxnVerifier((id, producerId, epoch, topic, partition) => txns.verifyPartition(id, producerId, epoch, topic, partition));
  // Cluster mode: a coordinator follows the leadership of its internal topic's partitions (Kafka's
  // onElection / onResignation), at the partition's leader epoch.
  replicas.onLeadershipChange((topic, partition, leader, epoch) => {
    if (topic === OFFSETS_TOPIC) leader ? groups.onElection(partition, epoch) : groups.onResignation(partition, epoch);
    else if (topic === TXN_TOPIC) leader ? txns.onElection(partition, epoch) : txns.onResignation(partition, epoch);
  });
  topics.addListener({
    onTopicCreated: (t) => logger.info({ topic: t.name, partitions: t.numPartitions, configs: t.configs }, 'topic created'),
    onPartitionsCreated: (t, from) => logger.info({ topic: t.name, from, partitions: t.numPartitions }, 'partitions added'),
    onTopicDeleted: (t) => {
      logger.info({ topic: t.name }, 'topic deleted');
      groups.onTopicDeleted(t.name);
      metrics?.topicDeleted(t.name);
    },
  });
  topics.registerInternal(offsetsLog.topic, () => offsetsLog.ensureTopic());
  topics.registerInternal(TXN_TOPIC, () => txnLog.ensureTopic());
  return { topics, replicas, groups, txns };
}

/** Stops a core's timers and wakes what waits on it (parked fetches, joins). */
function stopCore(core: Core): void {
  core.replicas.shutdown();
  core.groups.close();
  core.txns.close();
}

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const listenerSpecs: BrokerListener[] = options.listeners ?? [
    { name: 'PLAINTEXT', host: options.host, port: options.port, advertisedHost: options.advertisedHost, advertisedPort: options.advertisedPort },
  ];
  if (listenerSpecs.length === 0) throw new ConfigError('listeners: give at least one listener');
  const seenNames = new Set<string>();
  for (const l of listenerSpecs) {
    if (seenNames.has(l.name)) throw new ConfigError(`listeners: listener name ${l.name} is given twice`);
    seenNames.add(l.name);
    // As Kafka: a wildcard address (0.0.0.0, ::) is never advertised to clients.
    if (l.advertisedHost !== undefined) checkAdvertisedHost(l.advertisedHost);
    else if (l.host !== undefined && isWildcardHost(l.host)) {
      throw new ConfigError(`the listener host ${l.host} cannot be advertised to clients: give advertisedHost`);
    }
    const protocol = l.protocol ?? 'PLAINTEXT';
    if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
      for (const m of l.sasl?.mechanisms ?? DEFAULT_SASL_MECHANISMS) {
        if (!isSupportedMechanism(m)) {
          throw new ConfigError(`listener ${l.name}: SASL mechanism ${m} is not supported (Brook has ${SUPPORTED_SASL_MECHANISMS.join(', ')}${m === 'GSSAPI' ? '; GSSAPI/Kerberos is not implemented' : ''})`);
        }
      }
      if ((l.sasl?.mechanisms ?? DEFAULT_SASL_MECHANISMS).length === 0) throw new ConfigError(`listener ${l.name}: no SASL mechanism is enabled`);
    } else if (l.sasl !== undefined) {
      throw new ConfigError(`listener ${l.name} is ${protocol}: sasl settings are for SASL_PLAINTEXT and SASL_SSL listeners`);
    }
    if (protocol === 'SSL' || protocol === 'SASL_SSL') {
      if (l.tls === undefined) throw new ConfigError(`listener ${l.name} is ${protocol}: give its tls options (key and certificate)`);
      // Bad key material fails here, before anything is opened.
      try {
        nodeTls().createSecureContext(l.tls);
      } catch (err) {
        throw new ConfigError(`listener ${l.name}: the TLS options cannot be used: ${(err as Error).message}`);
      }
    }
  }
  // nodeId is node.id (the file store and dynamic configs are keyed by it too).
  const given = options.nodeId !== undefined ? { ...(options.config ?? {}), 'node.id': String(options.nodeId) } : (options.config ?? {});
  const config = new BrokerConfig(given);
  const interBroker = interBrokerListener(listenerSpecs, config, options.metadata !== undefined);
  const clustered = options.metadata !== undefined;
  checkConfigRules(given, undefined, clustered);
  let perIpOverrides: Map<string, number>;
  try {
    perIpOverrides = parsePerIpOverrides(config.get('max.connections.per.ip.overrides'));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const seedUsers = options.users ?? [];
  for (const u of seedUsers) {
    const problem = scramUserProblem(u);
    if (problem) throw new ConfigError(problem);
  }
  if (clustered && (options.topics?.length ?? 0) > 0) throw new ConfigError('seeded topics (topics) are for a single-node broker; create them with a client in a cluster');
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? (options.logLevel ? createLogger(options.logLevel) : silentLogger());
  const memory = options.memory ?? options.dataDir === undefined;
  const logConfig = config.logConfig();

  let store: LogStore;
  let dataDir: string | null = null;
  let producerIds: ProducerIdManager;
  if (memory) {
    store = createMemoryStore({ logConfig, logger, now: () => clock.now() });
    producerIds = new MemoryProducerIds();
  } else {
    dataDir = resolve(options.dataDir ?? config.get('log.dirs') ?? './data');
    mkdirSync(dataDir, { recursive: true });
    store = openFileStore(dataDir, { logConfig, logger, now: () => clock.now(), nodeId: config.nodeId });
    producerIds = new FileProducerIds(dataDir);
  }
  // Dynamic broker configs (AlterConfigs on BROKER resources) persist in the data directory and
  // are loaded now; every change recomputes the partitions' log configs (Kafka's DynamicLogConfig).
  try {
    if (dataDir !== null) config.attachPersistence(fileDynamicConfigs(dataDir, config.nodeId), (msg, detail) => logger.warn(detail, msg));
  } catch (err) {
    store.close();
    throw err;
  }
  store.setBrokerLogConfig(config.logConfig());
  config.onChange(() => store.setBrokerLogConfig(config.logConfig()));

  // Cluster mode (issue 10): the metadata store; producer ids come in blocks from it.
  let metaStore: ClusterMetadataStore | undefined;
  let ownMetadataStore: ClusterMetadataStore | null = null;
  let mods: { ClusterNode: typeof ClusterNode; ReplicaFetcherManager: typeof ReplicaFetcherManager; TxnMarkerSender: typeof TxnMarkerSender } | undefined;
  if (options.metadata !== undefined) {
    try {
      const [n, f, m] = await Promise.all([import('./cluster/cluster-node.js'), import('./cluster/fetcher.js'), import('./cluster/marker-sender.js')]);
      mods = { ClusterNode: n.ClusterNode, ReplicaFetcherManager: f.ReplicaFetcherManager, TxnMarkerSender: m.TxnMarkerSender };
      metaStore = typeof options.metadata === 'string' ? (ownMetadataStore = await (await import('./cluster/metadata/index.js')).openMetadataStore(options.metadata)) : options.metadata;
      const ids = new BlockProducerIds(
        () => metaStore!.allocateProducerIdBlock(config.nodeId, Number(BLOCK_SIZE)),
        (err) => logger.warn({ err: (err as Error).message }, 'could not get a producer id block from the cluster metadata'),
      );
      await ids.start();
      producerIds = ids;
    } catch (err) {
      await ownMetadataStore?.close().catch(() => {});
      store.close();
      throw err;
    }
  }

  // Security metadata (SCRAM credentials, ACLs, client quotas): a file next to the log, or memory;
  // in a cluster, the metadata store (every broker sees the same).
  let security: SecurityStore;
  let closeSecurity = (): void => {};
  try {
    if (metaStore !== undefined) {
      const shared = await clusterSecurityStore(metaStore, (err) => logger.warn({ err: err.message }, 'security metadata watch failed; reloading'));
      security = shared;
      closeSecurity = () => shared.close();
    } else {
      security = dataDir === null ? memorySecurityStore() : fileSecurityStore(dataDir);
    }
  } catch (err) {
    await ownMetadataStore?.close().catch(() => {});
    store.close();
    throw metaStore !== undefined ? err : new ConfigError((err as Error).message);
  }
  const scram = new ScramCredentials(security);
  const quotas = new ClientQuotas(
    security,
    () => ({ samples: config.int('quota.window.num'), windowMs: config.int('quota.window.size.seconds') * 1000 }),
    () => ({ samples: config.int('controller.quota.window.num'), windowMs: config.int('controller.quota.window.size.seconds') * 1000 }),
  );
  const authorizer = AclAuthorizer.fromConfig(security, config);
  /**
   * request_percentage (Kafka's ClientRequestQuotaManager): a handler's time counts as a share of
   * one request thread (100 = one thread). Exempt as in Kafka: the SASL and ApiVersions requests,
   * broker-to-broker ones (WriteTxnMarkers, a follower's Fetch).
   */
  const requestQuota = (ctx: RequestContext, apiKey: number, req: unknown, handlerMs: number): number => {
    if (apiKey === 17 || apiKey === 18 || apiKey === 36 || apiKey === 27) return 0;
    if (apiKey === 1) {
      const f = req as { replicaId?: number; replicaState?: { replicaId: number } | null };
      if ((f.replicaState?.replicaId ?? f.replicaId ?? -1) >= 0) return 0;
    }
    const t = quotas.record('request_percentage', ctx.connection.principal, ctx.header.clientId ?? '', handlerMs / 10, ctx.clock.now());
    if (t > 0) ctx.connection.throttle(t);
    return t;
  };
  try {
    await seedScramUsers(scram, seedUsers);
  } catch (err) {
    closeSecurity();
    await ownMetadataStore?.close().catch(() => {});
    store.close();
    throw err;
  }

  const nodeId = config.nodeId;
  const cluster = new ClusterView(
    store.clusterId,
    nodeId,
    null,
    null,
    options.rack ?? config.get('broker.rack') ?? null,
    listenerSpecs.map((l) => ({ name: l.name, protocol: l.protocol ?? 'PLAINTEXT', advertisedHost: l.advertisedHost ?? null, advertisedPort: l.advertisedPort ?? null })),
    interBroker?.name,
  );
  const interBrokerSecurity = interBroker === undefined ? undefined : interBrokerClient(interBroker, config);
  // Cluster mode: markers for partitions led by other brokers travel as WriteTxnMarkers.
  const markerSender = clustered
    ? new mods!.TxnMarkerSender({
        nodeId,
        security: interBrokerSecurity,
        leaderOf: (topic, partition) => cluster.leaderOf(topic, partition),
        partitionExists: (topic, partition) => cluster.hasPartition(topic, partition),
        brokerAddress: (id) => cluster.broker(id),
        local: () => ({
          // Kafka appends markers with acks=-1: a local one counts once the ISR has it.
          writeTxnMarker(topic, partition, producerId, producerEpoch, commit, coordinatorEpoch) {
            const replicas = core.replicas;
            const code = replicas.writeTxnMarker(topic, partition, producerId, producerEpoch, commit, coordinatorEpoch);
            const log = code === ErrorCode.NONE ? replicas.partition(topic, partition) : undefined;
            return (log && replicas.whenReplicated(topic, partition, log.logEndOffset - 1n, MARKER_REPLICATION_TIMEOUT_MS)) ?? code;
          },
        }),
        logger,
      })
    : undefined;
  const metricsOn = options.metrics ?? options.httpPort !== undefined;
  // The servers and core are read at scrape time (they exist by then).
  // prom-client is loaded only when metrics are on (startup time and memory otherwise).
  const metrics = metricsOn
    ? new (await import('./metrics/metrics.js')).BrokerMetrics({
        listeners: () => servers.map((srv) => ({ listener: srv.listener.name, connections: srv.connectionCount, inFlight: srv.inFlight })),
        partitions: () => partitionStats(store, core.replicas, clustered),
        purgatory: () => ({ produce: core.replicas.parkedProduces, fetch: core.replicas.parkedFetches }),
        groups: () => groupStats(core.groups, core.replicas),
      })
    : null;
  const deps: CoreDeps = { clustered, store, config, clock, logger, cluster, producerIds, markerSender, metrics };
  let core = buildCore(deps);
  const brokerTopics = new BrokerTopics(
    () => core.topics,
    () => core.replicas,
  );
  const seeds = options.topics ?? [];
  const seed = (): void => {
    for (const t of seeds) brokerTopics.ensure(t);
  };
  try {
    seed();
  } catch (err) {
    stopCore(core);
    store.close();
    throw err;
  }
  const table = buildHandlerTable(HANDLERS);
  const apiRanges = advertisedRanges(table);

  const faults = new FaultInjector();
  // For log lines (an ACL refusal names its request): looked up only when one is written.
  const apiNameOf = (apiKey: number): string | undefined => table.get(apiKey)?.api.name;
  const processor = createProcessor(table, (header, connection): RequestContext => ({
    metrics: metrics ?? undefined,
    header,
    apiNameOf,
    connection,
    config,
    cluster,
    topics: core.topics,
    replicas: core.replicas,
    groups: core.groups,
    txns: core.txns,
    clock,
    logger,
    scram,
    quotas,
    authorizer,
    apiRanges,
    coordinatorPartition: cluster.clustered ? coordinatorPartition : undefined,
    coordinatorWriteReplicated: cluster.clustered ? coordinatorWriteReplicated : undefined,
  }), faults, metrics ?? undefined, requestQuota);

  /** Cluster mode: waits until the coordinator's partition has replicated what it holds now. */
  async function coordinatorWriteReplicated(kind: 'group' | 'transaction', key: string): Promise<number> {
    const at = coordinatorPartition(kind, key);
    const log = at === undefined ? undefined : store.partition(at.topic, at.partition);
    if (at === undefined || log === undefined) return ErrorCode.NONE;
    const wait = core.replicas.whenReplicated(at.topic, at.partition, log.logEndOffset - 1n, config.int('offsets.commit.timeout.ms'));
    return wait === undefined ? ErrorCode.NONE : wait;
  }

  /** Cluster mode: a key's partition of its internal topic, creating the topic on first use. */
  function coordinatorPartition(kind: 'group' | 'transaction', key: string): { topic: string; partition: number } | undefined {
    const topic = kind === 'group' ? OFFSETS_TOPIC : TXN_TOPIC;
    let meta = store.getTopic(topic);
    if (meta === undefined) {
      try {
        core.topics.autoCreate(topic);
      } catch {
        // Being created: the client retries FindCoordinator.
      }
      meta = store.getTopic(topic);
      if (meta === undefined) return undefined;
    }
    return { topic, partition: partitionForGroup(key, meta.numPartitions) };
  }

  const limits = {
    maxFrameBytes: config.int('socket.request.max.bytes'),
    maxInFlight: config.int('queued.max.requests'),
    maxBufferedBytes: config.int('queued.max.request.bytes'),
    // The same limit over every connection (Kafka's request memory pool).
    memory: new RequestMemory(config.int('queued.max.request.bytes')),
    // One full-size Fetch response may wait to be written; past that a connection is not read
    // and its Fetches wait before reading (memory per slow reader stays bounded).
    maxQueuedResponseBytes: config.int('fetch.max.bytes'),
    idleMs: config.int('connections.max.idle.ms'),
  };
  const quota = new ConnectionQuota(
    {
      maxConnections: config.int('max.connections'),
      maxPerIp: config.int('max.connections.per.ip'),
      overrides: perIpOverrides,
    },
    (ip) => quotas.connectionThrottleMs(ip, clock.now()),
  );
  const saslDeps = (l: BrokerListener): SaslDeps | undefined =>
    l.protocol === 'SASL_PLAINTEXT' || l.protocol === 'SASL_SSL'
      ? {
          sasl: {
            mechanisms: (l.sasl?.mechanisms ?? DEFAULT_SASL_MECHANISMS) as SaslMechanismName[],
            jaasUsers: new Map(Object.entries(l.sasl?.plainUsers ?? {})),
            oauthbearer: l.sasl?.oauthbearer ?? {},
          },
          scram,
          now: () => clock.now(),
          maxReauthMs: () => config.int('connections.max.reauth.ms'),
          failedDelayMs: () => config.int('connection.failed.authentication.delay.ms'),
          maxReceiveBytes: () => config.int('sasl.server.max.receive.size'),
          logger,
        }
      : undefined;
  const servers = listenerSpecs.map((l) => {
    const sasl = saslDeps(l);
    return new Server(processor, limits, logger, { name: l.name, protocol: l.protocol ?? 'PLAINTEXT', ...(l.tls ? { tls: l.tls } : {}), ...(sasl ? { sasl } : {}) }, quota);
  });
  const dropAll = (): number => servers.reduce((n, srv) => n + srv.dropConnections(), 0);
  const closeAll = async (): Promise<void> => {
    await Promise.all(servers.map((srv) => srv.close()));
  };
  faults.attach({
    apis: new Map([...table.values()].map((h) => [h.api.apiKey, h.api.name])),
    topicName: (id) => core.topics.getById(id)?.name,
    dropConnections: () => dropAll(),
  });
  const boundListeners: BoundListener[] = [];
  try {
    for (const [i, l] of listenerSpecs.entries()) {
      const b = await servers[i]!.listen({ host: l.host ?? '127.0.0.1', port: l.port ?? 0 });
      cluster.bound(b.host, b.port, l.name);
      const ep = cluster.localFor(l.name);
      boundListeners.push({ name: l.name, protocol: l.protocol ?? 'PLAINTEXT', host: b.host, port: b.port, advertised: `${ep.host}:${ep.port}` });
    }
  } catch (err) {
    await closeAll();
    // Nothing was served: stop the timers and release the store (and its directory lock).
    stopCore(core);
    markerSender?.close();
    closeSecurity();
    await ownMetadataStore?.close().catch(() => {});
    await store.whenSyncIdle();
    store.close();
    throw err;
  }
  const bound = boundListeners.find((l) => l.protocol === 'PLAINTEXT') ?? boundListeners[0]!;

  // Cluster mode (issue 10): join through the metadata store; roles and topics follow it.
  let clusterNode: ClusterNode | null = null;
  let fetcher: ReplicaFetcherManager | null = null;
  if (metaStore !== undefined) {
    try {
      fetcher = new mods!.ReplicaFetcherManager({
        nodeId,
        security: interBrokerSecurity,
        brokerAddress: (id) => cluster.broker(id),
        localLog: (topic, partition) => store.partition(topic, partition),
        onFetched: (topic, partition, hw) => core.replicas.followerFetched(topic, partition, hw),
        onError: (topic, partition, errorCode) => logger.debug({ topic, partition, errorCode }, 'replica fetch error'),
        highWatermark: (topic, partition) => core.replicas.roleOf(topic, partition)?.hw,
        logger,
        options: {
          maxWaitMs: config.int('replica.fetch.wait.max.ms'),
          partitionMaxBytes: config.int('replica.fetch.max.bytes'),
          maxBytes: config.int('replica.fetch.response.max.bytes'),
          backoffMs: config.int('replica.fetch.backoff.ms'),
        },
      });
      const replicaFetcher = fetcher;
      let node: ClusterNode | undefined;
      core.replicas.enableReplication({
        nodeId,
        liveBrokers: () => node?.cache.liveBrokerIds() ?? new Set([nodeId]),
        proposeIsr: (topic, partition, leaderEpoch, isr) => (node ? node.proposeIsr(topic, partition, leaderEpoch, isr) : Promise.resolve(false)),
        checkpointDir: dataDir ?? undefined,
        rackOf: (id) => node?.rackOf(id) ?? null,
      });
      core.topics.setClusterBackend({
        createTopic: (meta, assignments) => node!.createTopic(meta, assignments),
        deleteTopic: (name) => node!.deleteTopic(name),
        createPartitions: (name, total, assignments) => node!.createPartitions(name, total, assignments),
        setTopicConfigs: (name, configs) => node!.setTopicConfigs(name, configs),
      });
      node = await mods!.ClusterNode.start({
        nodeId,
        store: metaStore,
        localStore: store,
        config,
        logger,
        endpoint: () => cluster.local,
        replicas: () => core.replicas,
        sessionTtlSeconds: Math.max(1, Math.ceil(config.int('broker.session.timeout.ms') / 1000)),
        onTopicDeleted: (meta) => {
          logger.info({ topic: meta.name }, 'topic deleted');
          core.groups.onTopicDeleted(meta.name);
        },
        onFollowed: (partitions) => replicaFetcher.setPartitions(partitions),
      });
      clusterNode = node;
      cluster.attach(node);
    } catch (err) {
      await fetcher?.close();
      stopCore(core);
      markerSender?.close();
      await closeAll();
      closeSecurity();
      await ownMetadataStore?.close().catch(() => {});
      await store.whenSyncIdle();
      store.close();
      throw err;
    }
  }

  let closing: Promise<void> | undefined;
  let resetting: Promise<void> | undefined;
  let control: ControlServer | null = null;
  let http: HttpServer | null = null;
  let consoleData: { close(): void } | null = null;
  const broker: Broker = {
    host: bound.host,
    port: bound.port,
    listeners: boundListeners,
    bootstrap: `${cluster.local.host}:${cluster.local.port}`,
    clusterId: store.clusterId,
    config,
    store,
    topics: brokerTopics,
    clock,
    get txns() {
      return core.txns;
    },
    get replicas() {
      return core.replicas;
    },
    get groups() {
      return core.groups;
    },
    faults,
    get controlUrl() {
      return control?.url ?? null;
    },
    get httpUrl() {
      return http?.url ?? null;
    },
    metrics,
    dropConnections: () => void dropAll(),
    scram,
    clusterNode,
    reset() {
      if (closing) return Promise.reject(new Error('the broker is closed'));
      if (clusterNode) return Promise.reject(new Error('reset() is for a single-node broker'));
      resetting ??= (async () => {
        faults.reset();
        dropAll();
        const old = core;
        stopCore(old);
        // Requests already running on the old core settle (their connections are gone), and
        // background writes finish, before the topics go.
        await new Promise((r) => setImmediate(r));
        await store.whenSyncIdle();
        for (const t of store.listTopics()) store.deleteTopic(t.name);
        await security.clear();
        await seedScramUsers(scram, seedUsers);
        for (const level of ['broker', 'cluster-default'] as const) {
          if (Object.keys(config.dynamic(level)).length > 0) config.setDynamic(level, {});
        }
        core = buildCore(deps);
        seed();
        logger.info({ topics: seeds.length }, 'broker reset');
      })().finally(() => {
        resetting = undefined;
      });
      return resetting;
    },
    records: (topic, partition, opts) => Promise.resolve().then(() => readRecords(core.replicas, topic, partition, opts)),
    waitForGroup: (groupId, opts) => waitForGroup(() => core.groups, groupId, opts),
    describeGroup: (groupId) => describeGroup(() => core.groups, groupId),
    close() {
      closing ??= (async () => {
        await resetting?.catch(() => {});
        faults.reset();
        await control?.close();
        await http?.close();
        consoleData?.close();
        // A cluster member leaves first: its lease goes, and the controller moves its leaderships.
        await clusterNode?.close();
        await fetcher?.close();
        await core.replicas.checkpointHighWatermarks();
        stopCore(core);
        markerSender?.close();
        await closeAll();
        closeSecurity();
        await ownMetadataStore?.close().catch(() => {});
        // Background writes and fsyncs finish first; the flush then covers the rest.
        await store.whenSyncIdle();
        try {
          store.flush();
        } catch (err) {
          // A disk still failing: close() tries once more, leaves no clean-shutdown marker (the
          // next start recovers the tails) and reports it.
          logger.error({ err: (err as Error).message }, 'flush at shutdown failed');
        }
        store.close();
        logger.info({ clusterId: store.clusterId }, 'brook stopped');
      })();
      return closing;
    },
  };
  try {
    const shared = options.httpPort !== undefined && options.controlPort !== undefined && options.httpPort === options.controlPort && options.httpPort !== 0;
    if (options.controlPort !== undefined && !shared) {
      const { startControlServer } = await import('./fixture/control-server.js');
      control = await startControlServer(broker, options.controlPort);
    }
    if (options.httpPort !== undefined) {
      const [{ startHttpServer }, { observabilityRoutes }] = await Promise.all([import('./http/server.js'), import('./http/observability.js')]);
      const readiness = {
        problems: (): string[] => {
          if (closing) return ['the broker is stopping'];
          if (clusterNode && !clusterNode.registered) return ['not registered in the cluster metadata store (unreachable, or the session was lost)'];
          return [];
        },
      };
      const routes = [observabilityRoutes(metrics, readiness)];
      // A secured broker (a SASL listener) asks the HTTP side for a user's password too.
      const saslListeners = listenerSpecs.filter((l) => l.protocol === 'SASL_PLAINTEXT' || l.protocol === 'SASL_SSL');
      if (saslListeners.length > 0) {
        const { basicAuthGate } = await import('./http/auth.js');
        const jaasUsers = new Map<string, string>();
        for (const l of saslListeners) for (const [u, p] of Object.entries(l.sasl?.plainUsers ?? {})) jaasUsers.set(u, p);
        routes.unshift(
          basicAuthGate(
            (user, password) => plainPasswordMatches({ jaasUsers, scram }, user, password),
            (user, remote) => logger.info({ remote, user }, 'HTTP authentication failed'),
          ),
        );
      }
      if (options.console !== false) {
        // The console reads the cluster as a client would, through one of this broker's listeners
        // (a wildcard bind is reached on loopback): on a secured broker a SASL listener, as the
        // user logged in over HTTP (so ACLs apply to what the console shows and does); else the
        // PLAINTEXT listener.
        const [{ ConsoleData }, { apiRoutes }, { consoleRoutes }, { basicCredentials }] = await Promise.all([
          import('./http/console/data.js'),
          import('./http/api.js'),
          import('./http/console/pages.js'),
          import('./http/auth.js'),
        ]);
        const address = (l: BoundListener): string => {
          const host = l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '::' ? '::1' : l.host;
          return `${host.includes(':') ? `[${host}]` : host}:${l.port}`;
        };
        const totals = metrics ? () => metrics.totals() : null;
        const apiOpts = options.consoleLiveTails !== undefined ? { liveTails: { maxStreams: options.consoleLiveTails } } : {};
        const saslSpec = saslListeners.find((l) => (l.sasl?.mechanisms ?? DEFAULT_SASL_MECHANISMS).some((m) => m === 'PLAIN' || m.startsWith('SCRAM-')));
        const saslBound = saslSpec === undefined ? undefined : boundListeners.find((l) => l.name === saslSpec.name);
        if (saslSpec !== undefined && saslBound !== undefined) {
          const mechs: readonly string[] = saslSpec.sasl?.mechanisms ?? DEFAULT_SASL_MECHANISMS;
          // PLAIN takes SCRAM users too; else the listener's SCRAM mechanism.
          const mechanism = (mechs.includes('PLAIN') ? 'PLAIN' : mechs.find((m) => m.startsWith('SCRAM-'))!) as ClientSaslConfig['mechanism'];
          // The broker connects to itself: it trusts its own certificate (chain or truststore).
          const t = saslSpec.tls;
          const tls = saslSpec.protocol === 'SASL_SSL' && t ? { ca: t.ca ?? t.cert, checkServerIdentity: () => undefined } : undefined;
          const sessions = new Map<string, InstanceType<typeof ConsoleData>>();
          const anonymous = new ConsoleData(null, totals);
          const forUser = (req: import('node:http').IncomingMessage): InstanceType<typeof ConsoleData> => {
            const c = basicCredentials(req);
            if (c === null) return anonymous;
            const key = `${c.user}\u0000${createHash('sha256').update(c.password).digest('hex')}`;
            let d = sessions.get(key);
            if (d === undefined) {
              // A few sessions at most (one per user and password); the oldest goes first.
              if (sessions.size >= 32) {
                const [oldestKey, oldest] = sessions.entries().next().value as [string, InstanceType<typeof ConsoleData>];
                oldest.close();
                sessions.delete(oldestKey);
              }
              d = new ConsoleData(address(saslBound), totals, { ...(tls ? { tls } : {}), sasl: { mechanism, username: c.user, password: c.password } });
              sessions.set(key, d);
            }
            return d;
          };
          consoleData = {
            close: () => {
              for (const d of sessions.values()) d.close();
              sessions.clear();
            },
          };
          routes.push(apiRoutes(forUser, apiOpts), consoleRoutes(forUser));
        } else {
          const plain = boundListeners.find((l) => l.protocol === 'PLAINTEXT');
          const data = new ConsoleData(plain === undefined ? null : address(plain), totals);
          consoleData = data;
          routes.push(apiRoutes(data, apiOpts), consoleRoutes(data));
        }
      }
      let classify: ((err: unknown) => number) | undefined;
      if (shared) {
        const c = await import('./fixture/control-server.js');
        routes.push(c.controlRoutes(broker));
        classify = c.controlErrorStatus;
      }
      http = await startHttpServer(options.httpHost ?? '127.0.0.1', options.httpPort, routes, classify);
      if (shared) control = http;
    }
  } catch (err) {
    await broker.close();
    throw err;
  }
  logger.info(
    {
      listener: `${bound.host}:${bound.port}`,
      ...(boundListeners.length > 1 ? { listeners: boundListeners.map((l) => `${l.name}://${l.host}:${l.port} (${l.protocol}, advertised ${l.advertised})`) } : {}),
      advertised: `${cluster.local.host}:${cluster.local.port}`,
      dataDir: dataDir ?? '(memory)',
      clusterId: store.clusterId,
      nodeId: cluster.nodeId,
      ...(control ? { control: control.url } : {}),
      ...(http ? { http: http.url } : {}),
    },
    'brook started',
  );
  return broker;
}
