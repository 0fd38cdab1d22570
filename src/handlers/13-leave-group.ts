// LeaveGroup (key 13), v0-v5: one member (v0-v2) or a batch with instance ids (v3+, KIP-345,
// used by admin removeMembersFromConsumerGroup). The group rebalances at once.

import { ErrorCode } from '../../protocol/errors.js';
import {
  LeaveGroupApi,
  decodeLeaveGroupRequest,
  encodeLeaveGroupResponse,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
} from '../../protocol/generated/13-leave-group.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  api: LeaveGroupApi,
  minVersion: 0,
  maxVersion: 5,
  decode: decodeLeaveGroupRequest,
  encode: encodeLeaveGroupResponse,
  async handle(req, ctx) {
    const batched = ctx.header.apiVersion >= 3;
    // Authorization: READ on the group (GROUP_AUTHORIZATION_FAILED), as Kafka.
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
    const members = batched
      ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason }))
      : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
    const r = await ctx.groups.leaveGroup({ groupId: req.groupId, members });
    if (batched) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
    // v0-v2 have one member and only a top-level error.
    const errorCode = r.errorCode !== ErrorCode.NONE ? r.errorCode : (r.members[0]?.errorCode ?? ErrorCode.NONE);
    return { throttleTimeMs: 0, errorCode, members: [] };
  },
});
