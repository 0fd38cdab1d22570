// Client quota resolution and rate measurement (src/security/quotas.ts) against Kafka's rules:
// the (user, client-id) precedence list, who shares a quota, and SampledStat/Rate arithmetic.
// Times are given explicitly: nothing here waits.

import { describe, expect, it } from 'vitest';
import { ClientQuotas, type QuotaEntity } from '../../src/security/quotas.js';
import { memorySecurityStore } from '../../src/security/store.js';

const W = { samples: 2, windowMs: 1000 };

async function quotasWith(entries: Array<[QuotaEntity, number]>, window = W): Promise<ClientQuotas> {
  const q = new ClientQuotas(memorySecurityStore(), () => window);
  const r = await q.alter(
    entries.map(([entity, value]) => ({ entity, ops: [{ key: 'producer_byte_rate', value }] })),
    false,
  );
  expect(r.every((x) => x.error === null)).toBe(true);
  return q;
}

/** The bound that applies: the largest value recordable at one instant without a throttle (window 1 s). */
function boundFor(q: ClientQuotas, user: string, clientId: string): number {
  return q.maxValueInQuotaWindow('producer_byte_rate', user, clientId);
}

describe('client quota precedence (Kafka DefaultQuotaCallback)', () => {
  it('picks the first level that sets the key', async () => {
    const all: Array<[QuotaEntity, number]> = [
      [{ user: 'alice', 'client-id': 'app' }, 1],
      [{ user: 'alice', 'client-id': null }, 2],
      [{ user: 'alice' }, 3],
      [{ user: null, 'client-id': 'app' }, 4],
      [{ user: null, 'client-id': null }, 5],
      [{ user: null }, 6],
      [{ 'client-id': 'app' }, 7],
      [{ 'client-id': null }, 8],
    ];
    // Remove the levels one by one from the top: each time the next one applies.
    for (let i = 0; i < all.length; i++) {
      const q = await quotasWith(all.slice(i));
      expect(boundFor(q, 'alice', 'app'), `level ${i + 1}`).toBe(i + 1);
    }
    const q = await quotasWith([]);
    expect(boundFor(q, 'alice', 'app')).toBe(Infinity);
    expect(q.record('producer_byte_rate', 'alice', 'app', 1e12, 0)).toBe(0);
  });

  it('other users and client ids fall through to the defaults', async () => {
    const q = await quotasWith([
      [{ user: 'alice' }, 100],
      [{ 'client-id': 'app' }, 200],
      [{ 'client-id': null }, 300],
    ]);
    expect(boundFor(q, 'alice', 'other')).toBe(100);
    expect(boundFor(q, 'bob', 'app')).toBe(200);
    expect(boundFor(q, 'bob', 'other')).toBe(300);
    expect(boundFor(q, 'ANONYMOUS', '')).toBe(300);
  });

  it('a user-level quota is shared by all its client ids; a user+client-id one is not', async () => {
    const q = await quotasWith([
      [{ user: 'alice' }, 1000],
      [{ user: 'bob', 'client-id': null }, 1000],
    ]);
    // Window 1 s, samples 2: the rate is measured over at least 1 s.
    expect(q.record('producer_byte_rate', 'alice', 'a', 800, 0)).toBe(0);
    // 800 + 700 = 1500 B over 1 s: 50% over, throttled half a second.
    expect(q.record('producer_byte_rate', 'alice', 'b', 700, 0)).toBe(500);
    expect(q.record('producer_byte_rate', 'bob', 'a', 800, 0)).toBe(0);
    expect(q.record('producer_byte_rate', 'bob', 'b', 700, 0)).toBe(0);
  });
});

describe('rate measurement (SampledStat, Rate)', () => {
  it('measures over the elapsed samples, at least (samples - 1) windows, and forgets expired samples', async () => {
    const q = await quotasWith([[{ 'client-id': 'c' }, 1000]], { samples: 3, windowMs: 1000 });
    // At t=0 the window is 2 s: 3000 B is 1500 B/s, throttle (1500-1000)/1000 * 2000.
    expect(q.record('producer_byte_rate', 'u', 'c', 3000, 0)).toBe(1000);
    // t=2500: samples at 0 and 2500, 3000 B over 2.5 s = 1200 B/s: (1200-1000)/1000*2500 = 500.
    expect(q.record('producer_byte_rate', 'u', 'c', 0, 2500)).toBe(500);
    // t=3000: the first sample (3 windows old) expires: nothing left.
    expect(q.record('producer_byte_rate', 'u', 'c', 0, 3000)).toBe(0);
  });

  it('unrecord takes a value back', async () => {
    const q = await quotasWith([[{ 'client-id': 'c' }, 1000]]);
    expect(q.record('producer_byte_rate', 'u', 'c', 3000, 0)).toBe(2000);
    q.unrecord('producer_byte_rate', 'u', 'c', 3000, 0);
    expect(q.record('producer_byte_rate', 'u', 'c', 1000, 0)).toBe(0);
  });

  it('a changed quota applies to the next record', async () => {
    const q = await quotasWith([[{ 'client-id': 'c' }, 1000]]);
    expect(q.record('producer_byte_rate', 'u', 'c', 1000, 0)).toBe(0);
    await q.alter([{ entity: { 'client-id': 'c' }, ops: [{ key: 'producer_byte_rate', value: 500 }] }], false);
    expect(q.record('producer_byte_rate', 'u', 'c', 0, 0)).toBe(1000);
    await q.alter([{ entity: { 'client-id': 'c' }, ops: [{ key: 'producer_byte_rate', value: null }] }], false);
    expect(q.record('producer_byte_rate', 'u', 'c', 1e9, 0)).toBe(0);
  });
});
