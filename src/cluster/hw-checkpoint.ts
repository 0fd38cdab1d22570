// The high-watermark checkpoint of a cluster member (issue 10): Kafka's
// `replication-offset-checkpoint` file in the data directory, same text format:
//
//   0                 version
//   <n>               number of entries
//   <topic> <partition> <high watermark>   one line each
//
// A broker writes the high watermarks of the partitions it hosts every
// replica.high.watermark.checkpoint.interval.ms (and at shutdown), off the event loop, and reads
// them when it starts: a partition's first role (leader or follower) starts from the saved value
// instead of the log start, so a restarted cluster does not show consumers a high watermark that
// went backwards (ListOffsets latest, lag) while followers catch up.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomicAsync } from '../log/fs-util.js';

export const HW_CHECKPOINT_FILE = 'replication-offset-checkpoint';

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** Reads a checkpoint; an absent or malformed file is empty (the log start is then used, as before). */
export function readHwCheckpoint(dir: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  let text: string;
  try {
    text = readFileSync(path.join(dir, HW_CHECKPOINT_FILE), 'utf8');
  } catch {
    return out;
  }
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines[0] !== '0') return out;
  const n = Number(lines[1]);
  if (!Number.isSafeInteger(n) || n < 0 || lines.length < n + 2) return out;
  for (let i = 2; i < n + 2; i++) {
    const m = /^(\S+) (\d+) (\d+)$/.exec(lines[i]!);
    if (!m) return new Map();
    out.set(key(m[1]!, Number(m[2])), BigInt(m[3]!));
  }
  return out;
}

export function hwCheckpointKey(topic: string, partition: number): string {
  return key(topic, partition);
}

/** Writes a checkpoint atomically (temp file, fsync, rename) without blocking the event loop. */
export async function writeHwCheckpoint(dir: string, entries: Iterable<{ topic: string; partition: number; hw: bigint }>): Promise<void> {
  const lines: string[] = [];
  for (const e of entries) lines.push(`${e.topic} ${e.partition} ${e.hw}`);
  await writeFileAtomicAsync(path.join(dir, HW_CHECKPOINT_FILE), Buffer.from(`0\n${lines.length}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`));
}
