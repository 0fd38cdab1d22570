// Leader epoch fencing shared by Fetch (v9+), ListOffsets (v4+) and OffsetForLeaderEpoch:
// a client's current_leader_epoch older than the leader's is FENCED_LEADER_EPOCH, newer is
// UNKNOWN_LEADER_EPOCH, -1 means "not known" and is not checked.

import { ErrorCode } from '../../protocol/errors.js';

export function leaderEpochError(requested: number, current: number): number {
  if (requested === -1) return ErrorCode.NONE;
  if (requested < current) return ErrorCode.FENCED_LEADER_EPOCH;
  if (requested > current) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return ErrorCode.NONE;
}
