// Every API Brook advertises, at every version it advertises, against the real broker on a real
// socket: the request is encoded with the generated codecs (old and flexible encodings), and the
// response must decode completely and carry the expected outcome.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { encodeRecordBatch, decodeBatches } from '../../protocol/records/index.js';
import { decodeMessageSet, encodeMessageSet } from '../../protocol/records/legacy.js';
import { startBroker, type Broker } from '../../src/broker.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { RawClient, clientApi, type ClientApi } from '../../src/client/raw-client.js';

let broker: Broker;
let client: RawClient;
let topicId: string;
const TOPIC = 'sweep';

const apis: Record<number, ClientApi<any, any>> = {
  0: clientApi(G.ProduceApi, G.encodeProduceRequest, G.decodeProduceResponse),
  1: clientApi(G.FetchApi, G.encodeFetchRequest, G.decodeFetchResponse),
  2: clientApi(G.ListOffsetsApi, G.encodeListOffsetsRequest, G.decodeListOffsetsResponse),
  3: clientApi(G.MetadataApi, G.encodeMetadataRequest, G.decodeMetadataResponse),
  18: clientApi(G.ApiVersionsApi, G.encodeApiVersionsRequest, G.decodeApiVersionsResponse),
  19: clientApi(G.CreateTopicsApi, G.encodeCreateTopicsRequest, G.decodeCreateTopicsResponse),
  20: clientApi(G.DeleteTopicsApi, G.encodeDeleteTopicsRequest, G.decodeDeleteTopicsResponse),
  32: clientApi(G.DescribeConfigsApi, G.encodeDescribeConfigsRequest, G.decodeDescribeConfigsResponse),
  37: clientApi(G.CreatePartitionsApi, G.encodeCreatePartitionsRequest, G.decodeCreatePartitionsResponse),
  60: clientApi(G.DescribeClusterApi, G.encodeDescribeClusterRequest, G.decodeDescribeClusterResponse),
};

const batch = (value: string) => encodeRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from(value), headers: [] }] });

/** One exchange per API: build a request for version v and check its response. */
const cases: Record<number, (v: number) => Promise<void>> = {
  async 0(v) {
    // v0-v2 carry legacy message sets (magic 0 for v0-v1, magic 1 for v2), v3+ record batches v2.
    const records = v < 3 ? encodeMessageSet([{ key: Buffer.from('k'), value: Buffer.from(`v${v}`) }], v < 2 ? 0 : 1) : batch(`v${v}`);
    const resp = await client.request(apis[0]!, v, {
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
    });
    const p = resp.responses[0].partitionResponses[0];
    expect(p.errorCode).toBe(ErrorCode.NONE);
    expect(p.baseOffset).toBeGreaterThanOrEqual(0n);
  },
  async 1(v) {
    const resp = await client.request(apis[1]!, v, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 1,
      sessionEpoch: -1,
      topics: [{ topic: TOPIC, topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    expect(resp.errorCode).toBe(ErrorCode.NONE);
    const p = resp.responses[0].partitions[0];
    expect(p.errorCode).toBe(ErrorCode.NONE);
    expect(p.highWatermark).toBeGreaterThan(0n);
    if (v >= 4) expect(p.lastStableOffset).toBe(p.highWatermark);
    if (v < 4) {
      // v0-v1 down-convert to magic 0, v2-v3 to magic 1
      const msgs = decodeMessageSet(p.records);
      expect(msgs.length).toBeGreaterThan(0);
      expect(msgs[0].offset).toBe(0n);
      expect(msgs.every((m: { magic: number }) => m.magic === (v < 2 ? 0 : 1))).toBe(true);
    } else {
      expect(decodeBatches(p.records).length).toBeGreaterThan(0);
    }
    if (v >= 13) expect(resp.responses[0].topicId).toBe(topicId);
  },
  async 2(v) {
    const resp = await client.request(apis[2]!, v, {
      replicaId: -1,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -1n, maxNumOffsets: 1 }] }],
    });
    const p = resp.topics[0].partitions[0];
    expect(p.errorCode).toBe(ErrorCode.NONE);
    if (v === 0) expect(p.oldStyleOffsets[0]).toBeGreaterThan(0n);
    else expect(p.offset).toBeGreaterThan(0n);
  },
  async 3(v) {
    const resp = await client.request(apis[3]!, v, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false });
    expect(resp.brokers).toEqual([expect.objectContaining({ nodeId: 1, port: broker.port })]);
    expect(resp.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(resp.topics[0].partitions).toHaveLength(2);
    if (v >= 2) expect(resp.clusterId).toBe(broker.clusterId);
    if (v >= 10) expect(resp.topics[0].topicId).toBe(topicId);
  },
  async 18(v) {
    const resp = await client.request(apis[18]!, v, { clientSoftwareName: 'sweep', clientSoftwareVersion: '1.0' });
    expect(resp.errorCode).toBe(ErrorCode.NONE);
    expect(resp.apiKeys.map((k: { apiKey: number }) => k.apiKey)).toEqual(HANDLERS.map((h) => h.api.apiKey).sort((a, b) => a - b));
  },
  async 19(v) {
    const name = `created-v${v}`;
    const resp = await client.request(apis[19]!, v, {
      topics: [{ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] }],
      timeoutMs: 1000,
    });
    expect(resp.topics[0]).toMatchObject({ name, errorCode: ErrorCode.NONE });
    if (v >= 5) expect(resp.topics[0].numPartitions).toBe(2);
  },
  async 20(v) {
    await client.request(apis[19]!, 4, { topics: [{ name: `del-v${v}`, numPartitions: 1, replicationFactor: 1 }] });
    const resp = await client.request(apis[20]!, v, { topicNames: [`del-v${v}`], topics: [{ name: `del-v${v}` }], timeoutMs: 1000 });
    expect(resp.responses[0].errorCode).toBe(ErrorCode.NONE);
  },
  async 32(v) {
    const resp = await client.request(apis[32]!, v, {
      resources: [{ resourceType: 2, resourceName: TOPIC, configurationKeys: null }],
      includeSynonyms: true,
    });
    expect(resp.results[0].errorCode).toBe(ErrorCode.NONE);
    const names = resp.results[0].configs.map((c: { name: string }) => c.name);
    expect(names).toContain('retention.ms');
  },
  async 37(v) {
    const name = `grow-v${v}`;
    await client.request(apis[19]!, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 1 }] });
    const resp = await client.request(apis[37]!, v, { topics: [{ name, count: 3, assignments: null }], timeoutMs: 1000 });
    expect(resp.results[0].errorCode).toBe(ErrorCode.NONE);
    expect(broker.topics.get(name)?.numPartitions).toBe(3);
  },
  async 60(v) {
    const resp = await client.request(apis[60]!, v, { includeClusterAuthorizedOperations: false });
    expect(resp.errorCode).toBe(ErrorCode.NONE);
    expect(resp.clusterId).toBe(broker.clusterId);
    expect(resp.brokers[0].port).toBe(broker.port);
  },
};

beforeAll(async () => {
  broker = await startBroker();
  client = await RawClient.connect(broker.host, broker.port);
  const created = await client.request(apis[19]!, 4, { topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: 1 }] });
  expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
  await client.request(apis[0]!, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch('seed') }] }] });
  topicId = broker.topics.get(TOPIC)!.topicId;
});

afterAll(async () => {
  client?.close();
  await broker?.close();
});

/** Group APIs are swept in groups-sweep.test.ts, transaction APIs in txn-sweep.test.ts. */
const GROUP_KEYS = [8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 47, 22, 24, 25, 26, 28, 61, 65, 66];

describe('every advertised API at every advertised version', () => {
  it('has a case for every handler (here or in the group and transaction sweeps)', () => {
    const covered = [...Object.keys(cases).map(Number), ...GROUP_KEYS].sort((a, b) => a - b);
    expect(covered).toEqual(HANDLERS.map((h) => h.api.apiKey).sort((a, b) => a - b));
  });
  for (const h of HANDLERS.filter((x) => !GROUP_KEYS.includes(x.api.apiKey))) {
    for (let v = h.minVersion; v <= h.maxVersion; v++) {
      it(`${h.api.name} v${v}`, async () => {
        await cases[h.api.apiKey]!(v);
      });
    }
  }
});
