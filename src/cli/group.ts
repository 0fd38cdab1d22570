// brook group list|describe|reset-offsets|delete

import { Command, Option } from 'commander';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import {
  EARLIEST,
  LATEST,
  NotFoundError,
  commitOffsets,
  deleteGroups,
  describeGroups,
  fetchOffsets,
  listGroups,
  listOffsets,
  tpKey,
  type GroupDescription,
  type KafkaClient,
  type TopicPartition,
} from '../client/index.js';
import {
  CliError,
  ExitCode,
  UsageError,
  action,
  connectionOptions,
  durationArg,
  repeatable,
  timestampArg,
  type ConnectionOpts,
} from './common.js';
import { printJson, printTable } from './output.js';

// -----------------------------------------------------------------------------------------------
// list

async function list(client: KafkaClient, opts: ConnectionOpts): Promise<void> {
  const groups = await listGroups(client);
  if (opts.json) {
    printJson(
      process.stdout,
      groups.map((g) => ({ groupId: g.groupId, state: g.state, protocolType: g.protocolType, type: g.type, coordinator: g.coordinator })),
    );
  } else {
    printTable(process.stdout, ['GROUP', 'STATE', 'PROTOCOL-TYPE', 'COORDINATOR'], groups.map((g) => [g.groupId, g.state, g.protocolType || '-', g.coordinator]));
  }
}

// -----------------------------------------------------------------------------------------------
// describe

/** Kafka describes an unknown group as Dead (newer coordinators answer GROUP_ID_NOT_FOUND). */
function groupMissing(g: GroupDescription, committed: number): boolean {
  return g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND || (g.state === 'Dead' && g.members.length === 0 && committed === 0);
}

interface OffsetRow {
  topic: string;
  partition: number;
  currentOffset: bigint | null;
  logEndOffset: bigint | null;
  lag: bigint | null;
  memberId: string | null;
  host: string | null;
  clientId: string | null;
}

async function describeOne(client: KafkaClient, g: GroupDescription) {
  if (g.errorCode !== ErrorCode.NONE && g.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) throw new CliError(`group "${g.groupId}": ${errorName(g.errorCode)}`);
  const committed = g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? [] : await fetchOffsets(client, g.groupId, null);
  if (groupMissing(g, committed.length)) return null;
  const owner = new Map<string, { memberId: string; host: string; clientId: string }>();
  for (const m of g.members) for (const tp of m.assignment) owner.set(tpKey(tp.topic, tp.partition), { memberId: m.memberId, host: m.clientHost, clientId: m.clientId });
  const keys = new Map<string, TopicPartition>();
  for (const c of committed) keys.set(tpKey(c.topic, c.partition), { topic: c.topic, partition: c.partition });
  for (const m of g.members) for (const tp of m.assignment) keys.set(tpKey(tp.topic, tp.partition), tp);
  // Partitions of deleted topics keep their commits: leave them out of the end-offset look-up.
  const live: TopicPartition[] = [];
  for (const tp of keys.values()) {
    try {
      const t = await client.topic(tp.topic);
      if (t.partitions.some((p) => p.partition === tp.partition)) live.push(tp);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  const ends = await listOffsets(client, live, LATEST);
  const offsets = new Map(committed.map((c) => [tpKey(c.topic, c.partition), c.offset]));
  const rows: OffsetRow[] = [...keys.values()]
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
    .map((tp) => {
      const k = tpKey(tp.topic, tp.partition);
      const current = offsets.get(k) ?? null;
      const end = ends.get(k)?.offset ?? null;
      const o = owner.get(k);
      return {
        topic: tp.topic,
        partition: tp.partition,
        currentOffset: current,
        logEndOffset: end,
        lag: current !== null && end !== null ? (end > current ? end - current : 0n) : null,
        memberId: o?.memberId ?? null,
        host: o?.host ?? null,
        clientId: o?.clientId ?? null,
      };
    });
  const totalLag = rows.reduce((n, r) => n + (r.lag ?? 0n), 0n);
  return {
    groupId: g.groupId,
    state: g.state,
    protocolType: g.protocolType,
    protocol: g.protocol,
    coordinator: g.coordinator,
    members: g.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, host: m.clientHost, assignment: m.assignment })),
    offsets: rows,
    totalLag,
  };
}

interface DescribeOpts extends ConnectionOpts {
  members: boolean;
}

async function describe(client: KafkaClient, opts: DescribeOpts, ids: string[]): Promise<number> {
  const groups = await describeGroups(client, ids);
  const described = [];
  const missing: string[] = [];
  for (const g of groups) {
    const d = await describeOne(client, g);
    if (d) described.push(d);
    else missing.push(g.groupId);
  }
  if (opts.json) {
    printJson(process.stdout, described);
  } else {
    let first = true;
    for (const d of described) {
      if (!first) process.stdout.write('\n');
      first = false;
      process.stdout.write(
        `Group: ${d.groupId}  State: ${d.state}  Protocol: ${d.protocol || '-'}  Members: ${d.members.length}  Coordinator: ${d.coordinator}  Total lag: ${d.totalLag}\n`,
      );
      if (opts.members) {
        printTable(
          process.stdout,
          ['MEMBER-ID', 'CLIENT-ID', 'HOST', 'PARTITIONS', 'ASSIGNMENT'],
          d.members.map((m) => [m.memberId, m.clientId, m.host, m.assignment.length, m.assignment.map((tp) => `${tp.topic}/${tp.partition}`).join(',') || '-']),
        );
      } else {
        printTable(
          process.stdout,
          ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
          d.offsets.map((r) => [r.topic, r.partition, r.currentOffset, r.logEndOffset, r.lag, r.memberId, r.host, r.clientId]),
        );
      }
    }
  }
  for (const id of missing) process.stderr.write(`group "${id}" not found\n`);
  return missing.length > 0 ? ExitCode.NOT_FOUND : ExitCode.OK;
}

// -----------------------------------------------------------------------------------------------
// reset-offsets

interface ResetOpts extends ConnectionOpts {
  topic: string[];
  allTopics: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toCurrent?: boolean;
  toOffset?: string;
  shiftBy?: string;
  toDatetime?: bigint;
  byDuration?: number;
  execute: boolean;
  dryRun: boolean;
}

/** "orders" or "orders:0,2" -> the topic and its chosen partitions (all when none given). */
function topicSpec(spec: string): { topic: string; partitions: number[] | null } {
  const i = spec.lastIndexOf(':');
  if (i < 0) return { topic: spec, partitions: null };
  const list = spec.slice(i + 1);
  if (!/^\d+(,\d+)*$/.test(list)) throw new UsageError(`bad --topic "${spec}": expected topic or topic:partition,partition`);
  return { topic: spec.slice(0, i), partitions: list.split(',').map(Number) };
}

function intArg(name: string, v: string): bigint {
  if (!/^[+-]?\d+$/.test(v.trim())) throw new UsageError(`${name} must be an integer, got "${v}"`);
  return BigInt(v.trim());
}

async function resetOffsets(client: KafkaClient, opts: ResetOpts, [groupId]: string[]): Promise<number> {
  const strategies = [
    opts.toEarliest && 'to-earliest',
    opts.toLatest && 'to-latest',
    opts.toCurrent && 'to-current',
    opts.toOffset !== undefined && 'to-offset',
    opts.shiftBy !== undefined && 'shift-by',
    opts.toDatetime !== undefined && 'to-datetime',
    opts.byDuration !== undefined && 'by-duration',
  ].filter(Boolean);
  if (strategies.length !== 1) {
    throw new UsageError(strategies.length === 0 ? 'choose where to: --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime or --by-duration' : `choose one of ${strategies.map((s) => `--${s}`).join(', ')}`);
  }
  const topicSpecs = opts.topic ?? [];
  if (topicSpecs.length === 0 && !opts.allTopics) throw new UsageError('name the partitions: --topic <topic[:partitions]> (repeatable) or --all-topics');
  if (topicSpecs.length > 0 && opts.allTopics) throw new UsageError('--topic and --all-topics exclude each other');
  if (opts.execute && opts.dryRun) throw new UsageError('--execute and --dry-run exclude each other');

  const [group] = await describeGroups(client, [groupId!]);
  if (group!.errorCode !== ErrorCode.NONE && group!.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) throw new CliError(`group "${groupId}": ${errorName(group!.errorCode)}`);
  // Kafka's rule: offsets of a group can only be reset while it has no members.
  if (group!.state !== 'Empty' && group!.state !== 'Dead' && group!.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) {
    throw new CliError(`group "${groupId}" is ${group!.state} with ${group!.members.length} member(s): stop its consumers first (offsets can only be reset while a group is inactive)`);
  }
  const committed = group!.errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? [] : await fetchOffsets(client, groupId!, null);
  const current = new Map(committed.map((c) => [tpKey(c.topic, c.partition), c.offset]));

  let tps: TopicPartition[];
  if (opts.allTopics) {
    tps = committed.map((c) => ({ topic: c.topic, partition: c.partition }));
    if (tps.length === 0) throw new NotFoundError(`group "${groupId}" has no committed offsets (name the partitions with --topic)`);
  } else {
    tps = [];
    for (const spec of topicSpecs.map(topicSpec)) {
      const t = await client.topic(spec.topic);
      const all = t.partitions.map((p) => p.partition);
      for (const p of spec.partitions ?? all) {
        if (!all.includes(p)) throw new NotFoundError(`partition ${p} of topic "${spec.topic}" not found (it has ${all.length})`);
        tps.push({ topic: spec.topic, partition: p });
      }
    }
  }
  // Topics deleted since their offsets were committed: skip them with a note.
  const live: TopicPartition[] = [];
  for (const tp of tps) {
    try {
      const t = await client.topic(tp.topic);
      if (t.partitions.some((p) => p.partition === tp.partition)) live.push(tp);
      else process.stderr.write(`skipping ${tp.topic}/${tp.partition}: no such partition\n`);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      process.stderr.write(`skipping ${tp.topic}/${tp.partition}: topic not found\n`);
    }
  }
  const [earliest, latest] = await Promise.all([listOffsets(client, live, EARLIEST), listOffsets(client, live, LATEST)]);
  let byTime: Map<string, { offset: bigint }> | undefined;
  if (opts.toDatetime !== undefined || opts.byDuration !== undefined) {
    const at = opts.toDatetime ?? BigInt(Date.now() - opts.byDuration!);
    byTime = await listOffsets(client, live, at);
  }
  const plan = live.map((tp) => {
    const k = tpKey(tp.topic, tp.partition);
    const lo = earliest.get(k)!.offset;
    const hi = latest.get(k)!.offset;
    const cur = current.get(k) ?? null;
    let target: bigint;
    if (opts.toEarliest) target = lo;
    else if (opts.toLatest) target = hi;
    else if (opts.toCurrent) target = cur ?? hi;
    else if (opts.toOffset !== undefined) target = intArg('--to-offset', opts.toOffset);
    else if (opts.shiftBy !== undefined) target = (cur ?? hi) + intArg('--shift-by', opts.shiftBy);
    else {
      const o = byTime!.get(k)!.offset;
      target = o < 0n ? hi : o; // no record at or after the time: the end
    }
    // Like Kafka's tool, keep the new offset inside what the partition holds.
    if (target < lo) target = lo;
    if (target > hi) target = hi;
    return { topic: tp.topic, partition: tp.partition, currentOffset: cur, newOffset: target };
  });
  const execute = opts.execute === true;
  if (execute && plan.length > 0) {
    await commitOffsets(
      client,
      groupId!,
      plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.newOffset })),
    );
  }
  if (opts.json) {
    printJson(process.stdout, { groupId, executed: execute, offsets: plan });
  } else {
    printTable(process.stdout, ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], plan.map((p) => [p.topic, p.partition, p.currentOffset, p.newOffset]));
    if (!execute) process.stderr.write('Dry run: nothing changed. Add --execute to commit these offsets.\n');
  }
  return ExitCode.OK;
}

// -----------------------------------------------------------------------------------------------
// delete

interface DeleteOpts extends ConnectionOpts {
  ifExists: boolean;
}

async function remove(client: KafkaClient, opts: DeleteOpts, ids: string[]): Promise<number> {
  const results = await deleteGroups(client, ids);
  const rows = results.map((r) => {
    const missing = r.errorCode === ErrorCode.GROUP_ID_NOT_FOUND;
    const status = r.errorCode === ErrorCode.NONE ? 'deleted' : missing ? 'not found' : r.errorCode === ErrorCode.NON_EMPTY_GROUP ? 'has members' : 'failed';
    return { ...r, missing, status };
  });
  if (opts.json) {
    printJson(process.stdout, rows.map((r) => ({ groupId: r.name, status: r.status, error: r.errorCode === ErrorCode.NONE ? null : { code: errorName(r.errorCode) } })));
  } else {
    printTable(process.stdout, ['GROUP', 'STATUS'], rows.map((r) => [r.name, r.status]));
  }
  for (const r of rows) {
    if (r.errorCode === ErrorCode.NONE || (r.missing && opts.ifExists)) continue;
    process.stderr.write(`group "${r.name}": ${errorName(r.errorCode)}${r.errorCode === ErrorCode.NON_EMPTY_GROUP ? ' (stop its consumers first)' : ''}\n`);
  }
  const failed = rows.filter((r) => r.errorCode !== ErrorCode.NONE && !(r.missing && opts.ifExists));
  if (failed.length === 0) return ExitCode.OK;
  return failed.every((r) => r.missing) ? ExitCode.NOT_FOUND : ExitCode.ERROR;
}

export function groupCommand(): Command {
  const group = new Command('group').description('list, describe, reset offsets of and delete consumer groups');

  connectionOptions(group.command('list').alias('ls').description('list consumer groups (of every broker)').addHelpText('after', '\nExamples:\n  brook group list\n  brook group list --json')).action(
    action<ConnectionOpts>((client, opts) => list(client, opts)),
  );

  connectionOptions(
    group
      .command('describe')
      .description('show a group\'s state, members and, per partition, committed offset, log end offset and lag')
      .argument('<groups...>', 'group ids')
      .option('--members', 'list the members and their assignments instead of the offsets')
      .addHelpText('after', '\nExamples:\n  brook group describe orders-app\n  brook group describe orders-app --members\n  brook group describe orders-app --json | jq \'.[0].totalLag\''),
  ).action(action<DescribeOpts>((client, opts, args) => describe(client, opts, args)));

  connectionOptions(
    group
      .command('reset-offsets')
      .description('move a group\'s committed offsets (the group must have no active members); a dry run unless --execute')
      .argument('<group>', 'group id')
      .option('-t, --topic <topic[:partitions]>', 'a topic, or some of its partitions as topic:0,1,2 (repeatable)', repeatable)
      .option('--all-topics', 'every partition the group has committed offsets for')
      .option('--to-earliest', 'to the log start offset')
      .option('--to-latest', 'to the log end offset (skip everything not yet consumed)')
      .option('--to-current', 'to the committed offset (or the end when there is none)')
      .option('--to-offset <n>', 'to this offset')
      .option('--shift-by <n>', 'move by n (negative moves back) from the committed offset')
      .addOption(new Option('--to-datetime <time>', 'to the first offset at or after this time (epoch ms or ISO-8601)').argParser(timestampArg))
      .addOption(new Option('--by-duration <duration>', 'to the first offset at or after now minus this (e.g. 30m, 2h, 1d, PT1H)').argParser(durationArg))
      .option('--execute', 'commit the new offsets (without it only the plan is shown)')
      .option('--dry-run', 'only show the plan (the default)')
      .addHelpText(
        'after',
        '\nNew offsets are kept within [log start, log end] of each partition.\n\nExamples:\n  brook group reset-offsets orders-app --topic orders --to-earliest            # show the plan\n  brook group reset-offsets orders-app --topic orders --to-earliest --execute  # apply it\n  brook group reset-offsets orders-app --topic orders:0,1 --shift-by -100 --execute\n  brook group reset-offsets orders-app --all-topics --by-duration 1h --execute',
      ),
  ).action(action<ResetOpts>((client, opts, args) => resetOffsets(client, opts, args)));

  connectionOptions(
    group
      .command('delete')
      .alias('rm')
      .description('delete consumer groups and their committed offsets (groups must have no members)')
      .argument('<groups...>', 'group ids')
      .option('--if-exists', 'succeed if a group does not exist')
      .addHelpText('after', '\nExamples:\n  brook group delete old-app\n  brook group delete a b --if-exists'),
  ).action(action<DeleteOpts>((client, opts, args) => remove(client, opts, args)));

  return group;
}
