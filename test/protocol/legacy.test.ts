// Legacy message sets (magic 0/1): round trips, kafkajs 2.2.4's message-set encoder/decoder as a
// golden reference, Kafka's conversion rules on write (Produce v0-v2) and read (Fetch v0-v3).

import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import {
  Compression,
  TimestampType,
  compress,
  compressionSupport,
  crc32,
  decodeRecordBatch,
  encodeControlBatch,
  encodeRecordBatch,
  lz4FrameEncode,
  xxh32,
} from '../../protocol/records/index.js';
import {
  LEGACY_TIMESTAMP_TYPE_BIT,
  LegacyMessageSetError,
  batchesToMessageSet,
  convertProduceMessageSet,
  decodeMessageSet,
  downConvertBatches,
  encodeMessageSet,
  messageSetToBatch,
} from '../../protocol/records/legacy.js';

const require = createRequire(import.meta.url);
type KEncoder = { buffer: Buffer };
const KMessageSet = require('kafkajs/src/protocol/messageSet/index.js') as (args: {
  messageVersion: number;
  compression?: number;
  entries: Array<Record<string, unknown>>;
}) => KEncoder;
const KMessageSetDecoder = require('kafkajs/src/protocol/messageSet/decoder.js') as (d: unknown, size: number) => Promise<
  Array<{ offset: string; magicByte: number; attributes: number; timestamp?: string; key: Buffer | null; value: Buffer | null }>
>;
const KDecoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;

const kafkajsDecode = (buf: Buffer) => KMessageSetDecoder(new KDecoder(buf), buf.length);
const B = (s: string) => Buffer.from(s);
const snappyOk = compressionSupport(Compression.SNAPPY).compress;

const msgs = [
  { key: B('k1'), value: B('v1'), timestamp: 1_700_000_000_001n },
  { key: null, value: B('v2'), timestamp: 1_700_000_000_002n },
  { key: B('k3'), value: null, timestamp: 1_700_000_000_003n },
  { key: null, value: null, timestamp: 1_700_000_000_004n },
];

/** Recomputes the CRC-32 of the first (only) entry. */
function fixCrc(entry: Buffer): Buffer {
  entry.writeUInt32BE(crc32(entry.subarray(16)), 12);
  return entry;
}

/** Marks the first entry as a wrapper compressed with `codec` (its value already is). */
function asWrapper(entry: Buffer, codec: Compression): Buffer {
  entry.writeInt8(codec, 12 + 5);
  return fixCrc(entry);
}

function errorOf(fn: () => unknown): LegacyMessageSetError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LegacyMessageSetError);
    return err as LegacyMessageSetError;
  }
  throw new Error('expected a LegacyMessageSetError');
}

describe('encodeMessageSet / decodeMessageSet', () => {
  it('round-trips magic 0 and 1, uncompressed, with null keys and values', () => {
    for (const magic of [0, 1] as const) {
      const buf = encodeMessageSet(msgs.map((m, i) => ({ ...m, offset: BigInt(10 + i) })), magic);
      const out = decodeMessageSet(buf);
      expect(out.map((m) => m.offset)).toEqual([10n, 11n, 12n, 13n]);
      expect(out.map((m) => m.magic)).toEqual([magic, magic, magic, magic]);
      expect(out.map((m) => m.key?.toString() ?? null)).toEqual(['k1', null, 'k3', null]);
      expect(out.map((m) => m.value?.toString() ?? null)).toEqual(['v1', 'v2', null, null]);
      expect(out.map((m) => m.timestamp)).toEqual(magic === 0 ? [-1n, -1n, -1n, -1n] : msgs.map((m) => m.timestamp));
    }
  });

  const codecs: Array<[string, Compression]> = [
    ['gzip', Compression.GZIP],
    ['snappy', Compression.SNAPPY],
    ['lz4', Compression.LZ4],
  ];
  for (const [name, codec] of codecs) {
    it.skipIf(codec === Compression.SNAPPY && !snappyOk)(`round-trips ${name} wrappers (magic 0 absolute, magic 1 relative inner offsets)`, () => {
      const m0 = encodeMessageSet(msgs.map((m, i) => ({ ...m, offset: BigInt(100 + i) })), 0, codec);
      expect(decodeMessageSet(m0).map((m) => m.offset)).toEqual([100n, 101n, 102n, 103n]);
      const m1 = encodeMessageSet(msgs, 1, { compression: codec, wrapperOffset: 203n });
      const out = decodeMessageSet(m1);
      expect(out.map((m) => m.offset)).toEqual([200n, 201n, 202n, 203n]);
      expect(out.map((m) => m.value?.toString() ?? null)).toEqual(['v1', 'v2', null, null]);
      expect(out.map((m) => m.timestamp)).toEqual(msgs.map((m) => m.timestamp));
      expect(out.every((m) => m.attributes === 0)).toBe(true);
    });
  }

  it('reads raw (non-xerial) snappy wrappers', () => {
    if (!snappyOk) return;
    const inner = encodeMessageSet(msgs, 1);
    const wrapper = encodeMessageSet([{ key: null, value: compress(Compression.SNAPPY, inner, { snappyFraming: 'raw' }), timestamp: 5n, offset: 3n }], 1);
    const raw = asWrapper(wrapper, Compression.SNAPPY);
    expect(decodeMessageSet(raw).map((m) => [m.offset, m.value?.toString() ?? null])).toEqual([
      [0n, 'v1'],
      [1n, 'v2'],
      [2n, null],
      [3n, null],
    ]);
  });

  it("writes Kafka's broken magic-0 LZ4 header checksum (KAFKA-3160) and reads both forms", () => {
    const m0 = encodeMessageSet(msgs, 0, Compression.LZ4);
    const frame = m0.subarray(12 + 6 + 4 + 4); // entry overhead, crc/magic/attributes, null key, value length
    expect(frame[6]).toBe((xxh32(frame.subarray(0, 6)) >>> 8) & 0xff);
    expect(decodeMessageSet(m0)).toHaveLength(4);
    // a magic-0 wrapper with a correct checksum (newer clients) is read too
    const good = lz4FrameEncode(encodeMessageSet(msgs, 0));
    const w = encodeMessageSet([{ key: null, value: good }], 0);
    asWrapper(w, Compression.LZ4);
    expect(decodeMessageSet(w).map((m) => m.value?.toString() ?? null)).toEqual(['v1', 'v2', null, null]);
  });

  it('gives inner messages of a LogAppendTime wrapper the wrapper timestamp; wrapper offset 0 keeps inner offsets', () => {
    const set = encodeMessageSet(msgs, 1, { compression: Compression.GZIP, timestampType: TimestampType.LOG_APPEND_TIME, wrapperOffset: 0n });
    const out = decodeMessageSet(set);
    expect(out.map((m) => m.offset)).toEqual([0n, 1n, 2n, 3n]);
    expect(out.every((m) => m.timestamp === 1_700_000_000_004n)).toBe(true);
  });

  it('detects CRC mismatches, also inside wrappers', () => {
    const plain = encodeMessageSet(msgs, 1);
    plain[plain.length - 1]! ^= 0xff;
    expect(errorOf(() => decodeMessageSet(plain)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const inner = encodeMessageSet(msgs, 0);
    inner[inner.length - 1]! ^= 0xff;
    const w = encodeMessageSet([{ key: null, value: zlib.gzipSync(inner) }], 0);
    asWrapper(w, Compression.GZIP);
    expect(errorOf(() => decodeMessageSet(w)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('ignores a trailing partial message unless told to be strict', () => {
    const set = encodeMessageSet(msgs, 0);
    for (const cut of [1, 5, 13, 20]) {
      const part = set.subarray(0, set.length - cut);
      expect(decodeMessageSet(part)).toHaveLength(3);
      expect(errorOf(() => decodeMessageSet(part, { allowPartial: false })).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    }
    expect(decodeMessageSet(Buffer.alloc(0))).toEqual([]);
  });

  it('rejects garbage: bad sizes, bad magic, lengths past the message', () => {
    const tiny = Buffer.alloc(12 + 13);
    tiny.writeInt32BE(13, 8);
    expect(errorOf(() => decodeMessageSet(tiny)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const magic2 = encodeRecordBatch({ records: [{ key: null, value: B('x') }] });
    expect(errorOf(() => decodeMessageSet(magic2)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const bad = encodeMessageSet([{ key: B('abc'), value: B('d') }], 0);
    bad.writeInt32BE(100, 12 + 6); // key length past the end
    fixCrc(bad);
    expect(errorOf(() => decodeMessageSet(bad)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
});

describe('against kafkajs 2.2.4 (src/protocol/messageSet)', () => {
  const entries = [
    { key: B('a'), value: B('first'), timestamp: 1_700_000_000_000 },
    { key: null, value: B('second'), timestamp: 1_700_000_000_500 },
    { key: B('c'), value: null, timestamp: 1_700_000_000_900 },
  ];

  it('encodes byte-identical uncompressed magic 0 and magic 1 sets', () => {
    for (const magic of [0, 1] as const) {
      const golden = KMessageSet({ messageVersion: magic, entries }).buffer;
      const ours = encodeMessageSet(
        entries.map((e) => ({ key: e.key, value: e.value, timestamp: BigInt(e.timestamp) })), // kafkajs numbers entries 0..n-1
        magic,
      );
      expect(ours.equals(golden)).toBe(true);
    }
  });

  it("decodes kafkajs's gzip wrapper (as its Produce v2 builds it: wrapper offset 0)", async () => {
    for (const magic of [0, 1] as const) {
      const inner = KMessageSet({ messageVersion: magic, compression: Compression.GZIP, entries }).buffer;
      const wrapper = KMessageSet({
        messageVersion: magic,
        entries: [{ compression: Compression.GZIP, timestamp: entries[0]!.timestamp, key: null, value: zlib.gzipSync(inner) }],
      }).buffer;
      const out = decodeMessageSet(wrapper);
      expect(out.map((m) => m.offset)).toEqual([0n, 1n, 2n]);
      expect(out.map((m) => m.value?.toString() ?? null)).toEqual(['first', 'second', null]);
      expect(out.map((m) => m.key?.toString() ?? null)).toEqual(['a', null, 'c']);
      if (magic === 1) expect(out.map((m) => m.timestamp)).toEqual(entries.map((e) => BigInt(e.timestamp)));
      const conv = convertProduceMessageSet(wrapper);
      expect(conv.ok).toBe(true);
    }
  });

  it('kafkajs decodes our sets: plain, gzip wrappers (absolute offsets), and a down-converted fetch', async () => {
    for (const magic of [0, 1] as const) {
      const plain = encodeMessageSet(msgs.map((m, i) => ({ ...m, offset: BigInt(7 + i) })), magic);
      const k = await kafkajsDecode(plain);
      expect(k.map((m) => m.offset)).toEqual(['7', '8', '9', '10']);
      expect(k.map((m) => m.magicByte)).toEqual([magic, magic, magic, magic]);
      expect(k.map((m) => m.value?.toString() ?? null)).toEqual(['v1', 'v2', null, null]);
      expect(k.map((m) => m.key?.toString() ?? null)).toEqual(['k1', null, 'k3', null]);
      if (magic === 1) expect(k.map((m) => m.timestamp)).toEqual(msgs.map((m) => String(m.timestamp)));
      const gz = encodeMessageSet(
        msgs.map((m, i) => ({ ...m, offset: magic === 0 ? BigInt(50 + i) : BigInt(i) })),
        magic,
        { compression: Compression.GZIP, wrapperOffset: 53n },
      );
      expect((await kafkajsDecode(gz)).map((m) => m.offset)).toEqual(['50', '51', '52', '53']);
      // truncated: kafkajs too drops the partial message
      expect(await kafkajsDecode(plain.subarray(0, plain.length - 3))).toHaveLength(3);
    }
  });
});

describe('messageSetToBatch / convertProduceMessageSet (write conversion)', () => {
  it('magic 0 -> one v2 batch, CreateTime, NO_TIMESTAMP (-1) records, keys/values kept', () => {
    const c = convertProduceMessageSet(encodeMessageSet(msgs, 0));
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.messageCount).toBe(4);
    const b = decodeRecordBatch(c.batch);
    expect(b.header.baseOffset).toBe(0n);
    expect(b.header.recordCount).toBe(4);
    expect(b.header.timestampType).toBe(TimestampType.CREATE_TIME);
    expect(b.header.maxTimestamp).toBe(-1n);
    expect(b.records.map((r) => r.timestamp)).toEqual([-1n, -1n, -1n, -1n]);
    expect(b.records.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n]);
    expect(b.records.map((r) => r.value?.toString() ?? null)).toEqual(['v1', 'v2', null, null]);
    expect(b.records.map((r) => r.key?.toString() ?? null)).toEqual(['k1', null, 'k3', null]);
  });

  it('magic 1 keeps timestamps; a compressed set keeps its codec (compression.type=producer)', () => {
    const c = convertProduceMessageSet(encodeMessageSet(msgs, 1, Compression.GZIP));
    expect(c.ok && c.compression).toBe(Compression.GZIP);
    if (!c.ok) return;
    const b = decodeRecordBatch(c.batch);
    expect(b.header.compression).toBe(Compression.GZIP);
    expect(b.records.map((r) => r.timestamp)).toEqual(msgs.map((m) => m.timestamp));
    expect(b.header.maxTimestamp).toBe(1_700_000_000_004n);
    const direct = decodeRecordBatch(messageSetToBatch(decodeMessageSet(encodeMessageSet(msgs, 1))));
    expect(direct.header.compression).toBe(Compression.NONE);
  });

  it("applies Kafka's validation: mixed magic, several wrappers, nested compression, garbage", () => {
    const fail = (buf: Buffer) => {
      const c = convertProduceMessageSet(buf);
      expect(c.ok).toBe(false);
      return c.ok ? -1 : c.errorCode;
    };
    expect(fail(Buffer.concat([encodeMessageSet(msgs.slice(0, 1), 0), encodeMessageSet(msgs.slice(1, 2), 1)]))).toBe(ErrorCode.INVALID_RECORD);
    expect(fail(Buffer.concat([encodeMessageSet(msgs, 1, Compression.GZIP), encodeMessageSet(msgs, 1, Compression.GZIP)]))).toBe(ErrorCode.INVALID_RECORD);
    const nested = asWrapper(encodeMessageSet([{ key: null, value: zlib.gzipSync(encodeMessageSet(msgs, 1, Compression.GZIP)), timestamp: 1n }], 1), Compression.GZIP);
    expect(fail(nested)).toBe(ErrorCode.INVALID_RECORD);
    const mixedInner = encodeMessageSet([{ key: null, value: null }], 0);
    const w = encodeMessageSet([{ key: null, value: zlib.gzipSync(mixedInner), timestamp: 1n }], 1);
    asWrapper(w, Compression.GZIP);
    expect(fail(w)).toBe(ErrorCode.INVALID_RECORD);
    expect(fail(Buffer.from('this is not a message set at all'))).toBe(ErrorCode.CORRUPT_MESSAGE);
    const set = encodeMessageSet(msgs, 0);
    expect(fail(set.subarray(0, set.length - 2))).toBe(ErrorCode.CORRUPT_MESSAGE);
    const gz = encodeMessageSet(msgs, 0, Compression.GZIP);
    gz[gz.length - 5]! ^= 0x55;
    expect(fail(gz)).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
});

describe('downConvertBatches / batchesToMessageSet (read conversion)', () => {
  const b1 = encodeRecordBatch({
    baseOffset: 10n,
    compression: Compression.GZIP,
    records: [
      { key: B('a'), value: B('1'), timestamp: 1000n, headers: [{ key: 'h', value: B('x') }] },
      { key: null, value: B('2'), timestamp: 1005n },
      { key: B('c'), value: null, timestamp: 1003n },
    ],
  });
  const ctrl = encodeControlBatch({ type: 1, producerId: 5n, producerEpoch: 0, coordinatorEpoch: 0, baseOffset: 13n, timestamp: 1010n });
  const b2 = encodeRecordBatch({ baseOffset: 14n, timestampType: TimestampType.LOG_APPEND_TIME, maxTimestamp: 9999n, records: [{ key: null, value: B('4'), timestamp: 1n }] });

  it('keeps offsets, keys and values; drops headers, control batches and records below the fetch offset', () => {
    for (const magic of [0, 1] as const) {
      const out = decodeMessageSet(batchesToMessageSet([b1, ctrl, b2], magic, 11n));
      expect(out.map((m) => m.offset)).toEqual([11n, 12n, 14n]);
      expect(out.map((m) => m.value?.toString() ?? null)).toEqual(['2', null, '4']);
      expect(out.map((m) => m.key?.toString() ?? null)).toEqual([null, 'c', null]);
      expect(out.every((m) => m.magic === magic && (m.attributes & 7) === 0)).toBe(true);
      if (magic === 0) expect(out.every((m) => m.timestamp === -1n)).toBe(true);
      else {
        expect(out.map((m) => m.timestamp)).toEqual([1005n, 1003n, 9999n]);
        expect(out.map((m) => m.attributes & LEGACY_TIMESTAMP_TYPE_BIT)).toEqual([0, 0, LEGACY_TIMESTAMP_TYPE_BIT]);
      }
    }
  });

  it('stops at maxBytes with at least one message (or none with minOneMessage false)', () => {
    const one = downConvertBatches([b1], 0, 10n, { maxBytes: 5 });
    expect(one.count).toBe(1);
    expect(one.truncated).toBe(true);
    expect(one.nextOffset).toBe(11n);
    const none = downConvertBatches([b1], 0, 10n, { maxBytes: 5, minOneMessage: false });
    expect(none.count).toBe(0);
    const two = downConvertBatches([b1], 1, 10n, { maxBytes: 2 * (12 + 22 + 2) });
    expect(two.count).toBe(2);
    const all = downConvertBatches([b1, ctrl], 0, 0n);
    expect(all.count).toBe(3);
    expect(all.nextOffset).toBe(14n);
    const onlyCtrl = downConvertBatches([ctrl], 0, 13n);
    expect(onlyCtrl).toMatchObject({ count: 0, nextOffset: 14n, truncated: false });
  });
});
