#!/usr/bin/env node
// The `brook` command (dist/src/cli/brook.cjs; src/cli/bundle.mjs copies this file there). It
// loads the CLI in one script through V8's code cache: brook-bundle.cjs for `brook start` (the
// broker, without the client commands), brook-client.cjs for every other command line (without the
// broker; src/cli/main.js loads one or the other by the same test). A later start reads compiled
// code instead of parsing and compiling ~1.2 MB of JavaScript again (spawn to first answer about a
// fifth shorter; the first start after a build or an upgrade compiles as before).
//
// - Node 22.1+: node:module's enableCompileCache(), turned on before the bundle is loaded (from
//   inside the bundle it would come too late: the bundle is one script, compiled before it runs).
// - Node 20: the same idea by hand, as Node's own cache does it: the script is compiled with
//   vm.Script and cachedData, and the cache is written once, after the start (so it holds the
//   functions a start compiles, not only the top level); V8 refuses a cache made by another V8
//   version, other flags or another source, and it is then written again. One cache file for
//   `brook start` and one for the client commands, per install (folder of the bundles).
//
// Like Node's: NODE_DISABLE_COMPILE_CACHE=1 turns it off, NODE_COMPILE_CACHE=dir moves it (default:
// a folder of the OS temp directory, created private to the user; a folder that is not the user's
// own or that others can write to is not used). Any failure to read or write it only means a
// start without the cache.
'use strict';

const path = require('node:path');

const kind = process.argv[2] === 'start' || process.argv[2] === 'dev' ? 'start' : 'client';
const BUNDLE = path.join(__dirname, kind === 'start' ? 'brook-bundle.cjs' : 'brook-client.cjs');
const Module = require('node:module');

function cacheDir(fs, os) {
  const dir = process.env.NODE_COMPILE_CACHE || path.join(os.tmpdir(), `brook-compile-cache-${process.getuid ? process.getuid() : 'user'}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) return undefined;
  if (process.getuid && (st.uid !== process.getuid() || (st.mode & 0o022) !== 0)) return undefined;
  return dir;
}

/**
 * A short hash of the bundle's path (FNV-1a, 32 bits, hex) in the cache file's name: installs in
 * other folders (other projects, npx, other checkouts) share the cache folder, and each keeps its
 * own file instead of replacing the others' at every start.
 */
function pathTag(p) {
  let h = 0x811c9dc5;
  for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Runs the bundle's function (see bundle.mjs) as the main program. */
function run(bundle) {
  const mod = new Module(BUNDLE, module);
  mod.filename = BUNDLE;
  mod.paths = Module._nodeModulePaths(__dirname);
  mod.loaded = true;
  bundle.call(mod.exports, mod.exports, Module.createRequire(BUNDLE), mod, BUNDLE, __dirname);
}

/** Node 20: compile the bundle with V8's code cache (vm.Script); the cache is written after the start. */
function runWithCodeCache() {
  const fs = require('node:fs');
  const os = require('node:os');
  const vm = require('node:vm');
  let file;
  let cachedData;
  try {
    const dir = cacheDir(fs, os);
    if (dir !== undefined) {
      const st = fs.statSync(BUNDLE);
      file = path.join(dir, `brook-${process.version}-${process.arch}-${kind}-${pathTag(BUNDLE)}-${st.size}-${Math.floor(st.mtimeMs)}.bin`);
      cachedData = fs.readFileSync(file);
    }
  } catch {
    cachedData = undefined;
  }
  // The file as read is the script's source: no wrapped copy (bundle.mjs makes it one function).
  const script = new vm.Script(fs.readFileSync(BUNDLE, 'utf8'), { filename: BUNDLE, cachedData });
  if (file !== undefined && (cachedData === undefined || script.cachedDataRejected)) {
    let written = false;
    const write = () => {
      if (written) return;
      written = true;
      try {
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(tmp, file);
        // Caches of earlier builds (or of another Node) of this install for the same kind: one file is kept.
        const mine = path.basename(file);
        for (const name of fs.readdirSync(path.dirname(file))) {
          if (name !== mine && name.startsWith('brook-') && name.endsWith('.bin') && name.includes(`-${kind}-${pathTag(BUNDLE)}-`)) fs.rmSync(path.join(path.dirname(file), name), { force: true });
        }
      } catch {
        // no cache this time
      }
    };
    // After the start (a broker keeps running), or at exit for a command that ends sooner.
    setTimeout(write, 1000).unref();
    process.once('exit', write);
  }
  cachedData = undefined;
  run(script.runInThisContext());
}

if (process.env.NODE_DISABLE_COMPILE_CACHE) {
  run(require(BUNDLE));
} else if (typeof Module.enableCompileCache === 'function') {
  try {
    Module.enableCompileCache();
  } catch {
    // a read-only or missing temp directory: start without the cache
  }
  run(require(BUNDLE));
} else {
  runWithCodeCache();
}
