// Produce (key 0), advertised v0-v11; v3+ implemented (record batch v2).
// Like Kafka 4 (KAFKA-18659) v0-v2 are advertised, because librdkafka < 2.11 enables compression
// only when Produce v0 is in the range, but they are not served: every partition of such a request
// gets UNSUPPORTED_VERSION (legacy message sets come with the compat issue).
// acks 0/1/-1 (any other value: INVALID_REQUIRED_ACKS). On a single node acks=-1 is satisfied by
// the leader's append. acks=0 gets no response at all; if such a request fails, the connection is
// closed instead (Kafka's way of telling an acks=0 producer).
// Not implemented yet: idempotent/transactional producer state (InitProducerId is not advertised,
// so stock clients never send producer ids), quotas (throttle_time_ms is always 0).

import { ErrorCode } from '../../protocol/errors.js';
import {
  ProduceApi,
  decodeProduceRequest,
  encodeProduceResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../../protocol/generated/00-produce.js';
import type { Encodable } from '../../protocol/primitives/writer.js';
import { NoResponse, defineHandler } from './types.js';

type PartitionOut = Encodable<ProduceResponse['responses'][number]['partitionResponses'][number]>;

export default defineHandler<ProduceRequest, ProduceResponse>({
  api: ProduceApi,
  minVersion: 0,
  maxVersion: 11,
  decode: decodeProduceRequest,
  encode: encodeProduceResponse,
  handle(req, ctx) {
    const version = ctx.header.apiVersion;
    const acksValid = req.acks === 0 || req.acks === 1 || req.acks === -1;
    let failed = false;
    const responses = req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p): PartitionOut => {
        let errorCode: number;
        let out: PartitionOut;
        if (version < 3) {
          errorCode = ErrorCode.UNSUPPORTED_VERSION;
          out = { index: p.index, errorCode, baseOffset: -1n, errorMessage: 'Produce v0-v2 (message format v0/v1) is not supported; use v3+' };
        } else if (!acksValid) {
          errorCode = ErrorCode.INVALID_REQUIRED_ACKS;
          out = { index: p.index, errorCode, baseOffset: -1n };
        } else {
          const r = ctx.replicas.append(t.name, p.index, p.records);
          errorCode = r.errorCode;
          out = {
            index: p.index,
            errorCode: r.errorCode,
            baseOffset: r.baseOffset,
            logAppendTimeMs: r.logAppendTimeMs,
            logStartOffset: r.logStartOffset,
            recordErrors: [],
            errorMessage: r.errorMessage,
          };
        }
        if (errorCode !== ErrorCode.NONE) failed = true;
        return out;
      }),
    }));
    if (req.acks === 0) {
      return new NoResponse(failed ? 'acks=0 produce failed (Kafka closes the connection to signal it)' : null);
    }
    return { responses, throttleTimeMs: 0 };
  },
});
