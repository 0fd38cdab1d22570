// Issue 11, "done when": the authorization matrix. For every API key Brook advertises (taken from
// the handler table: a new API without a row here fails), at its lowest and highest advertised
// version, one principal with ACLs (alice: ALL on every topic, group, transactional id and the
// cluster), one without (mallory) and one whose ACLs allow everything but also deny everything
// (eve: DENY wins) send a request touching real resources over an SSL listener whose client
// certificates are the principals. Mallory and eve must get Kafka's authorization error for every
// resource the request touches (or, for the APIs that filter instead, see nothing); alice must
// never get one. Zero unauthorized successes.

import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker.js';
import { brokerListeners } from '../../src/cli/start.js';
import { RawClient, clientApi, type ClientApi } from '../../src/client/raw-client.js';
import { settingsFromArgs } from '../../src/config/properties.js';
import { checkStartupConfig, resolveListeners } from '../../src/config/startup.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives/uuid.js';
import { advertisedApis, kafkaFor, topicId } from '../helpers/broker.js';
import { makePki, type TestPki } from '../helpers/certs.js';

const AUTH_ERRORS = new Set<number>([
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
]);
const ALICE = 'User:CN=alice,O=Brook Test';
const EVE = 'User:CN=eve,O=Brook Test';
const TOPIC = 'm';
const GROUP = 'g';
const TXN = 'tx';

/** Every error code in a response below the top level; the top-level one if there are none. */
function errorCodes(resp: unknown): number[] {
  const found: number[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
    } else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (depth > 0 && typeof x === 'number' && /errorCode$/i.test(k) && k !== 'topicConfigErrorCode') found.push(x);
        else walk(x, depth + 1);
      }
    }
  };
  walk(resp, 0);
  if (found.length === 0 && typeof (resp as { errorCode?: unknown }).errorCode === 'number') found.push((resp as { errorCode: number }).errorCode);
  return found;
}

/** Denied as Kafka denies: an authorization error wherever a resource was touched. */
const refused = (resp: unknown): boolean => {
  const codes = errorCodes(resp);
  return codes.length > 0 && codes.every((c) => AUTH_ERRORS.has(c));
};

/** Served: no authorization error anywhere in the response. */
const served = (resp: unknown): boolean => {
  const all: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (typeof x === 'number' && /errorCode$/i.test(k)) all.push(x);
        else walk(x);
      }
    }
  };
  walk(resp);
  return !all.some((c) => AUTH_ERRORS.has(c));
};

interface Env {
  version: number;
  who: 'alice' | 'mallory' | 'eve';
  topicId: string;
}

/** One request of a row; `denied`/`allowed` default to refused/served. */
interface Case {
  what: string;
  body(env: Env): Record<string, unknown>;
  denied?(resp: any, env: Env): boolean;
  allowed?(resp: any, env: Env): boolean;
}

const nulls = { resourceNameFilter: null, principalFilter: null, hostFilter: null };
const topicPartitions = [{ name: TOPIC, partitionIndexes: [0] }];

/** The matrix rows, by API key. */
const ROWS: Record<number, Case[]> = {
  0: [{ what: 'produce', body: () => ({ transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: null }] }] }) }],
  1: [
    {
      what: 'consumer fetch',
      body: (e) => ({ replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topic: TOPIC, topicId: e.topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1n }] }], rackId: '' }),
    },
    {
      what: 'follower fetch',
      body: (e) => ({ replicaId: 7, replicaState: { replicaId: 7, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topic: TOPIC, topicId: e.topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1n }] }], rackId: '' }),
    },
  ],
  2: [{ what: 'list offsets', body: () => ({ replicaId: -1, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -1n, maxNumOffsets: 1, currentLeaderEpoch: -1 }] }] }) }],
  3: [
    { what: 'named topic', body: () => ({ topics: [{ name: TOPIC, topicId: ZERO_UUID }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true }) },
    { what: 'auto-created topic', body: (e) => ({ topics: [{ name: `auto-${e.who}-${e.version}`, topicId: ZERO_UUID }], allowAutoTopicCreation: true }) },
    {
      what: 'all topics',
      body: (e) => ({ topics: e.version === 0 ? [] : null, includeClusterAuthorizedOperations: true }),
      denied: (r) => r.topics.length === 0,
      allowed: (r) => r.topics.some((t: { name: string }) => t.name === TOPIC),
    },
  ],
  8: [{ what: 'commit', body: () => ({ groupId: GROUP, generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' }] }] }) }],
  9: [
    { what: 'named partitions', body: () => ({ groupId: GROUP, topics: topicPartitions, groups: [{ groupId: GROUP, memberId: null, memberEpoch: -1, topics: topicPartitions }] }) },
  ],
  10: [
    { what: 'group', body: () => ({ key: GROUP, keyType: 0, coordinatorKeys: [GROUP] }) },
    { what: 'transactional id', body: (e) => ({ key: e.version === 0 ? GROUP : TXN, keyType: e.version === 0 ? 0 : 1, coordinatorKeys: [TXN] }) },
  ],
  11: [{ what: 'join', body: () => ({ groupId: GROUP, sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] }) }],
  12: [{ what: 'heartbeat', body: () => ({ groupId: GROUP, generationId: 1, memberId: 'nobody' }) }],
  13: [{ what: 'leave', body: () => ({ groupId: GROUP, memberId: 'nobody', members: [{ memberId: 'nobody', groupInstanceId: null, reason: null }] }) }],
  14: [{ what: 'sync', body: () => ({ groupId: GROUP, generationId: 1, memberId: 'nobody', protocolType: 'consumer', protocolName: 'range', assignments: [] }) }],
  15: [{ what: 'describe', body: () => ({ groups: [GROUP], includeAuthorizedOperations: true }) }],
  16: [{ what: 'list', body: () => ({ statesFilter: [], typesFilter: [] }), denied: (r) => r.groups.length === 0, allowed: (r) => r.groups.some((g: { groupId: string }) => g.groupId === GROUP) }],
  // SASL requests outside a SASL exchange (this is an SSL listener): ILLEGAL_SASL_STATE for
  // everyone, as Kafka; SASL listeners authenticate before any of this (test/security/sasl.test.ts).
  17: [{ what: 'sasl handshake (no authorization in Kafka)', body: () => ({ mechanism: 'PLAIN' }), denied: (r) => r.errorCode === ErrorCode.ILLEGAL_SASL_STATE, allowed: (r) => r.errorCode === ErrorCode.ILLEGAL_SASL_STATE }],
  36: [{ what: 'sasl authenticate (no authorization in Kafka)', body: () => ({ authBytes: Buffer.from('\u0000a\u0000b') }), denied: (r) => r.errorCode === ErrorCode.ILLEGAL_SASL_STATE, allowed: (r) => r.errorCode === ErrorCode.ILLEGAL_SASL_STATE }],
  48: [{ what: 'describe client quotas', body: () => ({ components: [], strict: false }) }],
  49: [{ what: 'alter client quotas', body: (e) => ({ entries: [{ entity: [{ entityType: 'client-id', entityName: `q-${e.who}` }], ops: [{ key: 'producer_byte_rate', value: 1000, remove: false }] }], validateOnly: true }) }],
  50: [{ what: 'describe scram users', body: () => ({ users: null }) }],
  51: [{ what: 'alter scram users', body: (e) => ({ deletions: [], upsertions: [{ name: `u-${e.who}-${e.version}`, mechanism: 1, iterations: 4096, salt: Buffer.alloc(16, 1), saltedPassword: Buffer.alloc(32, 2) }] }) }],
  18: [{ what: 'api versions (no authorization in Kafka)', body: () => ({ clientSoftwareName: 'matrix', clientSoftwareVersion: '1' }), denied: (r) => r.errorCode === 0, allowed: (r) => r.errorCode === 0 }],
  19: [{ what: 'create', body: (e) => ({ topics: [{ name: `new-${e.who}-${e.version}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 }) }],
  20: [{ what: 'delete', body: (e) => ({ topicNames: [`victim-${e.version}`], topics: [{ name: `victim-${e.version}`, topicId: ZERO_UUID }], timeoutMs: 1000 }) }],
  21: [{ what: 'delete records', body: () => ({ topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 1000 }) }],
  22: [
    { what: 'transactional', body: () => ({ transactionalId: TXN, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }) },
    { what: 'idempotent', body: () => ({ transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }) },
  ],
  23: [{ what: 'offset for leader epoch', body: () => ({ replicaId: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }) }],
  24: [
    {
      what: 'add partitions',
      body: () => ({
        v3AndBelowTransactionalId: TXN, v3AndBelowProducerId: 1n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }],
        transactions: [{ transactionalId: TXN, producerId: 1n, producerEpoch: 0, verifyOnly: true, topics: [{ name: TOPIC, partitions: [0] }] }],
      }),
    },
  ],
  25: [{ what: 'add offsets', body: () => ({ transactionalId: TXN, producerId: 1n, producerEpoch: 0, groupId: GROUP }) }],
  26: [{ what: 'end', body: () => ({ transactionalId: TXN, producerId: 1n, producerEpoch: 0, committed: false }) }],
  27: [{ what: 'markers', body: () => ({ markers: [{ producerId: 424242n, producerEpoch: 0, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: TOPIC, partitionIndexes: [0] }] }] }) }],
  28: [{ what: 'txn commit', body: () => ({ transactionalId: TXN, groupId: GROUP, producerId: 1n, producerEpoch: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: '' }] }] }) }],
  29: [{ what: 'describe acls', body: () => ({ ...nulls, resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1 }) }],
  30: [{ what: 'create acls', body: () => ({ creations: [{ resourceType: 2, resourceName: 'x', resourcePatternType: 3, principal: 'User:nobody', host: '*', operation: 3, permissionType: 3 }] }) }],
  31: [{ what: 'delete acls', body: () => ({ filters: [{ ...nulls, resourceTypeFilter: 2, resourceNameFilter: 'x', patternTypeFilter: 3, operation: 1, permissionType: 1 }] }) }],
  32: [
    { what: 'topic', body: () => ({ resources: [{ resourceType: 2, resourceName: TOPIC, configurationKeys: null }] }) },
    { what: 'broker', body: () => ({ resources: [{ resourceType: 4, resourceName: '1', configurationKeys: ['log.retention.ms'] }] }) },
  ],
  33: [
    { what: 'topic', body: () => ({ resources: [{ resourceType: 2, resourceName: TOPIC, configs: [{ name: 'retention.ms', value: '3600000' }] }], validateOnly: true }) },
    { what: 'broker', body: () => ({ resources: [{ resourceType: 4, resourceName: '1', configs: [] }], validateOnly: true }) },
  ],
  35: [
    {
      what: 'describe log dirs',
      body: () => ({ topics: null }),
      denied: (r, e) => r.results.length === 0 && (e.version < 3 || r.errorCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
      allowed: (r) => r.results.length > 0,
    },
  ],
  37: [{ what: 'create partitions', body: () => ({ topics: [{ name: TOPIC, count: 1, assignments: null }], timeoutMs: 1000, validateOnly: true }) }],
  42: [{ what: 'delete groups', body: (e) => ({ groupsNames: [`gone-${e.version}`] }) }],
  43: [{ what: 'elect', body: () => ({ electionType: 0, topicPartitions: [{ topic: TOPIC, partitions: [0] }], timeoutMs: 1000 }) }],
  44: [
    { what: 'topic', body: () => ({ resources: [{ resourceType: 2, resourceName: TOPIC, configs: [{ name: 'retention.ms', configOperation: 0, value: '3600000' }] }], validateOnly: true }) },
    { what: 'broker', body: () => ({ resources: [{ resourceType: 4, resourceName: '1', configs: [{ name: 'log.retention.ms', configOperation: 0, value: '3600000' }] }], validateOnly: true }) },
  ],
  45: [{ what: 'alter reassignments', body: () => ({ timeoutMs: 1000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: null }] }] }) }],
  46: [{ what: 'list reassignments', body: () => ({ timeoutMs: 1000, topics: null }) }],
  47: [{ what: 'offset delete', body: () => ({ groupId: GROUP, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] }) }],
  60: [
    {
      what: 'describe cluster (authorized operations only)',
      body: () => ({ includeClusterAuthorizedOperations: true, endpointType: 1 }),
      denied: (r) => r.errorCode === 0 && r.clusterAuthorizedOperations === 0,
      allowed: (r) => r.errorCode === 0 && r.clusterAuthorizedOperations > 0,
    },
  ],
  61: [{ what: 'describe producers', body: () => ({ topics: [{ name: TOPIC, partitionIndexes: [0] }] }) }],
  65: [{ what: 'describe transactions', body: () => ({ transactionalIds: [TXN] }) }],
  66: [
    {
      what: 'list transactions',
      body: () => ({ stateFilters: [], producerIdFilters: [], durationFilter: -1n }),
      denied: (r) => r.transactionStates.length === 0,
      allowed: (r) => r.transactionStates.some((t: { transactionalId: string }) => t.transactionalId === TXN),
    },
  ],
};

/** The generated codec of an API key (request encoder, response decoder). */
async function codecOf(apiKey: number, name: string): Promise<ClientApi<any, any>> {
  const dir = fileURLToPath(new URL('../../protocol/generated/', import.meta.url));
  const file = readdirSync(dir).find((f) => f.startsWith(`${String(apiKey).padStart(2, '0')}-`) && f.endsWith('.ts'));
  if (!file) throw new Error(`no generated codec for api key ${apiKey}`);
  const mod = (await import(`${dir}${file}`)) as Record<string, any>;
  return clientApi(mod[`${name}Api`], mod[`encode${name}Request`], mod[`decode${name}Response`]);
}

let pki: TestPki;
let broker: Broker;
const principals: Record<string, { key: string; cert: string }> = {};

beforeAll(async () => {
  pki = makePki();
  principals.alice = pki.client('alice', '/O=Brook Test/CN=alice');
  principals.mallory = pki.client('mallory', '/O=Brook Test/CN=mallory');
  principals.eve = pki.client('eve', '/O=Brook Test/CN=eve');
  const startup = checkStartupConfig(settingsFromArgs([
    'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
    ...pki.brokerSettings(),
    'ssl.client.auth=required',
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users=User:ANONYMOUS',
  ]));
  broker = await startBroker({ listeners: brokerListeners(resolveListeners(startup, {})), config: startup.values, memory: true });
  // Resources the requests touch, made by the super user over PLAINTEXT.
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const versions = [...new Set(HANDLERS.flatMap((h) => [h.minVersion, h.maxVersion]))];
  await admin.createTopics({ topics: [TOPIC, ...versions.map((v) => `victim-${v}`)].map((topic) => ({ topic })) });
  const producer = kafka.producer({ transactionalId: TXN, maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const txn = await producer.transaction();
  await txn.send({ topic: TOPIC, messages: [{ value: 'v' }] });
  await txn.commit();
  await producer.disconnect();
  // Groups with committed offsets (simple commits, as kafkajs admin.setOffsets ends up doing).
  const raw = await RawClient.connect(broker.host, broker.port);
  try {
    const commit = await codecOf(8, 'OffsetCommit');
    for (const groupId of [GROUP, ...versions.map((v) => `gone-${v}`)]) {
      const r = await raw.request(commit, 2, { groupId, generationIdOrMemberEpoch: -1, memberId: '', retentionTimeMs: -1n, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 0n, committedMetadata: '' }] }] });
      expect(errorCodes(r)).toEqual([ErrorCode.NONE]);
    }
  } finally {
    raw.close();
  }
  const everything = (principal: string, permissionType: number) =>
    [2, 3, 4, 5].map((resourceType) => ({
      resourceType, resourceName: resourceType === 4 ? 'kafka-cluster' : '*', resourcePatternType: 3,
      principal, host: '*', operation: 2, permissionType,
    }));
  // ALLOW = 3, DENY = 2.
  await admin.createAcls({ acl: [...everything(ALICE, 3), ...everything(EVE, 3), ...everything(EVE, 2)] as never });
  await admin.disconnect();
}, 60_000);

afterAll(async () => {
  await broker?.close();
  pki?.remove();
});

function connectAs(who: string): Promise<RawClient> {
  const l = broker.listeners.find((x) => x.name === 'SSL')!;
  const p = principals[who]!;
  return RawClient.connectTls({ host: l.host, port: l.port, ca: [pki.pem('ca.crt')], key: p.key, cert: p.cert, servername: 'localhost' });
}

describe('authorization matrix', () => {
  it('has a row for every API key Brook advertises', async () => {
    const c = await connectAs('mallory');
    try {
      const advertised = [...(await advertisedApis(c)).keys()].sort((a, b) => a - b);
      expect(advertised).toEqual(HANDLERS.map((h) => h.api.apiKey).sort((a, b) => a - b));
      expect(advertised.filter((k) => ROWS[k] === undefined)).toEqual([]);
    } finally {
      c.close();
    }
  });

  it('every API at its lowest and highest version: no unauthorized success, no authorized refusal', async () => {
    const tid = await (async () => {
      const c = await RawClient.connect(broker.host, broker.port);
      try {
        return await topicId(c, TOPIC);
      } finally {
        c.close();
      }
    })();
    const problems: string[] = [];
    let checked = 0;
    // The refused first: alice's requests change state (deleted topics and groups, new topics).
    for (const who of ['mallory', 'eve', 'alice'] as const) {
      for (const h of HANDLERS) {
        const api = await codecOf(h.api.apiKey, h.api.name);
        for (const version of [...new Set([h.minVersion, h.maxVersion])]) {
          for (const row of ROWS[h.api.apiKey] ?? []) {
            const env: Env = { version, who, topicId: tid };
            // A fresh connection per request: a refusal must not depend on what came before.
            const c = await connectAs(who);
            let resp: unknown;
            try {
              resp = await c.request(api, version, row.body(env));
            } catch (err) {
              problems.push(`${who} ${h.api.name} v${version} ${row.what}: ${(err as Error).message}`);
              continue;
            } finally {
              c.close();
            }
            checked++;
            const ok = who === 'alice' ? (row.allowed ?? served)(resp, env) : (row.denied ?? refused)(resp, env);
            if (!ok) {
              problems.push(`${who} ${h.api.name} v${version} ${row.what}: ${JSON.stringify(resp, (_, v) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? `<${v.length} bytes>` : v))}`);
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(3 * 2 * HANDLERS.length);
  }, 120_000);
});
