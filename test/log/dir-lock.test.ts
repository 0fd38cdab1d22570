// The data directory lock: one broker per directory; stale locks (kill -9) are taken over.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockDataDir } from '../../src/log/dir-lock.js';

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
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && !/State:\s+Z/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 10));
      expect(fs.readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/State:\s+Z/);
      fs.writeFileSync(path.join(dir, LOCK_FILE), `${pid}\n`);
      const release = lockDataDir(dir);
      expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
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
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });
});
