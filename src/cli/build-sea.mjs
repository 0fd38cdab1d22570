#!/usr/bin/env node
// `npm run sea`: Brook as one executable file (Node's single-executable applications).
//
//   node src/cli/build-sea.mjs [--out DIR] [--no-native] [--no-build]
//
// 1. brings dist/ up to date (src/cli/build-if-stale.mjs), unless --no-build;
// 2. bundles the CLI and its pure-JS dependencies into one CommonJS script (src/cli/bundle.mjs);
// 3. turns it into a blob with `node --experimental-sea-config` (with V8's code cache);
// 4. copies the running node binary and injects the blob with postject.
//
// The executable is DIR/brook (default dist/sea/brook) and runs where this Node runs (same OS,
// CPU and libc). It is built with the Node that runs this script: its version is the one inside.
//
// Native modules cannot be inside the blob. Unless --no-native, the script copies the installed
// ones (snappy, @node-rs/crc32, @toondepauw/node-zstd and their platform packages) to
// DIR/node_modules, where the executable finds them. Without them it still runs: CRC-32C uses its
// JS implementation, and snappy (and zstd on Node < 22.15) batches are answered with
// UNSUPPORTED_COMPRESSION_TYPE / CORRUPT_MESSAGE as with any codec the broker cannot load.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleCli } from './bundle.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NATIVE = ['snappy', '@node-rs/crc32', '@toondepauw/node-zstd'];
// Node's documented sentinel for the SEA fuse (node:sea, "Injecting the preparation blob").
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`sea: ${[cmd, ...args].join(' ')} failed (${r.status ?? r.signal})\n`);
    process.exit(1);
  }
}

const started = Date.now();
const out = resolve(arg('--out') ?? join(ROOT, 'dist', 'sea'));
const exe = join(out, process.platform === 'win32' ? 'brook.exe' : 'brook');
mkdirSync(out, { recursive: true });

if (!process.argv.includes('--no-build')) run(process.execPath, [join(ROOT, 'src', 'cli', 'build-if-stale.mjs')]);

const script = await bundleCli(join(out, 'brook.cjs'));
const blob = join(out, 'brook.blob');
const config = join(out, 'sea-config.json');
writeFileSync(
  config,
  JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }, null, 2),
);
run(process.execPath, ['--experimental-sea-config', config]);

rmSync(exe, { force: true });
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
const { inject } = createRequire(import.meta.url)('postject');
await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: FUSE, machoSegmentName: 'NODE_SEA' });

const nodeModules = join(out, 'node_modules');
rmSync(nodeModules, { recursive: true, force: true });
const copied = [];
if (!process.argv.includes('--no-native')) {
  const req = createRequire(join(ROOT, 'package.json'));
  const copy = (name) => {
    let dir;
    try {
      dir = dirname(req.resolve(`${name}/package.json`));
    } catch {
      return false; // not installed (another platform's package)
    }
    cpSync(dir, join(nodeModules, name), { recursive: true, dereference: true });
    copied.push(name);
    return true;
  };
  for (const name of NATIVE) {
    if (!copy(name)) continue;
    const pkg = JSON.parse(readFileSync(join(nodeModules, name, 'package.json'), 'utf8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) copy(dep);
  }
}
for (const f of [blob, config]) rmSync(f, { force: true });

const mb = (f) => (statSync(f).size / 1e6).toFixed(1);
process.stderr.write(
  `sea: ${exe} (${mb(exe)} MB, Node ${process.version}; script ${mb(script)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
    (copied.length ? `sea: native modules next to it in ${nodeModules}: ${copied.join(', ')}\n` : 'sea: no native modules copied\n'),
);
if (!existsSync(exe)) process.exit(1);
