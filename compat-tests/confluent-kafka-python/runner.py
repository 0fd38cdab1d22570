# confluent-kafka-python 1.7.0 (Debian python3-confluent-kafka, librdkafka 2.0.2) against Brook.
# Run with /usr/bin/python3.
# Usage: runner.py scenarios <bootstrap> | produce <bootstrap> <topic> <codec> | consume <bootstrap> <topic> <count>
# Each scenario runs in its own forked process with a hard time limit; the parent never creates
# a librdkafka handle, so every child starts without librdkafka threads.
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from harness import Known, Skip, main, msgset, out, report_consumed  # noqa: E402

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

PREFIX = 'ckp-'
GROUP = 'ckp-group'





# ---------------------------------------------------------------- helpers

def admin(bs):
    return AdminClient({'bootstrap.servers': bs, 'client.id': 'brook-compat-ckp-admin'})


def ensure_topic(bs, topic, partitions=3):
    a = admin(bs)  # keep the handle alive: a garbage-collected AdminClient fails its futures with _DESTROY
    fs = a.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=10, request_timeout=15)
    try:
        fs[topic].result(15)
    except KafkaException as e:
        if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise


def produce(bs, topic, msgs, **cfg):
    """msgs: list of (key, value, headers). Returns [(partition, offset)] in produce order."""
    conf = {'bootstrap.servers': bs, 'client.id': 'brook-compat-ckp-producer', 'linger.ms': 5}
    conf.update(cfg)
    p = Producer(conf)
    res = [None] * len(msgs)
    errs = []

    def cb(i):
        def done(err, m):
            if err is not None:
                errs.append('%s: %s' % (m.partition() if m else '?', err))
            else:
                res[i] = (m.partition(), m.offset())
        return done

    for i, (k, v, h) in enumerate(msgs):
        kw = {'headers': h} if h is not None else {}
        p.produce(topic, key=k, value=v, on_delivery=cb(i), **kw)
        p.poll(0)
    left = p.flush(20)
    if errs:
        raise RuntimeError('delivery errors: %s' % errs[:3])
    if left:
        raise RuntimeError('%d messages still queued after flush(20)' % left)
    return res


def consumer(bs, **cfg):
    conf = {'bootstrap.servers': bs, 'client.id': 'brook-compat-ckp-reader',
            # confluent-kafka 1.7.0 requires group.id even for assign()-only consumers; with
            # auto-commit off nothing is ever committed for it.
            'group.id': 'ckp-reader-unused', 'enable.auto.commit': False,
            'enable.partition.eof': False}
    conf.update(cfg)
    return Consumer(conf)


def read(c, count, timeout_s=20):
    got = []
    deadline = time.time() + timeout_s
    while len(got) < count and time.time() < deadline:
        for m in c.consume(num_messages=count - len(got), timeout=0.5):
            if m.error():
                raise RuntimeError('consume error: %s' % m.error())
            got.append(m)
    return got


def n_partitions(bs, topic):
    a = admin(bs)
    md = a.list_topics(topic=topic, timeout=10)
    return len(md.topics[topic].partitions)


def read_all(bs, topic, count, timeout_s=20):
    c = consumer(bs)
    try:
        n = n_partitions(bs, topic)
        c.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(n)])
        return read(c, count, timeout_s)
    finally:
        c.close()




def check_roundtrip(bs, topic, n, tag, **cfg):
    ensure_topic(bs, topic)
    md = produce(bs, topic, msgset(n, tag), **cfg)
    got = read_all(bs, topic, n)
    vals = sorted(m.value().decode() for m in got)
    want = sorted('v%d-%s' % (i, tag) for i in range(n))
    if vals != want:
        raise AssertionError('read back %d/%d records: %s' % (len(got), n, vals[:5]))
    return '%d records produced and read back; delivery reports %s' % (n, sorted(set(md))[:3])


# ---------------------------------------------------------------- scenarios

def s_bootstrap_metadata(bs):
    a = admin(bs)
    md = a.list_topics(timeout=10)
    if not md.brokers:
        raise AssertionError('no brokers in metadata')
    return 'brokers=%s controller_id=%s cluster_id=%s' % (
        [str(b) for b in md.brokers.values()], md.controller_id, md.cluster_id)


def s_admin_create_topic(bs):
    a = admin(bs)
    t = PREFIX + 'created'
    a.create_topics([NewTopic(t, 3, 1)], operation_timeout=10)[t].result(15)
    try:
        a.create_topics([NewTopic(t, 3, 1)], operation_timeout=10)[t].result(15)
        raise AssertionError('second create did not fail')
    except KafkaException as e:
        if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
    # validate_only must not create anything
    a.create_topics([NewTopic(PREFIX + 'validate-only', 2, 1)], validate_only=True)[PREFIX + 'validate-only'].result(15)
    if PREFIX + 'validate-only' in a.list_topics(timeout=10).topics:
        raise AssertionError('validate_only created the topic')
    return 'created; second create -> TOPIC_ALREADY_EXISTS; validate_only created nothing'


def s_admin_list_topics(bs):
    ensure_topic(bs, PREFIX + 'created')
    a = admin(bs)
    ts = a.list_topics(timeout=10).topics
    if PREFIX + 'created' not in ts:
        raise AssertionError('list_topics = %s' % list(ts))
    return 'list_topics -> %s' % sorted(ts)


def s_admin_describe_topics(bs):
    t = PREFIX + 'created'
    ensure_topic(bs, t)
    a = admin(bs)
    tm = a.list_topics(topic=t, timeout=10).topics[t]
    if tm.error is not None or len(tm.partitions) != 3:
        raise AssertionError('topic metadata %s error %s partitions %s' % (tm, tm.error, tm.partitions))
    res = ConfigResource(ConfigResource.Type.TOPIC, t)
    cfg = a.describe_configs([res])[res].result(15)
    if 'cleanup.policy' not in cfg or 'retention.ms' not in cfg:
        raise AssertionError('describe_configs keys %s' % sorted(cfg)[:10])
    return '3 partitions (leaders %s); describe_configs: %d entries, cleanup.policy=%s' % (
        sorted(p.leader for p in tm.partitions.values()), len(cfg), cfg['cleanup.policy'].value)


def s_produce_unkeyed(bs):
    t = PREFIX + 'unkeyed'
    ensure_topic(bs, t)
    md = produce(bs, t, [(None, ('u%d' % i).encode(), None) for i in range(30)])
    got = read_all(bs, t, 30)
    if len(got) != 30 or any(m.key() is not None for m in got):
        raise AssertionError('read %d records, keys %s' % (len(got), {m.key() for m in got}))
    return '30 unkeyed records over partitions %s' % sorted({p for p, _ in md})


def s_produce_keyed(bs):
    t = PREFIX + 'keyed'
    ensure_topic(bs, t)
    msgs = [(('key%d' % (i % 5)).encode(), ('v%d' % i).encode(), None) for i in range(30)]
    md = produce(bs, t, msgs)
    part_of = {}
    for (k, _, _), (p, _) in zip(msgs, md):
        if part_of.setdefault(k, p) != p:
            raise AssertionError('key %s went to two partitions' % k)
    got = read_all(bs, t, 30)
    if len(got) != 30:
        raise AssertionError('read %d/30' % len(got))
    by_p = {}
    for m in got:
        if part_of[m.key()] != m.partition():
            raise AssertionError('record %s read from partition %d' % (m.key(), m.partition()))
        by_p.setdefault(m.partition(), []).append(m.offset())
    if any(v != sorted(v) for v in by_p.values()):
        raise AssertionError('offsets out of order %s' % by_p)
    return '30 keyed records, same key -> same partition: %s' % sorted((k.decode(), p) for k, p in part_of.items())


def s_acks(acks):
    def run(bs):
        return check_roundtrip(bs, PREFIX + 'acks-%s' % acks, 10, 'acks%s' % acks, acks=acks)
    return run


def s_compression(codec):
    def run(bs):
        return check_roundtrip(bs, PREFIX + 'comp-' + codec, 50, codec, **{'compression.type': codec})
    return run


def s_idempotent(bs):
    try:
        d = check_roundtrip(bs, PREFIX + 'idempotent', 10, 'idem', **{'enable.idempotence': True})
        return 'idempotent producer works: ' + d
    except Exception as e:  # noqa
        raise Known('enable.idempotence=true fails: Brook does not implement InitProducerId yet '
                    '(broker gap, FINDINGS.md): %s' % e)


def s_headers(bs):
    t = PREFIX + 'headers'
    ensure_topic(bs, t)
    hdrs = [('h1', b'one'), ('h2', b''), ('h1', b'dup'), ('null', None), ('bin', bytes(range(256)))]
    produce(bs, t, [(b'k', b'v', hdrs)])
    got = read_all(bs, t, 1)
    if len(got) != 1:
        raise AssertionError('read %d/1' % len(got))
    h = got[0].headers()
    if h != hdrs:
        raise AssertionError('headers %r != %r' % (h, hdrs))
    return 'headers round-trip (incl. duplicate key, empty and null values): %s' % [(k, None if v is None else len(v)) for k, v in h]


def s_consume_from_beginning(bs):
    t = PREFIX + 'consume'
    ensure_topic(bs, t, 1)
    produce(bs, t, msgset(20, 'c'))
    got = read_all(bs, t, 20)
    vals = [m.value().decode() for m in got]
    if vals != ['v%d-c' % i for i in range(20)]:
        raise AssertionError('got %s' % vals)
    return '20 records in order from OFFSET_BEGINNING'


def s_consume_from_offset(bs):
    t = PREFIX + 'consume'
    ensure_topic(bs, t, 1)
    c = consumer(bs)
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(t, 0), timeout=10)
        if hi < 20:
            produce(bs, t, msgset(20, 'c'))
            lo, hi = c.get_watermark_offsets(TopicPartition(t, 0), timeout=10)
        c.assign([TopicPartition(t, 0, 12)])
        got = read(c, hi - 12)
        offs = [m.offset() for m in got]
        if offs != list(range(12, hi)):
            raise AssertionError('offsets %s (watermarks %d/%d)' % (offs, lo, hi))
        # OFFSET_END then a new record: only the new one arrives
        c.assign([TopicPartition(t, 0, confluent_kafka.OFFSET_END)])
        time.sleep(0.5)
        produce(bs, t, [(b'end', b'after-end', None)])
        got2 = read(c, 1, 10)
        if [m.value() for m in got2] != [b'after-end']:
            raise AssertionError('OFFSET_END read %s' % [m.value() for m in got2])
        return 'assign(offset 12) -> %d..%d; OFFSET_END -> only the new record; watermarks %d/%d' % (
            offs[0], offs[-1], lo, hi)
    finally:
        c.close()


def s_consume_from_timestamp(bs):
    t = PREFIX + 'ts'
    ensure_topic(bs, t, 1)
    base = int(time.time() * 1000) - 100000
    p = Producer({'bootstrap.servers': bs})
    for i in range(10):
        p.produce(t, key=b'k%d' % i, value=b'v%d' % i, timestamp=base + i * 1000)
    if p.flush(20):
        raise RuntimeError('flush timed out')
    c = consumer(bs)
    try:
        r = c.offsets_for_times([TopicPartition(t, 0, base + 4500)], timeout=10)
        if r[0].error or r[0].offset != 5:
            raise AssertionError('offsets_for_times(base+4500) = %s (want offset 5)' % r)
        late = c.offsets_for_times([TopicPartition(t, 0, base + 10 ** 7)], timeout=10)
        if late[0].offset != -1:
            raise AssertionError('offsets_for_times(future) = %s (want -1 = end)' % late)
        c.assign(r)
        got = read(c, 5)
        if [m.value() for m in got] != [b'v%d' % i for i in range(5, 10)]:
            raise AssertionError('read %s' % [(m.offset(), m.timestamp()) for m in got])
        ts = got[0].timestamp()
        if ts != (confluent_kafka.TIMESTAMP_CREATE_TIME, base + 5000):
            raise AssertionError('timestamp %s want (CreateTime, %d)' % (ts, base + 5000))
        return 'offsets_for_times -> offset 5; future -> -1; read 5..9 with CreateTime timestamps'
    finally:
        c.close()


def group_consumer(bs, name, events):
    def on_assign(c, parts):
        events.append((name, 'assign', sorted(p.partition for p in parts)))

    def on_revoke(c, parts):
        events.append((name, 'revoke', sorted(p.partition for p in parts)))

    c = Consumer({'bootstrap.servers': bs, 'group.id': GROUP, 'client.id': name,
                  'enable.auto.commit': False, 'auto.offset.reset': 'earliest',
                  'enable.partition.eof': False})
    c.subscribe([PREFIX + 'group'], on_assign=on_assign, on_revoke=on_revoke)
    return c


def s_group_two_consumers(bs):
    t = PREFIX + 'group'
    ensure_topic(bs, t, 3)
    produce(bs, t, msgset(30, 'g'))
    events = []
    seen = {}
    c1 = group_consumer(bs, 'ckp-member-1', events)
    c2 = None
    try:
        ends = {p: c1.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1] for p in range(3)}

        def caught_up(c):
            a = c.assignment()
            return bool(a) and all(tp.offset == ends[tp.partition] for tp in c.position(a))

        deadline = time.time() + 30
        while not c1.assignment() and time.time() < deadline:
            c1.poll(0.2)
        alone = sorted(p.partition for p in c1.assignment())
        c2 = group_consumer(bs, 'ckp-member-2', events)
        while time.time() < deadline:
            for c, name in ((c1, 'ckp-member-1'), (c2, 'ckp-member-2')):
                m = c.poll(0.1)
                if m is not None and not m.error():
                    seen[(m.partition(), m.offset())] = name
            a1 = {p.partition for p in c1.assignment()}
            a2 = {p.partition for p in c2.assignment()}
            if a1 and a2 and not (a1 & a2) and len(a1 | a2) == 3 and caught_up(c1) and caught_up(c2):
                break
        a1 = sorted(p.partition for p in c1.assignment())
        a2 = sorted(p.partition for p in c2.assignment())
        if not a1 or not a2 or set(a1) & set(a2) or len(set(a1) | set(a2)) != 3:
            raise AssertionError('assignments %s / %s (member 1 alone %s); events %s' % (a1, a2, alone, events))
        if len(seen) < 30:
            raise AssertionError('consumed %d/30 distinct records; events %s' % (len(seen), events))
        c1.commit(asynchronous=False)
        c2.commit(asynchronous=False)
        committed = {}
        for c in (c1, c2):
            for tp in c.committed(c.assignment(), timeout=10):
                committed[tp.partition] = tp.offset
        if committed != ends:
            raise AssertionError('committed %s, high watermarks %s' % (committed, ends))
        return 'member 1 alone %s; after join %s / %s; 30 records; committed %s; callbacks %s' % (
            alone, a1, a2, sorted(committed.items()), events)
    finally:
        c1.close()
        if c2 is not None:
            c2.close()


def s_group_resume_committed(bs):
    t = PREFIX + 'group'
    ensure_topic(bs, t, 3)
    produce(bs, t, msgset(9, 'resume'))
    events = []
    c = group_consumer(bs, 'ckp-member-3', events)
    try:
        got = []
        deadline = time.time() + 25
        while time.time() < deadline and len(got) < 9:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append(m)
        end = time.time() + 1.5
        while time.time() < end:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append(m)
        vals = sorted(m.value().decode() for m in got)
        want = sorted('v%d-resume' % i for i in range(9))
        if vals != want:
            raise AssertionError('after resume got %d records (%s...), want only the 9 new ones' % (len(vals), vals[:4]))
        c.commit(asynchronous=False)
        return 'resumed from committed offsets: exactly the 9 new records'
    finally:
        c.close()


def s_admin_list_groups(bs):
    a = admin(bs)
    gs = a.list_groups(timeout=10)
    names = [g.id for g in gs]
    if GROUP not in names:
        raise AssertionError('list_groups = %s' % names)
    return 'list_groups -> %s' % [(g.id, g.state, g.protocol_type) for g in gs]


def s_admin_describe_groups(bs):
    a = admin(bs)
    gs = a.list_groups(group=GROUP, timeout=10)
    if len(gs) != 1:
        raise AssertionError('list_groups(group=) = %s' % gs)
    g = gs[0]
    if g.error is not None and g.error.code() != KafkaError.NO_ERROR:
        raise AssertionError('group error %s' % g.error)
    if g.state not in ('Empty', 'Stable') or g.protocol_type != 'consumer':
        raise AssertionError('state %s protocol_type %s' % (g.state, g.protocol_type))
    # committed offsets as seen by a fresh consumer of the group (OffsetFetch)
    c = Consumer({'bootstrap.servers': bs, 'group.id': GROUP, 'enable.auto.commit': False})
    try:
        offs = c.committed([TopicPartition(PREFIX + 'group', p) for p in range(3)], timeout=10)
    finally:
        c.close()
    if any(tp.offset < 10 for tp in offs):
        raise AssertionError('committed offsets %s' % offs)
    return 'list_groups(group=) [DescribeGroups]: state=%s protocol_type=%s protocol=%r members=%d; committed %s' % (
        g.state, g.protocol_type, g.protocol, len(g.members), [(tp.partition, tp.offset) for tp in offs])


def s_admin_delete_group(bs):
    if not hasattr(AdminClient, 'delete_consumer_groups'):
        raise Skip('confluent-kafka-python %s AdminClient has no delete_consumer_groups (added in 2.0)'
                   % confluent_kafka.version()[0])
    a = admin(bs)
    r = a.delete_consumer_groups([GROUP])
    r[GROUP].result(15)
    return 'deleted'


def s_admin_delete_topic(bs):
    t = PREFIX + 'to-delete'
    ensure_topic(bs, t)
    a = admin(bs)
    a.delete_topics([t], operation_timeout=10)[t].result(15)
    deadline = time.time() + 10
    while time.time() < deadline:
        if t not in a.list_topics(timeout=10).topics:
            return 'deleted; gone from metadata'
        time.sleep(0.3)
    raise AssertionError('topic still listed after delete')


SCENARIOS = [
    ('bootstrap-metadata', s_bootstrap_metadata),
    ('admin-create-topic', s_admin_create_topic),
    ('admin-list-topics', s_admin_list_topics),
    ('admin-describe-topics', s_admin_describe_topics),
    ('produce-unkeyed', s_produce_unkeyed),
    ('produce-keyed', s_produce_keyed),
    ('produce-acks-0', s_acks(0)),
    ('produce-acks-1', s_acks(1)),
    ('produce-acks-all', s_acks('all')),
    ('produce-idempotent', s_idempotent),
    ('compression-gzip', s_compression('gzip')),
    ('compression-snappy', s_compression('snappy')),
    ('compression-lz4', s_compression('lz4')),
    ('compression-zstd', s_compression('zstd')),
    ('headers', s_headers),
    ('consume-from-beginning', s_consume_from_beginning),
    ('consume-from-offset', s_consume_from_offset),
    ('consume-from-timestamp', s_consume_from_timestamp),
    ('group-two-consumers', s_group_two_consumers),
    ('group-resume-committed', s_group_resume_committed),
    ('admin-list-groups', s_admin_list_groups),
    ('admin-describe-groups', s_admin_describe_groups),
    ('admin-delete-group', s_admin_delete_group),
    ('admin-delete-topic', s_admin_delete_topic),
]


def cross_produce(bs, topic, codec):
    produce(bs, topic, msgset(20, codec), acks='all', **{'compression.type': codec})
    out({'ok': True})


def cross_consume(bs, topic, count):
    report_consumed([(m.key(), m.value()) for m in read_all(bs, topic, count, timeout_s=30)], count)


if __name__ == '__main__':
    sys.exit(main(sys.argv, SCENARIOS, cross_produce, cross_consume))
