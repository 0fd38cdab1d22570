// __consumer_offsets persistence: Kafka's record formats (offsets-records.ts), group placement,
// and OffsetsLog (store/load/tombstones, durability, compaction by the log cleaner, crash safety,
// corrupt records) against the memory store and the file store.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomUuid } from '../../protocol/primitives/uuid.js';
import { decodeBatches, encodeRecordBatch } from '../../protocol/records/index.js';
import {
  DEFAULT_OFFSETS_TOPIC_PARTITIONS,
  javaStringHashCode,
  OFFSETS_TOPIC,
  OffsetsLog,
  partitionForGroup,
  type OffsetsLogTopics,
} from '../../src/group/offsets-log.js';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsKey,
  decodeOffsetsRecord,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  OffsetsRecordError,
} from '../../src/group/offsets-records.js';
import type { CommittedOffset, GroupSnapshot } from '../../src/group/types.js';
import type { CompactionConfig } from '../../src/log/cleaner.js';

/** A compaction pass that runs whatever the dirty ratio (the broker's cleaner decides when). */
const CLEAN_NOW: CompactionConfig = { deleteRetentionMs: 86_400_000, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, minCleanableDirtyRatio: 0 };
import { openFileStore } from '../../src/log/file-store.js';
import { createMemoryStore } from '../../src/log/memory-store.js';
import { DEFAULT_LOG_CONFIG, type LogStore, type PartitionLog } from '../../src/log/types.js';

// ---------------------------------------------------------------------------------------------
// fixtures

let tmpDirs: string[] = [];
let openStores: LogStore[] = [];

afterEach(() => {
  vi.restoreAllMocks();
  for (const s of openStores) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
  openStores = [];
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  tmpDirs = [];
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-offsets-'));
  tmpDirs.push(d);
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
      store ??= createMemoryStore({ logConfig: DEFAULT_LOG_CONFIG });
      openStores.push(store);
      return store;
    },
  };
}

function fileHarness(dir = tmpDir()): Harness {
  return {
    name: 'file',
    open: () => {
      const s = openFileStore(dir, { logConfig: DEFAULT_LOG_CONFIG });
      openStores.push(s);
      return s;
    },
  };
}

/** The adapter the broker's TopicManager stands in for. `overrides` replace topic configs. */
function topicsOver(store: LogStore, overrides: Record<string, string> = {}): OffsetsLogTopics & { created: Array<{ name: string; partitions: number; configs: Record<string, string> }> } {
  const created: Array<{ name: string; partitions: number; configs: Record<string, string> }> = [];
  return {
    created,
    get: (name) => store.getTopic(name),
    createInternal: (name, numPartitions, configs) => {
      created.push({ name, partitions: numPartitions, configs });
      store.createTopic({ name, topicId: randomUuid(), numPartitions, replicationFactor: 1, configs: { ...configs, ...overrides } });
    },
  };
}

function captureLogger() {
  const warns: Array<{ obj: object; msg: string }> = [];
  const infos: Array<{ obj: object; msg: string }> = [];
  return {
    warns,
    infos,
    logger: {
      warn: (obj: object, msg: string) => void warns.push({ obj, msg }),
      info: (obj: object, msg: string) => void infos.push({ obj, msg }),
    },
  };
}

interface MakeOptions {
  numPartitions?: number;
  overrides?: Record<string, string>;
  now?: () => number;
}

function makeLog(store: LogStore, o: MakeOptions = {}) {
  const cap = captureLogger();
  const topics = topicsOver(store, o.overrides);
  const log = new OffsetsLog({
    store,
    topics,
    numPartitions: o.numPartitions ?? 5,
    logger: cap.logger,
    now: o.now ?? (() => 1_700_000_000_000),
  });
  return { log, topics, ...cap };
}

function offset(topic: string, partition: number, off: bigint, extra: Partial<CommittedOffset> = {}): CommittedOffset {
  return { topic, partition, offset: off, leaderEpoch: 3, metadata: `m${off}`, commitTimestamp: 1_700_000_000_123, expireTimestamp: -1, ...extra };
}

function group(groupId: string, generationId = 1, extra: Partial<GroupSnapshot> = {}): GroupSnapshot {
  return {
    groupId,
    protocolType: 'consumer',
    protocolName: 'range',
    generationId,
    leaderId: 'm1',
    stateTimestamp: 1_700_000_000_456,
    members: [
      {
        memberId: 'm1',
        groupInstanceId: null,
        clientId: 'client-1',
        clientHost: '/127.0.0.1',
        rebalanceTimeoutMs: 300000,
        sessionTimeoutMs: 45000,
        protocols: [{ name: 'range', metadata: Buffer.from([0, 1, 2]) }],
        assignment: Buffer.from([9, 8, 7]),
      },
      {
        memberId: 'm2',
        groupInstanceId: 'instance-2',
        clientId: 'client-2',
        clientHost: '/10.0.0.2',
        rebalanceTimeoutMs: 60000,
        sessionTimeoutMs: 10000,
        protocols: [{ name: 'range', metadata: Buffer.from([5]) }],
        assignment: Buffer.alloc(0),
      },
    ],
    ...extra,
  };
}

/** Loaded state as plain sorted data, for comparisons. */
function snapshot(state: { groups: GroupSnapshot[]; offsets: Map<string, CommittedOffset[]> }) {
  const offsets: Record<string, CommittedOffset[]> = {};
  for (const [g, list] of [...state.offsets].sort(([a], [b]) => a.localeCompare(b))) {
    offsets[g] = [...list].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }
  return { groups: [...state.groups].sort((a, b) => a.groupId.localeCompare(b.groupId)), offsets };
}

/** Every stored batch of a partition from its log start. */
function batchesOf(p: PartitionLog): Buffer[] {
  const out: Buffer[] = [];
  let next = p.logStartOffset;
  while (next < p.logEndOffset) {
    const { chunks } = p.read(next, 1 << 20, true);
    if (chunks.length === 0) break;
    for (const c of chunks) {
      out.push(c);
      next = c.readBigInt64BE(0) + BigInt(c.readInt32BE(23)) + 1n;
    }
  }
  return out;
}

function logBytes(p: PartitionLog): number {
  return batchesOf(p).reduce((n, b) => n + b.length, 0);
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const str16 = (s: string): string => Buffer.byteLength(s).toString(16).padStart(4, '0') + Buffer.from(s).toString('hex');

// ---------------------------------------------------------------------------------------------
// record formats

describe('__consumer_offsets record formats', () => {
  it('OffsetCommitKey v1 and OffsetCommitValue v3 bytes match Kafka\'s layout', () => {
    // OffsetCommitKey v1: version int16, group string, topic string, partition int32
    expect(encodeOffsetCommitKey('g', 't', 3)).toEqual(hex('0001 0001 67 0001 74 00000003'));
    // OffsetCommitValue v3: version, offset int64, leaderEpoch int32, metadata string, commitTimestamp int64
    const v = encodeOffsetCommitValue({ topic: 't', partition: 3, offset: 42n, leaderEpoch: 5, metadata: 'm', commitTimestamp: 1000, expireTimestamp: -1 });
    expect(v).toEqual(hex('0003 000000000000002a 00000005 0001 6d 00000000000003e8'));
  });

  it('writes OffsetCommitValue v1 (no leader epoch) when there is an expireTimestamp', () => {
    const v = encodeOffsetCommitValue({ topic: 't', partition: 0, offset: 7n, leaderEpoch: 5, metadata: '', commitTimestamp: 1000, expireTimestamp: 2000 });
    // version 1: offset, metadata, commitTimestamp, expireTimestamp
    expect(v).toEqual(hex('0001 0000000000000007 0000 00000000000003e8 00000000000007d0'));
    expect(decodeOffsetCommitValue(v, 't', 0)).toEqual({ topic: 't', partition: 0, offset: 7n, leaderEpoch: -1, metadata: '', commitTimestamp: 1000, expireTimestamp: 2000 });
  });

  it('GroupMetadataKey v2 and GroupMetadataValue v3 bytes match Kafka\'s layout', () => {
    expect(encodeGroupMetadataKey('grp')).toEqual(hex('0002 0003 677270'));
    const g: GroupSnapshot = {
      groupId: 'grp',
      protocolType: 'consumer',
      protocolName: 'range',
      generationId: 1,
      leaderId: 'm1',
      stateTimestamp: 1000,
      members: [
        {
          memberId: 'm1',
          groupInstanceId: null,
          clientId: 'c',
          clientHost: '/h',
          rebalanceTimeoutMs: 300000,
          sessionTimeoutMs: 45000,
          protocols: [
            { name: 'roundrobin', metadata: Buffer.from([0xee]) },
            { name: 'range', metadata: Buffer.from([1, 2]) },
          ],
          assignment: Buffer.from([3]),
        },
      ],
    };
    const expected =
      '0003' + str16('consumer') + '00000001' + str16('range') + str16('m1') + '00000000000003e8' + '00000001' +
      str16('m1') + 'ffff' + str16('c') + str16('/h') + '000493e0' + '0000afc8' + '00000002 0102' + '00000001 03';
    expect(encodeGroupMetadataValue(g)).toEqual(hex(expected));
  });

  it('round-trips every record type through decodeOffsetsRecord', () => {
    const o = offset('orders', 7, 123456789012n);
    expect(decodeOffsetsRecord(encodeOffsetCommitKey('g1', 'orders', 7), encodeOffsetCommitValue(o))).toEqual({
      type: 'offset',
      group: 'g1',
      topic: 'orders',
      partition: 7,
      value: o,
    });
    const withExpiry = offset('orders', 7, 5n, { expireTimestamp: 1_800_000_000_000, leaderEpoch: -1 });
    expect(decodeOffsetsRecord(encodeOffsetCommitKey('g1', 'orders', 7), encodeOffsetCommitValue(withExpiry)).value).toEqual(withExpiry);
    expect(decodeOffsetsRecord(encodeOffsetCommitKey('g1', 'orders', 7), null)).toEqual({ type: 'offset', group: 'g1', topic: 'orders', partition: 7, value: null });

    const g = group('g1', 4);
    expect(decodeOffsetsRecord(encodeGroupMetadataKey('g1'), encodeGroupMetadataValue(g))).toEqual({ type: 'group', group: 'g1', value: g });
    expect(decodeOffsetsRecord(encodeGroupMetadataKey('g1'), null)).toEqual({ type: 'group', group: 'g1', value: null });
    // Non-ASCII names survive (UTF-8 in classic strings).
    expect(decodeOffsetsKey(encodeOffsetCommitKey('grüppe-日本', 'tópic', 0))).toEqual({ type: 'offset', group: 'grüppe-日本', topic: 'tópic', partition: 0 });
  });

  it('maps what Kafka\'s formats cannot hold the way Kafka does', () => {
    // null metadata is stored as "" (OffsetAndMetadata.NO_METADATA)
    const v = encodeOffsetCommitValue(offset('t', 0, 1n, { metadata: null }));
    expect(decodeOffsetCommitValue(v, 't', 0).metadata).toBe('');
    // null protocolType is "", and "" loads as null; an empty group has no protocol
    const empty: GroupSnapshot = { groupId: 'e', protocolType: null, protocolName: null, generationId: 0, leaderId: null, stateTimestamp: -1, members: [] };
    expect(decodeGroupMetadataValue(encodeGroupMetadataValue(empty), 'e')).toEqual(empty);
    // only the selected protocol's subscription is kept; protocols are rebuilt from it
    const g = group('g');
    g.members[0]!.protocols = [
      { name: 'cooperative-sticky', metadata: Buffer.from('sticky') },
      { name: 'range', metadata: Buffer.from('range-sub') },
    ];
    const loaded = decodeGroupMetadataValue(encodeGroupMetadataValue(g), 'g');
    expect(loaded.members[0]!.protocols).toEqual([{ name: 'range', metadata: Buffer.from('range-sub') }]);
    // a member without the selected protocol gets an empty subscription
    g.members[1]!.protocols = [{ name: 'roundrobin', metadata: Buffer.from('rr') }];
    expect(decodeGroupMetadataValue(encodeGroupMetadataValue(g), 'g').members[1]!.protocols).toEqual([{ name: 'range', metadata: Buffer.alloc(0) }]);
  });

  it('reads older versions (key v0, OffsetCommitValue v0/v2, GroupMetadataValue v0-v2)', () => {
    // OffsetCommitKey v0 has the v1 layout
    expect(decodeOffsetsKey(hex('0000 0001 67 0001 74 00000001'))).toEqual({ type: 'offset', group: 'g', topic: 't', partition: 1 });
    // OffsetCommitValue v0 and v2: offset, metadata, commitTimestamp
    for (const version of ['0000', '0002']) {
      expect(decodeOffsetCommitValue(hex(version + '0000000000000009 0002 6d6d 00000000000003e8'), 't', 1)).toEqual({
        topic: 't',
        partition: 1,
        offset: 9n,
        leaderEpoch: -1,
        metadata: 'mm',
        commitTimestamp: 1000,
        expireTimestamp: -1,
      });
    }
    const head = str16('consumer') + '00000002' + str16('range') + str16('m');
    const member0 = str16('m') + str16('c') + str16('/h') + '00001388' + '00000001 aa' + '00000000';
    const v0 = decodeGroupMetadataValue(hex('0000' + head + '00000001' + member0), 'g');
    expect(v0).toMatchObject({ generationId: 2, stateTimestamp: -1, leaderId: 'm' });
    expect(v0.members[0]).toEqual({
      memberId: 'm',
      groupInstanceId: null,
      clientId: 'c',
      clientHost: '/h',
      rebalanceTimeoutMs: 5000, // v0 has none: the session timeout
      sessionTimeoutMs: 5000,
      protocols: [{ name: 'range', metadata: Buffer.from([0xaa]) }],
      assignment: Buffer.alloc(0),
    });
    const member1 = str16('m') + str16('c') + str16('/h') + '00002710' + '00001388' + '00000000' + '00000000';
    const v1 = decodeGroupMetadataValue(hex('0001' + head + '00000001' + member1), 'g');
    expect(v1.members[0]!.rebalanceTimeoutMs).toBe(10000);
    const v2 = decodeGroupMetadataValue(hex('0002' + head + '00000000000007d0' + '00000001' + member1), 'g');
    expect(v2.stateTimestamp).toBe(2000);
    expect(v2.members[0]!.groupInstanceId).toBeNull();
  });

  it('reads the flexible version 4 of both values', () => {
    // offset, leaderEpoch, compact string, commitTimestamp, no tagged fields
    const o = decodeOffsetCommitValue(hex('0004 0000000000000011 00000002 03 6d6d 00000000000003e8 00'), 't', 0);
    expect(o).toMatchObject({ offset: 17n, leaderEpoch: 2, metadata: 'mm', commitTimestamp: 1000, expireTimestamp: -1 });
    // with an unknown tagged field (tag 5, 2 bytes) that must be skipped
    expect(decodeOffsetCommitValue(hex('0004 0000000000000011 00000002 01 00000000000003e8 01 05 02 abcd'), 't', 0).metadata).toBe('');
    const c = (s: string) => (Buffer.byteLength(s) + 1).toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
    const g = decodeGroupMetadataValue(
      hex(
        '0004' + c('consumer') + '00000003' + c('range') + c('m1') + '00000000000003e8' + '02' +
          c('m1') + c('inst') + c('c') + c('/h') + '00007530' + '00002710' + '03 0102' + '02 03' + '00' + '00',
      ),
      'g',
    );
    expect(g).toEqual({
      groupId: 'g',
      protocolType: 'consumer',
      protocolName: 'range',
      generationId: 3,
      leaderId: 'm1',
      stateTimestamp: 1000,
      members: [
        {
          memberId: 'm1',
          groupInstanceId: 'inst',
          clientId: 'c',
          clientHost: '/h',
          rebalanceTimeoutMs: 30000,
          sessionTimeoutMs: 10000,
          protocols: [{ name: 'range', metadata: Buffer.from([1, 2]) }],
          assignment: Buffer.from([3]),
        },
      ],
    });
  });

  it('rejects unknown versions and malformed bytes with OffsetsRecordError', () => {
    expect(() => decodeOffsetsKey(hex('0003 0001 67'))).toThrow(OffsetsRecordError); // ConsumerGroupMetadataKey: not ours
    expect(() => decodeOffsetsKey(hex('00'))).toThrow(OffsetsRecordError);
    expect(() => decodeOffsetsKey(hex('0001 0005 6767'))).toThrow(OffsetsRecordError); // string past the end
    expect(() => decodeOffsetCommitValue(hex('0005 0000000000000001'), 't', 0)).toThrow(/unknown OffsetCommitValue version 5/);
    expect(() => decodeOffsetCommitValue(hex('0003 000000000000'), 't', 0)).toThrow(OffsetsRecordError);
    expect(() => decodeGroupMetadataValue(hex('0007'), 'g')).toThrow(/unknown GroupMetadataValue version 7/);
    expect(() => decodeGroupMetadataValue(encodeGroupMetadataValue(group('g')).subarray(0, 40), 'g')).toThrow(OffsetsRecordError);
    expect(() => decodeOffsetsRecord(null, null)).toThrow(OffsetsRecordError);
  });
});

// ---------------------------------------------------------------------------------------------
// partitioning

describe('group placement', () => {
  it('implements Java String.hashCode over UTF-16 code units (values from a JVM)', () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('a')).toBe(97);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('é')).toBe(233);
    expect(javaStringHashCode('日本')).toBe(835047);
    expect(javaStringHashCode('😀')).toBe(1772899); // a surrogate pair: two code units
    expect(javaStringHashCode('my-group')).toBe(-1906497762); // 32-bit wraparound
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
  });

  it('places groups with Utils.abs(hashCode) % partitions', () => {
    expect(DEFAULT_OFFSETS_TOPIC_PARTITIONS).toBe(50);
    expect(partitionForGroup('', 50)).toBe(0);
    expect(partitionForGroup('a', 50)).toBe(47);
    expect(partitionForGroup('hello', 50)).toBe(22);
    expect(partitionForGroup('my-group', 50)).toBe(12); // abs(-1906497762) % 50, as Kafka (jshell agrees)
    expect(partitionForGroup('polygenelubricants', 50)).toBe(0); // abs(MIN_VALUE) is 0, not negative
    expect(partitionForGroup('😀', 50)).toBe(49);
  });

  it('reads records a pre-issue-7 Brook wrote to the sign-masked partition; the owner partition wins (issue 7)', () => {
    // 'my-group' now lives in partition 12; Brook used to put it in (hash & 0x7fffffff) % 50 = 36.
    for (const order of ['old-only', 'both'] as const) {
      const store = createMemoryStore({ logConfig: DEFAULT_LOG_CONFIG });
      const topics = topicsOver(store);
      topics.createInternal('__consumer_offsets', 50, {});
      const put = (p: number, off: bigint) =>
        store.partition('__consumer_offsets', p)!.append([
          encodeRecordBatch({ records: [{ key: encodeOffsetCommitKey('my-group', 't', 0), value: encodeOffsetCommitValue(offset('t', 0, off)) }] }),
        ]);
      put(36, 5n);
      if (order === 'both') put(12, 9n); // written after the fix: newer
      const { log } = makeLog(store, { numPartitions: 50 });
      const owner = store.partition('__consumer_offsets', 12)!;
      const ownerEnd = owner.logEndOffset;
      const loaded = log.load().offsets.get('my-group')!;
      expect(loaded.map((o) => o.offset)).toEqual([order === 'both' ? 9n : 5n]);
      // Found only in the old partition: written once to the owner; a later load adds nothing.
      expect(owner.logEndOffset).toBe(order === 'both' ? ownerEnd : ownerEnd + 1n);
      const end = owner.logEndOffset;
      expect(makeLog(store, { numPartitions: 50 }).log.load().offsets.get('my-group')!.map((o) => o.offset)).toEqual([order === 'both' ? 9n : 5n]);
      expect(owner.logEndOffset).toBe(end);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// OffsetsLog against both stores

describe.each([
  ['memory', memoryHarness],
  ['file', fileHarness],
] as const)('OffsetsLog: %s store', (_name, makeHarness) => {
  it('loads nothing from a fresh store and creates the topic lazily on the first write', () => {
    const store = makeHarness().open();
    const { log, topics } = makeLog(store, { numPartitions: 7 });
    expect(log.load()).toEqual({ groups: [], offsets: new Map(), pending: [] });
    expect(store.getTopic(OFFSETS_TOPIC)).toBeUndefined();
    log.storeOffsets('g', [offset('t', 0, 1n)]);
    expect(topics.created).toEqual([
      { name: OFFSETS_TOPIC, partitions: 7, configs: { 'cleanup.policy': 'compact', 'compression.type': 'producer', 'segment.bytes': '104857600' } },
    ]);
    expect(store.getTopic(OFFSETS_TOPIC)).toMatchObject({ numPartitions: 7, configs: { 'cleanup.policy': 'compact', 'segment.bytes': '104857600' } });
    log.storeOffsets('h', [offset('t', 0, 1n)]);
    expect(topics.created).toHaveLength(1);
  });

  it('appends one batch per call to the group\'s partition, in Kafka\'s record format', () => {
    const store = makeHarness().open();
    let clock = 1_700_000_000_000;
    const { log } = makeLog(store, { numPartitions: 5, now: () => clock });
    log.load();
    const p = partitionForGroup('group-a', 5);
    log.storeOffsets('group-a', [offset('t', 0, 10n), offset('t', 1, 11n), offset('u', 0, 12n)]);
    clock += 5;
    log.storeGroup(group('group-a'));
    const plog = store.partition(OFFSETS_TOPIC, p)!;
    const batches = decodeBatches(Buffer.concat(batchesOf(plog)));
    expect(batches.map((b) => b.records.length)).toEqual([3, 1]);
    expect(batches[0]!.records.map((r) => r.timestamp)).toEqual([1_700_000_000_000n, 1_700_000_000_000n, 1_700_000_000_000n]);
    expect(batches[1]!.records[0]!.timestamp).toBe(1_700_000_000_005n);
    expect(batches[0]!.records[1]!.key).toEqual(encodeOffsetCommitKey('group-a', 't', 1));
    expect(batches[0]!.records[1]!.value).toEqual(encodeOffsetCommitValue(offset('t', 1, 11n)));
    expect(batches[1]!.records[0]!.key).toEqual(encodeGroupMetadataKey('group-a'));
    // other partitions untouched
    for (let q = 0; q < 5; q++) if (q !== p) expect(store.partition(OFFSETS_TOPIC, q)!.logEndOffset).toBe(0n);
    // an empty offset list writes nothing
    log.storeOffsets('group-a', []);
    expect(plog.logEndOffset).toBe(4n);
  });

  it('load replays groups and offsets: later wins, tombstones delete', () => {
    const store = makeHarness().open();
    const { log } = makeLog(store);
    log.load();
    log.storeGroup(group('g1', 1));
    log.storeOffsets('g1', [offset('t', 0, 1n), offset('t', 1, 2n)]);
    log.storeGroup(group('g1', 2, { leaderId: 'm2' }));
    log.storeOffsets('g1', [offset('t', 0, 100n)]);
    log.storeGroup(group('g2', 7));
    log.storeOffsets('g2', [offset('t', 0, 5n), offset('x', 3, 6n, { expireTimestamp: 1_800_000_000_000, leaderEpoch: -1 })]);
    log.storeOffsets('simple', [offset('t', 2, 9n, { metadata: null })]); // no group record (standalone consumer)
    log.deleteOffsets('g2', [{ topic: 't', partition: 0 }]);
    log.storeGroup(group('g3'));
    log.storeOffsets('g3', [offset('t', 0, 1n), offset('q', 0, 1n)]);
    // g3 deleted: the group and all its offsets, also those not named
    log.deleteGroup('g3', [{ topic: 't', partition: 0 }]);

    const expected = {
      groups: [group('g1', 2, { leaderId: 'm2' }), group('g2', 7)],
      offsets: {
        g1: [offset('t', 0, 100n), offset('t', 1, 2n)],
        g2: [offset('x', 3, 6n, { expireTimestamp: 1_800_000_000_000, leaderEpoch: -1 })],
        simple: [offset('t', 2, 9n, { metadata: '' })],
      },
    };
    expect(snapshot(log.load())).toEqual(expected);
    // a second instance over the same store sees the same
    expect(snapshot(makeLog(store).log.load())).toEqual(expected);
  });

  it('a deleted group can come back', () => {
    const store = makeHarness().open();
    const { log } = makeLog(store);
    log.storeGroup(group('g', 1)); // before any load(): loads lazily
    log.storeOffsets('g', [offset('t', 0, 1n)]);
    log.deleteGroup('g', []);
    log.storeGroup(group('g', 1, { members: [] }));
    log.storeOffsets('g', [offset('t', 0, 2n)]);
    expect(snapshot(makeLog(store).log.load())).toEqual({ groups: [group('g', 1, { members: [] })], offsets: { g: [offset('t', 0, 2n)] } });
  });

  it('uses the existing topic\'s partition count over the configured one', () => {
    const store = makeHarness().open();
    makeLog(store, { numPartitions: 3 }).log.storeOffsets('g', [offset('t', 0, 1n)]);
    const { log, warns } = makeLog(store, { numPartitions: 50 });
    expect(log.numPartitions).toBe(3);
    expect(log.partitionFor('hello')).toBe(partitionForGroup('hello', 3));
    expect(warns).toHaveLength(1);
    expect(snapshot(log.load()).offsets).toEqual({ g: [offset('t', 0, 1n)] });
  });

  it('the log cleaner compacts the topic and a reload gives the same state (issue 8)', () => {
    const store = makeHarness().open();
    const { log } = makeLog(store, { numPartitions: 3, overrides: { 'segment.bytes': '2048' } });
    log.load();
    const p = log.partitionFor('busy');
    const plog = () => store.partition(OFFSETS_TOPIC, p)!;
    for (let i = 1; i <= 300; i++) {
      log.storeOffsets('busy', [offset('t', 0, BigInt(i)), offset('t', 1, BigInt(i * 2))]);
      if (i % 50 === 0) log.storeGroup(group('busy', i / 50));
    }
    log.storeGroup(group('gone', 1));
    log.storeOffsets('gone', [offset('t', 0, 1n)]);
    log.deleteGroup('gone', []);
    const before = logBytes(plog());
    const r = plog().compact(Date.now(), CLEAN_NOW);
    expect(r.ran).toBe(true);
    expect(logBytes(plog())).toBeLessThan(before / 4);
    const expected = { groups: [group('busy', 6)], offsets: { busy: [offset('t', 0, 300n), offset('t', 1, 600n)] } };
    expect(snapshot(makeLog(store, { numPartitions: 3 }).log.load())).toEqual(expected);
    expect(snapshot(log.load())).toEqual(expected);
  });

  it('pending transactional offsets survive compaction until their marker (issue 7/8)', () => {
    const store = makeHarness().open();
    const { log } = makeLog(store, { numPartitions: 1, overrides: { 'segment.bytes': '1024' } });
    log.load();
    for (let i = 1; i <= 40; i++) log.storeOffsets('g', [offset('t', 0, BigInt(i))]);
    log.storeTxnOffsets('g', 7n, 0, [offset('t', 0, 99n)]);
    for (let i = 41; i <= 80; i++) log.storeOffsets('h', [offset('t', 0, BigInt(i))]);
    store.partition(OFFSETS_TOPIC, 0)!.compact(Date.now(), CLEAN_NOW);
    const reloaded = makeLog(store, { numPartitions: 1 }).log.load();
    expect(reloaded.pending).toEqual([{ groupId: 'g', producerId: 7n, offset: offset('t', 0, 99n) }]);
    expect(snapshot(reloaded).offsets).toEqual({ g: [offset('t', 0, 40n)], h: [offset('t', 0, 80n)] });
  });

  it('skips a corrupt or unknown record with one warning and applies the rest', () => {
    const store = makeHarness().open();
    const { log } = makeLog(store, { numPartitions: 1 });
    log.storeOffsets('g', [offset('t', 0, 1n)]);
    const plog = store.partition(OFFSETS_TOPIC, 0)!;
    const ts = 1_700_000_000_000n;
    plog.append([
      encodeRecordBatch({
        records: [
          { key: encodeOffsetCommitKey('g', 't', 1), value: encodeOffsetCommitValue(offset('t', 1, 5n)), timestamp: ts },
          { key: encodeOffsetCommitKey('g', 't', 0), value: hex('0003 0000'), timestamp: ts }, // truncated value
          { key: encodeOffsetCommitKey('g', 't', 2), value: encodeOffsetCommitValue(offset('t', 2, 7n)), timestamp: ts },
        ],
      }),
    ]);
    const fresh = makeLog(store, { numPartitions: 1 });
    expect(snapshot(fresh.log.load()).offsets).toEqual({ g: [offset('t', 0, 1n), offset('t', 1, 5n), offset('t', 2, 7n)] });
    expect(fresh.warns).toHaveLength(1);
    expect(fresh.warns[0]!.msg).toBe('skipping corrupt or unknown offsets log record');
    expect(fresh.warns[0]!.obj).toMatchObject({ partition: 0, offset: 2n });

    // unknown key version, null key, and a batch whose CRC does not match: one warning each
    plog.append([encodeRecordBatch({ records: [{ key: hex('0009 0001 67'), value: hex('0000'), timestamp: ts }, { key: null, value: null, timestamp: ts }] })]);
    const bad = encodeRecordBatch({ records: [{ key: encodeOffsetCommitKey('g', 't', 0), value: encodeOffsetCommitValue(offset('t', 0, 99n)), timestamp: ts }] });
    bad[bad.length - 3] ^= 0xff;
    plog.append([bad]);
    log.storeOffsets('g', [offset('t', 3, 8n)]);
    const third = makeLog(store, { numPartitions: 1 });
    expect(snapshot(third.log.load()).offsets).toEqual({ g: [offset('t', 0, 1n), offset('t', 1, 5n), offset('t', 2, 7n), offset('t', 3, 8n)] });
    expect(third.warns.map((w) => w.msg)).toEqual([
      'skipping corrupt or unknown offsets log record',
      'skipping corrupt or unknown offsets log record',
      'skipping corrupt or unknown offsets log record',
      'skipping offsets log batch with a CRC mismatch',
    ]);
  });

  it('ignores records below the log start inside a straddling batch', () => {
    const store = makeHarness().open();
    const { log } = makeLog(store, { numPartitions: 1 });
    log.storeOffsets('g', [offset('t', 0, 1n), offset('t', 1, 1n), offset('t', 2, 1n)]);
    store.partition(OFFSETS_TOPIC, 0)!.deleteRecordsBefore(2n);
    expect(snapshot(makeLog(store, { numPartitions: 1 }).log.load()).offsets).toEqual({ g: [offset('t', 2, 1n)] });
  });
});

// ---------------------------------------------------------------------------------------------
// file store: durability and compaction by the log cleaner

describe('OffsetsLog: file store durability', () => {
  function fill(log: OffsetsLog): void {
    log.storeGroup(group('g1', 3));
    log.storeOffsets('g1', [offset('t', 0, 10n), offset('t', 1, 20n)]);
    log.storeGroup(group('g2', 1));
    log.storeOffsets('g2', [offset('t', 0, 30n)]);
    log.deleteOffsets('g1', [{ topic: 't', partition: 1 }]);
  }
  const expected = {
    groups: [group('g1', 3), group('g2', 1)],
    offsets: { g1: [offset('t', 0, 10n)], g2: [offset('t', 0, 30n)] },
  };

  it('everything is there after a clean close and reopen', () => {
    const h = fileHarness();
    const store = h.open();
    const { log } = makeLog(store);
    log.load();
    fill(log);
    store.close();
    expect(snapshot(makeLog(h.open()).log.load())).toEqual(expected);
  });

  it('everything written is there after a kill -9 (no flush, no close)', () => {
    const h = fileHarness();
    const crashed = h.open();
    const { log } = makeLog(crashed);
    fill(log);
    openStores = openStores.filter((s) => s !== crashed); // abandoned like a killed process
    expect(snapshot(makeLog(h.open()).log.load())).toEqual(expected);
    crashed.close(); // release its fds
  });

  it('the log cleaner rewrites old segments, and the compacted log reloads after reopen (issue 8)', () => {
    const dir = tmpDir();
    const h = fileHarness(dir);
    const store = h.open();
    const { log } = makeLog(store, { numPartitions: 2, overrides: { 'segment.bytes': '1024' } });
    log.load();
    const p = log.partitionFor('busy');
    for (let i = 1; i <= 200; i++) log.storeOffsets('busy', [offset('t', 0, BigInt(i)), offset('t', 1, BigInt(i))]);
    log.storeGroup(group('busy', 9));
    const plog = store.partition(OFFSETS_TOPIC, p)!;
    const before = logBytes(plog);
    expect(plog.compact(Date.now(), CLEAN_NOW).ran).toBe(true);
    expect(logBytes(plog)).toBeLessThan(before / 4);
    store.close();
    const reopened = h.open();
    expect(snapshot(makeLog(reopened, { numPartitions: 2 }).log.load())).toEqual({
      groups: [group('busy', 9)],
      offsets: { busy: [offset('t', 0, 200n), offset('t', 1, 200n)] },
    });
  });
});
