// Issue 11: max.connections and max.connections.per.ip (and its overrides), shared by every
// listener. A connection past a cap is closed at once; the ones already open keep working, and a
// slot freed by a closed connection is taken by the next one.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker.js';
import { ConnectionQuota, parsePerIpOverrides } from '../../src/server/connection-quota.js';
import { waitFor } from '../helpers/cluster.js';

let broker: Broker | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await broker?.close();
  broker = undefined;
});

/** Opens a connection and resolves once it is known whether the broker kept it (still open after a pause) or closed it. */
function connect(port: number): Promise<{ socket: net.Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let closed = false;
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.on('close', () => (closed = true));
    socket.on('error', () => {});
    socket.once('connect', () => setTimeout(() => resolve({ socket, closed: () => closed }), 150));
    socket.once('error', reject);
  });
}

describe('connection limits', () => {
  it('max.connections: the connection past the cap is closed; a freed slot is reused', async () => {
    broker = await startBroker({ host: '127.0.0.1', port: 0, config: { 'max.connections': '3' } });
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await connect(broker.port));
    expect(open.every((c) => !c.closed())).toBe(true);
    const fourth = await connect(broker.port);
    await waitFor(() => fourth.closed(), 2000, 'the fourth connection closed');
    open[0]!.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await connect(broker.port);
    expect(again.closed()).toBe(false);
    expect(open.slice(1).every((c) => !c.closed())).toBe(true);
  });

  it('max.connections.per.ip with an override for the address', async () => {
    broker = await startBroker({ host: '127.0.0.1', port: 0, config: { 'max.connections.per.ip': '1' } });
    const first = await connect(broker.port);
    const second = await connect(broker.port);
    expect(first.closed()).toBe(false);
    await waitFor(() => second.closed(), 2000, 'the second connection closed');
    await broker.close();
    broker = await startBroker({ host: '127.0.0.1', port: 0, config: { 'max.connections.per.ip': '1', 'max.connections.per.ip.overrides': '127.0.0.1:2' } });
    const a = await connect(broker.port);
    const b = await connect(broker.port);
    const c = await connect(broker.port);
    expect(a.closed() || b.closed()).toBe(false);
    await waitFor(() => c.closed(), 2000, 'the third connection closed');
  });

  it('overrides are parsed as address:count; a bad entry is refused at start', async () => {
    expect([...parsePerIpOverrides('10.0.0.1:5, ::1:7,::ffff:10.0.0.2:1')]).toEqual([['10.0.0.1', 5], ['::1', 7], ['10.0.0.2', 1]]);
    await expect(startBroker({ host: '127.0.0.1', port: 0, config: { 'max.connections.per.ip.overrides': 'nope' } })).rejects.toThrow(/max.connections.per.ip.overrides: bad entry "nope"/);
    const q = new ConnectionQuota({ maxConnections: 10, maxPerIp: 1, overrides: new Map() });
    expect(q.acquire('::ffff:1.2.3.4')).toBeNull();
    expect(q.acquire('1.2.3.4')).toMatch(/per.ip/);
    q.release('1.2.3.4');
    expect(q.open).toBe(0);
  });
});

describe('queued.max.request.bytes over all connections', () => {
  it('past the limit no connection reads another request until answers free room', async () => {
    const { rawClient, produceApi, metadataApi } = await import('../helpers/broker.js');
    const { encodeRecordBatch } = await import('../../protocol/records/index.js');
    broker = await startBroker({ host: '127.0.0.1', port: 0, config: { 'queued.max.request.bytes': '1048576' } });
    expect(broker.topics.create('held', 1, 1, {}).errorCode).toBe(0);
    // Produces to a paused partition stay in flight, holding their request bytes.
    broker.faults.pausePartition('held', 0);
    const records = encodeRecordBatch({ records: [{ key: null, value: Buffer.alloc(600_000, 1) }] });
    const body = { acks: 1, timeoutMs: 30_000, topicData: [{ name: 'held', partitionData: [{ index: 0, records }] }] };
    const a = await rawClient(broker);
    const b = await rawClient(broker);
    const c = await rawClient(broker);
    try {
      const held = [a.request(produceApi, 9, body), b.request(produceApi, 9, body)];
      await new Promise((r) => setTimeout(r, 200));
      // 1.2 MB read and unanswered: a third connection's Metadata is not read.
      let answered = false;
      const md = c.request(metadataApi, 12, { topics: [], allowAutoTopicCreation: false }).then((r) => {
        answered = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(answered).toBe(false);
      // The produces complete; the pool drains and the Metadata is read and answered.
      broker.faults.resumePartition('held', 0);
      for (const r of await Promise.all(held)) expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
      expect((await md).brokers.length).toBe(1);
    } finally {
      for (const x of [a, b, c]) x.close();
    }
  });
});
