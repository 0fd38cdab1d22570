// ApiVersions (key 18), v0-v4.
// Answered from the dispatch table (never kept by hand). v3+ requests carry the client's
// software name/version, which Kafka validates (KIP-511): an invalid one gets INVALID_REQUEST.
// An unsupported version is answered by the dispatcher with a v0 body (UNSUPPORTED_VERSION).
// No features are reported (SupportedFeatures/FinalizedFeatures empty): Java 4.x clients then
// keep the classic transaction protocol.

import { ErrorCode } from '../../protocol/errors.js';
import {
  ApiVersionsApi,
  decodeApiVersionsRequest,
  encodeApiVersionsResponse,
  type ApiVersionsRequest,
  type ApiVersionsResponse,
} from '../../protocol/generated/18-api-versions.js';
import { defineHandler } from './types.js';

const SOFTWARE_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export default defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  api: ApiVersionsApi,
  minVersion: 0,
  maxVersion: 4,
  decode: decodeApiVersionsRequest,
  encode: encodeApiVersionsResponse,
  handle(req, ctx) {
    const apiKeys = ctx.apiRanges.map((r) => ({ apiKey: r.apiKey, minVersion: r.minVersion, maxVersion: r.maxVersion }));
    if (
      ctx.header.apiVersion >= 3 &&
      (!SOFTWARE_NAME.test(req.clientSoftwareName) || !SOFTWARE_NAME.test(req.clientSoftwareVersion))
    ) {
      return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys, throttleTimeMs: 0 };
    }
    return { errorCode: ErrorCode.NONE, apiKeys, throttleTimeMs: 0 };
  },
});
