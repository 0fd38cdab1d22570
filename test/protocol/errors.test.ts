import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  ALL_ERROR_CODES,
  ErrorCode,
  LEGACY_ERROR_NAMES,
  errorCodeByName,
  errorMessage,
  errorName,
  isKnownErrorCode,
  isRetriable,
} from '../../protocol/errors.js';

const require = createRequire(import.meta.url);
const kafkajs = require('kafkajs/src/protocol/error.js') as {
  errorCodes: Array<{ type: string; code: number; retriable: boolean; message: string }>;
};

describe('ErrorCode table', () => {
  it('covers -1..133 without gaps or duplicates', () => {
    const codes = [...ALL_ERROR_CODES];
    expect(codes[0]).toBe(-1);
    expect(codes.at(-1)).toBe(133);
    expect(codes).toEqual(Array.from({ length: 135 }, (_, i) => i - 1));
    expect(new Set(Object.values(ErrorCode)).size).toBe(Object.keys(ErrorCode).length);
  });

  it('spot-checks well-known codes', () => {
    expect(ErrorCode.NONE).toBe(0);
    expect(ErrorCode.CORRUPT_MESSAGE).toBe(2);
    expect(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).toBe(3);
    expect(ErrorCode.NOT_LEADER_OR_FOLLOWER).toBe(6);
    expect(ErrorCode.MESSAGE_TOO_LARGE).toBe(10);
    expect(ErrorCode.UNSUPPORTED_VERSION).toBe(35);
    expect(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER).toBe(45);
    expect(ErrorCode.INVALID_PRODUCER_EPOCH).toBe(47);
    expect(ErrorCode.UNKNOWN_PRODUCER_ID).toBe(59);
    expect(ErrorCode.FENCED_LEADER_EPOCH).toBe(74);
    expect(ErrorCode.MEMBER_ID_REQUIRED).toBe(79);
    expect(ErrorCode.INVALID_RECORD).toBe(87);
    expect(ErrorCode.PRODUCER_FENCED).toBe(90);
    expect(ErrorCode.UNKNOWN_TOPIC_ID).toBe(100);
    expect(ErrorCode.TRANSACTION_ABORTABLE).toBe(120);
    expect(ErrorCode.SHARE_SESSION_LIMIT_REACHED).toBe(133);
  });

  it('agrees with every code kafkajs knows (name, number, retriable)', () => {
    expect(kafkajs.errorCodes.length).toBeGreaterThan(80);
    for (const e of kafkajs.errorCodes) {
      expect(isKnownErrorCode(e.code), `code ${e.code}`).toBe(true);
      // kafkajs still uses a few pre-rename names; those must be our legacy aliases for the same code.
      const ours = errorName(e.code);
      if (ours !== e.type) expect(LEGACY_ERROR_NAMES[e.type], `${e.type} vs ${ours}`).toBe(e.code);
      expect(errorCodeByName(e.type)).toBe(e.code);
      expect(isRetriable(e.code), `retriable ${e.type}`).toBe(e.retriable);
    }
  });

  it('retriable flags follow Kafka RetriableException for codes kafkajs does not know', () => {
    for (const c of [89, 100, 103, 106, 122, 123, 133]) expect(isRetriable(c), String(c)).toBe(true);
    for (const c of [90, 104, 110, 113, 120, 129, 132]) expect(isRetriable(c), String(c)).toBe(false);
  });

  it('names, messages and unknown codes', () => {
    expect(errorName(3)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(errorName(-1)).toBe('UNKNOWN_SERVER_ERROR');
    expect(errorName(999)).toBe('UNKNOWN_ERROR_CODE_999');
    expect(isRetriable(999)).toBe(false);
    expect(errorMessage(999)).toMatch(/999/);
    for (const c of ALL_ERROR_CODES) expect(errorMessage(c).length).toBeGreaterThan(3);
    expect(errorCodeByName('NOT_LEADER_FOR_PARTITION')).toBe(6);
    expect(errorCodeByName('NOPE')).toBeUndefined();
  });
});
