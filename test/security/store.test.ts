// The security store (src/security/store.ts) and SCRAM credentials (src/security/scram.ts).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileSecurityStore, memorySecurityStore, SECURITY_FILE } from '../../src/security/store.js';
import { credentialFromPassword, credentialFromSalted, passwordMatches, saltPassword, ScramCredentials } from '../../src/security/scram.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-sec-'));
  dirs.push(d);
  return d;
}

describe('security store', () => {
  it('keeps changes in the data directory across reopen, and clear() empties it', async () => {
    const dir = tmp();
    const a = fileSecurityStore(dir);
    const seen: string[] = [];
    a.onChange((ns) => seen.push(ns));
    await a.apply('acls', [
      ['k1', { x: 1 }],
      ['k2', { x: 2 }],
    ]);
    await a.apply('acls', [['k1', null]]);
    expect(seen).toEqual(['acls', 'acls']);
    const b = fileSecurityStore(dir);
    expect([...b.entries('acls')]).toEqual([['k2', { x: 2 }]]);
    expect(b.entries('scram').size).toBe(0);
    await b.clear();
    expect(fileSecurityStore(dir).entries('acls').size).toBe(0);
  });

  it('a failed write changes nothing and the next change still works', async () => {
    const dir = tmp();
    const s = fileSecurityStore(dir);
    await s.apply('quotas', [['a', 1]]);
    fs.rmSync(dir, { recursive: true });
    await expect(s.apply('quotas', [['b', 2]])).rejects.toThrow();
    expect([...s.entries('quotas').keys()]).toEqual(['a']);
    fs.mkdirSync(dir);
    await s.apply('quotas', [['c', 3]]);
    expect([...fileSecurityStore(dir).entries('quotas').keys()]).toEqual(['a', 'c']);
  });

  it('refuses a file that is not its own', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, SECURITY_FILE), 'not json');
    expect(() => fileSecurityStore(dir)).toThrow(/not valid JSON/);
    fs.writeFileSync(path.join(dir, SECURITY_FILE), '{"version":2}');
    expect(() => fileSecurityStore(dir)).toThrow(/version 1/);
  });
});

describe('SCRAM credentials', () => {
  it('derive the RFC 7677 test vector keys (user "user", password "pencil")', async () => {
    // RFC 7677 section 3: salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations. Its ServerSignature
    // over the exchange's AuthMessage is 6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=.
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const cred = credentialFromSalted('SCRAM-SHA-256', salt, await saltPassword('SCRAM-SHA-256', 'pencil', salt, 4096), 4096);
    const authMessage =
      'n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const { createHmac } = await import('node:crypto');
    const sig = createHmac('sha256', Buffer.from(cred.serverKey, 'base64')).update(authMessage).digest('base64');
    expect(sig).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  it('are stored per user and mechanism, without the password', async () => {
    const store = memorySecurityStore();
    const creds = new ScramCredentials(store);
    const c256 = await credentialFromPassword('SCRAM-SHA-256', 'alice-secret', 4096);
    const c512 = await credentialFromPassword('SCRAM-SHA-512', 'alice-secret', 8192);
    await creds.alter([
      { user: 'alice', mechanism: 'SCRAM-SHA-256', credential: c256 },
      { user: 'alice', mechanism: 'SCRAM-SHA-512', credential: c512 },
    ]);
    expect(JSON.stringify([...store.entries('scram')])).not.toContain('alice-secret');
    expect(creds.list()).toEqual([{ user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }, { mechanism: 'SCRAM-SHA-512', iterations: 8192 }] }]);
    expect(await passwordMatches('SCRAM-SHA-512', creds.get('alice', 'SCRAM-SHA-512')!, 'alice-secret')).toBe(true);
    expect(await passwordMatches('SCRAM-SHA-512', creds.get('alice', 'SCRAM-SHA-512')!, 'wrong')).toBe(false);
    await creds.alter([{ user: 'alice', mechanism: 'SCRAM-SHA-256', credential: null }]);
    expect(creds.get('alice', 'SCRAM-SHA-256')).toBeUndefined();
    await creds.alter([{ user: 'alice', mechanism: 'SCRAM-SHA-512', credential: null }]);
    expect(creds.list()).toEqual([]);
  });
});
