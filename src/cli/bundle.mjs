#!/usr/bin/env node
// Bundles built by esbuild from the tsc output in dist/ (so run after tsc):
//
// - bundleLibrary(): dist/src/index.cjs, the CommonJS entry of the package (`require('brook')`,
//   Jest's default setup). One CommonJS file with Brook's own code; its dependencies (pino,
//   commander, crc-32 and the optional native codecs) stay external and load from node_modules
//   as usual. It needs no dynamic import(), which Jest cannot run without --experimental-vm-modules.
// - bundleCli(outfile): the whole CLI (`brook`) with its pure-JS dependencies in one CommonJS
//   script, for Node's single-executable applications (src/cli/build-sea.mjs). The native modules
//   (snappy, @node-rs/crc32, @toondepauw/node-zstd) cannot be inside it: the code loads them at run
//   time with createRequire(import.meta.url), and in the bundle import.meta.url is the executable,
//   so they are found in a node_modules folder next to it, or reported unavailable.
//
// `node src/cli/bundle.mjs` writes the library bundle (src/cli/build-if-stale.mjs calls it).
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist');

/** ESM's import.meta.url for a CommonJS bundle: `expr` is evaluated once at the bundle's start. */
function importMetaUrl(expr) {
  return {
    banner: { js: `const __brook_import_meta_url = require("node:url").pathToFileURL(${expr}).href;` },
    define: { 'import.meta.url': '__brook_import_meta_url' },
  };
}

export async function bundleLibrary(outfile = join(DIST, 'src', 'index.cjs')) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(DIST, 'src', 'index.js')],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    legalComments: 'none',
    ...importMetaUrl('__filename'),
  });
  return outfile;
}

/** Plugins for the single-executable bundle. */
function seaPlugins() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return [
    {
      // main.ts reads its version from package.json next to dist/; the executable has no such
      // file, so the bundle gets the version as a literal. Fails loudly if the line changes.
      name: 'brook-version',
      setup(build) {
        const main = join(DIST, 'src', 'cli', 'main.js');
        build.onLoad({ filter: /[\\/]cli[\\/]main\.js$/ }, (args) => {
          if (resolve(args.path) !== main) return undefined;
          const src = readFileSync(args.path, 'utf8');
          const re = /JSON\.parse\(readFileSync\(new URL\('\.\.\/\.\.\/\.\.\/package\.json', import\.meta\.url\), 'utf8'\)\)/;
          if (!re.test(src)) throw new Error('bundle: dist/src/cli/main.js no longer reads package.json as expected; update seaPlugins()');
          return { contents: src.replace(re, JSON.stringify({ version: pkg.version })), loader: 'js' };
        });
      },
    },
  ];
}

/**
 * The CLI in one CommonJS script with its pure-JS dependencies. `executable`: for a single
 * executable (native modules next to process.execPath). Otherwise `outfile` is the `brook` command
 * of the package and of `npm start` (dist/src/cli/brook.cjs): a copy of src/cli/launcher.cjs, which
 * loads the bundle, written next to it as brook-bundle.cjs, through V8's code cache. One file to
 * load instead of ~140 modules starts the broker in about two thirds of the time and with ~10 MiB
 * less memory; the code cache takes about a fifth off a repeat start (native modules from
 * node_modules as usual, found from the bundle's own path).
 */
export async function bundleCli(outfile, { executable = true } = {}) {
  const esbuild = await import('esbuild');
  const meta = importMetaUrl(executable ? 'process.execPath' : '__filename');
  const launcher = outfile;
  if (!executable) outfile = join(dirname(outfile), 'brook-bundle.cjs');
  // (main.js's own #! line stays the first line of the bundle: esbuild keeps an entry's hashbang.)
  await esbuild.build({
    entryPoints: [join(DIST, 'src', 'cli', 'main.js')],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    legalComments: 'none',
    minifySyntax: true,
    plugins: seaPlugins(),
    // In a single executable, require() is limited to built-in modules; createRequire() of a file
    // path gives a normal one. process.execPath is the executable itself.
    ...meta,
    // For the launcher: the bundle is one function of CommonJS's (exports, require, module,
    // __filename, __dirname), the value of the file as a script (vm.Script) and its module.exports
    // when required; the launcher calls it. So the source the code cache is checked against is the
    // file as read, with no second 1.4 MB copy made by wrapping it.
    ...(executable
      ? {}
      : {
          banner: {
            js: `(typeof module === "object" ? (f) => { module.exports = f; } : (f) => f)(function (exports, require, module, __filename, __dirname) {${meta.banner.js}`,
          },
          footer: { js: '});' },
        }),
  });
  if (!executable) {
    copyFileSync(join(ROOT, 'src', 'cli', 'launcher.cjs'), launcher);
    chmodSync(launcher, 0o755);
    return launcher;
  }
  return outfile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await bundleLibrary();
}
