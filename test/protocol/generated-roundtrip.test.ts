// Round trip of every generated codec, for every stable version: a sample message built from the
// generated schema facts (non-default values everywhere) is encoded, decoded and re-encoded.

import { describe, expect, it } from 'vitest';
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';
import {
  API_SPECS,
  DATA_SPECS,
  HEADER_SPECS,
  type FieldSchema,
  type MessageSchema,
  apiSpec,
  decodeMetadataRequest,
  decodeProduceResponse,
  encodeApiVersionsResponse,
  encodeFetchRequest,
  encodeMetadataRequest,
  encodeProduceRequest,
  encodeProduceResponse,
  encodeRequestHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../protocol/generated/index.js';

// ---- version ranges (parsed independently of the generator) ----

function inRange(range: string | undefined, v: number): boolean {
  if (range === undefined || range === 'none') return false;
  let m = /^(\d+)\+$/.exec(range);
  if (m) return v >= Number(m[1]);
  m = /^(\d+)-(\d+)$/.exec(range);
  if (m) return v >= Number(m[1]) && v <= Number(m[2]);
  return v === Number(range);
}

// ---- deterministic pseudo-random values ----

function seedOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

class Rng {
  constructor(private state: number) {}
  next(): number {
    // mulberry32
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
}

const STRINGS = ['topic-ä', '日本語のトピック', 'emoji 🚀 ok', 'grüße', 'a', 'x'.repeat(40), 'naïve café', 'Ω≈ç√'];

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

// ---- defaults and samples from the schema facts ----

type Value = unknown;

function baseType(f: FieldSchema): { array: boolean; base: string } {
  return f.type.startsWith('[]') ? { array: true, base: f.type.slice(2) } : { array: false, base: f.type };
}

function defaultOf(f: FieldSchema): Value {
  const { array, base } = baseType(f);
  const d = f.default;
  if (array) return d === 'null' ? null : [];
  if (f.fields) return d === 'null' ? null : defaultStruct(f.fields);
  switch (base) {
    case 'bool':
      return d === true || d === 'true';
    case 'int64':
      return d === undefined ? 0n : BigInt(d as string);
    case 'string':
      return d === 'null' ? null : d === undefined ? '' : String(d);
    case 'uuid':
      return 'AAAAAAAAAAAAAAAAAAAAAA';
    case 'bytes':
      return d === 'null' ? null : Buffer.alloc(0);
    case 'records':
      return null;
    default:
      return d === undefined ? 0 : Number(d);
  }
}

function defaultStruct(fields: FieldSchema[]): Record<string, Value> {
  const o: Record<string, Value> = {};
  for (const f of fields) o[f.prop] = defaultOf(f);
  return o;
}

function primitiveSample(base: string, rng: Rng, dflt: Value): Value {
  switch (base) {
    case 'bool':
      return !(dflt as boolean);
    case 'int64': {
      const big = BigInt.asIntN(64, (BigInt(rng.int(1, 0x7fffffff)) << 33n) | BigInt(rng.int(0, 0x7fffffff)));
      const v = rng.next() < 0.5 ? -big : big;
      return v === dflt ? v + 1n : v;
    }
    case 'float64':
      return Math.round((rng.next() - 0.5) * 1e9) / 1024 + 0.125;
    case 'string': {
      let s = rng.pick(STRINGS) + rng.int(0, 999);
      if (s === dflt) s += '!';
      return s;
    }
    case 'uuid': {
      const b = rng.bytes(16);
      b[0] = 1 + (b[0]! % 200);
      return b.toString('base64url');
    }
    case 'bytes':
    case 'records':
      return rng.bytes(rng.int(1, 24));
    default: {
      const [lo, hi] = INT_RANGES[base]!;
      let v = rng.next() < 0.4 && lo < 0 ? rng.int(lo, -1) : rng.int(Math.max(lo, 1), hi);
      if (v === dflt) v = v === hi ? v - 1 : v + 1;
      return v;
    }
  }
}

interface Sample {
  value: Record<string, Value>;
  expected: Record<string, Value>;
}

/**
 * Builds a sample struct for `version`: fields present in that version get non-default values
 * (some nullable ones null); `expected` is what a decoder must return (defaults where absent).
 */
function sampleStruct(fields: FieldSchema[], version: number, flexible: boolean, rng: Rng, depth: number): Sample {
  const value: Record<string, Value> = {};
  const expected: Record<string, Value> = {};
  for (const f of fields) {
    const tagged = f.taggedVersions !== undefined && inRange(f.taggedVersions, version);
    const present = inRange(f.versions, version) && (!tagged || flexible);
    if (!present) {
      expected[f.prop] = defaultOf(f);
      continue;
    }
    const nullable = inRange(f.nullableVersions, version);
    const dflt = defaultOf(f);
    if (nullable && rng.next() < 0.3) {
      value[f.prop] = null;
      expected[f.prop] = null;
      continue;
    }
    const { array, base } = baseType(f);
    if (f.fields) {
      if (array) {
        const items = [0, 1].map(() => sampleStruct(f.fields!, version, flexible, rng, depth + 1));
        value[f.prop] = items.map((i) => i.value);
        expected[f.prop] = items.map((i) => i.expected);
      } else {
        const s = sampleStruct(f.fields, version, flexible, rng, depth + 1);
        value[f.prop] = s.value;
        expected[f.prop] = s.expected;
      }
    } else if (array) {
      const items = [0, 1].map(() => primitiveSample(base, rng, undefined));
      value[f.prop] = items;
      expected[f.prop] = items;
    } else {
      const v = primitiveSample(base, rng, dflt);
      value[f.prop] = v;
      expected[f.prop] = v;
    }
  }
  return { value, expected };
}

function sampleMessage(schema: MessageSchema, version: number, seed: string): Sample {
  const flexible = inRange(schema.flexibleVersions, version);
  return sampleStruct(schema.fields, version, flexible, new Rng(seedOf(seed)), 0);
}

// ---- the round trip ----

type Decode = (r: Reader, v: number) => unknown;
type Encode = (w: Writer, m: unknown, v: number) => void;

function encode(enc: Encode, m: unknown, version: number): Buffer {
  const w = new Writer(16);
  enc(w, m, version);
  return Buffer.from(w.finish());
}

function roundTrip(schema: MessageSchema, dec: Decode, enc: Encode, version: number, seed: string): void {
  const { value, expected } = sampleMessage(schema, version, seed);
  const bytes = encode(enc, value, version);
  const r = new Reader(bytes);
  const decoded = dec(r, version);
  expect(r.error).toBeUndefined();
  expect(r.remaining).toBe(0);
  expect(decoded).toEqual(expected);
  // Re-encoding what was decoded gives the same bytes.
  expect(encode(enc, decoded, version).equals(bytes)).toBe(true);
  // A truncated frame is reported through the reader, not by throwing.
  if (bytes.length > 0) {
    const short = new Reader(bytes.subarray(0, bytes.length - 1));
    expect(() => dec(short, version)).not.toThrow();
    expect(short.error).toBeDefined();
  }
}

function versions(min: number, max: number): number[] {
  const out: number[] = [];
  for (let v = min; v <= max; v++) out.push(v);
  return out;
}

describe('generated API codecs round-trip', () => {
  it('covers the broker APIs', () => {
    expect(API_SPECS.length).toBeGreaterThan(50);
    expect(API_SPECS.map((s) => s.apiKey)).toEqual([...API_SPECS.map((s) => s.apiKey)].sort((a, b) => a - b));
    expect(apiSpec(0)?.name).toBe('Produce');
    expect(apiSpec(18)?.name).toBe('ApiVersions');
    expect(apiSpec(4)).toBeUndefined();
    expect(apiSpec(999)).toBeUndefined();
  });

  for (const spec of API_SPECS) {
    describe(`${spec.apiKey} ${spec.name}`, () => {
      for (const v of versions(spec.minVersion, spec.maxVersion)) {
        it(`request v${v}`, () => {
          roundTrip(spec.requestSchema, spec.decodeRequest, spec.encodeRequest, v, `${spec.name}-req-${v}`);
        });
        it(`response v${v}`, () => {
          roundTrip(spec.responseSchema, spec.decodeResponse, spec.encodeResponse, v, `${spec.name}-resp-${v}`);
        });
      }
    });
  }
});

describe('generated header and data codecs round-trip', () => {
  for (const spec of [...HEADER_SPECS, ...DATA_SPECS]) {
    for (const v of versions(spec.minVersion, spec.maxVersion)) {
      it(`${spec.name} v${v}`, () => {
        roundTrip(spec.schema, spec.decode, spec.encode, v, `${spec.name}-${v}`);
      });
    }
  }
});

describe('generated codecs: robustness', () => {
  it('never throw on random input', () => {
    const rng = new Rng(12345);
    for (const spec of API_SPECS) {
      for (const v of versions(spec.minVersion, spec.maxVersion)) {
        for (let i = 0; i < 4; i++) {
          const buf = rng.bytes(rng.int(0, 48));
          expect(() => spec.decodeRequest(new Reader(buf), v)).not.toThrow();
          expect(() => spec.decodeResponse(new Reader(buf), v)).not.toThrow();
        }
      }
    }
  });

  it('never throw on any truncation of a valid frame', () => {
    for (const spec of API_SPECS) {
      const v = spec.maxVersion;
      const bytes = encode(spec.encodeResponse, sampleMessage(spec.responseSchema, v, `trunc-${spec.name}`).value, v);
      for (let n = 0; n < bytes.length; n++) {
        const r = new Reader(bytes.subarray(0, n));
        expect(() => spec.decodeResponse(r, v)).not.toThrow();
        expect(r.error).toBeDefined();
      }
    }
  });

  it('skip unknown tagged fields', () => {
    let checked = 0;
    for (const spec of API_SPECS) {
      for (const [schema, dec, enc] of [
        [spec.requestSchema, spec.decodeRequest, spec.encodeRequest],
        [spec.responseSchema, spec.decodeResponse, spec.encodeResponse],
      ] as const) {
        const v = spec.maxVersion;
        if (!inRange(schema.flexibleVersions, v)) continue;
        const { value, expected } = sampleMessage(schema, v, `tags-${schema.name}`);
        // Leave the top-level tagged fields out so that the frame ends with an empty tag section.
        for (const f of schema.fields) {
          if (f.taggedVersions !== undefined) {
            delete value[f.prop];
            expected[f.prop] = defaultOf(f);
          }
        }
        const bytes = encode(enc as Encode, value, v);
        expect(bytes[bytes.length - 1]).toBe(0);
        // One unknown tag (tag 77, 3 bytes of payload) instead of the empty section.
        const patched = Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([1, 77, 3, 9, 9, 9])]);
        const r = new Reader(patched);
        expect((dec as Decode)(r, v)).toEqual(expected);
        expect(r.error).toBeUndefined();
        expect(r.remaining).toBe(0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });
});

describe('generated encoders: defaults, absent fields and nulls', () => {
  const bytesOf = (f: (w: Writer) => void): Buffer => {
    const w = new Writer(8);
    f(w);
    return Buffer.from(w.finish());
  };

  it('write the empty value for a null in a non-nullable field', () => {
    // Metadata v0: topics is not nullable (an empty array means all topics).
    const m = { topics: null, allowAutoTopicCreation: true };
    expect(bytesOf((w) => encodeMetadataRequest(w, m, 0))).toEqual(Buffer.from([0, 0, 0, 0]));
    // v1+: null is written as null.
    expect(bytesOf((w) => encodeMetadataRequest(w, m, 1))).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(bytesOf((w) => encodeMetadataRequest(w, m, 9))).toEqual(Buffer.from([0, 1, 0, 0, 0]));
    const r = new Reader(Buffer.from([0, 1, 0, 0, 0]));
    expect(decodeMetadataRequest(r, 9)).toEqual({
      topics: null,
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    // A null topic name where the version does not allow it is written as ''.
    const fetch = bytesOf((w) => encodeFetchRequest(w, { topics: [{ topic: null as unknown as string }] }, 4));
    expect(fetch.length).toBeGreaterThan(0);
    const produce = bytesOf((w) =>
      encodeProduceRequest(w, { topicData: [{ name: null as unknown as string, partitionData: null as never }] }, 3),
    );
    // transactionalId null, acks 0, timeout 0, 1 topic, name '', 0 partitions
    expect(produce).toEqual(Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
  });

  it('fill omitted fields with their defaults and skip fields absent in the version', () => {
    // Produce v2 has no transactionalId: it is not written even when given.
    expect(bytesOf((w) => encodeProduceRequest(w, { transactionalId: 'tx', acks: -1, timeoutMs: 5 }, 2))).toEqual(
      Buffer.from([0xff, 0xff, 0, 0, 0, 5, 0, 0, 0, 0]),
    );
    // Produce response v2: logAppendTimeMs defaults to -1.
    const resp = bytesOf((w) =>
      encodeProduceResponse(w, { responses: [{ name: 't', partitionResponses: [{ index: 0, baseOffset: 7n }] }] }, 2),
    );
    const r = new Reader(resp);
    const decoded = decodeProduceResponse(r, 2);
    expect(r.remaining).toBe(0);
    expect(decoded.responses[0]!.partitionResponses[0]!.logAppendTimeMs).toBe(-1n);
    expect(decoded.responses[0]!.partitionResponses[0]!.currentLeader).toEqual({ leaderId: -1, leaderEpoch: -1 });
  });

  it('write tagged fields only when they differ from the default, in ascending tag order', () => {
    // ApiVersions v3: empty tag section when everything is default.
    const plain = bytesOf((w) => encodeApiVersionsResponse(w, { apiKeys: [] }, 3));
    expect(plain).toEqual(Buffer.from([0, 0, 1, 0, 0, 0, 0, 0]));
    const tagged = bytesOf((w) =>
      encodeApiVersionsResponse(w, { apiKeys: [], zkMigrationReady: true, finalizedFeaturesEpoch: 5n }, 3),
    );
    // ... count 2, tag 1 (8 bytes int64 5), tag 3 (1 byte true)
    expect(tagged).toEqual(Buffer.from([0, 0, 1, 0, 0, 0, 0, 2, 1, 8, 0, 0, 0, 0, 0, 0, 0, 5, 3, 1, 1]));
    // Produce response v10: currentLeader is written only when not {-1, -1}.
    const leaderDefault = bytesOf((w) =>
      encodeProduceResponse(w, { responses: [{ name: '', partitionResponses: [{ currentLeader: { leaderId: -1 } }] }] }, 10),
    );
    const leaderSet = bytesOf((w) =>
      encodeProduceResponse(w, { responses: [{ name: '', partitionResponses: [{ currentLeader: { leaderId: 3 } }] }] }, 10),
    );
    expect(leaderSet.length - leaderDefault.length).toBe(1 + 1 + 9);
  });

  it('header helpers and ClientId stays a classic string in header v2', () => {
    expect(requestHeaderVersion(0, 8)).toBe(1);
    expect(requestHeaderVersion(0, 9)).toBe(2);
    expect(requestHeaderVersion(18, 3)).toBe(2);
    expect(responseHeaderVersion(18, 3)).toBe(0);
    expect(responseHeaderVersion(3, 9)).toBe(1);
    expect(responseHeaderVersion(3, 8)).toBe(0);
    const h = bytesOf((w) =>
      encodeRequestHeader(w, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'ab' }, 2),
    );
    expect(h).toEqual(Buffer.from([0, 18, 0, 3, 0, 0, 0, 1, 0, 2, 0x61, 0x62, 0]));
  });
});
