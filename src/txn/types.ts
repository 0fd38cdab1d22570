// Types of the transaction coordinator (src/txn/coordinator.ts) and its durable state
// (src/txn/txn-log.ts, records in txn-records.ts). Kafka outcomes travel as error codes.

/** Kafka's TransactionState, with its ids in __transaction_state. */
export const TXN_STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence'] as const;
export type TxnState = (typeof TXN_STATES)[number];

export function txnStateId(s: TxnState): number {
  return TXN_STATES.indexOf(s);
}

/** Which states a transition may come from (Kafka's TransactionState.validPreviousStates). */
export const VALID_PREVIOUS: Readonly<Record<TxnState, readonly TxnState[]>> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing', 'PrepareEpochFence'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteAbort', 'CompleteCommit'],
  PrepareEpochFence: ['Ongoing'],
};

/** One transactional id's state (Kafka's TransactionMetadata). */
export interface TxnMetadata {
  transactionalId: string;
  producerId: bigint;
  /** Producer id before the last rotation (epoch exhaustion), -1 if none. */
  previousProducerId: bigint;
  producerEpoch: number;
  /** Epoch before the last bump, -1 if none (lets a retried InitProducerId see its own bump). */
  lastProducerEpoch: number;
  txnTimeoutMs: number;
  state: TxnState;
  /** topic -> partitions of the open transaction. */
  partitions: Map<string, Set<number>>;
  txnStartTimestamp: number;
  txnLastUpdateTimestamp: number;
}

/** Durable transaction state: __transaction_state, replayed at start. */
export interface TxnPersistence {
  load(): TxnMetadata[];
  /** Replays one partition only (explicit ownership: required for that mode). */
  loadPartition?(partition: number): TxnMetadata[];
  /** The partition is no longer owned here. */
  unloadPartition?(partition: number): void;
  /** The __transaction_state partition of a transactional id. */
  partitionFor?(transactionalId: string): number;
  /** Writes the transactional id's current state (one record). */
  store(meta: TxnMetadata): void;
  /** Tombstones an expired transactional id. */
  remove(transactionalId: string): void;
}

/**
 * Appends transaction markers: the replica manager on a single node (synchronous), or in a
 * cluster a writer that sends WriteTxnMarkers to the partition's leader (a promise). The answer is
 * an error code (Kafka's WriteTxnMarkers partition errors); a throw or rejection is a failure to
 * retry (a disk error, a connection error).
 */
export interface MarkerWriter {
  writeTxnMarker(topic: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch: number): number | Promise<number>;
}

export interface InitProducerIdInput {
  transactionalId: string | null;
  transactionTimeoutMs: number;
  /** KIP-360 (v3+): the producer's current id and epoch, -1/-1 when none. */
  producerId: bigint;
  producerEpoch: number;
}

export interface InitProducerIdResult {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

export interface TxnPartitions {
  topic: string;
  partitions: number[];
}

export interface DescribedTxn {
  errorCode: number;
  transactionalId: string;
  transactionState: string;
  transactionTimeoutMs: number;
  transactionStartTimeMs: bigint;
  producerId: bigint;
  producerEpoch: number;
  topics: TxnPartitions[];
}

export interface ListedTxn {
  transactionalId: string;
  producerId: bigint;
  transactionState: string;
}
