// kafkajs 2.2.4: the security phase (`run.sh security <spec.json>`, see ../README.md and
// ../security.ts): SSL, SASL PLAIN and SCRAM-SHA-256/512 over SASL_PLAINTEXT and SASL_SSL, and a
// wrong password. Each positive scenario produces a few messages to its topic and reads them
// back with a consumer group, over the listener under test only.

import { readFileSync } from 'node:fs';
import kafkajs from '../../node_modules/kafkajs/index.js';

const { Kafka, logLevel } = kafkajs;
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function errText(e) {
  if (!e) return String(e);
  const parts = [`${e.name ?? 'Error'}: ${e.message}`];
  if (e.type) parts.push(`type=${e.type}`);
  if (e.code !== undefined) parts.push(`code=${e.code}`);
  if (e.cause) parts.push(`cause: ${errText(e.cause)}`);
  return parts.join(' ');
}

export async function securityScenarios(specFile) {
  const spec = JSON.parse(readFileSync(specFile, 'utf8'));
  const ssl = { ca: [readFileSync(spec.ca, 'utf8')] };
  const scram = (mechanism) => ({ mechanism, username: spec.scram.username, password: spec.scram.password });
  let opened = [];

  function client(listener, extra) {
    return new Kafka({
      clientId: 'brook-compat-kafkajs-security',
      brokers: [spec.listeners[listener]],
      retry: { retries: 2, initialRetryTime: 100 },
      logLevel: logLevel.NOTHING,
      ...extra,
    });
  }

  /** Produces three messages and reads them back with a group; returns the detail. */
  async function roundTrip(scenario, listener, extra) {
    const topic = spec.topics[scenario];
    const k = client(listener, extra);
    const values = [0, 1, 2].map((i) => `${scenario}-${i}`);
    const producer = k.producer();
    opened.push(producer);
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
    const consumer = k.consumer({ groupId: `g-${topic}`, maxWaitTimeInMs: 100, heartbeatInterval: 300 });
    opened.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const got = [];
    await new Promise((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
      void consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push(message.value.toString());
            if (got.length >= values.length) resolve();
          },
        })
        .catch(reject);
    });
    if (got.join() !== values.join()) throw new Error(`read back ${got.join()}, produced ${values.join()}`);
    return `${listener} listener, ${extra.sasl ? `${extra.ssl ? 'TLS + ' : ''}${extra.sasl.mechanism.toUpperCase()}` : 'TLS'}: 3 messages produced (acks=all) and read back by a group`;
  }

  /** The wrong password must be refused with an authentication error (not a hang or a retry loop). */
  async function wrongPassword() {
    const k = client('SASL_SSL', { ssl, sasl: { ...scram('scram-sha-256'), password: spec.wrongPassword } });
    const admin = k.admin();
    opened.push(admin);
    const err = await admin
      .connect()
      .then(() => admin.listTopics())
      .then(
        () => null,
        (e) => e,
      );
    if (!err) throw new Error('connected and listed topics with a wrong password');
    const text = errText(err);
    if (err.name !== 'KafkaJSSASLAuthenticationError' && !/SASL.*authentication failed/i.test(text)) throw new Error(`not an authentication error: ${text}`);
    return `SASL_SSL listener, TLS + SCRAM-SHA-256, wrong password: ${text}`;
  }

  const SCENARIOS = {
    'ssl-produce-consume': () => roundTrip('ssl-produce-consume', 'SSL', { ssl }),
    'sasl-plain': () => roundTrip('sasl-plain', 'SASL_PLAINTEXT', { sasl: { mechanism: 'plain', ...spec.plain } }),
    'sasl-scram-sha-256': () => roundTrip('sasl-scram-sha-256', 'SASL_PLAINTEXT', { sasl: scram('scram-sha-256') }),
    'sasl-scram-sha-512': () => roundTrip('sasl-scram-sha-512', 'SASL_PLAINTEXT', { sasl: scram('scram-sha-512') }),
    'sasl-ssl-scram-sha-256': () => roundTrip('sasl-ssl-scram-sha-256', 'SASL_SSL', { ssl, sasl: scram('scram-sha-256') }),
    'sasl-ssl-scram-sha-512': () => roundTrip('sasl-ssl-scram-sha-512', 'SASL_SSL', { ssl, sasl: scram('scram-sha-512') }),
    'sasl-wrong-password': wrongPassword,
  };

  for (const [scenario, fn] of Object.entries(SCENARIOS)) {
    const t0 = Date.now();
    let row;
    try {
      row = { scenario, status: 'pass', detail: await withTimeout(fn(), 30_000, scenario) };
    } catch (e) {
      row = { scenario, status: 'fail', detail: errText(e) };
    } finally {
      const list = opened;
      opened = [];
      await Promise.allSettled(list.reverse().map((c) => withTimeout(c.disconnect(), 10_000, 'disconnect').catch(() => {})));
    }
    out({ ...row, detail: `${row.detail} (${Date.now() - t0} ms)` });
  }
}
