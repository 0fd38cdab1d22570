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
//     auto.leader.rebalance.enable, and on demand (ElectLeaders).
// Reconciliation reads the broker's metadata cache and writes by compare-and-swap: a conflict
// means someone (a leader changing its ISR) wrote first; the watch brings the new state and the
// partition is looked at again.

import type { Logger } from '../common/logger.js';
import { electOffline, electPreferred } from './elections.js';
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

  /** Preferred-leader election now (ElectLeaders); resolves when written. */
  async electPreferredLeaders(): Promise<void> {
    this.preferredElection = true;
    this.dirtyAll = true;
    this.kick();
    await this.running;
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
        // A conflict: the watch delivers the newer state and this partition is looked at again.
      }
    }
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
  if (cur.leader === -1 || !live.has(cur.leader)) {
    const e = electOffline(assignment, cur.isr, live, unclean);
    if (e.leader === undefined) {
      if (cur.leader === -1) return undefined;
      // Offline: nobody eligible; the ISR is kept so one of them leads when it is back.
      return { leader: -1, leaderEpoch: cur.leaderEpoch + 1, isr: cur.isr, partitionEpoch: cur.partitionEpoch + 1 };
    }
    return { leader: e.leader, leaderEpoch: cur.leaderEpoch + 1, isr: e.isr, partitionEpoch: cur.partitionEpoch + 1 };
  }
  if (preferred && assignment[0] !== cur.leader) {
    const e = electPreferred(assignment, cur.isr, live);
    if (e?.leader !== undefined) {
      return { leader: e.leader, leaderEpoch: cur.leaderEpoch + 1, isr: cur.isr.filter((b) => live.has(b)), partitionEpoch: cur.partitionEpoch + 1 };
    }
  }
  const liveIsr = cur.isr.filter((b) => live.has(b));
  if (liveIsr.length !== cur.isr.length) {
    if (!liveIsr.includes(cur.leader)) liveIsr.unshift(cur.leader);
    return { ...cur, isr: liveIsr, partitionEpoch: cur.partitionEpoch + 1 };
  }
  return undefined;
}
