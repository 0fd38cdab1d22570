// DescribeConfigs (key 32), v0-v4, for TOPIC (2) and BROKER (4) resources.
// Values, sources and synonyms follow Kafka: a topic override is DYNAMIC_TOPIC_CONFIG; otherwise
// the value comes from the broker config it inherits from (STATIC_BROKER_CONFIG when set in the
// file or with --set, DEFAULT_CONFIG otherwise), and v1+ list that chain as synonyms when asked.
// v0 has is_default instead of a source; v3+ adds the config type and, on request, documentation.
// BROKER_LOGGER (8) and unknown resource types get INVALID_REQUEST.

import { ErrorCode } from '../../protocol/errors.js';
import {
  DescribeConfigsApi,
  decodeDescribeConfigsRequest,
  encodeDescribeConfigsResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
} from '../../protocol/generated/32-describe-configs.js';
import { BROKER_CONFIG_DEFS, CONFIG_TYPE_CODE, TOPIC_CONFIG_DEFS, type BrokerConfig, type ConfigEntry } from '../config/config.js';
import { defineHandler } from './types.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

/** Kafka's DescribeConfigsResponse.ConfigSource codes. */
export const CONFIG_SOURCE = { DYNAMIC_TOPIC: 1, STATIC_BROKER: 4, DEFAULT: 5 } as const;

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

const sourceCode = (e: ConfigEntry): number => CONFIG_SOURCE[e.source];

export function describeTopicConfigs(
  config: BrokerConfig,
  overrides: Record<string, string>,
  keys: string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): DescribedConfig[] {
  return TOPIC_CONFIG_DEFS.filter((d) => keys === null || keys.includes(d.name)).map((d) => {
    const inherited = config.topicDefault(d.name);
    const override = overrides[d.name];
    const chain: ConfigEntry[] = [
      ...(override !== undefined ? [{ name: d.name, value: override, source: 'DYNAMIC_TOPIC' as const }] : []),
      ...inherited.synonyms,
    ];
    const top = chain[0];
    const configSource = top ? sourceCode(top) : CONFIG_SOURCE.DEFAULT;
    return {
      name: d.name,
      value: override ?? inherited.value,
      readOnly: false,
      isDefault: configSource === CONFIG_SOURCE.DEFAULT,
      configSource,
      isSensitive: false,
      synonyms: includeSynonyms ? chain.map((e) => ({ name: e.name, value: e.value, source: sourceCode(e) })) : [],
      configType: CONFIG_TYPE_CODE[d.type],
      documentation: null,
    };
  });
}

function describeBrokerConfigs(config: BrokerConfig, keys: string[] | null, includeSynonyms: boolean, includeDocumentation: boolean): DescribedConfig[] {
  const entries = new Map(config.entries().map((e) => [e.name, e]));
  return BROKER_CONFIG_DEFS.filter((d) => keys === null || keys.includes(d.name)).map((d) => {
    const e = entries.get(d.name)!;
    const configSource = sourceCode(e);
    return {
      name: d.name,
      value: e.value,
      readOnly: d.readOnly ?? true,
      isDefault: configSource === CONFIG_SOURCE.DEFAULT,
      configSource,
      isSensitive: d.type === 'PASSWORD',
      synonyms: includeSynonyms ? [{ name: d.name, value: e.value, source: configSource }] : [],
      configType: CONFIG_TYPE_CODE[d.type],
      documentation: includeDocumentation ? d.doc : null,
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
      const fail = (errorCode: number, errorMessage: string) => ({ ...base, errorCode, errorMessage, configs: [] });
      if (res.resourceType === RESOURCE_TOPIC) {
        const meta = ctx.topics.get(res.resourceName);
        if (!meta) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${res.resourceName}' does not exist.`);
        const configs = describeTopicConfigs(ctx.config, meta.configs, res.configurationKeys, req.includeSynonyms, req.includeDocumentation);
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
      }
      if (res.resourceType === RESOURCE_BROKER) {
        if (res.resourceName !== '' && res.resourceName !== String(ctx.cluster.nodeId)) {
          return fail(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${ctx.cluster.nodeId} or empty string, but received ${res.resourceName}`);
        }
        const configs = describeBrokerConfigs(ctx.config, res.configurationKeys, req.includeSynonyms, req.includeDocumentation);
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
      }
      return fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${res.resourceType}`);
    });
    return { throttleTimeMs: 0, results };
  },
});
