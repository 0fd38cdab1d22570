// Assembles a broker: config, log store, cluster view, topic and replica managers, the dispatch
// table and the TCP server. `startBroker()` is both what the CLI runs and what a test suite calls
// in-process (ephemeral port, memory store, injected clock).

import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { systemClock, type Clock } from './common/clock.js';
import { createLogger, silentLogger, type Logger } from './common/logger.js';
import { BrokerConfig, ConfigError } from './config/config.js';
import { checkAdvertisedHost, checkConfigRules, isWildcardHost } from './config/startup.js';
import { fileDynamicConfigs } from './config/dynamic-store.js';
import { ClusterView } from './cluster/cluster.js';
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
import { FileProducerIds, MemoryProducerIds, type ProducerIdManager } from './txn/producer-ids.js';
import { TXN_TOPIC, TxnStateLog } from './txn/txn-log.js';
import { OFFSETS_TOPIC } from './group/offsets-log.js';
import { Server } from './server/server.js';

export interface BrokerOptions {
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
  clock?: Clock;
  logger?: Logger;
  /** Log level when no logger is given ('silent' in-process by default). */
  logLevel?: string;
}

export interface Broker {
  readonly host: string;
  readonly port: number;
  /** "host:port" for client bootstrap lists. */
  readonly bootstrap: string;
  readonly clusterId: string;
  readonly config: BrokerConfig;
  readonly store: LogStore;
  readonly topics: TopicManager;
  readonly clock: Clock;
  /** The transaction coordinator (tests drive its timers through the clock). */
  readonly txns: TransactionCoordinator;
  /** The partition data path (tests look at its parked long polls). */
  readonly replicas: ReplicaManager;
  /** Fault injection: `faults.dropResponses(apiKey, n)` handles the next n requests, then drops their responses (closing the connection). */
  readonly faults: FaultInjector;
  /** Drops every client connection at once (fault injection). */
  dropConnections(): void;
  /** Stops accepting, finishes in-flight requests, flushes and closes the log. Idempotent. */
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  // As Kafka: a wildcard address (0.0.0.0, ::) is never advertised to clients.
  if (options.advertisedHost !== undefined) checkAdvertisedHost(options.advertisedHost);
  else if (options.host !== undefined && isWildcardHost(options.host)) {
    throw new ConfigError(`the listener host ${options.host} cannot be advertised to clients: give advertisedHost`);
  }
  const config = new BrokerConfig(options.config ?? {});
  checkConfigRules(options.config ?? {});
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

  const cluster = new ClusterView(store.clusterId, config.nodeId, options.advertisedHost ?? null, options.advertisedPort ?? null);
  const topics = new TopicManager(store, config, () => cluster.brokers().length);
  const replicas = new ReplicaManager(store, config, clock);
  replicas.storageLog = logger;
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
    persistence: offsetsLog,
    config: GroupCoordinator.defaultsFrom(config),
    logger,
    topicExists: (topic, partition) => store.partition(topic, partition) !== undefined,
    partitionFor: (groupId) => offsetsLog.partitionFor(groupId),
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
  const txns = new TransactionCoordinator({
    clock,
    logger,
    persistence: txnLog,
    producerIds,
    markers: replicas,
    config: {
      transactionMaxTimeoutMs: config.int('transaction.max.timeout.ms'),
      transactionalIdExpirationMs: config.int('transactional.id.expiration.ms'),
      abortTimedOutIntervalMs: config.int('transaction.abort.timed.out.transaction.cleanup.interval.ms'),
      removeExpiredIntervalMs: config.int('transaction.remove.expired.transaction.cleanup.interval.ms'),
    },
    partitionExists: (topic, partition) => store.partition(topic, partition) !== undefined,
    offsetsPartition: (groupId) => {
      offsetsLog.ensureTopic();
      return { topic: OFFSETS_TOPIC, partition: offsetsLog.partitionFor(groupId) };
    },
  });
  replicas.setTxnVerifier((id, producerId, epoch, topic, partition) => txns.verifyPartition(id, producerId, epoch, topic, partition));
  topics.addListener({
    onTopicCreated: (t) => logger.info({ topic: t.name, partitions: t.numPartitions, configs: t.configs }, 'topic created'),
    onPartitionsCreated: (t, from) => logger.info({ topic: t.name, from, partitions: t.numPartitions }, 'partitions added'),
    onTopicDeleted: (t) => {
      logger.info({ topic: t.name }, 'topic deleted');
      groups.onTopicDeleted(t.name);
    },
  });
  topics.registerInternal(offsetsLog.topic, () => offsetsLog.ensureTopic());
  topics.registerInternal(TXN_TOPIC, () => txnLog.ensureTopic());
  const table = buildHandlerTable(HANDLERS);
  const apiRanges = advertisedRanges(table);

  const faults = new FaultInjector();
  const processor = createProcessor(table, (header, connection): RequestContext => ({
    header,
    connection,
    config,
    cluster,
    topics,
    replicas,
    groups,
    txns,
    clock,
    logger,
    apiRanges,
  }), faults);

  const server = new Server(
    processor,
    {
      maxFrameBytes: config.int('socket.request.max.bytes'),
      maxInFlight: config.int('queued.max.requests'),
      maxBufferedBytes: config.int('queued.max.request.bytes'),
      // One full-size Fetch response may wait to be written; past that a connection is not read
      // and its Fetches wait before reading (memory per slow reader stays bounded).
      maxQueuedResponseBytes: config.int('fetch.max.bytes'),
      idleMs: config.int('connections.max.idle.ms'),
    },
    logger,
  );
  let bound: { host: string; port: number };
  try {
    bound = await server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  } catch (err) {
    // Nothing was served: stop the timers and release the store (and its directory lock).
    replicas.shutdown();
    groups.close();
    txns.close();
    await store.whenSyncIdle();
    store.close();
    throw err;
  }
  cluster.bound(bound.host, bound.port);
  logger.info(
    { listener: `${bound.host}:${bound.port}`, advertised: `${cluster.local.host}:${cluster.local.port}`, dataDir: dataDir ?? '(memory)', clusterId: store.clusterId, nodeId: cluster.nodeId },
    'brook started',
  );

  let closing: Promise<void> | undefined;
  return {
    host: bound.host,
    port: bound.port,
    bootstrap: `${cluster.local.host}:${cluster.local.port}`,
    clusterId: store.clusterId,
    config,
    store,
    topics,
    clock,
    txns,
    replicas,
    faults,
    dropConnections: () => server.dropConnections(),
    close() {
      closing ??= (async () => {
        replicas.shutdown();
        groups.close();
        txns.close();
        await server.close();
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
}
