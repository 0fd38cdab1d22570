// SyncGroup (key 14), v0-v5. The leader sends the assignments; followers wait for them. v5+
// echo (and check) the protocol type and name. Deferred like JoinGroup.

import { ErrorCode } from '../../protocol/errors.js';
import {
  SyncGroupApi,
  decodeSyncGroupRequest,
  encodeSyncGroupResponse,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from '../../protocol/generated/14-sync-group.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<SyncGroupRequest, SyncGroupResponse>({
  api: SyncGroupApi,
  minVersion: 0,
  maxVersion: 5,
  decode: decodeSyncGroupRequest,
  encode: encodeSyncGroupResponse,
  async handle(req, ctx) {
    // Authorization: READ on the group (GROUP_AUTHORIZATION_FAILED), as Kafka.
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    }
    // v5+ must name the protocol type and name (Kafka checks this before the coordinator).
    if (ctx.header.apiVersion >= 5 && (req.protocolType === null || req.protocolName === null)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INCONSISTENT_GROUP_PROTOCOL, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    }
    const r = await ctx.groups.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      protocolType: req.protocolType,
      protocolName: req.protocolName,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
    });
    // In a cluster the assignment is answered once the group's snapshot is on the offsets
    // partition's ISR (Kafka's storeGroup appends with acks=-1 before any member gets its
    // assignment): a coordinator failover cannot then forget a generation members already run.
    if (r.errorCode === ErrorCode.NONE && ctx.coordinatorWriteReplicated !== undefined) {
      const code = await ctx.coordinatorWriteReplicated('group', req.groupId);
      if (code !== ErrorCode.NONE) {
        const errorCode = code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
        return { throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
      }
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  },
});
