// brook topic create|list|describe|delete|alter

import { Command } from 'commander';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import {
  ConfigOp,
  EARLIEST,
  LATEST,
  NotFoundError,
  ResourceType,
  alterConfigs,
  createPartitions,
  createTopics,
  deleteTopics,
  describeConfigs,
  listOffsets,
  tpKey,
  type ConfigChange,
  type KafkaClient,
} from '../client/index.js';
import { CliError, ExitCode, UsageError, action, connectionOptions, keyValue, keyValueMap, nonNegativeInt, positiveInt, repeatable, type ConnectionOpts } from './common.js';
import { printJson, printTable } from './output.js';

interface CreateOpts extends ConnectionOpts {
  partitions?: number;
  replicationFactor?: number;
  config: string[];
  ifNotExists: boolean;
  validateOnly: boolean;
}

interface ListOpts extends ConnectionOpts {
  internal: boolean;
}

interface DescribeOpts extends ConnectionOpts {
  internal: boolean;
  allConfigs: boolean;
}

interface DeleteOpts extends ConnectionOpts {
  ifExists: boolean;
}

interface AlterOpts extends ConnectionOpts {
  partitions?: number;
  config: string[];
  deleteConfig: string[];
  validateOnly: boolean;
}

/** Exit code for per-item results: 0 if all ok, 3 if the only failures are "not found", else 1. */
function combined(codes: number[], notFound: number): number {
  const failed = codes.filter((c) => c !== ErrorCode.NONE);
  if (failed.length === 0) return ExitCode.OK;
  return failed.every((c) => c === notFound) ? ExitCode.NOT_FOUND : ExitCode.ERROR;
}

async function create(client: KafkaClient, opts: CreateOpts, names: string[]): Promise<number> {
  const configs = keyValueMap(opts.config ?? []);
  const results = await createTopics(
    client,
    names.map((name) => ({ name, partitions: opts.partitions, replicationFactor: opts.replicationFactor, configs })),
    { validateOnly: opts.validateOnly === true, timeoutMs: opts.timeout },
  );
  const rows = results.map((r) => {
    const exists = r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS;
    const ok = r.errorCode === ErrorCode.NONE || (exists && opts.ifNotExists);
    const status = r.errorCode === ErrorCode.NONE ? (opts.validateOnly ? 'valid' : 'created') : exists && opts.ifNotExists ? 'exists' : 'failed';
    return { ...r, ok, status };
  });
  if (opts.json) {
    printJson(
      process.stdout,
      rows.map((r) => ({
        name: r.name,
        status: r.status,
        topicId: r.topicId,
        partitions: r.errorCode === ErrorCode.NONE ? r.partitions : null,
        replicationFactor: r.errorCode === ErrorCode.NONE ? r.replicationFactor : null,
        error: r.errorCode === ErrorCode.NONE ? null : { code: errorName(r.errorCode), message: r.errorMessage },
      })),
    );
  } else {
    printTable(
      process.stdout,
      ['TOPIC', 'STATUS', 'PARTITIONS', 'REPLICATION-FACTOR', 'TOPIC-ID'],
      rows.map((r) => [r.name, r.status, r.errorCode === ErrorCode.NONE ? r.partitions : null, r.errorCode === ErrorCode.NONE ? r.replicationFactor : null, r.topicId]),
    );
  }
  for (const r of rows) if (!r.ok) process.stderr.write(`topic "${r.name}": ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}\n`);
  return rows.every((r) => r.ok) ? ExitCode.OK : ExitCode.ERROR;
}

async function list(client: KafkaClient, opts: ListOpts): Promise<void> {
  const md = await client.metadata(null);
  const topics = md.topics
    .filter((t) => t.errorCode === ErrorCode.NONE && (opts.internal || !t.isInternal))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => ({
      name: t.name,
      topicId: t.topicId,
      partitions: t.partitions.length,
      replicationFactor: t.partitions[0]?.replicas.length ?? 0,
      internal: t.isInternal,
    }));
  if (opts.json) printJson(process.stdout, topics);
  else printTable(process.stdout, ['TOPIC', 'PARTITIONS', 'REPLICATION-FACTOR'], topics.map((t) => [t.name, t.partitions, t.replicationFactor]));
}

async function describe(client: KafkaClient, opts: DescribeOpts, names: string[]): Promise<number> {
  const md = await client.metadata(names.length > 0 ? names : null);
  let topics = md.topics;
  if (names.length === 0) topics = topics.filter((t) => t.errorCode === ErrorCode.NONE && (opts.internal || !t.isInternal));
  topics = [...topics].sort((a, b) => (names.length > 0 ? names.indexOf(a.name) - names.indexOf(b.name) : a.name < b.name ? -1 : 1));
  const missing = topics.filter((t) => t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).map((t) => t.name);
  const failed = topics.filter((t) => t.errorCode !== ErrorCode.NONE && t.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const ok = topics.filter((t) => t.errorCode === ErrorCode.NONE);
  const tps = ok.flatMap((t) => t.partitions.filter((p) => p.leader >= 0).map((p) => ({ topic: t.name, partition: p.partition })));
  const [earliest, latest] = await Promise.all([listOffsets(client, tps, EARLIEST), listOffsets(client, tps, LATEST)]);
  const described = [];
  for (const t of ok) {
    const configs = await describeConfigs(client, ResourceType.TOPIC, t.name).catch((err) => {
      if (err instanceof NotFoundError) return [];
      throw err;
    });
    described.push({
      name: t.name,
      topicId: t.topicId,
      internal: t.isInternal,
      partitionCount: t.partitions.length,
      replicationFactor: t.partitions[0]?.replicas.length ?? 0,
      configs: configs.filter((c) => opts.allConfigs || !c.isDefault),
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        offline: p.offline,
        logStartOffset: earliest.get(tpKey(t.name, p.partition))?.offset ?? null,
        endOffset: latest.get(tpKey(t.name, p.partition))?.offset ?? null,
      })),
    });
  }
  if (opts.json) {
    printJson(process.stdout, described);
  } else {
    let first = true;
    for (const t of described) {
      if (!first) process.stdout.write('\n');
      first = false;
      process.stdout.write(`Topic: ${t.name}  Id: ${t.topicId}  Partitions: ${t.partitionCount}  Replication-factor: ${t.replicationFactor}${t.internal ? '  (internal)' : ''}\n`);
      const cfg = t.configs.map((c) => `${c.name}=${c.isSensitive ? '(sensitive)' : (c.value ?? '')}`);
      process.stdout.write(`Configs: ${cfg.length > 0 ? cfg.join(', ') : '(all defaults)'}\n`);
      printTable(
        process.stdout,
        ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'LOG-START-OFFSET', 'END-OFFSET', 'RECORDS'],
        t.partitions.map((p) => [
          p.partition,
          p.leader,
          p.replicas.join(','),
          p.isr.join(','),
          p.logStartOffset,
          p.endOffset,
          p.logStartOffset !== null && p.endOffset !== null ? p.endOffset - p.logStartOffset : null,
        ]),
      );
    }
  }
  for (const name of missing) process.stderr.write(`topic "${name}" not found\n`);
  for (const t of failed) process.stderr.write(`topic "${t.name}": ${errorName(t.errorCode)}\n`);
  if (failed.length > 0) return ExitCode.ERROR;
  return missing.length > 0 ? ExitCode.NOT_FOUND : ExitCode.OK;
}

async function remove(client: KafkaClient, opts: DeleteOpts, names: string[]): Promise<number> {
  const results = await deleteTopics(client, names, { timeoutMs: opts.timeout });
  const rows = results.map((r) => {
    const missing = r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || r.errorCode === ErrorCode.UNKNOWN_TOPIC_ID;
    const status = r.errorCode === ErrorCode.NONE ? 'deleted' : missing ? 'not found' : 'failed';
    return { ...r, missing, status };
  });
  if (opts.json) {
    printJson(
      process.stdout,
      rows.map((r) => ({ name: r.name, status: r.status, error: r.errorCode === ErrorCode.NONE ? null : { code: errorName(r.errorCode), message: r.errorMessage } })),
    );
  } else {
    printTable(process.stdout, ['TOPIC', 'STATUS'], rows.map((r) => [r.name, r.status]));
  }
  for (const r of rows) {
    if (r.errorCode !== ErrorCode.NONE && !(r.missing && opts.ifExists)) process.stderr.write(`topic "${r.name}": ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}\n`);
  }
  const codes = rows.map((r) => (r.missing && opts.ifExists ? ErrorCode.NONE : r.errorCode));
  return combined(
    codes.map((c) => (c === ErrorCode.UNKNOWN_TOPIC_ID ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : c)),
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  );
}

async function alter(client: KafkaClient, opts: AlterOpts, [name]: string[]): Promise<number> {
  const set = keyValueMap(opts.config ?? []);
  const deleted = opts.deleteConfig ?? [];
  const validateOnly = opts.validateOnly === true;
  if (opts.partitions === undefined && Object.keys(set).length === 0 && deleted.length === 0) {
    throw new UsageError('nothing to change: give --partitions, --config or --delete-config');
  }
  const topic = await client.topic(name!, { refresh: true });
  const changes: ConfigChange[] = [
    ...Object.entries(set).map(([k, v]) => ({ name: k, op: ConfigOp.SET, value: v })),
    ...deleted.map((k) => ({ name: k, op: ConfigOp.DELETE, value: null })),
  ];
  const before = topic.partitions.length;
  if (opts.partitions !== undefined && opts.partitions !== before) {
    if (opts.partitions < before) throw new CliError(`topic "${name}" has ${before} partitions; Kafka can only add partitions, not remove them`);
    const [r] = await createPartitions(client, [{ name: name!, count: opts.partitions }], { validateOnly, timeoutMs: opts.timeout });
    if (r!.errorCode !== ErrorCode.NONE) throw new CliError(`topic "${name}": ${errorName(r!.errorCode)}${r!.errorMessage ? `: ${r!.errorMessage}` : ''}`);
  }
  if (changes.length > 0) await alterConfigs(client, ResourceType.TOPIC, name!, changes, validateOnly);
  const result = {
    name,
    validateOnly,
    partitions: { before, after: opts.partitions ?? before },
    configsSet: set,
    configsDeleted: deleted,
  };
  if (opts.json) {
    printJson(process.stdout, result);
  } else {
    const rows: Array<[string, string]> = [];
    if (opts.partitions !== undefined) rows.push(['partitions', opts.partitions === before ? `${before} (unchanged)` : `${before} -> ${opts.partitions}`]);
    for (const [k, v] of Object.entries(result.configsSet)) rows.push([k, `set to ${v}`]);
    for (const k of deleted) rows.push([k, 'reset to default']);
    printTable(process.stdout, ['CHANGE', validateOnly ? 'RESULT (validated only, not applied)' : 'RESULT'], rows);
  }
  return ExitCode.OK;
}

export function topicCommand(): Command {
  const topic = new Command('topic').description('create, list, describe, delete and alter topics');

  connectionOptions(
    topic
      .command('create')
      .description('create topics')
      .argument('<topics...>', 'names of the topics to create')
      .option('-p, --partitions <n>', 'number of partitions (default: the broker\'s num.partitions)', positiveInt('--partitions'))
      .option('-r, --replication-factor <n>', 'replication factor (default: the broker\'s default.replication.factor)', positiveInt('--replication-factor'))
      .option('-c, --config <key=value>', 'topic config, Kafka names (repeatable)', keyValue)
      .option('--if-not-exists', 'succeed if a topic already exists')
      .option('--validate-only', 'only check that the topics could be created')
      .addHelpText('after', '\nExamples:\n  brook topic create orders -p 6\n  brook topic create events -p 3 -c retention.ms=86400000 -c cleanup.policy=compact\n  brook topic create demo --if-not-exists'),
  ).action(action<CreateOpts>((client, opts, args) => create(client, opts, args)));

  connectionOptions(
    topic
      .command('list')
      .alias('ls')
      .description('list topics')
      .option('--internal', 'include internal topics (__consumer_offsets, __transaction_state)')
      .addHelpText('after', '\nExamples:\n  brook topic list\n  brook topic list --json | jq -r \'.[].name\''),
  ).action(action<ListOpts>((client, opts) => list(client, opts)));

  connectionOptions(
    topic
      .command('describe')
      .description('show partitions (leader, replicas, ISR, offsets) and non-default configs of topics')
      .argument('[topics...]', 'topics to describe (default: all)')
      .option('--internal', 'with no topic named: include internal topics')
      .option('--all-configs', 'show every config, not only those set on the topic')
      .addHelpText('after', '\nExamples:\n  brook topic describe orders\n  brook topic describe orders --all-configs --json'),
  ).action(action<DescribeOpts>((client, opts, args) => describe(client, opts, args)));

  connectionOptions(
    topic
      .command('delete')
      .alias('rm')
      .description('delete topics and all their data')
      .argument('<topics...>', 'names of the topics to delete')
      .option('--if-exists', 'succeed if a topic does not exist')
      .addHelpText('after', '\nExamples:\n  brook topic delete demo\n  brook topic delete a b c --if-exists'),
  ).action(action<DeleteOpts>((client, opts, args) => remove(client, opts, args)));

  connectionOptions(
    topic
      .command('alter')
      .description('add partitions to a topic or change its configs')
      .argument('<topic>', 'the topic to change')
      .option('-p, --partitions <n>', 'new total number of partitions (can only grow)', nonNegativeInt('--partitions'))
      .option('-c, --config <key=value>', 'set a topic config (repeatable)', keyValue)
      .option('-d, --delete-config <key>', 'remove a topic config, back to the default (repeatable)', repeatable)
      .option('--validate-only', 'only check that the change would be accepted')
      .addHelpText('after', '\nExamples:\n  brook topic alter orders -p 12\n  brook topic alter orders -c retention.ms=3600000 -d cleanup.policy'),
  ).action(action<AlterOpts>((client, opts, args) => alter(client, opts, args)));

  return topic;
}
