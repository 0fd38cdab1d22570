// CRC-32C (Castagnoli) for record batches and legacy CRC-32 (IEEE).
//
// CRC-32C uses the SIMD implementation from @node-rs/crc32 when its native module loads, else the
// pure-JS table implementation from crc-32 (`crc-32/crc32c`). Both return unsigned 32-bit values.

// crc-32 is imported statically (a bundler can inline it: the single executable has no
// node_modules); the optional native module is loaded at run time and may be missing.

import { createRequire } from 'node:module';
import jsCrc32 from 'crc-32';
import jsCrc32c from 'crc-32/crc32c.js';

type NativeCrc = { crc32c(input: Uint8Array, initialState?: number | null): number };

const require = createRequire(import.meta.url);

function loadNative(): NativeCrc['crc32c'] | undefined {
  if (process.env['BROOK_CRC32C'] === 'js') return undefined;
  try {
    const mod = require('@node-rs/crc32') as NativeCrc;
    // Sanity check with the standard test vector before trusting it.
    if (mod.crc32c(Buffer.from('123456789')) >>> 0 !== 0xe3069283) return undefined;
    return mod.crc32c;
  } catch {
    return undefined;
  }
}

// Loaded on first use, not at import: a broker that has not checked a CRC yet (idle, or serving
// only metadata) does not pay for the native module (~4 MiB RSS).
let native: NativeCrc['crc32c'] | null | undefined;

function nativeCrc(): NativeCrc['crc32c'] | null {
  if (native === undefined) native = loadNative() ?? null;
  return native;
}

/** Which CRC-32C implementation is in use (loads the native module if not done yet). */
export function crc32cImplementation(): 'native' | 'js' {
  return nativeCrc() ? 'native' : 'js';
}

/** Pure-JS CRC-32C (always available; used as fallback and in tests). */
export function crc32cJs(data: Uint8Array): number {
  return jsCrc32c.buf(data) >>> 0;
}

/** Native (SIMD) CRC-32C, or undefined when the native module does not load. */
export function crc32cNative(): ((data: Uint8Array) => number) | undefined {
  const n = nativeCrc();
  return n ? (data: Uint8Array): number => n(data) >>> 0 : undefined;
}

/** CRC-32C (Castagnoli) of `data`, unsigned: native when it loads, else pure JS. */
export function crc32c(data: Uint8Array): number {
  const n = native === undefined ? nativeCrc() : native;
  return n ? n(data) >>> 0 : jsCrc32c.buf(data) >>> 0;
}

/** Legacy CRC-32 (IEEE, as used by message format v0/v1), unsigned. */
export function crc32(data: Uint8Array): number {
  return jsCrc32.buf(data) >>> 0;
}
