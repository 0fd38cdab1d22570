// One contract suite for ClusterMetadataStore over both backends (issue 10): the in-process
// MemoryKv and a real etcd (test/helpers/etcd.ts) through EtcdKv. Then etcd-only tests: watches
// and leases across an etcd restart, compaction, unavailability.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdKv, parseEndpoints } from '../../../src/cluster/metadata/etcd-kv.js';
import { parseMetadataSpec, openMetadataStore } from '../../../src/cluster/metadata/index.js';
import { MetadataError, type MetadataKv } from '../../../src/cluster/metadata/kv.js';
import { MemoryKv } from '../../../src/cluster/metadata/memory-kv.js';
import {
  KvMetadataStore,
  type ClusterMetadataStore,
  type MetadataEvent,
  type PartitionState,
  type TopicRecord,
  type WatchScope,
} from '../../../src/cluster/metadata/store.js';
import { NO_ETCD, TestEtcd, hasEtcd, skipWithoutEtcd } from '../../helpers/etcd.js';

interface Harness {
  name: string;
  /** A new client of the same backend (same cluster within one test). */
  open(): ClusterMetadataStore;
}

/** Collects typed events from a watch; `until` resolves when a predicate holds. */
function collect(store: ClusterMetadataStore, scope: WatchScope, fromRevision: number) {
  const events: MetadataEvent[] = [];
  const errors: MetadataError[] = [];
  let waiters: { pred: () => boolean; resolve: () => void }[] = [];
  const check = (): void => {
    waiters = waiters.filter((w) => {
      if (!w.pred()) return true;
      w.resolve();
      return false;
    });
  };
  const handle = store.watch(scope, fromRevision, {
    onEvents: (es) => {
      events.push(...es);
      check();
    },
    onError: (err) => {
      errors.push(err);
      check();
    },
  });
  return {
    events,
    errors,
    handle,
    until(pred: () => boolean): Promise<void> {
      if (pred()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

const topic = (name: string, partitions = 3, replicas = [1, 2, 3]): TopicRecord => ({
  name,
  topicId: randomBytes(16).toString('base64url'),
  assignments: Array.from({ length: partitions }, (_, p) => replicas.map((_, i) => replicas[(p + i) % replicas.length])),
});

const state = (leader: number, leaderEpoch: number, isr: number[], partitionEpoch = leaderEpoch): PartitionState => ({
  leader,
  leaderEpoch,
  isr,
  partitionEpoch,
});

function contract(harness: () => Harness): void {
  let h: Harness;
  beforeAll(() => {
    h = harness();
  });

  it('creates a topic once; a second create conflicts and shows what is there', async () => {
    const s = h.open();
    const t = topic('orders');
    const created = await s.createTopic(t, { 'cleanup.policy': 'compact' });
    expect(created.ok).toBe(true);
    const again = await s.createTopic(topic('orders'));
    expect(again).toMatchObject({ ok: false, reason: 'conflict' });
    if (!again.ok && again.reason === 'conflict') expect(again.current?.value).toEqual(t);
    expect((await s.getTopic('orders'))?.value).toEqual(t);
    expect((await s.getConfigs('topic', 'orders'))?.value).toEqual({ 'cleanup.policy': 'compact' });
    const list = await s.listTopics();
    expect(list.items.map((i) => i.value.name)).toEqual(['orders']);
    expect(list.revision).toBeGreaterThan(0);
  });

  it('updates and deletes a topic only at the revision read; delete removes its partitions and configs', async () => {
    const s = h.open();
    const t = topic('events', 2);
    const c = await s.createTopic(t, { 'retention.ms': '1000' });
    if (!c.ok) throw new Error('create failed');
    for (const p of [0, 1]) expect((await s.createPartitionState('events', p, state(1, 0, [1, 2, 3]))).ok).toBe(true);
    const grown = { ...t, assignments: [...t.assignments, [3, 1, 2]] };
    const u1 = await s.updateTopic(grown, c.modRevision);
    expect(u1.ok).toBe(true);
    // The same expected revision again: stale now.
    expect(await s.updateTopic(grown, c.modRevision)).toMatchObject({ ok: false, reason: 'conflict' });
    expect(await s.deleteTopic('events', c.modRevision)).toMatchObject({ ok: false, reason: 'conflict' });
    if (!u1.ok) throw new Error('update failed');
    expect((await s.deleteTopic('events', u1.modRevision)).ok).toBe(true);
    expect(await s.getTopic('events')).toBeUndefined();
    expect((await s.listPartitionStates('events')).items).toEqual([]);
    expect(await s.getConfigs('topic', 'events')).toBeUndefined();
  });

  it('a topic record keeps its in-progress reassignments; a topic update guarded by a controller epoch is fenced once that controller is gone', async () => {
    const s = h.open();
    const t = topic('moving', 2);
    const c = await s.createTopic(t);
    if (!c.ok) throw new Error('create failed');
    const session = await s.openSession(5);
    const l = await s.campaign(session, 1);
    const moving: TopicRecord = { ...t, assignments: [[2, 3, 4, 1], t.assignments[1]!], reassigning: { '0': { adding: [4], removing: [1] } } };
    const u = await s.updateTopic(moving, c.modRevision, l);
    if (!u.ok) throw new Error('guarded update failed');
    expect(await s.getTopic('moving')).toEqual({ value: moving, modRevision: u.modRevision });
    expect((await s.listTopics()).items.find((x) => x.value.name === 'moving')?.value.reassigning).toEqual({ '0': { adding: [4], removing: [1] } });
    const snap = await s.snapshot();
    expect(snap.events.find((e) => e.path.kind === 'topic' && e.path.name === 'moving')?.value).toEqual(moving);
    await l.resign();
    const done: TopicRecord = { ...t, assignments: [[2, 3, 4], t.assignments[1]!] };
    expect(await s.updateTopic(done, u.modRevision, l)).toEqual({ ok: false, reason: 'fenced' });
    // Unguarded (a broker starting a reassignment): only the revision counts.
    expect(await s.updateTopic(done, c.modRevision)).toMatchObject({ ok: false, reason: 'conflict', current: { value: moving } });
    const v = await s.updateTopic(done, u.modRevision);
    expect(v.ok).toBe(true);
    expect((await s.getTopic('moving'))?.value).toEqual(done);
    await session.close();
  });

  it('partition state compare-and-swap: of writers racing from one revision exactly one wins', async () => {
    const writers = Array.from({ length: 8 }, () => h.open());
    const [first] = writers;
    expect((await first.createPartitionState('t', 0, state(1, 0, [1, 2, 3]))).ok).toBe(true);
    expect(await first.createPartitionState('t', 0, state(2, 0, [2]))).toMatchObject({ ok: false, reason: 'conflict' });
    const read = (await first.getPartitionState('t', 0))!;
    const results = await Promise.all(
      writers.map((w, i) => w.updatePartitionState('t', 0, state(i + 1, read.value.leaderEpoch + 1, [i + 1]), read.modRevision)),
    );
    const winners = results.map((r, i) => (r.ok ? i : -1)).filter((i) => i >= 0);
    expect(winners).toHaveLength(1);
    const now = (await first.getPartitionState('t', 0))!;
    expect(now.value.leader).toBe(winners[0] + 1);
    for (const r of results) {
      if (!r.ok && r.reason === 'conflict') expect(r.current).toEqual(now);
      else expect(r.ok).toBe(true);
    }
    // Partitions list in numeric order (keys sort as text: 10 < 2).
    for (const p of [2, 10, 1]) await first.createPartitionState('t', p, state(1, 0, [1]));
    expect((await first.listPartitionStates('t')).partitions).toEqual([0, 1, 2, 10]);
  });

  it('dynamic configs: create-only, CAS and unconditional writes', async () => {
    const s = h.open();
    expect((await s.setConfigs('broker', '', { 'log.retention.ms': '1' }, 0)).ok).toBe(true);
    expect(await s.setConfigs('broker', '', { 'log.retention.ms': '2' }, 0)).toMatchObject({ ok: false, reason: 'conflict' });
    const cur = (await s.getConfigs('broker', ''))!;
    expect(cur.value).toEqual({ 'log.retention.ms': '1' });
    expect((await s.setConfigs('broker', '', { 'log.retention.ms': '3' }, cur.modRevision)).ok).toBe(true);
    expect((await s.setConfigs('broker', '7', { 'num.io.threads': '4' })).ok).toBe(true);
    expect((await s.getConfigs('broker', '7'))?.value).toEqual({ 'num.io.threads': '4' });
  });

  it('a broker registration lives while its session renews it and disappears when the lease expires', async () => {
    const s = h.open();
    const session = await s.openSession(2);
    const reg = { nodeId: 1, host: '127.0.0.1', port: 9092, rack: null };
    expect((await s.registerBroker(session, reg)).ok).toBe(true);
    // Another live broker cannot take node id 1.
    const other = await s.openSession(5);
    expect(await s.registerBroker(other, { ...reg, port: 9093 })).toMatchObject({ ok: false, reason: 'conflict' });
    // Renewed past its TTL (2 s) and etcd's expiry check (every 0.5 s): still there.
    await new Promise((r) => setTimeout(r, 3000));
    expect(session.isLost()).toBe(false);
    const listed = await s.listBrokers();
    expect(listed.items.map((i) => i.value)).toEqual([reg]);
    // A crash: renewals stop; the registration goes when the lease expires.
    const w = collect(s, 'brokers', listed.revision + 1);
    session.stopKeepAlive();
    await w.until(() => w.events.some((e) => e.type === 'delete'));
    expect(w.events).toEqual([expect.objectContaining({ type: 'delete', path: { kind: 'broker', nodeId: 1 }, value: null })]);
    expect((await s.listBrokers()).items).toEqual([]);
    // Now the id is free.
    expect((await s.registerBroker(other, { ...reg, port: 9093 })).ok).toBe(true);
    // A clean shutdown removes it at once.
    await other.close();
    expect(other.isLost()).toBe(true);
    expect((await s.listBrokers()).items).toEqual([]);
    w.handle.cancel();
  });

  it('a session whose lease expired is reported lost', async () => {
    const s = h.open();
    const session = await s.openSession(1);
    const kv = (s as KvMetadataStore).kv;
    await kv.revokeLease(session.leaseId);
    await session.lost;
    expect(session.isLost()).toBe(true);
    expect(await s.registerBroker(session, { nodeId: 9, host: 'h', port: 1, rack: null }).catch((e: MetadataError) => e.code)).toBe(
      'LEASE_NOT_FOUND',
    );
  });

  it('controller election: one holder; another takes over when the holder lease ends; a deposed controller is fenced', async () => {
    const a = h.open();
    const b = h.open();
    const sa = await a.openSession(2);
    const sb = await b.openSession(5);
    const la = await a.campaign(sa, 1);
    expect(await a.getController()).toEqual({ nodeId: 1, epoch: la.epoch });
    // Campaigning again with the same session answers the same leadership.
    expect((await a.campaign(sa, 1)).epoch).toBe(la.epoch);
    let bWon = false;
    const pb = b.campaign(sb, 2).then((l) => {
      bWon = true;
      return l;
    });
    // A guarded write while A holds the role succeeds.
    expect((await a.createPartitionState('x', 0, state(1, 0, [1]), la)).ok).toBe(true);
    expect(bWon).toBe(false);
    sa.stopKeepAlive(); // A crashes
    const lb = await pb;
    expect(lb.epoch).toBeGreaterThan(la.epoch);
    expect(await b.getController()).toEqual({ nodeId: 2, epoch: lb.epoch });
    // A's writes guarded by its old epoch are refused, whatever the key's revision.
    const cur = (await a.getPartitionState('x', 0))!;
    expect(await a.updatePartitionState('x', 0, state(1, 1, [1]), cur.modRevision, la)).toEqual({ ok: false, reason: 'fenced' });
    expect((await b.updatePartitionState('x', 0, state(2, 1, [2]), cur.modRevision, lb)).ok).toBe(true);
    // A clean resignation hands over at once.
    const c = h.open();
    const sc = await c.openSession(5);
    const pc = c.campaign(sc, 3);
    await lb.resign();
    const lc = await pc;
    expect(lc.epoch).toBeGreaterThan(lb.epoch);
    expect(await c.getController()).toEqual({ nodeId: 3, epoch: lc.epoch });
    // An aborted campaign rejects.
    const ac = new AbortController();
    const pAborted = b.campaign(sb, 2, ac.signal);
    ac.abort(new Error('stop'));
    await expect(pAborted).rejects.toThrow('stop');
    await sb.close();
    await sc.close();
  });

  it('watch: every change in revision order from the revision asked, including replay of history', async () => {
    const s = h.open();
    const start = (await s.listTopics()).revision + 1;
    const live = collect(s, 'all', start);
    const writers = [h.open(), h.open(), h.open()];
    // Sequential writes of every kind, then concurrent ones.
    await s.createTopic(topic('w1', 1));
    await s.createPartitionState('w1', 0, state(1, 0, [1]));
    await s.setConfigs('topic', 'w1', { 'retention.ms': '5' });
    await s.allocateProducerIdBlock(1, 10);
    await Promise.all(writers.map((w, i) => Promise.all(Array.from({ length: 10 }, (_, j) => w.setConfigs('broker', String(i), { n: String(j) })))));
    const t = (await s.getTopic('w1'))!;
    await s.deleteTopic('w1', t.modRevision);
    const total = 4 + 30 + 3;
    await live.until(() => live.events.length >= total);
    expect(live.events).toHaveLength(total);
    const revs = live.events.map((e) => e.revision);
    for (let i = 1; i < revs.length; i++) expect(revs[i]).toBeGreaterThanOrEqual(revs[i - 1]);
    expect(live.events.slice(0, 4).map((e) => e.path.kind)).toEqual(['topic', 'partition', 'config', 'producer-ids']);
    // Each writer's own writes arrive in the order they were acknowledged.
    for (let i = 0; i < 3; i++) {
      const mine = live.events.filter((e) => e.path.kind === 'config' && e.path.entityType === 'broker' && e.path.name === String(i));
      expect(mine).toHaveLength(10);
    }
    // The delete: topic, partition and config in one revision.
    const last = live.events.slice(-3);
    expect(new Set(last.map((e) => e.revision)).size).toBe(1);
    expect(last.every((e) => e.type === 'delete')).toBe(true);
    // A watch from the same start revision replays exactly the same sequence.
    const replay = collect(s, 'all', start);
    await replay.until(() => replay.events.length >= total);
    expect(replay.events).toEqual(live.events);
    // A watch resumed from the middle gets the rest.
    const mid = live.events[10].revision;
    const resumed = collect(s, 'all', mid);
    const expected = live.events.filter((e) => e.revision >= mid);
    await resumed.until(() => resumed.events.length >= expected.length);
    expect(resumed.events).toEqual(expected);
    // Scoped watches see only their part.
    const scoped = collect(s, 'topics', start);
    await scoped.until(() => scoped.events.length >= 2);
    expect(scoped.events.map((e) => [e.type, e.path])).toEqual([
      ['put', { kind: 'topic', name: 'w1' }],
      ['delete', { kind: 'topic', name: 'w1' }],
    ]);
    for (const w of [live, replay, resumed, scoped]) w.handle.cancel();
    expect(live.errors).toEqual([]);
  });

  it('producer id blocks are never handed out twice under concurrent allocators', async () => {
    const allocators = Array.from({ length: 4 }, () => h.open());
    const blocks = (
      await Promise.all(allocators.map((a, i) => (async () => {
        const mine = [];
        for (let j = 0; j < 15; j++) mine.push(await a.allocateProducerIdBlock(i, 1000));
        return mine;
      })()))
    ).flat();
    expect(blocks).toHaveLength(60);
    const starts = blocks.map((b) => b.firstProducerId).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    // Contiguous, disjoint, from 0.
    starts.forEach((s, i) => expect(s).toBe(BigInt(i) * 1000n));
  });
}

// ---------------------------------------------------------------------------------------------

const opened: ClusterMetadataStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => {});
});

describe('ClusterMetadataStore contract (memory)', () => {
  contract(() => {
    let kv: MetadataKv | undefined;
    let cluster = '';
    return {
      name: 'memory',
      open() {
        // One MemoryKv per test, shared by that test's clients: a new cluster name marks a new test.
        const name = expect.getState().currentTestName ?? '';
        if (!kv || cluster !== name) {
          kv = new MemoryKv();
          cluster = name;
        }
        const s = new KvMetadataStore(kv, 'c1');
        return s;
      },
    };
  });

  it('a watch from before the retained history is refused as compacted', async () => {
    const kv = new MemoryKv();
    for (let i = 0; i < 10_005; i++) await kv.put('/k', String(i));
    const err = await new Promise<MetadataError>((resolve) =>
      kv.watch('/k', 2, { onEvents: () => {}, onError: resolve }),
    );
    expect(err.code).toBe('COMPACTED');
    const tail = await new Promise<string>((resolve) =>
      kv.watch('/k', 10_006, { onEvents: (es) => resolve(es[0].kv.value), onError: () => {} }),
    );
    expect(tail).toBe('10004');
    await kv.close();
  });
});

describe.skipIf(skipWithoutEtcd)(`ClusterMetadataStore contract (etcd${hasEtcd ? '' : `; ${NO_ETCD}`})`, () => {
  let etcd: TestEtcd;
  beforeAll(async () => {
    etcd = await TestEtcd.start();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  contract(() => ({
    name: 'etcd',
    open() {
      // Each test has its own cluster prefix in the shared etcd.
      const cluster = `t-${(expect.getState().currentTestName ?? '').replace(/[^A-Za-z0-9]+/g, '-').slice(-60)}`;
      const s = new KvMetadataStore(new EtcdKv(parseEndpoints(etcd.endpoint)), cluster);
      opened.push(s);
      return s;
    },
  }));

  it('openMetadataStore: etcd:// loads the etcd client; memory by default', async () => {
    expect(parseMetadataSpec(undefined)).toEqual({ kind: 'memory', endpoints: [], cluster: 'default' });
    expect(parseMetadataSpec('etcd://a:1,b:2/prod')).toEqual({ kind: 'etcd', endpoints: ['a:1', 'b:2'], cluster: 'prod' });
    expect(() => parseMetadataSpec('etcd://nohost')).toThrow(/host:port/);
    expect(() => parseMetadataSpec('zk://a:1')).toThrow(/expected etcd/);
    // First endpoint refuses connections: the client moves on to the next.
    const dead = `127.0.0.1:1`;
    const s = await openMetadataStore(`etcd://${dead},${etcd.endpoint}/spec`);
    opened.push(s);
    expect((await s.createTopic(topic('via-second'))).ok).toBe(true);
    expect((await s.getTopic('via-second'))?.value.name).toBe('via-second');
  });

  it('watches resume after an etcd restart with no gap and no duplicate; sessions survive it', async () => {
    const s = new KvMetadataStore(new EtcdKv(parseEndpoints(etcd.endpoint), { watchBackoffMs: { min: 20, max: 200 } }), 'restart');
    const writer = new KvMetadataStore(new EtcdKv(parseEndpoints(etcd.endpoint)), 'restart');
    opened.push(s, writer);
    const session = await s.openSession(5);
    expect((await s.registerBroker(session, { nodeId: 1, host: '127.0.0.1', port: 9092, rack: null })).ok).toBe(true);
    const start = (await s.listTopics()).revision + 1;
    const w = collect(s, 'configs', start);
    for (let i = 0; i < 5; i++) await writer.setConfigs('broker', 'a', { n: String(i) });
    await w.until(() => w.events.length >= 5);
    await etcd.restart('SIGKILL');
    // Written before the watcher has reconnected (its backoff is running): must still arrive.
    for (let i = 5; i < 15; i++) await writer.setConfigs('broker', 'a', { n: String(i) });
    await w.until(() => w.events.length >= 15);
    expect(w.events.map((e) => (e.value as { n: string }).n)).toEqual(Array.from({ length: 15 }, (_, i) => String(i)));
    const revs = w.events.map((e) => e.revision);
    expect(new Set(revs).size).toBe(15);
    expect([...revs].sort((x, y) => x - y)).toEqual(revs);
    expect(w.errors).toEqual([]);
    // The lease came back with etcd (it is renewed from restart), so the registration is there.
    expect((await s.listBrokers()).items.map((i) => i.value.nodeId)).toEqual([1]);
    expect(session.isLost()).toBe(false);
    w.handle.cancel();
    await session.close();
  });

  it('requests while etcd is down answer UNAVAILABLE; a watch from a compacted revision answers COMPACTED', async () => {
    const kv = new EtcdKv(parseEndpoints(etcd.endpoint), { requestTimeoutMs: 2000 });
    const s = new KvMetadataStore(kv, 'down');
    opened.push(s);
    const first = await kv.put('/brook/down/x', '1');
    await kv.put('/brook/down/x', '2');
    const third = await kv.put('/brook/down/x', '3');
    await etcd.stop();
    await expect(kv.range('/brook/down/x')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(s.createTopic(topic('nope'))).rejects.toBeInstanceOf(MetadataError);
    await etcd.restart();
    expect((await kv.range('/brook/down/x')).kvs[0].value).toBe('3');
    // Compact history up to the third write: a watch from the first is refused.
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${etcd.clientUrl}/v3/kv/compaction`, { method: 'POST' }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`compaction HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ revision: String(third) }));
    });
    const err = await new Promise<MetadataError>((resolve) => kv.watch('/brook/down/x', first, { onEvents: () => {}, onError: resolve }));
    expect(err.code).toBe('COMPACTED');
    expect(err.compactRevision).toBe(third);
  });
});
