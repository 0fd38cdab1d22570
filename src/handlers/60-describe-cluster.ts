// DescribeCluster (key 60), v0-v1 (KIP-700; Java admin describeCluster uses it).
// Endpoint type 1 (brokers) only; asking a broker for controllers (2) is answered
// UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker does.

import { ErrorCode } from '../../protocol/errors.js';
import {
  DescribeClusterApi,
  decodeDescribeClusterRequest,
  encodeDescribeClusterResponse,
  type DescribeClusterRequest,
  type DescribeClusterResponse,
} from '../../protocol/generated/60-describe-cluster.js';
import { AclOperation, AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_NAME, ResourceType } from '../security/acls.js';
import { authorizedOperations, clusterAllowed } from './auth.js';
import { defineHandler } from './types.js';


export default defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
  api: DescribeClusterApi,
  minVersion: 0,
  maxVersion: 1,
  decode: decodeDescribeClusterRequest,
  encode: encodeDescribeClusterResponse,
  handle(req, ctx) {
    if (req.endpointType !== 1) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: 'The target broker only supports broker endpoints',
        endpointType: req.endpointType,
        clusterId: ctx.cluster.clusterId,
        controllerId: -1,
        brokers: [],
      };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: 1,
      clusterId: ctx.cluster.clusterId,
      controllerId: ctx.cluster.controllerId,
      brokers: ctx.cluster.brokers(ctx.connection.listener).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      // As Kafka: the cluster's authorized operations when asked for, 0 without DESCRIBE on it.
      clusterAuthorizedOperations: !req.includeClusterAuthorizedOperations
        ? AUTHORIZED_OPERATIONS_OMITTED
        : clusterAllowed(ctx, AclOperation.DESCRIBE, true)
          ? authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_NAME)
          : 0,
    };
  },
});
