// IncrementalAlterConfigs (key 44), v0-v1 (KIP-339): per-config operations on the current dynamic
// values of a resource: SET (0), DELETE (1, back to the inherited value), APPEND (2) and
// SUBTRACT (3), the last two for LIST configs only (INVALID_CONFIG otherwise) and starting from the
// default when the config has no value; an unknown operation is INVALID_REQUEST. TOPIC (2) and
// BROKER (4) resources, BROKER "" being the cluster-wide default; the resulting complete set is
// checked and applied as AlterConfigs does (alter-configs-common.ts). BROKER_LOGGER (8: log4j
// levels) is not supported: Brook has no log4j loggers (INVALID_REQUEST).

import { ErrorCode } from '../../protocol/errors.js';
import {
  IncrementalAlterConfigsApi,
  decodeIncrementalAlterConfigsRequest,
  encodeIncrementalAlterConfigsResponse,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../protocol/generated/44-incremental-alter-configs.js';
import { RESOURCE_BROKER, RESOURCE_BROKER_LOGGER, RESOURCE_TOPIC } from './32-describe-configs.js';
import { alterBroker, alterTopic, applyOps, brokerLevel, preprocess, resourceKeyCounts, type ResourceOutcome } from './alter-configs-common.js';
import { AclOperation } from '../security/acls.js';
import { configResourceDenied } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  api: IncrementalAlterConfigsApi,
  minVersion: 0,
  maxVersion: 1,
  decode: decodeIncrementalAlterConfigsRequest,
  encode: encodeIncrementalAlterConfigsResponse,
  async handle(req, ctx) {
    const counts = resourceKeyCounts(req.resources);
    const responses = await Promise.all(req.resources.map(async (res) => {
      const outcome = await (async (): Promise<ResourceOutcome> => {
        // Authorization: ALTER_CONFIGS on the topic, or on the cluster for broker resources.
        const denied = configResourceDenied(ctx, AclOperation.ALTER_CONFIGS, res.resourceType, res.resourceName);
        if (denied !== null) return denied;
        const bad = preprocess(res, res.configs, counts);
        if (bad) return bad;
        if (res.resourceType === RESOURCE_BROKER) {
          const level = brokerLevel(res.resourceName, ctx);
          if (typeof level !== 'string') return level;
          const next = applyOps(ctx.config.dynamic(level), res.configs, RESOURCE_BROKER);
          if ('failure' in next) return next.failure;
          return alterBroker(ctx, level, next.configs, req.validateOnly);
        }
        if (res.resourceType === RESOURCE_TOPIC) {
          const next = applyOps(ctx.topics.get(res.resourceName)?.configs ?? {}, res.configs, RESOURCE_TOPIC);
          if ('failure' in next) return next.failure;
          return alterTopic(ctx, res.resourceName, next.configs, req.validateOnly);
        }
        if (res.resourceType === RESOURCE_BROKER_LOGGER) {
          return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'BROKER_LOGGER resources are not supported: Brook has no log4j loggers' };
        }
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown resource type ${res.resourceType}` };
      })();
      return { ...outcome, resourceType: res.resourceType, resourceName: res.resourceName };
    }));
    return { throttleTimeMs: 0, responses };
  },
});
