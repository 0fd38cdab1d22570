// Fault injection for test authors (issue 9). The dispatcher hands every decoded request to
// `intercept` before its handler runs, while any rule or pause is in place; handlers know nothing
// of it. What a rule can do to the requests it matches (an API key, optionally a topic or
// topic-partition the request addresses, optionally a client id):
//
// - error:         answer with an error code, without applying the request. The code goes where
//                  that API carries errors (src/fixture/error-responses.ts). A rule for one topic
//                  or partition fails only those entries; the rest of the request is handled.
// - latency:       wait `ms` (real time) before handling the request.
// - drop-response: handle the request (its effects happen: appends, commits), then drop the
//                  response and close the connection, as when a response is lost on the network.
//                  Clients see a disconnect and retry: what idempotence must survive (issue 7).
// - disconnect:    close the connection instead of handling the request.
//
// A rule applies to the next `count` matching requests (default 1; latency defaults to every
// request until cleared) and then removes itself. Pausing the broker holds every request; pausing
// a partition holds Produce and Fetch requests that address it, as a stalled leader would. A held
// request proceeds on resume, or is dropped when its connection closes. Latency and pauses use real
// time, never the broker's (possibly manual) clock, so they cannot hang a client forever.

import { errorCodeByName, errorName, isKnownErrorCode } from '../../protocol/errors.js';
import type { RequestHeader } from '../../protocol/framing.js';
import { errorInjectableApis, errorShape, type Match, type Target } from '../fixture/error-responses.js';
import { NoResponse } from '../handlers/types.js';
import type { ConnectionInfo } from './connection.js';

export type FaultKind = 'error' | 'latency' | 'drop-response' | 'disconnect';

/** What a rule is asked to do (JS API and HTTP body alike). */
export interface FaultRuleSpec {
  kind: FaultKind;
  /** API key or name ('Produce', 'FindCoordinator', 'find_coordinator'). */
  api: number | string;
  /** kind 'error': a Kafka error code or name ('NOT_LEADER_OR_FOLLOWER'). */
  error?: number | string;
  /** kind 'latency': milliseconds of real time added before the request is handled. */
  ms?: number;
  /** How many matching requests the rule applies to (default 1; latency: unlimited). */
  count?: number | null;
  /** Only requests addressing this topic (topic-keyed APIs). */
  topic?: string;
  /** With `topic`: only this partition. */
  partition?: number;
  /** Only requests from this client id. */
  clientId?: string;
}

/** A rule in place, as listed. */
export interface FaultRule {
  id: number;
  kind: FaultKind;
  api: string;
  apiKey: number;
  error?: string;
  errorCode?: number;
  ms?: number;
  topic?: string;
  partition?: number;
  clientId?: string;
  /** Matching requests it still applies to; null = until cleared. */
  remaining: number | null;
  /** Requests it has applied to so far. */
  hits: number;
}

export interface FaultStatus {
  rules: FaultRule[];
  paused: { broker: boolean; partitions: Array<{ topic: string; partition: number }> };
}

/** Common options of the rule helpers. */
export interface RuleScope {
  count?: number | null;
  topic?: string;
  partition?: number;
  clientId?: string;
}

/** The intercept's answer when the connection must be closed without a response. */
export class CloseConnection {
  constructor(readonly reason: string) {}
}

export class FaultError extends Error {
  override readonly name = 'FaultError';
}

/** What the injector needs from the broker. */
export interface FaultHost {
  /** API key -> name, for every API the broker serves. */
  apis: ReadonlyMap<number, string>;
  /** Topic id -> name (Fetch v13+ and DeleteTopics v6+ name topics by id). */
  topicName(id: string): string | undefined;
  /** Closes every client connection; returns how many there were. */
  dropConnections(): number;
}

const normalize = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

const PRODUCE = 0;
const FETCH = 1;

export interface InterceptCall {
  header: RequestHeader;
  req: unknown;
  conn: ConnectionInfo;
}

export class FaultInjector {
  private readonly rulesInPlace: FaultRule[] = [];
  private nextId = 1;
  private brokerPaused = false;
  private readonly pausedPartitions = new Map<string, { topic: string; partition: number }>();
  /** Requests held by a pause, re-checked on every resume. */
  private readonly held = new Set<() => void>();
  private host: FaultHost | undefined;

  /** Connects the injector to its broker (names of APIs, topic ids, connections). */
  attach(host: FaultHost): void {
    this.host = host;
  }

  /** True while anything is in place: the dispatcher then routes requests through `intercept`. */
  get engaged(): boolean {
    return this.rulesInPlace.length > 0 || this.brokerPaused || this.pausedPartitions.size > 0;
  }

  // ---------------------------------------------------------------- rules

  /** Adds a rule; throws FaultError for an unknown API, error code or kind, or bad options. */
  add(spec: FaultRuleSpec): FaultRule {
    const apiKey = this.resolveApi(spec.api);
    const api = this.host?.apis.get(apiKey) ?? `api ${apiKey}`;
    const kinds: FaultKind[] = ['error', 'latency', 'drop-response', 'disconnect'];
    if (!kinds.includes(spec.kind)) throw new FaultError(`unknown fault kind ${JSON.stringify(spec.kind)} (one of ${kinds.join(', ')})`);
    const count = spec.count === undefined ? (spec.kind === 'latency' ? null : 1) : spec.count;
    if (count !== null && (!Number.isInteger(count) || count < 1)) throw new FaultError(`count must be a positive integer or null, got ${count}`);
    if (spec.partition !== undefined && (!Number.isInteger(spec.partition) || spec.partition < 0)) throw new FaultError(`partition must be a non-negative integer`);
    if (spec.partition !== undefined && spec.topic === undefined) throw new FaultError('partition needs topic');
    if (spec.topic !== undefined && errorShape(apiKey)?.targets === undefined) {
      throw new FaultError(`${api} requests address no topics: a rule for it cannot name one`);
    }
    const rule: FaultRule = { id: this.nextId++, kind: spec.kind, api, apiKey, remaining: count, hits: 0 };
    if (spec.kind === 'error') {
      const shape = errorShape(apiKey);
      if (shape === undefined) {
        const names = errorInjectableApis().map((k) => this.host?.apis.get(k) ?? k);
        throw new FaultError(`error injection does not support ${api} (supported: ${names.join(', ')})`);
      }
      const code = this.resolveError(spec.error);
      rule.errorCode = code;
      rule.error = errorName(code);
      if (spec.topic !== undefined && apiKey !== 3 && shape.filter === undefined) throw new FaultError(`${api} errors cannot be limited to a topic`);
    }
    if (spec.kind === 'latency') {
      if (typeof spec.ms !== 'number' || !Number.isFinite(spec.ms) || spec.ms < 0) throw new FaultError(`latency needs ms >= 0, got ${spec.ms}`);
      rule.ms = spec.ms;
    }
    if (spec.topic !== undefined) rule.topic = String(spec.topic);
    if (spec.partition !== undefined) rule.partition = spec.partition;
    if (spec.clientId !== undefined) rule.clientId = String(spec.clientId);
    this.rulesInPlace.push(rule);
    return { ...rule };
  }

  /** Answers the next matching requests with `error` (a code or name) without applying them. */
  failRequests(api: number | string, error: number | string, scope: RuleScope = {}): FaultRule {
    return this.add({ kind: 'error', api, error, ...scope });
  }

  /** Adds `ms` of real time before matching requests are handled (every one, unless `count`). */
  addLatency(api: number | string, ms: number, scope: RuleScope = {}): FaultRule {
    return this.add({ kind: 'latency', api, ms, ...scope });
  }

  /**
   * Handles the next matching requests, then drops their responses and closes the connection.
   * `dropResponses(apiKey, n)` is the older form of `dropResponses(api, { count: n })`.
   */
  dropResponses(api: number | string, scopeOrCount: RuleScope | number = {}): FaultRule {
    const scope = typeof scopeOrCount === 'number' ? { count: scopeOrCount } : scopeOrCount;
    return this.add({ kind: 'drop-response', api, ...scope });
  }

  /** Closes the connection instead of handling the next matching requests. */
  disconnectOn(api: number | string, scope: RuleScope = {}): FaultRule {
    return this.add({ kind: 'disconnect', api, ...scope });
  }

  /** The rules in place. */
  rules(): FaultRule[] {
    return this.rulesInPlace.map((r) => ({ ...r }));
  }

  /** Removes one rule (true if it was there), or every rule without an id (returns true). */
  clear(id?: number): boolean {
    if (id === undefined) {
      this.rulesInPlace.length = 0;
      return true;
    }
    const i = this.rulesInPlace.findIndex((r) => r.id === id);
    if (i < 0) return false;
    this.rulesInPlace.splice(i, 1);
    return true;
  }

  /** How many drops are still pending for the API (sum over drop-response rules). */
  pendingDrops(api: number | string): number {
    const key = this.resolveApi(api);
    return this.rulesInPlace.filter((r) => r.kind === 'drop-response' && r.apiKey === key).reduce((n, r) => n + (r.remaining ?? Infinity), 0);
  }

  /** Closes every client connection now; returns how many were open. */
  dropConnections(): number {
    return this.host?.dropConnections() ?? 0;
  }

  // ---------------------------------------------------------------- pauses

  /** Holds every request until `resume()`. */
  pause(): void {
    this.brokerPaused = true;
  }

  /** Releases the requests held by `pause()` (partition pauses stay). */
  resume(): void {
    this.brokerPaused = false;
    this.wakeHeld();
  }

  /** Holds Produce and Fetch requests addressing the partition until `resumePartition`. */
  pausePartition(topic: string, partition: number): void {
    if (!Number.isInteger(partition) || partition < 0) throw new FaultError('partition must be a non-negative integer');
    this.pausedPartitions.set(`${partition}:${topic}`, { topic, partition });
  }

  resumePartition(topic: string, partition: number): void {
    this.pausedPartitions.delete(`${partition}:${topic}`);
    this.wakeHeld();
  }

  status(): FaultStatus {
    return { rules: this.rules(), paused: { broker: this.brokerPaused, partitions: [...this.pausedPartitions.values()] } };
  }

  /** Clears every rule and pause (broker reset and shutdown). */
  reset(): void {
    this.rulesInPlace.length = 0;
    this.brokerPaused = false;
    this.pausedPartitions.clear();
    this.wakeHeld();
  }

  // ---------------------------------------------------------------- dispatch

  /**
   * Runs one request through the rules. `handle` runs the handler (with the request as given or
   * narrowed to the entries a topic rule does not fail). Resolves with the response object (or
   * NoResponse) to encode, or CloseConnection.
   */
  async intercept(call: InterceptCall, handle: (req: unknown) => unknown): Promise<unknown> {
    const { header, conn } = call;
    const apiKey = header.apiKey;
    const shape = errorShape(apiKey);
    let targets: Target[] | undefined;
    const targetsOf = (): Target[] => (targets ??= shape?.targets?.(call.req, header.apiVersion, (id) => this.host?.topicName(id)) ?? []);

    if (this.brokerPaused && !(await this.holdWhile(() => this.brokerPaused, conn.signal))) return this.closed();

    const disconnect = this.take('disconnect', header, targetsOf);
    if (disconnect) return new CloseConnection(`fault injection: closed the connection on ${disconnect.api} (rule ${disconnect.id})`);

    let delay = 0;
    for (let rule = this.take('latency', header, targetsOf); rule; rule = this.take('latency', header, targetsOf, rule.id)) delay += rule.ms ?? 0;
    if (delay > 0 && !(await sleep(delay, conn.signal))) return this.closed();

    if ((apiKey === PRODUCE || apiKey === FETCH) && this.pausedPartitions.size > 0) {
      const paused = (): boolean => this.brokerPaused || targetsOf().some((t) => t.partition !== null && this.pausedPartitions.has(`${t.partition}:${t.topic}`));
      if (paused() && !(await this.holdWhile(paused, conn.signal))) return this.closed();
    }

    const error = this.take('error', header, targetsOf);
    let res: unknown;
    if (error && shape) {
      const code = error.errorCode!;
      const version = header.apiVersion;
      const match: Match | null =
        error.topic === undefined ? null : (t, p) => t === error.topic && (error.partition === undefined || p === null || p === error.partition);
      if (shape.stamp) {
        res = await handle(call.req);
        if (!(res instanceof NoResponse)) res = shape.stamp(res, version, code, match);
      } else if (apiKey === PRODUCE && (call.req as { acks: number }).acks === 0) {
        // Kafka answers a failed acks=0 produce by closing the connection.
        return new CloseConnection(`fault injection: ${error.error} on an acks=0 Produce (rule ${error.id})`);
      } else if (match === null || !shape.filter) {
        res = shape.fail!(call.req, version, code);
      } else {
        const lookup = (id: string): string | undefined => this.host?.topicName(id);
        const failed = shape.filter(call.req, version, match, lookup);
        const rest = shape.filter(call.req, version, (t, p) => !match(t, p), lookup);
        const failedRes = shape.fail!(failed, version, code);
        if (shape.isEmpty!(rest, version)) {
          res = failedRes;
        } else {
          const handled = await handle(rest);
          res = handled instanceof NoResponse ? handled : shape.merge!(handled, failedRes);
        }
      }
    } else {
      res = await handle(call.req);
    }

    const drop = this.take('drop-response', header, targetsOf);
    if (drop) {
      return new CloseConnection(`fault injection: dropped the response to ${drop.api} v${header.apiVersion} (correlation id ${header.correlationId}, rule ${drop.id})`);
    }
    return res;
  }

  private closed(): CloseConnection {
    return new CloseConnection('fault injection: connection closed while its request was held');
  }

  /** The first rule of `kind` matching the request (after rule `afterId`), consumed once. */
  private take(kind: FaultKind, header: RequestHeader, targets: () => Target[], afterId = 0): FaultRule | undefined {
    for (let i = 0; i < this.rulesInPlace.length; i++) {
      const r = this.rulesInPlace[i]!;
      if (r.kind !== kind || r.id <= afterId || r.apiKey !== header.apiKey) continue;
      if (r.clientId !== undefined && r.clientId !== header.clientId) continue;
      if (r.topic !== undefined && !targets().some((t) => t.topic === r.topic && (r.partition === undefined || t.partition === null || t.partition === r.partition))) continue;
      r.hits++;
      if (r.remaining !== null && --r.remaining <= 0) this.rulesInPlace.splice(i, 1);
      return { ...r };
    }
    return undefined;
  }

  /** Waits while `cond()` holds; false if the connection closed meanwhile. */
  private async holdWhile(cond: () => boolean, signal: AbortSignal): Promise<boolean> {
    while (cond()) {
      if (signal.aborted) return false;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.held.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.held.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    return !signal.aborted;
  }

  private wakeHeld(): void {
    for (const wake of [...this.held]) wake();
  }

  private resolveApi(api: number | string): number {
    if (typeof api === 'number' || /^\d+$/.test(String(api))) {
      const key = Number(api);
      if (this.host && !this.host.apis.has(key)) throw new FaultError(`unknown API key ${api}`);
      return key;
    }
    const wanted = normalize(String(api));
    for (const [key, name] of this.host?.apis ?? []) if (normalize(name) === wanted) return key;
    throw new FaultError(`unknown API ${JSON.stringify(api)}`);
  }

  private resolveError(error: number | string | undefined): number {
    if (error === undefined) throw new FaultError('an error rule needs error (a Kafka error code or name)');
    if (typeof error === 'number' || /^-?\d+$/.test(String(error))) {
      const code = Number(error);
      if (!isKnownErrorCode(code)) throw new FaultError(`unknown error code ${error}`);
      return code;
    }
    const code = errorCodeByName(String(error).toUpperCase());
    if (code === undefined) throw new FaultError(`unknown error name ${JSON.stringify(error)}`);
    return code;
  }
}

/** Real-time sleep, cut short (false) when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
