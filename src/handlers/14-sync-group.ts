// SyncGroup (key 14), v0-v5. The leader sends the assignments; followers wait for them. v5+
// echo (and check) the protocol type and name. Deferred like JoinGroup.

import {
  SyncGroupApi,
  decodeSyncGroupRequest,
  encodeSyncGroupResponse,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from '../../protocol/generated/14-sync-group.js';
import { defineHandler } from './types.js';

export default defineHandler<SyncGroupRequest, SyncGroupResponse>({
  api: SyncGroupApi,
  minVersion: 0,
  maxVersion: 5,
  decode: decodeSyncGroupRequest,
  encode: encodeSyncGroupResponse,
  async handle(req, ctx) {
    const r = await ctx.groups.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      protocolType: req.protocolType,
      protocolName: req.protocolName,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
    });
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  },
});
