// Record batch v2 support: layout constants, header parsing, CRC-32C, codecs, validation,
// encode/decode and control (transaction marker) batches.

export * from './constants.js';
export * from './crc.js';
export * from './header.js';
export * from './compression.js';
export { lz4FrameDecode, lz4FrameEncode, xxh32, Lz4FormatError } from './lz4.js';
// batch.js re-exports validate.js (validateRecords and its types).
export * from './batch.js';
