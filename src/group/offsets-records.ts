// Keys and values of the records in __consumer_offsets, in Kafka's own formats so that Kafka's
// tools (kafka-dump-log --offsets-decoder, kafka-console-consumer with the offsets formatters)
// read Brook's log. Layouts follow apache/kafka group-coordinator/src/main/resources/common/
// message/{OffsetCommitKey,OffsetCommitValue,GroupMetadataKey,GroupMetadataValue}.json.
//
// Every key and value starts with an int16 version. For keys the version doubles as the record
// type: 0 and 1 are OffsetCommitKey, 2 is GroupMetadataKey (later numbers belong to the KIP-848
// coordinator's records, which Brook neither writes nor reads). A null value is a tombstone.
//
// Versions written (the ones Kafka itself writes since 2.3; both values are the newest
// non-flexible versions, so no tagged fields and only classic int16-length strings / int32-length
// bytes):
//   OffsetCommitKey      v1: group string, topic string, partition int32
//   OffsetCommitValue    v3: offset int64, leaderEpoch int32, metadata string, commitTimestamp int64
//                        v1 when the commit has an expireTimestamp (v3 has no such field):
//                            offset int64, metadata string, commitTimestamp int64, expireTimestamp int64
//   GroupMetadataKey     v2: group string
//   GroupMetadataValue   v3: protocolType string, generation int32, protocol nullable string,
//                            leader nullable string, currentStateTimestamp int64,
//                            members [memberId string, groupInstanceId nullable string,
//                                     clientId string, clientHost string, rebalanceTimeout int32,
//                                     sessionTimeout int32, subscription bytes, assignment bytes]
// Versions 4 of both values are flexible (compact strings, tagged fields); they are read (with
// 0..3) but never written.
//
// Mapping to Brook's types, as Kafka does it:
//   - OffsetCommitValue.metadata is not nullable: a null metadata is written as "" (Kafka's
//     OffsetAndMetadata.NO_METADATA), so it loads as "".
//   - GroupMetadataValue.protocolType is not nullable: null is written as "" and "" loads as null.
//   - A member's protocol list is not in GroupMetadataValue, only the subscription metadata of the
//     group's selected protocol. It is written from the member's entry for protocolName (empty if
//     none) and loads as `protocols: [{ name: protocolName, metadata: subscription }]` (or [] when
//     the group has no protocol). The next rebalance brings the members' full lists again.
//   - Absent fields of older versions take the specs' defaults: leaderEpoch -1, expireTimestamp -1,
//     currentStateTimestamp -1, groupInstanceId null; rebalanceTimeout (v0) is the session timeout.

import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';
import type { CommittedOffset, GroupSnapshot, MemberSnapshot } from './types.js';

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
/** OffsetCommitValue version for commits without an expireTimestamp. */
export const OFFSET_COMMIT_VALUE_VERSION = 3;
/** OffsetCommitValue version for commits with an expireTimestamp (the only version with the field). */
export const OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1;
export const GROUP_METADATA_VALUE_VERSION = 3;
/** Highest value versions this module reads (4 = first flexible version of both). */
export const MAX_OFFSET_COMMIT_VALUE_VERSION = 4;
export const MAX_GROUP_METADATA_VALUE_VERSION = 4;

/** A key or value that cannot be decoded (corrupt, or a version Brook does not know). */
export class OffsetsRecordError extends Error {
  override readonly name = 'OffsetsRecordError';
}

export type OffsetsRecordKey =
  | { type: 'offset'; group: string; topic: string; partition: number }
  | { type: 'group'; group: string };

/** One decoded record: the value is null for a tombstone. */
export type OffsetsRecord =
  | { type: 'offset'; group: string; topic: string; partition: number; value: CommittedOffset | null }
  | { type: 'group'; group: string; value: GroupSnapshot | null };

function done(w: Writer): Buffer {
  return Buffer.from(w.finish());
}

function check(r: Reader, what: string): void {
  if (r.error !== undefined) throw new OffsetsRecordError(`malformed ${what}: ${r.error}`);
}

// ---- keys ----

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Buffer {
  const w = new Writer(8 + group.length + topic.length);
  w.int16(OFFSET_COMMIT_KEY_VERSION);
  w.string(group);
  w.string(topic);
  w.int32(partition);
  return done(w);
}

export function encodeGroupMetadataKey(group: string): Buffer {
  const w = new Writer(4 + group.length);
  w.int16(GROUP_METADATA_KEY_VERSION);
  w.string(group);
  return done(w);
}

export function decodeOffsetsKey(key: Buffer): OffsetsRecordKey {
  const r = new Reader(key);
  const version = r.int16();
  check(r, 'key');
  if (version === 0 || version === 1) {
    const group = r.string();
    const topic = r.string();
    const partition = r.int32();
    check(r, `OffsetCommitKey v${version}`);
    return { type: 'offset', group, topic, partition };
  }
  if (version === 2) {
    const group = r.string();
    check(r, 'GroupMetadataKey v2');
    return { type: 'group', group };
  }
  throw new OffsetsRecordError(`unknown key version (record type) ${version}`);
}

// ---- OffsetCommitValue ----

export function encodeOffsetCommitValue(o: CommittedOffset): Buffer {
  const metadata = o.metadata ?? '';
  const w = new Writer(32 + metadata.length);
  if (o.expireTimestamp !== -1) {
    w.int16(OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY);
    w.int64(o.offset);
    w.string(metadata);
    w.int64(BigInt(o.commitTimestamp));
    w.int64(BigInt(o.expireTimestamp));
  } else {
    w.int16(OFFSET_COMMIT_VALUE_VERSION);
    w.int64(o.offset);
    w.int32(o.leaderEpoch);
    w.string(metadata);
    w.int64(BigInt(o.commitTimestamp));
  }
  return done(w);
}

/** The value of an OffsetCommitKey record (topic and partition come from the key). */
export function decodeOffsetCommitValue(value: Buffer, topic: string, partition: number): CommittedOffset {
  const r = new Reader(value);
  const version = r.int16();
  check(r, 'OffsetCommitValue');
  if (version < 0 || version > MAX_OFFSET_COMMIT_VALUE_VERSION) {
    throw new OffsetsRecordError(`unknown OffsetCommitValue version ${version}`);
  }
  const flexible = version >= 4;
  const offset = r.int64();
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = flexible ? r.compactString() : r.string();
  const commitTimestamp = r.int64();
  const expireTimestamp = version === 1 ? r.int64() : -1n;
  if (flexible) r.taggedFields();
  check(r, `OffsetCommitValue v${version}`);
  return {
    topic,
    partition,
    offset,
    leaderEpoch,
    metadata,
    commitTimestamp: Number(commitTimestamp),
    expireTimestamp: Number(expireTimestamp),
  };
}

// ---- GroupMetadataValue ----

export function encodeGroupMetadataValue(g: GroupSnapshot): Buffer {
  const w = new Writer(256);
  w.int16(GROUP_METADATA_VALUE_VERSION);
  w.string(g.protocolType ?? '');
  w.int32(g.generationId);
  w.nullableString(g.protocolName);
  w.nullableString(g.leaderId);
  w.int64(BigInt(g.stateTimestamp));
  w.int32(g.members.length);
  for (const m of g.members) {
    // Only the selected protocol's metadata has a place in the record (see the header).
    const subscription = g.protocolName === null ? undefined : m.protocols.find((p) => p.name === g.protocolName)?.metadata;
    w.string(m.memberId);
    w.nullableString(m.groupInstanceId);
    w.string(m.clientId);
    w.string(m.clientHost);
    w.int32(m.rebalanceTimeoutMs);
    w.int32(m.sessionTimeoutMs);
    w.bytes(subscription ?? Buffer.alloc(0));
    w.bytes(m.assignment);
  }
  return done(w);
}

/** The value of a GroupMetadataKey record. Byte fields are copies (they outlive the batch). */
export function decodeGroupMetadataValue(value: Buffer, groupId: string): GroupSnapshot {
  const r = new Reader(value);
  const version = r.int16();
  check(r, 'GroupMetadataValue');
  if (version < 0 || version > MAX_GROUP_METADATA_VALUE_VERSION) {
    throw new OffsetsRecordError(`unknown GroupMetadataValue version ${version}`);
  }
  const flexible = version >= 4;
  const str = (): string => (flexible ? r.compactString() : r.string());
  const nstr = (): string | null => (flexible ? r.compactNullableString() : r.nullableString());
  const bytes = (): Buffer => Buffer.from(flexible ? r.compactBytes() : r.bytes());

  const protocolType = str();
  const generationId = r.int32();
  const protocolName = nstr();
  const leaderId = nstr();
  const stateTimestamp = version >= 2 ? r.int64() : -1n;
  const count = flexible ? r.compactArrayLength() : r.arrayLength();
  if (count < 0) r.fail('members array is null');
  const members: MemberSnapshot[] = [];
  for (let i = 0; i < count && r.error === undefined; i++) {
    const memberId = str();
    const groupInstanceId = version >= 3 ? nstr() : null;
    const clientId = str();
    const clientHost = str();
    const rebalanceTimeout = version >= 1 ? r.int32() : undefined;
    const sessionTimeoutMs = r.int32();
    const subscription = bytes();
    const assignment = bytes();
    if (flexible) r.taggedFields();
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      rebalanceTimeoutMs: rebalanceTimeout ?? sessionTimeoutMs,
      sessionTimeoutMs,
      // Rebuilt from the selected protocol's subscription (see the header).
      protocols: protocolName === null ? [] : [{ name: protocolName, metadata: subscription }],
      assignment,
    });
  }
  if (flexible) r.taggedFields();
  check(r, `GroupMetadataValue v${version}`);
  return {
    groupId,
    protocolType: protocolType === '' ? null : protocolType,
    protocolName,
    generationId,
    leaderId,
    stateTimestamp: Number(stateTimestamp),
    members,
  };
}

// ---- whole records ----

/** Decodes one record of __consumer_offsets; throws OffsetsRecordError when it cannot. */
export function decodeOffsetsRecord(key: Buffer | null, value: Buffer | null): OffsetsRecord {
  if (key === null) throw new OffsetsRecordError('record has no key');
  const k = decodeOffsetsKey(key);
  if (k.type === 'offset') {
    return { ...k, value: value === null ? null : decodeOffsetCommitValue(value, k.topic, k.partition) };
  }
  return { ...k, value: value === null ? null : decodeGroupMetadataValue(value, k.group) };
}
