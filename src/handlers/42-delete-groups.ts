// DeleteGroups (key 42), v0-v2: only groups without members (NON_EMPTY_GROUP otherwise);
// unknown ones get GROUP_ID_NOT_FOUND. Their committed offsets go with them.

import {
  DeleteGroupsApi,
  decodeDeleteGroupsRequest,
  encodeDeleteGroupsResponse,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
} from '../../protocol/generated/42-delete-groups.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  api: DeleteGroupsApi,
  minVersion: 0,
  maxVersion: 2,
  decode: decodeDeleteGroupsRequest,
  encode: encodeDeleteGroupsResponse,
  async handle(req, ctx) {
    // Authorization: DELETE on each group (GROUP_AUTHORIZATION_FAILED), as Kafka.
    const permitted = req.groupsNames.filter((g) => allowed(ctx, AclOperation.DELETE, ResourceType.GROUP, g));
    const deleted = permitted.length > 0 ? await ctx.groups.deleteGroups(permitted) : [];
    const deniedOut = req.groupsNames.filter((g) => !permitted.includes(g)).map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }));
    return { throttleTimeMs: 0, results: [...deleted, ...deniedOut] };
  },
});
