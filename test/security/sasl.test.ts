// Issue 11: SASL on SASL_PLAINTEXT listeners (src/server/sasl-authenticator.ts), over real
// sockets: kafkajs with PLAIN (JAAS users and SCRAM users), SCRAM-SHA-256/512 and OAUTHBEARER
// (unsecured tokens); kafka-python's raw tokens after SaslHandshake v0; wrong passwords, unknown
// mechanisms, huge tokens and every API before authentication; re-authentication and session
// expiry (KIP-368). Passwords never reach the log.

import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { startBroker, type Broker, type BrokerOptions } from '../../src/broker.js';
import { createLogger } from '../../src/common/logger.js';
import { ManualClock } from '../../src/common/clock.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { brokerListeners } from '../../src/cli/start.js';
import { ConfigError } from '../../src/config/config.js';
import { settingsFromArgs } from '../../src/config/properties.js';
import { checkStartupConfig, resolveListeners } from '../../src/config/startup.js';
import { credentialFromPassword, hash, hmac, saltPassword, type ScramMechanism } from '../../src/security/scram.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Connection } from '../../src/client/connection.js';
import { Apis } from '../../src/client/apis.js';
import { readResponseHeader } from '../../protocol/framing.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { decodeSaslAuthenticateResponse, encodeSaslAuthenticateRequest } from '../../protocol/generated/36-sasl-authenticate.js';
import { decodeSaslHandshakeResponse, encodeSaslHandshakeRequest } from '../../protocol/generated/17-sasl-handshake.js';
import { hasKcat, kafkaFor, NO_KCAT, runKcat } from '../helpers/broker.js';
import { makePki } from '../helpers/certs.js';
import { openProbe, requestFrame, sizePrefix, type Probe } from '../helpers/socket.js';

let broker: Broker | undefined;
let logText = '';
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

async function start(opts: { mechanisms?: string[]; config?: Record<string, string>; clock?: BrokerOptions['clock']; plainUsers?: Record<string, string> } = {}): Promise<Broker> {
  logText = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  broker = await startBroker({
    listeners: [
      {
        name: 'SASL_PLAINTEXT',
        protocol: 'SASL_PLAINTEXT',
        sasl: { mechanisms: opts.mechanisms ?? ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'], plainUsers: opts.plainUsers ?? { admin: 'admin-secret' } },
      },
    ],
    config: { 'connection.failed.authentication.delay.ms': '0', ...opts.config },
    logger: createLogger('debug', sink),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  return broker;
}

async function addUser(b: Broker, user: string, password: string, mechs: ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512']): Promise<void> {
  await b.scram.alter(await Promise.all(mechs.map(async (mechanism) => ({ user, mechanism, credential: await credentialFromPassword(mechanism, password) }))));
}

function kafka(b: Broker, sasl: SASLOptions, extra: Partial<KafkaConfig> = {}) {
  return kafkaFor(b, { sasl, retry: { retries: 0 }, ...extra });
}

/** Produces one message and reads it back as `sasl`'s user. */
async function roundTrip(b: Broker, sasl: SASLOptions, topic: string): Promise<void> {
  const k = kafka(b, sasl, { retry: { retries: 3, initialRetryTime: 50 } });
  const admin = k.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = k.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'k', value: `hello ${topic}` }] });
  await producer.disconnect();
  const consumer = k.consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message consumed')), 15000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        clearTimeout(timer);
        resolve(message.value!.toString());
      },
    });
  });
  await consumer.disconnect();
  expect(got).toBe(`hello ${topic}`);
}

async function authFails(b: Broker, sasl: SASLOptions): Promise<Error> {
  const admin = kafka(b, sasl).admin();
  // connect() authenticates one connection; listTopics() needs an answer on it.
  const err = await admin
    .connect()
    .then(() => admin.listTopics())
    .then(
      () => null,
      (e: Error) => e,
    );
  await admin.disconnect();
  expect(err).not.toBeNull();
  return err!;
}

// ---- raw protocol helpers ----

let corr = 100;
async function readFrame(p: Probe, from: number): Promise<{ body: Buffer; end: number }> {
  const size = (await p.waitBytes(from + 4)).readInt32BE(from);
  const all = await p.waitBytes(from + 4 + size);
  return { body: all.subarray(from + 4, from + 4 + size), end: from + 4 + size };
}

async function handshake(p: Probe, mechanism: string, version: number, at = 0): Promise<{ errorCode: number; mechanisms: string[]; end: number }> {
  p.write(requestFrame(17, version, ++corr, (w) => encodeSaslHandshakeRequest(w, { mechanism }, version)));
  const { body, end } = await readFrame(p, at);
  const r = new Reader(body);
  readResponseHeader(r, false);
  return { ...decodeSaslHandshakeResponse(r, version), end };
}

async function authenticate(p: Probe, token: Buffer, version: number, at: number) {
  p.write(requestFrame(36, version, ++corr, (w) => encodeSaslAuthenticateRequest(w, { authBytes: token }, version), version >= 2));
  const { body, end } = await readFrame(p, at);
  const r = new Reader(body);
  readResponseHeader(r, version >= 2);
  return { ...decodeSaslAuthenticateResponse(r, version), end };
}

const plainToken = (user: string, password: string, authzid = ''): Buffer => Buffer.from(`${authzid}\u0000${user}\u0000${password}`);

/** A SCRAM client (RFC 5802) for the raw tests. */
class ScramClient {
  private readonly nonce = 'fyko+d2lbbFgONRv9qkxdawL';
  private clientFirstBare = '';
  private serverSignature = '';
  constructor(
    private readonly mech: ScramMechanism,
    private readonly user: string,
    private readonly password: string,
  ) {}
  first(): Buffer {
    this.clientFirstBare = `n=${this.user},r=${this.nonce}`;
    return Buffer.from(`n,,${this.clientFirstBare}`);
  }
  /** `nonceBefore`: sent in front of the server's nonce (librdkafka 2.0 repeats its own there). */
  async final(serverFirst: Buffer, nonceBefore = ''): Promise<Buffer> {
    const sf = serverFirst.toString();
    const m = /^r=([^,]+),s=([^,]+),i=(\d+)$/.exec(sf)!;
    const salted = await saltPassword(this.mech, this.password, Buffer.from(m[2]!, 'base64'), Number(m[3]));
    const clientKey = hmac(this.mech, salted, 'Client Key');
    const withoutProof = `c=biws,r=${nonceBefore}${m[1]}`;
    const authMessage = `${this.clientFirstBare},${sf},${withoutProof}`;
    const sig = hmac(this.mech, hash(this.mech, clientKey), authMessage);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!));
    this.serverSignature = hmac(this.mech, hmac(this.mech, salted, 'Server Key'), authMessage).toString('base64');
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }
  verify(serverFinal: Buffer): boolean {
    return serverFinal.toString() === `v=${this.serverSignature}`;
  }
}

const jwt = (claims: Record<string, unknown>): string =>
  `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

// ---- tests ----

describe('SASL with kafkajs', () => {
  it('PLAIN with a JAAS user and with a SCRAM user, SCRAM-SHA-256 and SCRAM-SHA-512: produce and consume', async () => {
    const b = await start();
    await addUser(b, 'alice', 'alice-secret');
    await roundTrip(b, { mechanism: 'plain', username: 'admin', password: 'admin-secret' }, 'plain-jaas');
    await roundTrip(b, { mechanism: 'plain', username: 'alice', password: 'alice-secret' }, 'plain-scram-user');
    await roundTrip(b, { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' }, 'scram256');
    await roundTrip(b, { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' }, 'scram512');
    expect(logText).not.toContain('alice-secret');
    expect(logText).not.toContain('admin-secret');
  });

  it('wrong passwords and unknown users fail with SASL_AUTHENTICATION_FAILED, and nothing is logged of the password', async () => {
    const b = await start();
    await addUser(b, 'alice', 'alice-secret');
    for (const sasl of [
      { mechanism: 'plain', username: 'admin', password: 'wrong-one-1' },
      { mechanism: 'plain', username: 'nobody', password: 'wrong-one-2' },
      { mechanism: 'scram-sha-256', username: 'alice', password: 'wrong-one-3' },
      { mechanism: 'scram-sha-512', username: 'nobody', password: 'wrong-one-4' },
    ] as SASLOptions[]) {
      const err = await authFails(b, sasl);
      expect(err.message).toMatch(/SASL .*authentication failed|Authentication failed/i);
    }
    expect(logText).toMatch(/authentication failed/);
    expect(logText).not.toMatch(/wrong-one/);
    // SCRAM users exist only for their mechanisms.
    await addUser(b, 'bob', 'bob-secret', ['SCRAM-SHA-256']);
    await authFails(b, { mechanism: 'scram-sha-512', username: 'bob', password: 'bob-secret' });
  });

  it('OAUTHBEARER with an unsecured token; an expired or unsigned-but-malformed token fails', async () => {
    const b = await start();
    const now = Math.floor(Date.now() / 1000);
    await roundTrip(b, { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: jwt({ sub: 'carol', iat: now, exp: now + 3600 }) }) }, 'oauth');
    await authFails(b, { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: jwt({ sub: 'carol', exp: now - 10 }) }) });
    await authFails(b, { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: jwt({ exp: now + 3600 }) }) });
    expect(logText).toMatch(/authentication refused: the token has expired/);
    expect(logText).toMatch(/authentication refused: the token has no sub claim/);
  });

  it('a mechanism the listener does not enable is refused', async () => {
    const b = await start({ mechanisms: ['SCRAM-SHA-512'] });
    const err = await authFails(b, { mechanism: 'plain', username: 'admin', password: 'admin-secret' });
    expect(err.message).toMatch(/mechanism|not supported|PLAIN/i);
  });

  it('re-authenticates before connections.max.reauth.ms ends and keeps working past it', async () => {
    const b = await start({ config: { 'connections.max.reauth.ms': '1500' } });
    await addUser(b, 'alice', 'alice-secret');
    const k = kafka(b, { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' }, { retry: { retries: 2, initialRetryTime: 50 } });
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'reauth', numPartitions: 1 }] });
    const producer = k.producer();
    await producer.connect();
    const end = Date.now() + 4000;
    let sent = 0;
    while (Date.now() < end) {
      await producer.send({ topic: 'reauth', messages: [{ value: String(sent) }] });
      sent++;
      await new Promise((r) => setTimeout(r, 100));
    }
    await producer.disconnect();
    await admin.disconnect();
    const records = await b.records('reauth', 0);
    expect(records.length).toBe(sent);
    // The same connections re-authenticated (kafkajs reads session_lifetime_ms); none expired.
    expect(logText).toMatch(/"msg":"re-authenticated"/);
    expect(logText).not.toMatch(/session expired/);
  });

  it("Brook's own client re-authenticates too (KIP-368): one connection keeps working past the session, with requests in flight", async () => {
    const b = await start({ config: { 'connections.max.reauth.ms': '1000' } });
    await addUser(b, 'alice', 'alice-secret');
    const conn = await Connection.open(b.host, b.port, { sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'alice-secret' } });
    try {
      const end = Date.now() + 3000;
      let answered = 0;
      while (Date.now() < end) {
        // Several at once, so the re-authentication has requests to wait for and to hold back.
        const rs = await Promise.all([1, 2, 3].map(() => conn.request(Apis.metadata, { topics: [], allowAutoTopicCreation: false })));
        answered += rs.length;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(conn.closed).toBe(false);
      expect(answered).toBeGreaterThan(30);
      expect(logText.match(/"msg":"re-authenticated"/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
      expect(logText).not.toMatch(/session expired/);
    } finally {
      conn.close();
    }
  });
});

describe('SASL over the raw protocol', () => {
  it('requests of every API before authentication close the connection without an answer', async () => {
    const b = await start();
    for (const h of HANDLERS) {
      const key = h.api.apiKey;
      if (key === 17 || key === 18) continue;
      const p = await openProbe(b.host, b.port);
      p.write(requestFrame(key, h.maxVersion, 1, () => {}, h.maxVersion >= h.api.flexibleMin && h.api.flexibleMin >= 0));
      expect(await p.waitClosed(3000), `api key ${key}`).toBe(true);
      expect(p.received().length, `api key ${key}`).toBe(0);
    }
  });

  it('ApiVersions is answered before authentication; SaslAuthenticate before the handshake closes', async () => {
    const b = await start();
    const p = await openProbe(b.host, b.port);
    p.write(requestFrame(18, 0, 1));
    const size = (await p.waitBytes(4)).readInt32BE(0);
    expect(size).toBeGreaterThan(20);
    const q = await openProbe(b.host, b.port);
    q.write(requestFrame(36, 1, 1, (w) => encodeSaslAuthenticateRequest(w, { authBytes: plainToken('admin', 'admin-secret') }, 1)));
    expect(await q.waitClosed(3000)).toBe(true);
    p.destroy();
  });

  it('SaslAuthenticate v0-v2 with PLAIN and SCRAM; session lifetime from connections.max.reauth.ms', async () => {
    const b = await start({ config: { 'connections.max.reauth.ms': '60000' } });
    await addUser(b, 'alice', 'alice-secret');
    for (const version of [0, 1, 2]) {
      const p = await openProbe(b.host, b.port);
      const hs = await handshake(p, 'PLAIN', 1);
      expect(hs.errorCode).toBe(ErrorCode.NONE);
      expect(hs.mechanisms).toEqual(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']);
      const a = await authenticate(p, plainToken('admin', 'admin-secret'), version, hs.end);
      expect(a.errorCode).toBe(ErrorCode.NONE);
      expect(a.sessionLifetimeMs).toBe(version >= 1 ? 60000n : 0n);
      // Authenticated: Metadata is answered.
      p.write(requestFrame(3, 1, 7, (w) => w.int32(0)));
      const md = await readFrame(p, a.end);
      expect(md.body.readInt32BE(0)).toBe(7);
      p.destroy();

      for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
        const q = await openProbe(b.host, b.port);
        const h = await handshake(q, mech, 1);
        const client = new ScramClient(mech, 'alice', 'alice-secret');
        const first = await authenticate(q, client.first(), version, h.end);
        expect(first.errorCode).toBe(ErrorCode.NONE);
        const last = await authenticate(q, await client.final(first.authBytes), version, first.end);
        expect(last.errorCode).toBe(ErrorCode.NONE);
        expect(client.verify(last.authBytes)).toBe(true);
        q.destroy();
      }
    }
  });

  it('SCRAM: a client-final nonce that ends with the server\'s is accepted (librdkafka 2.0), another is not', async () => {
    const b = await start();
    await addUser(b, 'alice', 'alice-secret');
    for (const before of ['fyko+d2lbbFgONRv9qkxdawL', '']) {
      const p = await openProbe(b.host, b.port);
      const h = await handshake(p, 'SCRAM-SHA-256', 1);
      const client = new ScramClient('SCRAM-SHA-256', 'alice', 'alice-secret');
      const first = await authenticate(p, client.first(), 1, h.end);
      const last = await authenticate(p, await client.final(first.authBytes, before), 1, first.end);
      expect(last.errorCode).toBe(ErrorCode.NONE);
      expect(client.verify(last.authBytes)).toBe(true);
      p.destroy();
    }
    // A nonce that is not the server's: refused.
    const p = await openProbe(b.host, b.port);
    const h = await handshake(p, 'SCRAM-SHA-256', 1);
    const client = new ScramClient('SCRAM-SHA-256', 'alice', 'alice-secret');
    const first = await authenticate(p, client.first(), 1, h.end);
    const forged = Buffer.from(first.authBytes.toString().replace(/^r=([^,]+)/, (_m, n: string) => `r=${n}x`));
    const last = await authenticate(p, await client.final(forged), 1, first.end);
    expect(last.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(logText).toMatch(/invalid nonce/);
  });

  it.skipIf(!hasKcat)(`kcat (librdkafka) with SCRAM-SHA-256 and SCRAM-SHA-512, and a wrong password${hasKcat ? '' : ` (${NO_KCAT})`}`, async () => {
    const b = await start();
    await addUser(b, 'alice', 'alice-secret');
    for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) {
      const r = await runKcat(['-b', b.bootstrap, '-X', 'security.protocol=sasl_plaintext', '-X', `sasl.mechanism=${mech}`, '-X', 'sasl.username=alice', '-X', 'sasl.password=alice-secret', '-L', '-J']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).brokers).toHaveLength(1);
    }
    const bad = await runKcat(['-b', b.bootstrap, '-X', 'security.protocol=sasl_plaintext', '-X', 'sasl.mechanism=SCRAM-SHA-512', '-X', 'sasl.username=alice', '-X', 'sasl.password=nope', '-L', '-m', '3']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Authentication failed/);
  });

  it('a wrong password is answered SASL_AUTHENTICATION_FAILED, then the connection closes', async () => {
    const b = await start();
    await addUser(b, 'alice', 'alice-secret');
    const p = await openProbe(b.host, b.port);
    const h = await handshake(p, 'SCRAM-SHA-256', 1);
    const client = new ScramClient('SCRAM-SHA-256', 'alice', 'not-her-password');
    const first = await authenticate(p, client.first(), 1, h.end);
    const last = await authenticate(p, await client.final(first.authBytes), 1, first.end);
    expect(last.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(last.errorMessage).toBe('Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256');
    expect(await p.waitClosed(3000)).toBe(true);
  });

  it('an unknown mechanism is answered UNSUPPORTED_SASL_MECHANISM with the enabled ones, then closed', async () => {
    const b = await start({ mechanisms: ['SCRAM-SHA-512'] });
    const p = await openProbe(b.host, b.port);
    const hs = await handshake(p, 'GSSAPI', 1);
    expect(hs.errorCode).toBe(ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    expect(hs.mechanisms).toEqual(['SCRAM-SHA-512']);
    expect(await p.waitClosed(3000)).toBe(true);
  });

  it('SaslHandshake v0: raw PLAIN and SCRAM tokens (kafka-python)', async () => {
    const b = await start();
    await addUser(b, 'alice', 'alice-secret');
    const p = await openProbe(b.host, b.port);
    const hs = await handshake(p, 'PLAIN', 0);
    const tok = plainToken('admin', 'admin-secret', 'admin');
    p.write(Buffer.concat([sizePrefix(tok.length), tok]));
    const ok = await p.waitBytes(hs.end + 4);
    expect(ok.readInt32BE(hs.end)).toBe(0);
    p.write(requestFrame(3, 1, 9, (w) => w.int32(0)));
    expect((await readFrame(p, hs.end + 4)).body.readInt32BE(0)).toBe(9);
    p.destroy();

    const q = await openProbe(b.host, b.port);
    const h2 = await handshake(q, 'SCRAM-SHA-512', 0);
    const client = new ScramClient('SCRAM-SHA-512', 'alice', 'alice-secret');
    const first = client.first();
    q.write(Buffer.concat([sizePrefix(first.length), first]));
    const sf = await readFrame(q, h2.end);
    const fin = await client.final(sf.body);
    q.write(Buffer.concat([sizePrefix(fin.length), fin]));
    const sfin = await readFrame(q, sf.end);
    expect(client.verify(sfin.body)).toBe(true);
    q.destroy();

    // A wrong raw password: no answer, the connection closes.
    const r = await openProbe(b.host, b.port);
    const h3 = await handshake(r, 'PLAIN', 0);
    const bad = plainToken('admin', 'nope');
    r.write(Buffer.concat([sizePrefix(bad.length), bad]));
    expect(await r.waitClosed(3000)).toBe(true);
    expect(r.received().length).toBe(h3.end);
  });

  it('a token larger than sasl.server.max.receive.size closes the connection before it is read', async () => {
    const b = await start({ config: { 'sasl.server.max.receive.size': '1024' } });
    const p = await openProbe(b.host, b.port);
    const hs = await handshake(p, 'PLAIN', 1);
    p.write(sizePrefix(1_000_000));
    expect(await p.waitClosed(3000)).toBe(true);
    expect(p.received().length).toBe(hs.end);
    expect(logText).toMatch(/sasl.server.max.receive.size/);
  });

  it('OAUTHBEARER: a bad token gets the RFC 7628 error challenge, then fails', async () => {
    const b = await start();
    const p = await openProbe(b.host, b.port);
    const hs = await handshake(p, 'OAUTHBEARER', 1);
    const token = Buffer.from(`n,,\u0001auth=Bearer ${jwt({ sub: 'x', exp: 1 })}\u0001\u0001`);
    const a = await authenticate(p, token, 1, hs.end);
    expect(a.errorCode).toBe(ErrorCode.NONE);
    expect(JSON.parse(a.authBytes.toString())).toEqual({ status: 'invalid_token' });
    const b2 = await authenticate(p, Buffer.from('\u0001'), 1, a.end);
    expect(b2.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(await p.waitClosed(3000)).toBe(true);
  });

  it('a session ends at its expiry: the next request closes the connection, a re-authentication renews it', async () => {
    const clock = new ManualClock(Date.now());
    const b = await start({ clock, config: { 'connections.max.reauth.ms': '10000' } });
    const p = await openProbe(b.host, b.port);
    let at = (await handshake(p, 'PLAIN', 1)).end;
    const a = await authenticate(p, plainToken('admin', 'admin-secret'), 1, at);
    expect(a.sessionLifetimeMs).toBe(10000n);
    at = a.end;
    clock.advance(9000);
    // Re-authentication (v1 handshake on the authenticated connection), as the same user.
    at = (await handshake(p, 'PLAIN', 1, at)).end;
    const re = await authenticate(p, plainToken('admin', 'admin-secret'), 1, at);
    expect(re.errorCode).toBe(ErrorCode.NONE);
    at = re.end;
    clock.advance(9000);
    p.write(requestFrame(3, 1, 11, (w) => w.int32(0)));
    at = (await readFrame(p, at)).end;
    clock.advance(2000);
    p.write(requestFrame(3, 1, 12, (w) => w.int32(0)));
    expect(await p.waitClosed(3000)).toBe(true);
    expect(p.received().length).toBe(at);
    expect(logText).toMatch(/session expired/);
  });

  it('re-authentication as another user fails and closes the connection', async () => {
    const b = await start({ plainUsers: { admin: 'admin-secret', eve: 'eve-secret' } });
    const p = await openProbe(b.host, b.port);
    let at = (await handshake(p, 'PLAIN', 1)).end;
    at = (await authenticate(p, plainToken('admin', 'admin-secret'), 1, at)).end;
    at = (await handshake(p, 'PLAIN', 1, at)).end;
    const re = await authenticate(p, plainToken('eve', 'eve-secret'), 1, at);
    expect(re.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(re.errorMessage).toMatch(/Cannot change principals/);
    expect(await p.waitClosed(3000)).toBe(true);
  });

  it('a failed authentication is answered after connection.failed.authentication.delay.ms', async () => {
    const b = await start({ config: { 'connection.failed.authentication.delay.ms': '300' } });
    const p = await openProbe(b.host, b.port);
    const hs = await handshake(p, 'PLAIN', 1);
    const t0 = Date.now();
    const a = await authenticate(p, plainToken('admin', 'wrong'), 1, hs.end);
    expect(a.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    // At least the delay (a lower bound, not a timing goal).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });
});

describe('SASL configured with Kafka names (brook start)', () => {
  const plan = (settings: string[]) => resolveListeners(checkStartupConfig(settingsFromArgs(settings)), {});
  const planError = (settings: string[]): string => {
    try {
      plan(settings);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('listener-prefixed JAAS users and mechanisms serve kafkajs; unknown names are still reported', async () => {
    const settings = [
      'listeners=SASL_PLAINTEXT://127.0.0.1:0',
      'listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_bob="bob \\"quoted\\" secret";',
    ];
    const startup = checkStartupConfig(settingsFromArgs(settings));
    expect(startup.warnings).toEqual([]);
    const p = resolveListeners(startup, {});
    expect(p.listeners[0]!.sasl).toEqual({
      mechanisms: ['PLAIN', 'SCRAM-SHA-512'],
      plainUsers: { admin: 'admin-secret', bob: 'bob "quoted" secret' },
      // username/password: the broker's own user on this listener (inter-broker).
      clientUsers: { PLAIN: { username: 'admin', password: 'admin-secret' } },
    });
    broker = await startBroker({ listeners: brokerListeners(p), config: startup.values, memory: true });
    await roundTrip(broker, { mechanism: 'plain', username: 'bob', password: 'bob "quoted" secret' }, 'from-config');
    const unknown = checkStartupConfig(settingsFromArgs(['listener.name.sasl_plaintext.sasl.enabled.mechanismz=PLAIN']));
    expect(unknown.warnings.join()).toMatch(/isn't a known config/);
  });

  it('GSSAPI, an empty mechanism list, a bad JAAS entry and a custom callback handler are refused', () => {
    expect(planError(['listeners=SASL_PLAINTEXT://127.0.0.1:0', 'sasl.enabled.mechanisms=GSSAPI'])).toMatch(/GSSAPI \(Kerberos\) is not implemented/);
    expect(planError(['listeners=SASL_PLAINTEXT://127.0.0.1:0', 'sasl.enabled.mechanisms= '])).toMatch(/enable at least one SASL mechanism/);
    expect(planError(['listeners=SASL_PLAINTEXT://127.0.0.1:0', 'listener.name.sasl_plaintext.plain.sasl.jaas.config=user_a="x"'])).toMatch(/not a JAAS entry/);
    expect(
      planError(['listeners=SASL_PLAINTEXT://127.0.0.1:0', 'listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler']),
    ).toMatch(/not supported/);
  });

  it('SASL_SSL: kafkajs with TLS and SCRAM-SHA-512', async () => {
    const pki = makePki();
    try {
      const startup = checkStartupConfig(settingsFromArgs(['listeners=SASL_SSL://127.0.0.1:0', `ssl.keystore.location=${pki.path('broker.pem')}`, 'sasl.enabled.mechanisms=SCRAM-SHA-512']));
      broker = await startBroker({ listeners: brokerListeners(resolveListeners(startup, {})), config: startup.values, memory: true });
      await addUser(broker, 'alice', 'alice-secret', ['SCRAM-SHA-512']);
      const ca = pki.pem('ca.crt');
      const k = kafkaFor(broker, { ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' } });
      const admin = k.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'over-tls', numPartitions: 1 }] });
      const producer = k.producer();
      await producer.connect();
      await producer.send({ topic: 'over-tls', messages: [{ value: 'secret' }] });
      await producer.disconnect();
      await admin.disconnect();
      expect((await broker.records('over-tls', 0)).map((r) => r.value?.toString())).toEqual(['secret']);
      // Plaintext on the SASL_SSL port is a failed TLS handshake: closed.
      const p = await openProbe(broker.host, broker.port);
      p.write(requestFrame(18, 0, 1));
      expect(await p.waitClosed(3000)).toBe(true);
    } finally {
      pki.remove();
    }
  });
});
