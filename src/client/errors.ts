// Errors of Brook's Kafka client. Kafka outcomes are KafkaError (the broker's code, its name and
// whether Kafka calls it retriable); transport problems are ConnectionError; a missing topic,
// partition or group is NotFoundError so the CLI can give it its own exit code.

import { ErrorCode, errorMessage, errorName, isRetriable } from '../../protocol/errors.js';

export class KafkaError extends Error {
  readonly code: number;
  readonly type: string;
  readonly retriable: boolean;

  constructor(code: number, context?: string, brokerMessage?: string | null) {
    const base = brokerMessage ? brokerMessage : errorMessage(code);
    super(`${context ? `${context}: ` : ''}${errorName(code)}: ${base}`);
    this.name = 'KafkaError';
    this.code = code;
    this.type = errorName(code);
    this.retriable = isRetriable(code);
  }
}

/** Connecting, a closed connection, a request timeout, a malformed response. */
export class ConnectionError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionError';
  }
}

/** The broker does not serve any version of an API this client can speak. */
export class UnsupportedVersionError extends KafkaError {
  constructor(apiName: string, detail: string) {
    super(ErrorCode.UNSUPPORTED_VERSION, undefined, `the broker does not support ${apiName} ${detail}`);
    this.name = 'UnsupportedVersionError';
  }
}

/** A topic, partition or group that does not exist. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** Throws a KafkaError for a non-zero code. */
export function check(code: number, context?: string, brokerMessage?: string | null): void {
  if (code !== ErrorCode.NONE) throw new KafkaError(code, context, brokerMessage);
}

/** Whether a failure may go away when retried (after a metadata refresh for leadership errors). */
export function retriable(err: unknown): boolean {
  return (err instanceof KafkaError || err instanceof ConnectionError) && err.retriable;
}
