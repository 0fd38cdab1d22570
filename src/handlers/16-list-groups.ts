// ListGroups (key 16), v0-v5: every group this coordinator knows, filtered by state (v4+) and
// type (v5+; all groups are "classic").

import { ErrorCode } from '../../protocol/errors.js';
import {
  ListGroupsApi,
  decodeListGroupsRequest,
  encodeListGroupsResponse,
  type ListGroupsRequest,
  type ListGroupsResponse,
} from '../../protocol/generated/16-list-groups.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed, clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<ListGroupsRequest, ListGroupsResponse>({
  api: ListGroupsApi,
  minVersion: 0,
  maxVersion: 5,
  decode: decodeListGroupsRequest,
  encode: encodeListGroupsResponse,
  async handle(req, ctx) {
    const all = await ctx.groups.listGroups(req.statesFilter, req.typesFilter);
    // Authorization (Kafka): everything with DESCRIBE on the cluster, else the groups the
    // principal may DESCRIBE.
    const groups = clusterAllowed(ctx, AclOperation.DESCRIBE, true) ? all : all.filter((g) => allowed(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId, true));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
  },
});
