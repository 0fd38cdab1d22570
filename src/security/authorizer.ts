// The ACL authorizer: Kafka's AclAuthorizer / StandardAuthorizer semantics over the ACLs in the
// security store's "acls" namespace (key = aclKey(binding), value = the binding).
//
// Authorization is off unless `authorizer.class.name` is set (Kafka's rule: no authorizer, every
// request is allowed, and the ACL APIs answer SECURITY_DISABLED). Brook accepts Kafka's class
// names (org.apache.kafka.metadata.authorizer.StandardAuthorizer, kafka.security.authorizer.
// AclAuthorizer): both mean this authorizer.
//
// A decision for (principal, host, operation, resource type, name):
// 1. a super user (`super.users`, "User:a;User:b") is allowed everything;
// 2. the ACLs whose pattern applies to the resource are gathered: LITERAL with the same name,
//    LITERAL "*", PREFIXED with a prefix of the name;
// 3. none: allowed only if `allow.everyone.if.no.acl.found` (default false);
// 4. a DENY matching principal (or User:*), host (or *) and operation (or ALL) denies;
// 5. an ALLOW matching the same way allows; ALLOW of READ, WRITE, DELETE or ALTER also allows
//    DESCRIBE, and ALLOW of ALTER_CONFIGS also allows DESCRIBE_CONFIGS;
// 6. otherwise denied.
// The index is rebuilt whenever the store's ACLs change, so a decision is a few map lookups.

import type { BrokerConfig } from '../config/config.js';
import { ErrorCode } from '../../protocol/errors.js';
import {
  AclOperation,
  PatternType,
  PermissionType,
  SUPPORTED_OPERATIONS,
  WILDCARD_HOST,
  WILDCARD_PRINCIPAL,
  WILDCARD_RESOURCE,
  aclKey,
  filterMatches,
  operationsBitField,
  parsePrincipalList,
  parseStoredAcl,
  validateFilter,
  validateNewAcl,
  type AclBinding,
  type AclBindingFilter,
} from './acls.js';
import type { SecurityStore } from './store.js';

/** Kafka's authorizer class names Brook accepts for `authorizer.class.name`. */
export const AUTHORIZER_CLASS_NAMES: readonly string[] = [
  'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'kafka.security.authorizer.AclAuthorizer',
];

export interface AclCreationResult {
  errorCode: number;
  errorMessage: string | null;
}

export interface AclDeletionResult {
  errorCode: number;
  errorMessage: string | null;
  /** The bindings the filter matched (and deleted). */
  matching: AclBinding[];
}

/** What handlers see. Principals are Kafka principals ("User:alice"); hosts are IP addresses. */
export interface Authorizer {
  /** False when no authorizer is configured: everything is allowed, the ACL APIs are disabled. */
  readonly enabled: boolean;
  authorize(principal: string, host: string, operation: number, resourceType: number, name: string): boolean;
  /** Kafka's authorizeByResourceType: may the principal do `operation` on some resource of the type? */
  authorizeByResourceType(principal: string, host: string, operation: number, resourceType: number): boolean;
  /** The bit field of the resource type's operations the principal may do on this resource. */
  authorizedOperations(principal: string, host: string, resourceType: number, name: string): number;
  /** The bindings a filter matches (DescribeAcls); throws nothing, the filter is assumed valid. */
  acls(filter: AclBindingFilter): AclBinding[];
  /** Stores the bindings (durably); one result per binding, in order. */
  createAcls(bindings: readonly AclBinding[]): Promise<AclCreationResult[]>;
  /** Deletes what each filter matches (durably); one result per filter, in order. */
  deleteAcls(filters: readonly AclBindingFilter[]): Promise<AclDeletionResult[]>;
}

interface TypeIndex {
  literal: Map<string, AclBinding[]>;
  prefixed: Map<string, AclBinding[]>;
  /** Longest prefix held (no longer prefix of a name needs looking up). */
  maxPrefix: number;
}

const IMPLIES_DESCRIBE = [AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER];
const IMPLIES_DESCRIBE_CONFIGS = [AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS];

export class AclAuthorizer implements Authorizer {
  readonly enabled: boolean;
  private readonly superUsers: Set<string>;
  private readonly allowEveryoneIfNoAcl: boolean;
  private index = new Map<number, TypeIndex>();
  private all: AclBinding[] = [];

  constructor(
    private readonly store: SecurityStore,
    options: { enabled: boolean; superUsers?: readonly string[]; allowEveryoneIfNoAclFound?: boolean },
  ) {
    this.enabled = options.enabled;
    this.superUsers = new Set(options.superUsers ?? []);
    this.allowEveryoneIfNoAcl = options.allowEveryoneIfNoAclFound ?? false;
    this.rebuild();
    store.onChange((ns) => {
      if (ns === 'acls') this.rebuild();
    });
  }

  static fromConfig(store: SecurityStore, config: BrokerConfig): AclAuthorizer {
    return new AclAuthorizer(store, {
      enabled: (config.get('authorizer.class.name') ?? '').trim() !== '',
      superUsers: parsePrincipalList(config.get('super.users')),
      allowEveryoneIfNoAclFound: config.bool('allow.everyone.if.no.acl.found'),
    });
  }

  private rebuild(): void {
    const index = new Map<number, TypeIndex>();
    const all: AclBinding[] = [];
    for (const value of this.store.entries('acls').values()) {
      const b = parseStoredAcl(value);
      if (b === undefined) continue;
      all.push(b);
      let t = index.get(b.resourceType);
      if (t === undefined) index.set(b.resourceType, (t = { literal: new Map(), prefixed: new Map(), maxPrefix: 0 }));
      const map = b.patternType === PatternType.LITERAL ? t.literal : t.prefixed;
      const list = map.get(b.resourceName);
      if (list === undefined) map.set(b.resourceName, [b]);
      else list.push(b);
      if (b.patternType === PatternType.PREFIXED) t.maxPrefix = Math.max(t.maxPrefix, b.resourceName.length);
    }
    this.index = index;
    this.all = all;
  }

  /** The ACLs whose pattern applies to this resource (AclAuthorizer.matchingAcls). */
  private matching(resourceType: number, name: string): AclBinding[] {
    const t = this.index.get(resourceType);
    if (t === undefined) return [];
    const out: AclBinding[] = [];
    const wildcard = t.literal.get(WILDCARD_RESOURCE);
    if (wildcard !== undefined) out.push(...wildcard);
    if (name !== WILDCARD_RESOURCE) {
      const literal = t.literal.get(name);
      if (literal !== undefined) out.push(...literal);
    }
    if (t.prefixed.size > 0) {
      const longest = Math.min(name.length, t.maxPrefix);
      for (let i = 1; i <= longest; i++) {
        const p = t.prefixed.get(name.slice(0, i));
        if (p !== undefined) out.push(...p);
      }
    }
    return out;
  }

  authorize(principal: string, host: string, operation: number, resourceType: number, name: string): boolean {
    if (!this.enabled || this.superUsers.has(principal)) return true;
    const acls = this.matching(resourceType, name);
    if (acls.length === 0) return this.allowEveryoneIfNoAcl;
    const applies = (acl: AclBinding, op: number): boolean =>
      (acl.principal === principal || acl.principal === WILDCARD_PRINCIPAL) &&
      (acl.host === host || acl.host === WILDCARD_HOST) &&
      (acl.operation === op || acl.operation === AclOperation.ALL);
    for (const acl of acls) if (acl.permissionType === PermissionType.DENY && applies(acl, operation)) return false;
    const allowOps: readonly number[] =
      operation === AclOperation.DESCRIBE ? IMPLIES_DESCRIBE : operation === AclOperation.DESCRIBE_CONFIGS ? IMPLIES_DESCRIBE_CONFIGS : [operation];
    for (const acl of acls) {
      if (acl.permissionType === PermissionType.ALLOW && allowOps.some((op) => applies(acl, op))) return true;
    }
    return false;
  }

  authorizeByResourceType(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (!this.enabled || this.superUsers.has(principal)) return true;
    // AclAuthorizer.authorizeByResourceType: resource names of the type's ACLs that apply to this
    // principal, host and operation (no implied operations here), by permission and pattern type.
    const names = (permission: number, patternType: number): Set<string> => {
      const out = new Set<string>();
      const t = this.index.get(resourceType);
      if (t === undefined) return out;
      const map = patternType === PatternType.LITERAL ? t.literal : t.prefixed;
      for (const [name, acls] of map) {
        for (const acl of acls) {
          if (acl.permissionType !== permission) continue;
          if (acl.principal !== principal && acl.principal !== WILDCARD_PRINCIPAL) continue;
          if (acl.host !== host && acl.host !== WILDCARD_HOST) continue;
          if (acl.operation !== operation && acl.operation !== AclOperation.ALL) continue;
          out.add(name);
          break;
        }
      }
      return out;
    };
    const denyLiterals = names(PermissionType.DENY, PatternType.LITERAL);
    if (denyLiterals.has(WILDCARD_RESOURCE)) return false;
    if (this.allowEveryoneIfNoAcl) return true;
    const denyPrefixes = names(PermissionType.DENY, PatternType.PREFIXED);
    const allowLiterals = names(PermissionType.ALLOW, PatternType.LITERAL);
    const allowPrefixes = names(PermissionType.ALLOW, PatternType.PREFIXED);
    const dominatedByDenyPrefix = (name: string): boolean => {
      for (let i = 0; i <= name.length; i++) if (denyPrefixes.has(name.slice(0, i))) return true;
      return false;
    };
    for (const p of allowPrefixes) if (!dominatedByDenyPrefix(p)) return true;
    for (const l of allowLiterals) {
      if (l === WILDCARD_RESOURCE || (!denyLiterals.has(l) && !dominatedByDenyPrefix(l))) return true;
    }
    return false;
  }

  authorizedOperations(principal: string, host: string, resourceType: number, name: string): number {
    const ops = SUPPORTED_OPERATIONS[resourceType] ?? [];
    return operationsBitField(ops.filter((op) => this.authorize(principal, host, op, resourceType, name)));
  }

  acls(filter: AclBindingFilter): AclBinding[] {
    return this.all.filter((b) => filterMatches(filter, b));
  }

  async createAcls(bindings: readonly AclBinding[]): Promise<AclCreationResult[]> {
    const results: AclCreationResult[] = bindings.map((b) => {
      const why = validateNewAcl(b);
      return why === null ? { errorCode: ErrorCode.NONE, errorMessage: null } : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: why };
    });
    const changes = bindings.filter((_, i) => results[i]!.errorCode === ErrorCode.NONE).map((b) => [aclKey(b), { ...b }] as const);
    if (changes.length > 0) {
      try {
        await this.store.apply('acls', changes);
      } catch (err) {
        for (const r of results) {
          if (r.errorCode === ErrorCode.NONE) Object.assign(r, { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `could not store the ACL: ${(err as Error).message}` });
        }
      }
    }
    return results;
  }

  async deleteAcls(filters: readonly AclBindingFilter[]): Promise<AclDeletionResult[]> {
    const results: AclDeletionResult[] = filters.map((f) => {
      const why = validateFilter(f);
      if (why !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: why, matching: [] };
      return { errorCode: ErrorCode.NONE, errorMessage: null, matching: this.acls(f) };
    });
    const keys = new Set(results.flatMap((r) => r.matching.map(aclKey)));
    if (keys.size > 0) {
      try {
        await this.store.apply('acls', [...keys].map((k) => [k, null] as const));
      } catch (err) {
        for (const r of results) {
          if (r.errorCode === ErrorCode.NONE && r.matching.length > 0) {
            Object.assign(r, { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `could not delete the ACLs: ${(err as Error).message}`, matching: [] });
          }
        }
      }
    }
    return results;
  }
}

/** The client's address as Kafka's authorizer sees it: the IP without port (IPv4-mapped as IPv4). */
export function hostOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  let host = colon < 0 ? remote : remote.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.toLowerCase().startsWith('::ffff:') && host.includes('.')) host = host.slice(7);
  return host;
}

/** The Kafka principal of a connection's bare principal name ("ANONYMOUS", a DN, a user). */
export function kafkaPrincipal(name: string): string {
  return `User:${name}`;
}
