// A broker as a member of a replicated cluster (issue 10): `brook start --node-id N --metadata
// etcd://...`. Kafka's ZooKeeper-era broker with etcd in ZooKeeper's seat:
//   - registers itself on a lease (a dead or cut-off broker's registration disappears when the
//     lease runs out; a clean shutdown revokes it at once);
//   - keeps a metadata cache fed by a watch (metadata-cache.ts) and campaigns to be the
//     controller (controller.ts);
//   - materialises the cluster's topics in its local log store (created, grown, configured and
//     deleted as the metadata says);
//   - applies each partition's state to the replica manager: leader (serves produce and fetch,
//     tracks followers, moves the high watermark, changes the ISR by compare-and-swap) or follower
//     (the replica fetcher copies the leader's log);
//   - answers topic admin requests by writing to the metadata store and waiting until its own
//     cache has seen the write.
// A lost session (etcd unreachable for the lease's TTL) is re-established in the background: the
// broker registers again and campaigns again.

import type { Logger } from '../common/logger.js';
import type { BrokerConfig } from '../config/config.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { LogStore, TopicMetadata } from '../log/types.js';
import type { BrokerEndpoint } from './cluster.js';
import { Controller, decide } from './controller.js';
import { assignReplicas, AssignmentError, electionErrorMessage, electionFor, type ElectionResult, type ReassignmentResult } from './elections.js';
import { MetadataCache, partitionKey, type MetadataChanges } from './metadata-cache.js';
import type { ClusterMetadataStore, MetadataSession, PartitionState, TopicRecord } from './metadata/store.js';
import type { ReplicaManager } from './replica-manager.js';
import { buildReassignment, fullAssignment, isReassigning, validateTarget, withAssignment, type FullAssignment } from './reassignment.js';

export interface FollowedPartition {
  topic: string;
  partition: number;
  topicId: string;
  leaderId: number;
  leaderEpoch: number;
}

export interface ClusterNodeOptions {
  nodeId: number;
  store: ClusterMetadataStore;
  localStore: LogStore;
  config: BrokerConfig;
  logger: Logger;
  /** This broker's advertised endpoint (known once the listener is bound). */
  endpoint: () => BrokerEndpoint;
  /** The current replica manager (the broker's core). */
  replicas: () => ReplicaManager;
  /** Lease TTL in seconds (broker.session.timeout.ms rounded up). */
  sessionTtlSeconds: number;
  /** Told the partitions this broker follows after every change (the replica fetcher). */
  onFollowed?: (partitions: FollowedPartition[]) => void;
  /** Told when a local topic is deleted because the cluster deleted it. */
  onTopicDeleted?: (meta: TopicMetadata) => void;
}

export interface TopicAdminResult {
  errorCode: number;
  errorMessage: string | null;
  topic?: TopicMetadata;
}

export { electionFor, electionErrorMessage, PREFERRED_ELECTION, UNCLEAN_ELECTION, type ElectionResult, type ReassignmentResult } from './elections.js';

export class ClusterNode {
  readonly cache: MetadataCache;
  readonly controller: Controller;
  private session: MetadataSession | undefined;

  /** Registered, with a session the metadata store still renews (readiness). */
  get registered(): boolean {
    return this.session !== undefined && !this.session.isLost() && !this.closed;
  }
  private closed = false;
  clusterId = '';

  private constructor(private readonly o: ClusterNodeOptions) {
    this.cache = new MetadataCache(o.store, o.logger);
    this.controller = new Controller({
      nodeId: o.nodeId,
      store: o.store,
      cache: this.cache,
      logger: o.logger,
      uncleanLeaderElection: (topic) => {
        const meta = o.localStore.getTopic(topic);
        return o.config.topicValue(meta?.configs ?? {}, 'unclean.leader.election.enable') === 'true';
      },
      autoLeaderRebalance: o.config.bool('auto.leader.rebalance.enable'),
      imbalanceCheckIntervalMs: o.config.int('leader.imbalance.check.interval.seconds') * 1000,
    });
    this.cache.onChange((c) => this.apply(c));
  }

  /** Joins the cluster: cluster id, metadata, registration, campaign. */
  static async start(o: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(o);
    node.clusterId = await o.store.clusterId(o.localStore.clusterId);
    if (node.clusterId !== o.localStore.clusterId) {
      o.logger.info({ clusterId: node.clusterId, local: o.localStore.clusterId }, 'joining the cluster id kept in the metadata store');
    }
    await node.cache.start();
    await node.join();
    // A cluster's first broker elects itself within milliseconds: wait for a controller (a few
    // seconds at most) so that clients do not meet controller -1 right after the start (kafkajs'
    // admin, for one, fails CreateTopics with "Broker -1 not found").
    await node.whenController(3000);
    return node;
  }

  private whenController(timeoutMs: number): Promise<void> {
    if (this.cache.controller !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.cache.onChange(() => {
        if (this.cache.controller !== undefined) {
          clearTimeout(t);
          resolve();
        }
      });
    });
  }

  /**
   * Registers on a new lease. A registration of this node id that is still there is waited out
   * for up to two lease lengths (a restart right after a crash: the previous process's lease has
   * not run out yet), then refused: two live brokers never share an id.
   */
  private async join(): Promise<void> {
    const session = await this.o.store.openSession(this.o.sessionTtlSeconds);
    const ep = this.o.endpoint();
    const deadline = Date.now() + 2 * session.ttlSeconds * 1000 + 1000;
    let warned = false;
    for (;;) {
      const r = await this.o.store.registerBroker(session, { nodeId: this.o.nodeId, host: ep.host, port: ep.port, rack: ep.rack, ...(ep.endpoints ? { endpoints: ep.endpoints } : {}) });
      if (r.ok) break;
      const holder = r.reason === 'conflict' ? r.current?.value : undefined;
      if (Date.now() > deadline || this.closed || session.isLost()) {
        await session.close().catch(() => {});
        throw new Error(`node id ${this.o.nodeId} is already registered by a live broker${holder ? ` at ${holder.host}:${holder.port}` : ''}`);
      }
      if (!warned) {
        warned = true;
        this.o.logger.warn({ nodeId: this.o.nodeId, holder }, 'node id still registered (an earlier process of this broker?): waiting for its lease to run out');
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    this.session = session;
    this.controller.campaign(session);
    this.o.logger.info({ nodeId: this.o.nodeId, leaseTtlSeconds: session.ttlSeconds }, 'registered in the cluster');
    void session.lost.then(() => this.rejoin(session));
  }

  /** The session ran out (etcd unreachable, or this process stalled): register again. */
  private async rejoin(lost: MetadataSession): Promise<void> {
    if (this.closed || this.session !== lost) return;
    this.o.logger.warn({ nodeId: this.o.nodeId }, 'metadata session lost; registering again');
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.join();
        return;
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message, attempt }, 'registering again failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))).unref());
      }
    }
  }

  // ---- what clients see ----

  brokers(): BrokerEndpoint[] {
    return [...this.cache.brokers.values()].sort((a, b) => a.nodeId - b.nodeId).map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack, ...(b.endpoints ? { endpoints: b.endpoints } : {}) }));
  }

  get controllerId(): number {
    return this.cache.controller?.nodeId ?? -1;
  }

  partition(topic: string, partition: number): { state: PartitionState | undefined; replicas: number[] } {
    const t = this.cache.topics.get(topic);
    return { state: this.cache.partitionState(topic, partition)?.value, replicas: t?.value.assignments[partition] ?? [] };
  }

  // ---- topic admin (CreateTopics, DeleteTopics, CreatePartitions, configs) ----

  /**
   * Writes a new topic (validated by the topic manager) with its assignment (computed over the
   * live brokers unless given) and its partitions' first states; resolves once this broker's
   * cache and log store have it.
   */
  async createTopic(meta: TopicMetadata, assignments?: number[][]): Promise<TopicAdminResult> {
    const live = [...this.cache.brokers.keys()].sort((a, b) => a - b);
    let placed: number[][];
    try {
      placed = assignments ?? assignReplicas(live, meta.numPartitions, meta.replicationFactor, { racks: this.racks() });
    } catch (err) {
      if (err instanceof AssignmentError) return { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, errorMessage: err.message };
      throw err;
    }
    const record: TopicRecord = { name: meta.name, topicId: meta.topicId, assignments: placed };
    const r = await this.o.store.createTopic(record, meta.configs);
    if (!r.ok) return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, errorMessage: `Topic '${meta.name}' already exists.` };
    let revision = r.modRevision;
    const liveSet = new Set(live);
    for (let p = 0; p < placed.length; p++) {
      const s = await this.o.store.createPartitionState(meta.name, p, decide(placed[p]!, undefined, liveSet, false, false)!);
      if (s.ok) revision = Math.max(revision, s.modRevision);
    }
    await this.cache.waitForRevision(revision);
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic: { ...meta, replicationFactor: placed[0]?.length ?? meta.replicationFactor } };
  }

  /** broker.rack of a live broker (null: none, or not live). */
  rackOf(nodeId: number): string | null {
    return this.cache.brokers.get(nodeId)?.rack ?? null;
  }

  /** broker.rack of the live brokers, for replica placement. */
  private racks(): Map<number, string | null> {
    return new Map([...this.cache.brokers.keys()].map((id) => [id, this.rackOf(id)]));
  }

  async deleteTopic(name: string): Promise<TopicAdminResult> {
    const cur = this.cache.topics.get(name);
    const local = this.o.localStore.getTopic(name);
    if (!cur) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' };
    const r = await this.o.store.deleteTopic(name, cur.modRevision);
    if (!r.ok) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The topic changed or went meanwhile.' };
    await this.cache.waitForRevision(r.modRevision);
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic: local };
  }

  async createPartitions(name: string, total: number, assignments?: number[][]): Promise<TopicAdminResult> {
    const cur = this.cache.topics.get(name);
    if (!cur) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' };
    const have = cur.value.assignments.length;
    const rf = cur.value.assignments[0]?.length ?? 1;
    const live = [...this.cache.brokers.keys()].sort((a, b) => a - b);
    let added: number[][];
    try {
      added = assignments ?? assignReplicas(live, total - have, rf, { startPartitionId: have, racks: this.racks() });
    } catch (err) {
      if (err instanceof AssignmentError) return { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, errorMessage: err.message };
      throw err;
    }
    const record: TopicRecord = { ...cur.value, assignments: [...cur.value.assignments, ...added] };
    const r = await this.o.store.updateTopic(record, cur.modRevision);
    if (!r.ok) return { errorCode: ErrorCode.REASSIGNMENT_IN_PROGRESS, errorMessage: 'The topic changed meanwhile; retry.' };
    let revision = r.modRevision;
    const liveSet = new Set(live);
    for (let p = have; p < total; p++) {
      const s = await this.o.store.createPartitionState(name, p, decide(record.assignments[p]!, undefined, liveSet, false, false)!);
      if (s.ok) revision = Math.max(revision, s.modRevision);
    }
    await this.cache.waitForRevision(revision);
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic: this.o.localStore.getTopic(name) };
  }

  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<TopicAdminResult> {
    if (!this.cache.topics.has(name)) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `The topic '${name}' does not exist.` };
    const r = await this.o.store.setConfigs('topic', name, configs);
    if (r.ok) await this.cache.waitForRevision(r.modRevision);
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic: this.o.localStore.getTopic(name) };
  }

  // ---- partition admin (ElectLeaders, AlterPartitionReassignments, ListPartitionReassignments) ----

  /**
   * ElectLeaders: a preferred (0) or unclean (1) election for each partition, run here by
   * compare-and-swap on the partition state rather than forwarded to the controller. The CAS on
   * the state's revision is what serializes writers in Brook (the controller and the ISR-changing
   * leaders already write that way), so an election computed from the latest state is the one the
   * controller would make; a conflict re-reads and decides again. Liveness comes from this
   * broker's cache, as the controller's comes from its own: were a chosen leader to die, the
   * controller replaces it as for any dead leader. Kafka's rules (KafkaController
   * processReplicaLeaderElection, PartitionLeaderElectionAlgorithms):
   *   - unknown partition: UNKNOWN_TOPIC_OR_PARTITION;
   *   - preferred: ELECTION_NOT_NEEDED when the first assigned replica leads already; otherwise it
   *     leads if live and in the ISR (epoch bump, ISR kept), else PREFERRED_LEADER_NOT_AVAILABLE;
   *   - unclean: ELECTION_NOT_NEEDED while the leader is live; otherwise the first live ISR replica
   *     in assignment order, failing that the first live replica alone in the ISR (whatever
   *     unclean.leader.election.enable says: the operator asked for it), else
   *     ELIGIBLE_LEADERS_NOT_AVAILABLE.
   * Elected partitions answer NONE once this broker's cache shows the new state, or
   * REQUEST_TIMED_OUT if that takes longer than `timeoutMs`.
   */
  async electLeaders(type: number, partitions: ReadonlyArray<readonly [string, number]>, timeoutMs: number): Promise<ElectionResult[]> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    const results: ElectionResult[] = [];
    const waiting: Array<{ result: ElectionResult; revision: number }> = [];
    for (const [topic, p] of partitions) {
      const result: ElectionResult = { topic, partition: p, errorCode: ErrorCode.NONE, errorMessage: null };
      results.push(result);
      for (let attempt = 0; ; attempt++) {
        const t = this.cache.topics.get(topic)?.value;
        const assignment = t?.assignments[p];
        const cur = this.cache.partitionState(topic, p);
        if (!assignment || !cur) {
          Object.assign(result, { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' });
          break;
        }
        const next = electionFor(type, assignment, cur.value, this.cache.liveBrokerIds());
        if (typeof next === 'number') {
          Object.assign(result, { errorCode: next, errorMessage: electionErrorMessage(next, topic, p, type) });
          break;
        }
        const r = await this.o.store.updatePartitionState(topic, p, next, cur.modRevision);
        if (r.ok) {
          this.o.logger.info({ topic, partition: p, from: cur.value.leader, to: next.leader, leaderEpoch: next.leaderEpoch, type: type === 1 ? 'unclean' : 'preferred' }, 'partition leader elected (ElectLeaders)');
          waiting.push({ result, revision: r.modRevision });
          break;
        }
        // Someone wrote first: decide again on what is there now.
        const seen = r.reason === 'conflict' ? (r.current?.modRevision ?? 0) : 0;
        if (attempt >= 5 || !(await this.cache.waitForRevision(seen, Math.max(0, deadline - Date.now())))) {
          Object.assign(result, { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: null });
          break;
        }
      }
    }
    if (waiting.length > 0) {
      const max = Math.max(...waiting.map((w) => w.revision));
      const seen = await this.cache.waitForRevision(max, Math.max(0, deadline - Date.now()));
      if (!seen) for (const w of waiting) Object.assign(w.result, { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: null });
    }
    return results;
  }

  /** Every partition of every topic (ElectLeaders with no topic list). */
  allPartitions(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const [name, t] of this.cache.topics) for (let p = 0; p < t.value.assignments.length; p++) out.push([name, p]);
    return out;
  }

  /**
   * AlterPartitionReassignments (KIP-455): validates each target (KafkaController.validateReplicas)
   * and writes the topic's new full assignment (target ∪ original, with adding and removing
   * replicas) by compare-and-swap on the topic record; the controller finishes each reassignment
   * once its target is in sync. A null target cancels (NO_REASSIGNMENT_IN_PROGRESS when nothing is
   * in progress). Answers once this broker's cache has the write, as Kafka answers once the
   * reassignment has started.
   */
  async alterPartitionReassignments(requests: ReadonlyArray<{ topic: string; partition: number; replicas: number[] | null }>): Promise<ReassignmentResult[]> {
    const results: ReassignmentResult[] = requests.map((q) => ({ topic: q.topic, partition: q.partition, errorCode: ErrorCode.NONE, errorMessage: null }));
    const byTopic = new Map<string, number[]>();
    requests.forEach((q, i) => byTopic.set(q.topic, [...(byTopic.get(q.topic) ?? []), i]));
    let revision = 0;
    for (const [name, idx] of byTopic) {
      for (let attempt = 0; ; attempt++) {
        const cur = this.cache.topics.get(name);
        const live = this.cache.liveBrokerIds();
        let record = cur?.value;
        const changed: number[] = [];
        for (const i of idx) {
          const q = requests[i]!;
          const res = results[i]!;
          res.errorCode = ErrorCode.NONE;
          res.errorMessage = null;
          const current = record ? fullAssignment(record, q.partition) : undefined;
          const problem = q.replicas === null ? undefined : validateTarget(q.replicas, current, live);
          if (problem) {
            Object.assign(res, problem);
            continue;
          }
          if (!record || !current) {
            Object.assign(res, q.replicas === null ? { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: null } : { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' });
            continue;
          }
          const next = buildReassignment(current, q.replicas);
          if (!next) {
            res.errorCode = ErrorCode.NO_REASSIGNMENT_IN_PROGRESS;
            continue;
          }
          // The current replica list again: nothing to write.
          if (JSON.stringify(next) === JSON.stringify(current)) continue;
          record = withAssignment(record, q.partition, next);
          changed.push(i);
        }
        if (!cur || changed.length === 0) break;
        const r = await this.o.store.updateTopic(record!, cur.modRevision);
        if (r.ok) {
          revision = Math.max(revision, r.modRevision);
          for (const i of changed) {
            const q = requests[i]!;
            this.o.logger.info({ topic: name, partition: q.partition, target: q.replicas, assignment: record!.assignments[q.partition], reassigning: record!.reassigning?.[String(q.partition)] ?? null }, q.replicas === null ? 'partition reassignment cancelled' : 'partition reassignment started');
          }
          break;
        }
        const seen = r.reason === 'conflict' ? (r.current?.modRevision ?? 0) : 0;
        if (attempt >= 10 || !(await this.cache.waitForRevision(seen, 5000))) {
          for (const i of changed) Object.assign(results[i]!, { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'The topic kept changing; retry.' });
          break;
        }
      }
    }
    if (revision > 0) await this.cache.waitForRevision(revision);
    return results;
  }

  /**
   * ListPartitionReassignments: the partitions being reassigned (all, or those asked for that are;
   * unknown or idle partitions are left out, as Kafka's controller does), with the full replica
   * set and the adding and removing replicas.
   */
  listPartitionReassignments(wanted: ReadonlyArray<readonly [string, number]> | null): Array<{ topic: string; partition: number } & FullAssignment> {
    const out: Array<{ topic: string; partition: number } & FullAssignment> = [];
    const consider = wanted ?? [...this.cache.topics.values()].flatMap((t) => Object.keys(t.value.reassigning ?? {}).map((p) => [t.value.name, Number(p)] as const));
    const seen = new Set<string>();
    for (const [topic, p] of consider) {
      const k = partitionKey(topic, p);
      if (seen.has(k)) continue;
      seen.add(k);
      const t = this.cache.topics.get(topic)?.value;
      const a = t ? fullAssignment(t, p) : undefined;
      if (a && isReassigning(a)) out.push({ topic, partition: p, ...a });
    }
    return out;
  }

  /** ISR change of a partition this broker leads at `leaderEpoch` (ReplicationHooks.proposeIsr). */
  async proposeIsr(topic: string, partition: number, leaderEpoch: number, isr: number[]): Promise<boolean> {
    const cur = this.cache.partitionState(topic, partition);
    if (!cur || cur.value.leader !== this.o.nodeId || cur.value.leaderEpoch !== leaderEpoch) return false;
    const next: PartitionState = { ...cur.value, isr, partitionEpoch: cur.value.partitionEpoch + 1 };
    const r = await this.o.store.updatePartitionState(topic, partition, next, cur.modRevision);
    if (r.ok) return true;
    const now = r.reason === 'conflict' ? r.current?.value : undefined;
    return now !== undefined && now.leader === this.o.nodeId && now.leaderEpoch === leaderEpoch && sameSet(now.isr, isr);
  }

  // ---- applying the metadata locally ----

  private apply(c: MetadataChanges): void {
    if (this.closed) return;
    const store = this.o.localStore;
    const topics = c.reload ? new Set([...this.cache.topics.keys(), ...store.listTopics().map((t) => t.name)]) : c.topics;
    for (const name of topics) this.materialize(name);
    const replicas = this.o.replicas();
    const touched = new Set<string>();
    for (const name of topics) touched.add(name);
    for (const k of c.partitions) touched.add(k.split('\u0000')[0]!);
    for (const name of touched) {
      const t = this.cache.topics.get(name);
      if (!t) continue;
      for (let p = 0; p < t.value.assignments.length; p++) {
        if (!c.reload && !c.topics.has(name) && !c.partitions.has(partitionKey(name, p))) continue;
        this.applyPartition(replicas, name, p, t.value.assignments[p]!, t.value.reassigning?.[String(p)]?.removing);
      }
    }
    this.o.onFollowed?.(this.followed());
  }

  private applyPartition(replicas: ReplicaManager, topic: string, p: number, assignment: number[], removing: number[] = []): void {
    const self = this.o.nodeId;
    const state = this.cache.partitionState(topic, p)?.value;
    if (!assignment.includes(self) || state === undefined) {
      replicas.stopReplica(topic, p);
      if (state !== undefined) this.dropStrayData(topic, p);
      return;
    }
    if (state.leader === self) replicas.becomeLeader(topic, p, { leaderId: self, leaderEpoch: state.leaderEpoch, replicas: assignment, isr: state.isr, removing });
    else replicas.becomeFollower(topic, p, state.leader, state.leaderEpoch);
  }

  /**
   * A partition this broker is not a replica of (reassigned away, perhaps while it was down) keeps
   * no data: its local log is emptied, as Kafka deletes a stray replica's log. Should it become a
   * replica again it copies the leader's log from the start, as any new replica does.
   */
  private dropStrayData(topic: string, p: number): void {
    const log = this.o.localStore.partition(topic, p);
    if (log === undefined || (log.logEndOffset === 0n && log.logStartOffset === 0n)) return;
    try {
      const had = log.logEndOffset - log.logStartOffset;
      log.truncateFullyAndStartAt(0n);
      this.o.logger.info({ topic, partition: p, records: String(had) }, 'not a replica of this partition any more: its local data deleted');
    } catch (err) {
      this.o.logger.error({ topic, partition: p, err: (err as Error).message }, 'could not delete the local data of a partition this broker no longer replicates');
    }
  }

  /** Re-applies every partition's state to a new replica manager (after a reset of the core). */
  reapply(): void {
    this.apply({ brokers: true, controller: true, topics: new Set(), partitions: new Set(), reload: true });
  }

  /** Partitions this broker follows, with their leader (for the replica fetcher). */
  followed(): FollowedPartition[] {
    const out: FollowedPartition[] = [];
    const self = this.o.nodeId;
    for (const [name, t] of this.cache.topics) {
      t.value.assignments.forEach((a, p) => {
        if (!a.includes(self)) return;
        const s = this.cache.partitionState(name, p)?.value;
        if (s && s.leader >= 0 && s.leader !== self) out.push({ topic: name, partition: p, topicId: t.value.topicId, leaderId: s.leader, leaderEpoch: s.leaderEpoch });
      });
    }
    return out;
  }

  /** Makes the local log store hold the topic as the cluster metadata has it. */
  private materialize(name: string): void {
    const store = this.o.localStore;
    const t = this.cache.topics.get(name)?.value;
    const local = store.getTopic(name);
    try {
      if (!t) {
        if (local) {
          const replicas = this.o.replicas();
          for (let p = 0; p < local.numPartitions; p++) replicas.stopReplica(name, p);
          store.deleteTopic(name);
          this.o.onTopicDeleted?.(local);
        }
        return;
      }
      const configs = this.cache.topicConfigs.get(name) ?? {};
      if (local && local.topicId !== t.topicId) {
        // A topic of the same name deleted and created again while this broker was away.
        store.deleteTopic(name);
        this.o.onTopicDeleted?.(local);
      }
      const now = store.getTopic(name);
      if (!now) {
        store.createTopic({ name, topicId: t.topicId, numPartitions: t.assignments.length, replicationFactor: t.assignments[0]?.length ?? 1, configs });
        return;
      }
      if (now.numPartitions < t.assignments.length) store.createPartitions(name, t.assignments.length);
      if (JSON.stringify(now.configs) !== JSON.stringify(configs)) store.setTopicConfigs(name, configs);
    } catch (err) {
      this.o.logger.error({ topic: name, err: (err as Error).message }, 'could not apply the topic metadata to the local log store');
    }
  }

  /** Leaves the cluster: stops campaigning, revokes the lease (the controller moves leadership at once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.controller.stop();
    this.cache.close();
    await this.session?.close().catch(() => {});
  }
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
