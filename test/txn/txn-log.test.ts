// __transaction_state persistence: Kafka's TransactionLogKey/TransactionLogValue formats
// (txn-records.ts, including a flexible v1 value encoded here by hand from the schema), placement
// by transactional id, TxnStateLog (store/load/tombstones, compaction, kill -9) on the memory and
// file stores, and the durable producer-id blocks (producer-ids.ts). Reference:
// /work/notes/kafka-txn.md section 3.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomUuid } from '../../protocol/primitives/uuid.js';
import { decodeRecordBatch, encodeRecordBatch, readBatchHeader } from '../../protocol/records/index.js';
import { javaStringHashCode } from '../../src/group/offsets-log.js';
import { openFileStore } from '../../src/log/file-store.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogStore, type PartitionLog } from '../../src/log/types.js';
import { BLOCK_SIZE, FileProducerIds, MemoryProducerIds, PRODUCER_ID_BLOCK_FILE } from '../../src/txn/producer-ids.js';
import { DEFAULT_TXN_TOPIC_PARTITIONS, partitionForTxn, TXN_TOPIC, TxnStateLog } from '../../src/txn/txn-log.js';
import { decodeTxnKey, decodeTxnValue, encodeTxnKey, encodeTxnValue, TxnRecordError } from '../../src/txn/txn-records.js';
import { TXN_STATES, txnStateId, type TxnMetadata, type TxnState } from '../../src/txn/types.js';

// ---------------------------------------------------------------------------------------------
// fixtures

let cleanups: Array<() => void> = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch {
      // already closed
    }
  }
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-txn-log-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

interface Harness {
  name: string;
  /** Opens the store; for the file store every call opens the same directory again. */
  open(): LogStore;
}

function memoryHarness(): Harness {
  let store: LogStore | undefined;
  return {
    name: 'memory',
    open: () => {
      if (store === undefined) {
        const s = createMemoryStore({ logConfig: DEFAULT_LOG_CONFIG });
        cleanups.push(() => s.close());
        store = s;
      }
      return store;
    },
  };
}

function fileHarness(dir = tmpDir()): Harness {
  return {
    name: 'file',
    open: () => {
      const s = openFileStore(dir, { logConfig: DEFAULT_LOG_CONFIG });
      cleanups.push(() => s.close());
      return s;
    },
  };
}

function captureLogger() {
  const warns: Array<{ obj: object; msg: string }> = [];
  return {
    warns,
    logger: {
      warn: (obj: object, msg: string) => void warns.push({ obj, msg }),
      info: () => {},
    },
  };
}

interface MakeOptions {
  numPartitions?: number;
  /** segment.bytes of the topic (small: several segments, so the cleaner has some to clean). */
  segmentBytes?: number;
  now?: () => number;
}

function makeLog(store: LogStore, o: MakeOptions = {}) {
  const cap = captureLogger();
  const created: Array<{ name: string; partitions: number; configs: Record<string, string> }> = [];
  const log = new TxnStateLog({
    store,
    topics: {
      get: (name) => store.getTopic(name),
      createInternal: (name, numPartitions, configs) => {
        created.push({ name, partitions: numPartitions, configs });
        store.createTopic({ name, topicId: randomUuid(), numPartitions, replicationFactor: 1, configs });
      },
    },
    numPartitions: o.numPartitions ?? 5,
    segmentBytes: o.segmentBytes ?? 1 << 20,
    logger: cap.logger,
    now: o.now ?? (() => 1_700_000_000_000),
  });
  return { log, created, ...cap };
}

function meta(id: string, o: Partial<TxnMetadata> = {}): TxnMetadata {
  return {
    transactionalId: id,
    producerId: 4000n,
    previousProducerId: -1n,
    producerEpoch: 3,
    lastProducerEpoch: -1,
    txnTimeoutMs: 60_000,
    state: 'Empty',
    partitions: new Map(),
    txnStartTimestamp: -1,
    txnLastUpdateTimestamp: 1_700_000_000_000,
    ...o,
  };
}

function ongoing(id: string, o: Partial<TxnMetadata> = {}): TxnMetadata {
  return meta(id, {
    state: 'Ongoing',
    partitions: new Map([
      ['orders', new Set([0, 3])],
      ['__consumer_offsets', new Set([17])],
    ]),
    txnStartTimestamp: 1_699_999_999_000,
    ...o,
  });
}

/** Comparable form of loaded state, sorted by id. */
function snapshot(list: TxnMetadata[]) {
  return [...list]
    .sort((a, b) => a.transactionalId.localeCompare(b.transactionalId))
    .map((m) => ({ ...m, partitions: [...m.partitions].map(([t, s]) => [t, [...s].sort((a, b) => a - b)]) }));
}

function recordsOf(plog: PartitionLog) {
  const out: Array<{ offset: bigint; key: Buffer | null; value: Buffer | null; timestamp: bigint }> = [];
  let next = plog.logStartOffset;
  while (next < plog.logEndOffset) {
    const { chunks } = plog.read(next, 1 << 20, true);
    if (chunks.length === 0) break;
    for (const c of chunks) {
      const h = readBatchHeader(c);
      for (const r of decodeRecordBatch(c).records) {
        if (r.offset >= plog.logStartOffset) out.push({ offset: r.offset, key: r.key && Buffer.from(r.key), value: r.value && Buffer.from(r.value), timestamp: r.timestamp });
      }
      next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
    }
  }
  return out;
}

// ---- a tiny, independent encoder for the hand-made records ----

class Bytes {
  private readonly parts: number[] = [];

  int8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }

  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(...b);
    return this;
  }

  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(...b);
    return this;
  }

  int64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    this.parts.push(...b);
    return this;
  }

  uvarint(v: number): this {
    while (v >= 0x80) {
      this.parts.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.parts.push(v);
    return this;
  }

  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.int16(b.length).raw(b);
  }

  compactString(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.uvarint(b.length + 1).raw(b);
  }

  raw(b: Uint8Array | number[]): this {
    this.parts.push(...b);
    return this;
  }

  done(): Buffer {
    return Buffer.from(this.parts);
  }
}

// ---------------------------------------------------------------------------------------------
// record formats

describe('TransactionLogKey / TransactionLogValue', () => {
  it('state ids are Kafka\'s', () => {
    expect(TXN_STATES.map((s) => [s, txnStateId(s)])).toEqual([
      ['Empty', 0],
      ['Ongoing', 1],
      ['PrepareCommit', 2],
      ['PrepareAbort', 3],
      ['CompleteCommit', 4],
      ['CompleteAbort', 5],
      ['Dead', 6],
      ['PrepareEpochFence', 7],
    ]);
  });

  it('key v0: int16 version 0 + string transactionalId; round trip, unicode included', () => {
    expect(encodeTxnKey('my-txn')).toEqual(new Bytes().int16(0).string('my-txn').done());
    for (const id of ['', 'a', 'tx-1', 'transaktion-ü-日本-😀', 'x'.repeat(300)]) expect(decodeTxnKey(encodeTxnKey(id))).toBe(id);
    expect(() => decodeTxnKey(new Bytes().int16(1).string('x').done())).toThrow(TxnRecordError);
    expect(() => decodeTxnKey(Buffer.from([0, 0, 0, 9, 0x61]))).toThrow(TxnRecordError);
  });

  it('value v0 is laid out exactly as the schema says (Ongoing with partitions)', () => {
    const m = ongoing('t', { producerId: 0x0102030405060708n, producerEpoch: 513, txnTimeoutMs: 900_000 });
    const expected = new Bytes()
      .int16(0)
      .int64(0x0102030405060708n)
      .int16(513)
      .int32(900_000)
      .int8(1)
      .int32(2)
      .string('orders')
      .int32(2)
      .int32(0)
      .int32(3)
      .string('__consumer_offsets')
      .int32(1)
      .int32(17)
      .int64(1_700_000_000_000n)
      .int64(1_699_999_999_000n)
      .done();
    expect(encodeTxnValue(m)).toEqual(expected);
  });

  it('value v0 for Empty has null partitions (array length -1) and start -1', () => {
    const expected = new Bytes().int16(0).int64(4000n).int16(3).int32(60_000).int8(0).int32(-1).int64(1_700_000_000_000n).int64(-1n).done();
    expect(encodeTxnValue(meta('t'))).toEqual(expected);
    // Even if an Empty metadata still carried partitions, none are written.
    expect(encodeTxnValue(meta('t', { partitions: new Map([['x', new Set([1])]]) }))).toEqual(expected);
  });

  it('round-trips every state that is written', () => {
    const states: TxnState[] = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort'];
    for (const state of states) {
      const m =
        state === 'Empty'
          ? meta('tx', { producerEpoch: 0 })
          : state.startsWith('Complete')
            ? meta('tx', { state, producerEpoch: 32766, txnStartTimestamp: 5 })
            : ongoing('tx', { state, producerId: 9_007_199_254_740_993n });
      expect(decodeTxnValue('tx', encodeTxnValue(m))).toEqual(m);
    }
  });

  it('decodes a flexible v1 value encoded by hand (compact arrays/strings, tagged fields 0-2, unknown tags)', () => {
    const value = new Bytes()
      .int16(1)
      .int64(123_456_789n) // ProducerId
      .int16(7) // ProducerEpoch
      .int32(45_000) // TransactionTimeoutMs
      .int8(2) // PrepareCommit
      .uvarint(2 + 1) // TransactionPartitions: 2 entries
      .compactString('orders')
      .uvarint(3 + 1)
      .int32(0)
      .int32(1)
      .int32(5)
      .uvarint(0) // entry tagged fields: none
      .compactString('payments')
      .uvarint(0 + 1) // no partitions
      .uvarint(1) // entry tagged fields: one unknown tag
      .uvarint(9)
      .uvarint(2)
      .raw([0xaa, 0xbb])
      .int64(1_700_000_123_000n) // TransactionLastUpdateTimestampMs
      .int64(1_700_000_100_000n) // TransactionStartTimestampMs
      .uvarint(4) // tagged fields
      .uvarint(0) // PreviousProducerId
      .uvarint(8)
      .int64(99n)
      .uvarint(1) // NextProducerId
      .uvarint(8)
      .int64(123_456_790n)
      .uvarint(2) // ClientTransactionVersion
      .uvarint(2)
      .int16(2)
      .uvarint(7) // unknown
      .uvarint(3)
      .raw([1, 2, 3])
      .done();
    expect(decodeTxnValue('v1-txn', value)).toEqual({
      transactionalId: 'v1-txn',
      producerId: 123_456_789n,
      previousProducerId: 99n,
      producerEpoch: 7,
      lastProducerEpoch: -1,
      txnTimeoutMs: 45_000,
      state: 'PrepareCommit',
      partitions: new Map([
        ['orders', new Set([0, 1, 5])],
        ['payments', new Set()],
      ]),
      txnStartTimestamp: 1_700_000_100_000,
      txnLastUpdateTimestamp: 1_700_000_123_000,
    });
  });

  it('decodes a v1 Empty value (null compact array, no tagged fields: defaults)', () => {
    const value = new Bytes().int16(1).int64(5n).int16(0).int32(60_000).int8(0).uvarint(0).int64(1_700_000_000_000n).int64(-1n).uvarint(0).done();
    expect(decodeTxnValue('e', value)).toEqual(meta('e', { producerId: 5n, producerEpoch: 0 }));
  });

  it('refuses unknown versions, unknown states and truncated values', () => {
    const good = encodeTxnValue(ongoing('t'));
    const v2 = Buffer.from(good);
    v2.writeInt16BE(2, 0);
    expect(() => decodeTxnValue('t', v2)).toThrow(TxnRecordError);
    const badState = Buffer.from(good);
    badState.writeInt8(8, 2 + 8 + 2 + 4);
    expect(() => decodeTxnValue('t', badState)).toThrow(TxnRecordError);
    for (const cut of [1, 5, 16, good.length - 1]) expect(() => decodeTxnValue('t', good.subarray(0, cut))).toThrow(TxnRecordError);
  });
});

// ---------------------------------------------------------------------------------------------
// placement

describe('transactional id placement', () => {
  it('uses 50 partitions by default and abs(Java hashCode) % partitions for non-negative hashes', () => {
    expect(DEFAULT_TXN_TOPIC_PARTITIONS).toBe(50);
    expect(partitionForTxn('', 50)).toBe(0);
    expect(partitionForTxn('a', 50)).toBe(47); // 97
    expect(partitionForTxn('hello', 50)).toBe(22); // 99162322
    expect(partitionForTxn('polygenelubricants', 50)).toBe(0); // Integer.MIN_VALUE: Utils.abs gives 0
    expect(partitionForTxn('hello', 7)).toBe(99162322 % 7);
  });

  // Kafka: TransactionStateManager.partitionFor = Utils.abs(transactionalId.hashCode) % count, with
  // Utils.abs(n) = (n == Integer.MIN_VALUE) ? 0 : Math.abs(n). Brook once masked the sign bit
  // instead ('my-group' went to 36 instead of Kafka's 12); this guards the fix.
  it('ids with a negative hashCode land where Kafka puts them (Utils.abs, not a sign-bit mask)', () => {
    expect(javaStringHashCode('my-group')).toBe(-1906497762);
    expect(partitionForTxn('my-group', 50)).toBe(12);
    for (const id of ['my-group', 'txn-producer-1', 'orders-app', 'zzzzzz']) {
      const h = javaStringHashCode(id);
      const kafka = (h === -2147483648 ? 0 : Math.abs(h)) % 50;
      expect(partitionForTxn(id, 50)).toBe(kafka);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// TxnStateLog on both stores

describe.each([
  ['memory', memoryHarness],
  ['file', fileHarness],
] as const)('TxnStateLog: %s store', (_name, makeHarness) => {
  it('loads nothing from a fresh store and creates __transaction_state on the first write, with Kafka\'s configs', () => {
    const store = makeHarness().open();
    const { log, created } = makeLog(store, { numPartitions: 7 });
    expect(log.load()).toEqual([]);
    expect(store.getTopic(TXN_TOPIC)).toBeUndefined();
    log.store(meta('a'));
    expect(created).toEqual([{ name: TXN_TOPIC, partitions: 7, configs: { 'cleanup.policy': 'compact', 'compression.type': 'uncompressed', 'segment.bytes': String(1 << 20) } }]);
    expect(store.getTopic(TXN_TOPIC)!.numPartitions).toBe(7);
    log.store(meta('b'));
    expect(created).toHaveLength(1);
  });

  it('writes one record per change to the id\'s partition (key, value, timestamp = now) and loads the last value of each id', () => {
    const store = makeHarness().open();
    let now = 1_700_000_000_000;
    const { log } = makeLog(store, { now: () => now });
    log.load();
    log.store(meta('alpha'));
    now += 3;
    log.store(ongoing('alpha', { producerEpoch: 4 }));
    log.store(ongoing('beta'));
    const pa = log.partitionFor('alpha');
    expect(pa).toBe(partitionForTxn('alpha', 5));
    const recs = recordsOf(store.partition(TXN_TOPIC, pa)!).filter((r) => decodeTxnKey(r.key!) === 'alpha');
    expect(recs).toHaveLength(2);
    expect(recs[1]!.key).toEqual(encodeTxnKey('alpha'));
    expect(recs[1]!.value).toEqual(encodeTxnValue(ongoing('alpha', { producerEpoch: 4 })));
    expect(recs.map((r) => r.timestamp)).toEqual([1_700_000_000_000n, 1_700_000_000_003n]);
    expect(snapshot(makeLog(store).log.load())).toEqual(snapshot([ongoing('alpha', { producerEpoch: 4 }), ongoing('beta')]));
  });

  it('a tombstone removes the id; a reload does not bring it back; a later write adds it again', () => {
    const h = makeHarness();
    const store = h.open();
    const { log } = makeLog(store);
    log.load();
    log.store(meta('gone', { state: 'CompleteCommit' }));
    log.store(meta('stays'));
    log.remove('gone');
    const p = log.partitionFor('gone');
    const last = recordsOf(store.partition(TXN_TOPIC, p)!).at(-1)!;
    expect(last.key).toEqual(encodeTxnKey('gone'));
    expect(last.value).toBeNull();
    expect(snapshot(makeLog(store).log.load()).map((m) => m.transactionalId)).toEqual(['stays']);
    log.store(meta('gone', { producerId: 77n }));
    expect(snapshot(makeLog(store).log.load()).map((m) => [m.transactionalId, m.producerId])).toEqual([
      ['gone', 77n],
      ['stays', 4000n],
    ]);
  });

  it('the log cleaner keeps exactly the live state, drops tombstoned ids, and a reload is identical (issue 8)', () => {
    const h = makeHarness();
    let store = h.open();
    let now = 1_700_000_000_000;
    const { log } = makeLog(store, { numPartitions: 2, segmentBytes: 1024 });
    log.load();
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const latest = new Map<string, TxnMetadata>();
    for (let i = 0; i < 120; i++) {
      const id = ids[i % ids.length]!;
      now += 1;
      const m = i % 3 === 0 ? meta(id, { producerEpoch: i, txnLastUpdateTimestamp: now }) : ongoing(id, { producerEpoch: i, txnLastUpdateTimestamp: now, partitions: new Map([['t', new Set([i % 4])]]) });
      log.store(m);
      latest.set(id, m);
    }
    log.remove('g');
    latest.delete('g');
    // Roll each partition once more so every record above lies in an inactive segment.
    for (const id of ['a', 'b']) log.store(meta(`${id}-filler`, { producerEpoch: 1 }));
    for (const p of [0, 1]) for (let i = 0; i < 40; i++) log.store(meta(`roll-${p}-${i}`));
    for (const p of [0, 1]) for (let i = 0; i < 40; i++) log.remove(`roll-${p}-${i}`);
    const expected = snapshot(makeLog(store, { numPartitions: 2 }).log.load());
    const clean = { deleteRetentionMs: 0, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, minCleanableDirtyRatio: 0 };
    for (const p of [0, 1]) expect(store.partition(TXN_TOPIC, p)!.compact(now + 10, clean).ran).toBe(true);
    // KIP-534: a tombstone goes delete.retention.ms (here 0) after the pass that first kept it, so
    // at the next pass; new data makes one due. (On the real clock: a segment the first pass
    // emptied counts by its file's modification time.)
    for (const p of [0, 1]) for (let i = 0; i < 40; i++) log.store(meta(`roll2-${p}-${i}`));
    for (const p of [0, 1]) for (let i = 0; i < 40; i++) log.remove(`roll2-${p}-${i}`);
    for (const p of [0, 1]) expect(store.partition(TXN_TOPIC, p)!.compact(Math.max(now + 20, Date.now() + 1000), clean).ran).toBe(true);
    for (const p of [0, 1]) {
      // Each id has at most one record left, and 'g' (tombstoned, past delete.retention.ms) none.
      const keys = recordsOf(store.partition(TXN_TOPIC, p)!).map((r) => decodeTxnKey(r.key!));
      const live = [...latest.keys()].filter((id) => log.partitionFor(id) === p);
      for (const id of live) expect(keys.filter((k) => k === id)).toHaveLength(1);
      expect(keys).not.toContain('g');
    }
    expect(snapshot(makeLog(store, { numPartitions: 2 }).log.load())).toEqual(expected);
    // ... also after a restart of the store.
    if (h.name === 'file') {
      store.close();
      store = h.open();
    }
    expect(snapshot(makeLog(store, { numPartitions: 2 }).log.load())).toEqual(expected);
  });

  it('an existing topic\'s partition count wins over the configured one', () => {
    const store = makeHarness().open();
    store.createTopic({ name: TXN_TOPIC, topicId: randomUuid(), numPartitions: 3, replicationFactor: 1, configs: {} });
    const { log } = makeLog(store, { numPartitions: 50 });
    expect(log.numPartitions).toBe(3);
    expect(log.partitionFor('hello')).toBe(partitionForTxn('hello', 3));
    log.store(meta('hello'));
    expect(snapshot(makeLog(store, { numPartitions: 50 }).log.load()).map((m) => m.transactionalId)).toEqual(['hello']);
  });

  it('skips a corrupt record with a warning and loads the rest', () => {
    const store = makeHarness().open();
    const { log } = makeLog(store, { numPartitions: 1 });
    log.store(meta('ok'));
    store
      .partition(TXN_TOPIC, 0)!
      .append([encodeRecordBatch({ baseTimestamp: 1n, records: [{ key: encodeTxnKey('bad'), value: Buffer.from([0, 0, 1, 2]), timestamp: 1n }] })]);
    log.store(ongoing('ok2'));
    const { log: again, warns } = makeLog(store, { numPartitions: 1 });
    expect(snapshot(again.load()).map((m) => m.transactionalId)).toEqual(['ok', 'ok2']);
    expect(warns.map((w) => w.msg)).toEqual(['skipping corrupt transaction log record']);
  });
});

describe('TxnStateLog: kill -9 (file store reopened without close)', () => {
  it('everything written is there after a kill -9 (no flush, no close)', () => {
    const h = fileHarness();
    const crashed = h.open();
    const { log } = makeLog(crashed);
    log.store(meta('a'));
    log.store(ongoing('b'));
    log.store(meta('c', { state: 'CompleteAbort' }));
    log.remove('c');
    log.store(ongoing('a', { state: 'PrepareCommit' }));
    const reopened = h.open(); // crashed is abandoned, like a killed process
    expect(snapshot(makeLog(reopened).log.load())).toEqual(snapshot([ongoing('a', { state: 'PrepareCommit' }), ongoing('b')]));
  });
});

// ---------------------------------------------------------------------------------------------
// producer ids

describe('producer id allocation', () => {
  it('FileProducerIds reserves a block on disk before handing out ids, and never repeats an id across reopen', () => {
    const dir = tmpDir();
    const file = path.join(dir, PRODUCER_ID_BLOCK_FILE);
    const seen = new Set<bigint>();
    const take = (ids: FileProducerIds, n: number): bigint[] => {
      const out: bigint[] = [];
      for (let i = 0; i < n; i++) {
        const id = ids.next();
        expect(seen.has(id)).toBe(false);
        seen.add(id);
        out.push(id);
      }
      return out;
    };
    expect(fs.existsSync(file)).toBe(false);
    const first = new FileProducerIds(dir);
    expect(fs.existsSync(file)).toBe(false); // nothing reserved before the first id
    expect(take(first, 3)).toEqual([0n, 1n, 2n]);
    expect(fs.readFileSync(file, 'utf8')).toMatch(new RegExp(`^next\\.block\\.start=${BLOCK_SIZE}$`, 'm'));
    // Reopen (a restart or a kill -9: the file is all there is): the rest of the block is skipped.
    const second = new FileProducerIds(dir);
    expect(take(second, 1)).toEqual([BLOCK_SIZE]);
    expect(fs.readFileSync(file, 'utf8')).toMatch(new RegExp(`^next\\.block\\.start=${2n * BLOCK_SIZE}$`, 'm'));
    // Crossing a block boundary reserves the next block.
    take(second, Number(BLOCK_SIZE));
    expect(fs.readFileSync(file, 'utf8')).toMatch(new RegExp(`^next\\.block\\.start=${3n * BLOCK_SIZE}$`, 'm'));
    for (let i = 0; i < 5; i++) take(new FileProducerIds(dir), 7);
    expect(seen.size).toBe(3 + 1 + Number(BLOCK_SIZE) + 35);
    expect([...seen].every((id) => id >= 0n)).toBe(true);
  });

  it('FileProducerIds refuses a malformed block file instead of starting over at 0', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, PRODUCER_ID_BLOCK_FILE), 'garbage\n');
    expect(() => new FileProducerIds(dir)).toThrow(/malformed/);
  });

  it('MemoryProducerIds hands out distinct ids', () => {
    const ids = new MemoryProducerIds();
    const seen = new Set(Array.from({ length: 1000 }, () => ids.next()));
    expect(seen.size).toBe(1000);
  });
});
