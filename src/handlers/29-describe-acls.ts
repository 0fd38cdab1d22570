// DescribeAcls (key 29), v0-v3: the ACL bindings a filter matches, grouped by resource pattern.
// v0 filters are LITERAL (the spec's default). As Kafka (KafkaApis/AclApis): the caller needs
// DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED), no configured authorizer answers
// SECURITY_DISABLED, and a filter with UNKNOWN elements INVALID_REQUEST.

import { ErrorCode } from '../../protocol/errors.js';
import {
  DescribeAclsApi,
  decodeDescribeAclsRequest,
  encodeDescribeAclsResponse,
  type DescribeAclsRequest,
  type DescribeAclsResponse,
  type DescribeAclsResponseDescribeAclsResource,
} from '../../protocol/generated/29-describe-acls.js';
import { AclOperation, validateFilter } from '../security/acls.js';
import { clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<DescribeAclsRequest, DescribeAclsResponse>({
  api: DescribeAclsApi,
  minVersion: 0,
  maxVersion: 3,
  decode: decodeDescribeAclsRequest,
  encode: encodeDescribeAclsResponse,
  handle(req, ctx) {
    const fail = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] });
    if (!clusterAllowed(ctx, AclOperation.DESCRIBE)) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
    if (!ctx.authorizer.enabled) return fail(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
    const filter = {
      resourceType: req.resourceTypeFilter,
      resourceName: req.resourceNameFilter,
      patternType: req.patternTypeFilter,
      principal: req.principalFilter,
      host: req.hostFilter,
      operation: req.operation,
      permissionType: req.permissionType,
    };
    const invalid = validateFilter(filter);
    if (invalid !== null) return fail(ErrorCode.INVALID_REQUEST, invalid);
    const byResource = new Map<string, DescribeAclsResponseDescribeAclsResource>();
    for (const b of ctx.authorizer.acls(filter)) {
      const key = JSON.stringify([b.resourceType, b.patternType, b.resourceName]);
      let r = byResource.get(key);
      if (r === undefined) byResource.set(key, (r = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] }));
      r.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permissionType });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...byResource.values()] };
  },
});
