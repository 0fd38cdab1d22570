// CreateAcls (key 30), v0-v3: stores ACL bindings (durably, in the security store) and answers
// one result per creation. v0 creations are LITERAL (the spec's default). As Kafka: the caller
// needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every creation), no configured
// authorizer answers SECURITY_DISABLED, a bad binding INVALID_REQUEST (AclControlManager's checks).

import { ErrorCode } from '../../protocol/errors.js';
import {
  CreateAclsApi,
  decodeCreateAclsRequest,
  encodeCreateAclsResponse,
  type CreateAclsRequest,
  type CreateAclsResponse,
} from '../../protocol/generated/30-create-acls.js';
import { AclOperation } from '../security/acls.js';
import { clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<CreateAclsRequest, CreateAclsResponse>({
  api: CreateAclsApi,
  minVersion: 0,
  maxVersion: 3,
  decode: decodeCreateAclsRequest,
  encode: encodeCreateAclsResponse,
  async handle(req, ctx) {
    const all = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode, errorMessage })) });
    if (!clusterAllowed(ctx, AclOperation.ALTER)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
    if (!ctx.authorizer.enabled) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
    const results = await ctx.authorizer.createAcls(req.creations.map((c) => ({
      resourceType: c.resourceType,
      resourceName: c.resourceName,
      patternType: c.resourcePatternType,
      principal: c.principal,
      host: c.host,
      operation: c.operation,
      permissionType: c.permissionType,
    })));
    return { throttleTimeMs: 0, results };
  },
});
