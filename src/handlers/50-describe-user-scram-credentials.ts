// DescribeUserScramCredentials (key 50), v0 (KIP-554): which SCRAM mechanisms a user has, with
// their iteration counts (never the salt or keys). As Kafka's ScramImage.describe:
// - users null or empty: every user with a credential (here in name order);
// - a user asked twice: one result, DUPLICATE_RESOURCE;
// - a user without any credential: RESOURCE_NOT_FOUND;
// - otherwise its mechanisms (SCRAM-SHA-256 = 1, SCRAM-SHA-512 = 2) and iterations.
// Kafka authorizes DESCRIBE on the CLUSTER resource first (denied: CLUSTER_AUTHORIZATION_FAILED
// at the top level, no results).

import { ErrorCode } from '../../protocol/errors.js';
import {
  DescribeUserScramCredentialsApi,
  decodeDescribeUserScramCredentialsRequest,
  encodeDescribeUserScramCredentialsResponse,
  type DescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
} from '../../protocol/generated/50-describe-user-scram-credentials.js';
import { SCRAM_MECHANISMS } from '../security/scram.js';
import { clusterAllowed } from './auth.js';
import { AclOperation } from '../security/acls.js';
import { defineHandler } from './types.js';

export default defineHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>({
  api: DescribeUserScramCredentialsApi,
  minVersion: 0,
  maxVersion: 0,
  decode: decodeDescribeUserScramCredentialsRequest,
  encode: encodeDescribeUserScramCredentialsResponse,
  handle(req, ctx) {
    if (!clusterAllowed(ctx, AclOperation.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', results: [] };
    }
    const known = new Map(ctx.scram.list().map((u) => [u.user, u.credentials]));
    // user -> asked more than once
    const asked = new Map<string, boolean>();
    if (req.users === null || req.users.length === 0) {
      for (const user of [...known.keys()].sort()) asked.set(user, false);
    } else {
      for (const { name } of req.users) asked.set(name, asked.has(name));
    }
    const results = [...asked].map(([user, duplicate]) => {
      if (duplicate) {
        return {
          user,
          errorCode: ErrorCode.DUPLICATE_RESOURCE,
          errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`,
          credentialInfos: [],
        };
      }
      const creds = known.get(user) ?? [];
      if (creds.length === 0) {
        return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] };
      }
      return {
        user,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        credentialInfos: creds
          .map((c) => ({ mechanism: SCRAM_MECHANISMS[c.mechanism].type, iterations: c.iterations }))
          .sort((a, b) => a.mechanism - b.mechanism),
      };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  },
});
