// Keys and values of __transaction_state records, in Kafka's own formats (apache/kafka
// transaction-coordinator/src/main/resources/common/message/TransactionLogKey.json and
// TransactionLogValue.json), so Kafka's tools (kafka-dump-log --transaction-log-decoder) read them.
//
// Both start with an int16 version.
//   TransactionLogKey   v0: transactionalId string
//   TransactionLogValue v0: producerId int64, producerEpoch int16, transactionTimeoutMs int32,
//                           transactionStatus int8, transactionPartitions nullable
//                           [topic string, partitionIds [int32]], transactionLastUpdateTimestampMs
//                           int64, transactionStartTimestampMs int64
//                       v1: the same, flexible (compact strings/arrays, tagged fields:
//                           0 previousProducerId int64, 1 nextProducerId int64,
//                           2 clientTransactionVersion int16)
// Brook writes v0 (what Kafka writes without transaction.version 2) and reads both. A null value
// is a tombstone (expired transactional id).

import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';
import { TXN_STATES, txnStateId, type TxnMetadata } from './types.js';

export class TxnRecordError extends Error {
  override readonly name = 'TxnRecordError';
}

function check(r: Reader, what: string): void {
  if (r.error !== undefined) throw new TxnRecordError(`malformed ${what}: ${r.error}`);
}

export function encodeTxnKey(transactionalId: string): Buffer {
  const w = new Writer(4 + transactionalId.length * 3);
  w.int16(0);
  w.string(transactionalId);
  return Buffer.from(w.finish());
}

export function decodeTxnKey(key: Buffer): string {
  const r = new Reader(key);
  const version = r.int16();
  if (version !== 0) throw new TxnRecordError(`unknown TransactionLogKey version ${version}`);
  const id = r.string();
  check(r, 'TransactionLogKey');
  return id;
}

export function encodeTxnValue(m: TxnMetadata): Buffer {
  const w = new Writer(64);
  w.int16(0);
  w.int64(m.producerId);
  w.int16(m.producerEpoch);
  w.int32(m.txnTimeoutMs);
  w.int8(txnStateId(m.state));
  if (m.state === 'Empty') {
    w.arrayLength(null);
  } else {
    w.arrayLength(m.partitions.size);
    for (const [topic, parts] of m.partitions) {
      w.string(topic);
      w.arrayLength(parts.size);
      for (const p of parts) w.int32(p);
    }
  }
  w.int64(BigInt(m.txnLastUpdateTimestamp));
  w.int64(BigInt(m.txnStartTimestamp));
  return Buffer.from(w.finish());
}

export function decodeTxnValue(transactionalId: string, value: Buffer): TxnMetadata {
  const r = new Reader(value);
  const version = r.int16();
  if (version !== 0 && version !== 1) throw new TxnRecordError(`unknown TransactionLogValue version ${version}`);
  const flexible = version === 1;
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const txnTimeoutMs = r.int32();
  const status = r.int8();
  const n = flexible ? r.compactArrayLength() : r.arrayLength();
  const partitions = new Map<string, Set<number>>();
  for (let i = 0; i < n && r.error === undefined; i++) {
    const topic = flexible ? r.compactString() : r.string();
    const m = flexible ? r.compactArrayLength() : r.arrayLength();
    const set = new Set<number>();
    for (let j = 0; j < m && r.error === undefined; j++) set.add(r.int32());
    if (flexible) r.taggedFields();
    partitions.set(topic, set);
  }
  const txnLastUpdateTimestamp = Number(r.int64());
  const txnStartTimestamp = Number(r.int64());
  let previousProducerId = -1n;
  if (flexible) {
    r.taggedFields((tag, tr) => {
      if (tag === 0) {
        previousProducerId = tr.int64();
        return true;
      }
      return false;
    });
  }
  check(r, `TransactionLogValue v${version}`);
  const state = TXN_STATES[status];
  if (state === undefined) throw new TxnRecordError(`unknown transaction status ${status}`);
  return {
    transactionalId,
    producerId,
    previousProducerId,
    producerEpoch,
    lastProducerEpoch: -1,
    txnTimeoutMs,
    state,
    partitions,
    txnStartTimestamp,
    txnLastUpdateTimestamp,
  };
}
