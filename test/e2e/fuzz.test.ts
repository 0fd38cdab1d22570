// Ad-hoc structured fuzz (not committed): random well-formed requests for every advertised API/version.
// Structured fuzz: random but well-formed requests (built from the generated schema tables) for
// every advertised API and version, on fixed seeds and a bounded time. The broker must answer or
// close per Kafka's rules, never crash, never log at warn or above, and keep serving afterwards.
// Found: a client-created __consumer_offsets with 3 partitions broke group commits.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logger.js';
import { API_SPECS } from '../../protocol/generated/index.js';
import type { FieldSchema } from '../../protocol/primitives/codec-runtime.js';
import { encodeRecordBatch } from '../../protocol/records/index.js';
import { startBroker } from '../../src/broker.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { RawClient } from '../../src/client/raw-client.js';

let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
const topics = ['t', 'u', '__consumer_offsets', 'nope', '', 'g.x'];
function val(f: FieldSchema): unknown {
  const t = f.type;
  if (t.startsWith('[]')) {
    const n = Math.floor(rnd() * 3);
    const inner = { ...f, type: t.slice(2) };
    return Array.from({ length: n }, () => (f.fields ? obj(f.fields) : val(inner)));
  }
  if (f.fields) return obj(f.fields);
  switch (t) {
    case 'bool': return rnd() < 0.5;
    case 'int8': return pick([-1, 0, 1, 2, 127, -128]);
    case 'int16': return pick([-1, 0, 1, 3, 32767, -32768]);
    case 'uint16': return pick([0, 1, 65535]);
    case 'int32': return pick([-1, 0, 1, 2, 5, 1000, 2147483647, -2147483648, 6000]);
    case 'uint32': return pick([0, 1, 4294967295]);
    case 'int64': return pick([-5n, -3n, -2n, -1n, 0n, 1n, 9223372036854775807n, -9223372036854775808n]);
    case 'float64': return rnd();
    case 'string': return /name|topic/i.test(f.name) ? pick(topics) : pick(['', 'x', 'consumer', 'range', 'grp', 'a'.repeat(300)]);
    case 'bytes': return Buffer.from(pick(['', 'abc', '\u0000\u0001\u0000\u0000']));
    case 'uuid': return 'AAAAAAAAAAAAAAAAAAAAAQ';
    case 'records': return rnd() < 0.5 ? encodeRecordBatch({ records: [{ key: null, value: Buffer.from('v'), headers: [] }] }) : Buffer.from('garbage!');
    default: return undefined;
  }
}
function obj(fields: FieldSchema[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) o[f.prop] = val(f);
  return o;
}
async function fuzz(startSeed: number, ms: number): Promise<{ sent: number; answered: number; warnings: string[] }> {
  seed = startSeed;
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  const broker = await startBroker({ logger: createLogger('warn', sink), config: { 'group.min.session.timeout.ms': '0' } });
  broker.topics.create('t', 3, 1, {});
  broker.topics.create('u', 1, 1, {});
  let sent = 0;
  let answered = 0;
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline) {
      const c = await RawClient.connect(broker.host, broker.port, 'fuzz');
      for (let i = 0; i < 20 && !c.closed; i++) {
        const h = pick([...HANDLERS]);
        const v = h.minVersion + Math.floor(rnd() * (h.maxVersion - h.minVersion + 1));
        const spec = API_SPECS.find((s) => s.apiKey === h.api.apiKey)!;
        const body = obj(spec.requestSchema.fields) as Record<string, unknown>;
        if (h.api.apiKey === 11) body.sessionTimeoutMs = 10; // keep joins short
        const api = { apiKey: h.api.apiKey, flexibleMin: h.api.flexibleMin, responseFlexibleMin: h.api.responseFlexibleMin, encode: spec.encodeRequest as never, decode: spec.decodeResponse as never };
        sent++;
        const p = c.request(api, v, body as never).then(() => void answered++, () => undefined);
        await Promise.race([p, new Promise((r) => setTimeout(r, 300))]);
      }
      c.close();
    }
    // Still serving.
    const probe = await RawClient.connect(broker.host, broker.port, 'probe');
    const spec = API_SPECS.find((s) => s.apiKey === 18)!;
    const r = (await probe.request({ apiKey: 18, flexibleMin: 3, encode: spec.encodeRequest as never, decode: spec.decodeResponse as never }, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' } as never)) as { errorCode: number };
    expect(r.errorCode).toBe(0);
    probe.close();
  } finally {
    await broker.close();
  }
  return { sent, answered, warnings: lines.filter((l) => /"level":(40|50|60)/.test(l)) };
}

describe('structured fuzz of every advertised API and version', () => {
  for (const s of [1, 2]) {
    it(`seed ${s}: answers, never logs a warning, keeps serving`, async () => {
      const r = await fuzz(s, 4000);
      expect(r.warnings).toEqual([]);
      expect(r.sent).toBeGreaterThan(50);
      expect(r.answered).toBeGreaterThan(r.sent / 2);
    }, 60000);
  }
});
