// AlterConfigs (key 33), v0-v2: the legacy, whole-set form. For each resource, the configs given
// become its complete set of dynamic values: names left out lose theirs (back to the broker
// default / static value), as Kafka's controller does (legacyAlterConfigs' implicit deletions).
// TOPIC (2) and BROKER (4) resources, BROKER "" being the cluster-wide default; Kafka's checks and
// messages are in alter-configs-common.ts. BROKER_LOGGER is not part of the legacy API (Kafka
// answers INVALID_REQUEST too); other resource types get INVALID_REQUEST.

import { ErrorCode } from '../../protocol/errors.js';
import {
  AlterConfigsApi,
  decodeAlterConfigsRequest,
  encodeAlterConfigsResponse,
  type AlterConfigsRequest,
  type AlterConfigsResponse,
} from '../../protocol/generated/33-alter-configs.js';
import { RESOURCE_BROKER, RESOURCE_TOPIC } from './32-describe-configs.js';
import { alterBroker, alterTopic, brokerLevel, preprocess, resourceKeyCounts, type ResourceOutcome } from './alter-configs-common.js';
import { AclOperation } from '../security/acls.js';
import { configResourceDenied } from './auth.js';
import { defineHandler } from './types.js';

export default defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  api: AlterConfigsApi,
  minVersion: 0,
  maxVersion: 2,
  decode: decodeAlterConfigsRequest,
  encode: encodeAlterConfigsResponse,
  async handle(req, ctx) {
    const counts = resourceKeyCounts(req.resources);
    const responses = await Promise.all(req.resources.map(async (res) => {
      const outcome = await (async (): Promise<ResourceOutcome> => {
        // Authorization: ALTER_CONFIGS on the topic, or on the cluster for broker resources.
        const denied = configResourceDenied(ctx, AclOperation.ALTER_CONFIGS, res.resourceType, res.resourceName);
        if (denied !== null) return denied;
        const bad = preprocess(res, res.configs, counts);
        if (bad) return bad;
        const configs = Object.fromEntries(res.configs.map((c) => [c.name, c.value!]));
        if (res.resourceType === RESOURCE_BROKER) {
          const level = brokerLevel(res.resourceName, ctx);
          if (typeof level !== 'string') return level;
          return alterBroker(ctx, level, configs, req.validateOnly);
        }
        if (res.resourceType === RESOURCE_TOPIC) return alterTopic(ctx, res.resourceName, configs, req.validateOnly);
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown resource type ${res.resourceType}` };
      })();
      return { ...outcome, resourceType: res.resourceType, resourceName: res.resourceName };
    }));
    return { throttleTimeMs: 0, responses };
  },
});
