// Record batch v2 (magic 2) layout constants.
//
//   offset  size  field
//   0       8     baseOffset            int64
//   8       4     batchLength           int32  bytes after this field (= batch size - 12)
//   12      4     partitionLeaderEpoch  int32
//   16      1     magic                 int8   (= 2)
//   17      4     crc                   uint32 CRC-32C of bytes 21..end
//   21      2     attributes            int16
//   23      4     lastOffsetDelta       int32
//   27      8     baseTimestamp         int64
//   35      8     maxTimestamp          int64
//   43      8     producerId            int64
//   51      2     producerEpoch         int16
//   53      4     baseSequence          int32
//   57      4     recordCount           int32
//   61      ...   records (compressed as a whole when attributes & 7 != 0)

export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;
/** Smallest legal batchLength (a batch with no records). */
export const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD;
export const CURRENT_MAGIC = 2;

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;
/** First byte covered by the CRC. */
export const CRC_START = ATTRIBUTES_OFFSET;

/** Compression codec ids (attributes bits 0-2). */
export const Compression = {
  NONE: 0,
  GZIP: 1,
  SNAPPY: 2,
  LZ4: 3,
  ZSTD: 4,
} as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

export const COMPRESSION_NAMES: Readonly<Record<number, string>> = {
  0: 'none',
  1: 'gzip',
  2: 'snappy',
  3: 'lz4',
  4: 'zstd',
};

/** Batch attribute bits. */
export const BatchAttribute = {
  COMPRESSION_MASK: 0x07,
  /** 1 = LogAppendTime, 0 = CreateTime. */
  TIMESTAMP_TYPE: 0x08,
  TRANSACTIONAL: 0x10,
  CONTROL: 0x20,
  HAS_DELETE_HORIZON_MS: 0x40,
} as const;

export const TimestampType = {
  CREATE_TIME: 0,
  LOG_APPEND_TIME: 1,
} as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

/** Control record types (control record key: version int16, type int16). */
export const ControlRecordType = {
  ABORT: 0,
  COMMIT: 1,
} as const;
export type ControlRecordType = (typeof ControlRecordType)[keyof typeof ControlRecordType];

export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
export const NO_TIMESTAMP = -1n;
