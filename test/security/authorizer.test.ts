// Issue 11, authorization: the ACL authorizer's decisions follow Kafka's AclAuthorizer /
// StandardAuthorizer (wildcards, prefixes, deny over allow, implied DESCRIBE / DESCRIBE_CONFIGS,
// super users, allow.everyone.if.no.acl.found, authorizeByResourceType), filters follow
// ResourcePatternFilter / AccessControlEntryFilter, and the index follows the store's changes.

import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation as Op, PatternType, PermissionType, ResourceType, operationsBitField, type AclBinding } from '../../src/security/acls.js';
import { AclAuthorizer, hostOf } from '../../src/security/authorizer.js';
import { memorySecurityStore } from '../../src/security/store.js';

const ALICE = 'User:alice';
const BOB = 'User:bob';
const HOST = '10.0.0.1';

function acl(p: Partial<AclBinding>): AclBinding {
  return {
    resourceType: ResourceType.TOPIC, resourceName: 'orders', patternType: PatternType.LITERAL,
    principal: ALICE, host: '*', operation: Op.READ, permissionType: PermissionType.ALLOW, ...p,
  };
}

async function authorizer(acls: AclBinding[], opts: { superUsers?: string[]; allowEveryoneIfNoAclFound?: boolean } = {}): Promise<AclAuthorizer> {
  const a = new AclAuthorizer(memorySecurityStore(), { enabled: true, ...opts });
  const r = await a.createAcls(acls);
  expect(r.every((x) => x.errorCode === ErrorCode.NONE)).toBe(true);
  return a;
}

describe('AclAuthorizer decisions', () => {
  it('no authorizer configured: everything is allowed', () => {
    const a = new AclAuthorizer(memorySecurityStore(), { enabled: false });
    expect(a.authorize(BOB, HOST, Op.WRITE, ResourceType.TOPIC, 'x')).toBe(true);
    expect(a.authorizedOperations(BOB, HOST, ResourceType.GROUP, 'g')).toBe(operationsBitField([3, 6, 8]));
  });

  it('literal, wildcard and prefixed patterns; principals and hosts', async () => {
    const a = await authorizer([
      acl({}),
      acl({ resourceName: '*', principal: BOB, operation: Op.WRITE }),
      acl({ resourceName: 'logs-', patternType: PatternType.PREFIXED, principal: 'User:*', operation: Op.READ, host: HOST }),
    ]);
    expect(a.authorize(ALICE, HOST, Op.READ, ResourceType.TOPIC, 'orders')).toBe(true);
    expect(a.authorize(ALICE, HOST, Op.WRITE, ResourceType.TOPIC, 'orders')).toBe(false);
    expect(a.authorize(ALICE, HOST, Op.READ, ResourceType.TOPIC, 'orders2')).toBe(false);
    expect(a.authorize(ALICE, HOST, Op.READ, ResourceType.GROUP, 'orders')).toBe(false);
    expect(a.authorize(BOB, HOST, Op.WRITE, ResourceType.TOPIC, 'anything')).toBe(true);
    expect(a.authorize('User:carol', HOST, Op.READ, ResourceType.TOPIC, 'logs-app')).toBe(true);
    expect(a.authorize('User:carol', '10.0.0.2', Op.READ, ResourceType.TOPIC, 'logs-app')).toBe(false);
    expect(a.authorize('User:carol', HOST, Op.READ, ResourceType.TOPIC, 'logs')).toBe(false);
  });

  it('deny beats allow, also through ALL, wildcards and prefixes', async () => {
    const a = await authorizer([
      acl({ operation: Op.ALL }),
      acl({ resourceName: 'ord', patternType: PatternType.PREFIXED, operation: Op.WRITE, permissionType: PermissionType.DENY }),
      acl({ resourceName: '*', principal: 'User:*', host: '10.9.9.9', operation: Op.ALL, permissionType: PermissionType.DENY }),
    ]);
    expect(a.authorize(ALICE, HOST, Op.READ, ResourceType.TOPIC, 'orders')).toBe(true);
    expect(a.authorize(ALICE, HOST, Op.WRITE, ResourceType.TOPIC, 'orders')).toBe(false);
    expect(a.authorize(ALICE, '10.9.9.9', Op.READ, ResourceType.TOPIC, 'orders')).toBe(false);
  });

  it('READ/WRITE/DELETE/ALTER imply DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS; a DENY implies nothing', async () => {
    const a = await authorizer([
      acl({ operation: Op.WRITE }),
      acl({ operation: Op.ALTER_CONFIGS }),
      acl({ resourceName: 'other', operation: Op.READ, permissionType: PermissionType.DENY }),
      acl({ resourceName: 'other', operation: Op.DESCRIBE }),
    ]);
    expect(a.authorize(ALICE, HOST, Op.DESCRIBE, ResourceType.TOPIC, 'orders')).toBe(true);
    expect(a.authorize(ALICE, HOST, Op.DESCRIBE_CONFIGS, ResourceType.TOPIC, 'orders')).toBe(true);
    expect(a.authorize(ALICE, HOST, Op.READ, ResourceType.TOPIC, 'orders')).toBe(false);
    // DENY READ does not deny DESCRIBE.
    expect(a.authorize(ALICE, HOST, Op.DESCRIBE, ResourceType.TOPIC, 'other')).toBe(true);
    expect(a.authorizedOperations(ALICE, HOST, ResourceType.TOPIC, 'orders')).toBe(operationsBitField([Op.WRITE, Op.DESCRIBE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS]));
  });

  it('super.users and allow.everyone.if.no.acl.found', async () => {
    const a = await authorizer([acl({})], { superUsers: ['User:admin'], allowEveryoneIfNoAclFound: true });
    expect(a.authorize('User:admin', HOST, Op.ALTER, ResourceType.CLUSTER, 'kafka-cluster')).toBe(true);
    // No ACL on the resource: everyone. An ACL on it (for someone else): only them.
    expect(a.authorize(BOB, HOST, Op.WRITE, ResourceType.TOPIC, 'free')).toBe(true);
    expect(a.authorize(BOB, HOST, Op.READ, ResourceType.TOPIC, 'orders')).toBe(false);
    const strict = await authorizer([]);
    expect(strict.authorize(BOB, HOST, Op.WRITE, ResourceType.TOPIC, 'free')).toBe(false);
  });

  it('authorizeByResourceType (InitProducerId: WRITE on some topic)', async () => {
    expect((await authorizer([acl({ operation: Op.WRITE })])).authorizeByResourceType(ALICE, HOST, Op.WRITE, ResourceType.TOPIC)).toBe(true);
    expect((await authorizer([acl({ operation: Op.READ })])).authorizeByResourceType(ALICE, HOST, Op.WRITE, ResourceType.TOPIC)).toBe(false);
    const denied = await authorizer([
      acl({ resourceName: 'a-1', operation: Op.WRITE }),
      acl({ resourceName: 'a-', patternType: PatternType.PREFIXED, operation: Op.WRITE, permissionType: PermissionType.DENY }),
    ]);
    expect(denied.authorizeByResourceType(ALICE, HOST, Op.WRITE, ResourceType.TOPIC)).toBe(false);
    const wildDeny = await authorizer([acl({ operation: Op.WRITE }), acl({ resourceName: '*', operation: Op.WRITE, permissionType: PermissionType.DENY })]);
    expect(wildDeny.authorizeByResourceType(ALICE, HOST, Op.WRITE, ResourceType.TOPIC)).toBe(false);
  });

  it('validates new bindings like Kafka (INVALID_REQUEST) and stores the valid ones', async () => {
    const a = new AclAuthorizer(memorySecurityStore(), { enabled: true });
    const r = await a.createAcls([
      acl({}),
      acl({ patternType: PatternType.MATCH }),
      acl({ resourceType: ResourceType.ANY }),
      acl({ operation: Op.ANY }),
      acl({ permissionType: PermissionType.ANY }),
      acl({ principal: 'alice' }),
      acl({ resourceName: '' }),
      acl({ resourceType: ResourceType.CLUSTER, resourceName: 'c' }),
    ]);
    expect(r.map((x) => x.errorCode)).toEqual([0, 42, 42, 42, 42, 42, 42, 42]);
    expect(a.acls({ resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: Op.ANY, permissionType: PermissionType.ANY })).toHaveLength(1);
  });

  it('filters: ANY, MATCH and exact pattern types; deletion follows them', async () => {
    const a = await authorizer([
      acl({ resourceName: 'orders' }),
      acl({ resourceName: '*' }),
      acl({ resourceName: 'ord', patternType: PatternType.PREFIXED }),
      acl({ resourceName: 'x', patternType: PatternType.PREFIXED }),
    ]);
    const f = { resourceType: ResourceType.TOPIC, principal: null, host: null, operation: Op.ANY, permissionType: PermissionType.ANY };
    const names = (patternType: number, resourceName: string | null): string[] => a.acls({ ...f, patternType, resourceName }).map((b) => `${b.patternType}:${b.resourceName}`).sort();
    expect(names(PatternType.MATCH, 'orders')).toEqual(['3:*', '3:orders', '4:ord']);
    expect(names(PatternType.ANY, 'ord')).toEqual(['4:ord']);
    expect(names(PatternType.LITERAL, null)).toEqual(['3:*', '3:orders']);
    expect(names(PatternType.PREFIXED, 'x')).toEqual(['4:x']);
    const del = await a.deleteAcls([{ ...f, patternType: PatternType.MATCH, resourceName: 'orders' }, { ...f, patternType: 0, resourceName: null }]);
    expect(del[0]!.matching).toHaveLength(3);
    expect(del[1]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(names(PatternType.ANY, null)).toEqual(['4:x']);
    expect(a.authorize(ALICE, HOST, Op.READ, ResourceType.TOPIC, 'orders')).toBe(false);
  });

  it('hostOf strips the port and the IPv4-mapped prefix', () => {
    expect(hostOf('127.0.0.1:5555')).toBe('127.0.0.1');
    expect(hostOf('::ffff:127.0.0.1:5555')).toBe('127.0.0.1');
    expect(hostOf('::1:5555')).toBe('::1');
  });
});
