// The security store (src/security/store.ts) and SCRAM credentials (src/security/scram.ts).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterSecurityStore, fileSecurityStore, memorySecurityStore, SECURITY_FILE } from '../../src/security/store.js';
import { MemoryKv } from '../../src/cluster/metadata/memory-kv.js';
import { KvMetadataStore } from '../../src/cluster/metadata/store.js';
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

describe('security store in a cluster (metadata store)', () => {
  it('two brokers changing the same namespace at once both end with every change, in order', async () => {
    const kv = new MemoryKv();
    // A write is answered a few ms after it is made, as over a network: the other broker's
    // changes reach a broker's watch while its own write is still in flight.
    const slowWrites = new Proxy(kv, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'txn' || typeof v !== 'function') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        return async (...args: unknown[]) => {
          const r = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          await new Promise((res) => setTimeout(res, 1 + Math.floor(Math.random() * 5)));
          return r;
        };
      },
    });
    const a = await clusterSecurityStore(new KvMetadataStore(slowWrites, 'c'));
    const b = await clusterSecurityStore(new KvMetadataStore(slowWrites, 'c'));
    try {
      // Interleaved writes of both: each broker's copy must not lose the other's (a stale
      // snapshot written back over a watched change), and a change is readable once applied.
      for (let round = 0; round < 20; round++) {
        const pending: Array<Promise<void>> = [];
        for (let i = 0; i < 5; i++) {
          pending.push(a.apply('acls', [[`a-${round}-${i}`, { round, i }]]).then(() => expect(a.get('acls', `a-${round}-${i}`)).toEqual({ round, i })));
          pending.push(b.apply('acls', [[`b-${round}-${i}`, { round, i }]]).then(() => expect(b.get('acls', `b-${round}-${i}`)).toEqual({ round, i })));
        }
        pending.push(a.apply('quotas', [['shared', { by: 'a', round }]]), b.apply('quotas', [['shared', { by: 'b', round }]]));
        await Promise.all(pending);
      }
      await b.apply('acls', [['last', 1]]); // once a sees this, it has seen everything before it
      await expect.poll(() => a.get('acls', 'last')).toBe(1);
      expect(a.entries('acls').size).toBe(201);
      expect([...a.entries('acls')].sort()).toEqual([...b.entries('acls')].sort());
      // The same last writer on both: etcd's order, not each broker's own.
      expect(a.get('quotas', 'shared')).toEqual(b.get('quotas', 'shared'));
    } finally {
      a.close();
      b.close();
    }
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
