// What an idle plaintext broker keeps in memory (issue 9: idle RSS). V8 holds the whole CLI
// bundle's source as a string for as long as the broker runs, so it must stay a one-byte string;
// and Node built-ins that only some brokers need (node:tls for SSL listeners, node:zlib for gzip
// and zstd batches, node:dns/promises for client-quota host checks) must not be loaded by one that
// does not use them. Needs a built dist/.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { metadata, rawClient } from '../helpers/broker.js';

const BROOK = fileURLToPath(new URL('../../dist/src/cli/brook.cjs', import.meta.url));
/** The launcher's two bundles: `brook start`'s and the client commands'. */
const BUNDLES = ['brook-bundle.cjs', 'brook-client.cjs'].map((f) => fileURLToPath(new URL(`../../dist/src/cli/${f}`, import.meta.url)));
const hasBundle = existsSync(BROOK) && BUNDLES.every((f) => existsSync(f));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!hasBundle)('brook start: idle footprint', () => {
  it('the CLI bundles have no character above U+00FF (V8 would keep their source as a two-byte string)', () => {
    for (const file of BUNDLES) {
      const src = readFileSync(file, 'utf8');
      const at = src.search(/[^\u0000-\u00ff]/u);
      expect(at === -1 ? '' : `${file}: ${src.slice(Math.max(0, at - 40), at + 10)}`).toBe('');
    }
  });

  it('a plaintext broker answering Metadata has not loaded node:tls, node:zlib or node:dns/promises', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brook-footprint-'));
    dirs.push(dir);
    const list = join(dir, 'modules.txt');
    const preload = join(dir, 'preload.cjs');
    // Written at exit: the built-in modules this process loaded.
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
    const child = spawn(process.execPath, ['-r', preload, BROOK, 'start', '--data-dir', join(dir, 'data'), '--host', '127.0.0.1', '--port', '0', '--log-format', 'json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
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
        expect((await metadata(c, [])).brokers).toHaveLength(1);
      } finally {
        c.close();
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const loaded = readFileSync(list, 'utf8').split('\n');
    // The list is real: the broker's own built-ins are in it.
    expect(loaded).toContain('NativeModule net');
    for (const m of ['NativeModule tls', 'NativeModule _tls_wrap', 'NativeModule zlib', 'NativeModule dns/promises']) expect(loaded).not.toContain(m);
  });
});
