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
import { defineHandler } from './types.js';

const CLUSTER_OPERATIONS = [4, 5, 7, 8, 9, 10, 11, 12].reduce((m, op) => m | (1 << op), 0);

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
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : -2147483648,
    };
  },
});
