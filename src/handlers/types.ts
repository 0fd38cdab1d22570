// What every handler sees: its decoded request and a narrow context. Handlers return the
// response (Kafka errors as data, at the narrowest level) and do not throw for expected outcomes;
// a thrown error closes the connection.

import type { RequestHeader } from '../../protocol/framing.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Encodable, Writer } from '../../protocol/primitives/writer.js';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { BrokerConfig } from '../config/config.js';
import type { ClusterView } from '../cluster/cluster.js';
import type { ReplicaManager } from '../cluster/replica-manager.js';
import type { TopicManager } from '../cluster/topics.js';
import type { ConnectionInfo } from '../server/connection.js';
import type { GroupCoordinatorApi } from '../group/types.js';
import type { TxnCoordinatorApi } from '../txn/coordinator.js';
import type { ScramCredentials } from '../security/scram.js';
import type { ClientQuotas } from '../security/quotas.js';
import type { Authorizer } from '../security/authorizer.js';

export interface RequestContext {
  header: RequestHeader;
  /** An API's name (Produce, Fetch, ...) by key, for log lines. */
  apiNameOf?: (apiKey: number) => string | undefined;
  connection: ConnectionInfo;
  config: BrokerConfig;
  cluster: ClusterView;
  topics: TopicManager;
  replicas: ReplicaManager;
  groups: GroupCoordinatorApi;
  txns: TxnCoordinatorApi;
  clock: Clock;
  logger: Logger;
  /** Per-topic traffic counters (Prometheus), when metrics are on. */
  metrics?: { produced(topic: string, bytes: number, messages: number): void; fetched(topic: string, bytes: number): void };
  /** Users' SCRAM credentials (SASL/SCRAM, Describe/AlterUserScramCredentials). */
  scram: ScramCredentials;
  /** Client quotas: their configuration (Describe/AlterClientQuotas) and byte-rate enforcement. */
  quotas: ClientQuotas;
  /** ACL decisions (allows everything unless `authorizer.class.name` is set); see ./auth.ts. */
  authorizer: Authorizer;
  /**
   * Cluster mode: the internal-topic partition holding a group's or transactional id's state
   * (its leader is the coordinator); undefined while that topic does not exist yet (it is then
   * being created).
   */
  coordinatorPartition?: (kind: 'group' | 'transaction', key: string) => { topic: string; partition: number } | undefined;
  /**
   * Cluster mode: waits until the group's or transactional id's internal-topic partition has
   * replicated everything written to it so far (Kafka's coordinators append with acks=-1); the
   * error to answer instead of success, or NONE. Absent on a single node.
   */
  coordinatorWriteReplicated?: (kind: 'group' | 'transaction', key: string) => Promise<number>;
  /** The advertised API ranges (ApiVersions builds its answer from this). */
  apiRanges: ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }>;
}

/** A handler's answer when the protocol wants no response (acks=0 Produce). */
export class NoResponse {
  constructor(readonly closeReason: string | null = null) {}
}

/** Facts about an API, from the generated codecs. */
export interface ApiMeta {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly flexibleMin: number;
  readonly responseFlexibleMin?: number;
}

export interface Handler<Req = any, Resp = any> {
  readonly api: ApiMeta;
  /** Advertised range; must lie within the spec's range. */
  readonly minVersion: number;
  readonly maxVersion: number;
  decode(r: Reader, version: number): Req;
  encode(w: Writer, m: Encodable<Resp>, version: number): void;
  handle(req: Req, ctx: RequestContext): Encodable<Resp> | NoResponse | Promise<Encodable<Resp> | NoResponse>;
  /** Expected encoded size of a response, so large ones (Fetch) are written without regrowing. */
  sizeHint?(res: Encodable<Resp>): number;
}

export function defineHandler<Req, Resp>(h: Handler<Req, Resp>): Handler<Req, Resp> {
  return h;
}
