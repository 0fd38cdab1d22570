// DeleteGroups (key 42), v0-v2: only groups without members (NON_EMPTY_GROUP otherwise);
// unknown ones get GROUP_ID_NOT_FOUND. Their committed offsets go with them.

import {
  DeleteGroupsApi,
  decodeDeleteGroupsRequest,
  encodeDeleteGroupsResponse,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
} from '../../protocol/generated/42-delete-groups.js';
import { defineHandler } from './types.js';

export default defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  api: DeleteGroupsApi,
  minVersion: 0,
  maxVersion: 2,
  decode: decodeDeleteGroupsRequest,
  encode: encodeDeleteGroupsResponse,
  async handle(req, ctx) {
    return { throttleTimeMs: 0, results: await ctx.groups.deleteGroups(req.groupsNames) };
  },
});
