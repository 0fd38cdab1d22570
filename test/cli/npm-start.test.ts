// `npm start` as a user runs it: the broker must answer, and SIGTERM to the npm process must stop
// the broker too (package.json `exec`s it, so no shell sits between npm and the broker and no
// broker is left running as an orphan on its port). Needs a built dist/ (like the other CLI
// tests): src/cli/build-if-stale.mjs then has nothing to rebuild.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { metadata, rawClient } from '../helpers/broker.js';
import { hasDist, NO_DIST } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** pid → parent pid for every process (Linux /proc). */
function parents(): Map<number, number> {
  const m = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      m.set(Number(name), ppid);
    } catch {
      // exited meanwhile
    }
  }
  return m;
}

function descendants(pid: number): number[] {
  const p = parents();
  const out: number[] = [];
  const walk = (parent: number): void => {
    for (const [child, pp] of p) {
      if (pp === parent) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function until(cond: () => boolean | Promise<boolean>, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

const leftovers: number[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!hasDist)(`npm start${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('answers Metadata, and SIGTERM to npm stops the broker (no orphan, port closed)', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'brook-npm-start-'));
    dirs.push(dataDir);
    const npm = spawn('npm', ['start', '--', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'info'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    leftovers.push(npm.pid!);
    let stderr = '';
    npm.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    npm.stdout!.resume();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      npm.once('exit', (code, signal) => resolve({ code, signal })),
    );

    // Generous limit: a stale dist/ is rebuilt first (tsc), which takes a while on a busy machine.
    const started = await until(() => stderr.includes('brook started') || npm.exitCode !== null, 180_000);
    expect(started && stderr.includes('brook started'), stderr).toBe(true);

    const client = await rawClient({ host: '127.0.0.1', port });
    try {
      const md = await metadata(client, null);
      expect(md.brokers.map((b) => b.port)).toEqual([port]);
    } finally {
      client.close();
    }

    const tree = descendants(npm.pid!);
    leftovers.push(...tree);
    const broker = tree.find((pid) => cmdline(pid).includes('dist/src/cli/brook.cjs'));
    expect(broker, `processes under npm: ${tree.map((p) => `${p} ${cmdline(p)}`).join('; ')}`).toBeDefined();

    npm.kill('SIGTERM');
    await exited;
    // The broker shuts down gracefully (flush, close); give it time, then every process that was
    // under npm must be gone and nothing may listen on the port.
    await until(() => tree.every((pid) => !alive(pid)), 15_000);
    expect(tree.filter(alive).map((p) => `${p} ${cmdline(p)}`)).toEqual([]);
    expect(await portOpen(port)).toBe(false);
    expect(stderr).toContain('shutting down');
  }, 240_000);

});
