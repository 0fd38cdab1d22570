// The revisioned key-value store under the cluster metadata store: etcd v3's data model, reduced
// to what Brook uses. Two implementations keep the same contract (test/cluster/metadata/):
// src/cluster/metadata/memory-kv.ts (in process, what a single node uses) and
// src/cluster/metadata/etcd-kv.ts (a real etcd through its v3 JSON gateway).
//
// The model, as etcd's: one store-wide revision counter; every write transaction bumps it once
// and stamps the keys it wrote (modRevision; createRevision when the key was created). A
// transaction compares keys' revisions or values and applies one of two op lists atomically, so
// "write only if nobody wrote since I read" is a compare on modRevision. A lease has a TTL in
// seconds and is kept alive by the holder; when it expires (or is revoked) every key attached to
// it is deleted in one revision. A watch delivers every change under a key or prefix from a
// start revision on, in revision order, and can be resumed from the revision after the last one
// it saw; history older than the store's compaction point is gone (COMPACTED).
//
// Revisions are numbers: etcd's are int64, but a store would need 2^53 writes to leave the safe
// range. Lease ids stay strings (etcd hands out 63-bit ids).

export interface KeyValue {
  key: string;
  /** The value as written (Brook writes JSON); '' in a delete event. */
  value: string;
  /** Revision that created the key (0 in a delete event). */
  createRevision: number;
  /** Revision of the last write to the key (the delete's revision in a delete event). */
  modRevision: number;
  /** Writes since the key was created (1 after the first put). */
  version: number;
  /** Lease the key is attached to; '0' for none. */
  lease: string;
}

/** A transaction guard. A missing key has createRevision = modRevision = version = 0. */
export type Compare =
  | { key: string; target: 'mod' | 'create' | 'version'; equals: number }
  | { key: string; target: 'value'; equals: string };

export type TxnOp =
  | { type: 'put'; key: string; value: string; lease?: string }
  | { type: 'delete'; key: string; prefix?: boolean }
  | { type: 'get'; key: string; prefix?: boolean };

export interface TxnResult {
  succeeded: boolean;
  /** The store's revision after the transaction. */
  revision: number;
  /** One entry per op of the branch that ran: the keys read for 'get', null otherwise. */
  results: (KeyValue[] | null)[];
}

export interface RangeResult {
  kvs: KeyValue[];
  /** The store's revision the read saw: a watch from revision + 1 misses nothing after it. */
  revision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
}

export interface WatchListener {
  /** Events in revision order, never twice, never with a gap, across reconnects. */
  onEvents(events: WatchEvent[]): void;
  /** The watch has ended for good (COMPACTED: re-read and watch again; CLOSED: store closed). */
  onError(err: MetadataError): void;
}

export interface WatchHandle {
  cancel(): void;
}

export type MetadataErrorCode =
  /** The store cannot be reached (etcd down or partitioned): retry later. */
  | 'UNAVAILABLE'
  /** The lease does not exist (expired or revoked). */
  | 'LEASE_NOT_FOUND'
  /** The revision asked for is older than the compaction point. */
  | 'COMPACTED'
  /** The request was refused as malformed or too large (etcd's --max-txn-ops, 128 by default). */
  | 'INVALID'
  | 'CLOSED'
  | 'INTERNAL';

export class MetadataError extends Error {
  constructor(
    readonly code: MetadataErrorCode,
    message: string,
    /** For COMPACTED: the compaction revision. */
    readonly compactRevision = 0,
  ) {
    super(message);
    this.name = 'MetadataError';
  }
}

export interface MetadataKv {
  /** One key (prefix false) or every key starting with `key`, sorted by key bytes. */
  range(key: string, options?: { prefix?: boolean }): Promise<RangeResult>;
  put(key: string, value: string, lease?: string): Promise<number>;
  /** Deletes one key or a prefix; answers the store revision after it. */
  delete(key: string, options?: { prefix?: boolean }): Promise<number>;
  txn(compare: Compare[], success: TxnOp[], failure?: TxnOp[]): Promise<TxnResult>;
  /** A new lease; etcd may raise a TTL below its minimum (1.5 election timeouts). */
  grantLease(ttlSeconds: number): Promise<{ id: string; ttlSeconds: number }>;
  /** Renews a lease: its remaining TTL in seconds, 0 when it no longer exists. */
  keepAliveLease(id: string): Promise<number>;
  /** Revokes a lease, deleting its keys; a lease that is already gone is not an error. */
  revokeLease(id: string): Promise<void>;
  /** Watches a key or prefix from `fromRevision` (inclusive). */
  watch(key: string, fromRevision: number, listener: WatchListener, options?: { prefix?: boolean }): WatchHandle;
  close(): Promise<void>;
}

/** The smallest key greater than every key starting with `prefix` (etcd's range_end), as bytes. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff: etcd's "every key from here on".
  return Buffer.from([0]);
}
