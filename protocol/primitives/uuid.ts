// Kafka Uuids travel as 16 raw bytes and are shown, like Kafka's Uuid.toString(), as
// URL-safe base64 without padding (22 characters). Brook uses that string form everywhere.

import { randomBytes } from 'node:crypto';

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export function uuidFromBytes(b: Buffer): string {
  return b.toString('base64url');
}

export function uuidToBytes(s: string): Buffer {
  const b = Buffer.from(s, 'base64url');
  if (b.length !== 16) throw new RangeError(`invalid uuid ${JSON.stringify(s)}`);
  return b;
}

/** A random version-4 uuid that is neither zero nor Kafka's reserved METADATA_TOPIC_ID (1). */
export function randomUuid(): string {
  for (;;) {
    const b = randomBytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const s = uuidFromBytes(b);
    // Kafka also refuses ids whose base64 starts with '-' (command-line ambiguity).
    if (!s.startsWith('-')) return s;
  }
}
