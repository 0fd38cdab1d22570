#!/usr/bin/env node
// The image's HEALTHCHECK: healthy when the broker answers an ApiVersions request (v0) on
// 127.0.0.1:$BROOK_PORT (default 9092) with error code 0 within 3 s. It speaks the Kafka protocol
// in a few bytes itself (no module loading, no advertised-host lookup), and exits 0 or 1.
import { connect } from 'node:net';

const port = Number(process.env.BROOK_PORT || 9092);
const CORRELATION_ID = 0x4252_4b31;
const clientId = Buffer.from('brook-healthcheck');

// Request header v1 (api key 18 ApiVersions, version 0, correlation id, client id); empty body.
const body = Buffer.alloc(10 + clientId.length);
body.writeInt16BE(18, 0);
body.writeInt16BE(0, 2);
body.writeInt32BE(CORRELATION_ID, 4);
body.writeInt16BE(clientId.length, 8);
clientId.copy(body, 10);
const size = Buffer.alloc(4);
size.writeInt32BE(body.length);

function done(ok, why) {
  if (!ok) process.stderr.write(`unhealthy: ${why}\n`);
  process.exit(ok ? 0 : 1);
}

const socket = connect({ host: '127.0.0.1', port });
socket.setTimeout(3000, () => done(false, 'no answer within 3 s'));
socket.on('error', (err) => done(false, err.message));
socket.on('connect', () => socket.write(Buffer.concat([size, body])));
let got = Buffer.alloc(0);
socket.on('data', (d) => {
  got = Buffer.concat([got, d]);
  if (got.length < 10) return;
  // Response: int32 size, int32 correlation id, int16 error code, then the API list.
  if (got.readInt32BE(4) !== CORRELATION_ID) return done(false, 'unexpected correlation id');
  const error = got.readInt16BE(8);
  done(error === 0, `ApiVersions error code ${error}`);
});
socket.on('end', () => done(false, 'connection closed without an answer'));
