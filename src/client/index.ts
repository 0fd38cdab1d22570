// Brook's own Kafka client (the `brook` CLI, the console, broker-to-broker traffic): speaks to any
// Kafka-protocol broker with the project's generated codecs and protocol/records, over TLS and SASL
// (PLAIN, SCRAM, OAUTHBEARER; re-authenticating, KIP-368). Not a full client: no idempotent or
// transactional producer.

export { Connection, type ConnectionOptions, type RequestOptions } from './connection.js';
export { KafkaClient, parseHostPort, type ClientOptions, type ClusterMetadata, type TopicMetadata, type PartitionMetadata, type TopicPartition } from './client.js';
export { KafkaError, ConnectionError, NotFoundError, UnsupportedVersionError } from './errors.js';
export * from './admin.js';
export * from './security-admin.js';
export { Producer, murmur2, partitionForKey, type ProducerRecord, type ProducerOptions, type PartitionResult } from './producer.js';
export { Fetcher, decodeFetchedRecords, type ConsumedRecord, type FetcherOptions, type Position, type ResetPolicy } from './consumer.js';
export { GroupMember, rangeAssign, encodeAssignment, encodeSubscription, type GroupMemberOptions } from './group.js';
