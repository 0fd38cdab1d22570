// Public surface of the log store.

export * from './types.js';
export { createMemoryStore } from './memory-store.js';
export { openFileStore, type FileLogStore, type FileStoreOptions } from './file-store.js';
export { InvalidBatchError, LogStoreError, type LogStoreErrorCode, effectiveLogConfig, validateTopicName } from './common.js';
