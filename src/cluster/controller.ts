// The cluster controller (issue 10): one broker at a time, elected through the metadata store
// (a key on its lease; the key's create revision is the controller epoch and guards every write
// it makes, so a deposed controller's late writes fail). Kafka's ZK-era controller duties:
//   - partitions without a state (a topic created by a broker that died before writing them)
//     get one: the first live assigned replica leads, the live replicas are the ISR;
//   - a partition whose leader is not live (lease expired, clean shutdown) gets a new leader from
//     its ISR (electOffline; unclean.leader.election.enable, off by default, allows any live
//     replica), with the leader epoch bumped; with nobody eligible the partition goes offline
//     (leader -1) and keeps its ISR, so one of those replicas is elected when it comes back;
//   - replicas that are not live leave the ISR of partitions whose leader is live (no epoch bump);
//   - preferred-leader election every leader.imbalance.check.interval.seconds when
//     auto.leader.rebalance.enable;
//   - partition reassignments (KIP-455, src/cluster/reassignment.ts) are finished once their target
//     replicas are all in the ISR; replicas dropped from an assignment leave the ISR, and a leader
//     that is no longer assigned is replaced.
// Reconciliation reads the broker's metadata cache and writes by compare-and-swap: a conflict
// means someone (a leader changing its ISR) wrote first; the watch brings the new state and the
// partition is looked at again.

import type { Logger } from '../common/logger.js';
import { electOffline, electPreferred } from './elections.js';
import { completeReassignment, fullAssignment, targetReplicas, withAssignment } from './reassignment.js';
import type { MetadataCache, MetadataChanges } from './metadata-cache.js';
import type { ClusterMetadataStore, ControllerLeadership, MetadataSession, PartitionState } from './metadata/store.js';

export interface ControllerOptions {
  nodeId: number;
  store: ClusterMetadataStore;
  cache: MetadataCache;
  logger: Logger;
  uncleanLeaderElection: (topic: string) => boolean;
  autoLeaderRebalance: boolean;
  imbalanceCheckIntervalMs: number;
}

export class Controller {
  private leadership: ControllerLeadership | undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> = Promise.resolve();
  private dirty = new Set<string>();
  private dirtyAll = false;
  private rebalanceTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: ControllerOptions) {
    o.cache.onChange((c) => this.onMetadata(c));
  }

  get isActive(): boolean {
    return this.leadership !== undefined;
  }

  get epoch(): number {
    return this.leadership?.epoch ?? -1;
  }

  /** Campaigns with the session until elected; then runs until the session is lost or stop(). */
  campaign(session: MetadataSession): void {
    const loop = async (): Promise<void> => {
      while (!this.stopped && !session.isLost()) {
        try {
          const l = await this.o.store.campaign(session, this.o.nodeId, this.abort.signal);
          if (this.stopped) {
            await l.resign().catch(() => {});
            return;
          }
          this.leadership = l;
          this.o.logger.info({ nodeId: this.o.nodeId, epoch: l.epoch }, 'this broker is the controller');
          this.dirtyAll = true;
          this.kick();
          if (this.o.autoLeaderRebalance) {
            this.rebalanceTimer = setInterval(() => {
              this.preferredElection = true;
              this.dirtyAll = true;
              this.kick();
            }, this.o.imbalanceCheckIntervalMs);
            this.rebalanceTimer.unref();
          }
          await session.lost;
          return;
        } catch (err) {
          if (this.stopped || session.isLost()) return;
          this.o.logger.warn({ err: (err as Error).message }, 'controller campaign failed; retrying');
          await new Promise((r) => setTimeout(r, 500).unref());
        } finally {
          if (this.leadership !== undefined && (this.stopped || session.isLost())) this.resigned();
        }
      }
    };
    void loop();
  }

  private resigned(): void {
    if (this.leadership) this.o.logger.info({ nodeId: this.o.nodeId, epoch: this.leadership.epoch }, 'controller role ended');
    this.leadership = undefined;
    if (this.rebalanceTimer) clearInterval(this.rebalanceTimer);
    this.rebalanceTimer = undefined;
  }

  private preferredElection = false;

  private onMetadata(c: MetadataChanges): void {
    if (!this.leadership) return;
    if (c.brokers || c.reload || c.controller) this.dirtyAll = true;
    for (const t of c.topics) this.dirty.add(t);
    for (const k of c.partitions) this.dirty.add(k.split('\u0000')[0]!);
    this.kick();
  }

  /** Runs one reconciliation after the current one (they never overlap). */
  private kick(): void {
    this.running = this.running.then(() => this.reconcile()).catch((err: Error) => {
      this.o.logger.warn({ err: err.message }, 'controller reconciliation failed; retrying');
      this.dirtyAll = true;
      setTimeout(() => this.kick(), 500).unref();
    });
  }

  private async reconcile(): Promise<void> {
    const leadership = this.leadership;
    if (!leadership || this.stopped) return;
    const cache = this.o.cache;
    const topics = this.dirtyAll ? [...cache.topics.keys()] : [...this.dirty].filter((t) => cache.topics.has(t));
    const preferred = this.preferredElection;
    this.dirtyAll = false;
    this.dirty = new Set();
    this.preferredElection = false;
    const live = cache.liveBrokerIds();
    for (const name of topics) {
      const topic = cache.topics.get(name);
      if (!topic) continue;
      const written = new Set<number>();
      const unclean = this.o.uncleanLeaderElection(name);
      for (let p = 0; p < topic.value.assignments.length; p++) {
        const assignment = topic.value.assignments[p]!;
        const cur = cache.partitionState(name, p);
        const next = decide(assignment, cur?.value, live, unclean, preferred);
        if (next === undefined) continue;
        const r = cur
          ? await this.o.store.updatePartitionState(name, p, next, cur.modRevision, leadership)
          : await this.o.store.createPartitionState(name, p, next, leadership);
        if (!r.ok && r.reason === 'fenced') {
          this.o.logger.warn({ epoch: leadership.epoch }, 'controller fenced by a newer controller');
          this.resigned();
          return;
        }
        if (r.ok && cur && next.leader !== cur.value.leader) {
          this.o.logger.info({ topic: name, partition: p, from: cur.value.leader, to: next.leader, leaderEpoch: next.leaderEpoch, isr: next.isr }, 'partition leader elected');
        }
        written.add(p);
        // A conflict: the watch delivers the newer state and this partition is looked at again.
      }
      if (topic.value.reassigning !== undefined && !(await this.completeReassignments(leadership, name, written))) return;
    }
  }

  /**
   * Finishes the topic's reassignments whose target replicas are all in the ISR (Kafka's phase B):
   * the partition state first (a target leader, the removed replicas out of the ISR), then the
   * topic record (the replica set shrunk to the target, the reassignment entry gone), so a
   * controller that dies in between finds the reassignment still there and finishes it.
   * Partitions whose state was written in this pass wait for the watch to bring it. False when
   * this controller was fenced.
   */
  private async completeReassignments(leadership: ControllerLeadership, name: string, skip: ReadonlySet<number>): Promise<boolean> {
    const cache = this.o.cache;
    const topic = cache.topics.get(name);
    if (!topic?.value.reassigning) return true;
    const live = cache.liveBrokerIds();
    let record = topic.value;
    let done = 0;
    for (const key of Object.keys(topic.value.reassigning)) {
      const p = Number(key);
      if (skip.has(p)) continue;
      const a = fullAssignment(topic.value, p);
      const cur = cache.partitionState(name, p);
      if (!a || !cur) continue;
      const step = completeReassignment(a, cur.value, live);
      if (step === 'wait') continue;
      if (step.state) {
        const r = await this.o.store.updatePartitionState(name, p, step.state, cur.modRevision, leadership);
        if (!r.ok && r.reason === 'fenced') {
          this.resigned();
          return false;
        }
        if (!r.ok) continue;
        if (step.state.leader !== cur.value.leader) {
          this.o.logger.info({ topic: name, partition: p, from: cur.value.leader, to: step.state.leader, leaderEpoch: step.state.leaderEpoch }, 'partition leader elected for a reassignment');
        }
      }
      record = withAssignment(record, p, { replicas: targetReplicas(a), adding: [], removing: [] });
      this.o.logger.info({ topic: name, partition: p, replicas: targetReplicas(a), removed: a.removing }, 'partition reassignment completed');
      done++;
    }
    if (done === 0) return true;
    const r = await this.o.store.updateTopic(record, topic.modRevision, leadership);
    if (!r.ok && r.reason === 'fenced') {
      this.resigned();
      return false;
    }
    // A conflict (a new reassignment request meanwhile): the watch brings it and this runs again.
    return true;
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort(new Error('broker stopping'));
    const l = this.leadership;
    this.resigned();
    void l?.resign().catch(() => {});
  }
}

/**
 * The partition state the controller wants, or undefined to leave it. Exported for tests.
 */
export function decide(assignment: readonly number[], cur: PartitionState | undefined, live: ReadonlySet<number>, unclean: boolean, preferred: boolean): PartitionState | undefined {
  if (cur === undefined) {
    const liveReplicas = assignment.filter((b) => live.has(b));
    return { leader: liveReplicas[0] ?? -1, leaderEpoch: 0, isr: liveReplicas.length > 0 ? liveReplicas : [...assignment], partitionEpoch: 0 };
  }
  // Only assigned replicas count: a reassignment drops replicas from the assignment first.
  const isr = cur.isr.filter((b) => assignment.includes(b));
  if (cur.leader === -1 || !live.has(cur.leader) || !assignment.includes(cur.leader)) {
    // A leader that is no longer a replica (a reassignment cancelled or replaced while it led from
    // an added replica) is replaced as a dead one is.
    const e = electOffline(assignment, isr, live, unclean);
    if (e.leader === undefined) {
      // Offline: nobody eligible; the ISR is kept (never empty) so one of them leads when it is back.
      const keep = isr.length > 0 ? isr : cur.isr;
      if (cur.leader === -1 && keep.length === cur.isr.length) return undefined;
      return { leader: -1, leaderEpoch: cur.leaderEpoch + 1, isr: keep, partitionEpoch: cur.partitionEpoch + 1 };
    }
    return { leader: e.leader, leaderEpoch: cur.leaderEpoch + 1, isr: e.isr, partitionEpoch: cur.partitionEpoch + 1 };
  }
  if (preferred && assignment[0] !== cur.leader) {
    const e = electPreferred(assignment, cur.isr, live);
    if (e?.leader !== undefined) {
      return { leader: e.leader, leaderEpoch: cur.leaderEpoch + 1, isr: cur.isr.filter((b) => live.has(b)), partitionEpoch: cur.partitionEpoch + 1 };
    }
  }
  // Replicas that are not live, or no longer assigned (dropped by a reassignment), leave the ISR.
  const liveIsr = cur.isr.filter((b) => live.has(b) && assignment.includes(b));
  if (liveIsr.length !== cur.isr.length) {
    if (!liveIsr.includes(cur.leader)) liveIsr.unshift(cur.leader);
    return { ...cur, isr: liveIsr, partitionEpoch: cur.partitionEpoch + 1 };
  }
  return undefined;
}
