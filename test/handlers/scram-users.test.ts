// Issue 11: DescribeUserScramCredentials (50) and AlterUserScramCredentials (51) over a real
// socket, at every version Brook advertises: Kafka's per-user errors (ScramControlManager,
// ScramImage.describe), the stored form (salt, iterations, StoredKey, ServerKey; never the
// salted password), persistence in the data directory across a restart, and users seeded at start.

import { randomBytes } from 'node:crypto';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { startBroker, type Broker, type BrokerOptions } from '../../src/broker.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { credentialFromSalted, passwordMatches, saltPassword, type StoredScramCredential } from '../../src/security/scram.js';
import { SECURITY_FILE } from '../../src/security/store.js';

const Describe = clientApi(G.DescribeUserScramCredentialsApi, G.encodeDescribeUserScramCredentialsRequest, G.decodeDescribeUserScramCredentialsResponse);
const Alter = clientApi(G.AlterUserScramCredentialsApi, G.encodeAlterUserScramCredentialsRequest, G.decodeAlterUserScramCredentialsResponse);
const SHA256 = 1;
const SHA512 = 2;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options: BrokerOptions = {}): Promise<{ broker: Broker; c: RawClient }> {
  const broker = await startBroker(options);
  const c = await RawClient.connect(broker.host, broker.port);
  cleanups.push(async () => {
    c.close();
    await broker.close();
  });
  return { broker, c };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'brook-scram-'));
  cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function upsertion(name: string, password: string, mechanism = SHA256, iterations = 4096) {
  const salt = randomBytes(16);
  const saltedPassword = await saltPassword(mechanism === SHA512 ? 'SCRAM-SHA-512' : 'SCRAM-SHA-256', password, salt, iterations);
  return { name, mechanism, iterations, salt, saltedPassword };
}

const results = (r: { results: Array<{ user: string; errorCode: number }> }) => r.results.map((x) => [x.user, x.errorCode]);
const versions = (key: number) => {
  const h = HANDLERS.find((x) => x.api.apiKey === key)!;
  return Array.from({ length: h.maxVersion - h.minVersion + 1 }, (_, i) => h.minVersion + i);
};

describe.each(versions(51))('AlterUserScramCredentials v%i', (v) => {
  it('upserts and deletes; the stored credential verifies the password and holds no secret', async () => {
    const { c } = await start();
    const up = await upsertion('alice', 'alice-secret');
    const r = await c.request(Alter, v, { deletions: [], upsertions: [up, await upsertion('bob', 'bob-secret', SHA512, 8192)] });
    expect(r.throttleTimeMs).toBe(0);
    expect(r.results).toEqual([
      { user: 'alice', errorCode: ErrorCode.NONE, errorMessage: null },
      { user: 'bob', errorCode: ErrorCode.NONE, errorMessage: null },
    ]);
    const stored = await describeAll(c);
    expect(stored).toEqual([
      { user: 'alice', errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: SHA256, iterations: 4096 }] },
      { user: 'bob', errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: SHA512, iterations: 8192 }] },
    ]);

    // A second mechanism for alice; then delete her SHA-256 one.
    expect(results(await c.request(Alter, v, { deletions: [], upsertions: [await upsertion('alice', 'other', SHA512)] }))).toEqual([['alice', ErrorCode.NONE]]);
    expect(results(await c.request(Alter, v, { deletions: [{ name: 'alice', mechanism: SHA256 }], upsertions: [] }))).toEqual([['alice', ErrorCode.NONE]]);
    expect((await describeAll(c)).find((u) => u.user === 'alice')!.credentialInfos).toEqual([{ mechanism: SHA512, iterations: 4096 }]);
    // Deleting her last credential removes the user.
    expect(results(await c.request(Alter, v, { deletions: [{ name: 'alice', mechanism: SHA512 }], upsertions: [] }))).toEqual([['alice', ErrorCode.NONE]]);
    expect((await describeAll(c)).map((u) => u.user)).toEqual(['bob']);

  });

  it("answers Kafka's per-user errors and applies only the valid alterations", async () => {
    const { c } = await start({ users: [{ name: 'carol', password: 'carol-secret' }] });
    const r = await c.request(Alter, v, {
      deletions: [
        { name: 'nobody', mechanism: SHA256 }, // RESOURCE_NOT_FOUND
        { name: 'carol', mechanism: SHA512 }, // carol has no SHA-512 credential
        { name: 'dup', mechanism: SHA256 }, // not found first: the later duplicate keeps that error
        { name: 'dup', mechanism: SHA256 },
        { name: '', mechanism: SHA256 }, // empty name
        { name: 'mech', mechanism: 3 }, // unknown mechanism
      ],
      upsertions: [
        await upsertion('few', 'x', SHA256, 4095),
        await upsertion('many', 'x', SHA256, 16385),
        await upsertion('twice', 'x'),
        await upsertion('twice', 'y', SHA512), // a user altered twice: DUPLICATE_RESOURCE, nothing applies
        { ...(await upsertion('bad-mech', 'x')), mechanism: 0 },
        await upsertion('ok', 'ok-secret', SHA256, 16384),
      ],
    });
    expect(results(r)).toEqual([
      ['ok', ErrorCode.NONE],
      ['nobody', ErrorCode.RESOURCE_NOT_FOUND],
      ['carol', ErrorCode.RESOURCE_NOT_FOUND],
      ['dup', ErrorCode.RESOURCE_NOT_FOUND],
      ['', ErrorCode.UNACCEPTABLE_CREDENTIAL],
      ['mech', ErrorCode.UNSUPPORTED_SASL_MECHANISM],
      ['few', ErrorCode.UNACCEPTABLE_CREDENTIAL],
      ['many', ErrorCode.UNACCEPTABLE_CREDENTIAL],
      ['twice', ErrorCode.DUPLICATE_RESOURCE],
      ['bad-mech', ErrorCode.UNSUPPORTED_SASL_MECHANISM],
    ]);
    expect(r.results.find((x) => x.user === 'few')!.errorMessage).toBe('Too few iterations');
    expect(r.results.find((x) => x.user === 'many')!.errorMessage).toBe('Too many iterations');
    expect(r.results.find((x) => x.user === 'twice')!.errorMessage).toBe('A user credential cannot be altered twice in the same request');
    expect((await describeAll(c)).map((u) => u.user)).toEqual(['carol', 'ok']);

    // A user deleted and upserted in one request is a duplicate too; a valid deletion listed
    // twice is one as well. Neither applies.
    const both = await c.request(Alter, v, {
      deletions: [{ name: 'carol', mechanism: SHA256 }, { name: 'ok', mechanism: SHA256 }, { name: 'ok', mechanism: SHA256 }],
      upsertions: [await upsertion('carol', 'new')],
    });
    expect(results(both)).toEqual([
      ['ok', ErrorCode.DUPLICATE_RESOURCE],
      ['carol', ErrorCode.DUPLICATE_RESOURCE],
    ]);
    expect((await describeAll(c)).map((u) => u.user)).toEqual(['carol', 'ok']);
  });
});

async function describeAll(c: RawClient) {
  const r = await c.request(Describe, 0, { users: null });
  expect(r.errorCode).toBe(ErrorCode.NONE);
  return r.results;
}

describe.each(versions(50))('DescribeUserScramCredentials v%i', (v) => {
  it('describes all users (null or empty list), the ones asked, unknown and duplicate names', async () => {
    const { c } = await start({
      users: [
        { name: 'alice', password: 'a', mechanism: 'SCRAM-SHA-512', iterations: 5000 },
        { name: 'alice', password: 'a' },
        { name: 'bob', password: 'b' },
      ],
    });
    for (const users of [null, []]) {
      const all = await c.request(Describe, v, { users });
      expect(all).toEqual({
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        results: [
          { user: 'alice', errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: SHA256, iterations: 4096 }, { mechanism: SHA512, iterations: 5000 }] },
          { user: 'bob', errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: SHA256, iterations: 4096 }] },
        ],
      });
    }
    const some = await c.request(Describe, v, { users: [{ name: 'bob' }, { name: 'nobody' }, { name: 'alice' }, { name: 'bob' }] });
    expect(some.results).toEqual([
      { user: 'bob', errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request: bob', credentialInfos: [] },
      { user: 'nobody', errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to describe a user credential that does not exist: nobody', credentialInfos: [] },
      { user: 'alice', errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: SHA256, iterations: 4096 }, { mechanism: SHA512, iterations: 5000 }] },
    ]);
  });

  it('an empty broker has no users', async () => {
    const { c } = await start();
    expect((await c.request(Describe, v, { users: null })).results).toEqual([]);
  });
});

describe('SCRAM users: persistence and seeding', () => {
  it('survive a restart with a data directory; the file holds keys, not the salted password', async () => {
    const dir = tempDir();
    const up = await upsertion('dave', 'dave-secret', SHA512, 4096);
    {
      const broker = await startBroker({ dataDir: dir });
      const c = await RawClient.connect(broker.host, broker.port);
      expect(results(await c.request(Alter, 0, { deletions: [], upsertions: [up] }))).toEqual([['dave', ErrorCode.NONE]]);
      c.close();
      await broker.close();
    }
    const text = fs.readFileSync(join(dir, SECURITY_FILE), 'utf8');
    expect(text).not.toContain(up.saltedPassword.toString('base64'));
    const stored = (JSON.parse(text) as { scram: Record<string, Record<string, StoredScramCredential>> }).scram.dave!['SCRAM-SHA-512']!;
    expect(stored).toEqual(credentialFromSalted('SCRAM-SHA-512', up.salt, up.saltedPassword, 4096));
    expect(await passwordMatches('SCRAM-SHA-512', stored, 'dave-secret')).toBe(true);
    expect(await passwordMatches('SCRAM-SHA-512', stored, 'wrong')).toBe(false);

    const { c } = await start({ dataDir: dir });
    expect(await describeAll(c)).toEqual([{ user: 'dave', errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: SHA512, iterations: 4096 }] }]);
  });

  it('seeded users replace a stored credential of the same mechanism, keep the others, and come back after reset()', async () => {
    const dir = tempDir();
    {
      const broker = await startBroker({ dataDir: dir, users: [{ name: 'erin', password: 'old' }, { name: 'erin', password: 'sha512', mechanism: 'SCRAM-SHA-512' }, { name: 'frank', password: 'f' }] });
      await broker.close();
    }
    const { broker, c } = await start({ dataDir: dir, users: [{ name: 'erin', password: 'new', iterations: 8192 }] });
    expect(await describeAll(c)).toEqual([
      { user: 'erin', errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: SHA256, iterations: 8192 }, { mechanism: SHA512, iterations: 4096 }] },
      { user: 'frank', errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: [{ mechanism: SHA256, iterations: 4096 }] },
    ]);
    const stored = JSON.parse(fs.readFileSync(join(dir, SECURITY_FILE), 'utf8')).scram.erin['SCRAM-SHA-256'] as StoredScramCredential;
    expect(await passwordMatches('SCRAM-SHA-256', stored, 'new')).toBe(true);
    expect(fs.readFileSync(join(dir, SECURITY_FILE), 'utf8')).not.toContain('"new"');

    await broker.reset();
    const c2 = await RawClient.connect(broker.host, broker.port);
    cleanups.push(() => c2.close());
    expect((await describeAll(c2)).map((u) => [u.user, u.credentialInfos])).toEqual([['erin', [{ mechanism: SHA256, iterations: 8192 }]]]);
    void c;
  });

  it('refuses bad seeded users before starting', async () => {
    await expect(startBroker({ users: [{ name: '', password: 'x' }] })).rejects.toThrow(/non-empty name/);
    await expect(startBroker({ users: [{ name: 'a', password: 'x', iterations: 100 }] })).rejects.toThrow(/iterations must be an integer from 4096 to 16384/);
    await expect(startBroker({ users: [{ name: 'a', password: 'x', mechanism: 'SCRAM-SHA-1' as never }] })).rejects.toThrow(/unknown mechanism/);
    await expect(startBroker({ users: [{ name: 'a', password: '' }] })).rejects.toThrow(/password must not be empty/);
  });
});
