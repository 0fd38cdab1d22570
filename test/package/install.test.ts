// SLOW (about 10-20 s: npm pack, then npm ci in a temp project). The package as a user gets it:
// `npm pack` the built tree, install the tarball into an empty project and use it there.
// - an ES module script: `import { startBroker } from 'brook'`, then produce and consume with
//   kafkajs;
// - a CommonJS script (what Jest's default setup runs): `require('brook')` resolves to the
//   CommonJS bundle dist/src/index.cjs, which works without dynamic import();
// - `npx brook --help` and `--version` run the installed bin.
// Offline: the temp project gets a package-lock.json made of this repo's lock entries for
// Brook's runtime dependencies, so `npm ci --offline` takes their tarballs from the npm cache that
// this repo's own `npm ci` filled; nothing is downloaded. kafkajs (a dev dependency here, not a
// dependency of the package) is linked in from this repo's node_modules. Needs a built dist/
// (`npm run build`); the pack runs with --ignore-scripts so it never rebuilds dist/ under the
// other test files.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasDist, NO_DIST } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The environment without npm's per-run variables (vitest may itself run under `npm test`). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return env;
}

type LockEntry = Record<string, unknown> & { dev?: boolean };

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const ESM_SCRIPT = `
import { startBroker } from 'brook';
import kafkajs from 'kafkajs';
const { Kafka, logLevel } = kafkajs;
const broker = await startBroker({ host: '127.0.0.1', port: 0, memory: true });
const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
const producer = kafka.producer();
await producer.connect();
await producer.send({ topic: 'install-esm', messages: [{ key: 'k', value: 'from an ES module' }] });
await producer.disconnect();
const consumer = kafka.consumer({ groupId: 'install-esm' });
await consumer.connect();
await consumer.subscribe({ topic: 'install-esm', fromBeginning: true });
const got = await new Promise((resolve) => {
  void consumer.run({ eachMessage: async ({ message }) => resolve(message.value.toString()) });
});
await consumer.disconnect();
await broker.close();
console.log(JSON.stringify({ got }));
`;

const CJS_SCRIPT = `
const { startBroker } = require('brook');
const { Kafka, logLevel } = require('kafkajs');
(async () => {
  const broker = await startBroker({ host: '127.0.0.1', port: 0, memory: true });
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'install-cjs', messages: [{ value: 'from CommonJS' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'install-cjs' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'install-cjs', fromBeginning: true });
  const got = await new Promise((resolve) => {
    void consumer.run({ eachMessage: async ({ message }) => resolve(message.value.toString()) });
  });
  await consumer.disconnect();
  await broker.close();
  console.log(JSON.stringify({ got, entry: require.resolve('brook') }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

describe.skipIf(!hasDist)(`install from the packed tarball (slow)${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  let dir = '';
  let app = '';
  let files: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'brook-install-'));
    const packed = JSON.parse(run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT)) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const tarball = packed[0]!.filename;
    files = packed[0]!.files.map((f) => f.path);

    app = join(dir, 'app');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const spec = `file:${tarball}`;
    const packages: Record<string, LockEntry> = {
      '': { name: 'brook-install-check', dependencies: { brook: spec } },
      'node_modules/brook': {
        version: pkg['version'],
        resolved: spec,
        license: pkg['license'],
        dependencies: pkg['dependencies'],
        bin: { brook: 'dist/src/cli/brook.cjs' },
        engines: pkg['engines'],
      },
    };
    for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && !entry.dev) packages[path] = entry;
    mkdirSync(app, { recursive: true });
    copyFileSync(join(dir, tarball), join(app, tarball));
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'brook-install-check', private: true, dependencies: { brook: spec } }, null, 2),
    );
    writeFileSync(
      join(app, 'package-lock.json'),
      JSON.stringify({ name: 'brook-install-check', lockfileVersion: 3, requires: true, packages }, null, 2),
    );
    run(NPM, ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
    symlinkSync(join(ROOT, 'node_modules', 'kafkajs'), join(app, 'node_modules', 'kafkajs'), 'dir');
    writeFileSync(join(app, 'esm.mjs'), ESM_SCRIPT);
    writeFileSync(join(app, 'cjs.cjs'), CJS_SCRIPT);
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships the runtime, README and LICENSE, and no tests, sources or maps', () => {
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('dist/src/index.cjs');
    expect(files).toContain('dist/src/index.d.ts');
    expect(files).toContain('dist/src/cli/main.js');
    expect(files).toContain('dist/src/cli/brook.cjs');
    expect(files.some((f) => f.startsWith('dist/protocol/generated/'))).toBe(true);
    const unwanted = files.filter(
      (f) => f.endsWith('.map') || f.endsWith('.ts') && !f.endsWith('.d.ts') || /^(test|src|protocol|bench|compat-tests)\//.test(f) ||
        /^dist\/(test|bench|compat-tests|generator|protocol\/generator)\//.test(f) || f.endsWith('.tsbuildinfo'),
    );
    expect(unwanted).toEqual([]);
  });

  it('an ES module imports startBroker and kafkajs produces and consumes through it', () => {
    const out = run(process.execPath, ['esm.mjs'], app);
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ got: 'from an ES module' });
  });

  it('require("brook") loads the CommonJS entry, which needs no dynamic import()', () => {
    // --no-experimental-require-module: only the package's own CommonJS entry can satisfy require()
    // (Node 20.19+ and 22.12+ could otherwise load the ES module build).
    const flags = process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module') ? ['--no-experimental-require-module'] : [];
    const out = run(process.execPath, [...flags, 'cjs.cjs'], app);
    const res = JSON.parse(out.trim().split('\n').pop()!) as { got: string; entry: string };
    expect(res.got).toBe('from CommonJS');
    expect(res.entry).toBe(join(app, 'node_modules', 'brook', 'dist', 'src', 'index.cjs'));
    // Jest runs CommonJS modules in its own vm without ES module support unless
    // --experimental-vm-modules: an import() left in the bundle would fail there.
    const bundle = readFileSync(res.entry, 'utf8');
    expect(bundle).not.toMatch(/\bimport\(/);
  });

  it('npx brook runs the installed command', () => {
    const help = run(NPM, ['exec', '--offline', '--no', '--', 'brook', '--help'], app);
    expect(help).toContain('Usage: brook');
    expect(help).toContain('start');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(run(NPM, ['exec', '--offline', '--no', '--', 'brook', '--version'], app).trim()).toBe(pkg.version);
  });
});
