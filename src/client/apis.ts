// The APIs Brook's client speaks: each pairs the generated codec's version range with its request
// encoder and response decoder. The connection picks the highest version both this table and the
// broker's ApiVersions answer allow.

import * as P00 from '../../protocol/generated/00-produce.js';
import * as P01 from '../../protocol/generated/01-fetch.js';
import * as P02 from '../../protocol/generated/02-list-offsets.js';
import * as P03 from '../../protocol/generated/03-metadata.js';
import * as P08 from '../../protocol/generated/08-offset-commit.js';
import * as P09 from '../../protocol/generated/09-offset-fetch.js';
import * as P10 from '../../protocol/generated/10-find-coordinator.js';
import * as P11 from '../../protocol/generated/11-join-group.js';
import * as P12 from '../../protocol/generated/12-heartbeat.js';
import * as P13 from '../../protocol/generated/13-leave-group.js';
import * as P14 from '../../protocol/generated/14-sync-group.js';
import * as P15 from '../../protocol/generated/15-describe-groups.js';
import * as P16 from '../../protocol/generated/16-list-groups.js';
import * as P17 from '../../protocol/generated/17-sasl-handshake.js';
import * as P18 from '../../protocol/generated/18-api-versions.js';
import * as P19 from '../../protocol/generated/19-create-topics.js';
import * as P20 from '../../protocol/generated/20-delete-topics.js';
import * as P23 from '../../protocol/generated/23-offset-for-leader-epoch.js';
import * as P27 from '../../protocol/generated/27-write-txn-markers.js';
import * as P29 from '../../protocol/generated/29-describe-acls.js';
import * as P30 from '../../protocol/generated/30-create-acls.js';
import * as P31 from '../../protocol/generated/31-delete-acls.js';
import * as P32 from '../../protocol/generated/32-describe-configs.js';
import * as P35 from '../../protocol/generated/35-describe-log-dirs.js';
import * as P36 from '../../protocol/generated/36-sasl-authenticate.js';
import * as P37 from '../../protocol/generated/37-create-partitions.js';
import * as P42 from '../../protocol/generated/42-delete-groups.js';
import * as P44 from '../../protocol/generated/44-incremental-alter-configs.js';
import * as P48 from '../../protocol/generated/48-describe-client-quotas.js';
import * as P49 from '../../protocol/generated/49-alter-client-quotas.js';
import * as P50 from '../../protocol/generated/50-describe-user-scram-credentials.js';
import * as P51 from '../../protocol/generated/51-alter-user-scram-credentials.js';
import * as P60 from '../../protocol/generated/60-describe-cluster.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Encodable, Writer } from '../../protocol/primitives/writer.js';

export interface Api<Req, Resp> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible request version, or -1. */
  readonly flexibleMin: number;
  readonly responseFlexibleMin?: number;
  encode(w: Writer, m: Encodable<Req>, version: number): void;
  decode(r: Reader, version: number): Resp;
}

interface Meta {
  apiKey: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  flexibleMin: number;
  responseFlexibleMin?: number;
}

function api<Req, Resp>(
  meta: Meta,
  encode: (w: Writer, m: Encodable<Req>, version: number) => void,
  decode: (r: Reader, version: number) => Resp,
  range: { min?: number; max?: number } = {},
): Api<Req, Resp> {
  return {
    apiKey: meta.apiKey,
    name: meta.name,
    minVersion: range.min ?? meta.minVersion,
    maxVersion: range.max ?? meta.maxVersion,
    flexibleMin: meta.flexibleMin,
    responseFlexibleMin: meta.responseFlexibleMin,
    encode,
    decode,
  };
}

export const Apis = {
  // Produce v3 is the first that carries record batches v2, the only format this client writes.
  produce: api(P00.ProduceApi, P00.encodeProduceRequest, P00.decodeProduceResponse, { min: 3 }),
  // Fetch v4 is the first with isolation level and aborted transactions.
  fetch: api(P01.FetchApi, P01.encodeFetchRequest, P01.decodeFetchResponse, { min: 4 }),
  // ListOffsets v0 answers a list of offsets instead of one offset and timestamp.
  listOffsets: api(P02.ListOffsetsApi, P02.encodeListOffsetsRequest, P02.decodeListOffsetsResponse, { min: 1 }),
  // Metadata v1 tells "all topics" (null) from "no topics" (empty).
  metadata: api(P03.MetadataApi, P03.encodeMetadataRequest, P03.decodeMetadataResponse, { min: 1 }),
  // OffsetCommit v1 is the first with a generation and member id.
  offsetCommit: api(P08.OffsetCommitApi, P08.encodeOffsetCommitRequest, P08.decodeOffsetCommitResponse, { min: 1 }),
  // OffsetFetch v1 reads Kafka-stored offsets (v0 is ZooKeeper).
  offsetFetch: api(P09.OffsetFetchApi, P09.encodeOffsetFetchRequest, P09.decodeOffsetFetchResponse, { min: 1 }),
  findCoordinator: api(P10.FindCoordinatorApi, P10.encodeFindCoordinatorRequest, P10.decodeFindCoordinatorResponse),
  joinGroup: api(P11.JoinGroupApi, P11.encodeJoinGroupRequest, P11.decodeJoinGroupResponse, { min: 1 }),
  heartbeat: api(P12.HeartbeatApi, P12.encodeHeartbeatRequest, P12.decodeHeartbeatResponse),
  leaveGroup: api(P13.LeaveGroupApi, P13.encodeLeaveGroupRequest, P13.decodeLeaveGroupResponse),
  syncGroup: api(P14.SyncGroupApi, P14.encodeSyncGroupRequest, P14.decodeSyncGroupResponse),
  describeGroups: api(P15.DescribeGroupsApi, P15.encodeDescribeGroupsRequest, P15.decodeDescribeGroupsResponse),
  listGroups: api(P16.ListGroupsApi, P16.encodeListGroupsRequest, P16.decodeListGroupsResponse),
  saslHandshake: api(P17.SaslHandshakeApi, P17.encodeSaslHandshakeRequest, P17.decodeSaslHandshakeResponse, { min: 1 }),
  apiVersions: api(P18.ApiVersionsApi, P18.encodeApiVersionsRequest, P18.decodeApiVersionsResponse),
  // DescribeLogDirs: partition sizes per broker (the console).
  describeLogDirs: api(P35.DescribeLogDirsApi, P35.encodeDescribeLogDirsRequest, P35.decodeDescribeLogDirsResponse),
  saslAuthenticate: api(P36.SaslAuthenticateApi, P36.encodeSaslAuthenticateRequest, P36.decodeSaslAuthenticateResponse),
  createTopics: api(P19.CreateTopicsApi, P19.encodeCreateTopicsRequest, P19.decodeCreateTopicsResponse),
  deleteTopics: api(P20.DeleteTopicsApi, P20.encodeDeleteTopicsRequest, P20.decodeDeleteTopicsResponse),
  // OffsetForLeaderEpoch v3 is the first that carries the asking replica's id (a follower's truncation).
  offsetForLeaderEpoch: api(P23.OffsetForLeaderEpochApi, P23.encodeOffsetForLeaderEpochRequest, P23.decodeOffsetForLeaderEpochResponse, { min: 3 }),
  // Inter-broker: a transaction coordinator's markers to a partition leader.
  writeTxnMarkers: api(P27.WriteTxnMarkersApi, P27.encodeWriteTxnMarkersRequest, P27.decodeWriteTxnMarkersResponse),
  // The ACL APIs: v0 knows only LITERAL patterns (KIP-290 added the pattern type in v1); callers
  // that need another ask for v1+.
  describeAcls: api(P29.DescribeAclsApi, P29.encodeDescribeAclsRequest, P29.decodeDescribeAclsResponse),
  createAcls: api(P30.CreateAclsApi, P30.encodeCreateAclsRequest, P30.decodeCreateAclsResponse),
  deleteAcls: api(P31.DeleteAclsApi, P31.encodeDeleteAclsRequest, P31.decodeDeleteAclsResponse),
  // DescribeConfigs v1 reports each config's source (v0 only "is default").
  describeConfigs: api(P32.DescribeConfigsApi, P32.encodeDescribeConfigsRequest, P32.decodeDescribeConfigsResponse),
  createPartitions: api(P37.CreatePartitionsApi, P37.encodeCreatePartitionsRequest, P37.decodeCreatePartitionsResponse),
  deleteGroups: api(P42.DeleteGroupsApi, P42.encodeDeleteGroupsRequest, P42.decodeDeleteGroupsResponse),
  incrementalAlterConfigs: api(P44.IncrementalAlterConfigsApi, P44.encodeIncrementalAlterConfigsRequest, P44.decodeIncrementalAlterConfigsResponse),
  describeClientQuotas: api(P48.DescribeClientQuotasApi, P48.encodeDescribeClientQuotasRequest, P48.decodeDescribeClientQuotasResponse),
  alterClientQuotas: api(P49.AlterClientQuotasApi, P49.encodeAlterClientQuotasRequest, P49.decodeAlterClientQuotasResponse),
  describeUserScramCredentials: api(P50.DescribeUserScramCredentialsApi, P50.encodeDescribeUserScramCredentialsRequest, P50.decodeDescribeUserScramCredentialsResponse),
  alterUserScramCredentials: api(P51.AlterUserScramCredentialsApi, P51.encodeAlterUserScramCredentialsRequest, P51.decodeAlterUserScramCredentialsResponse),
  describeCluster: api(P60.DescribeClusterApi, P60.encodeDescribeClusterRequest, P60.decodeDescribeClusterResponse),
} as const;

/** An API's name by key (every key the generated codecs know), for `cluster describe --api-versions`. */
export async function apiNames(): Promise<Map<number, string>> {
  const all = (await import('../../protocol/generated/index.js')) as unknown as Record<string, unknown>;
  const out = new Map<number, string>();
  for (const v of Object.values(all)) {
    // The *Api metas (not the *Schema objects, which carry an apiKey too).
    if (v && typeof v === 'object' && 'apiKey' in v && typeof (v as Meta).maxVersion === 'number' && 'flexibleMin' in v) out.set((v as Meta).apiKey, (v as Meta).name);
  }
  return out;
}
