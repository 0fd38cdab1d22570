// `brook quota set|delete|list` against a real broker: what the broker holds is read back with the
// raw protocol (DescribeClientQuotas v0 and v1 through RawClient, not the CLI's client), and a
// quota set by the CLI takes effect (a Produce over producer_byte_rate is answered with Kafka's
// throttle time; after `quota delete` it is not). Entities user, client id, both, ip, and their
// defaults; keys and values checked client-side (usage errors, exit 2, nothing sent). Exit codes:
// 0, 2 usage, 3 a quota that is not set.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { encodeRecordBatch } from '../../protocol/records/index.js';
import { startBroker, type Broker } from '../../src/broker.js';
import { ManualClock } from '../../src/common/clock.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';
import { NO_DIST, hasDist, runCli } from '../helpers/cli.js';

const Describe = clientApi(G.DescribeClientQuotasApi, G.encodeDescribeClientQuotasRequest, G.decodeDescribeClientQuotasResponse);
const Produce = clientApi(G.ProduceApi, G.encodeProduceRequest, G.decodeProduceResponse);

let broker: Broker;
let raw: RawClient;
let b: string[];

beforeAll(async () => {
  // A ManualClock: the quota's rate is measured on it, so throttle times are exact.
  broker = await startBroker({ host: '127.0.0.1', port: 0, clock: new ManualClock(), config: { 'quota.window.num': '2', 'quota.window.size.seconds': '1' }, topics: ['q'] });
  raw = await RawClient.connect(broker.host, broker.port);
  b = ['-b', broker.bootstrap];
});

afterAll(async () => {
  raw?.close();
  await broker?.close();
});

function table(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

/** Every quota the broker holds, read with DescribeClientQuotas at `version`: "entity" -> values. */
async function held(version = 1): Promise<Record<string, Record<string, number>>> {
  const r = await raw.request(Describe, version, { components: [], strict: false });
  expect(r.errorCode).toBe(ErrorCode.NONE);
  const out: Record<string, Record<string, number>> = {};
  for (const e of r.entries ?? []) {
    const name = e.entity
      .map((x) => `${x.entityType}=${x.entityName ?? '<default>'}`)
      .sort()
      .join(',');
    out[name] = Object.fromEntries(e.values.map((v) => [v.key, v.value]));
  }
  return out;
}

describe.skipIf(!hasDist)(`brook quota${hasDist ? '' : ` (${NO_DIST})`}`, () => {
  it('set: user, user + client id, defaults, ip; the broker holds exactly those', async () => {
    const r = await runCli(['quota', 'set', 'producer_byte_rate=1048576', 'consumer_byte_rate=2097152', '--user', 'app', ...b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(table(r.stdout)).toEqual([
      ['ENTITY', 'QUOTA', 'VALUE', 'STATUS'],
      ['user=app', 'producer_byte_rate', '1048576', 'set'],
      ['user=app', 'consumer_byte_rate', '2097152', 'set'],
    ]);
    const both = await runCli(['quota', 'set', 'request_percentage=12.5', '--user', 'app', '--client', 'batch', '--json', ...b]);
    expect(both.code).toBe(0);
    expect(JSON.parse(both.stdout)).toEqual({ entity: { user: 'app', 'client-id': 'batch' }, quotas: { request_percentage: 12.5 }, status: 'set' });
    for (const args of [
      ['controller_mutation_rate=5', '--user-default', '--client-default'],
      ['producer_byte_rate=1000', '--client-default'],
      ['connection_creation_rate=10', '--ip', '10.0.0.7'],
      // High: it applies to this test's own connections from 127.0.0.1 (the broker enforces it).
      ['connection_creation_rate=20000', '--ip-default'],
    ]) {
      const x = await runCli(['quota', 'set', ...args, ...b]);
      expect(x.code, args.join(' ')).toBe(0);
    }
    // Setting one key leaves the entity's others.
    expect((await runCli(['quota', 'set', 'producer_byte_rate=4096', '--user', 'app', ...b])).code).toBe(0);
    const expected = {
      'user=app': { producer_byte_rate: 4096, consumer_byte_rate: 2097152 },
      'client-id=batch,user=app': { request_percentage: 12.5 },
      'client-id=<default>,user=<default>': { controller_mutation_rate: 5 },
      'client-id=<default>': { producer_byte_rate: 1000 },
      'ip=10.0.0.7': { connection_creation_rate: 10 },
      'ip=<default>': { connection_creation_rate: 20000 },
    };
    expect(await held(1)).toEqual(expected);
    expect(await held(0)).toEqual(expected);
  });

  it('list: everything, or by exact name, default entity, any name; --strict; --json', async () => {
    const all = await runCli(['quota', 'list', ...b]);
    expect(all.code).toBe(0);
    expect(table(all.stdout)).toEqual([
      ['ENTITY', 'QUOTA', 'VALUE'],
      ['client-id=<default>', 'producer_byte_rate', '1000'],
      ['ip=10.0.0.7', 'connection_creation_rate', '10'],
      ['ip=<default>', 'connection_creation_rate', '20000'],
      ['user=<default>,client-id=<default>', 'controller_mutation_rate', '5'],
      ['user=app', 'consumer_byte_rate', '2097152'],
      ['user=app', 'producer_byte_rate', '4096'],
      ['user=app,client-id=batch', 'request_percentage', '12.5'],
    ]);
    const app = await runCli(['quota', 'list', '--user', 'app', ...b]);
    expect(table(app.stdout).slice(1).map((r) => r[0])).toEqual(['user=app', 'user=app', 'user=app,client-id=batch']);
    const strict = await runCli(['quota', 'list', '--user', 'app', '--strict', '--json', ...b]);
    expect(JSON.parse(strict.stdout)).toEqual([{ entity: { user: 'app' }, quotas: { consumer_byte_rate: 2097152, producer_byte_rate: 4096 } }]);
    const defaults = await runCli(['quota', 'list', '--client-default', '--json', ...b]);
    expect(JSON.parse(defaults.stdout)).toEqual([
      { entity: { 'client-id': null }, quotas: { producer_byte_rate: 1000 } },
      { entity: { user: null, 'client-id': null }, quotas: { controller_mutation_rate: 5 } },
    ]);
    const anyClient = await runCli(['quota', 'list', '--client', '--user', 'app', ...b]);
    expect(table(anyClient.stdout).slice(1)).toEqual([['user=app,client-id=batch', 'request_percentage', '12.5']]);
    const ips = await runCli(['quota', 'list', '--ip', ...b]);
    expect(table(ips.stdout).slice(1).map((r) => r[0])).toEqual(['ip=10.0.0.7', 'ip=<default>']);
    const none = await runCli(['quota', 'list', '--user', 'nobody', '--json', ...b]);
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual([]);
  });

  it('delete: keys, or every quota of the entity; a key not set is exit 3 unless --if-exists', async () => {
    const one = await runCli(['quota', 'delete', 'consumer_byte_rate', '--user', 'app', ...b]);
    expect(one.code).toBe(0);
    expect(table(one.stdout)).toEqual([
      ['ENTITY', 'QUOTA', 'STATUS'],
      ['user=app', 'consumer_byte_rate', 'deleted'],
    ]);
    const missing = await runCli(['quota', 'delete', 'consumer_byte_rate', 'producer_byte_rate', '--user', 'app', ...b]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('consumer_byte_rate is not set for user=app\n');
    expect(table(missing.stdout).slice(1)).toEqual([
      ['user=app', 'consumer_byte_rate', 'not set'],
      ['user=app', 'producer_byte_rate', 'deleted'],
    ]);
    const all = await runCli(['quota', 'delete', '--user', 'app', '--client', 'batch', '--json', ...b]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual({ entity: { user: 'app', 'client-id': 'batch' }, quotas: [{ quota: 'request_percentage', status: 'deleted' }] });
    const gone = await runCli(['quota', 'delete', '--user', 'app', ...b]);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toBe('no quota is set for user=app\n');
    expect((await runCli(['quota', 'delete', '--user', 'app', '--if-exists', ...b])).code).toBe(0);
    for (const args of [['--user-default', '--client-default'], ['--client-default'], ['--ip', '10.0.0.7'], ['--ip-default']]) {
      expect((await runCli(['quota', 'delete', ...args, ...b])).code, args.join(' ')).toBe(0);
    }
    expect(await held()).toEqual({});
  });

  it('a producer_byte_rate set by the CLI throttles a Produce as Kafka does; deleted, it does not', async () => {
    expect((await runCli(['quota', 'set', 'producer_byte_rate=10000', '--client', 'slow', ...b])).code).toBe(0);
    const batch = (bytes: number) => encodeRecordBatch({ records: [{ key: null, value: Buffer.alloc(bytes, 7), headers: [] }] });
    const body = (records: Buffer) => ({ acks: 1, timeoutMs: 5000, topicData: [{ name: 'q', partitionData: [{ index: 0, records }] }] });
    const slow = await RawClient.connect(broker.host, broker.port, 'slow');
    try {
      const big = batch(20_000);
      const r = await slow.request(Produce, 7, body(big));
      expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
      // Kafka's throttle for bytes recorded at one instant over a 1 s window: (rate - quota) / quota * 1000.
      expect(r.throttleTimeMs).toBe(Math.round(((big.length - 10_000) / 10_000) * 1000));
    } finally {
      slow.close();
    }
    expect((await runCli(['quota', 'delete', '--client', 'slow', ...b])).code).toBe(0);
    const again = await RawClient.connect(broker.host, broker.port, 'slow');
    try {
      const r = await again.request(Produce, 7, body(batch(20_000)));
      expect(r.throttleTimeMs).toBe(0);
    } finally {
      again.close();
    }
  });

  it('usage errors are exit code 2 and send nothing', async () => {
    for (const [args, message] of [
      [['quota', 'set', 'producer_byte_rate=1'], /name the entity/],
      [['quota', 'set', 'connection_creation_rate=1', '--user', 'x'], /unknown quota "connection_creation_rate"/],
      [['quota', 'set', 'producer_byte_rate=1', '--ip', '10.0.0.1'], /an ip entity takes connection_creation_rate/],
      [['quota', 'set', 'producer_byte_rate=1.5', '--user', 'x'], /whole number/],
      [['quota', 'set', 'request_percentage=0', '--user', 'x'], /greater than 0/],
      [['quota', 'set', 'request_percentage=-3', '--user', 'x'], /greater than 0/],
      [['quota', 'set', 'producer_byte_rate=lots', '--user', 'x'], /not a number/],
      [['quota', 'set', 'producer_byte_rate', '--user', 'x'], /expected key=value/],
      [['quota', 'set', 'producer_byte_rate=1', 'producer_byte_rate=2', '--user', 'x'], /given twice/],
      [['quota', 'set', 'producer_byte_rate=1', '--user', 'x', '--user-default'], /give one/],
      [['quota', 'set', 'producer_byte_rate=1', '--user', 'x', '--ip', '10.0.0.1'], /an ip entity stands alone/],
      [['quota', 'set', 'connection_creation_rate=3000000000', '--ip', '10.0.0.1'], /at most 2147483647/],
      [['quota', 'delete', 'no_such_quota', '--user', 'x'], /unknown quota/],
      [['quota', 'list', '--ip', '--user'], /an ip entity stands alone/],
    ] as Array<[string[], RegExp]>) {
      const r = await runCli([...args, ...b]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(await held()).toEqual({});
  });
});
