// The leader's replication rules (src/cluster/replication.ts), one Kafka rule per test.
import { describe, expect, it } from 'vitest';
import { LeaderPartitionState, UNDEFINED_EPOCH_END, checkLastFetchedEpoch, followerTruncation, type EpochEnd } from '../../src/cluster/replication.js';

const LAG = 30_000;
const all = new Set([1, 2, 3]);
function leader(o: Partial<ConstructorParameters<typeof LeaderPartitionState>[0]> = {}) {
  return new LeaderPartitionState({ leaderId: 1, replicas: [1, 2, 3], isr: [1, 2, 3], minInsyncReplicas: 2, leaderEpochStartOffset: 0n, nowMs: 1000, ...o });
}

describe('leader-side replication (Kafka Partition/Replica rules)', () => {
  it('a new leader cannot move the high watermark until every ISR follower has fetched from it', () => {
    const s = leader();
    expect(s.highWatermark(5n, 10n, 0n, all, 1000, LAG)).toBe(5n);
    s.recordFetch(2, 10n, 10n, 1001);
    expect(s.highWatermark(5n, 10n, 0n, all, 1001, LAG)).toBe(5n); // 3 still unknown
    s.recordFetch(3, 8n, 10n, 1002);
    expect(s.highWatermark(5n, 10n, 0n, all, 1002, LAG)).toBe(8n); // min LEO over the ISR
    s.recordFetch(3, 10n, 10n, 1003);
    expect(s.highWatermark(8n, 10n, 0n, all, 1003, LAG)).toBe(10n);
  });

  it('the high watermark never goes back and waits for a caught-up follower outside the ISR', () => {
    const s = leader({ isr: [1, 2] });
    s.recordFetch(2, 10n, 10n, 1000);
    s.recordFetch(3, 6n, 6n, 1000); // caught up at its fetch: counts although not in the ISR
    expect(s.highWatermark(4n, 10n, 0n, all, 1000, LAG)).toBe(6n);
    expect(s.highWatermark(7n, 10n, 0n, all, 1000, LAG)).toBe(7n); // never lower than the current one
    expect(s.highWatermark(6n, 10n, 0n, new Set([1, 2]), 1000, LAG)).toBe(10n); // a dead non-ISR follower does not hold it
  });

  it('below min.insync.replicas the high watermark stays (Kafka 3.7+), and acks=-1 appends are refused', () => {
    const s = leader({ isr: [1] });
    expect(s.highWatermark(3n, 10n, 0n, all, 1000, LAG)).toBe(3n);
    expect(s.checkAppend(-1)).toBe('NOT_ENOUGH_REPLICAS');
    expect(s.checkAppend(1)).toBe('ok');
    expect(leader({ replicas: [1], isr: [1], minInsyncReplicas: 2 }).checkAppend(-1)).toBe('ok'); // min(min ISR, replicas)
  });

  it('caught up: at the leader LEO, or at least at the leader LEO of its previous fetch, within the lag time', () => {
    const s = leader();
    s.recordFetch(2, 10n, 10n, 1000); // reached the LEO at t=1000
    s.recordFetch(2, 10n, 20n, 5000); // the LEO moved on, but it had what the leader had at its previous fetch
    expect(s.followers.get(2)!.lastCaughtUpTimeMs).toBe(1000);
    s.recordFetch(2, 20n, 30n, 9000); // at least the previous fetch's LEO (20): caught up as of 5000
    expect(s.followers.get(2)!.lastCaughtUpTimeMs).toBe(5000);
    expect(s.isCaughtUp(2, 30n, 5000 + LAG, LAG)).toBe(true);
    expect(s.isCaughtUp(2, 30n, 5001 + LAG, LAG)).toBe(false);
    expect(s.isCaughtUp(2, 20n, 10 ** 9, LAG)).toBe(true); // at the LEO is always caught up
  });

  it('shrink: ISR followers not caught up within replica.lag.time.max.ms (stuck or slow), never the leader', () => {
    const s = leader();
    s.recordFetch(2, 10n, 10n, 1000);
    s.recordFetch(3, 5n, 10n, 1000); // slow: caught up only at the reset (t=1000)
    expect(s.outOfSync(10n, 1000 + LAG, LAG)).toEqual([]);
    expect(s.outOfSync(12n, 1001 + LAG, LAG)).toEqual([2, 3]);
    s.setIsr([2]);
    expect(s.isr).toEqual([1, 2]); // the leader stays
  });

  it('expand: a live follower at or past the HW and inside the current leader epoch joins', () => {
    const s = leader({ isr: [1, 2], leaderEpochStartOffset: 50n });
    s.recordFetch(3, 40n, 60n, 1000);
    expect(s.canJoinIsr(3, 40n, all)).toBe(false); // before the epoch start
    s.recordFetch(3, 55n, 60n, 1001);
    expect(s.canJoinIsr(3, 56n, all)).toBe(false); // below the HW
    expect(s.canJoinIsr(3, 55n, all)).toBe(true);
    expect(s.canJoinIsr(3, 55n, new Set([1, 2]))).toBe(false); // not live
    expect(s.canJoinIsr(2, 0n, all)).toBe(false); // already in
    // A replica a reassignment is removing never joins again (the controller took it out at
    // completion; the new leader may see that ISR before the smaller replica set).
    s.setRemoving([3]);
    expect(s.canJoinIsr(3, 55n, all)).toBe(false);
    s.setRemoving([]);
    expect(s.canJoinIsr(3, 55n, all)).toBe(true);
  });

  it('a parked acks=-1 produce: done when the HW passes it; NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR fell below min meanwhile', () => {
    const s = leader();
    expect(s.produceWait(9n, 9n)).toBe('waiting');
    expect(s.produceWait(9n, 10n)).toBe('done');
    s.setIsr([1]);
    expect(s.produceWait(9n, 9n)).toBe('waiting'); // a shrink alone does not end it
    expect(s.produceWait(9n, 10n)).toBe('NOT_ENOUGH_REPLICAS_AFTER_APPEND');
  });

  it('a re-elected leader keeps what it knew of follower positions; a new one starts from unknown', () => {
    const first = leader();
    first.recordFetch(2, 7n, 7n, 1000);
    const again = leader({ wasLeader: true, previous: first.followers, nowMs: 2000 });
    expect(again.followers.get(2)!.leo).toBe(7n);
    expect(leader({ previous: first.followers }).followers.get(2)!.leo).toBe(-1n);
    expect(leader({ isr: [1, 2] }).followers.get(3)!.lastCaughtUpTimeMs).toBe(0);
    expect(leader().recordFetch(9, 1n, 1n, 1)).toBe(false); // not a replica of the partition
  });
});

describe('follower truncation (KIP-101 / KIP-279) and the leader\'s diverging-epoch check', () => {
  // A leader-epoch cache as entries (epoch, start offset) and the log end: Kafka's endOffsetFor.
  const cache = (entries: Array<[number, bigint]>, leo: bigint) => (epoch: number): EpochEnd => {
    if (epoch < 0 || entries.length === 0) return UNDEFINED_EPOCH_END;
    const latest = entries[entries.length - 1]!;
    if (epoch === latest[0]) return { epoch, endOffset: leo };
    const higher = entries.findIndex(([e]) => e > epoch);
    if (higher < 0) return UNDEFINED_EPOCH_END;
    if (higher === 0) return { epoch, endOffset: entries[0]![1] };
    return { epoch: entries[higher - 1]![0], endOffset: entries[higher]![1] };
  };

  it('same epoch known on both sides: cut to the smaller end of it', () => {
    // Leader: epoch 1 from 0, epoch 2 from 10 (epoch 1 ended at 10). Follower wrote epoch 1 up to 12.
    const own = cache([[1, 0n]], 12n);
    expect(followerTruncation({ epoch: 1, endOffset: 10n }, own, 12n, 5n)).toEqual({ truncateTo: 10n, done: true });
    expect(followerTruncation({ epoch: 1, endOffset: 15n }, own, 12n, 5n)).toEqual({ truncateTo: 12n, done: true });
  });

  it('the follower does not know the leader\'s epoch: cut to its own end of the epoch before, then ask again (KIP-279)', () => {
    // Follower: epochs 1 (from 0) and 3 (from 8), LEO 14; the leader answers epoch 2 ending at 9.
    const own = cache([[1, 0n], [3, 8n]], 14n);
    expect(followerTruncation({ epoch: 2, endOffset: 9n }, own, 14n, 5n)).toEqual({ truncateTo: 8n, done: false });
  });

  it('undefined answers: to the high watermark; an old-protocol answer without epoch: to its offset', () => {
    const own = cache([[1, 0n]], 12n);
    expect(followerTruncation(UNDEFINED_EPOCH_END, own, 12n, 7n)).toEqual({ truncateTo: 7n, done: true });
    expect(followerTruncation({ epoch: -1, endOffset: 9n }, own, 12n, 7n)).toEqual({ truncateTo: 9n, done: true });
    expect(followerTruncation({ epoch: 0, endOffset: 4n }, cache([[1, 0n]], 12n), 12n, 7n)).toEqual({ truncateTo: 0n, done: true }); // own answer: epoch 0 ends at 0
  });

  it('leader side (Fetch v12+): read, diverging epoch, or out of range', () => {
    const leaderCache = cache([[1, 0n], [2, 10n]], 20n);
    expect(checkLastFetchedEpoch(2, 15n, leaderCache, 0n)).toBe('read');
    expect(checkLastFetchedEpoch(1, 12n, leaderCache, 0n)).toEqual({ diverging: { epoch: 1, endOffset: 10n } });
    expect(checkLastFetchedEpoch(1, 10n, leaderCache, 0n)).toBe('read');
    expect(checkLastFetchedEpoch(3, 12n, leaderCache, 0n)).toBe('OFFSET_OUT_OF_RANGE'); // an epoch the leader never had
    expect(checkLastFetchedEpoch(2, 3n, leaderCache, 5n)).toBe('OFFSET_OUT_OF_RANGE');
    expect(checkLastFetchedEpoch(-1, 3n, leaderCache, 0n)).toBe('read');
  });
});
