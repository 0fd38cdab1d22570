// DeleteAcls (key 31), v0-v3: deletes the ACL bindings each filter matches (durably) and
// answers them per filter. v0 filters are LITERAL (the spec's default). As Kafka: the caller
// needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every filter), no configured
// authorizer answers SECURITY_DISABLED, a filter with UNKNOWN elements INVALID_REQUEST.

import { ErrorCode } from '../../protocol/errors.js';
import {
  DeleteAclsApi,
  decodeDeleteAclsRequest,
  encodeDeleteAclsResponse,
  type DeleteAclsRequest,
  type DeleteAclsResponse,
} from '../../protocol/generated/31-delete-acls.js';
import { AclOperation } from '../security/acls.js';
import { clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<DeleteAclsRequest, DeleteAclsResponse>({
  api: DeleteAclsApi,
  minVersion: 0,
  maxVersion: 3,
  decode: decodeDeleteAclsRequest,
  encode: encodeDeleteAclsResponse,
  async handle(req, ctx) {
    const all = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })) });
    if (!clusterAllowed(ctx, AclOperation.ALTER)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
    if (!ctx.authorizer.enabled) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
    const results = await ctx.authorizer.deleteAcls(req.filters.map((f) => ({
      resourceType: f.resourceTypeFilter,
      resourceName: f.resourceNameFilter,
      patternType: f.patternTypeFilter,
      principal: f.principalFilter,
      host: f.hostFilter,
      operation: f.operation,
      permissionType: f.permissionType,
    })));
    return {
      throttleTimeMs: 0,
      filterResults: results.map((r) => ({
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
        matchingAcls: r.matching.map((b) => ({
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          resourceType: b.resourceType,
          resourceName: b.resourceName,
          patternType: b.patternType,
          principal: b.principal,
          host: b.host,
          operation: b.operation,
          permissionType: b.permissionType,
        })),
      })),
    };
  },
});
