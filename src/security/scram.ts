// SCRAM credentials (RFC 5802, RFC 7677), as Kafka keeps them: per user and mechanism the salt,
// the iteration count, StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
// ServerKey = HMAC(SaltedPassword, "Server Key"). Neither the password nor the salted password is
// stored: StoredKey verifies a client's proof, ServerKey signs the server's final message.
//
// Kept in the security store's "scram" namespace, key = user name, value = { [mechanism]:
// StoredScramCredential }. Kafka's bounds: 4096 to 16384 iterations (AlterUserScramCredentials
// answers UNACCEPTABLE_CREDENTIAL outside them).

import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SecurityStore } from './store.js';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

interface MechanismInfo {
  /** AlterUserScramCredentials / DescribeUserScramCredentials mechanism number. */
  readonly type: number;
  readonly hash: 'sha256' | 'sha512';
  /** Bytes of the hash (the salted password's length). */
  readonly length: number;
}

export const SCRAM_MECHANISMS: Readonly<Record<ScramMechanism, MechanismInfo>> = {
  'SCRAM-SHA-256': { type: 1, hash: 'sha256', length: 32 },
  'SCRAM-SHA-512': { type: 2, hash: 'sha512', length: 64 },
};

export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;

export function isScramMechanism(name: string): name is ScramMechanism {
  return name === 'SCRAM-SHA-256' || name === 'SCRAM-SHA-512';
}

/** The mechanism with this AlterUserScramCredentials number, or undefined. */
export function scramMechanismOfType(type: number): ScramMechanism | undefined {
  return (Object.keys(SCRAM_MECHANISMS) as ScramMechanism[]).find((m) => SCRAM_MECHANISMS[m].type === type);
}

/** What is stored (binary fields base64). */
export interface StoredScramCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

export function hmac(mech: ScramMechanism, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(SCRAM_MECHANISMS[mech].hash, key).update(data).digest();
}

export function hash(mech: ScramMechanism, data: Buffer): Buffer {
  return createHash(SCRAM_MECHANISMS[mech].hash).update(data).digest();
}

/** Hi(password, salt, i) of RFC 5802: PBKDF2 with HMAC, off the event loop. */
export function saltPassword(mech: ScramMechanism, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  const { hash: h, length } = SCRAM_MECHANISMS[mech];
  return new Promise((resolve, reject) => pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, length, h, (err, key) => (err ? reject(err) : resolve(key))));
}

/** The stored form of a salted password. */
export function credentialFromSalted(mech: ScramMechanism, salt: Buffer, saltedPassword: Buffer, iterations: number): StoredScramCredential {
  const clientKey = hmac(mech, saltedPassword, 'Client Key');
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: hash(mech, clientKey).toString('base64'),
    serverKey: hmac(mech, saltedPassword, 'Server Key').toString('base64'),
  };
}

/** A new credential for a password, with a random salt. */
export async function credentialFromPassword(mech: ScramMechanism, password: string, iterations = SCRAM_MIN_ITERATIONS): Promise<StoredScramCredential> {
  const salt = randomBytes(32);
  return credentialFromSalted(mech, salt, await saltPassword(mech, password, salt, iterations), iterations);
}

/** Checks a password against a stored credential (SASL/PLAIN against SCRAM users). */
export async function passwordMatches(mech: ScramMechanism, cred: StoredScramCredential, password: string): Promise<boolean> {
  const salted = await saltPassword(mech, password, Buffer.from(cred.salt, 'base64'), cred.iterations);
  const expected = credentialFromSalted(mech, Buffer.from(cred.salt, 'base64'), salted, cred.iterations);
  return timingSafeEqualB64(expected.storedKey, cred.storedKey);
}

function timingSafeEqualB64(a: string, b: string): boolean {
  const x = Buffer.from(a, 'base64');
  const y = Buffer.from(b, 'base64');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Users' SCRAM credentials over the security store. */
export class ScramCredentials {
  constructor(private readonly store: SecurityStore) {}

  get(user: string, mech: ScramMechanism): StoredScramCredential | undefined {
    const entry = this.store.get('scram', user) as Partial<Record<ScramMechanism, StoredScramCredential>> | undefined;
    return entry?.[mech];
  }

  /** Every user with the mechanisms and iteration counts they have. */
  list(): Array<{ user: string; credentials: Array<{ mechanism: ScramMechanism; iterations: number }> }> {
    return [...this.store.entries('scram')].map(([user, v]) => ({
      user,
      credentials: Object.entries(v as Record<string, StoredScramCredential>)
        .filter((e): e is [ScramMechanism, StoredScramCredential] => isScramMechanism(e[0]))
        .map(([mechanism, c]) => ({ mechanism, iterations: c.iterations })),
    }));
  }

  /**
   * Upserts and deletes in one durable change. Deleting a credential the user does not have is
   * the caller's check (Kafka answers RESOURCE_NOT_FOUND).
   */
  async alter(changes: ReadonlyArray<{ user: string; mechanism: ScramMechanism; credential: StoredScramCredential | null }>): Promise<void> {
    const next = new Map<string, Partial<Record<ScramMechanism, StoredScramCredential>>>();
    for (const c of changes) {
      const entry = next.get(c.user) ?? { ...((this.store.get('scram', c.user) as object | undefined) ?? {}) };
      if (c.credential === null) delete (entry as Record<string, unknown>)[c.mechanism];
      else (entry as Record<string, unknown>)[c.mechanism] = c.credential;
      next.set(c.user, entry);
    }
    await this.store.apply(
      'scram',
      [...next].map(([user, entry]) => [user, Object.keys(entry).length === 0 ? null : entry] as const),
    );
  }
}

/** A user given at start (startBroker's `users`, `brook start --add-scram`). */
export interface ScramUser {
  name: string;
  password: string;
  /** Default SCRAM-SHA-256. */
  mechanism?: ScramMechanism;
  /** Default 4096. */
  iterations?: number;
}

/** Why a seeded user cannot be used, or null. */
export function scramUserProblem(u: ScramUser): string | null {
  if (typeof u.name !== 'string' || u.name.length === 0) return 'a SCRAM user needs a non-empty name';
  if (typeof u.password !== 'string' || u.password.length === 0) return `SCRAM user "${u.name}": the password must not be empty`;
  if (u.mechanism !== undefined && !isScramMechanism(u.mechanism)) return `SCRAM user "${u.name}": unknown mechanism ${String(u.mechanism)} (SCRAM-SHA-256 or SCRAM-SHA-512)`;
  const i = u.iterations ?? SCRAM_MIN_ITERATIONS;
  if (!Number.isInteger(i) || i < SCRAM_MIN_ITERATIONS || i > SCRAM_MAX_ITERATIONS) {
    return `SCRAM user "${u.name}": iterations must be an integer from ${SCRAM_MIN_ITERATIONS} to ${SCRAM_MAX_ITERATIONS}, got ${String(u.iterations)}`;
  }
  return null;
}

/** Stores the users' credentials (salted with fresh salts), replacing those of the same mechanism. */
export async function seedScramUsers(scram: ScramCredentials, users: readonly ScramUser[]): Promise<void> {
  if (users.length === 0) return;
  const changes = await Promise.all(
    users.map(async (u) => {
      const mechanism = u.mechanism ?? 'SCRAM-SHA-256';
      return { user: u.name, mechanism, credential: await credentialFromPassword(mechanism, u.password, u.iterations ?? SCRAM_MIN_ITERATIONS) };
    }),
  );
  await scram.alter(changes);
}

/**
 * One `--add-scram` value, in the syntax of Kafka's `kafka-storage format --add-scram`:
 * `SCRAM-SHA-256=[name=alice,password=alice-secret]`, optionally `iterations=8192`; values may be
 * double-quoted (then they may hold "," or "]"). Throws with a message on a bad value.
 */
export function parseAddScram(spec: string): ScramUser {
  const m = /^\s*([A-Za-z0-9-]+)\s*=\s*\[(.*)\]\s*$/s.exec(spec);
  if (!m) throw new Error(`--add-scram: expected MECHANISM=[name=...,password=...], got "${spec}"`);
  const mechanism = m[1]!.toUpperCase();
  if (!isScramMechanism(mechanism)) throw new Error(`--add-scram: unknown mechanism ${m[1]} (SCRAM-SHA-256 or SCRAM-SHA-512)`);
  const fields = new Map<string, string>();
  const body = m[2]!;
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    if (eq < 0) throw new Error(`--add-scram: expected key=value in "${body.slice(i)}"`);
    const key = body.slice(i, eq).trim().toLowerCase();
    let value: string;
    let j = eq + 1;
    if (body[j] === '"') {
      const close = body.indexOf('"', j + 1);
      if (close < 0) throw new Error(`--add-scram: unterminated quote in ${key}`);
      value = body.slice(j + 1, close);
      j = close + 1;
      while (j < body.length && body[j] === ' ') j++;
      if (j < body.length && body[j] !== ',') throw new Error(`--add-scram: expected "," after ${key}'s quoted value`);
    } else {
      const comma = body.indexOf(',', j);
      value = body.slice(j, comma < 0 ? body.length : comma).trim();
      j = comma < 0 ? body.length : comma;
    }
    if (fields.has(key)) throw new Error(`--add-scram: ${key} is given twice`);
    fields.set(key, value);
    i = j + 1;
  }
  for (const key of fields.keys()) {
    if (key === 'salt' || key === 'saltedpassword') throw new Error(`--add-scram: ${key} is not supported by Brook; give password= (it is salted and never stored)`);
    if (!['name', 'password', 'iterations'].includes(key)) throw new Error(`--add-scram: unknown key ${key} (name, password, iterations)`);
  }
  const name = fields.get('name');
  const password = fields.get('password');
  if (name === undefined || name === '') throw new Error('--add-scram: name= is required');
  if (password === undefined) throw new Error(`--add-scram: password= is required (user ${name})`);
  const it = fields.get('iterations');
  const user: ScramUser = { name, password, mechanism, ...(it !== undefined ? { iterations: /^\d+$/.test(it) ? Number(it) : NaN } : {}) };
  const problem = scramUserProblem(user);
  if (problem) throw new Error(`--add-scram: ${problem}`);
  return user;
}
