// `brook acl add|remove|list` against a real broker with an authorizer (PLAINTEXT: ANONYMOUS, the
// super user; SASL_PLAINTEXT with PLAIN users app and mallory), checked with kafkajs: the ACLs the
// broker holds (admin.describeAcls) and what they let a SASL user do (produce refused, then
// allowed, then refused again). Kafka's kafka-acls.sh semantics: --producer / --consumer /
// --idempotent expand to Kafka's operations, hosts default to *, operations are checked per
// resource type. Without an authorizer: SECURITY_DISABLED; as a user without rights on the
// cluster: CLUSTER_AUTHORIZATION_FAILED (the CLI over SASL). Exit codes: 0, 1, 2 usage, 3 nothing
// matched.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type Admin, type Kafka } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { brokerListeners } from '../../src/cli/start.js';
import { settingsFromArgs } from '../../src/config/properties.js';
import { checkStartupConfig, resolveListeners } from '../../src/config/startup.js';
import { kafkaFor, startTestBroker } from '../helpers/broker.js';
import { NO_DIST, hasDist, runCli } from '../helpers/cli.js';

const STANDARD = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';

let broker: Broker;
let admin: Admin;
let b: string[];
let sasl: string;

beforeAll(async () => {
  const startup = checkStartupConfig(
    settingsFromArgs([
      'listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_app="app-secret" user_mallory="mallory-secret";',
      `authorizer.class.name=${STANDARD}`,
      'super.users=User:ANONYMOUS',
    ]),
  );
  broker = await startBroker({ listeners: brokerListeners(resolveListeners(startup, {})), config: startup.values, memory: true });
  const l = broker.listeners.find((x) => x.name === 'SASL_PLAINTEXT')!;
  sasl = `${l.host}:${l.port}`;
  b = ['-b', broker.bootstrap];
  admin = kafkaFor(broker).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'orders' }, { topic: 'orders-eu' }, { topic: 'public' }] });
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.close();
});

function table(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

function kafkaAs(user: string, password: string): Kafka {
  return kafkaFor(sasl, { sasl: { mechanism: 'plain', username: user, password }, retry: { retries: 0 } });
}

/** Whether `user` may produce to `topic` (a fresh producer each time: no cached metadata). */
async function canProduce(user: string, topic: string): Promise<boolean | string> {
  const p = kafkaAs(user, `${user}-secret`).producer({ allowAutoTopicCreation: false });
  try {
    await p.connect();
    await p.send({ topic, messages: [{ value: 'x' }] });
    return true;
  } catch (err) {
    // kafkajs: TOPIC_AUTHORIZATION_FAILED in Metadata or Produce (its type, or its message when wrapped).
    const e = err as { type?: string; message: string };
    if (e.type === 'TOPIC_AUTHORIZATION_FAILED' || /Topic authorization failed/.test(e.message)) return false;
    return `unexpected: ${e.type ?? e.message}`;
  } finally {
    await p.disconnect().catch(() => {});
  }
}

/** Every ACL the broker holds, as [type, name, pattern, principal, host, operation, permission] rows. */
async function brokerAcls(): Promise<string[][]> {
  const r = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  const name = (table: Record<string, string | number>, code: number): string => Object.keys(table).find((k) => table[k] === code)!;
  return r.resources
    .flatMap((res) =>
      res.acls.map((a) => [
        name(AclResourceTypes, res.resourceType),
        res.resourceName,
        name(ResourcePatternTypes, res.resourcePatternType),
        a.principal,
        a.host,
        name(AclOperationTypes, a.operation),
        name(AclPermissionTypes, a.permissionType),
      ]),
    )
    .sort((x, y) => (x.join(' ') < y.join(' ') ? -1 : 1));
}

describe.skipIf(!hasDist)(`brook acl${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('add --producer: the SASL user is refused before, allowed after, refused again once removed', async () => {
    expect(await canProduce('app', 'orders')).toBe(false);
    const r = await runCli(['acl', 'add', '--allow-principal', 'User:app', '--producer', '--topic', 'orders', ...b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(table(r.stdout)).toEqual([
      ['RESOURCE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION', 'STATUS'],
      ['TOPIC', 'orders', 'LITERAL', 'User:app', '*', 'CREATE', 'ALLOW', 'added'],
      ['TOPIC', 'orders', 'LITERAL', 'User:app', '*', 'DESCRIBE', 'ALLOW', 'added'],
      ['TOPIC', 'orders', 'LITERAL', 'User:app', '*', 'WRITE', 'ALLOW', 'added'],
    ]);
    expect(await brokerAcls()).toEqual([
      ['TOPIC', 'orders', 'LITERAL', 'User:app', '*', 'CREATE', 'ALLOW'],
      ['TOPIC', 'orders', 'LITERAL', 'User:app', '*', 'DESCRIBE', 'ALLOW'],
      ['TOPIC', 'orders', 'LITERAL', 'User:app', '*', 'WRITE', 'ALLOW'],
    ]);
    expect(await canProduce('app', 'orders')).toBe(true);
    // Another principal stays refused.
    expect(await canProduce('mallory', 'orders')).toBe(false);

    // The same again: nothing new, reported as existing.
    const again = await runCli(['acl', 'add', '--allow-principal', 'User:app', '--operation', 'write', '--topic', 'orders', '--json', ...b]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual([
      { resourceType: 'TOPIC', resourceName: 'orders', patternType: 'LITERAL', principal: 'User:app', host: '*', operation: 'WRITE', permissionType: 'ALLOW', status: 'exists', error: null },
    ]);

    // remove: the principal's ACLs of every operation on the resource.
    const rm = await runCli(['acl', 'remove', '--allow-principal', 'User:app', '--topic', 'orders', ...b]);
    expect(rm.stderr).toBe('');
    expect(rm.code).toBe(0);
    expect(table(rm.stdout).map((row) => `${row[5]} ${row[7]}`)).toEqual(['OPERATION STATUS', 'CREATE removed', 'DESCRIBE removed', 'WRITE removed']);
    expect(await brokerAcls()).toEqual([]);
    expect(await canProduce('app', 'orders')).toBe(false);
  });

  it('a DENY for one principal wins over an ALLOW for User:*; hosts; operation names in any case', async () => {
    const r = await runCli(['acl', 'add', '--allow-principal', 'User:*', '--deny-principal', 'User:mallory', '--operation', 'WRITE', '--operation', 'describe', '--topic', 'public', ...b]);
    expect(r.code).toBe(0);
    expect(table(r.stdout).slice(1).map((row) => row.slice(3, 7).join(' '))).toEqual([
      'User:* * DESCRIBE ALLOW',
      'User:* * WRITE ALLOW',
      'User:mallory * DESCRIBE DENY',
      'User:mallory * WRITE DENY',
    ]);
    expect(await canProduce('app', 'public')).toBe(true);
    expect(await canProduce('mallory', 'public')).toBe(false);

    const hosts = await runCli(['acl', 'add', '--allow-principal', 'User:app', '--allow-host', '10.0.0.1', '--allow-host', '10.0.0.2', '--operation', 'IdempotentWrite', '--cluster', ...b]);
    expect(hosts.code).toBe(0);
    expect((await brokerAcls()).filter((a) => a[0] === 'CLUSTER')).toEqual([
      ['CLUSTER', 'kafka-cluster', 'LITERAL', 'User:app', '10.0.0.1', 'IDEMPOTENT_WRITE', 'ALLOW'],
      ['CLUSTER', 'kafka-cluster', 'LITERAL', 'User:app', '10.0.0.2', 'IDEMPOTENT_WRITE', 'ALLOW'],
    ]);

    // remove without a principal needs --force; with it, every ACL of the resources goes.
    const refused = await runCli(['acl', 'remove', '--topic', 'public', '--cluster', ...b]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--force/);
    expect((await brokerAcls()).length).toBe(6);
    const forced = await runCli(['acl', 'remove', '--topic', 'public', '--cluster', '--force', '--json', ...b]);
    expect(forced.code).toBe(0);
    expect((JSON.parse(forced.stdout) as Array<{ status: string }>).map((x) => x.status)).toEqual(Array(6).fill('removed'));
    expect(await brokerAcls()).toEqual([]);

    // Nothing matched: exit 3, or 0 with --if-exists.
    const none = await runCli(['acl', 'remove', '--allow-principal', 'User:app', '--topic', 'public', ...b]);
    expect(none.code).toBe(3);
    expect(none.stderr).toBe('no ACL matched\n');
    expect((await runCli(['acl', 'remove', '--allow-principal', 'User:app', '--topic', 'public', '--if-exists', ...b])).code).toBe(0);
  });

  it('--producer --idempotent and --consumer with prefixed patterns; list filters (resource, match, principal, pattern type)', async () => {
    const p = await runCli(['acl', 'add', '--allow-principal', 'User:app', '--producer', '--idempotent', '--consumer', '--topic', 'orders', '--group', 'orders-', '--resource-pattern-type', 'prefixed', ...b]);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    // Kafka's sets: Write, Describe, Create + Read, Describe on topics; Read on groups; IdempotentWrite
    // on the cluster (its literal pattern).
    expect(await brokerAcls()).toEqual([
      ['CLUSTER', 'kafka-cluster', 'LITERAL', 'User:app', '*', 'IDEMPOTENT_WRITE', 'ALLOW'],
      ['GROUP', 'orders-', 'PREFIXED', 'User:app', '*', 'READ', 'ALLOW'],
      ['TOPIC', 'orders', 'PREFIXED', 'User:app', '*', 'CREATE', 'ALLOW'],
      ['TOPIC', 'orders', 'PREFIXED', 'User:app', '*', 'DESCRIBE', 'ALLOW'],
      ['TOPIC', 'orders', 'PREFIXED', 'User:app', '*', 'READ', 'ALLOW'],
      ['TOPIC', 'orders', 'PREFIXED', 'User:app', '*', 'WRITE', 'ALLOW'],
    ]);
    expect(await canProduce('app', 'orders-eu')).toBe(true);
    await runCli(['acl', 'add', '--deny-principal', 'User:mallory', '--deny-host', '10.9.9.9', '--operation', 'All', '--topic', 'orders-eu', ...b]);

    const all = await runCli(['acl', 'list', ...b]);
    expect(all.code).toBe(0);
    expect(table(all.stdout)).toEqual([
      ['RESOURCE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'],
      ['CLUSTER', 'kafka-cluster', 'LITERAL', 'User:app', '*', 'IDEMPOTENT_WRITE', 'ALLOW'],
      ['GROUP', 'orders-', 'PREFIXED', 'User:app', '*', 'READ', 'ALLOW'],
      ['TOPIC', 'orders', 'PREFIXED', 'User:app', '*', 'CREATE', 'ALLOW'],
      ['TOPIC', 'orders', 'PREFIXED', 'User:app', '*', 'DESCRIBE', 'ALLOW'],
      ['TOPIC', 'orders', 'PREFIXED', 'User:app', '*', 'READ', 'ALLOW'],
      ['TOPIC', 'orders', 'PREFIXED', 'User:app', '*', 'WRITE', 'ALLOW'],
      ['TOPIC', 'orders-eu', 'LITERAL', 'User:mallory', '10.9.9.9', 'ALL', 'DENY'],
    ]);
    // A literal name lists only its literal ACLs; match lists every ACL that applies to it.
    expect(table((await runCli(['acl', 'list', '--topic', 'orders-eu', ...b])).stdout).length).toBe(2);
    const match = await runCli(['acl', 'list', '--topic', 'orders-eu', '--resource-pattern-type', 'match', '--json', ...b]);
    expect((JSON.parse(match.stdout) as Array<{ resourceName: string; operation: string }>).map((x) => `${x.resourceName} ${x.operation}`)).toEqual([
      'orders CREATE',
      'orders DESCRIBE',
      'orders READ',
      'orders WRITE',
      'orders-eu ALL',
    ]);
    const mallory = await runCli(['acl', 'list', '--principal', 'User:mallory', '--json', ...b]);
    expect(JSON.parse(mallory.stdout)).toEqual([
      { resourceType: 'TOPIC', resourceName: 'orders-eu', patternType: 'LITERAL', principal: 'User:mallory', host: '10.9.9.9', operation: 'ALL', permissionType: 'DENY' },
    ]);
    const prefixed = await runCli(['acl', 'list', '--resource-pattern-type', 'prefixed', ...b]);
    expect(table(prefixed.stdout).slice(1).map((row) => row[2])).toEqual(Array(5).fill('PREFIXED'));

    // remove one operation of a role's set, by --operation and the prefixed pattern.
    const rm = await runCli(['acl', 'remove', '--allow-principal', 'User:app', '--operation', 'Write', '--topic', 'orders', '--resource-pattern-type', 'prefixed', ...b]);
    expect(rm.code).toBe(0);
    expect(table(rm.stdout).slice(1).map((row) => row.slice(0, 6).join(' '))).toEqual(['TOPIC orders PREFIXED User:app * WRITE']);
    expect(await canProduce('app', 'orders-eu')).toBe(false);
    // any: every pattern type of these names (the cluster's literal one too).
    const rest = await runCli(['acl', 'remove', '--topic', 'orders', '--topic', 'orders-eu', '--group', 'orders-', '--cluster', '--resource-pattern-type', 'any', '--force', ...b]);
    expect(rest.code).toBe(0);
    expect(table(rest.stdout).length).toBe(1 + 6);
    expect(await brokerAcls()).toEqual([]);
  });

  it('usage errors are exit code 2 and send nothing', async () => {
    for (const [args, message] of [
      [['acl', 'add', '--allow-principal', 'User:app', '--operation', 'Fly', '--topic', 't'], /unknown operation "Fly"/],
      [['acl', 'add', '--allow-principal', 'app', '--topic', 't'], /Type:name/],
      [['acl', 'add', '--allow-principal', 'User:app', '--operation', 'ClusterAction', '--topic', 't'], /TOPIC takes only the operations/],
      [['acl', 'add', '--allow-principal', 'User:app', '--operation', 'Read'], /at least one resource/],
      [['acl', 'add', '--operation', 'Read', '--topic', 't'], /--allow-principal or --deny-principal/],
      [['acl', 'add', '--allow-principal', 'User:app', '--producer', '--group', 'g'], /--producer give a --topic/],
      [['acl', 'add', '--allow-principal', 'User:app', '--consumer', '--topic', 't'], /--consumer give a --topic and a --group/],
      [['acl', 'add', '--allow-principal', 'User:app', '--producer', '--operation', 'Read', '--topic', 't'], /takes no --operation/],
      [['acl', 'add', '--allow-principal', 'User:app', '--idempotent', '--topic', 't'], /--idempotent goes with --producer/],
      [['acl', 'add', '--allow-host', '10.0.0.1', '--deny-principal', 'User:a', '--topic', 't'], /--allow-host goes with --allow-principal/],
      [['acl', 'add', '--allow-principal', 'User:app', '--topic', 't', '--resource-pattern-type', 'match'], /literal, prefixed/],
      [['acl', 'add', '--allow-principal', 'User:app', '--cluster', '--resource-pattern-type', 'prefixed'], /--cluster takes no prefixed pattern/],
      [['acl', 'remove', '--allow-principal', 'User:app'], /at least one resource/],
    ] as Array<[string[], RegExp]>) {
      const r = await runCli([...args, ...b]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(await brokerAcls()).toEqual([]);
  });

  it('a user without rights on the cluster gets CLUSTER_AUTHORIZATION_FAILED (the CLI over SASL PLAIN)', async () => {
    const asApp = ['-b', sasl, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanism=PLAIN', '-X', 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="app" password="app-secret";'];
    const list = await runCli(['acl', 'list', ...asApp]);
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/^brook acl list: DescribeAcls: CLUSTER_AUTHORIZATION_FAILED: .*\n$/);
    const rm = await runCli(['acl', 'remove', '--allow-principal', 'User:app', '--topic', 'orders', ...asApp]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/^brook acl remove: DeleteAcls: CLUSTER_AUTHORIZATION_FAILED: .*\n$/);
    // Allowed to describe the cluster, not to alter it: the add is refused by CreateAcls.
    await runCli(['acl', 'add', '--allow-principal', 'User:app', '--operation', 'Describe', '--cluster', ...b]);
    const add = await runCli(['acl', 'add', '--allow-principal', 'User:app', '--operation', 'Read', '--topic', 'orders', ...asApp]);
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(/^brook acl add: CreateAcls: CLUSTER_AUTHORIZATION_FAILED: .*\n$/);
    await runCli(['acl', 'remove', '--cluster', '--force', ...b]);
    expect(await brokerAcls()).toEqual([]);
  });
});

describe.skipIf(!hasDist)(`brook acl without an authorizer${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('answers SECURITY_DISABLED: one line on stderr, exit code 1', async () => {
    const plain = await startTestBroker();
    try {
      const bb = ['-b', plain.bootstrap];
      for (const [args, api] of [
        [['acl', 'list'], 'DescribeAcls'],
        [['acl', 'add', '--allow-principal', 'User:app', '--topic', 't'], 'DescribeAcls'],
        [['acl', 'remove', '--allow-principal', 'User:app', '--topic', 't'], 'DeleteAcls'],
      ] as Array<[string[], string]>) {
        const r = await runCli([...args, ...bb]);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(new RegExp(`^brook acl ${args[1]}: ${api}: SECURITY_DISABLED: [^\\n]*\\n$`));
      }
    } finally {
      await plain.close();
    }
  });
});
