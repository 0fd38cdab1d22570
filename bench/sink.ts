// The "raw loopback copy" server, run as its own process by the load generator: the floor cost
// of moving the benchmark's bytes through Node sockets on this machine.
//
// It frames requests like the broker does (int32 size prefix, chunks sliced or copied into one
// frame), discards them, and answers each with a frame of the size the client asks for in the
// first four bytes of the request body, echoing the correlation id (bytes 4..8 of the body):
// small answers for the produce replay, the recorded Fetch response sizes for the fetch replay.
// Prints "PORT <n>" on stdout once listening on 127.0.0.1; exits on SIGTERM/SIGINT.

import { createServer, type Socket } from 'node:net';

const MAX_FRAME = 256 * 1024 * 1024;
let zeros = Buffer.alloc(1024 * 1024);

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let chunks: Buffer[] = [];
  let buffered = 0;
  let frameSize = -1;

  const take = (n: number): Buffer => {
    buffered -= n;
    const first = chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) chunks.shift();
      else chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) chunks.shift();
      else chunks[0] = c.subarray(k);
    }
    return out;
  };

  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    buffered += d.length;
    for (;;) {
      if (frameSize < 0) {
        if (buffered < 4) return;
        const sizeBytes = take(4);
        frameSize = sizeBytes.readInt32BE(0);
        if (frameSize < 8 || frameSize > MAX_FRAME) {
          socket.destroy();
          chunks = [];
          return;
        }
      }
      if (buffered < frameSize) return;
      const frame = take(frameSize);
      frameSize = -1;
      const replyBytes = frame.readInt32BE(0);
      const correlationId = frame.readInt32BE(4);
      // Reply: size, correlation id, then replyBytes - 4 bytes of zeros.
      const head = Buffer.allocUnsafe(8);
      head.writeInt32BE(replyBytes, 0);
      head.writeInt32BE(correlationId, 4);
      const rest = replyBytes - 4;
      if (rest > zeros.length) zeros = Buffer.alloc(rest);
      if (rest <= 4096) {
        // Small answers (produce acks) go out as one buffer, like the broker's response frames.
        const out = Buffer.allocUnsafe(4 + replyBytes);
        head.copy(out, 0);
        out.fill(0, 8);
        socket.write(out);
      } else {
        socket.cork();
        socket.write(head);
        socket.write(zeros.subarray(0, rest));
        socket.uncork();
      }
    }
  });
  socket.on('error', () => socket.destroy());
}

const server = createServer(serve);
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`PORT ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
const stop = (): void => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
