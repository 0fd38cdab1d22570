// brook quota set|delete|list: client quotas over AlterClientQuotas and DescribeClientQuotas
// (KIP-546), against Brook or Kafka; what kafka-configs.sh --alter/--describe does for the
// entity types users, clients and ips. Entities as Kafka's tool names them: --user/--user-default,
// --client/--client-default (--client-id is the connection's own client id, as for every command),
// --ip/--ip-default; a user and a client id together are one entity. Keys and values are checked
// here as the broker would (ClientQuotaControlManager) so a typo is a usage error, not a request.

import { Command, InvalidArgumentError } from 'commander';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { KafkaError, QuotaMatchType, alterClientQuotas, describeClientQuotas, type KafkaClient, type QuotaEntity, type QuotaFilterComponent } from '../client/index.js';
import { CliError, ExitCode, UsageError, action, connectionOptions, type ConnectionOpts } from './common.js';
import { printJson, printTable } from './output.js';
import { IP_KEYS, USER_CLIENT_KEYS } from '../security/quotas.js';

const USER = 'user';
const CLIENT_ID = 'client-id';
const IP = 'ip';
const TYPES = [USER, CLIENT_ID, IP];


interface EntityOpts {
  user?: string | true;
  userDefault?: boolean;
  client?: string | true;
  clientDefault?: boolean;
  ip?: string | true;
  ipDefault?: boolean;
}

type SetOpts = ConnectionOpts & EntityOpts;
type DeleteOpts = ConnectionOpts & EntityOpts & { ifExists?: boolean };
type ListOpts = ConnectionOpts & EntityOpts & { strict?: boolean };

/** The entity set/delete name: each type a name or the default (null). */
function entityOf(opts: EntityOpts): QuotaEntity {
  const entity: QuotaEntity = {};
  const pick = (type: string, flag: string, name: string | true | undefined, dflt: boolean | undefined): void => {
    if (name !== undefined && dflt) throw new UsageError(`--${flag} and --${flag}-default name different entities: give one`);
    if (typeof name === 'string') {
      if (name === '') throw new UsageError(`--${flag} needs a name (--${flag}-default for the default entity)`);
      entity[type] = name;
    } else if (dflt) {
      entity[type] = null;
    }
  };
  pick(USER, 'user', opts.user, opts.userDefault);
  pick(CLIENT_ID, 'client', opts.client, opts.clientDefault);
  pick(IP, 'ip', opts.ip, opts.ipDefault);
  if (IP in entity && (USER in entity || CLIENT_ID in entity)) throw new UsageError('an ip entity stands alone: no --user or --client with --ip');
  return entity;
}

function requireEntity(entity: QuotaEntity): QuotaEntity {
  if (Object.keys(entity).length === 0) throw new UsageError('name the entity: --user <name> | --user-default, --client <id> | --client-default (alone or with a user), or --ip <address> | --ip-default');
  return entity;
}

export function entityText(entity: QuotaEntity): string {
  return TYPES.filter((t) => t in entity)
    .map((t) => `${t}=${entity[t] ?? '<default>'}`)
    .join(',');
}

function keysFor(entity: QuotaEntity): Readonly<Record<string, string>> {
  return IP in entity ? IP_KEYS : USER_CLIENT_KEYS;
}

function keyHelp(entity: QuotaEntity): string {
  return IP in entity ? 'an ip entity takes connection_creation_rate' : `a user or client entity takes ${Object.keys(USER_CLIENT_KEYS).join(', ')}`;
}

/** key=value -> the number, checked as ClientQuotaControlManager.validateQuotaKeyValue does. */
function parseAssignment(entity: QuotaEntity, kv: string): [string, number] {
  const i = kv.indexOf('=');
  if (i <= 0) throw new UsageError(`expected key=value, got "${kv}"`);
  const key = kv.slice(0, i).trim();
  const text = kv.slice(i + 1).trim();
  const type = keysFor(entity)[key];
  if (type === undefined) throw new UsageError(`unknown quota "${key}": ${keyHelp(entity)}`);
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new UsageError(`${key}: not a number: "${text}"`);
  const value = Number(text);
  if (!Number.isFinite(value) || !(value > 0)) throw new UsageError(`${key} must be greater than 0`);
  if (type !== 'DOUBLE' && !Number.isInteger(value)) throw new UsageError(`${key} must be a whole number`);
  if (type === 'INT' && value > 2147483647) throw new UsageError(`${key} is at most 2147483647`);
  if (type === 'LONG' && !Number.isSafeInteger(value)) throw new UsageError(`${key} is at most ${Number.MAX_SAFE_INTEGER}`);
  return [key, value];
}

/** The filter for exactly this entity (each type its name or its default, no other types). */
function exactComponents(entity: QuotaEntity): QuotaFilterComponent[] {
  return Object.entries(entity).map(([entityType, name]) =>
    name === null ? { entityType, matchType: QuotaMatchType.DEFAULT, match: null } : { entityType, matchType: QuotaMatchType.EXACT, match: name },
  );
}

function alterFailure(r: { errorCode: number; errorMessage: string | null } | undefined): void {
  if (!r) throw new CliError('the broker answered no result');
  if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, 'AlterClientQuotas', r.errorMessage);
}

async function set(client: KafkaClient, opts: SetOpts, assignments: string[]): Promise<number> {
  const entity = requireEntity(entityOf(opts));
  const values = new Map<string, number>();
  for (const kv of assignments) {
    const [k, v] = parseAssignment(entity, kv);
    if (values.has(k)) throw new UsageError(`${k} is given twice`);
    values.set(k, v);
  }
  const [r] = await alterClientQuotas(client, [{ entity, ops: [...values].map(([key, value]) => ({ key, value })) }]);
  alterFailure(r);
  if (opts.json) printJson(process.stdout, { entity, quotas: Object.fromEntries(values), status: 'set' });
  else printTable(process.stdout, ['ENTITY', 'QUOTA', 'VALUE', 'STATUS'], [...values].map(([k, v]) => [entityText(entity), k, v, 'set']));
  return ExitCode.OK;
}

async function remove(client: KafkaClient, opts: DeleteOpts, keys: string[]): Promise<number> {
  const entity = requireEntity(entityOf(opts));
  for (const k of keys) if (keysFor(entity)[k] === undefined) throw new UsageError(`unknown quota "${k}": ${keyHelp(entity)}`);
  const [current] = await describeClientQuotas(client, exactComponents(entity), true);
  const have = current?.values ?? {};
  const wanted = keys.length > 0 ? [...new Set(keys)] : Object.keys(have).sort();
  const present = wanted.filter((k) => k in have);
  const missing = wanted.filter((k) => !(k in have));
  if (present.length > 0) {
    const [r] = await alterClientQuotas(client, [{ entity, ops: present.map((key) => ({ key, value: null })) }]);
    alterFailure(r);
  }
  const status = (k: string): string => (k in have ? 'deleted' : 'not set');
  if (opts.json) {
    printJson(process.stdout, { entity, quotas: wanted.map((k) => ({ quota: k, status: status(k) })) });
  } else {
    printTable(process.stdout, ['ENTITY', 'QUOTA', 'STATUS'], wanted.map((k) => [entityText(entity), k, status(k)]));
  }
  if (wanted.length === 0) {
    if (opts.ifExists) return ExitCode.OK;
    process.stderr.write(`no quota is set for ${entityText(entity)}\n`);
    return ExitCode.NOT_FOUND;
  }
  if (missing.length === 0 || opts.ifExists) return ExitCode.OK;
  for (const k of missing) process.stderr.write(`${k} is not set for ${entityText(entity)}\n`);
  return ExitCode.NOT_FOUND;
}

async function list(client: KafkaClient, opts: ListOpts): Promise<number> {
  const components: QuotaFilterComponent[] = [];
  const add = (type: string, flag: string, name: string | true | undefined, dflt: boolean | undefined): void => {
    if (name !== undefined && dflt) throw new UsageError(`--${flag} and --${flag}-default: give one`);
    if (name === true) components.push({ entityType: type, matchType: QuotaMatchType.SPECIFIED, match: null });
    else if (typeof name === 'string') components.push({ entityType: type, matchType: QuotaMatchType.EXACT, match: name });
    else if (dflt) components.push({ entityType: type, matchType: QuotaMatchType.DEFAULT, match: null });
  };
  add(USER, 'user', opts.user, opts.userDefault);
  add(CLIENT_ID, 'client', opts.client, opts.clientDefault);
  add(IP, 'ip', opts.ip, opts.ipDefault);
  if (components.some((c) => c.entityType === IP) && components.some((c) => c.entityType !== IP)) throw new UsageError('an ip entity stands alone: no --user or --client with --ip');
  const entries = await describeClientQuotas(client, components, opts.strict ?? false);
  const sorted = entries
    .map((e) => ({ entity: e.entity, text: entityText(e.entity), quotas: Object.fromEntries(Object.entries(e.values).sort(([a], [b]) => (a < b ? -1 : 1))) }))
    .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  if (opts.json) printJson(process.stdout, sorted.map((e) => ({ entity: e.entity, quotas: e.quotas })));
  else printTable(process.stdout, ['ENTITY', 'QUOTA', 'VALUE'], sorted.flatMap((e) => Object.entries(e.quotas).map(([k, v]) => [e.text, k, v])));
  return ExitCode.OK;
}

function nameArg(value: string): string {
  if (value === '') throw new InvalidArgumentError('a name must not be empty');
  return value;
}

function entityOptions(cmd: Command, optionalNames: boolean): Command {
  const v = (what: string): string => (optionalNames ? `[${what}]` : `<${what}>`);
  return cmd
    .option(`--user ${v('name')}`, optionalNames ? 'the quotas of this user (without a name: of every user entity, the default one too)' : 'a user (the principal\'s name: alice for User:alice)', nameArg)
    .option('--user-default', 'the default user entity')
    .option(`--client ${v('id')}`, optionalNames ? 'the quotas of this client id (without an id: of every client-id entity)' : 'a client id (alone, or with a user)', nameArg)
    .option('--client-default', 'the default client-id entity')
    .option(`--ip ${v('address')}`, optionalNames ? 'the quotas of this IP address (without one: of every ip entity)' : 'an IP address (connection_creation_rate only)', nameArg)
    .option('--ip-default', 'the default ip entity');
}

const KEYS_HELP = `Quotas: producer_byte_rate, consumer_byte_rate (bytes per second), request_percentage (100 = one
request thread), controller_mutation_rate (partition mutations per second) for users and client
ids; connection_creation_rate (connections per second) for ip entities.`;

export function quotaCommand(): Command {
  const quota = new Command('quota').description('set, delete and list client quotas (users, client ids, IP addresses)');

  connectionOptions(
    entityOptions(quota.command('set').description('set quotas of one entity (other keys it has stay)').argument('<key=value...>', 'quotas to set'), false).addHelpText(
      'after',
      `\n${KEYS_HELP}\n\nExamples:\n  brook quota set producer_byte_rate=1048576 consumer_byte_rate=2097152 --user app\n  brook quota set request_percentage=50 --user app --client batch-job\n  brook quota set producer_byte_rate=524288 --client-default\n  brook quota set connection_creation_rate=10 --ip 10.0.0.7`,
    ),
  ).action(action<SetOpts>((client, opts, args) => set(client, opts, args)));

  connectionOptions(
    entityOptions(quota.command('delete').alias('rm').description('delete quotas of one entity (all of them, or the keys given)').argument('[keys...]', 'quotas to delete (default: every quota of the entity)'), false)
      .option('--if-exists', 'succeed when a quota is not set')
      .addHelpText('after', '\nA quota that is not set is exit code 3 (0 with --if-exists).\n\nExamples:\n  brook quota delete producer_byte_rate --user app\n  brook quota delete --user app --client batch-job'),
  ).action(action<DeleteOpts>((client, opts, args) => remove(client, opts, args)));

  connectionOptions(
    entityOptions(quota.command('list').alias('ls').description('list quotas: every entity, or those matching the options'), true)
      .option('--strict', 'only entities made of exactly the entity types given (without it, --user alice also lists alice with a client id)')
      .addHelpText('after', '\nExamples:\n  brook quota list\n  brook quota list --user app --json\n  brook quota list --user --strict        # every user entity\'s own quotas\n  brook quota list --client-default'),
  ).action(action<ListOpts>((client, opts) => list(client, opts)));

  return quota;
}
