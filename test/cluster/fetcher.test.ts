// The follower's replica fetcher (issue 10) against a real in-process Brook broker as the leader,
// with a small in-test FollowerLog that keeps the fetched batches (the follower appends of the
// log stores are merged separately), plus the per-partition rules on plain inputs.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHook } from 'node:async_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { ErrorCode } from '../../protocol/errors.js';
import { batchLastOffset, encodeRecordBatch, readBatchHeader } from '../../protocol/records/index.js';
import type { Broker } from '../../src/broker.js';
import {
  ReplicaFetcherManager,
  applyFetchedData,
  lastFetchedEpoch,
  outOfRangeAction,
  ownEndOffsetFor,
  type FetcherPartition,
  type FollowerLog,
  type ReplicaFetcherDeps,
} from '../../src/cluster/fetcher.js';
import type { AppendInfo } from '../../src/log/types.js';
import { kafkaFor, startTestBroker, waitFor } from '../helpers/broker.js';

// ---------------------------------------------------------------------------------------------
// A test FollowerLog: the batches as appended, epochs derived from them

class TestFollowerLog implements FollowerLog {
  batches: Buffer[] = [];
  logStartOffset = 0n;
  logEndOffset = 0n;
  failAppends = false;
  appends = 0;

  leaderEpochEntries(): Array<{ epoch: number; startOffset: bigint }> {
    const out: Array<{ epoch: number; startOffset: bigint }> = [];
    for (const b of this.batches) {
      const h = readBatchHeader(b);
      if (out.length === 0 || out[out.length - 1]!.epoch !== h.partitionLeaderEpoch) {
        out.push({ epoch: h.partitionLeaderEpoch, startOffset: h.baseOffset < this.logStartOffset ? this.logStartOffset : h.baseOffset });
      }
    }
    return out.length > 0 ? out : [{ epoch: 0, startOffset: this.logStartOffset }];
  }

  appendAsFollower(batches: readonly Buffer[]): AppendInfo {
    if (this.failAppends) throw new Error('disk on fire');
    const first = readBatchHeader(batches[0]!).baseOffset;
    if (first < this.logEndOffset) throw new Error(`append at ${first} below the log end ${this.logEndOffset}`);
    let last = first;
    for (const b of batches) {
      this.batches.push(Buffer.from(b));
      last = batchLastOffset(readBatchHeader(b));
    }
    this.logEndOffset = last + 1n;
    this.appends++;
    return { baseOffset: first, lastOffset: last, logStartOffset: this.logStartOffset };
  }

  truncateTo(offset: bigint): void {
    if (offset >= this.logEndOffset) return;
    this.batches = this.batches.filter((b) => batchLastOffset(readBatchHeader(b)) < offset);
    this.logEndOffset = offset;
  }

  truncateFullyAndStartAt(offset: bigint): void {
    this.batches = [];
    this.logStartOffset = offset;
    this.logEndOffset = offset;
  }

  deleteRecordsBefore(offset: bigint): bigint {
    const target = offset > this.logEndOffset ? this.logEndOffset : offset;
    if (target > this.logStartOffset) {
      this.logStartOffset = target;
      this.batches = this.batches.filter((b) => batchLastOffset(readBatchHeader(b)) >= target);
    }
    return this.logStartOffset;
  }

  whenWritten(): Promise<void> {
    return Promise.resolve();
  }

  bytes(): Buffer {
    return Buffer.concat(this.batches);
  }
}

function batch(base: bigint, epoch: number, values: string[]): Buffer {
  return encodeRecordBatch({ baseOffset: base, partitionLeaderEpoch: epoch, records: values.map((v) => ({ key: null, value: Buffer.from(v) })) });
}

/** The leader's stored batches of a partition from `from`, concatenated. */
function leaderBytes(broker: Broker, topic: string, partition: number): Buffer {
  const log = broker.store.partition(topic, partition)!;
  return Buffer.concat(log.read(log.logStartOffset, 1 << 30, true).chunks);
}

function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

// ---------------------------------------------------------------------------------------------
// Fixtures: a leader broker, follower logs and a fetcher; all closed after each test

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const LEADER = 1;
const FOLLOWER = 2;

interface Follower {
  manager: ReplicaFetcherManager;
  logs: Map<string, TestFollowerLog>;
  log(topic: string, partition: number): TestFollowerLog;
  fetched: Array<{ topic: string; partition: number; hw: bigint; logStart: bigint }>;
  errors: Array<{ topic: string; partition: number; errorCode: number }>;
  lines: Array<Record<string, unknown>>;
}

function follower(leaderAddress: () => { host: string; port: number } | undefined, extra: Partial<ReplicaFetcherDeps> = {}): Follower {
  const logs = new Map<string, TestFollowerLog>();
  const log = (topic: string, partition: number): TestFollowerLog => {
    const k = `${topic}-${partition}`;
    let l = logs.get(k);
    if (l === undefined) {
      l = new TestFollowerLog();
      logs.set(k, l);
    }
    return l;
  };
  const fetched: Follower['fetched'] = [];
  const errors: Follower['errors'] = [];
  const { logger, lines } = capturingLogger();
  const manager = new ReplicaFetcherManager({
    nodeId: FOLLOWER,
    brokerAddress: (id) => (id === LEADER ? leaderAddress() : undefined),
    localLog: log,
    onFetched: (topic, partition, hw, logStart) => void fetched.push({ topic, partition, hw, logStart }),
    onError: (topic, partition, errorCode) => void errors.push({ topic, partition, errorCode }),
    logger,
    options: { backoffMs: 30, maxWaitMs: 100 },
    ...extra,
  });
  cleanups.push(() => manager.close());
  return { manager, logs, log, fetched, errors, lines };
}

async function leader(options: Parameters<typeof startTestBroker>[0] = {}): Promise<Broker> {
  const b = await startTestBroker(options);
  cleanups.push(() => b.close());
  return b;
}

async function produce(broker: Broker, topic: string, partition: number, values: string[]): Promise<void> {
  const p = kafkaFor(broker).producer();
  await p.connect();
  try {
    // One send per value: one batch each.
    for (const value of values) await p.send({ topic, messages: [{ partition, value }] });
  } finally {
    await p.disconnect();
  }
}

async function createTopic(broker: Broker, topic: string, partitions = 1): Promise<string> {
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  } finally {
    await admin.disconnect();
  }
  return broker.store.getTopic(topic)!.topicId;
}

function part(topic: string, partition: number, topicId: string, leaderEpoch = 0): FetcherPartition {
  return { topic, partition, topicId, leaderId: LEADER, leaderEpoch };
}

/** Waits until the follower log holds exactly the leader's batches. */
async function caughtUp(f: Follower, broker: Broker, topic: string, partition: number): Promise<void> {
  const leaderLog = broker.store.partition(topic, partition)!;
  await waitFor(() => f.log(topic, partition).logEndOffset === leaderLog.logEndOffset, 10_000, 10, `${topic}-${partition} caught up`);
  expect(f.log(topic, partition).bytes().equals(leaderBytes(broker, topic, partition))).toBe(true);
}

// ---------------------------------------------------------------------------------------------

describe('replica fetcher lifecycle', () => {
  it('close() with the leader unreachable ends at once and leaves no timers or sockets', async () => {
    // A port nobody listens on: connections are refused, the fetcher backs off (a pending timer).
    const b = await startTestBroker();
    const port = b.port;
    await b.close();
    // Timers and sockets made from here on that are still alive after close() (counting the
    // process's active resources instead also saw the closed broker's own timers end meanwhile).
    const live = new Map<number, string>();
    const hook = createHook({
      init(id, type) {
        if (type === 'Timeout' || type === 'TCPWRAP') live.set(id, type);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    try {
      const f = follower(() => ({ host: '127.0.0.1', port }), { options: { backoffMs: 60_000 } });
      f.manager.setPartitions([part('rf-gone', 0, 'AAAAAAAAAAAAAAAAAAAAAA')]);
      await waitFor(() => f.lines.some((l) => l.level === 40), 10_000, 10, 'the connect warning');
      // The back-off timer (60 s) is pending now: close() must take it away at once.
      expect([...live.values()]).toContain('Timeout');
      await f.manager.close();
      await new Promise((r) => setImmediate(r));
      expect([...live.values()]).toEqual([]);
      expect(f.manager.describe()).toEqual([]);
    } finally {
      hook.disable();
    }
  });
});

describe('replica fetcher against a real leader', () => {
  it('copies the leader\'s batches byte for byte (offsets, epochs) and keeps following new appends', async () => {
    const b = await leader();
    const topicId = await createTopic(b, 'rf-follow', 2);
    await produce(b, 'rf-follow', 0, ['a', 'b', 'c']);
    await produce(b, 'rf-follow', 1, ['x']);
    const f = follower(() => b);
    f.manager.setPartitions([part('rf-follow', 0, topicId), part('rf-follow', 1, topicId)]);
    await caughtUp(f, b, 'rf-follow', 0);
    await caughtUp(f, b, 'rf-follow', 1);
    expect(f.log('rf-follow', 0).batches.map((x) => readBatchHeader(x).baseOffset)).toEqual([0n, 1n, 2n]);
    expect(f.manager.describe().map((d) => [d.partition, d.state, d.leaderId, d.leaderEpoch])).toEqual([
      [0, 'fetching', LEADER, 0],
      [1, 'fetching', LEADER, 0],
    ]);
    // The leader's HW and log start were reported once caught up.
    await waitFor(() => f.fetched.some((x) => x.partition === 0 && x.hw === 3n && x.logStart === 0n), 10_000, 10, 'onFetched with HW 3');

    await produce(b, 'rf-follow', 0, ['d', 'e']);
    await caughtUp(f, b, 'rf-follow', 0);
    expect(f.log('rf-follow', 0).logEndOffset).toBe(5n);
  });

  it('speaks Fetch v12 (topic names) when a topic has no id, and old versions without last_fetched_epoch', async () => {
    const b = await leader();
    await createTopic(b, 'rf-noid');
    await produce(b, 'rf-noid', 0, ['a', 'b']);
    const f = follower(() => b);
    f.manager.setPartitions([part('rf-noid', 0, 'AAAAAAAAAAAAAAAAAAAAAA')]);
    await caughtUp(f, b, 'rf-noid', 0);
    const g = follower(() => b, { options: { backoffMs: 30, maxWaitMs: 100, fetchMaxVersion: 4 } });
    g.manager.setPartitions([part('rf-noid', 0, b.store.getTopic('rf-noid')!.topicId)]);
    await caughtUp(g, b, 'rf-noid', 0);
  });

  it('new leader epoch, OffsetForLeaderEpoch path: a follower with epoch-0 data the leader never kept truncates, then copies the leader', async () => {
    // Old leader (epoch 0) wrote offsets 0-3 and this follower got them all; the new leader only
    // had 0-1 when elected at epoch 1 and wrote 2-4 in it.
    const b = await leader();
    const topicId = await createTopic(b, 'rf-trunc');
    await produce(b, 'rf-trunc', 0, ['a', 'b']);
    b.store.partition('rf-trunc', 0)!.bumpLeaderEpoch(1);
    await produce(b, 'rf-trunc', 0, ['c1', 'd1', 'e1']);
    const f = follower(() => b, { options: { backoffMs: 30, maxWaitMs: 100, fetchMaxVersion: 11 } });
    const log = f.log('rf-trunc', 0);
    const leaderChunks = b.store.partition('rf-trunc', 0)!.read(0n, 1 << 30, true).chunks;
    log.appendAsFollower([leaderChunks[0]!, leaderChunks[1]!, batch(2n, 0, ['c0']), batch(3n, 0, ['d0'])]);
    expect(lastFetchedEpoch(log)).toBe(0);
    f.manager.setPartitions([part('rf-trunc', 0, topicId, 1)]);
    await caughtUp(f, b, 'rf-trunc', 0);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 0, startOffset: 0n },
      { epoch: 1, startOffset: 2n },
    ]);
    expect(f.lines.some((l) => l.msg === 'follower log truncated' && l.to === 2)).toBe(true);
  });

  it('KIP-279: the leader answers an epoch the follower never had: cut, ask again, then copy', async () => {
    // Leader epochs: 0 (0-1), 2 (2-3), 4 (4). Follower: 0 (0-1) and 3 (2-3), an epoch the leader
    // never saw. Asked for 3, the leader answers epoch 2 ending at 4; the follower does not know 2,
    // cuts to its own end of the epoch before (2), asks again for 0 and is told (0, 2).
    const b = await leader();
    const topicId = await createTopic(b, 'rf-kip279');
    await produce(b, 'rf-kip279', 0, ['a', 'b']);
    b.store.partition('rf-kip279', 0)!.bumpLeaderEpoch(2);
    await produce(b, 'rf-kip279', 0, ['c2', 'd2']);
    b.store.partition('rf-kip279', 0)!.bumpLeaderEpoch(4);
    await produce(b, 'rf-kip279', 0, ['e4']);
    const f = follower(() => b, { options: { backoffMs: 30, maxWaitMs: 100, fetchMaxVersion: 11 } });
    const log = f.log('rf-kip279', 0);
    const chunks = b.store.partition('rf-kip279', 0)!.read(0n, 1 << 30, true).chunks;
    log.appendAsFollower([chunks[0]!, chunks[1]!, batch(2n, 3, ['c3']), batch(3n, 3, ['d3'])]);
    f.manager.setPartitions([part('rf-kip279', 0, topicId, 4)]);
    await caughtUp(f, b, 'rf-kip279', 0);
    expect(log.leaderEpochEntries().map((e) => e.epoch)).toEqual([0, 2, 4]);
  });

  it('a follower log end past the leader\'s: OFFSET_OUT_OF_RANGE, cut to the leader\'s end', async () => {
    const b = await leader();
    const topicId = await createTopic(b, 'rf-oor-end');
    await produce(b, 'rf-oor-end', 0, ['a', 'b']);
    const f = follower(() => b);
    const log = f.log('rf-oor-end', 0);
    const chunks = b.store.partition('rf-oor-end', 0)!.read(0n, 1 << 30, true).chunks;
    log.appendAsFollower([...chunks, batch(2n, 0, ['zombie']), batch(3n, 0, ['zombie'])]);
    f.manager.setPartitions([part('rf-oor-end', 0, topicId)]);
    await waitFor(() => log.logEndOffset === 2n, 10_000, 10, 'cut to the leader end');
    await produce(b, 'rf-oor-end', 0, ['c']);
    await caughtUp(f, b, 'rf-oor-end', 0);
  });

  it('leader DeleteRecords past the follower\'s position: start over at the leader\'s log start (also inside a batch)', async () => {
    const b = await leader();
    const topicId = await createTopic(b, 'rf-oor-start', 2);
    // Partition 0: one batch per record, deleted to 3. Partition 1: one batch of 5, deleted to 2.
    await produce(b, 'rf-oor-start', 0, ['a', 'b', 'c', 'd', 'e']);
    const p = kafkaFor(b).producer();
    await p.connect();
    await p.send({ topic: 'rf-oor-start', messages: ['0', '1', '2', '3', '4'].map((value) => ({ partition: 1, value })) });
    await p.disconnect();
    const admin = kafkaFor(b).admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: ['rf-oor-start'] });
    await admin.deleteTopicRecords({ topic: 'rf-oor-start', partitions: [{ partition: 0, offset: '3' }] });
    await admin.deleteTopicRecords({ topic: 'rf-oor-start', partitions: [{ partition: 1, offset: '2' }] });
    await admin.disconnect();
    const f = follower(() => b);
    f.manager.setPartitions([part('rf-oor-start', 0, topicId), part('rf-oor-start', 1, topicId)]);
    await caughtUp(f, b, 'rf-oor-start', 0);
    expect(f.log('rf-oor-start', 0).logStartOffset).toBe(3n);
    await caughtUp(f, b, 'rf-oor-start', 1);
    // The whole batch (0-4) is kept, the log start moved to the leader's.
    expect(f.log('rf-oor-start', 1).logStartOffset).toBe(2n);
    expect(f.log('rf-oor-start', 1).batches.map((x) => readBatchHeader(x).baseOffset)).toEqual([0n]);
  });

  it('reconnects after the leader goes away and comes back on the same port, and resumes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brook-fetcher-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    let b = await startTestBroker({ dataDir: dir });
    const port = b.port;
    let current: Broker | undefined = b;
    cleanups.push(() => current?.close());
    const topicId = await createTopic(b, 'rf-reconnect');
    await produce(b, 'rf-reconnect', 0, ['a', 'b']);
    const f = follower(() => ({ host: '127.0.0.1', port }));
    f.manager.setPartitions([part('rf-reconnect', 0, topicId)]);
    await caughtUp(f, b, 'rf-reconnect', 0);
    await b.close();
    current = undefined;
    // The fetcher notices: one warning (connection lost or refused).
    await waitFor(() => f.lines.some((l) => l.level === 40), 10_000, 10, 'a warning about the leader');
    b = await startTestBroker({ dataDir: dir, port });
    current = b;
    await produce(b, 'rf-reconnect', 0, ['c', 'd']);
    await caughtUp(f, b, 'rf-reconnect', 0);
    expect(f.log('rf-reconnect', 0).logEndOffset).toBe(4n);
    expect(f.lines.some((l) => l.msg === 'replica fetcher connected to leader again')).toBe(true);
  });

  it('setPartitions: a partition left out stops being fetched, the others go on', async () => {
    const b = await leader();
    const topicId = await createTopic(b, 'rf-remove', 2);
    const f = follower(() => b);
    f.manager.setPartitions([part('rf-remove', 0, topicId), part('rf-remove', 1, topicId)]);
    await produce(b, 'rf-remove', 0, ['a']);
    await produce(b, 'rf-remove', 1, ['x']);
    await caughtUp(f, b, 'rf-remove', 0);
    await caughtUp(f, b, 'rf-remove', 1);
    f.manager.setPartitions([part('rf-remove', 1, topicId)]);
    expect(f.manager.describe().map((d) => d.partition)).toEqual([1]);
    await produce(b, 'rf-remove', 0, ['b']);
    await produce(b, 'rf-remove', 1, ['y']);
    // Partition 1 got 'y' in a fetch sent after 'b' was written: partition 0 was not in it.
    await caughtUp(f, b, 'rf-remove', 1);
    expect(f.log('rf-remove', 0).logEndOffset).toBe(1n);
  });

  it('FENCED_LEADER_EPOCH fails the partition until a new epoch; UNKNOWN_LEADER_EPOCH is retried until the leader catches up', async () => {
    const b = await leader();
    const topicId = await createTopic(b, 'rf-epochs', 2);
    b.store.partition('rf-epochs', 0)!.bumpLeaderEpoch(3);
    await produce(b, 'rf-epochs', 0, ['a']);
    await produce(b, 'rf-epochs', 1, ['x']);
    const f = follower(() => b);
    // Partition 0: our epoch 2 is older than the leader's 3. Partition 1: our 1 is newer than its 0.
    f.manager.setPartitions([part('rf-epochs', 0, topicId, 2), part('rf-epochs', 1, topicId, 1)]);
    await waitFor(() => f.manager.describe().find((d) => d.partition === 0)?.state === 'failed', 10_000, 10, 'partition 0 failed');
    await waitFor(() => f.errors.some((e) => e.partition === 1 && e.errorCode === ErrorCode.UNKNOWN_LEADER_EPOCH), 10_000, 10, 'UNKNOWN_LEADER_EPOCH');
    expect(f.errors).toContainEqual({ topic: 'rf-epochs', partition: 0, errorCode: ErrorCode.FENCED_LEADER_EPOCH });
    expect(f.manager.describe().find((d) => d.partition === 1)?.state).toBe('fetching');
    expect(f.log('rf-epochs', 1).logEndOffset).toBe(0n);
    // The leader takes on epoch 1: partition 1 is fetched. New metadata with epoch 3: partition 0 too.
    b.store.partition('rf-epochs', 1)!.bumpLeaderEpoch(1);
    await caughtUp(f, b, 'rf-epochs', 1);
    expect(f.log('rf-epochs', 0).logEndOffset).toBe(0n);
    f.manager.setPartitions([part('rf-epochs', 0, topicId, 3), part('rf-epochs', 1, topicId, 1)]);
    await caughtUp(f, b, 'rf-epochs', 0);
  });

  it('a local append failure fails the partition with one log line, no retries', async () => {
    const b = await leader();
    const topicId = await createTopic(b, 'rf-disk');
    await produce(b, 'rf-disk', 0, ['a']);
    const f = follower(() => b);
    f.log('rf-disk', 0).failAppends = true;
    f.manager.setPartitions([part('rf-disk', 0, topicId)]);
    await waitFor(() => f.manager.describe()[0]?.state === 'failed', 10_000, 10, 'failed');
    expect(f.errors).toEqual([{ topic: 'rf-disk', partition: 0, errorCode: ErrorCode.KAFKA_STORAGE_ERROR }]);
    // Later appends to the leader are not fetched for it: still one error line after another produce round.
    await produce(b, 'rf-disk', 0, ['b']);
    const errorLines = f.lines.filter((l) => l.level === 50);
    expect(errorLines).toHaveLength(1);
    expect(String(errorLines[0]!.err)).toMatch(/disk on fire/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('per-partition rules on plain inputs', () => {
  const seeded = (...batches: Buffer[]): TestFollowerLog => {
    const l = new TestFollowerLog();
    if (batches.length > 0) l.appendAsFollower(batches);
    return l;
  };
  const none = { epoch: -1, endOffset: -1n };

  it('last fetched epoch and the follower\'s own epoch ends', () => {
    expect(lastFetchedEpoch(seeded())).toBe(-1);
    const l = seeded(batch(0n, 1, ['a', 'b']), batch(2n, 3, ['c']), batch(3n, 3, ['d']));
    expect(lastFetchedEpoch(l)).toBe(3);
    const own = ownEndOffsetFor(l);
    expect(own(3)).toEqual({ epoch: 3, endOffset: 4n });
    expect(own(2)).toEqual({ epoch: 1, endOffset: 2n });
    expect(own(0)).toEqual({ epoch: 0, endOffset: 0n });
    expect(own(5)).toEqual(none);
  });

  it('appends whole batches, leaving out a truncated last one', () => {
    const l = seeded(batch(0n, 0, ['a']));
    const b1 = batch(1n, 0, ['b', 'c']);
    const b2 = batch(3n, 0, ['d']);
    const out = applyFetchedData(l, { divergingEpoch: none, records: Buffer.concat([b1, b2.subarray(0, b2.length - 1)]) }, 0n);
    expect(out).toEqual({ kind: 'appended', batches: 1, lastOffset: 2n });
    expect(l.logEndOffset).toBe(3n);
    expect(applyFetchedData(l, { divergingEpoch: none, records: null }, 0n)).toEqual({ kind: 'appended', batches: 0, lastOffset: undefined });
  });

  it('a corrupt batch appends nothing; a failing append fails the partition', () => {
    const l = seeded();
    const bad = Buffer.from(batch(0n, 0, ['a']));
    bad[bad.length - 1]! ^= 1;
    expect(applyFetchedData(l, { divergingEpoch: none, records: bad }, 0n)).toMatchObject({ kind: 'corrupt' });
    expect(l.logEndOffset).toBe(0n);
    l.failAppends = true;
    expect(applyFetchedData(l, { divergingEpoch: none, records: batch(0n, 0, ['a']) }, 0n)).toMatchObject({ kind: 'failed', errorCode: ErrorCode.KAFKA_STORAGE_ERROR });
  });

  it('diverging epoch (Fetch v12+): cut to the end of the common epoch, no data taken', () => {
    // Follower: epoch 0 at 0-3; the leader says epoch 0 ended at 2.
    const l = seeded(batch(0n, 0, ['a', 'b']), batch(2n, 0, ['c', 'd']));
    const out = applyFetchedData(l, { divergingEpoch: { epoch: 0, endOffset: 2n }, records: batch(4n, 1, ['e']) }, 0n);
    expect(out).toEqual({ kind: 'diverged', truncateTo: 2n, done: true });
    expect(l.logEndOffset).toBe(2n);
    expect(l.batches).toHaveLength(1);
  });

  it('diverging epoch unknown to the follower (KIP-279): cut to its own end of the epoch before, not done', () => {
    // Follower: epoch 1 (0-1), epoch 3 (2-3); the leader says epoch 2 ended at 3.
    const l = seeded(batch(0n, 1, ['a', 'b']), batch(2n, 3, ['c', 'd']));
    expect(applyFetchedData(l, { divergingEpoch: { epoch: 2, endOffset: 3n }, records: null }, 0n)).toEqual({ kind: 'diverged', truncateTo: 2n, done: false });
    expect(l.logEndOffset).toBe(2n);
    expect(lastFetchedEpoch(l)).toBe(1);
  });

  it('a batch straddling the log end: an empty log starts at the batch; a non-empty one fails', () => {
    const l = seeded();
    l.truncateFullyAndStartAt(2n);
    expect(applyFetchedData(l, { divergingEpoch: none, records: batch(0n, 0, ['a', 'b', 'c', 'd']) }, 0n)).toEqual({ kind: 'appended', batches: 1, lastOffset: 3n });
    expect([l.logStartOffset, l.logEndOffset]).toEqual([0n, 4n]);
    const m = seeded(batch(0n, 0, ['a']));
    expect(applyFetchedData(m, { divergingEpoch: none, records: batch(0n, 0, ['a', 'b']) }, 0n)).toMatchObject({ kind: 'failed' });
    // A batch wholly below the end is skipped.
    expect(applyFetchedData(m, { divergingEpoch: none, records: Buffer.concat([batch(0n, 0, ['a']), batch(1n, 0, ['b'])]) }, 0n)).toEqual({ kind: 'appended', batches: 1, lastOffset: 1n });
  });

  it('OFFSET_OUT_OF_RANGE: leader end below ours cuts; leader start above ours starts over; else nothing', () => {
    expect(outOfRangeAction(10n, 7n)).toEqual({ truncateTo: 7n });
    expect(outOfRangeAction(10n, 12n)).toBe('ask-start');
    expect(outOfRangeAction(10n, 12n, 11n)).toEqual({ startAt: 11n });
    expect(outOfRangeAction(10n, 12n, 4n)).toBe('none');
  });
});
