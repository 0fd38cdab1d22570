// Issue 11, authorization: the ACL APIs over real sockets. kafkajs admin creates, describes and
// deletes ACLs (DescribeAcls/CreateAcls/DeleteAcls v0-1), the raw client does the same with the
// flexible versions (v2-3); ACLs persist across a restart with a data directory and keep taking
// effect; without an authorizer the ACL APIs answer SECURITY_DISABLED; a principal without ALTER /
// DESCRIBE on the cluster gets CLUSTER_AUTHORIZATION_FAILED. Principals come from client
// certificates on an SSL listener (ssl.client.auth=required).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { brokerListeners } from '../../src/cli/start.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';
import { settingsFromArgs } from '../../src/config/properties.js';
import { checkStartupConfig, resolveListeners } from '../../src/config/startup.js';
import { ErrorCode } from '../../protocol/errors.js';
import { CreateAclsApi, decodeCreateAclsResponse, encodeCreateAclsRequest } from '../../protocol/generated/30-create-acls.js';
import { DescribeAclsApi, decodeDescribeAclsResponse, encodeDescribeAclsRequest } from '../../protocol/generated/29-describe-acls.js';
import { DeleteAclsApi, decodeDeleteAclsResponse, encodeDeleteAclsRequest } from '../../protocol/generated/31-delete-acls.js';
import { CreateTopicsApi, decodeCreateTopicsResponse, encodeCreateTopicsRequest } from '../../protocol/generated/19-create-topics.js';
import { DescribeClusterApi, decodeDescribeClusterResponse, encodeDescribeClusterRequest } from '../../protocol/generated/60-describe-cluster.js';
import { operationsBitField } from '../../src/security/acls.js';
import { createLogger, type Logger } from '../../src/common/logger.js';
import { Writable } from 'node:stream';
import { kafkaFor, metadataApi, startTestBroker } from '../helpers/broker.js';
import { makePki, type TestPki } from '../helpers/certs.js';

const STANDARD = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';
const createAcls = clientApi(CreateAclsApi, encodeCreateAclsRequest, decodeCreateAclsResponse);
const describeAcls = clientApi(DescribeAclsApi, encodeDescribeAclsRequest, decodeDescribeAclsResponse);
const deleteAcls = clientApi(DeleteAclsApi, encodeDeleteAclsRequest, decodeDeleteAclsResponse);
const createTopics = clientApi(CreateTopicsApi, encodeCreateTopicsRequest, decodeCreateTopicsResponse);
const describeCluster = clientApi(DescribeClusterApi, encodeDescribeClusterRequest, decodeDescribeClusterResponse);

let pki: TestPki;
let alice: { key: string; cert: string };
let mallory: { key: string; cert: string };
const ALICE = 'User:CN=alice,O=Brook Test';

beforeAll(() => {
  pki = makePki();
  alice = pki.client('alice', '/O=Brook Test/CN=alice');
  mallory = pki.client('mallory', '/O=Brook Test/CN=mallory');
});
afterAll(() => pki.remove());

/** A broker with PLAINTEXT (ANONYMOUS, the super user here) and SSL with required client certificates. */
async function securedBroker(extra: string[], dataDir?: string, logger?: Logger): Promise<Broker> {
  const startup = checkStartupConfig(settingsFromArgs([
    'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
    ...pki.brokerSettings(),
    'ssl.client.auth=required',
    ...extra,
  ]));
  const plan = resolveListeners(startup, {});
  return startBroker({ listeners: brokerListeners(plan), config: startup.values, ...(dataDir ? { dataDir } : { memory: true }), ...(logger ? { logger } : {}) });
}

function ssl(b: Broker): { host: string; port: number } {
  const l = b.listeners.find((x) => x.name === 'SSL')!;
  return { host: l.host, port: l.port };
}

function kafkaAs(b: Broker, who: { key: string; cert: string }) {
  const { host, port } = ssl(b);
  return kafkaFor(`${host}:${port}`, { ssl: { ca: [pki.pem('ca.crt')], key: who.key, cert: who.cert } });
}

function rawAs(b: Broker, who: { key: string; cert: string }): Promise<RawClient> {
  const { host, port } = ssl(b);
  return RawClient.connectTls({ host, port, ca: [pki.pem('ca.crt')], key: who.key, cert: who.cert, servername: 'localhost' });
}

const NULLS = { resourceNameFilter: null, principalFilter: null, hostFilter: null };

const anyFilter = {
  resourceType: AclResourceTypes.ANY,
  resourcePatternType: ResourcePatternTypes.ANY,
  operation: AclOperationTypes.ANY,
  permissionType: AclPermissionTypes.ANY,
};

describe('ACL APIs', () => {
  it('without authorizer.class.name the ACL APIs answer SECURITY_DISABLED', async () => {
    const b = await startTestBroker();
    const c = await RawClient.connect(b.host, b.port);
    try {
      for (const v of [0, 1, 2, 3]) {
        expect((await c.request(describeAcls, v, { ...NULLS, resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1 })).errorCode).toBe(ErrorCode.SECURITY_DISABLED);
        const cr = await c.request(createAcls, v, { creations: [{ resourceType: 2, resourceName: 't', resourcePatternType: 3, principal: 'User:a', host: '*', operation: 3, permissionType: 3 }] });
        expect(cr.results.map((r) => r.errorCode)).toEqual([ErrorCode.SECURITY_DISABLED]);
        const dr = await c.request(deleteAcls, v, { filters: [{ ...NULLS, resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1 }] });
        expect(dr.filterResults.map((r) => r.errorCode)).toEqual([ErrorCode.SECURITY_DISABLED]);
      }
    } finally {
      c.close();
      await b.close();
    }
  });

  it('kafkajs admin creates, describes and deletes ACLs; they take effect for a certificate principal', async () => {
    const b = await securedBroker([`authorizer.class.name=${STANDARD}`, 'super.users=User:ANONYMOUS']);
    const admin = kafkaFor(b).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'orders' }, { topic: 'secret' }] });
      const asAlice = kafkaAs(b, alice).producer();
      // No ACLs yet: alice is refused.
      await asAlice.connect();
      await expect(asAlice.send({ topic: 'orders', messages: [{ value: 'x' }] })).rejects.toThrow(/authoriz/i);
      await asAlice.disconnect();

      await admin.createAcls({
        acl: [
          { resourceType: AclResourceTypes.TOPIC, resourceName: 'ord', resourcePatternType: ResourcePatternTypes.PREFIXED, principal: ALICE, host: '*', operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.ALLOW },
          { resourceType: AclResourceTypes.GROUP, resourceName: '*', resourcePatternType: ResourcePatternTypes.LITERAL, principal: ALICE, host: '127.0.0.1', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
        ],
      });
      const described = await admin.describeAcls(anyFilter);
      const flat = described.resources.flatMap((r) => r.acls.map((a) => `${r.resourceType}/${r.resourcePatternType}/${r.resourceName} ${a.principal}@${a.host} ${a.operation} ${a.permissionType}`)).sort();
      expect(flat).toEqual([
        `${AclResourceTypes.GROUP}/${ResourcePatternTypes.LITERAL}/* ${ALICE}@127.0.0.1 ${AclOperationTypes.READ} ${AclPermissionTypes.ALLOW}`,
        `${AclResourceTypes.TOPIC}/${ResourcePatternTypes.PREFIXED}/ord ${ALICE}@* ${AclOperationTypes.WRITE} ${AclPermissionTypes.ALLOW}`,
      ].sort());

      // WRITE on orders works now (idempotence off: no InitProducerId); secret stays refused.
      const p = kafkaAs(b, alice).producer({ idempotent: false });
      await p.connect();
      try {
        await p.send({ topic: 'orders', messages: [{ value: 'x' }] });
        await expect(p.send({ topic: 'secret', messages: [{ value: 'x' }] })).rejects.toThrow(/authoriz/i);
      } finally {
        await p.disconnect();
      }
      // Mallory has no ACL.
      const m = kafkaAs(b, mallory).producer({ idempotent: false });
      await m.connect();
      try {
        await expect(m.send({ topic: 'orders', messages: [{ value: 'x' }] })).rejects.toThrow(/authoriz/i);
      } finally {
        await m.disconnect();
      }

      const del = await admin.deleteAcls({ filters: [{ ...anyFilter, resourceType: AclResourceTypes.TOPIC }] });
      expect(del.filterResponses[0]!.errorCode).toBe(0);
      expect(del.filterResponses[0]!.matchingAcls.map((a) => a.resourceName)).toEqual(['ord']);
      expect((await admin.describeAcls(anyFilter)).resources.map((r) => r.resourceType)).toEqual([AclResourceTypes.GROUP]);
    } finally {
      await admin.disconnect();
      await b.close();
    }
  });

  it('kafkajs as certificate principals: an idempotent producer with WRITE, a group consumer with READ; refusals otherwise, each logged on one line', async () => {
    let logText = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logText += chunk.toString();
        cb();
      },
    });
    const b = await securedBroker([`authorizer.class.name=${STANDARD}`, 'super.users=User:ANONYMOUS'], undefined, createLogger('info', sink));
    const denials = (): Array<Record<string, unknown>> =>
      logText
        .split('\n')
        .filter((l) => l.includes('"authorization denied"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const admin = kafkaFor(b).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'events' }] });
      const allow = (resourceType: number, resourceName: string, operation: number) => ({
        resourceType, resourceName, resourcePatternType: ResourcePatternTypes.LITERAL, principal: ALICE, host: '*', operation, permissionType: AclPermissionTypes.ALLOW,
      });
      await admin.createAcls({
        acl: [
          allow(AclResourceTypes.TOPIC, 'events', AclOperationTypes.WRITE),
          allow(AclResourceTypes.TOPIC, 'events', AclOperationTypes.READ),
          allow(AclResourceTypes.GROUP, 'app', AclOperationTypes.READ),
          allow(AclResourceTypes.GROUP, 'other', AclOperationTypes.DESCRIBE),
        ],
      });
      // Idempotent (kafkajs' default): InitProducerId is allowed by WRITE on some topic (KIP-679).
      const p = kafkaAs(b, alice).producer({ idempotent: true });
      await p.connect();
      await p.send({ topic: 'events', messages: [{ value: 'a' }, { value: 'b' }] });
      await p.disconnect();

      const got: string[] = [];
      const c = kafkaAs(b, alice).consumer({ groupId: 'app' });
      await c.connect();
      try {
        await c.subscribe({ topic: 'events', fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          c.run({
            eachMessage: async ({ message }) => {
              got.push(message.value!.toString());
              if (got.length === 2) resolve();
            },
          }).catch(reject);
        });
      } finally {
        await c.disconnect();
      }
      expect(got).toEqual(['a', 'b']);

      // Another group: alice may DESCRIBE it (FindCoordinator) but not READ it (JoinGroup).
      const other = kafkaAs(b, alice).consumer({ groupId: 'other', retry: { retries: 0 } });
      await other.connect();
      try {
        await other.subscribe({ topic: 'events', fromBeginning: true });
        const crashed = new Promise<Error>((resolve) => other.on(other.events.CRASH, (e) => resolve(e.payload.error)));
        await other.run({ eachMessage: async () => {} });
        expect((await crashed).message).toMatch(/authoriz/i);
      } finally {
        await other.disconnect();
      }
      // Mallory's idempotent producer cannot even get a producer id.
      // (kafkajs asks for one at connect: InitProducerId answers CLUSTER_AUTHORIZATION_FAILED.)
      const m = kafkaAs(b, mallory).producer({ idempotent: true });
      try {
        await expect(m.connect()).rejects.toThrow(/Cluster authorization failed/);
      } finally {
        await m.disconnect();
      }
      // Mallory sees no topics in Metadata.
      const ma = kafkaAs(b, mallory).admin();
      await ma.connect();
      try {
        expect(await ma.listTopics()).toEqual([]);
      } finally {
        await ma.disconnect();
      }
      // The topics left out of mallory's listing of every topic are not logged (as Kafka).
      const MALLORY = 'User:CN=mallory,O=Brook Test';
      expect(denials().filter((d) => d.principal === MALLORY && d.request === 'Metadata')).toEqual([]);
      // A plain producer of mallory's is refused WRITE on the topic.
      const mp = kafkaAs(b, mallory).producer({ retry: { retries: 0 } });
      await mp.connect();
      try {
        await expect(mp.send({ topic: 'events', messages: [{ value: 'x' }] })).rejects.toThrow(/authoriz/i);
      } finally {
        await mp.disconnect();
      }
      // Each refusal is one info line naming who, from where, what, on which resource, in which
      // request (kafkajs asks Metadata for the topic first and stops at its refusal).
      expect(denials()).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ principal: ALICE, host: '127.0.0.1', operation: 'READ', resource: 'Group:other', request: 'JoinGroup' }),
          expect.objectContaining({ principal: MALLORY, host: '127.0.0.1', operation: 'DESCRIBE', resource: 'Topic:events', request: 'Metadata' }),
        ]),
      );
      expect(denials().every((d) => d.level === 30)).toBe(true);
    } finally {
      await admin.disconnect();
      await b.close();
    }
  });

  it('flexible versions, bad bindings and filters (INVALID_REQUEST), and CLUSTER_AUTHORIZATION_FAILED without cluster rights', async () => {
    const b = await securedBroker([`authorizer.class.name=kafka.security.authorizer.AclAuthorizer`, 'super.users=User:ANONYMOUS']);
    const admin = await RawClient.connect(b.host, b.port);
    const m = await rawAs(b, mallory);
    const a = await rawAs(b, alice);
    try {
      const creation = { resourceType: 2, resourceName: 't', resourcePatternType: 3, principal: 'User:x', host: '*', operation: 3, permissionType: 3 };
      for (const v of [2, 3]) {
        const r = await admin.request(createAcls, v, { creations: [creation, { ...creation, resourcePatternType: 2 }, { ...creation, principal: 'nocolon' }, { ...creation, operation: 1 }] });
        expect(r.results.map((x) => x.errorCode)).toEqual([0, 42, 42, 42]);
        const d = await admin.request(describeAcls, v, { ...NULLS, resourceTypeFilter: 2, resourceNameFilter: 't', patternTypeFilter: 2, operation: 1, permissionType: 1 });
        expect(d.errorCode).toBe(0);
        expect(d.resources).toEqual([{ resourceType: 2, resourceName: 't', patternType: 3, acls: [{ principal: 'User:x', host: '*', operation: 3, permissionType: 3 }] }]);
        expect((await admin.request(describeAcls, v, { ...NULLS, resourceTypeFilter: 0, patternTypeFilter: 1, operation: 1, permissionType: 1 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
        const dr = await admin.request(deleteAcls, v, { filters: [{ ...NULLS, resourceTypeFilter: 2, patternTypeFilter: 3, resourceNameFilter: 't', operation: 1, permissionType: 1 }, { ...NULLS, resourceTypeFilter: 2, patternTypeFilter: 0, operation: 1, permissionType: 1 }] });
        expect(dr.filterResults.map((x) => [x.errorCode, x.matchingAcls.length])).toEqual([[0, 1], [42, 0]]);
      }
      // v0 filters and creations are LITERAL only.
      await admin.request(createAcls, 3, { creations: [{ ...creation, resourceName: 'pre', resourcePatternType: 4 }] });
      expect((await admin.request(describeAcls, 0, { ...NULLS, resourceTypeFilter: 1, operation: 1, permissionType: 1 })).resources).toEqual([]);
      expect((await admin.request(describeAcls, 1, { ...NULLS, resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1 })).resources.map((r) => r.resourceName)).toEqual(['pre']);

      // Mallory: no cluster rights.
      for (const v of [0, 3]) {
        expect((await m.request(describeAcls, v, { ...NULLS, resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1 })).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
        expect((await m.request(createAcls, v, { creations: [creation] })).results.map((x) => x.errorCode)).toEqual([ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);
        expect((await m.request(deleteAcls, v, { filters: [{ ...NULLS, resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1 }] })).filterResults.map((x) => x.errorCode)).toEqual([ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);
      }
      // DESCRIBE on the cluster lets alice describe but not create; ALTER (which implies DESCRIBE) both.
      const clusterAcl = (operation: number) => ({ resourceType: 4, resourceName: 'kafka-cluster', resourcePatternType: 3, principal: ALICE, host: '*', operation, permissionType: 3 });
      await admin.request(createAcls, 3, { creations: [clusterAcl(8)] });
      expect((await a.request(describeAcls, 3, { ...NULLS, resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1 })).errorCode).toBe(0);
      expect((await a.request(createAcls, 3, { creations: [creation] })).results[0]!.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      await admin.request(createAcls, 3, { creations: [clusterAcl(7)] });
      expect((await a.request(createAcls, 3, { creations: [creation] })).results[0]!.errorCode).toBe(0);
      expect((await m.request(describeAcls, 3, { ...NULLS, resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1 })).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    } finally {
      admin.close();
      m.close();
      a.close();
      await b.close();
    }
  });

  it('CreateTopics returns configs only with DESCRIBE_CONFIGS; Metadata and DescribeCluster report authorized operations as bit fields', async () => {
    const b = await securedBroker([`authorizer.class.name=${STANDARD}`, 'super.users=User:ANONYMOUS']);
    const admin = await RawClient.connect(b.host, b.port);
    const a = await rawAs(b, alice);
    try {
      const acl = (resourceName: string, resourcePatternType: number, operation: number) => ({ resourceType: 2, resourceName, resourcePatternType, principal: ALICE, host: '*', operation, permissionType: 3 });
      // CREATE on c-*, and on c-2 also WRITE (implies DESCRIBE) and ALTER_CONFIGS (implies DESCRIBE_CONFIGS).
      const created = await admin.request(createAcls, 3, { creations: [acl('c-', 4, 5), acl('c-2', 3, 4), acl('c-2', 3, 11)] });
      expect(created.results.map((r) => r.errorCode)).toEqual([0, 0, 0]);
      const topic = (name: string) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] });
      const r = await a.request(createTopics, 7, { topics: [topic('c-1'), topic('c-2'), topic('d-1')], timeoutMs: 1000 });
      const byName = new Map(r.topics.map((t) => [t.name, t]));
      expect(byName.get('c-1')).toMatchObject({ errorCode: 0, topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, configs: null, numPartitions: 1 });
      expect(byName.get('c-2')).toMatchObject({ errorCode: 0, topicConfigErrorCode: 0 });
      expect(byName.get('c-2')!.configs!.length).toBeGreaterThan(0);
      expect(byName.get('d-1')!.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);

      const md = await a.request(metadataApi, 12, { topics: [{ name: 'c-1' }, { name: 'c-2' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true });
      expect(md.topics.map((t) => [t.name, t.errorCode])).toEqual([['c-1', ErrorCode.TOPIC_AUTHORIZATION_FAILED], ['c-2', 0]]);
      expect(md.topics[1]!.topicAuthorizedOperations).toBe(operationsBitField([4, 5, 8, 10, 11]));
      const notAsked = await a.request(metadataApi, 12, { topics: [{ name: 'c-2' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      expect(notAsked.topics[0]!.topicAuthorizedOperations).toBe(-2147483648);
      // Metadata v8-10 and DescribeCluster: the cluster's operations, 0 without DESCRIBE on it.
      const v10 = await a.request(metadataApi, 10, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true });
      expect(v10.clusterAuthorizedOperations).toBe(0);
      expect((await a.request(describeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 })).clusterAuthorizedOperations).toBe(0);
      await admin.request(createAcls, 3, { creations: [{ resourceType: 4, resourceName: 'kafka-cluster', resourcePatternType: 3, principal: ALICE, host: '*', operation: 7, permissionType: 3 }] });
      // ALTER on the cluster, which implies DESCRIBE.
      expect((await a.request(describeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 })).clusterAuthorizedOperations).toBe(operationsBitField([7, 8]));
      expect((await a.request(metadataApi, 10, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true })).clusterAuthorizedOperations).toBe(operationsBitField([7, 8]));
      // The super user: every cluster operation Kafka lists.
      expect((await admin.request(describeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 })).clusterAuthorizedOperations).toBe(operationsBitField([5, 7, 8, 9, 10, 11, 12]));
    } finally {
      admin.close();
      a.close();
      await b.close();
    }
  });

  it('ACLs persist across a restart with a data directory and still take effect', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'brook-acls-'));
    const settings = [`authorizer.class.name=${STANDARD}`, 'super.users=User:ANONYMOUS'];
    try {
      let b = await securedBroker(settings, dataDir);
      let admin = kafkaFor(b).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'kept' }] });
      await admin.createAcls({
        acl: [{ resourceType: AclResourceTypes.TOPIC, resourceName: 'kept', resourcePatternType: ResourcePatternTypes.LITERAL, principal: ALICE, host: '*', operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.ALLOW }],
      });
      await admin.disconnect();
      await b.close();

      b = await securedBroker(settings, dataDir);
      admin = kafkaFor(b).admin();
      await admin.connect();
      try {
        const d = await admin.describeAcls(anyFilter);
        expect(d.resources.map((r) => [r.resourceName, r.acls.map((x) => x.principal)])).toEqual([['kept', [ALICE]]]);
        const p = kafkaAs(b, alice).producer({ idempotent: false });
        await p.connect();
        await p.send({ topic: 'kept', messages: [{ value: 'after restart' }] });
        await p.disconnect();
        const m = kafkaAs(b, mallory).producer({ idempotent: false });
        await m.connect();
        await expect(m.send({ topic: 'kept', messages: [{ value: 'x' }] })).rejects.toThrow(/authoriz/i);
        await m.disconnect();
      } finally {
        await admin.disconnect();
        await b.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('authorizer configs', () => {
  const startError = (settings: string[]): string | null => {
    try {
      checkStartupConfig(settingsFromArgs(settings));
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  };

  it("accepts Kafka's authorizer class names, super.users and allow.everyone.if.no.acl.found; refuses others", () => {
    expect(startError(['authorizer.class.name=kafka.security.authorizer.AclAuthorizer', 'super.users=User:a;User:CN=b,O=c', 'allow.everyone.if.no.acl.found=true'])).toBeNull();
    expect(checkStartupConfig(settingsFromArgs(['authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer'])).warnings).toEqual([]);
    expect(startError(['authorizer.class.name=com.example.MyAuthorizer'])).toMatch(/authorizer.class.name.*AclAuthorizer/);
    expect(startError(['super.users=admin'])).toMatch(/super.users.*Type:name/);
  });
});
