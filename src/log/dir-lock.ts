// One broker per data directory. Node has no flock(), so the lock is a `.lock` file holding the
// owner's pid, created exclusively; a lock whose process is gone (kill -9) is taken over. The same
// process may reopen its own directory (embedded brokers restarting in a test).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { LogStoreError } from './common.js';

export const LOCK_FILE = '.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed broker whose parent has not reaped it yet is a zombie: it holds nothing any more
  // (Kafka's file lock is gone with the process too). Linux tells through /proc.
  if (!fs.existsSync('/proc/self/status')) return true;
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT'; // gone since kill(0)
  }
}

/** Takes the directory lock; returns a function that releases it. */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
        throw new LogStoreError('STORAGE_ERROR', `data directory ${dir} is in use by another broker (pid ${owner})`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new LogStoreError('STORAGE_ERROR', `could not lock data directory ${dir}`);
}
