// brook acl add|remove|list: ACLs over CreateAcls, DeleteAcls and DescribeAcls, against Brook or
// Kafka, with the options of Kafka's kafka-acls.sh (AclCommand): --allow-principal/--deny-principal,
// --allow-host/--deny-host (default * for a principal given), --operation (default All), the
// resources --topic, --group, --transactional-id, --cluster, --user-principal, --delegation-token,
// --resource-pattern-type, and the --producer / --consumer (/ --idempotent) conveniences that
// expand to Kafka's sets of operations. Differences, because this tool never prompts:
// - remove: without --operation or a host it removes the principal's ACLs of every operation and
//   host (Kafka's tool would match only operation All and host *); without a principal it removes
//   every ACL of the resources, which needs --force (Kafka asks y/n). Nothing matched is exit 3
//   unless --if-exists.
// - list: --resource-pattern-type without a resource lists every resource of that pattern type.

import { Command, InvalidArgumentError, Option } from 'commander';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { KafkaError, createAcls, deleteAcls, describeAcls, type AclBinding, type AclBindingFilter, type AclResult, type KafkaClient } from '../client/index.js';
import { AclOperation, CLUSTER_NAME, PatternType, PermissionType, ResourceType, SUPPORTED_OPERATIONS } from '../security/acls.js';
import { ExitCode, UsageError, action, connectionOptions, repeatable, type ConnectionOpts } from './common.js';
import { printJson, printTable } from './output.js';

interface ResourceOpts {
  topic?: string[];
  group?: string[];
  transactionalId?: string[];
  cluster?: boolean;
  userPrincipal?: string[];
  delegationToken?: string[];
  resourcePatternType?: number;
}

interface EntryOpts {
  allowPrincipal?: string[];
  denyPrincipal?: string[];
  allowHost?: string[];
  denyHost?: string[];
  operation?: number[];
  producer?: boolean;
  consumer?: boolean;
  idempotent?: boolean;
}

type AddOpts = ConnectionOpts & ResourceOpts & EntryOpts;
type RemoveOpts = ConnectionOpts & ResourceOpts & EntryOpts & { force?: boolean; ifExists?: boolean };
type ListOpts = ConnectionOpts & ResourceOpts & { principal?: string[] };

const nameOf = (table: Readonly<Record<string, number>>, code: number): string => Object.keys(table).find((k) => table[k] === code) ?? `UNKNOWN(${code})`;
export const resourceTypeName = (c: number): string => nameOf(ResourceType, c);
export const patternTypeName = (c: number): string => nameOf(PatternType, c);
export const operationName = (c: number): string => nameOf(AclOperation, c);
export const permissionTypeName = (c: number): string => nameOf(PermissionType, c);

/** Kafka's operation names as kafka-acls.sh takes them (AclEntry.ACL_OPERATIONS). */
const OPERATION_NAMES = ['Read', 'Write', 'Create', 'Delete', 'Alter', 'Describe', 'ClusterAction', 'DescribeConfigs', 'AlterConfigs', 'IdempotentWrite', 'CreateTokens', 'DescribeTokens', 'All'];
const squash = (s: string): string => s.toLowerCase().replace(/[_\-\s]/g, '');
const OPERATION_BY_NAME = new Map(Object.entries(AclOperation).filter(([k]) => k !== 'ANY' && k !== 'UNKNOWN' && k !== 'TWO_PHASE_COMMIT').map(([k, v]) => [squash(k), v as number]));

function operationArg(value: string, previous: number[] = []): number[] {
  const code = OPERATION_BY_NAME.get(squash(value));
  if (code === undefined) throw new InvalidArgumentError(`unknown operation "${value}" (one of ${OPERATION_NAMES.join(', ')}; case does not matter)`);
  return previous.includes(code) ? previous : [...previous, code];
}

function patternArg(allowed: number[]) {
  return (value: string): number => {
    const code = (PatternType as Record<string, number>)[value.trim().toUpperCase()];
    if (code === undefined || !allowed.includes(code)) throw new InvalidArgumentError(`one of ${allowed.map((c) => patternTypeName(c).toLowerCase()).join(', ')}`);
    return code;
  };
}

/** Kafka's principal syntax, Type:name (SecurityUtils.parseKafkaPrincipal). */
function principalArg(value: string, previous: string[] = []): string[] {
  const v = value.trim();
  const colon = v.indexOf(':');
  if (colon <= 0 || colon === v.length - 1) throw new InvalidArgumentError(`a principal is Type:name, e.g. User:alice or User:* (got "${value}")`);
  return [...previous, v];
}

function hostArg(value: string, previous: string[] = []): string[] {
  const v = value.trim();
  if (v === '') throw new InvalidArgumentError('a host is an IP address or *');
  return [...previous, v];
}

interface Resource {
  resourceType: number;
  resourceName: string;
  patternType: number;
}

const resourceKey = (r: Resource): string => JSON.stringify([r.resourceType, r.resourceName, r.patternType]);
const bindingKey = (b: AclBinding): string => JSON.stringify([b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permissionType]);

/** The resources the options name, with the pattern type (Kafka's getResourceFilter). */
function resources(opts: ResourceOpts & EntryOpts, patternType: number): Resource[] {
  const out: Resource[] = [];
  const add = (resourceType: number, names: string[] | undefined): void => {
    for (const n of names ?? []) {
      if (n.trim() === '') throw new UsageError(`an empty ${resourceTypeName(resourceType).toLowerCase()} name`);
      out.push({ resourceType, resourceName: n.trim(), patternType });
    }
  };
  add(ResourceType.TOPIC, opts.topic);
  add(ResourceType.GROUP, opts.group);
  add(ResourceType.TRANSACTIONAL_ID, opts.transactionalId);
  add(ResourceType.USER, opts.userPrincipal);
  add(ResourceType.DELEGATION_TOKEN, opts.delegationToken);
  if (opts.cluster) {
    if (patternType === PatternType.PREFIXED) throw new UsageError('--cluster takes no prefixed pattern (the cluster is one resource, kafka-cluster)');
    out.push({ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_NAME, patternType });
  } else if (opts.idempotent) {
    // As Kafka's tool: the cluster's literal pattern, whatever the topics' pattern type.
    out.push({ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_NAME, patternType: patternType === PatternType.PREFIXED ? PatternType.LITERAL : patternType });
  }
  const seen = new Set<string>();
  return out.filter((r) => !seen.has(resourceKey(r)) && seen.add(resourceKey(r)) !== undefined);
}

const RESOURCE_HINT = 'give at least one resource: --topic, --group, --transactional-id, --cluster, --user-principal or --delegation-token';

/** Usage checks shared by add and remove (Kafka's AclCommandOptions.checkArgs). */
function checkEntryOpts(opts: EntryOpts & ResourceOpts): void {
  const role = opts.producer ? '--producer' : opts.consumer ? '--consumer' : undefined;
  if (role && (opts.operation || opts.denyPrincipal || opts.denyHost)) throw new UsageError(`${role} sets the operations itself: it takes no --operation, --deny-principal or --deny-host`);
  if (opts.producer && !opts.topic) throw new UsageError('with --producer give a --topic');
  if (opts.idempotent && !opts.producer) throw new UsageError('--idempotent goes with --producer');
  if (opts.consumer && (!opts.topic || !opts.group || (!opts.producer && (opts.cluster || opts.transactionalId)))) {
    throw new UsageError('with --consumer give a --topic and a --group (and no --cluster or --transactional-id without --producer)');
  }
  if (opts.allowHost && !opts.allowPrincipal) throw new UsageError('--allow-host goes with --allow-principal');
  if (opts.denyHost && !opts.denyPrincipal) throw new UsageError('--deny-host goes with --deny-principal');
}

/** Resource -> operations (Kafka's getResourceFilterToAcls: explicit operations, or the roles' sets). */
function operationsByResource(opts: EntryOpts, list: Resource[], explicit: number[]): Map<string, { resource: Resource; ops: number[] }> {
  const out = new Map<string, { resource: Resource; ops: number[] }>();
  const put = (r: Resource, ops: number[]): void => {
    const cur = out.get(resourceKey(r));
    if (cur) cur.ops = [...new Set([...cur.ops, ...ops])];
    else out.set(resourceKey(r), { resource: r, ops });
  };
  if (!opts.producer && !opts.consumer) for (const r of list) put(r, explicit);
  if (opts.producer) {
    for (const r of list) {
      if (r.resourceType === ResourceType.TOPIC) put(r, [AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.CREATE]);
      if (r.resourceType === ResourceType.TRANSACTIONAL_ID) put(r, [AclOperation.WRITE, AclOperation.DESCRIBE]);
      if (r.resourceType === ResourceType.CLUSTER && opts.idempotent) put(r, [AclOperation.IDEMPOTENT_WRITE]);
    }
  }
  if (opts.consumer) {
    for (const r of list) {
      if (r.resourceType === ResourceType.TOPIC) put(r, [AclOperation.READ, AclOperation.DESCRIBE]);
      if (r.resourceType === ResourceType.GROUP) put(r, [AclOperation.READ]);
    }
  }
  // Kafka's validateOperation: each resource type takes its own operations, and All.
  for (const { resource, ops } of out.values()) {
    const valid = [...(SUPPORTED_OPERATIONS[resource.resourceType] ?? []), AclOperation.ALL];
    if (ops.some((o) => o !== AclOperation.ANY && !valid.includes(o))) {
      throw new UsageError(`${resourceTypeName(resource.resourceType)} takes only the operations ${valid.map(operationName).join(', ')}`);
    }
  }
  return out;
}

function row(b: AclBinding): Array<string> {
  return [resourceTypeName(b.resourceType), b.resourceName, patternTypeName(b.patternType), b.principal, b.host, operationName(b.operation), permissionTypeName(b.permissionType)];
}

const HEADERS = ['RESOURCE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'];

function json(b: AclBinding): Record<string, string> {
  return {
    resourceType: resourceTypeName(b.resourceType),
    resourceName: b.resourceName,
    patternType: patternTypeName(b.patternType),
    principal: b.principal,
    host: b.host,
    operation: operationName(b.operation),
    permissionType: permissionTypeName(b.permissionType),
  };
}

function sortBindings(list: AclBinding[]): AclBinding[] {
  const k = (b: AclBinding): string[] => [resourceTypeName(b.resourceType), b.resourceName, patternTypeName(b.patternType), b.principal, b.host, operationName(b.operation), permissionTypeName(b.permissionType)];
  return [...list].sort((a, b) => {
    const ka = k(a);
    const kb = k(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    return 0;
  });
}

function bindingText(b: AclBinding): string {
  return `${b.principal} ${permissionTypeName(b.permissionType)} ${operationName(b.operation)} on ${resourceTypeName(b.resourceType)} "${b.resourceName}" (${patternTypeName(b.patternType)}) from ${b.host}`;
}

/** When every item failed the same way (no authorizer, not authorized), that is the command's one error. */
function commonFailure(results: AclResult[], api: string): KafkaError | undefined {
  if (results.length === 0) return undefined;
  const first = results[0]!;
  if (first.errorCode === ErrorCode.NONE) return undefined;
  if (!results.every((r) => r.errorCode === first.errorCode && r.errorMessage === first.errorMessage)) return undefined;
  return new KafkaError(first.errorCode, api, first.errorMessage);
}

async function add(client: KafkaClient, opts: AddOpts): Promise<number> {
  checkEntryOpts(opts);
  if (!opts.allowPrincipal && !opts.denyPrincipal) throw new UsageError('give --allow-principal or --deny-principal (Type:name, e.g. User:alice)');
  const list = resources(opts, opts.resourcePatternType ?? PatternType.LITERAL);
  if (list.length === 0) throw new UsageError(RESOURCE_HINT);
  const byResource = operationsByResource(opts, list, opts.operation ?? [AclOperation.ALL]);
  const wanted: AclBinding[] = [];
  const seen = new Set<string>();
  for (const { resource, ops } of byResource.values()) {
    const entries: Array<[string[] | undefined, string[] | undefined, number]> = [
      [opts.allowPrincipal, opts.allowHost, PermissionType.ALLOW],
      [opts.denyPrincipal, opts.denyHost, PermissionType.DENY],
    ];
    for (const [principals, hosts, permissionType] of entries) {
      for (const principal of principals ?? []) {
        for (const host of hosts ?? ['*']) {
          for (const operation of ops) {
            const b = { ...resource, principal, host, operation, permissionType };
            if (!seen.has(bindingKey(b))) wanted.push(b);
            seen.add(bindingKey(b));
          }
        }
      }
    }
  }
  // As Kafka's tool: what already exists is reported, not created again.
  const existing = new Set<string>();
  for (const { resource } of byResource.values()) {
    const found = await describeAcls(client, { ...resource, principal: null, host: null, operation: AclOperation.ANY, permissionType: PermissionType.ANY });
    for (const b of found) existing.add(bindingKey(b));
  }
  const fresh = wanted.filter((b) => !existing.has(bindingKey(b)));
  const results = fresh.length > 0 ? await createAcls(client, fresh) : [];
  const common = commonFailure(results, 'CreateAcls');
  if (common) throw common;
  const outcome = new Map<string, AclResult>();
  fresh.forEach((b, i) => outcome.set(bindingKey(b), results[i]!));
  const status = (b: AclBinding): string => {
    const r = outcome.get(bindingKey(b));
    return r === undefined ? 'exists' : r.errorCode === ErrorCode.NONE ? 'added' : 'failed';
  };
  const rows = sortBindings(wanted);
  if (opts.json) {
    printJson(
      process.stdout,
      rows.map((b) => {
        const r = outcome.get(bindingKey(b));
        return { ...json(b), status: status(b), error: r && r.errorCode !== ErrorCode.NONE ? { code: errorName(r.errorCode), message: r.errorMessage } : null };
      }),
    );
  } else {
    printTable(process.stdout, [...HEADERS, 'STATUS'], rows.map((b) => [...row(b), status(b)]));
  }
  const failed = fresh.filter((b) => outcome.get(bindingKey(b))!.errorCode !== ErrorCode.NONE);
  for (const b of failed) {
    const r = outcome.get(bindingKey(b))!;
    process.stderr.write(`ACL ${bindingText(b)}: ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}\n`);
  }
  return failed.length === 0 ? ExitCode.OK : ExitCode.ERROR;
}

async function remove(client: KafkaClient, opts: RemoveOpts): Promise<number> {
  checkEntryOpts(opts);
  const list = resources(opts, opts.resourcePatternType ?? PatternType.LITERAL);
  if (list.length === 0) throw new UsageError(RESOURCE_HINT);
  const byPrincipal = Boolean(opts.allowPrincipal || opts.denyPrincipal);
  if (!byPrincipal && !opts.force) {
    throw new UsageError('without --allow-principal or --deny-principal this removes every ACL of the resources (of the operations given): add --force to mean it');
  }
  const byResource = operationsByResource(opts, list, opts.operation ?? [AclOperation.ANY]);
  const filters: AclBindingFilter[] = [];
  for (const { resource, ops } of byResource.values()) {
    const entries: Array<[Array<string | null>, Array<string | null>, number]> = byPrincipal
      ? [
          [opts.allowPrincipal ?? [], opts.allowHost ?? [null], PermissionType.ALLOW],
          [opts.denyPrincipal ?? [], opts.denyHost ?? [null], PermissionType.DENY],
        ]
      : [[[null], [null], PermissionType.ANY]];
    for (const [principals, hosts, permissionType] of entries) {
      for (const principal of principals) for (const host of hosts) for (const operation of ops) filters.push({ ...resource, principal, host, operation, permissionType });
    }
  }
  const results = await deleteAcls(client, filters);
  const common = commonFailure(results, 'DeleteAcls');
  if (common) throw common;
  const removed = new Map<string, AclBinding & AclResult>();
  for (const r of results) for (const m of r.matchingAcls) if (!removed.has(bindingKey(m)) || m.errorCode !== ErrorCode.NONE) removed.set(bindingKey(m), m);
  const rows = sortBindings([...removed.values()]) as Array<AclBinding & AclResult>;
  const status = (m: AclResult): string => (m.errorCode === ErrorCode.NONE ? 'removed' : 'failed');
  if (opts.json) {
    printJson(process.stdout, rows.map((m) => ({ ...json(m), status: status(m), error: m.errorCode === ErrorCode.NONE ? null : { code: errorName(m.errorCode), message: m.errorMessage } })));
  } else {
    printTable(process.stdout, [...HEADERS, 'STATUS'], rows.map((m) => [...row(m), status(m)]));
  }
  let code: number = ExitCode.OK;
  const lines = new Set<string>();
  for (const r of results) if (r.errorCode !== ErrorCode.NONE) lines.add(`DeleteAcls: ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
  for (const m of rows) if (m.errorCode !== ErrorCode.NONE) lines.add(`ACL ${bindingText(m)}: ${errorName(m.errorCode)}${m.errorMessage ? `: ${m.errorMessage}` : ''}`);
  for (const l of lines) process.stderr.write(l + '\n');
  if (lines.size > 0) code = ExitCode.ERROR;
  else if (rows.length === 0 && !opts.ifExists) {
    process.stderr.write('no ACL matched\n');
    code = ExitCode.NOT_FOUND;
  }
  return code;
}

async function list(client: KafkaClient, opts: ListOpts): Promise<number> {
  const named = resources(opts, opts.resourcePatternType ?? PatternType.LITERAL);
  const patterns: Array<Omit<AclBindingFilter, 'principal'>> =
    named.length > 0
      ? named.map((r) => ({ ...r, host: null, operation: AclOperation.ANY, permissionType: PermissionType.ANY }))
      : [{ resourceType: ResourceType.ANY, resourceName: null, patternType: opts.resourcePatternType ?? PatternType.ANY, host: null, operation: AclOperation.ANY, permissionType: PermissionType.ANY }];
  const found = new Map<string, AclBinding>();
  for (const p of patterns) {
    for (const principal of opts.principal ?? [null]) {
      for (const b of await describeAcls(client, { ...p, principal })) found.set(bindingKey(b), b);
    }
  }
  const rows = sortBindings([...found.values()]);
  if (opts.json) printJson(process.stdout, rows.map(json));
  else printTable(process.stdout, HEADERS, rows.map(row));
  return ExitCode.OK;
}

function resourceOptions(cmd: Command, patterns: number[], patternHelp: string): Command {
  return cmd
    .option('--topic <name>', 'a topic (* is every topic; with --resource-pattern-type prefixed, a prefix); repeatable', repeatable)
    .option('--group <name>', 'a consumer group (* is every group); repeatable', repeatable)
    .option('--transactional-id <id>', 'a transactional id (* is every one); repeatable', repeatable)
    .option('--cluster', `the cluster (${CLUSTER_NAME})`)
    .option('--user-principal <name>', 'a user as a resource (CreateTokens, DescribeTokens); repeatable', repeatable)
    .option('--delegation-token <id>', 'a delegation token as a resource; repeatable', repeatable)
    .addOption(new Option('--resource-pattern-type <type>', patternHelp).argParser(patternArg(patterns)));
}

function entryOptions(cmd: Command): Command {
  return cmd
    .option('--allow-principal <principal>', 'principal to allow, Type:name (User:alice, User:* for everyone); repeatable', principalArg)
    .option('--deny-principal <principal>', 'principal to deny, Type:name; a DENY wins over any ALLOW; repeatable', principalArg)
    .option('--allow-host <host>', 'host (IP address) the allowed principals connect from (default *); repeatable', hostArg)
    .option('--deny-host <host>', 'host (IP address) the denied principals connect from (default *); repeatable', hostArg)
    .option('--operation <operation>', `operation, case-insensitive: ${OPERATION_NAMES.join(', ')}; repeatable`, operationArg)
    .option('--producer', 'producer role: Write, Describe, Create on the topics (Write, Describe on transactional ids)')
    .option('--idempotent', 'with --producer: IdempotentWrite on the cluster too')
    .option('--consumer', 'consumer role: Read, Describe on the topics, Read on the groups');
}

export function aclCommand(): Command {
  const acl = new Command('acl').description('add, remove and list ACLs (authorization)');
  const lit = [PatternType.LITERAL, PatternType.PREFIXED];
  const filt = [PatternType.LITERAL, PatternType.PREFIXED, PatternType.ANY, PatternType.MATCH];
  const filterHelp = "literal (default), prefixed, any (any pattern type, this exact name) or match (every ACL that applies to the name: literal, '*' and prefixes)";

  connectionOptions(
    entryOptions(resourceOptions(acl.command('add').description('add ACLs: each principal x host x operation, on each resource'), lit, 'literal (default) or prefixed')).addHelpText(
      'after',
      '\nAn ACL that already exists is reported as "exists".\n\nExamples:\n  brook acl add --allow-principal User:app --operation Read --operation Describe --topic orders\n  brook acl add --allow-principal User:app --producer --topic orders- --resource-pattern-type prefixed\n  brook acl add --allow-principal User:app --consumer --topic orders --group orders-app\n  brook acl add --allow-principal "User:*" --deny-principal User:mallory --operation Read --topic public',
    ),
  ).action(action<AddOpts>((client, opts) => add(client, opts)));

  connectionOptions(
    entryOptions(resourceOptions(acl.command('remove').alias('rm').description('remove ACLs of the resources (the principals\', or with --force all of them)'), filt, filterHelp))
      .option('--force', 'allow removing every ACL of the resources (no principal given)')
      .option('--if-exists', 'succeed when no ACL matched')
      .addHelpText(
        'after',
        '\nWithout --operation (or a host) a principal\'s ACLs of every operation (host) are removed.\nNo ACL matched: exit code 3 (0 with --if-exists).\n\nExamples:\n  brook acl remove --allow-principal User:app --topic orders\n  brook acl remove --allow-principal User:app --operation Write --topic orders\n  brook acl remove --topic orders --force',
      ),
  ).action(action<RemoveOpts>((client, opts) => remove(client, opts)));

  connectionOptions(
    resourceOptions(acl.command('list').alias('ls').description('list ACLs (every one, or those of the resources given)'), filt, `${filterHelp}; without a resource: every ACL of that pattern type`)
      .option('--principal <principal>', 'only the ACLs of this principal, Type:name; repeatable', principalArg)
      .addHelpText('after', '\nExamples:\n  brook acl list\n  brook acl list --topic orders --resource-pattern-type match\n  brook acl list --principal User:app --json'),
  ).action(action<ListOpts>((client, opts) => list(client, opts)));

  return acl;
}
