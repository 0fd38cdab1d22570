// Client quotas (KIP-13, KIP-55, KIP-257, KIP-546) as Kafka keeps and enforces them.
//
// Configuration: entities of user, client-id (together or alone) or ip, each name given or the
// default entity (name null), with quota values by key; kept in the security store's "quotas"
// namespace (key: the entity, canonical; value: { entity, quotas }). Alter and describe follow
// Kafka's ClientQuotaControlManager and ClientQuotasImage.describe.
//
// Enforcement (ClientQuotaManager): for a connection's (user principal, client id) and one quota
// key, the first entity of Kafka's precedence list that sets the key gives the quota:
//   1 user=<user>,client-id=<id>      2 user=<user>,client-id=<default>   3 user=<user>
//   4 user=<default>,client-id=<id>   5 user=<default>,client-id=<default> 6 user=<default>
//   7 client-id=<id>                  8 client-id=<default>
// and which level matched decides who shares it (its sensor): per user and client id (1, 2, 4,
// 5), per user (3, 6), or per client id (7, 8). A sensor measures a rate over
// quota.window.num samples of quota.window.size.seconds (Kafka's SampledStat and Rate, including
// their window-size rule); recording a value that takes the rate above the quota answers a
// throttle time = (rate - quota) / quota * window, the time after which the rate is back at the
// quota. No quota: no sensor, never throttled.
// Sensors idle for a whole measuring window are dropped (memory stays bounded by the active
// clients), like Kafka's sensor expiry.

import { isIP } from 'node:net';
import { ErrorCode } from '../../protocol/errors.js';
import { nodeDnsPromises } from '../common/builtins.js';
import type { SecurityStore } from './store.js';

export const USER = 'user';
export const CLIENT_ID = 'client-id';
export const IP = 'ip';
export type QuotaEntityType = typeof USER | typeof CLIENT_ID | typeof IP;

/** Entity type -> name (null: the default entity). */
export type QuotaEntity = Partial<Record<QuotaEntityType, string | null>>;

/** Kafka's quota keys and their config types (QuotaConfig). */
export const USER_CLIENT_KEYS: Readonly<Record<string, 'LONG' | 'DOUBLE'>> = {
  producer_byte_rate: 'LONG',
  consumer_byte_rate: 'LONG',
  request_percentage: 'DOUBLE',
  controller_mutation_rate: 'DOUBLE',
};
export const IP_KEYS: Readonly<Record<string, 'INT'>> = { connection_creation_rate: 'INT' };

const TYPE_ORDER: readonly QuotaEntityType[] = [USER, CLIENT_ID, IP];

export interface KafkaError {
  errorCode: number;
  errorMessage: string;
}

/** The types of an entity: user, client-id, ip, then any others (refused later) by name. */
function typesOf(entity: QuotaEntity): string[] {
  const known = TYPE_ORDER.filter((t) => t in entity);
  return [...known, ...Object.keys(entity).filter((t) => !(TYPE_ORDER as readonly string[]).includes(t)).sort()];
}

/** The store key of an entity: its types in a fixed order with their names. */
export function entityKey(entity: QuotaEntity): string {
  return JSON.stringify(typesOf(entity).map((t) => [t, (entity as Record<string, string | null>)[t] ?? null]));
}

/** Describe's order: by "type=name" text, the default entity (<default>) before names. */
function sortText(entity: QuotaEntity): string {
  return typesOf(entity)
    .map((t) => `${t}=${(entity as Record<string, string | null>)[t] ?? '<default>'}`)
    .join(',');
}

/** Kafka's ClientQuotaEntity.toString-like text, for messages. */
function entityText(entity: QuotaEntity): string {
  return `ClientQuotaEntity(entries={${typesOf(entity)
    .map((t) => `${t}=${(entity as Record<string, string | null>)[t] ?? 'null'}`)
    .join(', ')}})`;
}

interface StoredQuotas {
  entity: QuotaEntity;
  quotas: Record<string, number>;
}

export interface QuotaAlteration {
  entity: QuotaEntity;
  /** value null: remove the key. */
  ops: Array<{ key: string; value: number | null }>;
}

export interface DescribeComponent {
  entityType: string;
  /** 0 EXACT (match = name), 1 DEFAULT (the default entity), 2 SPECIFIED (any entity of the type). */
  matchType: number;
  match: string | null;
}

export const MATCH_EXACT = 0;
export const MATCH_DEFAULT = 1;
export const MATCH_SPECIFIED = 2;

export interface QuotaWindow {
  /** quota.window.num */
  samples: number;
  /** quota.window.size.seconds, in ms */
  windowMs: number;
}

/** Kafka's SampledStat of totals with Rate's window size: a rate per second over samples. */
class RateSensor {
  private readonly samples: Array<{ start: number; value: number }> = [];
  private current = 0;
  lastRecordMs = 0;

  record(value: number, now: number, w: QuotaWindow): void {
    this.lastRecordMs = now;
    let s = this.samples[this.current];
    if (s === undefined) {
      s = { start: now, value: 0 };
      this.samples.push(s);
    } else if (now - s.start >= w.windowMs) {
      this.current = (this.current + 1) % w.samples;
      s = { start: now, value: 0 };
      if (this.current >= this.samples.length) this.samples.push(s);
      else this.samples[this.current] = s;
    }
    s.value += value;
  }

  /** Bytes (or units) per second now, and the window it is measured over (ms). */
  measure(now: number, w: QuotaWindow): { rate: number; windowMs: number } {
    const expireAge = w.samples * w.windowMs;
    let total = 0;
    let oldest = now;
    for (const s of this.samples) {
      if (now - s.start >= expireAge) {
        s.start = now;
        s.value = 0;
      }
      total += s.value;
      oldest = Math.min(oldest, s.start);
    }
    let elapsed = now - oldest;
    const full = Math.floor(elapsed / w.windowMs);
    if (full < w.samples - 1) elapsed += (w.samples - 1 - full) * w.windowMs;
    return { rate: total / (elapsed / 1000), windowMs: elapsed };
  }
}

export type ThrottledQuota = 'producer_byte_rate' | 'consumer_byte_rate' | 'request_percentage';

/**
 * Kafka's TokenBucket: tokens refill at the quota's rate up to a burst of samples × window × rate
 * (a new bucket starts full); a mutation takes its permits, and may take the bucket below zero.
 */
class TokenBucket {
  private tokens = 0;
  private lastMs = -Infinity;
  /** The quota's rate (per second) and burst at the last use. */
  rate = 0;
  burst = 0;

  measure(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + (this.rate * Math.max(0, now - this.lastMs)) / 1000);
    this.lastMs = now;
    return this.tokens;
  }

  take(permits: number, now: number): number {
    this.tokens = Math.min(this.burst, this.measure(now) - permits);
    return this.tokens;
  }
}

/**
 * The controller_mutation_rate quota of one CreateTopics, DeleteTopics or CreatePartitions request
 * (KIP-599): partitions created or deleted are its permits. Strict (the versions that know
 * THROTTLING_QUOTA_EXCEEDED), a mutation is refused once the bucket is below zero (the one that
 * takes it below zero goes through), and a refusal throttles the response; permissive (older
 * versions), every mutation is taken and one that leaves the bucket below zero throttles. The
 * throttle time is the time for the bucket to come back to zero.
 */
export interface MutationQuota {
  /** False when no controller_mutation_rate applies (nothing to count). */
  readonly bounded: boolean;
  /** Takes `permits`; false: refused (strict and already over the quota). */
  record(permits: number): boolean;
  /** Milliseconds until the bucket is back to zero (0 within the quota). */
  throttleTimeMs(): number;
}

const UNBOUNDED_MUTATIONS: MutationQuota = { bounded: false, record: () => true, throttleTimeMs: () => 0 };

export class ClientQuotas {
  /** entityKey -> stored quotas, rebuilt when the store changes. */
  private byKey = new Map<string, StoredQuotas>();
  private readonly sensors = new Map<string, RateSensor>();
  private lastSweep = 0;

  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly store: SecurityStore,
    private readonly window: () => QuotaWindow,
    /** controller.quota.window.num / .size.seconds: the mutation quota's burst. */
    private readonly controllerWindow: () => QuotaWindow = window,
  ) {
    this.reload();
    store.onChange((ns) => {
      if (ns === 'quotas') this.reload();
    });
  }

  private reload(): void {
    const next = new Map<string, StoredQuotas>();
    for (const [k, v] of this.store.entries('quotas')) next.set(k, v as StoredQuotas);
    this.byKey = next;
  }

  // ---------------------------------------------------------------------------------------------
  // Describe and alter

  /**
   * Entities matching the filter with their quotas (ClientQuotasImage.describe), or the error
   * that answers the whole request.
   */
  describe(components: readonly DescribeComponent[], strict: boolean): StoredQuotas[] | KafkaError {
    const exact = new Map<string, string | null>();
    const typed = new Set<string>();
    for (const c of components) {
      if (c.entityType === '') return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Invalid empty entity type.' };
      if (exact.has(c.entityType) || typed.has(c.entityType)) {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Entity type ${c.entityType} cannot appear more than once in the filter.` };
      }
      if (c.entityType !== USER && c.entityType !== CLIENT_ID && c.entityType !== IP) {
        return { errorCode: ErrorCode.UNSUPPORTED_VERSION, errorMessage: `Unsupported entity type ${c.entityType}` };
      }
      if (c.matchType === MATCH_EXACT) {
        if (c.match === null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Request specified MATCH_TYPE_EXACT, but set match string to null.' };
        exact.set(c.entityType, c.match);
      } else if (c.matchType === MATCH_DEFAULT) {
        if (c.match !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.' };
        exact.set(c.entityType, null);
      } else if (c.matchType === MATCH_SPECIFIED) {
        if (c.match !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.' };
        typed.add(c.entityType);
      } else {
        return { errorCode: ErrorCode.UNSUPPORTED_VERSION, errorMessage: `Unknown match type ${c.matchType}` };
      }
    }
    const has = (t: string): boolean => exact.has(t) || typed.has(t);
    if (has(IP) && (has(USER) || has(CLIENT_ID))) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.',
      };
    }
    const out: StoredQuotas[] = [];
    for (const q of [...this.byKey.values()].sort((a, b) => (sortText(a.entity) < sortText(b.entity) ? -1 : 1))) {
      const types = Object.keys(q.entity);
      if (strict && types.length !== exact.size + typed.size) continue;
      let ok = true;
      for (const [t, name] of exact) if (!(t in q.entity) || (q.entity[t as QuotaEntityType] ?? null) !== name) ok = false;
      for (const t of typed) if (!(t in q.entity)) ok = false;
      if (ok) out.push(structuredClone(q));
    }
    return out;
  }

  /**
   * Checks and (unless validateOnly) applies alterations, one result per distinct entity in
   * first-appearance order (ClientQuotaControlManager.alterClientQuotas). Rejects if the store
   * cannot be written.
   */
  async alter(alterations: readonly QuotaAlteration[], validateOnly: boolean): Promise<Array<{ entity: QuotaEntity; error: KafkaError | null }>> {
    const results = new Map<string, { entity: QuotaEntity; error: KafkaError | null }>();
    const pending = new Map<string, StoredQuotas | null>();
    for (const a of alterations) {
      const key = entityKey(a.entity);
      const ops = new Map<string, number | null>();
      let error: KafkaError | null = null;
      for (const op of a.ops) {
        if (ops.has(op.key)) {
          error = { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Duplicate quota key ${op.key} not updating quota for this entity ${entityText(a.entity)}` };
        } else {
          ops.set(op.key, op.value);
        }
      }
      if (error !== null || results.has(key)) {
        // Kafka: a duplicate key, or an entity seen before, is reported as a duplicate entity
        // (an earlier alteration of the same entity in this request still applies, as in Kafka).
        results.set(key, { entity: a.entity, error: { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Ignoring duplicate entity ${entityText(a.entity)}` } });
        continue;
      }
      const problem = await checkEntity(a.entity);
      if (problem !== null) {
        results.set(key, { entity: a.entity, error: problem });
        continue;
      }
      const keys = IP in a.entity ? IP_KEYS : USER_CLIENT_KEYS;
      const current = this.byKey.get(key);
      const quotas: Record<string, number> = { ...(current?.quotas ?? {}) };
      let bad: KafkaError | null = null;
      for (const [k, v] of ops) {
        if (v === null) {
          delete quotas[k];
          continue;
        }
        bad = checkValue(keys, k, v);
        if (bad) break;
        quotas[k] = v;
      }
      if (bad) {
        results.set(key, { entity: a.entity, error: bad });
        continue;
      }
      results.set(key, { entity: a.entity, error: null });
      pending.set(key, Object.keys(quotas).length === 0 ? null : { entity: normalized(a.entity), quotas });
    }
    if (!validateOnly && pending.size > 0) await this.store.apply('quotas', [...pending]);
    return [...results.values()];
  }

  // ---------------------------------------------------------------------------------------------
  // Enforcement

  /** The quota for (user, client id) and key, and the sensor key of whoever shares it; undefined: none. */
  private resolve(quota: ThrottledQuota | 'controller_mutation_rate', user: string, clientId: string): { bound: number; sensor: string } | undefined {
    // No quota anywhere (the usual case): nothing to look up on the produce and fetch paths.
    if (this.byKey.size === 0) return undefined;
    const levels: Array<[QuotaEntity, string, string]> = [
      [{ user, 'client-id': clientId }, user, clientId],
      [{ user, 'client-id': null }, user, clientId],
      [{ user }, user, ''],
      [{ user: null, 'client-id': clientId }, user, clientId],
      [{ user: null, 'client-id': null }, user, clientId],
      [{ user: null }, user, ''],
      [{ 'client-id': clientId }, '', clientId],
      [{ 'client-id': null }, '', clientId],
    ];
    for (const [entity, u, c] of levels) {
      const v = this.byKey.get(entityKey(entity))?.quotas[quota];
      if (v !== undefined) return { bound: v, sensor: JSON.stringify([quota, u, c]) };
    }
    return undefined;
  }

  /**
   * Records `value` (bytes) against the quota of (user, client id) and answers the throttle
   * time in ms (0 within the quota or without one). Kafka's maybeRecordAndGetThrottleTimeMs.
   */
  record(quota: ThrottledQuota, user: string, clientId: string, value: number, now: number): number {
    const q = this.resolve(quota, user, clientId);
    if (q === undefined) return 0;
    const w = this.window();
    this.sweep(now, w);
    let s = this.sensors.get(q.sensor);
    if (s === undefined) {
      s = new RateSensor();
      this.sensors.set(q.sensor, s);
    }
    s.record(value, now, w);
    const { rate, windowMs } = s.measure(now, w);
    if (rate <= q.bound) return 0;
    const t = Math.round(((rate - q.bound) / q.bound) * windowMs);
    // Kafka bounds a request-time throttle by one sample (ClientRequestQuotaManager).
    return quota === 'request_percentage' ? Math.min(t, w.windowMs) : t;
  }

  /** The controller mutation quota of one request of (user, client id); `strict` as above. */
  mutationQuota(user: string, clientId: string, strict: boolean, now: () => number): MutationQuota {
    const q = this.resolve('controller_mutation_rate', user, clientId);
    if (q === undefined) return UNBOUNDED_MUTATIONS;
    const w = this.controllerWindow();
    this.sweepBuckets(now(), w);
    let b = this.buckets.get(q.sensor);
    if (b === undefined) this.buckets.set(q.sensor, (b = new TokenBucket()));
    const bucket = b;
    bucket.rate = q.bound;
    bucket.burst = (w.samples * w.windowMs * q.bound) / 1000;
    let throttleMs = 0;
    let throttledAt = 0;
    const over = (tokens: number, t: number): void => {
      throttleMs = Math.round((-tokens / bucket.rate) * 1000);
      throttledAt = t;
    };
    return {
      bounded: true,
      record(permits) {
        const t = now();
        const tokens = bucket.measure(t);
        if (strict && tokens < 0) {
          over(tokens, t);
          return false;
        }
        const left = bucket.take(permits, t);
        // Permissive: over the quota, the response is throttled. Strict: this mutation went
        // through; the next one is refused (and throttled) while the bucket stays below zero.
        if (!strict && left < 0) over(left, t);
        return true;
      },
      throttleTimeMs: () => Math.max(0, throttleMs - (now() - throttledAt)),
    };
  }

  /** Buckets back to full hold nothing (a new one starts full): dropped, at most once a window. */
  private lastBucketSweep = 0;
  private sweepBuckets(now: number, w: QuotaWindow): void {
    if (now - this.lastBucketSweep < w.samples * w.windowMs) return;
    this.lastBucketSweep = now;
    for (const [k, b] of this.buckets) if (b.measure(now) >= b.burst) this.buckets.delete(k);
  }

  /**
   * A new connection from `ip` against its connection_creation_rate (KIP-612; the address's own
   * quota, else the default ip entity's): 0 when accepted (and counted), else the throttle in ms
   * (not counted; at most one sample, as Kafka's ConnectionQuotas).
   */
  connectionThrottleMs(ip: string, now: number): number {
    if (this.byKey.size === 0) return 0;
    const bound = this.byKey.get(entityKey({ ip }))?.quotas.connection_creation_rate ?? this.byKey.get(entityKey({ ip: null }))?.quotas.connection_creation_rate;
    if (bound === undefined) return 0;
    const w = this.window();
    this.sweep(now, w);
    const key = JSON.stringify(['connection_creation_rate', ip]);
    let s = this.sensors.get(key);
    if (s === undefined) this.sensors.set(key, (s = new RateSensor()));
    s.record(1, now, w);
    const { rate, windowMs } = s.measure(now, w);
    if (rate <= bound) return 0;
    s.record(-1, now, w);
    return Math.max(1, Math.min(w.windowMs, Math.round(((rate - bound) / bound) * windowMs)));
  }

  /** Takes back a recorded value (a throttled Fetch answers no data: Kafka unrecords it). */
  unrecord(quota: ThrottledQuota, user: string, clientId: string, value: number, now: number): void {
    const q = this.resolve(quota, user, clientId);
    if (q === undefined) return;
    this.sensors.get(q.sensor)?.record(-value, now, this.window());
  }

  /**
   * Most bytes the quota allows over its measuring window (a Fetch's max_bytes is capped by it:
   * Kafka's getMaxValueInQuotaWindow); Infinity without a quota.
   */
  maxValueInQuotaWindow(quota: ThrottledQuota, user: string, clientId: string): number {
    const q = this.resolve(quota, user, clientId);
    if (q === undefined) return Infinity;
    const w = this.window();
    return q.bound * (w.samples - 1) * (w.windowMs / 1000);
  }

  /** Sensors idle for a whole measuring window hold nothing: dropped, at most once a window. */
  private sweep(now: number, w: QuotaWindow): void {
    const span = w.samples * w.windowMs;
    if (now - this.lastSweep < span) return;
    this.lastSweep = now;
    for (const [k, s] of this.sensors) if (now - s.lastRecordMs >= span) this.sensors.delete(k);
  }
}

function normalized(entity: QuotaEntity): QuotaEntity {
  const out: QuotaEntity = {};
  for (const t of TYPE_ORDER) if (t in entity) out[t] = entity[t] ?? null;
  return out;
}

/** ClientQuotaControlManager.validateEntity and configKeysForEntityType. */
async function checkEntity(entity: QuotaEntity): Promise<KafkaError | null> {
  const types = Object.keys(entity);
  if (types.length === 0) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Invalid empty client quota entity' };
  for (const t of types) {
    if (t !== USER && t !== CLIENT_ID && t !== IP) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unhandled client quota entity type: ${t}` };
    if (entity[t as QuotaEntityType] === '') return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Empty ${t} not supported` };
  }
  if (IP in entity) {
    if (USER in entity || CLIENT_ID in entity) {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId' };
    }
    const ip = entity.ip ?? null;
    if (ip !== null && !(await resolvable(ip))) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `${ip} is not a valid IP or resolvable host.` };
  }
  return null;
}

/** An IP address, or a host name that resolves (Kafka: InetAddress.getByName). */
async function resolvable(host: string): Promise<boolean> {
  if (isIP(host) !== 0) return true;
  // A resolver that does not answer must not hold the request: no answer in time is "no".
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), RESOLVE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([nodeDnsPromises().lookup(host).then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const RESOLVE_TIMEOUT_MS = 2000;

/** ClientQuotaControlManager.validateQuotaKeyValue. */
function checkValue(keys: Readonly<Record<string, string>>, key: string, value: number): KafkaError | null {
  const type = keys[key];
  if (type === undefined) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Invalid configuration key ${key}` };
  // Brook only: NaN and infinities cannot be stored (Kafka lets some through).
  if (!Number.isFinite(value)) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Quota ${key} must be a finite number` };
  if (!(value > 0)) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Quota ${key} must be greater than 0` };
  if (type === 'DOUBLE') return null;
  if (type === 'INT' && value > 2147483647) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Proposed value for ${key} is too large for an INT.` };
  if (type === 'LONG' && value > 9223372036854775807) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Proposed value for ${key} is too large for a LONG.` };
  if (Math.abs(value % 1) > 1e-6) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `${key} cannot be a fractional value.` };
  return null;
}
