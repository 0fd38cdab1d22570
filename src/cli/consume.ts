// brook consume: read records from partitions (assign mode) or as a member of a consumer group,
// from the beginning, the end, an offset, N before the end, or a time; stop at the end of the
// partitions (default), after --count records, or never (--follow) until Ctrl-C.

import { Command, InvalidArgumentError, Option } from 'commander';
import {
  EARLIEST,
  Fetcher,
  GroupMember,
  LATEST,
  fetchOffsets,
  listOffsets,
  tpKey,
  type ConsumedRecord,
  type KafkaClient,
  type Position,
  type TopicPartition,
} from '../client/index.js';
import { retriable } from '../client/errors.js';
import { ExitCode, UsageError, action, connectionOptions, durationArg, partitionList, positiveInt, timestampArg, type ConnectionOpts } from './common.js';
import { encodingArg, recordFormatter, type Encoding } from './format.js';
import { Progress } from './output.js';

type StartSpec = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: bigint } | { kind: 'fromEnd'; n: bigint } | { kind: 'time'; at: bigint };

interface ConsumeOpts extends ConnectionOpts {
  topic: string[];
  group?: string;
  partition?: number[];
  offset?: StartSpec;
  fromBeginning: boolean;
  fromTimestamp?: bigint;
  count?: number;
  follow: boolean;
  idleTimeout?: number;
  format: string;
  encoding: Encoding;
  isolation: 'read_uncommitted' | 'read_committed';
  commit: boolean;
  sessionTimeout: number;
}

/** Checks a --format value up front (templates with unknown placeholders are usage errors). */
function formatArg(value: string): string {
  recordFormatter(value, 'utf8');
  return value;
}

function offsetArg(value: string): StartSpec {
  const v = value.trim().toLowerCase();
  if (v === 'beginning' || v === 'earliest' || v === 'start') return { kind: 'earliest' };
  if (v === 'end' || v === 'latest') return { kind: 'latest' };
  if (/^\d+$/.test(v)) return { kind: 'offset', offset: BigInt(v) };
  if (/^-\d+$/.test(v)) return { kind: 'fromEnd', n: -BigInt(v) };
  throw new InvalidArgumentError('offset must be beginning, end, an offset N, or -N (N records before the end)');
}

/** Resolves a start spec to offsets for partitions, kept within [log start, end]. */
async function startOffsets(client: KafkaClient, tps: TopicPartition[], spec: StartSpec, isolation: number): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (tps.length === 0) return out;
  const [lo, hi] = await Promise.all([listOffsets(client, tps, EARLIEST, isolation), listOffsets(client, tps, LATEST, isolation)]);
  const byTime = spec.kind === 'time' ? await listOffsets(client, tps, spec.at, isolation) : undefined;
  for (const tp of tps) {
    const k = tpKey(tp.topic, tp.partition);
    const start = lo.get(k)!.offset;
    const end = hi.get(k)!.offset;
    let o: bigint;
    switch (spec.kind) {
      case 'earliest':
        o = start;
        break;
      case 'latest':
        o = end;
        break;
      case 'offset':
        o = spec.offset;
        break;
      case 'fromEnd':
        o = end - spec.n;
        break;
      case 'time': {
        const t = byTime!.get(k)!.offset;
        o = t < 0n ? end : t;
        break;
      }
    }
    out.set(k, o < start ? start : o > end ? end : o);
  }
  return out;
}

async function consume(client: KafkaClient, opts: ConsumeOpts): Promise<number> {
  const starts = [opts.offset !== undefined, opts.fromBeginning, opts.fromTimestamp !== undefined].filter(Boolean).length;
  if (starts > 1) throw new UsageError('choose one of --offset, --from-beginning and --from-timestamp');
  if (opts.group !== undefined && opts.partition !== undefined) throw new UsageError('--group subscribes to whole topics: leave out --partition (or leave out --group to read chosen partitions)');
  if (opts.group !== undefined && opts.offset?.kind === 'offset') throw new UsageError('with --group, --offset can be beginning, end or -N (where the group has no committed offset); an absolute offset needs assign mode (no --group)');
  const spec: StartSpec = opts.fromBeginning ? { kind: 'earliest' } : opts.fromTimestamp !== undefined ? { kind: 'time', at: opts.fromTimestamp } : (opts.offset ?? { kind: 'earliest' });
  const isolation = opts.isolation === 'read_committed' ? 1 : 0;
  const format = recordFormatter(opts.json ? 'json' : opts.format, opts.encoding);

  // Topics must exist (no auto-creation by a consumer, as librdkafka's default).
  const topics = [...new Set(opts.topic)];
  const partitionsOf = new Map<string, number[]>();
  for (const t of topics) {
    const md = await client.topic(t);
    const all = md.partitions.map((p) => p.partition);
    if (opts.partition) {
      const bad = opts.partition.filter((p) => !all.includes(p));
      if (bad.length > 0) throw new UsageError(`topic "${t}" has no partition ${bad.join(', ')} (it has ${all.length})`);
    }
    partitionsOf.set(t, opts.partition ?? all);
  }

  const fetcher = new Fetcher(client, { isolationLevel: isolation, maxWaitMs: 500, resetPolicy: 'earliest' });
  const member = opts.group !== undefined ? new GroupMember(client, { groupId: opts.group, topics, sessionTimeoutMs: opts.sessionTimeout }) : undefined;
  /** Offsets after the last record printed, per partition: what a commit may say. */
  let printed = new Map<string, Position>();
  let ends = new Map<string, bigint>();

  const assign = async (tps: TopicPartition[]): Promise<void> => {
    let positions: Position[];
    if (member) {
      const committed = new Map((await fetchOffsets(client, member.groupId, tps, 'group')).map((c) => [tpKey(c.topic, c.partition), c.offset]));
      const fresh = tps.filter((tp) => !committed.has(tpKey(tp.topic, tp.partition)));
      const defaults = await startOffsets(client, fresh, spec, isolation);
      positions = tps.map((tp) => {
        const k = tpKey(tp.topic, tp.partition);
        return { ...tp, offset: committed.get(k) ?? defaults.get(k)! };
      });
    } else {
      const offs = await startOffsets(client, tps, spec, isolation);
      positions = tps.map((tp) => ({ ...tp, offset: offs.get(tpKey(tp.topic, tp.partition))! }));
    }
    fetcher.assign(positions);
    printed = new Map(positions.map((p) => [tpKey(p.topic, p.partition), { ...p }]));
    if (!opts.follow) {
      const latest = await listOffsets(client, tps, LATEST, isolation);
      ends = new Map([...latest].map(([k, v]) => [k, v.offset]));
      pauseFinished();
    }
  };
  const pauseFinished = (): void => {
    for (const p of fetcher.assigned()) {
      const end = ends.get(tpKey(p.topic, p.partition));
      if (end !== undefined && p.offset >= end) fetcher.pause(p.topic, p.partition);
    }
  };
  const commit = async (): Promise<void> => {
    if (!member || !opts.commit || member.memberId === '') return;
    await member.commit([...printed.values()].map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })));
  };

  let stopping = false;
  let interrupted = 0;
  const onSignal = (): void => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    stopping = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let outputClosed = false;
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') {
      outputClosed = true;
      stopping = true;
    }
  };
  process.stdout.on('error', onStdoutError);

  const progress = Progress.for(process.stderr, process.stdout.isTTY !== true);
  let count = 0;
  let lastRecordAt = Date.now();
  let lastCommitAt = Date.now();
  let lostConnection = false;
  try {
    if (member) await assign(await member.join());
    else await assign(topics.flatMap((topic) => partitionsOf.get(topic)!.map((partition) => ({ topic, partition }))));
    while (!stopping) {
      if (member?.needsRejoin) {
        await commit().catch(() => undefined);
        await assign(await member.join());
        continue;
      }
      if (!opts.follow && fetcher.active.length === 0) break;
      if (fetcher.active.length === 0) {
        // Following with nothing assigned (more members than partitions): wait for a rebalance.
        if (opts.idleTimeout !== undefined && Date.now() - lastRecordAt >= opts.idleTimeout) break;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      let records: ConsumedRecord[];
      try {
        records = await fetcher.poll();
        lostConnection = false;
      } catch (err) {
        // Following outlives a broker restart; a bounded read fails at once (exit 1).
        if (!opts.follow || !retriable(err)) throw err;
        if (!lostConnection) process.stderr.write(`brook consume: ${(err as Error).message}; retrying\n`);
        lostConnection = true;
        client.invalidate();
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      let out = '';
      let stoppedAt = -1;
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        out += format(r);
        count++;
        const p = printed.get(tpKey(r.topic, r.partition));
        if (p) p.offset = r.offset + 1n;
        if (opts.count !== undefined && count >= opts.count) {
          stoppedAt = i;
          break;
        }
      }
      if (out.length > 0 && !outputClosed) process.stdout.write(out);
      if (records.length > 0) lastRecordAt = Date.now();
      if (stoppedAt >= 0) break;
      // The whole answer was printed: positions (also past control batches) are safe to commit.
      for (const p of fetcher.assigned()) {
        const q = printed.get(tpKey(p.topic, p.partition));
        if (q) q.offset = p.offset;
      }
      progress.update(`consumed ${count} records`);
      if (!opts.follow) pauseFinished();
      if (opts.follow && opts.idleTimeout !== undefined && Date.now() - lastRecordAt >= opts.idleTimeout) break;
      if (member && Date.now() - lastCommitAt >= 5000) {
        lastCommitAt = Date.now();
        await commit().catch((err: unknown) => {
          if (!opts.follow || !retriable(err)) throw err;
        });
      }
    }
    await commit();
  } finally {
    progress.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onStdoutError);
    await member?.leave();
  }
  if (process.stderr.isTTY && !opts.json) process.stderr.write(`Consumed ${count} record${count === 1 ? '' : 's'}.\n`);
  return ExitCode.OK;
}

export function consumeCommand(): Command {
  const cmd = new Command('consume')
    .description('read records from topics and print them, one per line')
    .requiredOption('-t, --topic <topics...>', 'topic(s) to read')
    .option('-g, --group <id>', 'read as a member of this consumer group (partitions shared with other members, offsets committed)')
    .option('-p, --partition <list>', 'read only these partitions, e.g. 0 or 0,2,5-7 (not with --group)', partitionList)
    .addOption(new Option('-o, --offset <where>', 'start at beginning, end, an offset N, or -N (N before the end); with --group only where nothing is committed').argParser(offsetArg))
    .option('--from-beginning', 'same as --offset beginning')
    .addOption(new Option('--from-timestamp <time>', 'start at the first record at or after this time (epoch ms or ISO-8601)').argParser(timestampArg))
    .option('-c, --count <n>', 'stop after n records', positiveInt('--count'))
    .option('-f, --follow', 'keep waiting for new records (Ctrl-C stops); default: stop at the end of the partitions')
    .addOption(new Option('--idle-timeout <duration>', 'with --follow: stop after this long without a record (e.g. 5s, 1m)').argParser(durationArg))
    .option('--format <format>', 'text (the value), json (JSON lines) or a template such as "{key}={value}"', formatArg, 'text')
    .addOption(new Option('--encoding <enc>', 'how keys, values and header values are printed').argParser(encodingArg).default('utf8'))
    .addOption(new Option('--isolation <level>', 'read_committed hides aborted and open transactions').choices(['read_uncommitted', 'read_committed']).default('read_uncommitted'))
    .option('--no-commit', 'with --group: do not commit offsets')
    .option('--session-timeout <ms>', 'with --group: session timeout', positiveInt('--session-timeout'), 10_000)
    .addHelpText(
      'after',
      `
Without --follow the command stops once it has read up to the end offsets the partitions had when it
started. Default start: the beginning. With --group, committed offsets win; offsets are committed
every 5 s and on exit (Ctrl-C, --count, end reached), and the member leaves the group.

Template placeholders: {topic} {partition} {offset} {timestamp} {time} {timestampType} {key}
{value} {headers} {header.NAME}; \\t and \\n are understood. --json is --format json:
  {"topic","partition","offset","timestamp","timestampType","key","value","headers":[{"key","value"}]}

Examples:
  brook consume -t demo                               # everything, then exit
  brook consume -t demo -f                            # and keep following
  brook consume -t demo -o -10 --format '{partition}:{offset} {key}={value}'
  brook consume -t demo -p 0 -o 42 -c 1 --json
  brook consume -t demo --from-timestamp 2024-05-01T00:00:00Z
  brook consume -t orders -g billing -f`,
    );
  connectionOptions(cmd);
  return cmd.action(action<ConsumeOpts>((client, opts) => consume(client, opts)));
}
