// Issue 8 (copies on the data path): Fetch returns the stored batches of one read as one view of
// the read buffer instead of copying them together.

import { describe, expect, it } from 'vitest';
import { joinViews } from '../../src/handlers/01-fetch.js';

describe('joinViews', () => {
  it('joins adjacent views of one buffer without copying', () => {
    const data = Buffer.from('aaabbbbcc');
    const joined = joinViews([data.subarray(0, 3), data.subarray(3, 7), data.subarray(7, 9)], 9);
    expect(joined.toString()).toBe('aaabbbbcc');
    expect(joined.buffer).toBe(data.buffer);
    expect(joined.byteOffset).toBe(data.byteOffset);
    data[4] = 0x58; // a view, not a copy
    expect(joined.toString()).toBe('aaabXbbcc');
  });

  it('copies views of different buffers, or with gaps, together', () => {
    const a = Buffer.from('aaa');
    const b = Buffer.from('bbb');
    expect(joinViews([a, b], 6).toString()).toBe('aaabbb');
    const data = Buffer.from('aaXbb');
    const gap = joinViews([data.subarray(0, 2), data.subarray(3, 5)], 4);
    expect(gap.toString()).toBe('aabb');
    data[0] = 0x58; // a copy: unaffected
    expect(gap.toString()).toBe('aabb');
  });
});
