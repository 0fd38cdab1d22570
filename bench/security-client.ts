// The client half of `npm run bench:security` (bench/security.ts), run in its own process so the
// broker's CPU is its own:
//   security-client.js handshakes <host> <port> <mechanism> <user> <password> <seconds>
//       opens connections one after the other for <seconds>: ApiVersions, SaslHandshake and the
//       SaslAuthenticate rounds (Brook's client, which salts the password each time as clients do),
//       then closes; prints {"handshakes":N,"failures":F,"seconds":S}
//   security-client.js hold <host> <port> <count>
//       opens <count> connections (each answered an ApiVersions), then one more; prints
//       {"held":N,"extraClosed":true|false} and keeps them open until stdin closes.

import { connect, type Socket } from 'node:net';
import { Connection } from '../src/client/connection.js';
import type { ClientSaslConfig } from '../src/security/sasl/client.js';

const [mode, host, portText, ...rest] = process.argv.slice(2);
const port = Number(portText);

async function handshakes(mechanism: string, username: string, password: string, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  let failures = 0;
  const t0 = Date.now();
  while (Date.now() < end) {
    try {
      const c = await Connection.open(host!, port, { clientId: 'bench-sasl', sasl: { mechanism: mechanism as ClientSaslConfig['mechanism'], username, password } });
      c.close();
      n++;
    } catch {
      failures++;
    }
  }
  process.stdout.write(`${JSON.stringify({ handshakes: n, failures, seconds: (Date.now() - t0) / 1000 })}\n`);
}

/** ApiVersions v0 by hand: resolves once answered, rejects if the broker closes first. */
function openOne(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host);
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed')));
    s.once('connect', () => {
      const frame = Buffer.alloc(4 + 10 + 5);
      frame.writeInt32BE(10 + 5, 0);
      frame.writeInt16BE(18, 4);
      frame.writeInt16BE(0, 6);
      frame.writeInt32BE(1, 8);
      frame.writeInt16BE(5, 12);
      frame.write('bench', 14);
      s.write(frame);
    });
    s.once('data', () => {
      s.removeAllListeners('close');
      s.on('close', () => {});
      s.on('error', () => {});
      resolve(s);
    });
  });
}

async function hold(count: number): Promise<void> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) sockets.push(await openOne());
  let extraClosed = false;
  try {
    sockets.push(await openOne());
  } catch {
    extraClosed = true;
  }
  process.stdout.write(`${JSON.stringify({ held: count, extraClosed })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
}

if (mode === 'handshakes') await handshakes(rest[0]!, rest[1]!, rest[2]!, Number(rest[3]));
else if (mode === 'hold') await hold(Number(rest[0]));
else {
  process.stderr.write('usage: security-client.js handshakes|hold ...\n');
  process.exit(2);
}
