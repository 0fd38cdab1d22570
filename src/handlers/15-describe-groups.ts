// DescribeGroups (key 15), v0-v5. Unknown groups are described as Dead with no members, as
// Kafka does. v3+ may ask for authorized operations (a bit field; all of them without an
// authorizer). Authorization: DESCRIBE on each group, else GROUP_AUTHORIZATION_FAILED for it.

import {
  DescribeGroupsApi,
  decodeDescribeGroupsRequest,
  encodeDescribeGroupsResponse,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
} from '../../protocol/generated/15-describe-groups.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, AUTHORIZED_OPERATIONS_OMITTED, ResourceType } from '../security/acls.js';
import { allowed, authorizedOperations } from './auth.js';
import { defineHandler } from './types.js';

/** READ, DELETE, DESCRIBE (AclOperation codes 3, 6, 8). */

export default defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  api: DescribeGroupsApi,
  minVersion: 0,
  maxVersion: 5,
  decode: decodeDescribeGroupsRequest,
  encode: encodeDescribeGroupsResponse,
  async handle(req, ctx) {
    const permitted = req.groups.filter((id) => allowed(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, id));
    const described = new Map((permitted.length > 0 ? await ctx.groups.describeGroups(permitted) : []).map((g) => [g.groupId, g]));
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((id) => {
        const g = described.get(id);
        if (g === undefined) {
          return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId: id, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
        }
        return { ...g, authorizedOperations: req.includeAuthorizedOperations ? authorizedOperations(ctx, ResourceType.GROUP, id) : AUTHORIZED_OPERATIONS_OMITTED };
      }),
    };
  },
});
