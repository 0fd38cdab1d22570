// Where the broker's security metadata lives: SCRAM credentials, ACLs and client quotas. Kafka
// keeps these in its metadata (ZooKeeper znodes, or records in the KRaft log) so that every broker
// sees the same; Brook keeps them as namespaced JSON values:
//
// - single node, file store: one JSON file in the data directory, replaced atomically (written
//   off the event loop) on every change:
//     <dataDir>/security.json   { "version": 1, "scram": { "<user>": ... }, "acls": { ... }, ... }
// - memory store: in memory (gone at close; `reset()` clears it).
// - a cluster: in the cluster metadata store (etcd), /brook/<c>/security/<ns>/<key>, so every
//   broker sees the same users, ACLs and quotas. Each broker keeps a copy, loaded at start and
//   kept current by a watch, which is the only way the copy changes: a change is written to etcd
//   and resolves once the watch has brought it (and anything written before it) into the copy.
//
// A change is durable before `apply` resolves; on a failed write nothing changes and it rejects.
// Changes are serialized (one write at a time, in call order). Readers see a change once `apply`
// has resolved, and listeners are told then (the authorizer and the SASL authenticator keep no copy
// of their own).

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicAsync } from '../log/fs-util.js';
import type { ClusterMetadataStore } from '../cluster/metadata/store.js';
import type { WatchHandle } from '../cluster/metadata/kv.js';

export type SecurityNamespace = 'scram' | 'acls' | 'quotas';
const NAMESPACES: readonly SecurityNamespace[] = ['scram', 'acls', 'quotas'];

export const SECURITY_FILE = 'security.json';

/** One change: a key's new value, or null to delete it. */
export type SecurityChange = readonly [key: string, value: unknown | null];

export interface SecurityStore {
  get(ns: SecurityNamespace, key: string): unknown;
  /** The namespace's entries now (a snapshot). */
  entries(ns: SecurityNamespace): ReadonlyMap<string, unknown>;
  /** Applies the changes atomically and durably; rejects (and changes nothing) on failure. */
  apply(ns: SecurityNamespace, changes: readonly SecurityChange[]): Promise<void>;
  /** Called after each applied change of a namespace; returns an unsubscribe function. */
  onChange(listener: (ns: SecurityNamespace) => void): () => void;
  /** Empties every namespace (the test fixture's reset()). */
  clear(): Promise<void>;
}

type Data = Record<SecurityNamespace, Map<string, unknown>>;

function emptyData(): Data {
  return { scram: new Map(), acls: new Map(), quotas: new Map() };
}

/** Base for the in-process stores: the data, serialized changes and listeners. */
class LocalSecurityStore implements SecurityStore {
  /** Applied from elsewhere (the cluster's watch): no write, listeners told. */
  protected absorb(changes: ReadonlyArray<{ ns: SecurityNamespace; key: string; value: unknown }>): void {
    if (changes.length === 0) return;
    const touched = new Set<SecurityNamespace>();
    const data = { ...this.data };
    for (const c of changes) {
      if (!touched.has(c.ns)) data[c.ns] = new Map(data[c.ns]);
      touched.add(c.ns);
      if (c.value === null) data[c.ns].delete(c.key);
      else data[c.ns].set(c.key, c.value);
    }
    this.data = data;
    this.changed([...touched]);
  }

  private readonly listeners = new Set<(ns: SecurityNamespace) => void>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly persist: (data: Data) => Promise<void> = async () => {},
    protected data: Data = emptyData(),
  ) {}

  get(ns: SecurityNamespace, key: string): unknown {
    return this.data[ns].get(key);
  }

  entries(ns: SecurityNamespace): ReadonlyMap<string, unknown> {
    return new Map(this.data[ns]);
  }

  apply(ns: SecurityNamespace, changes: readonly SecurityChange[]): Promise<void> {
    return this.serial(async () => {
      const next = new Map(this.data[ns]);
      for (const [key, value] of changes) {
        if (value === null) next.delete(key);
        else next.set(key, structuredClone(value));
      }
      await this.commit({ ...this.data, [ns]: next }, [ns]);
    });
  }

  clear(): Promise<void> {
    return this.serial(() => this.commit(emptyData(), NAMESPACES));
  }

  /** Makes `data` the store's, durably, and tells the listeners. */
  protected async commit(data: Data, namespaces: readonly SecurityNamespace[]): Promise<void> {
    await this.persist(data);
    this.data = data;
    this.changed(namespaces);
  }

  onChange(listener: (ns: SecurityNamespace) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected changed(namespaces: readonly SecurityNamespace[]): void {
    for (const ns of namespaces) for (const l of this.listeners) l(ns);
  }

  private serial(work: () => Promise<void>): Promise<void> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }
}

/** In memory: nothing survives the process. */
export function memorySecurityStore(): SecurityStore {
  return new LocalSecurityStore();
}

/**
 * `<dataDir>/security.json`, loaded now. An unreadable or malformed file is an error (the broker
 * refuses to start rather than run with its ACLs or users missing).
 */
export function fileSecurityStore(dataDir: string): SecurityStore {
  const file = path.join(dataDir, SECURITY_FILE);
  const persist = async (data: Data): Promise<void> => {
    const doc: Record<string, unknown> = { version: 1 };
    for (const ns of NAMESPACES) doc[ns] = Object.fromEntries(data[ns]);
    await writeFileAtomicAsync(file, Buffer.from(JSON.stringify(doc, null, 1) + '\n'));
  };
  const loaded = emptyData();
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: cannot be read: ${(err as Error).message}`);
  }
  if (text !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof doc !== 'object' || doc === null || (doc as { version?: unknown }).version !== 1) throw new Error(`${file}: not a Brook security file (version 1)`);
    for (const ns of NAMESPACES) {
      const v = (doc as Record<string, unknown>)[ns];
      if (v === undefined) continue;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}: "${ns}" is not an object`);
      for (const [k, val] of Object.entries(v)) loaded[ns].set(k, val);
    }
  }
  return new LocalSecurityStore(persist, loaded);
}

function isNamespace(ns: string): ns is SecurityNamespace {
  return (NAMESPACES as readonly string[]).includes(ns);
}

/** How long a cluster change waits for the watch to bring it into the copy before resolving. */
const CATCH_UP_MS = 10_000;

/** The cluster's security metadata (see the top of this file); `close()` stops the watch. */
export async function clusterSecurityStore(meta: ClusterMetadataStore, onError: (err: Error) => void = () => {}): Promise<SecurityStore & { close(): void }> {
  const first = await meta.listSecurity();
  const initial = emptyData();
  for (const e of first.items) if (isNamespace(e.ns)) initial[e.ns].set(e.key, e.value);
  class ClusterSecurityStore extends LocalSecurityStore {
    private watch: WatchHandle | undefined;
    private closed = false;
    /** The etcd revision the copy reflects (the watch's last, or the last full read). */
    private revision = first.revision;
    private readonly waiters: Array<{ revision: number; wake: () => void }> = [];

    constructor() {
      super(undefined, initial);
      this.follow(first.revision + 1);
    }

    /**
     * Only what differs from the copy is written to etcd; the copy changes only through the watch,
     * in etcd's order, so a change another broker made meanwhile is never overwritten by a stale
     * snapshot. Resolves once the watch has brought the copy up to the write (or after
     * CATCH_UP_MS: the copy then follows when the watch does).
     */
    protected override async commit(data: Data): Promise<void> {
      let revision = 0;
      for (const ns of NAMESPACES) {
        const before = this.data[ns];
        const after = data[ns];
        const changes: Array<[string, unknown]> = [];
        for (const [k, v] of after) if (JSON.stringify(before.get(k)) !== JSON.stringify(v)) changes.push([k, v]);
        for (const k of before.keys()) if (!after.has(k)) changes.push([k, null]);
        if (changes.length > 0) revision = await meta.applySecurity(ns, changes);
      }
      if (revision > this.revision && !this.closed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, CATCH_UP_MS);
          this.waiters.push({ revision, wake: () => (clearTimeout(timer), resolve()) });
        });
      }
    }

    private caughtUp(revision: number): void {
      this.revision = Math.max(this.revision, revision);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i]!.revision <= this.revision) this.waiters.splice(i, 1)[0]!.wake();
      }
    }

    private follow(from: number): void {
      if (this.closed) return;
      this.watch = meta.watchSecurity(from, {
        onEvents: (events, revision) => {
          this.absorb(events.filter((e): e is { ns: SecurityNamespace; key: string; value: unknown } => isNamespace(e.ns)));
          this.caughtUp(revision);
        },
        onError: (err) => {
          if (this.closed || err.code === 'CLOSED') return;
          onError(err);
          // History gone (COMPACTED): read everything again and watch from there.
          void meta.listSecurity().then(
            (r) => {
              const next = emptyData();
              for (const e of r.items) if (isNamespace(e.ns)) next[e.ns].set(e.key, e.value);
              this.data = next;
              this.changed(NAMESPACES);
              this.caughtUp(r.revision);
              this.follow(r.revision + 1);
            },
            (e: Error) => onError(e),
          );
        },
      });
    }

    close(): void {
      this.closed = true;
      this.watch?.cancel();
      for (const w of this.waiters.splice(0)) w.wake();
    }
  }
  return new ClusterSecurityStore();
}
