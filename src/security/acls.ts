// Kafka's ACL model (org.apache.kafka.common.acl / .resource): an ACL binding is a resource
// pattern (resource type, name, pattern type LITERAL or PREFIXED) plus an entry (principal
// "User:alice" or "User:*", host "*" or an IP address, operation, ALLOW or DENY). The numeric
// codes are the wire codes of DescribeAcls/CreateAcls/DeleteAcls. Filters (DescribeAcls,
// DeleteAcls) may also use ANY (every value) and, for the pattern type, MATCH (every pattern that
// would apply to the named resource: the literal name, the literal "*" and the prefixes of it).

export const ResourceType = {
  UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7,
} as const;
export type ResourceTypeCode = (typeof ResourceType)[keyof typeof ResourceType];

export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

export const AclOperation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14, TWO_PHASE_COMMIT: 15,
} as const;
export type AclOperationCode = (typeof AclOperation)[keyof typeof AclOperation];

export const PermissionType = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** Kafka's name of the one CLUSTER resource. */
export const CLUSTER_NAME = 'kafka-cluster';
export const WILDCARD_RESOURCE = '*';
export const WILDCARD_PRINCIPAL = 'User:*';
export const WILDCARD_HOST = '*';

/** Operations Kafka reports as "authorized operations" per resource type (AclEntry.supportedOperations). */
export const SUPPORTED_OPERATIONS: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [3, 4, 5, 8, 6, 7, 10, 11],
  [ResourceType.GROUP]: [3, 8, 6],
  [ResourceType.CLUSTER]: [5, 9, 10, 11, 12, 7, 8],
  [ResourceType.TRANSACTIONAL_ID]: [8, 4],
  [ResourceType.DELEGATION_TOKEN]: [8],
  [ResourceType.USER]: [13, 14],
};

/** Utils.to32BitField: bit `code` set for each operation. */
export function operationsBitField(ops: Iterable<number>): number {
  let bits = 0;
  for (const op of ops) bits |= 1 << op;
  return bits;
}

/** What an authorized-operations field holds when the client did not ask (Integer.MIN_VALUE). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export interface AclBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** A filter: null strings match anything; ANY codes match anything; MATCH as above. */
export interface AclBindingFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

/** The store key of a binding (unambiguous for any names). */
export function aclKey(b: AclBinding): string {
  return JSON.stringify([b.resourceType, b.patternType, b.resourceName, b.principal, b.host, b.operation, b.permissionType]);
}

function known(code: number, max: number): boolean {
  return Number.isInteger(code) && code >= 0 && code <= max;
}

/**
 * Why a new binding is refused (INVALID_REQUEST), or null: Kafka's AclControlManager.validateNewAcl
 * (no UNKNOWN or ANY/MATCH, LITERAL or PREFIXED only, a resource name, a "Type:name" principal),
 * plus AclAuthorizer's rule that the cluster resource is named "kafka-cluster".
 */
export function validateNewAcl(b: AclBinding): string | null {
  if (!known(b.resourceType, 7) || b.resourceType === ResourceType.UNKNOWN || b.resourceType === ResourceType.ANY) return `Invalid resourceType ${b.resourceType}`;
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return `Invalid patternType ${b.patternType}`;
  if (!known(b.operation, 15) || b.operation === AclOperation.UNKNOWN || b.operation === AclOperation.ANY) return `Invalid operation ${b.operation}`;
  if (b.permissionType !== PermissionType.ALLOW && b.permissionType !== PermissionType.DENY) return `Invalid permissionType ${b.permissionType}`;
  if (b.resourceName === '') return 'Resource name should not be empty';
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  const colon = b.principal.indexOf(':');
  if (colon <= 0) return `Could not parse principal from \`${b.principal}\` (no colon is present separating the principal type from the principal name)`;
  if (b.host === '') return 'Invalid host: empty';
  return null;
}

/** Why a filter is refused (it holds UNKNOWN elements: Kafka's AclBindingFilter.isUnknown), or null. */
export function validateFilter(f: AclBindingFilter): string | null {
  if (!known(f.resourceType, 7) || f.resourceType === ResourceType.UNKNOWN) return `Invalid resource type filter ${f.resourceType}`;
  if (!known(f.patternType, 4) || f.patternType === PatternType.UNKNOWN) return `Invalid pattern type filter ${f.patternType}`;
  if (!known(f.operation, 15) || f.operation === AclOperation.UNKNOWN) return `Invalid operation filter ${f.operation}`;
  if (!known(f.permissionType, 3) || f.permissionType === PermissionType.UNKNOWN) return `Invalid permission type filter ${f.permissionType}`;
  return null;
}

/** ResourcePatternFilter.matches + AccessControlEntryFilter.matches. */
export function filterMatches(f: AclBindingFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.patternType !== PatternType.ANY && f.patternType !== PatternType.MATCH && f.patternType !== b.patternType) return false;
  if (f.resourceName !== null) {
    if (f.patternType === PatternType.ANY || f.patternType === b.patternType) {
      if (f.resourceName !== b.resourceName) return false;
    } else if (b.patternType === PatternType.LITERAL) {
      // MATCH against a literal pattern: the same name, or the wildcard.
      if (f.resourceName !== b.resourceName && b.resourceName !== WILDCARD_RESOURCE) return false;
    } else if (!f.resourceName.startsWith(b.resourceName)) {
      return false;
    }
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  return f.permissionType === PermissionType.ANY || f.permissionType === b.permissionType;
}

/** A stored value read back (the security file is JSON): a binding, or undefined if malformed. */
export function parseStoredAcl(v: unknown): AclBinding | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const nums = ['resourceType', 'patternType', 'operation', 'permissionType'] as const;
  const strs = ['resourceName', 'principal', 'host'] as const;
  if (nums.some((k) => typeof o[k] !== 'number') || strs.some((k) => typeof o[k] !== 'string')) return undefined;
  const b = {
    resourceType: o.resourceType, resourceName: o.resourceName, patternType: o.patternType,
    principal: o.principal, host: o.host, operation: o.operation, permissionType: o.permissionType,
  } as AclBinding;
  return validateNewAcl(b) === null ? b : undefined;
}

/** "User:a;User:b" (super.users) as principals; blanks dropped. */
export function parsePrincipalList(text: string | null): string[] {
  if (text === null) return [];
  return text.split(';').map((s) => s.trim()).filter((s) => s !== '');
}
