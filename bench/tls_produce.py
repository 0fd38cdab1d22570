# Produce throughput with librdkafka (Debian's python3-confluent-kafka) over a given security
# protocol, for `npm run bench:security` (bench/security.ts). Run with /usr/bin/python3.
# Usage: tls_produce.py <json config> <topic> <count> <size>   -> one JSON line
import json
import sys
import time

from confluent_kafka import Producer

conf = json.loads(sys.argv[1])
topic, count, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
conf.update({'acks': '1', 'linger.ms': 5, 'batch.num.messages': 10000, 'queue.buffering.max.messages': 1000000, 'queue.buffering.max.kbytes': 1048576})
p = Producer(conf)
payload = b'x' * size
errors = [0]


def cb(err, _msg):
    if err is not None:
        errors[0] += 1


# Warm up (connections, metadata, TLS and SASL handshakes) before timing.
p.produce(topic, payload, on_delivery=cb)
p.flush(30)
t0 = time.monotonic()
sent = 0
while sent < count:
    try:
        p.produce(topic, payload, on_delivery=cb)
        sent += 1
    except BufferError:
        p.poll(0.001)
    if sent % 10000 == 0:
        p.poll(0)
left = p.flush(120)
secs = time.monotonic() - t0
print(json.dumps({'messages': count, 'seconds': secs, 'msgs_per_s': count / secs, 'errors': errors[0], 'undelivered': left}))
