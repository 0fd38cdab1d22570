// kcat (librdkafka 2.0.2): the security phase (`run.sh security <spec.json>`, see ../README.md
// and ../security.ts). Each positive scenario produces three keyed messages with `kcat -P`
// (librdkafka's default acks=all) and reads them back with `kcat -C -e`, through the listener
// under test only, configured with librdkafka's own property names (-X).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const tail = (text, n = 3) => text.trim().split('\n').slice(-n).join(' | ');

export function securityScenarios(specFile) {
  const spec = JSON.parse(readFileSync(specFile, 'utf8'));
  const tls = ['-X', `ssl.ca.location=${spec.ca}`];
  const sasl = (mechanism, username, password) => ['-X', `sasl.mechanisms=${mechanism}`, '-X', `sasl.username=${username}`, '-X', `sasl.password=${password}`];
  const CONFIGS = {
    TLS: () => ['-X', 'security.protocol=SSL', ...tls],
    PLAIN: () => ['-X', 'security.protocol=SASL_PLAINTEXT', ...sasl('PLAIN', spec.plain.username, spec.plain.password)],
    'SCRAM-SHA-256': () => ['-X', 'security.protocol=SASL_PLAINTEXT', ...sasl('SCRAM-SHA-256', spec.scram.username, spec.scram.password)],
    'SCRAM-SHA-512': () => ['-X', 'security.protocol=SASL_PLAINTEXT', ...sasl('SCRAM-SHA-512', spec.scram.username, spec.scram.password)],
    'TLS + SCRAM-SHA-256': (password = spec.scram.password) => ['-X', 'security.protocol=SASL_SSL', ...tls, ...sasl('SCRAM-SHA-256', spec.scram.username, password)],
    'TLS + SCRAM-SHA-512': () => ['-X', 'security.protocol=SASL_SSL', ...tls, ...sasl('SCRAM-SHA-512', spec.scram.username, spec.scram.password)],
  };

  function kcat(listener, args, { input, seconds = 20 } = {}) {
    const r = spawnSync('timeout', ['-k', '3', String(seconds), 'kcat', '-b', spec.listeners[listener], ...args], { input: input ?? '', encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : '') };
  }

  function consume(listener, config, topic) {
    const r = kcat(listener, [...config, '-C', '-t', topic, '-o', 'beginning', '-e', '-J']);
    if (r.code !== 0) throw new Error(`kcat -C exited ${r.code}: ${tail(r.stderr)}`);
    return r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  }

  function roundTrip(scenario, listener, configName) {
    const topic = spec.topics[scenario];
    const config = CONFIGS[configName]();
    const lines = [0, 1, 2].map((i) => `k${i}:${scenario}-${i}`);
    const p = kcat(listener, [...config, '-P', '-t', topic, '-K', ':'], { input: `${lines.join('\n')}\n` });
    if (p.code !== 0 || /error/i.test(p.stderr)) throw new Error(`kcat -P exited ${p.code}: ${tail(p.stderr)}`);
    const got = consume(listener, config, topic).map((m) => `${m.key}:${m.payload}`);
    if (got.join() !== lines.join()) throw new Error(`read back ${got.join()}, produced ${lines.join()}`);
    return `${listener} listener, ${configName}: 3 messages produced and read back`;
  }

  /** A wrong password: kcat -P must stop with librdkafka's authentication error, nothing stored. */
  function wrongPassword() {
    const topic = spec.topics['sasl-wrong-password'];
    const p = kcat('SASL_SSL', [...CONFIGS['TLS + SCRAM-SHA-256'](spec.wrongPassword), '-P', '-t', topic], { input: 'should-not-be-stored\n', seconds: 30 });
    const line = p.stderr.split('\n').find((l) => /SASL authentication error/.test(l));
    if (p.code === 0) throw new Error(`kcat -P with a wrong password exited 0: ${tail(p.stderr)}`);
    if (p.code === 124 || p.code === 137) throw new Error(`kcat -P with a wrong password hung (killed by timeout): ${tail(p.stderr)}`);
    if (!line || !/Authentication failed/.test(line)) throw new Error(`not an authentication error (exit ${p.code}): ${tail(p.stderr)}`);
    const stored = consume('SASL_SSL', CONFIGS['TLS + SCRAM-SHA-256'](), topic);
    if (stored.length) throw new Error(`${stored.length} messages stored with a wrong password`);
    return `SASL_SSL listener, TLS + SCRAM-SHA-256, wrong password: kcat -P exited ${p.code}: ${line.replace(/^.*?SASL authentication error/, 'SASL authentication error').replace(/ \(after \d+ms.*$/, '')}; nothing stored`;
  }

  const SCENARIOS = {
    'ssl-produce-consume': () => roundTrip('ssl-produce-consume', 'SSL', 'TLS'),
    'sasl-plain': () => roundTrip('sasl-plain', 'SASL_PLAINTEXT', 'PLAIN'),
    'sasl-scram-sha-256': () => roundTrip('sasl-scram-sha-256', 'SASL_PLAINTEXT', 'SCRAM-SHA-256'),
    'sasl-scram-sha-512': () => roundTrip('sasl-scram-sha-512', 'SASL_PLAINTEXT', 'SCRAM-SHA-512'),
    'sasl-ssl-scram-sha-256': () => roundTrip('sasl-ssl-scram-sha-256', 'SASL_SSL', 'TLS + SCRAM-SHA-256'),
    'sasl-ssl-scram-sha-512': () => roundTrip('sasl-ssl-scram-sha-512', 'SASL_SSL', 'TLS + SCRAM-SHA-512'),
    'sasl-wrong-password': wrongPassword,
  };
  for (const [scenario, fn] of Object.entries(SCENARIOS)) {
    const t0 = Date.now();
    let row;
    try {
      row = { scenario, status: 'pass', detail: fn() };
    } catch (e) {
      row = { scenario, status: 'fail', detail: e.message };
    }
    out({ ...row, detail: `${row.detail} (${Date.now() - t0} ms)` });
  }
}
