// protocol/generated/ must be exactly what the generator produces from the spec files.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultOutDir, defaultSpecsDir, generateAll, repoRoot, writeGenerated } from '../../protocol/generator/generate.js';

const root = repoRoot();
const specsDir = defaultSpecsDir(root);
const committedDir = defaultOutDir(root);
const haveSpecs = existsSync(specsDir);

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

describe('protocol/generated is up to date', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'brook-gen-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const title = haveSpecs
    ? `matches a fresh run of the generator over ${specsDir}`
    : `skipped: Kafka message specs not found at ${specsDir}`;
  it.skipIf(!haveSpecs)(title, () => {
    const started = Date.now();
    const { files } = generateAll(specsDir);
    writeGenerated(tmp, files);
    expect(Date.now() - started).toBeLessThan(15000);

    const fresh = listFiles(tmp);
    const committed = listFiles(committedDir);
    expect(committed, 'files in protocol/generated differ from the generator output (run npm run gen:protocol)').toEqual(
      fresh,
    );
    const stale = fresh.filter(
      (f) => readFileSync(join(tmp, f), 'utf8') !== readFileSync(join(committedDir, f), 'utf8'),
    );
    expect(stale, 'stale generated files (run npm run gen:protocol)').toEqual([]);
  });

  it.skipIf(!haveSpecs)('generates deterministically', () => {
    const a = generateAll(specsDir).files;
    const b = generateAll(specsDir).files;
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of a) expect(b.get(k), k).toBe(v);
  });

  it.skipIf(!haveSpecs)('does not copy the specs\' about text', () => {
    const { files } = generateAll(specsDir);
    // A distinctive sentence from ProduceRequest.json's field documentation.
    const about = 'The number of acknowledgments the producer requires';
    for (const [name, content] of files) {
      expect(content.includes(about), name).toBe(false);
      expect(/\babout\s*:/.test(content), name).toBe(false);
    }
  });
});
