// npm run bench:compaction — log compaction figures (issue 8): one partition of `--mb` MiB
// (default 1024) of 1 KiB records, `--per-batch` to a batch (default 16), over `--keys` distinct
// keys (default: 10 % of the records, so 10 % of the data is live), in the file store with
// segments of 64 MiB (`--store memory`: the memory store), written straight into the store (no
// broker, no network: this measures the cleaner). Then one compaction pass with a perf_hooks
// event-loop-delay histogram running, driven in slices as the broker's cleaner does (compactSteps,
// a setImmediate between slices of ~4 MiB), and a second pass (nothing dirty). Reports MB/s of
// the log read by the pass, bytes and segments before/after, the event loop's delay percentiles
// during the pass and the slices' durations (the longest is the pause the pass imposes on
// everything else; the first and last hold the work that grows with the partition).
// The last stdout line is one JSON object.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { encodeRecordBatch } from '../protocol/records/index.js';
import { openFileStore } from '../src/log/file-store.js';
import { createMemoryStore } from '../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG } from '../src/log/types.js';

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const MB = flag('--mb', 1024);
const RECORD = 1024;
const PER_BATCH = flag('--per-batch', 16);
const records = Math.floor((MB * 1024 * 1024) / (RECORD + 20));
const KEYS = flag('--keys', Math.floor(records / 10));
const STORE = process.argv.includes('--store') ? process.argv[process.argv.indexOf('--store') + 1] : 'file';

const round2 = (x: number): number => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brook-bench-compaction-'));
  try {
    const logConfig = { ...DEFAULT_LOG_CONFIG, segmentBytes: 64 * 1024 * 1024, cleanupPolicy: 'compact', fileDeleteDelayMs: 0 };
    const store = STORE === 'memory' ? createMemoryStore({ logConfig }) : openFileStore(dir, { logConfig });
    const segments = () => (STORE === 'memory' ? 0 : readdirSync(join(dir, 'c-0')).filter((f) => f.endsWith('.log')).length);
    store.createTopic({ name: 'c', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } });
    const log = store.partition('c', 0)!;
    const value = Buffer.alloc(RECORD - 16, 0x61);
    const t0 = performance.now();
    for (let i = 0; i < records; i += PER_BATCH) {
      const recs = [];
      for (let j = i; j < Math.min(records, i + PER_BATCH); j++) recs.push({ key: Buffer.from(`key-${(j * 7919) % KEYS}`.padEnd(16, '.')), value, timestamp: 1000n });
      log.append([encodeRecordBatch({ baseTimestamp: 1000n, records: recs })]);
    }
    log.flush();
    const writeS = (performance.now() - t0) / 1000;
    const segmentsBefore = segments();
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    // Let the histogram see an idle loop first, then the pass.
    await new Promise((r) => setTimeout(r, 50));
    const c0 = performance.now();
    const cfg = { deleteRetentionMs: 86_400_000, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, minCleanableDirtyRatio: 0.5 };
    // As the broker's cleaner drives it: slices with a setImmediate between them.
    const steps = log.compactSteps(2000, cfg);
    const slices: number[] = [];
    const r = await new Promise<ReturnType<typeof log.compact>>((resolve) => {
      const step = (): void => {
        const s0 = performance.now();
        const x = steps.next();
        slices.push(performance.now() - s0);
        if (x.done) resolve(x.value);
        else setImmediate(step);
      };
      step();
    });
    // The first and last steps hold the work that grows with the partition rather than with the
    // slice (planning over every segment or batch; the swap, or the memory store's removal of
    // emptied batches).
    const firstSliceMs = round2(slices[0]!);
    const lastSliceMs = round2(slices[slices.length - 1]!);
    slices.sort((a, b) => a - b);
    const passS = (performance.now() - c0) / 1000;
    await new Promise((res) => setTimeout(res, 20));
    h.disable();
    const again = log.compact(3000, cfg);
    const out = {
      bench: 'brook-compaction',
      mb: MB,
      records,
      keys: KEYS,
      writeS: Math.round(writeS * 10) / 10,
      passS: Math.round(passS * 100) / 100,
      mbPerS: Math.round(r.bytesBefore / 1048576 / passS),
      bytesBefore: r.bytesBefore,
      bytesAfter: r.bytesAfter,
      recordsBefore: r.recordsBefore,
      recordsAfter: r.recordsAfter,
      secondPassRan: again.ran,
      store: STORE,
      segmentsBefore,
      segmentsAfter: segments(),
      eventLoopDelayMs: { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 },
      slices: slices.length,
      sliceMs: { p50: round2(slices[Math.floor(slices.length / 2)]!), p99: round2(slices[Math.floor(slices.length * 0.99)]!), max: round2(slices[slices.length - 1]!), first: firstSliceMs, last: lastSliceMs },
    };
    store.close();
    console.log(JSON.stringify(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
