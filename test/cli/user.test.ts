// Issue 11: `brook user add|delete|list` against a real broker (AlterUserScramCredentials and
// DescribeUserScramCredentials), checked against what the broker stores; and
// `brook start --add-scram` with Kafka's syntax. Exit codes: 0 ok, 1 error, 2 usage, 3 not found.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker.js';
import { ScramCredentials, parseAddScram, passwordMatches } from '../../src/security/scram.js';
import { SECURITY_FILE, fileSecurityStore } from '../../src/security/store.js';
import { NO_DIST, hasDist, runCli, startCliBroker } from '../helpers/cli.js';

let broker: Broker;
let dir: string;
let b: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'brook-user-cli-'));
  broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'data') });
  b = ['-b', broker.bootstrap];
});

afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What the broker stored for a user and mechanism (read back from its security file). */
function stored(user: string, mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512') {
  return new ScramCredentials(fileSecurityStore(join(dir, 'data'))).get(user, mechanism);
}

function table(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

describe('parseAddScram (Kafka kafka-storage --add-scram syntax)', () => {
  it('reads name, password, iterations, quoted values', () => {
    expect(parseAddScram('SCRAM-SHA-256=[name=alice,password=alice-secret]')).toEqual({ name: 'alice', password: 'alice-secret', mechanism: 'SCRAM-SHA-256' });
    expect(parseAddScram('SCRAM-SHA-512=[name="bob",password="p,w]d",iterations=8192]')).toEqual({ name: 'bob', password: 'p,w]d', mechanism: 'SCRAM-SHA-512', iterations: 8192 });
  });
  it('refuses malformed values with a message', () => {
    expect(() => parseAddScram('alice:secret')).toThrow(/expected MECHANISM=\[name=...,password=...\]/);
    expect(() => parseAddScram('SCRAM-SHA-1=[name=a,password=b]')).toThrow(/unknown mechanism/);
    expect(() => parseAddScram('SCRAM-SHA-256=[password=b]')).toThrow(/name= is required/);
    expect(() => parseAddScram('SCRAM-SHA-256=[name=a]')).toThrow(/password= is required/);
    expect(() => parseAddScram('SCRAM-SHA-256=[name=a,password=b,iterations=100]')).toThrow(/iterations must be an integer from 4096 to 16384/);
    expect(() => parseAddScram('SCRAM-SHA-256=[name=a,password=b,colour=red]')).toThrow(/unknown key colour/);
    expect(() => parseAddScram('SCRAM-SHA-256=[name=a,salt="MWx2",saltedpassword="YCE="]')).toThrow(/salt is not supported/);
  });
});

describe.skipIf(!hasDist)(`brook user${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('add: salts the password client-side; the broker stores a credential that verifies it', async () => {
    const r = await runCli(['user', 'add', 'alice', '--password', 'alice-secret', ...b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(table(r.stdout)).toEqual([
      ['USER', 'MECHANISM', 'ITERATIONS', 'STATUS'],
      ['alice', 'SCRAM-SHA-256', '4096', 'added'],
    ]);
    const cred = stored('alice', 'SCRAM-SHA-256')!;
    expect(await passwordMatches('SCRAM-SHA-256', cred, 'alice-secret')).toBe(true);
    expect(await passwordMatches('SCRAM-SHA-256', cred, 'wrong')).toBe(false);
    expect(readFileSync(join(dir, 'data', SECURITY_FILE), 'utf8')).not.toContain('alice-secret');
  });

  it('add: the password from stdin, SCRAM-SHA-512, iterations, --json', async () => {
    const r = await runCli(['user', 'add', 'bob', '-m', 'scram-sha-512', '--iterations', '8192', '--json', ...b], { input: 'bob pass\n' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ user: 'bob', mechanism: 'SCRAM-SHA-512', iterations: 8192, status: 'added', error: null });
    const cred = stored('bob', 'SCRAM-SHA-512')!;
    expect(cred.iterations).toBe(8192);
    expect(await passwordMatches('SCRAM-SHA-512', cred, 'bob pass')).toBe(true);
  });

  it('add: usage errors are exit code 2, nothing is sent', async () => {
    for (const args of [
      ['user', 'add', 'x', '--password', 'p', '--iterations', '100'],
      ['user', 'add', 'x', '--password', 'p', '-m', 'SCRAM-SHA-1'],
      ['user', 'add', 'x', '--password', ''],
      ['user', 'add'],
    ]) {
      const r = await runCli([...args, ...b]);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(stored('x', 'SCRAM-SHA-256')).toBeUndefined();
  });

  it('list: every user with mechanisms and iterations; named users; unknown ones exit 3', async () => {
    await runCli(['user', 'add', 'bob', '--password', 'b256', ...b]);
    const all = await runCli(['user', 'list', ...b]);
    expect(all.code).toBe(0);
    expect(table(all.stdout)).toEqual([
      ['USER', 'MECHANISM', 'ITERATIONS'],
      ['alice', 'SCRAM-SHA-256', '4096'],
      ['bob', 'SCRAM-SHA-256', '4096'],
      ['bob', 'SCRAM-SHA-512', '8192'],
    ]);
    const json = await runCli(['user', 'list', 'bob', '--json', ...b]);
    expect(JSON.parse(json.stdout)).toEqual([
      {
        user: 'bob',
        credentials: [
          { mechanism: 'SCRAM-SHA-256', iterations: 4096 },
          { mechanism: 'SCRAM-SHA-512', iterations: 8192 },
        ],
      },
    ]);
    const missing = await runCli(['user', 'list', 'alice', 'nobody', ...b]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('user "nobody" not found\n');
    expect(table(missing.stdout).map((r) => r[0])).toEqual(['USER', 'alice']);
  });

  it('delete: one mechanism, or all of them; missing users exit 3 unless --if-exists', async () => {
    const one = await runCli(['user', 'delete', 'bob', '-m', 'SCRAM-SHA-512', ...b]);
    expect(one.code).toBe(0);
    expect(stored('bob', 'SCRAM-SHA-512')).toBeUndefined();
    expect(stored('bob', 'SCRAM-SHA-256')).toBeDefined();

    await runCli(['user', 'add', 'bob', '--password', 'again', '-m', 'SCRAM-SHA-512', ...b]);
    const all = await runCli(['user', 'delete', 'bob', 'nobody', '--json', ...b]);
    expect(all.code).toBe(3);
    expect(JSON.parse(all.stdout)).toEqual([
      { user: 'bob', status: 'deleted', error: null },
      { user: 'nobody', status: 'not found', error: { code: 'RESOURCE_NOT_FOUND', message: 'no SCRAM credentials' } },
    ]);
    expect(stored('bob', 'SCRAM-SHA-256')).toBeUndefined();
    expect(stored('bob', 'SCRAM-SHA-512')).toBeUndefined();

    const missingMech = await runCli(['user', 'delete', 'alice', '-m', 'SCRAM-SHA-512', ...b]);
    expect(missingMech.code).toBe(3);
    expect(missingMech.stderr).toContain('RESOURCE_NOT_FOUND');
    expect((await runCli(['user', 'delete', 'nobody', '--if-exists', ...b])).code).toBe(0);
    expect(stored('alice', 'SCRAM-SHA-256')).toBeDefined();
  });

  it('an unreachable broker is exit code 1', async () => {
    const r = await runCli(['user', 'list', '-b', '127.0.0.1:1', '--timeout', '2000']);
    expect(r.code).toBe(1);
  });

  it('brook start --add-scram stores the users (salted) before serving; a bad value stops the start', async () => {
    const data = join(dir, 'cli-start');
    const cli = await startCliBroker(data, ['--add-scram', 'SCRAM-SHA-256=[name=alice,password=alice-secret]', '--add-scram', 'SCRAM-SHA-512=[name=alice,password="x,y",iterations=8192]']);
    try {
      const list = await runCli(['user', 'list', '--json', '-b', cli.bootstrap]);
      expect(JSON.parse(list.stdout)).toEqual([
        {
          user: 'alice',
          credentials: [
            { mechanism: 'SCRAM-SHA-256', iterations: 4096 },
            { mechanism: 'SCRAM-SHA-512', iterations: 8192 },
          ],
        },
      ]);
      expect(cli.stderr()).not.toContain('alice-secret');
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
    const creds = new ScramCredentials(fileSecurityStore(data));
    expect(await passwordMatches('SCRAM-SHA-512', creds.get('alice', 'SCRAM-SHA-512')!, 'x,y')).toBe(true);
    expect(readFileSync(join(data, SECURITY_FILE), 'utf8')).not.toContain('alice-secret');

    await expect(startCliBroker(join(dir, 'bad'), ['--add-scram', 'SCRAM-SHA-256=[name=a,password=b,iterations=1]'])).rejects.toThrow(
      /code 1[\s\S]*--add-scram: SCRAM user "a": iterations must be an integer from 4096 to 16384/,
    );
  });
});
