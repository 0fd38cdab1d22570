// DescribeGroups (key 15), v0-v5. Unknown groups are described as Dead with no members, as
// Kafka does. v3+ may ask for authorized operations (all of them, without ACLs).

import {
  DescribeGroupsApi,
  decodeDescribeGroupsRequest,
  encodeDescribeGroupsResponse,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
} from '../../protocol/generated/15-describe-groups.js';
import { defineHandler } from './types.js';

/** READ, DELETE, DESCRIBE (AclOperation codes 3, 6, 8). */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

export default defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  api: DescribeGroupsApi,
  minVersion: 0,
  maxVersion: 5,
  decode: decodeDescribeGroupsRequest,
  encode: encodeDescribeGroupsResponse,
  async handle(req, ctx) {
    const groups = await ctx.groups.describeGroups(req.groups);
    return {
      throttleTimeMs: 0,
      groups: groups.map((g) => ({ ...g, authorizedOperations: req.includeAuthorizedOperations ? GROUP_OPERATIONS : -2147483648 })),
    };
  },
});
