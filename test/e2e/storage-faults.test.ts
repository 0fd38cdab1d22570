// Issue 8, "Robust storage", as clients see it: a storage fault (ENOSPC, EMFILE, a damaged segment)
// is answered with KAFKA_STORAGE_ERROR or CORRUPT_MESSAGE for the partition it hit, the connection
// and every other partition keep working, one log line tells the operator, and the partition works
// again when the fault clears. Faults are injected through the `fs` default export the store uses.

import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Broker } from '../../src/broker.js';
import { clientApi, type RawClient } from '../../src/client/raw-client.js';
import { createLogger } from '../../src/common/logger.js';
import { ErrorCode } from '../../protocol/errors.js';
import { CreateTopicsApi, decodeCreateTopicsResponse, encodeCreateTopicsRequest } from '../../protocol/generated/19-create-topics.js';
import { MAGIC_OFFSET } from '../../protocol/records/constants.js';
import { encodeRecordBatch } from '../../protocol/records/index.js';
import { fetchAll, fetchApi, metadata, produceApi, rawClient, startTestBroker } from '../helpers/broker.js';

const createTopicsApi = clientApi(CreateTopicsApi, encodeCreateTopicsRequest, decodeCreateTopicsResponse);
const HAS_PROC_FD = fs.existsSync('/proc/self/fd');

let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(tmpdir(), 'brook-e2e-faults-'));
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

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

async function open(config: Record<string, string> = {}): Promise<{ broker: Broker; raw: RawClient; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const logger = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  const broker = await startTestBroker({ dataDir: dir, logger, config });
  const raw = await rawClient(broker);
  cleanups.push(async () => {
    raw.close();
    await broker.close();
  });
  return { broker, raw, lines };
}

async function createTopic(raw: RawClient, name: string, partitions: number, configs: Record<string, string> = {}) {
  const r = await raw.request(createTopicsApi, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  return r.topics[0]!;
}

function produce(raw: RawClient, topic: string, partitions: Array<[number, string]>) {
  return raw.request(produceApi, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: partitions.map(([index, value]) => ({ index, records: encodeRecordBatch({ records: [{ key: null, value: Buffer.from(value) }] }) })) }],
  });
}

async function fetchAt(raw: RawClient, topics: Array<[string, number, bigint]>) {
  const r = await raw.request(fetchApi, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: topics.map(([topic, partition, fetchOffset]) => ({ topic, partitions: [{ partition, fetchOffset, partitionMaxBytes: 1 << 20 }] })),
    forgottenTopicsData: [],
    rackId: '',
  });
  return r.responses.map((t) => t.partitions[0]!);
}

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${syscall}`), { code, syscall });
}

describe('storage faults as clients see them (issue 8)', () => {
  it.skipIf(!HAS_PROC_FD)(
    'a full disk answers KAFKA_STORAGE_ERROR for the partition hit only, keeps the connection, logs one line, and the partition recovers when space is freed',
    async () => {
      const { raw, lines } = await open();
      expect((await createTopic(raw, 'disk', 2)).errorCode).toBe(ErrorCode.NONE);
      expect((await produce(raw, 'disk', [[0, 'a0'], [1, 'b0']])).responses[0]!.partitionResponses.map((p) => p.errorCode)).toEqual([0, 0]);

      // ENOSPC for every write into disk-0's files (the volume of that partition is full): the
      // appends' writes off the event loop (writev) and those on it (writeSync).
      let full = true;
      const inDisk0 = (fd: number) => full && fs.readlinkSync(`/proc/self/fd/${fd}`).includes(`${path.sep}disk-0${path.sep}`);
      const realWriteSync = fs.writeSync;
      vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, ...rest: unknown[]) => {
        if (inDisk0(fd)) throw errno('ENOSPC', 'write');
        return (realWriteSync as (...a: unknown[]) => number).call(fs, fd, ...rest);
      }) as never);
      const realWritev = fs.writev;
      vi.spyOn(fs, 'writev').mockImplementation(((fd: number, bufs: Buffer[], pos: number, cb: (e: Error | null, n: number) => void) => {
        if (inDisk0(fd)) return setImmediate(() => cb(errno('ENOSPC', 'writev'), 0));
        return (realWritev as (...a: unknown[]) => void).call(fs, fd, bufs, pos, cb);
      }) as never);

      for (let i = 0; i < 3; i++) {
        const r = await produce(raw, 'disk', [[0, `failed${i}`], [1, `b${i + 1}`]]);
        const [p0, p1] = r.responses[0]!.partitionResponses;
        expect(p0!.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
        expect(p0!.errorMessage).toMatch(/ENOSPC/);
        expect(p1!.errorCode).toBe(ErrorCode.NONE);
        expect(p1!.baseOffset).toBe(BigInt(i + 1));
      }
      // Reads of the partition go on, and see nothing of the failed batches.
      const [f0] = await fetchAt(raw, [['disk', 0, 0n]]);
      expect(f0!.errorCode).toBe(ErrorCode.NONE);
      expect(f0!.highWatermark).toBe(1n);
      expect(f0!.records?.length ?? 0).toBeGreaterThan(0);
      const failures = lines.filter((l) => l.level === 40 && /append failed on disk-0/.test(l.msg));
      expect(failures.length).toBe(1);
      expect(failures[0]).toMatchObject({ topic: 'disk', partition: 0, errorCode: 'KAFKA_STORAGE_ERROR' });

      full = false; // space freed: the broker retries the write it holds (within a second, or on
      // the next produce), and a producer's retry goes through.
      let r: Awaited<ReturnType<typeof produce>>;
      for (let attempt = 0; ; attempt++) {
        r = await produce(raw, 'disk', [[0, 'a1']]);
        if (r.responses[0]!.partitionResponses[0]!.errorCode === ErrorCode.NONE || attempt > 50) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // The first failed batch was appended and kept for the retry (its producer was told
      // KAFKA_STORAGE_ERROR, as after a timeout: an idempotent producer's retry of it would be
      // answered as a duplicate); the two refused while the disk was full were never appended.
      expect(r.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 2n });
      expect((await fetchAll(raw, 'disk', 0)).map((x) => x.value!.toString())).toEqual(['a0', 'failed0', 'a1']);
      expect((await fetchAll(raw, 'disk', 1)).map((x) => x.value!.toString())).toEqual(['b0', 'b1', 'b2', 'b3']);
      expect(lines.some((l) => /append works again on disk-0/.test(l.msg))).toBe(true);
    },
  );

  it.skipIf(!HAS_PROC_FD)('a stalled disk holds only the produces and fetches of the partition it stalls: writes leave the event loop', async () => {
    const { broker, raw } = await open();
    // Responses go in order per connection (as on Kafka): the stalled produce's connection waits,
    // other connections do not.
    const fastConn = await rawClient(broker);
    cleanups.push(() => fastConn.close());
    expect((await createTopic(raw, 'slow', 1)).errorCode).toBe(ErrorCode.NONE);
    expect((await createTopic(raw, 'fast', 1)).errorCode).toBe(ErrorCode.NONE);
    // Every write into slow-0's log waits until released, as on a disk that stopped answering.
    const parked: Array<() => void> = [];
    const realWritev = fs.writev;
    vi.spyOn(fs, 'writev').mockImplementation(((fd: number, bufs: Buffer[], pos: number, cb: (e: Error | null, n: number) => void) => {
      const go = () => (realWritev as (...a: unknown[]) => void).call(fs, fd, bufs, pos, cb);
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).includes(`${path.sep}slow-0${path.sep}`)) parked.push(go);
      else go();
    }) as never);

    const slowAnswer = produce(raw, 'slow', [[0, 's0']]);
    let slowDone = false;
    void slowAnswer.then(() => (slowDone = true));
    // A fetch parked on slow-0 (long poll) sees nothing until the write is done.
    const fetchConn = await rawClient(broker);
    cleanups.push(() => fetchConn.close());
    const parkedFetch = fetchConn.request(fetchApi, 11, {
      replicaId: -1, maxWaitMs: 5000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'slow', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    // Meanwhile other connections and partitions are served.
    for (let i = 0; i < 5; i++) {
      const r = await produce(fastConn, 'fast', [[0, `f${i}`]]);
      expect(r.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: BigInt(i) });
    }
    expect(parked.length).toBe(1);
    expect(slowDone).toBe(false);
    const [slowNow] = await fetchAt(fastConn, [['slow', 0, 0n]]);
    expect(slowNow!.highWatermark).toBe(0n); // not readable before it is written

    for (const go of parked.splice(0)) go();
    expect((await slowAnswer).responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    const woke = await parkedFetch;
    expect(woke.responses[0]!.partitions[0]!.highWatermark).toBe(1n);
    expect((await fetchAll(raw, 'slow', 0)).map((x) => x.value!.toString())).toEqual(['s0']);
  });

  it('CreateTopics at the open-file limit answers KAFKA_STORAGE_ERROR and leaves no partition directory', async () => {
    const { raw } = await open();
    const real = fs.openSync;
    vi.spyOn(fs, 'openSync').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      if (String(file).includes(`${path.sep}fds-3${path.sep}`)) throw errno('EMFILE', 'open');
      return (real as (...a: unknown[]) => number).call(fs, file, ...rest);
    }) as never);
    const failed = await createTopic(raw, 'fds', 6);
    expect(failed.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(failed.errorMessage).toMatch(/EMFILE/);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('fds'))).toEqual([]);
    // The connection is fine and the topic does not exist.
    expect((await metadata(raw, ['fds'])).topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    vi.restoreAllMocks();
    expect((await createTopic(raw, 'fds', 6)).errorCode).toBe(ErrorCode.NONE);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('fds')).length).toBe(6);
  });

  it('a damaged batch in an older segment answers CORRUPT_MESSAGE where Fetch reaches it, instead of skipping to the next segment', async () => {
    const size = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('v00') }] }).length;
    {
      const { broker, raw } = await open();
      expect((await createTopic(raw, 'seg', 1, { 'segment.bytes': String(size * 3) })).errorCode).toBe(ErrorCode.NONE);
      expect((await createTopic(raw, 'fine', 1)).errorCode).toBe(ErrorCode.NONE);
      for (let i = 0; i < 9; i++) expect((await produce(raw, 'seg', [[0, `v${String(i).padStart(2, '0')}`]])).responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
      await produce(raw, 'fine', [[0, 'ok']]);
      raw.close();
      await broker.close();
    }
    const file = path.join(dir, 'seg-0', '00000000000000000000.log');
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBe(size * 3);
    bytes[size + MAGIC_OFFSET] = 0x55; // offset 1's batch header
    fs.writeFileSync(file, bytes);

    const { raw, lines } = await open();
    const [damaged, other] = await fetchAt(raw, [
      ['seg', 0, 1n],
      ['fine', 0, 0n],
    ]);
    expect(damaged!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(damaged!.records?.length ?? 0).toBe(0);
    expect(other!.errorCode).toBe(ErrorCode.NONE);
    expect(other!.highWatermark).toBe(1n);
    const [before] = await fetchAt(raw, [['seg', 0, 0n]]);
    expect(before!.errorCode).toBe(ErrorCode.NONE);
    expect(before!.highWatermark).toBe(9n);
    // The next segment is still served from its own offsets.
    expect((await fetchAll(raw, 'seg', 0, 3n)).map((r) => r.offset)).toEqual([3n, 4n, 5n, 6n, 7n, 8n]);
    expect(lines.filter((l) => /read failed on seg-0/.test(l.msg))).toEqual([expect.objectContaining({ errorCode: 'CORRUPT_MESSAGE' })]);
  });
});
