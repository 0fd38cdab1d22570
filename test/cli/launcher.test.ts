// The `brook` command (dist/src/cli/brook.cjs, src/cli/launcher.cjs) loads the CLI bundle through
// V8's code cache: Node 22.1+ with module.enableCompileCache(), Node 20 by hand (vm.Script with
// cachedData). The cache must be written, used again, rewritten when V8 refuses it, never taken
// from a folder others can write to, and never stop the command from working. Needs a built dist/.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { metadata, rawClient } from '../helpers/broker.js';

const BROOK = fileURLToPath(new URL('../../dist/src/cli/brook.cjs', import.meta.url));
const hasBundle = existsSync(BROOK);
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
/** Node 22.1+ has its own compile cache (its own file layout); Node 20 gets the launcher's. */
const nodeCache = typeof (createRequire(import.meta.url)('node:module') as { enableCompileCache?: unknown }).enableCompileCache === 'function';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) {
    try {
      chmodSync(d, 0o700);
    } catch {
      // already gone
    }
    rmSync(d, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'brook-cc-test-'));
  dirs.push(d);
  return d;
}

/** The environment with the cache in `cacheDir` (and not turned off). */
function cacheEnv(cacheDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: cacheDir };
  delete env.NODE_DISABLE_COMPILE_CACHE;
  return env;
}

function brook(cacheDir: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BROOK, ...args], { encoding: 'utf8', env: cacheEnv(cacheDir) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under dir (Node's own cache keeps its files in a subfolder). */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe.skipIf(!hasBundle)('brook command: the code cache', () => {
  it('a client command writes the cache; the next run uses it without rewriting it', () => {
    const cache = tempDir();
    const first = brook(cache, ['--version']);
    expect(first).toMatchObject({ status: 0, stdout: `${VERSION}\n` });
    const written = files(cache);
    expect(written.length).toBeGreaterThan(0);
    if (nodeCache) return; // Node's own cache: its layout and reuse are Node's business
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/brook-v[\d.]+-\w+-client-[0-9a-f]{8}-\d+-\d+\.bin$/);
    expect(statSync(cache).mode & 0o077).toBe(0);
    const before = statSync(written[0]!).mtimeMs;
    const size = statSync(written[0]!).size;
    const second = brook(cache, ['--version']);
    expect(second).toMatchObject({ status: 0, stdout: `${VERSION}\n` });
    expect(files(cache)).toEqual(written);
    expect(statSync(written[0]!)).toMatchObject({ mtimeMs: before, size });
  });

  it.skipIf(nodeCache)('two installs in other folders sharing the cache folder each keep their own file', () => {
    const cache = tempDir();
    // A copy of the command (launcher and bundles) in another folder, as in another project.
    const other = tempDir();
    const cli = join(other, 'dist', 'src', 'cli');
    mkdirSync(cli, { recursive: true });
    for (const f of ['brook.cjs', 'brook-bundle.cjs', 'brook-client.cjs']) writeFileSync(join(cli, f), readFileSync(join(dirname(BROOK), f)));
    writeFileSync(join(other, 'package.json'), JSON.stringify({ version: VERSION }));
    const otherRun = (): ReturnType<typeof brook> => {
      const r = spawnSync(process.execPath, [join(cli, 'brook.cjs'), '--version'], { encoding: 'utf8', env: cacheEnv(cache) });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    expect(brook(cache, ['--version'])).toMatchObject({ status: 0, stdout: `${VERSION}\n` });
    expect(otherRun()).toMatchObject({ status: 0, stdout: `${VERSION}\n` });
    const both = files(cache).sort();
    expect(both).toHaveLength(2);
    const mtimes = both.map((f) => statSync(f).mtimeMs);
    // Each uses its own file again: nothing is replaced or removed.
    expect(brook(cache, ['--version']).status).toBe(0);
    expect(otherRun().status).toBe(0);
    expect(files(cache).sort()).toEqual(both);
    expect(both.map((f) => statSync(f).mtimeMs)).toEqual(mtimes);
  });

  it.skipIf(nodeCache)('a corrupt cache is refused by V8, the command still works and the cache is written again', () => {
    const cache = tempDir();
    expect(brook(cache, ['--version']).status).toBe(0);
    const [file] = files(cache);
    writeFileSync(file!, Buffer.alloc(4096, 0x5a));
    const r = brook(cache, ['--version']);
    expect(r).toMatchObject({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
    const again = readFileSync(file!);
    expect(again.length).toBeGreaterThan(4096);
    expect(again.equals(Buffer.alloc(again.length, 0x5a))).toBe(false);
  });

  it.skipIf(nodeCache || process.getuid?.() === undefined)('a cache folder others can write to is not used', () => {
    const cache = tempDir();
    chmodSync(cache, 0o777);
    const r = brook(cache, ['--version']);
    expect(r).toMatchObject({ status: 0, stdout: `${VERSION}\n` });
    expect(files(cache)).toEqual([]);
  });

  it('an unwritable cache location or NODE_DISABLE_COMPILE_CACHE: the command works, nothing is written', () => {
    const parent = tempDir();
    const file = join(parent, 'not-a-folder');
    writeFileSync(file, 'x');
    expect(brook(file, ['--version'])).toMatchObject({ status: 0, stdout: `${VERSION}\n` });
    const cache = join(parent, 'c');
    mkdirSync(cache);
    const r = spawnSync(process.execPath, [BROOK, '--version'], { encoding: 'utf8', env: { ...process.env, NODE_COMPILE_CACHE: cache, NODE_DISABLE_COMPILE_CACHE: '1' } });
    expect(r).toMatchObject({ status: 0, stdout: `${VERSION}\n` });
    expect(files(cache)).toEqual([]);
  });

  it('`brook start` through the cache: answers, stops on SIGTERM, and its own cache file is kept beside the client one', async () => {
    const cache = tempDir();
    expect(brook(cache, ['--version']).status).toBe(0);
    for (let round = 0; round < 2; round++) {
      const child = spawn(process.execPath, [BROOK, 'start', '--memory', '--host', '127.0.0.1', '--port', '0', '--log-format', 'json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: cacheEnv(cache),
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let err = '';
          child.stderr!.on('data', (d: Buffer) => {
            err += d.toString('utf8');
            const m = /"listener":"127\.0\.0\.1:(\d+)"/.exec(err);
            if (m) resolve(Number(m[1]));
          });
          child.once('exit', () => reject(new Error(`brook start exited:\n${err}`)));
        });
        const c = await rawClient({ host: '127.0.0.1', port });
        try {
          const md = await metadata(c, []);
          expect(md.brokers).toHaveLength(1);
        } finally {
          c.close();
        }
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
    }
    if (nodeCache) return;
    const names = files(cache).map((f) => f.slice(cache.length + 1)).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/-client-/);
    expect(names[1]).toMatch(/-start-/);
  });
});
