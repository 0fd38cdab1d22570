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
  17: clientApi(G.SaslHandshakeApi, G.encodeSaslHandshakeRequest, G.decodeSaslHandshakeResponse),
  36: clientApi(G.SaslAuthenticateApi, G.encodeSaslAuthenticateRequest, G.decodeSaslAuthenticateResponse),
  18: clientApi(G.ApiVersionsApi, G.encodeApiVersionsRequest, G.decodeApiVersionsResponse),
  19: clientApi(G.CreateTopicsApi, G.encodeCreateTopicsRequest, G.decodeCreateTopicsResponse),
  20: clientApi(G.DeleteTopicsApi, G.encodeDeleteTopicsRequest, G.decodeDeleteTopicsResponse),
  21: clientApi(G.DeleteRecordsApi, G.encodeDeleteRecordsRequest, G.decodeDeleteRecordsResponse),
  23: clientApi(G.OffsetForLeaderEpochApi, G.encodeOffsetForLeaderEpochRequest, G.decodeOffsetForLeaderEpochResponse),
  29: clientApi(G.DescribeAclsApi, G.encodeDescribeAclsRequest, G.decodeDescribeAclsResponse),
  30: clientApi(G.CreateAclsApi, G.encodeCreateAclsRequest, G.decodeCreateAclsResponse),
  31: clientApi(G.DeleteAclsApi, G.encodeDeleteAclsRequest, G.decodeDeleteAclsResponse),
  32: clientApi(G.DescribeConfigsApi, G.encodeDescribeConfigsRequest, G.decodeDescribeConfigsResponse),
  33: clientApi(G.AlterConfigsApi, G.encodeAlterConfigsRequest, G.decodeAlterConfigsResponse),
  44: clientApi(G.IncrementalAlterConfigsApi, G.encodeIncrementalAlterConfigsRequest, G.decodeIncrementalAlterConfigsResponse),
  35: clientApi(G.DescribeLogDirsApi, G.encodeDescribeLogDirsRequest, G.decodeDescribeLogDirsResponse),
  37: clientApi(G.CreatePartitionsApi, G.encodeCreatePartitionsRequest, G.decodeCreatePartitionsResponse),
  43: clientApi(G.ElectLeadersApi, G.encodeElectLeadersRequest, G.decodeElectLeadersResponse),
  45: clientApi(G.AlterPartitionReassignmentsApi, G.encodeAlterPartitionReassignmentsRequest, G.decodeAlterPartitionReassignmentsResponse),
  46: clientApi(G.ListPartitionReassignmentsApi, G.encodeListPartitionReassignmentsRequest, G.decodeListPartitionReassignmentsResponse),
  48: clientApi(G.DescribeClientQuotasApi, G.encodeDescribeClientQuotasRequest, G.decodeDescribeClientQuotasResponse),
  49: clientApi(G.AlterClientQuotasApi, G.encodeAlterClientQuotasRequest, G.decodeAlterClientQuotasResponse),
  50: clientApi(G.DescribeUserScramCredentialsApi, G.encodeDescribeUserScramCredentialsRequest, G.decodeDescribeUserScramCredentialsResponse),
  51: clientApi(G.AlterUserScramCredentialsApi, G.encodeAlterUserScramCredentialsRequest, G.decodeAlterUserScramCredentialsResponse),
  60: clientApi(G.DescribeClusterApi, G.encodeDescribeClusterRequest, G.decodeDescribeClusterResponse),
};

const batch = (value: string) => encodeRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from(value), headers: [] }] });

async function createTopic(name: string, numPartitions: number, configs: Array<{ name: string; value: string }> = []): Promise<void> {
  const r = await client.request(apis[19]!, 4, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs }], timeoutMs: 1000 });
  expect(r.topics[0].errorCode).toBe(ErrorCode.NONE);
}

/** Produces one single-record batch per value (so each is a batch of its own in the log). */
async function produceEach(topic: string, partition: number, values: string[]): Promise<void> {
  for (const value of values) {
    const r = await client.request(apis[0]!, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch(value) }] }] });
    expect(r.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
  }
}

/** Values of the records a Fetch v11 from `offset` returns (records below it dropped), or its error. */
async function fetchValues(topic: string, partition: number, offset: bigint): Promise<string[] | number> {
  const r = await client.request(apis[1]!, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }],
  });
  const p = r.responses[0].partitions[0];
  if (p.errorCode !== ErrorCode.NONE) return p.errorCode;
  return decodeBatches(p.records).flatMap((b: { records: Array<{ offset: bigint; value: Buffer }> }) => b.records.filter((x) => x.offset >= offset).map((x) => x.value.toString()));
}

async function waitForTopic(name: string): Promise<void> {
  for (let i = 0; i < 100 && !broker.topics.get(name); i++) await new Promise((r) => setTimeout(r, 10));
  expect(broker.topics.get(name)).toBeDefined();
}

async function earliest(topic: string, partition: number): Promise<bigint> {
  const r = await client.request(apis[2]!, 1, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -2n }] }] });
  expect(r.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
  return r.topics[0].partitions[0].offset;
}

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
  async 21(v) {
    // Issue 8. Kafka's rules: -1 = high watermark, past it or negative OFFSET_OUT_OF_RANGE, unknown
    // UNKNOWN_TOPIC_OR_PARTITION, cleanup.policy=compact POLICY_VIOLATION; low_watermark = new start.
    const name = `delrec-v${v}`;
    const compact = `delrec-compact-v${v}`;
    await createTopic(name, 3);
    await createTopic(compact, 1, [{ name: 'cleanup.policy', value: 'compact' }]);
    await produceEach(name, 0, ['a', 'b', 'c', 'd', 'e']);
    await produceEach(name, 1, ['x', 'y', 'z']);
    await produceEach(name, 2, ['q']);
    await produceEach(compact, 0, ['c']);
    const resp = await client.request(apis[21]!, v, {
      topics: [
        { name, partitions: [{ partitionIndex: 0, offset: 2n }, { partitionIndex: 1, offset: -1n }, { partitionIndex: 2, offset: 2n }, { partitionIndex: 9, offset: 0n }] },
        { name: 'no-such-topic', partitions: [{ partitionIndex: 0, offset: 0n }] },
        { name: compact, partitions: [{ partitionIndex: 0, offset: 1n }] },
      ],
      timeoutMs: 1000,
    });
    const out = resp.topics.map((t: { name: string; partitions: Array<{ partitionIndex: number; lowWatermark: bigint; errorCode: number }> }) => ({
      name: t.name,
      partitions: t.partitions.map((p) => [p.partitionIndex, p.errorCode, p.lowWatermark]),
    }));
    expect(out).toEqual([
      {
        name,
        partitions: [
          [0, ErrorCode.NONE, 2n],
          [1, ErrorCode.NONE, 3n],
          [2, ErrorCode.OFFSET_OUT_OF_RANGE, -1n],
          [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
        ],
      },
      { name: 'no-such-topic', partitions: [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n]] },
      { name: compact, partitions: [[0, ErrorCode.POLICY_VIOLATION, -1n]] },
    ]);
    // The real outcome: reads below the new start are out of range, earliest moved, the rest is intact.
    expect(await fetchValues(name, 0, 0n)).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await fetchValues(name, 0, 2n)).toEqual(['c', 'd', 'e']);
    expect(await earliest(name, 0)).toBe(2n);
    expect(await earliest(name, 1)).toBe(3n);
    expect(await fetchValues(name, 1, 3n)).toEqual([]);
    expect(await earliest(name, 2)).toBe(0n);
    expect(await fetchValues(compact, 0, 0n)).toEqual(['c']);
    // Internal topics are refused after the existence check (Kafka: ReplicaManager.deleteRecordsOnLocalLog).
    const md = await client.request(apis[3]!, 4, { topics: [{ name: '__consumer_offsets' }], allowAutoTopicCreation: true });
    expect(md.topics[0].name).toBe('__consumer_offsets');
    await waitForTopic('__consumer_offsets');
    const internal = await client.request(apis[21]!, v, {
      topics: [{ name: '__consumer_offsets', partitions: [{ partitionIndex: 0, offset: 0n }, { partitionIndex: 999, offset: 0n }] }],
      timeoutMs: 1000,
    });
    expect(internal.topics[0].partitions.map((p: { errorCode: number; lowWatermark: bigint }) => [p.errorCode, p.lowWatermark])).toEqual([
      [ErrorCode.INVALID_TOPIC_EXCEPTION, -1n],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
    ]);
    // A smaller offset never moves the start back; a negative one other than -1 is out of range.
    const again = await client.request(apis[21]!, v, { topics: [{ name, partitions: [{ partitionIndex: 0, offset: 1n }, { partitionIndex: 2, offset: -2n }] }], timeoutMs: 1000 });
    expect(again.topics[0].partitions.map((p: { errorCode: number; lowWatermark: bigint }) => [p.errorCode, p.lowWatermark])).toEqual([
      [ErrorCode.NONE, 2n],
      [ErrorCode.OFFSET_OUT_OF_RANGE, -1n],
    ]);
  },
  async 23(v) {
    // Issue 8. Epoch history of the partition: epoch 0 at [0,3), 2 at [3,5), 5 from 5; log end 6.
    // A single node never raises an epoch itself, so the test raises it through the store.
    const name = `epoch-v${v}`;
    await createTopic(name, 1);
    const log = broker.store.partition(name, 0)!;
    await produceEach(name, 0, ['a', 'b', 'c']);
    log.bumpLeaderEpoch(2);
    await produceEach(name, 0, ['d', 'e']);
    log.bumpLeaderEpoch(5);
    await produceEach(name, 0, ['f']);
    const ask = async (parts: Array<{ partition: number; leaderEpoch: number; currentLeaderEpoch?: number }>) => {
      const resp = await client.request(apis[23]!, v, {
        replicaId: -1,
        topics: [{ topic: name, partitions: parts.map((p) => ({ currentLeaderEpoch: -1, ...p })) }, { topic: 'no-such-topic', partitions: [{ partition: 0, leaderEpoch: 0, currentLeaderEpoch: -1 }] }],
      });
      expect(resp.topics[1].partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, endOffset: -1n });
      // v0 has no leader_epoch in the answer (decoded as the default -1).
      return resp.topics[0].partitions.map((p: { errorCode: number; partition: number; leaderEpoch: number; endOffset: bigint }) => [p.partition, p.errorCode, p.leaderEpoch, p.endOffset]);
    };
    const e = (epoch: number) => (v >= 1 ? epoch : -1);
    expect(
      await ask([
        { partition: 0, leaderEpoch: 0 },
        { partition: 0, leaderEpoch: 1 },
        { partition: 0, leaderEpoch: 2 },
        { partition: 0, leaderEpoch: 4 },
        { partition: 0, leaderEpoch: 5 },
        { partition: 0, leaderEpoch: 6 },
        { partition: 0, leaderEpoch: -1 },
        { partition: 3, leaderEpoch: 0 },
      ]),
    ).toEqual([
      [0, ErrorCode.NONE, e(0), 3n], // ends where epoch 2 starts
      [0, ErrorCode.NONE, e(0), 3n], // unknown epoch between known ones: the largest known below it
      [0, ErrorCode.NONE, e(2), 5n],
      [0, ErrorCode.NONE, e(2), 5n],
      [0, ErrorCode.NONE, e(5), 6n], // the current epoch ends at the log end
      [0, ErrorCode.NONE, -1, -1n], // above every known epoch: undefined
      [0, ErrorCode.NONE, -1, -1n], // -1: undefined
      [3, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n],
    ]);
    if (v >= 2) {
      // current_leader_epoch fencing (KIP-320): older FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH.
      expect(
        await ask([
          { partition: 0, leaderEpoch: 2, currentLeaderEpoch: 5 },
          { partition: 0, leaderEpoch: 2, currentLeaderEpoch: 4 },
          { partition: 0, leaderEpoch: 2, currentLeaderEpoch: 6 },
        ]),
      ).toEqual([
        [0, ErrorCode.NONE, 2, 5n],
        [0, ErrorCode.FENCED_LEADER_EPOCH, -1, -1n],
        [0, ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1n],
      ]);
    }
    // After DeleteRecords to 4 the history starts there (Kafka's truncateFromStart: epoch 2 from 4);
    // an epoch older than every known one answers itself with the first known start.
    const del = await client.request(apis[21]!, 1, { topics: [{ name, partitions: [{ partitionIndex: 0, offset: 4n }] }], timeoutMs: 1000 });
    expect(del.topics[0].partitions[0].lowWatermark).toBe(4n);
    expect(
      await ask([
        { partition: 0, leaderEpoch: 0 },
        { partition: 0, leaderEpoch: 2 },
        { partition: 0, leaderEpoch: 5 },
      ]),
    ).toEqual([
      [0, ErrorCode.NONE, e(0), 4n],
      [0, ErrorCode.NONE, e(2), 5n],
      [0, ErrorCode.NONE, e(5), 6n],
    ]);
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
  async 33(v) {
    // Issue 8. Legacy AlterConfigs: the configs given become the resource's whole set.
    const name = `alter-v${v}`;
    await createTopic(name, 1, [{ name: 'segment.bytes', value: '1048576' }]);
    const alter = async (resources: unknown[], validateOnly = false) =>
      (await client.request(apis[33]!, v, { resources, validateOnly })).responses.map((r: { resourceType: number; resourceName: string; errorCode: number }) => [
        r.resourceType,
        r.resourceName,
        r.errorCode,
      ]);
    const topicSet = { resourceType: 2, resourceName: name, configs: [{ name: 'retention.ms', value: '5000' }, { name: 'cleanup.policy', value: 'compact,delete' }] };
    // validate_only: every outcome, nothing changed.
    expect(await alter([topicSet], true)).toEqual([[2, name, ErrorCode.NONE]]);
    expect(broker.topics.get(name)!.configs).toEqual({ 'segment.bytes': '1048576' });
    expect(
      await alter([
        topicSet,
        { resourceType: 4, resourceName: '', configs: [{ name: 'log.message.timestamp.after.max.ms', value: '3600000' }] },
        { resourceType: 4, resourceName: '1', configs: [{ name: 'log.message.timestamp.before.max.ms', value: '7200000' }] },
        { resourceType: 2, resourceName: 'no-such-topic', configs: [] },
        { resourceType: 2, resourceName: name.replace('alter', 'bad'), configs: [{ name: 'retention.ms', value: '-2' }] },
        { resourceType: 4, resourceName: '1', configs: [{ name: 'num.partitions', value: '3' }] },
        { resourceType: 4, resourceName: '7', configs: [] },
      ]),
    ).toEqual([
      [2, name, ErrorCode.NONE],
      [4, '', ErrorCode.NONE],
      [4, '1', ErrorCode.INVALID_REQUEST], // the same resource twice: both refused
      [2, 'no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [2, name.replace('alter', 'bad'), ErrorCode.INVALID_CONFIG],
      [4, '1', ErrorCode.INVALID_REQUEST],
      [4, '7', ErrorCode.INVALID_REQUEST],
    ]);
    // The topic's whole set was replaced (segment.bytes back to the default) and reached its log.
    expect(broker.topics.get(name)!.configs).toEqual({ 'retention.ms': '5000', 'cleanup.policy': 'compact,delete' });
    const log = broker.store.partition(name, 0) as unknown as { config: { retentionMs: number; segmentBytes: number; cleanupPolicy: string } };
    expect(log.config).toMatchObject({ retentionMs: 5000, segmentBytes: 1073741824, cleanupPolicy: 'compact,delete' });
    // DescribeConfigs reports the sources: topic override, cluster-wide dynamic default.
    const d = await client.request(apis[32]!, 1, {
      resources: [{ resourceType: 2, resourceName: name, configurationKeys: ['retention.ms', 'message.timestamp.after.max.ms', 'segment.bytes'] }],
      includeSynonyms: true,
    });
    expect(d.results[0].configs.map((c: { name: string; value: string; configSource: number }) => [c.name, c.value, c.configSource])).toEqual([
      ['retention.ms', '5000', 1],
      ['message.timestamp.after.max.ms', '3600000', 3],
      ['segment.bytes', '1073741824', 5],
    ]);
    // An empty set clears the broker level again.
    expect(await alter([{ resourceType: 4, resourceName: '', configs: [] }])).toEqual([[4, '', ErrorCode.NONE]]);
    expect(broker.config.get('log.message.timestamp.after.max.ms')).toBe('9223372036854775807');
  },
  async 44(v) {
    // Issue 8. IncrementalAlterConfigs: SET, DELETE, APPEND, SUBTRACT on the current values.
    const name = `incr-v${v}`;
    await createTopic(name, 1, [{ name: 'segment.bytes', value: '1048576' }]);
    const ops = async (resources: unknown[], validateOnly = false) =>
      (await client.request(apis[44]!, v, { resources, validateOnly })).responses.map((r: { resourceName: string; errorCode: number }) => [r.resourceName, r.errorCode]);
    const SET = 0;
    const DELETE = 1;
    const APPEND = 2;
    const SUBTRACT = 3;
    expect(await ops([{ resourceType: 2, resourceName: name, configs: [{ name: 'retention.ms', configOperation: SET, value: '9000' }] }], true)).toEqual([[name, ErrorCode.NONE]]);
    expect(broker.topics.get(name)!.configs).toEqual({ 'segment.bytes': '1048576' });
    expect(
      await ops([
        {
          resourceType: 2,
          resourceName: name,
          configs: [
            { name: 'retention.ms', configOperation: SET, value: '9000' },
            { name: 'cleanup.policy', configOperation: APPEND, value: 'compact' },
            { name: 'segment.bytes', configOperation: DELETE, value: null },
          ],
        },
        { resourceType: 4, resourceName: '', configs: [{ name: 'log.retention.bytes', configOperation: SET, value: '123456789' }] },
      ]),
    ).toEqual([
      [name, ErrorCode.NONE],
      ['', ErrorCode.NONE],
    ]);
    // APPEND started from the default ("delete"); the other overrides were kept.
    expect(broker.topics.get(name)!.configs).toEqual({ 'retention.ms': '9000', 'cleanup.policy': 'delete,compact' });
    // The broker default reached the existing partition (no retention.bytes override).
    const log = broker.store.partition(name, 0) as unknown as { config: { retentionMs: number; retentionBytes: number; segmentBytes: number } };
    expect(log.config).toMatchObject({ retentionMs: 9000, retentionBytes: 123456789, segmentBytes: 1073741824 });
    expect(
      await ops([
        { resourceType: 2, resourceName: name, configs: [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' }] },
        { resourceType: 2, resourceName: 'no-such-topic', configs: [{ name: 'retention.ms', configOperation: SET, value: '1' }] },
      ]),
    ).toEqual([
      [name, ErrorCode.NONE],
      ['no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(broker.topics.get(name)!.configs['cleanup.policy']).toBe('compact');
    // APPEND on a non-LIST config, bad values, unknown operations, unknown names.
    const bad = await client.request(apis[44]!, v, {
      resources: [
        { resourceType: 2, resourceName: name, configs: [{ name: 'retention.ms', configOperation: APPEND, value: '1' }] },
        { resourceType: 2, resourceName: name.replace('incr', 'x'), configs: [{ name: 'min.cleanable.dirty.ratio', configOperation: SET, value: '1.5' }] },
        { resourceType: 4, resourceName: '1', configs: [{ name: 'log.retention.ms', configOperation: 9, value: '1' }] },
        { resourceType: 2, resourceName: name.replace('incr', 'y'), configs: [{ name: 'no.such.config', configOperation: SET, value: '1' }] },
      ],
      validateOnly: false,
    });
    expect(bad.responses.map((r: { errorCode: number; errorMessage: string | null }) => [r.errorCode, r.errorMessage])).toEqual([
      [ErrorCode.INVALID_CONFIG, "Can't APPEND to key retention.ms because its type is not LIST."],
      [ErrorCode.INVALID_CONFIG, 'Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1'],
      [ErrorCode.INVALID_REQUEST, 'Unknown operations type 9'],
      [ErrorCode.INVALID_CONFIG, 'Unknown topic config name: no.such.config'],
    ]);
    // DELETE at the broker level: back to the static/default value.
    expect(await ops([{ resourceType: 4, resourceName: '', configs: [{ name: 'log.retention.bytes', configOperation: DELETE, value: null }] }])).toEqual([['', ErrorCode.NONE]]);
    expect(log.config.retentionBytes).toBe(-1);
  },
  async 17(v) {
    // Issue 11. On a PLAINTEXT listener no SASL exchange is expected: ILLEGAL_SASL_STATE, and the
    // connection stays usable (the SASL listener's handshake: test/security/sasl.test.ts).
    const r = await client.request(apis[17]!, v, { mechanism: 'PLAIN' });
    expect(r).toEqual({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] });
    expect((await client.request(apis[3]!, 1, { topics: [] })).brokers.length).toBe(1);
  },
  async 36(v) {
    const r = await client.request(apis[36]!, v, { authBytes: Buffer.from('\u0000u\u0000p') });
    expect(r.errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
    expect(r.sessionLifetimeMs).toBe(0n);
  },
  async 35(v) {
    // Issue 8. The memory store reports one pseudo directory "(memory)" with unknown (-1) space.
    const name = `logdirs-v${v}`;
    await createTopic(name, 2);
    const b = batch('sized');
    await client.request(apis[0]!, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name, partitionData: [{ index: 1, records: b }] }] });
    const all = await client.request(apis[35]!, v, { topics: null });
    if (v >= 3) expect(all.errorCode).toBe(ErrorCode.NONE);
    expect(all.results).toHaveLength(1);
    const dir = all.results[0];
    expect(dir).toMatchObject({ errorCode: ErrorCode.NONE, logDir: '(memory)', totalBytes: -1n, usableBytes: -1n });
    const mine = dir.topics.find((t: { name: string }) => t.name === name);
    expect(mine.partitions).toEqual([
      { partitionIndex: 0, partitionSize: 0n, offsetLag: 0n, isFutureKey: false },
      { partitionIndex: 1, partitionSize: BigInt(b.length), offsetLag: 0n, isFutureKey: false },
    ]);
    expect(dir.topics.map((t: { name: string }) => t.name)).toContain(TOPIC);
    // A filter: only the partitions asked for that exist; unknown topics and partitions left out.
    const some = await client.request(apis[35]!, v, { topics: [{ topic: name, partitions: [1, 7] }, { topic: 'no-such-topic', partitions: [0] }] });
    expect(some.results[0].topics).toEqual([{ name, partitions: [{ partitionIndex: 1, partitionSize: BigInt(b.length), offsetLag: 0n, isFutureKey: false }] }]);
    const none = await client.request(apis[35]!, v, { topics: [] });
    expect(none.results[0].topics).toEqual([]);
  },
  async 37(v) {
    const name = `grow-v${v}`;
    await client.request(apis[19]!, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 1 }] });
    const resp = await client.request(apis[37]!, v, { topics: [{ name, count: 3, assignments: null }], timeoutMs: 1000 });
    expect(resp.results[0].errorCode).toBe(ErrorCode.NONE);
    expect(broker.topics.get(name)?.numPartitions).toBe(3);
  },
  async 43(v) {
    // Issue 10, single node: this broker leads every partition and is its preferred replica.
    const results = (r: { replicaElectionResults: Array<{ topic: string; partitionResult: Array<{ partitionId: number; errorCode: number; errorMessage: string | null }> }> }) =>
      r.replicaElectionResults.flatMap((t) => t.partitionResult.map((p) => [t.topic, p.partitionId, p.errorCode, p.errorMessage]));
    for (const electionType of v >= 1 ? [0, 1] : [0]) {
      const r = await client.request(apis[43]!, v, { electionType, topicPartitions: [{ topic: TOPIC, partitions: [0, 1, 1, 9] }, { topic: 'no-such-topic', partitions: [0] }], timeoutMs: 1000 });
      if (v >= 1) expect(r.errorCode).toBe(ErrorCode.NONE);
      expect(results(r)).toEqual([
        [TOPIC, 0, ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.'],
        [TOPIC, 1, ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.'],
        [TOPIC, 9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'The partition does not exist.'],
        ['no-such-topic', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'The partition does not exist.'],
      ]);
      // Every partition: those that needed no election are left out.
      const all = await client.request(apis[43]!, v, { electionType, topicPartitions: null, timeoutMs: 1000 });
      expect(all.replicaElectionResults).toEqual([]);
    }
    if (v >= 1) {
      const bad = await client.request(apis[43]!, v, { electionType: 7, topicPartitions: [{ topic: TOPIC, partitions: [0] }], timeoutMs: 1000 });
      expect(bad.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    }
  },
  async 45(v) {
    // Single node: the only valid target is this broker, which has the partition already.
    const self = broker.config.nodeId;
    const results = (r: { responses: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }> }) =>
      r.responses.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.errorCode]));
    const r = await client.request(apis[45]!, v, {
      timeoutMs: 1000,
      topics: [
        { name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [self] }, { partitionIndex: 1, replicas: [self, self + 1] }, { partitionIndex: 5, replicas: [self] }, { partitionIndex: 6, replicas: null }] },
        {
          name: 'no-such-topic',
          partitions: [
            { partitionIndex: 0, replicas: [] },
            { partitionIndex: 1, replicas: [self, self] },
            { partitionIndex: 2, replicas: [-1] },
            { partitionIndex: 3, replicas: [self] },
            { partitionIndex: 4, replicas: null },
          ],
        },
      ],
    });
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(results(r)).toEqual([
      [TOPIC, 0, ErrorCode.NONE],
      [TOPIC, 1, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      [TOPIC, 5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [TOPIC, 6, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS],
      ['no-such-topic', 0, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['no-such-topic', 1, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['no-such-topic', 2, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['no-such-topic', 3, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['no-such-topic', 4, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS],
    ]);
    // Nothing in progress to cancel; a partition named twice counts once (the last entry).
    const cancel = await client.request(apis[45]!, v, { timeoutMs: 1000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [] }, { partitionIndex: 0, replicas: null }] }] });
    expect(results(cancel)).toEqual([[TOPIC, 0, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS]]);
  },
  async 46(v) {
    // Single node: never a reassignment in progress.
    for (const topics of [null, [{ name: TOPIC, partitionIndexes: [0, 1] }, { name: 'no-such-topic', partitionIndexes: [0] }]]) {
      const r = await client.request(apis[46]!, v, { timeoutMs: 1000, topics });
      expect(r).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null, topics: [] });
    }
  },
  async 48(v) {
    // Quotas in detail: test/handlers/client-quotas.test.ts.
    const r = await client.request(apis[48]!, v, { components: [{ entityType: 'client-id', matchType: 0, match: `sweep-quota-${v}` }], strict: true });
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null, entries: [] });
    const bad = await client.request(apis[48]!, v, { components: [{ entityType: 'group', matchType: 2, match: null }], strict: false });
    expect(bad).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_VERSION, entries: null });
  },
  async 49(v) {
    const r = await client.request(apis[49]!, v, {
      entries: [
        { entity: [{ entityType: 'client-id', entityName: `sweep-quota-${v}` }], ops: [{ key: 'producer_byte_rate', value: 1e9, remove: false }] },
        { entity: [{ entityType: 'user', entityName: 'sweep' }], ops: [{ key: 'no_such_quota', value: 1, remove: false }] },
      ],
      validateOnly: true,
    });
    expect(r.entries.map((e: { errorCode: number }) => e.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.INVALID_REQUEST]);
  },
  async 50(v) {
    // Users in detail: test/handlers/scram-users.test.ts.
    const r = await client.request(apis[50]!, v, { users: [{ name: 'sweep-nobody' }] });
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, results: [{ user: 'sweep-nobody', errorCode: ErrorCode.RESOURCE_NOT_FOUND, credentialInfos: [] }] });
  },
  async 51(v) {
    const salt = Buffer.alloc(16, 1);
    const r = await client.request(apis[51]!, v, {
      deletions: [{ name: 'sweep-nobody', mechanism: 1 }],
      upsertions: [{ name: `sweep-user-${v}`, mechanism: 2, iterations: 4096, salt, saltedPassword: Buffer.alloc(64, 2) }],
    });
    expect(r.results.map((x: { user: string; errorCode: number }) => [x.user, x.errorCode])).toEqual([
      [`sweep-user-${v}`, ErrorCode.NONE],
      ['sweep-nobody', ErrorCode.RESOURCE_NOT_FOUND],
    ]);
  },
  // The ACL APIs without an authorizer (this broker): SECURITY_DISABLED, as Kafka. With one, they
  // are exercised at every version in test/security/acls.test.ts.
  async 29(v) {
    const resp = await client.request(apis[29]!, v, { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 });
    expect(resp.errorCode).toBe(ErrorCode.SECURITY_DISABLED);
    expect(resp.resources).toEqual([]);
  },
  async 30(v) {
    const resp = await client.request(apis[30]!, v, { creations: [{ resourceType: 2, resourceName: TOPIC, resourcePatternType: 3, principal: 'User:a', host: '*', operation: 3, permissionType: 3 }] });
    expect(resp.results.map((r: { errorCode: number }) => r.errorCode)).toEqual([ErrorCode.SECURITY_DISABLED]);
  },
  async 31(v) {
    const resp = await client.request(apis[31]!, v, { filters: [{ resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }] });
    expect(resp.filterResults.map((r: { errorCode: number }) => r.errorCode)).toEqual([ErrorCode.SECURITY_DISABLED]);
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
const GROUP_KEYS = [8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 47, 22, 24, 25, 26, 27, 28, 61, 65, 66];

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
