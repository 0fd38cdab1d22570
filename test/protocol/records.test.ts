import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import {
  BATCH_HEADER_SIZE,
  CRC_OFFSET,
  Compression,
  ControlRecordType,
  DecompressedSizeError,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
  TimestampType,
  UnsupportedCompressionError,
  assignOffsets,
  batchHeaderProblem,
  compress,
  compressionSupport,
  crc32,
  crc32c,
  crc32cJs,
  crc32cNative,
  decodeBatches,
  decodeControlRecordKey,
  decodeEndTxnMarkerValue,
  decodeRecordBatch,
  decompress,
  encodeControlBatch,
  encodeRecordBatch,
  splitFetchedBatches,
  findRecordTimestamp,
  isXerialSnappy,
  lz4FrameDecode,
  lz4FrameEncode,
  readBatchHeader,
  recordTimestamps,
  stampLogAppendTime,
  validateRecords,
  verifyBatchCrc,
  writeBatchCrc,
  xxh32,
  ZSTD_MAX_DECOMPRESSED_BYTES,
  ZstdFormatError,
  zstdCodecs,
  zstdDecompressedBound,
  type RecordInput,
} from '../../protocol/records/index.js';
import * as viaBatch from '../../protocol/records/batch.js';

const require = createRequire(import.meta.url);

// ---- kafkajs internals used as an independent reference implementation ----
type KLong = { toString(): string };
const Long = require('kafkajs/src/utils/long') as { fromValue(v: string | number): KLong };
const KDecoder = require('kafkajs/src/protocol/decoder') as new (buf: Buffer) => unknown;
const { RecordBatch: kRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch(opts: Record<string, unknown>): Promise<{ buffer: Buffer }>;
};
const kRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: Record<string, unknown>) => unknown;
const kDecodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<KBatch>;
const kCompression = require('kafkajs/src/protocol/message/compression') as {
  Codecs: Record<number, () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }>;
};
const snappyNative = require('snappy') as { compressSync(b: Buffer): Buffer; uncompressSync(b: Buffer, o: { asBuffer: true }): Buffer };

interface KRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | Array<Buffer | null>>;
}
interface KBatch {
  firstOffset: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  records: KRecord[];
}

// A snappy codec for kafkajs with its own xerial framing code (independent of ours), like the
// kafkajs-snappy plugin: writes xerial frames, reads xerial or raw.
const XERIAL = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
function testXerialEncode(data: Buffer, chunk = 32 * 1024): Buffer {
  const parts = [XERIAL, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])];
  for (let i = 0; i < data.length; i += chunk) {
    const c = snappyNative.compressSync(data.subarray(i, i + chunk));
    const n = Buffer.alloc(4);
    n.writeUInt32BE(c.length);
    parts.push(n, c);
  }
  return Buffer.concat(parts);
}
function testXerialDecode(data: Buffer): Buffer {
  if (!data.subarray(0, 8).equals(XERIAL)) return snappyNative.uncompressSync(data, { asBuffer: true });
  const out: Buffer[] = [];
  for (let p = 16; p < data.length; ) {
    const n = data.readUInt32BE(p);
    out.push(snappyNative.uncompressSync(data.subarray(p + 4, p + 4 + n), { asBuffer: true }));
    p += 4 + n;
  }
  return Buffer.concat(out);
}
kCompression.Codecs[Compression.SNAPPY] = () => ({
  compress: async (e) => testXerialEncode(e.buffer),
  decompress: async (b) => testXerialDecode(b),
});

const kafkajsDecode = (batch: Buffer): Promise<KBatch> => kDecodeBatch(new KDecoder(batch));

const hasCli = (cmd: string): boolean => {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const T0 = 1_700_000_000_000n;
const sampleRecords = (): RecordInput[] => [
  { key: Buffer.from('k1'), value: Buffer.from('v1'), timestamp: T0, headers: [{ key: 'h', value: Buffer.from('x') }] },
  { key: null, value: Buffer.from('no key'), timestamp: T0 + 5n },
  { key: Buffer.from('k3'), value: null, timestamp: T0 - 3n, headers: [{ key: 'nul', value: null }, { key: 'ünï', value: Buffer.alloc(0) }] },
  { key: Buffer.alloc(0), value: Buffer.alloc(300, 0x61), timestamp: T0 + 1000n },
];

/** Platforms with a prebuilt @toondepauw/node-zstd (its optionalDependencies). */
const ZSTD_PACKAGE_PLATFORM = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64'].includes(
  `${process.platform}-${process.arch}`,
);

const CODECS = [
  ['none', Compression.NONE],
  ['gzip', Compression.GZIP],
  ['snappy', Compression.SNAPPY],
  ['lz4', Compression.LZ4],
  ['zstd', Compression.ZSTD],
] as const;

function flip(buf: Buffer, at: number): Buffer {
  const b = Buffer.from(buf);
  b[at] = b[at]! ^ 0x01;
  return b;
}

const MAX = 1_048_588;

// ---------------------------------------------------------------------------------------------

describe('CRC', () => {
  it('CRC-32C known vector and both implementations agree', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cJs(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    if (process.env['BROOK_CRC32C'] === 'js') {
      expect(crc32cNative()).toBeUndefined(); // forced fallback
      return;
    }
    const native = crc32cNative();
    expect(native, 'native @node-rs/crc32 should load').toBeDefined();
    for (let i = 0; i < 200; i++) {
      const b = randomBytes(Math.floor(Math.random() * 5000));
      const off = Math.floor(Math.random() * Math.max(1, b.length));
      const view = b.subarray(off);
      expect(native!(view)).toBe(crc32cJs(view));
    }
  });

  it('legacy CRC-32 (IEEE) known vector', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

describe('encode / decode', () => {
  it('writes the documented header layout', () => {
    const b = encodeRecordBatch({
      baseOffset: 42n,
      partitionLeaderEpoch: 7,
      producerId: 1234n,
      producerEpoch: 3,
      baseSequence: 99,
      isTransactional: true,
      records: sampleRecords(),
    });
    const h = readBatchHeader(b);
    expect(h).toMatchObject({
      baseOffset: 42n,
      batchLength: b.length - 12,
      sizeInBytes: b.length,
      partitionLeaderEpoch: 7,
      magic: 2,
      lastOffsetDelta: 3,
      baseTimestamp: T0,
      maxTimestamp: T0 + 1000n,
      producerId: 1234n,
      producerEpoch: 3,
      baseSequence: 99,
      recordCount: 4,
      compression: Compression.NONE,
      timestampType: TimestampType.CREATE_TIME,
      isTransactional: true,
      isControl: false,
    });
    expect(b.readUInt32BE(CRC_OFFSET)).toBe(crc32c(b.subarray(21)));
    expect(verifyBatchCrc(b)).toBe(true);
    expect(readBatchHeader(Buffer.concat([Buffer.alloc(5), b]), 5).baseOffset).toBe(42n);
    expect(() => readBatchHeader(b.subarray(0, 60))).toThrow(RangeError);
  });

  for (const [name, codec] of CODECS) {
    it(`round-trips records (${name})`, () => {
      const recs = sampleRecords();
      const b = encodeRecordBatch({ compression: codec, baseOffset: 100n, records: recs });
      expect(readBatchHeader(b).compression).toBe(codec);
      const d = decodeRecordBatch(b);
      expect(d.records).toHaveLength(4);
      d.records.forEach((r, i) => {
        expect(r.offset).toBe(100n + BigInt(i));
        expect(r.timestamp).toBe(recs[i]!.timestamp);
        expect(r.key).toEqual(recs[i]!.key);
        expect(r.value).toEqual(recs[i]!.value);
        expect(r.headers).toEqual(recs[i]!.headers ?? []);
      });
    });
  }

  it('honours explicit offsetDelta, empty-batch defaults and large batches', () => {
    const b = encodeRecordBatch({
      records: [
        { key: null, value: Buffer.from('a'), offsetDelta: 0 },
        { key: null, value: Buffer.from('b'), offsetDelta: 5 },
      ],
      baseTimestamp: T0,
    });
    const h = readBatchHeader(b);
    expect(h.lastOffsetDelta).toBe(5);
    expect(decodeRecordBatch(b).records.map((r) => r.offset)).toEqual([0n, 5n]);

    const empty = encodeRecordBatch({ records: [], baseTimestamp: T0 });
    expect(empty.length).toBe(BATCH_HEADER_SIZE);
    expect(decodeRecordBatch(empty).records).toEqual([]);

    // > 64 KiB so lz4 uses several blocks and snappy several xerial chunks
    const big: RecordInput[] = Array.from({ length: 400 }, (_, i) => ({
      key: Buffer.from(`key-${i}`),
      value: i % 2 ? randomBytes(700) : Buffer.alloc(700, i & 0xff),
    }));
    for (const [, codec] of CODECS) {
      const bb = encodeRecordBatch({ compression: codec, records: big });
      const dec = decodeRecordBatch(bb);
      expect(dec.records).toHaveLength(big.length);
      expect(dec.records.every((r, i) => r.value!.equals(big[i]!.value!) && r.key!.equals(big[i]!.key!))).toBe(true);
      // zstd needs Produce v7+ (the default version checked is 3).
      expect(validateRecords(bb, { maxBatchBytes: 10 * MAX, apiVersion: codec === Compression.ZSTD ? 7 : 3 }).ok).toBe(true);
    }
  });

  it('rejects malformed batches with clear errors', () => {
    const b = encodeRecordBatch({ records: sampleRecords() });
    expect(() => decodeRecordBatch(b.subarray(0, 30))).toThrow(/at least 61/);
    expect(() => decodeRecordBatch(b.subarray(0, b.length - 1))).toThrow(/does not fit/);
    const wrongCount = Buffer.from(b);
    wrongCount.writeInt32BE(5, RECORD_COUNT_OFFSET);
    expect(() => decodeRecordBatch(wrongCount)).toThrow(/record 4/);
    const fewer = Buffer.from(b);
    fewer.writeInt32BE(3, RECORD_COUNT_OFFSET);
    expect(() => decodeRecordBatch(fewer)).toThrow(/bytes left/);
    const magic1 = Buffer.from(b);
    magic1[MAGIC_OFFSET] = 1;
    expect(() => decodeRecordBatch(magic1)).toThrow(/magic 1/);
  });
});

describe('interop with kafkajs', () => {
  for (const [name, codec] of CODECS.filter(([, c]) => c !== Compression.LZ4 && c !== Compression.ZSTD)) {
    it(`kafkajs decodes our batches (${name})`, async () => {
      const recs = sampleRecords();
      const b = encodeRecordBatch({ compression: codec, baseOffset: 10n, partitionLeaderEpoch: 2, records: recs });
      const k = await kafkajsDecode(b);
      expect(k.firstOffset).toBe('10');
      expect(k.partitionLeaderEpoch).toBe(2);
      expect(k.lastOffsetDelta).toBe(3);
      expect(k.records).toHaveLength(4);
      k.records.forEach((r, i) => {
        expect(r.offset).toBe(String(10 + i));
        expect(r.timestamp).toBe(String(recs[i]!.timestamp));
        expect(r.key).toEqual(recs[i]!.key);
        expect(r.value).toEqual(recs[i]!.value);
        const expectedHeaders = Object.fromEntries((recs[i]!.headers ?? []).map((h) => [h.key, h.value]));
        expect(r.headers).toEqual(expectedHeaders);
      });
    });

    it(`kafkajs batches validate and decode with ours (${name})`, async () => {
      const now = Number(T0);
      const kRecords = [
        kRecord({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from('a'), value: Buffer.from('one'), headers: { trace: Buffer.from('t1') } }),
        kRecord({ offsetDelta: 1, timestampDelta: 7, key: null, value: Buffer.from('two') }),
        kRecord({ offsetDelta: 2, timestampDelta: 9, key: Buffer.from('c'), value: null, headers: { a: Buffer.from('1'), b: Buffer.from('2') } }),
      ];
      const { buffer } = await kRecordBatch({
        compression: codec,
        firstOffset: Long.fromValue(0),
        firstTimestamp: now,
        maxTimestamp: now + 9,
        lastOffsetDelta: 2,
        producerId: Long.fromValue(77),
        producerEpoch: 4,
        firstSequence: 12,
        records: kRecords,
      });
      const v = validateRecords(buffer, { maxBatchBytes: MAX });
      expect(v).toMatchObject({
        ok: true,
        recordCount: 3,
        offsetCount: 3,
        producerId: 77n,
        producerEpoch: 4,
        baseSequence: 12,
        isTransactional: false,
        compression: codec,
        maxTimestamp: T0 + 9n,
      });
      if (!v.ok) return;
      expect(v.batches).toHaveLength(1);
      const d = decodeRecordBatch(v.batches[0]!);
      expect(d.records.map((r) => [r.offset, r.timestamp, r.key, r.value])).toEqual([
        [0n, T0, Buffer.from('a'), Buffer.from('one')],
        [1n, T0 + 7n, null, Buffer.from('two')],
        [2n, T0 + 9n, Buffer.from('c'), null],
      ]);
      expect(d.records[0]!.headers).toEqual([{ key: 'trace', value: Buffer.from('t1') }]);
      expect(d.records[2]!.headers).toEqual([
        { key: 'a', value: Buffer.from('1') },
        { key: 'b', value: Buffer.from('2') },
      ]);
    });
  }

  it('kafkajs sees LogAppendTime and assigned offsets after broker-side patching', async () => {
    const b = encodeRecordBatch({ records: sampleRecords() });
    assignOffsets(b, 500n, 9);
    stampLogAppendTime(b, T0 + 123n);
    expect(verifyBatchCrc(b)).toBe(true);
    const k = await kafkajsDecode(b);
    expect(k.timestampType).toBe(1);
    expect(k.partitionLeaderEpoch).toBe(9);
    expect(k.records.map((r) => r.offset)).toEqual(['500', '501', '502', '503']);
    expect(k.records.every((r) => r.timestamp === String(T0 + 123n))).toBe(true);
  });

  it('kafkajs recognises our control batches', async () => {
    const c = encodeControlBatch({ type: ControlRecordType.COMMIT, producerId: 5n, producerEpoch: 1, coordinatorEpoch: 3 });
    const k = await kafkajsDecode(c);
    expect(k.isControlBatch).toBe(true);
    expect(k.inTransaction).toBe(true);
    expect(k.producerId).toBe('5');
  });
});

describe('CRC coverage and broker-side patching', () => {
  const batch = encodeRecordBatch({ records: sampleRecords(), compression: Compression.GZIP });

  it('a flipped byte anywhere from the CRC field on -> CORRUPT_MESSAGE', () => {
    expect(validateRecords(batch, { maxBatchBytes: MAX }).ok).toBe(true);
    for (let at = CRC_OFFSET; at < batch.length; at++) {
      const v = validateRecords(flip(batch, at), { maxBatchBytes: MAX });
      expect(v.ok, `byte ${at}`).toBe(false);
      if (!v.ok) expect(v.errorCode, `byte ${at}: ${v.message}`).toBe(ErrorCode.CORRUPT_MESSAGE);
    }
  });

  it('baseOffset and partitionLeaderEpoch are not CRC-covered', () => {
    for (const at of [0, 3, 7, 12, 13, 14, 15]) expect(verifyBatchCrc(flip(batch, at)), `byte ${at}`).toBe(true);
    // epoch changes are accepted as is
    for (const at of [12, 15]) expect(validateRecords(flip(batch, at), { maxBatchBytes: MAX }).ok).toBe(true);
    // a non-zero baseOffset passes the CRC but Kafka refuses it from clients (INVALID_RECORD) ...
    const v = validateRecords(flip(batch, 7), { maxBatchBytes: MAX });
    expect(v.ok ? 0 : v.errorCode).toBe(ErrorCode.INVALID_RECORD);
    // ... and accepts it for internal appends
    expect(validateRecords(flip(batch, 7), { maxBatchBytes: MAX, fromClient: false }).ok).toBe(true);
  });

  it('assignOffsets keeps the CRC valid', () => {
    const b = Buffer.from(batch);
    const crc = b.readUInt32BE(CRC_OFFSET);
    assignOffsets(b, 123_456_789_012n, 42);
    expect(b.readUInt32BE(CRC_OFFSET)).toBe(crc);
    expect(verifyBatchCrc(b)).toBe(true);
    expect(readBatchHeader(b)).toMatchObject({ baseOffset: 123_456_789_012n, partitionLeaderEpoch: 42 });
    expect(decodeRecordBatch(b).records.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n].map((d) => 123_456_789_012n + d));
  });

  it('stampLogAppendTime sets bit 3 + maxTimestamp and recomputes the CRC', () => {
    const b = Buffer.from(batch);
    stampLogAppendTime(b, T0 + 99n);
    expect(verifyBatchCrc(b)).toBe(true);
    const h = readBatchHeader(b);
    expect(h.timestampType).toBe(TimestampType.LOG_APPEND_TIME);
    expect(h.attributes & 0x08).toBe(0x08);
    expect(h.compression).toBe(Compression.GZIP);
    expect(h.maxTimestamp).toBe(T0 + 99n);
    expect(h.baseTimestamp).toBe(T0);
    expect(decodeRecordBatch(b).records.every((r) => r.timestamp === T0 + 99n)).toBe(true);
    expect(validateRecords(b, { maxBatchBytes: MAX }).ok).toBe(true);
  });

  it('writeBatchCrc repairs a patched batch', () => {
    const b = Buffer.from(batch);
    b.writeBigInt64BE(1n, PRODUCER_ID_OFFSET);
    expect(verifyBatchCrc(b)).toBe(false);
    writeBatchCrc(b);
    expect(verifyBatchCrc(b)).toBe(true);
  });
});

describe('validateRecords', () => {
  const one = encodeRecordBatch({ records: sampleRecords(), producerId: 9n, producerEpoch: 0, baseSequence: 0 });
  const expectError = (records: Buffer | null, code: number, opts: Partial<Parameters<typeof validateRecords>[1]> = {}): string => {
    const v = validateRecords(records, { maxBatchBytes: MAX, ...opts });
    expect(v.ok).toBe(false);
    if (v.ok) return '';
    expect(v.errorCode, v.message).toBe(code);
    expect(v.message.length).toBeGreaterThan(5);
    return v.message;
  };
  const reCrc = (b: Buffer): Buffer => {
    writeBatchCrc(b);
    return b;
  };

  it('accepts one batch and returns views plus header info', () => {
    const input = Buffer.concat([Buffer.alloc(3), one]).subarray(3);
    const v = validateRecords(input, { maxBatchBytes: MAX });
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.batches[0]!.buffer).toBe(input.buffer); // a view, not a copy
    expect(v.batches[0]!.equals(one)).toBe(true);
    expect(v).toMatchObject({
      recordCount: 4,
      offsetCount: 4,
      sizeInBytes: one.length,
      producerId: 9n,
      producerEpoch: 0,
      baseSequence: 0,
      isTransactional: false,
      maxTimestamps: [T0 + 1000n],
      maxTimestamp: T0 + 1000n,
    });
    expect(v.headers[0]!.recordCount).toBe(4);
    expect(viaBatch.validateRecords).toBe(validateRecords);
  });

  it('empty or null records -> INVALID_RECORD', () => {
    expectError(Buffer.alloc(0), ErrorCode.INVALID_RECORD);
    expectError(null, ErrorCode.INVALID_RECORD);
  });

  it('truncated batch -> INVALID_RECORD (no whole batch); trailing partial bytes -> CORRUPT_MESSAGE', () => {
    for (const n of [5, 12, 16, 17, 60, one.length - 1]) expectError(one.subarray(0, n), ErrorCode.INVALID_RECORD);
    for (const n of [1, 11, 12, 30, one.length - 1]) {
      expectError(Buffer.concat([one, one.subarray(0, n)]), ErrorCode.CORRUPT_MESSAGE, { apiVersion: 2 });
    }
    // v3+: a second (partial) batch is also refused, as trailing garbage
    expectError(Buffer.concat([one, one.subarray(0, 30)]), ErrorCode.CORRUPT_MESSAGE);
  });

  it('wrong magic: 0/1 -> INVALID_RECORD, out of range -> CORRUPT_MESSAGE', () => {
    for (const m of [0, 1]) {
      const b = Buffer.from(one);
      b[MAGIC_OFFSET] = m;
      expect(expectError(b, ErrorCode.INVALID_RECORD)).toMatch(/magic/);
      expectError(b, ErrorCode.INVALID_RECORD, { apiVersion: 2 });
    }
    for (const m of [3, 0x7f, 0xff]) {
      const b = Buffer.from(one);
      b[MAGIC_OFFSET] = m;
      expectError(b, ErrorCode.CORRUPT_MESSAGE);
    }
  });

  it('oversize batch -> MESSAGE_TOO_LARGE (size includes the 12-byte log overhead)', () => {
    expect(validateRecords(one, { maxBatchBytes: one.length }).ok).toBe(true);
    expectError(one, ErrorCode.MESSAGE_TOO_LARGE, { maxBatchBytes: one.length - 1 });
  });

  it('two batches: INVALID_RECORD for Produce v3+, accepted for v0-2', () => {
    const two = Buffer.concat([one, one]);
    expect(expectError(two, ErrorCode.INVALID_RECORD)).toMatch(/exactly one/);
    expectError(two, ErrorCode.INVALID_RECORD, { apiVersion: 9 });
    const v = validateRecords(two, { maxBatchBytes: MAX, apiVersion: 2 });
    expect(v.ok).toBe(true);
    if (v.ok) {
      expect(v.batches).toHaveLength(2);
      expect(v.recordCount).toBe(8);
    }
  });

  it('control batch from a client -> INVALID_RECORD; accepted for internal appends', () => {
    const c = encodeControlBatch({ type: ControlRecordType.ABORT, producerId: 3n, producerEpoch: 0, coordinatorEpoch: 1 });
    expect(expectError(c, ErrorCode.INVALID_RECORD)).toMatch(/control/);
    expect(validateRecords(c, { maxBatchBytes: MAX, fromClient: false }).ok).toBe(true);
  });

  it('garbage -> rejected', () => {
    expectError(Buffer.alloc(100, 0xff), ErrorCode.CORRUPT_MESSAGE); // length -1
    expectError(Buffer.alloc(100, 0x00), ErrorCode.CORRUPT_MESSAGE); // length 0
    const small = Buffer.alloc(40);
    small.writeInt32BE(28, 8); // between Kafka's framing minimum (14) and the v2 header size
    small[MAGIC_OFFSET] = 2;
    expectError(small, ErrorCode.CORRUPT_MESSAGE);
    for (let i = 0; i < 300; i++) {
      const v = validateRecords(randomBytes(1 + Math.floor(Math.random() * 200)), { maxBatchBytes: MAX });
      expect(v.ok).toBe(false);
      if (!v.ok) expect([ErrorCode.CORRUPT_MESSAGE, ErrorCode.INVALID_RECORD]).toContain(v.errorCode);
    }
  });

  it('count / offset-range / sequence rules of LogValidator.validateBatch', () => {
    const b1 = Buffer.from(one);
    b1.writeInt32BE(2, LAST_OFFSET_DELTA_OFFSET);
    expect(expectError(reCrc(b1), ErrorCode.INVALID_RECORD)).toMatch(/inconsistent/);
    const b2 = Buffer.from(one);
    b2.writeInt32BE(-1, LAST_OFFSET_DELTA_OFFSET);
    expectError(reCrc(b2), ErrorCode.INVALID_RECORD);
    const b3 = Buffer.from(one);
    b3.writeInt32BE(0, RECORD_COUNT_OFFSET);
    expectError(reCrc(b3), ErrorCode.INVALID_RECORD);
    const noSeq = encodeRecordBatch({ records: sampleRecords(), producerId: 9n, baseSequence: -1 });
    expect(expectError(noSeq, ErrorCode.INVALID_RECORD)).toMatch(/sequence/);
    const plain = encodeRecordBatch({ records: sampleRecords() }); // producerId -1, sequence -1: fine
    expect(validateRecords(plain, { maxBatchBytes: MAX }).ok).toBe(true);
  });

  it('compression codec checks', () => {
    const zstd = Buffer.from(one);
    zstd.writeInt16BE(Compression.ZSTD, 21);
    reCrc(zstd);
    expectError(zstd, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, { apiVersion: 6 });
    expect(validateRecords(zstd, { maxBatchBytes: MAX, apiVersion: 7 }).ok).toBe(true);
    const bad = Buffer.from(one);
    bad.writeInt16BE(6, 21);
    expectError(reCrc(bad), ErrorCode.INVALID_RECORD);
  });
});

describe('decodeBatches and recordTimestamps', () => {
  it('decodes a concatenation and skips a truncated trailing batch', () => {
    const a = encodeRecordBatch({ baseOffset: 0n, records: sampleRecords() });
    const b = encodeRecordBatch({ baseOffset: 4n, records: sampleRecords(), compression: Compression.SNAPPY });
    const c = encodeRecordBatch({ baseOffset: 8n, records: sampleRecords() });
    const all = Buffer.concat([a, b, c]);
    expect(decodeBatches(all).flatMap((d) => d.records.map((r) => r.offset))).toEqual(
      Array.from({ length: 12 }, (_, i) => BigInt(i)),
    );
    for (const cut of [1, 12, 60, 61, c.length - 1]) {
      const got = decodeBatches(all.subarray(0, all.length - cut));
      expect(got).toHaveLength(2);
    }
    expect(decodeBatches(Buffer.alloc(0))).toEqual([]);
  });

  for (const [name, codec] of CODECS) {
    it(`recordTimestamps (${name})`, () => {
      const recs = sampleRecords();
      const b = encodeRecordBatch({ compression: codec, baseOffset: 50n, records: recs });
      expect(recordTimestamps(b)).toEqual(recs.map((r, i) => ({ offset: 50n + BigInt(i), timestamp: r.timestamp })));
      stampLogAppendTime(b, T0 + 5000n);
      expect(recordTimestamps(b)).toEqual(recs.map((_, i) => ({ offset: 50n + BigInt(i), timestamp: T0 + 5000n })));
    });

    it(`findRecordTimestamp stops at the first match (${name})`, () => {
      const b = encodeRecordBatch({ compression: codec, baseOffset: 50n, records: sampleRecords() });
      expect(findRecordTimestamp(b, (_o, ts) => ts > T0)).toEqual({ offset: 51n, timestamp: T0 + 5n });
      expect(findRecordTimestamp(b, (o, ts) => o >= 52n && ts >= T0 - 3n)).toEqual({ offset: 52n, timestamp: T0 - 3n });
      expect(findRecordTimestamp(b, (_o, ts) => ts > T0 + 1000n)).toBeUndefined();
      stampLogAppendTime(b, T0 + 5000n);
      expect(findRecordTimestamp(b, (o) => o >= 53n)).toEqual({ offset: 53n, timestamp: T0 + 5000n });
    });
  }

  it('findRecordTimestamp reads every timestamp delta size as recordTimestamps does', () => {
    const deltas = [0n, 1n, -1n, 63n, -64n, 64n, 8191n, -8193n, (1n << 27n) - 1n, 1n << 27n, -(1n << 27n) - 1n, 1n << 40n, -(1n << 50n), (1n << 62n) - 1n, -(1n << 62n)];
    const records = deltas.map((d) => ({ key: null, value: Buffer.from('v'), timestamp: d }));
    const b = encodeRecordBatch({ baseOffset: 7n, baseTimestamp: 0n, records });
    const all = recordTimestamps(b);
    expect(all.map((r) => r.timestamp)).toEqual(deltas);
    for (const r of all) expect(findRecordTimestamp(b, (o) => o === r.offset)).toEqual(r);
  });

  it('findRecordTimestamp: a match before a malformed record is found, one behind it throws', () => {
    const b = encodeRecordBatch({ baseOffset: 0n, records: sampleRecords() });
    // The third record's length prefix (records start at 61; the first two are intact).
    const third = BATCH_HEADER_SIZE + recordLengths(b).slice(0, 2).reduce((a, n) => a + n, 0);
    b[third] = 0x7f; // a length far past the end
    expect(findRecordTimestamp(b, (_o, ts) => ts > T0)).toEqual({ offset: 1n, timestamp: T0 + 5n });
    expect(() => findRecordTimestamp(b, (_o, ts) => ts > T0 + 5n)).toThrow(/record 2/);
  });

  it('batchHeaderProblem: the structural checks of a stored header', () => {
    const b = encodeRecordBatch({ baseOffset: 0n, records: sampleRecords() });
    const h = readBatchHeader(b);
    expect(batchHeaderProblem(h, b.length)).toBeUndefined();
    expect(batchHeaderProblem(h, b.length - 1)).toMatch(/extends past the end/);
    expect(batchHeaderProblem({ ...h, magic: 1 }, b.length)).toBe('unsupported magic 1');
    expect(batchHeaderProblem({ ...h, batchLength: 48, sizeInBytes: 60 }, b.length)).toBe('batchLength 48 too small');
    expect(batchHeaderProblem({ ...h, lastOffsetDelta: -1 }, b.length)).toBe('negative lastOffsetDelta -1');
    expect(batchHeaderProblem({ ...h, recordCount: -2 }, b.length)).toBe('negative recordCount -2');
  });
});

/** Total bytes (length prefix included) of each record of an uncompressed batch. */
function recordLengths(batch: Buffer): number[] {
  const out: number[] = [];
  for (let at = BATCH_HEADER_SIZE; at < batch.length; ) {
    let raw = 0;
    let shift = 0;
    let n = 0;
    for (;;) {
      const byte = batch[at + n++]!;
      raw |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
    }
    const len = (raw >>> 1) ^ -(raw & 1);
    out.push(n + len);
    at += n + len;
  }
  return out;
}

describe('control batches', () => {
  it('encode commit / abort markers', () => {
    for (const type of [ControlRecordType.ABORT, ControlRecordType.COMMIT]) {
      const c = encodeControlBatch({
        type,
        producerId: 1000n,
        producerEpoch: 2,
        coordinatorEpoch: 17,
        timestamp: T0,
        baseOffset: 33n,
        partitionLeaderEpoch: 4,
      });
      const d = decodeRecordBatch(c);
      expect(d.header).toMatchObject({
        isControl: true,
        isTransactional: true,
        producerId: 1000n,
        producerEpoch: 2,
        baseSequence: -1,
        baseOffset: 33n,
        partitionLeaderEpoch: 4,
        recordCount: 1,
        lastOffsetDelta: 0,
      });
      expect(d.records).toHaveLength(1);
      expect(decodeControlRecordKey(d.records[0]!.key)).toEqual({ version: 0, type });
      expect(decodeEndTxnMarkerValue(d.records[0]!.value)).toEqual({ version: 0, coordinatorEpoch: 17 });
      expect(d.records[0]!.timestamp).toBe(T0);
    }
  });
});

describe('codecs', () => {
  it('snappy: writes xerial frames by default, reads xerial and raw', () => {
    const data = Buffer.from('snappy snappy snappy '.repeat(5000));
    const x = compress(Compression.SNAPPY, data);
    expect(isXerialSnappy(x)).toBe(true);
    expect(testXerialDecode(x).equals(data)).toBe(true);
    expect(decompress(Compression.SNAPPY, x).equals(data)).toBe(true);
    const raw = compress(Compression.SNAPPY, data, { snappyFraming: 'raw' });
    expect(isXerialSnappy(raw)).toBe(false);
    expect(decompress(Compression.SNAPPY, raw).equals(data)).toBe(true);
    expect(decompress(Compression.SNAPPY, testXerialEncode(data, 1000)).equals(data)).toBe(true);
    // concatenated xerial streams (snappy-java reads these too)
    const twice = Buffer.concat([testXerialEncode(data), testXerialEncode(data, 999)]);
    expect(decompress(Compression.SNAPPY, twice).equals(Buffer.concat([data, data]))).toBe(true);
  });

  it('an empty batch with a codec bit decodes to no records', () => {
    const b = encodeRecordBatch({ records: [], baseTimestamp: T0 });
    b.writeInt16BE(Compression.GZIP, 21);
    writeBatchCrc(b);
    expect(decodeRecordBatch(b).records).toEqual([]);
    expect(recordTimestamps(b)).toEqual([]);
  });

  it('xxh32 known vectors', () => {
    expect(xxh32(Buffer.alloc(0))).toBe(0x02cc5d05);
    expect(xxh32(Buffer.from('abc'))).toBe(0x32d153ff);
    expect(xxh32(Buffer.from('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f);
  });

  it('lz4 frame round trip', () => {
    for (const data of [
      Buffer.alloc(0),
      Buffer.from('x'),
      Buffer.from('abcabcabcabcabcabcabcabc'),
      randomBytes(70_000),
      Buffer.alloc(300_000, 9),
      Buffer.from('lorem ipsum dolor sit amet '.repeat(10_000)),
    ]) {
      expect(lz4FrameDecode(lz4FrameEncode(data)).equals(data)).toBe(true);
    }
    expect(() => lz4FrameDecode(Buffer.from('not lz4 at all'))).toThrow(/lz4/);
  });

  it.skipIf(!hasCli('lz4'))('lz4 interop with the reference lz4 CLI', () => {
    const inputs = [
      Buffer.from('hello lz4 '.repeat(1000)),
      Buffer.concat([randomBytes(100_000), Buffer.alloc(100_000, 1)]),
      Buffer.alloc(1),
    ];
    for (const data of inputs) {
      // ours -> lz4 -d
      expect(execFileSync('lz4', ['-d', '-c'], { input: lz4FrameEncode(data) }).equals(data)).toBe(true);
      // lz4 (several flag combinations: HC, linked blocks, block + content checksums, content size) -> ours
      for (const flags of [[], ['-9'], ['-BD'], ['-BX', '--content-size'], ['-B5', '--no-frame-crc']]) {
        const framed = execFileSync('lz4', ['-c', '-q', ...flags], { input: data });
        expect(lz4FrameDecode(framed).equals(data), flags.join(' ')).toBe(true);
      }
    }
  });

});

// ---------------------------------------------------------------------------------------------
// zstd: node:zlib where the runtime has it (Node 22.15+ / 23.8+), else @toondepauw/node-zstd.

/** A zstd frame built by hand: no content size, window 128 KiB, `blocks` RLE blocks of 128 KiB. */
function rleFrame(blocks: number, byte = 0x61, opts: { contentSize?: number } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd])];
  if (opts.contentSize === undefined) {
    parts.push(Buffer.from([0x00, 7 << 3])); // FHD: no FCS, not single segment; window 2^(10+7)
  } else {
    const fcs = Buffer.alloc(4);
    fcs.writeUInt32LE(opts.contentSize);
    parts.push(Buffer.from([0x80, 7 << 3]), fcs); // FHD: 4-byte FCS
  }
  for (let i = 0; i < blocks; i++) {
    const bh = ((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
    parts.push(Buffer.from([bh & 0xff, (bh >>> 8) & 0xff, (bh >>> 16) & 0xff, byte]));
  }
  return Buffer.concat(parts);
}

const zstdSample = (): Buffer[] => [
  Buffer.alloc(0),
  Buffer.from('x'),
  Buffer.from('zstd zstd zstd '.repeat(2000)),
  randomBytes(200_000),
  Buffer.alloc(1 << 20, 7),
  Buffer.concat([randomBytes(70_000), Buffer.from('kafka record batch '.repeat(20_000))]),
];

/**
 * A v2 batch of 6 records as librdkafka 2.0.2 (kcat 1.7.1 -P -z zstd -K : -H h=v) sent it, as stored
 * by Brook: its zstd frame has no content size (a dynamically linked librdkafka does not pledge it).
 */
const KCAT_ZSTD_BATCH = Buffer.from(
  'AAAAAAAAAAAAAACHAAAAAAL7zBmeAAQAAAAFAAABojKAcZUAAAGiMoBxlf//////////////////AAAABii1L/0AWG0CABQDagAAAARrMFJ6c3RkLWZyb20ta2NhdC0wLWFiYwICaAJ2agAAAgRrMTEEMgYzCDQKNQsAQBSQHBgZSASMBxIGo7whOTCyrBCKn8sD',
  'base64',
);

describe('zstd', () => {
  const runtimeHasZlibZstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
  const codecs = zstdCodecs();

  it('is available on every supported Node: node:zlib first where the runtime has it, else @toondepauw/node-zstd', () => {
    expect(compressionSupport(Compression.ZSTD)).toEqual({ compress: true, decompress: true });
    expect(codecs[0]!.name).toBe(runtimeHasZlibZstd ? 'node:zlib' : '@toondepauw/node-zstd');
    if (ZSTD_PACKAGE_PLATFORM) expect(codecs.map((c) => c.name)).toContain('@toondepauw/node-zstd');
  });

  for (const c of codecs) {
    it(`${c.name}: round trips at several levels`, () => {
      for (const data of zstdSample()) {
        for (const level of [undefined, 1, 19]) {
          const z = c.compress(data, level);
          expect(z.readUInt32LE(0)).toBe(0xfd2fb528);
          expect(c.decompress(z).equals(data), `${data.length} bytes, level ${level}`).toBe(true);
          expect(zstdDecompressedBound(z)).toBeGreaterThanOrEqual(data.length);
        }
      }
    });
  }

  it('every implementation reads what every other writes (node:zlib <-> package where both exist)', () => {
    for (const a of codecs) {
      for (const b of codecs) {
        for (const data of zstdSample()) expect(b.decompress(a.compress(data)).equals(data), `${a.name} -> ${b.name}`).toBe(true);
        // Several frames back to back (Node 22's zlib alone returns only the first one).
        const x = Buffer.from('first frame '.repeat(10));
        const y = Buffer.from('second frame '.repeat(3000));
        const both = Buffer.concat([a.compress(x), a.compress(Buffer.alloc(0)), a.compress(y)]);
        expect(b.decompress(both).equals(Buffer.concat([x, y])), `${a.name} x3 -> ${b.name}`).toBe(true);
      }
    }
  });

  it('compress/decompress with Compression.ZSTD and zstdLevel', () => {
    const data = Buffer.from('level test '.repeat(10_000));
    const fast = compress(Compression.ZSTD, data, { zstdLevel: 1 });
    const small = compress(Compression.ZSTD, data, { zstdLevel: 19 });
    expect(decompress(Compression.ZSTD, fast).equals(data)).toBe(true);
    expect(decompress(Compression.ZSTD, small).equals(data)).toBe(true);
    expect(small.length).toBeLessThanOrEqual(fast.length);
  });

  it('record batches round trip with zstd (empty, small and > 1 MiB)', () => {
    const big: RecordInput[] = Array.from({ length: 1500 }, (_, i) => ({
      key: Buffer.from(`key-${i}`),
      value: i % 3 ? randomBytes(800) : Buffer.alloc(800, i & 0xff),
      headers: [{ key: 'i', value: Buffer.from(String(i)) }],
    }));
    for (const records of [[{ key: null, value: null }], sampleRecords(), big]) {
      const b = encodeRecordBatch({ compression: Compression.ZSTD, baseOffset: 7n, records });
      expect(readBatchHeader(b).compression).toBe(Compression.ZSTD);
      const d = decodeRecordBatch(b);
      const same = (a: Buffer | null, b: Buffer | null) => (a === null ? b === null : b !== null && a.equals(b));
      expect(d.records.length).toBe(records.length);
      expect(d.records.every((r, i) => same(r.key, records[i]!.key) && same(r.value, records[i]!.value))).toBe(true);
      expect(d.records.map((r) => r.offset)).toEqual(records.map((_, i) => 7n + BigInt(i)));
    }
  });

  it('decodes a zstd batch produced by librdkafka (kcat -z zstd), frame without content size', () => {
    expect(verifyBatchCrc(KCAT_ZSTD_BATCH)).toBe(true);
    expect(readBatchHeader(KCAT_ZSTD_BATCH).compression).toBe(Compression.ZSTD);
    const frame = KCAT_ZSTD_BATCH.subarray(BATCH_HEADER_SIZE);
    expect(frame[4]! >>> 6).toBe(0); // FHD: no frame content size
    const d = decodeRecordBatch(KCAT_ZSTD_BATCH);
    expect(d.records.map((r) => `${r.key}|${r.value}|${r.headers.map((h) => `${h.key}=${h.value}`).join()}`)).toEqual(
      Array.from({ length: 6 }, (_, i) => `k${i % 2}|zstd-from-kcat-${i}-${'abc'.repeat(8)}|h=v`),
    );
    expect(recordTimestamps(KCAT_ZSTD_BATCH)).toHaveLength(6);
    for (const c of codecs) expect(c.decompress(frame).length).toBeGreaterThan(frame.length);
    // Re-encoding the same records with our zstd and reading them back gives the same records.
    const again = encodeRecordBatch({ compression: Compression.ZSTD, records: d.records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })) });
    expect(decodeRecordBatch(again).records.map((r) => r.value)).toEqual(d.records.map((r) => r.value));
  });

  it('hand-built frames: RLE blocks, skippable frames, several frames, declared content size', () => {
    const ten = rleFrame(10, 0x62);
    expect(zstdDecompressedBound(ten)).toBe(10 * 128 * 1024);
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const withFcs = rleFrame(2, 0x63, { contentSize: 2 * 128 * 1024 });
    expect(zstdDecompressedBound(withFcs)).toBe(2 * 128 * 1024);
    const all = Buffer.concat([skippable, ten, skippable, withFcs]);
    expect(zstdDecompressedBound(all)).toBe(12 * 128 * 1024);
    for (const c of codecs) {
      expect(c.decompress(ten).equals(Buffer.alloc(10 * 128 * 1024, 0x62)), c.name).toBe(true);
      expect(c.decompress(all).equals(Buffer.concat([Buffer.alloc(10 * 128 * 1024, 0x62), Buffer.alloc(2 * 128 * 1024, 0x63)])), c.name).toBe(true);
    }
  });

  it('decompression bombs are refused before they are decompressed (default cap: ZSTD_MAX_DECOMPRESSED_BYTES)', () => {
    expect(ZSTD_MAX_DECOMPRESSED_BYTES).toBe(100 * 1024 * 1024);
    // 801 RLE blocks of 128 KiB: 3.2 KB that expand to 100.1 MiB, one block over the cap.
    const bomb = rleFrame(801);
    expect(bomb.length).toBeLessThan(4000);
    expect(zstdDecompressedBound(bomb)).toBe(801 * 128 * 1024);
    for (const c of codecs) {
      expect(() => c.decompress(bomb), c.name).toThrow(DecompressedSizeError);
      // Same frame, a lower cap given by the caller.
      expect(() => c.decompress(rleFrame(10), 1_000_000), c.name).toThrow(DecompressedSizeError);
      expect(c.decompress(rleFrame(10), 10 * 128 * 1024).length, c.name).toBe(10 * 128 * 1024);
      // A declared content size above the cap, and a frame that declares less than it holds.
      const declared = c.compress(Buffer.alloc(2_000_000));
      expect(() => c.decompress(declared, 1_999_999), c.name).toThrow(DecompressedSizeError);
      expect(() => c.decompress(rleFrame(10, 0x61, { contentSize: 1000 })), c.name).toThrow();
    }
    expect(() => decompress(Compression.ZSTD, bomb)).toThrow(DecompressedSizeError);
    expect(decompress(Compression.ZSTD, rleFrame(800)).length).toBe(ZSTD_MAX_DECOMPRESSED_BYTES);
    // In a batch the bomb is a decode error, not an out-of-memory broker.
    const batch = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x') }] });
    const bombBatch = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), bomb]);
    bombBatch.writeInt32BE(bombBatch.length - 12, 8);
    bombBatch.writeInt16BE(Compression.ZSTD, 21);
    writeBatchCrc(bombBatch);
    expect(() => decodeRecordBatch(bombBatch)).toThrow(/maximum/);
  });

  it('malformed zstd input is an error, never a crash or a hang', () => {
    const good = compress(Compression.ZSTD, Buffer.from('good data '.repeat(500)));
    const bad = [
      Buffer.alloc(0),
      Buffer.from('not zstd at all'),
      good.subarray(0, 3),
      good.subarray(0, good.length - 1),
      good.subarray(0, 7),
      Buffer.concat([good, Buffer.from([0x28, 0xb5])]),
      flip(good, 0), // magic
    ];
    for (const b of bad) {
      for (const c of codecs) expect(() => c.decompress(b), `${c.name} ${b.toString('hex').slice(0, 20)}`).toThrow();
      expect(() => decompress(Compression.ZSTD, b)).toThrow();
    }
    const reserved = Buffer.from(good);
    reserved[4] = reserved[4]! | 0x08;
    expect(() => zstdDecompressedBound(reserved)).toThrow(ZstdFormatError);
    expect(() => zstdDecompressedBound(Buffer.from('not zstd at all'))).toThrow(/not a zstd frame/);
    expect(() => zstdDecompressedBound(good.subarray(0, good.length - 1))).toThrow(/truncated/);
  });

  it.skipIf(!hasCli('zstd'))('interop with the reference zstd CLI, both directions', () => {
    const data = Buffer.concat([Buffer.from('zstd cli '.repeat(50_000)), randomBytes(100_000)]);
    const frames: Array<[string, Buffer]> = [];
    for (const flags of [[], ['--no-check'], ['-19'], ['-1', '--no-content-size'], ['--ultra', '-22'], ['--long=24']]) {
      frames.push([flags.join(' ') || 'default', execFileSync('zstd', ['-c', '-q', ...flags], { input: data, maxBuffer: 1 << 28 })]);
    }
    // From a pipe without --stream-size: no content size in the frame.
    frames.push(['stdin, no size', execFileSync('sh', ['-c', 'cat | zstd -c -q'], { input: data, maxBuffer: 1 << 28 })]);
    frames.push(['--stream-size', execFileSync('sh', ['-c', `cat | zstd -c -q --stream-size=${data.length}`], { input: data, maxBuffer: 1 << 28 })]);
    for (const [what, z] of frames) {
      expect(decompress(Compression.ZSTD, z).equals(data), what).toBe(true);
      for (const c of codecs) expect(c.decompress(z).equals(data), `${c.name}: ${what}`).toBe(true);
      expect(zstdDecompressedBound(z), what).toBeGreaterThanOrEqual(data.length);
    }
    const two = Buffer.concat([frames[0]![1], frames[6]![1]]);
    expect(decompress(Compression.ZSTD, two).equals(Buffer.concat([data, data]))).toBe(true);
    // ours -> zstd -d
    for (const c of codecs) {
      for (const level of [undefined, 1, 19]) {
        const back = execFileSync('zstd', ['-d', '-c', '-q'], { input: c.compress(data, level), maxBuffer: 1 << 28 });
        expect(back.equals(data), `${c.name} level ${level}`).toBe(true);
      }
    }
  });
});

describe('decompression is capped for every codec (a small batch cannot claim gigabytes)', () => {
  const data = Buffer.alloc(1 << 20, 7); // 1 MiB of one byte: compresses to a few KiB
  it.each([
    ['gzip', Compression.GZIP, {}],
    ['snappy (xerial)', Compression.SNAPPY, {}],
    ['snappy (raw)', Compression.SNAPPY, { snappyFraming: 'raw' as const }],
    ['lz4', Compression.LZ4, {}],
    ['zstd', Compression.ZSTD, {}],
  ])('%s: more than maxOutputBytes throws, up to it decodes', (_name, codec, opts) => {
    const packed = compress(codec, data, opts);
    expect(packed.length).toBeLessThan(data.length / 10);
    expect(() => decompress(codec, packed, { maxOutputBytes: 64 * 1024 })).toThrow(/exceeds|more than/i);
    expect(decompress(codec, packed, { maxOutputBytes: data.length }).equals(data)).toBe(true);
  });

  it('a gzip bomb in a stored batch fails to decode (compaction, down-conversion) instead of exhausting memory', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(ZSTD_MAX_DECOMPRESSED_BYTES + 1024));
    const batch = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('x') }] });
    // The records section replaced by the bomb, marked gzip, with a fresh CRC.
    const bad = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), bomb]);
    bad.writeInt32BE(bad.length - 12, 8);
    bad.writeInt16BE(Compression.GZIP, 21);
    writeBatchCrc(bad);
    expect(() => decodeRecordBatch(bad)).toThrow(/cannot decompress record batch: gzip output exceeds/);
  });
});

describe('splitFetchedBatches (a follower appending fetched records as they are)', () => {
  const batch = (base: bigint, n: number) =>
    encodeRecordBatch({ baseOffset: base, partitionLeaderEpoch: 3, records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) })) });

  it('cuts whole batches as views and leaves out a truncated last one', () => {
    const a = batch(0n, 2);
    const b = batch(2n, 3);
    const c = batch(5n, 1);
    const whole = Buffer.concat([a, b, c]);
    const r = splitFetchedBatches(whole.subarray(0, whole.length - 7));
    expect(r.problem).toBeUndefined();
    expect(r.batches.map((x) => [x.equals(a), x.equals(b)])).toEqual([[true, false], [false, true]]);
    expect(r.partialBytes).toBe(c.length - 7);
    // Fewer bytes than a batch header: partial too.
    expect(splitFetchedBatches(Buffer.concat([a, c.subarray(0, 20)]))).toEqual({ batches: [a], partialBytes: 20 });
    expect(splitFetchedBatches(null)).toEqual({ batches: [], partialBytes: 0 });
    expect(splitFetchedBatches(whole).batches).toHaveLength(3);
  });

  it('stops at a batch with a bad CRC or a bad header, keeping those before it', () => {
    const a = batch(0n, 1);
    const b = Buffer.from(batch(1n, 1));
    b[b.length - 1]! ^= 0xff;
    const r = splitFetchedBatches(Buffer.concat([a, b]));
    expect(r.batches).toHaveLength(1);
    expect(r.problem).toMatch(/offset 1 fails its CRC/);
    const m = Buffer.from(batch(1n, 1));
    m[MAGIC_OFFSET] = 1;
    expect(splitFetchedBatches(Buffer.concat([a, m])).problem).toMatch(/unsupported magic 1/);
  });
});
