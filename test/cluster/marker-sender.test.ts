// TxnMarkerSender (the transaction coordinator's marker writer in a cluster) against a real broker
// standing in for a partition leader: markers asked for in one turn of the event loop go in one
// WriteTxnMarkers request, entries of one producer id with different epochs in separate requests
// (Kafka's response is keyed by producer id), the leader's answers come back per partition, and
// partitions without a leader or gone from the metadata are answered without a request.

import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/errors.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';
import * as G from '../../protocol/generated/index.js';
import { startBroker, type Broker } from '../../src/broker.js';
import { TxnMarkerSender } from '../../src/cluster/marker-sender.js';
import { silentLogger } from '../../src/common/logger.js';

const InitProducerId = clientApi(G.InitProducerIdApi, G.encodeInitProducerIdRequest, G.decodeInitProducerIdResponse);

let broker: Broker | undefined;
let sender: TxnMarkerSender | undefined;
const localCalls: string[] = [];

afterEach(async () => {
  sender?.close();
  sender = undefined;
  await broker?.close();
  broker = undefined;
  localCalls.length = 0;
});

async function setup(): Promise<{ broker: Broker; sender: TxnMarkerSender }> {
  broker = await startBroker({ topics: [{ name: 't', partitions: 4 }] });
  const b = broker;
  sender = new TxnMarkerSender({
    nodeId: 1,
    // Partition 3 is led here; the others by broker 2 (the real one); topic "gone" is not in the metadata.
    leaderOf: (topic, p) => (topic === 'nobody' ? -1 : p === 3 ? 1 : 2),
    partitionExists: (topic) => topic !== 'gone',
    brokerAddress: (id) => (id === 2 ? { host: b.host, port: b.port } : undefined),
    local: () => ({
      writeTxnMarker: (topic, p) => {
        localCalls.push(`${topic}-${p}`);
        return ErrorCode.NONE;
      },
    }),
    logger: silentLogger(),
  });
  return { broker: b, sender };
}

async function producerId(b: Broker): Promise<bigint> {
  const c = await RawClient.connect(b.host, b.port);
  try {
    const r = await c.request(InitProducerId, 2, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    return r.producerId;
  } finally {
    c.close();
  }
}

describe('TxnMarkerSender', () => {
  it('batches one turn of markers per broker and answers per partition', async () => {
    const { broker: b, sender: s } = await setup();
    const counter = b.faults.addLatency('WriteTxnMarkers', 0);
    const p1 = await producerId(b);
    const p2 = await producerId(b);
    const answers = await Promise.all([
      s.writeTxnMarker('t', 0, p1, 0, true, 0),
      s.writeTxnMarker('t', 1, p1, 0, true, 0),
      s.writeTxnMarker('t', 2, p2, 0, false, 0),
      s.writeTxnMarker('t', 9, p2, 0, false, 0), // the leader has no partition 9
      s.writeTxnMarker('t', 3, p1, 0, true, 0), // led here
      s.writeTxnMarker('gone', 0, p1, 0, true, 0),
      s.writeTxnMarker('nobody', 0, p1, 0, true, 0),
    ]);
    expect(answers).toEqual([
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.NOT_LEADER_OR_FOLLOWER, // our metadata still has it: the leader's lags, retried
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.LEADER_NOT_AVAILABLE,
    ]);
    expect(localCalls).toEqual(['t-3']);
    expect(b.faults.rules().find((r) => r.id === counter.id)!.hits).toBe(1);
    // The markers are in the leader's logs: one control batch each.
    for (const p of [0, 1, 2]) expect(b.store.partition('t', p)!.logEndOffset).toBe(1n);

    // One producer id at two epochs: two requests.
    const answers2 = await Promise.all([s.writeTxnMarker('t', 0, p1, 1, true, 0), s.writeTxnMarker('t', 1, p1, 2, true, 0)]);
    expect(answers2).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    expect(b.faults.rules().find((r) => r.id === counter.id)!.hits).toBe(3);
    // A stale producer epoch is the leader's answer.
    expect(await s.writeTxnMarker('t', 1, p1, 1, true, 0)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('rejects the markers of a request whose connection fails, and connects again for the next', async () => {
    const { broker: b, sender: s } = await setup();
    const pid = await producerId(b);
    b.faults.disconnectOn('WriteTxnMarkers', { count: 1 });
    await expect(s.writeTxnMarker('t', 0, pid, 0, true, 0)).rejects.toThrow();
    expect(await s.writeTxnMarker('t', 0, pid, 0, true, 0)).toBe(ErrorCode.NONE);
    s.close();
    await expect(s.writeTxnMarker('t', 0, pid, 0, true, 0)).rejects.toThrow(/closed/);
  });
});
