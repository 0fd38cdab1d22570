# confluent-kafka-python 1.7.0 (Debian python3-confluent-kafka, librdkafka 2.0.2) against Brook.
# Run with /usr/bin/python3.
# Usage: runner.py scenarios <bootstrap> | produce <bootstrap> <topic> <codec> | consume <bootstrap> <topic> <count>
# Each scenario runs in its own forked process with a hard time limit; the parent never creates
# a librdkafka handle, so every child starts without librdkafka threads.
# `runner.py cluster <bootstrap-list>` is the three-node scenario (../cluster.ts).
# `runner.py security <spec.json>` is the security phase (../lib/security_scenario.py, ../security.ts).
# `runner.py eos-processor <bootstrap> <run> <crash_after|None> <seconds>` is not part of the
# runner contract: it is the processor process that transactions-consume-transform-produce starts
# (and kills with SIGKILL).
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from harness import Skip, main, msgset, out, report_consumed  # noqa: E402
import cluster_scenario  # noqa: E402
import security_scenario  # noqa: E402

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

PREFIX = 'ckp-'
GROUP = 'ckp-group'
# Suffix of the names the transaction scenarios use, so a re-run against the same broker starts clean.
RUN = '%x' % int(time.time() * 1000)





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
    t = PREFIX + 'idempotent-' + RUN
    ensure_topic(bs, t, 3)
    # Small batches and up to 5 in flight per partition: the broker tracks each batch's sequence.
    cfg = {'enable.idempotence': True, 'batch.num.messages': 10, 'linger.ms': 2,
           'max.in.flight.requests.per.connection': 5}
    msgs = [(('key%d' % (i % 7)).encode(), ('idem-%d' % i).encode(), None) for i in range(300)]
    md = produce(bs, t, msgs[:200], **cfg)
    md += produce(bs, t, msgs[200:], **cfg)  # a second producer: a new producer id
    by_p = {}
    for p, o in md:
        by_p.setdefault(p, []).append(o)
    for p, offs in by_p.items():
        if sorted(offs) != list(range(len(offs))):
            raise AssertionError('partition %d: delivery offsets not 0..%d without gaps or repeats: %s' % (p, len(offs) - 1, sorted(offs)[:20]))
    got = read_to_end(bs, t, 'read_uncommitted')
    vals = [m.value().decode() for m in got]
    dup = sorted({v for v in vals if vals.count(v) > 1})
    if dup or sorted(vals) != sorted(v.decode() for _, v, _ in msgs):
        raise AssertionError('read %d records, duplicates %s, missing %s' % (
            len(vals), dup[:5], sorted(set(v.decode() for _, v, _ in msgs) - set(vals))[:5]))
    for m in got:  # each record where its delivery report put it
        i = int(m.value().decode().split('-')[1])
        if md[i] != (m.partition(), m.offset()):
            raise AssertionError('%s read at %s, delivered at %s' % (m.value(), (m.partition(), m.offset()), md[i]))
    return ('enable.idempotence=true, two producers, 300 keyed records (batch.num.messages 10, max.in.flight 5): '
            'each read exactly once at its delivery offset; offsets per partition contiguous %s'
            % sorted((p, len(o)) for p, o in by_p.items()))


# ---------------------------------------------------------------- transactions

def txn_producer(bs, txn_id, **cfg):
    conf = {'bootstrap.servers': bs, 'client.id': 'brook-compat-ckp-txn', 'transactional.id': txn_id,
            'linger.ms': 5}
    conf.update(cfg)
    p = Producer(conf)
    p.init_transactions(20)
    return p


def read_to_end(bs, topic, isolation, timeout_s=20):
    """Every record of topic from the beginning up to the end each partition has now (the last
    stable offset with read_committed): reads until a partition-EOF event for every partition."""
    n = n_partitions(bs, topic)
    # fetch.wait.max.ms: the end of a partition is known from a Fetch with no records (a long poll).
    c = consumer(bs, **{'isolation.level': isolation, 'enable.partition.eof': True, 'fetch.wait.max.ms': 50})
    try:
        c.list_topics(topic, timeout=10)  # leaders known before assign: no 1 s offset-query retry
        c.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(n)])
        got, eof = [], set()
        deadline = time.time() + timeout_s
        while len(eof) < n:
            if time.time() > deadline:
                raise AssertionError('%s %s: no end of partition for %s after %d s (%d records)' % (
                    topic, isolation, sorted(set(range(n)) - eof), timeout_s, len(got)))
            for m in c.consume(num_messages=500, timeout=0.1):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                        continue
                    raise RuntimeError('consume error: %s' % m.error())
                eof.discard(m.partition())
                got.append(m)
        return got
    finally:
        c.close()


def values_of(msgs):
    return sorted(m.value().decode() for m in msgs)


def s_transactions(bs):
    t = PREFIX + 'txn-' + RUN
    ensure_topic(bs, t, 3)
    p = txn_producer(bs, 'ckp-txn-' + RUN)
    batch = lambda tag, n: [('%s-%d' % (tag, i)) for i in range(n)]  # noqa: E731

    def send(vals):
        for i, v in enumerate(vals):
            p.produce(t, key=('k%d' % i).encode(), value=v.encode())

    p.begin_transaction()
    send(batch('committed1', 6))
    p.commit_transaction(20)
    p.begin_transaction()
    send(batch('aborted', 5))
    if p.flush(20):
        raise AssertionError('open transaction: flush timed out')
    # The open transaction holds back the last stable offset: read_committed stops before it.
    rc_open = values_of(read_to_end(bs, t, 'read_committed'))
    ru_open = values_of(read_to_end(bs, t, 'read_uncommitted'))
    if rc_open != sorted(batch('committed1', 6)):
        raise AssertionError('read_committed during the open transaction: %s' % rc_open)
    if ru_open != sorted(batch('committed1', 6) + batch('aborted', 5)):
        raise AssertionError('read_uncommitted during the open transaction: %s' % ru_open)
    p.abort_transaction(20)
    p.begin_transaction()
    send(batch('committed2', 3))
    p.commit_transaction(20)
    rc = read_to_end(bs, t, 'read_committed')
    ru = read_to_end(bs, t, 'read_uncommitted')
    want_rc = sorted(batch('committed1', 6) + batch('committed2', 3))
    if values_of(rc) != want_rc:
        raise AssertionError('read_committed after commit/abort/commit: %s (want %s)' % (values_of(rc), want_rc))
    if values_of(ru) != sorted(want_rc + batch('aborted', 5)):
        raise AssertionError('read_uncommitted: %s' % values_of(ru))
    c = consumer(bs)
    try:
        hw = [c.get_watermark_offsets(TopicPartition(t, i), timeout=10)[1] for i in range(3)]
    finally:
        c.close()
    return ('commit (6) / abort (5) / commit (3): read_committed got only the 9 committed records '
            '(and, while the abort was still open, only the first 6: LSO held back); '
            'read_uncommitted got all 14; high watermarks %s include one control record per partition and transaction' % hw)


EOS_N = 60


def eos_names(run):
    """Input topic, output topic, group and transactional.id of one consume-transform-produce run."""
    return PREFIX + 'eos-in-' + run, PREFIX + 'eos-out-' + run, PREFIX + 'eos-group-' + run, 'ckp-eos-processor-' + run


def eos_processor(bs, run, crash_after, deadline_s):
    """The consume-transform-produce loop, run in its own process (`runner.py eos-processor`):
    reads EOS_IN in group EOS_GROUP with read_committed, writes 'out:<value>' to EOS_OUT in one
    transaction per batch together with the batch's input offsets (send_offsets_to_transaction).
    With crash_after=K it stops after K committed transactions with the next one open (its records
    flushed to the broker), prints {"state": "open"} and waits to be killed. Otherwise it stops
    when its positions reach the input's end. Prints one JSON line per transaction."""
    deadline = time.time() + deadline_s
    EOS_IN, EOS_OUT, EOS_GROUP, EOS_TXN = eos_names(run)
    p = Producer({'bootstrap.servers': bs, 'client.id': 'ckp-eos-producer', 'transactional.id': EOS_TXN,
                  'linger.ms': 5})
    p.init_transactions(20)  # fences an earlier instance and aborts its open transaction
    c = Consumer({'bootstrap.servers': bs, 'client.id': 'ckp-eos-consumer', 'group.id': EOS_GROUP,
                  'group.instance.id': 'ckp-eos-member', 'session.timeout.ms': 6000,
                  'isolation.level': 'read_committed', 'enable.auto.commit': False,
                  'auto.offset.reset': 'earliest', 'enable.partition.eof': False})
    c.subscribe([EOS_IN])
    ends = {i: c.get_watermark_offsets(TopicPartition(EOS_IN, i), timeout=10)[1] for i in range(3)}
    committed = 0
    processed = 0
    try:
        while time.time() < deadline:
            msgs = [m for m in c.consume(num_messages=4, timeout=0.3) if not m.error()]
            if not msgs:
                a = c.assignment()
                if len(a) == 3 and all(tp.offset >= ends[tp.partition] for tp in c.position(a)):
                    out({'state': 'done', 'committed_txns': committed, 'records': processed})
                    return
                continue
            p.begin_transaction()
            nxt = {}
            for m in msgs:
                p.produce(EOS_OUT, key=m.key(), value=b'out:' + m.value(),
                          headers=[('src', ('%d:%d' % (m.partition(), m.offset())).encode())])
                nxt[m.partition()] = max(nxt.get(m.partition(), 0), m.offset() + 1)
            p.send_offsets_to_transaction([TopicPartition(EOS_IN, q, o) for q, o in sorted(nxt.items())],
                                          c.consumer_group_metadata(), 20)
            if crash_after is not None and committed == crash_after:
                if p.flush(20):
                    raise RuntimeError('flush of the open transaction timed out')
                out({'state': 'open', 'committed_txns': committed, 'records': processed, 'open_records': len(msgs)})
                time.sleep(max(0, deadline - time.time()))
                return
            p.commit_transaction(20)
            committed += 1
            processed += len(msgs)
            out({'state': 'committed', 'txn': committed, 'records': len(msgs), 'offsets': sorted(nxt.items())})
        out({'state': 'timeout', 'committed_txns': committed, 'records': processed})
    finally:
        if crash_after is None:
            c.close()


def start_processor(bs, crash_after):
    args = [sys.executable, '-u', os.path.abspath(__file__), 'eos-processor', bs, RUN, str(crash_after), '30']
    err = tempfile.TemporaryFile()  # librdkafka's log lines; a pipe nobody reads could fill up
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err)
    proc.errfile = err
    return proc


def stderr_tail(proc):
    proc.errfile.seek(0)
    return proc.errfile.read().decode(errors='replace')[-500:]


def processor_lines(proc, until_state, timeout_s):
    """Reads the processor's JSON lines until one with state until_state (or done/timeout)."""
    lines = []
    buf = b''
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
            if lines[-1].get('state') in (until_state, 'done', 'timeout'):
                return lines
    raise AssertionError('processor: no "%s" line in %d s (exit code %s); got %s; stderr: %s' % (
        until_state, timeout_s, proc.poll(), lines[-3:], stderr_tail(proc)))


def s_transactions_ctp(bs):
    EOS_IN, EOS_OUT, EOS_GROUP, _ = eos_names(RUN)
    ensure_topic(bs, EOS_IN, 3)
    ensure_topic(bs, EOS_OUT, 3)
    src = produce(bs, EOS_IN, [(('k%d' % i).encode(), ('in-%d' % i).encode(), None) for i in range(EOS_N)], acks='all')
    procs = []
    try:
        first = start_processor(bs, 3)
        procs.append(first)
        lines1 = processor_lines(first, 'open', 25)
        if lines1[-1]['state'] != 'open':
            raise AssertionError('first processor: %s' % lines1[-3:])
        done1, open_n = lines1[-1]['records'], lines1[-1]['open_records']
        # The open transaction's records are in the log (visible to read_uncommitted only).
        ru = read_to_end(bs, EOS_OUT, 'read_uncommitted')
        rc = read_to_end(bs, EOS_OUT, 'read_committed')
        if len(ru) != done1 + open_n or len(rc) != done1:
            raise AssertionError('before the kill: read_uncommitted %d records, read_committed %d (processor: %d committed, %d open)'
                                 % (len(ru), len(rc), done1, open_n))
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        second = start_processor(bs, 'None')
        procs.append(second)
        lines2 = processor_lines(second, 'done', 30)
        if lines2[-1]['state'] != 'done':
            raise AssertionError('restarted processor: %s' % lines2[-3:])
        second.wait(15)
        rc = read_to_end(bs, EOS_OUT, 'read_committed')
        vals = [m.value().decode() for m in rc]
        want = sorted('out:in-%d' % i for i in range(EOS_N))
        dup = sorted({v for v in vals if vals.count(v) > 1})
        if sorted(vals) != want:
            raise AssertionError('output (read_committed): %d records, duplicates %s, missing %s' % (
                len(vals), dup[:5], sorted(set(want) - set(vals))[:5]))
        for m in rc:  # each output record names the input record it came from
            i = int(m.value().decode().split('-')[1])
            if dict(m.headers() or []).get('src') != ('%d:%d' % src[i]).encode():
                raise AssertionError('%s: src header %s, input in-%d was at %s' % (m.value(), m.headers(), i, src[i]))
        ru = read_to_end(bs, EOS_OUT, 'read_uncommitted')
        if len(ru) != EOS_N + open_n:
            raise AssertionError('output (read_uncommitted): %d records, want %d (+%d aborted)' % (len(ru), EOS_N, open_n))
        c = Consumer({'bootstrap.servers': bs, 'group.id': EOS_GROUP, 'enable.auto.commit': False,
                      'isolation.level': 'read_committed'})
        try:
            ends = [c.get_watermark_offsets(TopicPartition(EOS_IN, i), timeout=10)[1] for i in range(3)]
            offs = [tp.offset for tp in c.committed([TopicPartition(EOS_IN, i) for i in range(3)], timeout=10)]
        finally:
            c.close()
        if offs != ends:
            raise AssertionError('group offsets %s, input ends %s' % (offs, ends))
        return ('processor killed (SIGKILL) after %d committed transactions (%d records) with a %d-record transaction open; '
                'the restarted processor (same transactional.id, static member) fenced it, its open transaction was aborted, '
                'and it resumed from the transactional offsets: %d transactions. Output read_committed: all %d inputs exactly once '
                '(read_uncommitted: %d, the aborted %d included); group offsets = input ends %s'
                % (lines1[-1]['committed_txns'], done1, open_n, lines2[-1]['committed_txns'], EOS_N, len(ru), open_n, offs))
    finally:
        for pr in procs:
            if pr.poll() is None:
                pr.kill()
                pr.wait(5)


def s_transactions_fencing(bs):
    t = PREFIX + 'fence-' + RUN
    ensure_topic(bs, t, 1)
    a = txn_producer(bs, 'ckp-fence-' + RUN)
    a.begin_transaction()
    a.produce(t, value=b'a-committed')
    a.commit_transaction(20)
    a.begin_transaction()
    a.produce(t, value=b'a-open')
    if a.flush(20):
        raise AssertionError('flush timed out')
    b = txn_producer(bs, 'ckp-fence-' + RUN)  # same transactional.id: bumps the epoch, aborts a's transaction
    a.produce(t, value=b'a-late')
    try:
        a.commit_transaction(20)
        raise AssertionError('the fenced producer committed')
    except KafkaException as e:
        err = e.args[0]
        if not err.fatal() or err.code() not in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH):
            raise AssertionError('fenced producer: %s (fatal=%s)' % (err, err.fatal()))
        fenced = '%s (fatal)' % err
    b.begin_transaction()
    b.produce(t, value=b'b-committed')
    b.commit_transaction(20)
    rc = values_of(read_to_end(bs, t, 'read_committed'))
    ru = values_of(read_to_end(bs, t, 'read_uncommitted'))
    if rc != ['a-committed', 'b-committed'] or ru != ['a-committed', 'a-open', 'b-committed']:
        raise AssertionError('read_committed %s, read_uncommitted %s' % (rc, ru))
    return ('second init_transactions with the same transactional.id fenced the first producer: its commit failed with %s; '
            'its open transaction was aborted and its late record never appended; read_committed %s, read_uncommitted %s'
            % (fenced, rc, ru))


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
    ('transactions', s_transactions),
    ('transactions-consume-transform-produce', s_transactions_ctp),
    ('transactions-fencing', s_transactions_fencing),
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


# ---------------------------------------------------------------- three-node cluster
# `runner.py cluster <bootstrap-list>`: ../lib/cluster_scenario.py over this adapter. librdkafka's
# defaults (acks=all, retries) plus enable.idempotence=true; consumers with
# auto.offset.reset=earliest and enable.auto.commit=false (synchronous commits of explicit offsets).

class ClusterClient:
    def __init__(self, bs):
        self.bs = bs

    def create_topic(self, topic, partitions, rf, config):
        a = admin(self.bs)
        a.create_topics([NewTopic(topic, partitions, rf, config=config)], operation_timeout=10, request_timeout=15)[topic].result(15)

    def producer(self, st):
        bs = self.bs

        class P:
            def __init__(self):
                self.p = Producer({'bootstrap.servers': bs, 'client.id': 'brook-compat-ckp-cluster', 'enable.idempotence': True})

            def send(self, partition, value):
                self.p.produce(cluster_scenario.TOPIC, value=value.encode(), partition=partition,
                               on_delivery=lambda err, m: st.delivered(m.partition(), m.value().decode(), err))

            def poll(self, t):
                self.p.poll(t)

            def in_flight(self):
                return len(self.p)

            def flush(self, t):
                self.p.flush(t)

        return P()

    def member(self, group, topic):
        c = Consumer({'bootstrap.servers': self.bs, 'client.id': 'brook-compat-ckp-cluster', 'group.id': group,
                      'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
        c.subscribe([topic])

        class M:
            def poll(self):
                return [(m.partition(), m.offset(), m.value().decode() if not m.error() else None, m.error())
                        for m in c.consume(num_messages=100, timeout=0.2)]

            def commit(self, positions):
                c.commit(offsets=[TopicPartition(topic, p, o) for p, o in sorted(positions.items())], asynchronous=False)

            def committed(self, partitions):
                return {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, p) for p in partitions], timeout=30)}

            def close(self):
                c.close()

        return M()


# ---------------------------------------------------------------- security
# `runner.py security <spec.json>`: ../lib/security_scenario.py over this adapter, with
# librdkafka's property names (security.protocol, ssl.ca.location, sasl.mechanisms,
# sasl.username, sasl.password); librdkafka 2.0.2 checks the broker's name against the
# certificate (ssl.endpoint.identification.algorithm=https by default).

def _security_conf(sec):
    conf = {'security.protocol': sec['security_protocol']}
    if 'SSL' in sec['security_protocol']:
        conf['ssl.ca.location'] = sec['ca']
    if sec['mechanism']:
        conf.update({'sasl.mechanisms': sec['mechanism'], 'sasl.username': sec['username'],
                     'sasl.password': sec['password']})
    return conf


def _security_read_back(bs, topic, sec, count, timeout_s=15):
    c = consumer(bs, **_security_conf(sec))
    try:
        c.assign([TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
        return [(m.key(), m.value()) for m in read(c, count, timeout_s)]
    finally:
        c.close()


class SecurityClient:
    def roundtrip(self, bs, topic, sec, records):
        produce(bs, topic, [(k, v, None) for k, v in records], **_security_conf(sec))
        return _security_read_back(bs, topic, sec, len(records))

    def auth_failure(self, bs, topic, sec, good):
        errors = []
        conf = {'bootstrap.servers': bs, 'client.id': 'brook-compat-ckp-security',
                'error_cb': lambda e: errors.append(e)}
        conf.update(_security_conf(sec))
        p = Producer(conf)
        t0 = time.time()
        p.produce(topic, value=b'should-not-be-stored')
        while time.time() - t0 < 20 and not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
            p.poll(0.2)
        dt = time.time() - t0
        p.purge()
        p.flush(2)
        auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
        if not auth:
            raise AssertionError('no authentication error within 20 s; errors: %s' % [str(e) for e in errors[:3]])
        stored = _security_read_back(bs, topic, good, 1, timeout_s=2)
        if stored:
            raise AssertionError('%d messages stored with a wrong password' % len(stored))
        text = auth[0].str().split(': SASL authentication error: ')[-1].split(' (after ')[0]
        return 'error_cb got %s after %.1f s: %s; nothing stored' % (auth[0].name(), dt, text)


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == 'cluster':
        signal.alarm(220)  # a hung client ends the run (run.ts kills it at its own limit too)
        cluster_scenario.run(ClusterClient(sys.argv[2]), idempotent=True)
        sys.exit(0)
    if len(sys.argv) == 6 and sys.argv[1] == 'eos-processor':  # helper process of transactions-consume-transform-produce
        eos_processor(sys.argv[2], sys.argv[3], None if sys.argv[4] == 'None' else int(sys.argv[4]), float(sys.argv[5]))
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] == 'security':
        security_scenario.run(sys.argv[2], SecurityClient())
        sys.exit(0)
    sys.exit(main(sys.argv, SCENARIOS, cross_produce, cross_consume))
