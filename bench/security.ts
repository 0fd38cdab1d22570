// `npm run bench:security`: the figures of issue 11 on this machine.
//
//   1. Produce throughput over TLS as a ratio of plaintext: librdkafka (Debian's
//      python3-confluent-kafka, bench/tls_produce.py) sends the same messages (acks=1, 100 B by
//      default) over PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-512), each to its own 8-partition
//      topic; msg/s and broker CPU µs per message.
//   2. SCRAM handshakes per second: a client process (bench/security-client.ts) opens connections
//      one after the other on a SASL_PLAINTEXT listener (ApiVersions, SaslHandshake, two
//      SaslAuthenticate rounds) for a few seconds, per mechanism. The client salts the password
//      every time (4096 PBKDF2 iterations, as clients do) and so is the bottleneck on 2 cores; the
//      broker's CPU per handshake says what the broker could take.
//   3. Connections held at max.connections: a client process opens that many connections (each
//      answered an ApiVersions) and one more, which must be closed; the broker's RSS per held
//      connection.
//
// The broker is a child process of the built CLI (`brook start`, file store in a temp directory)
// with four listeners; SCRAM users are written to its security file before it starts. The last
// stdout line is one JSON object with every figure.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentialFromPassword } from '../src/security/scram.js';
import { SECURITY_FILE } from '../src/security/store.js';
import { BROKER_MAIN, Child, cpuSeconds, freePort, HOST, rssBytes, sleep } from './proc.js';

const CLIENT = fileURLToPath(new URL('./security-client.js', import.meta.url));
const PRODUCER = fileURLToPath(new URL('../../bench/tls_produce.py', import.meta.url));
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const NUM = arg('num', 300_000);
const SIZE = arg('size', 100);
const SECONDS = arg('seconds', 5);
const MAX_CONNECTIONS = arg('connections', 4000);

function run(cmd: string, args: string[], timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.stderr.on('data', (d: Buffer) => (err += d));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out.trim().split('\n').at(-1) ?? '');
      else reject(new Error(`${path.basename(cmd)} ${args[0]} exited ${code}: ${err.slice(-800)}`));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, HOST, () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`port ${port} not open after ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'brook-bench-sec-'));
  const figures: Record<string, unknown> = { bench: 'security', messages: NUM, size: SIZE, cpus: os.cpus().length, node: process.version };
  let broker: Child | undefined;
  try {
    execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'ignore' });
    writeFileSync(path.join(dir, 'broker.pem'), readFileSync(path.join(dir, 'k.pem'), 'utf8') + readFileSync(path.join(dir, 'ca.pem'), 'utf8'));
    const data = path.join(dir, 'data');
    execFileSync('mkdir', ['-p', data]);
    const scram = {
      bench: {
        'SCRAM-SHA-256': await credentialFromPassword('SCRAM-SHA-256', 'bench-secret'),
        'SCRAM-SHA-512': await credentialFromPassword('SCRAM-SHA-512', 'bench-secret'),
      },
    };
    writeFileSync(path.join(data, SECURITY_FILE), JSON.stringify({ version: 1, scram }));
    const [plain, ssl, saslSsl, sasl] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const args = [
      BROKER_MAIN, 'start', '--data-dir', data, '--log-level', 'warn',
      '--set', `listeners=PLAINTEXT://${HOST}:${plain},SSL://${HOST}:${ssl},SASL_SSL://${HOST}:${saslSsl},SASL_PLAINTEXT://${HOST}:${sasl}`,
      '--set', `ssl.keystore.location=${path.join(dir, 'broker.pem')}`,
      '--set', 'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512',
      '--set', `max.connections=${MAX_CONNECTIONS}`,
      '--set', 'num.partitions=8',
    ];
    broker = new Child('broker', spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const pid = broker.proc.pid!;
    for (const p of [plain, ssl, saslSsl, sasl]) await waitForPort(p);
    const ca = path.join(dir, 'ca.pem');

    // 1. Produce over PLAINTEXT, SSL and SASL_SSL.
    const protocols: Array<[string, Record<string, unknown>]> = [
      ['PLAINTEXT', { 'bootstrap.servers': `${HOST}:${plain}` }],
      ['SSL', { 'bootstrap.servers': `${HOST}:${ssl}`, 'security.protocol': 'ssl', 'ssl.ca.location': ca }],
      ['SASL_SSL', { 'bootstrap.servers': `${HOST}:${saslSsl}`, 'security.protocol': 'sasl_ssl', 'ssl.ca.location': ca, 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': 'bench', 'sasl.password': 'bench-secret' }],
    ];
    const produce: Record<string, { msgsPerSec: number; brokerUsPerMsg: number }> = {};
    for (const [name, conf] of protocols) {
      const c0 = cpuSeconds(pid);
      const r = JSON.parse(await run('/usr/bin/python3', [PRODUCER, JSON.stringify(conf), `bench-${name.toLowerCase()}`, String(NUM), String(SIZE)])) as { msgs_per_s: number; errors: number; undelivered: number };
      if (r.errors > 0 || r.undelivered > 0) throw new Error(`${name}: ${r.errors} delivery errors, ${r.undelivered} undelivered`);
      produce[name] = { msgsPerSec: Math.round(r.msgs_per_s), brokerUsPerMsg: +(((cpuSeconds(pid) - c0) * 1e6) / NUM).toFixed(2) };
      process.stderr.write(`produce ${name}: ${produce[name]!.msgsPerSec} msg/s, broker ${produce[name]!.brokerUsPerMsg} µs/msg\n`);
    }
    figures.produce = produce;
    figures.tlsRatio = +(produce['SSL']!.msgsPerSec / produce['PLAINTEXT']!.msgsPerSec).toFixed(3);
    figures.saslSslRatio = +(produce['SASL_SSL']!.msgsPerSec / produce['PLAINTEXT']!.msgsPerSec).toFixed(3);

    // 2. SCRAM handshakes.
    const handshakes: Record<string, { perSec: number; brokerCpuMsEach: number; failures: number }> = {};
    for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) {
      const c0 = cpuSeconds(pid);
      const r = JSON.parse(await run(process.execPath, [CLIENT, 'handshakes', HOST, String(sasl), mech, 'bench', 'bench-secret', String(SECONDS)])) as { handshakes: number; failures: number; seconds: number };
      handshakes[mech] = { perSec: Math.round(r.handshakes / r.seconds), brokerCpuMsEach: +(((cpuSeconds(pid) - c0) * 1000) / Math.max(1, r.handshakes)).toFixed(3), failures: r.failures };
      process.stderr.write(`handshakes ${mech}: ${handshakes[mech]!.perSec}/s, broker ${handshakes[mech]!.brokerCpuMsEach} ms each\n`);
    }
    figures.scramHandshakes = handshakes;

    // 3. max.connections held.
    const rss0 = rssBytes(pid);
    const holder = spawn(process.execPath, [CLIENT, 'hold', HOST, String(plain), String(MAX_CONNECTIONS)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      holder.stdout.on('data', (d: Buffer) => {
        out += d;
        if (out.includes('\n')) resolve(out.trim());
      });
      holder.on('exit', (code) => reject(new Error(`hold client exited ${code}`)));
    });
    const held = JSON.parse(line) as { held: number; extraClosed: boolean };
    await sleep(500);
    const rss1 = rssBytes(pid);
    holder.stdin.end();
    figures.connections = { maxConnections: MAX_CONNECTIONS, held: held.held, nextOneClosed: held.extraClosed, brokerRssMiB: +(rss1 / 2 ** 20).toFixed(1), kibPerConnection: +((rss1 - rss0) / 1024 / held.held).toFixed(1) };
    process.stderr.write(`connections: held ${held.held}, next closed ${held.extraClosed}, broker RSS ${(rss1 / 2 ** 20).toFixed(1)} MiB\n`);
  } catch (err) {
    figures.error = (err as Error).message;
    process.exitCode = 1;
  } finally {
    broker?.proc.kill('SIGTERM');
    await sleep(300);
    broker?.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

await main();
