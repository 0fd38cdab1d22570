// SaslHandshake (key 17), v0-v1. On a SASL listener the handshake is taken by the connection's
// authenticator before dispatch (src/server/sasl-authenticator.ts), including a re-authentication
// (KIP-368). What reaches this handler is a handshake where none is expected: on a PLAINTEXT or
// SSL listener, or on an authenticated connection whose client cannot re-authenticate. Kafka
// answers those ILLEGAL_SASL_STATE (KafkaApis.handleSaslHandshakeRequest).

import { ErrorCode } from '../../protocol/errors.js';
import {
  SaslHandshakeApi,
  decodeSaslHandshakeRequest,
  encodeSaslHandshakeResponse,
  type SaslHandshakeRequest,
  type SaslHandshakeResponse,
} from '../../protocol/generated/17-sasl-handshake.js';
import { defineHandler } from './types.js';

export default defineHandler<SaslHandshakeRequest, SaslHandshakeResponse>({
  api: SaslHandshakeApi,
  minVersion: 0,
  maxVersion: 1,
  decode: decodeSaslHandshakeRequest,
  encode: encodeSaslHandshakeResponse,
  handle() {
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
  },
});
