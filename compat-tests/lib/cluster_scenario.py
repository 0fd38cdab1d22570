# The three-node cluster scenario of the Python runners (`runner.py cluster <bootstrap-list>`, run
# by ../cluster.ts; the scenario is described in ../README.md): acks=all produce through a kill -9
# of a partition leader, then a consumer group through a kill -9 of its coordinator. Faults are
# asked of the harness with a control line on stdout, answered with one JSON line on stdin. Each
# runner supplies a Client adapter (create_topic, producer, member) around its library.

import json
import sys
import time

from harness import out

TOPIC = 'cluster-orders'
GROUP = 'cluster-group'
PARTITIONS = 3


def control(**msg):
    out(msg)
    line = sys.stdin.readline()
    if not line:
        raise RuntimeError('harness closed stdin during %s' % msg.get('control'))
    a = json.loads(line)
    if a.get('error'):
        raise RuntimeError('%s: %s' % (msg.get('control'), a['error']))
    return a


class Stats:
    def __init__(self):
        self.attempted = set()
        self.acked = set()
        self.failed = 0
        self.errors = []
        self.commit_errors = []
        self.consume_errors = []
        self.acked_by = [0] * PARTITIONS

    def delivered(self, partition, value, err):
        """The delivery report of one message (err None: acknowledged)."""
        if err is not None:
            self.failed += 1
            if len(self.errors) < 3:
                self.errors.append(str(err))
        else:
            self.acked.add(value)
            self.acked_by[partition] += 1


def produce(client, st):
    """One message per partition in turn, at most 1000 in flight, until 300 are acknowledged; kill
    -9 of partition 0's leader; on until 300 more are acknowledged, 100 of them on partition 0."""
    p = client.producer(st)
    n = [0] * PARTITIONS

    def run_until(cond, timeout_s, what):
        deadline = time.time() + timeout_s
        while not cond():
            if time.time() > deadline:
                raise RuntimeError('timeout after %d s: %s (%d acknowledged, %d failed: %s)' % (timeout_s, what, len(st.acked), st.failed, st.errors))
            if p.in_flight() >= 1000:
                p.poll(0.05)
                continue
            for part in range(PARTITIONS):
                v = 'p%d-%d' % (part, n[part])
                n[part] += 1
                st.attempted.add(v)
                p.send(part, v)
            p.poll(0)

    run_until(lambda: len(st.acked) >= 300, 60, '300 acknowledged before the kill')
    at_kill, p0_at_kill = len(st.acked), st.acked_by[0]
    killed = control(control='kill-leader', topic=TOPIC, partition=0)['killed']
    run_until(lambda: len(st.acked) >= at_kill + 300 and st.acked_by[0] >= p0_at_kill + 100, 90,
              'progress after the leader of partition 0 was killed')
    p.flush(60)
    if p.in_flight():
        raise RuntimeError('%d messages without a delivery report after flush(60)' % p.in_flight())
    return killed, len(st.acked) - at_kill


class Member:
    """A consumer of the group (earliest, manual synchronous commits) over the runner's adapter."""

    def __init__(self, client, st):
        self.m = client.member(GROUP, TOPIC)
        self.got = []  # (partition, offset, value)
        self.pos = {}
        self.st = st

    def poll(self):
        for part, off, val, err in self.m.poll():
            if err is not None:
                self.st.consume_errors.append(str(err))
                continue
            self.got.append((part, off, val))
            self.pos[part] = off + 1

    def take(self, n, timeout_s, what):
        deadline = time.time() + timeout_s
        while len(self.got) < n:
            if time.time() > deadline:
                raise RuntimeError('timeout after %d s: %s (%d of %d)' % (timeout_s, what, len(self.got), n))
            self.poll()

    def commit(self):
        """Commits a snapshot of the positions; the application retries a failed commit."""
        snap = dict(self.pos)
        for attempt in range(1, 6):
            try:
                self.m.commit(snap)
                return snap
            except Exception as e:  # noqa
                self.st.commit_errors.append('%s: %s' % (type(e).__name__, e))
                if attempt == 5:
                    raise
                time.sleep(1)

    def close(self):
        self.m.close()


def run(client, idempotent):
    t0 = time.time()
    st = Stats()
    rows = {'produce': {'scenario': 'cluster-produce-leader-kill', 'status': 'fail', 'detail': 'not run'},
            'group': {'scenario': 'cluster-group-coordinator-kill', 'status': 'fail', 'detail': 'not run'}}
    try:
        client.create_topic(TOPIC, PARTITIONS, 3, {'min.insync.replicas': '2'})
        killed_leader, acked_after_kill = produce(client, st)
        control(control='restart')
        total = len(st.acked)

        m1 = Member(client, st)
        m1.take(total // 3, 60, 'member 1: a third')
        c1 = m1.commit()
        coordinator = control(control='kill-coordinator', group=GROUP)['killed']
        after_kill = m1.m.committed(sorted(c1))  # OffsetFetch from the new coordinator
        if after_kill != c1:
            raise AssertionError('committed offsets after the coordinator was killed: %s, committed before: %s' % (sorted(after_kill.items()), sorted(c1.items())))
        m1.take(2 * total // 3, 90, 'member 1: two thirds after the coordinator was killed')
        c2 = m1.commit()
        m1.take(len(m1.got) + 100, 10, 'member 1: 100 more, not committed')
        m1.close()  # auto-commit off: nothing committed on the way out

        m2 = Member(client, st)
        below = [x for x in m1.got if x[1] < c2.get(x[0], 0)]
        deadline = time.time() + 60
        while time.time() < deadline and not st.acked <= set(x[2] for x in below + m2.got):
            m2.poll()
        end = time.time() + 1
        while time.time() < end:
            m2.poll()
        m2.commit()
        m2.close()

        seen = set(x[2] for x in below + m2.got)
        missing = sorted(st.acked - seen)
        extra = sorted(seen - st.attempted)
        by_offset = {(x[0], x[1]): x[2] for x in below + m2.got}
        dups = len(by_offset) - len(set(by_offset.values()))
        ok = not missing and not extra and (dups == 0 or not idempotent)
        rows['produce'] = {'scenario': 'cluster-produce-leader-kill', 'status': 'pass' if ok else 'fail', 'detail':
                           '%d acknowledged (%d after kill -9 of broker %d, leader of partition 0), %d failed%s; consumed with group: '
                           '%d acknowledged missing%s, %d never produced%s, %d stored twice (%s)' % (
                               total, acked_after_kill, killed_leader, st.failed, ' (%s)' % st.errors[0] if st.errors else '',
                               len(missing), ' (%s)' % missing[:3] if missing else '', len(extra), ' (%s)' % extra[:3] if extra else '', dups,
                               'idempotent: must be 0' if idempotent else 'not idempotent')}
        first = {}
        for part, off, _ in m2.got:
            first.setdefault(part, off)
        wrong = ['partition %d at %d, committed %s' % (p_, o, c2.get(p_)) for p_, o in sorted(first.items()) if o != c2.get(p_, 0)]
        redelivered = len(m2.got) - len(set((x[0], x[1]) for x in m2.got))
        rows['group'] = {'scenario': 'cluster-group-coordinator-kill', 'status': 'pass' if not wrong and not redelivered else 'fail', 'detail':
                         'committed %s, kill -9 of broker %d (coordinator), the same read back from the new one, committed %s%s; restarted member started at %s%s, %d records, %d redelivered%s' % (
                             sorted(c1.items()), coordinator, sorted(c2.items()),
                             ' after %d failed commits (%s)' % (len(st.commit_errors), st.commit_errors[0]) if st.commit_errors else '',
                             sorted(first.items()), ': WRONG %s' % wrong if wrong else '', len(m2.got), redelivered,
                             '; %d consume errors (%s)' % (len(st.consume_errors), st.consume_errors[0]) if st.consume_errors else '')}
    except Exception as e:  # noqa
        msg = '%s: %s' % (type(e).__name__, e)
        sys.stderr.write('cluster scenario failed: %s\n' % msg)
        for r in rows.values():
            if r['detail'] == 'not run':
                r['detail'] = msg
    for r in rows.values():
        out(dict(r, detail='%s (%.1f s)' % (r['detail'], time.time() - t0)))
