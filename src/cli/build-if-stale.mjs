#!/usr/bin/env node
// `npm start` (and the bench/compat scripts) call this before running dist/: it runs the
// TypeScript build only when something it depends on changed since the last build this script
// made, so a repeat `npm start` costs a directory walk (tens of ms) instead of a tsc run.
//
// Fresh means dist/.build-stamp exists, lists the same input files (every .ts, .cjs and .json under the
// folders tsconfig.json compiles, tsconfig.json, package.json, package-lock.json: so an added,
// removed or renamed source counts) and is newer than all of them. Otherwise it runs
// `tsc -p tsconfig.json` (incremental: dist/tsconfig.tsbuildinfo keeps the previous build's
// state), then bundles the package's CommonJS entry dist/src/index.cjs and the `brook` command
// dist/src/cli/brook.cjs with its launcher (src/cli/bundle.mjs), and when all succeed writes the stamp. A failed build exits with tsc's code.
//
// It is also the package's `prepare` script, so `npm ci`, `npm install` in a clone, `npm pack` and
// an install from a git URL build dist/ once; a later `npm run build` rebuilds (--force).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STAMP = join(ROOT, 'dist', '.build-stamp');
const SOURCE_DIRS = ['src', 'protocol', 'bench', 'compat-tests', 'test/helpers']; // compat-tests import test/helpers
const SOURCE_FILES = ['tsconfig.json', 'package.json', 'package-lock.json'];
const SKIP = new Set(['node_modules', '.build', '__pycache__']);

/** Every input file (.ts, .json) under `path`, depth first. */
function inputs(path, out) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return out;
  }
  if (!st.isDirectory()) {
    out.push({ path, mtimeMs: st.mtimeMs });
    return out;
  }
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    if (e.isDirectory() || e.name.endsWith('.ts') || e.name.endsWith('.json') || e.name.endsWith('.cjs')) inputs(join(path, e.name), out);
  }
  return out;
}

function listing(files) {
  return files.map((f) => relative(ROOT, f.path)).sort().join('\n');
}

function stale(files) {
  let stamp;
  let previous;
  try {
    stamp = statSync(STAMP).mtimeMs;
    previous = readFileSync(STAMP, 'utf8');
  } catch {
    return 'no previous build';
  }
  if (previous !== listing(files)) return 'source files added or removed';
  if (!existsSync(join(ROOT, 'dist', 'src', 'index.cjs'))) return 'CommonJS entry missing';
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'brook.cjs')) || !existsSync(join(ROOT, 'dist', 'src', 'cli', 'brook-bundle.cjs')) || !existsSync(join(ROOT, 'dist', 'src', 'cli', 'brook-client.cjs'))) return 'CLI bundle missing';
  return files.some((f) => f.mtimeMs > stamp) ? 'sources changed' : null;
}

const files = [];
for (const d of SOURCE_DIRS) inputs(join(ROOT, d), files);
for (const f of SOURCE_FILES) inputs(join(ROOT, f), files);
const why = process.argv.includes('--force') ? 'forced' : stale(files);
if (why) {
  const quiet = why === 'forced';
  if (!quiet) process.stderr.write(`brook: building (${why})...\n`);
  const started = Date.now();
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const { bundleLibrary, bundleCli } = await import('./bundle.mjs');
  await bundleLibrary();
  await bundleCli(join(ROOT, 'dist', 'src', 'cli', 'brook.cjs'), { executable: false });
  mkdirSync(dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, listing(files));
  // Stamp with the build's start time: a source saved while tsc ran still counts as changed.
  utimesSync(STAMP, started / 1000, started / 1000);
  if (!quiet) process.stderr.write(`brook: built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
