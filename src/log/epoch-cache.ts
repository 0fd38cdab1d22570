// The leader-epoch history both stores keep (Kafka's LeaderEpochFileCache, in our own code): a
// list of (epoch, start offset) entries, both strictly ascending. Epoch 0 from offset 0 is
// implicit (a log that never saw another epoch has no entries), so a single-node broker that never
// changes leader writes nothing. The file store persists the list as leader-epoch-checkpoint.
//
// - The leader assigns its new epoch at its log end when it takes over (bumpLeaderEpoch).
// - A follower assigns the partitionLeaderEpoch of every batch it appends at the batch's base
//   offset (Kafka's UnifiedLog.append → maybeAssignEpochStartOffset on the follower path).
// - Truncating the log to an end offset drops the entries starting at or after it
//   (truncateFromEnd); truncating it fully clears the list (clearAndFlush).
// - Views for OffsetForLeaderEpoch cut the list at the log start offset (truncateFromStart),
//   computed when asked rather than rewritten (epochView).

export interface EpochEntry {
  epoch: number;
  startOffset: bigint;
}

const IMPLICIT: EpochEntry = { epoch: 0, startOffset: 0n };

/** The latest entry, the implicit epoch 0 at offset 0 when the list is empty. */
export function latestEpochEntry(entries: readonly EpochEntry[]): EpochEntry {
  return entries[entries.length - 1] ?? IMPLICIT;
}

/**
 * Kafka's assign: nothing changes when `epoch` is the latest one and does not start earlier;
 * otherwise the entries the new one would break monotonicity with (an epoch >= it, or a start
 * offset >= its start) go, from the end, and it is added. Returns the new list, or undefined
 * when nothing changed. Negative epochs (a batch without one) change nothing.
 */
export function assignEpoch(entries: readonly EpochEntry[], epoch: number, startOffset: bigint): EpochEntry[] | undefined {
  if (epoch < 0 || startOffset < 0n) return undefined;
  const latest = latestEpochEntry(entries);
  if (epoch === latest.epoch && startOffset >= latest.startOffset) return undefined;
  const out = entries.slice();
  while (out.length > 0 && (out[out.length - 1]!.epoch >= epoch || out[out.length - 1]!.startOffset >= startOffset)) out.pop();
  out.push({ epoch, startOffset });
  return out;
}

/** Kafka's truncateFromEnd: the entries starting at or after `endOffset` go. undefined when none did. */
export function truncateEpochsFromEnd(entries: readonly EpochEntry[], endOffset: bigint): EpochEntry[] | undefined {
  let n = entries.length;
  while (n > 0 && entries[n - 1]!.startOffset >= endOffset) n--;
  return n === entries.length ? undefined : entries.slice(0, n);
}

/**
 * The history as OffsetForLeaderEpoch reads it: the implicit epoch 0 first, entries hidden by a
 * later one starting at the same offset or earlier dropped, cut at the log start offset (entries
 * starting at or below it go and the last of them comes back starting at it: Kafka's
 * truncateFromStart). `currentEpoch` above every entry (the file store's epoch kept from the data
 * when its checkpoint was lost) is added at the log end. Never empty.
 */
export function epochView(entries: readonly EpochEntry[], logStartOffset: bigint, logEndOffset: bigint, currentEpoch: number): EpochEntry[] {
  let out: EpochEntry[] = [];
  for (const e of [IMPLICIT, ...entries]) {
    while (out.length > 0 && (out[out.length - 1]!.epoch >= e.epoch || out[out.length - 1]!.startOffset >= e.startOffset)) out.pop();
    if (e.startOffset <= logStartOffset) out = [{ epoch: e.epoch, startOffset: logStartOffset }];
    else out.push({ epoch: e.epoch, startOffset: e.startOffset });
  }
  if (out[out.length - 1]!.epoch < currentEpoch) out.push({ epoch: currentEpoch, startOffset: logEndOffset });
  return out;
}

/** The epochs that follower batches assign, applied in order to `entries`; undefined when none changed it. */
export function assignBatchEpochs(entries: readonly EpochEntry[], batches: ReadonlyArray<{ partitionLeaderEpoch: number; baseOffset: bigint }>): EpochEntry[] | undefined {
  let cur: readonly EpochEntry[] = entries;
  let changed = false;
  for (const b of batches) {
    const next = assignEpoch(cur, b.partitionLeaderEpoch, b.baseOffset);
    if (next !== undefined) {
      cur = next;
      changed = true;
    }
  }
  return changed ? cur.slice() : undefined;
}
