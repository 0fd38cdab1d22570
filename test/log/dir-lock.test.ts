// The data directory lock: one broker per directory; stale locks (kill -9) are taken over; a second
// broker with the same pid in another container (pid namespace) is refused (issue 8).

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, formatLockRecord, lockDataDir, lockIdentity, parseLockRecord } from '../../src/log/dir-lock.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-lock-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('data directory lock', () => {
  it('refuses a directory held by another live process', async () => {
    const dir = tmp();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(dir, LOCK_FILE), `${child.pid}\n`);
      expect(() => lockDataDir(dir)).toThrow(/in use by another broker/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.skipIf(!fs.existsSync('/proc/self/status'))('takes over the lock of a killed broker not reaped yet (a zombie)', async () => {
    const dir = tmp();
    // sh starts a background sleep, prints its pid, then becomes a process that never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 30 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((r) => parent.stdout!.once('data', (d: Buffer) => r(d.toString().trim()))));
      // Kill only once sh has exec'd into sleep: before that, sh itself would reap the child.
      for (let i = 0; i < 200 && fs.readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim() !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 5));
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && !/State:\s+Z/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 10));
      expect(fs.readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/State:\s+Z/);
      fs.writeFileSync(path.join(dir, LOCK_FILE), `${pid}\n`);
      const release = lockDataDir(dir);
      expect(ownerPid(dir)).toBe(process.pid);
      release();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('takes over a stale lock and releases it', async () => {
    const dir = tmp();
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => child.once('exit', r));
    fs.writeFileSync(path.join(dir, LOCK_FILE), `${child.pid}\n`);
    const release = lockDataDir(dir);
    expect(ownerPid(dir)).toBe(process.pid);
    release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });

  // ---- two brokers with the same pid (issue 8) ----

  /** A lock as a broker that is pid `process.pid` in another container (pid namespace) writes it. */
  const foreignSamePid = () => formatLockRecord({ pid: process.pid, token: 'f'.repeat(32), host: 'other-container', boot: lockIdentity().boot, pidns: 'pid:[1]' });

  /** A process that refreshes the lock file's mtime, as a live holder's heartbeat does. */
  function toucher(file: string) {
    return spawn(process.execPath, ['-e', `const fs=require('fs');setInterval(()=>{const t=new Date();fs.utimesSync(${JSON.stringify(file)},t,t)},50)`], { stdio: 'ignore' });
  }

  it('refuses a live broker with the same pid in another container (pid 1 twice on one volume)', async () => {
    const dir = tmp();
    const file = path.join(dir, LOCK_FILE);
    fs.writeFileSync(file, foreignSamePid());
    const child = toucher(file);
    try {
      await touched(file);
      expect(() => lockDataDir(dir, { staleMs: 1000 })).toThrow(/in use by another broker \(pid \d+ on other-container/);
      expect(fs.readFileSync(file, 'utf8')).toBe(foreignSamePid());
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes over such a lock once nobody refreshes it (the other container is gone)', () => {
    const dir = tmp();
    const file = path.join(dir, LOCK_FILE);
    fs.writeFileSync(file, foreignSamePid());
    const started = Date.now();
    const waits: string[] = [];
    const release = lockDataDir(dir, { staleMs: 300, onWait: (m) => waits.push(m) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(waits).toEqual([expect.stringMatching(/locked by pid \d+ on other-container \(pid:\[1\]\), which this process cannot check; waiting up to 300 ms/)]);
    const rec = parseLockRecord(fs.readFileSync(file, 'utf8'))!;
    expect(rec.pid).toBe(process.pid);
    expect(rec.token).not.toBe('f'.repeat(32));
    expect(rec).toMatchObject(lockIdentity());
    release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('the holder keeps refreshing the lock file (what a second broker watches), even while its event loop is blocked', async () => {
    const dir = tmp();
    const file = path.join(dir, LOCK_FILE);
    const release = lockDataDir(dir, { heartbeatMs: 50 });
    try {
      await touched(file);
      const before = fs.statSync(file).mtimeMs;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500); // a long synchronous recovery
      expect(fs.statSync(file).mtimeMs).toBeGreaterThan(before);
    } finally {
      release();
    }
  });

  it.skipIf(process.platform === 'win32' || !fs.existsSync('/bin/sh'))('a holder killed with SIGKILL stops refreshing its lock (its heartbeat process ends with it)', async () => {
    const dir = tmp();
    const file = path.join(dir, LOCK_FILE);
    // The built module (dist/): a plain node child cannot load the TypeScript source.
    const lockModule = new URL('../../dist/src/log/dir-lock.js', import.meta.url).href;
    const holder = spawn(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(lockModule)}); m.lockDataDir(${JSON.stringify(dir)}, { heartbeatMs: 50 }); console.log('locked'); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((r) => holder.stdout!.once('data', r));
      await touched(file);
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      await new Promise((r) => setTimeout(r, 300)); // a beat in flight may still land
      const after = fs.statSync(file).mtimeMs;
      await new Promise((r) => setTimeout(r, 300)); // 6 heartbeat intervals
      expect(fs.statSync(file).mtimeMs).toBe(after);
      // So a broker that cannot check that pid takes the lock over after watching it.
      const release = lockDataDir(dir, { staleMs: 300 });
      expect(ownerPid(dir)).toBe(process.pid);
      release();
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('the same process may reopen its own directory; the older handle releases nothing', () => {
    const dir = tmp();
    const file = path.join(dir, LOCK_FILE);
    const first = lockDataDir(dir);
    const started = Date.now();
    const second = lockDataDir(dir);
    expect(Date.now() - started).toBeLessThan(1000); // no waiting for its own lock
    first();
    expect(fs.existsSync(file)).toBe(true);
    second();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('tells the holder when another process takes its lock over', async () => {
    const dir = tmp();
    const file = path.join(dir, LOCK_FILE);
    const lost: string[] = [];
    const release = lockDataDir(dir, { heartbeatMs: 20, onLost: (r) => lost.push(r) });
    try {
      fs.writeFileSync(file, foreignSamePid());
      for (let i = 0; i < 100 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(lost).toEqual(['another process took over the data directory lock']);
    } finally {
      release();
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(foreignSamePid()); // not ours to remove
  });
});

/** Resolves once the file's mtime has changed (its refresher is running). */
async function touched(file: string): Promise<void> {
  const first = fs.statSync(file).mtimeMs;
  for (let i = 0; i < 500 && fs.statSync(file).mtimeMs === first; i++) await new Promise((r) => setTimeout(r, 10));
  expect(fs.statSync(file).mtimeMs).not.toBe(first);
}

function ownerPid(dir: string): number | undefined {
  return parseLockRecord(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'))?.pid;
}
