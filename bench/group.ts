// Consumer-group phase of the bench: how long kafkajs consumers take to own every partition of
// a topic (4 members joining one group) and to take over after one member leaves cleanly
// (LeaveGroup), against a fresh memory-store broker child per configuration.
//
// Ownership is detected with the consumers' GROUP_JOIN instrumentation event (emitted by kafkajs
// after JoinGroup + SyncGroup, payload.memberAssignment = what the member now owns), confirmed by
// DescribeGroups (state Stable, member set = the live consumers, each member's decoded
// assignment = its latest GROUP_JOIN). GROUP_JOIN carries no generation, so after the first
// confirmation the bench waits a quiet period, confirms again and takes the settle moment as the
// latest GROUP_JOIN of any live member (a member whose SyncGroup answer was still in flight at
// the first check is counted that way).

import { AssignerProtocol, Kafka, logLevel, type Admin, type Consumer, type LogEntry } from 'kafkajs';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { RawClient } from '../src/client/raw-client.js';
import { BenchFailure, CLIENT_ID, createTopic, round, waitReady } from './phases.js';
import { BROKER_MAIN, Child, HOST, freePort, sleep } from './proc.js';

/** One client/broker configuration of the group phase. */
export interface GroupConfig {
  name: string;
  /** kafkajs heartbeatInterval; undefined = client default (3000 ms). */
  heartbeatMs?: number;
  /** kafkajs maxWaitTimeInMs (fetch long-poll); undefined = client default (5000 ms). */
  maxWaitMs?: number;
  /** Broker `--set key=value` settings. */
  brokerSet: string[];
}

export interface GroupPlan {
  partitions: number;
  consumers: number;
  repeats: number;
  configs: GroupConfig[];
  /** Bound on each measurement (join or leave), seconds. */
  timeoutS: number;
}

export interface GroupSample {
  /** Consumers start connecting -> Stable with every partition owned exactly once. */
  joinMs: number;
  /** GROUP_JOIN events seen during the join (rebalances the members went through). */
  joinEvents: number;
  /** LeaveGroup request sent by the leaving member -> the rest own every partition. */
  leaveMs: number;
  /** consumer.disconnect() called -> LeaveGroup sent (kafkajs finishes its fetch long-poll first). */
  disconnectToLeaveMs: number;
  /** Whether the leaving member was the group leader (the bench picks a follower when it can). */
  leaverWasLeader: boolean;
}

export interface GroupResult {
  config: GroupConfig & { heartbeatIntervalMs: number; maxWaitTimeMs: number; sessionTimeoutMs: number };
  samples: GroupSample[];
  joinMedianMs: number;
  leaveMedianMs: number;
  disconnectToLeaveMedianMs: number;
  /** Oddities seen: overlapping / missing partitions in a Stable group. */
  anomalies: string[];
  /**
   * kafkajs error-level log lines with their counts (mostly the expected REBALANCE_IN_PROGRESS
   * answers to Heartbeat / SyncGroup that make members rejoin).
   */
  clientErrorLogs: Record<string, number>;
}

const KAFKAJS_DEFAULTS = { heartbeatIntervalMs: 3000, maxWaitTimeMs: 5000, sessionTimeoutMs: 30000 };
const POLL_MS = 10;
const QUIET_MS = 300;
const log = (s: string): void => void process.stderr.write(s + '\n');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function spawnGroupBroker(port: number, set: string[]): Child {
  const args = [BROKER_MAIN, 'start', '--host', HOST, '--port', String(port), '--memory', '--log-level', 'warn'];
  for (const kv of set) args.push('--set', kv);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  return new Child(`broker:${port}`, proc);
}

interface JoinEvent {
  at: number;
  memberId: string;
  isLeader: boolean;
  /** Partitions of the bench topic, sorted. */
  partitions: number[];
}

/** One kafkajs consumer and what its instrumentation told us. */
class Member {
  readonly joins: JoinEvent[] = [];
  leaveSentAt: number | undefined;
  left = false;

  constructor(
    readonly index: number,
    readonly consumer: Consumer,
    topic: string,
  ) {
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const p = e.payload as unknown as { memberId: string; isLeader: boolean; memberAssignment: Record<string, number[]> };
      const partitions = [...(p.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      this.joins.push({ at: Date.now(), memberId: p.memberId, isLeader: p.isLeader, partitions });
    });
    consumer.on(consumer.events.REQUEST, (e) => {
      const p = e.payload as unknown as { apiName: string; sentAt: number };
      if (p.apiName === 'LeaveGroup' && this.leaveSentAt === undefined) this.leaveSentAt = p.sentAt;
    });
  }

  latest(since: number): JoinEvent | undefined {
    const j = this.joins[this.joins.length - 1];
    return j && j.at >= since ? j : undefined;
  }
}

const sameList = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Every partition 0..n-1 exactly once across the lists. */
function coversExactlyOnce(lists: number[][], n: number): boolean {
  const seen = new Array<number>(n).fill(0);
  for (const l of lists) for (const p of l) if (p >= 0 && p < n) seen[p]!++;
  return seen.every((c) => c === 1) && lists.reduce((s, l) => s + l.length, 0) === n;
}

/**
 * Waits until the live members' latest GROUP_JOINs (all at or after `since`) cover every
 * partition exactly once and DescribeGroups agrees (Stable, same members, same assignments),
 * twice QUIET_MS apart. Resolves with the settle moment (Date.now() scale).
 */
async function waitSettled(
  admin: Admin,
  groupId: string,
  topic: string,
  members: Member[],
  partitions: number,
  since: number,
  timeoutS: number,
  anomalies: string[],
): Promise<number> {
  const deadline = performance.now() + timeoutS * 1000;
  const live = (): Member[] => members.filter((m) => !m.left);
  const eventsReady = (): JoinEvent[] | undefined => {
    const js = live().map((m) => m.latest(since));
    if (js.some((j) => !j)) return undefined;
    const ok = js as JoinEvent[];
    return coversExactlyOnce(
      ok.map((j) => j.partitions),
      partitions,
    )
      ? ok
      : undefined;
  };
  const describeAgrees = async (js: JoinEvent[]): Promise<boolean> => {
    let g;
    try {
      g = (await admin.describeGroups([groupId])).groups[0];
    } catch {
      return false;
    }
    if (!g || g.state !== 'Stable') return false;
    const assigned = g.members.map((m) => {
      const a = m.memberAssignment.length ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
      return { memberId: m.memberId, partitions: [...(a?.assignment[topic] ?? [])].sort((x, y) => x - y) };
    });
    if (g.members.length && !coversExactlyOnce(assigned.map((a) => a.partitions), partitions)) {
      const msg = `Stable group ${groupId} with partitions not owned exactly once: ${JSON.stringify(assigned)}`;
      if (!anomalies.includes(msg)) anomalies.push(msg);
    }
    if (assigned.length !== js.length) return false;
    return js.every((j) => {
      const a = assigned.find((x) => x.memberId === j.memberId);
      return a !== undefined && sameList(a.partitions, j.partitions);
    });
  };
  let confirmedOnce = false;
  for (let i = 0; i < 1_000_000 && performance.now() < deadline; i++) {
    const js = eventsReady();
    if (js && (await describeAgrees(js))) {
      if (confirmedOnce) {
        const again = eventsReady();
        if (again) return Math.max(...again.map((j) => j.at));
      }
      confirmedOnce = true;
      await sleep(QUIET_MS);
      continue;
    }
    confirmedOnce = false;
    await sleep(POLL_MS);
  }
  const state = live()
    .map((m) => `#${m.index} ${m.joins.length} joins, latest ${JSON.stringify(m.joins[m.joins.length - 1] ?? null)}`)
    .join('; ');
  throw new BenchFailure(`group ${groupId} did not settle within ${timeoutS} s (since ${since}): ${state}`);
}

async function measureOnce(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  cfg: GroupConfig,
  plan: GroupPlan,
  rep: number,
  anomalies: string[],
): Promise<GroupSample> {
  const groupId = `bench-group-${cfg.name}-${rep}-${Date.now()}`;
  const members: Member[] = [];
  for (let i = 0; i < plan.consumers; i++) {
    const consumer = kafka.consumer({
      groupId,
      ...(cfg.heartbeatMs !== undefined ? { heartbeatInterval: cfg.heartbeatMs } : {}),
      ...(cfg.maxWaitMs !== undefined ? { maxWaitTimeInMs: cfg.maxWaitMs } : {}),
      retry: { retries: 10 },
    });
    members.push(new Member(i, consumer, topic));
  }
  try {
    // 1. join: all consumers start connecting at t0.
    const t0 = Date.now();
    const started = Promise.all(
      members.map(async (m) => {
        await m.consumer.connect();
        await m.consumer.subscribe({ topics: [topic], fromBeginning: true });
        await m.consumer.run({ eachMessage: async () => {} });
      }),
    );
    started.catch(() => {}); // a failure surfaces as a settle timeout below
    const joined = await waitSettled(admin, groupId, topic, members, plan.partitions, t0, plan.timeoutS, anomalies);
    await started;
    const joinMs = joined - t0;
    const joinEvents = members.reduce((s, m) => s + m.joins.length, 0);

    // 2. one member (a follower when there is one) leaves cleanly.
    const live = members.filter((m) => !m.left);
    const leaver = [...live].reverse().find((m) => !m.latest(0)?.isLeader) ?? live[live.length - 1]!;
    const leaverWasLeader = leaver.latest(0)?.isLeader ?? false;
    const tDisconnect = Date.now();
    leaver.left = true;
    await leaver.consumer.disconnect();
    if (leaver.leaveSentAt === undefined) throw new BenchFailure(`consumer #${leaver.index} disconnected without a LeaveGroup request`);
    const tLeave = leaver.leaveSentAt;
    const rebalanced = await waitSettled(admin, groupId, topic, members, plan.partitions, tLeave, plan.timeoutS, anomalies);
    return { joinMs, joinEvents, leaveMs: rebalanced - tLeave, disconnectToLeaveMs: tLeave - tDisconnect, leaverWasLeader };
  } finally {
    await Promise.all(members.filter((m) => !m.left).map((m) => m.consumer.disconnect().catch(() => {})));
  }
}

async function runConfig(plan: GroupPlan, cfg: GroupConfig): Promise<GroupResult> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawnGroupBroker(port, cfg.brokerSet);
  const anomalies: string[] = [];
  const clientErrors = new Map<string, number>();
  const kafka = new Kafka({
    clientId: CLIENT_ID,
    brokers: [`${HOST}:${port}`],
    logLevel: logLevel.ERROR,
    logCreator: () => (entry: LogEntry) => {
      const key = `${entry.log.message}${entry.log['error'] ? `: ${String(entry.log['error'])}` : ''}`;
      clientErrors.set(key, (clientErrors.get(key) ?? 0) + 1);
    },
  });
  let admin: Admin | undefined;
  let raw: RawClient | undefined;
  try {
    await waitReady(child, port, t0);
    raw = await RawClient.connect(HOST, port, CLIENT_ID);
    const topic = `bench-group-${cfg.name}`;
    await createTopic(raw, topic, plan.partitions);
    admin = kafka.admin();
    await admin.connect();
    const samples: GroupSample[] = [];
    for (let rep = 0; rep < plan.repeats; rep++) {
      const s = await measureOnce(kafka, admin, topic, cfg, plan, rep, anomalies);
      samples.push(s);
      log(
        `  group ${cfg.name} #${rep + 1}: join ${s.joinMs} ms (${s.joinEvents} GROUP_JOINs), ` +
          `leave -> rebalanced ${s.leaveMs} ms (disconnect -> LeaveGroup ${s.disconnectToLeaveMs} ms)`,
      );
    }
    return {
      config: {
        ...cfg,
        heartbeatIntervalMs: cfg.heartbeatMs ?? KAFKAJS_DEFAULTS.heartbeatIntervalMs,
        maxWaitTimeMs: cfg.maxWaitMs ?? KAFKAJS_DEFAULTS.maxWaitTimeMs,
        sessionTimeoutMs: KAFKAJS_DEFAULTS.sessionTimeoutMs,
      },
      samples,
      joinMedianMs: round(median(samples.map((s) => s.joinMs)), 0),
      leaveMedianMs: round(median(samples.map((s) => s.leaveMs)), 0),
      disconnectToLeaveMedianMs: round(median(samples.map((s) => s.disconnectToLeaveMs)), 0),
      anomalies,
      clientErrorLogs: Object.fromEntries(clientErrors),
    };
  } finally {
    await admin?.disconnect().catch(() => {});
    raw?.close();
    const code = await child.stop();
    if (code !== 0) throw new BenchFailure(`broker (group ${cfg.name}) exited with ${code}:\n${child.output()}`);
    if (child.output()) log(`broker (group ${cfg.name}) wrote (log level warn):\n${child.output()}`);
  }
}

/** The configurations measured by default. */
export function defaultGroupConfigs(): GroupConfig[] {
  return [
    { name: 'hb100', heartbeatMs: 100, brokerSet: [] },
    { name: 'defaults', brokerSet: [] },
    { name: 'hb100-wait100', heartbeatMs: 100, maxWaitMs: 100, brokerSet: [] },
    { name: 'defaults-delay3000', brokerSet: ['group.initial.rebalance.delay.ms=3000'] },
  ];
}

export async function runGroupPhase(plan: GroupPlan): Promise<GroupResult[]> {
  const out: GroupResult[] = [];
  for (const cfg of plan.configs) {
    log(
      `group ${cfg.name}: ${plan.consumers} kafkajs consumers, ${plan.partitions} partitions, heartbeat ` +
        `${cfg.heartbeatMs ?? 'default'} ms, maxWait ${cfg.maxWaitMs ?? 'default'} ms` +
        (cfg.brokerSet.length ? `, broker --set ${cfg.brokerSet.join(' ')}` : '') +
        `, ${plan.repeats} run(s) ...`,
    );
    out.push(await runConfig(plan, cfg));
  }
  return out;
}
