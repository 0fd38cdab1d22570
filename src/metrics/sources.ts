// What the scrape-time metrics read from a broker (src/metrics/metrics.ts MetricsSources): the
// partitions' logs and roles, and the groups with their consumer lag.

import type { ReplicaManager } from '../cluster/replica-manager.js';
import type { GroupCoordinatorApi } from '../group/types.js';
import type { LogStore } from '../log/types.js';
import type { MetricsSources } from './metrics.js';

type PartitionStat = ReturnType<MetricsSources['partitions']>[number];

export function partitionStats(store: LogStore, replicas: ReplicaManager, clustered: boolean): PartitionStat[] {
  const out: PartitionStat[] = [];
  for (const t of store.listTopics()) {
    for (let p = 0; p < t.numPartitions; p++) {
      const log = store.partition(t.name, p);
      if (log === undefined) continue;
      const role = replicas.roleOf(t.name, p);
      const stat: PartitionStat = { topic: t.name, partition: p, sizeBytes: log.sizeInBytes(), logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset };
      if (role === undefined && !clustered) {
        // A single node: every partition is led here, nothing to replicate.
        stat.leader = { highWatermark: replicas.highWatermark(log), underReplicated: false, isr: 1 };
      } else if (role?.kind === 'leader') {
        const isr = role.isr?.length ?? 1;
        stat.leader = { highWatermark: role.hw, underReplicated: isr < (role.replicas?.length ?? 1), isr };
      }
      out.push(stat);
    }
  }
  return out;
}

export async function groupStats(groups: GroupCoordinatorApi, replicas: ReplicaManager): Promise<Awaited<ReturnType<MetricsSources['groups']>>> {
  const listed = await groups.listGroups([], []);
  if (listed.length === 0) return [];
  const described = await groups.describeGroups(listed.map((g) => g.groupId));
  const out: Awaited<ReturnType<MetricsSources['groups']>> = [];
  for (const d of described) {
    if (d.errorCode !== 0) continue;
    const offsets = await groups.fetchOffsets({ groupId: d.groupId, topics: null, requireStable: false });
    const lag: Array<{ topic: string; partition: number; lag: bigint }> = [];
    for (const t of offsets.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0 || p.committedOffset < 0n) continue;
        const log = replicas.partition(t.name, p.partitionIndex);
        if (log === undefined) continue;
        const hw = replicas.highWatermark(log);
        lag.push({ topic: t.name, partition: p.partitionIndex, lag: hw > p.committedOffset ? hw - p.committedOffset : 0n });
      }
    }
    out.push({ group: d.groupId, state: d.groupState, members: d.members.length, lag });
  }
  return out;
}
