// Opening a cluster metadata store from `--metadata`: none (or `memory:`) is the in-process store
// a single node uses; `etcd://host:port[,host:port...][/cluster]` is a shared etcd. The etcd
// client module is imported only then, so a single node never loads it.

import type { Clock } from '../../common/clock.js';
import { MemoryKv } from './memory-kv.js';
import { KvMetadataStore, type ClusterMetadataStore } from './store.js';

export type { ClusterMetadataStore } from './store.js';

export interface MetadataSpec {
  kind: 'memory' | 'etcd';
  /** etcd endpoints as `host:port`. */
  endpoints: string[];
  cluster: string;
}

/** Parses a `--metadata` value. */
export function parseMetadataSpec(spec: string | undefined): MetadataSpec {
  if (spec === undefined || spec === '' || spec === 'memory:') return { kind: 'memory', endpoints: [], cluster: 'default' };
  const m = /^etcd:\/\/([^/]+)(?:\/([A-Za-z0-9._-]*))?\/?$/.exec(spec);
  if (!m) throw new Error(`--metadata: expected etcd://host:port[,host:port...][/cluster], got ${JSON.stringify(spec)}`);
  const endpoints = m[1].split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const e of endpoints) {
    if (!/^[^:\s]+:\d{1,5}$/.test(e)) throw new Error(`--metadata: bad etcd endpoint ${JSON.stringify(e)} (host:port)`);
  }
  return { kind: 'etcd', endpoints, cluster: m[2] || 'default' };
}

export function createMemoryMetadataStore(options: { cluster?: string; clock?: Clock } = {}): ClusterMetadataStore {
  return new KvMetadataStore(new MemoryKv(options.clock), options.cluster);
}

export async function openMetadataStore(spec: string | MetadataSpec | undefined, options: { requestTimeoutMs?: number } = {}): Promise<ClusterMetadataStore> {
  const s = typeof spec === 'object' ? spec : parseMetadataSpec(spec);
  if (s.kind === 'memory') return createMemoryMetadataStore({ cluster: s.cluster });
  const { EtcdKv, parseEndpoints } = await import('./etcd-kv.js');
  return new KvMetadataStore(new EtcdKv(parseEndpoints(s.endpoints.join(',')), options), s.cluster);
}
