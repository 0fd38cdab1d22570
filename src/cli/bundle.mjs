#!/usr/bin/env node
// Bundles built by esbuild from the tsc output in dist/ (so run after tsc):
//
// - bundleLibrary(): dist/src/index.cjs, the CommonJS entry of the package (`require('brook')`,
//   Jest's default setup). One CommonJS file with Brook's own code; its dependencies (pino,
//   commander, crc-32 and the optional native codecs) stay external and load from node_modules
//   as usual. It needs no dynamic import(), which Jest cannot run without --experimental-vm-modules.
// - bundleCli(outfile): the whole CLI (`brook`) with its pure-JS dependencies in one CommonJS
//   script, for Node's single-executable applications (src/cli/build-sea.mjs); or, for the
//   package, the `brook` launcher and its two bundles (see bundleCli). The native modules
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
    // As the CLI bundles (buildCli): no comments or indentation, names kept, lines wrapped; about
    // half the size in the package and in the memory of a process that requires it.
    minifySyntax: true,
    minifyWhitespace: true,
    lineLimit: 160,
    ...importMetaUrl('__filename'),
  });
  latin1Only(outfile);
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
 * Fails when the bundle has a character above U+00FF. V8 holds a script's source as a string for
 * as long as the script lives: Latin-1 text takes one byte a character, but a single character
 * above U+00FF makes the whole ~1.2 MB source a two-byte string (twice the memory of an idle
 * broker). esbuild escapes such characters in strings, but it cannot in a tagged template (the tag
 * sees the raw text): write them there as HTML entities or \u escapes.
 */
function latin1Only(file) {
  const src = readFileSync(file, 'utf8');
  const at = src.search(/[^\u0000-\u00ff]/u);
  if (at === -1) return;
  const line = src.slice(0, at).split('\n').length;
  const near = src.slice(Math.max(0, at - 60), at + 20).replace(/\s+/g, ' ');
  throw new Error(`bundle: ${file}:${line} has a character above U+00FF, which makes V8 keep the whole bundle as a two-byte string (double the memory): ...${near}...`);
}

/**
 * Leaves one of main.js's two dynamic imports, `./start.js` (the broker) or
 * `./client-commands.js` (the client commands and src/client), out of a bundle: the module is
 * replaced by one that throws. main.js loads the broker only for `brook start` and the client
 * commands only for every other command line, and the launcher picks the bundle by the same test.
 */
function leaveOut(file) {
  const main = join(DIST, 'src', 'cli', 'main.js');
  return {
    name: 'brook-leave-out',
    setup(build) {
      build.onResolve({ filter: /^\.\/(start|client-commands)\.js$/ }, (args) =>
        args.path === `./${file}` && resolve(args.importer) === main ? { path: file, namespace: 'brook-left-out' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'brook-left-out' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`brook: ${args.path} is not in this bundle (src/cli/launcher.cjs picks the bundle by the command)`)});`,
        loader: 'js',
      }));
    },
  };
}

/**
 * The CLI in CommonJS scripts with its pure-JS dependencies. `executable`: one script for a single
 * executable (native modules next to process.execPath). Otherwise `outfile` is the `brook` command
 * of the package and of `npm start` (dist/src/cli/brook.cjs): a copy of src/cli/launcher.cjs, which
 * loads one of two bundles written next to it through V8's code cache: brook-bundle.cjs for
 * `brook start` (without the client commands) and brook-client.cjs for every other command (without
 * the broker). One file to load instead of ~140 modules starts the broker in about two thirds of
 * the time and with ~10 MiB less memory; the code cache takes about a fifth off a repeat start
 * (native modules from node_modules as usual, found from the bundle's own path). Two bundles
 * because V8 keeps a script's whole source in memory while it runs: the broker's is ~0.3 MB
 * smaller without the client commands, a client command's less than half the size without the
 * broker.
 */
export async function bundleCli(outfile, { executable = true } = {}) {
  if (executable) return buildCli(outfile, { executable, leave: undefined });
  await buildCli(join(dirname(outfile), 'brook-bundle.cjs'), { executable, leave: 'client-commands.js' });
  await buildCli(join(dirname(outfile), 'brook-client.cjs'), { executable, leave: 'start.js' });
  copyFileSync(join(ROOT, 'src', 'cli', 'launcher.cjs'), outfile);
  chmodSync(outfile, 0o755);
  return outfile;
}

async function buildCli(outfile, { executable, leave }) {
  const esbuild = await import('esbuild');
  const meta = importMetaUrl(executable ? 'process.execPath' : '__filename');
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
    // No comments or indentation: V8 keeps the script's whole source in memory for as long as
    // the broker runs (~0.6 MB less). Names stay as written, so stack traces and logged error
    // names read as before (positions are in the bundle either way); lines are wrapped, so the
    // source line Node prints with an uncaught error stays short.
    minifyWhitespace: true,
    lineLimit: 160,
    plugins: [...seaPlugins(), ...(leave === undefined ? [] : [leaveOut(leave)])],
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
  latin1Only(outfile);
  return outfile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await bundleLibrary();
}
