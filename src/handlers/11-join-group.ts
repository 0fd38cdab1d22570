// JoinGroup (key 11), v0-v9 (v0-v1 kept advertised: librdkafka < 2.11 needs JoinGroup v0 for
// GSSAPI, and Kafka 4.0.1 restored them). v4+ use the member-id-required two-step join
// (KIP-394); v5+ carry group.instance.id (KIP-345); v9 may answer skip_assignment (KIP-814).
// The response is deferred until the rebalance completes: the coordinator owns the waiting.

import {
  JoinGroupApi,
  decodeJoinGroupRequest,
  encodeJoinGroupResponse,
  type JoinGroupRequest,
  type JoinGroupResponse,
} from '../../protocol/generated/11-join-group.js';
import { clientHost } from './group-common.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<JoinGroupRequest, JoinGroupResponse>({
  api: JoinGroupApi,
  minVersion: 0,
  maxVersion: 9,
  decode: decodeJoinGroupRequest,
  encode: encodeJoinGroupResponse,
  async handle(req, ctx) {
    const version = ctx.header.apiVersion;
    // Authorization: READ on the group (GROUP_AUTHORIZATION_FAILED), as Kafka.
    if (!allowed(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) {
      return {
        throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, generationId: -1, protocolType: null,
        protocolName: version >= 7 ? null : '', leader: '', skipAssignment: false, memberId: req.memberId, members: [],
      };
    }
    const r = await ctx.groups.joinGroup({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: version >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      clientId: ctx.header.clientId ?? '',
      clientHost: clientHost(ctx),
      requireKnownMemberId: version >= 4,
      supportSkippingAssignment: version >= 9,
      reason: req.reason,
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      // Before v7 the protocol name is not nullable.
      protocolName: version >= 7 ? r.protocolName : (r.protocolName ?? ''),
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members,
    };
  },
});
