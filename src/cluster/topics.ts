// Topic lifecycle: name validation, creation (explicit and automatic), deletion, partition growth,
// config overrides (CreateTopics, AlterConfigs and IncrementalAlterConfigs share one validation:
// Kafka's LogConfig rules in src/config/config.ts). Kafka outcomes are returned as error codes,
// never thrown.

import { ErrorCode } from '../../protocol/errors.js';
import { randomUuid } from '../../protocol/primitives/uuid.js';
import { normalizeTopicConfigs, validateTopicConfigs, type BrokerConfig, type ConfigProblem } from '../config/config.js';
import { LogStoreError } from '../log/common.js';
import type { LogStore, TopicMetadata } from '../log/types.js';

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;
/** Partition count Brook accepts per topic (guards memory and file handles). */
export const MAX_PARTITIONS = 10000;

export interface TopicResult {
  errorCode: number;
  errorMessage: string | null;
  topic?: TopicMetadata;
}

export interface TopicListener {
  onTopicCreated?(topic: TopicMetadata): void;
  onTopicDeleted?(topic: TopicMetadata): void;
  onPartitionsCreated?(topic: TopicMetadata, from: number): void;
}

/** Kafka's topic name rules (Topic.validate). Returns an error text or null. */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty';
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`;
  }
  if (!LEGAL_TOPIC_NAME.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/** '.' and '_' collide in metric names, so Kafka refuses topics that differ only by them. */
function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

function problemResult(p: ConfigProblem): TopicResult {
  return { errorCode: p.error === 'INVALID_CONFIG' ? ErrorCode.INVALID_CONFIG : ErrorCode.INVALID_REQUEST, errorMessage: p.message };
}

export const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

/**
 * A store that fails to create or delete files (disk full, EMFILE, a read-only disk) answers
 * KAFKA_STORAGE_ERROR with the reason for the topic, instead of closing the client's connection;
 * the file store leaves nothing half-made behind. Anything else is a bug and stays thrown.
 */
function storageFailure(err: unknown): TopicResult {
  const code = (err as { code?: unknown })?.code;
  if (err instanceof LogStoreError ? code !== 'STORAGE_ERROR' : !(typeof code === 'string' && /^E[A-Z]+$/.test(code))) throw err;
  return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: (err as Error).message };
}

/**
 * Where topic changes go in a cluster (issue 10): the cluster metadata store, through the broker's
 * ClusterNode, which resolves once its own log store has the change. Absent on a single node.
 */
export interface ClusterTopicBackend {
  createTopic(meta: TopicMetadata, assignments?: number[][]): Promise<TopicResult>;
  deleteTopic(name: string): Promise<TopicResult>;
  createPartitions(name: string, total: number, assignments?: number[][]): Promise<TopicResult>;
  setTopicConfigs(name: string, configs: Record<string, string>): Promise<TopicResult>;
}

/** A result now (single node) or once the cluster metadata has it. */
export type MaybeAsync<T> = T | Promise<T>;

export class TopicManager {
  private readonly listeners: TopicListener[] = [];
  private backend: ClusterTopicBackend | undefined;
  /** Creators of internal topics, owned by their subsystem (the group coordinator's offsets log). */
  private readonly internalCreators = new Map<string, () => void>();

  constructor(
    private readonly store: LogStore,
    private readonly config: BrokerConfig,
    private readonly brokerCount: () => number,
  ) {}

  /** Cluster mode: topic changes are written to the cluster metadata (issue 10). */
  setClusterBackend(backend: ClusterTopicBackend): void {
    this.backend = backend;
  }

  get clustered(): boolean {
    return this.backend !== undefined;
  }

  addListener(l: TopicListener): void {
    this.listeners.push(l);
  }

  /** The subsystem that owns an internal topic creates it with the settings it needs. */
  registerInternal(name: string, create: () => void): void {
    this.internalCreators.set(name, create);
  }

  get(name: string): TopicMetadata | undefined {
    return this.store.getTopic(name);
  }

  getById(id: string): TopicMetadata | undefined {
    return this.store.getTopicById(id);
  }

  list(): TopicMetadata[] {
    return this.store.listTopics();
  }

  isInternal(name: string): boolean {
    return INTERNAL_TOPICS.has(name);
  }

  /** CreateTopics semantics. numPartitions/replicationFactor of -1 take the broker defaults. */
  create(
    name: string,
    numPartitions: number,
    replicationFactor: number,
    configs: Record<string, string | null>,
    validateOnly = false,
    assignments?: number[][],
  ): MaybeAsync<TopicResult> {
    const nameErr = topicNameError(name);
    if (nameErr) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: nameErr };
    if (this.store.getTopic(name)) {
      return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, errorMessage: `Topic '${name}' already exists.` };
    }
    if (INTERNAL_TOPICS.has(name)) {
      // A client-shaped internal topic (say 3 partitions of __consumer_offsets) would break the
      // subsystem that places its data by a fixed partition count; Brook creates them itself.
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Topic '${name}' is internal: the broker creates it.` };
    }
    const clash = this.store.listTopics().find((t) => collisionKey(t.name) === collisionKey(name));
    if (clash) {
      return {
        errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
        errorMessage: `Topic '${name}' collides with existing topic: ${clash.name}`,
      };
    }
    const partitions = numPartitions === -1 ? this.config.int('num.partitions') : numPartitions;
    if (partitions <= 0 || partitions > MAX_PARTITIONS) {
      return {
        errorCode: ErrorCode.INVALID_PARTITIONS,
        errorMessage: `Number of partitions must be between 1 and ${MAX_PARTITIONS}.`,
      };
    }
    const rf = replicationFactor === -1 ? this.config.int('default.replication.factor') : replicationFactor;
    if (rf <= 0) {
      return { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, errorMessage: 'Replication factor must be larger than 0.' };
    }
    if (rf > this.brokerCount()) {
      return {
        errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
        errorMessage: `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only ${this.brokerCount()} broker(s) are registered.`,
      };
    }
    // A null value sets nothing (Kafka's controller turns it into a removal before validating).
    const given: Record<string, string> = {};
    for (const [k, v] of Object.entries(configs)) if (v !== null) given[k] = v;
    const problem = validateTopicConfigs(this.config, given);
    if (problem) return problemResult(problem);
    const meta: TopicMetadata = {
      name,
      topicId: randomUuid(),
      numPartitions: partitions,
      replicationFactor: rf,
      configs: normalizeTopicConfigs(given),
    };
    if (!validateOnly && this.backend) {
      return this.backend.createTopic(meta, assignments).then((r) => {
        if (r.errorCode === ErrorCode.NONE && r.topic) for (const l of this.listeners) l.onTopicCreated?.(r.topic);
        return r;
      });
    }
    if (!validateOnly) {
      try {
        this.store.createTopic(meta);
      } catch (err) {
        return storageFailure(err);
      }
      for (const l of this.listeners) l.onTopicCreated?.(meta);
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic: meta };
  }

  /**
   * Creates an internal topic (e.g. __consumer_offsets) synchronously, bypassing the user-facing
   * rules; throws on failure. Replication factor 1 until replication exists.
   */
  createInternal(name: string, partitions: number, configs: Record<string, string>): void {
    if (this.store.getTopic(name)) return;
    if (this.backend) {
      // Kafka's offsets.topic.replication.factor / transaction.state.log.replication.factor,
      // capped by the live brokers (Kafka refuses until enough brokers are up; Brook starts smaller).
      const wanted = this.config.int(name === '__transaction_state' ? 'transaction.state.log.replication.factor' : 'offsets.topic.replication.factor');
      const replicationFactor = Math.max(1, Math.min(wanted, this.brokerCount()));
      // In a cluster the topic appears once the metadata store has it; callers see it missing
      // until then (the coordinators answer COORDINATOR_NOT_AVAILABLE and clients retry).
      const meta: TopicMetadata = { name, topicId: randomUuid(), numPartitions: partitions, replicationFactor, configs };
      void this.backend.createTopic(meta).catch(() => {});
      throw new LogStoreError('STORAGE_ERROR', `${name} is being created in the cluster`);
    }
    this.store.createTopic({ name, topicId: randomUuid(), numPartitions: partitions, replicationFactor: 1, configs });
  }

  /**
   * Auto-creation (Metadata with allow_auto_topic_creation) with broker defaults; an internal
   * topic is created by its owner with its own settings.
   */
  autoCreate(name: string): MaybeAsync<TopicResult> {
    const internal = this.internalCreators.get(name);
    if (internal === undefined) return this.create(name, -1, -1, {});
    if (this.backend) {
      try {
        internal();
      } catch {
        // Being created: the client's next Metadata request finds it.
      }
      return { errorCode: ErrorCode.NONE, errorMessage: null, topic: this.store.getTopic(name) };
    }
    try {
      internal();
    } catch (err) {
      return storageFailure(err);
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic: this.store.getTopic(name) };
  }

  get autoCreateEnabled(): boolean {
    return this.config.bool('auto.create.topics.enable');
  }

  delete(name: string): MaybeAsync<TopicResult> {
    const meta = this.store.getTopic(name);
    if (!meta) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' };
    }
    if (!this.config.bool('delete.topic.enable')) {
      return { errorCode: ErrorCode.TOPIC_DELETION_DISABLED, errorMessage: 'Topic deletion is disabled.' };
    }
    // In a cluster every broker's ClusterNode deletes its copy and tells the listeners.
    if (this.backend) return this.backend.deleteTopic(name);
    try {
      this.store.deleteTopic(name);
    } catch (err) {
      return storageFailure(err);
    }
    for (const l of this.listeners) l.onTopicDeleted?.(meta);
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic: meta };
  }

  /**
   * Replaces a topic's config overrides with `configs` (AlterConfigs: keys left out go back to the
   * broker default; IncrementalAlterConfigs passes the current overrides with its operations
   * applied). Kafka's controller order: the resource name, the values, then the topic's existence.
   * Persisted by the store (the file store's topic JSON) and applied to every partition's log
   * config before the answer.
   */
  alterConfigs(name: string, configs: Record<string, string>, validateOnly: boolean): MaybeAsync<TopicResult> {
    if (name === '') return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Default topic resources are not allowed.' };
    const nameErr = topicNameError(name);
    if (nameErr) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: nameErr };
    const problem = validateTopicConfigs(this.config, configs);
    if (problem) return problemResult(problem);
    const meta = this.store.getTopic(name);
    if (!meta) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `The topic '${name}' does not exist.` };
    if (!validateOnly && this.backend) return this.backend.setTopicConfigs(name, normalizeTopicConfigs(configs));
    if (!validateOnly) {
      try {
        this.store.setTopicConfigs(name, normalizeTopicConfigs(configs));
      } catch (err) {
        return storageFailure(err);
      }
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic: this.store.getTopic(name) };
  }

  /** CreatePartitions semantics: the count can only grow. */
  createPartitions(name: string, total: number, validateOnly: boolean, assignments?: number[][]): MaybeAsync<TopicResult> {
    const meta = this.store.getTopic(name);
    if (!meta) {
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' };
    }
    if (total < meta.numPartitions) {
      return {
        errorCode: ErrorCode.INVALID_PARTITIONS,
        errorMessage: `Topic currently has ${meta.numPartitions} partitions, which is higher than the requested ${total}.`,
      };
    }
    if (total === meta.numPartitions) {
      return { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: `Topic already has ${meta.numPartitions} partitions.` };
    }
    if (total > MAX_PARTITIONS) {
      return { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: `Number of partitions must be at most ${MAX_PARTITIONS}.` };
    }
    if (!validateOnly && this.backend) {
      return this.backend.createPartitions(name, total, assignments).then((r) => {
        const now = this.store.getTopic(name);
        if (r.errorCode === ErrorCode.NONE && now) for (const l of this.listeners) l.onPartitionsCreated?.(now, meta.numPartitions);
        return r;
      });
    }
    if (!validateOnly) {
      try {
        this.store.createPartitions(name, total);
      } catch (err) {
        return storageFailure(err);
      }
      const now = this.store.getTopic(name);
      if (now) for (const l of this.listeners) l.onPartitionsCreated?.(now, meta.numPartitions);
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic: this.store.getTopic(name) };
  }
}
