// CLI: `npm run gen:protocol [specsDir] [outDir]`.
// Defaults: ../shared/kafka-protocol/messages (from the repository root) and protocol/generated.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultOutDir, defaultSpecsDir, generateAll, writeGenerated } from './generate.js';

function main(argv: string[]): number {
  const specsDir = argv[0] !== undefined ? resolve(argv[0]) : defaultSpecsDir();
  const outDir = argv[1] !== undefined ? resolve(argv[1]) : defaultOutDir();
  if (!existsSync(specsDir)) {
    console.log(`gen:protocol: spec directory ${specsDir} not found; skipping protocol code generation and its freshness check.`);
    return 0;
  }
  const started = Date.now();
  const { files, apis, skipped } = generateAll(specsDir);
  const { written, removed } = writeGenerated(outDir, files);
  console.log(
    `gen:protocol: ${apis.length} APIs, ${files.size} files in ${outDir} (${written} written, ${removed} removed) in ${Date.now() - started} ms` +
      (skipped.length > 0 ? `; no stable version, not generated: ${skipped.join(', ')}` : ''),
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
