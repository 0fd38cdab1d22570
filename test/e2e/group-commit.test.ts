// Issue 8, "Robust storage": with flush.messages=1 ("fsync before acknowledging") the fsync leaves
// the event loop (fs.fsync, libuv threadpool) and is shared: produces that arrive while one runs
// are covered by the next (group commit). A Produce answer waits for the fsync that covers its
// append, never less; other connections and partitions carry on meanwhile; a failed fsync answers
// KAFKA_STORAGE_ERROR and the partition works again when the fault clears. Faults and timing are
// injected through the `fs` default export the store uses.

import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Broker } from '../../src/broker.js';
import { clientApi, type RawClient } from '../../src/client/raw-client.js';
import { createLogger } from '../../src/common/logger.js';
import { ErrorCode } from '../../protocol/errors.js';
import { CreateTopicsApi, decodeCreateTopicsResponse, encodeCreateTopicsRequest } from '../../protocol/generated/19-create-topics.js';
import { encodeRecordBatch } from '../../protocol/records/index.js';
import { metadata, produceApi, rawClient, startTestBroker } from '../helpers/broker.js';

const createTopicsApi = clientApi(CreateTopicsApi, encodeCreateTopicsRequest, decodeCreateTopicsResponse);

type FsyncCb = (err: NodeJS.ErrnoException | null) => void;
const realFsync = fs.fsync;

let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(tmpdir(), 'brook-e2e-gc-'));
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // best effort
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

async function open(): Promise<{ broker: Broker; clients: RawClient[] }> {
  const logger = createLogger('error', { write: () => undefined });
  const broker = await startTestBroker({ dataDir: dir, logger });
  const clients: RawClient[] = [];
  for (let i = 0; i < 4; i++) clients.push(await rawClient(broker));
  cleanups.push(async () => {
    for (const c of clients) c.close();
    await broker.close();
  });
  return { broker, clients };
}

async function createTopic(raw: RawClient, name: string, configs: Record<string, string>): Promise<void> {
  const r = await raw.request(createTopicsApi, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(r.topics[0]!.errorCode).toBe(ErrorCode.NONE);
}

/** Every batch these tests produce has the same size, so the batch at offset o ends at (o + 1) * BATCH. */
const value = (i: number): Buffer => Buffer.from(`value-${String(i).padStart(6, '0')}`);
const BATCH = encodeRecordBatch({ records: [{ key: null, value: value(0) }] }).length;

async function produce(raw: RawClient, topic: string, i: number, acks = -1): Promise<{ errorCode: number; baseOffset: bigint }> {
  const r = await raw.request(produceApi, 9, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ key: null, value: value(i) }] }) }] }],
  });
  const p = r.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: p.baseOffset };
}

/** fs.fsync of `topic`'s log files only: other files (none use fs.fsync today) go through untouched. */
function isLogOf(topic: string, fd: number): boolean {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`).includes(`${path.sep}${topic}-0${path.sep}`);
  } catch {
    return false;
  }
}

describe.skipIf(!fs.existsSync('/proc/self/fd'))('flush.messages=1: group commit off the event loop (issue 8)', () => {
  it('concurrent produces share fsyncs, and every answer follows an fsync covering its append', async () => {
    const { clients } = await open();
    await createTopic(clients[0]!, 'gc', { 'flush.messages': '1' });
    // Event order: fsync completions (with the log bytes they cover) and answers.
    const events: Array<{ kind: 'fsync'; covers: number } | { kind: 'ack'; end: number }> = [];
    let fsyncs = 0;
    vi.spyOn(fs, 'fsync').mockImplementation(((fd: number, cb: FsyncCb) => {
      if (!isLogOf('gc', fd)) return realFsync(fd, cb);
      fsyncs++;
      const covers = fs.fstatSync(fd).size;
      // A slow disk: the appends that arrive meanwhile wait for the next fsync.
      setTimeout(() => realFsync(fd, (err) => {
        events.push({ kind: 'fsync', covers });
        cb(err);
      }), 5);
    }) as typeof fs.fsync);
    const syncSpy = vi.spyOn(fs, 'fsyncSync');
    const N = 40;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        produce(clients[i % clients.length]!, 'gc', i).then((r) => {
          events.push({ kind: 'ack', end: (Number(r.baseOffset) + 1) * BATCH });
          return r;
        }),
      ),
    );
    expect(results.every((r) => r.errorCode === ErrorCode.NONE)).toBe(true);
    expect(new Set(results.map((r) => r.baseOffset)).size).toBe(N);
    expect(fsyncs).toBeGreaterThan(0);
    expect(fsyncs).toBeLessThan(N);
    let durable = 0;
    for (const e of events) {
      if (e.kind === 'fsync') durable = Math.max(durable, e.covers);
      else expect(e.end).toBeLessThanOrEqual(durable);
    }
    // Nothing on the produce path fsyncs on the event loop.
    expect(syncSpy).not.toHaveBeenCalled();
  });

  it('other connections and partitions are answered while an fsync runs; flush.messages>1 does not wait', async () => {
    const { clients } = await open();
    await createTopic(clients[0]!, 'slow', { 'flush.messages': '1' });
    await createTopic(clients[0]!, 'fast', {});
    await createTopic(clients[0]!, 'every2', { 'flush.messages': '2' });
    // fsyncs are held until released (a disk that takes its time); later ones go through.
    let holding = true;
    const held: Array<() => void> = [];
    vi.spyOn(fs, 'fsync').mockImplementation(((fd: number, cb: FsyncCb) => {
      if (holding) held.push(() => realFsync(fd, cb));
      else realFsync(fd, cb);
    }) as typeof fs.fsync);
    let answered = false;
    const pending = produce(clients[0]!, 'slow', 0).then((r) => {
      answered = true;
      return r;
    });
    await vi.waitFor(() => expect(held.length).toBe(1));
    // The fsync is held: the event loop still serves another connection and another partition.
    expect((await produce(clients[1]!, 'fast', 1)).errorCode).toBe(ErrorCode.NONE);
    expect((await metadata(clients[2]!, ['slow'])).topics[0]!.errorCode).toBe(ErrorCode.NONE);
    // flush.messages=2: an fsync after two messages, but no answer waits for it.
    expect((await produce(clients[3]!, 'every2', 2)).errorCode).toBe(ErrorCode.NONE);
    expect((await produce(clients[3]!, 'every2', 3)).errorCode).toBe(ErrorCode.NONE);
    expect(answered).toBe(false);
    holding = false;
    while (held.length > 0) held.shift()!();
    expect((await pending).errorCode).toBe(ErrorCode.NONE);
  });

  it('a failed fsync answers KAFKA_STORAGE_ERROR; the next produce after the fault clears succeeds', async () => {
    const { clients } = await open();
    await createTopic(clients[0]!, 'eio', { 'flush.messages': '1' });
    let failing = true;
    vi.spyOn(fs, 'fsync').mockImplementation(((fd: number, cb: FsyncCb) => {
      if (failing && isLogOf('eio', fd)) {
        setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO', errno: -5, syscall: 'fsync' })));
        return;
      }
      realFsync(fd, cb);
    }) as typeof fs.fsync);
    const failed = await Promise.all([produce(clients[0]!, 'eio', 0), produce(clients[1]!, 'eio', 1)]);
    expect(failed.map((r) => r.errorCode)).toEqual([ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.KAFKA_STORAGE_ERROR]);
    failing = false;
    const ok = await produce(clients[0]!, 'eio', 2);
    expect(ok.errorCode).toBe(ErrorCode.NONE);
    expect((await produce(clients[2]!, 'eio', 3)).errorCode).toBe(ErrorCode.NONE);
  });

  it('close waits for a running fsync; the data is there after a restart', async () => {
    const { broker, clients } = await open();
    await createTopic(clients[0]!, 'bye', { 'flush.messages': '1' });
    let holding = true;
    const held: Array<() => void> = [];
    vi.spyOn(fs, 'fsync').mockImplementation(((fd: number, cb: FsyncCb) => {
      if (holding) held.push(() => realFsync(fd, cb));
      else realFsync(fd, cb);
    }) as typeof fs.fsync);
    const pending = produce(clients[0]!, 'bye', 0).catch(() => undefined);
    await vi.waitFor(() => expect(held.length).toBe(1));
    let closed = false;
    const closing = broker.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(closed).toBe(false);
    holding = false;
    while (held.length > 0) held.shift()!();
    await closing;
    await pending;
    vi.restoreAllMocks();
    const again = await startTestBroker({ dataDir: dir, logger: createLogger('error', { write: () => undefined }) });
    cleanups.push(() => again.close());
    const raw = await rawClient(again);
    cleanups.push(() => raw.close());
    expect((await produce(raw, 'bye', 1)).baseOffset).toBe(1n);
  });
});
