// Reading a partition back batch by batch, for the coordinators that replay their internal
// topics at start (__consumer_offsets, __transaction_state).

import { BATCH_HEADER_SIZE, readBatchHeader, type BatchHeader } from '../../protocol/records/index.js';
import type { PartitionLog } from './types.js';

/** Bytes asked of the store per read while replaying. */
const REPLAY_READ_BYTES = 1024 * 1024;

/**
 * Calls `onBatch` for every stored batch from the log start to the log end, in order (each read
 * chunk is one whole batch). Stops, calling `onStall` with the offset, if a batch does not move
 * the position forward (a damaged log must not loop the replay). Returns the bytes read.
 */
export function forEachStoredBatch(
  log: PartitionLog,
  onBatch: (batch: Buffer, header: BatchHeader) => void,
  onStall?: (offset: bigint) => void,
): number {
  const end = log.logEndOffset;
  let next = log.logStartOffset;
  let bytes = 0;
  while (next < end) {
    const { chunks } = log.read(next, REPLAY_READ_BYTES, true);
    if (chunks.length === 0) break;
    for (const chunk of chunks) {
      const h = chunk.length >= BATCH_HEADER_SIZE ? readBatchHeader(chunk) : undefined;
      const after = h === undefined ? next : h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      if (h === undefined || after <= next) {
        onStall?.(next);
        return bytes;
      }
      next = after;
      bytes += chunk.length;
      onBatch(chunk, h);
    }
  }
  return bytes;
}
