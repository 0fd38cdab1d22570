// SaslAuthenticate (key 36), v0-v2. On a SASL listener the tokens are taken by the connection's
// authenticator before dispatch (src/server/sasl-authenticator.ts). What reaches this handler
// comes where no authentication is under way (a PLAINTEXT or SSL listener, or after a successful
// one): ILLEGAL_SASL_STATE, as Kafka (KafkaApis.handleSaslAuthenticateRequest).

import { ErrorCode } from '../../protocol/errors.js';
import {
  SaslAuthenticateApi,
  decodeSaslAuthenticateRequest,
  encodeSaslAuthenticateResponse,
  type SaslAuthenticateRequest,
  type SaslAuthenticateResponse,
} from '../../protocol/generated/36-sasl-authenticate.js';
import { defineHandler } from './types.js';

export default defineHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>({
  api: SaslAuthenticateApi,
  minVersion: 0,
  maxVersion: 2,
  decode: decodeSaslAuthenticateRequest,
  encode: encodeSaslAuthenticateResponse,
  handle() {
    return {
      errorCode: ErrorCode.ILLEGAL_SASL_STATE,
      errorMessage: 'SaslAuthenticate request received after successful authentication',
      authBytes: Buffer.alloc(0),
      sessionLifetimeMs: 0n,
    };
  },
});
