// What AlterConfigs (33) and IncrementalAlterConfigs (44) share: Kafka's request checks
// (ConfigAdminManager.preprocess), the incremental operations, and applying the new set of values
// of one resource. Each resource succeeds or fails on its own; answers come in the order asked.
//
// Kafka's rules followed here:
// - A (type, name) pair given twice: INVALID_REQUEST "Each resource must appear at most once." for
//   every occurrence. A config name given twice in one resource: INVALID_REQUEST. A null value
//   (other than with DELETE): INVALID_REQUEST "Null value not supported for : <names>".
// - BROKER: "" is the cluster-wide default (DYNAMIC_DEFAULT_BROKER_CONFIG), "<node.id>" this broker
//   (DYNAMIC_BROKER_CONFIG); another id INVALID_REQUEST. The complete new set of values of that
//   level is checked as DynamicBrokerConfig.validateConfigs does (config.ts validateBrokerUpdate:
//   non-dynamic configs, types and ranges, INVALID_REQUEST), persisted, then applied: log configs
//   reach every existing partition at once.
// - TOPIC: "" INVALID_REQUEST, a bad name INVALID_TOPIC_EXCEPTION, the complete new set of
//   overrides checked with LogConfig's rules (INVALID_CONFIG), then UNKNOWN_TOPIC_OR_PARTITION.
// - validate_only checks everything and changes nothing.

import { ErrorCode } from '../../protocol/errors.js';
import { BROKER_DEF, TOPIC_DEF, validateBrokerUpdate, type DynamicLevel } from '../config/config.js';
import { RESOURCE_TOPIC } from './32-describe-configs.js';
import type { RequestContext } from './types.js';

export interface ResourceOutcome {
  errorCode: number;
  errorMessage: string | null;
}

export const OK: ResourceOutcome = { errorCode: ErrorCode.NONE, errorMessage: null };

const fail = (errorCode: number, errorMessage: string): ResourceOutcome => ({ errorCode, errorMessage });

/** IncrementalAlterConfigs operation codes (AlterConfigOp.OpType). */
export const OP = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
const OP_NAME = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'];

/**
 * Kafka's preprocess checks that need no state: duplicates among resources (`keyCounts` from
 * resourceKeyCounts), duplicate config names, null values. Returns the failure or null.
 */
export function preprocess(
  resource: { resourceType: number; resourceName: string },
  configs: ReadonlyArray<{ name: string; value: string | null; configOperation?: number }>,
  keyCounts: Map<string, number>,
): ResourceOutcome | null {
  if (keyCounts.get(resourceKey(resource))! > 1) return fail(ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.');
  if (new Set(configs.map((c) => c.name)).size !== configs.length) return fail(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
  const nulls = configs.filter((c) => c.value === null && c.configOperation !== OP.DELETE).map((c) => c.name);
  if (nulls.length > 0) return fail(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${nulls.join(', ')}`);
  return null;
}

const resourceKey = (r: { resourceType: number; resourceName: string }): string => `${r.resourceType}\u0000${r.resourceName}`;

export function resourceKeyCounts(resources: ReadonlyArray<{ resourceType: number; resourceName: string }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(resourceKey(r), (counts.get(resourceKey(r)) ?? 0) + 1);
  return counts;
}

/** The dynamic level a BROKER resource name stands for, or the failure. */
export function brokerLevel(name: string, ctx: RequestContext): DynamicLevel | ResourceOutcome {
  if (name === '') return 'cluster-default';
  if (!/^[+-]?\d+$/.test(name)) return fail(ErrorCode.INVALID_REQUEST, `Node id must be an integer, but it is: ${name}`);
  if (Number(name) !== ctx.cluster.nodeId) return fail(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${ctx.cluster.nodeId}, but received ${name}`);
  return 'broker';
}

/**
 * Applies IncrementalAlterConfigs operations to the current values (a copy is returned). APPEND and
 * SUBTRACT work on LIST configs only, starting from the default when the config has no value, as
 * Kafka's controller does; elements are the comma-separated parts, empty parts dropped.
 */
export function applyOps(
  current: Record<string, string>,
  ops: ReadonlyArray<{ name: string; configOperation: number; value: string | null }>,
  resourceType: number,
): { configs: Record<string, string> } | { failure: ResourceOutcome } {
  const next = { ...current };
  for (const op of ops) {
    switch (op.configOperation) {
      case OP.SET:
        next[op.name] = op.value!;
        break;
      case OP.DELETE:
        delete next[op.name];
        break;
      case OP.APPEND:
      case OP.SUBTRACT: {
        const def = resourceType === RESOURCE_TOPIC ? TOPIC_DEF.get(op.name) : BROKER_DEF.get(op.name);
        const opName = OP_NAME[op.configOperation]!;
        if (def?.type !== 'LIST') {
          // The topic message is the KRaft controller's (ConfigurationControlManager), the broker
          // one ConfigAdminManager.prepareIncrementalConfigs'.
          if (resourceType === RESOURCE_TOPIC) return { failure: fail(ErrorCode.INVALID_CONFIG, `Can't ${opName} to key ${op.name} because its type is not LIST.`) };
          if (def === undefined) return { failure: fail(ErrorCode.INVALID_CONFIG, `Unknown config name: ${op.name}`) };
          return { failure: fail(ErrorCode.INVALID_CONFIG, `Config value ${opName.toLowerCase()} is not allowed for config key: ${op.name}`) };
        }
        const parts = (next[op.name] ?? def.default ?? '').split(',').filter((s) => s !== '');
        for (const v of op.value!.split(',')) {
          if (op.configOperation === OP.APPEND) {
            if (!parts.includes(v)) parts.push(v);
          } else {
            const i = parts.indexOf(v);
            if (i >= 0) parts.splice(i, 1);
          }
        }
        next[op.name] = parts.join(',');
        break;
      }
      default:
        return { failure: fail(ErrorCode.INVALID_REQUEST, `Unknown operations type ${op.configOperation}`) };
    }
  }
  return { configs: next };
}

/** Checks and (unless validateOnly) installs the complete new dynamic values of a broker level. */
export function alterBroker(ctx: RequestContext, level: DynamicLevel, configs: Record<string, string>, validateOnly: boolean): ResourceOutcome {
  const problem = validateBrokerUpdate(ctx.config, level, configs);
  if (problem) return fail(problem.error === 'INVALID_CONFIG' ? ErrorCode.INVALID_CONFIG : ErrorCode.INVALID_REQUEST, problem.message);
  if (validateOnly) return OK;
  try {
    ctx.config.setDynamic(level, configs);
  } catch (err) {
    // The file could not be written (disk full, read-only disk): nothing changed. Anything else is
    // a bug and stays thrown.
    const code = (err as { code?: unknown })?.code;
    if (!(typeof code === 'string' && /^E[A-Z]+$/.test(code))) throw err;
    ctx.logger.warn({ err, level }, 'could not persist dynamic broker configs');
    return fail(ErrorCode.KAFKA_STORAGE_ERROR, `Could not persist the broker configs: ${(err as Error).message}`);
  }
  ctx.logger.debug({ level, configs }, 'dynamic broker configs updated');
  return OK;
}

/** Checks and (unless validateOnly) installs a topic's complete new overrides. */
export async function alterTopic(ctx: RequestContext, name: string, configs: Record<string, string>, validateOnly: boolean): Promise<ResourceOutcome> {
  // A failed write of the topic file is KAFKA_STORAGE_ERROR from the topic manager.
  const r = await ctx.topics.alterConfigs(name, configs, validateOnly);
  if (r.errorCode !== ErrorCode.NONE) return fail(r.errorCode, r.errorMessage ?? '');
  if (!validateOnly) ctx.logger.debug({ topic: name, configs }, 'topic configs updated');
  return OK;
}
