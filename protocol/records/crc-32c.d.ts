// Types for crc-32's CRC-32C entry point (the package ships types for crc-32 only).
declare module 'crc-32/crc32c.js' {
  const crc32c: { buf(data: Uint8Array, seed?: number): number };
  export default crc32c;
}
