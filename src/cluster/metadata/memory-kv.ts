// The in-process MetadataKv: etcd's semantics (src/cluster/metadata/kv.ts) with no network, for a
// single node and for tests. Leases expire on the injected clock. Watch history is kept for the
// last HISTORY_LIMIT revisions; older ones count as compacted, as in an etcd with auto-compaction.
// Watch events are delivered asynchronously (never inside the write that caused them), as they
// would be from a server.

import { systemClock, type Clock, type Timer } from '../../common/clock.js';
import {
  MetadataError,
  type Compare,
  type KeyValue,
  type MetadataKv,
  type RangeResult,
  type TxnOp,
  type TxnResult,
  type WatchEvent,
  type WatchHandle,
  type WatchListener,
} from './kv.js';

const HISTORY_LIMIT = 10_000;

interface Lease {
  id: string;
  ttlSeconds: number;
  keys: Set<string>;
  timer: Timer;
}

interface Watcher {
  key: string;
  prefix: boolean;
  listener: WatchListener;
  /** The next revision this watcher has not been given yet. */
  next: number;
  cancelled: boolean;
}

interface HistoryEntry {
  revision: number;
  events: WatchEvent[];
}

function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export class MemoryKv implements MetadataKv {
  private readonly data = new Map<string, KeyValue>();
  private readonly leases = new Map<string, Lease>();
  private readonly watchers = new Set<Watcher>();
  /** One entry per write revision, oldest first. */
  private readonly history: HistoryEntry[] = [];
  /** Watches from before this revision are refused as compacted. */
  private compactRevision = 0;
  private revision = 1;
  private nextLeaseId = 1;
  private flushScheduled = false;
  private closed = false;

  constructor(private readonly clock: Clock = systemClock) {}

  async range(key: string, options: { prefix?: boolean } = {}): Promise<RangeResult> {
    this.checkOpen();
    return { kvs: this.read(key, options.prefix ?? false), revision: this.revision };
  }

  async put(key: string, value: string, lease?: string): Promise<number> {
    return (await this.txn([], [{ type: 'put', key, value, lease }])).revision;
  }

  async delete(key: string, options: { prefix?: boolean } = {}): Promise<number> {
    return (await this.txn([], [{ type: 'delete', key, prefix: options.prefix }])).revision;
  }

  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    this.checkOpen();
    const succeeded = compare.every((c) => this.holds(c));
    const ops = succeeded ? success : failure;
    // Validate before applying anything: a transaction is all or nothing.
    for (const op of ops) {
      if (op.type === 'put' && op.lease && op.lease !== '0' && !this.leases.has(op.lease)) {
        throw new MetadataError('LEASE_NOT_FOUND', `lease ${op.lease} not found`);
      }
    }
    const results: (KeyValue[] | null)[] = [];
    const events: WatchEvent[] = [];
    const rev = this.revision + 1;
    for (const op of ops) {
      if (op.type === 'get') {
        results.push(this.read(op.key, op.prefix ?? false));
      } else if (op.type === 'put') {
        const prev = this.data.get(op.key);
        const lease = op.lease && op.lease !== '0' ? op.lease : '0';
        const kv: KeyValue = {
          key: op.key,
          value: op.value,
          createRevision: prev ? prev.createRevision : rev,
          modRevision: rev,
          version: prev ? prev.version + 1 : 1,
          lease,
        };
        if (prev && prev.lease !== '0') this.leases.get(prev.lease)?.keys.delete(op.key);
        if (lease !== '0') this.leases.get(lease)!.keys.add(op.key);
        this.data.set(op.key, kv);
        events.push({ type: 'put', kv: { ...kv } });
        results.push(null);
      } else {
        for (const kv of this.read(op.key, op.prefix ?? false)) events.push(this.remove(kv.key, rev));
        results.push(null);
      }
    }
    if (events.length > 0) this.commit(rev, events);
    return { succeeded, revision: this.revision, results };
  }

  async grantLease(ttlSeconds: number): Promise<{ id: string; ttlSeconds: number }> {
    this.checkOpen();
    const ttl = Math.max(1, Math.ceil(ttlSeconds));
    const id = String(this.nextLeaseId++);
    const lease: Lease = { id, ttlSeconds: ttl, keys: new Set(), timer: this.arm(id, ttl) };
    this.leases.set(id, lease);
    return { id, ttlSeconds: ttl };
  }

  async keepAliveLease(id: string): Promise<number> {
    this.checkOpen();
    const lease = this.leases.get(id);
    if (!lease) return 0;
    lease.timer.cancel();
    lease.timer = this.arm(id, lease.ttlSeconds);
    return lease.ttlSeconds;
  }

  async revokeLease(id: string): Promise<void> {
    this.checkOpen();
    this.expire(id);
  }

  watch(key: string, fromRevision: number, listener: WatchListener, options: { prefix?: boolean } = {}): WatchHandle {
    const w: Watcher = { key, prefix: options.prefix ?? false, listener, next: Math.max(1, fromRevision), cancelled: false };
    if (this.closed) {
      queueMicrotask(() => listener.onError(new MetadataError('CLOSED', 'metadata store closed')));
      return { cancel() {} };
    }
    if (w.next < this.compactRevision) {
      const compactRevision = this.compactRevision;
      queueMicrotask(() =>
        listener.onError(new MetadataError('COMPACTED', `revision ${w.next} compacted (at ${compactRevision})`, compactRevision)),
      );
      return { cancel() {} };
    }
    this.watchers.add(w);
    this.scheduleFlush();
    return {
      cancel: () => {
        w.cancelled = true;
        this.watchers.delete(w);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const lease of this.leases.values()) lease.timer.cancel();
    this.leases.clear();
    const watchers = [...this.watchers];
    this.watchers.clear();
    for (const w of watchers) {
      w.cancelled = true;
      w.listener.onError(new MetadataError('CLOSED', 'metadata store closed'));
    }
  }

  // -------------------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new MetadataError('CLOSED', 'metadata store closed');
  }

  private read(key: string, prefix: boolean): KeyValue[] {
    if (!prefix) {
      const kv = this.data.get(key);
      return kv ? [{ ...kv }] : [];
    }
    const out: KeyValue[] = [];
    for (const kv of this.data.values()) if (kv.key.startsWith(key)) out.push({ ...kv });
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  private holds(c: Compare): boolean {
    const kv = this.data.get(c.key);
    switch (c.target) {
      case 'mod':
        return (kv?.modRevision ?? 0) === c.equals;
      case 'create':
        return (kv?.createRevision ?? 0) === c.equals;
      case 'version':
        return (kv?.version ?? 0) === c.equals;
      case 'value':
        // etcd: a value compare on a missing key is false.
        return kv !== undefined && kv.value === c.equals;
    }
  }

  private remove(key: string, rev: number): WatchEvent {
    const prev = this.data.get(key)!;
    if (prev.lease !== '0') this.leases.get(prev.lease)?.keys.delete(key);
    this.data.delete(key);
    return { type: 'delete', kv: { key, value: '', createRevision: 0, modRevision: rev, version: 0, lease: '0' } };
  }

  private arm(id: string, ttlSeconds: number): Timer {
    return this.clock.setTimeout(() => this.expire(id), ttlSeconds * 1000);
  }

  private expire(id: string): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    lease.timer.cancel();
    this.leases.delete(id);
    if (lease.keys.size === 0) return;
    const rev = this.revision + 1;
    const keys = [...lease.keys].sort(compareKeys);
    this.commit(
      rev,
      keys.map((k) => this.remove(k, rev)),
    );
  }

  private commit(rev: number, events: WatchEvent[]): void {
    this.revision = rev;
    this.history.push({ revision: rev, events });
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.compactRevision = dropped[dropped.length - 1].revision + 1;
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    for (const w of [...this.watchers]) {
      if (w.cancelled || w.next > this.revision) continue;
      if (w.next < this.compactRevision) {
        // Fell behind the retained history (cannot happen while flushes keep up; kept for safety).
        this.watchers.delete(w);
        w.listener.onError(new MetadataError('COMPACTED', `revision ${w.next} compacted`, this.compactRevision));
        continue;
      }
      const out: WatchEvent[] = [];
      for (let i = this.firstEntryAtOrAfter(w.next); i < this.history.length; i++) {
        for (const e of this.history[i].events) {
          if (w.prefix ? e.kv.key.startsWith(w.key) : e.kv.key === w.key) out.push({ type: e.type, kv: { ...e.kv } });
        }
      }
      w.next = this.revision + 1;
      if (out.length > 0) w.listener.onEvents(out);
    }
  }

  private firstEntryAtOrAfter(rev: number): number {
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.history[mid].revision < rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
