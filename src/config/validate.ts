// Kafka's config value rules (ConfigDef.parseType, its validators and convertToString), so that a
// value Kafka refuses is refused here with Kafka's message, and a value Kafka accepts is described
// the way Kafka describes it (parsed, then printed again: " 100" -> "100", "TRUE" -> "true",
// "compact , delete" -> "compact,delete", "1" as a DOUBLE -> "1.0").

export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD';

/** A parsed value: bigint for INT/SHORT/LONG, number for DOUBLE, string[] for LIST. */
export type ParsedValue = boolean | string | bigint | number | string[];

/** Checks a parsed value; returns Kafka's message (after "Invalid value X for configuration Y: ") or null. */
export interface Validator {
  check(value: ParsedValue): { shown: string; message: string } | null;
  /** How Kafka prints the valid values (documentation only). */
  readonly text: string;
}

const INT32 = { min: -2147483648n, max: 2147483647n };
const INT16 = { min: -32768n, max: 32767n };
const INT64 = { min: -9223372036854775808n, max: 9223372036854775807n };
const LONG_RE = /^[+-]?\d+$/;
// Java's Double.parseDouble: decimal or exponent notation, NaN, Infinity, an optional f/d suffix.
// (Hex floating point literals are rare enough in configs to be left out.)
const DOUBLE_RE = /^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)$/;
const COMMA_WITH_WHITESPACE = /\s*,\s*/;

/** Java's Double.toString: "1.0", "0.5", "1.0E-5", "1.0E7", "NaN". */
export function javaDoubleToString(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const a = Math.abs(n);
  if (a >= 1e-3 && a < 1e7) {
    const s = String(n);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exp] = n.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exp.startsWith('+') ? exp.slice(1) : exp}`;
}

/** Kafka's ConfigDef.convertToString of a parsed value. */
export function printValue(value: ParsedValue, type: ConfigType): string {
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'number') return type === 'DOUBLE' ? javaDoubleToString(value) : String(value);
  return String(value);
}

export type ParseResult = { ok: true; value: ParsedValue } | { ok: false; message: string };

const invalid = (shown: unknown, name: string, message: string): ParseResult => ({
  ok: false,
  message: `Invalid value ${String(shown)} for configuration ${name}: ${message}`,
});

/** Kafka's ConfigDef.parseType for a string value, then the validator. */
export function parseValue(name: string, type: ConfigType, raw: string, validator?: Validator): ParseResult {
  const trimmed = raw.trim();
  let value: ParsedValue;
  switch (type) {
    case 'BOOLEAN':
      if (trimmed.toLowerCase() === 'true') value = true;
      else if (trimmed.toLowerCase() === 'false') value = false;
      else return invalid(raw, name, 'Expected value to be either true or false');
      break;
    case 'INT':
    case 'SHORT':
    case 'LONG': {
      const range = type === 'INT' ? INT32 : type === 'SHORT' ? INT16 : INT64;
      if (!LONG_RE.test(trimmed)) return invalid(raw, name, `Not a number of type ${type}`);
      const n = BigInt(trimmed);
      if (n < range.min || n > range.max) return invalid(raw, name, `Not a number of type ${type}`);
      value = n;
      break;
    }
    case 'DOUBLE': {
      if (!DOUBLE_RE.test(trimmed)) return invalid(raw, name, `Not a number of type ${type}`);
      value = Number(trimmed.replace(/[fFdD]$/, ''));
      break;
    }
    case 'LIST':
      value = trimmed === '' ? [] : trimmed.split(COMMA_WITH_WHITESPACE);
      break;
    default:
      value = trimmed;
      break;
  }
  const bad = validator?.check(value);
  if (bad) return invalid(bad.shown, name, bad.message);
  return { ok: true, value };
}

// ---- Kafka's validators -------------------------------------------------------------------------

/** ConfigDef.Range.atLeast / between (compared as doubles, as Kafka does). */
export function range(min: number | bigint | null, max: number | bigint | null = null): Validator {
  return {
    text: min !== null && max !== null ? `[${min},...,${max}]` : min !== null ? `[${min},...]` : `[...,${max}]`,
    check(v) {
      const n = typeof v === 'bigint' ? Number(v) : (v as number);
      const shown = typeof v === 'number' ? javaDoubleToString(v) : String(v);
      if (min !== null && n < Number(min)) return { shown, message: `Value must be at least ${min}` };
      if (max !== null && n > Number(max)) return { shown, message: `Value must be no more than ${max}` };
      return null;
    },
  };
}

export const atLeast = (min: number | bigint): Validator => range(min, null);

/** ConfigDef.ValidString.in (case-sensitive, as Kafka). */
export function oneOf(...valid: string[]): Validator {
  return {
    text: `[${valid.join(', ')}]`,
    check(v) {
      return valid.includes(v as string) ? null : { shown: String(v), message: `String must be one of: ${valid.join(', ')}` };
    },
  };
}

/** ConfigDef.ValidList.in: every element one of `valid`. */
export function listOf(...valid: string[]): Validator {
  return {
    text: `[${valid.join(', ')}]`,
    check(v) {
      for (const s of v as string[]) {
        if (!valid.includes(s)) return { shown: s, message: `String must be one of: ${valid.join(', ')}` };
      }
      return null;
    },
  };
}

/** CompressionType.GZIP.levelValidator: 1..9 or -1 (Deflater's default). */
export const gzipLevel: Validator = {
  text: '[1,...,9] or -1',
  check(v) {
    const n = Number(v);
    return n > 9 || (n < 1 && n !== -1) ? { shown: String(v), message: 'Value must be between 1 and 9 or equal to -1' } : null;
  },
};

/** ThrottledReplicaListValidator: "*" or partitionId:brokerId pairs. */
export function throttledReplicas(name: string): Validator {
  return {
    text: '[partitionId]:[brokerId],[partitionId]:[brokerId],...',
    check(v) {
      const items = (v as string[]).map((s) => s.trim());
      if (items.every((s) => /^(\d+:\d+)?$/.test(s)) || items.join('') === '*') return null;
      return {
        shown: `[${(v as string[]).join(', ')}]`,
        message: `${name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`,
      };
    },
  };
}

// MetadataVersion: every inter-broker protocol version string Kafka 3.x knows, and the release
// names ("2.8", "0.10.2") that stand for the latest of each release. A longer string is cut to its
// release first ("3.6.1" -> "3.6", "0.10.2.1" -> "0.10.2"), as MetadataVersion.fromVersionString.
const IBP_IVS: Record<string, number> = {
  '0.10.0': 1, '0.10.1': 2, '0.10.2': 0, '0.11.0': 2, '1.0': 0, '1.1': 0, '2.0': 1, '2.1': 2, '2.2': 1,
  '2.3': 1, '2.4': 1, '2.5': 0, '2.6': 0, '2.7': 2, '2.8': 1, '3.0': 1, '3.1': 0, '3.2': 0, '3.3': 3,
  '3.4': 0, '3.5': 2, '3.6': 2, '3.7': 4, '3.8': 0, '3.9': 0,
};
const METADATA_VERSIONS = new Set<string>(['0.8.0', '0.8.1', '0.8.2', '0.9.0']);
for (const [release, maxIv] of Object.entries(IBP_IVS)) {
  METADATA_VERSIONS.add(release);
  for (let iv = 0; iv <= maxIv; iv++) METADATA_VERSIONS.add(`${release}-IV${iv}`);
}

export const metadataVersion: Validator = {
  text: '[0.8.0, ..., 3.9-IV0]',
  check(v) {
    const s = String(v);
    const parts = s.split('.');
    const keep = s.startsWith('0.') ? 3 : 2;
    const key = parts.length > keep ? parts.slice(0, keep).join('.') : s;
    return METADATA_VERSIONS.has(key) ? null : { shown: s, message: `Version ${s} is not a valid version` };
  },
};

/** authorizer.class.name: empty (no authorizer) or one of Kafka's ACL authorizers' class names. */
export function authorizerClass(): Validator {
  const names = ['org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'kafka.security.authorizer.AclAuthorizer'];
  return {
    text: `"", ${names.join(', ')}`,
    check(v) {
      const s = String(v).trim();
      return s === '' || names.includes(s) ? null : { shown: String(v), message: `Brook's authorizer is Kafka's ACL authorizer: use ${names.join(' or ')}` };
    },
  };
}

/** super.users: "Type:name" principals separated by semicolons. */
export function principalList(): Validator {
  return {
    text: 'Type:name;Type:name...',
    check(v) {
      for (const p of String(v).split(';').map((s) => s.trim()).filter((s) => s !== '')) {
        if (p.indexOf(':') <= 0) return { shown: String(v), message: `principal "${p}" is not of the form Type:name (e.g. User:admin)` };
      }
      return null;
    },
  };
}
