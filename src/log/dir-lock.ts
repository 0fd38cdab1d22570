// One broker per data directory. Node has no flock(), and a pid alone cannot tell two brokers
// apart: two containers sharing a volume are both pid 1, and a pid from another pid namespace (or
// host) says nothing about liveness here. The lock is a `.lock` file, created atomically with its
// content (link(2) of a written temp file; exclusive create where links are not supported):
//
//   <pid>                      first line, as older Brooks wrote it (and read it)
//   token=<random>             this acquisition
//   host= boot= pidns=         hostname, kernel boot id, pid namespace: where the pid means something
//
// While it holds the lock, the broker refreshes the file's mtime every second from outside its event
// loop (a small child process, see heartbeat below), so a main thread busy with recovery or a long
// fsync still shows it is alive. A broker that finds
// the file:
// - with the token this process holds: the same process reopening its directory (embedded brokers
//   restarting in a test): taken over at once;
// - written by another pid in the same pid namespace on the same boot (or, without /proc, on the
//   same host): the pid decides at once: alive -> refused; gone or a zombie -> taken over;
// - otherwise (another container or host, or this very pid with a foreign token): the pid proves
//   nothing, so it watches the file for `staleMs` (5 s): refreshed -> refused; untouched -> the
//   holder is gone (kill -9, a stopped container) and the lock is taken over;
// - a pid-only file (older Brook): judged by its pid as before.
// The holder's heartbeat also checks that the file still carries its token and reports (onLost) if it
// was deleted or taken over.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { LogStoreError } from './common.js';

export const LOCK_FILE = '.lock';
/** How often the holder refreshes the lock file's mtime. */
export const LOCK_HEARTBEAT_MS = 1000;
/** How long a contender watches a lock whose holder it cannot check by pid. */
export const LOCK_STALE_MS = 5000;

export interface LockOptions {
  heartbeatMs?: number;
  staleMs?: number;
  /** Told (from the event loop) when the held lock file was deleted or taken over by another process. */
  onLost?: (reason: string) => void;
  /** Told before the lock file of a holder that cannot be checked by pid is watched (a delay at start). */
  onWait?: (message: string) => void;
}

export interface LockRecord {
  pid: number;
  token?: string;
  host?: string;
  boot?: string;
  pidns?: string;
}

function readTrim(file: string, link = false): string {
  try {
    return (link ? fs.readlinkSync(file) : fs.readFileSync(file, 'utf8')).trim();
  } catch {
    return '';
  }
}

let self: { host: string; boot: string; pidns: string } | undefined;
/** Where this process's pid is meaningful. */
export function lockIdentity(): { host: string; boot: string; pidns: string } {
  self ??= {
    host: os.hostname(),
    boot: readTrim('/proc/sys/kernel/random/boot_id'),
    pidns: readTrim('/proc/self/ns/pid', true),
  };
  return self;
}

export function formatLockRecord(r: Required<LockRecord>): string {
  return `${r.pid}\ntoken=${r.token}\nhost=${r.host}\nboot=${r.boot}\npidns=${r.pidns}\n`;
}

export function parseLockRecord(text: string): LockRecord | undefined {
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  if (!Number.isInteger(pid) || String(pid) !== lines[0]!.trim()) return undefined;
  const out: LockRecord = { pid };
  for (const line of lines.slice(1)) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === 'token' || k === 'host' || k === 'boot' || k === 'pidns') out[k] = v;
  }
  return out;
}

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

/** true when the record's pid can be checked from here (same pid namespace and boot, or same host without /proc). */
function pidComparable(r: LockRecord): boolean {
  const me = lockIdentity();
  if (r.host !== me.host) return false;
  if (me.boot === '' && me.pidns === '') return (r.boot ?? '') === '' && (r.pidns ?? '') === '';
  return r.boot === me.boot && r.pidns === me.pidns;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function stamp(file: string): string | undefined {
  try {
    const st = fs.statSync(file, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}`;
  } catch {
    return undefined;
  }
}

/** Watches the lock file for `staleMs`: true if its holder refreshes (or replaces) it meanwhile. */
function refreshedWithin(file: string, staleMs: number): boolean {
  const first = stamp(file);
  if (first === undefined) return false;
  const until = Date.now() + staleMs;
  while (Date.now() < until) {
    sleepSync(Math.min(100, Math.max(1, until - Date.now())));
    const now = stamp(file);
    if (now === undefined) return false; // released meanwhile
    if (now !== first) return true;
  }
  return false;
}

/** Creates the lock file with its content in one step; false if it exists. */
function createLockFile(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, content);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  // No hard links on this file system: exclusive create (a reader may briefly see it empty).
  try {
    fs.writeFileSync(file, content, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

// ---- heartbeat ----
// The refresher must run while the event loop is blocked, so it cannot be a timer. It is a small
// shell loop in a child process (about 1 MB, against about 10 MB of RSS for a worker thread with
// its own V8 heap), one per lock held: every beat it checks that the file still carries this
// acquisition's token (exit 3) and exists (exit 4), touches its mtime, and writes one byte to its
// stdout, a pipe to this process. When this process dies (kill -9 included), the pipe's reader is
// gone and that write kills the loop with SIGPIPE, so a dead broker's lock goes stale as before.
// Where there is no /bin/sh, or the loop cannot run (no `touch` or `sleep`), a worker thread
// does the same.

const SHELL = '/bin/sh';
const HEARTBEAT_SCRIPT = `
file=$1; token=$2; every=$3
while :; do
  [ -e "$file" ] || exit 4
  found=
  while IFS= read -r line || [ -n "$line" ]; do
    [ "$line" = "token=$token" ] && found=1
  done < "$file"
  [ -n "$found" ] || exit 3
  touch -c "$file" || exit 7
  printf . || exit 5
  sleep "$every" || exit 6
done
`;
const LOST_REASONS: Record<number, string> = {
  3: 'another process took over the data directory lock',
  4: 'the data directory lock file was deleted',
};

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const locks = new Map();
function beat(file, token) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e.code !== 'ENOENT') return; // EMFILE, EIO: try again at the next beat
    stop(file);
    parentPort.postMessage({ file, token, code: 4 });
    return;
  }
  if (!text.split('\\n').includes('token=' + token)) {
    stop(file);
    parentPort.postMessage({ file, token, code: 3 });
    return;
  }
  try {
    const t = new Date();
    fs.utimesSync(file, t, t);
  } catch {}
}
function stop(file) {
  const l = locks.get(file);
  if (l) clearInterval(l);
  locks.delete(file);
}
parentPort.on('message', (m) => {
  stop(m.file);
  if (m.op === 'add') {
    locks.set(m.file, setInterval(beat, m.everyMs, m.file, m.token));
    beat(m.file, m.token);
  }
});
`;

interface Held {
  token: string;
  gen: number;
  onLost?: (reason: string) => void;
  /** The shell loop refreshing this lock (undefined: the worker does). */
  child?: ChildProcess;
}

const held = new Map<string, Held>();
let worker: Worker | undefined;

function lost(file: string, token: string, code: number): void {
  const h = held.get(file);
  if (h !== undefined && h.token === token) h.onLost?.(LOST_REASONS[code] ?? `lock heartbeat ended (${code})`);
}

function heartbeatWorker(): Worker {
  if (worker === undefined) {
    // Loaded only where the shell loop cannot run.
    const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
    worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (m: { file: string; token: string; code: number }) => lost(m.file, m.token, m.code));
    worker.on('error', () => {
      // A heartbeat that died only weakens the lock against brokers in other namespaces.
      worker = undefined;
    });
  }
  return worker;
}

function workerBeat(file: string, token: string, everyMs: number): void {
  heartbeatWorker().postMessage({ op: 'add', file, token, everyMs });
}

let shellUsable = process.platform !== 'win32' && fs.existsSync(SHELL);

function shellBeat(file: string, h: Held, everyMs: number): void {
  let child: ChildProcess;
  try {
    child = spawn(SHELL, ['-c', HEARTBEAT_SCRIPT, 'brook-lock-heartbeat', file, h.token, String(everyMs / 1000)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    shellUsable = false;
    workerBeat(file, h.token, everyMs);
    return;
  }
  h.child = child;
  child.unref();
  const out = child.stdout as (NodeJS.ReadableStream & { unref?: () => void }) | null;
  out?.on('data', () => {});
  out?.unref?.();
  let beats = false;
  out?.once('data', () => (beats = true));
  child.once('error', () => {
    // spawn failed (ENOENT, EAGAIN): the worker takes over.
    if (h.child !== child) return;
    h.child = undefined;
    shellUsable = false;
    workerBeat(file, h.token, everyMs);
  });
  child.once('exit', (code) => {
    if (h.child !== child) return; // released or replaced
    h.child = undefined;
    if (code === 3 || code === 4) return lost(file, h.token, code);
    // The loop could not run here (no touch or sleep, a fractional sleep refused, killed from
    // outside): the worker takes over this lock, and any later one if it never beat.
    if (!beats) shellUsable = false;
    workerBeat(file, h.token, everyMs);
  });
}

function hold(file: string, token: string, opts: LockOptions): () => void {
  const gen = (held.get(file)?.gen ?? 0) + 1;
  const previous = held.get(file);
  const previousChild = previous?.child;
  if (previous !== undefined) previous.child = undefined;
  previousChild?.kill();
  const h: Held = { token, gen, onLost: opts.onLost };
  held.set(file, h);
  const everyMs = opts.heartbeatMs ?? LOCK_HEARTBEAT_MS;
  if (shellUsable) {
    worker?.postMessage({ op: 'remove', file });
    shellBeat(file, h, everyMs);
  } else workerBeat(file, token, everyMs);
  return () => {
    const cur = held.get(file);
    if (cur === undefined || cur.gen !== gen) return; // reopened in this process since: that one holds it now
    held.delete(file);
    const child = h.child;
    h.child = undefined;
    child?.kill();
    worker?.postMessage({ op: 'remove', file });
    try {
      if (parseLockRecord(fs.readFileSync(file, 'utf8'))?.token === token) fs.unlinkSync(file);
    } catch {
      // already gone
    }
    if (held.size === 0 && worker !== undefined) {
      void worker.terminate();
      worker = undefined;
    }
  };
}

/** Takes the directory lock; returns a function that releases it. */
export function lockDataDir(dir: string, opts: LockOptions = {}): () => void {
  const file = path.join(dir, LOCK_FILE);
  const staleMs = opts.staleMs ?? Math.max(LOCK_STALE_MS, 4 * (opts.heartbeatMs ?? LOCK_HEARTBEAT_MS));
  for (let attempt = 0; attempt < 3; attempt++) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const token = randomBytes(16).toString('hex');
      if (!createLockFile(file, formatLockRecord({ pid: process.pid, token, ...lockIdentity() }))) continue;
      return hold(file, token, opts);
    }
    const rec = parseLockRecord(text);
    const mine = held.get(file);
    if (mine !== undefined && rec?.token === mine.token) return hold(file, mine.token, opts);
    let inUse: boolean;
    if (rec !== undefined && (rec.token === undefined || (pidComparable(rec) && rec.pid !== process.pid))) {
      // An older Brook's pid-only file, or a pid this process can check.
      inUse = rec.pid !== process.pid && alive(rec.pid);
    } else {
      const holder = rec === undefined ? 'an unreadable lock file' : `pid ${rec.pid} on ${rec.host ?? 'an unknown host'}${rec.pidns ? ` (${rec.pidns})` : ''}`;
      opts.onWait?.(`data directory ${dir} is locked by ${holder}, which this process cannot check; waiting up to ${staleMs} ms for it to show it is alive`);
      inUse = refreshedWithin(file, staleMs);
    }
    if (inUse) {
      const who = rec === undefined ? 'an unreadable lock file' : `pid ${rec.pid}${rec.host !== undefined ? ` on ${rec.host}` : ''}`;
      throw new LogStoreError('STORAGE_ERROR', `data directory ${dir} is in use by another broker (${who}; ${file})`);
    }
    // Stale: removed unless it changed meanwhile (then the next round looks again).
    try {
      if (fs.readFileSync(file, 'utf8') === text) fs.unlinkSync(file);
    } catch {
      // gone already
    }
  }
  throw new LogStoreError('STORAGE_ERROR', `could not lock data directory ${dir}`);
}
