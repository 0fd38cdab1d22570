// DescribeConfigs (key 32), v0-v4, for TOPIC (2) and BROKER (4) resources, answered in the order
// asked. Follows Kafka's ConfigHelper:
// - configuration_keys null or empty = every config; otherwise the names asked, in the order asked,
//   unknown names left out.
// - TOPIC: an override is DYNAMIC_TOPIC_CONFIG; otherwise the value comes from the broker config it
//   inherits from. Synonyms (v1+, on request) are the topic override, then the values of the
//   primary broker synonym and the names after it, level by level (dynamic per-broker, dynamic
//   cluster default, static, default), dropping everything before the first entry named like the
//   primary (so retention.ms lists no log.retention.hours unless log.retention.ms has a value).
//   The source is the first synonym's, DEFAULT_CONFIG when there is none.
// - BROKER "<node.id>": every broker config with its effective value; read_only unless Kafka can
//   change it dynamically. BROKER "" (the cluster-wide default resource): only the configs with a
//   dynamic cluster default, with their DYNAMIC_DEFAULT_BROKER_CONFIG synonyms.
//   Configs Brook does not know (custom names) are described as Kafka does: sensitive, no value,
//   type UNKNOWN, read-only.
// v0 has is_default instead of a source; v3+ adds the config type and, on request, documentation.
// BROKER_LOGGER (8) and other resource types get INVALID_REQUEST.

import { ErrorCode } from '../../protocol/errors.js';
import {
  DescribeConfigsApi,
  decodeDescribeConfigsRequest,
  encodeDescribeConfigsResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
} from '../../protocol/generated/32-describe-configs.js';
import {
  BROKER_DEF,
  CONFIG_TYPE_CODE,
  TOPIC_CONFIG_DEFS,
  TOPIC_DEF,
  describeTopicValue,
  type BrokerConfig,
  type ConfigEntry,
  type ConfigSourceName,
} from '../config/config.js';
import { topicNameError } from '../cluster/topics.js';
import { AclOperation } from '../security/acls.js';
import { configResourceDenied } from './auth.js';
import { defineHandler } from './types.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;
export const RESOURCE_BROKER_LOGGER = 8;

/** Kafka's DescribeConfigsResponse.ConfigSource codes. */
export const CONFIG_SOURCE: Record<ConfigSourceName, number> = {
  DYNAMIC_TOPIC: 1,
  DYNAMIC_BROKER: 2,
  DYNAMIC_DEFAULT_BROKER: 3,
  STATIC_BROKER: 4,
  DEFAULT: 5,
};

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: Array<{ name: string; value: string | null; source: number }>;
  configType: number;
  documentation: string | null;
}

const synonymOut = (e: ConfigEntry) => ({ name: e.name, value: e.value, source: CONFIG_SOURCE[e.source] });

/** The names to describe: all of `all` when keys is null or empty, else the known ones asked, in order. */
function selected(all: readonly string[], keys: string[] | null): string[] {
  if (keys === null || keys.length === 0) return [...all];
  const known = new Set(all);
  return [...new Set(keys)].filter((k) => known.has(k));
}

export function describeTopicConfigs(
  config: BrokerConfig,
  overrides: Record<string, string>,
  keys: string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): DescribedConfig[] {
  return selected(TOPIC_CONFIG_DEFS.map((d) => d.name), keys).map((name) => {
    const d = TOPIC_DEF.get(name)!;
    const inherited = config.topicDefault(name);
    const override = overrides[name];
    const value = override !== undefined ? describeTopicValue(name, override) : inherited.value;
    const chain: ConfigEntry[] = [
      ...(override !== undefined ? [{ name, value, source: 'DYNAMIC_TOPIC' as const }] : []),
      ...inherited.synonyms,
    ];
    const configSource = chain.length > 0 ? CONFIG_SOURCE[chain[0]!.source] : CONFIG_SOURCE.DEFAULT;
    return {
      name,
      value,
      readOnly: false,
      isDefault: configSource === CONFIG_SOURCE.DEFAULT,
      configSource,
      isSensitive: false,
      synonyms: includeSynonyms ? chain.map(synonymOut) : [],
      configType: CONFIG_TYPE_CODE[d.type],
      documentation: includeDocumentation ? d.doc : null,
    };
  });
}

function describeBrokerConfigs(
  config: BrokerConfig,
  clusterDefault: boolean,
  keys: string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): DescribedConfig[] {
  const names = clusterDefault ? Object.keys(config.dynamic('cluster-default')) : config.names();
  return selected(names, keys).map((name) => {
    const d = BROKER_DEF.get(name);
    let chain = config.configSynonyms(name);
    if (clusterDefault) chain = chain.filter((e) => e.source === 'DYNAMIC_DEFAULT_BROKER');
    const configSource = chain.length > 0 ? CONFIG_SOURCE[chain[0]!.source] : CONFIG_SOURCE.DEFAULT;
    // A custom config has no known type: Kafka treats it as sensitive.
    const sensitive = d === undefined || d.type === 'PASSWORD';
    const value = clusterDefault ? config.dynamic('cluster-default')[name]! : config.get(name);
    return {
      name,
      value: sensitive ? null : value,
      readOnly: !d?.dynamic,
      isDefault: configSource === CONFIG_SOURCE.DEFAULT,
      configSource,
      isSensitive: sensitive,
      synonyms: includeSynonyms ? chain.map((e) => ({ ...synonymOut(e), value: sensitive ? null : e.value })) : [],
      configType: d ? CONFIG_TYPE_CODE[d.type] : 0,
      documentation: includeDocumentation ? (d?.doc ?? null) : null,
    };
  });
}

export default defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  api: DescribeConfigsApi,
  minVersion: 0,
  maxVersion: 4,
  decode: decodeDescribeConfigsRequest,
  encode: encodeDescribeConfigsResponse,
  handle(req, ctx) {
    const results = req.resources.map((res) => {
      const base = { resourceType: res.resourceType, resourceName: res.resourceName };
      const fail = (errorCode: number, errorMessage: string | null) => ({ ...base, errorCode, errorMessage, configs: [] });
      const ok = (configs: DescribedConfig[]) => ({ ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs });
      // Authorization: DESCRIBE_CONFIGS on the topic, or on the cluster for broker resources.
      const denied = configResourceDenied(ctx, AclOperation.DESCRIBE_CONFIGS, res.resourceType, res.resourceName);
      if (denied !== null) return fail(denied.errorCode, denied.errorMessage);
      if (res.resourceType === RESOURCE_TOPIC) {
        const nameErr = topicNameError(res.resourceName);
        if (nameErr) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameErr);
        const meta = ctx.topics.get(res.resourceName);
        // Kafka answers the unknown topic without a message.
        if (!meta) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
        return ok(describeTopicConfigs(ctx.config, meta.configs, res.configurationKeys, req.includeSynonyms, req.includeDocumentation));
      }
      if (res.resourceType === RESOURCE_BROKER) {
        if (res.resourceName === '') {
          return ok(describeBrokerConfigs(ctx.config, true, res.configurationKeys, req.includeSynonyms, req.includeDocumentation));
        }
        if (!/^[+-]?\d+$/.test(res.resourceName)) {
          return fail(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${res.resourceName}`);
        }
        if (Number(res.resourceName) !== ctx.cluster.nodeId) {
          return fail(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${ctx.cluster.nodeId} or empty string, but received ${res.resourceName}`);
        }
        return ok(describeBrokerConfigs(ctx.config, false, res.configurationKeys, req.includeSynonyms, req.includeDocumentation));
      }
      return fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${res.resourceType}`);
    });
    return { throttleTimeMs: 0, results };
  },
});
