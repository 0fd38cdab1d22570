// AlterUserScramCredentials (key 51), v0 (KIP-554): upserts and deletes users' SCRAM credentials
// in one durable change. The client sends the salt and the salted password (Hi(password, salt, i)),
// never the password; the broker keeps the salt, the iterations, StoredKey and ServerKey.
// As Kafka's ScramControlManager.alterCredentials, one result per user named:
// - a user altered twice in one request (deletions and upsertions together):
//   DUPLICATE_RESOURCE, and none of its alterations apply (an earlier error for that user stays);
// - an empty user name: UNACCEPTABLE_CREDENTIAL; an unknown mechanism: UNSUPPORTED_SASL_MECHANISM;
// - iterations outside 4096..16384: UNACCEPTABLE_CREDENTIAL ("Too few" / "Too many iterations");
// - deleting a credential the user does not have: RESOURCE_NOT_FOUND.
// Results come as Kafka groups them: successful deletions, successful upsertions, then errors
// (each in request order here; Kafka's follow hash order).
// Brook only: an empty salted password (Kafka fails it as UNKNOWN_SERVER_ERROR when it computes
// the keys) is UNACCEPTABLE_CREDENTIAL.
// Kafka authorizes ALTER on the CLUSTER resource first (denied: every user named gets
// CLUSTER_AUTHORIZATION_FAILED).

import { ErrorCode } from '../../protocol/errors.js';
import {
  AlterUserScramCredentialsApi,
  decodeAlterUserScramCredentialsRequest,
  encodeAlterUserScramCredentialsResponse,
  type AlterUserScramCredentialsRequest,
  type AlterUserScramCredentialsResponse,
  type AlterUserScramCredentialsRequestScramCredentialDeletion as Deletion,
  type AlterUserScramCredentialsRequestScramCredentialUpsertion as Upsertion,
} from '../../protocol/generated/51-alter-user-scram-credentials.js';
import {
  SCRAM_MAX_ITERATIONS,
  SCRAM_MIN_ITERATIONS,
  credentialFromSalted,
  scramMechanismOfType,
  type ScramCredentials,
  type ScramMechanism,
} from '../security/scram.js';
import { clusterAllowed } from './auth.js';
import { AclOperation } from '../security/acls.js';
import { defineHandler } from './types.js';

interface Failure {
  errorCode: number;
  errorMessage: string;
}

const DUPLICATE: Failure = { errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'A user credential cannot be altered twice in the same request' };

function checkNameAndMechanism(name: string, mechanism: number): Failure | ScramMechanism {
  if (name.length === 0) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Username must not be empty' };
  const mech = scramMechanismOfType(mechanism);
  if (mech === undefined) return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: 'Unknown SCRAM mechanism' };
  return mech;
}

function checkDeletion(d: Deletion, scram: ScramCredentials): Failure | null {
  const mech = checkNameAndMechanism(d.name, d.mechanism);
  if (typeof mech !== 'string') return mech;
  if (scram.get(d.name, mech) === undefined) return { errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to delete a user credential that does not exist' };
  return null;
}

function checkUpsertion(u: Upsertion): Failure | null {
  const mech = checkNameAndMechanism(u.name, u.mechanism);
  if (typeof mech !== 'string') return mech;
  if (u.iterations < SCRAM_MIN_ITERATIONS) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Too few iterations' };
  if (u.iterations > SCRAM_MAX_ITERATIONS) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Too many iterations' };
  if (u.saltedPassword.length === 0) return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Salted password must not be empty' };
  return null;
}

export default defineHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>({
  api: AlterUserScramCredentialsApi,
  minVersion: 0,
  maxVersion: 0,
  decode: decodeAlterUserScramCredentialsRequest,
  encode: encodeAlterUserScramCredentialsResponse,
  async handle(req, ctx) {
    if (!clusterAllowed(ctx, AclOperation.ALTER)) {
      const users = [...new Set([...req.deletions.map((d) => d.name), ...req.upsertions.map((u) => u.name)])];
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.' })) };
    }
    const deletions = new Map<string, Deletion>();
    const upsertions = new Map<string, Upsertion>();
    const errors = new Map<string, Failure>();
    for (const d of req.deletions) {
      if (errors.has(d.name)) continue;
      if (deletions.delete(d.name)) {
        errors.set(d.name, DUPLICATE);
        continue;
      }
      const failure = checkDeletion(d, ctx.scram);
      if (failure) errors.set(d.name, failure);
      else deletions.set(d.name, d);
    }
    for (const u of req.upsertions) {
      if (errors.has(u.name)) continue;
      // Both run: a user deleted and upserted is no longer in either map.
      const seen = [deletions.delete(u.name), upsertions.delete(u.name)].some(Boolean);
      if (seen) {
        errors.set(u.name, DUPLICATE);
        continue;
      }
      const failure = checkUpsertion(u);
      if (failure) errors.set(u.name, failure);
      else upsertions.set(u.name, u);
    }

    const changes = [
      ...[...deletions.values()].map((d) => ({ user: d.name, mechanism: scramMechanismOfType(d.mechanism)!, credential: null })),
      ...[...upsertions.values()].map((u) => {
        const mechanism = scramMechanismOfType(u.mechanism)!;
        return { user: u.name, mechanism, credential: credentialFromSalted(mechanism, u.salt, u.saltedPassword, u.iterations) };
      }),
    ];
    let applied: Failure | null = null;
    if (changes.length > 0) {
      try {
        await ctx.scram.alter(changes);
        ctx.logger.info({ upserted: [...upsertions.keys()], deleted: [...deletions.keys()] }, 'SCRAM credentials altered');
      } catch (err) {
        ctx.logger.error({ err: (err as Error).message }, 'SCRAM credentials could not be stored');
        applied = { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'The credentials could not be stored' };
      }
    }
    const ok = (user: string) => ({ user, errorCode: applied?.errorCode ?? ErrorCode.NONE, errorMessage: applied?.errorMessage ?? null });
    return {
      throttleTimeMs: 0,
      results: [
        ...[...deletions.keys()].map(ok),
        ...[...upsertions.keys()].map(ok),
        ...[...errors].map(([user, f]) => ({ user, errorCode: f.errorCode, errorMessage: f.errorMessage })),
      ],
    };
  },
});
