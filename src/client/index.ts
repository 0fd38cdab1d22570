// Brook's own Kafka client (used by the `brook` CLI): speaks to any Kafka-protocol broker with the
// project's generated codecs and protocol/records. Not a full client: no idempotence, transactions,
// SASL or TLS.

export { Connection, type ConnectionOptions, type RequestOptions } from './connection.js';
export { KafkaClient, parseHostPort, type ClientOptions, type ClusterMetadata, type TopicMetadata, type PartitionMetadata, type TopicPartition } from './client.js';
export { KafkaError, ConnectionError, NotFoundError, UnsupportedVersionError } from './errors.js';
export * from './admin.js';
export { Producer, murmur2, partitionForKey, type ProducerRecord, type ProducerOptions, type PartitionResult } from './producer.js';
export { Fetcher, decodeFetchedRecords, type ConsumedRecord, type FetcherOptions, type Position, type ResetPolicy } from './consumer.js';
export { GroupMember, rangeAssign, encodeAssignment, encodeSubscription, type GroupMemberOptions } from './group.js';
