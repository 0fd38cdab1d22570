// Issue 8, "One record-format module": the log layer had its own batch-header parser and CRC
// (src/log/batch-header.ts) that imported the native CRC-32C (@node-rs/crc32) directly, so the
// pure-JS crc-32 fallback of protocol/records/crc.ts could not take over when the native module is
// missing. Header parsing, CRC and record walks now come from protocol/records only.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { batchOf, captureLogger } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(full));
    else if (e.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

describe('one record-format module (issue 8)', () => {
  it('only protocol/records/crc.ts loads the native CRC module', () => {
    const importers = [...sources(path.join(ROOT, 'src')), ...sources(path.join(ROOT, 'protocol'))]
      .filter((f) => fs.readFileSync(f, 'utf8').includes('@node-rs/crc32'))
      .map((f) => path.relative(ROOT, f));
    expect(importers).toEqual([path.join('protocol', 'records', 'crc.ts')]);
  });

  it('the file store checks CRCs with the pure-JS CRC-32C when the native one is not there', async () => {
    // What crc.ts does when @node-rs/crc32 does not load (BROOK_CRC32C=js takes the same path).
    vi.stubEnv('BROOK_CRC32C', 'js');
    vi.resetModules();
    const crc = await import('../../protocol/records/crc.js');
    expect(crc.crc32cImplementation()).toBe('js');
    const { openFileStore } = await import('../../src/log/file-store.js');
    const { DEFAULT_LOG_CONFIG } = await import('../../src/log/types.js');
    // The store's CRC (protocol/records verifyBatchCrc) goes through this crc32c.
    expect(crc.crc32cNative()).toBeUndefined();

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-crc-'));
    dirs.push(dir);
    const open = (logger?: ReturnType<typeof captureLogger>['logger']) => openFileStore(dir, { logConfig: DEFAULT_LOG_CONFIG, logger });
    const s = open();
    s.createTopic({ name: 'c', topicId: Buffer.alloc(16, 7).toString('base64url'), numPartitions: 1, replicationFactor: 1, configs: {} });
    const batches = [batchOf(3), batchOf(2), batchOf(4)];
    s.partition('c', 0)!.append(batches);
    s.flush(); // then abandoned: the next open recovers the active segment, checking every CRC

    const intact = captureLogger();
    const q = open(intact.logger);
    expect(intact.warns).toEqual([]);
    expect(q.partition('c', 0)!.logEndOffset).toBe(9n);

    const file = path.join(dir, 'c-0', '00000000000000000000.log');
    const bytes = fs.readFileSync(file);
    bytes[batches[0]!.length + batches[1]!.length - 3]! ^= 0x10; // a record byte of the middle batch
    fs.writeFileSync(file, bytes);
    const damaged = captureLogger();
    const r = open(damaged.logger);
    expect(r.partition('c', 0)!.logEndOffset).toBe(3n);
    expect(damaged.warns.length).toBe(1);
    expect(JSON.stringify(damaged.warns[0]!.obj, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).toMatch(/CRC mismatch/);
  });
});
