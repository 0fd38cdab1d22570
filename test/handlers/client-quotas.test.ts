// Issue 11: DescribeClientQuotas (48) and AlterClientQuotas (49) over a real socket at every
// version Brook advertises: Kafka's entity and value checks (ClientQuotaControlManager), its
// filter rules (ClientQuotasImage.describe), validate_only, and persistence across a restart.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as G from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { startBroker, type Broker, type BrokerOptions } from '../../src/broker.js';
import { RawClient, clientApi } from '../../src/client/raw-client.js';
import { HANDLERS } from '../../src/handlers/index.js';

const Describe = clientApi(G.DescribeClientQuotasApi, G.encodeDescribeClientQuotasRequest, G.decodeDescribeClientQuotasResponse);
const Alter = clientApi(G.AlterClientQuotasApi, G.encodeAlterClientQuotasRequest, G.decodeAlterClientQuotasResponse);
const EXACT = 0;
const DEFAULT = 1;
const SPECIFIED = 2;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options: BrokerOptions = {}): Promise<{ broker: Broker; c: RawClient }> {
  const broker = await startBroker(options);
  const c = await RawClient.connect(broker.host, broker.port);
  cleanups.push(async () => {
    c.close();
    await broker.close();
  });
  return { broker, c };
}

type Entity = Record<string, string | null>;
const entity = (e: Entity) => Object.entries(e).map(([entityType, entityName]) => ({ entityType, entityName }));
const set = (e: Entity, values: Record<string, number>) => ({ entity: entity(e), ops: Object.entries(values).map(([key, value]) => ({ key, value, remove: false })) });
const remove = (e: Entity, ...keys: string[]) => ({ entity: entity(e), ops: keys.map((key) => ({ key, value: 0, remove: true })) });

function versions(key: number): number[] {
  const h = HANDLERS.find((x) => x.api.apiKey === key)!;
  return Array.from({ length: h.maxVersion - h.minVersion + 1 }, (_, i) => h.minVersion + i);
}

/** The describe answer as [entity, values] pairs. */
async function described(c: RawClient, v: number, components: Array<{ entityType: string; matchType: number; match: string | null }>, strict = false) {
  const r = await c.request(Describe, v, { components, strict });
  expect(r.errorCode, r.errorMessage ?? '').toBe(ErrorCode.NONE);
  return r.entries!.map((e) => [Object.fromEntries(e.entity.map((x) => [x.entityType, x.entityName])), Object.fromEntries(e.values.map((x) => [x.key, x.value]))]);
}

describe.each(versions(49))('AlterClientQuotas v%i', (v) => {
  it('sets, changes and removes quotas; validate_only changes nothing', async () => {
    const { c } = await start();
    const r = await c.request(Alter, v, {
      entries: [
        set({ user: 'alice' }, { producer_byte_rate: 1024, consumer_byte_rate: 2048 }),
        set({ user: 'alice', 'client-id': null }, { request_percentage: 12.5 }),
        set({ 'client-id': 'app' }, { producer_byte_rate: 4096 }),
        set({ ip: '10.0.0.1' }, { connection_creation_rate: 5 }),
        set({ ip: null }, { connection_creation_rate: 100 }),
      ],
      validateOnly: false,
    });
    expect(r.entries.map((e) => e.errorCode)).toEqual([0, 0, 0, 0, 0]);
    expect(r.entries[1]!.entity).toEqual([
      { entityType: 'user', entityName: 'alice' },
      { entityType: 'client-id', entityName: null },
    ]);
    expect(await described(c, 0, [])).toEqual([
      [{ 'client-id': 'app' }, { producer_byte_rate: 4096 }],
      [{ ip: '10.0.0.1' }, { connection_creation_rate: 5 }],
      [{ ip: null }, { connection_creation_rate: 100 }],
      [{ user: 'alice' }, { producer_byte_rate: 1024, consumer_byte_rate: 2048 }],
      [{ user: 'alice', 'client-id': null }, { request_percentage: 12.5 }],
    ]);

    const dry = await c.request(Alter, v, { entries: [set({ user: 'bob' }, { producer_byte_rate: 1 }), remove({ user: 'alice' }, 'producer_byte_rate')], validateOnly: true });
    expect(dry.entries.map((e) => e.errorCode)).toEqual([0, 0]);
    expect((await described(c, 0, [{ entityType: 'user', matchType: SPECIFIED, match: null }])).length).toBe(2);

    // Change one key, remove another (removing a key that is not set succeeds); removing every
    // key removes the entity.
    const change = await c.request(Alter, v, {
      entries: [
        { entity: entity({ user: 'alice' }), ops: [{ key: 'producer_byte_rate', value: 512, remove: false }, { key: 'consumer_byte_rate', value: 0, remove: true }, { key: 'request_percentage', value: 0, remove: true }] },
        remove({ 'client-id': 'app' }, 'producer_byte_rate'),
      ],
      validateOnly: false,
    });
    expect(change.entries.map((e) => e.errorCode)).toEqual([0, 0]);
    expect(await described(c, 0, [{ entityType: 'user', matchType: EXACT, match: 'alice' }], true)).toEqual([[{ user: 'alice' }, { producer_byte_rate: 512 }]]);
    expect(await described(c, 0, [{ entityType: 'client-id', matchType: SPECIFIED, match: null }], true)).toEqual([]);
  });

  it("answers Kafka's errors per entity and applies only the valid ones", async () => {
    const { c } = await start();
    const r = await c.request(Alter, v, {
      entries: [
        set({}, { producer_byte_rate: 1 }), // empty entity
        set({ group: 'g' }, { producer_byte_rate: 1 }), // unknown type
        set({ user: '' }, { producer_byte_rate: 1 }), // empty name
        set({ user: 'u', ip: '1.2.3.4' }, { producer_byte_rate: 1 }), // ip mixed with user
        set({ ip: 'not a host!' }, { connection_creation_rate: 1 }),
        set({ user: 'k1' }, { connection_creation_rate: 1 }), // an ip key for a user
        set({ ip: '1.2.3.4' }, { producer_byte_rate: 1 }), // a user key for an ip
        set({ user: 'k2' }, { producer_byte_rate: 0 }),
        set({ user: 'k3' }, { producer_byte_rate: 1.5 }),
        set({ user: 'k4' }, { consumer_byte_rate: 100, request_percentage: -1 }), // nothing of k4 applies
        { entity: entity({ user: 'k5' }), ops: [{ key: 'producer_byte_rate', value: 1, remove: false }, { key: 'producer_byte_rate', value: 2, remove: false }] },
        set({ 'client-id': 'twice' }, { producer_byte_rate: 10 }),
        set({ 'client-id': 'twice' }, { producer_byte_rate: 20 }),
        set({ user: 'ok' }, { request_percentage: 0.5, controller_mutation_rate: 2.5 }),
        set({ ip: '2001:db8::1' }, { connection_creation_rate: 1.5 }),
      ],
      validateOnly: false,
    });
    const byEntity = r.entries.map((e) => [e.entity.map((x) => `${x.entityType}=${x.entityName}`).join(','), e.errorCode, e.errorMessage]);
    expect(byEntity).toEqual([
      ['', ErrorCode.INVALID_REQUEST, 'Invalid empty client quota entity'],
      ['group=g', ErrorCode.INVALID_REQUEST, 'Unhandled client quota entity type: group'],
      ['user=', ErrorCode.INVALID_REQUEST, 'Empty user not supported'],
      ['user=u,ip=1.2.3.4', ErrorCode.INVALID_REQUEST, 'Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId'],
      ['ip=not a host!', ErrorCode.INVALID_REQUEST, 'not a host! is not a valid IP or resolvable host.'],
      ['user=k1', ErrorCode.INVALID_REQUEST, 'Invalid configuration key connection_creation_rate'],
      ['ip=1.2.3.4', ErrorCode.INVALID_REQUEST, 'Invalid configuration key producer_byte_rate'],
      ['user=k2', ErrorCode.INVALID_REQUEST, 'Quota producer_byte_rate must be greater than 0'],
      ['user=k3', ErrorCode.INVALID_REQUEST, 'producer_byte_rate cannot be a fractional value.'],
      ['user=k4', ErrorCode.INVALID_REQUEST, 'Quota request_percentage must be greater than 0'],
      ['user=k5', ErrorCode.INVALID_REQUEST, 'Ignoring duplicate entity ClientQuotaEntity(entries={user=k5})'],
      ['client-id=twice', ErrorCode.INVALID_REQUEST, 'Ignoring duplicate entity ClientQuotaEntity(entries={client-id=twice})'],
      ['user=ok', ErrorCode.NONE, null],
      ['ip=2001:db8::1', ErrorCode.INVALID_REQUEST, 'connection_creation_rate cannot be a fractional value.'],
    ]);
    // The first alteration of an entity given twice applies (as in Kafka); k4 not at all.
    expect(await described(c, 0, [])).toEqual([
      [{ 'client-id': 'twice' }, { producer_byte_rate: 10 }],
      [{ user: 'ok' }, { request_percentage: 0.5, controller_mutation_rate: 2.5 }],
    ]);
  });
});

describe.each(versions(48))('DescribeClientQuotas v%i', (v) => {
  it('filters by exact name, default entity and any entity of a type, strict or not', async () => {
    const { c } = await start();
    const r = await c.request(Alter, 1, {
      entries: [
        set({ user: 'alice' }, { producer_byte_rate: 1 }),
        set({ user: 'alice', 'client-id': 'app' }, { producer_byte_rate: 2 }),
        set({ user: null }, { producer_byte_rate: 3 }),
        set({ user: null, 'client-id': null }, { producer_byte_rate: 4 }),
        set({ 'client-id': 'app' }, { producer_byte_rate: 5 }),
        set({ ip: '127.0.0.1' }, { connection_creation_rate: 6 }),
      ],
      validateOnly: false,
    });
    expect(r.entries.every((e) => e.errorCode === 0)).toBe(true);
    const rate = async (components: Array<{ entityType: string; matchType: number; match: string | null }>, strict = false) =>
      (await described(c, v, components, strict)).map(([, values]) => Object.values(values)[0]);
    expect(await rate([])).toEqual([5, 6, 3, 4, 1, 2]);
    expect(await rate([], true)).toEqual([]);
    expect(await rate([{ entityType: 'user', matchType: EXACT, match: 'alice' }])).toEqual([1, 2]);
    expect(await rate([{ entityType: 'user', matchType: EXACT, match: 'alice' }], true)).toEqual([1]);
    expect(await rate([{ entityType: 'user', matchType: DEFAULT, match: null }])).toEqual([3, 4]);
    expect(await rate([{ entityType: 'user', matchType: SPECIFIED, match: null }, { entityType: 'client-id', matchType: EXACT, match: 'app' }])).toEqual([2]);
    expect(await rate([{ entityType: 'client-id', matchType: SPECIFIED, match: null }], true)).toEqual([5]);
    expect(await rate([{ entityType: 'ip', matchType: SPECIFIED, match: null }])).toEqual([6]);
    expect(await rate([{ entityType: 'user', matchType: EXACT, match: 'nobody' }])).toEqual([]);
  });

  it('refuses bad filters for the whole request', async () => {
    const { c } = await start();
    const cases: Array<[Array<{ entityType: string; matchType: number; match: string | null }>, number, string]> = [
      [[{ entityType: '', matchType: SPECIFIED, match: null }], ErrorCode.INVALID_REQUEST, 'Invalid empty entity type.'],
      [[{ entityType: 'user', matchType: SPECIFIED, match: null }, { entityType: 'user', matchType: DEFAULT, match: null }], ErrorCode.INVALID_REQUEST, 'Entity type user cannot appear more than once in the filter.'],
      [[{ entityType: 'group', matchType: SPECIFIED, match: null }], ErrorCode.UNSUPPORTED_VERSION, 'Unsupported entity type group'],
      [[{ entityType: 'user', matchType: EXACT, match: null }], ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_EXACT, but set match string to null.'],
      [[{ entityType: 'user', matchType: DEFAULT, match: 'x' }], ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.'],
      [[{ entityType: 'user', matchType: SPECIFIED, match: 'x' }], ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.'],
      [[{ entityType: 'user', matchType: 7, match: null }], ErrorCode.UNSUPPORTED_VERSION, 'Unknown match type 7'],
      [
        [{ entityType: 'ip', matchType: SPECIFIED, match: null }, { entityType: 'client-id', matchType: SPECIFIED, match: null }],
        ErrorCode.INVALID_REQUEST,
        'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.',
      ],
    ];
    for (const [components, code, message] of cases) {
      const r = await c.request(Describe, v, { components, strict: false });
      expect(r, message).toEqual({ throttleTimeMs: 0, errorCode: code, errorMessage: message, entries: null });
    }
  });
});

describe('client quotas persistence', () => {
  it('survive a restart with a data directory, and reset() clears them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brook-quotas-'));
    cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
    {
      const broker = await startBroker({ dataDir: dir });
      const c = await RawClient.connect(broker.host, broker.port);
      const r = await c.request(Alter, 1, { entries: [set({ user: 'alice', 'client-id': 'app' }, { producer_byte_rate: 1000 })], validateOnly: false });
      expect(r.entries[0]!.errorCode).toBe(0);
      c.close();
      await broker.close();
    }
    const { broker, c } = await start({ dataDir: dir });
    expect(await described(c, 1, [])).toEqual([[{ user: 'alice', 'client-id': 'app' }, { producer_byte_rate: 1000 }]]);
    await broker.reset();
    const c2 = await RawClient.connect(broker.host, broker.port);
    cleanups.push(() => c2.close());
    expect(await described(c2, 1, [])).toEqual([]);
  });
});
